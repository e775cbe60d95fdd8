//! Classic BPF as seccomp uses it: the instruction record, the opcodes we emit,
//! seccomp's action words, and an emulator that runs a program on one syscall.

/// `struct sock_filter`, laid out as the kernel reads it.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl SockFilter {
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }
}

// Instruction classes and fields (linux/filter.h, linux/bpf_common.h).
pub const BPF_LD: u16 = 0x00;
pub const BPF_ALU: u16 = 0x04;
pub const BPF_JMP: u16 = 0x05;
pub const BPF_RET: u16 = 0x06;
pub const BPF_W: u16 = 0x00;
pub const BPF_ABS: u16 = 0x20;
pub const BPF_AND: u16 = 0x50;
pub const BPF_JA: u16 = 0x00;
pub const BPF_JEQ: u16 = 0x10;
pub const BPF_JGT: u16 = 0x20;
pub const BPF_JGE: u16 = 0x30;
pub const BPF_JSET: u16 = 0x40;
pub const BPF_K: u16 = 0x00;

pub const LD_ABS: u16 = BPF_LD | BPF_W | BPF_ABS;
pub const AND_K: u16 = BPF_ALU | BPF_AND | BPF_K;
pub const JA: u16 = BPF_JMP | BPF_JA;
pub const JEQ_K: u16 = BPF_JMP | BPF_JEQ | BPF_K;
pub const JGT_K: u16 = BPF_JMP | BPF_JGT | BPF_K;
pub const JGE_K: u16 = BPF_JMP | BPF_JGE | BPF_K;
pub const JSET_K: u16 = BPF_JMP | BPF_JSET | BPF_K;
pub const RET_K: u16 = BPF_RET | BPF_K;

/// `BPF_MAXINSNS`: the kernel refuses longer programs.
pub const MAX_INSNS: usize = 4096;

// Offsets in `struct seccomp_data`.
pub const OFF_NR: u32 = 0;
pub const OFF_ARCH: u32 = 4;
pub const OFF_IP: u32 = 8;
pub const OFF_ARGS: u32 = 16;
pub const SECCOMP_DATA_LEN: u32 = 64;

// Action words (linux/seccomp.h).
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
pub const RET_DATA: u32 = 0x0000_ffff;

/// `struct seccomp_data`: what the kernel hands the filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeccompData {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl SeccompData {
    /// A call as the kernel hands it to the filter: `nr` on `arch` with `args`
    /// (the instruction pointer, which no eperm filter reads, is 0).
    pub fn call(arch: crate::arch::Arch, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch: arch.audit_arch(),
            ip: 0,
            args,
        }
    }

    /// The 32-bit word at `off`. seccomp_data is in the order of the arch that made
    /// the call: the high half of a 64-bit field comes first on big-endian arches
    /// (AUDIT_ARCH without `__AUDIT_ARCH_LE`).
    pub fn word(&self, off: u32) -> Option<u32> {
        let big_endian = self.arch & 0x4000_0000 == 0;
        if off % 4 != 0 || off >= SECCOMP_DATA_LEN {
            return None;
        }
        Some(match off {
            OFF_NR => self.nr,
            OFF_ARCH => self.arch,
            8 | 12 if (off == 8) != big_endian => self.ip as u32,
            8 | 12 => (self.ip >> 32) as u32,
            _ => {
                let i = ((off - OFF_ARGS) / 8) as usize;
                let v = self.args[i];
                if ((off - OFF_ARGS) % 8 == 0) != big_endian {
                    v as u32
                } else {
                    (v >> 32) as u32
                }
            }
        })
    }
}

/// Why a program cannot be run (the kernel's checker would refuse it too).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProgram {
    #[error("empty program")]
    Empty,
    #[error("{0} instructions, more than the kernel's limit of 4096")]
    TooLong(usize),
    #[error("instruction {0}: jump out of the program")]
    JumpOutOfRange(usize),
    #[error("instruction {0}: unsupported opcode {1:#06x}")]
    BadOpcode(usize, u16),
    #[error("instruction {0}: load outside seccomp_data or unaligned (offset {1})")]
    BadLoad(usize, u32),
    #[error("the last instruction is not a return")]
    NoFinalRet,
}

