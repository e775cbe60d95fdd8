//! The profile loader, end to end: good profiles load with the right model and
//! an untouched document; every kind of bad profile is refused with its file,
//! line:column, JSON path, the bad value and a hint; and nothing makes it panic.

use crate::util;
use eperm::arch::Arch;
use eperm::profile::model::{ArchMapEntry, Form};
use eperm::profile::{load_file, load_str, Action, ArgCond, CmpOp, KernelVersion, Profile};

fn good(name: &str) -> Profile {
    let path = util::fixture(&format!("good/{name}"));
    match load_file(&path) {
        Ok(p) => p,
        Err(e) => panic!("{name} should load:\n{e}"),
    }
}

fn names(p: &Profile, rule: usize) -> Vec<&str> {
    p.rules[rule]
        .names
        .iter()
        .map(|n| n.name.as_str())
        .collect()
}

fn cond(index: u8, op: CmpOp, value: u64, value_two: u64) -> ArgCond {
    ArgCond {
        index,
        value,
        value_two,
        op,
    }
}

fn kernel(major: u32, minor: u32) -> Option<KernelVersion> {
    Some(KernelVersion { major, minor })
}

/// Every good fixture, by file name and text.
fn good_fixtures() -> Vec<(String, String)> {
    let mut out: Vec<_> = std::fs::read_dir(util::fixture("good"))
        .expect("tests/fixtures/good exists")
        .map(|e| e.expect("readable dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("UTF-8 fixture"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "good fixtures went missing");
    out
}

#[test]
fn every_good_fixture_loads_and_keeps_its_document() {
    for (name, text) in good_fixtures() {
        let profile = match load_str(&name, text.clone()) {
            Ok(p) => p,
            Err(e) => panic!("{name} should load:\n{e}"),
        };
        let ours = profile.root.to_serde();
        let theirs: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(ours, theirs, "{name}: document changed by loading");
        // Map equality ignores order; the serialised text does not.
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap(),
            "{name}: key order changed by loading"
        );
        assert_eq!(profile.text, text, "{name}: text kept verbatim");
    }
}

#[test]
fn check_accepts_every_good_fixture() {
    for (name, _) in good_fixtures() {
        let path = util::fixture(&format!("good/{name}"));
        let out = util::run(&["check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            out.status,
            util::stderr(&out)
        );
    }
}

#[test]
fn minimal_profile_has_only_defaults() {
    let p = good("minimal.json");
    assert_eq!(p.form, Form::Docker);
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno, None);
    assert!(p.architectures.is_empty() && p.arch_map.is_empty());
    assert!(p.flags.is_empty() && p.rules.is_empty());
    assert_eq!(p.listener_path, None);
    assert_eq!(p.base_path(), "");
}

#[test]
fn all_nine_action_spellings() {
    let p = good("all-actions.json");
    assert_eq!(p.default_errno, Some(1));
    assert_eq!(p.listener_path.as_deref(), Some("/run/eperm/notify.sock"));
    let got: Vec<_> = p.rules.iter().map(|r| (r.action, r.errno_ret)).collect();
    assert_eq!(
        got,
        [
            (Action::Allow, None),
            (Action::Errno, Some(38)),
            (Action::KillThread, None),
            (Action::KillThread, None),
            (Action::KillProcess, None),
            (Action::Trap, None),
            (Action::Trace, Some(1234)),
            (Action::Log, None),
            (Action::Notify, None),
        ]
    );
    assert_eq!(names(&p, 0), ["read", "write"]);
    assert_eq!(names(&p, 8), ["bpf"]);
    for (i, rule) in p.rules.iter().enumerate() {
        assert_eq!(rule.index, i);
        let written = &p.text[rule.span.start..rule.span.end];
        assert!(
            written.starts_with('{') && written.ends_with('}'),
            "{written}"
        );
    }
    // Each name remembers where it is written.
    let read = &p.rules[0].names[0];
    assert_eq!(&p.text[read.span.start..read.span.end], "\"read\"");
}

#[test]
fn all_seven_operators() {
    let p = good("all-ops.json");
    assert_eq!(
        p.rules[0].args,
        [
            cond(0, CmpOp::Ne, 0, 0),
            cond(1, CmpOp::Lt, 10, 0),
            cond(2, CmpOp::Le, 20, 0),
            cond(3, CmpOp::Eq, 30, 0),
            cond(4, CmpOp::Ge, 40, 0),
            cond(5, CmpOp::Gt, u64::MAX, 0),
        ]
    );
    assert_eq!(p.rules[1].args, [cond(0, CmpOp::MaskedEq, 2114060288, 0)]);
    // A missing index is 0, as Go's zero value makes it.
    assert_eq!(p.rules[2].args, [cond(0, CmpOp::Eq, 16, 0)]);
    // `args: null` and `args: []` both mean no conditions.
    assert!(p.rules[3].args.is_empty() && p.rules[4].args.is_empty());
}

#[test]
fn singular_name_as_docker_reads_it() {
    let p = good("singular-name.json");
    assert_eq!(p.architectures, [Arch::X86_64]);
    assert_eq!(names(&p, 0), ["read"]);
    assert_eq!(names(&p, 1), ["write"]);
    // Docker refuses name+names only when both are non-empty.
    assert_eq!(names(&p, 2), ["close", "fstat"]);
    assert_eq!(names(&p, 3), ["exit_group"]);
    assert_eq!(names(&p, 4), ["brk"]);
    assert!(p.rules.iter().all(|r| r.action == Action::Allow));
}

#[test]
fn includes_excludes_and_arch_map() {
    let p = good("filters.json");
    assert_eq!(
        p.arch_map,
        [
            ArchMapEntry {
                arch: Arch::X86_64,
                sub_arches: vec![Arch::X86, Arch::X32],
            },
            ArchMapEntry {
                arch: Arch::Aarch64,
                sub_arches: vec![Arch::Arm],
            },
            ArchMapEntry {
                arch: Arch::Riscv64,
                sub_arches: vec![],
            },
        ]
    );
    assert!(p.architectures.is_empty());
    let r = &p.rules;
    assert_eq!(r[0].comment.as_deref(), Some("always"));
    assert!(r[0].includes.is_empty() && r[0].excludes.is_empty());
    assert_eq!(r[1].includes.caps, ["CAP_SYS_ADMIN", "CAP_BPF"]);
    assert_eq!(r[1].includes.min_kernel, kernel(5, 8));
    assert!(r[1].includes.arches.is_empty());
    assert_eq!(r[2].includes.arches, ["amd64", "x32"]);
    assert_eq!(r[3].excludes.caps, ["CAP_SYS_PTRACE"]);
    assert_eq!(r[3].excludes.arches, ["s390x"]);
    assert_eq!(r[3].excludes.min_kernel, kernel(4, 8));
    assert!(r[3].includes.is_empty());
    assert_eq!(r[4].errno_ret, Some(38));
    assert!(r[4].includes.is_empty() && r[4].excludes.is_empty());
}

#[test]
fn architectures_and_flags() {
    let p = good("architectures-flags.json");
    assert_eq!(p.default_action, Action::KillProcess);
    assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
    assert_eq!(
        p.flags,
        [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ]
    );
}

#[test]
fn unknown_fields_are_kept_and_ignored() {
    let p = good("unknown-fields.json");
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.arch_map.len(), 1);
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.rules[0].args, [cond(0, CmpOp::Eq, 3, 0)]);
    assert!(p.rules[0].includes.is_empty() && p.rules[0].excludes.is_empty());
    let keys: Vec<_> = p.root.members().unwrap().iter().map(|m| &m.key).collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("zFirst"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("zLast"));
    let text = p.root.get("text").and_then(|t| t.as_str()).unwrap();
    assert!(text.starts_with("café 😀 tab\there \"quoted\" back\\slash / "));
}

