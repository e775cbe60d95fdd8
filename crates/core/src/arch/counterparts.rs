//! Syscalls some arches lack, and the calls their programs make instead.
//!
//! The generic syscall table (arm64, riscv64, loongarch64) has no `open`,
//! `stat`, `mkdir`, `poll`…: libc calls `openat(AT_FDCWD, …)`, `newfstatat`,
//! `mkdirat`, `ppoll`. A profile recorded on x86_64 that allows only the old
//! names therefore fails on arm64, and one recorded on arm64 misses the old
//! names x86_64 programs call. Each row says which call takes a legacy call's
//! place, and where each of the legacy call's arguments goes in it, so that
//! argument conditions can be carried over. The unit tests check every row
//! against the syscall tables of [`super`].
//!
//! Other parts of eperm map name sets through [`on_arch`] (e.g. a runtime's
//! start-up calls, known by their x86_64 names, onto arm64).

use super::Arch;

/// One legacy call and one call that takes its place where it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counterpart {
    pub legacy: &'static str,
    pub modern: &'static str,
    /// `args[i]` of the legacy call is `args[map[i]]` of the modern one;
    /// `None` (or an index past the end): it has no place there, and a
    /// condition on it cannot be carried over.
    pub args: &'static [Option<u8>],
}

const fn row(
    legacy: &'static str,
    modern: &'static str,
    args: &'static [Option<u8>],
) -> Counterpart {
    Counterpart {
        legacy,
        modern,
        args,
    }
}

/// Argument `i` of the legacy call lands at `i + 1` of the `*at` call, after its dirfd.
const AT1: &[Option<u8>] = &[Some(1), Some(2), Some(3), Some(4)];
/// The same arguments in the same places (the modern call only adds one).
const SAME: &[Option<u8>] = &[Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)];
/// No argument of the legacy call has a place in the modern one.
const NONE: &[Option<u8>] = &[];

/// Every pair, from the kernel's tables: the legacy call exists on x86_64 and
/// is missing on some arch eperm knows, where each modern call it names exists.
#[rustfmt::skip]
pub const COUNTERPARTS: &[Counterpart] = &[
    row("open",         "openat",        AT1),
    // creat(path, mode) is openat(AT_FDCWD, path, O_CREAT|O_WRONLY|O_TRUNC, mode).
    row("creat",        "openat",        &[Some(1), Some(3)]),
    row("stat",         "newfstatat",    AT1),
    row("lstat",        "newfstatat",    AT1),
    row("mkdir",        "mkdirat",       AT1),
    row("mknod",        "mknodat",       AT1),
    row("access",       "faccessat",     AT1),
    // glibc tries faccessat2 first and falls back to faccessat only on ENOSYS.
    row("access",       "faccessat2",    AT1),
    row("readlink",     "readlinkat",    AT1),
    row("unlink",       "unlinkat",      AT1),
    // rmdir(path) is unlinkat(AT_FDCWD, path, AT_REMOVEDIR).
    row("rmdir",        "unlinkat",      AT1),
    row("chmod",        "fchmodat",      AT1),
    row("chown",        "fchownat",      AT1),
    row("lchown",       "fchownat",      AT1),
    // rename(old, new) is renameat(AT_FDCWD, old, AT_FDCWD, new).
    row("rename",       "renameat",      &[Some(1), Some(3)]),
    row("rename",       "renameat2",     &[Some(1), Some(3)]),
    // loongarch64 has only renameat2.
    row("renameat",     "renameat2",     SAME),
    row("link",         "linkat",        &[Some(1), Some(3)]),
    // symlink(target, linkpath) is symlinkat(target, AT_FDCWD, linkpath).
    row("symlink",      "symlinkat",     &[Some(0), Some(2)]),
    // utimes and utime take a timeval or utimbuf, utimensat a timespec pair.
    row("utimes",       "utimensat",     &[Some(1)]),
    row("utime",        "utimensat",     &[Some(1)]),
    row("futimesat",    "utimensat",     &[Some(0), Some(1)]),
    // poll's timeout is milliseconds, ppoll's a timespec pointer.
    row("poll",         "ppoll",         &[Some(0), Some(1)]),
    row("pause",        "ppoll",         NONE),
    // select's timeout is a timeval, pselect6's a timespec.
    row("select",       "pselect6",      &[Some(0), Some(1), Some(2), Some(3)]),
    row("epoll_wait",   "epoll_pwait",   SAME),
    // epoll_create's size is ignored; epoll_create1 takes flags.
    row("epoll_create", "epoll_create1", NONE),
    row("dup2",         "dup3",          SAME),
    row("pipe",         "pipe2",         SAME),
    row("inotify_init", "inotify_init1", NONE),
    row("eventfd",      "eventfd2",      SAME),
    row("signalfd",     "signalfd4",     SAME),
    row("getdents",     "getdents64",    SAME),
    row("fork",         "clone",         NONE),
    row("vfork",        "clone",         NONE),
    row("alarm",        "setitimer",     NONE),
    row("getpgrp",      "getpgid",       NONE),
    row("time",         "clock_gettime", NONE),
    // getrlimit(res, rlim) is prlimit64(0, res, NULL, rlim) (loongarch64 lacks both).
    row("getrlimit",    "prlimit64",     &[Some(1), Some(3)]),
    row("setrlimit",    "prlimit64",     &[Some(1), Some(2)]),
];

