//! A JSON reader that remembers where every value stands in the text.
//!
//! serde_json forgets positions once it has parsed, but eperm needs them twice:
//! errors must say `line:column` for any value, and edits splice the original
//! text so that a save changes only the lines it must. Key order and
//! duplicate keys are kept as written.

mod parse;

pub use parse::{parse, SyntaxError};

/// Byte offsets `[start, end)` into the parsed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written, so that nothing is lost to floating point.
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    /// The member named `key` (the last one, as Go's encoding/json reads duplicates).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.members()?
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }

    pub fn members(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// An unsigned integer written without fraction or exponent.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.value {
            Value::Number(raw) => raw.parse().ok(),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// The value as a serde_json value (key order kept), for output and comparisons.
    pub fn to_serde(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(raw) => {
                serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.clone()))
            }
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Array(items) => items.iter().map(Node::to_serde).collect(),
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|m| (m.key.clone(), m.value.to_serde()))
                    .collect(),
            ),
        }
    }
}

/// A 1-based line and column (in characters) for a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

impl LineCol {
    /// One offset's place. It reads the text up to `offset`: for many
    /// offsets in one text, [`Lines`] reads it once.
    pub fn of(text: &str, offset: usize) -> LineCol {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        LineCol {
            line: before.matches('\n').count() + 1,
            col: before[line_start..].chars().count() + 1,
        }
    }
}

/// Where each line of a text starts, so that the [`LineCol`] of an offset
/// costs a binary search and one line's characters, not the whole text
/// before it: a lint on every rule of a 200,000-rule profile stays linear.
pub struct Lines<'t> {
    text: &'t str,
    /// Byte offsets of every line's first byte; the first is 0.
    starts: Vec<usize>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Lines<'t> {
        let breaks = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
        let starts = std::iter::once(0).chain(breaks.map(|(i, _)| i + 1));
        Lines {
            text,
            starts: starts.collect(),
        }
    }

    /// The same as `LineCol::of(text, offset)`.
    pub fn of(&self, offset: usize) -> LineCol {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        // Lines starting at or before the offset: at least the first.
        let line = self.starts.partition_point(|&s| s <= offset);
        let line_start = self.starts[line - 1];
        LineCol {
            line,
            col: self.text[line_start..offset].chars().count() + 1,
        }
    }
}

impl std::fmt::Display for LineCol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Quote a string as JSON would, for messages and for text that edits insert.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}
