//! Unit tests for the arch metadata and for each correction made to the
//! `syscalls` crate's tables. The full comparison with libseccomp is in
//! `tests/integration/arch.rs` (feature `differential`).

use super::*;

const X32: u32 = X32_SYSCALL_BIT;

fn nr(arch: Arch, name: &str) -> Option<u32> {
    arch.syscall_nr(name)
}

#[test]
fn every_table_is_sorted_and_one_to_one() {
    for arch in Arch::ALL {
        let rows = arch.syscalls();
        assert!(rows.len() > 250, "{arch}: only {} syscalls", rows.len());
        for pair in rows.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "{arch}: {:?} then {:?}",
                pair[0],
                pair[1]
            );
        }
        let mut names: Vec<_> = rows.iter().map(|&(name, _)| name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rows.len(), "{arch}: a name has two numbers");
        for &(name, n) in rows {
            assert_eq!(arch.syscall_nr(name), Some(n), "{arch}: {name}");
            assert_eq!(arch.syscall_name(n), Some(name), "{arch}: {n}");
            assert!(!name.starts_with("r#"), "{arch}: raw identifier {name}");
        }
    }
}

#[test]
fn the_last_syscall_of_the_crate_is_kept() {
    // `Sysno::iter()` in syscalls 0.8 drops the highest-numbered entry.
    for arch in Arch::ALL {
        assert!(nr(arch, "file_setattr").is_some(), "{arch}");
    }
    assert_eq!(nr(Arch::X86_64, "file_setattr"), Some(469));
}

#[test]
fn unknown_numbers_and_names_are_none() {
    for arch in Arch::ALL {
        assert_eq!(arch.syscall_name(u32::MAX), None, "{arch}");
        assert_eq!(arch.syscall_name(999), None, "{arch}");
        assert_eq!(arch.syscall_nr("no_such_syscall"), None, "{arch}");
        assert_eq!(arch.syscall_nr(""), None, "{arch}");
    }
    assert!(!is_known_anywhere("no_such_syscall"));
    assert!(is_known_anywhere("read"));
    assert!(is_known_anywhere("cacheflush")); // arm and mips only
}

#[test]
fn x32_uses_its_own_numbers_with_the_x32_bit() {
    let a = Arch::X32;
    assert!(a.syscalls().iter().all(|&(_, n)| n & X32 != 0));
    assert_eq!(nr(a, "read"), Some(X32));
    assert_eq!(nr(a, "rt_sigaction"), Some(X32 | 512));
    assert_eq!(nr(a, "ioctl"), Some(X32 | 514));
    assert_eq!(nr(a, "readv"), Some(X32 | 515));
    assert_eq!(nr(a, "execve"), Some(X32 | 520));
    assert_eq!(nr(a, "setsockopt"), Some(X32 | 541));
    assert_eq!(nr(a, "execveat"), Some(X32 | 545));
    assert_eq!(nr(a, "pwritev2"), Some(X32 | 547));
    assert_eq!(a.syscall_name(X32 | 520), Some("execve"));
    // Their x86_64 numbers are `64`-only rows: nothing on x32.
    for n in [
        13, 15, 16, 19, 20, 45, 46, 47, 54, 55, 59, 101, 222, 322, 327, 328,
    ] {
        assert_eq!(a.syscall_name(X32 | n), None, "x32 {n}");
        assert!(Arch::X86_64.syscall_name(n).is_some(), "x86_64 {n}");
    }
    // x86_64-only calls with no x32 counterpart.
    for name in [
        "uselib",
        "_sysctl",
        "create_module",
        "set_thread_area",
        "vserver",
    ] {
        assert_eq!(nr(a, name), None, "{name}");
        assert!(nr(Arch::X86_64, name).is_some(), "{name}");
    }
    // 36 calls have x32 numbers 512..=547.
    let own = a
        .syscalls()
        .iter()
        .filter(|&&(_, n)| (X32 | 512..=X32 | 547).contains(&n));
    assert_eq!(own.count(), 36);
    // And x86_64 itself has nothing at 512 and up.
    assert!(Arch::X86_64
        .syscalls()
        .iter()
        .all(|&(_, n)| !(512..548).contains(&n)));
}

