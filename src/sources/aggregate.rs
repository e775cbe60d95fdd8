//! One would-be-denied syscall on one arch, aggregated over the events that
//! report it: the line of the headless summary and the row of the TUI's
//! Syscalls table are the same aggregation.

use super::event::{rule_path, CallArch, Decider, Event, Ruling};
use crate::untrusted::Untrusted;

/// How many distinct processes (by pid and name, and by name alone) it remembers.
const PROCESSES: usize = 8;

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
            first_ms: e.time_ms,
            last_ms: e.time_ms,
            example: e
                .call
                .clone()
                .unwrap_or_else(|| raw_call(&e.syscall, e.args)),
            example_args: e.args,
            common_args: e.args.map_or([None; 6], |a| a.map(Some)),
            bootstrap: e.bootstrap,
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
