//! Seccomp records from saved logs, in every form: the same four records (x86_64,
//! i386, x32 with hex-encoded names, and a cut line) in each fixture.

use crate::util::fixture;
use eperm::sources::audit_record::{parse_line, parse_payload, Record, Skip};
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

/// Every form a saved log comes in: its fixture, its format, and how many records
/// the kernel said it suppressed.
const FORMS: &[(&str, Format, u64)] = &[
    ("kmsg.txt", Format::Kmsg, 17),
    ("dmesg.txt", Format::Kmsg, 17),
    ("dmesg-notime.txt", Format::Kmsg, 17),
    ("syslog.txt", Format::Kmsg, 17),
    ("audit.log", Format::Audit, 0),
    ("journal.json", Format::Journal, 0),
    ("journal.export", Format::Journal, 0),
];

/// kmsg lines, dmesg with and without timestamps, syslog lines, audit.log, and
/// the journal as JSON and in its export format.
#[test]
fn every_form_of_saved_log_yields_the_same_records() {
    let expected = std::fs::read_to_string(fixture("logs/expected.txt")).unwrap();
    for &(name, format, suppressed) in FORMS {
        let data = std::fs::read(fixture(&format!("logs/{name}"))).unwrap();
        let found = scan(format, &data);
        let mut text: String = found.records.iter().map(|r| render(r) + "\n").collect();
        text += &format!("truncated {}\n", found.truncated);
        assert_eq!(text, expected, "{name}");
        assert_eq!(found.suppressed, suppressed, "{name}: suppressed");
    }
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

/// The x32 record of the fixtures on one line, for cutting.
const X32_LINE: &str = "audit: type=1326 audit(1700000000.300:103): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4244 comm=6D792070726F67 exe=2F746D702F612062 sig=31 arch=c000003e syscall=1073742344 compat=1 ip=0x401000 code=0x80000000";

/// Lines of `data` as the file readers split them.
fn pieces(data: &[u8]) -> u64 {
    data.split(|&b| b == b'\n').count() as u64
}

proptest::proptest! {
    /// Any text: no panic, and only a line with a seccomp type (or a journal
    /// object) is taken for a record; a typed line without `arch=` and `syscall=`
    /// is a cut one, never a record.
    #[test]
    fn no_input_panics_the_line_parser(
        // Any text, and text made of a record's own pieces, which does make records.
        s in proptest::prop_oneof!["\\PC*", "( |=|\\)|\"|arch=c000003e|syscall=[0-9]{1,3}|pid=[0-9]|x)*"]
    ) {
        let has_fields = s.contains("arch=") && s.contains("syscall=");
        let plain = parse_line(&s);
        if !s.contains("type=") && !s.trim_start().starts_with('{') {
            proptest::prop_assert_eq!(plain, Err(Skip::NotSeccomp));
        }
        // Typed 1326 with a stamp that may never close.
        let kmsg = parse_line(&format!("audit: type=1326 audit({s}"));
        proptest::prop_assert_ne!(&kmsg, &Err(Skip::NotSeccomp));
        if !s.contains(')') || !has_fields {
            proptest::prop_assert_eq!(kmsg, Err(Skip::Truncated));
        }
        // audit.log: the stamp is read whatever the body.
        match parse_line(&format!("type=SECCOMP msg=audit(1.2:3): {s}")) {
            Ok(r) => {
                proptest::prop_assert!(has_fields, "a record from {s:?}");
                proptest::prop_assert_eq!((r.time, r.serial), (Some((1, 2)), Some(3)));
            }
            Err(skip) => proptest::prop_assert_eq!(skip, Skip::Truncated),
        }
        // A netlink payload is a seccomp record by its type: never NotSeccomp.
        match parse_payload(s.as_bytes()) {
            Ok(_) => proptest::prop_assert!(has_fields, "a record from {s:?}"),
            Err(skip) => proptest::prop_assert_eq!(skip, Skip::Truncated),
        }
    }

    /// Any bytes: no panic, at most one record or cut line per line, and the
    /// line formats give what their lines give one by one.
    #[test]
    fn no_bytes_panic_the_file_readers(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        for format in [Format::Audit, Format::Kmsg, Format::Journal] {
            let found = scan(format, &data);
            proptest::prop_assert!(found.records.len() as u64 + found.truncated <= pieces(&data), "{format:?}");
        }
        let one_by_one: Vec<Record> = data
            .split(|&b| b == b'\n')
            .filter_map(|line| parse_line(&String::from_utf8_lossy(line)).ok())
            .collect();
        for format in [Format::Audit, Format::Kmsg] {
            proptest::prop_assert_eq!(&scan(format, &data).records, &one_by_one, "{:?}", format);
        }
        let mut framed = b"MESSAGE\n".to_vec();
        framed.extend_from_slice(&data);
        let found = scan(Format::Journal, &framed);
        proptest::prop_assert!(found.records.len() as u64 + found.truncated <= pieces(&framed));
    }

    /// A record cut anywhere: not one before its type, cut until its syscall
    /// number begins, then a record whose number is the digits kept.
    #[test]
    fn cut_records_never_panic(cut in 0usize..X32_LINE.len() + 10) {
        let cut = cut.min(X32_LINE.len());
        let typed = "audit: type=1326".len();
        let digits = X32_LINE.find("syscall=").unwrap() + "syscall=".len();
        let kept = &X32_LINE[..cut];
        match parse_line(kept) {
            _ if cut < typed => proptest::prop_assert_eq!(parse_line(kept), Err(Skip::NotSeccomp)),
            Err(skip) => {
                proptest::prop_assert!(cut <= digits, "cut at {cut}: {skip:?}");
                proptest::prop_assert_eq!(skip, Skip::Truncated);
            }
            Ok(r) => {
                proptest::prop_assert!(cut > digits, "a record cut at {cut}");
                let number = kept[digits..].split(' ').next().unwrap();
                proptest::prop_assert_eq!(r.nr, number.parse::<u32>().unwrap());
                proptest::prop_assert_eq!((r.pid, r.serial, r.audit_arch), (4244, Some(103), 0xc000_003e));
            }
        }
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
