//! eBPF instructions and a tiny assembler with labels.
//!
//! The encoding is the kernel's `struct bpf_insn` (Documentation/bpf/standardization/
//! instruction-set.rst): one byte of opcode (class | size/op | mode/source), the
//! destination register in the low nibble of the next byte and the source in the
//! high one, a signed 16-bit offset and a signed 32-bit immediate. A 64-bit
//! immediate load takes two slots; a map is referenced by putting its fd in the
//! immediate with `src_reg = BPF_PSEUDO_MAP_FD`, which the kernel relocates at load.

/// One instruction, as the kernel reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// `dst | src << 4`.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

/// A register: r0 (return value), r1–r5 (arguments, clobbered by calls),
/// r6–r9 (kept across calls), r10 (the read-only frame pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(pub u8);

pub const R0: Reg = Reg(0);
pub const R1: Reg = Reg(1);
pub const R2: Reg = Reg(2);
pub const R3: Reg = Reg(3);
pub const R4: Reg = Reg(4);
pub const R6: Reg = Reg(6);
pub const R7: Reg = Reg(7);
pub const R8: Reg = Reg(8);
pub const R9: Reg = Reg(9);
pub const FP: Reg = Reg(10);

// Classes.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
// Modes.
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const ATOMIC: u8 = 0xc0;
// Sources.
const K: u8 = 0x00;
const X: u8 = 0x08;
const PSEUDO_MAP_FD: u8 = 1;

/// A load or store width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    W = 0x00,
    H = 0x08,
    B = 0x10,
    DW = 0x18,
}

/// 64-bit arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    Add = 0x00,
    Sub = 0x10,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Mov = 0xb0,
}

/// Conditional jumps (unsigned comparisons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Set = 0x40,
    Ne = 0x50,
}

/// Kernel helpers by number (include/uapi/linux/bpf.h, `___BPF_FUNC_MAPPER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    MapLookupElem = 1,
    MapUpdateElem = 2,
    MapDeleteElem = 3,
    GetCurrentPidTgid = 14,
    GetCurrentUidGid = 15,
    GetCurrentComm = 16,
    GetCurrentTask = 35,
    MapPushElem = 87,
    GetCurrentCgroupId = 80,
    ProbeReadKernel = 113,
    ProbeReadUserStr = 114,
    GetCurrentAncestorCgroupId = 123,
    GetCurrentTaskBtf = 158,
    TaskPtRegs = 175,
}

/// A place in the program a jump can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Builds a program; jumps name labels, resolved by [`Asm::finish`].
#[derive(Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    jumps: Vec<(usize, Label)>,
}

fn insn(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst.0 | (src.0 << 4),
        off,
        imm,
    }
}

impl Asm {
    pub fn new() -> Asm {
        Asm::default()
    }

    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// The next instruction is where `label` jumps to.
    pub fn bind(&mut self, label: Label) {
        assert!(self.labels[label.0].is_none(), "label bound twice");
        self.labels[label.0] = Some(self.insns.len());
    }

    pub fn alu_imm(&mut self, op: Alu, dst: Reg, imm: i32) -> &mut Asm {
        self.push(insn(ALU64 | op as u8 | K, dst, R0, 0, imm))
    }

    pub fn alu_reg(&mut self, op: Alu, dst: Reg, src: Reg) -> &mut Asm {
        self.push(insn(ALU64 | op as u8 | X, dst, src, 0, 0))
    }

    pub fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Asm {
        self.alu_imm(Alu::Mov, dst, imm)
    }

    pub fn mov_reg(&mut self, dst: Reg, src: Reg) -> &mut Asm {
        self.alu_reg(Alu::Mov, dst, src)
    }

