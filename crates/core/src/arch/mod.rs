//! Architectures seccomp knows, their AUDIT_ARCH values and syscall tables.
//!
//! Names follow libseccomp (`SCMP_ARCH_X86_64`); Go names (`amd64`) are what
//! Docker profiles use in `includes.arches`.

pub mod counterparts;
mod tables;
#[cfg(test)]
mod tests;

/// `__X32_SYSCALL_BIT`: x32 syscalls arrive under AUDIT_ARCH_X86_64 with this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    X86,
    X32,
    Aarch64,
    Arm,
    Riscv64,
    S390x,
    S390,
    Ppc64le,
    Ppc64,
    Ppc,
    Mips,
    Mipsel,
    Mips64,
    Mips64el,
    Mips64n32,
    Mips64n32el,
    Loongarch64,
}

struct Info {
    arch: Arch,
    scmp: &'static str,
    short: &'static str,
    go: &'static str,
    audit: u32,
}

const fn info(
    arch: Arch,
    scmp: &'static str,
    short: &'static str,
    go: &'static str,
    audit: u32,
) -> Info {
    Info {
        arch,
        scmp,
        short,
        go,
        audit,
    }
}

// AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT (0x8000_0000) | __AUDIT_ARCH_LE (0x4000_0000).
// One row per arch; kept as an aligned table.
#[rustfmt::skip]
const INFO: &[Info] = &[
    info(Arch::X86_64,      "SCMP_ARCH_X86_64",      "x86_64",      "amd64",       0xC000_003E),
    info(Arch::X86,         "SCMP_ARCH_X86",         "x86",         "386",         0x4000_0003),
    // The kernel reports x32 as AUDIT_ARCH_X86_64; only the nr's bit 30 differs.
    info(Arch::X32,         "SCMP_ARCH_X32",         "x32",         "x32",         0xC000_003E),
    info(Arch::Aarch64,     "SCMP_ARCH_AARCH64",     "aarch64",     "arm64",       0xC000_00B7),
    info(Arch::Arm,         "SCMP_ARCH_ARM",         "arm",         "arm",         0x4000_0028),
    info(Arch::Riscv64,     "SCMP_ARCH_RISCV64",     "riscv64",     "riscv64",     0xC000_00F3),
    info(Arch::S390x,       "SCMP_ARCH_S390X",       "s390x",       "s390x",       0x8000_0016),
    info(Arch::S390,        "SCMP_ARCH_S390",        "s390",        "s390",        0x0000_0016),
    info(Arch::Ppc64le,     "SCMP_ARCH_PPC64LE",     "ppc64le",     "ppc64le",     0xC000_0015),
    info(Arch::Ppc64,       "SCMP_ARCH_PPC64",       "ppc64",       "ppc64",       0x8000_0015),
    info(Arch::Ppc,         "SCMP_ARCH_PPC",         "ppc",         "ppc",         0x0000_0014),
    info(Arch::Mips,        "SCMP_ARCH_MIPS",        "mips",        "mips",        0x0000_0008),
    info(Arch::Mipsel,      "SCMP_ARCH_MIPSEL",      "mipsel",      "mipsle",      0x4000_0008),
    info(Arch::Mips64,      "SCMP_ARCH_MIPS64",      "mips64",      "mips64",      0x8000_0008),
    info(Arch::Mips64el,    "SCMP_ARCH_MIPSEL64",    "mipsel64",    "mips64le",    0xC000_0008),
    info(Arch::Mips64n32,   "SCMP_ARCH_MIPS64N32",   "mips64n32",   "mips64p32",   0xA000_0008),
    info(Arch::Mips64n32el, "SCMP_ARCH_MIPSEL64N32", "mipsel64n32", "mips64p32le", 0xE000_0008),
    info(Arch::Loongarch64, "SCMP_ARCH_LOONGARCH64", "loongarch64", "loong64",     0xC000_0102),
];

impl Arch {
    pub const ALL: [Arch; 18] = [
        Arch::X86_64,
        Arch::X86,
        Arch::X32,
        Arch::Aarch64,
        Arch::Arm,
        Arch::Riscv64,
        Arch::S390x,
        Arch::S390,
        Arch::Ppc64le,
        Arch::Ppc64,
        Arch::Ppc,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64,
        Arch::Mips64el,
        Arch::Mips64n32,
        Arch::Mips64n32el,
        Arch::Loongarch64,
    ];

