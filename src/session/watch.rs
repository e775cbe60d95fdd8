//! Kernel log records without a workload of eperm's: `watch` follows the
//! machine's live records, `replay` reads saved ones. Both explain each record
//! by the profile's deciding rule when a profile was given, and show events the
//! same way; the commands only choose where they go (a terminal UI, stdout).

use crate::arch::Arch;
use crate::caps::CapSet;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::profile::{load_or_default, KernelVersion, Profile, Target};
use crate::run::Judge;
use crate::sources::audit_record::Record;
use crate::sources::event::{Event, Source};
use crate::sources::file::{self, Format};
use crate::sources::health::{Health, Shared};
use crate::sources::logs::{self, Dedupe, Filter, Incoming, LogSources, Wanted};
use crate::sources::lsm::Live;
use crate::untrusted::Untrusted;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The profile that explains records (`-p`, else the embedded one shown in the
/// UI), and its judge when one was given. Docker's capabilities are the best guess
/// for a container started elsewhere.
pub fn profile_and_judge(path: Option<&Path>) -> Result<(Profile, Option<Judge>), Error> {
    let profile = load_or_default(path)?;
    if path.is_none() {
        return Ok((profile, None));
    }
    let target = Target {
        arch: Arch::native(),
        caps: CapSet::docker_default(),
        kernel: KernelVersion::running(),
        runtime: None,
    };
    let judge = Judge::new(profile.clone(), &target, crate::compile::Mode::Enforce)
        .map_err(|e| Error::bad_input(e.to_string()))?;
    Ok((profile, Some(judge)))
}

/// The UI's configuration when there is no workload to run.
pub fn view_config(what: &str, path: Option<PathBuf>) -> crate::app::Config {
    crate::app::Config {
        command: what.to_string(),
        mode: "log".to_string(),
        enforce: false,
        hold: false,
        hold_timeout_ms: 0,
        autosave: true,
        rerun_on_save: false,
        coverage: false,
        path,
        watching: true,
        runtime: None,
        target: None,
        report: None,
    }
}

/// The event for a record, with the deciding rule when a profile was given.
/// A profile from `export --soften` is explained by what it would have done:
/// the original action, with the one it was softened to kept beside it.
pub fn judged_event(incoming: &Incoming, judge: Option<&Judge>, time_ms: u64) -> Event {
    let mut softened = None;
    let judged = judge.and_then(|j| {
        let r = &incoming.record;
        let judgement = j.judge(r.arch?, r.nr, [0; 6]);
        let Some(original) = &j.unsoftened else {
            return Some((judgement.verdict, judgement.decider));
        };
        // The softened profile's rules all log alike (runc folds those equal to
        // the default into it): the original names the rule that decided.
        let was = original.judge(r.arch?, r.nr, [0; 6]);
        if was.verdict != judgement.verdict {
            softened = Some(judgement.verdict.action);
        }
        Some((was.verdict, j.decider(was.decider.rule)))
    });
    let mut event = logs::event(incoming, judged, time_ms, None);
    event.softened = softened;
    event
}

/// What `watch` follows: which sources, which processes, for how long.
pub struct WatchOptions {
    pub wanted: Wanted,
    /// Only this process and its descendants.
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    /// Only processes of this container (by id, name or pod).
    pub container: Option<String>,
    /// Only processes of this pod (`NAMESPACE/POD`, or `POD` in any namespace).
    pub pod: Option<String>,
    /// Only processes of pods in this namespace.
    pub namespace: Option<String>,
    /// Explains each record when a profile was given.
    pub judge: Option<Judge>,
    /// Stop after this long.
    pub deadline: Option<Duration>,
    /// Counts every event emitted (`--metrics`).
    pub metrics: Option<Metrics>,
}

/// What `watch` shows: a seccomp record's event, or an LSM's refusal record.
// Nearly everything shown is an event: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Shown {
    Event(Event),
    Lsm(Live),
}

/// The machine's kernel log sources, followed until told to stop.
pub struct Watch {
    sources: LogSources,
    records: mpsc::Receiver<Incoming>,
    /// The LSMs' refusal records (AppArmor, SELinux, Landlock).
    lsm: mpsc::Receiver<Live>,
    filter: Filter,
    container: Option<String>,
    pod: Option<String>,
    namespace: Option<String>,
    judge: Option<Judge>,
    deadline: Option<Duration>,
    metrics: Option<Metrics>,
}

