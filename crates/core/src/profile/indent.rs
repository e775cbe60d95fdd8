//! How a document is laid out — indentation, separators, key order — so that
//! the text an edit inserts reads as if the file's author had typed it.
//!
//! Nothing here re-serialises a document: the edit engine splices new text
//! into the original, and this module only says what that text should look like.

use super::model::Profile;
use crate::json::{self, Node, Span, Value};
use std::cmp::Ordering;

/// Byte offset of the start of the line that holds `offset`.
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The blanks that open the line holding `offset`.
pub fn indent_of_line(text: &str, offset: usize) -> &str {
    let line = &text[line_start(text, offset)..];
    let end = line.find(|c| c != ' ' && c != '\t').unwrap_or(line.len());
    &line[..end]
}

/// Is `offset` the first non-blank character of its line?
pub fn starts_line(text: &str, offset: usize) -> bool {
    text[line_start(text, offset)..offset]
        .bytes()
        .all(|b| b == b' ' || b == b'\t')
}

/// The span of each element of an array, or of each member of an object
/// (from its key to the end of its value). Empty for scalars.
pub fn elements(node: &Node) -> Vec<Span> {
    match &node.value {
        Value::Array(items) => items.iter().map(|n| n.span).collect(),
        Value::Object(members) => members
            .iter()
            .map(|m| Span {
                start: m.key_span.start,
                end: m.value.span.end,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Where `name` goes in `names` to keep the order the list keeps, or `None`
/// when it keeps none. Lists are sorted by bytes, or as `sort` does in most
/// locales, ignoring underscores (Docker's default list: `llistxattr`,
/// `_llseek`, `lremovexattr`). A rare slip (one in fifty) still counts as
/// sorted, since people maintain these lists by hand.
pub fn sorted_position(names: &[&str], name: &str) -> Option<usize> {
    let orders: [fn(&str, &str) -> Ordering; 2] = [
        |a, b| a.cmp(b),
        |a, b| {
            let letters = |s: &str| s.bytes().filter(|&c| c != b'_').collect::<Vec<u8>>();
            letters(a).cmp(&letters(b)).then(a.cmp(b))
        },
    ];
    let (cmp, slips) = orders
        .iter()
        .map(|cmp| {
            let slips = names.windows(2).filter(|w| cmp(w[0], w[1]).is_gt());
            (cmp, slips.count())
        })
        .min_by_key(|&(_, slips)| slips)
        .expect("two orders");
    if slips * 50 > names.len() {
        return None;
    }
    // The position that leaves the fewest names on the wrong side of the new
    // one: in a sorted list, right after the last smaller name.
    let mut misplaced = names.iter().filter(|n| cmp(n, name).is_lt()).count();
    let (mut best, mut fewest) = (0, misplaced);
    for (i, n) in names.iter().enumerate() {
        match cmp(n, name) {
            Ordering::Less => misplaced -= 1,
            Ordering::Greater => misplaced += 1,
            Ordering::Equal => {}
        }
        if misplaced < fewest {
            (best, fewest) = (i + 1, misplaced);
        }
    }
    Some(best)
}

/// A value to be written: only the shapes new rules need.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    Str(String),
    Num(u64),
    /// JSON text written as it is (e.g. an `includes` object copied from another rule).
    Raw(String),
    /// `multiline`: one element per line, or all on one line.
    Array {
        items: Vec<Out>,
        multiline: bool,
    },
    Object {
        members: Vec<(&'static str, Out)>,
        multiline: bool,
    },
}

/// The keys a new rule is written with, in the order the document's rules use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKey {
    Names,
    Action,
    ErrnoRet,
}

/// The layout a document uses, as far as new rules need to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Style {
    /// One level of indentation: `"\t"`, `"  "`, `"    "`; empty in a one-line document.
    pub unit: String,
    /// What stands between a key and its value, usually `": "`.
    pub colon: String,
    /// What separates elements written on one line, usually `", "`.
    pub comma: String,
    /// `"\n"`, or `"\r\n"` in a file written on Windows.
    pub newline: &'static str,
    /// Rules are written over several lines.
    pub rule_multiline: bool,
    /// `names` lists have one name per line.
    pub names_multiline: bool,
    /// Blanks just inside the braces of a one-line rule: `{ "names": … }`.
    pub object_pad: String,
    /// Blanks just inside the brackets of a one-line list: `[ "a", "b" ]`.
    pub array_pad: String,
    /// Every rule uses the old singular `"name"`; new rules should too.
    pub singular_name: bool,
    pub key_order: [RuleKey; 3],
}

impl Style {
    /// Reads the layout of `profile`'s text, falling back to Docker's own
    /// (Go's `json.MarshalIndent`) where the document says nothing.
    pub fn detect(profile: &Profile) -> Style {
        let text = profile.text.as_str();
        let seccomp = profile.seccomp_node();
        let rules: Vec<&Node> = seccomp
            .get("syscalls")
            .and_then(Node::items)
            .map(|items| items.iter().filter(|n| n.members().is_some()).collect())
            .unwrap_or_default();

        let unit = rules
            .iter()
            .rev()
            .copied()
            .chain([seccomp, &profile.root])
            .find_map(|object| unit_inside(text, object))
            .unwrap_or_default();
        let colon = rules
            .iter()
            .rev()
            .copied()
            .chain([seccomp])
            .find_map(|object| object.members()?.first())
            .map_or(": ", |m| &text[m.key_span.end..m.value.span.start])
            .to_string();
        let comma = inline_separator(text, &profile.root).unwrap_or_else(|| ", ".into());
        let rule_multiline = rules
            .last()
            .map_or(!unit.is_empty(), |rule| spans_lines(text, rule.span));
        let names_list = rules
            .iter()
            .rev()
            .find_map(|rule| rule.get("names").filter(|n| !elements(n).is_empty()));
        let names_multiline =
            names_list.map_or(rule_multiline, |names| spans_lines(text, names.span));
        let singular_name = rules.iter().any(|r| r.get("name").is_some())
            && rules.iter().all(|r| r.get("names").is_none());

        Style {
            unit,
            colon,
            comma,
            newline: if text.contains("\r\n") { "\r\n" } else { "\n" },
            rule_multiline,
            names_multiline,
            object_pad: rules.last().map_or(String::new(), |r| inner_pad(text, r)),
            array_pad: names_list.map_or(String::new(), |n| inner_pad(text, n)),
            singular_name,
            key_order: key_order(&rules),
        }
    }

    /// Writes `value` as it would stand on a line indented by `base`
    /// (the first line carries no indentation: the caller places it).
    pub fn render(&self, value: &Out, base: &str) -> String {
        match value {
            Out::Str(s) => json::quote(s),
            Out::Num(n) => n.to_string(),
            Out::Raw(text) => text.clone(),
            Out::Array { items, multiline } => {
                let parts = items.iter().map(|item| (None, item));
                self.block(('[', ']'), parts, *multiline, base)
            }
            Out::Object { members, multiline } => {
                let parts = members.iter().map(|(key, v)| (Some(*key), v));
                self.block(('{', '}'), parts, *multiline, base)
            }
        }
    }

    fn block<'v>(
        &self,
        (open, close): (char, char),
        parts: impl Iterator<Item = (Option<&'static str>, &'v Out)>,
        multiline: bool,
        base: &str,
    ) -> String {
        let inner = format!("{base}{}", self.unit);
        let parts: Vec<String> = parts
            .map(|(key, value)| {
                let key = key.map_or(String::new(), |k| json::quote(k) + &self.colon);
                key + &self.render(value, &inner)
            })
            .collect();
        if multiline && !parts.is_empty() {
            let nl = self.newline;
            let body = parts.join(&format!(",{nl}{inner}"));
            format!("{open}{nl}{inner}{body}{nl}{base}{close}")
        } else {
            let pad = match open {
                '{' => &self.object_pad,
                _ => &self.array_pad,
            };
            let pad = if parts.is_empty() { "" } else { pad.as_str() };
            format!("{open}{pad}{}{pad}{close}", parts.join(&self.comma))
        }
    }
}

fn spans_lines(text: &str, span: Span) -> bool {
    text[span.start..span.end].contains('\n')
}

/// The blanks between the opening bracket of a one-line container and its
/// first element.
fn inner_pad(text: &str, node: &Node) -> String {
    let Some(first) = elements(node).first().copied() else {
        return String::new();
    };
    // A YAML block collection has no bracket to be inside of.
    if !text[node.span.start..].starts_with(['[', '{']) {
        return String::new();
    }
    let pad = &text[node.span.start + 1..first.start];
    if pad.contains('\n') {
        String::new()
    } else {
        pad.to_string()
    }
}

/// One level of indentation, read from an object whose first member starts a
/// line of its own: that line's indent less the indent of the object's line.
fn unit_inside(text: &str, object: &Node) -> Option<String> {
    let first = object.members()?.first()?;
    let key = first.key_span.start;
    if !starts_line(text, key) || line_start(text, key) == line_start(text, object.span.start) {
        return None;
    }
    let outer = indent_of_line(text, object.span.start);
    let unit = indent_of_line(text, key).strip_prefix(outer)?;
    (!unit.is_empty()).then(|| unit.to_string())
}

/// The first separator between two elements on the same line, anywhere in `node`.
fn inline_separator(text: &str, node: &Node) -> Option<String> {
    let spans = elements(node);
    let here = spans
        .windows(2)
        .map(|pair| &text[pair[0].end..pair[1].start])
        .find(|sep| !sep.contains('\n'));
    if let Some(sep) = here {
        return Some(sep.to_string());
    }
    match &node.value {
        Value::Array(items) => items.iter().find_map(|n| inline_separator(text, n)),
        Value::Object(members) => members
            .iter()
            .find_map(|m| inline_separator(text, &m.value)),
        _ => None,
    }
}

/// The order of `names`, `action` and `errnoRet` in the document's rules:
/// from the first rule that has all three, else the first with names and
/// action (errnoRet then follows action), else Docker's order.
fn key_order(rules: &[&Node]) -> [RuleKey; 3] {
    let keys_of = |rule: &&Node| {
        let mut keys = Vec::new();
        for m in rule.members().unwrap_or_default() {
            let key = match m.key.as_str() {
                "names" | "name" => RuleKey::Names,
                "action" => RuleKey::Action,
                "errnoRet" => RuleKey::ErrnoRet,
                _ => continue,
            };
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    };
    let mut order = rules
        .iter()
        .map(keys_of)
        .find(|keys| keys.len() == 3)
        .or_else(|| {
            rules
                .iter()
                .map(keys_of)
                .find(|keys| keys.contains(&RuleKey::Names) && keys.contains(&RuleKey::Action))
        })
        .unwrap_or_else(|| vec![RuleKey::Names, RuleKey::Action]);
    if !order.contains(&RuleKey::ErrnoRet) {
        let action = order
            .iter()
            .position(|&k| k == RuleKey::Action)
            .unwrap_or(1);
        order.insert(action + 1, RuleKey::ErrnoRet);
    }
    [order[0], order[1], order[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load_str;

    fn style(text: &str) -> Style {
        Style::detect(&load_str("t.json", text.to_string()).unwrap())
    }

    #[test]
    fn reads_line_geometry() {
        let text = "{\n\t\t\"a\": 1\n}";
        let a = text.find("\"a\"").unwrap();
        assert_eq!(indent_of_line(text, a), "\t\t");
        assert!(starts_line(text, a));
        assert!(!starts_line(text, a + 1));
        assert_eq!(line_start(text, a), 2);
        assert_eq!(indent_of_line(text, 0), "");
    }

    #[test]
    fn finds_the_sorted_position() {
        let bytes = ["_llseek", "accept", "read", "write"];
        assert_eq!(sorted_position(&bytes, "reboot"), Some(3));
        assert_eq!(sorted_position(&bytes, "_exit"), Some(0));
        assert_eq!(sorted_position(&bytes, "zz"), Some(4));
        // Docker's order ignores underscores; byte order would put io_setup first.
        let docker = [
            "ioctl",
            "io_destroy",
            "ioprio_set",
            "listen",
            "_llseek",
            "lseek",
        ];
        assert_eq!(sorted_position(&docker, "io_setup"), Some(3));
        assert_eq!(sorted_position(&docker, "lremovexattr"), Some(5));
        assert_eq!(sorted_position(&[], "read"), Some(0));
        // Grouped by meaning, not sorted: no position.
        assert_eq!(sorted_position(&["write", "read", "close"], "open"), None);
    }

    #[test]
    fn a_rare_slip_still_counts_as_sorted() {
        let mut names: Vec<String> = (0..60).map(|i| format!("n{i:02}")).collect();
        names.swap(10, 11);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(sorted_position(&names, "n40x"), Some(41));
        let mut short = names[..20].to_vec();
        short.swap(3, 4);
        assert_eq!(sorted_position(&short, "n15x"), None);
    }

    #[test]
    fn detects_docker_layout() {
        let s = style(
            "{\n\t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\t\"syscalls\": [\n\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"read\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ALLOW\"\n\t\t}\n\t]\n}\n",
        );
        assert_eq!(s.unit, "\t");
        assert_eq!(s.colon, ": ");
        assert!(s.rule_multiline && s.names_multiline && !s.singular_name);
        assert_eq!(
            s.key_order,
            [RuleKey::Names, RuleKey::Action, RuleKey::ErrnoRet]
        );
    }

    #[test]
    fn detects_compact_layout_and_key_order() {
        let s = style(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"action":"SCMP_ACT_ERRNO","errnoRet":1,"name":"x"}]}"#,
        );
        assert_eq!(s.unit, "");
        assert_eq!(s.colon, ":");
        assert_eq!(s.comma, ",");
        assert!(!s.rule_multiline && !s.names_multiline && s.singular_name);
        assert_eq!(
            s.key_order,
            [RuleKey::Action, RuleKey::ErrnoRet, RuleKey::Names]
        );
    }

    #[test]
    fn one_line_rules_in_an_indented_document() {
        let s = style(
            "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\"names\": [\"a\", \"b\"], \"action\": \"SCMP_ACT_ALLOW\"}\n  ]\n}",
        );
        assert_eq!(s.unit, "  ");
        assert_eq!(s.comma, ", ");
        assert!(!s.rule_multiline && !s.names_multiline);
        assert_eq!((s.object_pad.as_str(), s.array_pad.as_str()), ("", ""));
    }

    #[test]
    fn padded_one_line_rules() {
        let s = style(
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{ \"names\": [ \"a\" ], \"action\": \"SCMP_ACT_ALLOW\" }]}",
        );
        assert_eq!((s.object_pad.as_str(), s.array_pad.as_str()), (" ", " "));
        let rule = Out::Object {
            members: vec![(
                "names",
                Out::Array {
                    items: vec![Out::Str("b".into())],
                    multiline: false,
                },
            )],
            multiline: false,
        };
        assert_eq!(s.render(&rule, ""), "{ \"names\": [ \"b\" ] }");
    }

    #[test]
    fn renders_nested_blocks() {
        let s = style("{\n    \"defaultAction\": \"SCMP_ACT_ERRNO\"\n}");
        assert_eq!(s.unit, "    ");
        let rule = Out::Object {
            members: vec![
                (
                    "names",
                    Out::Array {
                        items: vec![Out::Str("a".into())],
                        multiline: true,
                    },
                ),
                ("errnoRet", Out::Num(38)),
            ],
            multiline: true,
        };
        assert_eq!(
            s.render(&rule, "  "),
            "{\n      \"names\": [\n          \"a\"\n      ],\n      \"errnoRet\": 38\n  }"
        );
        let inline = Out::Array {
            items: vec![Out::Str("a".into()), Out::Num(1)],
            multiline: false,
        };
        assert_eq!(s.render(&inline, ""), "[\"a\", 1]");
    }
}
