//! runc's "-ENOSYS stub": the prefix runc (1.0 and later) puts in front of
//! libseccomp's program, so that syscalls newer than anything the profile
//! names fail with ENOSYS (which libc falls back on) rather than the default.
//!
//! For each arch with a limit (see `Resolved::enosys_above`), a call numbered
//! above it returns `ERRNO(ENOSYS)`; every other call goes on to the filter.
//! x86_64 and x32 share an audit arch: x32 calls are told by bit 30 of `nr`.
//! The layout is ours; only the verdicts follow runc.

use super::bpf::{self, SockFilter};
use crate::arch::{Arch, X32_SYSCALL_BIT};

const ENOSYS: u32 = 38;

/// Does the stub decide this call (with ENOSYS)?
pub fn decides(limits: &[(Arch, u32)], audit: u32, nr: u32) -> bool {
    let limit = |arch: Arch| limits.iter().find(|(a, _)| *a == arch).map(|&(_, n)| n);
    if audit == Arch::X86_64.audit_arch() {
        let arch = if nr & X32_SYSCALL_BIT != 0 {
            Arch::X32
        } else {
            Arch::X86_64
        };
        return limit(arch).is_some_and(|max| nr > max);
    }
    limits
        .iter()
        .any(|&(a, max)| a.audit_arch() == audit && nr > max)
}

/// Where a jump of the stub goes.
#[derive(Clone, Copy)]
enum To {
    /// The next instruction.
    On,
    /// Past this arch's block.
    Skip(usize),
    Enosys,
    Filter,
}

/// The stub's instructions; its last falls through to the filter that follows.
pub fn program(limits: &[(Arch, u32)]) -> Vec<SockFilter> {
    if limits.is_empty() {
        return Vec::new();
    }
    let mut code: Vec<(u16, u32, To, To)> = vec![(bpf::LD_ABS, bpf::OFF_ARCH, To::On, To::On)];
    let mut audits: Vec<u32> = limits.iter().map(|(a, _)| a.audit_arch()).collect();
    audits.dedup();
    for audit in audits {
        let mut block: Vec<(u16, u32, To, To)> = vec![(bpf::LD_ABS, bpf::OFF_NR, To::On, To::On)];
        let limit = |arch: Arch| limits.iter().find(|(a, _)| *a == arch).map(|&(_, n)| n);
        let above = |max: u32| (bpf::JGT_K, max, To::Enosys, To::Filter);
        if audit == Arch::X86_64.audit_arch() {
            match (limit(Arch::X86_64), limit(Arch::X32)) {
                (Some(wide), Some(x32)) => {
                    block.push((bpf::JSET_K, X32_SYSCALL_BIT, To::Skip(1), To::On));
                    block.push(above(wide));
                    block.push(above(x32));
                }
                (Some(wide), None) => {
                    block.push((bpf::JSET_K, X32_SYSCALL_BIT, To::Filter, To::On));
                    block.push(above(wide));
                }
                (None, Some(x32)) => {
                    block.push((bpf::JSET_K, X32_SYSCALL_BIT, To::On, To::Filter));
                    block.push(above(x32));
                }
                (None, None) => unreachable!("the audit arch comes from a limit"),
            }
        } else {
            let max = limits
                .iter()
                .find(|(a, _)| a.audit_arch() == audit)
                .map(|&(_, n)| n)
                .expect("the audit arch comes from a limit");
            block.push(above(max));
        }
        code.push((bpf::JEQ_K, audit, To::On, To::Skip(block.len())));
        code.extend(block);
    }
    // No arch of the stub: on to the filter, which has its own arch checks.
    code.push((bpf::JA, 0, To::Filter, To::Filter));
    let enosys = code.len();
    let filter = enosys + 1;
    let offset = |pc: usize, to: To| -> u32 {
        let target = match to {
            To::On => pc + 1,
            To::Skip(n) => pc + 1 + n,
            To::Enosys => enosys,
            To::Filter => filter,
        };
        (target - pc - 1) as u32
    };
    let mut out: Vec<SockFilter> = code
        .iter()
        .enumerate()
        .map(|(pc, &(op, k, jt, jf))| {
            if op == bpf::JA {
                SockFilter::new(op, 0, 0, offset(pc, jt))
            } else if op == bpf::LD_ABS {
                SockFilter::new(op, 0, 0, k)
            } else {
                SockFilter::new(op, offset(pc, jt) as u8, offset(pc, jf) as u8, k)
            }
        })
        .collect();
    out.push(SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ERRNO | ENOSYS));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{bpf, SeccompData};

    fn run(prog: &[SockFilter], arch: Arch, nr: u32) -> u32 {
        // The filter after the stub: allow everything.
        let mut p = prog.to_vec();
        p.push(SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ALLOW));
        let data = SeccompData::call(arch, nr, [0; 6]);
        bpf::run(&p, &data).0
    }

    #[test]
    fn the_program_and_the_model_agree_on_every_arch_and_limit() {
        let sets: &[&[(Arch, u32)]] = &[
            &[
                (Arch::X86_64, 449),
                (Arch::X86, 449),
                (Arch::X32, X32_SYSCALL_BIT | 449),
            ],
            &[(Arch::X86_64, 449)],
            &[(Arch::X32, X32_SYSCALL_BIT | 300)],
            &[(Arch::Aarch64, 441), (Arch::Arm, 450)],
        ];
        for limits in sets {
            let prog = program(limits);
            bpf::validate(&{
                let mut p = prog.clone();
                p.push(SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ALLOW));
                p
            })
            .unwrap();
            for arch in [Arch::X86_64, Arch::X86, Arch::X32, Arch::Aarch64, Arch::Arm] {
                for base in [0, X32_SYSCALL_BIT] {
                    for nr in [0, 299, 300, 301, 441, 442, 449, 450, 451, 462, 1000] {
                        let nr = nr | base;
                        let want = if decides(limits, arch.audit_arch(), nr) {
                            bpf::RET_ERRNO | ENOSYS
                        } else {
                            bpf::RET_ALLOW
                        };
                        assert_eq!(run(&prog, arch, nr), want, "{limits:?} {arch} {nr:#x}");
                    }
                }
            }
        }
        assert!(decides(sets[0], Arch::X86_64.audit_arch(), 462));
        assert!(!decides(sets[0], Arch::X86_64.audit_arch(), 449));
        assert!(!decides(
            sets[1],
            Arch::X86_64.audit_arch(),
            X32_SYSCALL_BIT | 462
        ));
        assert!(program(&[]).is_empty());
    }
}
