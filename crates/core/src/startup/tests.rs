use super::*;
use crate::caps::CapSet;
use crate::profile::{load_str, resolve, Target, DEFAULT_PROFILE};
use crate::target::Runtime;

const DENY_ALL: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["read", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;

fn target(runtime: Option<RuntimeKind>) -> Target {
    Target {
        arch: Arch::X86_64,
        caps: CapSet::docker_default(),
        kernel: None,
        runtime: runtime.map(Runtime::newest),
    }
}

fn readiness_of(text: &str, runtime: Option<RuntimeKind>, nnp: bool) -> Readiness {
    let profile = load_str("p.json", text.to_string()).unwrap();
    readiness(&resolve(&profile, &target(runtime)), nnp)
}

#[test]
fn no_new_privileges_needs_fewer_calls_and_unmeasured_targets_are_unknown() {
    for runtime in MEASURED {
        let without = calls(runtime, Arch::X86_64, false).unwrap();
        let with = calls(runtime, Arch::X86_64, true).unwrap();
        assert!(with.iter().all(|n| without.contains(n)), "{runtime:?}");
        assert!(with.len() < without.len(), "{runtime:?}");
        assert!(without.contains(&"execve"), "{runtime:?}: the exec itself");
        assert!(
            without.iter().all(|n| crate::arch::is_known_anywhere(n)),
            "{without:?}"
        );
    }
    assert!(calls(RuntimeKind::Runc, Arch::X86_64, false)
        .unwrap()
        .contains(&"fstatfs"));
    assert_eq!(calls(RuntimeKind::Runc, Arch::Aarch64, false), None);
    assert_eq!(calls(RuntimeKind::Youki, Arch::X86_64, false), None);
}

#[test]
fn a_deny_everything_profile_names_each_missing_call() {
    let Readiness::Missing(missing) = readiness_of(DENY_ALL, Some(RuntimeKind::Runc), false) else {
        panic!("runc cannot start under it");
    };
    for name in ["capset", "fstatfs", "execve", "futex"] {
        assert!(missing.contains(&name), "{missing:?}");
    }
    assert!(!missing.contains(&"read"), "allowed: {missing:?}");
    let Readiness::Missing(crun) = readiness_of(DENY_ALL, Some(RuntimeKind::Crun), true) else {
        panic!("crun cannot start under it");
    };
    assert_eq!(crun, ["close", "execve", "kill", "munmap", "wait4"]);
    // A bare process: no runtime, nothing to start.
    assert_eq!(readiness_of(DENY_ALL, None, false), Readiness::Ready);
    assert_eq!(
        readiness_of(DENY_ALL, Some(RuntimeKind::Youki), false),
        Readiness::Unknown
    );
}

#[test]
fn the_default_profile_starts_both_runtimes() {
    for runtime in MEASURED {
        for nnp in [false, true] {
            assert_eq!(
                readiness_of(DEFAULT_PROFILE, Some(runtime), nnp),
                Readiness::Ready,
                "{runtime:?} nnp {nnp}"
            );
        }
    }
}

#[test]
fn an_explicit_denial_is_missing_and_a_conditional_allowance_is_not() {
    let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["fstatfs"], "action": "SCMP_ACT_ERRNO"}]}"#;
    assert_eq!(
        readiness_of(text, Some(RuntimeKind::Runc), false),
        Readiness::Missing(vec!["fstatfs"])
    );
    let profile = load_str("p.json", DENY_ALL.into()).unwrap();
    let (applied, _) = allow(&profile, &[RuntimeKind::Crun], Arch::X86_64, &[]).unwrap();
    let text = applied.text().replace(
        r#""prctl""#,
        r#""prctl"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}, {"names": ["getpid""#,
    );
    let conditional = load_str("p.json", text.clone()).unwrap();
    assert!(
        conditional.rules.iter().any(|r| !r.args.is_empty()),
        "{text}"
    );
    assert_eq!(
        readiness_of(&text, Some(RuntimeKind::Crun), false),
        Readiness::Ready
    );
}

#[test]
fn allowing_them_writes_one_commented_rule_that_starts_both_runtimes() {
    let profile = load_str("p.json", DENY_ALL.into()).unwrap();
    let runtimes = [RuntimeKind::Runc, RuntimeKind::Crun];
    let (applied, unknown) = allow(&profile, &runtimes, Arch::X86_64, &[]).unwrap();
    assert!(unknown.is_empty());
    let written = load_str("p.json", applied.text().to_string()).unwrap();
    let startup: Vec<_> = written
        .rules
        .iter()
        .filter(|r| r.comment.as_deref().is_some_and(is_startup_comment))
        .collect();
    assert_eq!(startup.len(), 1, "{}", applied.text());
    assert!(startup[0]
        .comment
        .as_deref()
        .unwrap()
        .contains("runc, crun"));
    // read was allowed already, in the profile's own rule: left there.
    assert!(!startup[0].names.iter().any(|n| n.name == "read"));
    for runtime in runtimes {
        assert_eq!(
            readiness_of(applied.text(), Some(runtime), false),
            Readiness::Ready
        );
    }
    // Once there, nothing more to add.
    let (again, _) = allow(&written, &runtimes, Arch::X86_64, &[]).unwrap();
    assert_eq!(again.text(), applied.text());
    // On an arch eperm has not measured, it says so.
    let (_, unknown) = allow(&profile, &runtimes, Arch::Aarch64, &[]).unwrap();
    assert_eq!(unknown, runtimes);
}
