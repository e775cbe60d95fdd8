//! The caller's user-space stack, taken while its thread is stopped anyway (in
//! the seccomp notification or the ptrace stop), named by the events' receiver.
//!
//! Crates: `framehop` unwinds (x86_64 and aarch64 rules from `.eh_frame`,
//! `.debug_frame` and instruction analysis of prologues and epilogues, with
//! frame pointers only as a fallback), `addr2line` over `gimli` names frames
//! from DWARF (inlined calls included), `object` reads ELF. All are pure Rust
//! and maintained by the gimli-rs and Firefox profiler people; they share one
//! `gimli`, so the cost to build is one DWARF parser. `blazesym` does both jobs
//! too, but brings far more code to build on two cores, and its Go support
//! would not change what is below.
//!
//! What is taken, while the caller waits (see [`Stacks::capture`]): the
//! process's `/proc/PID/maps`, a window of at most [`STACK_WINDOW`] bytes of
//! the stack above the stack pointer, and — once per object — each mapped
//! object, read through `/proc/PID/map_files` (the file the process really
//! maps, in a container its image's, never a path the workload names). Reads
//! of the workload run on reader threads with a deadline
//! (`sources::memory::within`). Naming ([`Stacks::name`]) happens on the side
//! that receives the events, not the supervisor's (see [`Unnamed`]), with each
//! object's symbols and DWARF kept for the whole run.
//!
//! Limits, said plainly: in notify mode the thread is not ptrace-stopped, so
//! only its stack and instruction pointers are known (from
//! `/proc/TID/syscall`), not its frame pointer: a frame whose CFA is computed
//! from `%rbp` (e.g. after `alloca`) ends the walk there. Go binaries carry no
//! `.eh_frame`; Go code is unwound from Go's own `.gopclntab` (each pc's frame
//! size, no frame pointer needed) and named from DWARF when it has some, else
//! from `.gopclntab` (kept by `-s -w` builds), see [`gopclntab`].

mod debug_file;
mod gopclntab;
mod maps;
pub mod object;

use crate::sources::memory::{self, TraceeMemory};
use crate::sources::stack::Frame;
use crate::untrusted::Untrusted;
use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use maps::Mapping;
use object::{Bytes, Named, Object};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most this many physical frames are walked.
pub const MAX_FRAMES: usize = 32;

/// How much of the stack above the stack pointer is copied at most: enough for
/// 32 frames of ordinary C, Go or Rust code (a frame is tens to hundreds of
/// bytes; a large local array ends the walk early, not wrongly). A first read
/// takes [`FIRST_WINDOW`]; a walk that runs off its end reads this much.
pub const STACK_WINDOW: u64 = 64 << 10;
const FIRST_WINDOW: u64 = 8 << 10;

/// How long a process's mappings (and the unwinder made from them) are reused
/// before `/proc/PID/maps` is read again. A frame outside every mapping known
/// (a library loaded since) makes it read again at once.
const MAPS_TTL: Duration = Duration::from_millis(250);

/// How long reading one object may take (a large binary from a cold disk).
const OBJECT_DEADLINE: Duration = Duration::from_secs(2);

/// At most this many objects, processes and named addresses are kept; past
/// it, that cache starts again.
const MAX_OBJECTS: usize = 512;
const MAX_PROCESSES: usize = 256;
const MAX_NAMES: usize = 1 << 16;

/// Every call of a (process, syscall) gets its stack up to this many; past it,
/// one in [`SAMPLE_EVERY`]: each stack is a hand-off to a reader thread while
/// the caller waits, so a workload that floods eperm with one denied call would
/// otherwise pay for its stacks ~1.6× (1000 then 1 in 32, benches/stacks.rs
/// on a quiet machine; 1.3× now), and a call site making more than ~2% of
/// the calls still shows, with counts from the calls whose stack was taken.
pub const ALL_UP_TO: u64 = 256;
pub const SAMPLE_EVERY: u64 = 64;

/// The registers an unwind starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regs {
    pub ip: u64,
    pub sp: u64,
    /// The frame pointer, when known (ptrace); 0 otherwise.
    pub bp: u64,
}

