//! Watching the other layers during a run: the layer watcher
//! ([`crate::bpf::refusals`]) attached to the workload's cgroup, and a thread
//! that drains it every 100 ms into the run's [`Watch`] channel, reading what
//! /proc still knows of each caller while it may still be there. The LSMs'
//! audit records (AppArmor, SELinux, Landlock) are read beside it from the
//! audit socket and joined with the refused call they name.

mod devices;

use super::Supervision;
use crate::bpf::refusals::{Refused, Watcher};
use crate::bpf::Scope;
use crate::sources::event::Source;
use crate::sources::health::{Health, Shared};
use crate::sources::lsm::Live;
use crate::sources::refusal::{Refusal, Watch};
use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `EPERM_LAYERS=off` leaves the other layers unwatched (to compare costs, or
/// where the watcher misbehaves).
pub const OFF_ENV: &str = "EPERM_LAYERS";

/// Why the other layers go unwatched when the user said so: `--no-layers`, or
/// [`OFF_ENV`] (read here only) set to `off`; `None`: they are watched.
pub fn turned_off(no_layers: bool) -> Option<String> {
    if no_layers {
        return Some("--no-layers".into());
    }
    std::env::var_os(OFF_ENV)
        .is_some_and(|v| v == "off")
        .then(|| format!("{OFF_ENV}=off"))
}

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
    /// The LSM records' reader: its stop pipe (dropped first) and thread.
    lsm: Option<(OwnedFd, JoinHandle<()>)>,
}

