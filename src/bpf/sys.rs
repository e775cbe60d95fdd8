//! The `bpf()` and `perf_event_open()` calls eperm needs, on plain fds: create
//! a map, load a program (the verifier's log kept for the error), read a map,
//! and attach a program to `raw_syscalls:sys_enter` — as a raw tracepoint
//! (`BPF_RAW_TRACEPOINT_OPEN`, no tracefs needed) or as a tracepoint through one
//! perf event per CPU (`PERF_EVENT_IOC_SET_BPF`).
//!
//! Only the leading fields of `union bpf_attr` each command reads are laid out;
//! the kernel accepts a shorter attr as long as what follows would be zero.

use super::insn::Insn;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const BPF_MAP_CREATE: libc::c_int = 0;
const BPF_MAP_LOOKUP_ELEM: libc::c_int = 1;
const BPF_MAP_UPDATE_ELEM: libc::c_int = 2;
const BPF_MAP_GET_NEXT_KEY: libc::c_int = 4;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM: libc::c_int = 21;
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_int = 17;
/// `BPF_TRACE_RAW_TP`: a tracing program attached as a BTF-typed raw tracepoint.
const BPF_TRACE_RAW_TP: u32 = 23;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
/// `BPF_CGROUP_DEVICE`, and `BPF_F_ALLOW_MULTI` (programs of the cgroups below
/// run too, and this one after them).
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// Map types (`enum bpf_map_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    Hash = 1,
    Array = 2,
    PercpuArray = 6,
    /// A hash that evicts its least recently used entries when full.
    LruHash = 9,
    /// FIFO of values, no keys (`bpf_map_push_elem` in, [`Map::pop`] out).
    Queue = 22,
}

/// Program types (`enum bpf_prog_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgType {
    Tracepoint = 5,
    RawTracepoint = 17,
    /// With `BPF_TRACE_RAW_TP`: a `tp_btf` program, whose context and helpers
    /// are typed by BTF, so that it may read kernel structs directly.
    Tracing = 26,
    /// Asked by the device cgroup (v2) about every device a task of the cgroup
    /// opens or makes.
    CgroupDevice = 15,
}

/// `BPF_NOEXIST`: create an element only if it is not there yet.
pub const NOEXIST: u64 = 1;

fn bpf<T>(cmd: libc::c_int, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised repr(C) struct of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd(r: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this new fd to us.
    unsafe { OwnedFd::from_raw_fd(r as RawFd) }
}

#[repr(C)]
#[derive(Default)]
struct MapCreate {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// A map: its fd and shape.
pub struct Map {
    pub fd: OwnedFd,
    pub key_size: usize,
    pub value_size: usize,
    /// Per-CPU maps hand out one value per possible CPU.
    pub per_cpu: bool,
}

fn name16(name: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (o, b) in out.iter_mut().zip(name.bytes().take(15)) {
        *o = b;
    }
    out
}

impl Map {
    pub fn create(
        kind: MapType,
        key_size: usize,
        value_size: usize,
        max_entries: u32,
        name: &str,
    ) -> io::Result<Map> {
        let mut attr = MapCreate {
            map_type: kind as u32,
            key_size: key_size as u32,
            value_size: value_size as u32,
            max_entries,
            map_name: name16(name),
            ..MapCreate::default()
        };
        let r = bpf(BPF_MAP_CREATE, &mut attr)?;
        Ok(Map {
            fd: fd(r),
            key_size,
            value_size,
            per_cpu: kind == MapType::PercpuArray,
        })
    }

    /// How many bytes one lookup fills: per-CPU maps give a value (rounded up to
    /// 8 bytes) for each possible CPU.
    pub fn lookup_len(&self) -> usize {
        if self.per_cpu {
            self.value_size.next_multiple_of(8) * possible_cpus()
        } else {
            self.value_size
        }
    }

    /// The value at `key` into `value` (`lookup_len` bytes); false when absent.
    pub fn lookup(&self, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
        assert_eq!(key.len(), self.key_size);
        assert_eq!(value.len(), self.lookup_len());
        let (key, value) = (key.as_ptr() as u64, value.as_mut_ptr() as u64);
        match self.elem(BPF_MAP_LOOKUP_ELEM, key, value, 0) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
        assert_eq!(key.len(), self.key_size);
        assert_eq!(value.len(), self.lookup_len());
        let (key, value) = (key.as_ptr() as u64, value.as_ptr() as u64);
        self.elem(BPF_MAP_UPDATE_ELEM, key, value, flags).map(drop)
    }

    /// An element command on this map; `key` and `value` are addresses, as
    /// `union bpf_attr` takes them.
    fn elem(&self, cmd: libc::c_int, key: u64, value: u64, flags: u64) -> io::Result<libc::c_long> {
        let mut attr = ElemAttr {
            map_fd: self.fd.as_raw_fd() as u32,
            pad: 0,
            key,
            value,
            flags,
        };
        bpf(cmd, &mut attr)
    }

    /// The oldest value of a queue map into `value`; false when it is empty.
    pub fn pop(&self, value: &mut [u8]) -> io::Result<bool> {
        assert_eq!(value.len(), self.value_size);
        let value = value.as_mut_ptr() as u64;
        match self.elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, 0, value, 0) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every key, in the kernel's order (a hash map's may change between calls).
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        let mut next = vec![0u8; self.key_size];
        let mut prev: Option<Vec<u8>> = None;
        loop {
            // NULL: the first key.
            let key = prev.as_ref().map_or(0, |k| k.as_ptr() as u64);
            match self.elem(BPF_MAP_GET_NEXT_KEY, key, next.as_mut_ptr() as u64, 0) {
                Ok(_) => {
                    keys.push(next.clone());
                    prev = Some(next.clone());
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(keys),
                Err(e) => return Err(e),
            }
        }
    }
}

#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    prog_btf_fd: u32,
    func_info_rec_size: u32,
    func_info: u64,
    func_info_cnt: u32,
    line_info_rec_size: u32,
    line_info: u64,
    line_info_cnt: u32,
    attach_btf_id: u32,
}

