use super::versions::{parse_version_text, release_of_file_name};
use super::*;
use crate::arch::X32_SYSCALL_BIT;

fn runc(libseccomp: &str) -> Runtime {
    Runtime {
        kind: RuntimeKind::Runc,
        version: Version::parse("1.1.5"),
        libseccomp: Version::parse(libseccomp).unwrap(),
        build: None,
        here: false,
    }
}

#[test]
fn versions_parse_with_and_without_suffixes() {
    assert_eq!(Version::parse("2.5.4"), Some(Version::new(2, 5, 4)));
    assert_eq!(Version::parse("2.6"), Some(Version::new(2, 6, 0)));
    assert_eq!(Version::parse("1.1.5+ds1"), Some(Version::new(1, 1, 5)));
    assert_eq!(Version::parse("two"), None);
    assert_eq!(Version::parse("2.5.4.1"), None);
}

#[test]
fn version_texts_give_the_runtime_and_its_libseccomp() {
    let runc = "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n";
    assert_eq!(
        parse_version_text(runc),
        (Version::parse("1.1.5"), Version::parse("2.5.4"))
    );
    let crun = "crun version 1.8.1\ncommit: f8a096be\nrundir: /run/crun\nspec: 1.0.0\n+SECCOMP\n";
    assert_eq!(parse_version_text(crun), (Version::parse("1.8.1"), None));
    assert_eq!(
        release_of_file_name("libseccomp.so.2.5.4"),
        Version::parse("2.5.4")
    );
    assert_eq!(release_of_file_name("libseccomp.so.2"), None);
}

#[test]
fn each_release_knows_the_names_of_its_table() {
    let old = runc("2.5.4");
    let new = runc("2.6.0");
    assert_eq!(old.lookup(Arch::X86_64, "mseal"), Lookup::Unknown);
    assert_eq!(new.lookup(Arch::X86_64, "mseal"), Lookup::Nr(462));
    assert_eq!(old.lookup(Arch::X86_64, "read"), Lookup::Nr(0));
    assert_eq!(old.lookup(Arch::X32, "read"), Lookup::Nr(X32_SYSCALL_BIT));
    assert_eq!(old.lookup(Arch::Mips, "read"), Lookup::Nr(4003));
    // x86 has no direct accept: only the socketcall form.
    assert_eq!(old.lookup(Arch::X86, "accept"), Lookup::NotOnArch);
    // A release between two tables reads the older one.
    assert_eq!(runc("2.5.7").lookup(Arch::X86_64, "mseal"), Lookup::Nr(462));
    assert!(!old.supports(Arch::Loongarch64) && new.supports(Arch::Loongarch64));
    // Debian 12's patched 2.5.4 knows 2.5.5's names.
    let debian = Runtime::from_args(
        Some("runc@1.1.5"),
        Some("2.5.4-1+deb12u1"),
        &Runtime::nowhere,
    )
    .unwrap();
    assert_eq!(debian.libseccomp, Version::new(2, 5, 4));
    assert_eq!(debian.names_of(), Version::new(2, 5, 5));
    assert_eq!(debian.lookup(Arch::X86_64, "cachestat"), Lookup::Nr(451));
    assert_eq!(old.lookup(Arch::X86_64, "cachestat"), Lookup::Unknown);
    assert_eq!(debian.lookup(Arch::X86_64, "mseal"), Lookup::Unknown);
}

#[test]
fn runtime_arguments_parse_or_explain() {
    let r = Runtime::from_args(Some("youki@0.6.0"), Some("2.5.4"), &Runtime::nowhere).unwrap();
    assert_eq!(r.kind, RuntimeKind::Youki);
    assert!(r.ors_every_condition());
    assert_eq!(r.libseccomp, Version::new(2, 5, 4));
    let r = Runtime::from_args(Some("youki"), Some("2.6.0"), &Runtime::nowhere).unwrap();
    assert!(!r.ors_every_condition());
    let e = Runtime::from_args(Some("kata"), None, &Runtime::nowhere)
        .unwrap_err()
        .0;
    assert!(
        e.contains("unknown runtime \"kata\"") && e.contains("hint"),
        "{e}"
    );
    let e = Runtime::from_args(Some("runc"), Some("2.4.0"), &Runtime::nowhere)
        .unwrap_err()
        .0;
    assert!(e.contains("older than"), "{e}");
    let e = Runtime::from_args(Some("runc"), Some("x"), &Runtime::nowhere)
        .unwrap_err()
        .0;
    assert!(e.contains("invalid version \"x\""), "{e}");
}

#[test]
fn only_runc_has_the_enosys_stub_and_refuses_empty_names() {
    let r = runc("2.5.4");
    assert!(r.has_enosys_stub() && r.refuses_empty_names());
    let old = Runtime {
        version: Version::parse("0.1.1"),
        ..r.clone()
    };
    assert!(!old.has_enosys_stub());
    let crun = Runtime {
        kind: RuntimeKind::Crun,
        ..r
    };
    assert!(!crun.has_enosys_stub() && !crun.refuses_empty_names());
    assert!(crun.refuses_errno_without_data());
}

/// Every name a libseccomp release knows has a line (kinds and description) in
/// the syscall table the decoder and the Detail pane read.
#[test]
fn every_name_libseccomp_knows_is_described() {
    let missing: Vec<&str> = super::names::rows()
        .iter()
        .map(|row| row.0)
        .filter(|name| crate::syscalls::signatures::signature(name).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "no line in signatures::TABLE: {missing:?}"
    );
}
