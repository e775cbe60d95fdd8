//! strace output as evidence: which syscalls a program made, and which failed with
//! EPERM or ENOSYS (what a seccomp denial looks like from inside).
//!
//! Handles what naive scripts get wrong: `[pid N]` and bare-pid prefixes (`-f`,
//! `-o`), `-ff` per-pid files, timestamps (`-t`, `-tt`, `-ttt`, `-r`), calls split
//! into `<unfinished ...>` and `<... NAME resumed>`, signal (`---`) and exit (`+++`)
//! lines, and `syscall_0x…` for numbers strace has no name for.

use crate::arch::Arch;

/// One call strace showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub pid: Option<u32>,
    pub name: String,
    /// The errno name of a failed call (`EPERM`); `None` when it succeeded or
    /// its result is unknown.
    pub errno: Option<String>,
}

/// What a trace holds.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub calls: Vec<Call>,
    pub signals: u64,
    pub exits: u64,
}

/// Reads a whole trace. `file_pid`: the pid of a `-ff` per-pid file (`trace.1234`).
pub fn parse(text: &str, file_pid: Option<u32>) -> Trace {
    let mut trace = Trace::default();
    // Calls awaiting their `resumed` half: (pid, name, index in calls).
    let mut pending: Vec<(Option<u32>, String, usize)> = Vec::new();
    for line in text.lines() {
        let (pid, rest) = prefix(line);
        let pid = pid.or(file_pid);
        let rest = rest.trim_start();
        if rest.starts_with("---") {
            trace.signals += 1;
            continue;
        }
        if rest.starts_with("+++") {
            trace.exits += 1;
            continue;
        }
        if let Some(resumed) = rest.strip_prefix("<...") {
            // `<... read resumed>…) = 5`
            let Some(end) = resumed.find(" resumed>") else {
                continue;
            };
            let name = resumed[..end].trim();
            if !is_name(name) {
                continue; // not strace's: names are what `call_name` accepts
            }
            let errno = result_errno(&resumed[end..]);
            if let Some(at) = pending.iter().rposition(|(p, n, _)| *p == pid && n == name) {
                let (_, _, index) = pending.remove(at);
                trace.calls[index].errno = errno;
            } else {
                // The first half is in another file or was cut: count it here.
                trace.calls.push(Call {
                    pid,
                    name: resolve(name),
                    errno,
                });
            }
            continue;
        }
        let Some(name) = call_name(rest) else {
            continue;
        };
        let name = resolve(name);
        let unfinished = rest.trim_end().ends_with("<unfinished ...>");
        let errno = if unfinished { None } else { result_errno(rest) };
        if unfinished {
            pending.push((pid, name.clone(), trace.calls.len()));
        }
        trace.calls.push(Call { pid, name, errno });
    }
    trace
}

/// Strips `[pid N]`, a bare pid and timestamps; returns the pid if there was one.
fn prefix(line: &str) -> (Option<u32>, &str) {
    let mut rest = line.trim_start();
    let mut pid = None;
    if let Some(r) = rest.strip_prefix("[pid") {
        if let Some(close) = r.find(']') {
            pid = r[..close].trim().parse().ok();
            rest = r[close + 1..].trim_start();
        }
    }
    // Up to two leading tokens: a bare pid and/or a timestamp.
    for _ in 0..2 {
        let token_end = rest.find([' ', '\t']).unwrap_or(rest.len());
        let token = &rest[..token_end];
        if token.is_empty() || token_end == rest.len() {
            break;
        }
        let digits = token.bytes().all(|b| b.is_ascii_digit());
        let stamp = token
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.')
            && token.bytes().any(|b| b.is_ascii_digit());
        if digits && pid.is_none() {
            pid = token.parse().ok();
        } else if !stamp {
            break;
        }
        rest = rest[token_end..].trim_start();
    }
    (pid, rest)
}

/// The name before `(`, if the line is a call.
fn call_name(rest: &str) -> Option<&str> {
    let open = rest.find('(')?;
    let name = &rest[..open];
    is_name(name).then_some(name)
}

/// A syscall name as strace writes one (`openat`, `syscall_0x1b4`); nothing else
/// from a trace file becomes a name that eperm prints or writes into a profile.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.as_bytes()[0].is_ascii_lowercase()
}

/// `syscall_0x1b4` is a number strace could not name: name it for this arch if we can.
fn resolve(name: &str) -> String {
    if let Some(hex) = name.strip_prefix("syscall_0x") {
        if let Ok(nr) = u32::from_str_radix(hex, 16) {
            if let Some(known) = Arch::native().syscall_name(nr) {
                return known.to_string();
            }
        }
    }
    name.to_string()
}

/// The errno of ` = -1 EPERM (Operation not permitted)`.
fn result_errno(text: &str) -> Option<String> {
    let at = text.rfind(") = ")?;
    let result = &text[at + 4..];
    let mut words = result.split_whitespace();
    if words.next()? != "-1" {
        return None;
    }
    let errno = words.next()?;
    errno
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .then(|| errno.to_string())
}

/// One row of an `strace -c` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    pub name: String,
    pub calls: u64,
    pub errors: u64,
}

/// Reads `strace -c` tables (one or several, e.g. one per personality).
pub fn parse_summary(text: &str) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 3 || words[0].parse::<f64>().is_err() {
            continue;
        }
        let name = *words.last().expect("three words");
        if name == "total" || call_name(&format!("{name}(")).is_none() {
            continue;
        }
        // % time, seconds, usecs/call, calls, [errors], name
        let numbers: Vec<u64> = words[..words.len() - 1]
            .iter()
            .filter_map(|w| w.parse::<u64>().ok())
            .collect();
        let (calls, errors) = match words.len() {
            6 => (words[3].parse().unwrap_or(0), words[4].parse().unwrap_or(0)),
            5 => (words[3].parse().unwrap_or(0), 0),
            _ => (numbers.first().copied().unwrap_or(0), 0),
        };
        rows.push(SummaryRow {
            name: resolve(name),
            calls,
            errors,
        });
    }
    rows
}

/// The pid in a `-ff` file name: `trace.1234`.
pub fn pid_of_file(name: &str) -> Option<u32> {
    let (_, suffix) = name.rsplit_once('.')?;
    suffix.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix("[pid  12] read(3"), (Some(12), "read(3"));
        assert_eq!(prefix("12    read(3"), (Some(12), "read(3"));
        assert_eq!(prefix("12 10:00:01.5 read(3"), (Some(12), "read(3"));
        assert_eq!(prefix("1700000000.123456 read(3"), (None, "read(3"));
        assert_eq!(prefix("     0.000123 read(3"), (None, "read(3"));
    }

    #[test]
    fn a_resumed_half_with_a_name_strace_would_not_write_is_skipped() {
        let t = parse(
            "12 <... \x1b]0;PW\x07 resumed>) = -1 EPERM (Operation not permitted)\n\
             12 <... read resumed>\"x\", 1) = 1\n",
            None,
        );
        let names: Vec<&str> = t.calls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["read"]);
    }
}
