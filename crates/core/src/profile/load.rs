//! From text to [`Profile`], with an exact, helpful message for everything wrong.
//!
//! The reader does not stop at the first problem: it reports every one it can
//! find in a single pass, each with the line:column and JSON path of the bad value.
//!
//! Where Docker (moby) and runc read a profile in a way that is easy to miss,
//! the loader either reads it the same way or refuses it with a reason; it
//! never quietly reads a different profile than the runtime would:
//!
//! - Duplicate keys: the last one counts, as in Go's encoding/json.
//! - `null` for an optional field means absent, as in Go.
//! - `"name": ""` means no name; `name` and `names` conflict only when both
//!   are non-empty (moby's check).
//! - Keys differing from a known key only by case are refused (see
//!   [`Reader::check_keys`] for why).
//! - `minKernel` is read as moby reads it: exactly `MAJOR.MINOR`.
//! - In a whole OCI `config.json`, the Docker-only fields runc ignores
//!   (`name`, `includes`, `excludes`, `archMap`) are refused.
//! - A Kubernetes `SeccompProfile` (YAML or JSON) is read as its CRD defines
//!   it: a field the schema lacks is refused (the API server would drop it, or
//!   kubectl refuse it), and `value`/`valueTwo` stop at the int64 maximum.

use super::diag::{excerpt, Diagnostic, LoadError, Severity};
use super::model::*;
use super::yaml;
use crate::arch::Arch;
use crate::json::{self, Node, Span};
use crate::suggest::closest;
use std::path::Path;

/// `ERRNO_MAX` as the width `unsigned` compares in.
const ERRNO_LIMIT: u64 = ERRNO_MAX as u64;

/// Flags runc and crun accept in `flags`.
pub const KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

/// The keys each object of a profile may have that the loader reads.
const OCI_ROOT_KEYS: &[&str] = &["ociVersion", "linux"];
const OCI_LINUX_KEYS: &[&str] = &["seccomp"];
const SECCOMP_KEYS: &[&str] = &[
    "defaultAction",
    "defaultErrnoRet",
    "architectures",
    "archMap",
    "flags",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
];
const ARCH_MAP_KEYS: &[&str] = &["architecture", "subArchitectures"];
const RULE_KEYS: &[&str] = &[
    "name", "names", "action", "errnoRet", "args", "comment", "includes", "excludes",
];
const ARG_KEYS: &[&str] = &["index", "value", "valueTwo", "op"];
const FILTER_KEYS: &[&str] = &["caps", "arches", "minKernel"];

/// The SeccompProfile resource, from SPO's CRD (api/seccompprofile/v1 and v1beta1;
/// `disabled` is the pre-`state` spelling still served by old releases).
const SPO_ROOT_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];
const SPO_SPEC_KEYS: &[&str] = &[
    "baseProfileName",
    "defaultAction",
    "architectures",
    "listenerPath",
    "listenerMetadata",
    "syscalls",
    "flags",
    "state",
    "disabled",
];
const SPO_RULE_KEYS: &[&str] = &["names", "action", "errnoRet", "args"];
/// The API group and the versions of it that serve SeccompProfile.
pub const SPO_GROUP: &str = "security-profiles-operator.x-k8s.io";
pub const SPO_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];
/// `value` and `valueTwo` are int64 with minimum 0 in the CRD.
pub const SPO_VALUE_MAX: u64 = i64::MAX as u64;

pub fn load_file(path: &Path) -> Result<Profile, LoadError> {
    let file = path.display().to_string();
    // Regular files only, never blocking on a FIFO, at most 64 MiB (crate::files).
    let bytes = crate::files::read(path, crate::files::PROFILE).map_err(
        crate::error::FileError::on(crate::error::FileOp::Read, path),
    )?;
    load_bytes(&file, bytes)
}

/// A profile read from somewhere other than a file (`check -`: stdin), named
/// `file` in messages.
pub fn load_bytes(file: &str, bytes: Vec<u8>) -> Result<Profile, LoadError> {
    let file = file.to_string();
    match String::from_utf8(bytes) {
        Ok(text) => load_str(&file, text),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bad: Vec<String> = e.as_bytes()[offset..]
                .iter()
                .take(e.utf8_error().error_len().unwrap_or(1))
                .map(|b| format!("0x{b:02X}"))
                .collect();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let span = Span {
                start: offset,
                end: offset,
            };
            // The bytes before the bad one are unchanged in the lossy text, so
            // the offset and the JSON path found there are those of the file.
            let path = json::parse(&text)
                .map(|root| path_at(&root, offset))
                .unwrap_or_default();
            let d = Diagnostic::new(
                Severity::Error,
                "not-utf8",
                &text,
                span,
                path,
                format!("the file is not UTF-8 text: byte {} here", bad.join(" ")),
            )
            .hint("profiles are JSON, which must be UTF-8: re-save it as UTF-8 (is it Latin-1, or UTF-16?)");
            Err(LoadError::Invalid {
                file,
                problems: vec![d],
            })
        }
    }
}

