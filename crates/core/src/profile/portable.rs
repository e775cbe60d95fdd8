//! Portability between the arches one filter covers: a rule for a call one
//! arch lacks (`open` on arm64) does nothing there unless the call that takes
//! its place (`openat`) gets the same verdict; and a rule for the modern call
//! alone misses the legacy one that programs of another covered arch make.
//! The pairs are [`crate::arch::counterparts`]; `check` reports each gap as
//! `not-portable`, and `edit --portable` closes them.

use super::model::{ArgCond, Profile, Rule};
use super::resolve::{filtered_out, Resolved, Verdict};
use crate::arch::counterparts::{instead_on, replaced_by, Counterpart};
use crate::arch::Arch;

/// One call a rule's verdict does not reach on some arches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The rule (index in `syscalls[]`) and its name that has the verdict.
    pub rule: usize,
    pub name_index: usize,
    pub name: String,
    /// The call that should have it too, and on which arches.
    pub counterpart: &'static str,
    pub arches: Vec<Arch>,
    /// `name` is missing on `arches` (`open` on arm64); otherwise `name` is
    /// the modern call and `counterpart` the legacy one programs of `arches` make.
    pub missing: bool,
    pub verdict: Verdict,
    /// The rule's conditions, rewritten for the counterpart's arguments;
    /// `Err(index)`: the rule's `args[index]` has no place there.
    pub conds: Result<Vec<ArgCond>, u8>,
}

/// Every gap of `profile` over the arches `resolved` covers, rule by rule.
pub fn gaps(profile: &Profile, resolved: &Resolved) -> Vec<Gap> {
    let live = |r: &Rule| {
        filtered_out(r, &resolved.target).is_none() && verdict(r) != resolved.default
    };
    let covered = |name: &str, v: Verdict| {
        profile
            .rules
            .iter()
            .any(|r| live(r) && verdict(r) == v && r.names.iter().any(|n| n.name == name))
    };
    let mut out: Vec<Gap> = Vec::new();
    for rule in profile.rules.iter().filter(|r| live(r)) {
        for (name_index, n) in rule.names.iter().enumerate() {
            for (arch, c, missing) in pairs(&n.name, &resolved.arches) {
                let counterpart = if missing { c.modern } else { c.legacy };
                if covered(counterpart, verdict(rule)) {
                    continue;
                }
                let same = out.iter_mut().find(|g| {
                    g.rule == rule.index && g.name_index == name_index && g.counterpart == counterpart
                });
                match same {
                    Some(g) if !g.arches.contains(&arch) => g.arches.push(arch),
                    Some(_) => {}
                    None => out.push(Gap {
                        rule: rule.index,
                        name_index,
                        name: n.name.clone(),
                        counterpart,
                        arches: vec![arch],
                        missing,
                        verdict: verdict(rule),
                        conds: carried(&rule.args, c, missing),
                    }),
                }
            }
        }
    }
    out.iter_mut().for_each(|g| g.arches.sort());
    out
}

fn verdict(rule: &Rule) -> Verdict {
    Verdict::of(rule.action, rule.errno_ret)
}

/// The counterparts `name` needs on each of `arches`: where `name` is missing,
/// what takes its place (`true`); where `name` is a modern call whose legacy
/// form is there but missing on another of `arches`, that legacy form (`false`).
fn pairs(name: &str, arches: &[Arch]) -> Vec<(Arch, &'static Counterpart, bool)> {
    let mut out = Vec::new();
    for &arch in arches {
        if arch.syscall_nr(name).is_none() {
            out.extend(instead_on(name, arch).into_iter().map(|c| (arch, c, true)));
            continue;
        }
        let legacy = replaced_by(name).filter(|c| {
            arch.syscall_nr(c.legacy).is_some()
                && arches.iter().any(|b| b.syscall_nr(c.legacy).is_none())
        });
        out.extend(legacy.map(|c| (arch, c, false)));
    }
    out
}

