//! Resolution: what a profile means for one target (arch, capabilities, kernel).
//!
//! Two stages, as in real life. Docker first selects rules with `includes` /
//! `excludes` and expands `archMap` for the host's arch; then runc hands each rule
//! to libseccomp, which skips names it cannot resolve and rules equal to the
//! default, and splits conditions that repeat an argument index into separate
//! (ORed) rules. Everything skipped is kept as a [`Skip`], never dropped silently.
//!
//! With a [`Runtime`] in the target, names are those of its libseccomp's table,
//! conditions are read by its rules, what it refuses is kept as a [`Refusal`],
//! and runc's "-ENOSYS stub" is computed (see [`crate::target`]). Without one,
//! eperm itself loads the profile and knows every name of its own tables.

use super::model::{Action, ArgCond, CmpOp, Filter, KernelVersion, Profile, Rule};
use crate::arch::Arch;
use crate::caps::CapSet;
use crate::target::{Lookup, Runtime};

/// What the profile is evaluated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The native arch: the one `archMap` is expanded for.
    pub arch: Arch,
    pub caps: CapSet,
    /// `None` means "unknown": `minKernel` conditions then count as met.
    pub kernel: Option<KernelVersion>,
    /// The runtime that loads the profile; `None`: eperm itself (`eperm run`).
    pub runtime: Option<Runtime>,
}

impl Target {
    /// This machine, with Docker's default capabilities.
    pub fn docker_on_host() -> Target {
        Target {
            arch: Arch::native(),
            caps: CapSet::docker_default(),
            kernel: KernelVersion::running(),
            runtime: None,
        }
    }
}

/// An action with its data, as the kernel receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Verdict {
    pub action: Action,
    /// The errno for ERRNO, the message for TRACE, 0 otherwise.
    pub data: u32,
}

pub use super::model::EPERM;

impl Verdict {
    pub const ALLOW: Verdict = Verdict {
        action: Action::Allow,
        data: 0,
    };

    /// How runc turns an action and an optional `errnoRet` into a verdict.
    pub fn of(action: Action, errno_ret: Option<u32>) -> Verdict {
        let data = if action.takes_data() {
            errno_ret.unwrap_or(EPERM)
        } else {
            0
        };
        Verdict { action, data }
    }

    /// `SCMP_ACT_ERRNO(ENOSYS)`, `SCMP_ACT_ALLOW`, …
    pub fn describe(&self) -> String {
        match self.action {
            Action::Errno => format!(
                "{}({})",
                self.action.name(),
                crate::errno::describe(self.data)
            ),
            Action::Trace => format!("{}({})", self.action.name(), self.data),
            _ => self.action.name().to_string(),
        }
    }
}

/// One rule as libseccomp receives it: one syscall on one arch, conditions ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    /// Index of the profile rule it comes from.
    pub rule: usize,
    /// Position of the name in that rule's `names`.
    pub name_index: usize,
    pub name: String,
    pub arch: Arch,
    pub nr: u32,
    pub verdict: Verdict,
    /// ANDed; empty means unconditional.
    pub conds: Vec<ArgCond>,
}

/// Something in the profile that has no effect for this target, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Docker drops the rule: `includes` not met or `excludes` met.
    Filtered { rule: usize, reason: String },
    /// runc drops the rule: its verdict is the default's.
    EqualsDefault { rule: usize },
    /// The rule lists no syscall names.
    NoNames { rule: usize },
    /// A name no arch knows (a typo, or a syscall newer than our tables).
    UnknownName {
        rule: usize,
        name_index: usize,
        name: String,
    },
    /// A real syscall that none of the target's arches has (e.g. `s390_runtime_instr` on x86_64).
    NotOnTarget {
        rule: usize,
        name_index: usize,
        name: String,
    },
    /// A syscall the runtime's libseccomp does not know: the runtime drops it.
    UnknownToRuntime {
        rule: usize,
        name_index: usize,
        name: String,
    },
    /// `""`: runc refuses it (a [`Refusal`] too); crun and youki skip it.
    EmptyName { rule: usize, name_index: usize },
}

