//! The runtime that will load a profile: runc, crun or youki, and the
//! libseccomp it links.
//!
//! A verdict is true only for the program that turns the profile into a
//! filter. eperm's own runs (`eperm run`) load eperm's program, which knows
//! every name of eperm's tables. A container's profile is loaded by its runtime
//! through libseccomp, and there the profile can mean something else:
//!
//! - libseccomp resolves names with the table of its release: a name it lacks
//!   is dropped by every runtime (the call falls to the default action), a name
//!   it knows but an arch lacks is dropped on that arch;
//! - it refuses an errno of 4095 or more (`SCMP_ACT_ERRNO`), and the runtime
//!   then refuses to start the container;
//! - runc refuses an empty name; crun refuses `errnoRet` on an action without
//!   data; youki before 0.7.0 ORs every condition of a rule;
//! - runc (1.0 and later) puts an "-ENOSYS stub" in front of libseccomp's
//!   program: calls numbered above the largest syscall the profile names, on
//!   an arch the profile lists, fail with ENOSYS instead of the default action.
//!   Measured here with runc 1.1.5: `mseal` (462) under a profile whose largest
//!   name known to libseccomp 2.5.4 is `futex_waitv` (449) gets ENOSYS, and
//!   crun 1.8.1 gives the same profile's default, EPERM.
//!
//! This module is written from a reading of runc 1.1.5, crun 1.8.1 and youki's
//! seccomp code; `tests/integration/target.rs` holds the name tables to the
//! installed libseccomp and the stub to the installed runc.

pub mod artifact;
mod names;
mod versions;

pub use versions::{parse_version_text, release_of_file_name};

use crate::arch::Arch;
use crate::error::BadInput;
use std::fmt;

/// How a target learns which runtimes are installed: the binary looks on the
/// machine (it runs them, which this crate never does); pure callers and tests
/// pass [`Runtime::nowhere`].
pub type Finder<'a> = &'a dyn Fn(RuntimeKind) -> Option<Runtime>;

/// A release number: `2.5.4`, `1.1.5`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl Version {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// `2.5.4`, `2.6` (patch 0), `1.1.5+ds1` (the suffix is ignored).
    pub fn parse(text: &str) -> Option<Version> {
        let core = text
            .trim()
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u16>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts
            .next()
            .is_none()
            .then_some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The OCI runtimes whose conversion rules eperm knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeKind {
    Runc,
    Crun,
    Youki,
}

impl RuntimeKind {
    pub const ALL: [RuntimeKind; 3] = [RuntimeKind::Runc, RuntimeKind::Crun, RuntimeKind::Youki];

    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Runc => "runc",
            RuntimeKind::Crun => "crun",
            RuntimeKind::Youki => "youki",
        }
    }

    pub fn parse(name: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How libseccomp's table answers for a name on one arch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The syscall number on that arch (x32's bit and mips' base included).
    Nr(u32),
    /// libseccomp knows the name, but the arch has no such syscall.
    NotOnArch,
    /// libseccomp's table lacks the name: runtimes drop it on every arch.
    Unknown,
}

/// The runtime that loads the profile, and its libseccomp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    pub kind: RuntimeKind,
    /// The runtime's release, when known (found on the machine, or written
    /// `--runtime runc@1.1.5`). Unknown means the current release's rules.
    pub version: Option<Version>,
    pub libseccomp: Version,
    /// The distribution's build of libseccomp, when known (`2.5.4-1+deb12u1`):
    /// some carry a newer release's name table (see [`patched_names`]).
    pub build: Option<String>,
    /// Found on this machine: messages say "here".
    pub here: bool,
}

/// Distribution builds whose name table is a later release's, measured with
/// the differential tests: Debian 12's 2.5.4-1+deb12u1 ("Add support for
/// syscalls up to Linux 6.7") knows exactly the names of upstream 2.5.5.
pub fn patched_names(build: &str) -> Option<Version> {
    const PATCHED: &[(&str, Version)] = &[("2.5.4-1+deb12u1", Version::new(2, 5, 5))];
    PATCHED.iter().find(|(b, _)| *b == build).map(|&(_, v)| v)
}

