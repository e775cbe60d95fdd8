//! One parser for the kernel's seccomp audit record (type 1326, `SECCOMP`) in every
//! form users have it: a netlink payload, a `/dev/kmsg` line, `dmesg` output (with or
//! without `[ 12.345]`), `/var/log/audit/audit.log`, syslog / kern.log lines, and
//! `journalctl -o json` / `-o export` output.
//!
//! The kernel writes the record's body as `key=value` pairs:
//! `auid=… uid=… gid=… ses=… [subj=…] pid=… comm="…" exe="…" sig=… arch=c000003e
//! syscall=… compat=… ip=0x… code=0x…`. Strings are quoted, or hex-encoded (unquoted)
//! when they hold a space, a quote or a control character. Everything here is
//! lenient about order and extra fields, and never panics on any input.

use crate::arch::Arch;
use crate::profile::Action;
use crate::untrusted::Untrusted;

/// The audit record type of seccomp reports.
pub const AUDIT_SECCOMP: u16 = 1326;

/// One seccomp record, as the kernel reported it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Record {
    /// Seconds and milliseconds since the epoch, from `audit(SECS.MS:SERIAL)`.
    pub time: Option<(u64, u32)>,
    /// The audit serial: with `time`, it identifies the record across sources.
    pub serial: Option<u64>,
    pub pid: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// 4294967295 (unset) is `None`.
    pub auid: Option<u32>,
    /// 4294967295 (unset) is `None`.
    pub ses: Option<u32>,
    /// The process's name and executable, as the kernel logged them (hex decoded):
    /// the process chose them, so they are untrusted.
    pub comm: Option<Untrusted>,
    pub exe: Option<Untrusted>,
    pub sig: u32,
    /// The raw `AUDIT_ARCH_*` value.
    pub audit_arch: u32,
    /// The arch of the call: x86_64's AUDIT_ARCH with the x32 bit in `nr` is x32.
    pub arch: Option<Arch>,
    /// The number as seccomp saw it (x32 numbers keep their 0x40000000 bit).
    pub nr: u32,
    pub compat: bool,
    pub ip: u64,
    /// The filter's return value (`SECCOMP_RET_*` | data).
    pub code: u32,
}

impl Record {
    /// The syscall's name for its arch, if this arch has that number.
    pub fn syscall_name(&self) -> Option<&'static str> {
        self.arch?.syscall_name(self.nr)
    }

    /// The syscall's name, or `nr_N` when unknown.
    pub fn syscall(&self) -> String {
        self.syscall_name()
            .map_or_else(|| format!("nr_{}", self.nr), str::to_string)
    }

    /// The arch's short name, or the raw AUDIT_ARCH in hex.
    pub fn arch_name(&self) -> String {
        self.arch.map_or_else(
            || format!("{:x}", self.audit_arch),
            |a| a.name().to_string(),
        )
    }

    /// The filter's action, as profiles write it: `SCMP_ACT_LOG`.
    pub fn action(&self) -> &'static str {
        action_name(self.code)
    }

    /// The errno data of an ERRNO action.
    pub fn errno(&self) -> Option<u32> {
        (self.code & 0xffff_0000 == 0x0005_0000).then_some(self.code & 0xffff)
    }

    /// Identifies the record across sources: the same record read from netlink and
    /// from kmsg has the same time stamp and serial.
    pub fn key(&self) -> Option<(u64, u32, u64)> {
        let (s, ms) = self.time?;
        Some((s, ms, self.serial?))
    }
}

/// `SECCOMP_RET_*` (the top 16 bits of `code`) as libseccomp names it.
pub fn action_name(code: u32) -> &'static str {
    match action(code) {
        // The return value's own name; profiles write the action `SCMP_ACT_KILL`.
        Some(Action::KillThread) => "SCMP_ACT_KILL_THREAD",
        Some(a) => a.name(),
        None => "SCMP_ACT_UNKNOWN",
    }
}

/// The action whose return value (the top 16 bits of `code`) this is.
pub fn action(code: u32) -> Option<Action> {
    Some(match code & 0xffff_0000 {
        0x8000_0000 => Action::KillProcess,
        0x0000_0000 => Action::KillThread,
        0x0003_0000 => Action::Trap,
        0x0005_0000 => Action::Errno,
        0x7fc0_0000 => Action::Notify,
        0x7ff0_0000 => Action::Trace,
        0x7ffc_0000 => Action::Log,
        0x7fff_0000 => Action::Allow,
        _ => return None,
    })
}

