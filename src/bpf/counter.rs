//! The coverage counter: an eBPF program on `raw_syscalls:sys_enter` that counts
//! the calls of one cgroup's tasks by (kind, nr), and samples the values of a few
//! argument positions, for eperm to read while the workload runs and at its end.
//!
//! `sys_enter` fires after seccomp let a call through, so what is counted is
//! exactly the allowed calls. Per call the program:
//!
//! 1. leaves unless `bpf_get_current_cgroup_id()` is the workload's cgroup (the
//!    v2 cgroup eperm made for it) or, for containers, the cgroup at some level
//!    above it (`bpf_get_current_ancestor_cgroup_id`) is the parent eperm gave
//!    the runtime: children, threads and daemons are counted with no
//!    per-process bookkeeping;
//! 2. tells the call's kind: x32 carries bit 0x40000000 in `nr`; an ia32 call
//!    (`int 0x80`, or a 32-bit process) is marked `TS_COMPAT` in
//!    `task_struct.thread_info.status`, read at the offset this kernel's BTF
//!    gives (only when the profile lets ia32 calls run at all);
//! 3. puts calls of the bootstrap (a thread whose `comm` is still that of the
//!    process that spawned the workload — eperm, or runc's init) in a bank of
//!    their own, and drops those made before any seccomp filter was installed
//!    (`task_struct.seccomp.mode` is 0): they are not the profile's business
//!    (in a container, where the runtime's helpers run in the cgroup before any
//!    filter exists, nobody's calls before a filter count: [`Spec::filtered_only`]);
//! 4. when an (inlined) array lookup says the call is watched, adds one to
//!    `values[(slot, arg, value)]` for each of its watched arguments;
//! 5. adds one to this CPU's counter of (kind, nr) — or of the bootstrap's nr.
//!
//! Assembled here in Rust (see [`super::insn`]) and loaded with `bpf()`, so that
//! `cargo install` needs no clang nor a prebuilt object; the program is small and
//! generated per run (the cgroup id and the watched numbers are constants in it).
//! It is attached as a `tp_btf` program by default ([`Hook::Btf`]): it then
//! reads the task and `pt_regs` directly instead of through helper calls.

use super::btf;
use super::insn::{
    Alu, Asm, Cond, Helper, Insn, Label, Size, FP, R0, R1, R2, R3, R4, R6, R7, R8, R9,
};
use super::sys::{self, Map, MapType, ProgLoadError, ProgType};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::OwnedFd;

/// Native and ia32 numbers are below this (x86_64's and i386's tables end near 470).
const NRS: u32 = 512;
/// x32 numbers, without their bit, are below this (its own calls are 512–547).
const X32_NRS: u32 = 1024;
/// Where each kind's counters start in the one counters value; bootstrap calls
/// (native only: eperm's child, runc's init) last.
const IA32_BASE: u32 = NRS;
const X32_BASE: u32 = 2 * NRS;
const BOOTSTRAP_BASE: u32 = X32_BASE + X32_NRS;
/// Counters in all: 2560 u64, 20 KiB, one per-CPU value (a per-CPU array of one
/// element: one allocation and one lookup, where 2560 elements cost 2560 each).
const SLOTS: u32 = BOOTSTRAP_BASE + NRS;
const X32_BIT: i32 = 0x4000_0000;
/// `TS_COMPAT` in `thread_info.status` (arch/x86/include/asm/thread_info.h).
const TS_COMPAT: i32 = 0x0002;
/// At most this many distinct sampled (slot, arg, value) keys.
pub const MAX_SAMPLES: u32 = 4096;

/// Which syscall table a call's nr is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallTable {
    Native = 0,
    X32 = 1,
    Ia32 = 2,
}

impl CallTable {
    /// The counter of (kind, nr), if it has one.
    fn slot(self, nr: u32) -> Option<u32> {
        match self {
            CallTable::Native => (nr < NRS).then_some(nr),
            CallTable::Ia32 => (nr < NRS).then_some(IA32_BASE + nr),
            CallTable::X32 => (nr < X32_NRS).then_some(X32_BASE + nr),
        }
    }

