//! One would-be-denied syscall on one arch, aggregated over the events that
//! report it: the line of the headless summary and the row of the TUI's
//! Syscalls table are the same aggregation.

use super::event::{rule_path, CallArch, Decider, Event, Ruling};
use super::stack::{self, Frame};
use crate::pods::Pod;
use crate::untrusted::Untrusted;

/// How many distinct processes (by pid and name, and by name alone) it remembers.
const PROCESSES: usize = 8;

/// How many distinct pods it remembers.
pub const PODS: usize = 8;

/// How many distinct call sites of one syscall it tells apart; calls from
/// further ones are counted in the syscall's hits only.
pub const SITES: usize = 16;

/// One place in the program a syscall is called from: the innermost frame of
/// the caller's own code (see [`stack::call_site`]), with the stack of the first
/// call made there.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSite {
    pub hits: u64,
    pub stack: Vec<Frame>,
    key: (Untrusted, u64),
}

/// The calls of one syscall on one arch, as the events told them.
#[derive(Clone, Debug, PartialEq)]
pub struct DeniedSyscall {
    pub syscall: String,
    pub arch: CallArch,
    pub nr: u32,
    /// Calls seen.
    pub hits: u64,
    /// What the profile says (of the first call).
    pub ruling: Ruling,
    /// The rule that decided the first call.
    pub rule: Option<Decider>,
    /// The first processes seen making it, by pid and (untrusted) name: runc's
    /// init and the workload it execs share a pid.
    pub pids: Vec<(u32, Untrusted)>,
    /// The names of the first processes seen making it, each once.
    pub comms: Vec<Untrusted>,
    /// The Kubernetes pods (and containers in them) of the first calls, each once.
    pub pods: Vec<Pod>,
    pub first_ms: u64,
    pub last_ms: u64,
    /// The first call seen, decoded.
    pub example: String,
    /// The first call's arguments, when known.
    pub example_args: Option<[u64; 6]>,
    /// Per argument: the value every call so far had, if they all agreed.
    pub common_args: [Option<u64>; 6],
    /// Every call was made before the workload's exec.
    pub bootstrap: bool,
    /// Where in the program the calls came from, in the order first seen, each
    /// with its count (only calls whose stack was taken; at most [`SITES`]).
    pub sites: Vec<CallSite>,
}

impl DeniedSyscall {
    /// The aggregation of one event.
    pub fn new(e: &Event) -> DeniedSyscall {
        let mut seen = DeniedSyscall {
            syscall: e.syscall.clone(),
            arch: e.arch,
            nr: e.nr,
            hits: 0,
            ruling: e.ruling,
            rule: e.rule,
            pids: Vec::new(),
            comms: Vec::new(),
            pods: Vec::new(),
            first_ms: e.time_ms,
            last_ms: e.time_ms,
            example: e
                .call
                .clone()
                .unwrap_or_else(|| raw_call(&e.syscall, e.args)),
            example_args: e.args,
            common_args: e.args.map_or([None; 6], |a| a.map(Some)),
            bootstrap: e.bootstrap,
            sites: Vec::new(),
        };
        seen.add(e);
        seen
    }

    /// Is `e` a call of this syscall on this arch?
    pub fn is_of(&self, e: &Event) -> bool {
        self.syscall == e.syscall && self.arch == e.arch
    }

    /// Counts one more call (of this syscall on this arch).
    pub fn add(&mut self, e: &Event) {
        self.hits += 1;
        self.last_ms = e.time_ms;
        self.bootstrap &= e.bootstrap;
        match e.args {
            Some(a) => {
                for (slot, v) in self.common_args.iter_mut().zip(a) {
                    if *slot != Some(v) {
                        *slot = None;
                    }
                }
            }
            None => self.common_args = [None; 6],
        }
        if self.pids.len() < PROCESSES
            && !self.pids.iter().any(|(p, c)| *p == e.pid && *c == e.comm)
        {
            self.pids.push((e.pid, e.comm.clone()));
        }
        if self.comms.len() < PROCESSES && !self.comms.contains(&e.comm) {
            self.comms.push(e.comm.clone());
        }
        if let Some(pod) = &e.pod {
            if self.pods.len() < PODS && !self.pods.contains(pod) {
                self.pods.push(pod.clone());
            }
        }
        self.add_site(e);
    }

    fn add_site(&mut self, e: &Event) {
        let Some(frames) = e.stack.as_deref() else {
            return;
        };
        let Some(key) = stack::call_site(frames) else {
            return;
        };
        if let Some(site) = self.sites.iter_mut().find(|s| s.key == key) {
            site.hits += 1;
        } else if self.sites.len() < SITES {
            self.sites.push(CallSite {
                hits: 1,
                stack: frames.to_vec(),
                key,
            });
        }
    }

    /// Where the first call came from, in a line: `from make_cache_dir
    /// (cache.c:42) ← do_setup ← main`; `None` when no stack was taken.
    pub fn first_site(&self) -> Option<String> {
        stack::summary(&self.sites.first()?.stack)
    }

    /// What the profile says, in a word: `EPERM`, `ENOSYS`, `KILL_PROCESS`, `TRAP` …
    pub fn verdict(&self) -> &'static str {
        self.ruling.word()
    }

    /// The deciding rule's JSON path, or empty when no profile judged the calls.
    pub fn rule_path(&self) -> String {
        rule_path(self.rule)
    }

    /// The first process seen making it.
    pub fn first(&self) -> (u32, &Untrusted) {
        let (pid, comm) = self.pids.first().expect("made from an event");
        (*pid, comm)
    }
}