impl Watch {
    /// Starts the sources `options` asks for (an error when none could be started;
    /// [`Watch::any_active`] says whether one is reading).
    pub fn start(options: WatchOptions) -> std::io::Result<Watch> {
        let (tx, records) = logs::channel();
        let (lsm_tx, lsm) = mpsc::sync_channel(logs::QUEUE);
        let sources = LogSources::start_with_lsm(options.wanted, tx, Some(lsm_tx))?;
        let mut filter = match options.pid {
            Some(pid) => Filter::tree(pid),
            None => Filter::default(),
        };
        filter.comm = options.comm;
        filter.exe = options.exe;
        Ok(Watch {
            sources,
            records,
            lsm,
            filter,
            container: options.container,
            pod: options.pod,
            namespace: options.namespace,
            judge: options.judge,
            deadline: options.deadline,
            metrics: options.metrics,
        })
    }

    pub fn health(&self) -> Vec<Health> {
        self.sources.health()
    }

    pub fn any_active(&self) -> bool {
        self.sources.any_active()
    }

    /// Each source's health as it changes (a metrics endpoint reads them).
    pub fn handles(&self) -> Vec<Shared> {
        self.sources.handles()
    }

    /// The sources' health every half second, until the receiver is dropped (a
    /// UI's status bar).
    pub fn health_updates(&self) -> mpsc::Receiver<Vec<Health>> {
        let (health, updates) = mpsc::channel();
        let handles = self.sources.handles();
        std::thread::spawn(move || loop {
            let now: Vec<_> = handles.iter().map(|h| h.get()).collect();
            if health.send(now).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        });
        updates
    }

    /// Moves records to `emit` (deduplicated, filtered and explained) until `stop`,
    /// the deadline, or `emit` fails; `emit(None, true)` is a quiet moment to
    /// flush. Returns how many events were emitted.
    pub fn pump(
        &mut self,
        stop: &AtomicBool,
        emit: &mut dyn FnMut(Option<Shown>, bool) -> std::io::Result<()>,
    ) -> std::io::Result<u64> {
        let started = Instant::now();
        let mut dedupe = Dedupe::default();
        let mut lsm_seen = Dedupe::default();
        let mut shown = 0u64;
        let deadline = self.deadline;
        while !stop.load(Ordering::SeqCst) && deadline.is_none_or(|d| started.elapsed() < d) {
            while let Ok(live) = self.lsm.try_recv() {
                if self.wants_lsm(&live, &mut lsm_seen) {
                    // Rare, and worth seeing at once: flushed.
                    emit(Some(Shown::Lsm(live)), true)?;
                    shown += 1;
                }
            }
            let incoming = match self.records.recv_timeout(Duration::from_millis(100)) {
                Ok(i) => i,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    emit(None, true)?;
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if !dedupe.first(&incoming.record) || !self.filter.matches(&incoming.record) {
                continue;
            }
            let time_ms = started.elapsed().as_millis() as u64;
            let event = judged_event(&incoming, self.judge.as_ref(), time_ms);
            if !self.wants(&event) {
                continue;
            }
            if let Some(metrics) = &self.metrics {
                metrics.count(&event);
            }
            emit(Some(Shown::Event(event)), false)?;
            shown += 1;
        }
        Ok(shown)
    }

    /// An LSM record is shown once (audit and kmsg may both read it), and
    /// only when it passes `--pid`, `--comm` and `--exe` as a seccomp record
    /// of the same process would; `--container`, `--pod` and `--namespace`
    /// show none (an LSM record names no container).
    fn wants_lsm(&mut self, live: &Live, seen: &mut Dedupe) -> bool {
        let stamped = Record {
            serial: live.serial,
            ..Record::default()
        };
        if !seen.first(&stamped) {
            return false;
        }
        if self.container.is_some() || self.pod.is_some() || self.namespace.is_some() {
            return false;
        }
        let unfiltered =
            self.filter.root.is_none() && self.filter.comm.is_none() && self.filter.exe.is_none();
        let Some(pid) = live.record.pid else {
            return unfiltered;
        };
        let field =
            |name: &str| lsm_field(&live.record.text, name).map(|v| Untrusted::new(v.into_bytes()));
        let as_seccomp = Record {
            pid,
            comm: field("comm"),
            exe: field("exe"),
            ..Record::default()
        };
        self.filter.matches(&as_seccomp)
    }

    /// `--container`, `--pod`, `--namespace`: a record whose process is gone
    /// (or in no container, or no pod) is not theirs.
    fn wants(&self, event: &Event) -> bool {
        let container = |want: &String| event.container.as_ref().is_some_and(|c| c.matches(want));
        let pod = |want: &String| event.pod.as_ref().is_some_and(|p| p.is(want));
        let namespace = |ns: &String| event.pod.as_ref().is_some_and(|p| p.in_namespace(ns));
        self.container.as_ref().is_none_or(container)
            && self.pod.as_ref().is_none_or(pod)
            && self.namespace.as_ref().is_none_or(namespace)
    }

    /// Stops the sources; their final health.
    pub fn stop(self) -> Vec<Health> {
        // The record queue is bounded: unread, a full one would keep the readers
        // waiting in `stop`.
        drop(self.records);
        self.sources.stop()
    }
}

/// A `name=value` or `name="value"` field of an LSM record's text.
fn lsm_field(text: &str, name: &str) -> Option<String> {
    let at = text
        .split(' ')
        .position(|w| w.starts_with(&format!("{name}=")))?;
    let rest: String = text.split(' ').skip(at).collect::<Vec<_>>().join(" ");
    let value = &rest[name.len() + 1..];
    Some(match value.strip_prefix('"') {
        Some(q) => q.split('"').next().unwrap_or("").to_string(),
        None => value.split(' ').next().unwrap_or("").to_string(),
    })
}

/// How many records of one saved log were read, and how many were not whole.
#[derive(Default)]
pub struct Replayed {
    pub records: usize,
    /// Records cut short.
    pub truncated: u64,
    /// Records the printk rate limit suppressed (kmsg says how many).
    pub suppressed: u64,
}

impl Replayed {
    /// Adds what another block of the same log held.
    pub fn add(&mut self, block: Replayed) {
        self.records += block.records;
        self.truncated += block.truncated;
        self.suppressed += block.suppressed;
    }
}

/// The events of one saved log (`data`, in any form `sources::file` reads),
/// explained by `judge`, appended to `events`.
pub fn replay(data: &[u8], judge: Option<&Judge>, events: &mut Vec<Event>) -> Replayed {
    let before = events.len();
    let (truncated, suppressed) = file::each_record(format_of(data), data, |record| {
        let incoming = Incoming {
            source: Source::File,
            record,
        };
        events.push(judged_event(&incoming, judge, 0));
    });
    Replayed {
        records: events.len() - before,
        truncated,
        suppressed,
    }
}

/// The journal's JSON and export forms are read whole; every other form line by line.
fn format_of(data: &[u8]) -> Format {
    let start = &data[..data.len().min(4096)];
    let first = start.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') || start.starts_with(b"__CURSOR=") {
        Format::Journal
    } else {
        Format::Audit
    }
}