/// Something the runtime refuses: it then fails to start the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// libseccomp refuses `SCMP_ACT_ERRNO(n)` for n ≥ 4095; `rule` `None` is the default action.
    ErrnoRange { rule: Option<usize>, errno: u32 },
    /// runc: "empty string is not a valid syscall".
    EmptyName { rule: usize, name_index: usize },
    /// crun: "errno value specified for action"; `rule` `None` is `defaultErrnoRet`.
    ErrnoWithoutData { rule: Option<usize> },
    /// The libseccomp release has no such arch (loongarch64 before 2.6.0).
    Arch { arch: Arch },
}

#[derive(Clone, Debug)]
pub struct Resolved {
    pub target: Target,
    pub default: Verdict,
    /// The arches the filter covers, native first.
    pub arches: Vec<Arch>,
    /// In profile order.
    pub rules: Vec<Effective>,
    pub skipped: Vec<Skip>,
    /// What the target's runtime refuses (empty without a runtime).
    pub refusals: Vec<Refusal>,
    /// runc's "-ENOSYS stub": calls of an arch numbered above its limit fail
    /// with ENOSYS before the filter proper is consulted. Empty without it.
    pub enosys_above: Vec<(Arch, u32)>,
}

impl Resolved {
    /// The effective rules for one syscall on one arch, in profile order.
    pub fn rules_for(&self, arch: Arch, nr: u32) -> impl Iterator<Item = &Effective> {
        self.rules
            .iter()
            .filter(move |r| r.arch == arch && r.nr == nr)
    }
}

pub fn resolve(profile: &Profile, target: &Target) -> Resolved {
    let default = Verdict::of(profile.default_action, profile.default_errno);
    let mut rules = Vec::new();
    let mut skipped = Vec::new();
    let mut refusals = Vec::new();
    let runtime = target.runtime.as_ref();
    let arches = arches(profile, target.arch);
    if let Some(rt) = runtime {
        refusals.extend(default_refusals(profile, default, rt));
        let missing = arches.iter().filter(|&&a| !rt.supports(a));
        refusals.extend(missing.map(|&arch| Refusal::Arch { arch }));
    }
    for rule in &profile.rules {
        if let Some(reason) = filtered_out(rule, target) {
            skipped.push(Skip::Filtered {
                rule: rule.index,
                reason,
            });
            continue;
        }
        let verdict = Verdict::of(rule.action, rule.errno_ret);
        if let Some(rt) = runtime {
            refusals.extend(rule_refusals(rule, rt));
        }
        if verdict == default {
            skipped.push(Skip::EqualsDefault { rule: rule.index });
            continue;
        }
        if rule.names.is_empty() {
            skipped.push(Skip::NoNames { rule: rule.index });
            continue;
        }
        let cond_sets = match runtime {
            Some(rt) if rt.ors_every_condition() => rule.args.iter().map(|a| vec![*a]).collect(),
            _ => condition_sets(&rule.args),
        };
        let mut added = false;
        for (name_index, name) in rule.names.iter().enumerate() {
            let name = &name.name;
            // runc adds the rule once its libseccomp knows the name natively.
            added |= runtime.is_some_and(|rt| {
                !name.is_empty() && rt.lookup(target.arch, name) != Lookup::Unknown
            });
            let on_target = match placements(name, &arches, target.arch, runtime) {
                Ok(on) => on,
                Err(why) => {
                    skipped.push(why.skip(rule.index, name_index, name.clone()));
                    continue;
                }
            };
            for &(arch, nr, mux) in &on_target {
                for conds in &cond_sets {
                    rules.push(Effective {
                        rule: rule.index,
                        name_index,
                        name: name.clone(),
                        arch,
                        nr,
                        verdict,
                        conds: match mux {
                            None => conds.clone(),
                            Some(call) => multiplexed(conds, call),
                        },
                    });
                }
            }
        }
        // libseccomp checks the action when runc adds the first name it knows.
        if added && verdict.action == Action::Errno && verdict.data >= crate::target::ERRNO_LIMIT {
            refusals.push(Refusal::ErrnoRange {
                rule: Some(rule.index),
                errno: verdict.data,
            });
        }
    }
    let enosys_above = match runtime {
        Some(rt) if rt.has_enosys_stub() => enosys_stub(profile, target, rt),
        _ => Vec::new(),
    };
    Resolved {
        target: target.clone(),
        default,
        arches,
        rules,
        skipped,
        refusals,
        enosys_above,
    }
}

/// Why a name of a rule has no effective rule.
enum Unplaced {
    Empty,
    UnknownToRuntime,
    NotOnTarget,
    Unknown,
}

