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
}

pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    if text.starts_with('\u{feff}') {
        return Err(
            p.error("a byte-order mark before the JSON; save the file as UTF-8 without BOM")
        );
    }
    let node = p.value()?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error(&format!(
            "unexpected {} after the end of the JSON value",
            p.describe_here()
        )));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError {
            offset: self.pos,
            message: message.to_string(),
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
            _ => {
                return Err(self.error(&format!(
                    "expected a JSON value, found {}",
                    self.describe_here()
                )))
            }
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
            Err(self.error(&format!(
                "expected a JSON value, found {}",
                self.describe_here()
            )))
        }
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                let hint = if self.peek() == Some(b'}') {
                    " (JSON allows no trailing comma)"
                } else {
                    ""
                };
                return Err(self.error(&format!(
                    "expected a quoted key, found {}{hint}",
                    self.describe_here()
                )));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let key_span = Span {
                start: key_start,
                end: self.pos,
            };
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error(&format!(
                    "expected ':' after key {key:?}, found {}",
                    self.describe_here()
                )));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            members.push(Member {
                key,
                key_span,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => {
                    return Err(self.error(&format!(
                        "expected ',' or '}}', found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            if self.peek() == Some(b']') {
                return Err(
                    self.error("expected a JSON value, found ']' (JSON allows no trailing comma)")
                );
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => {
                    return Err(self.error(&format!(
                        "expected ',' or ']', found {}",
                        self.describe_here()
                    )))
                }
            }
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
            _ => return Err(self.error("expected a digit")),
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
            return Err(self.error("numbers may not have leading zeros"));
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
            return Err(self.error(&format!("expected a digit, found {}", self.describe_here())));
        }
        self.digits();
        Ok(())
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
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
                Some(_) => {
                    return Err(self.error(
                        "control character inside a string (write it as an escape like \\n)",
                    ))
                }
                None => return Err(self.error("unterminated string")),
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
            _ => {
                return Err(self.error(&format!(
                    "invalid escape '\\{}'",
                    self.describe_here().trim_matches('\'')
                )))
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
            return Err(self.error("expected four hex digits after \\u"));
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
            ("{\"a\": 1,}", 8, "trailing comma"),
            ("[1,]", 3, "trailing comma"),
            ("{'a': 1}", 1, "quoted key"),
            ("[01]", 2, "leading zeros"),
            ("\"abc", 4, "unterminated"),
            ("[1] x", 4, "after the end"),
            ("{\"a\" 1}", 5, "expected ':'"),
            ("[tru]", 1, "expected a JSON value"),
            ("\"\\x\"", 2, "invalid escape"),
            ("", 0, "end of file"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}: {err}");
            assert!(err.message.contains(words), "{text}: {err}");
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
