//! What eperm itself changes for the workload: calls that fail because eperm
//! intercepts it, where they would work without eperm, caught so that the run
//! can say so instead of "the profile would have denied nothing".
//!
//! - Notify mode: eperm's filter carries the seccomp listener, and the kernel
//!   allows one listener per filter chain (`has_duplicate_listener` in
//!   `kernel/seccomp.c`): the workload's own `seccomp(SECCOMP_SET_MODE_FILTER,
//!   SECCOMP_FILTER_FLAG_NEW_LISTENER, …)` fails with EBUSY.
//! - Trace mode: eperm traces every process of the workload, and a process has
//!   one tracer: `ptrace(PTRACE_TRACEME)` fails with EPERM (how `strace CMD`
//!   starts), as does `PTRACE_ATTACH` or `PTRACE_SEIZE` of a process eperm traces.
//!
//! The filter is given a prologue that hands these calls to eperm's supervisor
//! whatever the profile says ([`prologue`]); it reads only `nr` and `arch`, so
//! the kernel's action cache keeps every other allowed call free. The supervisor
//! lets the call run as the profile says and reports it when [`of`] finds it is
//! one eperm breaks.

use super::Interception;
use crate::arch::Arch;
use crate::compile::{bpf, Compiled, SockFilter};
use crate::profile::Action;
use crate::sources::event::Interference;

/// The TRACE data the prologue returns in trace mode: no table entry has it (a
/// table that large gets no prologue).
pub const TRACE_DATA: u32 = 0xffff;

const SECCOMP_SET_MODE_FILTER: u64 = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u64 = 1 << 3;
const PTRACE_TRACEME: u64 = 0;
const PTRACE_ATTACH: u64 = 16;
const PTRACE_SEIZE: u64 = 0x4206;

/// The call eperm's interception breaks in `mode`.
fn watched(mode: Interception) -> Option<&'static str> {
    match mode {
        Interception::Notify => Some("seccomp"),
        Interception::Trace => Some("ptrace"),
        Interception::Log => None,
    }
}

/// Does `arch`'s call `nr` with `args` fail in `mode` because of eperm?
/// `traced(pid)`: does eperm trace that process (trace mode's attach)?
pub fn of(
    mode: Interception,
    arch: Arch,
    nr: u32,
    args: &[u64; 6],
    traced: impl Fn(u32) -> bool,
) -> Option<Interference> {
    let name = arch.syscall_name(nr)?;
    if Some(name) != watched(mode) {
        return None;
    }
    match mode {
        Interception::Notify => (args[0] == SECCOMP_SET_MODE_FILTER
            && args[1] & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0)
            .then_some(Interference::Listener),
        Interception::Trace => match args[0] {
            PTRACE_TRACEME => Some(Interference::Tracer),
            PTRACE_ATTACH | PTRACE_SEIZE if traced(args[1] as u32) => Some(Interference::Tracer),
            _ => None,
        },
        Interception::Log => None,
    }
}

/// The words the prologue hands the watched calls over with.
fn word(mode: Interception) -> Option<u32> {
    match mode {
        Interception::Notify => Some(bpf::RET_USER_NOTIF),
        Interception::Trace => Some(bpf::RET_TRACE | TRACE_DATA),
        Interception::Log => None,
    }
}

