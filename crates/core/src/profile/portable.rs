//! Portability between the arches one filter covers: a rule for a call one
//! arch lacks (`open` on arm64) does nothing there unless the call that takes
//! its place (`openat`) gets the same verdict; and a rule for the modern call
//! alone misses the legacy one that programs of another covered arch make.
//! The pairs are [`crate::arch::counterparts`]; `check` reports each gap as
//! `not-portable`, and `edit --portable` closes them.

use super::edit::EditError;
use super::model::{ArgCond, Profile, Rule};
use super::resolve::{filtered_out, resolve, Resolved, Target, Verdict};
use crate::arch::counterparts::{instead_on, replaced_by, Counterpart};
use crate::arch::Arch;
use std::collections::{HashMap, HashSet};

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
    let live =
        |r: &Rule| filtered_out(r, &resolved.target).is_none() && verdict(r) != resolved.default;
    let live_rules: Vec<&Rule> = profile.rules.iter().filter(|r| live(r)).collect();
    // Once, not per name: a profile may have 200,000 rules.
    let given: HashSet<(&str, Verdict)> = live_rules
        .iter()
        .flat_map(|r| r.names.iter().map(|n| (n.name.as_str(), verdict(r))))
        .collect();
    let covered = |name: &str, v: Verdict| given.contains(&(name, v));
    let mut out: Vec<Gap> = Vec::new();
    let mut at: HashMap<(usize, usize, &str), usize> = HashMap::new();
    for rule in live_rules {
        for (name_index, n) in rule.names.iter().enumerate() {
            for (arch, c, missing) in pairs(&n.name, &resolved.arches) {
                let counterpart = if missing { c.modern } else { c.legacy };
                // Backwards, one legacy form with the verdict shows the arch
                // was thought of (open allowed: creat is not asked for).
                let thought_of = !missing
                    && replaced_by(&n.name).any(|l| {
                        arch.syscall_nr(l.legacy).is_some() && covered(l.legacy, verdict(rule))
                    });
                if thought_of || covered(counterpart, verdict(rule)) {
                    continue;
                }
                let key = (rule.index, name_index, counterpart);
                match at.get(&key).map(|&i| &mut out[i]) {
                    Some(g) if !g.arches.contains(&arch) => g.arches.push(arch),
                    Some(_) => {}
                    None => {
                        at.insert(key, out.len());
                        out.push(Gap {
                            rule: rule.index,
                            name_index,
                            name: n.name.clone(),
                            counterpart,
                            arches: vec![arch],
                            missing,
                            verdict: verdict(rule),
                            conds: carried(&rule.args, c, missing),
                        });
                    }
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
        // A 32-bit companion (arm beside aarch64) is the missing-sub-arch
        // lint's business; its legacy calls are not asked for here.
        if parent(arch).is_some_and(|p| arches.contains(&p)) {
            continue;
        }
        let legacy = replaced_by(name).filter(|c| {
            arch.syscall_nr(c.legacy).is_some()
                && arches.iter().any(|&b| {
                    b.syscall_nr(c.legacy).is_none()
                        && !parent(b).is_some_and(|p| arches.contains(&p))
                })
        });
        out.extend(legacy.map(|c| (arch, c, false)));
    }
    out
}

/// The 64-bit arch whose 32-bit (or n32) companion `arch` is.
fn parent(arch: Arch) -> Option<Arch> {
    Some(match arch {
        Arch::X86 | Arch::X32 => Arch::X86_64,
        Arch::Arm => Arch::Aarch64,
        Arch::S390 => Arch::S390x,
        Arch::Ppc => Arch::Ppc64,
        Arch::Mips | Arch::Mips64n32 => Arch::Mips64,
        Arch::Mipsel | Arch::Mips64n32el => Arch::Mips64el,
        _ => return None,
    })
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

/// What `edit --portable` did: the profile, and a line per counterpart added
/// or left for the user.
#[derive(Clone, Debug)]
pub struct Made {
    pub profile: Profile,
    pub added: Vec<String>,
    pub left: Vec<String>,
}

/// Closes every gap of `profile` on each native arch it may run on (see
/// [`every_native`]) and on `also`; `target` gives the rest. Each counterpart gets its
/// rule's action and conditions, as a name added to the rule, or a sibling
/// rule when the rule has conditions. A counterpart with a verdict of its
/// own elsewhere, or a condition with no place in it, is left and said.
pub fn make_portable(profile: &Profile, target: &Target, also: &[Arch]) -> Result<Made, EditError> {
    let mut natives = every_native(profile, target.arch);
    natives.extend(
        also.iter()
            .filter(|a| !natives.contains(a))
            .collect::<Vec<_>>(),
    );
    let mut made = Made {
        profile: profile.clone(),
        added: Vec::new(),
        left: Vec::new(),
    };
    // A legacy call added for another arch may need its other counterparts in
    // turn (access for faccessat wants faccessat2); each round adds names only,
    // from a table of forty rows, so a few rounds end it.
    for _ in 0..4 {
        let round = one_round(&made.profile, target, &natives)?;
        made.profile = round.profile;
        made.left = round.left;
        if round.added.is_empty() {
            break;
        }
        made.added.extend(round.added);
    }
    Ok(made)
}

fn one_round(profile: &Profile, target: &Target, natives: &[Arch]) -> Result<Made, EditError> {
    let mut all: Vec<Gap> = Vec::new();
    for &arch in natives {
        let t = Target {
            arch,
            ..target.clone()
        };
        for gap in gaps(profile, &resolve(profile, &t)) {
            let same = all.iter_mut().find(|g| {
                (g.rule, g.name_index, g.counterpart) == (gap.rule, gap.name_index, gap.counterpart)
            });
            match same {
                Some(g) => {
                    for a in gap.arches {
                        if !g.arches.contains(&a) {
                            g.arches.push(a);
                        }
                    }
                }
                None => all.push(gap),
            }
        }
    }
    // From the last rule up: a rule added after one leaves those above in place.
    all.sort_by_key(|g| (std::cmp::Reverse(g.rule), g.name_index));
    let mut made = Made {
        profile: profile.clone(),
        added: Vec::new(),
        left: Vec::new(),
    };
    let mut done: Vec<(usize, &str, Vec<ArgCond>)> = Vec::new();
    for gap in &all {
        let (name, other, at) = (&gap.name, gap.counterpart, gap.rule);
        let conds = match &gap.conds {
            Ok(conds) => conds.clone(),
            Err(i) => {
                made.left.push(format!("{other}: args[{i}] of {name} (syscalls[{at}]) has no place in it; give {other} a rule of its own"));
                continue;
            }
        };
        if let Some(r) = own_verdict(&made.profile, other, gap.verdict) {
            made.left.push(format!("{other}: syscalls[{r}] gives it another verdict than {name} has (syscalls[{at}]); left as it is"));
            continue;
        }
        if done.iter().any(|d| *d == (at, other, conds.clone())) {
            continue;
        }
        made.profile = super::edit::add_counterpart(&made.profile, at, other, &conds)?;
        let mut arches = gap.arches.clone();
        arches.sort();
        let arches: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        made.added.push(format!(
            "{other}, as {name} in syscalls[{at}] (for {})",
            arches.join("+")
        ));
        done.push((at, other, conds));
    }
    Ok(made)
}

/// A rule naming `name` with a verdict other than `v`.
fn own_verdict(profile: &Profile, name: &str, v: Verdict) -> Option<usize> {
    profile
        .rules
        .iter()
        .find(|r| verdict(r) != v && r.names.iter().any(|n| n.name == name))
        .map(|r| r.index)
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
        assert!(gaps
            .iter()
            .any(|g| g.name == "open" && g.counterpart == "openat"));
    }

    fn made(text: &str) -> Made {
        let p = load_str("p.json", text.to_string()).unwrap();
        let target = Target {
            arch: Arch::X86_64,
            caps: CapSet::docker_default(),
            kernel: None,
            runtime: None,
        };
        make_portable(&p, &target, &[]).unwrap()
    }

    #[test]
    fn the_counterparts_join_the_rule_and_the_gaps_close() {
        let text = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_AARCH64\"],\n  \"syscalls\": [\n    {\"names\": [\"open\", \"read\"], \"action\": \"SCMP_ACT_ALLOW\"}\n  ]\n}\n";
        let m = made(text);
        assert_eq!(
            m.profile.text,
            text.replace("\"open\", \"read\"", "\"open\", \"openat\", \"read\"")
        );
        assert_eq!(m.added, ["openat, as open in syscalls[0] (for aarch64)"]);
        let again = made(&m.profile.text);
        assert!(again.added.is_empty() && again.left.is_empty(), "{again:?}");
        // faccessat alone: access for x86_64, which wants faccessat2 for aarch64.
        let m = made(&text.replace("\"open\"", "\"faccessat\""));
        let names: Vec<&str> = m.profile.rules[0]
            .names
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["access", "faccessat", "faccessat2", "read"],
            "{:?}",
            m.added
        );
    }

    #[test]
    fn conditional_rules_get_a_sibling_with_the_conditions_moved() {
        let text = profile(
            BOTH,
            r#"{"names": ["open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                "args": [{"index": 1, "value": 64, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 64}]},
               {"names": ["poll"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 2, "value": 0, "op": "SCMP_CMP_EQ"}]}"#,
        );
        let m = made(&text);
        let openat = &m.profile.rules[1];
        assert_eq!(openat.names[0].name, "openat");
        assert_eq!(
            (openat.action, openat.errno_ret),
            (crate::profile::Action::Errno, Some(38))
        );
        assert_eq!(openat.args[0].index, 2);
        assert_eq!((openat.args[0].value, openat.args[0].value_two), (64, 64));
        assert_eq!(m.profile.rules.len(), 3);
        assert_eq!(m.left.len(), 1, "{:?}", m.left);
        assert!(m.left[0].contains("args[2] of poll"), "{:?}", m.left);
    }
}
