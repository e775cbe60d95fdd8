//! Resolution: what a profile means for one target (arch, capabilities, kernel).
//!
//! Two stages, as in real life. Docker first selects rules with `includes` /
//! `excludes` and expands `archMap` for the host's arch; then runc hands each rule
//! to libseccomp, which skips names it cannot resolve and rules equal to the
//! default, and splits conditions that repeat an argument index into separate
//! (ORed) rules. Everything skipped is kept as a [`Skip`], never dropped silently.

use super::model::{Action, ArgCond, Filter, KernelVersion, Profile, Rule};
use crate::arch::Arch;
use crate::caps::CapSet;

/// What the profile is evaluated for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The native arch: the one `archMap` is expanded for.
    pub arch: Arch,
    pub caps: CapSet,
    /// `None` means "unknown": `minKernel` conditions then count as met.
    pub kernel: Option<KernelVersion>,
}

impl Target {
    /// This machine, with Docker's default capabilities.
    pub fn docker_on_host() -> Target {
        Target {
            arch: Arch::native(),
            caps: CapSet::docker_default(),
            kernel: KernelVersion::running(),
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
    let arches = arches(profile, target.arch);
    for rule in &profile.rules {
        if let Some(reason) = filtered_out(rule, target) {
            skipped.push(Skip::Filtered {
                rule: rule.index,
                reason,
            });
            continue;
        }
        let verdict = Verdict::of(rule.action, rule.errno_ret);
        if verdict == default {
            skipped.push(Skip::EqualsDefault { rule: rule.index });
            continue;
        }
        if rule.names.is_empty() {
            skipped.push(Skip::NoNames { rule: rule.index });
            continue;
        }
        let cond_sets = condition_sets(&rule.args);
        for (name_index, name) in rule.names.iter().enumerate() {
            let on_target: Vec<(Arch, u32)> = arches
                .iter()
                .filter_map(|&a| Some((a, a.syscall_nr(&name.name)?)))
                .collect();
            if on_target.is_empty() {
                let (rule, name) = (rule.index, name.name.clone());
                skipped.push(if crate::arch::is_known_anywhere(&name) {
                    Skip::NotOnTarget {
                        rule,
                        name_index,
                        name,
                    }
                } else {
                    Skip::UnknownName {
                        rule,
                        name_index,
                        name,
                    }
                });
                continue;
            }
            for &(arch, nr) in &on_target {
                for conds in &cond_sets {
                    rules.push(Effective {
                        rule: rule.index,
                        name_index,
                        name: name.name.clone(),
                        arch,
                        nr,
                        verdict,
                        conds: conds.clone(),
                    });
                }
            }
        }
    }
    Resolved {
        target: target.clone(),
        default,
        arches,
        rules,
        skipped,
    }
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