#[test]
fn bare_oci_seccomp_object_is_the_docker_form() {
    let p = good("oci-seccomp-object.json");
    assert_eq!(p.form, Form::Docker);
    assert_eq!(p.flags, ["SECCOMP_FILTER_FLAG_LOG"]);
    assert_eq!(
        p.listener_path.as_deref(),
        Some("/run/seccomp-agent.socket")
    );
    assert_eq!(p.rules[1].action, Action::Notify);
    assert_eq!(p.rules[2].errno_ret, Some(25));
    assert_eq!(p.rules[2].args, [cond(1, CmpOp::Eq, 21531, 0)]);
}

#[test]
fn whole_oci_config_reads_linux_seccomp() {
    let p = good("oci-config.json");
    assert_eq!(p.form, Form::OciConfig);
    assert_eq!(p.base_path(), "linux.seccomp");
    assert_eq!(
        p.path("syscalls[1].args[0]"),
        "linux.seccomp.syscalls[1].args[0]"
    );
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno, Some(1));
    assert_eq!(p.architectures, [Arch::X86_64]);
    assert_eq!(names(&p, 0), ["read", "write", "exit_group"]);
    assert_eq!(p.rules[1].args, [cond(0, CmpOp::Eq, 8, 0)]);
    assert!(p.seccomp_node().get("syscalls").is_some());
    // The rest of the config is still there, untouched.
    assert_eq!(
        p.root.get("hostname").and_then(|h| h.as_str()),
        Some("eperm-test")
    );
}

#[test]
fn duplicate_keys_read_as_go_reads_them() {
    // encoding/json keeps the last of duplicate keys; so must we.
    let p = good("duplicate-keys.json");
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.rules[0].action, Action::Log);
}

#[test]
fn null_optional_fields_read_as_absent() {
    let p = good("nulls.json");
    assert_eq!(p.default_action, Action::Trap);
    assert_eq!(p.default_errno, None);
    assert!(p.architectures.is_empty() && p.arch_map.is_empty() && p.flags.is_empty());
    assert!(p.rules.is_empty() && p.listener_path.is_none());
}

#[test]
fn the_embedded_default_profile_loads() {
    let p = load_str("default.json", eperm::profile::DEFAULT_PROFILE.to_string())
        .expect("the embedded default loads");
    assert_eq!(p.default_action, Action::Errno);
}
