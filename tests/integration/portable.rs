//! Profiles across arches: `check`'s not-portable lint, `edit --portable`,
//! `explain` of a call the arch lacks, `record --portable`, and `--arch` on
//! check, explain and compile for every arch eperm has the tables of.

use crate::util::{assert_has, assert_lacks, eperm_ok, fixture, require_root, run, stderr, stdout};
use eperm::arch::counterparts::instead_on;
use eperm::arch::Arch;
use std::path::{Path, PathBuf};

/// The legacy calls issue 31 names, each with the call that takes its place on
/// arm64, as the kernel's tables have them.
const ON_ARM64: &[(&str, &str)] = &[
    ("open", "openat"),
    ("creat", "openat"),
    ("stat", "newfstatat"),
    ("lstat", "newfstatat"),
    ("mkdir", "mkdirat"),
    ("access", "faccessat"),
    ("access", "faccessat2"),
    ("poll", "ppoll"),
    ("select", "pselect6"),
    ("dup2", "dup3"),
    ("pipe", "pipe2"),
    ("readlink", "readlinkat"),
    ("unlink", "unlinkat"),
    ("rmdir", "unlinkat"),
    ("rename", "renameat"),
    ("rename", "renameat2"),
    ("epoll_wait", "epoll_pwait"),
    ("epoll_create", "epoll_create1"),
    ("fork", "clone"),
    ("vfork", "clone"),
    ("chmod", "fchmodat"),
    ("chown", "fchownat"),
    ("lchown", "fchownat"),
    ("link", "linkat"),
    ("symlink", "symlinkat"),
    ("mknod", "mknodat"),
    ("inotify_init", "inotify_init1"),
    ("eventfd", "eventfd2"),
    ("signalfd", "signalfd4"),
    ("getdents", "getdents64"),
    ("utimes", "utimensat"),
    ("utime", "utimensat"),
    ("alarm", "setitimer"),
    ("pause", "ppoll"),
];

/// Every pair issue 31 names is in eperm's table and true to the kernel's:
/// the legacy call is missing on aarch64, the modern one is there.
#[test]
fn every_pair_of_the_issue_is_in_the_table_and_true_on_aarch64() {
    for &(legacy, modern) in ON_ARM64 {
        assert_eq!(Arch::Aarch64.syscall_nr(legacy), None, "{legacy}");
        assert!(Arch::Aarch64.syscall_nr(modern).is_some(), "{modern}");
        assert!(
            instead_on(legacy, Arch::Aarch64)
                .iter()
                .any(|c| c.modern == modern),
            "{legacy} -> {modern} on aarch64 is missing"
        );
    }
}

