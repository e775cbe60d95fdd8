//! Counting a run's calls for its [`Coverage`] (the model and its file are
//! [`crate::coverage`]'s).
//!
//! The workload's filter sends *every* call of the arches the profile covers to
//! the supervisor (`SECCOMP_RET_USER_NOTIF`); foreign arches get the bad-arch
//! action as under the real profile. The supervisor asks [`Compiled::evaluate`]
//! what the profile says, answers accordingly (CONTINUE for an allowance, the
//! errno for a denial), so the workload runs exactly as under the profile, and
//! tallies each call by deciding rule, syscall and arch.
//!
//! That costs a notification per call (38–47× native on a syscall-bound loop),
//! so where eBPF is there the allowed calls are counted in the kernel instead
//! ([`crate::bpf::counter`], selected by the workload's cgroup): the filter is
//! then the profile compiled for notify, the supervisor sees only would-be
//! denials (enforced and tallied as here), and [`Coverage::add_counts`] turns the
//! kernel's (arch, nr) counts and sampled argument values into the same tallies.
//! [`Counting`] says which way a run counted, and why not in the kernel.

use super::notify;
use super::{enforce, Answer, Call, Supervision};
use crate::arch::Arch;
use crate::compile::bpf::{self, SockFilter};
use crate::compile::{Compiled, BAD_ARCH};
use crate::coverage::{watched, Coverage, Tally, MAX_PIDS, MAX_VALUES, WATCHED};
use crate::error::Unavailable;
use crate::profile::Action;
use crate::sources::event::{Decision, Source};
use std::collections::HashMap;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

/// The bit x32 calls carry in `nr`.
const X32_BIT: u32 = 0x4000_0000;

/// The coverage program: USER_NOTIF for every call of the profile's arches,
/// the bad-arch action for the rest.
pub fn program(compiled: &Compiled) -> Vec<SockFilter> {
    program_returning(compiled, bpf::RET_USER_NOTIF)
}

/// A recording run's program: every call of the profile's arches allowed, the
/// bad-arch action for the rest (as under the profile compiled for notify, so
/// a foreign arch's calls are refused as when recorded by trapping them).
pub fn allow_program(compiled: &Compiled) -> Vec<SockFilter> {
    program_returning(compiled, bpf::RET_ALLOW)
}

/// `ret` for every call of the profile's arches, the bad-arch action for the rest.
fn program_returning(compiled: &Compiled, ret: u32) -> Vec<SockFilter> {
    let arches = &compiled.arches;
    let audits: Vec<u32> = {
        let mut v: Vec<u32> = arches.iter().map(|a| a.audit_arch()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let x86_64 = Arch::X86_64.audit_arch();
    let has_x86_64 = arches.contains(&Arch::X86_64);
    let has_x32 = arches.contains(&Arch::X32);
    let mut p = vec![SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH)];
    for audit in audits {
        if audit == x86_64 && has_x86_64 != has_x32 {
            // Only one of x86_64 and x32: the other's calls are a bad arch.
            // jf skips this arch's four instructions.
            p.push(SockFilter::new(bpf::JEQ_K, 0, 4, audit));
            p.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR));
            let (jt, jf) = if has_x32 { (1, 0) } else { (0, 1) };
            p.push(SockFilter::new(bpf::JSET_K, jt, jf, X32_BIT));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, BAD_ARCH));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, ret));
        } else {
            p.push(SockFilter::new(bpf::JEQ_K, 0, 1, audit));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, ret));
        }
    }
    p.push(SockFilter::new(bpf::RET_K, 0, 0, BAD_ARCH));
    p
}

/// How a coverage run counted the allowed calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counting {
    /// In the kernel, by an eBPF program on `sys_enter`.
    Kernel,
    /// As seccomp notifications, and why not in the kernel.
    Notify { reason: String },
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Counting::Kernel => f.write_str("counted in the kernel (eBPF)"),
            Counting::Notify { reason } => {
                write!(f, "counted by seccomp notification (slow): {reason}")
            }
        }
    }
}

impl Counting {
    /// For a status bar: `ebpf`, or `notify (no eBPF: why)`.
    pub fn short(&self) -> String {
        match self {
            Counting::Kernel => "ebpf".into(),
            Counting::Notify { reason } => format!("notify (no eBPF: {reason})"),
        }
    }
}