/// Checks what the kernel's `seccomp_check_filter` checks for the opcodes we know.
pub fn validate(prog: &[SockFilter]) -> Result<(), InvalidProgram> {
    if prog.is_empty() {
        return Err(InvalidProgram::Empty);
    }
    if prog.len() > MAX_INSNS {
        return Err(InvalidProgram::TooLong(prog.len()));
    }
    let len = prog.len();
    for (pc, ins) in prog.iter().enumerate() {
        let in_range = |off: usize| pc + 1 + off < len;
        match ins.code {
            LD_ABS => {
                if ins.k % 4 != 0 || ins.k >= SECCOMP_DATA_LEN {
                    return Err(InvalidProgram::BadLoad(pc, ins.k));
                }
            }
            AND_K | RET_K => {}
            JA => {
                if !in_range(ins.k as usize) {
                    return Err(InvalidProgram::JumpOutOfRange(pc));
                }
            }
            JEQ_K | JGT_K | JGE_K | JSET_K => {
                if !in_range(ins.jt as usize) || !in_range(ins.jf as usize) {
                    return Err(InvalidProgram::JumpOutOfRange(pc));
                }
            }
            code => return Err(InvalidProgram::BadOpcode(pc, code)),
        }
    }
    if prog[len - 1].code != RET_K {
        return Err(InvalidProgram::NoFinalRet);
    }
    Ok(())
}

/// The result of running a program: the action word and how many instructions ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub action: u32,
    pub executed: usize,
    /// Did any executed instruction read `ip` or an argument?
    pub read_args: bool,
}

/// Runs a validated program. Panics on programs [`validate`] rejects.
pub fn run(prog: &[SockFilter], data: &SeccompData) -> (u32, usize) {
    let r = run_traced(prog, data);
    (r.action, r.executed)
}

/// [`run`], also reporting whether the path read anything but `nr` and `arch`.
pub fn run_traced(prog: &[SockFilter], data: &SeccompData) -> Run {
    let mut acc: u32 = 0;
    let mut pc = 0usize;
    let mut executed = 0usize;
    let mut read_args = false;
    loop {
        let ins = prog[pc];
        executed += 1;
        pc += 1;
        match ins.code {
            LD_ABS => {
                if ins.k != OFF_NR && ins.k != OFF_ARCH {
                    read_args = true;
                }
                acc = data.word(ins.k).expect("validated load");
            }
            AND_K => acc &= ins.k,
            JA => pc += ins.k as usize,
            JEQ_K | JGT_K | JGE_K | JSET_K => {
                let taken = match ins.code {
                    JEQ_K => acc == ins.k,
                    JGT_K => acc > ins.k,
                    JGE_K => acc >= ins.k,
                    _ => acc & ins.k != 0,
                };
                pc += if taken { ins.jt } else { ins.jf } as usize;
            }
            RET_K => {
                return Run {
                    action: ins.k,
                    executed,
                    read_args,
                }
            }
            code => panic!("unvalidated program: opcode {code:#06x}"),
        }
    }
}

/// Raw `struct sock_filter` records, 8 bytes each, little-endian.
pub fn to_bytes(prog: &[SockFilter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for ins in prog {
        out.extend_from_slice(&ins.code.to_le_bytes());
        out.push(ins.jt);
        out.push(ins.jf);
        out.extend_from_slice(&ins.k.to_le_bytes());
    }
    out
}

/// The inverse of [`to_bytes`]; `None` if the length is not a multiple of 8.
pub fn from_bytes(bytes: &[u8]) -> Option<Vec<SockFilter>> {
    if bytes.len() % 8 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect(),
    )
}

