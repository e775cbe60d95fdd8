//! The socket and SysV IPC calls that 32-bit x86 (and others) also reach
//! through one multiplexer, `socketcall` or `ipc`, with the call number in
//! `args[0]`: libseccomp adds that form beside the direct one.

/// The multiplexer of a socket or IPC call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multiplexer {
    Socketcall,
    Ipc,
}

/// The socket and IPC calls with their `socketcall` / `ipc` call numbers
/// (linux/net.h `SYS_*`, linux/ipc.h). On the arches that have those
/// multiplexers libseccomp resolves these names to pseudo numbers and adds
/// the multiplexed form (and the direct one where the arch has it).
pub fn multiplexed(name: &str) -> Option<(Multiplexer, u64)> {
    use Multiplexer::{Ipc, Socketcall};
    const CALLS: &[(&str, Multiplexer, u64)] = &[
        ("socket", Socketcall, 1),
        ("bind", Socketcall, 2),
        ("connect", Socketcall, 3),
        ("listen", Socketcall, 4),
        ("accept", Socketcall, 5),
        ("getsockname", Socketcall, 6),
        ("getpeername", Socketcall, 7),
        ("socketpair", Socketcall, 8),
        ("send", Socketcall, 9),
        ("recv", Socketcall, 10),
        ("sendto", Socketcall, 11),
        ("recvfrom", Socketcall, 12),
        ("shutdown", Socketcall, 13),
        ("setsockopt", Socketcall, 14),
        ("getsockopt", Socketcall, 15),
        ("sendmsg", Socketcall, 16),
        ("recvmsg", Socketcall, 17),
        ("accept4", Socketcall, 18),
        ("recvmmsg", Socketcall, 19),
        ("sendmmsg", Socketcall, 20),
        ("semop", Ipc, 1),
        ("semget", Ipc, 2),
        ("semctl", Ipc, 3),
        ("semtimedop", Ipc, 4),
        ("msgsnd", Ipc, 11),
        ("msgrcv", Ipc, 12),
        ("msgget", Ipc, 13),
        ("msgctl", Ipc, 14),
        ("shmat", Ipc, 21),
        ("shmdt", Ipc, 22),
        ("shmget", Ipc, 23),
        ("shmctl", Ipc, 24),
    ];
    CALLS
        .iter()
        .find(|&&(n, _, _)| n == name)
        .map(|&(_, mux, call)| (mux, call))
}

// x86 direct socket calls (359..=373) and IPC calls (393..=402) and their
// socketcall / ipc call numbers.
const X86_SOCKETCALL: u32 = 102;
const X86_IPC: u32 = 117;
const X86_SOCKET_MUX: &[(u32, u64)] = &[
    (359, 1),
    (360, 8),
    (361, 2),
    (362, 3),
    (363, 4),
    (364, 18),
    (365, 15),
    (366, 14),
    (367, 6),
    (368, 7),
    (369, 11),
    (370, 16),
    (371, 12),
    (372, 17),
    (373, 13),
];
const X86_IPC_MUX: &[(u32, u64)] = &[
    (393, 2),
    (394, 3),
    (395, 23),
    (396, 24),
    (397, 21),
    (398, 22),
    (399, 13),
    (400, 11),
    (401, 12),
    (402, 14),
];

/// `(socketcall or ipc, call)` for a socket or IPC call's name.
pub fn x86_pseudo(name: &str) -> Option<(u32, u64)> {
    multiplexed(name).map(|(mux, call)| match mux {
        Multiplexer::Socketcall => (X86_SOCKETCALL, call),
        Multiplexer::Ipc => (X86_IPC, call),
    })
}

/// The multiplexed form libseccomp also adds for an x86 socket or IPC syscall.
pub fn x86_multiplexed(nr: u32) -> Option<(u32, u64)> {
    let find = |table: &[(u32, u64)]| table.iter().find(|&&(n, _)| n == nr).map(|&(_, c)| c);
    find(X86_SOCKET_MUX)
        .map(|c| (X86_SOCKETCALL, c))
        .or_else(|| find(X86_IPC_MUX).map(|c| (X86_IPC, c)))
}
