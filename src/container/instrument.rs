//! The instrumented copy of a profile that a container runtime loads in place of
//! the user's: every verdict that would deny becomes one that reports instead.
//!
//! Runtimes apply the copy, not eperm, so the copy must say it in their language:
//! - LOG: denying actions (and a denying default) become `SCMP_ACT_LOG`; the kernel
//!   logs each such call and lets it run; events come from audit / kmsg.
//! - NOTIFY for crun: denying rules and a denying default become NOTIFY; crun
//!   takes it anywhere and holds no call of its own before the handoff.
//! - NOTIFY for runc: runc refuses NOTIFY as the default action and for `write`,
//!   so the default becomes LOG, denying rules become NOTIFY, and one extra rule
//!   sends every syscall that only the default would deny to NOTIFY. runc's init
//!   makes calls after loading the filter and before eperm holds the listener: a
//!   NOTIFY on any of those would wait for ever, so they
//!   (runc's start-up calls, [`crate::startup`]) stay LOG. Calls that an
//!   argument condition lets through only sometimes are left to the default
//!   (LOG): a JSON rule cannot express "none of those conditions held".
//!
//! - NOTIFY, either runtime: a `seccomp` that the original allows is sent to
//!   eperm when it asks for a listener of its own (which fails with EBUSY
//!   because eperm holds one: see `run::interference`), so that eperm can say
//!   whose doing the failure is. libseccomp lets an unconditional rule for a
//!   syscall override every conditional one, whatever their actions, so the
//!   allowance is split into two complementary masked conditions on `args[1]`.
//!
//! The copy keeps the structure of the original (rule order, conditions, includes,
//! excludes, archMap), so the runtime resolves it exactly as it would the original.

use super::oci_runtime::OciRuntime;
use crate::profile::{resolve, Action, Form, Profile, Skip, Target};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;

/// How denials are turned into reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instrument {
    Log,
    /// `listener`: the agent's socket (`listenerPath`), when the runtime reads it
    /// from the profile; `None` when something else sets it (eperm's runc wrapper).
    /// `runtime`: the one that loads the copy (what it takes NOTIFY for).
    /// `refused`: the runtime's start-up calls the original refuses, which keep
    /// their denial (`--enforce`): the container then fails to start as it
    /// would under the original (see [`crate::startup`]).
    Notify {
        listener: Option<String>,
        runtime: OciRuntime,
        refused: Vec<String>,
    },
}

impl Instrument {
    /// The calls the copy leaves LOG: the runtime's handoff, but what stays refused.
    fn handoff(&self) -> Vec<&'static str> {
        match self {
            Instrument::Log => Vec::new(),
            Instrument::Notify {
                runtime, refused, ..
            } => runtime
                .handoff()
                .iter()
                .copied()
                .filter(|n| !refused.iter().any(|r| r == n))
                .collect(),
        }
    }

    fn refused(&self) -> &[String] {
        match self {
            Instrument::Log => &[],
            Instrument::Notify { refused, .. } => refused,
        }
    }
}

/// The `comment` of the extra rule, so a reader of the copy knows where it came from.
pub const EXTRA_RULE_COMMENT: &str =
    "eperm: syscalls the original profile denies by its default action, reported to eperm";

/// The `comment` of the rule that keeps the runtime's refused start-up calls refused.
pub const REFUSED_RULE_COMMENT: &str =
    "eperm --enforce: the container runtime's start-up calls the original profile refuses, refused as by it";

/// Actions that stop a call: the ones eperm reports instead of applying.
pub fn denies(action: Action) -> bool {
    matches!(
        action,
        Action::Errno | Action::KillThread | Action::KillProcess | Action::Trap | Action::Trace
    )
}

/// The instrumented document: a Docker profile for [`Form::Docker`] (and for a
/// SeccompProfile's spec), the whole config.json with its `linux.seccomp`
/// replaced for [`Form::OciConfig`].
pub fn instrument(profile: &Profile, target: &Target, how: &Instrument) -> String {
    rewritten(profile, |object| {
        instrument_object(object, profile, target, how)
    })
}

