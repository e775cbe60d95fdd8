//! From text to [`Profile`], with an exact, helpful message for everything wrong.
//!
//! The reader does not stop at the first problem: it reports every one it can
//! find in a single pass, each with the line:column and JSON path of the bad value.

use super::diag::{excerpt, Diagnostic, LoadError, Severity};
use super::model::*;
use crate::arch::Arch;
use crate::json::{self, Node, Span};
use crate::suggest::closest;
use std::path::Path;

/// The kernel keeps 16 bits of a filter's return data (SECCOMP_RET_DATA).
const ERRNO_MAX: u64 = 0xffff;

/// Flags runc and crun accept in `flags`.
pub const KNOWN_FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

pub fn load_file(path: &Path) -> Result<Profile, LoadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        file: file.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => load_str(&file, text),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let span = Span {
                start: offset,
                end: offset,
            };
            let d = Diagnostic::new(
                Severity::Error,
                "not-utf8",
                &text,
                span,
                String::new(),
                "the file is not UTF-8 text".into(),
            )
            .hint("profiles are JSON, which must be UTF-8; is this the right file?");
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
    let root = match json::parse(&text) {
        Ok(root) => root,
        Err(e) => {
            let span = Span {
                start: e.offset,
                end: e.offset,
            };
            let d = Diagnostic::new(
                Severity::Error,
                "syntax",
                &text,
                span,
                e.path.clone(),
                format!("invalid JSON: {e}"),
            )
            .maybe_hint(e.hint.clone());
            return Err(invalid(vec![d]));
        }
    };
    let mut reader = Reader {
        text: &text,
        base: "",
        problems: Vec::new(),
    };
    let loaded = reader.profile(&root);
    match loaded {
        Some(parts) if reader.problems.is_empty() => Ok(Profile {
            file: file.to_string(),
            form: parts.form,
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
            reader.problems.sort_by_key(|d| (d.line, d.column));
            Err(invalid(reader.problems))
        }
    }
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
    /// JSON path of the seccomp object (`linux.seccomp` inside a config.json).
    base: &'static str,
    problems: Vec<Diagnostic>,
}