/// Why a line gave no record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not a seccomp record at all (the common case, decided by a substring test).
    NotSeccomp,
    /// Looks like one, but `arch` or `syscall` is missing or unreadable (a cut line).
    Truncated,
}

/// Parses any one line holding a seccomp record: kmsg, dmesg, audit.log, syslog, or a
/// `journalctl -o json` line. Other lines are `Skip::NotSeccomp`, decided quickly.
pub fn parse_line(line: &str) -> Result<Record, Skip> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim_start().starts_with('{') {
        if line.contains("SECCOMP") || line.contains("1326") {
            return parse_journal_json(line);
        }
        return Err(Skip::NotSeccomp);
    }
    match find_type(line) {
        Some(i) => parse_after_type(&line[i..]),
        None => Err(Skip::NotSeccomp),
    }
}

/// Parses the payload of a netlink message of type 1326: `audit(SECS.MS:SERIAL): body`.
pub fn parse_payload(payload: &[u8]) -> Result<Record, Skip> {
    let end = payload
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(payload.len());
    let text = String::from_utf8_lossy(&payload[..end]);
    let text = text.trim_start();
    match text.strip_prefix("audit(") {
        Some(rest) => parse_stamped(rest),
        None => parse_body(text, Record::default()),
    }
}

/// The index just past `type=1326` or `type=SECCOMP`, if the line has either.
fn find_type(line: &str) -> Option<usize> {
    // audit.log: the type comes first.
    if let Some(rest) = line.strip_prefix("type=") {
        return type_word(rest).map(|n| 5 + n);
    }
    let mut from = 0;
    while let Some(i) = line[from..].find("type=") {
        let at = from + i + "type=".len();
        let rest = &line[at..];
        if let Some(n) = type_word(rest) {
            return Some(at + n);
        }
        from = at;
    }
    None
}

/// The length of `1326` or `SECCOMP` at the start of `rest`, as a whole word.
fn type_word(rest: &str) -> Option<usize> {
    for word in ["1326", "SECCOMP"] {
        if let Some(after) = rest.strip_prefix(word) {
            if after.is_empty() || after.starts_with([' ', '\t']) {
                return Some(word.len());
            }
        }
    }
    None
}

/// After the type: ` msg=audit(…): body` or ` audit(…): body`, or just a body.
fn parse_after_type(rest: &str) -> Result<Record, Skip> {
    match rest.find("audit(") {
        Some(i) => parse_stamped(&rest[i + "audit(".len()..]),
        None => parse_body(rest, Record::default()),
    }
}

/// `SECS.MS:SERIAL): body`.
fn parse_stamped(rest: &str) -> Result<Record, Skip> {
    let mut record = Record::default();
    let Some(close) = rest.find(')') else {
        return Err(Skip::Truncated);
    };
    let stamp = &rest[..close];
    if let Some((time, serial)) = stamp.split_once(':') {
        record.serial = serial.parse().ok();
        if let Some((s, ms)) = time.split_once('.') {
            if let (Ok(s), Ok(ms)) = (s.parse(), ms.parse()) {
                record.time = Some((s, ms));
            }
        }
    }
    let body = &rest[close + 1..];
    let body = body.strip_prefix(':').unwrap_or(body);
    parse_body(body, record)
}

/// The `key=value` pairs. Stops at audit.log's enrichment separator (0x1d).
/// A single pass over the bytes: this is the hot loop of `import`.
fn parse_body(body: &str, mut r: Record) -> Result<Record, Skip> {
    let cut = body.bytes().position(|c| c == 0x1d).unwrap_or(body.len());
    let body = &body[..cut];
    let b = body.as_bytes();
    let mut arch = None;
    let mut nr: Option<u64> = None;
    let mut i = 0;
    // Every index used to slice is at an ASCII byte or the end: a char boundary.
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            continue; // a stray word
        }
        let key = &body[key_start..i];
        i += 1;
        let (value, quoted) = if i < b.len() && b[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j] != b'"' {
                j += 1;
            }
            // An unterminated quote: the line was cut; take what is there.
            i = (j + 1).min(b.len());
            (&body[start..j], true)
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            (&body[start..i], false)
        };
        match key {
            "pid" => r.pid = value.parse().unwrap_or(0),
            "uid" => r.uid = value.parse().ok(),
            "gid" => r.gid = value.parse().ok(),
            "auid" => r.auid = id(value),
            "ses" => r.ses = id(value),
            "comm" => r.comm = Some(string(value, quoted)),
            "exe" => r.exe = Some(string(value, quoted)),
            "sig" => r.sig = value.parse().unwrap_or(0),
            "arch" => arch = u32::from_str_radix(value, 16).ok(),
            // The kernel prints the number as a signed long.
            "syscall" => nr = value.parse::<i64>().ok().map(|n| n as u64),
            "compat" => r.compat = value == "1",
            "ip" => r.ip = hex(value).unwrap_or(0),
            "code" => r.code = hex(value).unwrap_or(0) as u32,
            _ => {}
        }
    }
    let (Some(audit_arch), Some(nr)) = (arch, nr) else {
        return Err(Skip::Truncated);
    };
    r.audit_arch = audit_arch;
    r.nr = nr as u32;
    r.arch = Arch::from_audit(audit_arch, r.nr);
    Ok(r)
}