/// libseccomp refuses `SCMP_ACT_ERRNO(n)` for `n >= ERRNO_LIMIT` (`MAX_ERRNO`).
pub const ERRNO_LIMIT: u32 = 4095;

/// How a rule's conditions on distinct arguments are read, said the same by
/// every command (`check`'s warning, `tighten`'s narrowed rules, the TUI): by
/// `runtime` when one is the target, else by every runtime eperm knows.
/// `.0` is true when they are ANDed by that target.
pub fn distinct_conditions(runtime: Option<&Runtime>) -> (bool, String) {
    match runtime {
        Some(r) if r.ors_every_condition() => (
            false,
            format!(
                "youki before 0.7.0 ({}, the target) adds each condition as its own rule: they are ORed, not ANDed as runc, crun and youki 0.7.0+ do",
                r.named()
            ),
        ),
        Some(r) => (
            true,
            format!(
                "{} (the target) ANDs conditions on distinct arguments, as runc, crun and youki 0.7.0+ do; youki before 0.7.0 would OR them",
                r.named()
            ),
        ),
        None => (
            true,
            "runc, crun, youki 0.7.0+ and eperm AND conditions on distinct arguments, but youki before 0.7.0 ORs every condition of a rule".to_string(),
        ),
    }
}

impl Runtime {
    /// The newest libseccomp release eperm has the table of.
    pub fn newest_libseccomp() -> Version {
        let (a, b, c) = names::RELEASES[names::RELEASES.len() - 1];
        Version::new(a.into(), b.into(), c.into())
    }

    /// The libseccomp releases eperm has tables for, oldest first.
    pub fn known_libseccomp() -> Vec<Version> {
        names::RELEASES
            .iter()
            .map(|&(a, b, c)| Version::new(a.into(), b.into(), c.into()))
            .collect()
    }

    /// A [`Finder`] that finds nothing: for targets named in full, and tests.
    pub fn nowhere(_: RuntimeKind) -> Option<Runtime> {
        None
    }

    /// What loads a container's profile where `found` looks: the first of
    /// runc, crun and youki found, else runc with the newest libseccomp.
    pub fn first_found(found: Finder) -> Runtime {
        RuntimeKind::ALL
            .into_iter()
            .find_map(found)
            .unwrap_or_else(|| Runtime::newest(RuntimeKind::Runc))
    }

    /// `kind`'s current release with the newest libseccomp.
    pub fn newest(kind: RuntimeKind) -> Runtime {
        Runtime {
            kind,
            version: None,
            libseccomp: Runtime::newest_libseccomp(),
            build: None,
            here: false,
        }
    }

    /// The target of `--runtime NAME[@VERSION]` and `--libseccomp VERSION`;
    /// what is not given is taken from the runtime `found` finds, else the newest.
    pub fn from_args(
        runtime: Option<&str>,
        libseccomp: Option<&str>,
        found: Finder,
    ) -> Result<Runtime, BadInput> {
        Runtime::read_args(runtime, libseccomp, found).map_err(BadInput)
    }