/// A call with its arguments in hex, for an event that has no decoded text.
pub fn raw_call(syscall: &str, args: Option<[u64; 6]>) -> String {
    let args = args.unwrap_or_default();
    let used = args.iter().rposition(|&a| a != 0).map_or(0, |i| i + 1);
    let shown: Vec<String> = args[..used].iter().map(|a| format!("{a:#x}")).collect();
    format!("{syscall}({})", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::{Action, Verdict};
    use crate::sources::event::{Decision, Rule, Source};

    fn call(pid: u32, comm: &str, args: Option<[u64; 6]>, bootstrap: bool) -> Event {
        Event {
            time_ms: u64::from(pid),
            source: Source::Notify,
            pid,
            tid: pid,
            comm: comm.into(),
            exe: None,
            arch: CallArch::Known(Arch::X86_64),
            syscall: "mkdir".into(),
            nr: 83,
            args,
            call: None,
            ruling: Ruling::Profile(Verdict::of(Action::Errno, Some(4000))),
            rule: Some(Decider::new(Rule::Index(2), "spec")),
            bootstrap,
            decision: Decision::Allowed,
            container: None,
            interference: None,
            stack: None,
            pod: None,
            softened: None,
        }
    }

    #[test]
    fn one_syscall_on_one_arch_summed_over_its_calls() {
        let mut seen = DeniedSyscall::new(&call(1, "sh", Some([7, 2, 0, 0, 0, 0]), true));
        assert_eq!(seen.example, "mkdir(0x7, 0x2)");
        assert_eq!(seen.common_args, [7, 2, 0, 0, 0, 0].map(Some));
        seen.add(&call(2, "sh", Some([7, 3, 0, 0, 0, 0]), false));
        seen.add(&call(2, "sh", Some([7, 3, 0, 0, 0, 0]), true));
        assert_eq!(seen.hits, 3);
        assert_eq!((seen.first_ms, seen.last_ms), (1, 2));
        assert_eq!(
            seen.common_args,
            [Some(7), None, Some(0), Some(0), Some(0), Some(0)]
        );
        assert!(!seen.bootstrap, "one call came after the exec");
        assert_eq!(seen.pids, [(1, "sh".into()), (2, "sh".into())]);
        assert_eq!(seen.comms, [Untrusted::from("sh")]);
        assert_eq!(seen.first(), (1, &Untrusted::from("sh")));
        // What the first call said; an errno without a name is "errno" in a word.
        assert_eq!(seen.verdict(), "errno");
        assert_eq!(seen.rule_path(), "spec.syscalls[2]");
        // A call without arguments pins none.
        seen.add(&call(3, "cp", None, false));
        assert_eq!(seen.common_args, [None; 6]);
        assert!(seen.is_of(&call(9, "x", None, false)));
    }

    #[test]
    fn it_remembers_the_first_eight_processes_and_names() {
        let mut seen = DeniedSyscall::new(&call(0, "p0", None, false));
        for pid in 1..20 {
            seen.add(&call(pid, &format!("p{}", pid % 10), None, false));
        }
        assert_eq!(seen.pids.len(), PROCESSES);
        assert_eq!(seen.pids.last(), Some(&(7, "p7".into())));
        assert_eq!(seen.comms.len(), PROCESSES);
        assert_eq!(seen.hits, 20);
    }
}

#[cfg(test)]
mod site_tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::{Action, Verdict};
    use crate::sources::event::{Decision, Rule, Source};

    fn frame(function: &str, object: &str, offset: u64) -> Frame {
        Frame {
            function: Some(function.into()),
            object: object.into(),
            offset,
            file: None,
            line: None,
        }
    }

    /// An `openat` from `caller` at `offset` in the app, through libc.
    fn from(caller: &str, offset: u64) -> Event {
        Event {
            time_ms: 0,
            source: Source::Ptrace,
            pid: 1,
            tid: 1,
            comm: "app".into(),
            exe: None,
            arch: CallArch::Known(Arch::X86_64),
            syscall: "openat".into(),
            nr: 257,
            args: None,
            call: None,
            ruling: Ruling::Profile(Verdict::of(Action::Errno, Some(1))),
            rule: Some(Decider::new(Rule::Default, "")),
            bootstrap: false,
            decision: Decision::Denied,
            container: None,
            interference: None,
            stack: Some(vec![
                frame("open64", "/lib/libc.so.6", 0x100),
                frame(caller, "/app", offset),
                frame("main", "/app", 0x10),
            ]),
            pod: None,
            softened: None,
        }
    }

    #[test]
    fn distinct_call_sites_are_counted_apart() {
        let mut seen = DeniedSyscall::new(&from("load_config", 0x40));
        seen.add(&from("probe_locale", 0x80));
        seen.add(&from("load_config", 0x40));
        let mut no_stack = from("x", 0);
        no_stack.stack = None;
        seen.add(&no_stack);
        assert_eq!(seen.hits, 4);
        let sites: Vec<(u64, String)> = seen
            .sites
            .iter()
            .map(|s| (s.hits, stack::summary(&s.stack).unwrap()))
            .collect();
        assert_eq!(
            sites,
            [
                (2, "from load_config ← main".to_string()),
                (1, "from probe_locale ← main".to_string())
            ]
        );
        assert_eq!(
            seen.first_site().as_deref(),
            Some("from load_config ← main")
        );
    }

    #[test]
    fn at_most_sixteen_sites_are_kept() {
        let mut seen = DeniedSyscall::new(&from("f", 0));
        for offset in 1..40 {
            seen.add(&from("f", offset));
        }
        assert_eq!(seen.sites.len(), SITES);
        assert_eq!(seen.hits, 40);
    }
}
