//! The kernel log sources together: start audit and/or kmsg readers, merge their
//! records into one stream with each record once, decide which records belong to
//! whom, and turn records into events.

use super::audit_record::Record;
use super::event::{CallArch, Decider, Decision, Event, Ruling, Source};
use super::health::{machine_warnings, Health, Shared};
use super::{audit, kmsg, procinfo};
use crate::profile::Verdict;
use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// One record and the source that read it.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub source: Source,
    pub record: Record,
}

/// Records waiting for their consumer, at most (~5 MiB): a consumer that falls
/// behind makes the readers wait, then the kernel drop at the socket (counted),
/// instead of eperm's memory growing with the calls (measured: 21 MiB for 32k
/// calls and 117 MiB for 320k with an unbounded queue).
pub const QUEUE: usize = 16 << 10;

/// The channel the log sources send their records on.
pub fn channel() -> (mpsc::SyncSender<Incoming>, mpsc::Receiver<Incoming>) {
    mpsc::sync_channel(QUEUE)
}

/// Which sources to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub audit: bool,
    pub kmsg: bool,
}

impl Wanted {
    pub const BOTH: Wanted = Wanted {
        audit: true,
        kmsg: true,
    };
}

/// The running readers.
pub struct LogSources {
    stop: Option<OwnedFd>,
    threads: Vec<JoinHandle<()>>,
    health: Vec<Shared>,
}

impl LogSources {
    /// Opens the wanted sources now (so nothing logged from here on is missed) and
    /// reads them on threads of their own, sending every record to `tx`.
    pub fn start(wanted: Wanted, tx: mpsc::SyncSender<Incoming>) -> std::io::Result<LogSources> {
        Self::start_with_lsm(wanted, tx, None)
    }

