//! `eperm edit`: minimal diffs, the document's own style, atomic saves, clear refusals.

use crate::util::{assert_has, fixture, run, stderr, stdout};
use eperm::profile::edit::{apply, Edit};
use eperm::profile::save::{save, SaveError};
use eperm::profile::{load_file, load_str};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A private copy of a fixture, so that a test may write it.
fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::copy(fixture(&format!("edit/{name}")), &path).unwrap();
    (dir, path)
}

/// A private copy of docker-like.json, and what it holds as a JSON value: what
/// a test expects it to hold after its edits, once edited alike.
fn docker_like() -> (tempfile::TempDir, PathBuf, Value) {
    let (dir, path) = copy("docker-like.json");
    let value = loaded_value(&path);
    (dir, path, value)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// The file as a JSON value, after checking that eperm loads it.
fn loaded_value(path: &Path) -> Value {
    load_file(path).expect("the edited profile loads");
    serde_json::from_str(&read(path)).unwrap()
}

/// Runs `eperm edit PATH ARGS...`, expecting success.
fn edit_ok(path: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["edit", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(
        out.status.success(),
        "eperm {all:?} failed: {}",
        stderr(&out)
    );
    (stdout(&out), stderr(&out))
}

/// (added, removed) lines of a unified diff, headers aside.
fn counts(diff: &str) -> (usize, usize) {
    let lines = || {
        diff.lines()
            .filter(|l| !l.starts_with("+++ ") && !l.starts_with("--- "))
    };
    (
        lines().filter(|l| l.starts_with('+')).count(),
        lines().filter(|l| l.starts_with('-')).count(),
    )
}

fn changed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| !l.starts_with("+++ ") && !l.starts_with("--- "))
        .filter(|l| l.starts_with('+') || l.starts_with('-'))
        .collect()
}

fn names_mut(value: &mut Value, rule: usize) -> &mut Vec<Value> {
    value["syscalls"][rule]["names"].as_array_mut().unwrap()
}

/// `name` put into the names of the profile's rule `rule`, before `before`.
fn insert_name(value: &mut Value, rule: usize, name: &str, before: &str) {
    let names = names_mut(value, rule);
    let at = names.iter().position(|n| n == before).unwrap();
    names.insert(at, json!(name));
}

/// `name` taken out of the names of the profile's rule `rule`.
fn remove_name(value: &mut Value, rule: usize, name: &str) {
    names_mut(value, rule).retain(|n| n != name);
}

