//! A YAML reader that gives the same positioned tree as [`crate::json`], so that
//! a Kubernetes `SeccompProfile` is checked, explained and edited like a JSON
//! profile, with errors at `line:column` of the YAML.
//!
//! The events come from `saphyr-parser`: the maintained successor of the
//! yaml-rust / yaml-rust2 line (serde_yaml is archived and serde_yml unsound),
//! pure Rust with no unsafe code, YAML 1.2, and — what eperm needs — a span for
//! every event. Serde front-ends on top of YAML crates drop those spans, and
//! the editor splices the original text at them, so comments and key order
//! survive every save.
//!
//! Scalars are typed as Kubernetes reads them (sigs.k8s.io/yaml on go-yaml,
//! YAML 1.1 rules): `0x1f`, `0o17` and `017` are integers, `yes`/`on` booleans,
//! `~` and an empty value null. Aliases are refused: an edit of one spot would
//! change every place that refers to it.

use crate::json::{Member, Node, Span, SyntaxError, Value};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

const MAX_DEPTH: usize = 128;

/// Reads one YAML document into a positioned tree.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    let mut b = Builder {
        text,
        offsets,
        parser: Parser::new_from_str(text),
        path: Vec::new(),
    };
    let mut root = None;
    loop {
        let (event, span) = b.next()?;
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart(_) if root.is_some() => {
                return Err(b
                    .error(span.start, "a second YAML document (after ---)")
                    .hint(
                        "a profile is one document: put each SeccompProfile in a file of its own",
                    ));
            }
            Event::DocumentStart(_) => root = Some(b.node()?),
            Event::StreamEnd => break,
            _ => return Err(b.error(span.start, "unexpected YAML event")),
        }
    }
    root.ok_or_else(|| SyntaxError {
        offset: 0,
        message: "the file holds no YAML document".into(),
        path: String::new(),
        hint: Some("a SeccompProfile starts with apiVersion: and kind:".into()),
    })
}

/// Does `text` look like JSON (as opposed to YAML)? JSON is also YAML, but the
/// JSON reader's messages are the better ones for it.
pub fn looks_like_json(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with(['{', '['])
}

enum Step {
    Key(String),
    Index(usize),
}

struct Builder<'t> {
    text: &'t str,
    /// Byte offset of each char index (the parser counts in chars).
    offsets: Vec<usize>,
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    path: Vec<Step>,
}

impl<'t> Builder<'t> {
    fn byte(&self, char_index: usize) -> usize {
        self.offsets[char_index.min(self.offsets.len() - 1)]
    }