    /// As [`LogSources::start`], the LSM refusal records sent to `lsm` too.
    pub fn start_with_lsm(
        wanted: Wanted,
        tx: mpsc::SyncSender<Incoming>,
        lsm: Option<mpsc::SyncSender<super::lsm::Live>>,
    ) -> std::io::Result<LogSources> {
        let (stop_read, stop_write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let mut sources = LogSources {
            stop: Some(stop_write),
            threads: Vec::new(),
            health: Vec::new(),
        };
        let warnings = machine_warnings();
        if wanted.audit {
            match audit::start() {
                Ok(source) => {
                    let source = match lsm.clone() {
                        Some(lsm) => source.with_lsm(lsm),
                        None => source,
                    };
                    let mut h = audit::initial_health();
                    h.warnings.extend(warnings.iter().cloned());
                    sources.read_on_thread(
                        Source::Audit,
                        h,
                        &stop_read,
                        &tx,
                        move |stop, h, each| source.run(stop, h, each),
                    )?;
                }
                Err(why) => sources
                    .health
                    .push(Shared::new(Health::unavailable(Source::Audit, why.0))),
            }
        }
        if wanted.kmsg {
            match kmsg::KmsgSource::open() {
                Ok(source) => {
                    let source = match lsm.clone() {
                        Some(lsm) => source.with_lsm(lsm),
                        None => source,
                    };
                    let mut h = Health::new(Source::Kmsg);
                    // From the start, and even if it never reads a line: see `kmsg::tally`.
                    h.lost_bound = crate::sources::health::Bound::AtLeast;
                    h.warnings.extend(warnings.iter().cloned());
                    if let Ok(s) = audit::status() {
                        if s.pid != 0 {
                            h.warnings.push(format!(
                                "an audit daemon (pid {}) is registered: the kernel prints no records to kmsg",
                                s.pid
                            ));
                        }
                    }
                    sources.read_on_thread(
                        Source::Kmsg,
                        h,
                        &stop_read,
                        &tx,
                        move |stop, h, each| source.run(stop, h, each),
                    )?;
                }
                Err(e) => sources.health.push(Shared::new(Health::unavailable(
                    Source::Kmsg,
                    e.to_string(),
                ))),
            }
        }
        Ok(sources)
    }

    /// Runs `read` (a source's read loop, until `stop` is readable) on a thread
    /// of its own, each record it reads sent to `tx` as `source`'s; its health
    /// starts as `health`, and the loop keeps it.
    fn read_on_thread(
        &mut self,
        source: Source,
        health: Health,
        stop: &OwnedFd,
        tx: &mpsc::SyncSender<Incoming>,
        read: impl FnOnce(BorrowedFd<'_>, &Shared, &mut dyn FnMut(Record)) + Send + 'static,
    ) -> std::io::Result<()> {
        let shared = Shared::new(health);
        let (stop, tx, kept) = (stop.try_clone()?, tx.clone(), shared.clone());
        self.threads.push(std::thread::spawn(move || {
            read(stop.as_fd(), &kept, &mut |record| {
                let _ = tx.send(Incoming { source, record });
            })
        }));
        self.health.push(shared);
        Ok(())
    }

    pub fn health(&self) -> Vec<Health> {
        self.health.iter().map(Shared::get).collect()
    }

    /// Live views of each source's health, for a reporter thread.
    pub fn handles(&self) -> Vec<Shared> {
        self.health.clone()
    }

    pub fn any_active(&self) -> bool {
        self.health.iter().any(|h| h.get().is_active())
    }

    /// Stops the readers and gives their final health.
    pub fn stop(mut self) -> Vec<Health> {
        self.stop = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.health()
    }
}

/// Remembers which audit serials were seen, so that a record read by both sources
/// counts once. Serials are dense integers, so a bitmap over a sliding window of
/// 16 M serials (2 MiB) holds a whole flood, however far one source lags the other.
pub struct Dedupe {
    base: u64,
    bits: Vec<u64>,
    started: bool,
}

impl Default for Dedupe {
    fn default() -> Self {
        Dedupe {
            base: 0,
            bits: vec![0; Self::WINDOW as usize / 64],
            started: false,
        }
    }
}

impl Dedupe {
    const WINDOW: u64 = 1 << 24;

    /// True the first time a record is seen. Records without a serial always pass.
    pub fn first(&mut self, r: &Record) -> bool {
        let Some(serial) = r.serial else { return true };
        if !self.started {
            self.started = true;
            self.base = serial.saturating_sub(Self::WINDOW / 2);
        }
        if serial < self.base {
            return true; // older than anything remembered
        }
        if serial >= self.base + Self::WINDOW {
            // Slide: keep the newer half of what is remembered.
            let new_base = serial - Self::WINDOW / 2;
            let shift = new_base - self.base;
            let mut moved = vec![0u64; self.bits.len()];
            if shift < Self::WINDOW && shift % 64 == 0 {
                let words = (shift / 64) as usize;
                moved[..self.bits.len() - words].copy_from_slice(&self.bits[words..]);
            } else if shift < Self::WINDOW {
                for i in shift..Self::WINDOW {
                    if self.bits[(i / 64) as usize] >> (i % 64) & 1 == 1 {
                        let j = i - shift;
                        moved[(j / 64) as usize] |= 1 << (j % 64);
                    }
                }
            }
            self.bits = moved;
            self.base = new_base;
        }
        let i = serial - self.base;
        let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        let seen = self.bits[word] & bit != 0;
        self.bits[word] |= bit;
        !seen
    }
}

/// Which records count: the workload's audit session, or its process tree, and for
/// `watch` also a comm or exe.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// The audit session of the workload (its own, fresh one).
    pub ses: Option<u32>,
    /// The root of a process tree; descendants are found through /proc while alive.
    pub root: Option<u32>,
    /// A container's id: its processes descend from a runtime process whose
    /// command line names the id (`runc run ID`, `containerd-shim … -id ID`).
    pub container: Option<String>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    known: HashSet<u32>,
    strangers: HashSet<u32>,
    /// Pid namespaces of the container's processes seen so far: a later process
    /// in one of them is the container's even when its parents are gone.
    namespaces: HashSet<u64>,
    /// Parents of processes already gone from /proc (see [`super::forks`]).
    forks: Option<std::sync::Arc<std::sync::Mutex<super::forks::Forks>>>,
}

impl Filter {
    pub fn session(ses: u32) -> Filter {
        Filter {
            ses: Some(ses),
            ..Filter::default()
        }
    }

    pub fn tree(root: u32) -> Filter {
        Filter {
            root: Some(root),
            ..Filter::default()
        }
    }

    pub fn container(id: &str) -> Filter {
        Filter {
            container: Some(id.to_string()),
            ..Filter::default()
        }
    }

    /// Like [`Filter::container`], also following processes that exited before
    /// their records were read, through the fork events `forks` saw.
    pub fn container_with_forks(
        id: &str,
        forks: std::sync::Arc<std::sync::Mutex<super::forks::Forks>>,
    ) -> Filter {
        Filter {
            forks: Some(forks),
            ..Filter::container(id)
        }
    }

