//! Syscall tables against libseccomp, the library runc and Docker use to turn
//! profile names into numbers. Run with `--features differential`.

#[cfg(feature = "differential")]
mod differential {
    use eperm::arch::{Arch, X32_SYSCALL_BIT};
    use libseccomp::{ScmpArch, ScmpSyscall, ScmpVersion};
    use std::collections::BTreeSet;
    use std::str::FromStr;

    /// Syscalls the kernel here (6.18) has and this libseccomp (Debian's
    /// 2.5.4-1+deb12u1, whose tables end at futex_requeue, Linux 6.7) does
    /// not. Each must be in our table and unknown to libseccomp: the test
    /// fails on anything else, including a stale entry.
    const NEWER_EVERYWHERE: &[&str] = &[
        "statmount",         // 6.8
        "listmount",         // 6.8
        "lsm_get_self_attr", // 6.8
        "lsm_set_self_attr", // 6.8
        "lsm_list_modules",  // 6.8
        "mseal",             // 6.10
        "setxattrat",        // 6.13
        "getxattrat",        // 6.13
        "listxattrat",       // 6.13
        "removexattrat",     // 6.13
        "open_tree_attr",    // 6.15
        "file_getattr",      // 6.17
        "file_setattr",      // 6.17
    ];

    fn newer_than_libseccomp(arch: Arch) -> Vec<&'static str> {
        let extra: &[&str] = match arch {
            Arch::X86_64 => &["uretprobe", "uprobe"], // 6.11, 6.17
            // Both are `common` rows; map_shadow_stack became `common` (from
            // `64`) in 6.10, when x32 got shadow stacks.
            Arch::X32 => &["uretprobe", "uprobe", "map_shadow_stack"],
            // 6.4, an arch-specific call this libseccomp's riscv64 table lacks.
            Arch::Riscv64 => &["riscv_hwprobe"],
            _ => &[],
        };
        NEWER_EVERYWHERE.iter().chain(extra).copied().collect()
    }

    /// Where libseccomp and we name one number differently: (ours, libseccomp's).
    /// None are known today; the list exists so that one is documented here
    /// rather than silently tolerated.
    const ALIASES: &[(Arch, &str, &str)] = &[];

    /// On x86, s390(x), ppc and mips o32 libseccomp resolves the socket and
    /// SysV IPC names to pseudo numbers (socketcall -101.., ipc -201..) so a
    /// rule can cover both the multiplexer and the direct call. Its
    /// number -> name lookup still knows the direct numbers.
    fn is_multiplexed(nr: i32) -> bool {
        (-299..=-100).contains(&nr)
    }

    fn scanned_numbers(arch: Arch) -> Vec<u32> {
        let b = eperm::syscalls::base(arch);
        let mut nrs: Vec<u32> = (b..b + 1024).collect();
        if arch == Arch::Arm {
            nrs.extend(0x0f_0000..0x0f_0100); // ARM private calls
        }
        nrs
    }

    fn forward(arch: ScmpArch, name: &str) -> Option<i32> {
        ScmpSyscall::from_name_by_arch(name, arch)
            .ok()
            .map(i32::from)
    }

    fn reverse(arch: ScmpArch, nr: u32) -> Option<String> {
        ScmpSyscall::from(nr as i32).get_name_by_arch(arch).ok()
    }

    /// Compares one table (normally `arch.syscalls()`) with libseccomp's view
    /// of `arch`: a summary line, and one line per disagreement.
    fn check_arch(
        arch: Arch,
        table: &[(&'static str, u32)],
        scmp: ScmpArch,
        candidates: &BTreeSet<String>,
    ) -> (String, Vec<String>) {
        let our_nr = |name: &str| table.iter().find(|&&(n, _)| n == name).map(|&(_, nr)| nr);
        let our_name = |nr: u32| table.iter().find(|&&(_, n)| n == nr).map(|&(name, _)| name);
        let mut bad = Vec::new();
        let newer = newer_than_libseccomp(arch);
        let is_alias = |ours: &str, theirs: &str| {
            ALIASES
                .iter()
                .any(|&(a, o, t)| a == arch && o == ours && t == theirs)
        };

        // 1. Every name libseccomp gives a real number has that number here.
        let mut theirs = 0;
        for name in candidates {
            if let Some(nr) = forward(scmp, name).filter(|&nr| nr >= 0) {
                theirs += 1;
                let ours = our_nr(name);
                if ours != Some(nr as u32) {
                    bad.push(format!("{arch}: {name}: libseccomp {nr}, ours {ours:?}"));
                }
            }
        }

        // 2. Every row of ours is libseccomp's too, or listed as newer.
        let (mut multiplexed, mut listed) = (0, 0);
        for &(name, nr) in table {
            let fwd = forward(scmp, name);
            if fwd == Some(nr as i32) {
                continue;
            }
            let rev = reverse(scmp, nr);
            if fwd.is_some_and(is_multiplexed) && rev.as_deref() == Some(name) {
                multiplexed += 1;
            } else if newer.contains(&name) {
                if fwd.is_some_and(|f| f >= 0) || rev.is_some() {
                    bad.push(format!(
                        "{arch}: {name} is listed as newer than libseccomp, but libseccomp \
                         knows it ({fwd:?}, {nr} -> {rev:?}): shorten the list"
                    ));
                }
                listed += 1;
            } else {
                bad.push(format!(
                    "{arch}: ours {name}={nr}; libseccomp {name} -> {fwd:?}, {nr} -> {rev:?}"
                ));
            }
        }
        for name in &newer {
            if our_nr(name).is_none() {
                bad.push(format!(
                    "{arch}: {name} is listed as newer but not in our table"
                ));
            }
        }

        // 3. Number -> name agrees wherever libseccomp has a name.
        for nr in scanned_numbers(arch) {
            let theirs = reverse(scmp, nr);
            let ours = our_name(nr);
            match (&theirs, ours) {
                (Some(t), Some(o)) if t == o || is_alias(o, t) => {}
                (None, None) => {}
                (None, Some(o)) if newer.contains(&o) => {}
                _ => bad.push(format!(
                    "{arch}: {nr} -> libseccomp {theirs:?}, ours {ours:?}"
                )),
            }
        }

        let summary = format!(
            "{:<12} {:>4} names checked: ours {:>3}, libseccomp {:>3} \
             ({multiplexed} via socketcall/ipc, {listed} newer), {} mismatches",
            arch.name(),
            candidates.len(),
            table.len(),
            theirs,
            bad.len(),
        );
        (summary, bad)
    }

    /// Every name either side could know: all of our tables, plus every name
    /// libseccomp gives to a number in each compared arch's range.
    fn candidate_names(compared: &[(Arch, ScmpArch)]) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for arch in Arch::ALL {
            names.extend(arch.syscalls().iter().map(|&(name, _)| name.to_string()));
        }
        for &(arch, scmp) in compared {
            names.extend(
                scanned_numbers(arch)
                    .into_iter()
                    .filter_map(|nr| reverse(scmp, nr)),
            );
        }
        names
    }

    fn scmp_arch(arch: Arch) -> ScmpArch {
        ScmpArch::from_str(arch.scmp_name()).expect("libseccomp knows the name")
    }

    #[test]
    fn tables_match_libseccomp() {
        let v = ScmpVersion::current().expect("libseccomp version");
        println!("libseccomp {}.{}.{}", v.major, v.minor, v.micro);
        let has_loongarch = (v.major, v.minor) >= (2, 6);

        let compared: Vec<(Arch, ScmpArch)> = Arch::ALL
            .iter()
            .filter(|&&a| a != Arch::Loongarch64 || has_loongarch)
            .map(|&a| (a, scmp_arch(a)))
            .collect();
        if !has_loongarch {
            println!("loongarch64: libseccomp before 2.6 has no loongarch64 table; not compared");
        }
        println!("parisc, parisc64: in libseccomp, not modelled by eperm; not compared");

        // Every name either side could know: all of our tables, plus every name
        // libseccomp gives to a number in each arch's range.
        let mut candidates = BTreeSet::new();
        for arch in Arch::ALL {
            candidates.extend(arch.syscalls().iter().map(|&(name, _)| name.to_string()));
        }
        for &(arch, scmp) in &compared {
            candidates.extend(
                scanned_numbers(arch)
                    .into_iter()
                    .filter_map(|nr| reverse(scmp, nr)),
            );
        }

        let mut bad = Vec::new();
        for &(arch, scmp) in &compared {
            let (summary, mismatches) = check_arch(arch, arch.syscalls(), scmp, &candidates);
            println!("{summary}");
            bad.extend(mismatches);
        }
        assert!(
            bad.is_empty(),
            "{} mismatches:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// The comparison must be able to fail: feed it the errors this module
    /// used to have and check that each one is reported.
    #[test]
    fn known_errors_are_caught() {
        let (aarch64, x32) = (Arch::Aarch64, Arch::X32);
        let compared = [(aarch64, scmp_arch(aarch64)), (x32, scmp_arch(x32))];
        let candidates = candidate_names(&compared);

        // aarch64 as the crate had it: `fstatat` at 79, a 32-bit-only call.
        let mut table: Vec<_> = aarch64.syscalls().to_vec();
        for row in table.iter_mut().filter(|(name, _)| *name == "newfstatat") {
            row.0 = "fstatat";
        }
        table.push(("clock_gettime64", 403));
        let (_, bad) = check_arch(aarch64, &table, scmp_arch(aarch64), &candidates);
        let has = |needle: &str| bad.iter().any(|line| line.contains(needle));
        assert!(has("newfstatat: libseccomp 79, ours None"), "{bad:#?}");
        assert!(has("ours fstatat=79"), "{bad:#?}");
        assert!(has("ours clock_gettime64=403"), "{bad:#?}");
        assert!(has(
            "79 -> libseccomp Some(\"newfstatat\"), ours Some(\"fstatat\")"
        ));

        // x32 as x86_64's numbers with the x32 bit.
        let table: Vec<_> = Arch::X86_64
            .syscalls()
            .iter()
            .map(|&(name, nr)| (name, nr | X32_SYSCALL_BIT))
            .collect();
        let (_, bad) = check_arch(x32, &table, scmp_arch(x32), &candidates);
        let has = |needle: &str| bad.iter().any(|line| line.contains(needle));
        assert!(has("execve: libseccomp 1073742344"), "{bad:#?}");
        assert!(has("ours uselib="), "{bad:#?}");

        // A stale "newer" entry: dropping a listed name from our table is reported.
        let table: Vec<_> = x32
            .syscalls()
            .iter()
            .filter(|r| r.0 != "mseal")
            .copied()
            .collect();
        let (_, bad) = check_arch(x32, &table, scmp_arch(x32), &candidates);
        assert!(bad
            .iter()
            .any(|l| l.contains("mseal is listed as newer but not in our table")));
    }
}
