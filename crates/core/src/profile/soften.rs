//! `export --soften`: a profile whose refusals are logged (or sent to a
//! listener) instead of enforced, for a pod to run under while it is triaged.
//!
//! Every refusing action (ERRNO, KILL, KILL_PROCESS, TRAP, TRACE), the default
//! included, becomes SCMP_ACT_LOG (or SCMP_ACT_NOTIFY, but a default becomes
//! LOG: runc refuses NOTIFY there), and what it was is kept
//! where the form lets it survive a trip through a runtime or a cluster:
//!
//! - a rule of Docker JSON or OCI: a line of its `comment`,
//!   `eperm-softened: was SCMP_ACT_ERRNO errnoRet 38` (runc and Docker ignore
//!   the field in OCI, as they do any unknown one);
//! - the default action of Docker JSON or OCI: the seccomp object's
//!   `epermSoftened` member, `{"defaultAction": "SCMP_ACT_ERRNO"}`;
//! - a SeccompProfile: the annotation `eperm.dev/softened`, a JSON object from
//!   each softened rule's path (`syscalls[3]`, `defaultAction`) to what it was,
//!   since the CRD has no comment field and YAML comments do not survive
//!   `kubectl apply` (they are written too, for the reader of the file).
//!
//! [`originals`] reads these back: `watch -p` shows what the profile would
//! have done with a call it only logged.

use super::export::Plain;
use super::model::{Action, Form, Profile};
use super::resolve::Verdict;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The start of the comment line that keeps a softened rule's action.
pub const MARK: &str = "eperm-softened: was ";
/// The seccomp object's member that keeps a softened default action.
pub const KEY: &str = "epermSoftened";
/// The SeccompProfile annotation that keeps what every softened action was.
pub const ANNOTATION: &str = "eperm.dev/softened";

/// An action a softened profile no longer takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Original {
    pub action: Action,
    pub errno_ret: Option<u32>,
}

impl Original {
    /// `SCMP_ACT_ERRNO errnoRet 38`, or the action alone.
    pub fn text(self) -> String {
        match self.errno_ret {
            Some(e) => format!("{} errnoRet {e}", self.action.name()),
            None => self.action.name().to_string(),
        }
    }

    /// Reads [`Original::text`] back.
    pub fn parse(s: &str) -> Option<Original> {
        let mut words = s.split_whitespace();
        let action = Action::parse(words.next()?)?;
        let errno_ret = match (words.next(), words.next(), words.next()) {
            (None, _, _) => None,
            (Some("errnoRet"), Some(n), None) => Some(n.parse().ok()?),
            _ => return None,
        };
        Some(Original { action, errno_ret })
    }

    /// What the kernel would have done.
    pub fn verdict(self) -> Verdict {
        Verdict::of(self.action, self.errno_ret)
    }
}

/// Does `action` refuse the call (the ones `--soften` turns into `to`)?
pub fn refuses(action: Action) -> bool {
    matches!(
        action,
        Action::Errno | Action::KillThread | Action::KillProcess | Action::Trap | Action::Trace
    )
}

/// The comment of a softened rule: its own, then the mark on a line of its own.
fn marked(comment: Option<&str>, was: Original) -> String {
    match comment {
        Some(c) if !c.is_empty() => format!("{c}\n{MARK}{}", was.text()),
        _ => format!("{MARK}{}", was.text()),
    }
}

/// The action a rule's comment says it had before it was softened.
pub fn mark_in(comment: &str) -> Option<Original> {
    comment
        .lines()
        .find_map(|l| l.trim().strip_prefix(MARK))
        .and_then(Original::parse)
}

/// What a refusing default becomes: runc refuses NOTIFY as the default
/// action, so `--soften notify` logs the calls no rule names.
fn default_to(to: Action) -> Action {
    if to == Action::Notify {
        Action::Log
    } else {
        to
    }
}

