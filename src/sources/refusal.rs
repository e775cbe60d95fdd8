//! Calls of the workload that failed with EPERM or EACCES, as the layer watcher
//! ([`crate::bpf::refusals`]) saw them in the kernel, with what the caller and
//! the path it named are (read from /proc and the file system while the
//! process may still be there), and the layer [`crate::layer::classify`] names.
//!
//! Written as one JSON object per line to `--events`, beside the seccomp events
//! (`"source":"ebpf"`, with `layer` and its evidence).

use super::event::CallArch;
use crate::arch::Arch;
use crate::bpf::refusals::Refused;
use crate::layer::{self, Caller, Failure, Finding, PathFacts};
use crate::syscalls::signatures::{kinds, ArgKind};
use crate::untrusted::Untrusted;
use serde::ser::SerializeMap;
use serde::Serialize;

/// What the layer watcher tells the collector.
#[derive(Clone, Debug)]
pub enum Watch {
    /// It is attached: every EPERM/EACCES of the workload will be reported.
    Watching,
    /// It could not be attached, and why.
    NotWatched(String),
    Refused(Box<Refusal>),
    /// The kernel's queue was full: this many refusals were not reported.
    Lost(u64),
}

/// One failed call, and (once the collector joined it with the profile's
/// events) the layer that refused it.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub time_ms: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: Untrusted,
    pub arch: CallArch,
    pub syscall: String,
    pub nr: u32,
    pub failure: Failure,
    pub finding: Option<Finding>,
}

/// `AT_FDCWD`.
const AT_FDCWD: i32 = -100;
const X32_BIT: u32 = 0x4000_0000;

impl Refusal {
    /// The record with the facts only /proc still has (read now); `container`:
    /// the caller's paths are in its own root (`/proc/PID/root`), not the host's.
    pub fn of(raw: &Refused, time_ms: u64, own_filters: u32, container: bool) -> Refusal {
        let arch = if raw.ia32 {
            Arch::X86
        } else if raw.nr & X32_BIT != 0 {
            Arch::X32
        } else {
            Arch::native()
        };
        let nr = raw.nr & !X32_BIT;
        let syscall = arch
            .syscall_name(nr)
            .map_or_else(|| format!("nr_{nr}"), str::to_string);
        let failure = Failure {
            syscall: syscall.clone(),
            errno: raw.errno,
            failed_caps: raw.failed_caps,
            other_filters: raw.filters.map(|n| n.saturating_sub(own_filters)),
            profile: layer::Profile::Allows,
            // The record holds the native argument registers: an ia32 call's
            // are others (bx, cx, …), so its strings are not its arguments.
            path: (!raw.ia32)
                .then(|| path_facts(raw, arch, &syscall, container))
                .flatten(),
            caller: caller(raw.pid).or(Some(Caller {
                uid: raw.uid,
                gids: vec![raw.gid],
            })),
            lsm: None,
            landlocked: false,
            device: raw.device.map(device),
        };
        Refusal {
            time_ms,
            pid: raw.pid,
            tid: raw.tid,
            comm: Untrusted::new(raw.comm.clone()),
            arch: CallArch::Known(arch),
            syscall,
            nr,
            failure,
            finding: None,
        }
    }

    /// Names the layer, the profile's say on the same call given.
    pub fn classify(&mut self, profile: layer::Profile) {
        self.failure.profile = profile;
        self.finding = Some(layer::classify(&self.failure, &read_sysctl));
    }
}

/// The device cgroup's refusal, with the host's node of that device (its
/// `DEVNAME` in sysfs: the kernel's own name, not the caller's path).
fn device(d: crate::bpf::refusals::DeviceRefused) -> layer::Device {
    let kind = if d.block { "block" } else { "char" };
    let uevent = format!("/sys/dev/{kind}/{}:{}/uevent", d.major, d.minor);
    let host_path = std::fs::read_to_string(uevent).ok().and_then(|text| {
        let name = text.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
        Some(format!("/dev/{}", Untrusted::new(name.as_bytes().to_vec())))
    });
    layer::Device {
        block: d.block,
        major: d.major,
        minor: d.minor,
        access: d.access,
        host_path,
    }
}