/// `args` as conditions on the counterpart's arguments.
fn carried(args: &[ArgCond], c: &Counterpart, forward: bool) -> Result<Vec<ArgCond>, u8> {
    args.iter()
        .map(|a| {
            let index = if forward {
                c.forward(a.index)
            } else {
                c.backward(a.index)
            };
            index.map(|index| ArgCond { index, ..*a }).ok_or(a.index)
        })
        .collect()
}

/// The arches a filter from `profile` may cover on some host: `native`, and
/// each native arch the profile names with the sub-arches it gives it.
pub fn every_native(profile: &Profile, native: Arch) -> Vec<Arch> {
    let mut out = vec![native];
    let named = profile
        .architectures
        .iter()
        .copied()
        .chain(profile.arch_map.iter().map(|m| m.arch));
    for arch in named {
        if !out.contains(&arch) {
            out.push(arch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::profile::{load_str, resolve, Target};

    fn gaps_of(text: &str, native: Arch) -> Vec<Gap> {
        let p = load_str("p.json", text.to_string()).unwrap();
        let target = Target {
            arch: native,
            caps: CapSet::docker_default(),
            kernel: None,
            runtime: None,
        };
        gaps(&p, &resolve(&p, &target))
    }

    fn profile(arches: &str, rules: &str) -> String {
        format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "architectures": [{arches}], "syscalls": [{rules}]}}"#
        )
    }

    const BOTH: &str = r#""SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64""#;

    #[test]
    fn legacy_names_miss_their_counterparts_on_arm64() {
        let text = profile(
            BOTH,
            r#"{"names": ["open", "read", "access"], "action": "SCMP_ACT_ALLOW"}"#,
        );
        let gaps = gaps_of(&text, Arch::X86_64);
        let got: Vec<_> = gaps
            .iter()
            .map(|g| (g.name.as_str(), g.counterpart, g.arches.clone(), g.missing))
            .collect();
        assert_eq!(
            got,
            [
                ("open", "openat", vec![Arch::Aarch64], true),
                ("access", "faccessat", vec![Arch::Aarch64], true),
                ("access", "faccessat2", vec![Arch::Aarch64], true),
            ]
        );
    }

    #[test]
    fn modern_names_miss_the_legacy_ones_of_the_other_arch() {
        let text = profile(BOTH, r#"{"names": ["openat"], "action": "SCMP_ACT_ALLOW"}"#);
        let got: Vec<_> = gaps_of(&text, Arch::Aarch64)
            .iter()
            .map(|g| (g.counterpart, g.arches.clone(), g.missing))
            .collect();
        assert_eq!(
            got,
            [
                ("open", vec![Arch::X86_64], false),
                ("creat", vec![Arch::X86_64], false),
            ]
        );
    }

    #[test]
    fn one_arch_alone_has_no_gap() {
        let text = profile(
            r#""SCMP_ARCH_X86_64""#,
            r#"{"names": ["open", "openat", "stat"], "action": "SCMP_ACT_ALLOW"}"#,
        );
        assert!(gaps_of(&text, Arch::X86_64).is_empty());
    }

    #[test]
    fn conditions_move_with_the_arguments() {
        let text = profile(
            BOTH,
            r#"{"names": ["open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 1}]},
               {"names": ["poll"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]}"#,
        );
        let gaps = gaps_of(&text, Arch::X86_64);
        let open = gaps.iter().find(|g| g.name == "open").unwrap();
        assert_eq!(open.verdict.data, 38);
        assert_eq!(open.conds.as_ref().unwrap()[0].index, 2);
        let poll = gaps.iter().find(|g| g.name == "poll").unwrap();
        assert_eq!(poll.conds, Err(2));
    }

    #[test]
    fn a_counterpart_with_another_verdict_is_still_a_gap() {
        let text = profile(
            BOTH,
            r#"{"names": ["open"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["openat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#,
        );
        let gaps = gaps_of(&text, Arch::X86_64);
        assert!(gaps.iter().any(|g| g.name == "open" && g.counterpart == "openat"));
    }
}
