//! What a container runtime's init calls under the profile before it execs the
//! workload: a profile that denies one of those calls never starts a container,
//! whatever the workload needs ("error closing exec fds: ensure /proc/self/fd is
//! on procfs: operation not permitted" is runc's `fstatfs` refused).
//!
//! The one source of truth for `check`, the commands that write profiles, the
//! TUI's folding of the runtime's rows and `eperm docker -o`.
//!
//! Measured on x86_64 (runc 1.1.5 with Go 1.19, crun 1.8.1; kernel 6.18) under a
//! deny-everything profile, each run watched by eperm (`eperm oci`, `eperm
//! podman --runtime runc|crun`, `runc run` and `crun run` of a bundle), the
//! union of what each way of starting called. Without
//! no-new-privileges both load the filter before they drop privileges, so their
//! whole privilege drop runs under it; with it, the filter comes last. runc's
//! init is Go: its runtime's thread wake-ups, signals and memory calls come and
//! go with scheduling, so they are in runc's sets whether a run saw them or not.
//! Other arches (aarch64 included) and other runtimes (youki) are not measured:
//! [`calls`] says so with `None`, never with a guess.

use crate::arch::Arch;
use crate::profile::edit::{apply_grouped, Applied, Edit, EditError};
use crate::profile::{Action, Diagnostic, Form, Profile, Resolved, Severity};
use crate::target::{Lookup, RuntimeKind};

/// What runc's Go runtime may call at any moment: thread wake-ups, preemption
/// signals, the collector, new threads. Seen once without `futex`, the next
/// plain `runc run` died in `futexwakeup` (a busy machine).
const GO_RUNTIME: &[&str] = &[
    "clone",
    "epoll_pwait",
    "exit",
    "exit_group",
    "futex",
    "getpid",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sigaltstack",
    "tgkill",
];

/// runc 1.1's init without no-new-privileges (Docker's and Kubernetes' default):
/// the privilege drop (capget, capset, prctl, setgroups, setgid, setuid, chdir),
/// the exec fifo, closing the fds it does not pass (fstatfs on /proc/self/fd,
/// getdents64) and the exec.
const RUNC: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "close",
    "epoll_ctl",
    "execve",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "getcwd",
    "getdents64",
    "getppid",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "setgid",
    "setgroups",
    "setuid",
    "write",
];

/// runc 1.1's init with no-new-privileges: the exec fifo, closing fds, the exec.
const RUNC_NO_NEW_PRIVS: &[&str] = &[
    "close",
    "epoll_ctl",
    "execve",
    "fstatfs",
    "getdents64",
    "openat",
    "read",
    "write",
];

/// crun 1.8's init without no-new-privileges: its privilege drop, signal
/// mask reset, sync socket, the wait for `crun start` (podman creates, then
/// starts: pselect6, and a helper it kills and reaps) and the exec.
const CRUN: &[&str] = &[
    "capset",
    "close",
    "execve",
    "kill",
    "munmap",
    "prctl",
    "pselect6",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "setresgid",
    "setresuid",
    "wait4",
    "write",
];

/// crun 1.8's init with no-new-privileges: the filter comes after the privilege
/// drop; its helper killed and reaped, and the exec.
const CRUN_NO_NEW_PRIVS: &[&str] = &["close", "execve", "kill", "munmap", "wait4"];

/// The runtimes eperm knows the start-up of.
pub const MEASURED: [RuntimeKind; 2] = [RuntimeKind::Runc, RuntimeKind::Crun];

/// The syscalls `runtime`'s init makes on `arch` under the profile before the
/// workload's exec, sorted; `None` where eperm has not measured them.
pub fn calls(runtime: RuntimeKind, arch: Arch, no_new_privs: bool) -> Option<Vec<&'static str>> {
    if arch != Arch::X86_64 {
        return None;
    }
    let mut names: Vec<&'static str> = match (runtime, no_new_privs) {
        (RuntimeKind::Runc, false) => [RUNC, GO_RUNTIME].concat(),
        (RuntimeKind::Runc, true) => [RUNC_NO_NEW_PRIVS, GO_RUNTIME].concat(),
        (RuntimeKind::Crun, false) => CRUN.to_vec(),
        (RuntimeKind::Crun, true) => CRUN_NO_NEW_PRIVS.to_vec(),
        (RuntimeKind::Youki, _) => return None,
    };
    names.sort_unstable();
    names.dedup();
    Some(names)
}

/// The comment of the rule that holds them: a reader must not prune it as
/// unused by the workload.
pub fn comment(runtimes: &[RuntimeKind]) -> String {
    let names: Vec<&str> = runtimes.iter().map(|r| r.name()).collect();
    format!(
        "needed by the container runtime ({}) before the workload starts, not by the workload",
        names.join(", ")
    )
}

/// Is `comment` that of a start-up rule (for any runtime)?
pub fn is_startup_comment(comment: &str) -> bool {
    comment.starts_with("needed by the container runtime (")
}

/// What the runtimes need on `arch`: the union of their start-up calls (without
/// no-new-privileges, which needs more), and the runtimes eperm has not measured there.
pub fn union(runtimes: &[RuntimeKind], arch: Arch) -> (Vec<&'static str>, Vec<RuntimeKind>) {
    let mut names = Vec::new();
    let mut unknown = Vec::new();
    for &runtime in runtimes {
        match calls(runtime, arch, false) {
            Some(calls) => names.extend(calls),
            None => unknown.push(runtime),
        }
    }
    names.sort_unstable();
    names.dedup();
    (names, unknown)
}