    fn next(&mut self) -> Result<ByteEvent<'t>, SyntaxError> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                let (start, end) = (self.byte(span.start.index()), self.byte(span.end.index()));
                Ok((event, ByteSpan { start, end }))
            }
            Some(Err(e)) => Err(self.scan_error(&e)),
            None => Ok((Event::StreamEnd, ByteSpan::default())),
        }
    }

    fn path(&self) -> String {
        let mut out = String::new();
        for step in &self.path {
            match step {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn error(&self, offset: usize, message: &str) -> SyntaxError {
        SyntaxError {
            offset,
            message: message.to_string(),
            path: self.path(),
            hint: None,
        }
    }

    fn scan_error(&self, e: &ScanError) -> SyntaxError {
        let hint = e
            .info()
            .contains("tab")
            .then(|| "YAML indents with spaces only: replace the tabs".to_string());
        SyntaxError {
            hint,
            ..self.error(self.byte(e.marker().index()), e.info())
        }
    }

    /// The node whose first event is next.
    fn node(&mut self) -> Result<Node, SyntaxError> {
        let (event, span) = self.next()?;
        self.node_from(event, span)
    }

    fn node_from(&mut self, event: Event<'t>, span: ByteSpan) -> Result<Node, SyntaxError> {
        match event {
            Event::Scalar(value, style, _, tag) => {
                let forced_str = tag.is_some_and(|t| t.suffix == "str");
                Ok(Node {
                    span: self.scalar_span(span, style),
                    value: scalar(&value, style, forced_str),
                })
            }
            // As deep as the JSON reader goes: a profile is four levels deep.
            Event::SequenceStart(..) | Event::MappingStart(..) if self.path.len() >= MAX_DEPTH => {
                Err(self.error(span.start, &format!("nested more than {MAX_DEPTH} levels deep")))
            }
            Event::SequenceStart(..) => self.sequence(span),
            Event::MappingStart(..) => self.mapping(span),
            Event::Alias(_) => Err(self
                .error(span.start, "a YAML alias (*name)")
                .hint("eperm edits profiles in place, and an alias would change with its anchor: write the value out")),
            _ => Err(self.error(span.start, "expected a value")),
        }
    }

    /// Block scalars end after their trailing line breaks: keep the content only.
    fn scalar_span(&self, span: ByteSpan, style: ScalarStyle) -> Span {
        let end = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                span.start + self.text[span.start..span.end].trim_end().len()
            }
            _ => span.end,
        };
        Span {
            start: span.start,
            end,
        }
    }

    fn sequence(&mut self, open: ByteSpan) -> Result<Node, SyntaxError> {
        let flow = self.text[open.start..].starts_with('[');
        let mut items = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if event == Event::SequenceEnd {
                let end = collection_end(flow, span, items.last().map(|n: &Node| n.span.end), open);
                // A block sequence starts at its first dash, not its first item.
                let start = if flow {
                    open.start
                } else {
                    dash_before(self.text, open.start).unwrap_or(open.start)
                };
                return Ok(Node {
                    span: Span { start, end },
                    value: Value::Array(items),
                });
            }
            self.path.push(Step::Index(items.len()));
            let item = self.node_from(event, span)?;
            self.path.pop();
            items.push(item);
        }
    }

    fn mapping(&mut self, open: ByteSpan) -> Result<Node, SyntaxError> {
        let flow = self.text[open.start..].starts_with('{');
        let mut members: Vec<Member> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if event == Event::MappingEnd {
                let end =
                    collection_end(flow, span, members.last().map(|m| m.value.span.end), open);
                return Ok(Node {
                    span: Span {
                        start: open.start,
                        end,
                    },
                    value: Value::Object(members),
                });
            }
            let key = self.node_from(event, span)?;
            let name = match &key.value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) | Value::Null => {
                    self.text[key.span.start..key.span.end].to_string()
                }
                _ => {
                    return Err(self
                        .error(key.span.start, "a list or mapping used as a key")
                        .hint("keys of a SeccompProfile are plain words"))
                }
            };
            if members.iter().any(|m| m.key == name) {
                return Err(self
                    .error(
                        key.span.start,
                        &format!("duplicate key {}", crate::json::quote(&name)),
                    )
                    .hint("Kubernetes refuses a mapping with a key twice: keep one"));
            }
            self.path.push(Step::Key(name.clone()));
            let (event, vspan) = self.next()?;
            let mut value = self.node_from(event, vspan)?;
            self.path.pop();
            // `key:` with nothing after it: the empty null stands right after the colon.
            if value.is_null() && value.span.start == value.span.end {
                let after_key = key.span.end;
                let colon = self.text[after_key..]
                    .find(':')
                    .map_or(after_key, |i| after_key + i + 1);
                value.span = Span {
                    start: colon,
                    end: colon,
                };
            }
            members.push(Member {
                key: name,
                key_span: key.span,
                value,
            });
        }
    }
}

/// The `-` that introduces the block sequence item starting at `item`.
pub fn dash_before(text: &str, item: usize) -> Option<usize> {
    let before = text[..item].trim_end_matches(' ');
    before.ends_with('-').then(|| before.len() - 1)
}

