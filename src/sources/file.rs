//! Saved kernel logs: every seccomp record in an audit.log, a kmsg / dmesg / syslog
//! capture, or `journalctl -o json|export` output.

use super::parse::{self, Record, Skip};

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
    let mut out = Scan::default();
    let take = |r: Result<Record, Skip>, out: &mut Scan| match r {
        Ok(r) => out.records.push(r),
        Err(Skip::Truncated) => out.truncated += 1,
        Err(Skip::NotSeccomp) => {}
    };
    let first = data.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if format == Format::Journal && first != Some(b'{') {
        parse::parse_journal_export(data, |r| take(r, &mut out));
        return out;
    }
    for line in data.split(|&b| b == b'\n') {
        let text = match std::str::from_utf8(line) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(line),
        };
        match parse::parse_line(&text) {
            Err(Skip::NotSeccomp) => {
                if let Some(n) = parse::suppressed(&text) {
                    out.suppressed += n;
                }
            }
            r => take(r, &mut out),
        }
    }
    out
}
