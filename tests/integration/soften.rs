//! `export --soften`: a profile whose refusals are logged, in each form, read
//! back with what each refusal was; and `replay`/`watch` explaining a logged
//! call of it by the verdict the original profile gives.

use crate::util::{eperm, fixture, stderr, stdout};
use eperm::profile::soften::{originals, restored, Original};
use eperm::profile::{load_file, load_str, Action, Profile};
use std::path::{Path, PathBuf};
use std::process::Output;

const PROFILE: &str = "soften/profile.json";

/// `eperm export --soften TO --format FORMAT PROFILE -o OUT`.
fn soften(to: &str, format: &str, profile: &Path, out: &Path) -> Output {
    eperm()
        .args(["export", "--soften", to, "--format", format])
        .arg(profile)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// The fixture softened to `format` in `dir`.
fn softened(format: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("soft-{format}"));
    let done = soften("log", format, &fixture(PROFILE), &out);
    assert!(done.status.success(), "{}", stderr(&done));
    assert!(
        stderr(&done).contains("eperm: 4 refusing actions turned into SCMP_ACT_LOG\n"),
        "{}",
        stderr(&done)
    );
    out
}

fn original_of(p: &Profile, i: usize) -> Original {
    let r = &p.rules[i];
    Original {
        action: r.action,
        errno_ret: r.errno_ret,
    }
}

#[test]
fn a_softened_profile_refuses_nothing_and_keeps_what_it_refused_in_each_form() {
    let original = load_file(&fixture(PROFILE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for format in ["docker", "oci", "spo"] {
        let soft = load_file(&softened(format, dir.path())).unwrap();
        assert_eq!(soft.default_action, Action::Log, "{format}");
        assert_eq!(soft.default_errno, None, "{format}");
        let was = originals(&soft);
        assert_eq!(
            was.default,
            Some(Original {
                action: Action::Errno,
                errno_ret: Some(38)
            }),
            "{format}"
        );
        // Past the original's rules: the runtimes' start-up calls export adds,
        // allowed, so nothing to soften.
        for rule in &soft.rules[original.rules.len()..] {
            assert_eq!(rule.action, Action::Allow, "{format}");
        }
        for (i, rule) in soft.rules.iter().enumerate().take(original.rules.len()) {
            let before = &original.rules[i];
            let names = |r: &eperm::profile::Rule| -> Vec<String> {
                r.names.iter().map(|n| n.name.clone()).collect()
            };
            assert_eq!(names(rule), names(before), "{format} syscalls[{i}]");
            match before.action {
                Action::Allow | Action::Log => {
                    assert_eq!(rule.action, before.action, "{format} syscalls[{i}]");
                    assert!(!was.rules.contains_key(&i), "{format} syscalls[{i}]");
                }
                _ => {
                    assert_eq!(rule.action, Action::Log, "{format} syscalls[{i}]");
                    assert_eq!(rule.errno_ret, None, "{format} syscalls[{i}]");
                    assert_eq!(
                        was.rules.get(&i),
                        Some(&original_of(&original, i)),
                        "{format} syscalls[{i}]"
                    );
                }
            }
        }
        // Put back, it is the profile it came from: the same actions, errnos and comments.
        let back = load_str("back.json", restored(&soft, &was).to_string()).unwrap();
        assert_eq!(back.default_action, original.default_action, "{format}");
        assert_eq!(back.default_errno, original.default_errno, "{format}");
        for (b, o) in back.rules.iter().zip(&original.rules) {
            assert_eq!(
                (b.action, b.errno_ret, &b.comment),
                (o.action, o.errno_ret, &o.comment),
                "{format}"
            );
        }
    }
}

#[test]
fn the_softened_seccomp_profile_keeps_its_originals_in_an_annotation() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(softened("spo", dir.path())).unwrap();
    assert!(text.contains("  annotations:\n    eperm.dev/softened: \"{\\\"defaultAction\\\":\\\"SCMP_ACT_ERRNO errnoRet 38\\\""), "{text}");
    // kubectl apply keeps annotations and drops comments: the annotation alone
    // must say what each rule was.
    let bare: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let soft = load_str("applied.yaml", bare).unwrap();
    let was = originals(&soft);
    assert_eq!(was.rules.len(), 3, "{was:?}");
    assert_eq!(was.rules[&2].action, Action::KillProcess);
    assert_eq!(was.rules[&4].action, Action::Trap);
}

#[test]
fn soften_notify_needs_a_listener_and_writes_notify_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.json");
    let refused = soften("notify", "docker", &fixture(PROFILE), &out);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("no listenerPath"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("hint:"), "{}", stderr(&refused));
    assert!(!out.exists());
    let mut with: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(PROFILE)).unwrap()).unwrap();
    with["listenerPath"] = "/run/eperm-test-agent.sock".into();
    let profile = dir.path().join("listener.json");
    std::fs::write(&profile, with.to_string()).unwrap();
    let done = soften("notify", "docker", &profile, &out);
    assert!(done.status.success(), "{}", stderr(&done));
    let soft = load_file(&out).unwrap();
    // runc refuses NOTIFY as the default: the calls no rule names are logged.
    assert_eq!(soft.default_action, Action::Log);
    assert_eq!(soft.rules[1].action, Action::Notify);
    assert_eq!(originals(&soft).rules[&1].errno_ret, Some(13));
}

/// Logged records of the calls each softened rule decides, replayed under the
/// softened profile, show what the original would have done, and the rule.
#[test]
fn a_logged_call_of_a_softened_rule_shows_the_original_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture("soften/logged.log");
    for (format, base) in [("docker", ""), ("oci", ""), ("spo", "spec.")] {
        let soft = softened(format, dir.path());
        let out = eperm()
            .args(["replay", "--no-tui", "--json", "-p"])
            .arg(&soft)
            .arg(&log)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let events: Vec<serde_json::Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let got: Vec<(String, String, String, String)> = events
            .iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
                (s("syscall"), s("action"), s("errno"), s("rule"))
            })
            .collect();
        let want = |sys: &str, action: &str, errno: &str, rule: &str| {
            (
                sys.into(),
                action.into(),
                errno.into(),
                format!("{base}{rule}"),
            )
        };
        assert_eq!(
            got,
            vec![
                want("mkdir", "SCMP_ACT_ERRNO", "EACCES", "syscalls[1]"),
                want("ptrace", "SCMP_ACT_KILL_PROCESS", "-", "syscalls[2]"),
                want("socket", "SCMP_ACT_ERRNO", "ENOSYS", "defaultAction"),
                want("uselib", "SCMP_ACT_LOG", "-", "syscalls[3]"),
            ],
            "{format}"
        );
        // What the kernel did: logged; a rule that logged before softening is not softened.
        let softened: Vec<&str> = events
            .iter()
            .map(|e| e["softened"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(
            softened,
            ["SCMP_ACT_LOG", "SCMP_ACT_LOG", "SCMP_ACT_LOG", "-"],
            "{format}"
        );
        assert!(events.iter().all(|e| e["decision"] == "logged"));
    }
    // The text form says it too.
    let soft = softened("docker", dir.path());
    let out = eperm()
        .args(["replay", "--no-tui", "-p"])
        .arg(&soft)
        .arg(&log)
        .output()
        .unwrap();
    assert!(
        stdout(&out)
            .contains("mkdir: SCMP_ACT_ERRNO (EACCES) softened to SCMP_ACT_LOG [syscalls[1]]"),
        "{}",
        stdout(&out)
    );
}
