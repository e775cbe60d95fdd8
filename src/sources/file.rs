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

/// A file mapped into memory, read-only: a large log is read without copying it.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    /// Maps `path`; `None` when it cannot be mapped (a pipe, an empty file), so that
    /// the caller reads it instead.
    pub fn open(path: &std::path::Path) -> Option<Mapped> {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        if len == 0 || !file.metadata().ok()?.is_file() {
            return None;
        }
        // SAFETY: a private read-only mapping of a file we opened; unmapped on drop.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on our own mapping.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Some(Mapped { ptr, len })
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is valid for `len` bytes while self lives. (A file
        // truncated meanwhile by another process would fault: logs only grow.)
        unsafe { std::slice::from_raw_parts(self.ptr.cast(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmapping what open mapped.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
