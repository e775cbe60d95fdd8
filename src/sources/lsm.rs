//! LSM refusal records in saved kernel logs (AppArmor and SELinux AVC records,
//! Landlock's `LANDLOCK_ACCESS`), read by `replay` and counted by `import`: not
//! the profile's doing, so named with their layer (`lsm`) and fix, never turned
//! into seccomp allowances. The parsing is [`crate::layer::lsm`]'s.

use crate::layer::lsm::{self, Record};
use crate::untrusted::Untrusted;

/// The LSM refusals among the lines of `data`.
pub fn records(data: &[u8]) -> Vec<Record> {
    let has = |line: &[u8], word: &[u8]| line.windows(word.len()).any(|w| w == word);
    data.split(|&b| b == b'\n')
        // Cheap tests first: most lines of an audit log are nobody's refusal.
        .filter(|line| {
            has(line, b"DENIED")
                || has(line, b"denied")
                || has(line, b"LANDLOCK_ACC")
                || has(line, b"type=1423")
        })
        .filter_map(|line| lsm::parse(&String::from_utf8_lossy(line)))
        .collect()
}

/// One line for a terminal: the layer, the pid, the evidence and the fix,
/// escaped (a log's text is anyone's).
pub fn line(r: &Record) -> String {
    let pid = r.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
    let shown = |s: String| Untrusted::new(s.into_bytes()).to_string();
    format!(
        "lsm: {:<8} pid {pid:<7} {}; fix: {}",
        r.lsm,
        shown(r.describe()),
        shown(r.fix())
    )
}

/// As `--json` writes it: `"layer":"lsm"` with the record's facts.
pub fn json(r: &Record) -> serde_json::Value {
    serde_json::json!({
        "source": "file",
        "pid": r.pid,
        "layer": "lsm",
        "lsm": {
            "lsm": r.lsm.to_string(),
            "operation": r.operation,
            "subject": r.subject,
            "object": r.object,
            "record": r.text,
        },
        "evidence": r.describe(),
        "fix": r.fix(),
    })
}
