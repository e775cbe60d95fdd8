//! Which layer refused a call that failed with EPERM or EACCES, from what the
//! kernel showed of that very call, and the fix for that layer.
//!
//! The binary watches the workload's failed calls in the kernel (eBPF on
//! `sys_exit`, joined per thread with the capability checks that failed during
//! the call) and hands each one here as a [`Failure`]; [`classify`] names the
//! layer. It never guesses: with no evidence the answer is
//! [`Layer::Unknown`], "not seccomp; no layer identified".
//!
//! The order of the tests follows where each layer sits on the call's path:
//! seccomp refuses before the call runs; an LSM record names its own refusal;
//! so does the device cgroup's failed check (made after the file modes and
//! the capability to mknod were granted); another seccomp filter refuses before any capability is checked; a shut
//! sysctl gate explains a failed capability check better than the capability;
//! DAC-only failures on a path call are file modes; any other failed
//! capability is the capability.

pub mod lsm;

use crate::caps;
use std::fmt;

/// A layer that refuses calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// The profile (eperm's filter).
    Seccomp,
    /// A seccomp filter the process installed itself.
    SeccompOther,
    Capability,
    /// File modes and owners (only DAC capability checks failed on a path call).
    Permissions,
    /// AppArmor, SELinux or Landlock.
    Lsm,
    /// A container's device cgroup.
    Devices,
    /// A sysctl that gates the call is shut.
    Sysctl,
    /// None of the above was seen.
    Unknown,
}

impl Layer {
    /// The JSON word: `seccomp`, `seccomp-other`, `capability`, …
    pub fn word(self) -> &'static str {
        match self {
            Layer::Seccomp => "seccomp",
            Layer::SeccompOther => "seccomp-other",
            Layer::Capability => "capability",
            Layer::Permissions => "permissions",
            Layer::Lsm => "lsm",
            Layer::Devices => "devices",
            Layer::Sysctl => "sysctl",
            Layer::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.word())
    }
}

/// What the profile said of the same call (eperm's own seccomp event for that
/// thread and syscall).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// The profile allows it (no event).
    #[default]
    Allows,
    /// It would deny it, but eperm let the call run (permissive runs).
    WouldDeny,
    /// It denied it: the call never ran (`--enforce`).
    Denied,
}

/// A path the call named, and what it is (read after the call, best effort).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFacts {
    /// Shown as it is: escaped already by whoever read it from the caller.
    pub path: String,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// The caller's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gids: Vec<u32>,
}

/// What the kernel showed of one call that failed with EPERM or EACCES.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failure {
    pub syscall: String,
    pub errno: u32,
    /// Capabilities whose checks failed during the call: bit n is capability n.
    pub failed_caps: u64,
    /// Seccomp filters on the caller beyond eperm's (`None`: not known).
    pub other_filters: Option<u32>,
    pub profile: Profile,
    pub path: Option<PathFacts>,
    pub caller: Option<Caller>,
    /// An LSM's audit record of this call.
    pub lsm: Option<lsm::Record>,
    /// The caller (or a process it descends from) restricted itself with
    /// Landlock (`landlock_restrict_self` succeeded).
    pub landlocked: bool,
    /// The device cgroup refused a device during the call.
    pub device: Option<Device>,
}

/// A device the device cgroup refused: its check's arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// A block device (else a character device).
    pub block: bool,
    pub major: u32,
    pub minor: u32,
    /// `DEVCG_ACC_*` bits: 1 mknod, 2 read, 4 write.
    pub access: u32,
    /// The host's node of that major:minor (`/dev/loop-control`), when it has one.
    pub host_path: Option<String>,
}

impl Device {
    /// `c` or `b`, as device cgroup rules and OCI configs spell it.
    pub fn kind(&self) -> char {
        if self.block {
            'b'
        } else {
            'c'
        }
    }

    /// The access asked for, as `r`, `w`, `m` letters (`rw`).
    pub fn access_letters(&self) -> String {
        [(2, 'r'), (4, 'w'), (1, 'm')]
            .iter()
            .filter(|(bit, _)| self.access & bit != 0)
            .map(|(_, c)| *c)
            .collect()
    }
}

