//! `eperm import --format events`: the events nodes wrote become one profile.

use crate::util::{assert_has, assert_lacks, cc, eperm, events, output_within, stderr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Three calls a denying rule refuses, each failing harmlessly when run.
const DENIED: &str = r#"
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    syscall(SYS_swapoff, "/nonexistent-eperm-import");
    syscall(SYS_umount2, "/nonexistent-eperm-import", 0);
    syscall(SYS_delete_module, "eperm_no_such_module", 0);
    return 0;
}
"#;

const BASE: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["swapoff", "umount2", "delete_module", "acct"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}"#;

/// `eperm run --events` of `exe` under `profile`: the events written.
fn run_events(dir: &Path, profile: &Path, exe: &Path, name: &str) -> Vec<serde_json::Value> {
    let file = dir.join(name);
    let out = output_within(
        eperm()
            .args(["run", "--no-tui", "--no-stacks", "-p"])
            .arg(profile)
            .arg("--events")
            .arg(&file)
            .arg("--")
            .arg(exe),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    events(&file)
}

/// `eperm import --format events` of `files` over `base` with `extra` flags:
/// the exit code, stderr, and the written profile's allowed names.
fn import(base: &Path, extra: &[&str], files: &[PathBuf]) -> (i32, String, Vec<String>) {
    let out_file = base.with_file_name("imported.json");
    let _ = std::fs::remove_file(&out_file);
    let out = eperm()
        .args(["import", "--format", "events", "-p"])
        .arg(base)
        .args(extra)
        .arg("-o")
        .arg(&out_file)
        .args(files)
        .output()
        .unwrap();
    let allowed = std::fs::read_to_string(&out_file).map_or(vec![], |text| {
        let p: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut names: Vec<String> = p["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "SCMP_ACT_ALLOW")
            .flat_map(|r| r["names"].as_array().unwrap().iter())
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    });
    (out.status.code().unwrap(), stderr(&out), allowed)
}

#[test]
fn a_runs_events_imported_back_make_a_profile_under_which_nothing_is_denied() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    std::fs::write(&base, BASE).unwrap();
    let exe = cc("denied", DENIED);
    let before = run_events(dir.path(), &base, &exe, "before.jsonl");
    let mut said: Vec<&str> = before
        .iter()
        .map(|e| e["syscall"].as_str().unwrap())
        .collect();
    said.sort();
    assert_eq!(said, ["delete_module", "swapoff", "umount2"], "{before:?}");

    let (code, err, _) = import(&base, &[], &[dir.path().join("before.jsonl")]);
    assert_eq!(code, 0, "{err}");
    assert_has(
        &err,
        &format!("wrote {}", dir.path().join("imported.json").display()),
    );
    assert_has(
        &err,
        "allowing 3 more syscalls: delete_module, swapoff, umount2",
    );
    let after = run_events(
        dir.path(),
        &dir.path().join("imported.json"),
        &exe,
        "after.jsonl",
    );
    assert!(after.is_empty(), "{after:?}");
    // The allowance is for what the events named, not more: acct is still refused.
    let text = std::fs::read_to_string(dir.path().join("imported.json")).unwrap();
    assert_has(&text, "\"acct\"");
}

/// A line as `run --events` writes it, of `pod` (namespace, name) when given.
fn line(syscall: &str, action: &str, pod: Option<(&str, &str)>) -> String {
    let mut e = serde_json::json!({
        "time_ms": 3, "source": "audit", "pid": 9, "tid": 9, "comm": "app",
        "arch": "x86_64", "syscall": syscall, "nr": 0, "action": action,
        "rule": "syscalls[0]", "bootstrap": false, "decision": "logged",
    });
    if let Some((ns, name)) = pod {
        e["pod"] = serde_json::json!({
            "namespace": ns, "name": name,
            "uid": "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6", "container": "app",
        });
    }
    e.to_string() + "\n"
}

fn deny_all(dir: &Path) -> PathBuf {
    let base = dir.join("base.json");
    std::fs::write(
        &base,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}"#,
    )
    .unwrap();
    base
}