/// `profile` with every start-up call of `runtimes` on `arch` allowed: those it
/// does not allow yet go into one rule of their own with [`comment`] (or the
/// rule of that comment already there). `extra` names go in with them (what a
/// run saw the runtime call besides). Runtimes not measured on `arch` are
/// returned to be said.
pub fn allow(
    profile: &Profile,
    runtimes: &[RuntimeKind],
    arch: Arch,
    extra: &[String],
) -> Result<(Applied, Vec<RuntimeKind>), EditError> {
    let (names, unknown) = union(runtimes, arch);
    let mut all: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    all.extend(extra.iter().cloned());
    all.sort();
    all.dedup();
    // A name some allowance names stays as it is: its conditions (tighten's
    // narrowing) are the profile's word (see `readiness`).
    let allowed = profile.allowed_names();
    let edits: Vec<Edit> = all
        .into_iter()
        .filter(|n| !allowed.contains(n))
        .map(Edit::Allow)
        .collect();
    let applied = apply_grouped(profile, &edits, &comment(runtimes))?;
    Ok((applied, unknown))
}

/// What stops a runtime's start-up under a resolved profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Every start-up call gets through.
    Ready,
    /// These start-up calls are refused (sorted).
    Missing(Vec<&'static str>),
    /// eperm has not measured this runtime on this arch.
    Unknown,
}

/// Does the runtime of `resolved`'s target start a container under it? Only
/// the native arch counts (the init makes native calls). A call counts as
/// refused when no argument condition can let it through: an unconditional
/// denying rule decides it, or no rule does and the default denies, or runc's
/// ENOSYS stub answers it first.
pub fn readiness(resolved: &Resolved, no_new_privs: bool) -> Readiness {
    let Some(runtime) = &resolved.target.runtime else {
        return Readiness::Ready;
    };
    let arch = resolved.target.arch;
    let Some(names) = calls(runtime.kind, arch, no_new_privs) else {
        return Readiness::Unknown;
    };
    let missing: Vec<&'static str> = names
        .into_iter()
        .filter(|name| match runtime.lookup(arch, name) {
            Lookup::Nr(nr) => refused(resolved, arch, nr),
            // The runtime's own libseccomp cannot name it: only the default decides.
            Lookup::NotOnArch | Lookup::Unknown => !lets_through(resolved.default.action),
        })
        .collect();
    if missing.is_empty() {
        Readiness::Ready
    } else {
        Readiness::Missing(missing)
    }
}

fn refused(resolved: &Resolved, arch: Arch, nr: u32) -> bool {
    if crate::compile::stub::decides(&resolved.enosys_above, arch.audit_arch(), nr) {
        return true;
    }
    let rules: Vec<_> = resolved.rules_for(arch, nr).collect();
    if rules.is_empty() {
        return !lets_through(resolved.default.action);
    }
    // Some condition may let it through: the runtime's arguments are not known here.
    let conditional_pass = rules
        .iter()
        .any(|r| !r.conds.is_empty() && lets_through(r.verdict.action));
    let unconditional = rules.iter().find(|r| r.conds.is_empty());
    match unconditional {
        Some(r) => !lets_through(r.verdict.action),
        None => !conditional_pass && !lets_through(resolved.default.action),
    }
}

/// Actions under which the call runs (LOG logs it first).
fn lets_through(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

/// The sentence `check` and `--enforce` say: `runc 1.1.5 cannot start a
/// container under this profile: its init calls capget, fstatfs before your
/// workload starts`.
pub fn missing_text(runtime: &str, missing: &[&str]) -> String {
    format!(
        "{runtime} cannot start a container under this profile: its init calls {} under the filter before your workload starts",
        missing.join(", ")
    )
}

/// The hint beside [`missing_text`]: the fix for `file`.
pub fn missing_hint(file: &str, missing: &[&str]) -> String {
    format!(
        "allow them: `eperm edit {file} --allow {}` (eperm record, tighten and export add them in a rule of their own); \
         a profile meant only for `eperm run` and plain processes: `--runtime none`",
        missing.join(",")
    )
}

/// Does the profile's document set no-new-privileges (an OCI config.json's
/// `process.noNewPrivileges`)? Docker's and Kubernetes' defaults do not.
pub fn no_new_privs(profile: &Profile) -> bool {
    let process = profile.root.get("process");
    let nnp = process.and_then(|p| p.get("noNewPrivileges"));
    profile.form == Form::OciConfig
        && nnp.is_some_and(|n| n.value == crate::json::Value::Bool(true))
}

/// `check`'s finding: an error when the target's runtime cannot start a
/// container under the profile, a note when eperm does not know its start-up.
pub fn diagnostic(profile: &Profile, resolved: &Resolved) -> Option<Diagnostic> {
    let runtime = resolved.target.runtime.as_ref()?;
    let node = profile.seccomp_node();
    let span = node.get("defaultAction").unwrap_or(node).span;
    let path = profile.path("defaultAction");
    let at = |severity, code, message| {
        Diagnostic::new(severity, code, &profile.text, span, path.clone(), message)
    };
    match readiness(resolved, no_new_privs(profile)) {
        Readiness::Ready => None,
        Readiness::Missing(missing) => Some(
            at(
                Severity::Error,
                "runtime-cannot-start",
                missing_text(&runtime.short(), &missing),
            )
            .hint(missing_hint(&profile.file, &missing)),
        ),
        Readiness::Unknown => Some(at(
            Severity::Info,
            "runtime-start-up-unknown",
            format!(
                "eperm has not measured what {} calls on {} before the workload starts: whether it starts a container under this profile is unknown",
                runtime.kind.name(),
                resolved.target.arch.name()
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