/// A private copy of the x86_64+aarch64 profile that allows only x86-only names.
fn x86_only() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x86-only.json");
    std::fs::copy(fixture("portable/x86-only.json"), &path).unwrap();
    (dir, path)
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `check`'s not-portable lines (a warning). These small profiles are not
/// for a container runtime: `check` may also find that runc cannot start
/// under them (exit 1), never bad input.
fn not_portable(args: &[&str]) -> Vec<String> {
    let all = [&["check"], args].concat();
    let out = run(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "eperm {all:?}: {}",
        stderr(&out)
    );
    stdout(&out)
        .lines()
        .filter(|l| l.contains("warning[not-portable]"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_lint_names_every_counterpart_of_a_profile_of_x86_only_names() {
    let (_dir, path) = x86_only();
    let found = not_portable(&[s(&path)]);
    for &(legacy, modern) in ON_ARM64 {
        // (arm's EABI lacks some of them too: "on aarch64+arm".)
        let missing = format!("{legacy} does not exist on aarch64");
        let instead =
            format!("programs call {modern} in its place: {modern} is not allowed like {legacy}");
        assert!(
            found
                .iter()
                .any(|l| l.contains(&missing) && l.contains(&instead)),
            "{missing:?} … {instead:?} is not in:\n{}",
            found.join("\n")
        );
    }
    // Nothing else: one line per pair the table has for these names on aarch64.
    let profile = eperm::profile::load_file(&path).unwrap();
    let pairs: usize = profile
        .rules
        .iter()
        .flat_map(|r| &r.names)
        .map(|n| instead_on(&n.name, Arch::Aarch64).len())
        .sum();
    assert_eq!(found.len(), pairs, "{}", found.join("\n"));
    assert_eq!(pairs, ON_ARM64.len());
}

#[test]
fn edit_portable_makes_it_clean_and_arm64_allows_the_counterparts() {
    let (_dir, path) = x86_only();
    let before = std::fs::read_to_string(&path).unwrap();
    let (_, err) = eperm_ok(&["edit", s(&path), "--portable"]);
    assert_has(
        &err,
        "portable: added openat, as creat in syscalls[0] (for aarch64)",
    );
    // creat comes first in the rule's names; openat is added once.
    assert_lacks(&err, "added openat, as open ");
    assert_has(
        &err,
        "portable: added fchmodat, as chmod in syscalls[1] (for aarch64)",
    );
    assert!(not_portable(&[s(&path)]).is_empty());
    assert!(not_portable(&[s(&path), "--arch", "aarch64"]).is_empty());
    // Minimal: the names join their rule's list; chmod's condition moves to
    // fchmodat's mode, args[2], in a rule of its own after chmod's.
    let after = std::fs::read_to_string(&path).unwrap();
    let after_lines: Vec<&str> = after.lines().collect();
    for line in before.lines() {
        assert!(
            after_lines.contains(&line),
            "{line:?} was changed:\n{after}"
        );
    }
    let profile = eperm::profile::load_file(&path).unwrap();
    let fchmodat = &profile.rules[2];
    assert_eq!(fchmodat.names[0].name, "fchmodat");
    assert_eq!((fchmodat.args[0].index, fchmodat.args[0].value), (2, 420));
    // (fchmodat only with chmod's condition, below.)
    for &(_, modern) in ON_ARM64.iter().filter(|(legacy, _)| *legacy != "chmod") {
        let (out, _) = eperm_ok(&["explain", s(&path), modern, "--arch", "aarch64"]);
        assert_has(&out, &format!("{modern}() on aarch64: SCMP_ACT_ALLOW"));
    }
    let (out, _) = eperm_ok(&[
        "explain",
        s(&path),
        "fchmodat",
        "0",
        "0",
        "420",
        "--arch",
        "aarch64",
    ]);
    assert_has(&out, "on aarch64: SCMP_ACT_ALLOW");
    let (out, _) = eperm_ok(&[
        "explain",
        s(&path),
        "fchmodat",
        "0",
        "0",
        "493",
        "--arch",
        "aarch64",
    ]);
    assert_has(&out, "on aarch64: SCMP_ACT_ERRNO(EPERM)");
    // Once is enough.
    let (_, err) = eperm_ok(&["edit", s(&path), "--portable"]);
    assert_has(
        &err,
        "portable: every call has its counterparts on x86_64, x86, x32, aarch64, arm",
    );
    assert_has(&err, "nothing to change, not written");
}

#[test]
fn explain_of_a_call_arm64_lacks_names_the_one_in_its_place() {
    let (_dir, path) = x86_only();
    let (out, _) = eperm_ok(&["explain", s(&path), "open", "--arch", "aarch64"]);
    assert_has(
        &out,
        "open does not exist on aarch64: openat takes its place there\n",
    );
    assert_has(
        &out,
        "syscalls[0] names open, which does nothing on aarch64",
    );
    assert_has(&out, "openat() on aarch64: SCMP_ACT_ERRNO(EPERM)");
    // The arguments move to where openat takes them: flags are its args[2].
    let (out, _) = eperm_ok(&[
        "explain",
        s(&path),
        "open",
        "0",
        "O_WRONLY",
        "--arch",
        "aarch64",
    ]);
    assert_has(&out, "openat(0x0, 0x0, 0x1) on aarch64");
    let (out, _) = eperm_ok(&["explain", s(&path), "access", "--arch", "aarch64", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["exists"], false);
    let instead: Vec<&str> = v["instead"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["syscall"].as_str().unwrap())
        .collect();
    assert_eq!(instead, ["faccessat", "faccessat2"]);
    // A call with no counterpart is said to be missing, exit 2.
    let out = run(&["explain", s(&path), "uselib", "--arch", "aarch64"]);
    assert_eq!(out.status.code(), Some(2));
    assert_has(&stderr(&out), "uselib does not exist on aarch64");
}

#[test]
fn a_profile_recorded_on_arm64_misses_the_x86_64_names_until_made_portable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arm64.json");
    let text = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"],
  "syscalls": [
    {"names": ["execve", "exit_group", "mkdirat", "openat", "read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["unlinkat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}
  ]
}
"#;
    std::fs::write(&path, text).unwrap();
    let found = not_portable(&[s(&path), "--arch", "aarch64"]).join("\n");
    for (modern, legacy) in [
        ("openat", "open"),
        ("openat", "creat"),
        ("mkdirat", "mkdir"),
    ] {
        assert_has(
            &found,
            &format!("on x86_64 programs call {legacy} where aarch64 programs call {modern}: {legacy} is not allowed like {modern}"),
        );
    }
    assert_has(
        &found,
        "unlink is not given SCMP_ACT_ERRNO(EROFS) like unlinkat",
    );
    assert_has(
        &found,
        "rmdir is not given SCMP_ACT_ERRNO(EROFS) like unlinkat",
    );
    eperm_ok(&["edit", s(&path), "--portable"]);
    assert!(not_portable(&[s(&path), "--arch", "aarch64"]).is_empty());
    assert!(not_portable(&[s(&path)]).is_empty());
    let (out, _) = eperm_ok(&["explain", s(&path), "rmdir", "--arch", "x86_64"]);
    assert_has(&out, "rmdir() on x86_64: SCMP_ACT_ERRNO(EROFS)");
}

/// Docker's default (the embedded one) has every counterpart on every arch.
#[test]
fn the_default_profile_is_portable_to_every_arch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default.json");
    let (default, _) = eperm_ok(&["default"]);
    std::fs::write(&path, default).unwrap();
    for arch in Arch::ALL {
        // libseccomp 2.6 has loongarch64, which the 2.5 here refuses.
        let found = not_portable(&[s(&path), "--arch", arch.name(), "--libseccomp", "2.6.0"]);
        assert!(found.is_empty(), "{arch}: {}", found.join("\n"));
    }
}

#[test]
fn check_explain_and_compile_take_every_arch() {
    let profile = fixture("portable/x86-only.json");
    for arch in Arch::ALL {
        let name = arch.name();
        // libseccomp 2.6 has loongarch64, which the 2.5 here refuses.
        let target = ["--arch", name, "--libseccomp", "2.6.0"];
        let out = run(&[&["check", s(&profile)], &target[..]].concat());
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{name}: {}",
            stderr(&out)
        );
        let (out, _) = eperm_ok(&[&["explain", s(&profile), "read"], &target[..]].concat());
        assert_has(&out, &format!("read() on {name}: SCMP_ACT_ALLOW"));
        let (out, _) = eperm_ok(&[&["compile", s(&profile), "--stats"], &target[..]].concat());
        assert_has(&out, "instructions:");
    }
    let out = run(&["check", s(&profile), "--arch", "vax"]);
    assert_eq!(out.status.code(), Some(2));
    assert_has(&stderr(&out), "unknown architecture \"vax\"");
    assert_lacks(&stderr(&out), "panicked");
}

#[test]
fn record_portable_writes_the_counterparts() {
    require_root("record traces the workload");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ls.json");
    let (_, err) = eperm_ok(&[
        "record",
        "--empty",
        "--portable",
        "-o",
        s(&out),
        "--",
        "/bin/ls",
        "/",
    ]);
    assert_has(&err, "portable: added");
    for arch in ["x86_64", "aarch64"] {
        let found = not_portable(&[s(&out), "--arch", arch]);
        assert!(found.is_empty(), "{arch}: {}", found.join("\n"));
    }
    let profile = eperm::profile::load_file(&out).unwrap();
    let names: Vec<&str> = profile
        .rules
        .iter()
        .flat_map(|r| &r.names)
        .map(|n| n.name.as_str())
        .collect();
    // Each call ls made that arm64 lacks has what takes its place there.
    let lacking: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !instead_on(n, Arch::Aarch64).is_empty())
        .collect();
    assert!(!lacking.is_empty(), "{names:?}");
    for name in lacking {
        for c in instead_on(name, Arch::Aarch64) {
            assert!(
                names.contains(&c.modern),
                "{name}: {} in {names:?}",
                c.modern
            );
        }
    }
}

