//! The event: one syscall the profile would have denied, from any source.
//!
//! Serialised as one JSON object per line for `run --events` and `watch --json`;
//! the field names are a contract (docs/architecture.md, "Contracts").

use crate::arch::Arch;
use crate::profile::{Action, Verdict};
use crate::untrusted::Untrusted;
use serde::Serialize;
use std::fmt;

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

impl Source {
    /// The JSON word: `ptrace`, `notify`, `audit`, `kmsg`, `file`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Ptrace => "ptrace",
            Source::Notify => "notify",
            Source::Audit => "audit",
            Source::Kmsg => "kmsg",
            Source::File => "file",
        }
    }
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

/// A call that fails because eperm intercepts the workload, where it would
/// work without eperm (see `run::interference`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interference {
    /// Notify mode: eperm's filter holds the seccomp listener, so the workload's
    /// own `seccomp(…SECCOMP_FILTER_FLAG_NEW_LISTENER)` fails with EBUSY.
    Listener,
    /// [`Interference::Listener`] in a container, where the runtime's copy of the
    /// profile hands eperm the listener: containers have no trace mode.
    ContainerListener,
    /// Trace mode: eperm is the tracer, so `ptrace(PTRACE_TRACEME)` (or
    /// attaching to a process eperm traces) fails with EPERM.
    Tracer,
}

impl Interference {
    /// The JSON word: `listener`, `tracer`.
    pub fn word(self) -> &'static str {
        match self {
            Interference::Listener | Interference::ContainerListener => "listener",
            Interference::Tracer => "tracer",
        }
    }

    /// What happened and why, in a sentence.
    pub fn why(self) -> &'static str {
        match self {
            Interference::Listener | Interference::ContainerListener => {
                "fails with EBUSY because eperm holds the seccomp listener (notify mode); a process may have only one"
            }
            Interference::Tracer => {
                "fails with EPERM because eperm is the workload's tracer (trace mode); a process has only one"
            }
        }
    }

    /// How to run without it.
    pub fn avoid(self) -> &'static str {
        match self {
            Interference::Listener => "run with --mode trace or --mode log",
            Interference::ContainerListener => {
                "run with --mode log (containers have no trace mode)"
            }
            Interference::Tracer => "run with --mode notify or --mode log",
        }
    }
}

/// One call the profile would have denied (or a kernel record of one).
///
/// Its facts are typed and become text only when shown; its JSON is written
/// through `Wire` (below), which spells the contract.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Milliseconds since the run started.
    pub time_ms: u64,
    pub source: Source,
    pub pid: u32,
    pub tid: u32,
    /// The thread's name: the process chose it, so it is shown escaped.
    pub comm: Untrusted,
    pub exe: Option<Untrusted>,
    pub arch: CallArch,
    /// The syscall's name on `arch`, or `nr_N` when it has none.
    pub syscall: String,
    pub nr: u32,
    pub args: Option<[u64; 6]>,
    /// The call as a person reads it: `openat(AT_FDCWD, "/etc/shadow", O_RDONLY)`.
    /// Shown as it is: what it quotes from the caller's memory is escaped already
    /// (`decode::quote`); text for it from anywhere else must be escaped the same way.
    pub call: Option<String>,
    /// What the profile says (JSON: `action` and, for ERRNO, `errno`).
    pub ruling: Ruling,
    /// The rule that decided; `None`: no profile judged the call (a kernel
    /// record read without one). JSON: its path, or `""`.
    pub rule: Option<Decider>,
    /// Made before the workload's own exec (by eperm's child or a runtime).
    pub bootstrap: bool,
    pub decision: Decision,
    /// The container the process runs in, from its cgroup (kernel log sources).
    pub container: Option<super::cgroup::Container>,
    /// The call fails because of eperm itself, not the profile (JSON:
    /// `caused_by_eperm`, only when present).
    pub interference: Option<Interference>,
    /// The caller's user-space stack, innermost frame first, symbolized
    /// (`run::stack`); `None` where it was not taken (kernel records, log
    /// files, `--no-stacks`). JSON: `stack`, only when present.
    pub stack: Option<Vec<super::stack::Frame>>,
    /// The Kubernetes pod of the container (from its cgroup and the runtime's
    /// bundle: namespace, name, uid, container); JSON `pod`, only when known.
    pub pod: Option<crate::pods::Pod>,
    /// The action `export --soften` gave the deciding rule (LOG, NOTIFY) when
    /// `ruling` is what it had before: what the kernel did instead. JSON
    /// `softened`, only when present.
    pub softened: Option<Action>,
    // What later issues add to an event goes here, typed and optional, and is
    // written in JSON only when present so that today's lines stay as they are:
    // the layer that refused the call (`layer: Option<Layer>`: seccomp, a
    // capability, an LSM, …).
}

