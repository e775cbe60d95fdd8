//! Saved kernel logs: every seccomp record in an audit.log, a kmsg / dmesg / syslog
//! capture, or `journalctl -o json|export` output.

use super::audit_record::{self as parse, Record, Skip};

/// What the file is. Line-based forms share one reader (the line parser finds the
/// record in any of them); the journal's export format is not line-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// audit.log, or anything else with one record per line.
    Audit,
    /// /dev/kmsg, dmesg (with or without timestamps), syslog / kern.log.
    Kmsg,
    /// `journalctl -o json` or `-o export` (told apart by the first byte).
    Journal,
}

/// Everything read from one file.
#[derive(Clone, Debug, Default)]
pub struct Scan {
    pub records: Vec<Record>,
    /// Lines that looked like seccomp records but were cut short.
    pub truncated: u64,
    /// Records the printk rate limit dropped (`kauditd_printk_skb: N callbacks suppressed`).
    pub suppressed: u64,
}

/// Reads every record of `data`.
pub fn scan(format: Format, data: &[u8]) -> Scan {
    let mut records = Vec::new();
    let (truncated, suppressed) = each_record(format, data, |r| records.push(r));
    Scan {
        records,
        truncated,
        suppressed,
    }
}

/// Calls `each` with every record of `data`, in order, without collecting them;
/// returns (truncated, suppressed).
pub fn each_record(format: Format, data: &[u8], mut each: impl FnMut(Record)) -> (u64, u64) {
    let (mut truncated, mut suppressed) = (0, 0);
    let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if format == Format::Journal && first != Some(b'{') {
        parse::parse_journal_export(data, |r| match r {
            Ok(r) => each(r),
            Err(Skip::Truncated) => truncated += 1,
            Err(Skip::NotSeccomp) => {}
        });
        return (truncated, suppressed);
    }
    // Valid UTF-8 (the usual case) is checked once for the whole text, and lines are
    // then found with memchr; otherwise each line is made valid on its own.
    let whole = std::str::from_utf8(data).ok();
    let lines: Box<dyn Iterator<Item = std::borrow::Cow<str>>> = match whole {
        Some(text) => Box::new(text.split('\n').map(std::borrow::Cow::Borrowed)),
        None => Box::new(data.split(|&b| b == b'\n').map(String::from_utf8_lossy)),
    };
    for text in lines {
        match parse::parse_line(&text) {
            Ok(r) => each(r),
            Err(Skip::Truncated) => truncated += 1,
            Err(Skip::NotSeccomp) => {
                if let Some(n) = parse::suppressed(&text) {
                    suppressed += n;
                }
            }
        }
    }
    (truncated, suppressed)
}

/// Splits line-based `data` into about `parts` pieces at line ends, for reading in
/// parallel.
pub fn chunks(data: &[u8], parts: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let size = data.len() / parts.max(1) + 1;
    while start < data.len() {
        let mut end = (start + size).min(data.len());
        while end < data.len() && data[end - 1] != b'\n' {
            end += 1;
        }
        out.push(&data[start..end]);
        start = end;
    }
    out
}

/// How much of a log is read at a time: a log is streamed, never read whole,
/// so a huge (or endless, or truncated meanwhile) one costs no more memory.
pub const BLOCK: usize = 8 << 20;

/// Reads `from` a block at a time and calls `each` with whole records: a
/// block ends at a line's end, or, in the journal's export form (fields
/// starting `__`), at the blank line that ends an entry. A record longer
/// than two blocks is cut where they end.
pub fn each_block(
    mut from: impl std::io::Read,
    mut each: impl FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut pending: Vec<u8> = Vec::new();
    let mut block = vec![0u8; BLOCK];
    let mut export = None;
    loop {
        let n = match from.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        pending.extend_from_slice(&block[..n]);
        let export = *export.get_or_insert_with(|| {
            let start = pending.iter().position(|b| !b.is_ascii_whitespace());
            start.is_some_and(|i| pending[i..].starts_with(b"__"))
        });
        let end = match export {
            true => pending
                .windows(2)
                .rposition(|w| w == b"\n\n")
                .map(|i| i + 2),
            false => pending.iter().rposition(|&b| b == b'\n').map(|i| i + 1),
        };
        match end {
            Some(end) => {
                each(&pending[..end]);
                pending.drain(..end);
            }
            None if pending.len() >= 2 * BLOCK => {
                each(&pending);
                pending.clear();
            }
            None => {}
        }
    }
    if !pending.is_empty() {
        each(&pending);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_end_at_whole_records() {
        let mut text = Vec::new();
        for i in 0..(3 * BLOCK / 20) {
            text.extend_from_slice(format!("line {i:013}\n").as_bytes());
        }
        text.extend_from_slice(b"last, no newline");
        let mut seen = Vec::new();
        let mut blocks = 0;
        each_block(&text[..], |b| {
            assert!(b.ends_with(b"\n") || b.ends_with(b"newline"));
            seen.extend_from_slice(b);
            blocks += 1;
        })
        .unwrap();
        assert_eq!(seen, text);
        assert!(blocks > 1);
    }

    #[test]
    fn an_endless_line_is_cut_not_kept_whole() {
        let mut biggest = 0;
        let endless = std::io::Read::take(std::io::repeat(b'x'), 5 * BLOCK as u64);
        each_block(endless, |b| biggest = biggest.max(b.len())).unwrap();
        assert!(biggest <= 3 * BLOCK);
    }
}
