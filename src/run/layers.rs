//! Watching the other layers during a run: the layer watcher
//! ([`crate::bpf::refusals`]) attached to the workload's cgroup, and a thread
//! that drains it every 100 ms into the run's [`Watch`] channel, reading what
//! /proc still knows of each caller while it may still be there.

use super::Supervision;
use crate::bpf::refusals::Watcher;
use crate::bpf::Scope;
use crate::sources::refusal::{Refusal, Watch};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `EPERM_LAYERS=off` leaves the other layers unwatched (to compare costs, or
/// where the watcher misbehaves).
pub const OFF_ENV: &str = "EPERM_LAYERS";

/// Distinct failed calls whose facts are kept for their repeats.
const SEEN_MAX: usize = 1024;

/// The seccomp filters eperm itself puts on a local workload.
pub const OWN_FILTERS: u32 = 1;

/// The draining thread; dropping it drains a last time and stops it.
pub struct LayerWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LayerWatch {
    /// Watches the tasks of `cgroup` (the workload's) when `sup` has a listener;
    /// tells it why not when the watcher cannot be attached.
    pub fn start(sup: &Supervision, cgroup: Option<&Path>) -> LayerWatch {
        let mut watch = LayerWatch {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let Some(tx) = sup.layers.clone() else {
            return watch;
        };
        let watcher = attach(cgroup);
        let watcher = match watcher {
            Ok(w) => w,
            Err(why) => {
                let _ = tx.send(Watch::NotWatched(why));
                return watch;
            }
        };
        let _ = tx.send(Watch::Watching);
        let (stop, started) = (watch.stop.clone(), sup.started);
        watch.thread = Some(std::thread::spawn(move || {
            drain_until(&watcher, &tx, &stop, started)
        }));
        watch
    }
}

fn attach(cgroup: Option<&Path>) -> Result<Watcher, String> {
    if std::env::var_os(OFF_ENV).is_some_and(|v| v == "off") {
        return Err(format!("{OFF_ENV}=off"));
    }
    if !cfg!(target_arch = "x86_64") {
        return Err("the layer watcher is built for x86_64 only".into());
    }
    let cgroup =
        cgroup.ok_or("the workload has no cgroup v2 of its own (not root, or no cgroup2 mount)")?;
    let id =
        crate::bpf::counter::cgroup_id(cgroup).map_err(|e| format!("{}: {e}", cgroup.display()))?;
    Watcher::attach(Scope::Cgroup(id)).map_err(|e| e.to_string())
}

fn drain_until(watcher: &Watcher, tx: &mpsc::Sender<Watch>, stop: &AtomicBool, started: Instant) {
    // Threads that restricted themselves with Landlock.
    let mut landlocked = HashSet::new();
    let mut seen = HashMap::new();
    loop {
        // Read the flag first: a drain after it was set sees every call made.
        let last = stop.load(Ordering::Acquire);
        match watcher.drain() {
            Ok(all) => {
                for raw in all {
                    if raw.errno == 0 {
                        landlocked.insert(raw.tid);
                        continue;
                    }
                    let time_ms = started.elapsed().as_millis() as u64;
                    // A call repeated in a loop is read from /proc once.
                    let key = (
                        raw.pid,
                        raw.nr,
                        raw.errno,
                        raw.failed_caps,
                        raw.strings.clone(),
                    );
                    let mut refusal = match seen.get(&key) {
                        Some(known) => Refusal {
                            time_ms,
                            tid: raw.tid,
                            ..Refusal::clone(known)
                        },
                        None => {
                            let r = Refusal::of(&raw, time_ms, OWN_FILTERS);
                            if seen.len() >= SEEN_MAX {
                                seen.clear();
                            }
                            seen.insert(key, r.clone());
                            r
                        }
                    };
                    refusal.failure.landlocked = is_landlocked(&landlocked, raw.tid, raw.pid);
                    let _ = tx.send(Watch::Refused(Box::new(refusal)));
                }
            }
            Err(e) => {
                let _ = tx.send(Watch::NotWatched(format!(
                    "reading the eBPF queue failed: {e}"
                )));
                return;
            }
        }
        if last {
            if let Some(n) = watcher.lost().ok().filter(|&n| n > 0) {
                let _ = tx.send(Watch::Lost(n));
            }
            return;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// Did the thread, its process or a process it descends from restrict itself?
/// (A Landlock domain is inherited across fork and exec.)
fn is_landlocked(landlocked: &HashSet<u32>, tid: u32, pid: u32) -> bool {
    if landlocked.is_empty() {
        return false;
    }
    let mut at = Some(pid);
    let mut seen = 0;
    if landlocked.contains(&tid) {
        return true;
    }
    while let Some(p) = at.filter(|&p| p > 1 && seen < 64) {
        if landlocked.contains(&p) {
            return true;
        }
        at = crate::sources::procinfo::ppid(p);
        seen += 1;
    }
    false
}

impl Drop for LayerWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
