//! Strict RFC 8259 parsing into spanned [`Node`]s.

use super::{Member, Node, Span, Value};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Byte offset of the offending character.
    pub offset: usize,
    pub message: String,
    /// JSON path of the value being read when the text went wrong, e.g.
    /// `syscalls[2].names`; empty at the top level.
    pub path: String,
    /// What the user most likely has to do.
    pub hint: Option<String>,
}

pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        path: Vec::new(),
    };
    if text.starts_with('\u{feff}') {
        // Go's encoding/json (Docker, runc) rejects a BOM too, so this is an
        // error rather than something to skip quietly.
        return Err(p
            .error("the file starts with a byte-order mark (U+FEFF)")
            .hint("save the file as UTF-8 without a BOM; Docker and runc reject it as well"));
    }
    p.skip_ws();
    let node = p.value()?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        let e = p.unexpected("the end of the file after the JSON value");
        return Err(if e.message.starts_with("a comment") {
            e
        } else {
            e.hint("a profile is one JSON object: remove what follows its closing '}'")
        });
    }
    Ok(node)
}

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    /// Where in the document the parser is, for error messages.
    path: Vec<Step>,
}

impl SyntaxError {
    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_string());
        self
    }
}

/// Renders a path the way the loader writes them: `syscalls[0].names`,
/// with `["odd key"]` for keys that are not plain identifiers.
fn render_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Index(i) => out += &format!("[{i}]"),
            Step::Key(k) if is_identifier(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out += k;
            }
            Step::Key(k) => out += &format!("[{}]", super::quote(k)),
        }
    }
    out
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        self.error_at(self.pos, message)
    }

    fn error_at(&self, offset: usize, message: &str) -> SyntaxError {
        SyntaxError {
            offset,
            message: message.to_string(),
            path: render_path(&self.path),
            hint: None,
        }
    }

    /// "expected X, found Y", with a hint when Y is a usual mistake.
    fn unexpected(&self, expected: &str) -> SyntaxError {
        let rest = &self.text[self.pos..];
        if rest.starts_with("//") || rest.starts_with("/*") {
            let line = rest.lines().next().unwrap_or_default();
            let comment = match line.find("*/") {
                Some(end) if line.starts_with("/*") => &line[..end + 2],
                _ => line.trim_end(),
            };
            let comment = if comment.chars().count() > 40 {
                format!("{}…", comment.chars().take(39).collect::<String>())
            } else {
                comment.to_string()
            };
            return self
                .error(&format!(
                    "a comment {}: JSON has no comments",
                    super::quote(&comment)
                ))
                .hint("delete it; a rule can carry its note in a \"comment\" field instead");
        }
        let e = self.error(&format!(
            "expected {expected}, found {}",
            self.describe_here()
        ));
        match rest.chars().next() {
            None => e.hint("the JSON stops before it is complete: is the file truncated?"),
            Some('\'') => e.hint("JSON strings and keys take double quotes: \"like this\""),
            Some(c) if c.is_ascii_alphabetic() => {
                e.hint("strings and keys must be in double quotes; the only bare words are true, false and null")
            }
            _ => e,
        }
    }

    fn describe_here(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "end of file".to_string(),
            Some(c) => format!("{c:?}"),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        let start = self.pos;
        let value = match self.peek() {
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            Some(b't') => self.keyword("true", Value::Bool(true))?,
            Some(b'f') => self.keyword("false", Value::Bool(false))?,
            Some(b'n') => self.keyword("null", Value::Null)?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        Ok(Node {
            span: Span {
                start,
                end: self.pos,
            },
            value,
        })
    }

    fn nested(
        &mut self,
        f: fn(&mut Self) -> Result<Value, SyntaxError>,
    ) -> Result<Value, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let value = f(self);
        self.depth -= 1;
        value
    }

    fn keyword(&mut self, word: &str, value: Value) -> Result<Value, SyntaxError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    /// Steps over the opening bracket; true (and over `close` too) when the
    /// container is empty.
    fn open(&mut self, close: u8) -> bool {
        self.pos += 1;
        self.skip_ws();
        let empty = self.peek() == Some(close);
        if empty {
            self.pos += 1;
        }
        empty
    }

    /// After a member or item: a ',' (its offset kept in `comma`), or `close`,
    /// which ends the container (true).
    fn next_or_close(&mut self, close: u8, comma: &mut Option<usize>) -> Result<bool, SyntaxError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                *comma = Some(self.pos);
                self.pos += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.missing_comma(&format!("'{}'", close as char))),
        }
    }

    /// An error if the ',' at `comma` stands right before `close`: JSON allows
    /// none after the last `element`.
    fn no_trailing_comma(
        &self,
        comma: Option<usize>,
        close: u8,
        element: &str,
    ) -> Result<(), SyntaxError> {
        match comma {
            Some(at) if self.peek() == Some(close) => {
                let message = format!("a trailing comma before '{}'", close as char);
                let hint = format!("delete this comma: JSON allows none after the last {element}");
                Err(self.error_at(at, &message).hint(&hint))
            }
            _ => Ok(()),
        }
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        let mut members = Vec::new();
        if self.open(b'}') {
            return Ok(Value::Object(members));
        }
        let mut comma: Option<usize> = None;
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                self.no_trailing_comma(comma, b'}', "member")?;
                return Err(self.unexpected("a quoted key"));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span {
                start: key_start,
                end: self.pos,
            };
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected(&format!("':' after key {}", super::quote(&key))));
            }
            self.pos += 1;
            self.skip_ws();
            self.path.push(Step::Key(key.clone()));
            let value = self.value()?;
            self.path.pop();
            members.push(Member {
                key,
                key_span,
                value,
            });
            if self.next_or_close(b'}', &mut comma)? {
                return Ok(Value::Object(members));
            }
        }
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        let mut items = Vec::new();
        if self.open(b']') {
            return Ok(Value::Array(items));
        }
        let mut comma: Option<usize> = None;
        loop {
            self.skip_ws();
            self.no_trailing_comma(comma, b']', "item")?;
            self.path.push(Step::Index(items.len()));
            let item = self.value()?;
            self.path.pop();
            items.push(item);
            if self.next_or_close(b']', &mut comma)? {
                return Ok(Value::Array(items));
            }
        }
    }

    /// After a member or item, neither ',' nor the closing bracket came.
    fn missing_comma(&self, close: &str) -> SyntaxError {
        let e = self.unexpected(&format!("',' or {close}"));
        if e.hint.is_none() && matches!(self.peek(), Some(b'"' | b'{' | b'[')) {
            e.hint("a comma is missing before this")
        } else {
            e
        }
    }

    fn number(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.unexpected("a digit after '-'")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits()?;
        }
        if let Some(b'0'..=b'9') = self.peek() {
            return Err(self
                .error("numbers may not have leading zeros")
                .hint("write the number without the leading 0 (JSON has no octal)"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Result<(), SyntaxError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.unexpected("a digit"));
        }
        self.digits();
        Ok(())
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(b'\n' | b'\r') => {
                    let so_far = &self.text[start..self.pos];
                    return Err(self
                        .error_at(
                            start,
                            &format!("unterminated string {so_far} (no closing quote on its line)"),
                        )
                        .hint("add the closing \"; a line break inside a string is written \\n"));
                }
                Some(b) => {
                    return Err(self
                        .error(&format!("control character U+{b:04X} inside a string"))
                        .hint("write it as an escape such as \\t or \\u0009"))
                }
                None => {
                    return Err(self
                        .error_at(start, "unterminated string: the file ends inside it")
                        .hint("add the closing \"; or is the file truncated?"))
                }
            }
        }
    }

    fn escape(&mut self) -> Result<char, SyntaxError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let high = self.hex4()?;
                if !(0xD800..0xDC00).contains(&high) {
                    return Ok(char::from_u32(high).unwrap_or('\u{fffd}'));
                }
                // A surrogate pair; a lone half becomes U+FFFD, as Go does.
                if self.text[self.pos..].starts_with("\\u") {
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                        return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
                    }
                    self.pos = save;
                }
                return Ok('\u{fffd}');
            }
            None => {
                return Err(self
                    .error("unterminated string: the file ends inside it")
                    .hint("add the closing \"; or is the file truncated?"))
            }
            Some(_) => {
                let c = self.text[self.pos..]
                    .chars()
                    .next()
                    .expect("not at the end");
                return Err(self
                    .error_at(self.pos - 1, &format!("invalid escape \\{c}"))
                    .hint("the escapes JSON knows are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX; write a backslash as \\\\"));
            }
        };
        self.pos += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(digits) = digits else {
            return Err(self
                .error("expected four hex digits after \\u")
                .hint("write the character as \\u followed by exactly four hex digits"));
        };
        self.pos += 4;
        Ok(u32::from_str_radix(digits, 16).expect("checked hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::LineCol;

    #[test]
    fn spans_point_at_values() {
        let text = "{\n  \"a\": [1, \"x\"],\n  \"b\": null\n}";
        let root = parse(text).unwrap();
        let a = root.get("a").unwrap();
        assert_eq!(&text[a.span.start..a.span.end], "[1, \"x\"]");
        let x = &a.items().unwrap()[1];
        assert_eq!(x.as_str(), Some("x"));
        assert_eq!(
            LineCol::of(text, x.span.start),
            LineCol { line: 2, col: 12 }
        );
        assert!(root.get("b").unwrap().is_null());
    }

    #[test]
    fn lines_place_every_offset_as_line_col_does() {
        use crate::json::Lines;
        for text in ["", "\n", "a", "{\n  \"é\": \"ü€\"\r\n\n}\n", "x\n\ny"] {
            let lines = Lines::new(text);
            for offset in 0..text.len() + 3 {
                assert_eq!(
                    lines.of(offset),
                    LineCol::of(text, offset),
                    "{text:?} at {offset}"
                );
            }
        }
    }

    #[test]
    fn keeps_key_order_and_duplicates() {
        let root = parse(r#"{"z": 1, "a": 2, "z": 3}"#).unwrap();
        let keys: Vec<_> = root
            .members()
            .unwrap()
            .iter()
            .map(|m| m.key.as_str())
            .collect();
        assert_eq!(keys, ["z", "a", "z"]);
        assert_eq!(root.get("z").unwrap().as_u64(), Some(3));
    }

    #[test]
    fn decodes_escapes() {
        let root = parse(r#""a\"b\\\n\u00e9\ud83d\ude00\ud800""#).unwrap();
        assert_eq!(root.as_str(), Some("a\"b\\\né😀\u{fffd}"));
    }

    #[test]
    fn numbers_keep_their_text() {
        let root = parse("[18446744073709551615, -1, 1.5e3]").unwrap();
        let items = root.items().unwrap();
        assert_eq!(items[0].as_u64(), Some(u64::MAX));
        assert_eq!(items[1].as_u64(), None);
        assert_eq!(items[2].value, Value::Number("1.5e3".into()));
    }

    #[test]
    fn rejects_what_json_rejects() {
        for (text, offset, words) in [
            ("{\"a\": 1,}", 7, "trailing comma"),
            ("[1,]", 2, "trailing comma"),
            ("[1 , ]", 3, "trailing comma"),
            ("{'a': 1}", 1, "quoted key"),
            ("[01]", 2, "leading zeros"),
            ("\"abc", 0, "unterminated"),
            ("[\"ab\ncd\"]", 1, "unterminated"),
            ("\"a\tb\"", 2, "control character U+0009"),
            ("[1] x", 4, "after the JSON value"),
            ("{\"a\" 1}", 5, "expected ':'"),
            ("[tru]", 1, "expected a JSON value"),
            ("\"\\x\"", 1, "invalid escape \\x"),
            ("\"\\", 2, "unterminated"),
            ("{\n  // note\n}", 4, "comment \"// note\""),
            ("[1, /* two */ 2]", 4, "comment \"/* two */\""),
            ("[1 2]", 3, "expected ',' or ']'"),
            ("-", 1, "digit"),
            ("\u{feff}{}", 0, "byte-order mark"),
            ("", 0, "end of file"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}: {err}");
            assert!(err.message.contains(words), "{text}: {err}");
        }
    }

    #[test]
    fn errors_say_where_in_the_document_they_are() {
        for (text, path) in [
            ("{\"a\": {\"b\": [1, 2,]}}", "a.b"),
            ("{\"a\": [{\"c\": tru}]}", "a[0].c"),
            ("{\"odd key\": [1 2]}", "[\"odd key\"]"),
            ("[[], [\"x]", "[1][0]"),
            ("{\"a\": 1,}", ""),
            ("{\"a\": 1", ""),
        ] {
            assert_eq!(parse(text).unwrap_err().path, path, "{text}");
        }
    }

    #[test]
    fn usual_mistakes_get_hints() {
        for (text, hint) in [
            ("{\"a\": 1,}", "delete this comma"),
            ("{\"a\": [1", "truncated"),
            ("{\"a\": \"b", "truncated"),
            ("{// c\n}", "\"comment\" field"),
            ("{'a': 1}", "double quotes"),
            ("{\"a\": SCMP_ACT_ALLOW}", "double quotes"),
            ("{\"a\": 1 \"b\": 2}", "comma is missing"),
            ("\u{feff}{}", "without a BOM"),
            ("{} {}", "one JSON object"),
        ] {
            let err = parse(text).unwrap_err();
            let got = err.hint.unwrap_or_default();
            assert!(got.contains(hint), "{text}: {got}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(parse(&text).unwrap_err().message.contains("nested"));
    }

    #[test]
    fn agrees_with_serde_json() {
        let text = r#"{"k": [true, false, null, 0, -0.5, "s", {"n": {}}], "e": []}"#;
        let ours = parse(text).unwrap().to_serde();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
    }
}
