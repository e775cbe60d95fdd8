//! The BPF compiler: effective rules to a seccomp program, with an emulator,
//! a disassembler and statistics.
//!
//! Verdicts follow libseccomp as runc drives it (see [`libseccomp`]); the program's shape
//! is our own (see [`emit`]).

pub mod bpf;
pub mod disasm;
pub mod dispatch;
pub mod emit;
pub mod libseccomp;
pub mod passthrough;
pub mod stats;
pub mod stub;

pub use bpf::{run, validate, SeccompData, SockFilter};

use crate::arch::Arch;
use crate::profile::{Action, Diagnostic, Profile, Resolved, Severity, Verdict};
use libseccomp::{Db, Leaf, Outcome};
use std::collections::HashMap;

/// How denials are turned into something a debugger can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// As the profile says.
    #[default]
    Enforce,
    /// Every non-ALLOW verdict becomes `TRACE(id)`; `id` indexes [`Compiled::table`].
    Trace,
    /// Every non-ALLOW verdict becomes `USER_NOTIF`. The kernel passes no data with
    /// it: the supervisor re-evaluates (arch, nr, args) with [`Compiled::evaluate`].
    Notify,
    /// Every non-ALLOW verdict becomes `LOG`.
    Log,
}

/// libseccomp's default bad-arch action, `SCMP_ACT_KILL` (= KILL_THREAD).
pub const BAD_ARCH: u32 = bpf::RET_KILL_THREAD;

/// What a `TRACE` data value stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableEntry {
    /// The verdict the profile gives.
    pub verdict: Verdict,
    /// Index into `Resolved::rules`; `None` for the default action.
    pub effective: Option<usize>,
    /// Index into the profile's `syscalls[]`; `None` for the default action.
    pub rule: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Compiled {
    pub program: Vec<SockFilter>,
    pub mode: Mode,
    pub arches: Vec<Arch>,
    pub default: Verdict,
    /// libseccomp's view of the rules, for [`Compiled::evaluate`].
    pub db: Db,
    /// TRACE data -> what it stands for (trace mode; index 0 is the default action).
    pub table: Vec<TableEntry>,
    /// runc's "-ENOSYS stub" limits (see [`stub`]); empty when the target has none.
    pub enosys_above: Vec<(Arch, u32)>,
    /// The stub's instructions at the head of `program` (enforce mode only).
    pub stub_len: usize,
    /// The target's kernel, for the calls it lets through unfiltered
    /// ([`passthrough`]); `None`: unknown, taken as the newest.
    pub kernel: Option<crate::profile::KernelVersion>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("the program has {0} instructions; the kernel accepts at most 4096")]
    TooLong(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("more than 65535 distinct rules to trace")]
    TooManyRules,
    /// The target's runtime refuses the profile (`Resolved::refusals`).
    #[error("{runtime} refuses the profile: {what}")]
    Refused { runtime: String, what: String },
}

/// The action word the kernel gets for a verdict.
pub fn action_word(v: Verdict) -> u32 {
    match v.action {
        Action::Allow => bpf::RET_ALLOW,
        Action::Errno => bpf::RET_ERRNO | (v.data & bpf::RET_DATA),
        Action::KillThread => bpf::RET_KILL_THREAD,
        Action::KillProcess => bpf::RET_KILL_PROCESS,
        Action::Trap => bpf::RET_TRAP,
        Action::Trace => bpf::RET_TRACE | (v.data & bpf::RET_DATA),
        Action::Log => bpf::RET_LOG,
        Action::Notify => bpf::RET_USER_NOTIF,
    }
}

struct ModeWords<'a> {
    mode: Mode,
    default: Verdict,
    resolved: &'a Resolved,
    table: Vec<TableEntry>,
    ids: HashMap<Option<usize>, u32>,
}