impl Event {
    /// The deciding rule's JSON path; empty when no profile judged the call.
    pub fn rule_path(&self) -> String {
        rule_path(self.rule)
    }
}

/// A deciding rule's JSON path; empty for `None` (no profile judged the call).
pub fn rule_path(rule: Option<Decider>) -> String {
    rule.map(|r| r.to_string()).unwrap_or_default()
}

/// The arch of a call: one eperm knows, or the `AUDIT_ARCH` value of a kernel
/// record whose arch it does not know (shown in hex, as the record has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallArch {
    Known(Arch),
    Unknown(u32),
}

impl CallArch {
    /// The arch of a record's `AUDIT_ARCH` value.
    pub fn of(arch: Option<Arch>, audit_arch: u32) -> CallArch {
        arch.map_or(CallArch::Unknown(audit_arch), CallArch::Known)
    }

    pub fn known(self) -> Option<Arch> {
        match self {
            CallArch::Known(arch) => Some(arch),
            CallArch::Unknown(_) => None,
        }
    }
}

/// `x86_64`, or the unknown `AUDIT_ARCH` in hex: `deadbeef`.
impl fmt::Display for CallArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallArch::Known(arch) => f.pad(arch.name()),
            CallArch::Unknown(audit_arch) => f.pad(&format!("{audit_arch:x}")),
        }
    }
}

/// What the profile says of a call, or, for a kernel record no profile judged,
/// what the filter answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ruling {
    /// The profile's verdict: its action, and the errno of ERRNO.
    Profile(Verdict),
    /// The filter's return value a record carries: `SECCOMP_RET_*` and its data.
    Record(u32),
}

impl Ruling {
    /// The action as profiles write it (`SCMP_ACT_ERRNO`); a record's as
    /// libseccomp names its return value (`SCMP_ACT_KILL_THREAD`, or
    /// `SCMP_ACT_UNKNOWN` for a value it has no name for).
    pub fn action_name(self) -> &'static str {
        match self {
            Ruling::Profile(verdict) => verdict.action.name(),
            Ruling::Record(code) => super::audit_record::action_name(code),
        }
    }

    /// The action; `None`: a record's return value no action gives.
    pub fn action(self) -> Option<Action> {
        match self {
            Ruling::Profile(verdict) => Some(verdict.action),
            Ruling::Record(code) => super::audit_record::action(code),
        }
    }

    /// The errno an ERRNO action gives.
    pub fn errno(self) -> Option<u32> {
        match self {
            Ruling::Profile(v) => (v.action == Action::Errno).then_some(v.data),
            Ruling::Record(code) => {
                (super::audit_record::action(code) == Some(Action::Errno)).then_some(code & 0xffff)
            }
        }
    }

    /// The errno as shown: `EPERM`, or `errno 4000` for one without a name.
    pub fn errno_text(self) -> Option<String> {
        self.errno().map(crate::errno::describe)
    }

    /// The errno when there is one, else the action: `EPERM`, `SCMP_ACT_KILL`.
    pub fn describe(self) -> String {
        self.errno_text()
            .unwrap_or_else(|| self.action_name().to_string())
    }

    /// The word a table shows: the errno's name (`errno` for one without a
    /// name), else the action without `SCMP_ACT_`: `EPERM`, `KILL_PROCESS`.
    pub fn word(self) -> &'static str {
        match self.errno() {
            Some(errno) => crate::errno::name(errno).unwrap_or("errno"),
            None => self.action_name().trim_start_matches("SCMP_ACT_"),
        }
    }

    /// Does it kill the caller or send it SIGSYS (KILL, KILL_PROCESS, TRAP)?
    pub fn kills(self) -> bool {
        matches!(
            self.action(),
            Some(Action::KillThread | Action::KillProcess | Action::Trap)
        )
    }
}