/// A stack as taken: addresses, with the object each falls in.
#[derive(Clone, Default)]
pub struct RawStack {
    frames: Vec<RawFrame>,
}

impl RawStack {
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// A stack taken for an event and not named yet: what a supervisor sends with
/// the event (`run::EventSender::send_with_stack`). The receiver names it
/// (`run::EventReceiver`) before anyone reads the event's `stack`, on its own
/// thread: naming a first-seen object parses its symbols and DWARF (up to
/// [`OBJECT_DEADLINE`]), and the supervisor, whose caller's next call waits
/// for it, only captures. Meanwhile the workload runs on and its events wait
/// in the run's bounded queue (dropped and counted past it, as for any
/// consumer that falls behind), where they used to hold the workload up.
pub struct Unnamed {
    stacks: Arc<Stacks>,
    raw: RawStack,
}

impl Unnamed {
    /// `raw`, to be named by `stacks` (where it was taken, and its names kept).
    pub fn new(stacks: Arc<Stacks>, raw: RawStack) -> Unnamed {
        Unnamed { stacks, raw }
    }

    /// Its frames, named: see [`Stacks::name`].
    pub fn name(&self) -> Vec<Frame> {
        self.stacks.name(&self.raw)
    }
}

#[derive(Clone)]
struct RawFrame {
    /// The object's path as the process maps it, or `[vdso]`, `[anon]`, …
    path: Untrusted,
    object: Option<(Key, Arc<Object>)>,
    /// The address as the object states it (or the offset in the mapping).
    svma: u64,
    /// A return address (every frame but the first): named from the byte before.
    is_return: bool,
}

/// Which file a mapping shows, as the kernel says: its device and inode.
type Key = (String, u64);

type Modules = Vec<(Mapping, Key, Arc<Object>, u64)>;

/// What is kept of one process between its calls: its mappings, and the
/// unwinder made from them with its cache of unwind rules.
struct Process {
    maps: Vec<Mapping>,
    modules: Modules,
    unwinder: UnwinderX86_64<Bytes>,
    cache: CacheX86_64,
    read_at: Instant,
}

/// The objects read so far, for every process of a run, and what was learnt
/// from them.
#[derive(Default)]
pub struct Stacks {
    objects: Mutex<HashMap<Key, Option<Arc<Object>>>>,
    processes: Mutex<HashMap<u32, Process>>,
    names: Mutex<HashMap<(Key, u64), Vec<Named>>>,
    /// Calls seen per (process, syscall), for sampling floods.
    calls: Mutex<HashMap<(u32, u32), u64>>,
}

impl Stacks {
    pub fn new() -> Stacks {
        Stacks::default()
    }

    /// Should this call of `nr` by `pid` get its stack? Every one up to
    /// [`ALL_UP_TO`], then one in [`SAMPLE_EVERY`].
    pub fn wanted(&self, pid: u32, nr: u32) -> bool {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() >= MAX_PROCESSES * 16 {
            calls.clear();
        }
        let n = calls.entry((pid, nr)).or_default();
        *n += 1;
        *n <= ALL_UP_TO || *n % SAMPLE_EVERY == 0
    }

    /// Takes the stack of thread `tid` of process `pid`, stopped at a system
    /// call with `regs`. `None` when its memory cannot be read in time.
    pub fn capture(&self, pid: u32, regs: Regs) -> Option<RawStack> {
        let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = processes
            .get(&pid)
            .is_some_and(|p| p.read_at.elapsed() < MAPS_TTL);
        let mut window = if fresh {
            let end = processes
                .get(&pid)
                .and_then(|p| maps::containing(&p.maps, regs.sp))
                .map(|m| m.end);
            memory::within_deadline(move || read_window(pid, regs.sp, FIRST_WINDOW, end))?
        } else {
            let (maps, window) = memory::within_deadline(move || read_process(pid, regs.sp))?;
            let process = self.process(pid, maps?);
            if processes.len() >= MAX_PROCESSES {
                processes.clear();
            }
            processes.insert(pid, process);
            window
        };
        let process = processes.get_mut(&pid)?;
        let mut addrs = walk(process, regs, &window);
        if addrs.len() < MAX_FRAMES && window.ran_off.get() {
            // The walk needed more of the stack than the first read took.
            let end = maps::containing(&process.maps, regs.sp).map(|m| m.end);
            window = memory::within_deadline(move || read_window(pid, regs.sp, STACK_WINDOW, end))?;
            addrs = walk(process, regs, &window);
        }
        if fresh && addrs.iter().any(|&(a, _)| !covered(&process.modules, a)) {
            // A frame in code loaded since the mappings were read: read them again.
            processes.remove(&pid);
            drop(processes);
            return self.capture(pid, regs);
        }
        let frames = addrs
            .into_iter()
            .map(|(addr, is_return)| raw_frame(&process.maps, &process.modules, addr, is_return))
            .collect();
        Some(RawStack { frames })
    }