/// Softens a Docker or OCI seccomp object in place, to `to`; how many actions
/// it changed (the default counts as one).
pub fn soften_object(object: &mut Value, to: Action) -> usize {
    let Some(o) = object.as_object_mut() else {
        return 0;
    };
    let mut changed = 0;
    let default = o
        .get("defaultAction")
        .and_then(Value::as_str)
        .and_then(Action::parse);
    if let Some(action) = default.filter(|a| refuses(*a)) {
        let errno_ret = o
            .get("defaultErrnoRet")
            .and_then(Value::as_u64)
            .map(|n| n as u32);
        let was = Original { action, errno_ret };
        o.insert(KEY.into(), json!({"defaultAction": was.text()}));
        o.insert("defaultAction".into(), json!(default_to(to).name()));
        o.shift_remove("defaultErrnoRet");
        changed += 1;
    }
    let rules = o.get_mut("syscalls").and_then(Value::as_array_mut);
    for rule in rules.into_iter().flatten() {
        let Some(r) = rule.as_object_mut() else {
            continue;
        };
        let Some(action) = r
            .get("action")
            .and_then(Value::as_str)
            .and_then(Action::parse)
            .filter(|a| refuses(*a))
        else {
            continue;
        };
        let errno_ret = r.get("errnoRet").and_then(Value::as_u64).map(|n| n as u32);
        let was = Original { action, errno_ret };
        let comment = marked(r.get("comment").and_then(Value::as_str), was);
        r.insert("action".into(), json!(to.name()));
        r.shift_remove("errnoRet");
        r.insert("comment".into(), json!(comment));
        changed += 1;
    }
    changed
}

/// Softens the rules of a profile bound for a SeccompProfile to `to`, and
/// returns the annotation's value (see the module's comment).
pub fn soften_plain(plain: &mut Plain, to: Action) -> String {
    let mut was = BTreeMap::new();
    if refuses(plain.default_action) {
        let original = Original {
            action: plain.default_action,
            errno_ret: plain.default_errno,
        };
        was.insert("defaultAction".to_string(), original.text());
        plain.default_action = default_to(to);
        plain.default_errno = None;
    }
    for (i, r) in plain.rules.iter_mut().enumerate() {
        if !refuses(r.action) {
            continue;
        }
        let original = Original {
            action: r.action,
            errno_ret: r.errno_ret,
        };
        was.insert(format!("syscalls[{i}]"), original.text());
        r.comment = Some(marked(r.comment.as_deref(), original));
        r.action = to;
        r.errno_ret = None;
    }
    serde_json::to_string(&was).expect("strings serialize")
}

/// What a softened profile's actions were: its default's, and each rule's by
/// its index in `syscalls[]`. Empty for a profile that was never softened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Softened {
    pub default: Option<Original>,
    pub rules: BTreeMap<usize, Original>,
}

impl Softened {
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.rules.is_empty()
    }
}

/// Reads back what [`soften_object`] or [`soften_plain`] kept in `profile`.
pub fn originals(profile: &Profile) -> Softened {
    let mut found = Softened::default();
    for r in &profile.rules {
        if let Some(was) = r.comment.as_deref().and_then(mark_in) {
            found.rules.insert(r.index, was);
        }
    }
    let kept = profile.seccomp_node().get(KEY);
    found.default = kept
        .and_then(|k| k.get("defaultAction"))
        .and_then(|n| n.as_str())
        .and_then(Original::parse);
    if profile.form == Form::Spo {
        let annotation = profile
            .root
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(ANNOTATION))
            .and_then(|n| n.as_str())
            .and_then(|s| serde_json::from_str::<BTreeMap<String, String>>(s).ok());
        for (path, text) in annotation.into_iter().flatten() {
            let Some(was) = Original::parse(&text) else {
                continue;
            };
            if path == "defaultAction" {
                found.default = Some(was);
            } else if let Some(i) = path
                .strip_prefix("syscalls[")
                .and_then(|p| p.strip_suffix(']'))
                .and_then(|i| i.parse().ok())
            {
                found.rules.entry(i).or_insert(was);
            }
        }
    }
    found
}

/// The comment without the mark; `None` when nothing else was in it.
fn unmarked(comment: &str) -> Option<String> {
    let kept: Vec<&str> = comment
        .lines()
        .filter(|l| !l.trim().starts_with(MARK))
        .collect();
    (!kept.is_empty()).then(|| kept.join("\n"))
}