/// A cgroup v1 device list (`devices.list`): `a *:* rwm`, `c 1:3 rwm`,
/// `c 136:* rw`, one rule a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceList {
    rules: Vec<(char, Option<u32>, Option<u32>, String)>,
}

impl DeviceList {
    /// The rules of `text`; lines that are not rules are skipped.
    pub fn parse(text: &str) -> DeviceList {
        let num = |s: &str| {
            if s == "*" {
                Some(None)
            } else {
                s.parse().ok().map(Some)
            }
        };
        let rules = text
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let kind = words.next()?.chars().next()?;
                let (major, minor) = words.next()?.split_once(':')?;
                let access = words.next()?.to_string();
                Some((kind, num(major)?, num(minor)?, access))
            })
            .collect();
        DeviceList { rules }
    }

    /// Every device, every access (`a *:* rwm`): no restriction.
    pub fn allows_all(&self) -> bool {
        self.rules
            .iter()
            .any(|(k, ma, mi, acc)| *k == 'a' && ma.is_none() && mi.is_none() && acc.len() == 3)
    }

    /// Does a rule allow all of `d`'s access?
    pub fn allows(&self, d: &Device) -> bool {
        let wanted = d.access_letters();
        self.rules.iter().any(|(kind, major, minor, access)| {
            (*kind == 'a' || *kind == d.kind())
                && major.is_none_or(|m| m == d.major)
                && minor.is_none_or(|m| m == d.minor)
                && wanted.chars().all(|c| access.contains(c))
        })
    }
}

impl fmt::Display for Device {
    /// `c 10:237`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}:{}", self.kind(), self.major, self.minor)
    }
}

/// A sysctl and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysctl {
    pub name: &'static str,
    pub value: i64,
}

/// The layer that refused a call, its evidence and its fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub layer: Layer,
    /// The failed capabilities that matter (for `capability` and `permissions`).
    pub capabilities: Vec<&'static str>,
    pub sysctl: Option<Sysctl>,
    pub path: Option<PathFacts>,
    pub lsm: Option<lsm::Record>,
    pub other_filters: Option<u32>,
    pub device: Option<Device>,
    /// The profile would deny the call too: allowing it there is not enough.
    pub also_seccomp: bool,
    /// The evidence in a sentence.
    pub evidence: String,
    /// What to do about it.
    pub fix: String,
}

/// The capabilities a file's mode and owner stand in for.
const DAC: [&str; 3] = ["CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER"];

/// Names the layer that refused `f`. `sysctl` reads a sysctl's value by its
/// dotted name (`None`: not there).
pub fn classify(f: &Failure, sysctl: &dyn Fn(&str) -> Option<i64>) -> Finding {
    let caps: Vec<&'static str> = caps::CapSet::from_bits(f.failed_caps).names().collect();
    let mut out = Finding {
        layer: Layer::Unknown,
        capabilities: caps.clone(),
        sysctl: None,
        path: f.path.clone(),
        lsm: None,
        other_filters: f.other_filters.filter(|&n| n > 0),
        device: None,
        also_seccomp: f.profile == Profile::WouldDeny,
        evidence: String::new(),
        fix: String::new(),
    };
    if f.profile == Profile::Denied {
        out.layer = Layer::Seccomp;
        out.also_seccomp = false;
        out.evidence = "the profile denied the call".into();
        out.fix = "allow it in the profile".into();
        return out;
    }
    if let Some(record) = &f.lsm {
        out.layer = Layer::Lsm;
        out.evidence = record.describe();
        out.fix = record.fix();
        out.lsm = Some(record.clone());
        return out;
    }
    if let Some(device) = &f.device {
        return devices(out, device);
    }
    if caps.is_empty() && f.landlocked {
        let record = lsm::Record::restricted(f.path.as_ref().map_or("", |p| p.path.as_str()));
        out.layer = Layer::Lsm;
        out.evidence = "the caller restricted itself with Landlock (landlock_restrict_self) \
                        and no capability check failed"
            .into();
        out.fix = record.fix();
        out.lsm = Some(record);
        return out;
    }
    if caps.is_empty() && out.other_filters.is_some() {
        return other_filter(out);
    }
    if let Some(gate) = gate(&f.syscall, caps.is_empty(), sysctl) {
        out.layer = Layer::Sysctl;
        out.evidence = format!("{} = {} shuts {}", gate.0.name, gate.0.value, f.syscall);
        if !caps.is_empty() {
            out.evidence += &format!(" (and {} was not held)", caps.join(", "));
        }
        out.fix = gate.1;
        out.sysctl = Some(gate.0);
        return out;
    }
    if caps.is_empty() {
        out.evidence = "not seccomp; no layer identified".into();
        out.fix = "none known: no capability check failed and no LSM record was seen".into();
        return out;
    }
    let only_dac = caps.iter().all(|c| DAC.contains(c));
    if only_dac && f.path.is_some() {
        return permissions(out, f);
    }
    capability(out, f)
}

