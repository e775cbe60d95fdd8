//! The layer watcher: two eBPF programs that report the calls of one cgroup's
//! tasks that fail with EPERM or EACCES, each with the capability checks that
//! failed during that very call, for [`eperm_core::layer`] to name the layer.
//!
//! - on `capability:cap_capable` (a `tp_btf` program; the tracepoint is in
//!   `cap_capable()` itself, Linux 6.14, and carries the check's `ret`): a failed
//!   check of capability n sets bit n of `caps[tid]`, which also holds the call
//!   it was made in (its nr, and the caller's instruction and stack pointers at
//!   entry); a check in another call replaces the entry;
//! - on `raw_syscalls:sys_exit` (`tp_btf` too): a call that returned -EPERM or
//!   -EACCES takes `caps[tid]` when it is this call's (the entry of an earlier
//!   call that failed a check and succeeded is not carried over; only a
//!   repeat of the very same call, from the same place with the same stack,
//!   would look the same, and it makes the same checks again), and pushes a
//!   record onto a queue map: pid, tid, nr, the return value, the failed
//!   capabilities, whether it was an ia32 call, the task's seccomp filter count,
//!   the six argument registers, `comm`, the uid and gid, and the strings the first two arguments
//!   point to (a path is the first or the second argument; a number that is no
//!   pointer reads as empty). A successful `landlock_restrict_self` is recorded
//!   too, with errno 0: the process is Landlock-restricted from then on;
//! - for a container, a device cgroup program (`BPF_PROG_TYPE_CGROUP_DEVICE`,
//!   attached with `BPF_F_ALLOW_MULTI` to eperm's cgroup above it, so that it
//!   runs after the runtime's own, and never refuses anything itself): every
//!   device check of the container's tasks sets `devs[tid]` to the device's
//!   type, major:minor and access; `sys_exit` takes it into the record of a
//!   failed call. The verdict is not the program's to see (this kernel has no
//!   ftrace entries for an fexit on `devcgroup_check_permission`, a device
//!   program may not call `bpf_get_retval`, and a cgroup v1 device list is
//!   checked after the programs): the caller compares the device with the
//!   container's list.
//!
//! `sys_exit` fires also for calls seccomp refused (the filter's errno is the
//! return value), so eperm's own enforced denials come back here too and are
//! matched with its seccomp events by the caller. A task with no seccomp filter
//! yet is eperm's child before its exec: its calls are not recorded.

use super::btf;
use super::counter::{leave_unless_in, os, raw_fd, CounterError, Scope};
use super::insn::{
    Alu, Asm, Cond, Helper, Insn, Label, Size, FP, R0, R1, R2, R3, R4, R6, R7, R8, R9,
};
use super::sys::{self, Map, MapType, ProgType};
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

/// Records the queue holds before new ones are dropped (drained every 100 ms).
const QUEUE: u32 = 8192;
/// Threads whose failed checks are held at once.
const THREADS: u32 = 16384;
/// Bytes of each argument string kept.
pub const STR: usize = 128;
/// The record, as the program lays it out on its stack and pushes it.
const RECORD: usize = DEV + 16;
/// Where the strings start in the record.
const STRS: usize = 112;
/// Where the device cgroup's refusal is in the record (type, access, major,
/// minor: a u32 each; type 0 when there was none).
const DEV: usize = STRS + 2 * STR;
const TS_COMPAT: i32 = 0x0002;
const EPERM: i32 = 1;
const EACCES: i32 = 13;
/// `landlock_restrict_self` (the same number on every arch).
pub const LANDLOCK_RESTRICT_SELF: i32 = 446;
/// `pt_regs.orig_ax` and the argument registers (di, si, dx, r10, r8, r9).
const ORIG_AX: i16 = 120;
const ARG_REGS: [i16; 6] = [112, 104, 96, 56, 72, 64];

// The stack frame of the sys_exit program.
const KEY: i16 = -8;
const REC: i16 = -8 - RECORD as i16;

/// One failed call as the kernel recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub pid: u32,
    pub tid: u32,
    pub nr: u32,
    /// EPERM or EACCES; 0 for a successful `landlock_restrict_self`.
    pub errno: u32,
    /// Capabilities whose checks failed during the call: bit n is capability n.
    pub failed_caps: u64,
    pub ia32: bool,
    /// Seccomp filters on the task (`None`: this kernel does not say).
    pub filters: Option<u32>,
    pub args: [u64; 6],
    pub comm: Vec<u8>,
    /// The caller's uid and gid (real, as `bpf_get_current_uid_gid` gives them).
    pub uid: u32,
    pub gid: u32,
    /// The NUL-terminated strings at the first two arguments (empty: no string).
    pub strings: [Vec<u8>; 2],
    /// The device cgroup refused a device during the call.
    pub device: Option<DeviceRefused>,
}

