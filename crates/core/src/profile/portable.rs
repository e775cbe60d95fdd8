//! Portability between the arches one filter covers: a rule for a call one
//! arch lacks (`open` on arm64) does nothing there unless the call that takes
//! its place (`openat`) gets the same verdict; and a rule for the modern call
//! alone misses the legacy one that programs of another covered arch make.
//! The pairs are [`crate::arch::counterparts`]; `check` reports each gap as
//! `not-portable`, and `edit --portable` closes them.

use super::edit::EditError;
use super::model::{ArgCond, CmpOp, Profile, Rule};
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
/// A rule's `includes`/`excludes` are judged by the host an arch's programs
/// run on (runc matches `includes.arches` against the host): arm64's gaps by
/// the rules an arm64 host keeps, whatever host `resolved` was made for.
pub fn gaps(profile: &Profile, resolved: &Resolved) -> Vec<Gap> {
    let native = resolved.target.arch;
    let mut out: Vec<Gap> = Vec::new();
    let mut at: HashMap<(usize, usize, &str), usize> = HashMap::new();
    let mut hosts: Vec<Arch> = Vec::new();
    for &arch in &resolved.arches {
        let host = host_of(arch, native);
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    for &host in &hosts {
        let target = Target {
            arch: host,
            ..resolved.target.clone()
        };
        let live = |r: &Rule| filtered_out(r, &target).is_none() && verdict(r) != resolved.default;
        let live_rules: Vec<&Rule> = profile.rules.iter().filter(|r| live(r)).collect();
        // Once, not per name: a profile may have 200,000 rules.
        let given: HashSet<(&str, Verdict)> = live_rules
            .iter()
            .flat_map(|r| r.names.iter().map(|n| (n.name.as_str(), verdict(r))))
            .collect();
        let covered = |name: &str, v: Verdict| given.contains(&(name, v));
        for rule in live_rules {
            for (name_index, n) in rule.names.iter().enumerate() {
                let on_host = pairs(&n.name, &resolved.arches)
                    .into_iter()
                    .filter(|&(arch, ..)| host_of(arch, native) == host);
                for (arch, c, missing) in on_host {
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
    }
    out.sort_by_key(|g| (g.rule, g.name_index));
    out.iter_mut().for_each(|g| g.arches.sort());
    out
}

/// The host whose programs make `arch`'s calls: `native` for itself and its
/// companions (x86 on x86_64), else the arch's own 64-bit parent.
fn host_of(arch: Arch, native: Arch) -> Arch {
    match parent(arch) {
        _ if arch == native => native,
        Some(p) if p == native => native,
        Some(p) => p,
        None => arch,
    }
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
        let from = natives
            .iter()
            .copied()
            .find(|a| a.syscall_nr(name).is_some())
            .unwrap_or(target.arch);
        let groups = match read_on(&conds, other, from, &gap.arches) {
            Ok(groups) => groups,
            Err(arch) => {
                made.left.push(format!("{other}: a value in the conditions of {name} (syscalls[{at}]) has no name on {arch}; give {other} a rule of its own there"));
                continue;
            }
        };
        // Values that mean the same everywhere go to the counterpart on every
        // arch; moved ones only where they were moved for.
        let moved = groups.len() > 1 || groups[0].0 != conds;
        let rule = made.profile.rules.iter().find(|r| r.index == at);
        if moved
            && rule.is_some_and(|r| {
                r.includes != Default::default() || r.excludes != Default::default()
            })
        {
            made.left.push(format!("{other}: the flag values of {name} (syscalls[{at}]) differ on {}, and the rule has includes or excludes of its own; give {other} a rule of its own there", groups.iter().flat_map(|g| &g.1).map(|a| a.name()).collect::<Vec<_>>().join("+")));
            continue;
        }
        for (conds, mut arches) in groups {
            if done.iter().any(|d| *d == (at, other, conds.clone())) {
                continue;
            }
            arches.sort();
            let only = if moved { arches.as_slice() } else { &[] };
            made.profile = super::edit::add_counterpart(&made.profile, at, other, &conds, only)?;
            let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
            made.added.push(format!(
                "{other}, as {name} in syscalls[{at}] (for {})",
                names.join("+")
            ));
            done.push((at, other, conds));
        }
    }
    Ok(made)
}

/// Conditions as some arches read them, and those arches.
type ReadOn = (Vec<ArgCond>, Vec<Arch>);

/// `conds` (written for `from`) as `other` reads them on each of `arches`,
/// grouped by result: open's flags move on arm. `Err`: an arch where a
/// value has no name to carry it.
fn read_on(
    conds: &[ArgCond],
    other: &str,
    from: Arch,
    arches: &[Arch],
) -> Result<Vec<ReadOn>, Arch> {
    let mut groups: Vec<ReadOn> = Vec::new();
    for &to in arches {
        let there = conds
            .iter()
            .map(|c| cond_on(c, other, from, to))
            .collect::<Option<Vec<_>>>()
            .ok_or(to)?;
        match groups.iter_mut().find(|g| g.0 == there) {
            Some(g) => g.1.push(to),
            None => groups.push((there, vec![to])),
        }
    }
    Ok(groups)
}

/// One condition of `other` written for `from`, as it reads on `to`.
fn cond_on(c: &ArgCond, other: &str, from: Arch, to: Arch) -> Option<ArgCond> {
    use crate::syscalls::signatures::{kinds, ArgKind};
    use crate::syscalls::symbols::translate;
    let kind = kinds(to, other).and_then(|k| k.get(usize::from(c.index)).copied());
    let (Some(ArgKind::Flags(set)) | Some(ArgKind::Enum(set))) = kind else {
        return Some(*c);
    };
    let t = |v| translate(set, from, to, v);
    match c.op {
        // `value` is the mask, `valueTwo` the bits wanted under it.
        CmpOp::MaskedEq => Some(ArgCond {
            value: t(c.value)?,
            value_two: t(c.value_two)?,
            ..*c
        }),
        CmpOp::Eq | CmpOp::Ne => Some(ArgCond {
            value: t(c.value)?,
            ..*c
        }),
        // An order on flags: only where nothing moves.
        _ => (t(c.value)? == c.value).then_some(*c),
    }
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

    /// Docker on a host of `arch`, any kernel, eperm loading the filter.
    fn target(arch: Arch) -> Target {
        Target {
            arch,
            caps: CapSet::docker_default(),
            kernel: None,
            runtime: None,
        }
    }

    fn gaps_of(text: &str, native: Arch) -> Vec<Gap> {
        let p = load_str("p.json", text.to_string()).unwrap();
        gaps(&p, &resolve(&p, &target(native)))
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
        make_portable(&p, &target(Arch::X86_64), &[]).unwrap()
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

    /// x86_64's O_DIRECTORY (0o200000) is O_DIRECT on arm64, where
    /// O_DIRECTORY is 0o40000: the counterpart's condition is arm64's value,
    /// for arm64 alone (on x86_64 its openat reads the rule's own values).
    #[test]
    fn open_flags_that_move_on_arm64_move_in_the_condition_too() {
        let text = profile(
            BOTH,
            r#"{"names": ["open"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 1, "value": 65536, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 65536}]}"#,
        );
        let m = made(&text);
        let openat = &m.profile.rules[1];
        assert_eq!(openat.names[0].name, "openat");
        assert_eq!(
            (
                openat.args[0].index,
                openat.args[0].value,
                openat.args[0].value_two
            ),
            (2, 0o40000, 0o40000)
        );
        assert_eq!(openat.includes.arches, ["arm64"]);
        assert_eq!(m.added, ["openat, as open in syscalls[0] (for aarch64)"]);
        // The verdicts: O_DIRECTORY opens are allowed on both arches, and
        // arm64's O_DIRECT (x86_64's O_DIRECTORY bit) is not.
        let on = |arch, name, flags| {
            let t = Target {
                arch,
                caps: CapSet::docker_default(),
                kernel: None,
                runtime: None,
            };
            let compiled =
                crate::compile::compile(&resolve(&m.profile, &t), crate::compile::Mode::Enforce)
                    .unwrap();
            let nr = arch.syscall_nr(name).unwrap();
            compiled
                .evaluate(arch, nr, [0, 0, flags, 0, 0, 0])
                .verdict
                .action
        };
        use crate::profile::Action::{Allow, Errno};
        assert_eq!(on(Arch::Aarch64, "openat", 0o40000), Allow);
        assert_eq!(on(Arch::Aarch64, "openat", 0o200000), Errno);
        assert_eq!(on(Arch::X86_64, "openat", 0o200000), Errno);
        let again = made(&m.profile.text);
        assert!(again.added.is_empty() && again.left.is_empty(), "{again:?}");
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
