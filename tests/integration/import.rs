//! `eperm import`: saved evidence becomes a profile through the edit engine.

use crate::util::{assert_has, eperm, fixture, stderr};

/// Imports `files` over the deny-all base; returns the allowed names and stderr.
fn import(format: &str, files: &[&str]) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.json");
    let mut cmd = eperm();
    cmd.args(["import", "--format", format, "-p"])
        .arg(fixture("logs/deny-all.json"))
        .arg("-o")
        .arg(&out_file);
    for f in files {
        cmd.arg(fixture(&format!("logs/{f}")));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let profile: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let mut names: Vec<String> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|r| r["names"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap().to_string())
        .filter(|n| n != "exit")
        .collect();
    names.sort();
    (names, stderr(&out))
}

#[test]
fn kernel_log_forms_allow_what_was_logged() {
    for (format, file) in [
        ("audit", "audit.log"),
        ("kmsg", "kmsg.txt"),
        ("kmsg", "dmesg.txt"),
        ("kmsg", "syslog.txt"),
        ("journal", "journal.json"),
        ("journal", "journal.export"),
    ] {
        let (names, err) = import(format, &[file]);
        assert_eq!(names, ["execve", "socket"], "{file}: {err}");
        assert!(err.contains("1 record(s) were cut short"), "{file}: {err}");
    }
}

#[test]
fn strace_f_output_with_unfinished_calls_signals_and_unknown_numbers() {
    let (names, err) = import("strace", &["strace-f.txt"]);
    assert_eq!(
        names,
        [
            "brk",
            "clone3",
            "execve",
            "process_mrelease",
            "read",
            "unshare",
            "wait4"
        ],
        "{err}"
    );
    assert_has(&err, "syscall_0x1f4");
    assert!(
        err.contains("clone3 (ENOSYS×1)") && err.contains("unshare (EPERM×1)"),
        "{err}"
    );
    // The resumed read succeeded: its quoted "= -1 EPERM" data is no failure.
    assert!(!err.contains("read ("), "{err}");
}

#[test]
fn strace_bare_pid_and_per_pid_files() {
    let (names, err) = import("strace", &["strace-o.txt"]);
    assert_eq!(names, ["exit_group", "keyctl", "mount", "openat"], "{err}");
    assert!(
        err.contains("keyctl (ENOSYS×1)") && err.contains("mount (EPERM×1)"),
        "{err}"
    );
    let (names, err) = import("strace", &["trace.4242", "trace.4243"]);
    assert_eq!(names, ["bpf", "personality", "set_robust_list"], "{err}");
    assert_has(&err, "bpf (EPERM×1)");
}

#[test]
fn strace_summary_tables() {
    let (names, err) = import("strace-summary", &["strace-c.txt"]);
    assert_eq!(
        names,
        ["add_key", "close", "execve", "mmap", "ptrace", "socketcall"],
        "{err}"
    );
}

/// Issue 34: `import` had no `--empty` and silently merged into the embedded
/// default. It starts from nothing like `record --empty`, and the summary
/// names the base it used, whichever it was.
#[test]
fn empty_starts_from_nothing_and_the_summary_names_the_base() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.json");
    let run = |base: &[&str]| {
        let out = eperm()
            .args(["import", "--format", "kmsg"])
            .args(base)
            .arg("-o")
            .arg(&out_file)
            .arg(fixture("logs/kmsg.txt"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&out_file).unwrap();
        (
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            stderr(&out),
        )
    };
    let (profile, err) = run(&["--empty"]);
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    let allowed: Vec<&str> = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
        .flat_map(|r| r["names"].as_array().unwrap().iter())
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(allowed, ["execve", "socket"], "{err}");
    assert!(
        err.contains(
            ": an empty profile (everything denied) allowing 2 more syscalls: execve, socket"
        ),
        "{err}"
    );

    let (_, err) = run(&[]);
    let said = ": the embedded default profile (--empty starts from nothing) allowing";
    assert!(err.contains(said), "{err}");

    let deny_all = fixture("logs/deny-all.json");
    let (_, err) = run(&["-p", deny_all.to_str().unwrap()]);
    assert!(
        err.contains(&format!(": {} allowing", deny_all.display())),
        "{err}"
    );

    let both = eperm()
        .args(["import", "--format", "kmsg", "--empty", "-p"])
        .arg(&deny_all)
        .arg("-o")
        .arg(&out_file)
        .arg(fixture("logs/kmsg.txt"))
        .output()
        .unwrap();
    assert!(
        !both.status.success(),
        "--empty and -p are one or the other"
    );
}