/// The comment lines right above the line holding `offset`, without their `#`:
/// in a SeccompProfile, a rule's comment.
pub fn comment_above(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut lines: Vec<&str> = Vec::new();
    for line in text[..line_start].lines().rev() {
        let Some(c) = line.trim_start().strip_prefix('#') else {
            break;
        };
        lines.push(c.strip_prefix(' ').unwrap_or(c).trim_end());
    }
    lines.reverse();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Does a line of `text` holding any of `start..end` carry a `#` comment
/// (outside quotes)? A rule's trailing comment speaks of it as one above does.
pub fn has_comment(text: &str, start: usize, end: usize) -> bool {
    let from = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let to = text[end..].find('\n').map_or(text.len(), |i| end + i);
    text[from..to].lines().any(line_has_comment)
}

fn line_has_comment(line: &str) -> bool {
    let mut quote = None;
    let mut after_space = true;
    for c in line.chars() {
        match (quote, c) {
            (None, '#') if after_space => return true,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            _ => {}
        }
        after_space = c == ' ' || c == '\t';
    }
    false
}

#[derive(Clone, Copy, Debug, Default)]
struct ByteSpan {
    start: usize,
    end: usize,
}

type ByteEvent<'t> = (Event<'t>, ByteSpan);

/// A scalar typed as go-yaml (YAML 1.1) types it.
/// Where a collection opened at `open` ends, given its end event's span and
/// where its last element ends. A flow collection ends at its bracket (the end
/// event's span runs on over a trailing comment); a block one at its last element.
fn collection_end(flow: bool, end_event: ByteSpan, last: Option<usize>, open: ByteSpan) -> usize {
    if flow {
        end_event.start + 1
    } else {
        last.unwrap_or(open.end)
    }
}