/// Why a program did not load: the errno, and the verifier's log when it wrote one.
#[derive(Debug, thiserror::Error)]
#[error("the kernel refused the eBPF program: {source}{}", log_suffix(.log))]
pub struct ProgLoadError {
    pub source: io::Error,
    pub log: String,
}

fn log_suffix(log: &str) -> String {
    if log.trim().is_empty() {
        String::new()
    } else {
        format!("\n  verifier log:\n{}", log.trim_end())
    }
}

/// Loads `insns` as a GPL program of type `kind` (a [`ProgType::Tracing`] one for
/// the vmlinux BTF type `attach_btf_id`); a refusal carries the verifier's log.
pub fn load(
    kind: ProgType,
    insns: &[Insn],
    name: &str,
    attach_btf_id: u32,
) -> Result<OwnedFd, ProgLoadError> {
    let attach = if kind == ProgType::Tracing {
        BPF_TRACE_RAW_TP
    } else {
        0
    };
    load_as(kind, attach, insns, name, attach_btf_id)
}

fn load_as(
    kind: ProgType,
    expected_attach_type: u32,
    insns: &[Insn],
    name: &str,
    attach_btf_id: u32,
) -> Result<OwnedFd, ProgLoadError> {
    let license = c"GPL";
    let attempt = |log: &mut [u8], level: u32| {
        let mut attr = ProgLoad {
            prog_type: kind as u32,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: level,
            log_size: log.len() as u32,
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            prog_name: name16(name),
            expected_attach_type,
            attach_btf_id,
            ..ProgLoad::default()
        };
        bpf(BPF_PROG_LOAD, &mut attr).map(fd)
    };
    // First without a log (faster); on a refusal again with one, for the error.
    attempt(&mut [], 0).or_else(|first| {
        let mut log = vec![0u8; 1 << 20];
        match attempt(&mut log, 1) {
            Ok(fd) => Ok(fd),
            Err(source) => {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]);
                // The end of the log says why; keep its last lines.
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(30)..].join("\n");
                Err(ProgLoadError {
                    source: if source.raw_os_error().is_some() {
                        source
                    } else {
                        first
                    },
                    log: tail,
                })
            }
        }
    })
}

#[repr(C)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

/// A [`ProgType::CgroupDevice`] program attached to a cgroup (among others:
/// `BPF_F_ALLOW_MULTI`); detached when dropped.
pub struct DeviceAttach {
    cgroup: OwnedFd,
    prog: OwnedFd,
}

