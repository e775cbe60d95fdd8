//! The runtime target: `--runtime` / `--libseccomp`, the lints of what a
//! runtime refuses or reads otherwise, and (feature `differential`, and as root
//! with runc and crun installed) eperm's predictions held to libseccomp, runc
//! and crun themselves.

use crate::util::{assert_has, assert_lacks, assert_starts, fixture, run, stderr, stdout};

/// `eperm check` of the fixture `file` with `flags`: its exit code, and what it
/// printed (stdout, then stderr).
fn check(file: &str, flags: &[&str]) -> (Option<i32>, String) {
    let file = fixture(file);
    let out = run(&[&["check", file.to_str().unwrap()], flags].concat());
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

/// What `eperm explain` of the fixture `file` with `args` printed.
fn explain(file: &str, args: &[&str]) -> String {
    let file = fixture(file);
    stdout(&run(&[&["explain", file.to_str().unwrap()], args].concat()))
}

/// Names new in libseccomp 2.6.0 and in recent kernels, mseal among them.
const NEW_NAMES: &str = "target/new-names.json";

#[test]
fn an_errno_libseccomp_refuses_is_an_error_at_its_line() {
    let file = fixture("target/errno-out-of-range.json");
    let (code, text) = check(
        "target/errno-out-of-range.json",
        &["--runtime", "runc", "--libseccomp", "2.5.4"],
    );
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, "errno-out-of-range.json:6:68: error[runtime-refuses]: syscalls[1].errnoRet: errno 12345 is out of libseccomp's range");
    assert_has(&text, "hint: use an errno below 4095");
    // compile refuses too, with the same line:column.
    let out = run(&[
        "compile",
        file.to_str().unwrap(),
        "--runtime",
        "runc",
        "--disasm",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), ":6:68: error[runtime-refuses]");
}

#[test]
fn errno_4094_is_accepted_and_an_unknown_name_never_reaches_libseccomp() {
    let (code, text) = check("target/errno-4094.json", &["--runtime", "runc"]);
    assert_eq!(code, Some(0), "{text}");
    assert_lacks(&text, "runtime-refuses");
}

#[test]
fn runc_refuses_an_empty_name_and_crun_skips_it() {
    let (code, text) = check("target/empty-name.json", &["--runtime", "runc@1.1.5"]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        ":4:25: error[runtime-refuses]: syscalls[0].names[1]: an empty name: runc 1.1.5",
    );
    let (code, text) = check("target/empty-name.json", &["--runtime", "crun@1.8.1"]);
    assert_eq!(code, Some(0), "{text}");
    assert_has(&text, "warning[empty-name]");
    assert_has(&text, "runtime: crun 1.8.1 with libseccomp");
}

