//! LSM refusal records (AppArmor and SELinux AVC records, Landlock's
//! `LANDLOCK_ACCESS`): in saved kernel logs, read by `replay` and counted by
//! `import`; live, from the audit socket and /dev/kmsg, shown by `watch` and
//! joined with the workload's refused calls during a run ([`Assembler`]). Not
//! the profile's doing, so named with their layer (`lsm`) and fix, never turned
//! into seccomp allowances. The parsing is [`crate::layer::lsm`]'s.

use super::event::Source;
use crate::layer::lsm::{self, Record};
use crate::untrusted::Untrusted;
use std::time::{Duration, Instant};

/// `AUDIT_SYSCALL`: the record that ends an audited call's event (its pid and number).
pub const AUDIT_SYSCALL: u16 = 1300;
/// `AUDIT_AVC`: AppArmor's and SELinux's records.
pub const AUDIT_AVC: u16 = 1400;
/// `AUDIT_LANDLOCK_ACCESS` (Linux 6.15).
pub const AUDIT_LANDLOCK_ACCESS: u16 = 1423;

/// An LSM refusal read live, with the call it refused when the kernel said
/// (the `SYSCALL` record of the same event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Live {
    pub record: Record,
    /// The audit serial: the same record read from audit and kmsg is one.
    pub serial: Option<u64>,
    /// The syscall number of the refused call.
    pub nr: Option<u32>,
    /// The source that read it (audit or kmsg).
    pub source: Source,
}

/// How long a record waits for its event's `SYSCALL` record: the kernel writes
/// that at the call's exit, right after the LSM's own.
const WAIT_FOR_SYSCALL: Duration = Duration::from_millis(200);

/// Puts the records of one audit event together. Landlock's records name no
/// pid (only the event's `SYSCALL` record does, when the caller has an audit
/// context); AppArmor's and SELinux's do.
pub struct Assembler {
    source: Source,
    pending: Vec<(Instant, Live)>,
}

impl Assembler {
    /// Puts together the records `source` reads.
    pub fn new(source: Source) -> Assembler {
        Assembler {
            source,
            pending: Vec::new(),
        }
    }

    /// A message of the audit socket (`kind`, and the text after its header):
    /// the LSM records whose event is complete now.
    pub fn message(&mut self, kind: u16, payload: &[u8], now: Instant) -> Vec<Live> {
        if !matches!(kind, AUDIT_SYSCALL | AUDIT_AVC | AUDIT_LANDLOCK_ACCESS) {
            return Vec::new();
        }
        let text = String::from_utf8_lossy(payload);
        self.typed(kind, text.trim_end_matches('\0'), now)
    }

    /// A line of /dev/kmsg or a log (`… type=1400 audit(…): …`).
    pub fn line(&mut self, line: &str, now: Instant) -> Vec<Live> {
        let Some(at) = line.find("type=") else {
            return Vec::new();
        };
        let rest = &line[at + 5..];
        let end = rest.find(' ').unwrap_or(rest.len());
        let kind = match &rest[..end] {
            "AVC" => AUDIT_AVC,
            "SYSCALL" => AUDIT_SYSCALL,
            "LANDLOCK_ACCESS" => AUDIT_LANDLOCK_ACCESS,
            n => match n.parse() {
                Ok(k) => k,
                Err(_) => return Vec::new(),
            },
        };
        if !matches!(kind, AUDIT_SYSCALL | AUDIT_AVC | AUDIT_LANDLOCK_ACCESS) {
            return Vec::new();
        }
        self.typed(kind, rest[end..].trim_start(), now)
    }

    /// `text` from `audit(…):` on.
    fn typed(&mut self, kind: u16, text: &str, now: Instant) -> Vec<Live> {
        let serial = serial(text);
        if kind == AUDIT_SYSCALL {
            return self.syscall(text, serial);
        }
        let Some(record) = lsm::parse(&format!("type={kind} msg={text}")) else {
            return Vec::new();
        };
        self.pending.push((
            now,
            Live {
                record,
                serial,
                nr: None,
                source: self.source,
            },
        ));
        Vec::new()
    }

    /// The event's `SYSCALL` record: its LSM records are complete.
    fn syscall(&mut self, text: &str, serial: Option<u64>) -> Vec<Live> {
        if serial.is_none() || self.pending.iter().all(|(_, l)| l.serial != serial) {
            return Vec::new();
        }
        let field = |name: &str| {
            text.split(' ')
                .find_map(|w| w.strip_prefix(name))
                .and_then(|v| v.parse::<u32>().ok())
        };
        let (pid, nr) = (field("pid="), field("syscall="));
        let (done, kept) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(_, l)| l.serial == serial);
        self.pending = kept;
        done.into_iter()
            .map(|(_, mut l)| {
                l.record.pid = l.record.pid.or(pid);
                l.nr = nr;
                l
            })
            .collect()
    }

    /// Every record still waiting that names its pid (the source ends).
    pub fn flush(&mut self) -> Vec<Live> {
        self.expired(Instant::now() + WAIT_FOR_SYSCALL)
    }

    /// The records that waited long enough for a `SYSCALL` record: those that
    /// name their pid go on without the call's number; the others cannot be
    /// told to anyone's call and are dropped.
    pub fn expired(&mut self, now: Instant) -> Vec<Live> {
        let (old, kept) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(at, _)| now.duration_since(*at) >= WAIT_FOR_SYSCALL);
        self.pending = kept;
        old.into_iter()
            .map(|(_, l)| l)
            .filter(|l| l.record.pid.is_some())
            .collect()
    }
}

