//! Text eperm did not write and the user did not type: what other processes chose.
//!
//! eperm runs as root and shows names any process sets for itself (`comm`, through
//! `prctl(PR_SET_NAME)`), executable paths, strings read from a caller's memory,
//! the workload's output and the fields of kernel audit records. Sent to a terminal
//! as they are, their escape sequences would retitle it, recolour it, move the
//! cursor to forge lines or (OSC 52) write the clipboard. So such text is carried
//! as [`Untrusted`], whose only `Display` is escaped, and everything shown to a
//! terminal goes through the one function here, [`escape_into`]:
//!
//! - printable UTF-8 is shown as it is;
//! - C0 controls, DEL, C1 controls (U+0080–U+009F) and the invisible characters
//!   that reorder or hide text (bidi overrides, zero-width spaces) are shown byte
//!   by byte in octal, as strace writes them (`\33` for ESC), or C-style (`\n`,
//!   `\t`); a backslash is `\\`, so an escape is never ambiguous;
//! - bytes that are not UTF-8 are shown the same way (`\377`);
//! - very long text is cut, with `…` at the end.
//!
//! JSON output keeps the text exact (`serde_json` escapes control characters
//! itself); bytes that are not UTF-8 cannot be carried by a JSON string and become
//! U+FFFD there.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// At most this many characters of an [`Untrusted`] are shown; longer text ends in `…`.
pub const SHOWN_MAX: usize = 256;

/// Text from outside eperm, kept as the bytes it came as. Shown, it is escaped
/// ([`escape_into`]); in JSON, it is the text itself. Shared, not copied, when
/// cloned: a supervisor gives every event of a thread the same comm and exe.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Untrusted(Arc<[u8]>);

impl Untrusted {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Untrusted {
        Untrusted(Arc::from(bytes.into()))
    }

    /// The bytes as they came: for comparisons, never for a terminal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text unescaped (not-UTF-8 bytes as U+FFFD): for JSON, never for a terminal.
    pub fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<&str> for Untrusted {
    fn from(s: &str) -> Untrusted {
        Untrusted::new(s.as_bytes())
    }
}

impl From<String> for Untrusted {
    fn from(s: String) -> Untrusted {
        Untrusted::new(s.into_bytes())
    }
}

impl From<&std::path::Path> for Untrusted {
    fn from(p: &std::path::Path) -> Untrusted {
        use std::os::unix::ffi::OsStrExt;
        Untrusted::new(p.as_os_str().as_bytes())
    }
}

impl PartialEq<str> for Untrusted {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other.as_bytes()
    }
}

impl PartialEq<&str> for Untrusted {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == *other.as_bytes()
    }
}

/// Escaped and cut at [`SHOWN_MAX`]; width and precision (`{:<10.10}`) apply to
/// the escaped text.
impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = String::with_capacity(self.0.len());
        if escape_into(&mut shown, &self.0, false, SHOWN_MAX) {
            // Too long: again, leaving room for the ellipsis.
            shown.clear();
            escape_into(&mut shown, &self.0, false, SHOWN_MAX - 1);
            shown.push('…');
        }
        f.pad(&shown)
    }
}

impl fmt::Debug for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Untrusted(\"{self}\")")
    }
}

impl serde::Serialize for Untrusted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.lossy())
    }
}

/// Would a terminal act on `c` or hide it, rather than show it? C0 and C1
/// controls, DEL, and the invisible format characters that reorder text (bidi
/// embeddings, overrides and isolates, Trojan-Source style), separate lines, or
/// take no room (zero-width spaces and joiners, the BOM).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Appends `bytes` to `out`, escaped for a terminal as the module says; `quoted`
/// also escapes `"` (for text shown between quotes). At most `max` characters are
/// appended, never half an escape; `true` when some were left out.
pub fn escape_into(out: &mut String, bytes: &[u8], quoted: bool, max: usize) -> bool {
    let mut room = max;
    let mut at = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let len = c.len_utf8();
            let next = bytes.get(at + len).copied();
            let fits = if is_unsafe(c) || c == '\\' || (quoted && c == '"') {
                let mut buf = [0u8; 4];
                push_escaped(out, c.encode_utf8(&mut buf).as_bytes(), next, &mut room)
            } else if room == 0 {
                false
            } else {
                out.push(c);
                room -= 1;
                true
            };
            if !fits {
                return true;
            }
            at += len;
        }
        let invalid = chunk.invalid();
        if !invalid.is_empty() {
            let next = bytes.get(at + invalid.len()).copied();
            if !push_escaped(out, invalid, next, &mut room) {
                return true;
            }
            at += invalid.len();
        }
    }
    false
}

