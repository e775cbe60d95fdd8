//! Size and speed of a program: instructions, executed path lengths, and how many
//! syscalls the kernel's action cache can treat as always allowed.

use super::bpf::{self, SeccompData, SockFilter};
use crate::arch::Arch;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Stats {
    pub instructions: usize,
    /// Syscalls measured: every number of every covered arch.
    pub syscalls: usize,
    pub longest_path: usize,
    pub mean_path: f64,
    /// Syscalls whose ALLOW is reached without reading arguments: the kernel's
    /// action cache skips the filter for them.
    pub cacheable: usize,
}

/// Runs every syscall of every arch once, as the kernel's cache emulation does
/// (arguments unknown: a path that reads them is not cacheable).
pub fn stats(prog: &[SockFilter], arches: &[Arch]) -> Stats {
    let mut syscalls = 0;
    let mut longest = 0;
    let mut total = 0usize;
    let mut cacheable = 0;
    for &arch in arches {
        for &(_, nr) in arch.syscalls() {
            let data = SeccompData::call(arch, nr, [0; 6]);
            let r = bpf::run_traced(prog, &data);
            syscalls += 1;
            total += r.executed;
            longest = longest.max(r.executed);
            // The cache covers native and compat numbers, never x32's (bit 30 set).
            if !r.read_args && r.action == bpf::RET_ALLOW && arch != Arch::X32 {
                cacheable += 1;
            }
        }
    }
    Stats {
        instructions: prog.len(),
        syscalls,
        longest_path: longest,
        mean_path: if syscalls == 0 {
            0.0
        } else {
            total as f64 / syscalls as f64
        },
        cacheable,
    }
}