fn scalar(raw: &str, style: ScalarStyle, forced_str: bool) -> Value {
    if style != ScalarStyle::Plain || forced_str {
        return Value::String(raw.to_string());
    }
    match raw {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Value::Bool(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if let Some(n) = integer(raw) {
        return Value::Number(n);
    }
    let float = raw.parse::<f64>().is_ok() && raw.bytes().any(|b| b.is_ascii_digit());
    if float {
        return Value::Number(raw.to_string());
    }
    Value::String(raw.to_string())
}

/// An integer in any base go-yaml reads (`_` separators allowed), in decimal.
fn integer(raw: &str) -> Option<String> {
    let s: String = raw.chars().filter(|&c| c != '_').collect();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Wider than u64 still reads as a number, so range errors say "too large".
    let n = u128::from_str_radix(body, radix).ok()?;
    Some(if negative {
        format!("-{n}")
    } else {
        n.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_byte_spans_of_their_text() {
        let text = "# c\nspec:\n  names:\n  - réad\n  - 'write'\n  flow: [a, \"b\"] # c\n";
        let root = parse(text).unwrap();
        let names = root.get("spec").unwrap().get("names").unwrap();
        let items = names.items().unwrap();
        assert_eq!(&text[items[0].span.start..items[0].span.end], "réad");
        assert_eq!(&text[items[1].span.start..items[1].span.end], "'write'");
        assert_eq!(items[1].as_str(), Some("write"));
        let flow = root.get("spec").unwrap().get("flow").unwrap();
        assert_eq!(&text[flow.span.start..flow.span.end], "[a, \"b\"]");
    }

    #[test]
    fn scalars_are_typed_as_kubernetes_reads_them() {
        let root = parse("a: 0x26\nb: 017\nc: '12'\nd: ~\ne: yes\nf: 1_000\ng: -1\nh:\n").unwrap();
        let get = |k: &str| root.get(k).unwrap().value.clone();
        assert_eq!(get("a"), Value::Number("38".into()));
        assert_eq!(get("b"), Value::Number("15".into()));
        assert_eq!(get("c"), Value::String("12".into()));
        assert_eq!(get("d"), Value::Null);
        assert_eq!(get("e"), Value::Bool(true));
        assert_eq!(get("f"), Value::Number("1000".into()));
        assert_eq!(get("g"), Value::Number("-1".into()));
        assert_eq!(get("h"), Value::Null);
    }

    #[test]
    fn aliases_duplicates_and_second_documents_are_refused() {
        let e = parse("a: &x [1]\nb: *x\n").unwrap_err();
        assert!(e.message.contains("alias"), "{}", e.message);
        assert_eq!(e.path, "b");
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate key \"a\""), "{}", e.message);
        assert_eq!(e.offset, 5);
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("second YAML document"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // The scanner stops the deepest itself; ours stops what it lets through.
        let e = parse(&format!("a: {}", "[".repeat(100_000))).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
        let e = parse(&format!("a: {}{}", "[".repeat(200), "]".repeat(200))).unwrap_err();
        assert!(e.message.contains("nested more than 128"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_say_where() {
        let text = "spec:\n  names: [read\n  x: 1\n";
        let e = parse(text).unwrap_err();
        assert!(e.offset > 6, "{e:?}");
    }

    #[test]
    fn block_sequences_start_at_their_dash_and_comments_above_are_found() {
        let text = "a:\n  # first\n  # second\n  - x\n  - y\n";
        let root = parse(text).unwrap();
        let a = root.get("a").unwrap();
        assert_eq!(&text[a.span.start..a.span.end], "- x\n  - y");
        let x = a.items().unwrap()[0].span.start;
        assert_eq!(comment_above(text, x).as_deref(), Some("first\nsecond"));
        let y = a.items().unwrap()[1].span.start;
        assert_eq!(comment_above(text, y), None);
    }

    #[test]
    fn comments_on_a_span_s_lines_are_found_outside_quotes() {
        let text =
            "- names: [clone3]   # falls back\n  action: X\n- names: ['a#b', \"c #d\"]\n  x: y#z\n";
        let second = text.find("- names: ['").unwrap();
        assert!(has_comment(text, 2, second - 1));
        assert!(!has_comment(text, second + 2, text.len() - 1));
        assert!(has_comment("a: 1\n# only\n", 0, 10));
    }

    proptest::proptest! {
        /// Any text, and any cut of a real profile: an error or a tree, never a panic;
        /// an error points into the text, and a refused profile says where and why.
        #[test]
        fn never_panics(text in "[ -~\n\t\u{e9}\u{1F600}]{0,200}", cut in 0usize..1000) {
            match parse(&text) {
                Ok(root) => prop_within(&text, root.span.start, root.span.end)?,
                Err(e) => {
                    prop_within(&text, e.offset, e.offset)?;
                    proptest::prop_assert!(!e.message.is_empty());
                }
            }
            refused_with_reasons(&text)?;
            let real = include_str!("../../../../tests/fixtures/spo/profile.yaml");
            let cut = real.char_indices().map(|(i, _)| i).find(|&i| i >= cut).unwrap_or(real.len());
            if cut == real.len() {
                let whole = crate::profile::load_str("t.yaml", real.to_string());
                let rules = whole.map(|p| p.rules.len()).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(rules, Ok(4));
            } else {
                refused_with_reasons(&real[..cut])?;
            }
        }
    }

    /// `start..end` lies within `text`, on character boundaries.
    fn prop_within(
        text: &str,
        start: usize,
        end: usize,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        proptest::prop_assert!(
            start <= end && end <= text.len(),
            "{start}..{end} of {}",
            text.len()
        );
        proptest::prop_assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
        Ok(())
    }

    /// If `text` does not load, the error is about `t.yaml` and lists at least one
    /// problem, each with a code, a message and a line:column inside the text.
    fn refused_with_reasons(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let Err(e) = crate::profile::load_str("t.yaml", text.to_string()) else {
            return Ok(());
        };
        proptest::prop_assert_eq!(e.file(), "t.yaml");
        proptest::prop_assert!(!e.problems().is_empty(), "{}", e);
        let lines = text.split('\n').count();
        for d in e.problems() {
            proptest::prop_assert!(!d.code.is_empty() && !d.message.is_empty(), "{d:?}");
            proptest::prop_assert!(
                d.line >= 1 && d.line <= lines && d.column >= 1,
                "{d:?} in {lines} lines"
            );
        }
        Ok(())
    }

    #[test]
    fn json_is_told_apart() {
        assert!(looks_like_json("  \n{\"a\": 1}"));
        assert!(!looks_like_json("apiVersion: v1\n"));
    }
}
