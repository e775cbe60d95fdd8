//! The typed view of a seccomp profile, as Docker and the OCI runtime spec define it.
//!
//! The parsed document itself stays in [`Profile::root`]; this view only reads it,
//! so unknown fields and key order survive untouched.

use crate::arch::Arch;
use crate::json::{Node, Span};

/// The largest `errnoRet`: the kernel keeps 16 bits of a filter's return data (SECCOMP_RET_DATA).
pub const ERRNO_MAX: u32 = 0xffff;

/// What `errnoRet` means when a rule or the default leaves it out, as runc reads it.
pub const EPERM: u32 = 1;

/// What a rule (or the default) tells the kernel to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Allow,
    Errno,
    /// `SCMP_ACT_KILL` and `SCMP_ACT_KILL_THREAD`: the thread dies.
    KillThread,
    KillProcess,
    Trap,
    Trace,
    Log,
    Notify,
}

/// Every spelling profiles use, with the action it means.
const ACTION_NAMES: &[(&str, Action)] = &[
    ("SCMP_ACT_ALLOW", Action::Allow),
    ("SCMP_ACT_ERRNO", Action::Errno),
    ("SCMP_ACT_KILL", Action::KillThread),
    ("SCMP_ACT_KILL_THREAD", Action::KillThread),
    ("SCMP_ACT_KILL_PROCESS", Action::KillProcess),
    ("SCMP_ACT_TRAP", Action::Trap),
    ("SCMP_ACT_TRACE", Action::Trace),
    ("SCMP_ACT_LOG", Action::Log),
    ("SCMP_ACT_NOTIFY", Action::Notify),
];

/// The value `s` spells in `table`.
fn parse_in<T: Copy>(table: &[(&str, T)], s: &str) -> Option<T> {
    table.iter().find(|(name, _)| *name == s).map(|&(_, v)| v)
}

/// The first spelling of `v` in `table`, which has one for every value.
fn name_in<T: PartialEq>(table: &[(&'static str, T)], v: T) -> &'static str {
    table
        .iter()
        .find(|(_, x)| *x == v)
        .map(|&(name, _)| name)
        .expect("every value has a name")
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        parse_in(ACTION_NAMES, s)
    }

    pub fn spellings() -> impl Iterator<Item = &'static str> {
        ACTION_NAMES.iter().map(|&(name, _)| name)
    }

    /// The canonical spelling (`SCMP_ACT_KILL_THREAD` is written `SCMP_ACT_KILL`, as Docker does).
    pub fn name(self) -> &'static str {
        name_in(ACTION_NAMES, self)
    }

    /// Does `errnoRet` mean something for this action (the errno, or the trace message)?
    pub fn takes_data(self) -> bool {
        matches!(self, Action::Errno | Action::Trace)
    }
}

/// The seven comparison operators of `args[].op`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == valueTwo`
    MaskedEq,
}

const OP_NAMES: &[(&str, CmpOp)] = &[
    ("SCMP_CMP_NE", CmpOp::Ne),
    ("SCMP_CMP_LT", CmpOp::Lt),
    ("SCMP_CMP_LE", CmpOp::Le),
    ("SCMP_CMP_EQ", CmpOp::Eq),
    ("SCMP_CMP_GE", CmpOp::Ge),
    ("SCMP_CMP_GT", CmpOp::Gt),
    ("SCMP_CMP_MASKED_EQ", CmpOp::MaskedEq),
];

impl CmpOp {
    pub fn parse(s: &str) -> Option<CmpOp> {
        parse_in(OP_NAMES, s)
    }

    pub fn spellings() -> impl Iterator<Item = &'static str> {
        OP_NAMES.iter().map(|&(name, _)| name)
    }

    pub fn name(self) -> &'static str {
        name_in(OP_NAMES, self)
    }

    /// Does a 64-bit argument satisfy `arg OP value` (with `value_two` for MASKED_EQ)?
    pub fn matches(self, arg: u64, value: u64, value_two: u64) -> bool {
        match self {
            CmpOp::Ne => arg != value,
            CmpOp::Lt => arg < value,
            CmpOp::Le => arg <= value,
            CmpOp::Eq => arg == value,
            CmpOp::Ge => arg >= value,
            CmpOp::Gt => arg > value,
            CmpOp::MaskedEq => arg & value == value_two,
        }
    }
}

