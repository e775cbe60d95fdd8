//! What each syscall takes and does, one line per syscall: its name, the kind of
//! each argument, and a description in our own words. The decoder prints
//! arguments by kind, the Detail pane shows the description, and narrowing
//! suggestions pin only the kinds whose values are choices (flags, modes,
//! families, requests, options), never an fd, pointer, size, pid or timeout.
//!
//! Kinds, as written in [`TABLE`]:
//!
//! | word | argument | printed as | pinned? |
//! |---|---|---|---|
//! | `fd` / `dirfd` | a file descriptor (`dirfd`: or `AT_FDCWD`) | decimal | never |
//! | `path` / `str` | a NUL-terminated path / other string | read from memory, else the address | never |
//! | `strlen` | a string whose length is the next argument | read from memory | never |
//! | `ptr` / `sockaddr` | a pointer / a `struct sockaddr *` (length next) | the address / the family and address | never |
//! | `n` | a size or a count | unsigned decimal | never |
//! | `off` | a file offset | signed decimal | never |
//! | `int` / `pid` / `id` | a number, a pid or tid, a uid or gid | decimal | never |
//! | `sig` | a signal | `SIGTERM` | never |
//! | `hex` | an opaque word (a key, a handle, a timer id) | hex | never |
//! | `mode` | permission bits | octal | yes |
//! | `opt` | an option, command, request or policy without names here | decimal | yes |
//! | `bits` | flags without names here | hex | yes |
//! | `F:Set` / `E:Set` | flags / an enumeration named by [`Set`] | symbolic | yes |
//!
//! Timeouts are pointers or plain numbers (`int`): neither is ever pinned.
//! The layouts are the 64-bit ones; on 32-bit arches a 64-bit offset takes two
//! registers, which the table does not model (those words print by the kind of
//! the slot they land in).

use super::symbols::Set;
use crate::arch::Arch;
use std::collections::HashMap;
use std::sync::OnceLock;

/// How one argument is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    Fd,
    DirFd,
    Path,
    Str,
    StrLen,
    Ptr,
    SockAddr,
    /// A size or a count.
    UInt,
    Off,
    Int,
    Pid,
    /// A uid or gid (`-1` means "unchanged").
    Id,
    Signal,
    Hex,
    Mode,
    /// An option, command, request or policy with no names in [`Set`].
    Opt,
    /// Flags with no names in [`Set`].
    Bits,
    Flags(Set),
    Enum(Set),
}

impl ArgKind {
    /// Is a value of this kind a choice the program makes, the same on every run
    /// (a flag, a mode, a family, a request, an option)? Only those are pinned.
    pub fn pinnable(self) -> bool {
        matches!(
            self,
            ArgKind::Mode | ArgKind::Opt | ArgKind::Bits | ArgKind::Flags(_) | ArgKind::Enum(_)
        )
    }

    /// What the argument is, for "never pinned: arg0 is an fd".
    pub fn noun(self) -> &'static str {
        match self {
            ArgKind::Fd => "an fd",
            ArgKind::DirFd => "a directory fd",
            ArgKind::Path => "a path pointer",
            ArgKind::Str | ArgKind::StrLen => "a string pointer",
            ArgKind::Ptr | ArgKind::SockAddr => "a pointer",
            ArgKind::UInt => "a size or count",
            ArgKind::Off => "an offset",
            ArgKind::Int => "a number",
            ArgKind::Pid => "a pid",
            ArgKind::Id => "a uid or gid",
            ArgKind::Signal => "a signal",
            ArgKind::Hex => "an opaque value",
            ArgKind::Mode => "a mode",
            ArgKind::Opt => "an option",
            ArgKind::Bits | ArgKind::Flags(_) => "flags",
            ArgKind::Enum(_) => "a request or family",
        }
    }

    fn parse(word: &str) -> Option<ArgKind> {
        Some(match word {
            "fd" => ArgKind::Fd,
            "dirfd" => ArgKind::DirFd,
            "path" => ArgKind::Path,
            "str" => ArgKind::Str,
            "strlen" => ArgKind::StrLen,
            "ptr" => ArgKind::Ptr,
            "sockaddr" => ArgKind::SockAddr,
            "n" => ArgKind::UInt,
            "off" => ArgKind::Off,
            "int" => ArgKind::Int,
            "pid" => ArgKind::Pid,
            "id" => ArgKind::Id,
            "sig" => ArgKind::Signal,
            "hex" => ArgKind::Hex,
            "mode" => ArgKind::Mode,
            "opt" => ArgKind::Opt,
            "bits" => ArgKind::Bits,
            _ => {
                let (form, set) = word.split_once(':')?;
                let set = set_named(set)?;
                match form {
                    "F" => ArgKind::Flags(set),
                    "E" => ArgKind::Enum(set),
                    _ => return None,
                }
            }
        })
    }
}