/// Attaches `prog` to the cgroup v2 directory `cgroup`.
pub fn attach_device_program(cgroup: &std::path::Path, prog: OwnedFd) -> io::Result<DeviceAttach> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(cgroup)?;
    let mut attr = ProgAttach {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
    };
    bpf(BPF_PROG_ATTACH, &mut attr)?;
    Ok(DeviceAttach {
        cgroup: dir.into(),
        prog,
    })
}

impl Drop for DeviceAttach {
    fn drop(&mut self) {
        let mut attr = ProgAttach {
            target_fd: self.cgroup.as_raw_fd() as u32,
            attach_bpf_fd: self.prog.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            attach_flags: 0,
        };
        let _ = bpf(BPF_PROG_DETACH, &mut attr);
    }
}

#[repr(C)]
struct RawTpOpen {
    name: u64,
    prog_fd: u32,
    pad: u32,
}

/// Attaches a raw-tracepoint program to the tracepoint `name` (e.g. `sys_enter`;
/// `None` for a `tp_btf` program, which names its tracepoint at load); it stays
/// attached while the returned fd is open.
pub fn attach_raw_tracepoint(prog: &OwnedFd, name: Option<&str>) -> io::Result<OwnedFd> {
    let name = name
        .map(CString::new)
        .transpose()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut attr = RawTpOpen {
        name: name.as_ref().map_or(0, |n| n.as_ptr() as u64),
        prog_fd: prog.as_raw_fd() as u32,
        pad: 0,
    };
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr).map(fd)
}

/// The start of `struct perf_event_attr` (PERF_ATTR_SIZE_VER0 is 64 bytes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `_IOW('$', 8, __u32)`.
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

/// The id of the tracepoint `group/name`, from tracefs (or debugfs' copy of it).
pub fn tracepoint_id(group: &str, name: &str) -> io::Result<u64> {
    let mut last = io::Error::from(io::ErrorKind::NotFound);
    for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        match std::fs::read_to_string(format!("{root}/events/{group}/{name}/id")) {
            Ok(text) => {
                return text
                    .trim()
                    .parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Attaches a tracepoint program to tracepoint `id`; attached while the fd is open.
/// The program goes into the tracepoint's own program array, which runs on every
/// CPU's hit whichever CPU the event was opened on (a second event with the same
/// program is refused, EEXIST): one perf event, on the first online CPU.
pub fn attach_tracepoint(prog: &OwnedFd, id: u64) -> io::Result<Vec<OwnedFd>> {
    let mut events = Vec::new();
    for cpu in online_cpus()?.into_iter().take(1) {
        let mut attr = PerfEventAttr {
            kind: PERF_TYPE_TRACEPOINT,
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: id,
            sample_period: 1,
            ..PerfEventAttr::default()
        };
        // SAFETY: `attr` is a live, initialised struct of the size it states.
        let r = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &mut attr as *mut PerfEventAttr,
                -1 as libc::pid_t,
                cpu as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let event = fd(r);
        for (request, arg) in [
            (PERF_EVENT_IOC_SET_BPF, prog.as_raw_fd() as libc::c_ulong),
            (PERF_EVENT_IOC_ENABLE, 0),
        ] {
            // SAFETY: ioctls on our own perf event fd with integer arguments.
            if unsafe { libc::ioctl(event.as_raw_fd(), request, arg) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// CPUs in a list like `0-3,8`.
fn cpu_list(text: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
            cpus.extend(a..=b);
        }
    }
    cpus
}

fn online_cpus() -> io::Result<Vec<usize>> {
    Ok(cpu_list(&std::fs::read_to_string(
        "/sys/devices/system/cpu/online",
    )?))
}

/// How many values a per-CPU map hands out: one per possible CPU.
pub fn possible_cpus() -> usize {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .map(|t| cpu_list(&t))
        .and_then(|c| c.last().map(|&max| max + 1))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_lists_expand_ranges_and_singles() {
        assert_eq!(super::cpu_list("0-3,8\n"), vec![0, 1, 2, 3, 8]);
        assert_eq!(super::cpu_list("0\n"), vec![0]);
    }
}