/// One entry of a rule's `args`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArgCond {
    pub index: u8,
    pub value: u64,
    pub value_two: u64,
    pub op: CmpOp,
}

/// A kernel version as `minKernel` and `--kernel` write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    /// Accepts `6.18`, `4.8`, `5.10.0-21-amd64`.
    pub fn parse(s: &str) -> Option<KernelVersion> {
        let mut parts = s.trim().split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
        Some(KernelVersion { major, minor })
    }

    /// The running kernel's version.
    pub fn running() -> Option<KernelVersion> {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
        KernelVersion::parse(&release)
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// `includes` or `excludes` of a Docker rule.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Filter {
    pub caps: Vec<String>,
    pub arches: Vec<String>,
    pub min_kernel: Option<KernelVersion>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// A syscall name in a rule, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

/// One entry of `syscalls[]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Position in `syscalls[]`.
    pub index: usize,
    pub names: Vec<Name>,
    pub action: Action,
    pub errno_ret: Option<u32>,
    pub args: Vec<ArgCond>,
    pub comment: Option<String>,
    pub includes: Filter,
    pub excludes: Filter,
    /// The rule's object in the document.
    pub span: Span,
}

/// An `archMap` entry: the native arch and the sub-arches it also runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchMapEntry {
    pub arch: Arch,
    pub sub_arches: Vec<Arch>,
}

/// How the seccomp object was found in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A Docker / moby profile, as `--security-opt seccomp=FILE` takes.
    Docker,
    /// A whole OCI `config.json`; the profile is its `linux.seccomp`.
    OciConfig,
    /// A Kubernetes `SeccompProfile` of the Security Profiles Operator; the
    /// profile is its `spec`.
    Spo,
}

/// The text a profile is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Yaml,
}

#[derive(Clone, Debug)]
pub struct Profile {
    /// The file name as given, for messages.
    pub file: String,
    pub text: String,
    pub root: Node,
    pub form: Form,
    pub syntax: Syntax,
    pub default_action: Action,
    pub default_errno: Option<u32>,
    pub architectures: Vec<Arch>,
    pub arch_map: Vec<ArchMapEntry>,
    pub flags: Vec<String>,
    pub listener_path: Option<String>,
    pub rules: Vec<Rule>,
}

impl Profile {
    /// Every name some `SCMP_ACT_ALLOW` rule lists, whatever its conditions.
    pub fn allowed_names(&self) -> std::collections::BTreeSet<String> {
        let allows = self.rules.iter().filter(|r| r.action == Action::Allow);
        allows
            .flat_map(|r| r.names.iter().map(|n| n.name.clone()))
            .collect()
    }

    /// The JSON path of the seccomp object: `""` for Docker, `"linux.seccomp"`
    /// in a config.json, `"spec"` in a SeccompProfile.
    pub fn base_path(&self) -> &'static str {
        match self.form {
            Form::Docker => "",
            Form::OciConfig => "linux.seccomp",
            Form::Spo => "spec",
        }
    }

    /// The JSON path of a member of the seccomp object, e.g. `syscalls[3].names[1]`.
    pub fn path(&self, rest: &str) -> String {
        match self.base_path() {
            "" => rest.to_string(),
            base if rest.is_empty() => base.to_string(),
            base if rest.starts_with('[') => format!("{base}{rest}"),
            base => format!("{base}.{rest}"),
        }
    }

    /// The seccomp object node.
    pub fn seccomp_node(&self) -> &Node {
        match self.form {
            Form::Docker => &self.root,
            Form::OciConfig => self
                .root
                .get("linux")
                .and_then(|l| l.get("seccomp"))
                .expect("checked at load"),
            Form::Spo => self.root.get("spec").expect("checked at load"),
        }
    }
}