#[test]
fn generic_64_bit_tables_have_newfstatat_and_no_time64() {
    for arch in [Arch::Aarch64, Arch::Riscv64, Arch::Loongarch64] {
        assert_eq!(nr(arch, "newfstatat"), Some(79), "{arch}");
        assert_eq!(nr(arch, "fstat"), Some(80), "{arch}");
        assert_eq!(nr(arch, "fstatat"), None, "{arch}");
        assert_eq!(nr(arch, "fstatat64"), None, "{arch}");
    }
    for arch in [
        Arch::X86_64,
        Arch::X32,
        Arch::Aarch64,
        Arch::Riscv64,
        Arch::Loongarch64,
        Arch::S390x,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::Mips64,
        Arch::Mips64el,
    ] {
        for name in [
            "clock_gettime64",
            "futex_time64",
            "semtimedop_time64",
            "fcntl64",
        ] {
            assert_eq!(nr(arch, name), None, "{arch}: {name}");
        }
        // 403..=423 are unassigned on every 64-bit table.
        let base = arch.syscalls()[0].1 & !0x3ff;
        for n in 403..=423 {
            assert_eq!(arch.syscall_name(base + n), None, "{arch}: {}", base + n);
        }
    }
    // ...while 32-bit ABIs do have them.
    for arch in [
        Arch::X86,
        Arch::Arm,
        Arch::Ppc,
        Arch::S390,
        Arch::Mips,
        Arch::Mips64n32,
    ] {
        assert!(nr(arch, "clock_gettime64").is_some(), "{arch}");
    }
    assert_eq!(nr(Arch::Ppc, "fcntl64"), Some(204));
}

#[test]
fn loongarch_lacks_the_optional_generic_calls() {
    let a = Arch::Loongarch64;
    for name in ["renameat", "getrlimit", "setrlimit", "memfd_secret"] {
        assert_eq!(nr(a, name), None, "{name}");
    }
    assert_eq!(nr(Arch::Aarch64, "renameat"), Some(38));
    assert_eq!(nr(Arch::Aarch64, "getrlimit"), Some(163));
    assert_eq!(nr(Arch::Aarch64, "memfd_secret"), Some(447));
    assert_eq!(nr(Arch::Riscv64, "renameat"), None);
    assert_eq!(nr(a, "renameat2"), Some(276));
    assert_eq!(nr(a, "prlimit64"), Some(261));
}

#[test]
fn break_is_spelled_plainly() {
    assert_eq!(nr(Arch::X86, "break"), Some(17));
    assert_eq!(nr(Arch::Ppc, "break"), Some(17));
    assert_eq!(nr(Arch::Ppc64le, "break"), Some(17));
    assert_eq!(nr(Arch::Mips, "break"), Some(4017));
    assert_eq!(Arch::X86.syscall_name(17), Some("break"));
}

#[test]
fn arm_private_calls_are_present() {
    assert_eq!(nr(Arch::Arm, "breakpoint"), Some(0x0f_0001));
    assert_eq!(nr(Arch::Arm, "cacheflush"), Some(0x0f_0002));
    assert_eq!(nr(Arch::Arm, "set_tls"), Some(0x0f_0005));
    assert_eq!(Arch::Arm.syscall_name(0x0f_0006), Some("get_tls"));
    assert_eq!(nr(Arch::Aarch64, "set_tls"), None);
}