/// `audit pid 1234 (curl /usr/bin/curl) x86_64 socket: SCMP_ACT_LOG [syscalls[3]] container docker web (3f2a9c1b7d04)`
pub fn line(e: &Event) -> String {
    let mut s = format!(
        "{:<5} pid {} ({}{}) {} {}: {}",
        match e.source {
            Source::Audit => "audit",
            Source::File => "file",
            _ => "kmsg",
        },
        e.pid,
        e.comm,
        e.exe.as_ref().map(|x| format!(" {x}")).unwrap_or_default(),
        e.arch,
        e.syscall,
        e.ruling.action_name()
    );
    if let Some(errno) = e.ruling.errno_text() {
        s += &format!(" ({errno})");
    }
    if let Some(to) = e.softened {
        s += &format!(" softened to {}", to.name());
    }
    if let Some(rule) = e.rule {
        s += &format!(" [{rule}]");
    }
    if let Some(c) = &e.container {
        s += &format!(" container {} {}", c.runtime, c.label());
    }
    // The container's label names a pod the runtime's state names; one known
    // by its cgroup alone is named by uid here.
    if let Some(p) = e.pod.as_ref().filter(|p| p.name.is_none()) {
        s += &format!(" {}", p.label());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::event::Rule;

    /// What the TUI's rows show for a call the kernel lets through: allowed by
    /// the kernel (no rule of the profile), from the release that added each.
    #[test]
    fn the_kernels_passthrough_calls_are_judged_as_the_kernel_treats_them() {
        let profile = crate::profile::load_str(
            "p.json",
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#.to_string(),
        )
        .unwrap();
        let judge = |kernel: &str| {
            let target = Target {
                arch: Arch::X86_64,
                caps: CapSet::docker_default(),
                kernel: KernelVersion::parse(kernel),
                runtime: None,
            };
            Judge::new(profile.clone(), &target, crate::compile::Mode::Enforce).unwrap()
        };
        for (nr, before, since) in [(335, "6.13", "6.14"), (336, "6.17", "6.18")] {
            let old = judge(before).judge(Arch::X86_64, nr, [0; 6]);
            assert_eq!(old.verdict.action, crate::profile::Action::Errno);
            assert_eq!(old.decider.rule, Rule::Default);
            let new = judge(since).judge(Arch::X86_64, nr, [0; 6]);
            assert_eq!(new.verdict, crate::profile::Verdict::ALLOW, "nr {nr}");
            assert_eq!(new.decider.rule, Rule::Kernel, "nr {nr}");
            // An x32 call of the same number is filtered as ever.
            let x32 = nr | crate::arch::X32_SYSCALL_BIT;
            let x32 = judge(since).judge(Arch::X32, x32, [0; 6]);
            assert_eq!(x32.verdict.action, crate::profile::Action::Errno);
        }
    }
}
