//! The compiler, emulator and the `compile` / `explain` commands.

use crate::util::{assert_has, eperm, fixture, ok, run, stderr, stdout};
use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{self, bpf, Mode};
use eperm::profile::{load_file, resolve, KernelVersion, Profile, Resolved, Target, Verdict};

pub const FIXTURES: &[&str] = &[
    "compile/ops.json",
    "compile/actions.json",
    "compile/overlap.json",
    "compile/includes.json",
    "compile/docker-like.json",
    "compile/default.json",
    "spo/profile.yaml",
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
        runtime: None,
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
                && matches!(e, compile::libseccomp::Entry::Always(l) if l.verdict.action == eperm::profile::Action::Allow)
        })
        .count();
    assert_eq!(s.cacheable, allowed_always);
    assert!(s.longest_path <= 30, "{s:?}");
    assert!(s.instructions < 600, "{s:?}");
}

/// A profile (loaded as `name`) allowing ioctl with each of the first `values`
/// values of its second argument, and the calls `allowed` (JSON strings, comma
/// separated) whatever their arguments; the rest is denied.
fn ioctl_values(name: &str, values: u64, allowed: &str) -> eperm::profile::Profile {
    let mut rules = String::new();
    for v in 0..values {
        rules.push_str(&format!(
            r#"{{"names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 1, "value": {v}, "op": "SCMP_CMP_EQ"}}]}},"#
        ));
    }
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{rules} {{"names": [{allowed}], "action": "SCMP_ACT_ALLOW"}}]}}"#
    );
    eperm::profile::load_str(name, text).unwrap()
}

#[test]
fn long_argument_blocks_get_trampolines() {
    // 300 argument values for one syscall: the search must jump over them.
    let p = ioctl_values("big.json", 300, r#""read", "write""#);
    let r = resolve_for(&p, &[Arch::X86_64]);
    let c = compile::compile(&r, Mode::Enforce).unwrap();
    compile::validate(&c.program).unwrap();
    // Far jumps exist (to a `ret` copy within reach, or through a `ja`).
    assert!(c.program.len() > 300, "{}", c.program.len());
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
    let p = ioctl_values("huge.json", 5000, r#""read""#);
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

/// libseccomp 2.5.4 never returns from the second `seccomp_rule_add` here (checked
/// with a C program against the installed library): on a 64-bit arch both the
/// high-word `>` node and the low-word `>=` node of `args[0] >= 5` lead to the
/// `args[1]` level. The new `args[1] == 2^32` node goes in front of the existing
/// one through the first parent, and the merge through the second parent, which
/// still points at the old node, inserts it in front again: the level's list
/// now loops. We refuse such profiles rather than model a hang.
#[test]
fn rules_libseccomp_hangs_on_are_refused() {
    let rule = |v: u64| {
        format!(
            r#"{{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 0, "value": 5, "op": "SCMP_CMP_GE"}}, {{"index": 1, "value": {v}, "op": "SCMP_CMP_EQ"}}]}}"#
        )
    };
    let text = format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}, {}]}}"#,
        rule(7),
        rule(0x1_0000_0000)
    );
    let p = eperm::profile::load_str("hang.json", text).unwrap();
    let err = compile::compile(&resolve_for(&p, &[Arch::Aarch64]), Mode::Enforce).unwrap_err();
    assert!(err.to_string().contains("never returns"), "{err}");
    // On a 32-bit arch the chain is linear and the merge is fine.
    compile::compile(&resolve_for(&p, &[Arch::Arm]), Mode::Enforce).unwrap();
}

#[cfg(feature = "differential")]
mod cross_arch;
#[cfg(feature = "differential")]
pub mod differential;

