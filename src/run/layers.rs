//! Watching the other layers during a run: the layer watcher
//! ([`crate::bpf::refusals`]) attached to the workload's cgroup, and a thread
//! that drains it every 100 ms into the run's [`Watch`] channel, reading what
//! /proc still knows of each caller while it may still be there.

mod devices;

use super::Supervision;
use crate::bpf::refusals::Watcher;
use crate::bpf::Scope;
use crate::sources::refusal::{Refusal, Watch};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
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

/// What the watcher watches: the tasks in `scope`, whose records of a task
/// named `skip_comm` (a container runtime's init before the workload's exec)
/// are not the workload's; `own_filters` seccomp filters are eperm's (the
/// profile's), any more the process's own.
pub struct Scoped {
    pub scope: Scope,
    /// A container's devices: eperm's cgroup v2 above it (the device program's)
    /// and, on a host whose device cgroup is v1, that hierarchy's directory of
    /// the same path (whose containers' `devices.list` are read as they run).
    pub devices: Option<(PathBuf, Option<PathBuf>)>,
    pub skip_comm: Option<&'static str>,
    pub own_filters: u32,
    /// A container's: its paths are in its own root.
    pub container: bool,
}

/// A local workload's: the tasks of its cgroup, under eperm's one filter.
pub fn local(cgroup: Option<&Path>) -> Result<Scoped, String> {
    let cgroup =
        cgroup.ok_or("the workload has no cgroup v2 of its own (not root, or no cgroup2 mount)")?;
    let id =
        crate::bpf::counter::cgroup_id(cgroup).map_err(|e| format!("{}: {e}", cgroup.display()))?;
    Ok(Scoped {
        scope: Scope::Cgroup(id),
        devices: None,
        skip_comm: None,
        own_filters: OWN_FILTERS,
        container: false,
    })
}

/// The draining thread; dropping it drains a last time and stops it.
pub struct LayerWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LayerWatch {
    /// Watches the workload's tasks (`scoped`, or why they cannot be) when
    /// `sup` has a listener; tells it why not when the watcher cannot be attached.
    pub fn start(sup: &Supervision, scoped: Result<Scoped, String>) -> LayerWatch {
        let mut watch = LayerWatch {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let Some(tx) = sup.layers.clone() else {
            return watch;
        };
        let watcher = scoped.and_then(|s| {
            let devices = s.devices.as_ref().map(|d| d.0.as_path());
            Ok((attach(s.scope, devices)?, s))
        });
        let (watcher, scoped) = match watcher {
            Ok(w) => w,
            Err(why) => {
                let _ = tx.send(Watch::NotWatched(why));
                return watch;
            }
        };
        let _ = tx.send(Watch::Watching);
        let (stop, started) = (watch.stop.clone(), sup.started);
        watch.thread = Some(std::thread::spawn(move || {
            drain_until(&watcher, &scoped, &tx, &stop, started)
        }));
        watch
    }
}

fn attach(scope: Scope, devices: Option<&Path>) -> Result<Watcher, String> {
    if std::env::var_os(OFF_ENV).is_some_and(|v| v == "off") {
        return Err(format!("{OFF_ENV}=off"));
    }
    if !cfg!(target_arch = "x86_64") {
        return Err("the layer watcher is built for x86_64 only".into());
    }
    Watcher::attach(scope, devices).map_err(|e| e.to_string())
}

fn drain_until(
    watcher: &Watcher,
    scoped: &Scoped,
    tx: &mpsc::Sender<Watch>,
    stop: &AtomicBool,
    started: Instant,
) {
    let lists = scoped
        .devices
        .as_ref()
        .and_then(|(_, v1)| v1.clone())
        .map(devices::Lists::watch);
    // Threads that restricted themselves with Landlock.
    let mut landlocked = HashSet::new();
    let mut seen = HashMap::new();
    loop {
        // Read the flag first: a drain after it was set sees every call made.
        let last = stop.load(Ordering::Acquire);
        match watcher.drain() {
            Ok(all) => {
                for mut raw in all {
                    if raw.errno == 0 {
                        landlocked.insert(raw.tid);
                        continue;
                    }
                    if scoped.skip_comm.is_some_and(|c| c.as_bytes() == raw.comm) {
                        continue;
                    }
                    if !device_refused(&raw, lists.as_ref()) {
                        raw.device = None;
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
                            let r =
                                Refusal::of(&raw, time_ms, scoped.own_filters, scoped.container);
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

/// The calls that open or make a device node (a device check's verdict is
/// theirs; any other call's entry is a leftover of an earlier one).
const DEVICE_CALLS: [&str; 6] = ["open", "openat", "openat2", "creat", "mknod", "mknodat"];

/// Did the device cgroup refuse the device this call asked for: is it not in
/// the container's (v1) list? Not known on a cgroup v2 host (the runtime's
/// program decides there, and eperm cannot see its verdict).
fn device_refused(raw: &crate::bpf::refusals::Refused, lists: Option<&devices::Lists>) -> bool {
    let Some(d) = raw.device else {
        return false;
    };
    let name = crate::arch::Arch::native().syscall_name(raw.nr);
    if raw.ia32 || !name.is_some_and(|n| DEVICE_CALLS.contains(&n)) {
        return false;
    }
    let device = crate::layer::Device {
        block: d.block,
        major: d.major,
        minor: d.minor,
        access: d.access,
        host_path: None,
    };
    lists.and_then(|l| l.refuses(raw.pid, &device)) == Some(true)
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