impl Unplaced {
    fn skip(self, rule: usize, name_index: usize, name: String) -> Skip {
        match self {
            Unplaced::Empty => Skip::EmptyName { rule, name_index },
            Unplaced::UnknownToRuntime => Skip::UnknownToRuntime {
                rule,
                name_index,
                name,
            },
            Unplaced::NotOnTarget => Skip::NotOnTarget {
                rule,
                name_index,
                name,
            },
            Unplaced::Unknown => Skip::UnknownName {
                rule,
                name_index,
                name,
            },
        }
    }
}

/// Where a name is added: (arch, nr, the call number of a multiplexed form).
/// Without a runtime, eperm's tables decide; with one, its libseccomp's: the
/// name must be known on the native arch (runc resolves it there first).
fn placements(
    name: &str,
    arches: &[Arch],
    native: Arch,
    runtime: Option<&Runtime>,
) -> Result<Vec<(Arch, u32, Option<u64>)>, Unplaced> {
    let on: Vec<_> = match runtime {
        None => arches
            .iter()
            .filter_map(|&a| Some((a, a.syscall_nr(name)?, None)))
            .collect(),
        Some(_) if name.is_empty() => return Err(Unplaced::Empty),
        Some(rt) => match rt.lookup(native, name) {
            // Only where it matters: a syscall of one of the target's arches.
            Lookup::Unknown if arches.iter().any(|a| a.syscall_nr(name).is_some()) => {
                return Err(Unplaced::UnknownToRuntime)
            }
            Lookup::Unknown => Vec::new(),
            _ => on_runtime(rt, arches, name),
        },
    };
    match on.is_empty() {
        false => Ok(on),
        true if crate::arch::is_known_anywhere(name) => Err(Unplaced::NotOnTarget),
        true => Err(Unplaced::Unknown),
    }
}

/// What the runtime refuses in a rule Docker keeps, before it looks at the names.
fn rule_refusals(rule: &Rule, rt: &Runtime) -> Vec<Refusal> {
    let mut out = Vec::new();
    if rt.refuses_errno_without_data() && rule.errno_ret.is_some() && !rule.action.takes_data() {
        out.push(Refusal::ErrnoWithoutData {
            rule: Some(rule.index),
        });
    }
    // runc checks the name before anything else, whatever the action.
    if rt.refuses_empty_names() {
        if let Some(j) = rule.names.iter().position(|n| n.name.is_empty()) {
            out.push(Refusal::EmptyName {
                rule: rule.index,
                name_index: j,
            });
        }
    }
    out
}

/// What the runtime refuses in the default action itself.
fn default_refusals(profile: &Profile, default: Verdict, rt: &Runtime) -> Vec<Refusal> {
    let mut out = Vec::new();
    if rt.refuses_errno_without_data()
        && profile.default_errno.is_some()
        && !profile.default_action.takes_data()
    {
        out.push(Refusal::ErrnoWithoutData { rule: None });
    }
    if default.action == Action::Errno && default.data >= crate::target::ERRNO_LIMIT {
        out.push(Refusal::ErrnoRange {
            rule: None,
            errno: default.data,
        });
    }
    out
}

/// Where the runtime's libseccomp adds a name it knows natively: each arch
/// that has it, and on x86 the `socketcall` / `ipc` form of a socket or IPC
/// call x86 has no direct number for (`accept`, `semop`): (arch, nr, call).
fn on_runtime(rt: &Runtime, arches: &[Arch], name: &str) -> Vec<(Arch, u32, Option<u64>)> {
    arches
        .iter()
        .filter_map(|&a| match rt.lookup(a, name) {
            Lookup::Nr(nr) => Some((a, nr, None)),
            Lookup::NotOnArch if a == Arch::X86 => {
                let (mux, call) = crate::syscalls::multiplex::x86_pseudo(name)?;
                Some((a, mux, Some(call)))
            }
            _ => None,
        })
        .collect()
}

/// The conditions of a multiplexed rule: libseccomp puts the call number in
/// `args[0]`, in place of any condition there.
fn multiplexed(conds: &[ArgCond], call: u64) -> Vec<ArgCond> {
    let mut out: Vec<ArgCond> = conds.iter().copied().filter(|c| c.index != 0).collect();
    out.push(ArgCond {
        index: 0,
        value: call,
        value_two: 0,
        op: CmpOp::Eq,
    });
    out
}

