//! The edit engine's splices for YAML block collections: what `- ` items and
//! `key:` lines need that JSON's commas and brackets do not.
//!
//! Flow collections (`[a, b]`, `{k: v}`) are edited by the JSON splices, whose
//! text is valid YAML flow. Here every change is whole lines, at the
//! indentation of the neighbours, and a comment above an item goes with it:
//! comments elsewhere and key order are left as they were.

use super::indent::{line_start, Out};
use super::yaml::dash_before;
use crate::json::{Node, Span};

/// Is `node` a block collection (written over lines, without brackets)?
pub fn is_block(text: &str, node: &Node) -> bool {
    (node.items().is_some() || node.members().is_some())
        && !text[node.span.start..].starts_with(['[', '{'])
}

/// The end of the line holding `offset`, after its newline (or the end of the text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// Where item `item` of a block sequence starts, with the comment lines right
/// above its dash.
fn item_start(text: &str, item: Span) -> usize {
    let dash = dash_before(text, item.start).unwrap_or(item.start);
    let mut start = line_start(text, dash);
    while start > 0 {
        let above = line_start(text, start - 1);
        if !text[above..start].trim_start().starts_with('#') {
            break;
        }
        start = above;
    }
    start
}

/// The blanks before item `item`'s dash: the indentation new items get.
fn dash_indent(text: &str, item: Span) -> String {
    let dash = dash_before(text, item.start).unwrap_or(item.start);
    let start = line_start(text, dash);
    " ".repeat(text[start..dash].chars().count())
}

/// The byte range that deleting item `i` of a block sequence removes: its
/// lines, with its comment, up to the next item's.
pub fn remove_item(text: &str, items: &[Span], i: usize) -> Span {
    let start = item_start(text, items[i]);
    let end = match items.get(i + 1) {
        Some(next) => item_start(text, *next),
        None => line_end(text, items[i].end),
    };
    Span { start, end }
}

/// Where and what to insert for a new item `lines` (its text, one entry per
/// line, relative to the item) at position `k` of a block sequence, with
/// `comment` above it.
pub fn insert_item(
    text: &str,
    items: &[Span],
    k: usize,
    lines: &[String],
    comment: Option<&str>,
    newline: &str,
) -> (usize, String) {
    let neighbour = items[k.min(items.len() - 1)];
    let indent = dash_indent(text, neighbour);
    let block = item_lines(&indent, lines, comment, newline);
    if k < items.len() {
        (item_start(text, items[k]), block)
    } else {
        let at = line_end(text, items[items.len() - 1].end);
        let sep = if text[..at].ends_with('\n') {
            ""
        } else {
            newline
        };
        (at, format!("{sep}{block}"))
    }
}

fn item_lines(indent: &str, lines: &[String], comment: Option<&str>, newline: &str) -> String {
    let mut out = String::new();
    for c in comment.into_iter().flat_map(str::lines) {
        out += &format!("{indent}# {c}{newline}");
    }
    for (j, line) in lines.iter().enumerate() {
        let lead = if j == 0 { "- " } else { "  " };
        out += &format!("{indent}{lead}{line}{newline}");
    }
    out
}

/// The value of member `key` of `mapping` replaced by a block sequence of one
/// item (for `syscalls: []`, `names:` with nothing, or a missing `syscalls`).
pub fn set_sequence(
    text: &str,
    mapping: &Node,
    key: &str,
    lines: &[String],
    comment: Option<&str>,
    newline: &str,
) -> (Span, String) {
    let members = mapping.members().expect("a mapping");
    let seq = seq_indent(text, mapping);
    match members.iter().rev().find(|m| m.key == key) {
        Some(m) => {
            let colon = text[m.key_span.end..]
                .find(':')
                .map_or(m.key_span.end, |i| m.key_span.end + i + 1);
            let indent = indent_at(text, m.key_span.start) + &seq;
            let block = item_lines(&indent, lines, comment, newline);
            // The old value (`[]`, or nothing) goes; a comment after it stays
            // on the key's line.
            let value_end = m.value.span.end.max(colon);
            let end = line_end(text, value_end);
            let rest = text[value_end..end].trim_end_matches(['\r', '\n']);
            let text = if lines.is_empty() {
                format!(" []{rest}{newline}")
            } else {
                format!("{rest}{newline}{block}")
            };
            (Span { start: colon, end }, text)
        }
        None => {
            let last = members.last().expect("a block mapping has members");
            let indent = indent_at(text, last.key_span.start) + &seq;
            let at = line_end(text, last.value.span.end);
            let sep = if text[..at].ends_with('\n') {
                ""
            } else {
                newline
            };
            let block = item_lines(&indent, lines, comment, newline);
            let key_indent = indent_at(text, last.key_span.start);
            (
                Span { start: at, end: at },
                format!("{sep}{key_indent}{key}:{newline}{block}"),
            )
        }
    }
}

