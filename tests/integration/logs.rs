//! Seccomp records from saved logs, in every form: the same four records (x86_64,
//! i386, x32 with hex-encoded names, and a cut line) in each fixture.

use crate::util::fixture;
use eperm::sources::audit_record::{parse_line, parse_payload, Record};
use eperm::sources::file::{scan, Format};

fn render(r: &Record) -> String {
    format!(
        "{} pid={} {} {} {} comm={} exe={} ses={}",
        r.serial.map_or("-".into(), |s| s.to_string()),
        r.pid,
        r.arch_name(),
        r.syscall(),
        r.action(),
        r.comm.as_ref().map_or("-".into(), |c| c.to_string()),
        r.exe.as_ref().map_or("-".into(), |e| e.to_string()),
        r.ses.map_or("-".into(), |s| s.to_string()),
    )
}

fn check(name: &str, format: Format, suppressed: u64) {
    let data = std::fs::read(fixture(&format!("logs/{name}"))).unwrap();
    let found = scan(format, &data);
    let mut text: String = found.records.iter().map(|r| render(r) + "\n").collect();
    text += &format!("truncated {}\n", found.truncated);
    let expected = std::fs::read_to_string(fixture("logs/expected.txt")).unwrap();
    assert_eq!(text, expected, "{name}");
    assert_eq!(found.suppressed, suppressed, "{name}: suppressed");
}

#[test]
fn kmsg_lines() {
    check("kmsg.txt", Format::Kmsg, 17);
}

#[test]
fn dmesg_with_timestamps() {
    check("dmesg.txt", Format::Kmsg, 17);
}

#[test]
fn dmesg_without_timestamps() {
    check("dmesg-notime.txt", Format::Kmsg, 17);
}

#[test]
fn syslog_lines() {
    check("syslog.txt", Format::Kmsg, 17);
}

#[test]
fn audit_log() {
    check("audit.log", Format::Audit, 0);
}

#[test]
fn journal_json() {
    check("journal.json", Format::Journal, 0);
}

#[test]
fn journal_export() {
    check("journal.export", Format::Journal, 0);
}

#[test]
fn netlink_payload() {
    let data = std::fs::read(fixture("logs/netlink-payload.txt")).unwrap();
    let r = parse_payload(&data).unwrap();
    let expected = std::fs::read_to_string(fixture("logs/expected.txt")).unwrap();
    assert_eq!(render(&r), expected.lines().next().unwrap());
    assert_eq!(r.time, Some((1700000000, 100)));
    assert_eq!(r.ip, 0x7f0011223344);
    assert_eq!(r.uid, Some(1000));
    assert!(!r.compat);
}

#[test]
fn i386_and_x32_details() {
    let data = std::fs::read(fixture("logs/audit.log")).unwrap();
    let found = scan(Format::Audit, &data);
    let i386 = &found.records[1];
    assert!(i386.compat);
    assert_eq!(i386.errno(), Some(1));
    let x32 = &found.records[2];
    assert!(x32.compat);
    assert_eq!(x32.nr, 0x4000_0000 + 520);
    assert_eq!(x32.sig, 31);
    assert_eq!(x32.auid, None);
}

proptest::proptest! {
    #[test]
    fn no_input_panics_the_line_parser(s in "\\PC*") {
        let _ = parse_line(&s);
        let _ = parse_line(&format!("audit: type=1326 audit({s}"));
        let _ = parse_line(&format!("type=SECCOMP msg=audit(1.2:3): {s}"));
        let _ = parse_payload(s.as_bytes());
    }

    #[test]
    fn no_bytes_panic_the_file_readers(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        for format in [Format::Audit, Format::Kmsg, Format::Journal] {
            let _ = scan(format, &data);
        }
        let mut framed = b"MESSAGE\n".to_vec();
        framed.extend_from_slice(&data);
        let _ = scan(Format::Journal, &framed);
    }

    #[test]
    fn cut_records_never_panic(cut in 0usize..200) {
        let line = "audit: type=1326 audit(1700000000.300:103): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4244 comm=6D792070726F67 exe=2F746D702F612062 sig=31 arch=c000003e syscall=1073742344 compat=1 ip=0x401000 code=0x80000000";
        let cut = cut.min(line.len());
        let _ = parse_line(&line[..cut]);
    }
}

#[test]
fn replay_explains_saved_records_with_the_profiles_rules() {
    let profile = crate::util::fixture("logs/deny-all.json");
    let log = crate::util::fixture("logs/audit.log");
    let out = crate::util::run(&[
        "replay",
        "--no-tui",
        "--json",
        "-p",
        profile.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let events: Vec<serde_json::Value> = crate::util::stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["syscall"].as_str().unwrap(),
                e["arch"].as_str().unwrap(),
                e["rule"].as_str().unwrap(),
            )
        })
        .collect();
    // deny-all allows only exit, so every record is decided by the default action.
    assert_eq!(
        got,
        [
            ("socket", "x86_64", "defaultAction"),
            ("execve", "x86", "defaultAction"),
            ("execve", "x32", "defaultAction")
        ]
    );
    assert!(crate::util::stderr(&out).contains("3 seccomp records, 1 cut short"));
}