    /// The (kind, nr) a workload counter (below `BOOTSTRAP_BASE`) counts.
    fn of_slot(slot: u32) -> (CallTable, u32) {
        if slot >= X32_BASE {
            (CallTable::X32, slot - X32_BASE)
        } else if slot >= IA32_BASE {
            (CallTable::Ia32, slot - IA32_BASE)
        } else {
            (CallTable::Native, slot)
        }
    }
}

/// How the program is attached to `sys_enter` (benches/coverage.rs measures each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// A `tp_btf` program (BTF-typed raw tracepoint): it reads `pt_regs` and the
    /// current task directly, where the others pay a `bpf_probe_read_kernel`
    /// (or `bpf_get_current_comm`) call each. The cheapest; needs no tracefs.
    Btf,
    /// `BPF_RAW_TRACEPOINT_OPEN "sys_enter"`: arguments read from `pt_regs` with
    /// `bpf_probe_read_kernel`.
    Raw,
    /// A perf event on the `raw_syscalls:sys_enter` tracepoint on each CPU; the
    /// kernel fills the trace record (with the arguments) before the program runs.
    Tracepoint,
}

/// Whose calls are counted: the tasks of one cgroup v2, or of every cgroup below one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Tasks in exactly this cgroup (its id, see [`cgroup_id`]).
    Cgroup(u64),
    /// Tasks in any cgroup below `id`, which sits `level` levels below the root
    /// (the root is level 0): a container runtime's cgroups, made under a parent
    /// eperm chose before their names were known.
    Below { id: u64, level: u32 },
}

/// What to count.
#[derive(Clone, Debug)]
pub struct Spec {
    pub scope: Scope,
    /// The spawner's `comm` (NUL-padded): calls made under it are bootstrap.
    pub bootstrap_comm: Option<[u8; 16]>,
    /// Drop the calls of every task with no seccomp filter yet, not only the
    /// bootstrap's (a container runtime's helpers share the container's cgroup).
    pub filtered_only: bool,
    /// Tell ia32 calls apart (the profile lets them run).
    pub ia32: bool,
    /// Argument positions to sample: (kind, nr, arg index).
    pub watched: Vec<(CallTable, u32, u8)>,
    pub hook: Hook,
}

/// One run's counts as read from the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// (kind, nr) → (calls of the workload, calls of its bootstrap).
    pub calls: BTreeMap<(CallTable, u32), (u64, u64)>,
    /// (kind, nr, arg, value) → calls seen with that value (workload only).
    pub values: BTreeMap<(CallTable, u32, u8, u64), u64>,
    /// The sample map was full: some values may be missing.
    pub values_full: bool,
}

/// The program, its maps and its attachment; detached when dropped.
pub struct Counter {
    counts: Map,
    values: Map,
    _watch: Map,
    _prog: OwnedFd,
    _links: Vec<OwnedFd>,
}

impl Hook {
    fn prog_type(self) -> ProgType {
        match self {
            Hook::Btf => ProgType::Tracing,
            Hook::Raw => ProgType::RawTracepoint,
            Hook::Tracepoint => ProgType::Tracepoint,
        }
    }
}