impl Counterpart {
    /// `index` of the legacy call in the modern one, when it has a place there.
    pub fn forward(&self, index: u8) -> Option<u8> {
        self.args.get(usize::from(index)).copied().flatten()
    }

    /// `index` of the modern call in the legacy one, when it comes from there.
    pub fn backward(&self, index: u8) -> Option<u8> {
        let i = self.args.iter().position(|&m| m == Some(index))?;
        u8::try_from(i).ok()
    }
}

/// The rows whose legacy call is `name`.
pub fn replacing(name: &str) -> impl Iterator<Item = &'static Counterpart> + '_ {
    COUNTERPARTS.iter().filter(move |c| c.legacy == name)
}

/// The rows whose modern call is `name`.
pub fn replaced_by(name: &str) -> impl Iterator<Item = &'static Counterpart> + '_ {
    COUNTERPARTS.iter().filter(move |c| c.modern == name)
}

/// What takes `name`'s place on `arch`, where `arch` lacks it: the modern
/// calls of its rows that `arch` has (empty when `arch` has `name`, or when
/// eperm knows no counterpart there).
pub fn instead_on(name: &str, arch: Arch) -> Vec<&'static Counterpart> {
    if arch.syscall_nr(name).is_some() {
        return Vec::new();
    }
    replacing(name)
        .filter(|c| arch.syscall_nr(c.modern).is_some())
        .collect()
}

/// The calls that do `name`'s work on `arch`: `name` itself where `arch` has
/// it, else its counterparts there. Maps a set of names known on one arch
/// (e.g. a runtime's start-up calls on x86_64) onto another.
pub fn on_arch(name: &str, arch: Arch) -> Vec<&'static str> {
    if let Some(&(known, _)) = arch.syscalls().iter().find(|&&(n, _)| n == name) {
        return vec![known];
    }
    instead_on(name, arch).iter().map(|c| c.modern).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::signatures::kinds;

    /// Every row is a real portability gap: the legacy call is on x86_64, some
    /// arch lacks it, and every arch that lacks it has a counterpart.
    #[test]
    fn every_row_is_true_to_the_tables() {
        for c in COUNTERPARTS {
            assert!(Arch::X86_64.syscall_nr(c.legacy).is_some(), "{}", c.legacy);
            assert!(Arch::X86_64.syscall_nr(c.modern).is_some(), "{}", c.modern);
            let lacking: Vec<Arch> = Arch::ALL
                .into_iter()
                .filter(|a| a.syscall_nr(c.legacy).is_none())
                .collect();
            assert!(!lacking.is_empty(), "every arch has {}", c.legacy);
            let covered = lacking.iter().any(|&a| a.syscall_nr(c.modern).is_some());
            assert!(
                covered,
                "{} is on no arch that lacks {}",
                c.modern, c.legacy
            );
        }
        for &(legacy, arches) in &[("open", 3usize), ("stat", 3)] {
            let lacking = Arch::ALL
                .iter()
                .filter(|a| a.syscall_nr(legacy).is_none())
                .count();
            assert!(lacking >= arches, "{legacy} is missing on {lacking} arches");
        }
    }

    /// An argument carried over means the same thing on both sides.
    #[test]
    fn carried_arguments_are_of_the_same_kind() {
        for c in COUNTERPARTS {
            let legacy = kinds(Arch::X86_64, c.legacy).expect(c.legacy);
            let modern = kinds(Arch::X86_64, c.modern).expect(c.modern);
            for (i, kind) in legacy.iter().enumerate() {
                let Some(j) = c.forward(i as u8) else {
                    continue;
                };
                assert_eq!(
                    Some(kind),
                    modern.get(usize::from(j)),
                    "{}'s args[{i}] as {}'s args[{j}]",
                    c.legacy,
                    c.modern
                );
                assert_eq!(c.backward(j), Some(i as u8));
            }
        }
    }

    #[test]
    fn names_map_onto_an_arch() {
        assert_eq!(on_arch("open", Arch::Aarch64), ["openat"]);
        assert_eq!(on_arch("open", Arch::X86_64), ["open"]);
        assert_eq!(
            on_arch("access", Arch::Aarch64),
            ["faccessat", "faccessat2"]
        );
        assert_eq!(on_arch("rename", Arch::Loongarch64), ["renameat2"]);
        assert!(on_arch("no_such_call", Arch::Aarch64).is_empty());
        assert!(instead_on("openat", Arch::Aarch64).is_empty());
    }
}