pub fn load_str(file: &str, text: String) -> Result<Profile, LoadError> {
    let invalid = |problems| LoadError::Invalid {
        file: file.to_string(),
        problems,
    };
    let (syntax, root) = document(&text).map_err(|d| invalid(vec![d]))?;
    let mut reader = Reader {
        text: &text,
        lines: Default::default(),
        base: "",
        form: Form::Docker,
        problems: Vec::new(),
    };
    let mut loaded = reader.profile(&root);
    if let (Syntax::Yaml, Some(parts)) = (syntax, loaded.as_mut()) {
        // YAML has comments of its own: the lines above a rule are its comment.
        for rule in &mut parts.rules {
            rule.comment = rule
                .comment
                .take()
                .or_else(|| yaml::comment_above(&text, rule.span.start));
        }
    }
    match loaded {
        Some(parts) if reader.problems.is_empty() => Ok(Profile {
            file: file.to_string(),
            form: parts.form,
            syntax,
            default_action: parts.default_action,
            default_errno: parts.default_errno,
            architectures: parts.architectures,
            arch_map: parts.arch_map,
            flags: parts.flags,
            listener_path: parts.listener_path,
            rules: parts.rules,
            root,
            text,
        }),
        _ => {
            if reader.problems.is_empty() {
                // Every path that gives up reports why; this is a safety net
                // so that an Err never comes without a diagnostic.
                let d = Diagnostic::new(
                    Severity::Error,
                    "unreadable",
                    &text,
                    root.span,
                    String::new(),
                    "the profile could not be read".into(),
                );
                reader.problems.push(d);
            }
            reader.problems.sort_by_key(|d| (d.line, d.column));
            Err(invalid(reader.problems))
        }
    }
}

/// The text's document tree and the language it is in, or why it is none.
fn document(text: &str) -> Result<(Syntax, Node), Diagnostic> {
    // Nothing to read is not a syntax error of either language: say so, not
    // "invalid YAML", which an empty profile.json would otherwise get.
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Err(Diagnostic::new(
            Severity::Error,
            "empty",
            text,
            Span { start: 0, end: 0 },
            String::new(),
            "the file is empty".to_string(),
        )
        .hint("a profile is a JSON object ({\"defaultAction\": …}) or a YAML SeccompProfile"));
    }
    let syntax = if yaml::looks_like_json(text) {
        Syntax::Json
    } else {
        Syntax::Yaml
    };
    let parsed = match syntax {
        Syntax::Json => json::parse(text),
        Syntax::Yaml => yaml::parse(text),
    };
    let e = match parsed {
        Ok(root) => return Ok((syntax, root)),
        Err(e) => e,
    };
    let what = match syntax {
        Syntax::Json => "JSON",
        Syntax::Yaml => "YAML",
    };
    let span = Span {
        start: e.offset,
        end: e.offset,
    };
    Err(Diagnostic::new(
        Severity::Error,
        "syntax",
        text,
        span,
        e.path.clone(),
        format!("invalid {what}: {e}"),
    )
    .maybe_hint(e.hint.clone()))
}

/// What the reader takes out of the document (the rest stays in the tree).
struct Parts {
    form: Form,
    default_action: Action,
    default_errno: Option<u32>,
    architectures: Vec<Arch>,
    arch_map: Vec<ArchMapEntry>,
    flags: Vec<String>,
    listener_path: Option<String>,
    rules: Vec<Rule>,
}

struct Reader<'t> {
    text: &'t str,
    /// Built at the first problem: a profile may have one on every rule.
    lines: std::cell::OnceCell<json::Lines<'t>>,
    /// JSON path of the seccomp object (`linux.seccomp` inside a config.json).
    base: &'static str,
    form: Form,
    problems: Vec<Diagnostic>,
}

/// Folds a key the way Go's encoding/json compares keys with struct fields
/// (`bytes.EqualFold`, simple Unicode case folding). For the ASCII keys of a
/// profile that is ASCII case plus two non-ASCII letters whose fold orbits
/// reach ASCII: U+017F LATIN SMALL LETTER LONG S (s) and U+212A KELVIN SIGN (k).
/// "did you mean X?" for the known spelling closest to `typed`, else "one of"
/// them all.
fn did_you_mean(typed: &str, known: &[&str]) -> String {
    closest(typed, known.iter().copied())
        .map(|s| format!("did you mean {}?", json::quote(s)))
        .unwrap_or_else(|| format!("one of {}", known.join(", ")))
}

fn go_fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Joins a JSON path and a key.
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

/// A `minKernel` as moby reads it (`KernelVersion.UnmarshalJSON`): exactly
/// two dot-separated decimal numbers, each 0–255, not both zero. Older Docker
/// releases parsed it more loosely ("5.10.0-21-amd64"); the strict form is
/// what every release agrees on.
fn docker_kernel_version(s: &str) -> Option<KernelVersion> {
    let (major, minor) = s.split_once('.')?;
    let part = |p: &str| -> Option<u32> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse::<u8>().ok().map(u32::from)
    };
    let (major, minor) = (part(major)?, part(minor)?);
    (major, minor)
        .ne(&(0, 0))
        .then_some(KernelVersion { major, minor })
}

