//! The calls the kernel lets through before any seccomp filter runs.
//!
//! Linux exempts the two x86-64 calls its uprobes machinery plants in a traced
//! process (the return trampoline's `uretprobe`, the probe site's `uprobe`) from
//! filtering: `kernel/seccomp.c`, `seccomp_uprobe_exception()`, consulted by
//! `seccomp_is_const_allow()`, so the action cache allows them for every filter
//! whatever its program says (and `mode1_syscalls[]` lets them through strict
//! mode). Only native calls pass (`sd->arch == SECCOMP_ARCH_NATIVE`): an x32
//! call carries bit 30 in `nr`, an i386 one another audit arch.
//!
//! - `uretprobe` (335): torvalds/linux cf6cb56ef244 "seccomp: passthrough
//!   uretprobe systemcall without filtering", in 6.14 (backported to 6.12.y
//!   and 6.13.y stable releases).
//! - `uprobe` (336): torvalds/linux 89d1d8434d24 "seccomp: passthrough uprobe
//!   systemcall without filtering", in 6.18 with the call itself.
//!
//! libseccomp does not model this: its program (and ours) still denies these
//! calls; the kernel never runs either for them.

use crate::arch::Arch;
use crate::profile::KernelVersion;

/// One call the kernel passes through, and from which release on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Passthrough {
    pub name: &'static str,
    /// Its x86-64 number.
    pub nr: u32,
    /// The first mainline release that passes it through.
    pub since: KernelVersion,
    /// The kernel commit that made it so.
    pub commit: &'static str,
}

pub const PASSTHROUGH: [Passthrough; 2] = [
    Passthrough {
        name: "uretprobe",
        nr: 335,
        since: KernelVersion {
            major: 6,
            minor: 14,
        },
        commit: "cf6cb56ef244",
    },
    Passthrough {
        name: "uprobe",
        nr: 336,
        since: KernelVersion {
            major: 6,
            minor: 18,
        },
        commit: "89d1d8434d24",
    },
];

/// The passthrough that lets call `nr` of `arch` by on `kernel`, if any. An
/// unknown kernel (`None`) counts as the newest, as it does for `minKernel`.
pub fn passes(arch: Arch, nr: u32, kernel: Option<KernelVersion>) -> Option<&'static Passthrough> {
    if arch != Arch::X86_64 {
        return None;
    }
    PASSTHROUGH
        .iter()
        .find(|p| p.nr == nr && kernel.is_none_or(|k| k >= p.since))
}

impl Passthrough {
    /// "the kernel lets uretprobe through before any filter (Linux 6.14 and
    /// later, kernel/seccomp.c)".
    pub fn describe(&self) -> String {
        format!(
            "the kernel lets {} through before any seccomp filter (Linux {} and later: seccomp_uprobe_exception in kernel/seccomp.c)",
            self.name, self.since
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Option<KernelVersion> {
        KernelVersion::parse(s)
    }

    #[test]
    fn each_call_passes_from_the_release_that_added_its_exception() {
        assert_eq!(passes(Arch::X86_64, 335, k("6.13")), None);
        assert_eq!(
            passes(Arch::X86_64, 335, k("6.14")).map(|p| p.name),
            Some("uretprobe")
        );
        assert_eq!(passes(Arch::X86_64, 336, k("6.17")), None);
        assert_eq!(
            passes(Arch::X86_64, 336, k("6.18")).map(|p| p.name),
            Some("uprobe")
        );
        assert!(passes(Arch::X86_64, 335, None).is_some());
        // Only native x86-64 calls: not x32 (bit 30), i386 or another arch.
        assert_eq!(
            passes(Arch::X86_64, 335 | crate::arch::X32_SYSCALL_BIT, k("6.18")),
            None
        );
        assert_eq!(
            passes(Arch::X32, 335 | crate::arch::X32_SYSCALL_BIT, k("6.18")),
            None
        );
        assert_eq!(passes(Arch::X86, 335, k("6.18")), None);
        assert_eq!(passes(Arch::Aarch64, 335, k("6.18")), None);
        for p in PASSTHROUGH {
            assert_eq!(Arch::X86_64.syscall_nr(p.name), Some(p.nr));
        }
    }
}