/// How a coverage run would count, found before it starts (for the TUI's status
/// bar): the refusals of [`refusal`], then a do-nothing program loaded and
/// attached for a moment. The run itself may still fall back, and says so.
pub fn probe() -> Counting {
    let refusal = refusal().or_else(|| {
        if !nix::unistd::geteuid().is_root() {
            return Some("not root: the workload gets no cgroup of its own".into());
        }
        crate::bpf::counter::attach_empty(crate::bpf::Hook::Btf)
            .err()
            .map(|e| e.to_string())
    });
    match refusal {
        None => Counting::Kernel,
        Some(reason) => Counting::Notify { reason },
    }
}

/// `EPERM_COVERAGE=notify` makes coverage count by notification (to compare,
/// or where the eBPF counter misbehaves).
pub const FORCE_ENV: &str = "EPERM_COVERAGE";

/// Why no run can count in the kernel, before trying: the override, or an arch
/// the counter is not built for.
fn refusal() -> Option<String> {
    if std::env::var_os(FORCE_ENV).is_some_and(|v| v == "notify") {
        return Some(format!("{FORCE_ENV}=notify"));
    }
    if !cfg!(target_arch = "x86_64") {
        return Some("the eBPF counter is built for x86_64 only".into());
    }
    None
}

/// The kernel counter for a workload in `cgroup`, spawned by this thread,
/// counting what `compiled` lets through; why not, as the fallback's reason.
pub fn kernel_counter(
    compiled: &Compiled,
    cgroup: Option<&Path>,
    bootstrap_comm: Option<&str>,
) -> Result<crate::bpf::Counter, Unavailable> {
    let scope = counted_scope(cgroup)?;
    attach_counter(compiled, scope, bootstrap_comm, false)
}

/// The kernel counter of a recording run (see [`allow_program`]): as
/// [`kernel_counter`], but only calls made under a filter count, as only those
/// are trapped when recorded by notification; why not, as the fallback's reason.
pub fn record_counter(
    compiled: &Compiled,
    cgroup: Option<&Path>,
    bootstrap_comm: Option<&str>,
) -> Result<crate::bpf::Counter, Unavailable> {
    let scope = counted_scope(cgroup)?;
    attach_counter(compiled, scope, bootstrap_comm, true)
}

/// The workload's cgroup as the counter's scope, or why there is none to count in.
fn counted_scope(cgroup: Option<&Path>) -> Result<crate::bpf::Scope, Unavailable> {
    if let Some(why) = refusal() {
        return Err(Unavailable(why));
    }
    let Some(cgroup) = cgroup else {
        return Err(Unavailable(
            "the workload has no cgroup v2 of its own (not root, or no cgroup2 mount)".into(),
        ));
    };
    let id = crate::bpf::counter::cgroup_id(cgroup)
        .map_err(|e| Unavailable(format!("{}: {e}", cgroup.display())))?;
    Ok(crate::bpf::Scope::Cgroup(id))
}

/// Why counting cannot tell which calls `judge`'s profile denies: a rule that
/// checks an argument the counter does not sample, or more than one argument
/// (sampled values are judged one position at a time).
pub fn argument_blind_spot(judge: &super::Judge) -> Option<String> {
    let blind = judge.resolved.rules.iter().find(|e| {
        let Some(first) = e.conds.first() else {
            return false;
        };
        let one_position = e.conds.iter().all(|c| c.index == first.index);
        // The call the kernel sees: `socketcall` for x86's multiplexed `accept`.
        let called = e.arch.syscall_name(e.nr).unwrap_or(&e.name);
        !one_position || !watched(e.arch, called).contains(&(first.index as usize))
    })?;
    let positions: Vec<String> = blind
        .conds
        .iter()
        .map(|c| format!("arg{}", c.index))
        .collect();
    Some(format!(
        "the profile's rule for {} checks {}, which the eBPF counter does not sample",
        blind.name,
        positions.join(" and ")
    ))
}