/// An id where 4294967295 (and -1) mean "unset".
fn id(value: &str) -> Option<u32> {
    match value.parse::<u32>() {
        Ok(u32::MAX) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

fn hex(value: &str) -> Option<u64> {
    let v = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .unwrap_or(value);
    u64::from_str_radix(v, 16).ok()
}

/// A quoted string as is; an unquoted one is hex-encoded unless it is `(null)` or
/// not valid hex. The kernel hex-encodes exactly the values with control bytes,
/// spaces, quotes or bytes above 0x7e: decoded, they are raw bytes, kept as such.
fn string(value: &str, quoted: bool) -> Untrusted {
    if quoted || value.len() % 2 != 0 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Untrusted::from(value);
    }
    let bytes: Vec<u8> = value
        .as_bytes()
        .chunks(2)
        .map(|p| {
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            digit(p[0]) << 4 | digit(p[1])
        })
        .collect();
    Untrusted::new(bytes)
}

/// A `journalctl -o json` line. The audit transport gives `MESSAGE=SECCOMP body` with
/// `_AUDIT_TYPE=1326` and `_AUDIT_ID`; the kernel transport gives the kmsg text.
fn parse_journal_json(line: &str) -> Result<Record, Skip> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) else {
        return Err(Skip::NotSeccomp);
    };
    let field = |k: &str| -> Option<String> {
        match map.get(k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            // Binary-safe form: an array of bytes.
            serde_json::Value::Array(a) => Some(
                String::from_utf8_lossy(
                    &a.iter()
                        .filter_map(|b| b.as_u64().map(|b| b as u8))
                        .collect::<Vec<u8>>(),
                )
                .into_owned(),
            ),
            _ => None,
        }
    };
    journal_entry(&|k| field(k))
}

/// One journal entry, whatever its serialisation: `get(FIELD)`.
pub fn journal_entry(get: &dyn Fn(&str) -> Option<String>) -> Result<Record, Skip> {
    let Some(message) = get("MESSAGE") else {
        return Err(Skip::NotSeccomp);
    };
    if let Some(i) = find_type(&message) {
        return parse_after_type(&message[i..]);
    }
    let audit_type = get("_AUDIT_TYPE");
    let body = match message.strip_prefix("SECCOMP ") {
        Some(body) => body,
        None if audit_type.as_deref() == Some("1326") => message.as_str(),
        None => return Err(Skip::NotSeccomp),
    };
    let mut record = Record {
        serial: get("_AUDIT_ID").and_then(|s| s.parse().ok()),
        ..Record::default()
    };
    if let Some(us) = get("__REALTIME_TIMESTAMP").and_then(|s| s.parse::<u64>().ok()) {
        record.time = Some((us / 1_000_000, ((us / 1000) % 1000) as u32));
    }
    // The body may still carry its stamp.
    match body.trim_start().strip_prefix("audit(") {
        Some(rest) => parse_stamped(rest),
        None => parse_body(body, record),
    }
}