impl LayerWatch {
    /// Watches the workload's tasks (`scoped`, or why they cannot be) when
    /// `sup` has a listener; tells it why not when the watcher cannot be attached.
    pub fn start(sup: &Supervision, scoped: Result<Scoped, String>) -> LayerWatch {
        let mut watch = LayerWatch {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
            lsm: None,
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
        let records = match lsm_reader() {
            Some((stop, thread, records)) => {
                watch.lsm = Some((stop, thread));
                Some(records)
            }
            None => None,
        };
        let (stop, started) = (watch.stop.clone(), sup.started);
        watch.thread = Some(std::thread::spawn(move || {
            let mut lsm = LsmRecords::new(records);
            drain_until(&watcher, &scoped, &tx, &stop, started, &mut lsm)
        }));
        watch
    }
}

/// Reads the LSM records of the audit socket on a thread of its own, until its
/// stop pipe is dropped; `None` where audit cannot be read (then the workload's
/// own `landlock_restrict_self` is the only LSM evidence).
fn lsm_reader() -> Option<(OwnedFd, JoinHandle<()>, mpsc::Receiver<Live>)> {
    let source = crate::sources::audit::start().ok()?;
    let (stop_read, stop_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
    let (tx, records) = mpsc::sync_channel(LSM_QUEUE);
    let source = source.lsm_only(tx);
    let thread = std::thread::spawn(move || {
        let health = Shared::new(Health::new(Source::Audit));
        source.run(stop_read.as_fd(), &health, |_| {});
    });
    Some((stop_write, thread, records))
}

/// LSM records waiting to be read, at most (more are dropped, not waited for).
const LSM_QUEUE: usize = 4096;

/// How long an LSM record waits for the refused call it names.
const LSM_KEPT: Duration = Duration::from_secs(5);

/// The LSM records read so far, each given to the first refused call of its
/// pid (and syscall, when the record says) that has none.
struct LsmRecords {
    from: Option<mpsc::Receiver<Live>>,
    kept: Vec<(Instant, Live)>,
}

impl LsmRecords {
    fn new(from: Option<mpsc::Receiver<Live>>) -> LsmRecords {
        LsmRecords {
            from,
            kept: Vec::new(),
        }
    }

    /// Takes what arrived, forgetting records no call claimed in time.
    fn receive(&mut self) {
        let now = Instant::now();
        self.kept
            .retain(|(at, _)| now.duration_since(*at) < LSM_KEPT);
        if let Some(from) = &self.from {
            self.kept.extend(from.try_iter().map(|l| (now, l)));
        }
    }

    /// Whether records may still come (an audit reader runs).
    fn reading(&self) -> bool {
        self.from.is_some()
    }

    /// The record of `r`'s call, taken (one record is one call's).
    fn take_for(&mut self, r: &Refusal) -> Option<crate::layer::lsm::Record> {
        let at = self
            .kept
            .iter()
            .position(|(_, l)| l.record.pid == Some(r.pid) && l.nr.is_none_or(|nr| nr == r.nr))?;
        Some(self.kept.remove(at).1.record)
    }
}

fn attach(scope: Scope, devices: Option<&Path>) -> Result<Watcher, String> {
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
    lsm: &mut LsmRecords,
) {
    let lists = scoped
        .devices
        .as_ref()
        .and_then(|(_, v1)| v1.clone())
        .map(devices::Lists::watch);
    // Threads that restricted themselves with Landlock.
    let mut landlocked = HashSet::new();
    let mut seen = Seen::new();
    // The last drain's refusals: they wait one drain for their LSM records,
    // which the kernel's audit thread sends a moment after the call.
    let mut held: Vec<Refusal> = Vec::new();
    loop {
        // Read the flag first: a drain after it was set sees every call made.
        let last = stop.load(Ordering::Acquire);
        lsm.receive();
        for refusal in held.drain(..) {
            send_joined(tx, refusal, lsm);
        }
        match watcher.drain() {
            Ok(all) => {
                for mut raw in all {
                    // nr -1: a tracer skipped the call (and set its return);
                    // it ran nowhere, so no layer refused it.
                    if raw.nr == u32::MAX {
                        continue;
                    }
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
                    let mut refusal = classified(&mut seen, &raw, time_ms, scoped);
                    refusal.failure.landlocked = is_landlocked(&landlocked, raw.tid, raw.pid);
                    if lsm.reading() {
                        held.push(refusal);
                    } else {
                        let _ = tx.send(Watch::Refused(Box::new(refusal)));
                    }
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
            if !held.is_empty() {
                // The workload has ended: the records of its last calls are
                // in the audit queue or about to be.
                std::thread::sleep(Duration::from_millis(50));
                lsm.receive();
            }
            for refusal in held.drain(..) {
                send_joined(tx, refusal, lsm);
            }
            if let Some(n) = watcher.lost().ok().filter(|&n| n > 0) {
                let _ = tx.send(Watch::Lost(n));
            }
            return;
        }
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// The same call from the same process, with the same failed checks and
/// strings: the refusal already read.
type Seen = HashMap<(u32, u32, u32, u64, [Vec<u8>; 2]), Refusal>;

/// `raw` as a refusal, read from /proc once for a call repeated in a loop.
fn classified(seen: &mut Seen, raw: &Refused, time_ms: u64, scoped: &Scoped) -> Refusal {
    let key = (
        raw.pid,
        raw.nr,
        raw.errno,
        raw.failed_caps,
        raw.strings.clone(),
    );
    if let Some(known) = seen.get(&key) {
        return Refusal {
            time_ms,
            tid: raw.tid,
            ..Refusal::clone(known)
        };
    }
    let r = Refusal::of(raw, time_ms, scoped.own_filters, scoped.container);
    if seen.len() >= SEEN_MAX {
        seen.clear();
    }
    seen.insert(key, r.clone());
    r
}

/// The calls that open or make a device node (a device check's verdict is
/// theirs; any other call's entry is a leftover of an earlier one).
const DEVICE_CALLS: [&str; 6] = ["open", "openat", "openat2", "creat", "mknod", "mknodat"];

/// Did the device cgroup refuse the device this call asked for: is it not in
/// the container's (v1) list? Not known on a cgroup v2 host (the runtime's
/// program decides there, and eperm cannot see its verdict).
fn device_refused(raw: &Refused, lists: Option<&devices::Lists>) -> bool {
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

/// Sends `refusal` with the LSM's record of its call, when one was read.
fn send_joined(tx: &mpsc::Sender<Watch>, mut refusal: Refusal, lsm: &mut LsmRecords) {
    refusal.failure.lsm = lsm.take_for(&refusal);
    let _ = tx.send(Watch::Refused(Box::new(refusal)));
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
        if let Some((stop, thread)) = self.lsm.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::lsm::{self, Lsm};
    use crate::layer::{Failure, Layer, Profile};
    use crate::sources::event::CallArch;

    fn refusal(pid: u32, nr: u32, syscall: &str) -> Refusal {
        Refusal {
            time_ms: 1,
            pid,
            tid: pid,
            comm: "landlocked".into(),
            arch: CallArch::Known(crate::arch::Arch::X86_64),
            syscall: syscall.into(),
            nr,
            failure: Failure {
                syscall: syscall.into(),
                errno: 13,
                // The workload restricted itself too: the record is preferred.
                landlocked: true,
                ..Failure::default()
            },
            finding: None,
        }
    }

    /// A Landlock record as the audit socket gives it, with its event's
    /// SYSCALL record (put together by the sources' assembler).
    fn landlock(pid: u32, nr: u32, serial: u32) -> Live {
        let mut a = crate::sources::lsm::Assembler::new(Source::Audit);
        let now = Instant::now();
        let access = format!(
            "audit(1.2:{serial}): domain=1a6fdc66f blockers=fs.read_file path=\"/etc/hostname\""
        );
        let syscall = format!("audit(1.2:{serial}): arch=c000003e syscall={nr} pid={pid}");
        assert!(a.message(1423, access.as_bytes(), now).is_empty());
        a.message(1300, syscall.as_bytes(), now).remove(0)
    }

    #[test]
    fn an_lsm_record_goes_to_the_refused_call_of_its_pid_and_syscall_once() {
        let (tx, rx) = mpsc::sync_channel(8);
        tx.send(landlock(7, 257, 30)).unwrap();
        // Another process's record, and one of another call of the same process.
        tx.send(landlock(8, 257, 31)).unwrap();
        tx.send(landlock(7, 2, 32)).unwrap();
        let mut records = LsmRecords::new(Some(rx));
        records.receive();
        let (calls_tx, calls) = mpsc::channel();
        send_joined(&calls_tx, refusal(7, 257, "openat"), &mut records);
        // A second openat of pid 7 has no record left: it is named by the restriction.
        send_joined(&calls_tx, refusal(7, 257, "openat"), &mut records);
        let mut joined: Vec<Refusal> = calls
            .try_iter()
            .map(|w| match w {
                Watch::Refused(r) => *r,
                other => panic!("{other:?}"),
            })
            .collect();
        for r in &mut joined {
            r.classify(Profile::Allows);
        }
        let first = joined[0].finding.as_ref().unwrap();
        assert_eq!(first.layer, Layer::Lsm);
        let record = first.lsm.as_ref().unwrap();
        assert_eq!((record.lsm, record.pid), (Lsm::Landlock, Some(7)));
        assert_eq!(record.subject, "1a6fdc66f");
        assert!(first
            .evidence
            .contains("Landlock domain 1a6fdc66f blocked fs.read_file"));
        let second = joined[1].finding.as_ref().unwrap();
        assert_eq!(second.layer, Layer::Lsm);
        assert_eq!(second.lsm, Some(lsm::Record::restricted("")));
        assert_eq!(records.kept.len(), 2, "pid 8's and pid 7's read() are left");
    }
}