/// The kernel counter for a container whose runtime makes its cgroups below
/// `parent` (a cgroup v2 directory `level` levels below the root), its init
/// running under `init_comm` until the workload's exec; why not, as the reason
/// coverage is unavailable (containers have no notify fallback).
pub fn container_counter(
    compiled: &Compiled,
    parent: &Path,
    level: u32,
    init_comm: &str,
) -> Result<crate::bpf::Counter, Unavailable> {
    if let Some(why) = refusal() {
        return Err(Unavailable(why));
    }
    let id = crate::bpf::counter::cgroup_id(parent)
        .map_err(|e| Unavailable(format!("{}: {e}", parent.display())))?;
    // The runtime's helpers (runc:[0:PARENT], [1:CHILD]) share the cgroup
    // before the profile is loaded: only filtered tasks count.
    attach_counter(
        compiled,
        crate::bpf::Scope::Below { id, level },
        Some(init_comm),
        true,
    )
}

fn attach_counter(
    compiled: &Compiled,
    scope: crate::bpf::Scope,
    bootstrap_comm: Option<&str>,
    filtered_only: bool,
) -> Result<crate::bpf::Counter, Unavailable> {
    use crate::bpf::{CallTable, Counter, Hook, Spec};
    let comm = bootstrap_comm.map(|c| {
        let mut out = [0u8; 16];
        for (o, b) in out.iter_mut().zip(c.bytes().take(15)) {
            *o = b;
        }
        out
    });
    let mut watched_args = Vec::new();
    for (kind, arch) in [
        (CallTable::Native, Arch::X86_64),
        (CallTable::X32, Arch::X32),
        (CallTable::Ia32, Arch::X86),
    ] {
        if !compiled.arches.contains(&arch) {
            continue;
        }
        for name in WATCHED {
            if let Some(nr) = arch.syscall_nr(name) {
                for &i in watched(arch, name) {
                    watched_args.push((kind, nr & !X32_BIT, i as u8));
                }
            }
        }
    }
    let spec = Spec {
        scope,
        bootstrap_comm: comm,
        filtered_only,
        ia32: compiled.arches.contains(&Arch::X86),
        watched: watched_args,
        hook: Hook::Btf,
    };
    Counter::attach(&spec).map_err(|e| Unavailable(e.to_string()))
}

/// The comm of the calling thread: what the workload's child has until it execs.
pub fn own_comm() -> Option<String> {
    std::fs::read_to_string("/proc/thread-self/comm")
        .ok()
        .map(|c| c.trim_end_matches('\n').to_string())
}

/// Counting needs the judge, which is a run's: it is added to the model here.
impl Coverage {
    /// Adds the kernel's counts of allowed calls, each attributed to the rule
    /// that allowed it: for a syscall whose arguments were sampled, each value
    /// is judged on its own (the other arguments zero); the rest goes to the
    /// first allowing rule for the syscall (the zero-argument verdict's, when it
    /// allows).
    pub fn add_counts(&mut self, counts: &crate::bpf::Counts, judge: &super::Judge) {
        let mut tallies: HashMap<(Option<usize>, u32, Arch), Tally> = HashMap::new();
        for (&(kind, nr), &(calls, before)) in &counts.calls {
            let (arch, nr, name) = call_of(kind, nr);
            let fallback = allowing_rule(judge, arch, nr);
            let mut attributed = 0;
            for (i, &pos) in watched(arch, &name).iter().enumerate() {
                let key = (kind, nr & !X32_BIT, pos as u8);
                let seen = counts
                    .values
                    .range((key.0, key.1, key.2, 0)..=(key.0, key.1, key.2, u64::MAX));
                for (&(_, _, _, value), &n) in seen {
                    let mut args = [0u64; 6];
                    args[pos] = value;
                    let judged = judge.judge(arch, nr, args);
                    let rule = if allows(judged.verdict.action) {
                        judged.rule
                    } else {
                        fallback
                    };
                    let t = tallies
                        .entry((rule, nr, arch))
                        .or_insert_with(|| new_tally(judge, rule, &name, arch));
                    // Counts follow the first position only; every position's
                    // values are kept, with the rule the value itself leads to.
                    if i == 0 {
                        t.count += n;
                        attributed += n;
                    }
                    let set = t.values.entry(format!("arg{pos}")).or_default();
                    if set.len() < MAX_VALUES {
                        set.insert(value);
                    }
                }
            }
            let t = tallies
                .entry((fallback, nr, arch))
                .or_insert_with(|| new_tally(judge, fallback, &name, arch));
            // As under notification, a bootstrap call counts and is marked so.
            t.count += calls.saturating_sub(attributed) + before;
            t.before_exec += before;
        }
        let run = Coverage {
            runs: 0,
            tallies: tallies
                .into_values()
                .filter(|t| t.count > 0 || !t.values.is_empty())
                .collect(),
        };
        self.merge(&run);
    }
}