/// The rule of a profile that decided a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// No rule names the call: the default action.
    Default,
    /// The rule at this index in the profile's `syscalls[]`.
    Index(usize),
    /// runc's -ENOSYS stub, in front of the filter, answered ENOSYS for a call
    /// above the largest one the profile names (see [`crate::target`]). No rule
    /// of the profile decided: its path is the default action's.
    Stub,
    /// The kernel let the call through before any filter ran (`uretprobe`,
    /// `uprobe`: see [`crate::compile::passthrough`]). No rule of the profile
    /// decided: its path is the default action's.
    Kernel,
}

/// The deciding rule, with where the profile's file puts the seccomp object,
/// which its JSON path starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decider {
    pub rule: Rule,
    /// The seccomp object's JSON path ([`crate::profile::Profile::base_path`]):
    /// `""` (Docker), `linux.seccomp` (an OCI config.json) or `spec` (SPO).
    pub base: &'static str,
}

impl Decider {
    /// The rule of a profile whose seccomp object is at `base`.
    pub fn new(rule: Rule, base: &'static str) -> Decider {
        Decider { rule, base }
    }
}

/// The rule's JSON path: `syscalls[3]`, `linux.seccomp.defaultAction`.
impl fmt::Display for Decider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = match self.rule {
            Rule::Default | Rule::Stub | Rule::Kernel => "defaultAction".to_string(),
            Rule::Index(i) => format!("syscalls[{i}]"),
        };
        match self.base {
            "" => f.pad(&rest),
            base => f.pad(&format!("{base}.{rest}")),
        }
    }
}

/// The event as `run --events` and `watch --json` write it: the contract with
/// scripts (docs/architecture.md, "Contracts"). A new field of [`Event`] that
/// scripts should see goes here, as an optional member written only when present.
#[derive(Serialize)]
struct Wire<'a> {
    time_ms: u64,
    source: Source,
    pid: u32,
    tid: u32,
    comm: &'a Untrusted,
    #[serde(skip_serializing_if = "Option::is_none")]
    exe: Option<&'a Untrusted>,
    arch: AsText<CallArch>,
    syscall: &'a str,
    nr: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<[u64; 6]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call: Option<&'a str>,
    /// What the profile says, e.g. `SCMP_ACT_ERRNO`.
    action: &'static str,
    /// The errno the profile gives (ERRNO only), by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    errno: Option<String>,
    /// JSON path of the deciding rule, or `defaultAction`; `""` when no profile judged.
    rule: String,
    bootstrap: bool,
    decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a super::cgroup::Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caused_by_eperm: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack: Option<&'a [super::stack::Frame]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<&'a crate::pods::Pod>,
    /// The action the kernel took for a softened rule (`action` is the original).
    #[serde(skip_serializing_if = "Option::is_none")]
    softened: Option<&'static str>,
}

/// Written as a JSON string of its `Display` text.
struct AsText<T>(T);

