//! From any profile eperm reads to the three forms runtimes take: Docker JSON,
//! the OCI `linux.seccomp` object, and a Kubernetes `SeccompProfile` of the
//! Security Profiles Operator (SPO).
//!
//! Docker-only features (`includes`, `excludes`, `archMap`) mean something only
//! for a target, so the OCI and SPO forms are written for one, as Docker does
//! when it writes a config.json: rules the target drops are left out, and the
//! arches are listed. What a form cannot say is refused with the rule's path,
//! never approximated: SPO's CRD holds `value`/`valueTwo` as int64 with
//! minimum 0 and at most six `args`, and has no `defaultErrnoRet`.

use super::load::{SPO_GROUP, SPO_VALUE_MAX};
use super::model::{Action, ArgCond, Form, Profile, EPERM};
use super::resolve::{arches, filtered_out, Target};
use crate::json;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// The output forms of `eperm export` (and `--format` of the commands that write profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
    Spo,
}

/// The served versions of SeccompProfile eperm writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpoApi {
    V1,
    V1beta1,
}

impl SpoApi {
    pub fn version(self) -> &'static str {
        match self {
            SpoApi::V1 => "v1",
            SpoApi::V1beta1 => "v1beta1",
        }
    }
}

/// `metadata` of the SeccompProfile written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoMeta {
    pub name: String,
    pub namespace: Option<String>,
    pub api: SpoApi,
}

/// The SPO CRD's `args` limit.
pub const SPO_MAX_ARGS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {value} cannot be written in a SeccompProfile: its {field} is an int64 with minimum 0 (SPO's CRD), so the largest is {SPO_VALUE_MAX}\n  hint: keep this rule in a Docker or OCI JSON profile, or narrow it to values below 2^63 (a mask without the top bit)")]
    ValueTooLarge {
        path: String,
        field: &'static str,
        value: u64,
    },
    #[error("{path}: {count} argument conditions, and a SeccompProfile rule holds at most {SPO_MAX_ARGS}\n  hint: split the rule in two, each with its own conditions")]
    TooManyArgs { path: String, count: usize },
    #[error("defaultErrnoRet {errno} cannot be written in a SeccompProfile: it has no such field, and its default errno is EPERM\n  hint: name the syscalls that need this errno in a rule with errnoRet: {errno}")]
    DefaultErrno { errno: u32 },
    #[error("listenerPath {} is refused by SPO's CRD: it must be a socket in /var/run/security-profiles-operator/\n  hint: drop listenerPath, or move the agent's socket there", json::quote(path))]
    ListenerPath { path: String },
    #[error("name {} is not a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253\n  hint: --name {}", json::quote(name), json::quote(suggestion))]
    BadName { name: String, suggestion: String },
}

/// One rule, Docker-only features resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct PlainRule {
    pub names: Vec<String>,
    pub action: Action,
    pub errno_ret: Option<u32>,
    pub args: Vec<ArgCond>,
    pub comment: Option<String>,
    /// Where the rule stands in the source, for messages.
    pub path: String,
}

/// A profile in the terms every form shares.
#[derive(Clone, Debug, PartialEq)]
pub struct Plain {
    pub default_action: Action,
    pub default_errno: Option<u32>,
    pub architectures: Vec<String>,
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    pub base_profile: Option<String>,
    pub rules: Vec<PlainRule>,
}

impl Plain {
    /// `profile` as `target` would get it from Docker: filtered rules out,
    /// `archMap` expanded.
    pub fn for_target(profile: &Profile, target: &Target) -> Plain {
        let architectures = if profile.arch_map.is_empty() {
            profile
                .architectures
                .iter()
                .map(|a| a.scmp_name().to_string())
                .collect()
        } else {
            arches(profile, target.arch)
                .iter()
                .map(|a| a.scmp_name().to_string())
                .collect()
        };
        let seccomp = profile.seccomp_node();
        let text = |key: &str| {
            seccomp
                .get(key)
                .and_then(json::Node::as_str)
                .map(str::to_string)
        };
        let rules = profile
            .rules
            .iter()
            .filter(|r| filtered_out(r, target).is_none() && !r.names.is_empty())
            .map(|r| PlainRule {
                names: r.names.iter().map(|n| n.name.clone()).collect(),
                action: r.action,
                errno_ret: r.errno_ret,
                args: r.args.clone(),
                comment: r.comment.clone(),
                path: profile.path(&format!("syscalls[{}]", r.index)),
            })
            .collect();
        Plain {
            default_action: profile.default_action,
            default_errno: profile.default_errno,
            architectures,
            flags: profile.flags.clone(),
            listener_path: profile.listener_path.clone(),
            listener_metadata: text("listenerMetadata"),
            base_profile: (profile.form == Form::Spo)
                .then(|| text("baseProfileName"))
                .flatten(),
            rules,
        }
    }