/// The arch, number (x32's with its bit) and name of a counted call.
fn call_of(kind: crate::bpf::CallTable, nr: u32) -> (Arch, u32, String) {
    use crate::bpf::CallTable;
    let arch = match kind {
        CallTable::Native => Arch::native(),
        CallTable::X32 => Arch::X32,
        CallTable::Ia32 => Arch::X86,
    };
    let nr = if kind == CallTable::X32 {
        nr | X32_BIT
    } else {
        nr
    };
    let name = arch
        .syscall_name(nr)
        .map_or_else(|| format!("nr_{nr}"), str::to_string);
    (arch, nr, name)
}

/// What a recording run's counts say `judge`'s profile would deny.
#[derive(Debug, Default)]
pub struct Denied {
    /// By name and arch, as a trapped recording sees them.
    pub calls: Vec<(String, Arch)>,
    /// Syscalls the profile decides by argument of which some calls went
    /// unsampled (the sample map was full): they may have been denied too.
    pub unsure: Vec<String>,
    /// Those of `calls` made only by the runtime's init before the workload's
    /// exec (a container's start-up; none for a local run).
    pub before_exec_only: Vec<(String, Arch)>,
}

/// The calls of `counts` that `judge`'s profile would not let run: a syscall
/// whose arguments were sampled, when any sampled value is denied (the other
/// arguments zero); any other, by its zero-argument verdict (exact when
/// [`argument_blind_spot`] found nothing).
pub fn denied_calls(counts: &crate::bpf::Counts, judge: &super::Judge) -> Denied {
    let mut denied = Denied::default();
    for (&(kind, raw), &(calls, before)) in &counts.calls {
        let (arch, nr, name) = call_of(kind, raw);
        let denies = |args: [u64; 6]| !allows(judge.judge(arch, nr, args).verdict.action);
        let mut sampled = 0;
        let mut any_denied = false;
        for (i, &pos) in watched(arch, &name).iter().enumerate() {
            let key = (kind, raw, pos as u8);
            let seen = counts
                .values
                .range((key.0, key.1, key.2, 0)..=(key.0, key.1, key.2, u64::MAX));
            for (&(_, _, _, value), &n) in seen {
                if i == 0 {
                    sampled += n;
                }
                let mut args = [0u64; 6];
                args[pos] = value;
                any_denied |= denies(args);
            }
        }
        let argued = judge
            .resolved
            .rules_for(arch, nr)
            .any(|e| !e.conds.is_empty());
        if argued && !any_denied && sampled < calls {
            denied.unsure.push(name.clone());
        }
        if any_denied || (sampled == 0 && denies([0; 6])) {
            if calls == 0 && before > 0 {
                denied.before_exec_only.push((name.clone(), arch));
            }
            denied.calls.push((name, arch));
        }
    }
    denied
}

fn new_tally(judge: &super::Judge, rule: Option<usize>, name: &str, arch: Arch) -> Tally {
    let action = match rule {
        Some(r) => judge
            .profile
            .rules
            .get(r)
            .map_or(Action::Allow, |r| r.action),
        None => judge.profile.default_action,
    };
    Tally::new(rule, name, arch, action)
}

fn allows(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

/// The rule that lets (arch, nr) run with zero arguments, else the first rule
/// for it that allows at all; `None` (the default action) when none does.
fn allowing_rule(judge: &super::Judge, arch: Arch, nr: u32) -> Option<usize> {
    let zero = judge.judge(arch, nr, [0; 6]);
    if allows(zero.verdict.action) {
        return zero.rule;
    }
    judge
        .resolved
        .rules_for(arch, nr)
        .find(|e| allows(e.verdict.action))
        .map(|e| e.rule)
        .or(zero.rule)
}

/// What the supervisor knows of one calling thread.
struct Task {
    tgid: u32,
    /// The thread runs the workload (it is no longer eperm's own executable).
    exec_done: bool,
}

/// Answers every notification of one coverage run and tallies it.
pub struct CoverageSupervisor<'a> {
    listener: OwnedFd,
    sup: &'a Supervision,
    tasks: HashMap<u32, Task>,
    tallies: HashMap<(Option<usize>, u32, Arch), Tally>,
    /// Calls let run are counted in the kernel: tally only the others.
    kernel_counted: bool,
}