    /// Drops what is kept of process `pid`'s mappings: it execs (or is gone).
    pub fn forget(&self, pid: u32) {
        let mut processes = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        processes.remove(&pid);
    }

    fn process(&self, pid: u32, maps: Vec<Mapping>) -> Process {
        let modules = self.modules(pid, &maps);
        let mut unwinder: UnwinderX86_64<Bytes> = UnwinderX86_64::new();
        for (mapping, _, object, base) in &modules {
            unwinder.add_module(module(mapping, object, *base));
        }
        Process {
            maps,
            modules,
            unwinder,
            cache: CacheX86_64::new(),
            read_at: Instant::now(),
        }
    }

    /// Names a stack's frames; each physical frame gives one frame per inlined
    /// call in it, innermost first. Addresses named before are not looked up
    /// again; the others are, together, on a reader thread with a deadline,
    /// the cache unlocked meanwhile: the supervisor locks it too (a held call's
    /// prompt, a cache started again), and must not wait for the receiver.
    pub fn name(&self, raw: &RawStack) -> Vec<Frame> {
        let lookup = |f: &RawFrame| {
            if f.is_return {
                f.svma.wrapping_sub(1)
            } else {
                f.svma
            }
        };
        let lock = || self.names.lock().unwrap_or_else(|e| e.into_inner());
        // Each frame's names where known; the others, by frame, to look up.
        let mut named: Vec<Vec<Named>> = Vec::with_capacity(raw.frames.len());
        let mut unknown: Vec<(usize, Key, Arc<Object>, u64)> = Vec::new();
        {
            let names = lock();
            for (i, f) in raw.frames.iter().enumerate() {
                let Some((key, object)) = &f.object else {
                    named.push(Vec::new());
                    continue;
                };
                let at = lookup(f);
                match names.get(&(key.clone(), at)) {
                    Some(known) => named.push(known.clone()),
                    None => {
                        unknown.push((i, key.clone(), object.clone(), at));
                        named.push(Vec::new());
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let found = memory::within(OBJECT_DEADLINE, move || {
                unknown
                    .into_iter()
                    .map(|(i, key, object, at)| (i, (key, at), object.name(at)))
                    .collect::<Vec<_>>()
            });
            let mut names = lock();
            if names.len() >= MAX_NAMES {
                names.clear();
            }
            for (i, key, found) in found.unwrap_or_default() {
                named[i].clone_from(&found);
                names.insert(key, found);
            }
        }
        let mut out = Vec::new();
        for (f, named) in raw.frames.iter().zip(named) {
            if named.is_empty() {
                out.push(Frame {
                    function: None,
                    object: f.path.clone(),
                    offset: f.svma,
                    file: None,
                    line: None,
                });
            }
            for n in named {
                out.push(Frame {
                    function: n.function.map(Untrusted::new),
                    object: f.path.clone(),
                    offset: f.svma,
                    file: n.file.map(Untrusted::new),
                    line: n.line,
                });
            }
        }
        out
    }

    /// The executable file mappings with their objects (read now if new) and
    /// the address each object's stated address 0 lands at.
    fn modules(&self, pid: u32, maps: &[Mapping]) -> Modules {
        let mut out = Vec::new();
        for m in maps.iter().filter(|m| m.exec && m.is_file()) {
            let key = (m.dev.clone(), m.inode);
            let Some(object) = self.object(pid, m, &key) else {
                continue;
            };
            let Some(svma) = object.svma_of_offset(m.offset) else {
                continue;
            };
            out.push((m.clone(), key, object, m.start.wrapping_sub(svma)));
        }
        out
    }

    fn object(&self, pid: u32, m: &Mapping, key: &Key) -> Option<Arc<Object>> {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = objects.get(key) {
            return known.clone();
        }
        let path = m.map_file(pid);
        let object = memory::within(OBJECT_DEADLINE, move || Object::open(&path, pid))
            .flatten()
            .map(Arc::new);
        if objects.len() >= MAX_OBJECTS {
            objects.clear();
            self.names.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
        objects.insert(key.clone(), object.clone());
        object
    }
}

/// Is `addr` in one of the executable mappings an unwinder was made from?
fn covered(modules: &Modules, addr: u64) -> bool {
    modules
        .iter()
        .any(|(m, ..)| m.start <= addr && addr < m.end)
}

/// The process's mappings and a copy of its stack from `sp` up (to the end of
/// the mapping that holds it, at most [`STACK_WINDOW`]).
fn read_process(pid: u32, sp: u64) -> (Option<Vec<Mapping>>, Window) {
    let Some(maps) = maps::read(pid) else {
        return (None, Window::default());
    };
    let end = maps::containing(&maps, sp).map(|m| m.end);
    let window = read_window(pid, sp, FIRST_WINDOW, end);
    (Some(maps), window)
}

/// Up to `len` bytes of the stack from `sp`, not past `end` (the end of the
/// mapping that holds it; `None`: not known, the first page only).
fn read_window(pid: u32, sp: u64, len: u64, end: Option<u64>) -> Window {
    let end = end.unwrap_or((sp | 0xfff) + 1);
    let len = end.saturating_sub(sp).min(len) as usize;
    Window {
        start: sp,
        bytes: memory::ProcessMemory { pid }
            .read(sp, len)
            .unwrap_or_default(),
        ran_off: std::cell::Cell::new(false),
    }
}

/// A copy of part of a stack.
#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
    /// The walk asked for a word past the end of the copy.
    ran_off: std::cell::Cell<bool>,
}

impl Window {
    fn word(&self, addr: u64) -> Result<u64, ()> {
        let at = usize::try_from(addr.checked_sub(self.start).ok_or(())?).map_err(|_| ())?;
        let end = at.checked_add(8).ok_or(())?;
        let Some(bytes) = self.bytes.get(at..end) else {
            self.ran_off.set(true);
            return Err(());
        };
        Ok(u64::from_le_bytes(bytes.try_into().map_err(|_| ())?))
    }
}

fn module(m: &Mapping, object: &Object, base: u64) -> Module<Bytes> {
    let info = ExplicitModuleSectionInfo {
        base_svma: 0,
        text_svma: object.text.svma.clone(),
        text: object.text.data.clone(),
        got_svma: object.got.clone(),
        eh_frame_svma: object.eh_frame.svma.clone(),
        eh_frame: object.eh_frame.data.clone(),
        eh_frame_hdr_svma: object.eh_frame_hdr.svma.clone(),
        eh_frame_hdr: object.eh_frame_hdr.data.clone(),
        debug_frame: object.debug_frame.clone(),
        ..Default::default()
    };
    let name = Untrusted::new(m.path.clone()).to_string();
    Module::new(name, m.start..m.end, base, info)
}

/// The frames' addresses, innermost first: the call's own, then return
/// addresses. Go code is unwound from Go's own tables, the rest by framehop;
/// a panic in either (hostile unwind info) ends the walk.
fn walk(process: &mut Process, regs: Regs, window: &Window) -> Vec<(u64, bool)> {
    let mut out = vec![(regs.ip, false)];
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut read = |addr: u64| window.word(addr);
        let mut regs = UnwindRegsX86_64::new(regs.ip, regs.sp, regs.bp);
        let mut address = FrameAddress::InstructionPointer(regs.ip());
        while out.len() < MAX_FRAMES {
            let next = match go_step(&process.modules, address, &mut regs, window) {
                Some(next) => next,
                None => process
                    .unwinder
                    .unwind_frame(address, &mut regs, &mut process.cache, &mut read)
                    .map_err(|_| ()),
            };
            let Ok(Some(ra)) = next else { break };
            let Some(at) = FrameAddress::from_return_address(ra) else {
                break;
            };
            address = at;
            out.push((ra, true));
        }
    }));
    out
}

/// One frame of Go code up, from its size in Go's `pcsp` table: the return
/// address lies just above the frame. `None`: `address` is not in Go code
/// these tables know (framehop's turn); `Ok(None)`: the stack's outermost
/// Go frame.
fn go_step(
    modules: &Modules,
    address: FrameAddress,
    regs: &mut UnwindRegsX86_64,
    window: &Window,
) -> Option<Result<Option<u64>, ()>> {
    let at = address.address_for_lookup();
    let (_, _, object, base) = modules.iter().find(|(m, ..)| m.start <= at && at < m.end)?;
    let go = object.go.as_ref()?;
    let pc = at.wrapping_sub(*base);
    let size = go.frame_size(pc)?;
    if go.is_outermost(pc) {
        return Some(Ok(None));
    }
    let Some(slot) = regs.sp().checked_add(size) else {
        return Some(Err(()));
    };
    let ra = match window.word(slot) {
        Ok(ra) => ra,
        Err(()) => return Some(Err(())),
    };
    // A Go frame that has one saved its caller's frame pointer just below the
    // return address: kept for C code further up (cgo).
    if size >= 8 {
        if let Ok(bp) = window.word(slot - 8) {
            regs.set_bp(bp);
        }
    }
    let Some(sp) = slot.checked_add(8) else {
        return Some(Err(()));
    };
    regs.set_sp(sp);
    regs.set_ip(ra);
    Some(Ok(Some(ra)))
}

fn raw_frame(maps: &[Mapping], modules: &Modules, addr: u64, is_return: bool) -> RawFrame {
    if let Some((m, key, object, base)) = modules
        .iter()
        .find(|(m, ..)| m.start <= addr && addr < m.end)
    {
        return RawFrame {
            path: Untrusted::new(m.path.clone()),
            object: Some((key.clone(), object.clone())),
            svma: addr.wrapping_sub(*base),
            is_return,
        };
    }
    let (path, svma) = match maps::containing(maps, addr) {
        Some(m) if !m.path.is_empty() => (m.path.clone(), addr - m.start + m.offset),
        Some(m) => (b"[anon]".to_vec(), addr - m.start),
        None => (b"[unmapped]".to_vec(), addr),
    };
    RawFrame {
        path: Untrusted::new(path),
        object: None,
        svma,
        is_return,
    }
}

/// The stack and instruction pointers of a thread blocked in a system call,
/// from `/proc/TID/syscall` (`NR ARG1..ARG6 SP PC`, in hex); what notify mode
/// has, since its caller is not ptrace-stopped.
pub fn blocked_regs(tid: u32) -> Option<Regs> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/syscall")).ok()?;
    parse_syscall_file(&text)
}

/// [`blocked_regs`] through `/proc/TID/syscall` opened once: a read at offset 0
/// renders it afresh (a seq_file), one syscall where opening it costs four (about
/// 3 µs against 10 here), and the file stays bound to the thread it was opened for
/// (ESRCH once that thread is gone, never a reused tid's). `Err` when the read fails.
pub fn blocked_regs_in(file: &std::fs::File) -> std::io::Result<Option<Regs>> {
    use std::os::unix::fs::FileExt;
    // "NR" and 8 hex words of at most 18 characters: under 180 bytes.
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, 0)?;
    Ok(std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(parse_syscall_file))
}

fn parse_syscall_file(text: &str) -> Option<Regs> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 9 {
        return None; // "running", or "-1 SP PC" when not in a system call
    }
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    Some(Regs {
        sp: hex(fields[7])?,
        ip: hex(fields[8])?,
        bp: 0,
    })
}

#[cfg(test)]
mod tests;