impl Reader<'_> {
    fn path(&self, rest: &str) -> String {
        match (self.base, rest) {
            ("", rest) => rest.to_string(),
            (base, "") => base.to_string(),
            (base, rest) => format!("{base}.{rest}"),
        }
    }

    fn error_span(
        &mut self,
        code: &'static str,
        span: Span,
        rest: &str,
        message: String,
        hint: Option<String>,
    ) {
        let at = self
            .lines
            .get_or_init(|| json::Lines::new(self.text))
            .of(span.start);
        let d = Diagnostic::at(Severity::Error, code, at, self.path(rest), message);
        self.problems.push(d.maybe_hint(hint));
    }

    fn error(
        &mut self,
        code: &'static str,
        node: &Node,
        rest: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.error_span(code, node.span, rest, message, hint);
    }

    /// `key` is missing from `node` (reported at the object, with the key's path).
    fn missing(&mut self, node: &Node, at: &str, key: &str, hint: &str) {
        let hint = Some(hint.to_string());
        let message = format!("missing {}", json::quote(key));
        self.error("missing-field", node, &join(at, key), message, hint);
    }

    /// Go's encoding/json would read a key such as `"DefaultAction"` as
    /// `defaultAction`: it matches struct fields case-insensitively, and the
    /// last of several matching keys wins (golang/go#14750, #43664). moby reads
    /// profiles and runc reads config.json that way; crun, which has its own
    /// parser, does not. So such a key means different things to different
    /// runtimes, and a reader that ignored it would debug another profile than
    /// the one Docker runs. Accepting it silently would hide the problem from
    /// crun users and from every case-sensitive tool. eperm refuses it instead,
    /// with the exact spelling to use: the fix is one edit and works everywhere.
    fn check_keys(&mut self, node: &Node, at: &str, known: &[&str]) {
        let Some(members) = node.members() else {
            return;
        };
        for m in members {
            if known.contains(&m.key.as_str()) {
                continue;
            }
            let folded = go_fold(&m.key);
            let Some(&meant) = known.iter().find(|k| go_fold(k) == folded) else {
                continue;
            };
            let message = format!(
                "key {} is not {}: keys are case-sensitive",
                json::quote(&m.key),
                json::quote(meant)
            );
            let hint = format!(
                "did you mean {}? (Docker and runc would read this key as {meant}, crun would ignore it)",
                json::quote(meant)
            );
            self.error_span(
                "key-case",
                m.key_span,
                &join(at, &m.key),
                message,
                Some(hint),
            );
        }
    }

    /// A member whose key differs from `key` only by case, as Go would match it.
    fn case_variant<'n>(node: &'n Node, key: &str) -> Option<&'n json::Member> {
        let folded = go_fold(key);
        node.members()?
            .iter()
            .find(|m| m.key != key && go_fold(&m.key) == folded)
    }

    /// In a whole config.json, runc reads `linux.seccomp` as the runtime spec
    /// defines it: Docker's extensions are unknown fields there, ignored.
    fn docker_only(&mut self, node: &Node, at: &str, key: &str, hint: &str) {
        if self.form != Form::OciConfig {
            return;
        }
        let Some(m) = node
            .members()
            .and_then(|ms| ms.iter().rev().find(|m| m.key == key))
        else {
            return;
        };
        if m.value.is_null() {
            return;
        }
        let message = format!(
            "{} is a Docker profile field: runc ignores it in a config.json",
            json::quote(key)
        );
        self.error_span(
            "docker-only-field",
            m.key_span,
            &join(at, key),
            message,
            Some(hint.into()),
        );
    }

    fn wrong_type(&mut self, node: &Node, rest: &str, expected: &str) {
        let hint = match (&node.value, expected) {
            (json::Value::String(s), "a list of strings") => {
                Some(format!("write it as a list: [{}]", json::quote(s)))
            }
            (json::Value::Object(_), e) if e.starts_with("a list") => {
                Some("this field takes a list: put the object inside [ ]".to_string())
            }
            (json::Value::String(s), e) if e.contains("integer") => integer_hint(s),
            (json::Value::Number(n), e) if e.contains("unsigned") && n.starts_with('-') => {
                Some(negative_hint(n))
            }
            _ => None,
        };
        self.wrong_type_hint(node, rest, expected, hint);
    }

    fn wrong_type_hint(&mut self, node: &Node, rest: &str, expected: &str, hint: Option<String>) {
        let found = match node.value {
            json::Value::Null => "null".to_string(),
            _ => format!("{} {}", node.kind(), excerpt(self.text, node.span)),
        };
        self.error(
            "wrong-type",
            node,
            rest,
            format!("expected {expected}, found {found}"),
            hint,
        );
    }

    fn object<'n>(&mut self, node: &'n Node, rest: &str) -> Option<&'n [json::Member]> {
        let members = node.members();
        if members.is_none() {
            self.wrong_type(node, rest, "an object");
        }
        members
    }

    /// The member `key`, or failing that one whose key differs only by case.
    /// check_keys has already refused the latter, so the load fails either
    /// way; reading on through it finds the problems inside it in the same pass.
    fn get<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
        node.get(key)
            .or_else(|| Self::case_variant(node, key).map(|m| &m.value))
    }

    /// A field that may be absent or null.
    fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
        Self::get(node, key).filter(|n| !n.is_null())
    }

    /// Field `key` of `node` as `read` reads it (at `{at}.{key}`); absent or
    /// null: the default.
    fn optional<'n, T: Default>(
        &mut self,
        node: &'n Node,
        at: &str,
        key: &str,
        read: impl FnOnce(&mut Self, &'n Node, &str) -> T,
    ) -> T {
        Self::field(node, key)
            .map(|n| read(self, n, &format!("{at}.{key}")))
            .unwrap_or_default()
    }

    fn string(&mut self, node: &Node, rest: &str) -> Option<String> {
        let s = node.as_str().map(str::to_string);
        if s.is_none() {
            self.wrong_type(node, rest, "a string");
        }
        s
    }

    /// A list of strings with the node of each (null reads as empty, as in Go).
    fn strings<'n>(&mut self, node: &'n Node, rest: &str) -> Vec<(String, &'n Node)> {
        if node.is_null() {
            return Vec::new();
        }
        let Some(items) = node.items() else {
            self.wrong_type(node, rest, "a list of strings");
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| Some((self.string(item, &format!("{rest}[{i}]"))?, item)))
            .collect()
    }

    fn unsigned(&mut self, node: &Node, rest: &str, max: u64) -> Option<u64> {
        match node.as_u64() {
            Some(n) if n <= max => Some(n),
            Some(n) => {
                let hint = match max {
                    ERRNO_LIMIT => Some("the kernel keeps only 16 bits of it; errno values are small, e.g. 1 (EPERM) or 38 (ENOSYS)".to_string()),
                    SPO_VALUE_MAX => Some("a SeccompProfile's value is an int64 with minimum 0 (SPO's CRD): it cannot hold this; keep such a rule in a Docker or OCI JSON profile".to_string()),
                    _ => None,
                };
                self.error(
                    "out-of-range",
                    node,
                    rest,
                    format!("{n} is larger than the largest allowed, {max}"),
                    hint,
                );
                None
            }
            None => {
                // An errno written by name, e.g. "errnoRet": "EPERM".
                let errno = node
                    .as_str()
                    .filter(|s| max == ERRNO_LIMIT && s.trim().parse::<u64>().is_err())
                    .and_then(crate::errno::parse);
                if let Some(nr) = errno {
                    let name = crate::errno::describe(nr);
                    let hint = format!("write the errno as a number: {nr} ({name})");
                    self.wrong_type_hint(node, rest, "an unsigned integer", Some(hint));
                    return None;
                }
                let expected = if max == u64::MAX {
                    "an unsigned 64-bit integer"
                } else {
                    "an unsigned integer"
                };
                self.wrong_type(node, rest, expected);
                None
            }
        }
    }

    fn action(&mut self, node: &Node, rest: &str) -> Option<Action> {
        let Some(name) = node.as_str() else {
            let hint = "write the action as a quoted name, e.g. \"SCMP_ACT_ERRNO\"";
            self.wrong_type_hint(node, rest, "a string", Some(hint.into()));
            return None;
        };
        let action = Action::parse(name);
        if action.is_none() {
            let hint = did_you_mean(name, &Action::spellings().collect::<Vec<_>>());
            self.error(
                "unknown-action",
                node,
                rest,
                format!("unknown action {}", json::quote(name)),
                Some(hint),
            );
        }
        action
    }

    fn arch(&mut self, name: &str, node: &Node, rest: &str) -> Option<Arch> {
        let arch = Arch::from_scmp_name(name);
        if arch.is_none() {
            // "SCMP_ARCH_AMD64" is a Go name behind the libseccomp prefix: look
            // the part after the prefix up among every spelling before falling
            // back to edit distance, which would pick SCMP_ARCH_PPC64 for it.
            let after_prefix = name
                .get(..10)
                .filter(|p| p.eq_ignore_ascii_case("SCMP_ARCH_"))
                .and_then(|_| name.get(10..));
            let hint = Arch::parse(name)
                .or_else(|| after_prefix.and_then(Arch::parse))
                .map(|a| a.scmp_name())
                .or_else(|| closest(name, Arch::ALL.iter().map(|a| a.scmp_name())))
                .map(|s| format!("did you mean {}?", json::quote(s)))
                .or_else(|| {
                    Some("architectures are written like \"SCMP_ARCH_X86_64\"".to_string())
                });
            self.error(
                "unknown-arch",
                node,
                rest,
                format!("unknown architecture {}", json::quote(name)),
                hint,
            );
        }
        arch
    }

    fn profile(&mut self, root: &Node) -> Option<Parts> {
        let (form, seccomp) = self.locate(root)?;
        self.object(seccomp, "")?;
        if form == Form::Spo {
            self.check_keys(seccomp, "", SPO_SPEC_KEYS);
            self.spo_fields(seccomp, "", SPO_SPEC_KEYS);
        } else {
            self.check_keys(seccomp, "", SECCOMP_KEYS);
        }
        let default_action = self.default_action(seccomp);
        let default_errno = Self::field(seccomp, "defaultErrnoRet").and_then(|n| {
            self.unsigned(n, "defaultErrnoRet", ERRNO_LIMIT)
                .map(|n| n as u32)
        });
        let (architectures, arch_map) = self.arches(seccomp);
        let flags = self.flags(seccomp);
        let listener_path =
            Self::field(seccomp, "listenerPath").and_then(|n| self.string(n, "listenerPath"));
        if let Some(node) = Self::field(seccomp, "listenerMetadata") {
            self.string(node, "listenerMetadata");
        }
        let syscalls = Self::field(seccomp, "syscalls");
        let rules = self.list(syscalls, "syscalls", "a list of rules", |me, i, item| {
            me.rule(i, item)
        });
        Some(Parts {
            form,
            default_action: default_action?,
            default_errno,
            architectures,
            arch_map,
            flags,
            listener_path,
            rules,
        })
    }

    /// Which form `root` is in, and the node holding the seccomp profile:
    /// the root itself, an OCI config's `linux.seccomp`, or a SeccompProfile's spec.
    fn locate<'n>(&mut self, root: &'n Node) -> Option<(Form, &'n Node)> {
        if root.members().is_none() {
            let hint = match root.items() {
                Some([only]) if only.members().is_some() => {
                    "a profile is one object, not a list: remove the [ ] around it"
                }
                _ => "a profile is an object: { \"defaultAction\": ..., \"syscalls\": [...] }",
            };
            self.wrong_type_hint(root, "", "an object", Some(hint.into()));
            return None;
        }
        // A config.json is told apart by its OCI keys, spelled in any case so
        // that a miscased one is reported as such below.
        let oci = ["linux", "ociVersion"].iter().any(|k| {
            root.members()
                .is_some_and(|ms| ms.iter().any(|m| go_fold(&m.key) == go_fold(k)))
        });
        if oci {
            self.check_keys(root, "", OCI_ROOT_KEYS);
            let linux = Self::get(root, "linux").filter(|l| !l.is_null());
            if let Some(linux) = linux {
                self.object(linux, "linux")?;
                self.check_keys(linux, "linux", OCI_LINUX_KEYS);
            }
            self.base = "linux.seccomp";
            self.form = Form::OciConfig;
            let seccomp = linux.and_then(|l| Self::get(l, "seccomp"));
            let Some(seccomp) = seccomp.filter(|s| !s.is_null()) else {
                let msg = "this OCI config.json has no linux.seccomp profile".to_string();
                let hint = "add one under linux.seccomp, or point eperm at a Docker profile";
                self.base = "";
                self.error(
                    "no-seccomp",
                    linux.unwrap_or(root),
                    "linux.seccomp",
                    msg,
                    Some(hint.into()),
                );
                return None;
            };
            Some((Form::OciConfig, seccomp))
        } else if let Some(spec) = self.spo_resource(root)? {
            Some((Form::Spo, spec))
        } else {
            Some((Form::Docker, root))
        }
    }

    fn default_action(&mut self, seccomp: &Node) -> Option<Action> {
        match Self::get(seccomp, "defaultAction") {
            None => {
                self.missing(
                    seccomp,
                    "",
                    "defaultAction",
                    "add \"defaultAction\": \"SCMP_ACT_ERRNO\" (what every syscall no rule names gets)",
                );
                None
            }
            Some(node) => {
                let action = self.action(node, "defaultAction");
                if action == Some(Action::Notify) {
                    let hint = "runc refuses NOTIFY as the default; use explicit NOTIFY rules and SCMP_ACT_ERRNO here";
                    self.error(
                        "notify-default",
                        node,
                        "defaultAction",
                        "\"SCMP_ACT_NOTIFY\" cannot be the default action".into(),
                        Some(hint.into()),
                    );
                }
                action
            }
        }
    }

    /// `architectures` and `archMap`, which exclude each other.
    fn arches(&mut self, seccomp: &Node) -> (Vec<Arch>, Vec<ArchMapEntry>) {
        let architectures: Vec<Arch> = match Self::field(seccomp, "architectures") {
            Some(node) => self
                .strings(node, "architectures")
                .into_iter()
                .enumerate()
                .filter_map(|(i, (name, item))| {
                    self.arch(&name, item, &format!("architectures[{i}]"))
                })
                .collect(),
            None => Vec::new(),
        };
        self.docker_only(
            seccomp,
            "",
            "archMap",
            "Docker expands archMap when it writes config.json: list the arches in \"architectures\" instead",
        );
        let arch_map = Self::field(seccomp, "archMap")
            .map(|n| self.arch_map(n))
            .unwrap_or_default();
        if !architectures.is_empty() && !arch_map.is_empty() {
            let node = Self::get(seccomp, "archMap").expect("archMap was read");
            let hint = "keep one: archMap (expanded for the host's arch, as Docker does) or architectures (used as listed)";
            self.error(
                "arches-and-archmap",
                node,
                "archMap",
                "both \"architectures\" and \"archMap\" are given".into(),
                Some(hint.into()),
            );
        }
        (architectures, arch_map)
    }

    /// The `flags`, each a known one.
    fn flags(&mut self, seccomp: &Node) -> Vec<String> {
        let flags = match Self::field(seccomp, "flags") {
            Some(node) => self.strings(node, "flags"),
            None => Vec::new(),
        };
        for (i, (flag, node)) in flags.iter().enumerate() {
            if !KNOWN_FLAGS.contains(&flag.as_str()) {
                let hint = did_you_mean(flag, KNOWN_FLAGS);
                self.error(
                    "unknown-flag",
                    node,
                    &format!("flags[{i}]"),
                    format!("unknown flag {}", json::quote(flag)),
                    Some(hint),
                );
            }
        }
        flags.into_iter().map(|(f, _)| f).collect()
    }

    /// The items of `list` (at `at`), each read by `read` with its index; no
    /// list is none, and anything else there is reported as not `expected`.
    fn list<T>(
        &mut self,
        list: Option<&Node>,
        at: &str,
        expected: &str,
        mut read: impl FnMut(&mut Self, usize, &Node) -> Option<T>,
    ) -> Vec<T> {
        let Some(list) = list else {
            return Vec::new();
        };
        let Some(items) = list.items() else {
            self.wrong_type(list, at, expected);
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| read(self, i, item))
            .collect()
    }

    /// The `spec` of a SeccompProfile, `None` when `root` is not a Kubernetes
    /// resource at all, and a failed read (reported) when it is another kind.
    fn spo_resource<'n>(&mut self, root: &'n Node) -> Option<Option<&'n Node>> {
        let is_resource = root.members().is_some_and(|ms| {
            ms.iter()
                .any(|m| ["kind", "apiversion"].contains(&go_fold(&m.key).as_str()))
        });
        if !is_resource {
            return Some(None);
        }
        self.check_keys(root, "", SPO_ROOT_KEYS);
        let versions = SPO_VERSIONS
            .iter()
            .map(|v| format!("{SPO_GROUP}/{v}"))
            .collect::<Vec<_>>();
        match Self::get(root, "apiVersion") {
            None => self.missing(
                root,
                "",
                "apiVersion",
                &format!("add apiVersion: {}", versions[0]),
            ),
            Some(n) => {
                let v = self.string(n, "apiVersion");
                if v.as_ref().is_some_and(|v| !versions.contains(v)) {
                    let v = v.unwrap_or_default();
                    self.error(
                        "unknown-api",
                        n,
                        "apiVersion",
                        format!(
                            "apiVersion {} does not serve SeccompProfile",
                            json::quote(&v)
                        ),
                        Some(format!("one of {}", versions.join(", "))),
                    );
                }
            }
        }
        match Self::get(root, "kind") {
            None => self.missing(root, "", "kind", "add kind: SeccompProfile"),
            Some(n) => {
                let kind = self.string(n, "kind")?;
                if kind != "SeccompProfile" {
                    self.error(
                        "not-a-profile",
                        n,
                        "kind",
                        format!("kind {} is not a SeccompProfile", json::quote(&kind)),
                        Some("eperm reads SeccompProfile resources; for a Pod, point it at the profile its securityContext names".into()),
                    );
                    return None;
                }
            }
        }
        self.base = "spec";
        self.form = Form::Spo;
        match Self::field(root, "spec") {
            Some(spec) => Some(Some(spec)),
            None => {
                self.base = "";
                let hint = "add spec: with defaultAction: and syscalls:";
                self.missing(root, "", "spec", hint);
                None
            }
        }
    }

    /// A SeccompProfile may hold only what its CRD declares: the API server
    /// drops anything else (or kubectl refuses it), so the cluster would run
    /// another profile than the one checked here.
    fn spo_fields(&mut self, node: &Node, at: &str, known: &[&str]) {
        if self.form != Form::Spo {
            return;
        }
        let Some(members) = node.members() else {
            return;
        };
        for m in members {
            let folded = go_fold(&m.key);
            if known.iter().any(|k| go_fold(k) == folded) {
                continue;
            }
            let hint = match m.key.as_str() {
                "defaultErrnoRet" => {
                    "a SeccompProfile has no defaultErrnoRet: the default's errno is EPERM"
                        .to_string()
                }
                "comment" => "write the comment as a YAML comment: # ...".to_string(),
                "name" => "write the name as names: [...]".to_string(),
                "includes" | "excludes" | "archMap" => {
                    "Docker-only: SPO applies the rules as written; keep the rule or delete it"
                        .to_string()
                }
                key => closest(key, known.iter().copied())
                    .map(|s| format!("did you mean {}?", json::quote(s)))
                    .unwrap_or_else(|| format!("the fields here are {}", known.join(", "))),
            };
            self.error_span(
                "unknown-field",
                m.key_span,
                &join(at, &m.key),
                format!("{} is not a SeccompProfile field", json::quote(&m.key)),
                Some(hint),
            );
        }
    }

    fn arch_map(&mut self, node: &Node) -> Vec<ArchMapEntry> {
        let Some(items) = node.items() else {
            self.wrong_type(
                node,
                "archMap",
                "a list of {\"architecture\", \"subArchitectures\"} objects",
            );
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("archMap[{i}]");
            if self.object(item, &at).is_none() {
                continue;
            }
            self.check_keys(item, &at, ARCH_MAP_KEYS);
            let arch = match Self::get(item, "architecture") {
                Some(n) => self
                    .string(n, &format!("{at}.architecture"))
                    .and_then(|s| self.arch(&s, n, &format!("{at}.architecture"))),
                None => {
                    let hint = "add \"architecture\": \"SCMP_ARCH_X86_64\" (the host arch this entry is for)";
                    self.missing(item, &at, "architecture", hint);
                    None
                }
            };
            let subs_at = format!("{at}.subArchitectures");
            let subs = Self::field(item, "subArchitectures")
                .map(|n| self.strings(n, &subs_at))
                .unwrap_or_default();
            let sub_arches = subs
                .into_iter()
                .enumerate()
                .filter_map(|(j, (name, n))| self.arch(&name, n, &format!("{subs_at}[{j}]")))
                .collect();
            if let Some(arch) = arch {
                entries.push(ArchMapEntry { arch, sub_arches });
            }
        }
        entries
    }

    fn rule(&mut self, index: usize, node: &Node) -> Option<Rule> {
        let at = format!("syscalls[{index}]");
        self.object(node, &at)?;
        self.rule_keys(node, &at);
        let names = self.rule_names(node, &at);
        let action = match Self::get(node, "action") {
            Some(n) => self.action(n, &format!("{at}.action")),
            None => {
                let hint =
                    "add \"action\": \"SCMP_ACT_ALLOW\" (or the action this rule should take)";
                self.missing(node, &at, "action", hint);
                None
            }
        };
        let errno_ret = Self::field(node, "errnoRet").and_then(|n| {
            self.unsigned(n, &format!("{at}.errnoRet"), ERRNO_LIMIT)
                .map(|n| n as u32)
        });
        let args_at = format!("{at}.args");
        let expected = "a list of argument conditions";
        let args = self.list(Self::field(node, "args"), &args_at, expected, |me, i, a| {
            me.arg(a, &format!("{args_at}[{i}]"))
        });
        let comment =
            Self::field(node, "comment").and_then(|n| self.string(n, &format!("{at}.comment")));
        let includes = self.optional(node, &at, "includes", Self::filter);
        let excludes = self.optional(node, &at, "excludes", Self::filter);
        Some(Rule {
            index,
            names,
            action: action?,
            errno_ret,
            args,
            comment,
            includes,
            excludes,
            span: node.span,
        })
    }

    /// Reports the keys a rule does not have in this form, and the Docker-only ones.
    fn rule_keys(&mut self, node: &Node, at: &str) {
        if self.form == Form::Spo {
            self.check_keys(node, at, SPO_RULE_KEYS);
            self.spo_fields(node, at, SPO_RULE_KEYS);
        } else {
            self.check_keys(node, at, RULE_KEYS);
        }
        self.docker_only(
            node,
            at,
            "name",
            "write the name as \"names\": [\"...\"]; runc reads only \"names\"",
        );
        for key in ["includes", "excludes"] {
            self.docker_only(
                node,
                at,
                key,
                "Docker applies includes/excludes when it writes config.json: keep the rule or delete it, as it should be for this host",
            );
        }
    }

    /// `names`, or a lone `name`, as Docker reads them.
    fn rule_names(&mut self, node: &Node, at: &str) -> Vec<Name> {
        // Docker reads `name` as a Go string, so `""` (like null or absent)
        // means "no name", and it refuses the rule only when `name` and
        // `names` are both non-empty: `"name": ""` beside `names`, or a name
        // beside `"names": []`, is accepted and means what it says.
        let single = Self::field(node, "name").and_then(|n| {
            let name = self.string(n, &format!("{at}.name"))?;
            (!name.is_empty()).then_some((name, n))
        });
        let mut names: Vec<Name> = match Self::field(node, "names") {
            Some(list) => self
                .strings(list, &format!("{at}.names"))
                .into_iter()
                .map(|(name, n)| Name { name, span: n.span })
                .collect(),
            None => Vec::new(),
        };
        if let Some((name, single)) = single {
            if names.is_empty() {
                names.push(Name {
                    name,
                    span: single.span,
                });
            } else {
                let hint = "move the name into \"names\" and delete \"name\"";
                self.error(
                    "name-and-names",
                    single,
                    &format!("{at}.name"),
                    format!(
                        "both \"name\" ({}) and \"names\" are given",
                        json::quote(&name)
                    ),
                    Some(hint.into()),
                );
            }
        }
        names
    }

    fn arg(&mut self, node: &Node, at: &str) -> Option<ArgCond> {
        self.object(node, at)?;
        self.check_keys(node, at, ARG_KEYS);
        self.spo_fields(node, at, ARG_KEYS);
        let index = match Self::field(node, "index") {
            None if self.form == Form::Spo => {
                let hint = "add index: 0 (the argument, from 0 to 5): the CRD requires it";
                self.missing(node, at, "index", hint);
                None
            }
            None => Some(0),
            Some(n) => match n.as_u64() {
                Some(i @ 0..=5) => Some(i as u8),
                Some(_) => {
                    let hint = "syscalls have six arguments, numbered 0 to 5";
                    self.error(
                        "bad-arg-index",
                        n,
                        &format!("{at}.index"),
                        format!(
                            "argument index {} is out of range",
                            excerpt(self.text, n.span)
                        ),
                        Some(hint.into()),
                    );
                    None
                }
                None => {
                    self.wrong_type(n, &format!("{at}.index"), "an unsigned integer from 0 to 5");
                    None
                }
            },
        };
        let max = match self.form {
            Form::Spo => SPO_VALUE_MAX,
            _ => u64::MAX,
        };
        let value = Self::field(node, "value")
            .map_or(Some(0), |n| self.unsigned(n, &format!("{at}.value"), max));
        let value_two = Self::field(node, "valueTwo").map_or(Some(0), |n| {
            self.unsigned(n, &format!("{at}.valueTwo"), max)
        });
        let op = match Self::get(node, "op") {
            None => {
                let hint = "add \"op\": \"SCMP_CMP_EQ\" (or another SCMP_CMP_* operator)";
                self.missing(node, at, "op", hint);
                None
            }
            Some(n) => {
                let name = self.string(n, &format!("{at}.op"))?;
                let op = CmpOp::parse(&name);
                if op.is_none() {
                    let hint = did_you_mean(&name, &CmpOp::spellings().collect::<Vec<_>>());
                    self.error(
                        "unknown-op",
                        n,
                        &format!("{at}.op"),
                        format!("unknown operator {}", json::quote(&name)),
                        Some(hint),
                    );
                }
                op
            }
        };
        Some(ArgCond {
            index: index?,
            value: value?,
            value_two: value_two?,
            op: op?,
        })
    }

    fn filter(&mut self, node: &Node, at: &str) -> Filter {
        if self.object(node, at).is_none() {
            return Filter::default();
        }
        self.check_keys(node, at, FILTER_KEYS);
        let caps = self.optional(node, at, "caps", Self::strings);
        let arches = self.optional(node, at, "arches", Self::strings);
        let min_kernel = Self::field(node, "minKernel").and_then(|n| {
            let rest = format!("{at}.minKernel");
            let text = self.string(n, &rest)?;
            let version = docker_kernel_version(&text);
            if version.is_none() {
                let hint = if text.is_empty() {
                    "delete \"minKernel\", or write a version: Docker releases disagree on what an empty one means"
                } else {
                    "write exactly MAJOR.MINOR, e.g. \"5.8\", as Docker reads it (no patch level or suffix)"
                };
                self.error(
                    "bad-kernel-version",
                    n,
                    &rest,
                    format!("invalid kernel version {}", json::quote(&text)),
                    Some(hint.into()),
                );
            }
            version
        });
        Filter {
            caps: caps.into_iter().map(|(s, _)| s).collect(),
            arches: arches.into_iter().map(|(s, _)| s).collect(),
            min_kernel,
        }
    }
}