impl<'a> CoverageSupervisor<'a> {
    pub fn new(listener: OwnedFd, sup: &'a Supervision) -> CoverageSupervisor<'a> {
        notify::set_sync_wake_up(&listener);
        CoverageSupervisor {
            listener,
            sup,
            tasks: HashMap::new(),
            tallies: HashMap::new(),
            kernel_counted: false,
        }
    }

    /// The kernel counts the calls let run (see [`kernel_counter`]).
    pub fn kernel_counted(mut self, yes: bool) -> Self {
        self.kernel_counted = yes;
        self
    }

    /// Answers until every process using the filter is gone or `stop` is readable.
    pub fn run(mut self, stop: BorrowedFd<'_>) -> io::Result<Coverage> {
        let listener = self.listener.try_clone()?;
        notify::serve(&listener, stop, |n| {
            self.handle(n.id, n.pid, n.data.arch, n.data.nr as u32, n.data.args);
        })?;
        Ok(self.finish())
    }

    fn finish(self) -> Coverage {
        let mut tallies: Vec<Tally> = self.tallies.into_values().collect();
        tallies.sort_by(|a, b| a.order().cmp(&b.order()));
        Coverage { runs: 1, tallies }
    }

    fn handle(&mut self, id: u64, tid: u32, audit: u32, nr: u32, args: [u64; 6]) {
        let Some(arch) = Arch::from_audit(audit, nr) else {
            notify::answer(&self.listener, id, Answer::Continue);
            return;
        };
        let compiled = &self.sup.judge.compiled;
        let outcome = compiled.evaluate(arch, nr, args);
        let decision = enforce(outcome.verdict);
        if self.kernel_counted && decision == Answer::Continue {
            notify::answer(&self.listener, id, decision);
            return;
        }
        let rule = outcome
            .origin
            .map(|e| self.sup.judge.resolved.rules[e].rule);
        let (tgid, before_exec) = self.task(tid);
        let tally = self.tallies.entry((rule, nr, arch)).or_insert_with(|| {
            let name = arch
                .syscall_name(nr)
                .map_or_else(|| format!("nr_{nr}"), str::to_string);
            Tally::new(rule, &name, arch, outcome.verdict.action)
        });
        tally.count += 1;
        if before_exec {
            tally.before_exec += 1;
        }
        if tally.pids.len() < MAX_PIDS {
            tally.pids.insert(tgid);
        }
        for &i in watched(arch, &tally.syscall) {
            let set = tally.values.entry(format!("arg{i}")).or_default();
            if set.len() < MAX_VALUES {
                set.insert(args[i]);
            }
        }
        if outcome.verdict.action != Action::Allow {
            // A would-be denial: report it as `run` does.
            let call = Call {
                pid: tgid,
                tid,
                arch,
                nr,
                args,
            };
            let judgement = self.sup.judge.judge(arch, nr, args);
            let mut event = self
                .sup
                .event(Source::Notify, &call, &judgement, Decision::Allowed);
            event.decision = match decision {
                Answer::Continue => Decision::Allowed,
                Answer::Fail(_) => Decision::Denied,
                Answer::Kill => Decision::Killed,
            };
            let _ = self.sup.events.send(event);
        }
        if decision == Answer::Kill {
            // The workload's process; it may be gone already.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(tgid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        notify::answer(&self.listener, id, decision);
    }

    /// The thread's process, and whether it still runs eperm's code (before exec).
    fn task(&mut self, tid: u32) -> (u32, bool) {
        if let Some(task) = self.tasks.get(&tid) {
            if task.exec_done {
                return (task.tgid, false);
            }
        }
        if self.tasks.len() >= 4096 {
            self.tasks.clear();
        }
        let tgid = match self.tasks.get(&tid) {
            Some(task) => task.tgid,
            None => notify::tgid(tid).unwrap_or(tid),
        };
        let exe = std::fs::read_link(format!("/proc/{tgid}/exe")).ok();
        let exec_done = exe.is_none() || exe != self.sup.own_exe;
        self.tasks.insert(tid, Task { tgid, exec_done });
        (tgid, !exec_done)
    }
}