#[test]
fn allow_adds_one_line_in_sorted_position() {
    let (_dir, path, mut expected) = docker_like();
    let before = read(&path);

    let (diff, log) = edit_ok(&path, &["--allow", "reboot", "--dry-run"]);
    assert_eq!(read(&path), before, "--dry-run writes nothing");
    assert_eq!(counts(&diff), (1, 0), "{diff}");
    assert_eq!(changed_lines(&diff), ["+\t\t\t\t\"reboot\","]);
    let name = path.display();
    assert!(
        diff.starts_with(&format!("--- a/{name}\n+++ b/{name}\n@@ ")),
        "{diff}"
    );
    // Three lines of context on each side, in sorted order around the new name.
    assert!(diff.contains(
        " \t\t\t\t\"pipe\",\n \t\t\t\t\"read\",\n+\t\t\t\t\"reboot\",\n \t\t\t\t\"recvfrom\",\n \t\t\t\t\"rename\",\n \t\t\t\t\"rt_sigaction\",\n"
    ));
    let risk = |name| eperm::profile::risk::risk(name).unwrap();
    assert_eq!(
        log,
        format!(
            "allowed reboot: added to syscalls[0].names\n  risk: {}\n",
            risk("reboot")
        )
    );

    let (out, log) = edit_ok(&path, &["--allow", "reboot"]);
    assert_eq!(out, "");
    assert_has(&log, "saved");
    assert_eq!(
        read(&path),
        before.replace(
            "\t\t\t\t\"read\",\n",
            "\t\t\t\t\"read\",\n\t\t\t\t\"reboot\",\n"
        )
    );
    insert_name(&mut expected, 0, "reboot", "recvfrom");
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn allow_follows_dockers_underscore_blind_order() {
    // Docker's list sorts as `sort` does in most locales: io_destroy after
    // ioctl, _llseek after listen. Byte order would put io_setup before ioctl.
    let path = fixture("edit/docker-like.json");
    let (diff, _) = edit_ok(&path, &["--allow", "io_setup", "--dry-run"]);
    assert_has(&diff, " \t\t\t\t\"ioctl\",\n \t\t\t\t\"io_destroy\",\n+\t\t\t\t\"io_setup\",\n \t\t\t\t\"kill\",\n");
    assert_eq!(counts(&diff), (1, 0));
}

#[test]
fn deny_removes_one_line() {
    let (_dir, path, mut expected) = docker_like();
    let (diff, _) = edit_ok(&path, &["--deny", "kill", "--dry-run"]);
    assert_eq!(changed_lines(&diff), ["-\t\t\t\t\"kill\","]);

    let (_, log) = edit_ok(&path, &["--deny", "kill"]);
    assert_has(&log, "denied kill: removed from syscalls[0].names (SCMP_ACT_ALLOW); the default action applies (SCMP_ACT_ERRNO EPERM)");
    remove_name(&mut expected, 0, "kill");
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn deny_with_an_errno_appends_a_rule_written_like_the_others() {
    let (_dir, path, mut expected) = docker_like();
    let (diff, _) = edit_ok(&path, &["--deny", "kill:ENOSYS", "--dry-run"]);
    // The name's line goes; the new rule follows the last one, whose closing
    // brace gains a comma (the diff shows that as an added "},").
    assert_eq!(
        changed_lines(&diff),
        [
            "-\t\t\t\t\"kill\",",
            "+\t\t},",
            "+\t\t{",
            "+\t\t\t\"names\": [",
            "+\t\t\t\t\"kill\"",
            "+\t\t\t],",
            "+\t\t\t\"action\": \"SCMP_ACT_ERRNO\",",
            "+\t\t\t\"errnoRet\": 38",
        ]
    );

    edit_ok(&path, &["--deny", "kill:38"]);
    assert!(read(&path).ends_with(
        "\t\t\t\"errnoRet\": 1\n\t\t},\n\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"kill\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ERRNO\",\n\t\t\t\"errnoRet\": 38\n\t\t}\n\t]\n}\n"
    ));
    remove_name(&mut expected, 0, "kill");
    expected["syscalls"]
        .as_array_mut()
        .unwrap()
        .push(json!({"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn remove_deletes_a_rule_whole_lines_only() {
    let (_dir, path, mut expected) = docker_like();
    let before = read(&path);
    let (diff, log) = edit_ok(&path, &["--remove", "personality", "--dry-run"]);
    // The rule's 13 lines go; nothing else moves.
    assert_eq!(counts(&diff), (0, 13), "{diff}");
    assert!(log.contains("removed syscalls[1] (SCMP_ACT_ALLOW, conditional), which named only it"));

    edit_ok(&path, &["--remove", "personality"]);
    let start = before
        .find("\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"personality\"")
        .unwrap();
    let end = before
        .find("\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"ptrace\"")
        .unwrap();
    assert_eq!(
        read(&path),
        format!("{}{}", &before[..start], &before[end..])
    );
    expected["syscalls"].as_array_mut().unwrap().remove(1);
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn allow_moves_a_name_out_of_an_explicit_deny() {
    let (_dir, path, mut expected) = docker_like();
    let (diff, _) = edit_ok(&path, &["--allow", "acct", "--dry-run"]);
    assert_eq!(counts(&diff), (1, 1), "{diff}");
    edit_ok(&path, &["--allow", "acct"]);
    remove_name(&mut expected, 5, "acct");
    insert_name(&mut expected, 0, "acct", "bind");
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn deny_takes_a_name_out_of_conditional_allows_and_says_so() {
    let (_dir, path, mut expected) = docker_like();
    let (_, log) = edit_ok(&path, &["--deny", "unshare"]);
    assert_has(
        &log,
        "removed from syscalls[4].names (SCMP_ACT_ALLOW, conditional)",
    );
    remove_name(&mut expected, 4, "unshare");
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn several_edits_at_once() {
    let (_dir, path, mut expected) = docker_like();
    let (_, log) = edit_ok(
        &path,
        &[
            "--allow",
            "reboot,sysinfo",
            "--deny",
            "ptrace:EACCES",
            "--remove",
            "personality",
        ],
    );
    assert_eq!(
        log.lines().count(),
        6,
        "one line per edit, reboot's risk and one for the save: {log}"
    );
    insert_name(&mut expected, 0, "reboot", "recvfrom");
    insert_name(&mut expected, 0, "sysinfo", "uname");
    let rules = expected["syscalls"].as_array_mut().unwrap();
    rules.remove(2); // ptrace's conditional allow
    rules.remove(1); // personality's
    rules.push(json!({"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}));
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn four_space_documents_stay_four_space() {
    let (_dir, path) = copy("spaces4.json");
    edit_ok(&path, &["--allow", "openat", "--deny", "write:EACCES"]);
    assert_eq!(
        read(&path),
        r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {
            "names": [
                "close",
                "openat",
                "read"
            ],
            "action": "SCMP_ACT_ALLOW"
        },
        {
            "names": [
                "write"
            ],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 13
        }
    ]
}
"#
    );
}

#[test]
fn inline_lists_stay_inline() {
    let (_dir, path) = copy("inline.json");
    let (diff, _) = edit_ok(&path, &["--allow", "openat", "--dry-run"]);
    assert_eq!(
        changed_lines(&diff),
        [
            r#"-    { "names": ["close", "read", "write"], "action": "SCMP_ACT_ALLOW" },"#,
            r#"+    { "names": ["close", "openat", "read", "write"], "action": "SCMP_ACT_ALLOW" },"#,
        ]
    );
    edit_ok(
        &path,
        &[
            "--allow",
            "reboot",
            "--deny",
            "ptrace:EACCES",
            "--remove",
            "close",
        ],
    );
    assert_eq!(
        read(&path),
        r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    { "names": ["read", "reboot", "write"], "action": "SCMP_ACT_ALLOW" },
    { "names": ["kexec_load"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 },
    { "names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 }
  ]
}
"#
    );
}

#[test]
fn old_format_profiles_keep_one_rule_per_name() {
    let (_dir, path) = copy("old-format.json");
    let (_, log) = edit_ok(&path, &["--allow", "read", "--remove", "open"]);
    assert_has(
        &log,
        "removed open: removed syscalls[0] (SCMP_ACT_ALLOW), which named only it",
    );
    // Each rule keeps its own name; the new one goes last, in the same form.
    assert_eq!(read(&path), read(&fixture("edit/old-format.edited.json")));
}

#[test]
fn oci_config_edits_reach_linux_seccomp() {
    let (_dir, path) = copy("oci-config.json");
    let mut expected = loaded_value(&path);
    let (diff, log) = edit_ok(&path, &["--allow", "ptrace", "--dry-run"]);
    assert_eq!(changed_lines(&diff), ["+            \"ptrace\","]);
    assert_eq!(
        log,
        format!(
            "allowed ptrace: added to linux.seccomp.syscalls[0].names\n  risk: {}\n",
            eperm::profile::risk::risk("ptrace").unwrap()
        )
    );
    edit_ok(&path, &["--allow", "ptrace"]);
    expected["linux"]["seccomp"]["syscalls"][0]["names"]
        .as_array_mut()
        .unwrap()
        .insert(1, json!("ptrace"));
    assert_eq!(loaded_value(&path), expected);
}

#[test]
fn a_profile_without_syscalls_gets_the_list() {
    let (_dir, path) = copy("no-syscalls.json");
    edit_ok(&path, &["--deny", "ptrace:ENOSYS"]);
    assert_eq!(
        read(&path),
        "{\n\t\"defaultAction\": \"SCMP_ACT_ERRNO\",\n\t\"defaultErrnoRet\": 1,\n\t\"syscalls\": [\n\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"ptrace\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ERRNO\",\n\t\t\t\"errnoRet\": 38\n\t\t}\n\t]\n}\n"
    );
}

#[test]
fn allow_default_profiles_deny_with_explicit_rules() {
    let (_dir, path) = copy("allow-default.json");
    let (_, log) = edit_ok(&path, &["--allow", "reboot", "--deny", "ptrace"]);
    assert_has(&log, "allowed reboot: removed from syscalls[0].names (SCMP_ACT_ERRNO); the default action applies (SCMP_ACT_ALLOW)");
    assert_has(&log, "denied ptrace: added to syscalls[0].names");
    assert_eq!(
        loaded_value(&path),
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["kexec_load", "ptrace"], "action": "SCMP_ACT_ERRNO"}]
        })
    );
}

#[test]
fn saving_keeps_the_mode() {
    let (_dir, path) = copy("spaces4.json");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    edit_ok(&path, &["--allow", "openat"]);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
    assert!(read(&path).contains("\"openat\""));
}

#[test]
fn saving_through_a_symlink_updates_its_target() {
    let (dir, real) = copy("spaces4.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("spaces4.json", &link).unwrap();
    edit_ok(&link, &["--allow", "openat"]);
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(read(&real).contains("\"openat\""));
}

#[test]
fn dry_run_and_no_change_write_nothing() {
    let (dir, path) = copy("docker-like.json");
    let before = fs::metadata(&path).unwrap();
    let (diff, _) = edit_ok(&path, &["--deny", "read", "--dry-run"]);
    // Only "read" leaves the allow list, with three lines of context each side.
    let file = path.display();
    let names = |sign: &str, names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|n| format!("{sign}\t\t\t\t\"{n}\","))
            .collect()
    };
    let mut expected = vec![
        format!("--- a/{file}"),
        format!("+++ b/{file}"),
        "@@ -48,7 +48,6 @@".to_string(),
    ];
    expected.extend(names(" ", &["open", "openat", "pipe"]));
    expected.extend(names("-", &["read"]));
    expected.extend(names(" ", &["recvfrom", "rename", "rt_sigaction"]));
    assert_eq!(diff, expected.join("\n") + "\n");
    let (diff, log) = edit_ok(&path, &["--allow", "read", "--dry-run"]);
    assert_eq!(diff, "", "no change, no diff");
    assert_has(
        &log,
        "allowed read: no change, syscalls[0] already does that",
    );
    let (_, log) = edit_ok(&path, &["--allow", "read"]);
    assert_has(&log, "nothing to change, not written");

    let after = fs::metadata(&path).unwrap();
    assert_eq!(
        (after.ino(), after.mtime_nsec()),
        (before.ino(), before.mtime_nsec())
    );
    let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1, "no temporary file left behind");
}

#[test]
fn an_edit_made_outside_eperm_is_not_clobbered() {
    let (_dir, path) = copy("spaces4.json");
    let mut pin = eperm::files::Pin::take(&path).unwrap();
    let profile = load_file(&path).unwrap();
    let applied = apply(&profile, &[Edit::Allow("openat".into())]).unwrap();
    // Someone else saves the file in the meantime.
    let theirs = profile.text.replace("\"write\"", "\"writev\"");
    fs::write(&path, &theirs).unwrap();

    let err = save(&path, &mut pin, applied.text(), &profile.text).unwrap_err();
    assert!(matches!(err, SaveError::ChangedOnDisk { .. }));
    assert!(err.to_string().contains("changed on disk"), "{err}");
    assert_eq!(read(&path), theirs);
    // The edited text itself is sound: it loads.
    load_str("edited", applied.text().to_string()).unwrap();
}

fn edit_fails(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert_eq!(stdout(&out), "");
    stderr(&out)
}

#[test]
fn bad_input_exits_2_with_a_hint() {
    let (_dir, path) = copy("docker-like.json");
    let before = read(&path);
    let p = path.to_str().unwrap();

    let err = edit_fails(&["edit", p, "--allow", "read,rebot"]);
    assert_eq!(
        err,
        "eperm: unknown syscall \"rebot\": not a syscall on any architecture eperm knows\n  hint: did you mean \"reboot\"?\n"
    );
    let err = edit_fails(&["edit", p, "--deny", "clone3:ENOSIS"]);
    assert_has(&err, "bad errno \"ENOSIS\"");
    assert_has(&err, "hint: did you mean \"ENOSYS\"?");
    let err = edit_fails(&["edit", p]);
    assert_has(&err, "give --allow, --deny, --remove or --portable");
    assert_has(&err, "hint: eperm edit");
    let err = edit_fails(&["edit", p, "--allow", "ptrace", "--deny", "ptrace"]);
    assert_has(&err, "ptrace is given to both --allow and --deny");
    assert_eq!(read(&path), before);

    // A broken profile is reported as the loader reports it.
    let broken = path.with_file_name("broken.json");
    fs::write(&broken, "{\n  \"defaultAction\": \"SCMP_ACT_ALOW\"\n}\n").unwrap();
    let err = edit_fails(&["edit", broken.to_str().unwrap(), "--allow", "read"]);
    assert_has(&err, "broken.json:2:20: error[unknown-action]");
}

/// Issue 33: `edit` refuses what `check` calls an error for this host's
/// runtime (an errno its libseccomp refuses), and writes nothing; an errno in
/// range is written as before.
#[test]
fn edit_refuses_what_check_calls_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    let text = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": []}\n";
    fs::write(&path, text).unwrap();
    let p = path.to_str().unwrap();
    // mkdir: no runtime's start-up call, so the check below is of the errno alone.
    let out = run(&["edit", p, "--deny", "mkdir:4095"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error[runtime-refuses]"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("not written"), "{}", stderr(&out));
    assert_eq!(read(&path), text);
    let check = run(&["check", p]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    let (_, err) = edit_ok(&path, &["--deny", "mkdir:4094"]);
    assert!(err.contains("saved"), "{err}");
    assert_eq!(run(&["check", p]).status.code(), Some(0));
}

/// Issue 34: after `merge`, `edit --allow reboot` landed in the rule commented
/// "needed by every input", and said nothing of reboot's risk. A new allowance
/// goes in a rule of its own, and a risky one is warned of with the TUI's words.
#[test]
fn an_allowance_after_merge_gets_a_rule_of_its_own_and_its_risk_said() {
    let dir = tempfile::tempdir().unwrap();
    let input = |name: &str, extra: &str| {
        let path = dir.path().join(name);
        let text = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": ["read", "write", "execve", "exit_group", "{extra}"], "action": "SCMP_ACT_ALLOW"}}]}}"#
        );
        fs::write(&path, text).unwrap();
        path
    };
    let (a, b) = (input("a.json", "mkdir"), input("b.json", "chmod"));
    let merged = dir.path().join("m.json");
    // For plain processes: no start-up rule of the runtimes' (startup.rs has it).
    let out = run(&[
        "merge",
        "--runtime",
        "none",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-o",
        merged.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, log) = edit_ok(&merged, &["--allow", "reboot"]);
    assert_has(&log, "allowed reboot: added syscalls[3] (SCMP_ACT_ALLOW)");
    assert_has(
        &log,
        &format!("  risk: {}", eperm::profile::risk::risk("reboot").unwrap()),
    );
    let profile = load_file(&merged).unwrap();
    for rule in &profile.rules {
        let has = rule.names.iter().any(|n| n.name == "reboot");
        assert_eq!(has, rule.comment.is_none(), "{}", profile.text);
    }
    // An ordinary name says no risk.
    let (_, log) = edit_ok(&merged, &["--allow", "getpid"]);
    assert!(!log.contains("risk:"), "{log}");
}
