//! A status line for long work, redrawn in place on stderr, and only when
//! stderr is a terminal: piped or logged output stays clean.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn at most: fast enough to look alive, rare
/// enough to cost nothing.
const REDRAW: Duration = Duration::from_millis(100);

pub struct Progress {
    on_terminal: bool,
    drawn: Option<Instant>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            on_terminal: std::io::stderr().is_terminal(),
            drawn: None,
        }
    }

    /// Whether anything will be shown (so callers can skip the bookkeeping).
    pub fn on_terminal(&self) -> bool {
        self.on_terminal
    }

    /// Redraws the line as `text`, unless it was redrawn a moment ago.
    pub fn show(&mut self, text: &str) {
        if !self.on_terminal || self.drawn.is_some_and(|t| t.elapsed() < REDRAW) {
            return;
        }
        // \r and "erase line": the new text replaces the old however long it was.
        eprint!("\r\x1b[2Keperm: {text}");
        let _ = std::io::stderr().flush();
        self.drawn = Some(Instant::now());
    }

    /// A line of its own that stays (a step of a long command), on a terminal only.
    pub fn step(&mut self, text: &str) {
        self.clear();
        if self.on_terminal {
            eprintln!("eperm: {text}");
        }
    }

    /// Erases the line, so what follows starts on a clean one.
    pub fn clear(&mut self) {
        if self.drawn.take().is_some() {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `n` bytes for a person: 512 B, 3.4 MiB, 1.2 GiB.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn byte_counts_read_as_a_person_writes_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.0 KiB");
        assert_eq!(bytes(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
        assert_eq!(bytes(5 << 40), "5.0 TiB");
        assert_eq!(bytes(u64::MAX), "16777216.0 TiB");
    }
}
