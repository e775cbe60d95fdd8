//! The event: one syscall the profile would have denied, from any source.
//!
//! Serialised as one JSON object per line for `run --events` and `watch --json`;
//! the field names are a contract (docs/architecture.md, "Contracts").

use crate::untrusted::Untrusted;
use serde::Serialize;

/// Which mechanism saw the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Ptrace,
    Notify,
    Audit,
    Kmsg,
    File,
}

/// What happened to the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The call ran (permissive mode, or allowed by the user).
    Allowed,
    /// The call failed with an errno.
    Denied,
    /// The process (or thread) was killed.
    Killed,
    /// SIGSYS was delivered (TRAP).
    Trapped,
    /// The kernel logged the call and let it run (LOG sources).
    Logged,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub time_ms: u64,
    pub source: Source,
    pub pid: u32,
    pub tid: u32,
    /// The thread's name: the process chose it, so it is shown escaped.
    pub comm: Untrusted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<Untrusted>,
    pub arch: String,
    pub syscall: String,
    pub nr: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<[u64; 6]>,
    /// The call as a person reads it: `openat(AT_FDCWD, "/etc/shadow", O_RDONLY)`.
    /// Shown as it is: what it quotes from the caller's memory is escaped already
    /// (`decode::quote`); text for it from anywhere else must be escaped the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// What the profile says, e.g. `SCMP_ACT_ERRNO`.
    pub action: String,
    /// The errno the profile gives (ERRNO only), by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// JSON path of the deciding rule, or `defaultAction`.
    pub rule: String,
    /// Made before the workload's own exec (by eperm's child or a runtime).
    pub bootstrap: bool,
    pub decision: Decision,
    /// The container the process runs in, from its cgroup (kernel log sources).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<super::cgroup::Container>,
}

/// Was the call made before the workload's exec? Either the caller still runs
/// eperm's own executable (`own_exe`: the child between fork and exec), or it is
/// a runtime's init, which loads the profile before exec'ing a container's
/// workload: runc's (`runc:[2:INIT]`) or crun's (`crun`, its own name until the exec).
pub fn is_bootstrap(comm: &Untrusted, own_exe: bool) -> bool {
    own_exe || comm.as_bytes().starts_with(b"runc:[") || comm.as_bytes() == b"crun"
}