#[test]
fn mips_abis_have_their_own_bases_and_tables() {
    for (arch, base) in [
        (Arch::Mips, 4000),
        (Arch::Mipsel, 4000),
        (Arch::Mips64, 5000),
        (Arch::Mips64el, 5000),
        (Arch::Mips64n32, 6000),
        (Arch::Mips64n32el, 6000),
    ] {
        let rows = arch.syscalls();
        assert!(
            rows.iter().all(|&(_, n)| (base..base + 1000).contains(&n)),
            "{arch}"
        );
        assert_eq!(
            nr(arch, "set_mempolicy_home_node"),
            Some(base + 450),
            "{arch}"
        );
        assert_eq!(nr(arch, "file_setattr"), Some(base + 469), "{arch}");
        for placeholder in ["unused18", "reserved82", "reserved177", "reserved193"] {
            assert_eq!(nr(arch, placeholder), None, "{arch}: {placeholder}");
        }
    }
    assert_eq!(nr(Arch::Mips, "read"), Some(4003));
    assert_eq!(nr(Arch::Mips64, "read"), Some(5000));
    assert_eq!(nr(Arch::Mips64n32, "read"), Some(6000));
    // n32 follows n64 below 212 and from 424, and differs in between.
    assert_eq!(nr(Arch::Mips64, "set_tid_address"), Some(5212));
    assert_eq!(nr(Arch::Mips64n32, "fcntl64"), Some(6212));
    assert_eq!(nr(Arch::Mips64n32, "set_tid_address"), Some(6213));
    assert_eq!(nr(Arch::Mips64n32, "sendfile64"), Some(6219));
    assert_eq!(nr(Arch::Mips64, "getdents64"), Some(5308));
    assert_eq!(nr(Arch::Mips64n32, "getdents64"), Some(6299));
    assert_eq!(nr(Arch::Mips64n32, "io_pgetevents"), Some(6332));
    assert_eq!(Arch::Mips64n32.syscall_name(6242), None);
    assert_eq!(nr(Arch::Mips64n32, "clock_gettime64"), Some(6403));
    assert_eq!(nr(Arch::Mips64n32, "pidfd_send_signal"), Some(6424));
    assert_eq!(nr(Arch::Mips64, "fcntl64"), None);
    assert_eq!(nr(Arch::Mips64, "clock_gettime64"), None);
}

#[test]
fn s390_is_not_s390x() {
    let (s, x) = (Arch::S390, Arch::S390x);
    // 16-bit uid calls under the plain names, 32-bit ones as `*32`.
    assert_eq!(nr(s, "getuid"), Some(24));
    assert_eq!(nr(s, "getuid32"), Some(199));
    assert_eq!(nr(x, "getuid"), Some(199));
    assert_eq!(nr(x, "getuid32"), None);
    assert_eq!(nr(s, "chown"), Some(182));
    assert_eq!(nr(s, "chown32"), Some(212));
    assert_eq!(nr(s, "getrlimit"), Some(76));
    assert_eq!(nr(s, "ugetrlimit"), Some(191));
    assert_eq!(nr(x, "getrlimit"), Some(191));
    assert_eq!(s.syscall_name(142), Some("_newselect"));
    assert_eq!(x.syscall_name(142), Some("select"));
    assert_eq!(s.syscall_name(293), Some("fstatat64"));
    assert_eq!(x.syscall_name(293), Some("newfstatat"));
    assert_eq!(nr(s, "semtimedop"), None);
    assert_eq!(nr(x, "semtimedop"), Some(392));
    assert_eq!(nr(s, "mmap2"), Some(192));
    assert_eq!(nr(x, "mmap2"), None);
    assert_eq!(nr(s, "clock_gettime64"), Some(403));
}

#[test]
fn ppc_is_not_ppc64() {
    assert_eq!(nr(Arch::Ppc, "mmap2"), Some(192));
    assert_eq!(nr(Arch::Ppc64, "mmap2"), None);
    assert_eq!(Arch::Ppc64.syscalls(), Arch::Ppc64le.syscalls());
}