    fn info(self) -> &'static Info {
        INFO.iter()
            .find(|i| i.arch == self)
            .expect("every arch has an INFO row")
    }

    /// libseccomp's name, as profiles write it: `SCMP_ARCH_X86_64`.
    pub fn scmp_name(self) -> &'static str {
        self.info().scmp
    }

    /// Short name for people and the command line: `x86_64`.
    pub fn name(self) -> &'static str {
        self.info().short
    }

    /// Go's GOARCH name, used by Docker's `includes.arches`.
    pub fn go_name(self) -> &'static str {
        self.info().go
    }

    /// The AUDIT_ARCH value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        self.info().audit
    }

    pub fn from_scmp_name(s: &str) -> Option<Arch> {
        INFO.iter().find(|i| i.scmp == s).map(|i| i.arch)
    }

    /// Accepts the libseccomp, short and Go spellings, case-insensitively.
    pub fn parse(s: &str) -> Option<Arch> {
        let s = s.trim();
        INFO.iter()
            .find(|i| {
                i.scmp.eq_ignore_ascii_case(s)
                    || i.short.eq_ignore_ascii_case(s)
                    || i.go.eq_ignore_ascii_case(s)
            })
            .map(|i| i.arch)
            .or(match s.to_ascii_lowercase().as_str() {
                // `uname -m` and Debian spellings.
                "i386" | "i486" | "i586" | "i686" => Some(Arch::X86),
                "arm64" => Some(Arch::Aarch64),
                "armv7l" | "armhf" | "armel" => Some(Arch::Arm),
                "ppc64el" => Some(Arch::Ppc64le),
                "mips64el" => Some(Arch::Mips64el),
                "mips64n32el" => Some(Arch::Mips64n32el),
                _ => None,
            })
    }

    /// The arch a kernel report means: AUDIT_ARCH plus the raw nr (for x32's bit).
    pub fn from_audit(audit: u32, nr: u32) -> Option<Arch> {
        if audit == Arch::X86_64.audit_arch() {
            return Some(if nr & X32_SYSCALL_BIT != 0 {
                Arch::X32
            } else {
                Arch::X86_64
            });
        }
        INFO.iter().find(|i| i.audit == audit).map(|i| i.arch)
    }

    /// The arch this binary was built for.
    pub fn native() -> Arch {
        if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
            Arch::X32
        } else if cfg!(target_arch = "x86_64") {
            Arch::X86_64
        } else if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else if cfg!(target_arch = "x86") {
            Arch::X86
        } else if cfg!(target_arch = "arm") {
            Arch::Arm
        } else if cfg!(target_arch = "riscv64") {
            Arch::Riscv64
        } else if cfg!(target_arch = "s390x") {
            Arch::S390x
        } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
            Arch::Ppc64le
        } else if cfg!(target_arch = "powerpc64") {
            Arch::Ppc64
        } else if cfg!(target_arch = "powerpc") {
            Arch::Ppc
        } else if cfg!(all(target_arch = "mips", target_endian = "little")) {
            Arch::Mipsel
        } else if cfg!(target_arch = "mips") {
            Arch::Mips
        } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
            Arch::Mips64el
        } else if cfg!(target_arch = "mips64") {
            Arch::Mips64
        } else if cfg!(target_arch = "loongarch64") {
            Arch::Loongarch64
        } else {
            Arch::X86_64
        }
    }

    /// The syscall number as seccomp sees it (x32 numbers include `X32_SYSCALL_BIT`).
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        tables::table(self).nr(name)
    }

    /// The name of a syscall number; `None` for numbers this arch does not have.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        tables::table(self).name(nr)
    }

    /// Every (name, nr) of this arch, ordered by number.
    pub fn syscalls(self) -> &'static [(&'static str, u32)] {
        tables::table(self).entries()
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Is `name` a syscall on any arch we know? Used to tell typos from foreign names.
pub fn is_known_anywhere(name: &str) -> bool {
    Arch::ALL.iter().any(|a| a.syscall_nr(name).is_some())
}