/// `profile`'s document with its seccomp object changed by `edit`, as JSON text.
fn rewritten(profile: &Profile, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    // From the tree, not the text: a SeccompProfile may be YAML.
    let mut doc = match profile.form {
        Form::Spo => crate::profile::export::docker_object(profile),
        _ => profile.root.to_serde(),
    };
    let seccomp = match profile.form {
        Form::Docker | Form::Spo => &mut doc,
        Form::OciConfig => &mut doc["linux"]["seccomp"],
    };
    edit(seccomp.as_object_mut().expect("the seccomp object"));
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON values serialize");
    text.push('\n');
    text
}

fn instrument_object(
    object: &mut Map<String, Value>,
    profile: &Profile,
    target: &Target,
    how: &Instrument,
) {
    let default_denies = denies(profile.default_action);
    if default_denies {
        let action = match how {
            Instrument::Notify { runtime, .. } if runtime.notifies_default() => "SCMP_ACT_NOTIFY",
            _ => "SCMP_ACT_LOG",
        };
        object.insert("defaultAction".into(), json!(action));
        object.shift_remove("defaultErrnoRet");
    }
    let rules = object
        .get_mut("syscalls")
        .and_then(Value::as_array_mut)
        .map(std::mem::take)
        .unwrap_or_default();
    let mut out = Vec::with_capacity(rules.len() + 1);
    let mut watched = false;
    for rule in rules {
        watched |= names(&rule).any(|n| n == WATCHED);
        out.extend(instrument_rule(rule, how));
    }
    if matches!(how, Instrument::Notify { .. })
        && !watched
        && profile.default_action == Action::Allow
    {
        out.push(listener_rule(&Map::new(), "SCMP_ACT_NOTIFY", NEW_LISTENER));
    }
    if let Instrument::Notify {
        listener, runtime, ..
    } = how
    {
        if default_denies && !runtime.notifies_default() {
            let handoff = how.handoff();
            let mut names = only_default_denies(profile, target, &handoff);
            // What stays refused keeps the default's denial, not NOTIFY.
            let refused: Vec<String> = names
                .iter()
                .filter(|n| how.refused().contains(n))
                .cloned()
                .collect();
            names.retain(|n| !refused.contains(n));
            if !refused.is_empty() {
                let mut rule = json!({
                    "names": refused,
                    "action": profile.default_action.name(),
                    "comment": REFUSED_RULE_COMMENT,
                });
                if let Some(errno) = profile.default_errno {
                    rule["errnoRet"] = json!(errno);
                }
                out.push(rule);
            }
            if !names.is_empty() {
                out.push(json!({
                    "names": names,
                    "action": "SCMP_ACT_NOTIFY",
                    "comment": EXTRA_RULE_COMMENT,
                }));
            }
        }
        if let Some(path) = listener {
            object.insert("listenerPath".into(), json!(path));
        }
    }
    object.insert("syscalls".into(), Value::Array(out));
}

/// The copy a recording in the kernel runs under: every call of the original's
/// arches allowed (its `architectures` and `archMap` kept, so a foreign arch's
/// calls are refused as under the instrumented copy), while eBPF counts them
/// (see [`crate::run::coverage::container_counter`]). It has no rules, so the
/// runtime never waits on a listener, and still loads a filter: only calls made
/// under one are counted, as only those are reported when trapped.
pub fn permissive(profile: &Profile) -> String {
    rewritten(profile, |object| {
        object.insert("defaultAction".into(), json!("SCMP_ACT_ALLOW"));
        for field in ["defaultErrnoRet", "listenerPath", "listenerMetadata"] {
            object.shift_remove(field);
        }
        object.insert("syscalls".into(), Value::Array(Vec::new()));
    })
}

/// One rule of the original, as it goes into the copy (for runc, a NOTIFY rule
/// naming `write` or another call of its handoff is split in two).
fn instrument_rule(mut rule: Value, how: &Instrument) -> Vec<Value> {
    let action = rule
        .get("action")
        .and_then(Value::as_str)
        .and_then(Action::parse);
    if action == Some(Action::Allow) && matches!(how, Instrument::Notify { .. }) {
        return watch_listener(rule, &how.handoff());
    }
    if !action.is_some_and(denies) {
        return vec![rule];
    }
    let fields = rule.as_object_mut().expect("rules are objects");
    // What stays refused keeps the rule as written (unconditional rules only:
    // a condition may let the runtime's call through, see `startup::readiness`).
    let unconditional = fields
        .get("args")
        .and_then(Value::as_array)
        .is_none_or(|a| a.is_empty());
    let kept = match unconditional {
        true => take_names(fields, how.refused()),
        false => None,
    };
    fields.shift_remove("errnoRet");
    let mut out = match how {
        Instrument::Log => {
            fields.insert("action".into(), json!("SCMP_ACT_LOG"));
            vec![rule]
        }
        Instrument::Notify { .. } => split_handoff(fields, &how.handoff()),
    };
    out.extend(kept);
    out
}