impl<T: fmt::Display> Serialize for AsText<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            time_ms: self.time_ms,
            source: self.source,
            pid: self.pid,
            tid: self.tid,
            comm: &self.comm,
            exe: self.exe.as_ref(),
            arch: AsText(self.arch),
            syscall: &self.syscall,
            nr: self.nr,
            args: self.args,
            call: self.call.as_deref(),
            action: self.ruling.action_name(),
            errno: self.ruling.errno_text(),
            rule: self.rule_path(),
            bootstrap: self.bootstrap,
            decision: self.decision,
            container: self.container.as_ref(),
            caused_by_eperm: self.interference.map(Interference::word),
            stack: self.stack.as_deref(),
            pod: self.pod.as_ref(),
            softened: self.softened.map(Action::name),
        }
        .serialize(s)
    }
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
    use crate::arch::Arch;

    fn errno(n: u32) -> Ruling {
        Ruling::Profile(Verdict::of(Action::Errno, Some(n)))
    }

    /// A call seen through notify, decided by `syscalls[1]` with EPERM.
    fn event() -> Event {
        Event {
            time_ms: 12,
            source: Source::Notify,
            pid: 4242,
            tid: 4243,
            comm: Untrusted::from("curl"),
            exe: Some(Untrusted::from("/usr/bin/curl")),
            arch: CallArch::Known(Arch::X86_64),
            syscall: "mkdir".into(),
            nr: 83,
            args: Some([0x1000_0000, 0o755, 0, 0, 0, u64::MAX]),
            call: Some("mkdir(\"/tmp/x\", 0755)".into()),
            ruling: errno(1),
            rule: Some(Decider::new(Rule::Index(1), "")),
            bootstrap: false,
            decision: Decision::Allowed,
            container: None,
            interference: None,
            stack: None,
            pod: None,
            softened: None,
        }
    }

    fn json(e: &Event) -> String {
        serde_json::to_string(e).unwrap()
    }

    const HEAD: &str = r#"{"time_ms":12,"source":"notify","pid":4242,"tid":4243,"comm":"curl","exe":"/usr/bin/curl","arch":"x86_64","syscall":"mkdir","nr":83,"args":[268435456,493,0,0,0,18446744073709551615],"call":"mkdir(\"/tmp/x\", 0755)","#;

    /// The word metrics and summaries use is the JSON's.
    #[test]
    fn a_sources_name_is_its_json_word() {
        use Source::*;
        for s in [Ptrace, Notify, Audit, Kmsg, File] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }

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
        e.ruling = errno(4000);
        e.rule = Some(Decider::new(Rule::Default, "linux.seccomp"));
        e.decision = Decision::Denied;
        assert_eq!(
            json(&e),
            HEAD.to_string()
                + r#""action":"SCMP_ACT_ERRNO","errno":"errno 4000","rule":"linux.seccomp.defaultAction","bootstrap":false,"decision":"denied"}"#
        );
    }

    #[test]
    fn kill_trap_and_log_carry_no_errno() {
        for (said, decider, action, rule, decision, word) in [
            (
                Action::KillProcess,
                Decider::new(Rule::Index(4), ""),
                "SCMP_ACT_KILL_PROCESS",
                "syscalls[4]",
                Decision::Killed,
                "killed",
            ),
            (
                Action::KillThread,
                Decider::new(Rule::Index(5), "spec"),
                "SCMP_ACT_KILL",
                "spec.syscalls[5]",
                Decision::Killed,
                "killed",
            ),
            (
                Action::Trap,
                Decider::new(Rule::Index(6), ""),
                "SCMP_ACT_TRAP",
                "syscalls[6]",
                Decision::Trapped,
                "trapped",
            ),
            (
                Action::Log,
                Decider::new(Rule::Index(7), ""),
                "SCMP_ACT_LOG",
                "syscalls[7]",
                Decision::Logged,
                "logged",
            ),
        ] {
            let mut e = event();
            e.ruling = Ruling::Profile(Verdict::of(said, None));
            e.rule = Some(decider);
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
        e.ruling = errno(38);
        e.rule = Some(Decider::new(Rule::Stub, ""));
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
        let record = |arch: CallArch, code: u32| Event {
            time_ms: 0,
            source: Source::Audit,
            pid: 7,
            tid: 7,
            comm: Untrusted::from("my prog"),
            exe: None,
            arch,
            syscall: "nr_7".into(),
            nr: 7,
            args: None,
            call: None,
            ruling: Ruling::Record(code),
            rule: None,
            bootstrap: false,
            decision: Decision::Denied,
            container: Some(super::super::cgroup::Container {
                runtime: "docker",
                id: "3f2a".repeat(16),
                name: Some("web".into()),
                pod: None,
                kube: None,
            }),
            interference: None,
            stack: None,
            pod: None,
            softened: None,
        };
        let tail = format!(
            r#""rule":"","bootstrap":false,"decision":"denied","container":{{"runtime":"docker","id":"{}","name":"web"}}}}"#,
            "3f2a".repeat(16)
        );
        assert_eq!(
            json(&record(CallArch::Unknown(0xdead_beef), 0x0005_0001)),
            r#"{"time_ms":0,"source":"audit","pid":7,"tid":7,"comm":"my prog","arch":"deadbeef","syscall":"nr_7","nr":7,"action":"SCMP_ACT_ERRNO","errno":"EPERM","#.to_string()
                + &tail
        );
        for (code, action) in [
            (0, "SCMP_ACT_KILL_THREAD"),
            (0x1234_0000, "SCMP_ACT_UNKNOWN"),
            (0x7fc0_0000, "SCMP_ACT_NOTIFY"),
        ] {
            assert_eq!(
                json(&record(CallArch::Known(Arch::X32), code)),
                format!(
                    r#"{{"time_ms":0,"source":"audit","pid":7,"tid":7,"comm":"my prog","arch":"x32","syscall":"nr_7","nr":7,"action":"{action}",{tail}"#
                )
            );
        }
    }
}