/// Why the counter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error("cannot {op}: {source}")]
    Os { op: &'static str, source: io::Error },
    #[error(transparent)]
    Load(#[from] ProgLoadError),
}

pub(super) fn os(op: &'static str) -> impl FnOnce(io::Error) -> CounterError {
    move |source| CounterError::Os { op, source }
}

/// Offsets of the syscall arguments in x86_64's `struct pt_regs` (di, si, dx,
/// r10, r8, r9) and, for ia32 calls, (bx, cx, dx, si, di, bp).
const NATIVE_REGS: [i32; 6] = [112, 104, 96, 56, 72, 64];
const IA32_REGS: [i32; 6] = [40, 88, 96, 104, 112, 32];

// The stack frame (offsets from r10).
const COMM: i16 = -16;
const SCRATCH: i16 = -24;
const KEY_SLOT: i16 = -40;
const KEY_ARG: i16 = -36;
const KEY_VALUE: i16 = -32;
const ONE: i16 = -48;
const SLOT: i16 = -56;

impl Counter {
    /// Creates the maps, loads the program and attaches it.
    pub fn attach(spec: &Spec) -> Result<Counter, CounterError> {
        let kernel = btf::kernel().map_err(os("read the kernel's BTF"))?;
        let counts = Map::create(
            MapType::PercpuArray,
            4,
            8 * SLOTS as usize,
            1,
            "eperm_counts",
        )
        .map_err(os("create the eBPF count map"))?;
        let values = Map::create(MapType::Hash, 16, 8, MAX_SAMPLES, "eperm_values")
            .map_err(os("create the eBPF sample map"))?;
        let watched = watched_slots(spec);
        // slot → 1 when some argument of it is sampled: one (inlined) array
        // lookup spares every other call the switch over watched slots (its
        // 40-odd compares cost find /usr 6% of its time).
        let watch = Map::create(MapType::Array, 4, 1, BOOTSTRAP_BASE, "eperm_watch")
            .map_err(os("create the eBPF watch map"))?;
        for &slot in watched.keys() {
            watch
                .update(&slot.to_ne_bytes(), &[1], 0)
                .map_err(os("fill the eBPF watch map"))?;
        }
        let maps = Maps {
            counts: raw_fd(&counts),
            values: raw_fd(&values),
            watch: raw_fd(&watch),
        };
        let insns = program(spec, &kernel, &maps, &watched);
        let btf_id = if spec.hook == Hook::Btf {
            kernel.sys_enter
        } else {
            0
        };
        let prog = sys::load(spec.hook.prog_type(), &insns, "eperm_cover", btf_id)?;
        let links = attach(&prog, spec.hook)?;
        Ok(Counter {
            counts,
            values,
            _watch: watch,
            _prog: prog,
            _links: links,
        })
    }

    /// Everything counted so far (safe to call while the workload runs).
    pub fn read(&self) -> io::Result<Counts> {
        let mut out = Counts::default();
        // One lookup: the counters value of each possible CPU, one after another.
        let mut all = vec![0u8; self.counts.lookup_len()];
        self.counts.lookup(&0u32.to_ne_bytes(), &mut all)?;
        let mut sums = vec![0u64; SLOTS as usize];
        for cpu in all.chunks_exact(8 * SLOTS as usize) {
            for (sum, c) in sums.iter_mut().zip(cpu.chunks_exact(8)) {
                *sum += u64::from_ne_bytes(c.try_into().expect("8 bytes"));
            }
        }
        for (slot, &sum) in (0..SLOTS).zip(&sums) {
            if sum == 0 {
                continue;
            }
            if slot >= BOOTSTRAP_BASE {
                let nr = slot - BOOTSTRAP_BASE;
                out.calls.entry((CallTable::Native, nr)).or_default().1 += sum;
            } else {
                out.calls.entry(CallTable::of_slot(slot)).or_default().0 += sum;
            }
        }
        let keys = self.values.keys()?;
        out.values_full = keys.len() >= MAX_SAMPLES as usize;
        let mut value = [0u8; 8];
        for key in keys {
            if !self.values.lookup(&key, &mut value)? {
                continue;
            }
            let word = |at: usize| u32::from_ne_bytes(key[at..at + 4].try_into().expect("4"));
            let slot = word(0);
            let arg = word(4) as u8;
            let v = u64::from_ne_bytes(key[8..16].try_into().expect("8 bytes"));
            let (kind, nr) = CallTable::of_slot(slot);
            out.values
                .insert((kind, nr, arg, v), u64::from_ne_bytes(value));
        }
        Ok(out)
    }
}

/// A do-nothing program on the same hook: the floor of what counting can cost
/// (benches/coverage.rs). Detached when the fds are dropped.
pub fn attach_empty(hook: Hook) -> Result<Vec<OwnedFd>, CounterError> {
    let mut a = Asm::new();
    a.mov_imm(R0, 0).exit();
    let btf_id = match hook {
        Hook::Btf => {
            btf::kernel()
                .map_err(os("read the kernel's BTF"))?
                .sys_enter
        }
        Hook::Raw | Hook::Tracepoint => 0,
    };
    let prog = sys::load(hook.prog_type(), &a.finish(), "eperm_empty", btf_id)?;
    let mut links = attach(&prog, hook)?;
    links.push(prog);
    Ok(links)
}

fn attach(prog: &OwnedFd, hook: Hook) -> Result<Vec<OwnedFd>, CounterError> {
    match hook {
        Hook::Btf => Ok(vec![sys::attach_raw_tracepoint(prog, None)
            .map_err(os("attach to the sys_enter BTF tracepoint"))?]),
        Hook::Raw => Ok(vec![sys::attach_raw_tracepoint(prog, Some("sys_enter"))
            .map_err(os("attach to the sys_enter raw tracepoint"))?]),
        Hook::Tracepoint => {
            let id = sys::tracepoint_id("raw_syscalls", "sys_enter")
                .map_err(os("find raw_syscalls:sys_enter in tracefs"))?;
            sys::attach_tracepoint(prog, id).map_err(os("attach to raw_syscalls:sys_enter"))
        }
    }
}

pub(super) fn raw_fd(map: &Map) -> i32 {
    use std::os::fd::AsRawFd;
    map.fd.as_raw_fd()
}

/// The fds of the program's maps, for relocation.
struct Maps {
    counts: i32,
    values: i32,
    watch: i32,
}

/// Watched slots with their (kind, argument) positions.
fn watched_slots(spec: &Spec) -> BTreeMap<u32, Vec<(CallTable, u8)>> {
    let mut by_slot: BTreeMap<u32, Vec<(CallTable, u8)>> = BTreeMap::new();
    for &(kind, nr, arg) in &spec.watched {
        if let Some(slot) = kind.slot(nr).filter(|_| arg < 6) {
            by_slot.entry(slot).or_default().push((kind, arg));
        }
    }
    by_slot
}

/// The counting program for `spec` (see the module's doc for what it does).
fn program(
    spec: &Spec,
    kernel: &btf::Kernel,
    maps: &Maps,
    watched: &BTreeMap<u32, Vec<(CallTable, u8)>>,
) -> Vec<Insn> {
    let mut a = Asm::new();
    let out = a.label();
    let count = a.label();
    // r6 = ctx; r7 = nr; r8 = the kind's base slot; r9 = the slot.
    a.mov_reg(R6, R1);
    leave_unless_in_scope(&mut a, spec, kernel, out);
    slot_of_call(&mut a, spec, kernel, out);
    if let Some(comm) = spec.bootstrap_comm {
        bootstrap_to_its_bank(&mut a, spec.hook, kernel, &comm, count, out);
    }
    if !watched.is_empty() {
        a.store(Size::W, FP, SLOT, R9);
        a.load_map(R1, maps.watch);
        a.mov_reg(R2, FP);
        a.alu_imm(Alu::Add, R2, SLOT as i32);
        a.call(Helper::MapLookupElem);
        a.jump_imm(Cond::Eq, R0, 0, count);
        a.load(Size::B, R1, R0, 0);
        a.jump_imm(Cond::Eq, R1, 0, count);
        sample(&mut a, spec.hook, watched, maps.values, count);
    }
    a.bind(count);
    a.store_imm(Size::W, FP, SLOT, 0);
    a.load_map(R1, maps.counts);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, SLOT as i32);
    a.call(Helper::MapLookupElem);
    a.jump_imm(Cond::Eq, R0, 0, out);
    // Already below SLOTS; said again for the verifier, which must see it.
    a.jump_imm(Cond::Ge, R9, SLOTS as i32, out);
    a.alu_imm(Alu::Lsh, R9, 3);
    a.alu_reg(Alu::Add, R0, R9);
    // Per-CPU and with preemption off in the syscall probes: no atomic needed.
    a.load(Size::DW, R1, R0, 0);
    a.alu_imm(Alu::Add, R1, 1);
    a.store(Size::DW, R0, 0, R1);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish()
}