/// A device the call asked the device cgroup for (the last one, when several).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRefused {
    /// A block device (else a character device).
    pub block: bool,
    pub major: u32,
    pub minor: u32,
    /// `BPF_DEVCG_ACC_*`: 1 mknod, 2 read, 4 write.
    pub access: u32,
}

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: u32 = 1;
const DEV_CHAR: u32 = 2;

/// The programs, their maps and attachments; detached when dropped.
pub struct Watcher {
    queue: Map,
    lost: Map,
    _caps: Map,
    _devs: Map,
    _progs: Vec<OwnedFd>,
    _links: Vec<OwnedFd>,
    _devices: Option<sys::DeviceAttach>,
    filter_count: bool,
    /// Why the device checks are not seen (`None`: they are).
    pub devices_unseen: Option<String>,
}

impl Watcher {
    /// Attaches both programs for the tasks in `scope`, and the device program
    /// to the cgroup v2 directory `devices` (a container's parent); an error
    /// says why the other layers cannot be watched (no BTF, an old kernel, no
    /// privilege).
    pub fn attach(scope: Scope, devices: Option<&Path>) -> Result<Watcher, CounterError> {
        let kernel = btf::kernel().map_err(os("read the kernel's BTF"))?;
        let missing = |what: &str| CounterError::Os {
            op: "find a tracepoint in the kernel's BTF",
            source: io::Error::new(io::ErrorKind::NotFound, what.to_string()),
        };
        let sys_exit = kernel.sys_exit.ok_or_else(|| missing("no sys_exit"))?;
        let cap_capable = kernel
            .cap_capable
            .ok_or_else(|| missing("no capability:cap_capable tracepoint (Linux < 6.14)"))?;
        let caps = Map::create(MapType::LruHash, 4, CAPS_VALUE, THREADS, "eperm_capfail")
            .map_err(os("create the eBPF capability map"))?;
        let queue = Map::create(MapType::Queue, 0, RECORD, QUEUE, "eperm_refused")
            .map_err(os("create the eBPF refusal queue"))?;
        let lost = Map::create(MapType::Array, 4, 8, 1, "eperm_lost")
            .map_err(os("create the eBPF lost-record counter"))?;
        let devs = Map::create(MapType::LruHash, 4, DEVS_VALUE, THREADS, "eperm_devfail")
            .map_err(os("create the eBPF device map"))?;
        let on_cap = sys::load(
            ProgType::Tracing,
            &cap_program(scope, raw_fd(&caps)),
            "eperm_capfail",
            cap_capable,
        )?;
        let on_exit = sys::load(
            ProgType::Tracing,
            &exit_program(
                scope,
                &kernel,
                (raw_fd(&caps), raw_fd(&devs)),
                (raw_fd(&queue), raw_fd(&lost)),
            ),
            "eperm_refused",
            sys_exit,
        )?;
        let mut links = Vec::new();
        for prog in [&on_cap, &on_exit] {
            links.push(
                sys::attach_raw_tracepoint(prog, None)
                    .map_err(os("attach the layer watcher's tracepoints"))?,
            );
        }
        // The device checks are a bonus: without them the rest stands.
        let (device_attach, devices_unseen) = match devices {
            None => (None, Some("not a container".to_string())),
            Some(dir) => match attach_devices(dir, raw_fd(&devs)) {
                Ok(attached) => (Some(attached), None),
                Err(why) => (None, Some(why)),
            },
        };
        Ok(Watcher {
            queue,
            lost,
            _caps: caps,
            _devs: devs,
            _progs: vec![on_cap, on_exit],
            _links: links,
            _devices: device_attach,
            filter_count: kernel.filter_count.is_some(),
            devices_unseen,
        })
    }

    /// Every record pushed since the last drain, oldest first.
    pub fn drain(&self) -> io::Result<Vec<Refused>> {
        let mut out = Vec::new();
        let mut raw = vec![0u8; RECORD];
        while self.queue.pop(&mut raw)? {
            out.push(self.parse(&raw));
        }
        Ok(out)
    }

    /// Records dropped so far because the queue was full.
    pub fn lost(&self) -> io::Result<u64> {
        let mut value = [0u8; 8];
        self.lost.lookup(&0u32.to_ne_bytes(), &mut value)?;
        Ok(u64::from_ne_bytes(value))
    }

