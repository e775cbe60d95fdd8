//! `eperm check`: lints reported with code, JSON path and position; exit codes.

use crate::util::{assert_has, eperm, fixture, ok, run, stdout};
use serde_json::Value;

fn check_json(file: &str, extra: &[&str]) -> (i32, Value) {
    let path = fixture(file);
    let mut args = vec!["check", "--json", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    let report = serde_json::from_str(&stdout(&out)).expect("check --json prints one JSON object");
    (out.status.code().expect("exited"), report)
}

/// (severity, code, path) of every diagnostic except notes.
fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut found: Vec<_> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "info")
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_string();
            (s("severity"), s("code"), s("path"))
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_clean_profile_has_no_findings_on_either_host() {
    for arch in ["x86_64", "aarch64"] {
        let (code, report) = check_json("check/clean.json", &["--arch", arch]);
        assert_eq!(code, 0);
        assert_eq!(report["errors"], 0, "{report}");
        assert_eq!(report["warnings"], 0, "{report}");
    }
}

#[test]
fn every_lint_names_its_rule() {
    let (code, report) = check_json(
        "check/lints.json",
        // A plain process's profile: no runtime's start-up to allow (startup.rs).
        &[
            "--arch",
            "x86_64",
            "--caps",
            "docker",
            "--kernel",
            "6.1",
            "--runtime",
            "none",
        ],
    );
    assert_eq!(code, 0, "warnings alone do not fail check");
    let w = |code: &str, path: &str| ("warning".to_string(), code.to_string(), path.to_string());
    let mut expected = vec![
        w("clone3-errno", "defaultAction"),
        w("missing-sub-arch", "architectures"),
        w("duplicate-name", "syscalls[0].names[3]"),
        w("risky", "syscalls[0].names[5]"),
        w("unknown-syscall", "syscalls[0].names[6]"),
        w("equals-default", "syscalls[1]"),
        w("duplicate", "syscalls[2].names[0]"),
        w("conflict", "syscalls[3].names[0]"),
        w("shadowed", "syscalls[4].names[0]"),
        w("arg-semantics", "syscalls[5].args"),
        w("ignored-errno", "syscalls[6]"),
        w("unknown-cap", "syscalls[7]"),
        w("no-names", "syscalls[8]"),
    ];
    expected.sort();
    assert_eq!(findings(&report), expected);

    let typo = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "unknown-syscall")
        .unwrap();
    assert_eq!(
        (typo["line"].as_u64(), typo["column"].as_u64()),
        (Some(6), Some(73))
    );
    assert_eq!(typo["hint"], "did you mean \"openat\"?");
}

#[test]
fn errors_exit_one_and_are_rendered_with_position() {
    let path = fixture("check/notify-write.json");
    let out = run(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_has(&text, "notify-write.json:7:27: error[notify-write]: syscalls[1].names[1]: runc refuses SCMP_ACT_NOTIFY for write");
    // And runc's start-up: capset, fstatfs, … are denied, write is NOTIFY.
    assert_has(&text, "error[runtime-cannot-start]");
    assert_has(&text, "2 errors, 0 warnings");
}

#[test]
fn bad_target_options_exit_two_with_a_hint() {
    let path = fixture("check/clean.json");
    for (flag, value, words) in [
        ("--arch", "amd65", "unknown architecture"),
        ("--caps", "CAP_SYS_ADMN", "CAP_SYS_ADMIN"),
        ("--kernel", "six", "MAJOR.MINOR"),
    ] {
        let out = run(&["check", path.to_str().unwrap(), flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(
            crate::util::stderr(&out).contains(words),
            "{flag} {value}: {}",
            crate::util::stderr(&out)
        );
    }
}

#[test]
fn the_embedded_default_checks_clean() {
    let default = ok(eperm().arg("default"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.json");
    std::fs::write(&path, &default.stdout).unwrap();
    let out = eperm()
        .args(["check", "--json"])
        .arg(&path)
        .args(["--caps", "docker"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["errors"], 0);
}