/// Appends the escapes of `bytes` (one character's, or a run that is not UTF-8)
/// if they fit in `room`; `next` is the byte after them, which decides whether a
/// short octal escape would swallow a following digit.
fn push_escaped(out: &mut String, bytes: &[u8], next: Option<u8>, room: &mut usize) -> bool {
    let mut piece = String::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => piece.push_str("\\\""),
            b'\\' => piece.push_str("\\\\"),
            b'\n' => piece.push_str("\\n"),
            b'\t' => piece.push_str("\\t"),
            b'\r' => piece.push_str("\\r"),
            0x0b => piece.push_str("\\v"),
            0x0c => piece.push_str("\\f"),
            _ => {
                let following = bytes.get(i + 1).copied().or(next);
                if matches!(following, Some(b'0'..=b'7')) {
                    piece.push_str(&format!("\\{b:03o}"));
                } else {
                    piece.push_str(&format!("\\{b:o}"));
                }
            }
        }
    }
    // Escapes are ASCII: one byte, one character.
    if piece.len() > *room {
        return false;
    }
    *room -= piece.len();
    out.push_str(&piece);
    true
}

/// `bytes` escaped (see [`escape_into`]), whole: for text that is one field of a
/// line eperm writes, such as an error message quoting a value.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    escape_into(&mut out, bytes, false, usize::MAX);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No byte a terminal acts on: C0 (newline included), DEL, or C1 as a raw byte
    /// or as a character.
    fn inert(s: &str) -> bool {
        !s.bytes().any(|b| b < 0x20 || b == 0x7f) && !s.chars().any(is_unsafe)
    }

    #[test]
    fn a_retitling_name_shows_as_escapes() {
        let name = Untrusted::from("\x1b]0;PW\x07\x1b[31m");
        assert_eq!(name.to_string(), "\\33]0;PW\\7\\33[31m");
        assert!(inert(&name.to_string()));
    }

    #[test]
    fn c1_controls_show_as_their_bytes_whether_utf8_or_raw() {
        // U+009B (CSI) as UTF-8, then a lone 0x9b byte, which is not UTF-8.
        let name = Untrusted::new(b"a\xc2\x9b1m\x9bb".to_vec());
        assert_eq!(name.to_string(), "a\\302\\2331m\\233b");
        assert!(inert(&name.to_string()));
    }

    #[test]
    fn printable_utf8_stays_and_invalid_bytes_are_escaped() {
        let name = Untrusted::new(b"caf\xc3\xa9 \xff\xfe".to_vec());
        assert_eq!(name.to_string(), "café \\377\\376");
    }

    #[test]
    fn bidi_overrides_and_zero_width_characters_are_escaped() {
        let name = Untrusted::from("a\u{202e}b\u{200b}c");
        assert_eq!(name.to_string(), "a\\342\\200\\256b\\342\\200\\213c");
    }

    #[test]
    fn backslashes_are_doubled_so_escapes_are_unambiguous() {
        assert_eq!(Untrusted::from("a\\33").to_string(), "a\\\\33");
        assert_eq!(Untrusted::from("a\x1b3").to_string(), "a\\0333");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis_never_inside_an_escape() {
        let long = Untrusted::new(vec![b'x'; 1000]);
        let shown = long.to_string();
        assert_eq!(shown.chars().count(), SHOWN_MAX);
        assert!(shown.ends_with("x…"));
        let mut bytes = vec![b'y'; SHOWN_MAX - 3];
        bytes.push(0x1b);
        bytes.extend_from_slice(b"zzzz");
        let shown = Untrusted::new(bytes).to_string();
        assert!(shown.ends_with("yy…"), "{shown}");
        assert!(!shown.contains('\\'));
        let short = Untrusted::new(vec![b'x'; SHOWN_MAX]);
        assert!(!short.to_string().contains('…'));
    }

    #[test]
    fn width_and_precision_apply_to_the_escaped_text() {
        let name = Untrusted::from("\x1b[2Jabc");
        assert_eq!(format!("{name:<10.6}|"), "\\33[2J    |");
    }

    #[test]
    fn json_keeps_the_exact_text() {
        let name = Untrusted::from("\x1b]0;PW\x07");
        assert_eq!(
            serde_json::to_string(&name).unwrap(),
            "\"\\u001b]0;PW\\u0007\""
        );
    }

    #[test]
    fn quoted_text_escapes_quotes_too() {
        let mut out = String::new();
        escape_into(&mut out, b"a\"b\n", true, usize::MAX);
        assert_eq!(out, "a\\\"b\\n");
        assert_eq!(escape(b"a\"b"), "a\"b");
    }

    proptest::proptest! {
        #[test]
        fn nothing_a_terminal_acts_on_survives(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let shown = Untrusted::new(bytes.clone()).to_string();
            proptest::prop_assert!(inert(&shown), "{:?} -> {:?}", bytes, shown);
            proptest::prop_assert!(inert(&escape(&bytes)));
        }
    }
}
