//! The OCI runtime that loads the profile and starts the container's process:
//! runc (Docker, `eperm oci`, `podman --runtime runc`) or crun (podman's
//! default). They differ in what a NOTIFY copy of the profile may contain, in
//! which calls of their own go through the filter, and in how those show up.
//!
//! Measured here (runc 1.1.5, crun 1.8.1, kernel 6.18):
//! - runc refuses NOTIFY as the default action and for `write`, and its init makes
//!   calls between loading the filter and handing the listener over
//!   ([`RUNC_HANDOFF`]): those must stay LOG or runc waits for ever.
//! - crun takes NOTIFY anywhere (default action and `write` included) and hands
//!   the listener to `listenerPath` before its init makes a single call under the
//!   filter: a copy that notifies everything starts and runs. Nothing stays LOG.

/// Which OCI runtime runs the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciRuntime {
    Runc,
    Crun,
}

/// What runc's init (Go) calls or not depending on scheduling — thread
/// wake-ups, preemption signals, the collector — so that a run that did not see
/// one says nothing about the next: seen once without `futex`, the next plain
/// `runc run` under the saved profile died in `futexwakeup` (a busy machine).
/// A saved profile's start-up rule for runc allows them all.
pub const GO_SCHEDULING: &[&str] = &[
    "futex",
    "getpid",
    "gettid",
    "madvise",
    "mmap",
    "munmap",
    "nanosleep",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "sigaltstack",
    "tgkill",
];

/// Syscalls that stay LOG in a NOTIFY copy for runc: what runc 1.1's init (Go)
/// calls between loading the filter and handing the listener over, as measured
/// here under a deny-everything profile, plus the Go runtime's own housekeeping.
pub const RUNC_HANDOFF: &[&str] = &[
    "capget",
    "capset",
    "chdir",
    "clone",
    "close",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit",
    "exit_group",
    "faccessat2",
    "fcntl",
    "fstat",
    "fstatfs",
    "futex",
    "getcwd",
    "getdents64",
    "getpid",
    "getppid",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "prctl",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_yield",
    "setgid",
    "setgroups",
    "setuid",
    "sigaltstack",
    "tgkill",
    "write",
];

impl OciRuntime {
    /// The runtime a program name or path stands for (`/usr/bin/crun`, `runc`);
    /// `None` for any other (youki, kata, …), whose NOTIFY behaviour eperm has
    /// not measured.
    pub fn from_name(name: &str) -> Option<OciRuntime> {
        match name.rsplit('/').next().unwrap_or(name) {
            "runc" => Some(OciRuntime::Runc),
            "crun" => Some(OciRuntime::Crun),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OciRuntime::Runc => "runc",
            OciRuntime::Crun => "crun",
        }
    }

    /// Calls a NOTIFY copy must leave LOG: the runtime makes them under the
    /// filter before eperm holds the listener.
    pub fn handoff(self) -> &'static [&'static str] {
        match self {
            OciRuntime::Runc => RUNC_HANDOFF,
            OciRuntime::Crun => &[],
        }
    }

    /// The `comm` of its init from loading the profile until the workload's exec:
    /// the calls made under it are the runtime's bootstrap (see `sources::event::is_bootstrap`).
    pub fn init_comm(self) -> &'static str {
        match self {
            OciRuntime::Runc => "runc:[2:INIT]",
            OciRuntime::Crun => "crun",
        }
    }

    /// Does the runtime take NOTIFY as the default action?
    pub fn notifies_default(self) -> bool {
        self == OciRuntime::Crun
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_runc_and_crun_by_name_or_path_only() {
        assert_eq!(OciRuntime::from_name("crun"), Some(OciRuntime::Crun));
        assert_eq!(
            OciRuntime::from_name("/usr/local/bin/runc"),
            Some(OciRuntime::Runc)
        );
        assert_eq!(OciRuntime::from_name("youki"), None);
        assert_eq!(OciRuntime::from_name("/usr/bin/crun-wasm"), None);
    }
}
