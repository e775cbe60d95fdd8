//! Everything eperm knows about syscalls beyond their numbers (which are in
//! [`crate::arch`]): what each does and takes ([`signatures`]), the names of
//! argument values ([`symbols`]), how a call reads to a person ([`decode`],
//! through the [`memory`] behind its pointers), the socket and IPC calls
//! reached through a multiplexer ([`multiplex`]) and where each arch's numbers
//! start ([`base`]).

pub mod decode;
pub mod memory;
pub mod multiplex;
pub mod signatures;
pub mod symbols;

use crate::arch::{Arch, X32_SYSCALL_BIT};

/// What an arch adds to the table number of its calls: x32's bit, the mips
/// ABIs' bases (libseccomp's CSV lists numbers without them).
pub fn base(arch: Arch) -> u32 {
    match arch {
        Arch::X32 => X32_SYSCALL_BIT,
        Arch::Mips | Arch::Mipsel => 4000,
        Arch::Mips64 | Arch::Mips64el => 5000,
        Arch::Mips64n32 | Arch::Mips64n32el => 6000,
        _ => 0,
    }
}