    /// [`Runtime::from_args`], with the message of what is wrong as `Err`.
    fn read_args(
        runtime: Option<&str>,
        libseccomp: Option<&str>,
        found: Finder,
    ) -> Result<Runtime, String> {
        let mut target = match runtime {
            None => Runtime::first_found(found),
            Some(text) => {
                let (name, version) = match text.split_once('@') {
                    Some((n, v)) => (n, Some(v)),
                    None => (text, None),
                };
                let names: Vec<_> = RuntimeKind::ALL.iter().map(|k| k.name()).collect();
                let kind = RuntimeKind::parse(name).ok_or_else(|| {
                    format!(
                        "--runtime: unknown runtime {name:?}\n  hint: one of {}, optionally with @VERSION (runc@1.1.5)",
                        names.join(", ")
                    )
                })?;
                // Fully named (runc@1.1.5 --libseccomp 2.5.4): nothing to learn from
                // this machine, so none of the programs detection runs (~60 ms).
                let named = version.is_some() && libseccomp.is_some();
                let detected = if named { None } else { found(kind) };
                let here = detected.filter(|r| {
                    version
                        .is_none_or(|v| r.version.is_some_and(|rv| Version::parse(v) == Some(rv)))
                });
                match (here, version) {
                    (Some(r), _) => r,
                    (None, None) => Runtime::newest(kind),
                    (None, Some(v)) => Runtime {
                        version: Some(Version::parse(v).ok_or_else(|| {
                            format!("--runtime: invalid version {v:?}\n  hint: write it as {name}@MAJOR.MINOR.PATCH, e.g. {name}@1.1.5")
                        })?),
                        ..Runtime::newest(kind)
                    },
                }
            }
        };
        if let Some(text) = libseccomp {
            let version = Version::parse(text).ok_or_else(|| {
                format!("--libseccomp: invalid version {text:?}\n  hint: write it as MAJOR.MINOR.PATCH, e.g. 2.5.4")
            })?;
            let known = Runtime::known_libseccomp();
            if version < known[0] {
                return Err(format!(
                    "--libseccomp: {version} is older than the oldest table eperm has ({})\n  hint: one of {}",
                    known[0],
                    list(&known)
                ));
            }
            // A plain release means upstream's table; a build string, that build's.
            let build = (text.trim() != version.to_string()).then(|| text.trim().to_string());
            if target.build != build && !(build.is_none() && target.build.is_none()) {
                target.here = false;
            }
            if version != target.libseccomp || build.is_none() && target.build.is_some() {
                target.here = false;
            }
            target.libseccomp = version;
            target.build = build;
        }
        Ok(target)
    }

    /// The release whose name table this libseccomp carries.
    pub fn names_of(&self) -> Version {
        self.build
            .as_deref()
            .and_then(patched_names)
            .unwrap_or(self.libseccomp)
    }

    /// Index of the newest release table not newer than [`Runtime::names_of`].
    fn release(&self) -> usize {
        let names_of = self.names_of();
        names::RELEASES
            .iter()
            .rposition(|&(a, b, c)| Version::new(a.into(), b.into(), c.into()) <= names_of)
            .unwrap_or(0)
    }

    /// Does this libseccomp build filters for `arch` at all?
    pub fn supports(&self, arch: Arch) -> bool {
        arch != Arch::Loongarch64 || self.libseccomp >= Version::new(2, 6, 0)
    }

    /// libseccomp's number for `name` on `arch`.
    pub fn lookup(&self, arch: Arch, name: &str) -> Lookup {
        let release = self.release() as u8;
        let Some(row) = names::rows()
            .iter()
            .find(|r| r.0 == name && r.1 <= release && release < r.2)
        else {
            return Lookup::Unknown;
        };
        let column = names::COLUMNS.iter().position(|&c| c == column_of(arch));
        match column.map(|c| row.3[c]) {
            Some(nr) if nr >= 0 && self.supports(arch) => {
                Lookup::Nr(nr as u32 + crate::syscalls::base(arch))
            }
            _ => Lookup::NotOnArch,
        }
    }

    /// libseccomp of this release knows `name` (on some arch).
    pub fn knows(&self, name: &str) -> bool {
        self.lookup(Arch::X86_64, name) != Lookup::Unknown
    }

    /// runc's "-ENOSYS stub" (runc 1.0.0 and later).
    pub fn has_enosys_stub(&self) -> bool {
        self.kind == RuntimeKind::Runc && self.version.is_none_or(|v| v >= Version::new(1, 0, 0))
    }

    /// youki before 0.7.0 adds every condition of a rule as its own rule.
    pub fn ors_every_condition(&self) -> bool {
        self.kind == RuntimeKind::Youki && self.version.is_some_and(|v| v < Version::new(0, 7, 0))
    }

    /// runc refuses `""` as a name; crun and youki skip it as unknown.
    pub fn refuses_empty_names(&self) -> bool {
        self.kind == RuntimeKind::Runc
    }

    /// crun refuses `errnoRet` / `defaultErrnoRet` beside an action other
    /// than ERRNO or TRACE; runc and youki ignore it.
    pub fn refuses_errno_without_data(&self) -> bool {
        self.kind == RuntimeKind::Crun
    }

    /// `runc 1.1.5`, `crun`.
    pub fn short(&self) -> String {
        match self.version {
            Some(v) => format!("{} {v}", self.kind.name()),
            None => self.kind.name().to_string(),
        }
    }