/// To `out` unless the caller is in the counted cgroup (or below it) and,
/// when only filtered tasks count, under a seccomp filter.
fn leave_unless_in_scope(a: &mut Asm, spec: &Spec, kernel: &btf::Kernel, out: Label) {
    leave_unless_in(a, spec.scope, out);
    if spec.filtered_only {
        task_field(a, spec.hook, kernel.seccomp_mode);
        a.jump_imm(Cond::Eq, R1, 0, out);
    }
}

/// To `out` unless the caller is in `scope` (clobbers r0–r5).
pub(super) fn leave_unless_in(a: &mut Asm, scope: Scope, out: Label) {
    let id = match scope {
        Scope::Cgroup(id) => {
            a.call(Helper::GetCurrentCgroupId);
            id
        }
        Scope::Below { id, level } => {
            a.mov_imm(R1, level as i32);
            a.call(Helper::GetCurrentAncestorCgroupId);
            id
        }
    };
    a.load_imm64(R1, id);
    a.jump_reg(Cond::Ne, R0, R1, out);
}

/// r7 = the call's number, r8 = its kind's first slot (native, ia32, x32),
/// r9 = its slot; to `out` for a number outside the tables.
fn slot_of_call(a: &mut Asm, spec: &Spec, kernel: &btf::Kernel, out: Label) {
    // Both hooks have the nr at ctx + 8: the raw tracepoint's args[1], the trace
    // record's `id` after its 8-byte header.
    a.load(Size::DW, R7, R6, 8);
    a.mov_imm(R8, 0);
    let known = a.label();
    if cfg!(target_arch = "x86_64") {
        let x32 = a.label();
        a.jump_imm(Cond::Set, R7, X32_BIT, x32);
        if spec.ia32 {
            let native = a.label();
            task_field(a, spec.hook, kernel.thread_status);
            a.alu_imm(Alu::And, R1, TS_COMPAT);
            a.jump_imm(Cond::Eq, R1, 0, native);
            a.mov_imm(R8, IA32_BASE as i32);
            a.bind(native);
        }
        // Negative ids (-1 for a bad nr) are huge unsigned: out.
        a.jump_imm(Cond::Ge, R7, NRS as i32, out);
        a.jump(known);
        a.bind(x32);
        a.alu_imm(Alu::And, R7, !X32_BIT);
        a.jump_imm(Cond::Ge, R7, X32_NRS as i32, out);
        a.mov_imm(R8, X32_BASE as i32);
    } else {
        a.jump_imm(Cond::Ge, R7, NRS as i32, out);
    }
    a.bind(known);
    a.mov_reg(R9, R8);
    a.alu_reg(Alu::Add, R9, R7);
}