/// The JSON path of the innermost value whose text contains `offset`.
fn path_at(root: &Node, offset: usize) -> String {
    let inside = |n: &Node| n.span.start <= offset && offset < n.span.end;
    let mut path = String::new();
    let mut node = root;
    loop {
        let next = match &node.value {
            json::Value::Object(members) => members.iter().find(|m| inside(&m.value)).map(|m| {
                path = join(&path, &m.key);
                &m.value
            }),
            json::Value::Array(items) => {
                items
                    .iter()
                    .enumerate()
                    .find(|(_, n)| inside(n))
                    .map(|(i, n)| {
                        path += &format!("[{i}]");
                        n
                    })
            }
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return path,
        }
    }
}

/// A hint for an integer written as a string, when it reads as one.
fn integer_hint(s: &str) -> Option<String> {
    let t = s.trim();
    if t.parse::<u64>().is_ok() {
        return Some(format!("write the number without quotes: {t}"));
    }
    let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))?;
    let n = u64::from_str_radix(hex, 16).ok()?;
    Some(format!(
        "write the number without quotes, in decimal (JSON has no hex): {n}"
    ))
}

/// Values are unsigned 64-bit: say what a negative number is written as.
fn negative_hint(raw: &str) -> String {
    match raw.parse::<i64>() {
        Ok(n) => format!(
            "values are unsigned 64-bit numbers: write {n} as {} (its two's complement)",
            n as u64
        ),
        Err(_) => "values are unsigned 64-bit numbers, from 0 to 18446744073709551615".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_keys_as_go_does() {
        assert_eq!(go_fold("DefaultAction"), go_fold("defaultAction"));
        assert_eq!(go_fold("\u{17F}yscalls"), "syscalls");
        assert_eq!(go_fold("min\u{212A}ernel"), "minkernel");
        // Dotless i is not in the fold orbit of i.
        assert_ne!(go_fold("\u{131}ndex"), "index");
    }

    #[test]
    fn kernel_versions_read_as_moby_reads_them() {
        let v = |major, minor| Some(KernelVersion { major, minor });
        assert_eq!(docker_kernel_version("5.8"), v(5, 8));
        assert_eq!(docker_kernel_version("4.14"), v(4, 14));
        assert_eq!(docker_kernel_version("05.08"), v(5, 8));
        assert_eq!(docker_kernel_version("0.1"), v(0, 1));
        for bad in [
            "", "5", "5.", ".8", "5.8.1", "5.10-rc1", "5.x", "+5.8", " 5.8", "256.0", "0.0", "5..8",
        ] {
            assert_eq!(docker_kernel_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_empty_file_says_it_is_empty_whatever_its_name() {
        for (file, text) in [
            ("p.json", ""),
            ("p.json", " \n\t\n"),
            ("p.yaml", "\u{feff}\n"),
        ] {
            let Err(LoadError::Invalid { problems, .. }) = load_str(file, text.to_string()) else {
                panic!("{file} {text:?} loaded");
            };
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].code, "empty");
            assert_eq!(problems[0].message, "the file is empty");
            assert!(!problems[0].message.contains("YAML"));
        }
    }

    #[test]
    fn finds_the_path_of_an_offset() {
        let text = r#"{"a": [1, {"b c": "xyz"}], "d": 2}"#;
        let root = json::parse(text).unwrap();
        let at = |s: &str| path_at(&root, text.find(s).unwrap());
        assert_eq!(at("xyz"), "a[1].b c");
        assert_eq!(at("1,"), "a[0]");
        assert_eq!(at("2}"), "d");
        assert_eq!(path_at(&root, 0), "");
    }

    #[test]
    fn hints_for_numbers_people_write() {
        assert_eq!(
            integer_hint(" 42 ").as_deref(),
            Some("write the number without quotes: 42")
        );
        assert!(integer_hint("0x10").unwrap().ends_with(": 16"));
        assert_eq!(integer_hint("lots"), None);
        assert!(negative_hint("-2").contains("write -2 as 18446744073709551614"));
        assert!(negative_hint("-99999999999999999999").contains("from 0 to"));
    }
}