/// The call eperm's listener breaks, and the flag of `args[1]` it breaks it with.
const WATCHED: &str = "seccomp";
const NEW_LISTENER: u64 = 1 << 3;

/// The `comment` of the rule that sends a `seccomp` asking for a listener to eperm.
pub const LISTENER_RULE_COMMENT: &str =
    "eperm: seccomp asking for a listener fails because eperm holds one; reported to eperm";

/// The names of a rule of the document.
fn names(rule: &Value) -> impl Iterator<Item = &str> {
    rule.get("names")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// An unconditional allowing rule that names [`WATCHED`]: the rule without it,
/// then the call allowed without [`NEW_LISTENER`] and notified with it (see the
/// module's comment for why both halves are needed). Other rules as they are.
fn watch_listener(mut rule: Value, handoff: &[&str]) -> Vec<Value> {
    let conditional = rule
        .get("args")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if conditional || handoff.contains(&WATCHED) || !names(&rule).any(|n| n == WATCHED) {
        return vec![rule];
    }
    let fields = rule.as_object_mut().expect("rules are objects");
    let halves = [
        listener_rule(fields, "SCMP_ACT_ALLOW", 0),
        listener_rule(fields, "SCMP_ACT_NOTIFY", NEW_LISTENER),
    ];
    if let Some(names) = fields.get_mut("names").and_then(Value::as_array_mut) {
        names.retain(|n| n.as_str() != Some(WATCHED));
    }
    let mut out = Vec::with_capacity(3);
    if names(&rule).next().is_some() {
        out.push(rule);
    }
    out.extend(halves);
    out
}

/// A rule for [`WATCHED`] alone with the fields of `like` (includes, excludes),
/// for the calls whose `args[1] & NEW_LISTENER` is `flag`.
fn listener_rule(like: &Map<String, Value>, action: &str, flag: u64) -> Value {
    let mut rule = like.clone();
    rule.insert("names".into(), json!([WATCHED]));
    rule.insert("action".into(), json!(action));
    rule.insert(
        "args".into(),
        json!([{"index": 1, "value": NEW_LISTENER, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}]),
    );
    if action == "SCMP_ACT_NOTIFY" {
        rule.insert("comment".into(), json!(LISTENER_RULE_COMMENT));
    }
    Value::Object(rule)
}

/// Takes the names in `refused` out of the rule `fields`: a copy of the rule
/// with those names only, `None` when it names none of them.
fn take_names(fields: &mut Map<String, Value>, refused: &[String]) -> Option<Value> {
    let names = fields.get_mut("names").and_then(Value::as_array_mut)?;
    let is_refused = |n: &Value| n.as_str().is_some_and(|n| refused.iter().any(|r| r == n));
    let taken: Vec<Value> = names.iter().filter(|n| is_refused(n)).cloned().collect();
    if taken.is_empty() {
        return None;
    }
    names.retain(|n| !is_refused(n));
    let mut kept = fields.clone();
    kept.insert("names".into(), Value::Array(taken));
    Some(Value::Object(kept))
}

/// A NOTIFY rule for the names the runtime allows it for, a LOG rule for the
/// names in its `handoff`.
fn split_handoff(fields: &mut Map<String, Value>, handoff: &[&str]) -> Vec<Value> {
    let names: Vec<Value> = fields
        .get("names")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (write, others): (Vec<Value>, Vec<Value>) = names
        .into_iter()
        .partition(|n| n.as_str().is_some_and(|n| handoff.contains(&n)));
    let mut out = Vec::new();
    if !others.is_empty() {
        let mut notify = fields.clone();
        notify.insert("names".into(), Value::Array(others));
        notify.insert("action".into(), json!("SCMP_ACT_NOTIFY"));
        out.push(Value::Object(notify));
    }
    if !write.is_empty() {
        let mut log = fields.clone();
        log.insert("names".into(), Value::Array(write));
        log.insert("action".into(), json!("SCMP_ACT_LOG"));
        out.push(Value::Object(log));
    }
    out
}

/// The syscalls of the target's arches that no kept rule mentions: only the default
/// action decides them. Names of rules the runtime drops for equalling the default
/// are left out too (those rules became NOTIFY themselves; a name twice would be a
/// duplicate rule). The runtime's `handoff` is left to the default (LOG).
fn only_default_denies(profile: &Profile, target: &Target, handoff: &[&str]) -> Vec<String> {
    let resolved = resolve(profile, target);
    let mut decided: BTreeSet<&str> = resolved.rules.iter().map(|r| r.name.as_str()).collect();
    for skip in &resolved.skipped {
        if let Skip::EqualsDefault { rule } = skip {
            let rule = profile.rules.iter().find(|r| r.index == *rule);
            decided.extend(
                rule.into_iter()
                    .flat_map(|r| &r.names)
                    .map(|n| n.name.as_str()),
            );
        }
    }
    let mut names = BTreeSet::new();
    for arch in &resolved.arches {
        for &(name, _) in arch.syscalls() {
            if !handoff.contains(&name) && !decided.contains(name) {
                names.insert(name.to_string());
            }
        }
    }
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, Verdict, DEFAULT_PROFILE};

    fn target() -> Target {
        Target {
            arch: Arch::X86_64,
            caps: crate::caps::CapSet::docker_default(),
            kernel: None,
            runtime: None,
        }
    }

    /// Every syscall of every arch the filter covers, with the verdict a filter
    /// compiled from `text` gives it with all arguments zero and with all set.
    fn verdicts(text: &str) -> Vec<(Arch, u32, Verdict, Verdict)> {
        let profile = load_str("p.json", text.to_string()).expect("instrumented copy loads");
        let resolved = resolve(&profile, &target());
        let compiled = compile(&resolved, Mode::Enforce).expect("compiles");
        let mut out = Vec::new();
        for &arch in &resolved.arches {
            for &(_, nr) in arch.syscalls() {
                let low = compiled.evaluate(arch, nr, [0; 6]).verdict;
                let high = compiled.evaluate(arch, nr, [u64::MAX; 6]).verdict;
                out.push((arch, nr, low, high));
            }
        }
        out
    }

    /// A profile denying by default that allows read, exit_group and
    /// personality(8), then has the rules `denials` (JSON objects, comma separated).
    fn with_denials(denials: &str) -> String {
        format!(
            r#"{{
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [
                {{"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"}},
                {{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}}]}},
                {denials}
            ]
        }}"#
        )
    }

    /// The copy of the profile `text` instrumented for `runtime` to notify
    /// `/run/eperm.sock` (which it must name), as text and as JSON.
    fn notify_copy(text: &str, runtime: OciRuntime) -> (String, Value) {
        let original = load_str("p.json", text.to_string()).unwrap();
        let how = Instrument::Notify {
            listener: Some("/run/eperm.sock".into()),
            runtime,
            refused: Vec::new(),
        };
        let copy = instrument(&original, &target(), &how);
        let parsed: Value = serde_json::from_str(&copy).unwrap();
        assert_eq!(parsed["listenerPath"], "/run/eperm.sock");
        (copy, parsed)
    }

    /// Issue 33: a `seccomp` the original allows reaches eperm when it asks for a
    /// listener (eperm's own makes it fail), and only then, for either runtime
    /// and whether a rule or the default allows it; a logged one stays logged.
    #[test]
    fn notify_copy_sends_seccomp_asking_for_a_listener_to_eperm() {
        let allowing_default = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#;
        let logging = with_denials(r#"{"names": ["seccomp"], "action": "SCMP_ACT_LOG"}"#);
        for (text, want) in [
            (DEFAULT_PROFILE, Action::Notify),
            (allowing_default, Action::Notify),
            (logging.as_str(), Action::Log),
        ] {
            for runtime in [OciRuntime::Runc, OciRuntime::Crun] {
                let (copy, _) = notify_copy(text, runtime);
                // eperm's loader refuses crun's NOTIFY default; seccomp has rules.
                let loadable = copy.replace(
                    r#""defaultAction": "SCMP_ACT_NOTIFY""#,
                    r#""defaultAction": "SCMP_ACT_LOG""#,
                );
                let profile = load_str("p.json", loadable).unwrap();
                let compiled = compile(&resolve(&profile, &target()), Mode::Enforce).unwrap();
                let seccomp = Arch::X86_64.syscall_nr("seccomp").unwrap();
                let verdict = |op: u64, flags: u64| {
                    let args = [op, flags, 0, 0, 0, 0];
                    compiled
                        .evaluate(Arch::X86_64, seccomp, args)
                        .verdict
                        .action
                };
                assert_eq!(verdict(1, 8), want, "{runtime:?} {copy}");
                assert_eq!(verdict(1, 8 | 1), want);
                let plain = match want {
                    Action::Notify => Action::Allow,
                    other => other,
                };
                assert_eq!(verdict(1, 1), plain);
                assert_eq!(verdict(2, 0), plain);
            }
        }
    }

    #[test]
    fn log_copy_allows_what_the_original_allows_and_logs_the_rest() {
        let original = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
        let copy = instrument(&original, &target(), &Instrument::Log);
        let before = verdicts(DEFAULT_PROFILE);
        let after = verdicts(&copy);
        assert_eq!(before.len(), after.len());
        let mut logged = 0;
        for (b, a) in before.iter().zip(&after) {
            for (was, now) in [(b.2, a.2), (b.3, a.3)] {
                if denies(was.action) {
                    assert_eq!(now.action, Action::Log, "{:?} nr {}: {was:?}", b.0, b.1);
                    logged += 1;
                } else {
                    assert_eq!(now, was, "{:?} nr {}", b.0, b.1);
                }
            }
        }
        assert!(logged > 100, "the default profile denies many calls");
    }

    #[test]
    fn notify_copy_notifies_whole_denials_and_logs_write_and_partial_ones() {
        let text = with_denials(
            r#"{"names": ["clone3", "write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["mkdir", "futex"], "action": "SCMP_ACT_ERRNO"}"#,
        );
        let (copy, parsed) = notify_copy(&text, OciRuntime::Runc);
        assert_eq!(parsed["defaultAction"], "SCMP_ACT_LOG");
        let profile = load_str("copy.json", copy).unwrap();
        let compiled = compile(&resolve(&profile, &target()), Mode::Enforce).unwrap();
        let x86_64 = |name: &str, arg0: u64| {
            let nr = Arch::X86_64.syscall_nr(name).unwrap();
            let args = [arg0, 0, 0, 0, 0, 0];
            compiled.evaluate(Arch::X86_64, nr, args).verdict.action
        };
        assert_eq!(x86_64("read", 0), Action::Allow);
        assert_eq!(x86_64("clone3", 0), Action::Notify);
        assert_eq!(x86_64("mkdir", 0), Action::Notify);
        assert_eq!(
            x86_64("mount", 0),
            Action::Notify,
            "denied by the default only"
        );
        assert_eq!(
            x86_64("write", 0),
            Action::Log,
            "runc refuses NOTIFY for write"
        );
        assert_eq!(
            x86_64("futex", 0),
            Action::Log,
            "runc's init needs it unanswered"
        );
        assert_eq!(
            x86_64("execve", 0),
            Action::Log,
            "runc's init needs it unanswered"
        );
        assert_eq!(x86_64("personality", 8), Action::Allow);
        assert_eq!(
            x86_64("personality", 9),
            Action::Log,
            "the default decides it"
        );
        // runc would reject a copy that notifies on write, and hang on the handoff set.
        for rule in parsed["syscalls"].as_array().unwrap() {
            if rule["action"] == "SCMP_ACT_NOTIFY" {
                let names = rule["names"].as_array().unwrap();
                let handoff = OciRuntime::Runc.handoff();
                assert!(!names.iter().any(|n| handoff.contains(&n.as_str().unwrap())));
            }
        }
    }

    /// `--enforce`: runc's start-up calls the original refuses stay refused as
    /// it refuses them (a NOTIFY would hang runc, a LOG would let it start).
    #[test]
    fn enforcing_copy_keeps_refused_start_up_calls_refused_as_written() {
        let text = with_denials(
            r#"{"names": ["fstatfs", "mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}"#,
        )
        .replace(
            r#""SCMP_ACT_ERRNO","#,
            r#""SCMP_ACT_ERRNO", "defaultErrnoRet": 13,"#,
        );
        let original = load_str("p.json", text.clone()).unwrap();
        let how = Instrument::Notify {
            listener: Some("/run/eperm.sock".into()),
            runtime: OciRuntime::Runc,
            refused: vec!["fstatfs".into(), "capset".into()],
        };
        let copy = instrument(&original, &target(), &how);
        let profile = load_str("copy.json", copy.clone()).unwrap();
        let compiled = compile(&resolve(&profile, &target()), Mode::Enforce).unwrap();
        let x86_64 = |name: &str| {
            let nr = Arch::X86_64.syscall_nr(name).unwrap();
            compiled.evaluate(Arch::X86_64, nr, [0; 6]).verdict
        };
        assert_eq!(
            x86_64("fstatfs"),
            Verdict::of(Action::Errno, Some(1)),
            "{copy}"
        );
        assert_eq!(
            x86_64("capset"),
            Verdict::of(Action::Errno, Some(13)),
            "{copy}"
        );
        assert_eq!(x86_64("mkdir").action, Action::Notify);
        assert_eq!(
            x86_64("execve").action,
            Action::Log,
            "the rest of the handoff"
        );
        assert_eq!(x86_64("mount").action, Action::Notify);
    }

    #[test]
    fn notify_copy_for_crun_notifies_every_denial_write_and_the_default_included() {
        let text = with_denials(
            r#"{"names": ["mkdir", "write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#,
        );
        let (copy, parsed) = notify_copy(&text, OciRuntime::Crun);
        assert_eq!(parsed["defaultAction"], "SCMP_ACT_NOTIFY");
        // eperm's loader (rightly, for runc) refuses a NOTIFY default, so the
        // copy is read as JSON: the rules keep their order and conditions.
        let rules = parsed["syscalls"].as_array().unwrap();
        let shape: Vec<(String, &str)> = rules
            .iter()
            .map(|r| (r["names"].to_string(), r["action"].as_str().unwrap()))
            .collect();
        assert_eq!(
            shape,
            [
                (r#"["read","exit_group"]"#.to_string(), "SCMP_ACT_ALLOW"),
                (r#"["personality"]"#.to_string(), "SCMP_ACT_ALLOW"),
                (r#"["mkdir","write"]"#.to_string(), "SCMP_ACT_NOTIFY"),
            ],
            "no extra rule, write not split off: {copy}"
        );
        assert_eq!(rules[1]["args"][0]["value"], 8);
        assert!(rules[2].get("errnoRet").is_none());
    }

    #[test]
    fn oci_config_keeps_everything_but_the_seccomp_object() {
        let text = r#"{"ociVersion": "1.0.2", "process": {"args": ["sh"]},
            "linux": {"namespaces": [{"type": "pid"}], "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}"#;
        let original = load_str("config.json", text.to_string()).unwrap();
        let copy = instrument(&original, &target(), &Instrument::Log);
        let parsed: Value = serde_json::from_str(&copy).unwrap();
        assert_eq!(parsed["process"]["args"][0], "sh");
        assert_eq!(parsed["linux"]["namespaces"][0]["type"], "pid");
        assert_eq!(parsed["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_LOG");
        assert_eq!(
            parsed["linux"]["seccomp"]["syscalls"][0]["action"],
            "SCMP_ACT_ALLOW"
        );
    }

    /// The recording copy allows every call of the original's arches and no
    /// other: its verdicts are ALLOW wherever the original's filter covers, and
    /// the arches (archMap included) are the original's.
    #[test]
    fn the_permissive_copy_allows_every_call_of_the_original_s_arches() {
        let original = load_str("p.json", DEFAULT_PROFILE.to_string()).unwrap();
        let copy = permissive(&original);
        let parsed: Value = serde_json::from_str(&copy).unwrap();
        assert_eq!(parsed["syscalls"], json!([]));
        assert!(parsed.get("defaultErrnoRet").is_none());
        assert_eq!(parsed["archMap"], original.root.to_serde()["archMap"]);
        let verdicts = verdicts(&copy);
        let arches: BTreeSet<Arch> = verdicts.iter().map(|v| v.0).collect();
        let theirs: BTreeSet<Arch> = resolve(&original, &target()).arches.into_iter().collect();
        assert_eq!(arches, theirs);
        assert!(verdicts
            .iter()
            .all(|(_, _, low, high)| low.action == Action::Allow && high.action == Action::Allow));
    }
}
