//! How the commands behave at their edges: files they cannot write, a reader
//! of their output that quits early, values the command line refuses.

use crate::util::{run, stderr};

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
    assert!(
        err.contains("cannot write /nonexistent-dir/x.bpf: No such file or directory"),
        "{err}"
    );
}

#[test]
fn an_unreadable_input_names_the_file_and_exits_2() {
    let out = run(&["replay", "--no-tui", "/nonexistent-dir/audit.log"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read /nonexistent-dir/audit.log: No such file or directory"),
        "{err}"
    );
}