/// A native call by a task named `comm` (the runtime's init) counts in the
/// bootstrap bank, and not at all before its filter exists: to `count`, or
/// `out`; any other call falls through.
fn bootstrap_to_its_bank(
    a: &mut Asm,
    hook: Hook,
    kernel: &btf::Kernel,
    comm: &[u8; 16],
    count: Label,
    out: Label,
) {
    let workload = a.label();
    // The bootstrap makes native calls only.
    a.jump_imm(Cond::Ne, R8, 0, workload);
    // (base, offset) of the comm's two words: the task's own, or a copy.
    let base = if hook == Hook::Btf {
        a.call(Helper::GetCurrentTaskBtf);
        (R0, kernel.comm as i16)
    } else {
        a.mov_reg(R1, FP);
        a.alu_imm(Alu::Add, R1, COMM as i32);
        a.mov_imm(R2, 16);
        a.call(Helper::GetCurrentComm);
        (FP, COMM)
    };
    for i in [0usize, 8] {
        a.load(Size::DW, R1, base.0, base.1 + i as i16);
        a.load_imm64(
            R2,
            u64::from_ne_bytes(comm[i..i + 8].try_into().expect("8")),
        );
        a.jump_reg(Cond::Ne, R1, R2, workload);
    }
    // The bootstrap: nothing before a filter exists, the rest in bank 1.
    task_field(a, hook, kernel.seccomp_mode);
    a.jump_imm(Cond::Eq, R1, 0, out);
    a.alu_imm(Alu::Add, R9, BOOTSTRAP_BASE as i32);
    a.jump(count);
    a.bind(workload);
}