impl ModeWords<'_> {
    fn word(&mut self, v: Verdict, effective: Option<usize>) -> u32 {
        if v.action == Action::Allow {
            return bpf::RET_ALLOW;
        }
        match self.mode {
            Mode::Enforce => action_word(v),
            Mode::Log => bpf::RET_LOG,
            Mode::Notify => bpf::RET_USER_NOTIF,
            Mode::Trace => {
                let id = match self.ids.get(&effective) {
                    Some(&id) => id,
                    None => {
                        let id = self.table.len() as u32;
                        self.table.push(TableEntry {
                            verdict: v,
                            effective,
                            rule: effective.map(|e| self.resolved.rules[e].rule),
                        });
                        self.ids.insert(effective, id);
                        id
                    }
                };
                bpf::RET_TRACE | (id & bpf::RET_DATA)
            }
        }
    }
}

impl emit::Words for ModeWords<'_> {
    fn leaf(&mut self, leaf: &Leaf) -> u32 {
        self.word(leaf.verdict, Some(leaf.origin))
    }
    fn default(&mut self) -> u32 {
        self.word(self.default, None)
    }
    fn bad_arch(&self) -> u32 {
        BAD_ARCH
    }
}

/// Compiles the effective rules for `resolved.arches` into one program.
pub fn compile(resolved: &Resolved, mode: Mode) -> Result<Compiled, CompileError> {
    compile_watched(resolved, mode, &mut |_| {})
}

/// [`compile`], telling `added` how far the rule merge is (see [`Db::build_watched`]).
pub fn compile_watched(
    resolved: &Resolved,
    mode: Mode,
    added: &mut dyn FnMut(usize),
) -> Result<Compiled, CompileError> {
    if let (Some(refusal), Some(rt)) = (resolved.refusals.first(), &resolved.target.runtime) {
        return Err(CompileError::Refused {
            runtime: rt.named(),
            what: refusal_text(refusal),
        });
    }
    let db = Db::build_watched(resolved, added)
        .map_err(|c| CompileError::Conflict(conflict_message(resolved, &c)))?;
    let mut words = ModeWords {
        mode,
        default: resolved.default,
        resolved,
        table: Vec::new(),
        ids: HashMap::new(),
    };
    if mode == Mode::Trace {
        // Data 0 is always the default action.
        emit::Words::default(&mut words);
    }
    // The other modes leave runc's stub out: a debugger wants to see those calls.
    let mut program = match mode {
        Mode::Enforce => stub::program(&resolved.enosys_above),
        _ => Vec::new(),
    };
    let stub_len = program.len();
    program.extend(emit::emit(&db, &resolved.arches, &mut words));
    if words.table.len() > 0x1_0000 {
        return Err(CompileError::TooManyRules);
    }
    if program.len() > bpf::MAX_INSNS {
        return Err(CompileError::TooLong(program.len()));
    }
    debug_assert_eq!(validate(&program), Ok(()));
    Ok(Compiled {
        program,
        mode,
        arches: resolved.arches.clone(),
        default: resolved.default,
        db,
        table: words.table,
        enosys_above: resolved.enosys_above.clone(),
        stub_len,
        kernel: resolved.target.kernel,
    })
}

/// What libseccomp does with a rule it cannot merge, in a sentence.
fn conflict_message(resolved: &Resolved, c: &libseccomp::Conflict) -> String {
    let e = &resolved.rules[c.effective];
    let runtime = resolved
        .target
        .runtime
        .as_ref()
        .map_or("runc".to_string(), |r| r.named());
    if c.hang {
        return format!(
            "libseccomp 2.5.4 never returns from adding syscalls[{}] for {} on {}: its merge of the argument tests loops; {runtime} would hang starting the container",
            e.rule, e.name, e.arch
        );
    }
    let with = c
        .with
        .map(|w| format!(" (it clashes with syscalls[{}])", resolved.rules[w].rule))
        .unwrap_or_default();
    format!(
        "libseccomp refuses syscalls[{}] for {} on {}: the same argument test would have two different actions{with}; {runtime} would fail to start the container",
        e.rule, e.name, e.arch
    )
}