/// `ERRNO(EPERM)`, `ALLOW`, `TRACE(7)`, …
pub fn action_name(word: u32) -> String {
    let data = word & RET_DATA;
    match word & RET_ACTION_FULL {
        RET_KILL_PROCESS => "KILL_PROCESS".into(),
        RET_KILL_THREAD => "KILL_THREAD".into(),
        RET_TRAP => "TRAP".into(),
        RET_ERRNO => format!("ERRNO({})", crate::errno::describe(data)),
        RET_USER_NOTIF => "USER_NOTIF".into(),
        RET_TRACE => format!("TRACE({data})"),
        RET_LOG => "LOG".into(),
        RET_ALLOW => "ALLOW".into(),
        _ => format!("{word:#010x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(nr: u32, arch: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch,
            ip: 0,
            args,
        }
    }

    #[test]
    fn runs_hand_written_programs() {
        // if arch != 0xC000003E kill; if nr == 59 errno(1); if args[0] hi == 1 trap; allow
        let prog = [
            SockFilter::new(LD_ABS, 0, 0, OFF_ARCH),
            SockFilter::new(JEQ_K, 1, 0, 0xC000_003E),
            SockFilter::new(RET_K, 0, 0, RET_KILL_PROCESS),
            SockFilter::new(LD_ABS, 0, 0, OFF_NR),
            SockFilter::new(JEQ_K, 0, 1, 59),
            SockFilter::new(RET_K, 0, 0, RET_ERRNO | 1),
            SockFilter::new(LD_ABS, 0, 0, OFF_ARGS + 4),
            SockFilter::new(AND_K, 0, 0, 0xff),
            SockFilter::new(JEQ_K, 0, 1, 1),
            SockFilter::new(RET_K, 0, 0, RET_TRAP),
            SockFilter::new(JA, 0, 0, 1),
            SockFilter::new(RET_K, 0, 0, RET_KILL_THREAD),
            SockFilter::new(RET_K, 0, 0, RET_ALLOW),
        ];
        validate(&prog).unwrap();
        assert_eq!(run(&prog, &data(0, 3, [0; 6])), (RET_KILL_PROCESS, 3));
        assert_eq!(
            run(&prog, &data(59, 0xC000_003E, [0; 6])),
            (RET_ERRNO | 1, 5)
        );
        let r = run_traced(&prog, &data(1, 0xC000_003E, [0x1_0000_0000, 0, 0, 0, 0, 0]));
        assert_eq!((r.action, r.executed, r.read_args), (RET_TRAP, 8, true));
        assert_eq!(
            run(&prog, &data(1, 0xC000_003E, [0x2_0000_0001, 0, 0, 0, 0, 0])).0,
            RET_ALLOW
        );
    }

    #[test]
    fn jset_jgt_jge_compare_unsigned() {
        let prog = [
            SockFilter::new(LD_ABS, 0, 0, OFF_NR),
            SockFilter::new(JSET_K, 0, 1, 0x8000_0000),
            SockFilter::new(RET_K, 0, 0, 1),
            SockFilter::new(JGT_K, 0, 1, 10),
            SockFilter::new(RET_K, 0, 0, 2),
            SockFilter::new(JGE_K, 0, 1, 10),
            SockFilter::new(RET_K, 0, 0, 3),
            SockFilter::new(RET_K, 0, 0, 4),
        ];
        validate(&prog).unwrap();
        let nr = |nr| run(&prog, &data(nr, 0, [0; 6])).0;
        assert_eq!([nr(0xffff_ffff), nr(11), nr(10), nr(9)], [1, 2, 3, 4]);
    }

    #[test]
    fn validate_rejects_bad_programs() {
        let ret = SockFilter::new(RET_K, 0, 0, 0);
        assert_eq!(validate(&[]), Err(InvalidProgram::Empty));
        assert_eq!(
            validate(&[SockFilter::new(JEQ_K, 1, 0, 0), ret]),
            Err(InvalidProgram::JumpOutOfRange(0))
        );
        assert_eq!(
            validate(&[SockFilter::new(LD_ABS, 0, 0, 64), ret]),
            Err(InvalidProgram::BadLoad(0, 64))
        );
        assert_eq!(
            validate(&[ret, SockFilter::new(LD_ABS, 0, 0, 0)]),
            Err(InvalidProgram::NoFinalRet)
        );
        assert_eq!(
            validate(&vec![ret; 4097]),
            Err(InvalidProgram::TooLong(4097))
        );
        assert_eq!(from_bytes(&to_bytes(&[ret])), Some(vec![ret]));
    }
}