/// A sysctl's value from /proc/sys (`kernel.yama.ptrace_scope`).
pub fn read_sysctl(name: &str) -> Option<i64> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The path argument of a path call, with its mode and owner (the last
/// component not followed; relative paths through the caller's cwd or dirfd).
fn path_facts(raw: &Refused, arch: Arch, syscall: &str, container: bool) -> Option<PathFacts> {
    let kinds = kinds(arch, syscall)?;
    let at = kinds.iter().take(2).position(|k| *k == ArgKind::Path)?;
    let bytes = &raw.strings[at];
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(bytes);
    let base = if text.starts_with('/') {
        if container {
            format!("/proc/{}/root", raw.pid)
        } else {
            String::new()
        }
    } else if at == 1 && kinds[0] == ArgKind::DirFd && raw.args[0] as i32 != AT_FDCWD {
        format!("/proc/{}/fd/{}/", raw.pid, raw.args[0] as i32)
    } else {
        format!("/proc/{}/cwd/", raw.pid)
    };
    let full = format!("{base}{text}");
    let ids = caller(raw.pid).map_or((raw.uid, vec![raw.gid]), |c| (c.uid, c.gids));
    // The directory the caller may not search, when one on the way refuses it;
    // else the path itself.
    let (shown, meta) = match blocking_dir(&full, base.len(), &ids) {
        Some((dir, meta)) => (dir.into_bytes(), Some(meta)),
        None => (bytes.clone(), std::fs::symlink_metadata(&full).ok()),
    };
    use std::os::unix::fs::MetadataExt;
    Some(PathFacts {
        path: Untrusted::new(shown).to_string(),
        mode: meta.as_ref().map(|m| m.mode()),
        uid: meta.as_ref().map(|m| m.uid()),
        gid: meta.as_ref().map(|m| m.gid()),
    })
}

/// The first directory on the way to `full` (past its first `skip` bytes, the
/// /proc prefix) whose mode does not let (uid, gids) search it.
fn blocking_dir(
    full: &str,
    skip: usize,
    (uid, gids): &(u32, Vec<u32>),
) -> Option<(String, std::fs::Metadata)> {
    use std::os::unix::fs::MetadataExt;
    let mut end = skip.max(1);
    while let Some(slash) = full[end..].find('/') {
        let dir = &full[..end + slash];
        end += slash + 1;
        let meta = std::fs::symlink_metadata(dir).ok()?;
        if !meta.is_dir() {
            return None;
        }
        let bit = if meta.uid() == *uid {
            0o100
        } else if gids.contains(&meta.gid()) {
            0o010
        } else {
            0o001
        };
        if meta.mode() & bit == 0 {
            return Some((dir[skip..].to_string(), meta));
        }
    }
    None
}

/// The caller's effective uid and groups, from /proc/PID/status.
fn caller(pid: u32) -> Option<Caller> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect::<Vec<u32>>()
        })
    };
    let uid = *field("Uid:")?.get(1)?;
    let mut gids = vec![*field("Gid:")?.get(1)?];
    gids.extend(field("Groups:").unwrap_or_default());
    gids.dedup();
    Some(Caller { uid, gids })
}

/// `--events`: the call, then `layer` and its evidence.
impl Serialize for Refusal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("time_ms", &self.time_ms)?;
        m.serialize_entry("source", "ebpf")?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("tid", &self.tid)?;
        m.serialize_entry("comm", &self.comm)?;
        m.serialize_entry("arch", &self.arch.to_string())?;
        m.serialize_entry("syscall", &self.syscall)?;
        m.serialize_entry("nr", &self.nr)?;
        m.serialize_entry("errno", &crate::errno::describe(self.failure.errno))?;
        if let Some(f) = &self.finding {
            serialize_finding(&mut m, f)?;
        }
        m.end()
    }
}

fn serialize_finding<M: SerializeMap>(m: &mut M, f: &Finding) -> Result<(), M::Error> {
    m.serialize_entry("layer", f.layer.word())?;
    if !f.capabilities.is_empty() {
        m.serialize_entry("capabilities", &f.capabilities)?;
    }
    if let Some(s) = &f.sysctl {
        m.serialize_entry(
            "sysctl",
            &serde_json::json!({"name": s.name, "value": s.value}),
        )?;
    }
    if let Some(p) = &f.path {
        let mut path = serde_json::json!({"path": p.path});
        if let (Some(mode), Some(uid), Some(gid)) = (p.mode, p.uid, p.gid) {
            path["mode"] = format!("{:04o}", mode & 0o7777).into();
            path["uid"] = uid.into();
            path["gid"] = gid.into();
        }
        m.serialize_entry("path", &path)?;
    }
    if let Some(r) = &f.lsm {
        m.serialize_entry(
            "lsm",
            &serde_json::json!({"lsm": r.lsm.to_string(), "operation": r.operation,
                "subject": r.subject, "object": r.object, "record": r.text}),
        )?;
    }
    if let Some(d) = &f.device {
        let mut device = serde_json::json!({"type": d.kind().to_string(), "major": d.major,
            "minor": d.minor, "access": d.access_letters()});
        if let Some(p) = &d.host_path {
            device["host_path"] = p.clone().into();
        }
        m.serialize_entry("device", &device)?;
    }
    if let Some(n) = f.other_filters {
        m.serialize_entry("other_filters", &n)?;
    }
    if f.also_seccomp {
        m.serialize_entry("also_seccomp", &true)?;
    }
    m.serialize_entry("evidence", &f.evidence)?;
    m.serialize_entry("fix", &f.fix)
}