    /// The seccomp object as Docker and runc read it; comments only for Docker
    /// (the runtime spec has no such field).
    pub fn to_json(&self, comments: bool) -> Value {
        let mut o = Map::new();
        o.insert("defaultAction".into(), json!(self.default_action.name()));
        if let Some(e) = self.default_errno {
            o.insert("defaultErrnoRet".into(), json!(e));
        }
        if !self.architectures.is_empty() {
            o.insert("architectures".into(), json!(self.architectures));
        }
        if !self.flags.is_empty() {
            o.insert("flags".into(), json!(self.flags));
        }
        if let Some(p) = &self.listener_path {
            o.insert("listenerPath".into(), json!(p));
        }
        if let Some(m) = &self.listener_metadata {
            o.insert("listenerMetadata".into(), json!(m));
        }
        let rules: Vec<Value> = self
            .rules
            .iter()
            .map(|r| {
                let mut rule = Map::new();
                rule.insert("names".into(), json!(r.names));
                rule.insert("action".into(), json!(r.action.name()));
                if let Some(e) = r.errno_ret {
                    rule.insert("errnoRet".into(), json!(e));
                }
                if !r.args.is_empty() {
                    let args: Vec<Value> = r
                        .args
                        .iter()
                        .map(|a| {
                            json!({"index": a.index, "value": a.value, "valueTwo": a.value_two, "op": a.op.name()})
                        })
                        .collect();
                    rule.insert("args".into(), Value::Array(args));
                }
                if let (true, Some(c)) = (comments, &r.comment) {
                    rule.insert("comment".into(), json!(c));
                }
                Value::Object(rule)
            })
            .collect();
        o.insert("syscalls".into(), Value::Array(rules));
        Value::Object(o)
    }

    /// A SeccompProfile that `kubectl apply` accepts, with each rule's comment
    /// as a YAML comment above it.
    pub fn to_spo(&self, meta: &SpoMeta, header: &str) -> Result<String, ExportError> {
        self.to_spo_annotated(meta, header, &[])
    }