/// `program` with a prologue that hands `mode`'s watched call on every arch of
/// `compiled` to the supervisor; `program` unchanged when there is none to watch,
/// when the profile logs the call (intercepting it would stop the kernel's
/// record), or when the result would be too long.
pub fn prologue(
    compiled: &Compiled,
    mode: Interception,
    program: Vec<SockFilter>,
) -> Vec<SockFilter> {
    let (Some(name), Some(ret)) = (watched(mode), word(mode)) else {
        return program;
    };
    if compiled.table.len() > TRACE_DATA as usize {
        return program;
    }
    let mut calls: Vec<(u32, u32)> = Vec::new();
    for &arch in &compiled.arches {
        let Some(nr) = arch.syscall_nr(name) else {
            continue;
        };
        if compiled.evaluate(arch, nr, [0; 6]).verdict.action == Action::Log {
            return program;
        }
        calls.push((arch.audit_arch(), nr));
    }
    if calls.is_empty() {
        return program;
    }
    // Per call: ld arch; jeq AUDIT (else past the next two); ld nr; jeq NR -> ret.
    // Then `ja` over the `ret`, the `ret`, and the program.
    let len = 4 * calls.len() + 2;
    if len + program.len() > bpf::MAX_INSNS {
        return program;
    }
    let ret_at = len - 1;
    let mut out = Vec::with_capacity(len + program.len());
    for (audit, nr) in calls {
        out.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH));
        out.push(SockFilter::new(bpf::JEQ_K, 0, 2, audit));
        out.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR));
        let to_ret = ret_at - out.len() - 1;
        out.push(SockFilter::new(bpf::JEQ_K, to_ret as u8, 0, nr));
    }
    out.push(SockFilter::new(bpf::JA, 0, 0, 1));
    out.push(SockFilter::new(bpf::RET_K, 0, 0, ret));
    debug_assert_eq!(out.len(), len);
    out.extend(program);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, resolve, Target};

    fn compiled(mode: Mode) -> Compiled {
        let profile = load_str(
            "t.json",
            r#"{"defaultAction": "SCMP_ACT_ERRNO",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": ["read", "seccomp", "ptrace"], "action": "SCMP_ACT_ALLOW"}]}"#
                .to_string(),
        )
        .unwrap();
        let target = Target {
            arch: Arch::X86_64,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        };
        compile(&resolve(&profile, &target), mode).unwrap()
    }

    #[test]
    fn the_prologue_hands_over_only_the_watched_call() {
        for (mode, interception, name, ret) in [
            (
                Mode::Notify,
                Interception::Notify,
                "seccomp",
                bpf::RET_USER_NOTIF,
            ),
            (
                Mode::Trace,
                Interception::Trace,
                "ptrace",
                bpf::RET_TRACE | TRACE_DATA,
            ),
        ] {
            let c = compiled(mode);
            let prog = prologue(&c, interception, c.program.clone());
            assert_eq!(bpf::validate(&prog), Ok(()));
            for &arch in &c.arches {
                for &(n, nr) in arch.syscalls() {
                    let data = bpf::SeccompData::call(arch, nr, [0; 6]);
                    let want = if n == name {
                        ret
                    } else {
                        bpf::run(&c.program, &data).0
                    };
                    assert_eq!(bpf::run(&prog, &data).0, want, "{arch} {n}");
                }
            }
            // Only nr and arch are read: allowed calls stay cacheable.
            let read = bpf::SeccompData::call(Arch::X86_64, 0, [1; 6]);
            assert!(!bpf::run_traced(&prog, &read).read_args);
        }
        let c = compiled(Mode::Log);
        assert_eq!(
            prologue(&c, Interception::Log, c.program.clone()),
            c.program
        );
    }

    #[test]
    fn only_the_calls_eperm_breaks_are_interference() {
        let seccomp = Arch::X86_64.syscall_nr("seccomp").unwrap();
        let ptrace = Arch::X86_64.syscall_nr("ptrace").unwrap();
        let n = Interception::Notify;
        let t = Interception::Trace;
        let never = |_| false;
        let listener = [SECCOMP_SET_MODE_FILTER, 8 | 1, 0, 0, 0, 0];
        assert_eq!(
            of(n, Arch::X86_64, seccomp, &listener, never),
            Some(Interference::Listener)
        );
        assert_eq!(
            of(n, Arch::X86_64, seccomp, &[1, 1, 0, 0, 0, 0], never),
            None
        );
        assert_eq!(
            of(n, Arch::X86_64, seccomp, &[2, 8, 0, 0, 0, 0], never),
            None
        );
        assert_eq!(of(t, Arch::X86_64, seccomp, &listener, never), None);
        assert_eq!(
            of(t, Arch::X86_64, ptrace, &[0; 6], never),
            Some(Interference::Tracer)
        );
        let attach = [PTRACE_SEIZE, 42, 0, 0, 0, 0];
        assert_eq!(of(t, Arch::X86_64, ptrace, &attach, never), None);
        assert_eq!(
            of(t, Arch::X86_64, ptrace, &attach, |p| p == 42),
            Some(Interference::Tracer)
        );
        assert_eq!(
            of(t, Arch::X86_64, ptrace, &[12, 42, 0, 0, 0, 0], |_| true),
            None
        );
    }
}