fn indent_at(text: &str, offset: usize) -> String {
    " ".repeat(text[line_start(text, offset)..offset].chars().count())
}

/// A scalar's text in YAML.
fn scalar(v: &Out) -> String {
    match v {
        Out::Str(s) => super::export::scalar(s),
        Out::Num(n) => n.to_string(),
        Out::Raw(t) => t.replace('\n', " "),
        // Nested collections are written on their own lines by `lines`.
        Out::Array { .. } | Out::Object { .. } => String::new(),
    }
}

/// `value` as YAML block lines, relative to where it stands; sequences are
/// written at their key's indentation (`seq_indent` more), as kubectl does.
pub fn lines(value: &Out, seq_indent: &str) -> Vec<String> {
    match value {
        Out::Object { members, .. } => {
            let mut out = Vec::new();
            for (key, v) in members {
                match v {
                    Out::Array { items, .. } if !items.is_empty() => {
                        out.push(format!("{key}:"));
                        for item in items {
                            for (j, l) in lines(item, seq_indent).into_iter().enumerate() {
                                let lead = if j == 0 { "- " } else { "  " };
                                out.push(format!("{seq_indent}{lead}{l}"));
                            }
                        }
                    }
                    Out::Array { .. } => out.push(format!("{key}: []")),
                    Out::Object { .. } => {
                        out.push(format!("{key}:"));
                        out.extend(lines(v, seq_indent).into_iter().map(|l| format!("  {l}")));
                    }
                    _ => out.push(format!("{key}: {}", scalar(v))),
                }
            }
            out
        }
        Out::Array { items, .. } => items
            .iter()
            .flat_map(|i| lines(i, seq_indent))
            .map(|l| format!("- {l}"))
            .collect(),
        v => vec![scalar(v)],
    }
}

/// How far the document indents a block sequence under its key: `""` for
/// `names:\n- read` (kubectl's and SPO's way), `"  "` for `names:\n  - read`.
pub fn seq_indent(text: &str, root: &Node) -> String {
    fn find(text: &str, node: &Node) -> Option<String> {
        for m in node.members().unwrap_or_default() {
            if m.value.items().is_some() && is_block(text, &m.value) {
                let key_col = m.key_span.start - line_start(text, m.key_span.start);
                let dash = m.value.span.start;
                let dash_col = dash - line_start(text, dash);
                return Some(" ".repeat(dash_col.saturating_sub(key_col)));
            }
            if let Some(found) = find(text, &m.value) {
                return Some(found);
            }
        }
        for item in node.items().unwrap_or_default() {
            if let Some(found) = find(text, item) {
                return Some(found);
            }
        }
        None
    }
    find(text, root).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_written_as_yaml_lines() {
        let rule = Out::Object {
            members: vec![
                (
                    "names",
                    Out::Array {
                        items: vec![Out::Str("read".into())],
                        multiline: true,
                    },
                ),
                ("action", Out::Str("SCMP_ACT_ALLOW".into())),
                (
                    "args",
                    Out::Array {
                        items: vec![Out::Object {
                            members: vec![
                                ("index", Out::Num(0)),
                                ("op", Out::Str("SCMP_CMP_EQ".into())),
                            ],
                            multiline: false,
                        }],
                        multiline: true,
                    },
                ),
            ],
            multiline: true,
        };
        assert_eq!(
            lines(&rule, ""),
            [
                "names:",
                "- read",
                "action: SCMP_ACT_ALLOW",
                "args:",
                "- index: 0",
                "  op: SCMP_CMP_EQ"
            ]
        );
        assert_eq!(lines(&rule, "  ")[1], "  - read");
    }
}