#[test]
fn from_audit_maps_every_arch_back() {
    for arch in Arch::ALL {
        let nr = arch.syscalls()[0].1;
        assert_eq!(
            Arch::from_audit(arch.audit_arch(), nr),
            Some(arch),
            "{arch}"
        );
    }
    let x86_64 = 0xC000_003E;
    assert_eq!(Arch::from_audit(x86_64, 59), Some(Arch::X86_64));
    assert_eq!(Arch::from_audit(x86_64, X32 | 520), Some(Arch::X32));
    assert_eq!(Arch::from_audit(0x4000_0003, 11), Some(Arch::X86));
    assert_eq!(Arch::from_audit(0xC000_00B7, 221), Some(Arch::Aarch64));
    assert_eq!(Arch::from_audit(0xA000_0008, 6057), Some(Arch::Mips64n32));
    assert_eq!(Arch::from_audit(0xE000_0008, 6057), Some(Arch::Mips64n32el));
    assert_eq!(Arch::from_audit(0x8000_0008, 5057), Some(Arch::Mips64));
    assert_eq!(Arch::from_audit(0, 0), None);
    assert_eq!(Arch::from_audit(0xC000_00F4, 0), None); // EM 244: not an arch we know
}

#[test]
fn audit_values_are_unique_but_for_x32() {
    for a in Arch::ALL {
        for b in Arch::ALL {
            let shared = a.audit_arch() == b.audit_arch();
            let x86_pair = matches!(
                (a, b),
                (Arch::X86_64, Arch::X32) | (Arch::X32, Arch::X86_64)
            );
            assert_eq!(shared, a == b || x86_pair, "{a} {b}");
        }
    }
}

#[test]
fn parse_accepts_every_spelling() {
    for arch in Arch::ALL {
        assert_eq!(Arch::parse(arch.scmp_name()), Some(arch), "{arch}");
        assert_eq!(Arch::parse(arch.name()), Some(arch), "{arch}");
        assert_eq!(Arch::parse(arch.go_name()), Some(arch), "{arch}");
        assert_eq!(
            Arch::parse(&arch.scmp_name().to_lowercase()),
            Some(arch),
            "{arch}"
        );
        assert_eq!(
            Arch::parse(&format!("  {} ", arch.name().to_uppercase())),
            Some(arch)
        );
        assert_eq!(Arch::from_scmp_name(arch.scmp_name()), Some(arch), "{arch}");
        assert_eq!(arch.to_string(), arch.name());
    }
    assert_eq!(Arch::parse("amd64"), Some(Arch::X86_64));
    assert_eq!(Arch::parse("i686"), Some(Arch::X86));
    assert_eq!(Arch::parse("386"), Some(Arch::X86));
    assert_eq!(Arch::parse("arm64"), Some(Arch::Aarch64));
    assert_eq!(Arch::parse("armv7l"), Some(Arch::Arm));
    assert_eq!(Arch::parse("ppc64el"), Some(Arch::Ppc64le));
    assert_eq!(Arch::parse("mips64le"), Some(Arch::Mips64el));
    assert_eq!(Arch::parse("mips64el"), Some(Arch::Mips64el));
    assert_eq!(Arch::parse("mips64p32"), Some(Arch::Mips64n32));
    assert_eq!(Arch::parse("loong64"), Some(Arch::Loongarch64));
    assert_eq!(
        Arch::parse("SCMP_ARCH_MIPSEL64N32"),
        Some(Arch::Mips64n32el)
    );
    for bad in ["", "x86_65", "SCMP_ARCH_", "sparc64", "parisc"] {
        assert_eq!(Arch::parse(bad), None, "{bad:?}");
    }
    // `from_scmp_name` is exact, as in profiles.
    assert_eq!(Arch::from_scmp_name("scmp_arch_x86_64"), None);
    assert_eq!(Arch::from_scmp_name("x86_64"), None);
}

#[test]
fn native_is_this_build() {
    let native = Arch::native();
    if cfg!(target_arch = "x86_64") && cfg!(target_pointer_width = "64") {
        assert_eq!(native, Arch::X86_64);
    }
    if cfg!(target_arch = "aarch64") {
        assert_eq!(native, Arch::Aarch64);
    }
}
