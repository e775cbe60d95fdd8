//! How the commands behave at their edges: files they cannot write, a reader
//! of their output that quits early, values the command line refuses.

use crate::util::{assert_has, run, stderr};
use std::process::Stdio;

/// The embedded default profile, written to a file of its own.
fn default_profile(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("default.json");
    std::fs::write(&path, eperm::profile::DEFAULT_PROFILE).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn an_unwritable_output_names_the_file_and_the_operation() {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_profile(&dir);
    let out = run(&["compile", &profile, "-o", "/nonexistent-dir/x.bpf"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert_has(
        &err,
        "cannot write /nonexistent-dir/x.bpf: No such file or directory",
    );
}

#[test]
fn an_unreadable_input_names_the_file_and_exits_2() {
    let out = run(&["replay", "--no-tui", "/nonexistent-dir/audit.log"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert_has(
        &err,
        "cannot read /nonexistent-dir/audit.log: No such file or directory",
    );
}

/// Runs eperm with its standard output a pipe nobody reads: the read end is
/// closed before eperm has started, so its first write fails with EPIPE.
fn with_closed_stdout(args: &[&str]) -> std::process::Output {
    let mut child = crate::util::eperm()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("eperm runs");
    drop(child.stdout.take());
    child.wait_with_output().expect("eperm ends")
}

#[test]
fn a_reader_that_quits_early_is_a_quiet_success() {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_profile(&dir);
    for args in [
        vec!["default"],
        vec!["compile", &profile, "--disasm"],
        vec!["compile", &profile, "--stats"],
        vec!["check", &profile],
        vec!["check", "--json", &profile],
        vec!["explain", &profile, "reboot"],
    ] {
        let out = with_closed_stdout(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }
}

#[test]
fn replay_to_a_reader_that_quits_early_is_a_quiet_success() {
    let log = crate::util::fixture("logs/audit.log");
    let log = log.to_str().unwrap();
    for args in [
        vec!["replay", "--no-tui", log],
        vec!["replay", "--no-tui", "--json", log],
    ] {
        let out = with_closed_stdout(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        // Only replay's own count of the records it read.
        assert!(
            err.starts_with("eperm: ") && err.contains("seccomp records"),
            "{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{err}"
        );
    }
}

#[test]
fn a_value_outside_a_closed_set_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_profile(&dir);
    let out_file = dir.path().join("out.json");
    let out_file = out_file.to_str().unwrap();
    for (args, flag) in [
        (
            vec!["compile", &profile, "--stats", "--mode", "sideways"],
            "--mode",
        ),
        (
            vec!["import", "--format", "sideways", "-o", out_file, &profile],
            "--format",
        ),
        (
            vec!["watch", "--no-tui", "--source", "audit,sideways"],
            "--source",
        ),
    ] {
        let out = run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_has(&err, "invalid value 'sideways'");
        assert!(
            err.contains(flag) && err.contains("possible values"),
            "{err}"
        );
    }
}
