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

#[cfg(test)]
mod tests {
    //! Each kind of event written as JSON, compared with the exact line eperm
    //! wrote before events were typed: the field names, their order and their
    //! spelling are the contract of `run --events` and `watch --json`.

    use super::*;

    /// A call seen through notify, decided by `syscalls[1]` with EPERM.
    fn event() -> Event {
        Event {
            time_ms: 12,
            source: Source::Notify,
            pid: 4242,
            tid: 4243,
            comm: Untrusted::from("curl"),
            exe: Some(Untrusted::from("/usr/bin/curl")),
            arch: "x86_64".into(),
            syscall: "mkdir".into(),
            nr: 83,
            args: Some([0x1000_0000, 0o755, 0, 0, 0, u64::MAX]),
            call: Some("mkdir(\"/tmp/x\", 0755)".into()),
            action: "SCMP_ACT_ERRNO".into(),
            errno: Some("EPERM".into()),
            rule: "syscalls[1]".into(),
            bootstrap: false,
            decision: Decision::Allowed,
            container: None,
        }
    }

    fn json(e: &Event) -> String {
        serde_json::to_string(e).unwrap()
    }

    const HEAD: &str = r#"{"time_ms":12,"source":"notify","pid":4242,"tid":4243,"comm":"curl","exe":"/usr/bin/curl","arch":"x86_64","syscall":"mkdir","nr":83,"args":[268435456,493,0,0,0,18446744073709551615],"call":"mkdir(\"/tmp/x\", 0755)","#;

    #[test]
    fn errno_by_an_indexed_rule() {
        assert_eq!(
            json(&event()),
            HEAD.to_string()
                + r#""action":"SCMP_ACT_ERRNO","errno":"EPERM","rule":"syscalls[1]","bootstrap":false,"decision":"allowed"}"#
        );
    }

    #[test]
    fn an_errno_without_a_name_by_the_default_action_in_an_oci_config() {
        let mut e = event();
        e.errno = Some("errno 4000".into());
        e.rule = "linux.seccomp.defaultAction".into();
        e.decision = Decision::Denied;
        assert_eq!(
            json(&e),
            HEAD.to_string()
                + r#""action":"SCMP_ACT_ERRNO","errno":"errno 4000","rule":"linux.seccomp.defaultAction","bootstrap":false,"decision":"denied"}"#
        );
    }

    #[test]
    fn kill_trap_and_log_carry_no_errno() {
        for (action, rule, decision, word) in [
            (
                "SCMP_ACT_KILL_PROCESS",
                "syscalls[4]",
                Decision::Killed,
                "killed",
            ),
            (
                "SCMP_ACT_KILL",
                "spec.syscalls[5]",
                Decision::Killed,
                "killed",
            ),
            ("SCMP_ACT_TRAP", "syscalls[6]", Decision::Trapped, "trapped"),
            ("SCMP_ACT_LOG", "syscalls[7]", Decision::Logged, "logged"),
        ] {
            let mut e = event();
            e.action = action.into();
            e.errno = None;
            e.rule = rule.into();
            e.decision = decision;
            assert_eq!(
                json(&e),
                format!(
                    r#"{HEAD}"action":"{action}","rule":"{rule}","bootstrap":false,"decision":"{word}"}}"#
                )
            );
        }
    }

    /// runc's -ENOSYS stub answers before the filter: its path is the default action's.
    #[test]
    fn the_stub_is_written_as_the_default_action() {
        let mut e = event();
        e.errno = Some("ENOSYS".into());
        e.rule = "defaultAction".into();
        e.bootstrap = true;
        e.source = Source::Ptrace;
        assert_eq!(
            json(&e),
            HEAD.replace("notify", "ptrace")
                + r#""action":"SCMP_ACT_ERRNO","errno":"ENOSYS","rule":"defaultAction","bootstrap":true,"decision":"allowed"}"#
        );
    }

    /// A kernel record no profile judged: its own action (KILL_THREAD spelled out,
    /// as libseccomp names the return value), no rule, an arch eperm does not know.
    #[test]
    fn a_record_no_profile_judged() {
        let record = |arch: &str, action: &str, errno: Option<&str>| Event {
            time_ms: 0,
            source: Source::Audit,
            pid: 7,
            tid: 7,
            comm: Untrusted::from("my prog"),
            exe: None,
            arch: arch.into(),
            syscall: "nr_7".into(),
            nr: 7,
            args: None,
            call: None,
            action: action.into(),
            errno: errno.map(str::to_string),
            rule: String::new(),
            bootstrap: false,
            decision: Decision::Denied,
            container: Some(super::super::cgroup::Container {
                runtime: "docker",
                id: "3f2a".repeat(16),
                name: Some("web".into()),
                pod: None,
            }),
        };
        let tail = format!(
            r#""rule":"","bootstrap":false,"decision":"denied","container":{{"runtime":"docker","id":"{}","name":"web"}}}}"#,
            "3f2a".repeat(16)
        );
        assert_eq!(
            json(&record("deadbeef", "SCMP_ACT_ERRNO", Some("EPERM"))),
            r#"{"time_ms":0,"source":"audit","pid":7,"tid":7,"comm":"my prog","arch":"deadbeef","syscall":"nr_7","nr":7,"action":"SCMP_ACT_ERRNO","errno":"EPERM","#.to_string()
                + &tail
        );
        for action in [
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_UNKNOWN",
            "SCMP_ACT_NOTIFY",
        ] {
            assert_eq!(
                json(&record("x32", action, None)),
                format!(
                    r#"{{"time_ms":0,"source":"audit","pid":7,"tid":7,"comm":"my prog","arch":"x32","syscall":"nr_7","nr":7,"action":"{action}",{tail}"#
                )
            );
        }
    }
}