    pub fn matches(&mut self, r: &Record) -> bool {
        if let Some(ses) = self.ses {
            if r.ses != Some(ses) {
                return false;
            }
        }
        if let Some(root) = self.root {
            if !self.in_tree(root, r.pid) {
                return false;
            }
        }
        if let Some(id) = self.container.clone() {
            if !self.in_container(&id, r.pid) {
                return false;
            }
        }
        if let Some(comm) = &self.comm {
            if r.comm.as_ref().is_none_or(|c| c != comm.as_str()) {
                return false;
            }
        }
        if let Some(exe) = &self.exe {
            if r.exe.as_ref().is_none_or(|e| e != exe.as_str()) {
                return false;
            }
        }
        true
    }

    /// Is `pid` the container's? Only proven membership counts: a process whose
    /// ancestry cannot be followed (gone from /proc, its fork unseen) is not
    /// attributed (never to the wrong container).
    fn in_container(&mut self, id: &str, pid: u32) -> bool {
        if self.known.contains(&pid) {
            return true;
        }
        let own_ns = procinfo::pid_ns(std::process::id());
        let names_id =
            |p: u32| procinfo::cmdline(p).is_some_and(|argv| argv.iter().any(|a| a == id));
        let mut chain = Vec::new();
        let mut at = pid;
        let found = loop {
            chain.push(at);
            let ns = procinfo::pid_ns(at);
            if self.known.contains(&at)
                || ns.is_some_and(|ns| self.namespaces.contains(&ns))
                || names_id(at)
            {
                break true;
            }
            // A live process's parent from /proc; a gone one's from its fork event.
            let parent = procinfo::ppid(at).or_else(|| {
                let forks = self.forks.as_ref()?;
                forks.lock().unwrap_or_else(|p| p.into_inner()).parent(at)
            });
            match parent {
                Some(p) if p > 1 && chain.len() < 64 => at = p,
                _ => break false,
            }
        };
        if found {
            // Namespaces of the container's own processes, never eperm's (the
            // runtime itself runs there).
            for &p in &chain {
                if let Some(ns) = procinfo::pid_ns(p).filter(|&ns| Some(ns) != own_ns) {
                    self.namespaces.insert(ns);
                }
            }
            self.known.extend(chain);
        }
        found
    }