#[test]
fn compile_writes_lists_and_measures() {
    let f = fixture("compile/actions.json");
    let f = f.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("a.bpf");
    ok(eperm()
        .args(["compile", f, "--arch", "x86_64", "-o"])
        .arg(&out_path));
    let prog = bpf::from_bytes(&std::fs::read(&out_path).unwrap()).unwrap();
    compile::validate(&prog).unwrap();
    let getpid = Arch::X86_64.syscall_nr("getpid").unwrap();
    let data = compile::SeccompData {
        nr: getpid,
        arch: Arch::X86_64.audit_arch(),
        ip: 0,
        args: [0; 6],
    };
    assert_eq!(bpf::run(&prog, &data).0, bpf::RET_ERRNO | 13);

    let out = run(&["compile", f, "--arch", "x86_64", "--disasm"]);
    let text = stdout(&out);
    assert_has(&text, "jeq  arch == x86_64");
    assert!(
        text.contains("(getpid)") && text.contains("ret  ERRNO(EACCES)"),
        "{text}"
    );

    let out = run(&["compile", f, "--arch", "x86_64", "--stats", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["arches"], serde_json::json!(["x86_64"]));
    assert!(v["instructions"].as_u64().unwrap() > 10);
    assert_eq!(v["cacheable"], 3, "read, write, exit_group");

    let out = run(&["compile", f, "--stats", "--mode", "sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("[possible values: enforce, trace, notify, log]"));
}

/// `eperm explain` of the fixture `file` on x86_64 with `args`.
fn explain_x86_64(file: &str, args: &[&str]) -> std::process::Output {
    let file = fixture(file);
    let head = ["explain", file.to_str().unwrap()];
    run(&[&head[..], args, &["--arch", "x86_64"]].concat())
}

#[test]
fn explain_names_the_deciding_rule_and_the_others() {
    let out = explain_x86_64("compile/overlap.json", &["personality", "8"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_has(&text, "SCMP_ACT_ERRNO(EINVAL)");
    assert_has(&text, "decided by syscalls[1]");
    assert_has(&text, "syscalls[0]: it matches, but syscalls[1] decides");

    let out = explain_x86_64("compile/includes.json", &["personality", "0x1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["rule"], "defaultAction");
    assert_eq!(v["errno"], "EPERM");
    let why = v["others"][0]["why"].as_str().unwrap();
    assert_has(why, "args[0] = 0x1");

    let out = explain_x86_64("compile/includes.json", &["mount"]);
    assert!(
        stdout(&out).contains("dropped by Docker: includes.caps: the target lacks CAP_SYS_ADMIN")
    );

    let out = explain_x86_64(
        "compile/docker-like.json",
        &["clone", "CLONE_NEWUSER|CLONE_NEWNS"],
    );
    assert_has(
        &stdout(&out),
        "clone(0x10020000) on x86_64: SCMP_ACT_ERRNO(EPERM)",
    );

    let out = explain_x86_64("compile/docker-like.json", &["execv"]);
    assert_eq!(out.status.code(), Some(2));
    assert_has(&stderr(&out), "did you mean execve");
    let f = fixture("compile/docker-like.json");
    let out = run(&["explain", f.to_str().unwrap(), "socket", "AF_BOGUS"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hint:"));
}

/// Installs `prog` in a forked child, makes one syscall there, and reports how the
/// child ended: `Ok(errno or 0)` from its exit status, `Err(signal)` if killed.
#[cfg(target_arch = "x86_64")]
fn in_child(
    prog: &[compile::SockFilter],
    nr: libc::c_long,
    arg0: libc::c_long,
) -> Result<i32, i32> {
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const compile::SockFilter,
    }
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: the child only makes raw syscalls and _exits; the parent waits for it.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork");
        if pid == 0 {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                libc::_exit(100);
            }
            if libc::syscall(libc::SYS_seccomp, 1, 0, &fprog as *const SockFprog) != 0 {
                libc::_exit(101);
            }
            let r = libc::syscall(nr, arg0);
            libc::_exit(if r == -1 {
                *libc::__errno_location()
            } else {
                0
            });
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        if libc::WIFSIGNALED(status) {
            Err(libc::WTERMSIG(status))
        } else {
            Ok(libc::WEXITSTATUS(status))
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn compiled_filters_do_what_they_say_in_the_kernel() {
    let p = loaded(
        "live.json",
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["getpgrp"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["getuid"], "action": "SCMP_ACT_TRAP"},
            {"names": ["getgid"], "action": "SCMP_ACT_LOG"},
            {"names": ["umask"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "args": [{"index": 0, "value": 18, "op": "SCMP_CMP_EQ"}]}
        ]}"#,
    );
    let r = resolve_for(&p, &[Arch::X86_64]);
    let c = compile::compile(&r, Mode::Enforce).unwrap();
    let prog = &c.program;
    for (nr, arg0, want, what) in [
        (libc::SYS_getppid, 0, Ok(13), "ERRNO"),
        (libc::SYS_getpid, 0, Ok(0), "ALLOW (default)"),
        (libc::SYS_getpgrp, 0, Err(libc::SIGSYS), "KILL_PROCESS"),
        (libc::SYS_getuid, 0, Err(libc::SIGSYS), "TRAP"),
        (libc::SYS_getgid, 0, Ok(0), "LOG"),
        (libc::SYS_umask, 18, Ok(38), "argument rule matches"),
        (libc::SYS_umask, 0o77, Ok(0), "argument rule does not match"),
    ] {
        assert_eq!(in_child(prog, nr, arg0), want, "{what}");
    }
    // Log mode: the denials are allowed (and logged).
    let c = compile::compile(&r, Mode::Log).unwrap();
    assert_eq!(
        in_child(&c.program, libc::SYS_getppid, 0),
        Ok(0),
        "LOG mode"
    );
}

/// The kernel lets `uretprobe` (6.14 on) and `uprobe` (6.18 on) through before
/// any filter (issue 33): `explain` says so for a target kernel at or above the
/// release, and gives the profile's verdict below it.
#[test]
fn explain_predicts_the_kernels_passthrough_calls_by_kernel_version() {
    let f = fixture("compile/default.json");
    let f = f.to_str().unwrap();
    let explain = |call: &str, kernel: &str| {
        let out = run(&["explain", f, call, "--arch", "x86_64", "--kernel", kernel]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    for (call, before, since) in [("uretprobe", "6.13", "6.14"), ("uprobe", "6.17", "6.18")] {
        let old = explain(call, before);
        assert!(
            old.contains(": SCMP_ACT_ERRNO"),
            "{call} on {before}: {old}"
        );
        let new = explain(call, since);
        assert!(new.contains(": SCMP_ACT_ALLOW"), "{call} on {since}: {new}");
        assert!(
            new.contains(&format!("decided by the kernel: the kernel lets {call} through before any seccomp filter (Linux {since} and later")),
            "{new}"
        );
        assert!(new.contains("BPF: not run; the program alone"), "{new}");
    }
    let json = run(&[
        "explain", f, "uprobe", "--arch", "x86_64", "--kernel", "6.18", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["action"], "SCMP_ACT_ALLOW");
    assert!(v["kernel_passthrough"].as_str().unwrap().contains("uprobe"));
    assert_eq!(v["instructions"], 0);
}

/// Everything denied but the calls a child needs to end.
const DENY_ALL_BUT_EXIT: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
    {"names": ["exit", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#;

/// On this machine's kernel, what eperm predicts for the passthrough calls
/// under a profile that denies everything is what the kernel does: the call
/// reaches its own code (`uprobe` outside a trampoline: ENXIO; `uretprobe`:
/// SIGILL), not the filter's EPERM.
#[cfg(target_arch = "x86_64")]
#[test]
fn passthrough_calls_reach_the_kernel_as_predicted() {
    let p = loaded("deny.json", DENY_ALL_BUT_EXIT);
    let running = KernelVersion::running();
    let mut t = target(Arch::X86_64);
    t.kernel = running;
    let c = compile::compile(&eperm::profile::resolve(&p, &t), Mode::Enforce).unwrap();
    for (nr, native) in [(335, Err(libc::SIGILL)), (336, Ok(libc::ENXIO))] {
        let passes = c.evaluate(Arch::X86_64, nr, [0; 6]).verdict == Verdict::ALLOW;
        let got = in_child(&c.program, nr.into(), 0);
        if passes {
            assert_eq!(
                got, native,
                "nr {nr} on {running:?}: predicted to pass through"
            );
        } else {
            assert_eq!(
                got,
                Ok(libc::EPERM),
                "nr {nr} on {running:?}: predicted EPERM"
            );
        }
    }
}

/// The profile `text`, read as from a file called `name`.
fn loaded(name: &str, text: &str) -> eperm::profile::Profile {
    eperm::profile::load_str(name, text.to_string()).unwrap()
}