    /// What the SeccompProfile CRD refuses, said before anything is written.
    fn check_spo(&self, meta: &SpoMeta) -> Result<(), ExportError> {
        check_name(&meta.name)?;
        if let Some(ns) = &meta.namespace {
            check_name(ns)?;
        }
        match self.default_errno {
            Some(e) if e != EPERM && self.default_action.takes_data() => {
                return Err(ExportError::DefaultErrno { errno: e })
            }
            _ => {}
        }
        if let Some(p) = &self.listener_path {
            let ok = p
                .strip_prefix("/var/run/security-profiles-operator/")
                .is_some_and(|f| {
                    !f.is_empty()
                        && f.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
                });
            if !ok {
                return Err(ExportError::ListenerPath { path: p.clone() });
            }
        }
        for r in &self.rules {
            if r.args.len() > SPO_MAX_ARGS {
                return Err(ExportError::TooManyArgs {
                    path: r.path.clone(),
                    count: r.args.len(),
                });
            }
            for (i, a) in r.args.iter().enumerate() {
                for (field, value) in [("value", a.value), ("valueTwo", a.value_two)] {
                    if value > SPO_VALUE_MAX {
                        return Err(ExportError::ValueTooLarge {
                            path: format!("{}.args[{i}].{field}", r.path),
                            field,
                            value,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// [`Plain::to_spo`] with `metadata.annotations` (key, value).
    pub fn to_spo_annotated(
        &self,
        meta: &SpoMeta,
        header: &str,
        annotations: &[(&str, &str)],
    ) -> Result<String, ExportError> {
        self.check_spo(meta)?;
        let mut y = String::new();
        for line in header.lines() {
            let _ = writeln!(y, "# {line}");
        }
        let _ = writeln!(y, "apiVersion: {SPO_GROUP}/{}", meta.api.version());
        y.push_str("kind: SeccompProfile\nmetadata:\n");
        let _ = writeln!(y, "  name: {}", scalar(&meta.name));
        if let Some(ns) = &meta.namespace {
            let _ = writeln!(y, "  namespace: {}", scalar(ns));
        }
        if !annotations.is_empty() {
            y.push_str("  annotations:\n");
            for (k, v) in annotations {
                let _ = writeln!(y, "    {}: {}", scalar(k), scalar(v));
            }
        }
        y.push_str("spec:\n");
        if let Some(base) = &self.base_profile {
            let _ = writeln!(y, "  baseProfileName: {}", scalar(base));
        }
        let _ = writeln!(y, "  defaultAction: {}", self.default_action.name());
        list(&mut y, "  ", "architectures", &self.architectures);
        list(&mut y, "  ", "flags", &self.flags);
        if let Some(p) = &self.listener_path {
            let _ = writeln!(y, "  listenerPath: {}", scalar(p));
        }
        if let Some(m) = &self.listener_metadata {
            let _ = writeln!(y, "  listenerMetadata: {}", scalar(m));
        }
        if self.rules.is_empty() {
            y.push_str("  syscalls: []\n");
            return Ok(y);
        }
        y.push_str("  syscalls:\n");
        for r in &self.rules {
            if let Some(c) = &r.comment {
                for line in c.lines() {
                    let _ = writeln!(y, "  # {line}");
                }
            }
            y.push_str("  - names:\n");
            for n in &r.names {
                let _ = writeln!(y, "    - {}", scalar(n));
            }
            let _ = writeln!(y, "    action: {}", r.action.name());
            if let Some(e) = r.errno_ret {
                let _ = writeln!(y, "    errnoRet: {e}");
            }
            if !r.args.is_empty() {
                y.push_str("    args:\n");
                for a in &r.args {
                    let _ = writeln!(y, "    - index: {}", a.index);
                    let _ = writeln!(y, "      value: {}", a.value);
                    let _ = writeln!(y, "      valueTwo: {}", a.value_two);
                    let _ = writeln!(y, "      op: {}", a.op.name());
                }
            }
        }
        Ok(y)
    }
}

fn list(y: &mut String, indent: &str, key: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(y, "{indent}{key}:");
    for item in items {
        let _ = writeln!(y, "{indent}- {}", scalar(item));
    }
}

/// A string as a YAML scalar: plain when YAML reads it back as that same string,
/// else double-quoted (JSON's quoting is valid YAML).
pub fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
        && super::yaml::parse(&format!("k: {s}\n"))
            .ok()
            .and_then(|n| n.get("k").and_then(|v| v.as_str().map(|v| v == s)))
            .unwrap_or(false);
    if plain {
        s.to_string()
    } else {
        json::quote(s)
    }
}

/// A DNS-1123 subdomain, which Kubernetes requires of names and namespaces.
fn check_name(name: &str) -> Result<(), ExportError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ExportError::BadName {
            name: name.to_string(),
            suggestion: object_name(name),
        })
    }
}

/// The nearest valid object name to `s` (a file stem, say): `My_Profile.json` → `my-profile`.
pub fn object_name(s: &str) -> String {
    let stem = s.rsplit('/').next().unwrap_or(s);
    let stem = [".json", ".yaml", ".yml"]
        .iter()
        .find_map(|ext| stem.strip_suffix(ext))
        .unwrap_or(stem);
    let mapped: String = stem
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '.') => c,
            _ => '-',
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut out: String = trimmed.chars().take(253).collect();
    while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        out.pop();
    }
    if out.is_empty() {
        "profile".to_string()
    } else {
        out
    }
}

/// A SeccompProfile's spec as a Docker profile: the object runtimes load
/// (SPO's own fields, `baseProfileName` and `state`, go).
pub fn docker_object(profile: &Profile) -> Value {
    let mut spec = profile.seccomp_node().to_serde();
    if let (Form::Spo, Some(o)) = (profile.form, spec.as_object_mut()) {
        for key in ["baseProfileName", "state", "disabled"] {
            o.shift_remove(key);
        }
    }
    spec
}

/// `profile` in `format`, for `target` where the form needs one.
pub fn export(
    profile: &Profile,
    target: &Target,
    format: Format,
    meta: &SpoMeta,
) -> Result<String, ExportError> {
    let pretty = |v: &Value| {
        let mut s = serde_json::to_string_pretty(v).expect("JSON values serialize");
        s.push('\n');
        s
    };
    match format {
        // Docker reads its own features: a Docker profile goes out as written.
        Format::Docker if profile.form != Form::Spo => {
            Ok(pretty(&profile.seccomp_node().to_serde()))
        }
        Format::Docker => Ok(pretty(&docker_object(profile))),
        Format::Oci => Ok(pretty(&Plain::for_target(profile, target).to_json(false))),
        Format::Spo => {
            let plain = Plain::for_target(profile, target);
            let header = format!(
                "Exported by eperm from {} for {}",
                profile.file,
                target.arch.name()
            );
            plain.to_spo(meta, &header)
        }
    }
}

/// `profile` in `format` with every refusing action turned into `to`
/// (SCMP_ACT_LOG or SCMP_ACT_NOTIFY), what each was kept (see
/// [`super::soften`]); and how many actions changed.
pub fn export_softened(
    profile: &Profile,
    target: &Target,
    format: Format,
    meta: &SpoMeta,
    to: Action,
) -> Result<(String, usize), ExportError> {
    let pretty = |v: &Value| {
        let mut s = serde_json::to_string_pretty(v).expect("JSON values serialize");
        s.push('\n');
        s
    };
    let mut object = match format {
        Format::Docker if profile.form != Form::Spo => profile.seccomp_node().to_serde(),
        Format::Docker => docker_object(profile),
        // The marks go in comments, which runc ignores: the rules' own go too,
        // so that the profile restores whole.
        Format::Oci => Plain::for_target(profile, target).to_json(true),
        Format::Spo => {
            let mut plain = Plain::for_target(profile, target);
            let was = super::soften::soften_plain(&mut plain, to);
            let changed = serde_json::from_str::<Map<String, Value>>(&was).map_or(0, |m| m.len());
            let header = format!(
                "Exported by eperm from {} for {}, softened: refusals are {}",
                profile.file,
                target.arch.name(),
                to.name()
            );
            let text =
                plain.to_spo_annotated(meta, &header, &[(super::soften::ANNOTATION, &was)])?;
            return Ok((text, changed));
        }
    };
    let changed = super::soften::soften_object(&mut object, to);
    Ok((pretty(&object), changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load_str;

    fn meta() -> SpoMeta {
        SpoMeta {
            name: "demo".into(),
            namespace: Some("team-a".into()),
            api: SpoApi::V1,
        }
    }

    #[test]
    fn values_past_int64_are_refused_with_the_rule_path() {
        let p = load_str(
            "t.json",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["read"],"action":"SCMP_ACT_ALLOW"},
                {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":18446744073709551615,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#
                .into(),
        )
        .unwrap();
        let e = export(&p, &Target::docker_on_host(), Format::Spo, &meta()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("syscalls[1].args[0].value: 18446744073709551615 cannot"),
            "{msg}"
        );
        assert!(msg.contains("hint:"), "{msg}");
    }

    #[test]
    fn seven_conditions_are_refused() {
        let cond = r#"{"index":0,"value":1,"op":"SCMP_CMP_NE"}"#;
        let args = [cond; 7].join(",");
        let text = format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{args}]}}]}}"#
        );
        let p = load_str("t.json", text).unwrap();
        let e = export(&p, &Target::docker_on_host(), Format::Spo, &meta()).unwrap_err();
        assert!(
            matches!(e, ExportError::TooManyArgs { count: 7, .. }),
            "{e}"
        );
    }

    #[test]
    fn names_are_checked_and_a_fix_offered() {
        assert_eq!(object_name("/x/My_Profile.json"), "my-profile");
        assert_eq!(object_name("__"), "profile");
        let p = load_str("t.json", r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#.into()).unwrap();
        let bad = SpoMeta {
            name: "Bad_Name".into(),
            ..meta()
        };
        let e = export(&p, &Target::docker_on_host(), Format::Spo, &bad).unwrap_err();
        assert!(e.to_string().contains("--name \"bad-name\""), "{e}");
    }

    #[test]
    fn yaml_scalars_that_would_change_type_are_quoted() {
        assert_eq!(scalar("read"), "read");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(scalar("a b"), "\"a b\"");
        assert_eq!(scalar("/var/run/x"), "/var/run/x");
    }

    #[test]
    fn a_spo_export_reads_back_with_its_comments_as_yaml_comments() {
        let p = load_str(
            "t.json",
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW","comment":"io"}]}"#.into(),
        )
        .unwrap();
        let y = export(&p, &Target::docker_on_host(), Format::Spo, &meta()).unwrap();
        assert!(y.contains("  # io\n  - names:\n    - read\n"), "{y}");
        assert!(y.contains("  namespace: team-a\n"), "{y}");
        let back = load_str("t.yaml", y.clone()).unwrap();
        assert_eq!(back.form, Form::Spo);
        assert_eq!(back.rules[0].names.len(), 2);
    }
}