    fn in_tree(&mut self, root: u32, pid: u32) -> bool {
        if pid == root || self.known.contains(&pid) {
            return true;
        }
        if self.strangers.contains(&pid) {
            return false;
        }
        let mut chain = vec![pid];
        let mut at = pid;
        let found = loop {
            match procinfo::ppid(at) {
                Some(p) if p == root || self.known.contains(&p) => break true,
                Some(0) | None => break false,
                Some(p) if chain.len() > 4096 => break p == root,
                Some(p) => {
                    chain.push(p);
                    at = p;
                }
            }
        };
        if found {
            self.known.extend(chain);
        } else if procinfo::ppid(pid).is_some() {
            // Alive and not ours (a dead one's pid may be reused by a descendant).
            self.strangers.insert(pid);
        }
        found
    }
}

/// The event for a record. `judged`: what the profile says and the deciding rule;
/// without a profile the record's own action stands.
pub fn event(
    incoming: &Incoming,
    judged: Option<(Verdict, Decider)>,
    time_ms: u64,
    own_exe: Option<&str>,
) -> Event {
    let r = &incoming.record;
    let decision = match r.code & 0xffff_0000 {
        0x7ffc_0000 => Decision::Logged,
        0x7fff_0000 => Decision::Allowed,
        0x0003_0000 => Decision::Trapped,
        0x8000_0000 | 0 => Decision::Killed,
        _ => Decision::Denied,
    };
    let (ruling, rule) = match judged {
        Some((verdict, rule)) => (Ruling::Profile(verdict), Some(rule)),
        None => (Ruling::Record(r.code), None),
    };
    let comm = r.comm.clone().unwrap_or_default();
    let own = own_exe.is_some_and(|own| r.exe.as_ref().is_some_and(|e| e == own));
    let bootstrap = super::event::is_bootstrap(&comm, own);
    // Only a live record's pid can be looked up; a saved log's may be reused.
    let container = match incoming.source {
        Source::Audit | Source::Kmsg => super::cgroup::of_pid(r.pid),
        _ => None,
    };
    Event {
        time_ms,
        source: incoming.source,
        pid: r.pid,
        tid: r.pid,
        comm,
        exe: r.exe.clone(),
        arch: CallArch::of(r.arch, r.audit_arch),
        syscall: r.syscall(),
        nr: r.nr,
        args: None,
        call: None,
        ruling,
        rule,
        bootstrap,
        decision,
        pod: container.as_ref().and_then(|c| c.kube.clone()),
        container,
        interference: None,
        stack: None,
        softened: None,
    }
}

/// The summary's words about the sources: each one's health, and the warning when
/// kmsg alone carried the run and dropped records.
pub fn render_health(health: &[Health]) -> String {
    let mut s = String::new();
    for h in health {
        s += &format!("  {}\n", h.render());
    }
    let audit_active = health
        .iter()
        .any(|h| h.source == Source::Audit && h.is_active());
    let kmsg_dropped = health
        .iter()
        .any(|h| h.source == Source::Kmsg && h.is_active() && h.knows_it_dropped());
    if kmsg_dropped && !audit_active {
        s += "  warning: kmsg alone saw these records and the printk rate limit (10 per 5 s) dropped some: the counts above are a lower bound\n  \
              hint: use --source audit (needs CAP_AUDIT_READ, the initial network namespace) or --mode notify to see every call\n";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(serial: u64) -> Record {
        Record {
            serial: Some(serial),
            ..Record::default()
        }
    }

    #[test]
    fn kmsg_alone_dropping_records_is_called_out() {
        let mut kmsg = Health::new(Source::Kmsg);
        kmsg.received = 10;
        kmsg.suppressed = 990;
        kmsg.lost = 990;
        kmsg.lost_bound = crate::sources::health::Bound::AtLeast;
        let audit_off = Health::unavailable(Source::Audit, "needs root or CAP_AUDIT_READ".into());
        let text = render_health(&[audit_off.clone(), kmsg.clone()]);
        assert!(text.contains("audit: unavailable: needs root"), "{text}");
        assert!(
            text.contains("kmsg: active, received 10, lost at least 990, suppressed 990"),
            "{text}"
        );
        assert!(text.contains("hint: use --source audit"), "{text}");
        let audit_on = Health::new(Source::Audit);
        assert!(!render_health(&[audit_on, kmsg.clone()]).contains("hint"));
        kmsg.suppressed = 0;
        kmsg.lost = 0;
        kmsg.lost_bound = crate::sources::health::Bound::Exact;
        assert!(!render_health(&[audit_off, kmsg]).contains("hint"));
    }

    /// A process tree whose top names the container id (as `runc run ID` or the
    /// shim's `-id ID` do) is the container's; a process of another tree is not,
    /// and neither is one with the id only as part of a longer argument.
    #[test]
    fn container_records_are_the_ones_below_the_runtime_naming_the_id() {
        use std::process::{Command, Stdio};
        let id = format!("ctr-{}", std::process::id());
        let spawn = |args: &[&str]| {
            Command::new("sh")
                .args(args)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        };
        // `sh -c SCRIPT ID`: the id is the shell's $0, a whole argument; its child
        // prints its own pid and waits.
        let mut ours = spawn(&["-c", "sh -c 'echo $$; exec sleep 5'; true", &id]);
        let mut other = spawn(&[
            "-c",
            "sh -c 'echo $$; exec sleep 5'; true",
            &format!("{id}x"),
        ]);
        let pid_of = |child: &mut std::process::Child| {
            use std::io::BufRead;
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.as_mut().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().parse::<u32>().unwrap()
        };
        let (inside, outside) = (pid_of(&mut ours), pid_of(&mut other));
        let record = |pid| Record {
            pid,
            ..Record::default()
        };
        let mut filter = Filter::container(&id);
        assert!(filter.matches(&record(inside)));
        assert!(!filter.matches(&record(outside)));
        assert!(!filter.matches(&record(std::process::id())));
        for mut child in [ours, other] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    #[test]
    fn each_serial_passes_once_however_far_apart() {
        let mut d = Dedupe::default();
        assert!(d.first(&rec(1000)));
        assert!(!d.first(&rec(1000)));
        assert!(d.first(&rec(1001)));
        let far = 1000 + Dedupe::WINDOW + 5;
        assert!(d.first(&rec(far)));
        assert!(!d.first(&rec(far)));
        assert!(!d.first(&rec(far)));
        // 1001 is still within the window after the slide? It is older than the base.
        assert!(d.first(&rec(far - 3)));
        assert!(!d.first(&rec(far - 3)));
        assert!(d.first(&Record::default()));
        assert!(d.first(&Record::default()));
    }
}
