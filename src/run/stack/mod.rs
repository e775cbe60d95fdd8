//! The caller's user-space stack, taken while its thread is stopped anyway (in
//! the seccomp notification or the ptrace stop), named after the answer.
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
//! (`sources::memory::within`). Naming ([`Stacks::name`]) happens after the
//! answer, with each object's symbols and DWARF kept for the whole run.
//!
//! Limits, said plainly: in notify mode the thread is not ptrace-stopped, so
//! only its stack and instruction pointers are known (from
//! `/proc/TID/syscall`), not its frame pointer: a frame whose CFA is computed
//! from `%rbp` (e.g. after `alloca`) ends the walk there. Go binaries carry no
//! `.eh_frame`; they are unwound from `.debug_frame` when not built with `-w`,
//! and named from their symbol table and DWARF — Go's own `.gopclntab` is not
//! read, so a Go binary built with `-s -w` shows object+offset.

mod debug_file;
mod maps;
pub mod object;

use crate::sources::memory::{self, TraceeMemory};
use crate::sources::stack::Frame;
use crate::untrusted::Untrusted;
use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, FrameAddress, Module, Unwinder};
use maps::Mapping;
use object::{Bytes, Object};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most this many physical frames are walked.
pub const MAX_FRAMES: usize = 32;

/// How much of the stack above the stack pointer is copied: enough for 32
/// frames of ordinary C, Go or Rust code (a frame is tens to hundreds of bytes;
/// a large local array ends the walk early, not wrongly).
pub const STACK_WINDOW: u64 = 64 << 10;

/// How long reading one object may take (a large binary from a cold disk).
const OBJECT_DEADLINE: Duration = Duration::from_secs(2);

/// At most this many objects are kept; past it the cache starts again.
const MAX_OBJECTS: usize = 512;

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

#[derive(Clone)]
struct RawFrame {
    /// The object's path as the process maps it, or `[vdso]`, `[anon]`, …
    path: Untrusted,
    object: Option<Arc<Object>>,
    /// The address as the object states it (or the offset in the mapping).
    svma: u64,
    /// A return address (every frame but the first): named from the byte before.
    is_return: bool,
}

/// Which file a mapping shows, as the kernel says: its device and inode.
type Key = (String, u64);

/// The objects read so far, for every process of a run.
#[derive(Default)]
pub struct Stacks {
    objects: Mutex<HashMap<Key, Option<Arc<Object>>>>,
}

impl Stacks {
    pub fn new() -> Stacks {
        Stacks::default()
    }

    /// Takes the stack of thread `tid` of process `pid`, stopped at a system
    /// call with `regs`. `None` when its memory cannot be read in time.
    pub fn capture(&self, pid: u32, regs: Regs) -> Option<RawStack> {
        let (maps, window) = memory::within_deadline(move || read_process(pid, regs.sp))?;
        let maps = maps?;
        let modules = self.modules(pid, &maps);
        let mut unwinder: UnwinderX86_64<Bytes> = UnwinderX86_64::new();
        for (mapping, object, base) in &modules {
            unwinder.add_module(module(mapping, object, *base));
        }
        let addrs = walk(&unwinder, regs, &window);
        let frames = addrs
            .into_iter()
            .map(|(addr, is_return)| raw_frame(&maps, &modules, addr, is_return))
            .collect();
        Some(RawStack { frames })
    }

    /// Names a stack's frames; each physical frame gives one frame per inlined
    /// call in it, innermost first.
    pub fn name(&self, raw: &RawStack) -> Vec<Frame> {
        let mut out = Vec::new();
        for f in &raw.frames {
            let lookup = if f.is_return {
                f.svma.wrapping_sub(1)
            } else {
                f.svma
            };
            let named = match &f.object {
                Some(object) => {
                    let object = object.clone();
                    memory::within(OBJECT_DEADLINE, move || object.name(lookup)).unwrap_or_default()
                }
                None => Vec::new(),
            };
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
    fn modules(&self, pid: u32, maps: &[Mapping]) -> Vec<(Mapping, Arc<Object>, u64)> {
        let mut out = Vec::new();
        for m in maps.iter().filter(|m| m.exec && m.is_file()) {
            let Some(object) = self.object(pid, m) else {
                continue;
            };
            let Some(svma) = object.svma_of_offset(m.offset) else {
                continue;
            };
            out.push((m.clone(), object, m.start.wrapping_sub(svma)));
        }
        out
    }

    fn object(&self, pid: u32, m: &Mapping) -> Option<Arc<Object>> {
        let key = (m.dev.clone(), m.inode);
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = objects.get(&key) {
            return known.clone();
        }
        let path = m.map_file(pid);
        let object = memory::within(OBJECT_DEADLINE, move || Object::open(&path, pid))
            .flatten()
            .map(Arc::new);
        if objects.len() >= MAX_OBJECTS {
            objects.clear();
        }
        objects.insert(key, object.clone());
        object
    }
}

/// The process's mappings and a copy of its stack from `sp` up (to the end of
/// the mapping that holds it, at most [`STACK_WINDOW`]).
fn read_process(pid: u32, sp: u64) -> (Option<Vec<Mapping>>, Window) {
    let Some(maps) = maps::read(pid) else {
        return (None, Window::default());
    };
    let bytes = maps::containing(&maps, sp).and_then(|m| {
        let len = (m.end - sp).min(STACK_WINDOW) as usize;
        memory::ProcessMemory { pid }.read(sp, len)
    });
    let window = Window {
        start: sp,
        bytes: bytes.unwrap_or_default(),
    };
    (Some(maps), window)
}

/// A copy of part of a stack.
#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    fn word(&self, addr: u64) -> Result<u64, ()> {
        let at = usize::try_from(addr.checked_sub(self.start).ok_or(())?).map_err(|_| ())?;
        let bytes = self.bytes.get(at..at.checked_add(8).ok_or(())?).ok_or(())?;
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
/// addresses. A panic in the unwinder (hostile unwind info) ends the walk.
fn walk(unwinder: &UnwinderX86_64<Bytes>, regs: Regs, window: &Window) -> Vec<(u64, bool)> {
    let mut out = Vec::new();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut cache = CacheX86_64::new();
        let mut read = |addr: u64| window.word(addr);
        let start = UnwindRegsX86_64::new(regs.ip, regs.sp, regs.bp);
        let mut frames = unwinder.iter_frames(regs.ip, start, &mut cache, &mut read);
        while out.len() < MAX_FRAMES {
            match frames.next() {
                Ok(Some(FrameAddress::InstructionPointer(ip))) => out.push((ip, false)),
                Ok(Some(FrameAddress::ReturnAddress(ra))) => out.push((ra.get(), true)),
                Ok(None) | Err(_) => break,
            }
        }
    }));
    out
}

fn raw_frame(
    maps: &[Mapping],
    modules: &[(Mapping, Arc<Object>, u64)],
    addr: u64,
    is_return: bool,
) -> RawFrame {
    if let Some((m, object, base)) = modules
        .iter()
        .find(|(m, _, _)| m.start <= addr && addr < m.end)
    {
        return RawFrame {
            path: Untrusted::new(m.path.clone()),
            object: Some(object.clone()),
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