    fn parse(&self, r: &[u8]) -> Refused {
        let u64_at = |at: usize| u64::from_ne_bytes(r[at..at + 8].try_into().expect("8"));
        let u32_at = |at: usize| u32::from_ne_bytes(r[at..at + 4].try_into().expect("4"));
        let cstr = |b: &[u8]| b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())].to_vec();
        let pid_tgid = u64_at(0);
        Refused {
            pid: (pid_tgid >> 32) as u32,
            tid: pid_tgid as u32,
            nr: u64_at(8) as u32,
            errno: (u64_at(16) as i64).unsigned_abs() as u32,
            failed_caps: u64_at(24),
            ia32: u32_at(32) != 0,
            filters: self.filter_count.then(|| u32_at(36)),
            args: std::array::from_fn(|i| u64_at(40 + 8 * i)),
            comm: cstr(&r[88..104]),
            uid: u32_at(104),
            gid: u32_at(108),
            strings: [cstr(&r[STRS..STRS + STR]), cstr(&r[STRS + STR..DEV])],
            device: match u32_at(DEV) {
                kind @ (DEV_BLOCK | DEV_CHAR) => Some(DeviceRefused {
                    block: kind == DEV_BLOCK,
                    access: u32_at(DEV + 4),
                    major: u32_at(DEV + 8),
                    minor: u32_at(DEV + 12),
                }),
                _ => None,
            },
        }
    }
}

/// The device program, loaded and attached to `dir`.
fn attach_devices(dir: &Path, devs: i32) -> Result<sys::DeviceAttach, String> {
    let prog = sys::load(
        ProgType::CgroupDevice,
        &dev_program(devs),
        "eperm_devices",
        0,
    )
    .map_err(|e| e.to_string())?;
    sys::attach_device_program(dir, prog)
        .map_err(|e| format!("attach a device program to {}: {e}", dir.display()))
}

/// The `devs` map's value: type, access, major and minor, a u32 each, as the
/// record holds them.
const DEVS_VALUE: usize = 16;

/// On a device check (`struct bpf_cgroup_dev_ctx`: `access_type` = type |
/// access << 16, major, minor): `devs[tid]` is set to the device. Allows it:
/// the verdict is the runtime's.
fn dev_program(devs: i32) -> Vec<Insn> {
    let mut a = Asm::new();
    let value = -8 - DEVS_VALUE as i16;
    a.mov_reg(R6, R1);
    a.load(Size::W, R7, R6, 0);
    a.mov_reg(R1, R7);
    a.alu_imm(Alu::And, R1, 0xffff);
    a.store(Size::W, FP, value, R1);
    a.alu_imm(Alu::Rsh, R7, 16);
    a.store(Size::W, FP, value + 4, R7);
    for at in [4, 8] {
        a.load(Size::W, R1, R6, at);
        a.store(Size::W, FP, value + 4 + at, R1);
    }
    a.call(Helper::GetCurrentPidTgid);
    a.store(Size::W, FP, KEY, R0);
    a.load_map(R1, devs);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.mov_reg(R3, FP);
    a.alu_imm(Alu::Add, R3, value as i32);
    a.mov_imm(R4, 0);
    a.call(Helper::MapUpdateElem);
    a.mov_imm(R0, 1);
    a.exit();
    a.finish()
}

/// The call a failed check belongs to: its nr and the caller's instruction and
/// stack pointers at entry (`pt_regs.orig_ax`, `ip`, `sp`).
const CALL_ID: [i16; 3] = [ORIG_AX, 128, 152];
/// The map's value: the failed capabilities, then the call's [`CALL_ID`].
const CAPS_VALUE: usize = 32;
// The cap_capable program's stack: the key, then a value.
const VALUE: i16 = -8 - CAPS_VALUE as i16;