fn other_filter(mut out: Finding) -> Finding {
    let n = out.other_filters.unwrap_or(0);
    out.layer = Layer::SeccompOther;
    out.evidence = format!(
        "the process installed {n} seccomp filter{} of its own, and no capability check failed",
        if n == 1 { "" } else { "s" }
    );
    out.fix =
        "the profile cannot help: the program (or a library it uses) filters its own calls".into();
    out
}

fn capability(mut out: Finding, f: &Failure) -> Finding {
    // The DAC checks fail along with others (a path lookup on the way): the
    // other capabilities are the ones that decided.
    let decisive: Vec<&'static str> = out
        .capabilities
        .iter()
        .copied()
        .filter(|c| !DAC.contains(c))
        .collect();
    if !decisive.is_empty() {
        out.capabilities = decisive;
    }
    let list = out.capabilities.join(", ");
    let bare: Vec<&str> = out
        .capabilities
        .iter()
        .map(|c| c.trim_start_matches("CAP_"))
        .collect();
    out.layer = Layer::Capability;
    out.evidence = format!("the caller lacks {list} (its check failed during the call)");
    // Root without the capability (a container's, once it is dropped) is
    // refused all the same.
    let as_root = match &f.caller {
        Some(c) if c.uid == 0 => "",
        _ => ", or run as root (without --user)",
    };
    out.fix = format!(
        "grant it: docker run --cap-add {caps} (podman run --cap-add {caps}; Kubernetes: \
         securityContext.capabilities.add: [{quoted}]){as_root}",
        caps = bare.join(" --cap-add "),
        quoted = bare
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    out
}

fn devices(mut out: Finding, d: &Device) -> Finding {
    let access = d.access_letters();
    let host = d
        .host_path
        .as_ref()
        .map_or(String::new(), |p| format!(" ({p} on the host)"));
    out.layer = Layer::Devices;
    out.capabilities.clear();
    out.evidence = format!(
        "the call asked the device cgroup for {access} access to {d}{host}, which the \
         container's device list does not allow"
    );
    let given = match &d.host_path {
        Some(p) => format!("--device {p}, or "),
        None => String::new(),
    };
    out.fix = format!(
        "give the container the device: docker run {given}--device-cgroup-rule '{d} {access}' \
         (podman run takes the same); OCI config: linux.resources.devices: [{{\"allow\": true, \
         \"type\": \"{kind}\", \"major\": {major}, \"minor\": {minor}, \"access\": \"{access}\"}}]",
        kind = d.kind(),
        major = d.major,
        minor = d.minor,
    );
    out.device = Some(d.clone());
    out
}

fn permissions(mut out: Finding, f: &Failure) -> Finding {
    let path = f.path.as_ref().expect("checked by the caller");
    out.layer = Layer::Permissions;
    let owner = match (path.mode, path.uid, path.gid) {
        (Some(mode), Some(uid), Some(gid)) => {
            format!(" (mode {:04o}, owner {uid}:{gid})", mode & 0o7777)
        }
        _ => String::new(),
    };
    let caller = f.caller.as_ref().map_or(String::new(), |c| {
        let gids: Vec<String> = c.gids.iter().map(u32::to_string).collect();
        format!(" to uid {} (groups {})", c.uid, gids.join(","))
    });
    out.evidence = format!(
        "{}{owner} is not open{caller}; only file-permission checks ({}) failed",
        path.path,
        out.capabilities.join(", ")
    );
    out.fix = format!(
        "chmod or chown {} for the caller, or grant {}",
        path.path,
        out.capabilities.join(" or ")
    );
    out
}

/// The sysctl gate of `syscall` when it is shut, with its fix and risk.
/// `no_caps`: no capability check failed (user namespaces need none).
fn gate(
    syscall: &str,
    no_caps: bool,
    sysctl: &dyn Fn(&str) -> Option<i64>,
) -> Option<(Sysctl, String)> {
    let (name, shut, open, risk): (&'static str, fn(i64) -> bool, i64, &str) = match syscall {
        "userfaultfd" => (
            "vm.unprivileged_userfaultfd",
            |v| v == 0,
            1,
            "lets unprivileged programs stall kernel page faults, a common exploit aid; \
             or grant CAP_SYS_PTRACE, or open /dev/userfaultfd instead",
        ),
        "io_uring_setup" => (
            "kernel.io_uring_disabled",
            |v| v != 0,
            0,
            "io_uring has had many privilege-escalation bugs; 1 allows the io_uring_group",
        ),
        "perf_event_open" => (
            "kernel.perf_event_paranoid",
            |v| v >= 2,
            1,
            "exposes kernel profiling data to unprivileged users; or grant CAP_PERFMON",
        ),
        "bpf" => (
            "kernel.unprivileged_bpf_disabled",
            |v| v != 0,
            0,
            "unprivileged eBPF is a large attack surface (2 can be lowered, 1 only by a reboot); \
             or grant CAP_BPF",
        ),
        "ptrace" | "process_vm_readv" | "process_vm_writev" => (
            "kernel.yama.ptrace_scope",
            |v| v >= 1,
            0,
            "lets any process of a user read its other processes' memory; or grant CAP_SYS_PTRACE",
        ),
        "unshare" | "clone" | "clone3" if no_caps => {
            if sysctl("kernel.unprivileged_userns_clone") == Some(0) {
                let s = Sysctl {
                    name: "kernel.unprivileged_userns_clone",
                    value: 0,
                };
                return Some((s, fix("kernel.unprivileged_userns_clone", 1, USERNS_RISK)));
            }
            ("user.max_user_namespaces", |v| v == 0, 15000, USERNS_RISK)
        }
        _ => return None,
    };
    let value = sysctl(name)?;
    shut(value).then(|| (Sysctl { name, value }, fix(name, open, risk)))
}

const USERNS_RISK: &str = "user namespaces expose root-only kernel code to unprivileged users";

fn fix(name: &str, open: i64, risk: &str) -> String {
    format!("sysctl -w {name}={open} (risk: {risk})")
}

/// One line for a table or summary: `capability: CAP_SYS_ADMIN`.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let detail = match self.layer {
            Layer::Capability | Layer::Permissions if !self.capabilities.is_empty() => {
                match (&self.path, self.layer) {
                    (Some(p), Layer::Permissions) => p.path.clone(),
                    _ => self.capabilities.join(", "),
                }
            }
            Layer::Sysctl => self
                .sysctl
                .as_ref()
                .map_or(String::new(), |s| format!("{} = {}", s.name, s.value)),
            Layer::Lsm => self
                .lsm
                .as_ref()
                .map_or(String::new(), |r| r.lsm.to_string()),
            Layer::SeccompOther => "a filter of the process's own".into(),
            Layer::Devices => self
                .device
                .as_ref()
                .map_or(String::new(), |d| d.to_string()),
            Layer::Unknown => "not seccomp; no layer identified".into(),
            _ => String::new(),
        };
        if detail.is_empty() {
            f.pad(self.layer.word())
        } else {
            f.pad(&format!("{}: {detail}", self.layer.word()))
        }
    }
}

#[cfg(test)]
mod tests;