impl Reader<'_> {
    fn path(&self, rest: &str) -> String {
        match (self.base, rest) {
            ("", rest) => rest.to_string(),
            (base, "") => base.to_string(),
            (base, rest) => format!("{base}.{rest}"),
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        node: &Node,
        rest: &str,
        message: String,
        hint: Option<String>,
    ) {
        let d = Diagnostic::new(
            Severity::Error,
            code,
            self.text,
            node.span,
            self.path(rest),
            message,
        );
        self.problems.push(d.maybe_hint(hint));
    }

    fn wrong_type(&mut self, node: &Node, rest: &str, expected: &str) {
        let found = excerpt(self.text, node.span);
        let hint = match (&node.value, expected) {
            (json::Value::String(s), "a list of strings") => {
                Some(format!("write it as a list: [{}]", json::quote(s)))
            }
            (json::Value::String(s), e)
                if e.contains("integer") && s.trim().parse::<u64>().is_ok() =>
            {
                Some(format!("write the number without quotes: {}", s.trim()))
            }
            (json::Value::Number(n), e) if e.contains("unsigned") && n.starts_with('-') => {
                Some("values are unsigned 64-bit numbers: write -1 as 18446744073709551615".into())
            }
            _ => None,
        };
        self.error(
            "wrong-type",
            node,
            rest,
            format!("expected {expected}, found {} {found}", node.kind()),
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

    /// A field that may be absent or null.
    fn field<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
        node.get(key).filter(|n| !n.is_null())
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
                self.error(
                    "out-of-range",
                    node,
                    rest,
                    format!("{n} is larger than the largest allowed, {max}"),
                    None,
                );
                None
            }
            None => {
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
        let name = self.string(node, rest)?;
        let action = Action::parse(&name);
        if action.is_none() {
            let hint = closest(&name, Action::spellings())
                .map(|s| format!("did you mean {}?", json::quote(s)));
            let hint = hint.or_else(|| {
                Some(format!(
                    "one of {}",
                    Action::spellings().collect::<Vec<_>>().join(", ")
                ))
            });
            self.error(
                "unknown-action",
                node,
                rest,
                format!("unknown action {}", json::quote(&name)),
                hint,
            );
        }
        action
    }

    fn arch(&mut self, name: &str, node: &Node, rest: &str) -> Option<Arch> {
        let arch = Arch::from_scmp_name(name);
        if arch.is_none() {
            let hint = Arch::parse(name)
                .map(|a| a.scmp_name())
                .or_else(|| closest(name, Arch::ALL.iter().map(|a| a.scmp_name())))
                .map(|s| format!("did you mean {}?", json::quote(s)));
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
        self.object(root, "")?;
        let (form, seccomp) = if root.get("linux").is_some() || root.get("ociVersion").is_some() {
            self.base = "linux.seccomp";
            let seccomp = root.get("linux").and_then(|l| l.get("seccomp"));
            let Some(seccomp) = seccomp.filter(|s| !s.is_null()) else {
                self.base = "";
                let msg = "this OCI config.json has no linux.seccomp profile".to_string();
                self.error(
                    "no-seccomp",
                    root,
                    "",
                    msg,
                    Some("add one, or point eperm at a Docker profile".into()),
                );
                return None;
            };
            (Form::OciConfig, seccomp)
        } else {
            (Form::Docker, root)
        };
        self.object(seccomp, "")?;

        let default_action = match seccomp.get("defaultAction") {
            None => {
                let msg = "missing \"defaultAction\"".to_string();
                self.error(
                    "missing-field",
                    seccomp,
                    "",
                    msg,
                    Some("add \"defaultAction\": \"SCMP_ACT_ERRNO\"".into()),
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
                        "SCMP_ACT_NOTIFY cannot be the default action".into(),
                        Some(hint.into()),
                    );
                }
                action
            }
        };
        let default_errno = Self::field(seccomp, "defaultErrnoRet").and_then(|n| {
            self.unsigned(n, "defaultErrnoRet", ERRNO_MAX)
                .map(|n| n as u32)
        });

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
        let arch_map = Self::field(seccomp, "archMap")
            .map(|n| self.arch_map(n))
            .unwrap_or_default();
        if !architectures.is_empty() && !arch_map.is_empty() {
            let node = seccomp.get("archMap").expect("archMap was read");
            let hint = "keep one: archMap (expanded for the host's arch, as Docker does) or architectures (used as listed)";
            self.error(
                "arches-and-archmap",
                node,
                "archMap",
                "both \"architectures\" and \"archMap\" are given".into(),
                Some(hint.into()),
            );
        }

        let flags = match Self::field(seccomp, "flags") {
            Some(node) => self.strings(node, "flags"),
            None => Vec::new(),
        };
        for (i, (flag, node)) in flags.iter().enumerate() {
            if !KNOWN_FLAGS.contains(&flag.as_str()) {
                let hint = closest(flag, KNOWN_FLAGS.iter().copied())
                    .map(|s| format!("did you mean {}?", json::quote(s)));
                self.error(
                    "unknown-flag",
                    node,
                    &format!("flags[{i}]"),
                    format!("unknown flag {}", json::quote(flag)),
                    hint,
                );
            }
        }
        let listener_path =
            Self::field(seccomp, "listenerPath").and_then(|n| self.string(n, "listenerPath"));
        if let Some(node) = Self::field(seccomp, "listenerMetadata") {
            self.string(node, "listenerMetadata");
        }

        let rules = match Self::field(seccomp, "syscalls") {
            None => Vec::new(),
            Some(node) => match node.items() {
                None => {
                    self.wrong_type(node, "syscalls", "a list of rules");
                    Vec::new()
                }
                Some(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| self.rule(i, item))
                    .collect(),
            },
        };

        Some(Parts {
            form,
            default_action: default_action?,
            default_errno,
            architectures,
            arch_map,
            flags: flags.into_iter().map(|(f, _)| f).collect(),
            listener_path,
            rules,
        })
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
            let arch = match item.get("architecture") {
                Some(n) => self
                    .string(n, &format!("{at}.architecture"))
                    .and_then(|s| self.arch(&s, n, &format!("{at}.architecture"))),
                None => {
                    self.error(
                        "missing-field",
                        item,
                        &at,
                        "missing \"architecture\"".into(),
                        None,
                    );
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

        let action = match node.get("action") {
            Some(n) => self.action(n, &format!("{at}.action")),
            None => {
                let hint =
                    "add \"action\": \"SCMP_ACT_ALLOW\" (or the action this rule should take)";
                self.error(
                    "missing-field",
                    node,
                    &at,
                    "missing \"action\"".into(),
                    Some(hint.into()),
                );
                None
            }
        };
        let errno_ret = Self::field(node, "errnoRet").and_then(|n| {
            self.unsigned(n, &format!("{at}.errnoRet"), ERRNO_MAX)
                .map(|n| n as u32)
        });
        let args = match Self::field(node, "args") {
            None => Vec::new(),
            Some(list) => match list.items() {
                None => {
                    self.wrong_type(list, &format!("{at}.args"), "a list of argument conditions");
                    Vec::new()
                }
                Some(items) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| self.arg(a, &format!("{at}.args[{i}]")))
                    .collect(),
            },
        };
        let comment =
            Self::field(node, "comment").and_then(|n| self.string(n, &format!("{at}.comment")));
        let includes = Self::field(node, "includes")
            .map(|n| self.filter(n, &format!("{at}.includes")))
            .unwrap_or_default();
        let excludes = Self::field(node, "excludes")
            .map(|n| self.filter(n, &format!("{at}.excludes")))
            .unwrap_or_default();
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

    fn arg(&mut self, node: &Node, at: &str) -> Option<ArgCond> {
        self.object(node, at)?;
        let index = match node.get("index") {
            None => Some(0),
            Some(n) => match n.as_u64() {
                Some(i @ 0..=5) => Some(i as u8),
                Some(i) => {
                    let hint = "syscalls have six arguments, numbered 0 to 5";
                    self.error(
                        "bad-arg-index",
                        n,
                        &format!("{at}.index"),
                        format!("argument index {i} is out of range"),
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
        let value = Self::field(node, "value").map_or(Some(0), |n| {
            self.unsigned(n, &format!("{at}.value"), u64::MAX)
        });
        let value_two = Self::field(node, "valueTwo").map_or(Some(0), |n| {
            self.unsigned(n, &format!("{at}.valueTwo"), u64::MAX)
        });
        let op = match node.get("op") {
            None => {
                let hint = "add \"op\": \"SCMP_CMP_EQ\" (or another SCMP_CMP_* operator)";
                self.error(
                    "missing-field",
                    node,
                    at,
                    "missing \"op\"".into(),
                    Some(hint.into()),
                );
                None
            }
            Some(n) => {
                let name = self.string(n, &format!("{at}.op"))?;
                let op = CmpOp::parse(&name);
                if op.is_none() {
                    let hint = closest(&name, CmpOp::spellings())
                        .map(|s| format!("did you mean {}?", json::quote(s)))
                        .unwrap_or_else(|| {
                            format!(
                                "one of {}",
                                CmpOp::spellings().collect::<Vec<_>>().join(", ")
                            )
                        });
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
        let caps = Self::field(node, "caps")
            .map(|n| self.strings(n, &format!("{at}.caps")))
            .unwrap_or_default();
        let arches = Self::field(node, "arches")
            .map(|n| self.strings(n, &format!("{at}.arches")))
            .unwrap_or_default();
        let min_kernel = Self::field(node, "minKernel").and_then(|n| {
            let text = self.string(n, &format!("{at}.minKernel"))?;
            let version = KernelVersion::parse(&text);
            if version.is_none() {
                let hint = "write the version as MAJOR.MINOR, e.g. \"4.8\"";
                self.error(
                    "bad-kernel-version",
                    n,
                    &format!("{at}.minKernel"),
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