#[test]
fn two_nodes_files_merge_and_other_layers_and_allowed_calls_are_skipped_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let base = deny_all(dir.path());
    let (a, b) = (
        dir.path().join("node-a.jsonl"),
        dir.path().join("node-b.jsonl"),
    );
    std::fs::write(
        &a,
        line("mkdir", "SCMP_ACT_ERRNO", None) + &line("mkdir", "SCMP_ACT_KILL_PROCESS", None),
    )
    .unwrap();
    let ebpf = r#"{"time_ms":1,"source":"ebpf","pid":2,"tid":2,"comm":"x","arch":"x86_64","syscall":"sethostname","nr":170,"errno":"EPERM","layer":"capability"}"#;
    let softened =
        line("getsid", "SCMP_ACT_ERRNO", None).replace("}\n", ",\"softened\":\"SCMP_ACT_LOG\"}\n");
    std::fs::write(
        &b,
        format!(
            "{ebpf}\n\n{}{}{softened}",
            line("unshare", "SCMP_ACT_ERRNO", None),
            line("getpgid", "SCMP_ACT_LOG", None)
        ),
    )
    .unwrap();
    let (code, err, allowed) = import(&base, &[], &[a.clone(), b.clone()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(allowed, ["getsid", "mkdir", "unshare"], "{err}");
    assert_has(&err, "skipped 1 event(s) of other layers");
    assert_has(
        &err,
        "skipped 1 event(s) of calls the profile allowed or only logged",
    );
    assert_has(&err, "read 4 records naming 3 syscalls");
    let profile = std::fs::read_to_string(dir.path().join("imported.json")).unwrap();
    let from = format!(
        "imported by eperm from {}, {} (events)",
        a.display(),
        b.display()
    );
    assert_has(&profile, &from);
}

#[test]
fn pod_and_workload_choose_the_events_of_one_pod_or_one_owners_pods() {
    let dir = tempfile::tempdir().unwrap();
    let base = deny_all(dir.path());
    let file = dir.path().join("fleet.jsonl");
    std::fs::write(
        &file,
        [
            line("mkdir", "SCMP_ACT_ERRNO", Some(("shop", "web-7d9f8-x2x4q"))),
            line(
                "unshare",
                "SCMP_ACT_ERRNO",
                Some(("shop", "web-7d9f8-b7k2p")),
            ),
            line("personality", "SCMP_ACT_ERRNO", Some(("shop", "webhook-1"))),
            line("getpgid", "SCMP_ACT_ERRNO", Some(("other", "db-0"))),
            line("getsid", "SCMP_ACT_ERRNO", None),
        ]
        .concat(),
    )
    .unwrap();
    let files = [file];
    let (_, err, all) = import(&base, &[], &files);
    assert_eq!(
        all,
        ["getpgid", "getsid", "mkdir", "personality", "unshare"],
        "{err}"
    );
    let (code, err, web) = import(&base, &["--workload", "web"], &files);
    assert_eq!(
        (code, web),
        (0, vec!["mkdir".to_string(), "unshare".into()]),
        "{err}"
    );
    assert_has(&err, "skipped 3 event(s) of other pods");
    let (_, err, one) = import(&base, &["--pod", "shop/webhook-1"], &files);
    assert_eq!(one, ["personality"], "{err}");
    let (_, err, none) = import(&base, &["--pod", "other/web-7d9f8-x2x4q"], &files);
    assert!(none.is_empty(), "{err}");
    assert_has(&err, "allowing 0 more syscalls");

    let (_, err, any_namespace) = import(&base, &["--pod", "db-0"], &files);
    assert_eq!(any_namespace, ["getpgid"], "{err}");
    let out = eperm()
        .args([
            "import",
            "--format",
            "kmsg",
            "--empty",
            "--workload",
            "web",
            "-o",
        ])
        .arg(dir.path().join("x.json"))
        .arg(&files[0])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), "use them with --format events");
}

#[test]
fn a_bad_line_is_an_error_naming_its_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let base = deny_all(dir.path());
    let file = dir.path().join("bad.jsonl");
    for (bad, said) in [
        (
            line("mkdir", "SCMP_ACT_ERRNO", None).replace("x86_64", "vax"),
            "`arch` \"vax\" is no architecture",
        ),
        (
            line("mkdir", "SCMP_ACT_NOPE", None),
            "`action` \"SCMP_ACT_NOPE\" is no seccomp action",
        ),
        (
            line("mkdir", "SCMP_ACT_ERRNO", None).replace("\"syscall\":\"mkdir\"", "\"syscall\":7"),
            "`syscall` is 7, not a string",
        ),
        (
            "type=SECCOMP msg=audit(1.2:3): syscall=83\n".to_string(),
            "not JSON: expected ident",
        ),
    ] {
        std::fs::write(&file, line("mkdir", "SCMP_ACT_ERRNO", None) + "\n" + &bad).unwrap();
        let (code, err, allowed) = import(&base, &[], std::slice::from_ref(&file));
        assert_eq!(code, 2, "{err}");
        let place = if said.starts_with("not JSON") {
            ":3:2"
        } else {
            ":3"
        };
        assert_has(
            &err,
            &format!("{}{place}: not an eperm event ({said})", file.display()),
        );
        assert_has(&err, "hint:");
        assert_lacks(&err, "eperm: wrote");
        assert!(allowed.is_empty(), "nothing is written: {allowed:?}");
    }
    // A line longer than any event is refused before it is read whole.
    let long = format!("{{\"comm\":\"{}\"}}\n", "x".repeat(3 << 20));
    std::fs::write(&file, line("mkdir", "SCMP_ACT_ERRNO", None) + &long).unwrap();
    let (code, err, _) = import(&base, &[], std::slice::from_ref(&file));
    assert_eq!(code, 2, "{err}");
    let said = format!(
        "{}:2: not an eperm event (a line over 1048576 bytes)",
        file.display()
    );
    assert_has(&err, &said);
}