/// r1 = the u32 at `current + offset`: loaded directly from a BTF-typed task,
/// else copied with `bpf_probe_read_kernel` (zero on a fault).
fn task_field(a: &mut Asm, hook: Hook, offset: usize) {
    if hook == Hook::Btf {
        a.call(Helper::GetCurrentTaskBtf);
        a.load(Size::W, R1, R0, offset as i16);
        return;
    }
    a.call(Helper::GetCurrentTask);
    a.mov_reg(R3, R0);
    a.alu_imm(Alu::Add, R3, offset as i32);
    a.mov_reg(R1, FP);
    a.alu_imm(Alu::Add, R1, SCRATCH as i32);
    a.mov_imm(R2, 4);
    a.call(Helper::ProbeReadKernel);
    a.load(Size::W, R1, FP, SCRATCH);
}

/// For each watched slot: when r9 is it, count each watched argument's value.
fn sample(
    a: &mut Asm,
    hook: Hook,
    watched: &BTreeMap<u32, Vec<(CallTable, u8)>>,
    values: i32,
    done: Label,
) {
    for (&slot, args) in watched {
        let next = a.label();
        a.jump_imm(Cond::Ne, R9, slot as i32, next);
        for &(kind, arg) in args {
            a.store_imm(Size::DW, FP, KEY_VALUE, 0);
            let wide = if kind == CallTable::Ia32 {
                Size::W
            } else {
                Size::DW
            };
            let regs = if kind == CallTable::Ia32 {
                IA32_REGS
            } else {
                NATIVE_REGS
            };
            match hook {
                Hook::Btf => {
                    a.load(Size::DW, R3, R6, 0);
                    a.load(Size::DW, R1, R3, regs[arg as usize] as i16);
                    if wide == Size::W {
                        a.alu_imm(Alu::Lsh, R1, 32).alu_imm(Alu::Rsh, R1, 32);
                    }
                    a.store(Size::DW, FP, KEY_VALUE, R1);
                }
                Hook::Raw => {
                    let regs = if kind == CallTable::Ia32 {
                        IA32_REGS
                    } else {
                        NATIVE_REGS
                    };
                    a.load(Size::DW, R3, R6, 0);
                    a.alu_imm(Alu::Add, R3, regs[arg as usize]);
                    a.mov_reg(R1, FP);
                    a.alu_imm(Alu::Add, R1, KEY_VALUE as i32);
                    a.mov_imm(R2, if wide == Size::W { 4 } else { 8 });
                    a.call(Helper::ProbeReadKernel);
                }
                Hook::Tracepoint => {
                    a.load(wide, R1, R6, 16 + 8 * arg as i16);
                    a.store(Size::DW, FP, KEY_VALUE, R1);
                }
            }
            a.store(Size::W, FP, KEY_SLOT, R9);
            a.store_imm(Size::W, FP, KEY_ARG, arg as i32);
            add_one(a, values);
        }
        a.jump(done);
        a.bind(next);
    }
}

/// `values[key] += 1`, inserting the key when new (looked up again when another
/// CPU inserted it first).
fn add_one(a: &mut Asm, values: i32) {
    let (insert, done) = (a.label(), a.label());
    let lookup = |a: &mut Asm| {
        a.load_map(R1, values);
        a.mov_reg(R2, FP);
        a.alu_imm(Alu::Add, R2, KEY_SLOT as i32);
        a.call(Helper::MapLookupElem);
    };
    lookup(a);
    a.jump_imm(Cond::Eq, R0, 0, insert);
    a.mov_imm(R1, 1);
    a.atomic_add(R0, 0, R1);
    a.jump(done);
    a.bind(insert);
    a.store_imm(Size::DW, FP, ONE, 1);
    a.load_map(R1, values);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY_SLOT as i32);
    a.mov_reg(R3, FP);
    a.alu_imm(Alu::Add, R3, ONE as i32);
    a.mov_imm(R4, sys::NOEXIST as i32);
    a.call(Helper::MapUpdateElem);
    a.jump_imm(Cond::Eq, R0, 0, done);
    lookup(a);
    a.jump_imm(Cond::Eq, R0, 0, done);
    a.mov_imm(R1, 1);
    a.atomic_add(R0, 0, R1);
    a.bind(done);
}

/// The cgroup v2 id of a cgroup directory: its inode number.
pub fn cgroup_id(dir: &std::path::Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(dir)?.ino())
}

#[cfg(test)]
#[path = "counter/tests.rs"]
mod tests;