/// A profile of x86_64 alone, checked for an arm64 host: the hint names the
/// arch, and `edit --portable --arch aarch64` closes the gaps there.
#[test]
fn an_x86_64_profile_is_made_portable_to_an_arch_it_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x86.json");
    let text = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  "syscalls": [
    {"names": ["execve", "exit_group", "open", "read", "stat"], "action": "SCMP_ACT_ALLOW"}
  ]
}
"#;
    std::fs::write(&path, text).unwrap();
    let (out, _) = eperm_ok(&["check", s(&path), "--arch", "aarch64"]);
    assert_has(&out, "open does not exist on aarch64");
    assert_has(
        &out,
        "hint: eperm edit PROFILE --portable --arch aarch64 (adds openat",
    );
    // On its own hosts it is portable already.
    assert!(not_portable(&[s(&path)]).is_empty());
    let (_, err) = eperm_ok(&["edit", s(&path), "--portable"]);
    assert_has(&err, "every call has its counterparts on x86_64, x86, x32");
    let out = run(&["edit", s(&path), "--arch", "aarch64"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    eperm_ok(&["edit", s(&path), "--portable", "--arch", "aarch64"]);
    assert!(not_portable(&[s(&path), "--arch", "aarch64"]).is_empty());
    let (out, _) = eperm_ok(&["explain", s(&path), "newfstatat", "--arch", "aarch64"]);
    assert_has(&out, "newfstatat() on aarch64: SCMP_ACT_ALLOW");
}
