//! The runtime target: `--runtime` / `--libseccomp`, the lints of what a
//! runtime refuses or reads otherwise, and (feature `differential`, and as root
//! with runc and crun installed) eperm's predictions held to libseccomp, runc
//! and crun themselves.

use crate::util::{fixture, run, stderr, stdout};

fn check(args: &[&str]) -> (Option<i32>, String) {
    let out = run(&[&["check"], args].concat());
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[test]
fn an_errno_libseccomp_refuses_is_an_error_at_its_line() {
    let file = fixture("target/errno-out-of-range.json");
    let (code, text) = check(&[
        file.to_str().unwrap(),
        "--runtime",
        "runc",
        "--libseccomp",
        "2.5.4",
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("errno-out-of-range.json:6:68: error[runtime-refuses]: syscalls[1].errnoRet: errno 12345 is out of libseccomp's range"),
        "{text}"
    );
    assert!(text.contains("hint: use an errno below 4095"), "{text}");
    // compile refuses too, with the same line:column.
    let out = run(&[
        "compile",
        file.to_str().unwrap(),
        "--runtime",
        "runc",
        "--disasm",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":6:68: error[runtime-refuses]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn errno_4094_is_accepted_and_an_unknown_name_never_reaches_libseccomp() {
    let file = fixture("target/errno-4094.json");
    let (code, text) = check(&[file.to_str().unwrap(), "--runtime", "runc"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("runtime-refuses"), "{text}");
}

#[test]
fn runc_refuses_an_empty_name_and_crun_skips_it() {
    let file = fixture("target/empty-name.json");
    let (code, text) = check(&[file.to_str().unwrap(), "--runtime", "runc@1.1.5"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            ":4:25: error[runtime-refuses]: syscalls[0].names[1]: an empty name: runc 1.1.5"
        ),
        "{text}"
    );
    let (code, text) = check(&[file.to_str().unwrap(), "--runtime", "crun@1.8.1"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning[empty-name]"), "{text}");
    assert!(
        text.contains("runtime: crun 1.8.1 with libseccomp"),
        "{text}"
    );
}

#[test]
fn crun_refuses_an_errno_beside_an_action_without_data() {
    let file = fixture("target/errno-on-allow.json");
    let (code, text) = check(&[file.to_str().unwrap(), "--runtime", "crun@1.8.1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(":4:5: error[runtime-refuses]: syscalls[0].errnoRet: crun 1.8.1")
            && text.contains("refuses an errno beside SCMP_ACT_ALLOW"),
        "{text}"
    );
    let (code, text) = check(&[file.to_str().unwrap(), "--runtime", "runc@1.1.5"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("warning[ignored-errno]"), "{text}");
}

#[test]
fn names_unknown_to_the_runtimes_libseccomp_are_warnings_with_what_the_container_gets() {
    let file = fixture("target/new-names.json");
    let (code, text) = check(&[
        file.to_str().unwrap(),
        "--runtime",
        "runc@1.1.5",
        "--libseccomp",
        "2.5.4",
    ]);
    assert_eq!(code, Some(0), "{text}");
    // Above futex_waitv (449), the largest name 2.5.4 knows: runc's stub.
    assert!(
        text.contains("warning[unknown-to-runtime]: syscalls[0].names[5]: mseal: unknown to libseccomp 2.5.4 (runc 1.1.5): runc drops it; the container gets ENOSYS"),
        "{text}"
    );
    // Below it: the default action.
    assert!(
        text.contains("uretprobe: unknown to libseccomp 2.5.4 (runc 1.1.5): runc drops it; the container gets EPERM"),
        "{text}"
    );
    // A rule whose verdict the drop does not change is only a note.
    assert!(
        !text.contains("warning[unknown-to-runtime]: syscalls[1]"),
        "{text}"
    );
    assert!(
        text.contains("runtime: runc 1.1.5 with libseccomp 2.5.4)"),
        "{text}"
    );
    // crun has no stub: the default action.
    let (_, text) = check(&[
        file.to_str().unwrap(),
        "--runtime",
        "crun@1.8.1",
        "--libseccomp",
        "2.5.4",
    ]);
    assert!(text.contains("mseal: unknown to libseccomp 2.5.4 (crun 1.8.1): crun drops it; the container gets EPERM"), "{text}");
    // libseccomp 2.6.0 knows them all.
    let (_, text) = check(&[
        file.to_str().unwrap(),
        "--runtime",
        "runc",
        "--libseccomp",
        "2.6.0",
    ]);
    assert!(!text.contains("unknown-to-runtime"), "{text}");
}

#[test]
fn allowed_syscalls_newer_than_the_kernel_are_warnings() {
    let file = fixture("target/new-names.json");
    let (_, text) = check(&[
        file.to_str().unwrap(),
        "--libseccomp",
        "2.6.0",
        "--kernel",
        "5.4",
    ]);
    assert!(
        text.contains("warning[newer-than-kernel]: syscalls[0].names[3]: close_range came with Linux 5.9, the kernel is 5.4"),
        "{text}"
    );
    let (_, text) = check(&[
        file.to_str().unwrap(),
        "--libseccomp",
        "2.6.0",
        "--kernel",
        "6.13",
    ]);
    assert!(!text.contains("newer-than-kernel"), "{text}");
}

#[test]
fn check_reports_rules_libseccomp_refuses_to_merge() {
    let file = fixture("compile/conflict.json");
    let (code, text) = check(&[file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(
            "error[clash]: syscalls[1].names[0]: libseccomp refuses syscalls[1] for personality"
        ),
        "{text}"
    );
}

#[test]
fn explain_says_when_the_runtime_differs_from_the_text() {
    let file = fixture("target/new-names.json");
    let out = run(&[
        "explain",
        file.to_str().unwrap(),
        "mseal",
        "--runtime",
        "runc@1.1.5",
        "--libseccomp",
        "2.5.4",
    ]);
    let text = stdout(&out);
    assert!(
        text.starts_with("mseal() on x86_64: SCMP_ACT_ERRNO(ENOSYS)\n"),
        "{text}"
    );
    assert!(
        text.contains("decided by runc 1.1.5's -ENOSYS stub: nr 462 is above 449 (futex_waitv)"),
        "{text}"
    );
    assert!(
        text.contains("the profile's text: allowed by syscalls[0], but runc 1.1.5 drops the name: libseccomp 2.5.4 does not know mseal"),
        "{text}"
    );
    let out = run(&[
        "explain",
        file.to_str().unwrap(),
        "mseal",
        "--runtime",
        "runc",
        "--libseccomp",
        "2.6.0",
    ]);
    let text = stdout(&out);
    assert!(
        text.starts_with("mseal() on x86_64: SCMP_ACT_ALLOW\n"),
        "{text}"
    );
    assert!(!text.contains("profile's text"), "{text}");
    // A syscall no rule names, above the stub's limit (mseal, 462).
    let out = run(&[
        "explain",
        file.to_str().unwrap(),
        "setxattrat",
        "--runtime",
        "runc",
        "--libseccomp",
        "2.6.0",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["errno"], "ENOSYS", "{v}");
    assert!(
        v["enosys_stub"]
            .as_str()
            .unwrap()
            .contains("above 462 (mseal)"),
        "{v}"
    );
}

#[test]
fn an_arch_the_release_lacks_is_refused() {
    let file = fixture("target/loongarch64.json");
    let file = file.to_str().unwrap();
    let (code, text) = check(&[file, "--arch", "loongarch64", "--libseccomp", "2.5.4"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(":3:20: error[runtime-refuses]: architectures: libseccomp 2.5.4 has no SCMP_ARCH_LOONGARCH64"),
        "{text}"
    );
    let (code, text) = check(&[file, "--arch", "loongarch64", "--libseccomp", "2.6.0"]);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn youki_before_0_7_ors_the_conditions_of_a_rule() {
    let file = fixture("target/conditions.json");
    let file = file.to_str().unwrap();
    let (_, text) = check(&[file, "--runtime", "youki@0.6.0"]);
    assert!(
        text.contains("warning[arg-semantics]: syscalls[0].args: youki before 0.7.0 (the target)"),
        "{text}"
    );
    let verdict = |runtime: &str| {
        let out = run(&[
            "explain",
            file,
            "personality",
            "8",
            "0",
            "--runtime",
            runtime,
        ]);
        stdout(&out).lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        verdict("youki@0.6.0"),
        "personality(0x8, 0x0) on x86_64: SCMP_ACT_ALLOW"
    );
    assert_eq!(
        verdict("youki@0.7.0"),
        "personality(0x8, 0x0) on x86_64: SCMP_ACT_ERRNO(EPERM)"
    );
    assert_eq!(
        verdict("runc"),
        "personality(0x8, 0x0) on x86_64: SCMP_ACT_ERRNO(EPERM)"
    );
}

#[test]
fn bad_runtime_arguments_are_usage_errors_with_a_hint() {
    let file = fixture("target/new-names.json");
    for (args, want) in [
        (&["--runtime", "kata"][..], "unknown runtime \"kata\""),
        (&["--libseccomp", "2.4"][..], "older than the oldest table"),
        (&["--libseccomp", "two"][..], "invalid version \"two\""),
    ] {
        let (code, text) = check(&[&[file.to_str().unwrap()], args].concat());
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(
            text.contains(want) && text.contains("hint"),
            "{args:?}: {text}"
        );
    }
}

#[cfg(feature = "differential")]
mod differential;
mod runtimes;