/// `profile`'s seccomp object as it was before it was softened: the actions
/// `was` keeps (from [`originals`]) put back, the marks taken out. A
/// SeccompProfile comes back as the Docker object of its spec (the same
/// `syscalls[]` indexes).
pub fn restored(profile: &Profile, was: &Softened) -> Value {
    let mut object = match profile.form {
        Form::Spo => super::export::docker_object(profile),
        _ => profile.seccomp_node().to_serde(),
    };
    let Some(o) = object.as_object_mut() else {
        return object;
    };
    o.shift_remove(KEY);
    if let Some(d) = was.default {
        o.insert("defaultAction".into(), json!(d.action.name()));
        if let Some(e) = d.errno_ret {
            o.insert("defaultErrnoRet".into(), json!(e));
        }
    }
    // A rule's comment as the profile read it: its `comment`, or in YAML the
    // comment lines above it.
    let comments: BTreeMap<usize, &str> = profile
        .rules
        .iter()
        .filter_map(|r| Some((r.index, r.comment.as_deref()?)))
        .collect();
    let rules = o.get_mut("syscalls").and_then(Value::as_array_mut);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let (Some(r), Some(w)) = (rule.as_object_mut(), was.rules.get(&i)) else {
            continue;
        };
        r.insert("action".into(), json!(w.action.name()));
        if let Some(e) = w.errno_ret {
            r.insert("errnoRet".into(), json!(e));
        }
        match comments.get(&i).and_then(|c| unmarked(c)) {
            Some(c) => r.insert("comment".into(), json!(c)),
            None => r.shift_remove("comment"),
        };
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn originals_read_back_as_written() {
        for was in [
            Original {
                action: Action::Errno,
                errno_ret: Some(38),
            },
            Original {
                action: Action::KillProcess,
                errno_ret: None,
            },
        ] {
            assert_eq!(Original::parse(&was.text()), Some(was));
            assert_eq!(mark_in(&marked(Some("why"), was)), Some(was));
        }
        assert_eq!(Original::parse("SCMP_ACT_ERRNO errnoRet"), None);
        assert_eq!(Original::parse("SCMP_ACT_NOPE"), None);
        assert_eq!(mark_in("a comment with no mark"), None);
    }

    #[test]
    fn only_refusals_are_softened_and_their_data_goes() {
        let mut v: Value = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
                {"names":["read"],"action":"SCMP_ACT_ALLOW"},
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"comment":"no dirs"},
                {"names":["ptrace"],"action":"SCMP_ACT_KILL_PROCESS"},
                {"names":["uselib"],"action":"SCMP_ACT_LOG"}]}"#,
        )
        .unwrap();
        assert_eq!(soften_object(&mut v, Action::Log), 3);
        assert_eq!(v["defaultAction"], "SCMP_ACT_LOG");
        assert!(v.get("defaultErrnoRet").is_none());
        assert_eq!(v[KEY]["defaultAction"], "SCMP_ACT_ERRNO errnoRet 38");
        assert_eq!(v["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
        assert!(v["syscalls"][0].get("comment").is_none());
        assert_eq!(v["syscalls"][1]["action"], "SCMP_ACT_LOG");
        assert!(v["syscalls"][1].get("errnoRet").is_none());
        assert_eq!(
            v["syscalls"][1]["comment"],
            "no dirs\neperm-softened: was SCMP_ACT_ERRNO errnoRet 13"
        );
        assert_eq!(
            v["syscalls"][2]["comment"],
            "eperm-softened: was SCMP_ACT_KILL_PROCESS"
        );
        assert!(v["syscalls"][3].get("comment").is_none());
        // Softening again changes nothing: nothing refuses any more.
        let softened = v.clone();
        assert_eq!(soften_object(&mut v, Action::Log), 0);
        assert_eq!(v, softened);
    }

    #[test]
    fn a_softened_profile_restores_to_the_original() {
        let original = r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","syscalls":[
            {"names":["read"],"action":"SCMP_ACT_ALLOW","comment":"io"},
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"comment":"no dirs"},
            {"names":["ptrace"],"action":"SCMP_ACT_TRACE","errnoRet":7}]}"#;
        let mut v: Value = serde_json::from_str(original).unwrap();
        soften_object(&mut v, Action::Notify);
        assert_eq!(v["defaultAction"], "SCMP_ACT_LOG");
        assert_eq!(v["syscalls"][1]["action"], "SCMP_ACT_NOTIFY");
        let text = serde_json::to_string(&v).unwrap();
        let p = crate::profile::load_str("soft.json", text).unwrap();
        let was = originals(&p);
        assert_eq!(was.rules.len(), 2);
        assert_eq!(
            was.default,
            Some(Original {
                action: Action::KillProcess,
                errno_ret: None
            })
        );
        let back = restored(&p, &was);
        assert_eq!(back, serde_json::from_str::<Value>(original).unwrap());
    }
}