/// On `cap_capable(cred, target_ns, capable_ns, cap, ret)`: a failed check of
/// capability `cap` sets its bit in `caps[tid]`, for the call in progress (an
/// entry of an earlier call is replaced, not added to).
fn cap_program(scope: Scope, caps: i32) -> Vec<Insn> {
    let mut a = Asm::new();
    let (out, replace) = (a.label(), a.label());
    a.mov_reg(R6, R1);
    // ret (an int in a u64 slot): 0 is a granted check.
    a.load(Size::DW, R1, R6, 32);
    a.alu_imm(Alu::Lsh, R1, 32);
    a.jump_imm(Cond::Eq, R1, 0, out);
    leave_unless_in(&mut a, scope, out);
    a.load(Size::DW, R7, R6, 24);
    a.alu_imm(Alu::Lsh, R7, 32).alu_imm(Alu::Rsh, R7, 32);
    a.jump_imm(Cond::Ge, R7, 64, out);
    a.mov_imm(R8, 1);
    a.alu_reg(Alu::Lsh, R8, R7);
    a.call(Helper::GetCurrentPidTgid);
    a.store(Size::W, FP, KEY, R0);
    // The value this check would write: its bit and the call's identity.
    a.store(Size::DW, FP, VALUE, R8);
    a.call(Helper::GetCurrentTaskBtf);
    a.mov_reg(R1, R0);
    a.call(Helper::TaskPtRegs);
    for (i, at) in CALL_ID.iter().enumerate() {
        a.load(Size::DW, R1, R0, *at);
        a.store(Size::DW, FP, VALUE + 8 + 8 * i as i16, R1);
    }
    a.load_map(R1, caps);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapLookupElem);
    a.jump_imm(Cond::Eq, R0, 0, replace);
    for i in 0..CALL_ID.len() as i16 {
        a.load(Size::DW, R1, R0, 8 + 8 * i);
        a.load(Size::DW, R2, FP, VALUE + 8 + 8 * i);
        a.jump_reg(Cond::Ne, R1, R2, replace);
    }
    // The same call: only this thread writes its own entry, no atomic needed.
    a.load(Size::DW, R1, R0, 0);
    a.alu_reg(Alu::Or, R1, R8);
    a.store(Size::DW, R0, 0, R1);
    a.jump(out);
    a.bind(replace);
    a.load_map(R1, caps);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.mov_reg(R3, FP);
    a.alu_imm(Alu::Add, R3, VALUE as i32);
    a.mov_imm(R4, 0);
    a.call(Helper::MapUpdateElem);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish()
}

/// A do-nothing program on `sys_exit`, where the watcher's is: the floor of
/// what watching can cost (benches/layers.sh). Detached when the fds are dropped.
pub fn attach_empty_exit() -> Result<Vec<OwnedFd>, CounterError> {
    let kernel = btf::kernel().map_err(os("read the kernel's BTF"))?;
    let Some(btf_id) = kernel.sys_exit else {
        return Err(os("find sys_exit in the kernel's BTF")(
            io::ErrorKind::NotFound.into(),
        ));
    };
    let mut a = Asm::new();
    a.mov_imm(R0, 0).exit();
    let prog = sys::load(ProgType::Tracing, &a.finish(), "eperm_empty", btf_id)?;
    let link = sys::attach_raw_tracepoint(&prog, None).map_err(os("attach to sys_exit"))?;
    Ok(vec![link, prog])
}

/// On `sys_exit(regs, ret)`: a call that returned -EPERM or -EACCES is recorded
/// with the failed checks of that very call (see the module's doc). Every other
/// call leaves after a few loads and compares, with no helper call: that is
/// what almost every call costs.
fn exit_program(
    scope: Scope,
    kernel: &btf::Kernel,
    (caps, devs): (i32, i32),
    maps: (i32, i32),
) -> Vec<Insn> {
    let mut a = Asm::new();
    let (out, failed, no_caps) = (a.label(), a.label(), a.label());
    a.mov_reg(R6, R1);
    a.load(Size::DW, R1, R6, 8);
    a.jump_imm(Cond::Eq, R1, -EPERM, failed);
    a.jump_imm(Cond::Eq, R1, -EACCES, failed);
    // A successful landlock_restrict_self is recorded too (with errno 0): later
    // refusals of that process may be Landlock's.
    a.jump_imm(Cond::Ne, R1, 0, out);
    a.load(Size::DW, R1, R6, 0);
    a.load(Size::DW, R1, R1, ORIG_AX);
    a.jump_imm(Cond::Ne, R1, LANDLOCK_RESTRICT_SELF, out);
    a.bind(failed);
    leave_unless_in(&mut a, scope, out);
    a.call(Helper::GetCurrentPidTgid);
    a.mov_reg(R7, R0);
    a.store(Size::W, FP, KEY, R7);
    a.mov_imm(R9, 0);
    a.load_map(R1, caps);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapLookupElem);
    a.jump_imm(Cond::Eq, R0, 0, no_caps);
    // The failed checks count only when made during this very call.
    let (other_call, take) = (a.label(), a.label());
    a.load(Size::DW, R8, R6, 0);
    for (i, at) in CALL_ID.iter().enumerate() {
        a.load(Size::DW, R1, R0, 8 + 8 * i as i16);
        a.load(Size::DW, R2, R8, *at);
        a.jump_reg(Cond::Ne, R1, R2, other_call);
    }
    a.jump(take);
    a.bind(other_call);
    a.mov_imm(R0, 0);
    a.bind(take);
    let delete = a.label();
    a.jump_imm(Cond::Eq, R0, 0, delete);
    a.load(Size::DW, R9, R0, 0);
    a.bind(delete);
    a.load_map(R1, caps);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapDeleteElem);
    a.bind(no_caps);
    join_device(&mut a, devs);
    record(&mut a, kernel, maps, out);
    a.bind(out);
    a.mov_imm(R0, 0);
    a.exit();
    a.finish()
}