    /// `runc 1.1.5 here`, `crun`: how messages name the runtime.
    pub fn named(&self) -> String {
        if self.here {
            format!("{} here", self.short())
        } else {
            self.short()
        }
    }
}

/// `runc 1.1.5 with libseccomp 2.5.4 (found here)`: the target as a summary says it.
impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} with libseccomp {}", self.short(), self.libseccomp)?;
        if let Some(build) = &self.build {
            write!(f, " (build {build}")?;
            if self.names_of() != self.libseccomp {
                write!(f, ", the names of {}", self.names_of())?;
            }
            f.write_str(")")?;
        }
        if self.here {
            f.write_str(" (found here)")?;
        }
        Ok(())
    }
}

fn list(versions: &[Version]) -> String {
    let v: Vec<String> = versions.iter().map(|v| v.to_string()).collect();
    v.join(", ")
}

/// The CSV column an arch reads (the endian twins share one).
fn column_of(arch: Arch) -> Arch {
    match arch {
        Arch::Mipsel => Arch::Mips,
        Arch::Mips64el => Arch::Mips64,
        Arch::Mips64n32el => Arch::Mips64n32,
        Arch::Ppc64le => Arch::Ppc64,
        other => other,
    }
}

/// Arches whose libseccomp name lookup answers a socket or IPC name with a
/// pseudo number (its "munge" resolvers): runc's stub never counts those.
pub fn munges_names(arch: Arch) -> bool {
    matches!(
        arch,
        Arch::X86
            | Arch::S390
            | Arch::S390x
            | Arch::Ppc
            | Arch::Ppc64
            | Arch::Ppc64le
            | Arch::Mips
            | Arch::Mipsel
    )
}

/// The kernel release that added a syscall, for the syscalls added since 5.0
/// (numbers 403 and up share one table on every arch). From the kernel's
/// release notes; older names count as present everywhere.
pub fn kernel_added(name: &str) -> Option<(u16, u16)> {
    const ADDED: &[(&str, (u16, u16))] = &[
        ("pidfd_send_signal", (5, 1)),
        ("io_uring_setup", (5, 1)),
        ("io_uring_enter", (5, 1)),
        ("io_uring_register", (5, 1)),
        ("open_tree", (5, 2)),
        ("move_mount", (5, 2)),
        ("fsopen", (5, 2)),
        ("fsconfig", (5, 2)),
        ("fsmount", (5, 2)),
        ("fspick", (5, 2)),
        ("pidfd_open", (5, 3)),
        ("clone3", (5, 3)),
        ("openat2", (5, 6)),
        ("pidfd_getfd", (5, 6)),
        ("faccessat2", (5, 8)),
        ("close_range", (5, 9)),
        ("process_madvise", (5, 10)),
        ("epoll_pwait2", (5, 11)),
        ("mount_setattr", (5, 12)),
        ("landlock_create_ruleset", (5, 13)),
        ("landlock_add_rule", (5, 13)),
        ("landlock_restrict_self", (5, 13)),
        ("quotactl_fd", (5, 14)),
        ("memfd_secret", (5, 14)),
        ("process_mrelease", (5, 15)),
        ("futex_waitv", (5, 16)),
        ("set_mempolicy_home_node", (5, 17)),
        ("cachestat", (6, 5)),
        ("fchmodat2", (6, 6)),
        ("map_shadow_stack", (6, 6)),
        ("futex_wake", (6, 7)),
        ("futex_wait", (6, 7)),
        ("futex_requeue", (6, 7)),
        ("statmount", (6, 8)),
        ("listmount", (6, 8)),
        ("lsm_get_self_attr", (6, 8)),
        ("lsm_set_self_attr", (6, 8)),
        ("lsm_list_modules", (6, 8)),
        ("mseal", (6, 10)),
        ("uretprobe", (6, 11)),
        ("setxattrat", (6, 13)),
        ("getxattrat", (6, 13)),
        ("listxattrat", (6, 13)),
        ("removexattrat", (6, 13)),
        ("open_tree_attr", (6, 15)),
        ("file_getattr", (6, 17)),
        ("file_setattr", (6, 17)),
    ];
    ADDED.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

#[cfg(test)]
mod tests;