/// The [`Set`]s the table names.
fn set_named(name: &str) -> Option<Set> {
    use Set::*;
    Some(match name {
        "Open" => Open,
        "OpenBits" => OpenBits,
        "At" => At,
        "AccessAt" => AccessAt,
        "UnlinkAt" => UnlinkAt,
        "Access" => Access,
        "Rename" => Rename,
        "Statx" => Statx,
        "SocketFamily" => SocketFamily,
        "SocketType" => SocketType,
        "Clone" => Clone,
        "Unshare" => Unshare,
        "Mount" => Mount,
        "Umount" => Umount,
        "Prctl" => Prctl,
        "Ioctl" => Ioctl,
        "Personality" => Personality,
        "Prot" => Prot,
        "Map" => Map,
        "Ptrace" => Ptrace,
        "Bpf" => Bpf,
        "Keyctl" => Keyctl,
        "KeySpec" => KeySpec,
        "RebootMagic" => RebootMagic,
        "RebootCmd" => RebootCmd,
        "Syslog" => Syslog,
        "KexecFlags" => KexecFlags,
        "PerfFlags" => PerfFlags,
        "Userfaultfd" => Userfaultfd,
        "FinitModule" => FinitModule,
        "SocketCall" => SocketCall,
        _ => return None,
    })
}

/// One syscall's line of [`TABLE`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub kinds: Vec<ArgKind>,
    pub description: &'static str,
}

/// `name: kinds | description`, one syscall a line (kept in `signatures.txt`
/// beside this module, sorted by name); `-` for no arguments.
pub const TABLE: &str = include_str!("signatures.txt");

fn parsed() -> &'static HashMap<&'static str, Signature> {
    static MAP: OnceLock<HashMap<&'static str, Signature>> = OnceLock::new();
    MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| parse_line(line).unwrap_or_else(|e| panic!("TABLE: {e}: {line}")))
            .collect()
    })
}

fn parse_line(line: &'static str) -> Result<(&'static str, Signature), &'static str> {
    let (name, rest) = line.split_once(':').ok_or("no ':'")?;
    let (kinds, description) = rest.split_once('|').ok_or("no '|'")?;
    let kinds = match kinds.trim() {
        "-" => Vec::new(),
        words => words
            .split_whitespace()
            .map(|w| ArgKind::parse(w).ok_or("unknown kind"))
            .collect::<Result<_, _>>()?,
    };
    if kinds.len() > 6 {
        return Err("more than six arguments");
    }
    let description = description.trim();
    if description.is_empty() {
        return Err("no description");
    }
    Ok((name.trim(), Signature { kinds, description }))
}

/// The line for `name`, as the table writes it (the common layout).
pub fn signature(name: &str) -> Option<&'static Signature> {
    parsed().get(name)
}

/// The kinds of `name`'s arguments on `arch`: s390's `clone` takes the stack
/// before the flags.
pub fn kinds(arch: Arch, name: &str) -> Option<Vec<ArgKind>> {
    let mut kinds = signature(name)?.kinds.clone();
    if name == "clone" && matches!(arch, Arch::S390 | Arch::S390x) {
        kinds.swap(0, 1);
    }
    Some(kinds)
}

/// What `name` does, in one line.
pub fn describe(name: &str) -> Option<&'static str> {
    signature(name).map(|s| s.description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_of_every_arch_has_a_line() {
        let mut missing: Vec<String> = Vec::new();
        for arch in Arch::ALL {
            for &(name, _) in arch.syscalls() {
                if signature(name).is_none() {
                    missing.push(format!("{name} ({})", arch.name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "no line in TABLE: {}",
            missing.join(", ")
        );
    }

    #[test]
    fn every_line_parses_and_names_a_real_syscall_once() {
        let mut seen = std::collections::HashSet::new();
        for line in TABLE.lines().filter(|l| !l.trim().is_empty()) {
            let (name, _) = parse_line(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(seen.insert(name), "{name} twice");
            let libseccomp = crate::target::Runtime::newest(crate::target::RuntimeKind::Runc);
            assert!(
                crate::arch::is_known_anywhere(name) || libseccomp.knows(name),
                "{name}: neither an arch table nor libseccomp has it"
            );
        }
    }

    #[test]
    fn only_choices_are_pinnable() {
        let pread = &signature("pread64").unwrap().kinds;
        assert_eq!(
            pread,
            &[ArgKind::Fd, ArgKind::Ptr, ArgKind::UInt, ArgKind::Off]
        );
        assert!(pread.iter().all(|k| !k.pinnable()));
        let socket = &signature("socket").unwrap().kinds;
        assert!(socket.iter().all(|k| k.pinnable()));
        assert_eq!(
            kinds(Arch::S390x, "clone").unwrap()[1],
            ArgKind::Flags(Set::Clone)
        );
        assert_eq!(
            kinds(Arch::X86_64, "clone").unwrap()[0],
            ArgKind::Flags(Set::Clone)
        );
    }
}