    /// `dst = *(size *)(src + off)`.
    pub fn load(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> &mut Asm {
        self.push(insn(LDX | size as u8 | MEM, dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = src`.
    pub fn store(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Asm {
        self.push(insn(STX | size as u8 | MEM, dst, src, off, 0))
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn store_imm(&mut self, size: Size, dst: Reg, off: i16, imm: i32) -> &mut Asm {
        self.push(insn(ST | size as u8 | MEM, dst, R0, off, imm))
    }

    /// `lock *(u64 *)(dst + off) += src`.
    pub fn atomic_add(&mut self, dst: Reg, off: i16, src: Reg) -> &mut Asm {
        self.push(insn(STX | Size::DW as u8 | ATOMIC, dst, src, off, 0))
    }

    /// `dst = imm` for a full 64-bit constant (two slots).
    pub fn load_imm64(&mut self, dst: Reg, imm: u64) -> &mut Asm {
        self.push(insn(
            LD | Size::DW as u8 | IMM,
            dst,
            R0,
            0,
            imm as u32 as i32,
        ));
        self.push(insn(0, R0, R0, 0, (imm >> 32) as u32 as i32))
    }

    /// `dst = &map`: the kernel replaces the fd with the map at load time.
    pub fn load_map(&mut self, dst: Reg, map_fd: i32) -> &mut Asm {
        self.push(insn(
            LD | Size::DW as u8 | IMM,
            dst,
            Reg(PSEUDO_MAP_FD),
            0,
            map_fd,
        ));
        self.push(insn(0, R0, R0, 0, 0))
    }

    pub fn jump_imm(&mut self, cond: Cond, dst: Reg, imm: i32, to: Label) -> &mut Asm {
        self.jumps.push((self.insns.len(), to));
        self.push(insn(JMP | cond as u8 | K, dst, R0, 0, imm))
    }

    pub fn jump_reg(&mut self, cond: Cond, dst: Reg, src: Reg, to: Label) -> &mut Asm {
        self.jumps.push((self.insns.len(), to));
        self.push(insn(JMP | cond as u8 | X, dst, src, 0, 0))
    }

    pub fn jump(&mut self, to: Label) -> &mut Asm {
        self.jumps.push((self.insns.len(), to));
        self.push(insn(JMP, R0, R0, 0, 0))
    }

    pub fn call(&mut self, helper: Helper) -> &mut Asm {
        self.push(insn(JMP | 0x80, R0, R0, 0, helper as i32))
    }

    pub fn exit(&mut self) -> &mut Asm {
        self.push(insn(JMP | 0x90, R0, R0, 0, 0))
    }

    fn push(&mut self, i: Insn) -> &mut Asm {
        self.insns.push(i);
        self
    }

    /// The program, every jump resolved. An unbound label or a jump too far for
    /// 16 bits is a bug in the program's generator, so it panics.
    pub fn finish(mut self) -> Vec<Insn> {
        for &(at, label) in &self.jumps {
            let target = self.labels[label.0].expect("every label is bound");
            let off = target as isize - (at as isize + 1);
            self.insns[at].off = i16::try_from(off).expect("jump within 32k instructions");
        }
        self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_kernel_s_opcodes() {
        let mut a = Asm::new();
        a.mov_imm(R0, 0).exit();
        let p = a.finish();
        // BPF_ALU64 | BPF_MOV | BPF_K = 0xb7; BPF_JMP | BPF_EXIT = 0x95.
        assert_eq!(
            p[0],
            Insn {
                code: 0xb7,
                regs: 0,
                off: 0,
                imm: 0
            }
        );
        assert_eq!(p[1].code, 0x95);
        let mut a = Asm::new();
        a.load(Size::DW, R7, R6, 8)
            .store(Size::W, FP, -4, R1)
            .atomic_add(R0, 0, R1);
        let p = a.finish();
        assert_eq!((p[0].code, p[0].regs, p[0].off), (0x79, 0x67, 8));
        assert_eq!((p[1].code, p[1].regs, p[1].off), (0x63, 0x1a, -4));
        assert_eq!((p[2].code, p[2].regs, p[2].imm), (0xdb, 0x10, 0));
    }

    #[test]
    fn a_wide_immediate_takes_two_slots_and_a_map_is_marked_for_relocation() {
        let mut a = Asm::new();
        a.load_imm64(R1, 0x1122_3344_5566_7788).load_map(R2, 7);
        let p = a.finish();
        assert_eq!(p.len(), 4);
        assert_eq!(
            (p[0].code, p[0].imm as u32, p[1].imm as u32),
            (0x18, 0x5566_7788, 0x1122_3344)
        );
        assert_eq!((p[2].code, p[2].regs, p[2].imm), (0x18, 0x12, 7));
    }

    #[test]
    fn jumps_count_slots_after_themselves_forward_and_back() {
        let mut a = Asm::new();
        let (top, end) = (a.label(), a.label());
        a.bind(top);
        a.jump_imm(Cond::Eq, R1, 3, end); // 0
        a.load_imm64(R2, 1); // 1, 2
        a.jump(top); // 3
        a.bind(end);
        a.exit(); // 4
        let p = a.finish();
        assert_eq!(p[0].off, 3);
        assert_eq!(p[3].off, -4);
        assert_eq!(p[0].code, 0x15);
    }
}