/// The serial of `audit(SECS.MS:SERIAL): …`.
fn serial(text: &str) -> Option<u64> {
    let head = text.split_once("audit(")?.1;
    let (stamp, _) = head.split_once(')')?;
    stamp.split_once(':')?.1.parse().ok()
}

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
pub fn json(r: &Record, source: Source) -> serde_json::Value {
    serde_json::json!({
        "source": source,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::lsm::Lsm;

    /// The records of one event as the audit socket gives them: Landlock's
    /// (no pid, as the kernel documentation shows it), then the `SYSCALL`
    /// record of the same serial, which names the caller and the call.
    #[test]
    fn a_landlock_record_takes_its_pid_and_call_from_its_event_s_syscall_record() {
        let now = Instant::now();
        let mut a = Assembler::new(Source::Audit);
        let access = b"audit(1729738800.268:30): domain=1a6fdc66f blockers=fs.read_file \
                       path=\"/etc/hostname\" dev=\"vda2\" ino=2316";
        assert_eq!(a.message(AUDIT_LANDLOCK_ACCESS, access, now), vec![]);
        // Another event's SYSCALL record completes nothing.
        let other = b"audit(1729738800.268:29): arch=c000003e syscall=2 pid=9";
        assert_eq!(a.message(AUDIT_SYSCALL, other, now), vec![]);
        let syscall = b"audit(1729738800.268:30): arch=c000003e syscall=257 success=no \
                        exit=-13 a0=ffffff9c ppid=1 pid=286 auid=0 uid=0 comm=\"sandboxer\"";
        let done = a.message(AUDIT_SYSCALL, syscall, now);
        assert_eq!(done.len(), 1, "{done:?}");
        let live = &done[0];
        assert_eq!(live.record.lsm, Lsm::Landlock);
        assert_eq!(live.record.pid, Some(286));
        assert_eq!(live.record.subject, "1a6fdc66f");
        assert_eq!(live.record.operation, "fs.read_file");
        assert_eq!(live.record.object, "/etc/hostname");
        assert_eq!((live.nr, live.serial), (Some(257), Some(30)));
        assert_eq!(a.flush(), vec![]);
    }

    /// With no `SYSCALL` record (a caller without an audit context), an AVC
    /// record goes on by its own pid once it waited; a Landlock record, which
    /// names nobody, is dropped.
    #[test]
    fn records_without_their_syscall_record_go_on_by_their_own_pid_or_not_at_all() {
        let now = Instant::now();
        let mut a = Assembler::new(Source::Kmsg);
        let avc = "6,100,5,-;audit: type=1400 audit(1609167925.123:456): apparmor=\"DENIED\" \
                   operation=\"open\" profile=\"/usr/sbin/cupsd\" name=\"/etc/shadow\" pid=1234 \
                   comm=\"cupsd\" requested_mask=\"r\" denied_mask=\"r\" fsuid=0 ouid=0";
        let landlock = "audit: type=1423 audit(1729738800.268:31): domain=1a6fdc66f \
                        blockers=fs.read_file path=\"/etc/passwd\"";
        assert_eq!(a.line(avc, now), vec![]);
        assert_eq!(a.line(landlock, now), vec![]);
        // A SELinux grant in permissive mode and a seccomp record are no refusals.
        let grant = "audit: type=1400 audit(1.2:457): avc:  denied  { read } for pid=1 \
                     scontext=a tcontext=b tclass=file permissive=1";
        let seccomp = "audit: type=1326 audit(1.2:458): pid=1 syscall=83 code=0x50001";
        assert_eq!(a.line(grant, now), vec![]);
        assert_eq!(a.line(seccomp, now), vec![]);
        assert_eq!(
            a.expired(now),
            vec![],
            "not yet: the SYSCALL record may come"
        );
        let gone = a.expired(now + WAIT_FOR_SYSCALL);
        assert_eq!(gone.len(), 1, "{gone:?}");
        assert_eq!(gone[0].record.lsm, Lsm::AppArmor);
        assert_eq!(gone[0].record.pid, Some(1234));
        assert_eq!(gone[0].nr, None);
        assert_eq!(gone[0].source, Source::Kmsg);
        assert_eq!(a.flush(), vec![], "the Landlock record named nobody");
    }
}