#[cfg(test)]
mod pod_tests {
    //! The members a Kubernetes node's events add, written after every other.

    use super::*;
    use crate::arch::Arch;
    use crate::pods::Pod;

    #[test]
    fn a_softened_call_of_a_named_pod_ends_with_its_pod_and_what_the_kernel_did() {
        let pod = Pod {
            namespace: Some("shop".into()),
            name: Some("web-1".into()),
            uid: Some("0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6".into()),
            container: Some("app".into()),
        };
        let event = Event {
            time_ms: 5,
            source: Source::Audit,
            pid: 9,
            tid: 9,
            comm: Untrusted::from("sleep"),
            exe: None,
            arch: CallArch::Known(Arch::X86_64),
            syscall: "clock_nanosleep".into(),
            nr: 230,
            args: None,
            call: None,
            ruling: Ruling::Profile(Verdict::of(Action::Errno, None)),
            rule: Some(Decider::new(Rule::Index(0), "")),
            bootstrap: false,
            decision: Decision::Logged,
            container: None,
            interference: None,
            stack: None,
            pod: Some(pod),
            softened: Some(Action::Log),
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"time_ms":5,"source":"audit","pid":9,"tid":9,"comm":"sleep","arch":"x86_64","syscall":"clock_nanosleep","nr":230,"action":"SCMP_ACT_ERRNO","errno":"EPERM","rule":"syscalls[0]","bootstrap":false,"decision":"logged","pod":{"namespace":"shop","name":"web-1","uid":"0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6","container":"app"},"softened":"SCMP_ACT_LOG"}"#
        );
    }
}

#[cfg(test)]
mod ruling_tests {
    use super::*;

    #[test]
    fn a_ruling_in_words() {
        let said = |action, errno| Ruling::Profile(Verdict::of(action, errno));
        assert_eq!(said(Action::Errno, Some(38)).word(), "ENOSYS");
        assert_eq!(said(Action::Errno, Some(4000)).word(), "errno");
        assert_eq!(said(Action::Errno, Some(4000)).describe(), "errno 4000");
        assert_eq!(said(Action::KillThread, None).word(), "KILL");
        assert_eq!(said(Action::KillThread, None).errno(), None);
        assert_eq!(Ruling::Record(0).word(), "KILL_THREAD");
        assert_eq!(Ruling::Record(0x0005_000d).describe(), "EACCES");
        assert_eq!(Ruling::Record(0x1234_0000).word(), "UNKNOWN");
        assert_eq!(Ruling::Record(0x1234_0000).action(), None);
        for (ruling, kills) in [
            (said(Action::KillProcess, None), true),
            (said(Action::KillThread, None), true),
            (said(Action::Trap, None), true),
            (said(Action::Errno, None), false),
            (said(Action::Log, None), false),
            (Ruling::Record(0), true),
            (Ruling::Record(0x8000_0000), true),
            (Ruling::Record(0x0003_0000), true),
            (Ruling::Record(0x7ffc_0000), false),
            (Ruling::Record(0x1234_0000), false),
        ] {
            assert_eq!(ruling.kills(), kills, "{ruling:?}");
        }
    }

    #[test]
    fn arches_and_rules_as_shown() {
        assert_eq!(CallArch::Known(crate::arch::Arch::X32).to_string(), "x32");
        assert_eq!(CallArch::Unknown(0xc000_00b7).to_string(), "c00000b7");
        assert_eq!(format!("{:<8}|", CallArch::Unknown(0xab)), "ab      |");
        assert_eq!(
            Decider::new(Rule::Stub, "linux.seccomp").to_string(),
            "linux.seccomp.defaultAction"
        );
        assert_eq!(Decider::new(Rule::Index(0), "").to_string(), "syscalls[0]");
        assert_eq!(rule_path(None), "");
    }
}