/// The arches Docker writes into the OCI spec: `architectures`, and the
/// native arch's `archMap` entry. runc's stub covers only these.
fn declared_arches(profile: &Profile, native: Arch) -> Vec<Arch> {
    let mapped = profile
        .arch_map
        .iter()
        .filter(|m| m.arch == native)
        .flat_map(|m| std::iter::once(m.arch).chain(m.sub_arches.iter().copied()));
    let mut out: Vec<Arch> = Vec::new();
    for a in profile.architectures.iter().copied().chain(mapped) {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// runc's stub limits: for each declared arch, the largest number libseccomp
/// gives any name of the rules Docker keeps (whatever their action). None when
/// the default allows (ALLOW, LOG, TRACE) or `defaultErrnoRet` is ENOSYS already.
fn enosys_stub(profile: &Profile, target: &Target, rt: &Runtime) -> Vec<(Arch, u32)> {
    const ENOSYS: u32 = 38;
    if profile.default_errno == Some(ENOSYS)
        || matches!(
            profile.default_action,
            Action::Allow | Action::Log | Action::Trace
        )
    {
        return Vec::new();
    }
    let kept: Vec<&Rule> = profile
        .rules
        .iter()
        .filter(|r| filtered_out(r, target).is_none())
        .collect();
    declared_arches(profile, target.arch)
        .into_iter()
        .filter_map(|arch| {
            let largest = kept
                .iter()
                .flat_map(|r| &r.names)
                .filter(|n| {
                    !(crate::target::munges_names(arch)
                        && crate::syscalls::multiplex::multiplexed(&n.name).is_some())
                })
                .filter_map(|n| match rt.lookup(arch, &n.name) {
                    Lookup::Nr(nr) => Some(nr),
                    _ => None,
                })
                .max()?;
            (largest != 0).then_some((arch, largest))
        })
        .collect()
}

/// The arches a filter built from this profile covers on a `native` host.
pub fn arches(profile: &Profile, native: Arch) -> Vec<Arch> {
    let mapped = profile
        .arch_map
        .iter()
        .filter(|m| m.arch == native)
        .flat_map(|m| std::iter::once(m.arch).chain(m.sub_arches.iter().copied()));
    // libseccomp always includes the native arch.
    let mut arches = vec![native];
    for arch in profile.architectures.iter().copied().chain(mapped) {
        if !arches.contains(&arch) {
            arches.push(arch);
        }
    }
    arches
}

/// runc's reading of `args`: ANDed, unless an index repeats, then one rule per condition.
pub fn condition_sets(args: &[ArgCond]) -> Vec<Vec<ArgCond>> {
    let repeats = (0..6).any(|i| args.iter().filter(|a| a.index == i).count() > 1);
    if repeats {
        args.iter().map(|a| vec![*a]).collect()
    } else {
        vec![args.to_vec()]
    }
}

/// Why Docker would drop this rule for `target`, or `None` if it keeps it.
pub fn filtered_out(rule: &Rule, target: &Target) -> Option<String> {
    let arch_matches = |f: &Filter| f.arches.iter().any(|a| arch_name_matches(a, target.arch));
    let kernel_at_least = |v: KernelVersion| target.kernel.is_none_or(|k| k >= v);
    let ex = &rule.excludes;
    if arch_matches(ex) {
        return Some(format!("excludes.arches lists {}", target.arch.go_name()));
    }
    if let Some(cap) = ex.caps.iter().find(|c| target.caps.has(c)) {
        return Some(format!("excludes.caps: the target has {cap}"));
    }
    if let Some(v) = ex
        .min_kernel
        .filter(|&v| target.kernel.is_some() && kernel_at_least(v))
    {
        return Some(format!("excludes.minKernel {v}: the kernel is newer"));
    }
    let inc = &rule.includes;
    if !inc.arches.is_empty() && !arch_matches(inc) {
        return Some(format!(
            "includes.arches does not list {}",
            target.arch.go_name()
        ));
    }
    if let Some(cap) = inc.caps.iter().find(|c| !target.caps.has(c)) {
        return Some(format!("includes.caps: the target lacks {cap}"));
    }
    if let Some(v) = inc.min_kernel.filter(|&v| !kernel_at_least(v)) {
        return Some(format!("includes.minKernel {v}: the kernel is older"));
    }
    None
}

/// Docker compares `arches` with Go's names (`amd64`); accept libseccomp's and ours too.
fn arch_name_matches(written: &str, arch: Arch) -> bool {
    written == arch.go_name() || Arch::parse(written) == Some(arch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::load_str;

    fn load(text: &str) -> Profile {
        load_str("test.json", text.to_string()).unwrap()
    }

    fn x86_64(caps: &str, kernel: &str) -> Target {
        Target {
            arch: Arch::X86_64,
            caps: CapSet::parse(caps).unwrap(),
            kernel: KernelVersion::parse(kernel),
            runtime: None,
        }
    }

    #[test]
    fn arch_map_expands_only_the_native_arch() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]}"#,
        );
        assert_eq!(
            arches(&p, Arch::X86_64),
            [Arch::X86_64, Arch::X86, Arch::X32]
        );
        assert_eq!(arches(&p, Arch::Aarch64), [Arch::Aarch64, Arch::Arm]);
        assert_eq!(arches(&p, Arch::Riscv64), [Arch::Riscv64]);
    }

    #[test]
    fn includes_and_excludes_follow_docker() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_BOOT"]}},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
                {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}}]}"#,
        );
        let names = |t: &Target| {
            let r = resolve(&p, t);
            let mut v: Vec<_> = r.rules.iter().map(|e| e.name.clone()).collect();
            v.dedup();
            v
        };
        assert_eq!(
            names(&x86_64("docker", "6.1")),
            ["clone3", "ptrace", "arch_prctl"]
        );
        assert_eq!(names(&x86_64("all", "4.7")), ["reboot", "arch_prctl"]);
        let skipped = resolve(&p, &x86_64("docker", "6.1")).skipped;
        assert!(skipped.contains(&Skip::Filtered {
            rule: 0,
            reason: "includes.caps: the target lacks CAP_SYS_BOOT".into()
        }));
    }

    #[test]
    fn rules_equal_to_the_default_are_skipped_but_other_errnos_are_not() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#,
        );
        let r = resolve(&p, &x86_64("none", "6.1"));
        assert_eq!(r.skipped, [Skip::EqualsDefault { rule: 0 }]);
        assert!(r.rules.iter().all(|e| e.name == "clone3"
            && e.verdict
                == Verdict {
                    action: Action::Errno,
                    data: 38
                }));
    }

    #[test]
    fn default_errno_applies_to_the_default_only() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "syscalls": [
                {"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}"#,
        );
        let r = resolve(&p, &x86_64("none", "6.1"));
        assert_eq!(
            r.default,
            Verdict {
                action: Action::Errno,
                data: 38
            }
        );
        assert_eq!(
            r.rules[0].verdict,
            Verdict {
                action: Action::Errno,
                data: EPERM
            }
        );
    }

    #[test]
    fn repeated_index_splits_into_ored_rules() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [
                    {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                    {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        let r = resolve(&p, &x86_64("none", "6.1"));
        let socket: Vec<_> = r.rules.iter().filter(|e| e.name == "socket").collect();
        assert_eq!(socket.len(), 2);
        assert!(socket.iter().all(|e| e.conds.len() == 1));
        let personality: Vec<_> = r.rules.iter().filter(|e| e.name == "personality").collect();
        assert_eq!(personality.len(), 1);
        assert_eq!(personality[0].conds.len(), 2);
    }

    #[test]
    fn names_resolve_per_arch_and_unknown_ones_are_findings() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"], "syscalls": [
                {"names": ["read", "socketcall", "s390_runtime_instr", "raed"], "action": "SCMP_ACT_ALLOW"}]}"#,
        );
        let r = resolve(&p, &x86_64("none", "6.1"));
        let got: Vec<_> = r
            .rules
            .iter()
            .map(|e| (e.name.as_str(), e.arch, e.nr))
            .collect();
        assert_eq!(
            got,
            [
                ("read", Arch::X86_64, 0),
                ("read", Arch::X86, 3),
                ("socketcall", Arch::X86, 102)
            ]
        );
        assert_eq!(
            r.skipped,
            [
                Skip::NotOnTarget {
                    rule: 0,
                    name_index: 2,
                    name: "s390_runtime_instr".into()
                },
                Skip::UnknownName {
                    rule: 0,
                    name_index: 3,
                    name: "raed".into()
                },
            ]
        );
    }
}