/// Puts the device this call asked for (from `devs[tid]`, the key at `KEY`)
/// into the record's device slot, zeros when there was none, and deletes the
/// entry. Keeps r6, r7, r9.
fn join_device(a: &mut Asm, devs: i32) {
    let done = a.label();
    let slot = REC + DEV as i16;
    a.store_imm(Size::DW, FP, slot, 0);
    a.store_imm(Size::DW, FP, slot + 8, 0);
    a.load_map(R1, devs);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapLookupElem);
    a.jump_imm(Cond::Eq, R0, 0, done);
    for half in [0, 8] {
        a.load(Size::DW, R1, R0, half);
        a.store(Size::DW, FP, slot + half, R1);
    }
    a.load_map(R1, devs);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapDeleteElem);
    a.bind(done);
}

/// Pushes the record of this call (r6 = ctx, r7 = pid_tgid, r9 = failed caps);
/// to `out` first for a task with no filter yet (eperm's child before its exec).
fn record(a: &mut Asm, kernel: &btf::Kernel, (queue, lost): (i32, i32), out: Label) {
    a.call(Helper::GetCurrentTaskBtf);
    a.load(Size::W, R1, R0, kernel.seccomp_mode as i16);
    a.jump_imm(Cond::Eq, R1, 0, out);
    a.store(Size::DW, FP, REC, R7);
    a.load(Size::DW, R8, R6, 0);
    a.load(Size::DW, R1, R8, ORIG_AX);
    a.store(Size::DW, FP, REC + 8, R1);
    a.load(Size::DW, R1, R6, 8);
    a.store(Size::DW, FP, REC + 16, R1);
    a.store(Size::DW, FP, REC + 24, R9);
    a.load(Size::W, R1, R0, kernel.thread_status as i16);
    a.alu_imm(Alu::And, R1, TS_COMPAT);
    a.store(Size::W, FP, REC + 32, R1);
    match kernel.filter_count {
        Some(at) => {
            a.load(Size::W, R1, R0, at as i16);
            a.store(Size::W, FP, REC + 36, R1);
        }
        None => {
            a.store_imm(Size::W, FP, REC + 36, 0);
        }
    }
    for (i, reg) in ARG_REGS.iter().enumerate() {
        a.load(Size::DW, R1, R8, *reg);
        a.store(Size::DW, FP, REC + 40 + 8 * i as i16, R1);
    }
    a.mov_reg(R1, FP);
    a.alu_imm(Alu::Add, R1, (REC + 88) as i32);
    a.mov_imm(R2, 16);
    a.call(Helper::GetCurrentComm);
    a.call(Helper::GetCurrentUidGid);
    a.store(Size::DW, FP, REC + 104, R0);
    for (i, at) in [STRS as i16, (STRS + STR) as i16].into_iter().enumerate() {
        a.mov_reg(R1, FP);
        a.alu_imm(Alu::Add, R1, (REC + at) as i32);
        a.mov_imm(R2, STR as i32);
        a.load(Size::DW, R3, FP, REC + 40 + 8 * i as i16);
        a.call(Helper::ProbeReadUserStr);
    }
    a.load_map(R1, queue);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, REC as i32);
    a.mov_imm(R3, 0);
    a.call(Helper::MapPushElem);
    // A full queue: the record is lost, and counted.
    a.jump_imm(Cond::Eq, R0, 0, out);
    a.store_imm(Size::W, FP, KEY, 0);
    a.load_map(R1, lost);
    a.mov_reg(R2, FP);
    a.alu_imm(Alu::Add, R2, KEY as i32);
    a.call(Helper::MapLookupElem);
    a.jump_imm(Cond::Eq, R0, 0, out);
    a.mov_imm(R1, 1);
    a.atomic_add(R0, 0, R1);
}

#[cfg(test)]
#[path = "refusals/tests.rs"]
mod tests;