/// Reads `journalctl -o export` output: entries of `FIELD=value` lines separated by
/// blank lines; a binary field is `FIELD\n` + 64-bit little-endian length + data + `\n`.
pub fn parse_journal_export(data: &[u8], mut each: impl FnMut(Result<Record, Skip>)) {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    let mut flush = |fields: &mut Vec<(String, String)>| {
        if fields.is_empty() {
            return;
        }
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let is_candidate = get("MESSAGE").is_some_and(|m| {
            m.contains("SECCOMP") || m.contains("1326") || get("_AUDIT_TYPE").is_some()
        });
        if is_candidate {
            each(journal_entry(&get));
        }
        fields.clear();
    };
    while at < data.len() {
        let end = data[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| at + i);
        let line = &data[at..end];
        at = end + 1;
        if line.is_empty() {
            flush(&mut fields);
            continue;
        }
        match line.iter().position(|&b| b == b'=') {
            Some(eq) => fields.push((
                String::from_utf8_lossy(&line[..eq]).into_owned(),
                String::from_utf8_lossy(&line[eq + 1..]).into_owned(),
            )),
            None => {
                // Binary field: length, data, newline.
                let Some(len) = data.get(at..at + 8) else {
                    break;
                };
                let len = u64::from_le_bytes(len.try_into().unwrap_or([0; 8]));
                let start = at + 8;
                let stop = start.saturating_add(len.min(usize::MAX as u64) as usize);
                let Some(value) = data.get(start..stop) else {
                    break;
                };
                fields.push((
                    String::from_utf8_lossy(line).into_owned(),
                    String::from_utf8_lossy(value).into_owned(),
                ));
                at = stop + 1;
            }
        }
    }
    flush(&mut fields);
}

/// `kauditd_printk_skb: N callbacks suppressed`: N records the printk limit dropped.
pub fn suppressed(line: &str) -> Option<u64> {
    let i = line.find("kauditd_printk_skb: ")?;
    let rest = &line[i + "kauditd_printk_skb: ".len()..];
    let (n, tail) = rest.split_once(' ')?;
    tail.starts_with("callbacks suppressed")
        .then(|| n.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "auid=4294967295 uid=0 gid=0 ses=4294967295 pid=30252 comm=\"cat\" exe=\"/usr/bin/cat\" sig=0 arch=c000003e syscall=104 compat=0 ip=0x7fd1f3c3b829 code=0x7ffc0000";

    #[test]
    fn a_kmsg_line() {
        let line = format!("5,1234,5678,-;audit: type=1326 audit(1795377834.144:84): {BODY}");
        let r = parse_line(&line).unwrap();
        assert_eq!(r.serial, Some(84));
        assert_eq!(r.time, Some((1795377834, 144)));
        assert_eq!(r.pid, 30252);
        assert_eq!(r.auid, None);
        assert_eq!(r.syscall(), "getgid");
        assert_eq!(r.action(), "SCMP_ACT_LOG");
        assert_eq!(r.comm, Some(Untrusted::from("cat")));
    }

    #[test]
    fn hex_strings_are_decoded() {
        assert_eq!(string("6D7920636174", false), "my cat");
        assert_eq!(string("(null)", false), "(null)");
        assert_eq!(string("abc", true), "abc");
    }

    #[test]
    fn hex_fields_that_decode_to_control_bytes_are_kept_raw_and_shown_escaped() {
        // comm = ESC ] 0 ; P W BEL ESC [ 3 1 m; exe = /tmp/ CSI (U+009B) 0x9b 0xff.
        let body = BODY
            .replace("comm=\"cat\"", "comm=1B5D303B5057071B5B33316D")
            .replace("exe=\"/usr/bin/cat\"", "exe=2F746D702FC29B9BFF");
        let r = parse_line(&format!("type=SECCOMP msg=audit(1.2:3): {body}")).unwrap();
        let comm = r.comm.unwrap();
        let exe = r.exe.unwrap();
        assert_eq!(comm.as_bytes(), b"\x1b]0;PW\x07\x1b[31m");
        assert_eq!(exe.as_bytes(), b"/tmp/\xc2\x9b\x9b\xff");
        assert_eq!(comm.to_string(), "\\33]0;PW\\7\\33[31m");
        assert_eq!(exe.to_string(), "/tmp/\\302\\233\\233\\377");
        for shown in [comm.to_string(), exe.to_string()] {
            assert!(
                !shown.bytes().any(|b| b < 0x20 || b == 0x7f)
                    && !shown.chars().any(char::is_control),
                "{shown:?}"
            );
        }
    }

    #[test]
    fn other_lines_are_skipped() {
        assert_eq!(
            parse_line("type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=1"),
            Err(Skip::NotSeccomp)
        );
        assert_eq!(parse_line("type=13260 x"), Err(Skip::NotSeccomp));
        assert_eq!(
            parse_line("audit: type=1326 audit(1.2:3): auid=0 pid=1 arch=c0"),
            Err(Skip::Truncated)
        );
    }

    #[test]
    fn suppression_counts() {
        assert_eq!(
            suppressed("[ 1.0] kauditd_printk_skb: 42 callbacks suppressed"),
            Some(42)
        );
        assert_eq!(
            suppressed("kauditd_printk_skb: x callbacks suppressed"),
            None
        );
    }
}