#[test]
fn crun_refuses_an_errno_beside_an_action_without_data() {
    let (code, text) = check("target/errno-on-allow.json", &["--runtime", "crun@1.8.1"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(":4:5: error[runtime-refuses]: syscalls[0].errnoRet: crun 1.8.1")
            && text.contains("refuses an errno beside SCMP_ACT_ALLOW"),
        "{text}"
    );
    let (code, text) = check("target/errno-on-allow.json", &["--runtime", "runc@1.1.5"]);
    assert_eq!(code, Some(0), "{text}");
    assert_has(&text, "warning[ignored-errno]");
}

#[test]
fn names_unknown_to_the_runtimes_libseccomp_are_warnings_with_what_the_container_gets() {
    let (code, text) = check(
        NEW_NAMES,
        &["--runtime", "runc@1.1.5", "--libseccomp", "2.5.4"],
    );
    assert_eq!(code, Some(0), "{text}");
    // Above futex_waitv (449), the largest name 2.5.4 knows: runc's stub.
    assert_has(&text, "warning[unknown-to-runtime]: syscalls[0].names[5]: mseal: unknown to libseccomp 2.5.4 (runc 1.1.5): runc drops it; the container gets ENOSYS");
    // Below it: the default action.
    assert_has(&text, "uretprobe: unknown to libseccomp 2.5.4 (runc 1.1.5): runc drops it; the container gets EPERM");
    // A rule whose verdict the drop does not change is only a note.
    assert_lacks(&text, "warning[unknown-to-runtime]: syscalls[1]");
    assert!(
        text.contains("runtime: runc 1.1.5 with libseccomp 2.5.4)"),
        "{text}"
    );
    // crun has no stub: the default action.
    let (_, text) = check(
        NEW_NAMES,
        &["--runtime", "crun@1.8.1", "--libseccomp", "2.5.4"],
    );
    assert_has(
        &text,
        "mseal: unknown to libseccomp 2.5.4 (crun 1.8.1): crun drops it; the container gets EPERM",
    );
    // libseccomp 2.6.0 knows them all.
    let (_, text) = check(NEW_NAMES, &["--runtime", "runc", "--libseccomp", "2.6.0"]);
    assert_lacks(&text, "unknown-to-runtime");
}

#[test]
fn allowed_syscalls_newer_than_the_kernel_are_warnings() {
    let (_, text) = check(NEW_NAMES, &["--libseccomp", "2.6.0", "--kernel", "5.4"]);
    assert_has(&text, "warning[newer-than-kernel]: syscalls[0].names[3]: close_range came with Linux 5.9, the kernel is 5.4");
    let (_, text) = check(NEW_NAMES, &["--libseccomp", "2.6.0", "--kernel", "6.13"]);
    assert_lacks(&text, "newer-than-kernel");
}

#[test]
fn check_reports_rules_libseccomp_refuses_to_merge() {
    let (code, text) = check("compile/conflict.json", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert_has(
        &text,
        "error[clash]: syscalls[1].names[0]: libseccomp refuses syscalls[1] for personality",
    );
}

#[test]
fn explain_says_when_the_runtime_differs_from_the_text() {
    let text = explain(
        NEW_NAMES,
        &["mseal", "--runtime", "runc@1.1.5", "--libseccomp", "2.5.4"],
    );
    assert_starts(&text, "mseal() on x86_64: SCMP_ACT_ERRNO(ENOSYS)\n");
    assert_has(
        &text,
        "decided by runc 1.1.5's -ENOSYS stub: nr 462 is above 449 (futex_waitv)",
    );
    assert_has(&text, "the profile's text: allowed by syscalls[0], but runc 1.1.5 drops the name: libseccomp 2.5.4 does not know mseal");
    let text = explain(
        NEW_NAMES,
        &["mseal", "--runtime", "runc", "--libseccomp", "2.6.0"],
    );
    assert_starts(&text, "mseal() on x86_64: SCMP_ACT_ALLOW\n");
    assert_lacks(&text, "profile's text");
    // A syscall no rule names, above the stub's limit (mseal, 462).
    let text = explain(
        NEW_NAMES,
        &[
            "setxattrat",
            "--runtime",
            "runc",
            "--libseccomp",
            "2.6.0",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
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
    let (code, text) = check(
        "target/loongarch64.json",
        &["--arch", "loongarch64", "--libseccomp", "2.5.4"],
    );
    assert_eq!(code, Some(1), "{text}");
    assert_has(&text, ":3:20: error[runtime-refuses]: architectures: libseccomp 2.5.4 has no SCMP_ARCH_LOONGARCH64");
    let (code, text) = check(
        "target/loongarch64.json",
        &["--arch", "loongarch64", "--libseccomp", "2.6.0"],
    );
    assert_eq!(code, Some(0), "{text}");
}

/// A rule with two argument conditions on personality.
const CONDITIONS: &str = "target/conditions.json";

#[test]
fn youki_before_0_7_ors_the_conditions_of_a_rule() {
    let (_, text) = check(CONDITIONS, &["--runtime", "youki@0.6.0"]);
    assert_has(
        &text,
        "warning[arg-semantics]: syscalls[0].args: youki before 0.7.0 (youki 0.6.0, the target)",
    );
    let verdict = |runtime: &str| {
        let text = explain(CONDITIONS, &["personality", "8", "0", "--runtime", runtime]);
        text.lines().next().unwrap_or_default().to_string()
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
    for (args, want) in [
        (&["--runtime", "kata"][..], "unknown runtime \"kata\""),
        (&["--libseccomp", "2.4"][..], "older than the oldest table"),
        (&["--libseccomp", "two"][..], "invalid version \"two\""),
    ] {
        let (code, text) = check(NEW_NAMES, args);
        assert_eq!(code, Some(2), "{args:?}: {text}");
        assert!(
            text.contains(want) && text.contains("hint"),
            "{args:?}: {text}"
        );
    }
}

#[cfg(feature = "differential")]
pub(crate) mod differential;
mod runtimes;
