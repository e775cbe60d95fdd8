//! The compiler, emulator and the `compile` / `explain` commands.

use crate::util::fixture;
use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{self, bpf, Mode};
use eperm::profile::{load_file, resolve, KernelVersion, Profile, Resolved, Target};

pub const FIXTURES: &[&str] = &[
    "compile/ops.json",
    "compile/actions.json",
    "compile/overlap.json",
    "compile/includes.json",
    "compile/docker-like.json",
];

/// Fixtures libseccomp refuses (two actions for one argument test).
pub const REFUSED: &[&str] = &["compile/conflict.json"];

pub fn load(name: &str) -> Profile {
    load_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn target(arch: Arch) -> Target {
    Target {
        arch,
        caps: CapSet::docker_default(),
        kernel: KernelVersion::parse("6.1"),
    }
}

/// Resolves `profile` for exactly the arches `set` (the first is the native one).
pub fn resolve_for(profile: &Profile, set: &[Arch]) -> Resolved {
    let mut p = profile.clone();
    p.architectures = set[1..].to_vec();
    p.arch_map.clear();
    resolve(&p, &target(set[0]))
}

#[test]
fn compiled_programs_are_valid_and_agree_with_the_model() {
    let sets: &[&[Arch]] = &[
        &[Arch::X86_64, Arch::X86, Arch::X32],
        &[Arch::Aarch64, Arch::Arm],
        &[Arch::X86_64],
    ];
    for name in FIXTURES {
        let profile = load(name);
        for set in sets {
            let r = resolve_for(&profile, set);
            for mode in [Mode::Enforce, Mode::Trace, Mode::Log, Mode::Notify] {
                let c = compile::compile(&r, mode).unwrap();
                compile::validate(&c.program).unwrap();
                for &arch in *set {
                    for &(_, nr) in arch.syscalls() {
                        let (word, _) = c.run(arch, nr, [0; 6]);
                        let want = c.evaluate(arch, nr, [0; 6]);
                        let want_word = compile::action_word(want.verdict);
                        match mode {
                            Mode::Enforce => assert_eq!(word, want_word, "{name} {arch} {nr}"),
                            _ if want_word == bpf::RET_ALLOW => assert_eq!(word, want_word),
                            Mode::Log => assert_eq!(word, bpf::RET_LOG),
                            Mode::Notify => assert_eq!(word, bpf::RET_USER_NOTIF),
                            Mode::Trace => {
                                assert_eq!(word & bpf::RET_ACTION_FULL, bpf::RET_TRACE);
                                let entry = &c.table[(word & bpf::RET_DATA) as usize];
                                assert_eq!(entry.verdict, want.verdict);
                                assert_eq!(entry.effective, want.origin);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn x32_numbers_under_an_x86_64_only_filter_get_the_bad_arch_action() {
    let r = resolve_for(&load("compile/actions.json"), &[Arch::X86_64]);
    let c = compile::compile(&r, Mode::Enforce).unwrap();
    // read on x32, on x86_64, and the -1 that tracers use to skip a call.
    assert_eq!(
        c.run(Arch::X86_64, 0x4000_0000, [0; 6]).0,
        compile::BAD_ARCH
    );
    assert_eq!(c.run(Arch::X86_64, 0, [0; 6]).0, bpf::RET_ALLOW);
    assert_eq!(c.run(Arch::X86_64, u32::MAX, [0; 6]).0, bpf::RET_ERRNO | 38);
    // An arch the filter does not cover.
    assert_eq!(c.run(Arch::Aarch64, 63, [0; 6]).0, compile::BAD_ARCH);
    let both = resolve_for(&load("compile/actions.json"), &[Arch::X86_64, Arch::X32]);
    let c = compile::compile(&both, Mode::Enforce).unwrap();
    assert_eq!(c.run(Arch::X32, 0x4000_0000, [0; 6]).0, bpf::RET_ALLOW);
}

#[test]
fn unconditionally_allowed_syscalls_are_cacheable_and_paths_are_short() {
    let r = resolve_for(
        &load("compile/docker-like.json"),
        &[Arch::X86_64, Arch::X86, Arch::X32],
    );
    let c = compile::compile(&r, Mode::Enforce).unwrap();
    let s = compile::stats::stats(&c.program, &c.arches);
    let allowed_always = c
        .db
        .entries
        .iter()
        .filter(|((a, _), e)| {
            *a != Arch::X32
                && matches!(e, compile::db::Entry::Always(l) if l.verdict.action == eperm::profile::Action::Allow)
        })
        .count();
    assert_eq!(s.cacheable, allowed_always);
    assert!(s.longest_path <= 30, "{s:?}");
    assert!(s.instructions < 600, "{s:?}");
}

#[test]
fn long_argument_blocks_get_trampolines() {
    // 300 argument values for one syscall: the search must jump over them.
    let mut rules = String::new();
    for v in 0..300 {
        rules.push_str(&format!(
            r#"{{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 1, "value": {v}, "op": "SCMP_CMP_EQ"}}]}},"#
        ));
    }
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rules} {{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}}]}}"#
    );
    let p = eperm::profile::load_str("big.json", text).unwrap();
    let r = resolve_for(&p, &[Arch::X86_64]);
    let c = compile::compile(&r, Mode::Enforce).unwrap();
    compile::validate(&c.program).unwrap();
    assert!(c.program.iter().any(|i| i.code == bpf::JA));
    let ioctl = Arch::X86_64.syscall_nr("ioctl").unwrap();
    for v in [0u64, 150, 299] {
        assert_eq!(
            c.run(Arch::X86_64, ioctl, [0, v, 0, 0, 0, 0]).0,
            bpf::RET_ALLOW
        );
    }
    assert_eq!(
        c.run(Arch::X86_64, ioctl, [0, 300, 0, 0, 0, 0]).0,
        bpf::RET_ERRNO | 1
    );
    assert_eq!(c.run(Arch::X86_64, 1, [0; 6]).0, bpf::RET_ALLOW);
}

#[test]
fn too_long_programs_are_refused_with_a_clear_error() {
    let mut rules = String::new();
    for v in 0..1500 {
        rules.push_str(&format!(
            r#"{{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 1, "value": {v}, "op": "SCMP_CMP_EQ"}}]}},"#
        ));
    }
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rules} {{"names": ["read"], "action": "SCMP_ACT_ALLOW"}}]}}"#
    );
    let p = eperm::profile::load_str("huge.json", text).unwrap();
    let err = compile::compile(&resolve_for(&p, &[Arch::X86_64]), Mode::Enforce).unwrap_err();
    assert!(err.to_string().contains("at most 4096"), "{err}");
}

#[test]
fn rules_libseccomp_refuses_are_refused() {
    for name in REFUSED {
        let r = resolve_for(&load(name), &[Arch::X86_64]);
        let err = compile::compile(&r, Mode::Enforce).unwrap_err();
        assert!(err.to_string().contains("runc would fail"), "{err}");
    }
}

#[cfg(feature = "differential")]
mod differential;