/// `check`'s error for a rule libseccomp refuses to merge (or never returns
/// from), at the name of the rule: the lint of what `compile` refuses.
pub fn clash(profile: &Profile, resolved: &Resolved) -> Option<Diagnostic> {
    clash_watched(profile, resolved, &mut |_| {})
}

/// [`clash`], telling `added` how far the rule merge is (see [`Db::build_watched`]).
pub fn clash_watched(
    profile: &Profile,
    resolved: &Resolved,
    added: &mut dyn FnMut(usize),
) -> Option<Diagnostic> {
    let c = Db::build_watched(resolved, added).err()?;
    let e = &resolved.rules[c.effective];
    let name = profile.rules.get(e.rule)?.names.get(e.name_index)?;
    let path = profile.path(&format!("syscalls[{}].names[{}]", e.rule, e.name_index));
    let d = Diagnostic::new(
        Severity::Error,
        "clash",
        &profile.text,
        name.span,
        path,
        conflict_message(resolved, &c),
    );
    Some(d.hint("give the overlapping rules one action, or test different arguments; `eperm explain PROFILE SYSCALL ARGS` shows which rule decides"))
}

/// What a refusal is, in a sentence.
pub fn refusal_text(refusal: &crate::profile::Refusal) -> String {
    use crate::profile::Refusal;
    let at = |rule: &Option<usize>| {
        rule.map_or("defaultErrnoRet".to_string(), |r| format!("syscalls[{r}]"))
    };
    match refusal {
        Refusal::ErrnoRange { rule, errno } => format!(
            "{}: errno {errno} is out of libseccomp's range (it takes 0 to {})",
            at(rule),
            crate::target::ERRNO_LIMIT - 1
        ),
        Refusal::EmptyName { rule, name_index } => {
            format!("syscalls[{rule}].names[{name_index}]: empty string is not a valid syscall")
        }
        Refusal::ErrnoWithoutData { rule } => {
            format!(
                "{}: errno value specified for an action that takes none",
                at(rule)
            )
        }
        Refusal::Arch { arch } => format!("its libseccomp has no {}", arch.scmp_name()),
    }
}

impl Compiled {
    /// The verdict a call gets (whatever the mode) and the rule that decided it;
    /// runc's stub (see [`Compiled::stub_decides`]) and the kernel's passthrough
    /// (see [`Compiled::passes_through`]) decide with no rule.
    pub fn evaluate(&self, arch: Arch, nr: u32, args: [u64; 6]) -> Outcome {
        if self.passes_through(arch, nr).is_some() {
            return Outcome {
                verdict: Verdict::ALLOW,
                origin: None,
            };
        }
        if self.stub_decides(arch, nr) {
            return Outcome {
                verdict: Verdict {
                    action: Action::Errno,
                    data: 38,
                },
                origin: None,
            };
        }
        let data = SeccompData::call(arch, nr, args);
        self.db.evaluate(arch, nr, &data, self.default)
    }

    /// Does runc's "-ENOSYS stub" answer this call, before the filter proper?
    pub fn stub_decides(&self, arch: Arch, nr: u32) -> bool {
        stub::decides(&self.enosys_above, arch.audit_arch(), nr)
    }

    /// Does the target's kernel let this call through before any filter runs
    /// (so the program's verdict never applies)?
    pub fn passes_through(&self, arch: Arch, nr: u32) -> Option<&'static passthrough::Passthrough> {
        passthrough::passes(arch, nr, self.kernel)
    }

    /// What the kernel gets from the program for a call of `arch`, and after how
    /// many instructions: a call the kernel lets through unfiltered runs none.
    /// (`bpf::run` on `program` is the program alone.)
    pub fn run(&self, arch: Arch, nr: u32, args: [u64; 6]) -> (u32, usize) {
        if self.passes_through(arch, nr).is_some() {
            return (bpf::RET_ALLOW, 0);
        }
        run(&self.program, &SeccompData::call(arch, nr, args))
    }
}
