//! Narrowing: for a syscall the workload used with few argument values, rules that
//! allow those values and no more, proposed from a run's [`Coverage`].
//!
//! ```no_run
//! # use eperm::{coverage::Coverage, profile::Profile, tighten::narrow};
//! # fn f(profile: &Profile, coverage: &Coverage) -> Result<(), Box<dyn std::error::Error>> {
//! let mut out = profile.clone();
//! for p in narrow::proposals(profile, coverage) {
//!     println!("{}: {}\n  {}", p.syscall, p.explanation, p.semantics);
//!     out = p.apply_commented(&out, Some("narrowed by eperm"))?;
//! }
//! # Ok(()) }
//! ```
//!
//! # Soundness
//!
//! A proposal never lets through anything the profile did not: each ALLOW rule
//! naming the syscall is replaced by copies of itself (same action, `includes`,
//! `excludes`) whose conditions are its own *and* the proposal's, so on every
//! target (arch, capabilities, kernel) the new rules allow a subset of what the old
//! one did. And it never denies a call the workload made: the proposal's
//! conditions hold for every value seen in calls the profile allowed, and a seen
//! call's deciding rule still matches it. It is only made when that is knowable:
//! every rule naming the syscall allows (no ERRNO/KILL rule to interact with), the
//! default action denies, and no argument position saw more distinct values than
//! coverage remembers ([`MAX_VALUES`]).
//!
//! # How runtimes read the rules
//!
//! Conditions on distinct arguments in one rule are ANDed by libseccomp (and so by
//! runc, crun, podman), youki and Docker alike; separate rules are ORed. A *repeated*
//! argument index inside one rule is where they part: runc turns each condition
//! into its own rule (OR), others AND them. Proposals therefore write one rule per
//! alternative, each with at most one condition per argument.

use crate::arch::Arch;
use crate::coverage::{Coverage, MAX_VALUES};
use crate::profile::edit::{narrow_rule, EditError};
use crate::profile::resolve::condition_sets;
use crate::profile::{Action, ArgCond, CmpOp, Profile, Rule};
use crate::syscalls::symbols::{self, Set};
use std::collections::BTreeSet;

/// At most this many rules (alternatives) per proposal.
pub const MAX_ALTERNATIVES: usize = 8;

/// `CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET`,
/// the mask Docker's default profile tests `clone` with.
pub const CLONE_NAMESPACES: u64 = 0x7E02_0000;
/// `SOCK_TYPE_MASK`: the socket type without `SOCK_CLOEXEC` / `SOCK_NONBLOCK`.
pub const SOCK_TYPE_MASK: u64 = 0xf;
/// `PROT_WRITE|PROT_EXEC`.
pub const PROT_WRITE_EXEC: u64 = 0x6;

/// How a narrowed argument is tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `SCMP_CMP_EQ` each value seen (enumerations: a family, an option, a request).
    Values,
    /// `SCMP_CMP_MASKED_EQ` with this mask, one rule per combination of its bits
    /// seen (flags: only the dangerous bits matter).
    Masked(u64),
}

/// One argument position proposals constrain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub index: u8,
    pub form: Form,
    /// What the argument is, for people: `"family"`, `"namespace flags"`.
    pub what: &'static str,
}

const fn pos(index: u8, form: Form, what: &'static str) -> Position {
    Position { index, form, what }
}

/// The positions narrowed for `name` on `arch`, most important first.
pub fn positions(arch: Arch, name: &str) -> &'static [Position] {
    const CLONE: &[Position] = &[pos(0, Form::Masked(CLONE_NAMESPACES), "namespace flags")];
    const SOCKET: &[Position] = &[
        pos(0, Form::Values, "family"),
        pos(1, Form::Masked(SOCK_TYPE_MASK), "type"),
    ];
    const PERSONALITY: &[Position] = &[pos(0, Form::Values, "persona")];
    const IOCTL: &[Position] = &[pos(1, Form::Values, "request")];
    const PRCTL: &[Position] = &[pos(0, Form::Values, "option")];
    const PROT: &[Position] = &[pos(
        2,
        Form::Masked(PROT_WRITE_EXEC),
        "prot's PROT_WRITE|PROT_EXEC bits",
    )];
    match name {
        // s390's clone takes the stack first: its flags are argument 1.
        "clone" if matches!(arch, Arch::S390 | Arch::S390x) => &[],
        "clone" => CLONE,
        "socket" | "socketpair" => SOCKET,
        "personality" => PERSONALITY,
        "ioctl" => IOCTL,
        "prctl" => PRCTL,
        "mmap" | "mmap2" | "mprotect" | "pkey_mprotect" => PROT,
        _ => &[],
    }
}

/// The values (or, for a mask, the combinations of its bits) seen at one position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub position: Position,
    pub values: Vec<u64>,
}

/// A narrower allowance for one syscall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal {
    pub syscall: String,
    /// The new conditions: one rule per entry (ORed), its conditions on distinct
    /// arguments (ANDed). Each allowing rule of the profile that names the syscall
    /// is ANDed with these (see [`Proposal::apply`]).
    pub conditions: Vec<Vec<ArgCond>>,
    /// What was seen at each narrowed position.
    pub seen: Vec<Seen>,
    /// One line: `socket only for AF_UNIX, SOCK_STREAM`.
    pub explanation: String,
    /// How runtimes read the rules written.
    pub semantics: String,
    arch: Arch,
}

/// What `runtime` (`None`: any runtime) makes of the rules proposals write:
/// the sentence `check`'s arg-semantics warning says too.
pub fn semantics(runtime: Option<&eperm_core::target::Runtime>) -> String {
    let (_, reading) = eperm_core::target::distinct_conditions(runtime);
    format!(
        "one rule per alternative, at most one condition per argument (a repeated index \
         inside one rule is ORed by runc, ANDed by others: never written): {reading}"
    )
}

impl Proposal {
    /// `profile` with this narrowing: each ALLOW rule naming the syscall is replaced
    /// by copies ANDed with the proposal's conditions (rules that already imply them
    /// are left as they are; rules that can never match them lose the name). Works
    /// on any profile, e.g. one already pruned or narrowed for other syscalls; the
    /// result's `text` is what to save (diff it against `profile.text` to show).
    pub fn apply(&self, profile: &Profile) -> Result<Profile, EditError> {
        self.apply_commented(profile, None)
    }

    /// Like [`Proposal::apply`], giving every new rule a `"comment"`.
    pub fn apply_commented(
        &self,
        profile: &Profile,
        comment: Option<&str>,
    ) -> Result<Profile, EditError> {
        let Ok(plan) = plan(profile, &self.syscall, &self.conditions, self.arch) else {
            // The profile changed under the proposal so that it cannot be written
            // soundly: leave the syscall as it is.
            return Ok(profile.clone());
        };
        let mut out = profile.clone();
        // Last rule first: new rules go at or after their rule's position, so the
        // indices of the rules still to do stay valid.
        for (index, alternatives) in plan.into_iter().rev() {
            out = narrow_rule(&out, index, &self.syscall, &alternatives, comment)?;
        }
        Ok(out)
    }

    /// The rules the proposal writes for the profile it was made from, as text:
    /// `socket: arg0 == 1 && arg1 & 0xf == 1`, one line each.
    pub fn rules_text(&self) -> Vec<String> {
        self.conditions
            .iter()
            .map(|conds| {
                let parts: Vec<String> = conds.iter().map(cond_text).collect();
                format!("{}: {}", self.syscall, parts.join(" && "))
            })
            .collect()
    }
}

fn cond_text(c: &ArgCond) -> String {
    let i = c.index;
    match c.op {
        CmpOp::MaskedEq => format!("arg{i} & {:#x} == {:#x}", c.value, c.value_two),
        op => {
            let sym = match op {
                CmpOp::Ne => "!=",
                CmpOp::Lt => "<",
                CmpOp::Le => "<=",
                CmpOp::Eq => "==",
                CmpOp::Ge => ">=",
                _ => ">",
            };
            format!("arg{i} {sym} {:#x}", c.value)
        }
    }
}

/// Narrower rules for what `coverage` saw, for this host's arch.
pub fn proposals(profile: &Profile, coverage: &Coverage) -> Vec<Proposal> {
    proposals_for(profile, coverage, Arch::native())
}

/// Narrower rules for what `coverage` saw; `arch` is the native arch the coverage
/// was collected on (rules whose `includes`/`excludes` leave it out are kept as
/// they are).
pub fn proposals_for(profile: &Profile, coverage: &Coverage, arch: Arch) -> Vec<Proposal> {
    if profile.default_action == Action::Allow {
        // ALLOW rules are then skipped by runc: narrowing would need deny rules.
        return Vec::new();
    }
    let names: BTreeSet<&str> = coverage
        .tallies
        .iter()
        .filter(|t| t.count > 0 && !positions(arch, &t.syscall).is_empty())
        .map(|t| t.syscall.as_str())
        .collect();
    names
        .into_iter()
        .filter_map(|name| proposal(profile, coverage, arch, name))
        .collect()
}

fn proposal(profile: &Profile, coverage: &Coverage, arch: Arch, name: &str) -> Option<Proposal> {
    let naming: Vec<&Rule> = profile.rules.iter().filter(|r| names(r, name)).collect();
    if naming.is_empty() || naming.iter().any(|r| r.action != Action::Allow) {
        return None;
    }
    let tallies: Vec<_> = coverage
        .tallies
        .iter()
        .filter(|t| t.syscall == name && t.count > 0)
        .collect();
    // Every arch the calls came in on must test the same positions.
    let wanted = positions(arch, name);
    if tallies.iter().any(|t| positions(t.arch, name) != wanted) {
        return None;
    }
    let allowed: Vec<_> = tallies
        .iter()
        .filter(|t| t.action == Action::Allow)
        .collect();
    if allowed.is_empty() {
        return None;
    }
    let mut seen = Vec::new();
    for &position in wanted {
        let key = format!("arg{}", position.index);
        let mut values = BTreeSet::new();
        let mut known = true;
        for t in &allowed {
            match t.values.get(&key) {
                // Saturated: values beyond those remembered may have been seen.
                Some(set) if set.len() < MAX_VALUES => values.extend(set.iter().copied()),
                _ => known = false,
            }
        }
        if !known {
            continue;
        }
        let classes: BTreeSet<u64> = match position.form {
            Form::Values => values,
            Form::Masked(mask) => values.iter().map(|v| v & mask).collect(),
        };
        let everything = match position.form {
            Form::Values => false,
            Form::Masked(mask) => classes.len() as u128 >= 1u128 << mask.count_ones(),
        };
        if everything || classes.is_empty() || classes.len() > MAX_ALTERNATIVES {
            continue;
        }
        let product: usize = seen.iter().map(|s: &Seen| s.values.len()).product();
        if product * classes.len() > MAX_ALTERNATIVES {
            continue;
        }
        seen.push(Seen {
            position,
            values: classes.into_iter().collect(),
        });
    }
    if seen.is_empty() {
        return None;
    }
    let conditions = alternatives(&seen);
    let plan = plan(profile, name, &conditions, arch).ok()?;
    if plan.is_empty() {
        // The profile already allows no more than this.
        return None;
    }
    Some(Proposal {
        syscall: name.to_string(),
        explanation: explain(profile, arch, name, &seen),
        semantics: semantics(None),
        conditions,
        seen,
        arch,
    })
}

/// Every combination of one value per position, as conditions.
fn alternatives(seen: &[Seen]) -> Vec<Vec<ArgCond>> {
    let mut out: Vec<Vec<ArgCond>> = vec![Vec::new()];
    for s in seen {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                s.values.iter().map(move |&v| {
                    let mut conds = prefix.clone();
                    conds.push(condition(s.position, v));
                    conds
                })
            })
            .collect();
    }
    out
}

fn condition(p: Position, v: u64) -> ArgCond {
    match p.form {
        Form::Values => ArgCond {
            index: p.index,
            value: v,
            value_two: 0,
            op: CmpOp::Eq,
        },
        Form::Masked(mask) => ArgCond {
            index: p.index,
            value: mask,
            value_two: v,
            op: CmpOp::MaskedEq,
        },
    }
}

fn names(rule: &Rule, name: &str) -> bool {
    rule.names.iter().any(|n| n.name == name)
}

/// Does Docker keep `rule` on a host of `arch` (as far as arches decide)?
fn admits(rule: &Rule, arch: Arch) -> bool {
    let matches =
        |written: &String| written == arch.go_name() || Arch::parse(written) == Some(arch);
    !rule.excludes.arches.iter().any(matches)
        && (rule.includes.arches.is_empty() || rule.includes.arches.iter().any(matches))
}

/// For each rule that changes (by index, ascending): the condition sets it is
/// replaced with. `Err` when some rule's conditions cannot be combined with the
/// proposal's in one condition per argument.
type Plan = Vec<(usize, Vec<Vec<ArgCond>>)>;

fn plan(
    profile: &Profile,
    name: &str,
    conditions: &[Vec<ArgCond>],
    arch: Arch,
) -> Result<Plan, Unexpressible> {
    let mut out = Vec::new();
    for rule in profile.rules.iter().filter(|r| names(r, name)) {
        if rule.action != Action::Allow {
            return Err(Unexpressible);
        }
        if !admits(rule, arch) {
            continue;
        }
        let old: BTreeSet<Vec<ArgCond>> = condition_sets(&rule.args)
            .into_iter()
            .map(normalized)
            .collect();
        let mut new = BTreeSet::new();
        for o in &old {
            for c in conditions {
                if let Some(both) = conjoin(o, c)? {
                    new.insert(both);
                }
            }
        }
        if new != old {
            out.push((rule.index, new.into_iter().collect()));
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct Unexpressible;

fn normalized(mut conds: Vec<ArgCond>) -> Vec<ArgCond> {
    conds.sort_by_key(|c| (c.index, c.op, c.value, c.value_two));
    conds.dedup();
    conds
}

/// `old AND new` with one condition per argument; `None` when nothing satisfies both.
fn conjoin(old: &[ArgCond], new: &[ArgCond]) -> Result<Option<Vec<ArgCond>>, Unexpressible> {
    let mut out: Vec<ArgCond> = old.to_vec();
    for n in new {
        match out.iter().position(|o| o.index == n.index) {
            None => out.push(*n),
            Some(i) => match both(&out[i], n)? {
                Some(c) => out[i] = c,
                None => return Ok(None),
            },
        }
    }
    Ok(Some(normalized(out)))
}

/// One condition meaning `o AND n` on the same argument, `None` if unsatisfiable.
fn both(o: &ArgCond, n: &ArgCond) -> Result<Option<ArgCond>, Unexpressible> {
    match n.op {
        CmpOp::Eq => Ok(o.op.matches(n.value, o.value, o.value_two).then_some(*n)),
        CmpOp::MaskedEq => {
            let (m, c) = (n.value, n.value_two);
            match o.op {
                CmpOp::Eq => Ok((o.value & m == c).then_some(*o)),
                CmpOp::MaskedEq => {
                    let (m2, c2) = (o.value, o.value_two);
                    if c2 & !m2 != 0 || c & !m != 0 || c & m2 != c2 & m {
                        return Ok(None);
                    }
                    Ok(Some(ArgCond {
                        index: n.index,
                        value: m | m2,
                        value_two: c | c2,
                        op: CmpOp::MaskedEq,
                    }))
                }
                _ => Err(Unexpressible),
            }
        }
        _ => Err(Unexpressible),
    }
}

/// A value at a position, symbolically where eperm knows the names.
fn value_name(arch: Arch, name: &str, p: Position, v: u64) -> String {
    match (name, p.index) {
        ("clone", _) => match v {
            0 => "none".into(),
            v => symbols::flags(Set::Clone.table(arch), v),
        },
        ("socket" | "socketpair", 0) => symbols::enum_or_number(Set::SocketFamily.table(arch), v),
        ("socket" | "socketpair", _) => symbols::enum_or_number(Set::SocketType.table(arch), v),
        ("personality", _) => symbols::flags(Set::Personality.table(arch), v),
        ("ioctl", _) => symbols::ioctl_request(arch, v),
        ("prctl", _) => symbols::enum_or_number(Set::Prctl.table(arch), v),
        (_, 2) => match v {
            0 => "none".into(),
            v => symbols::flags(Set::Prot.table(arch), v),
        },
        _ => format!("{v:#x}"),
    }
}

fn explain(profile: &Profile, arch: Arch, name: &str, seen: &[Seen]) -> String {
    let parts: Vec<String> = seen
        .iter()
        .map(|s| {
            let values: Vec<String> = s
                .values
                .iter()
                .map(|&v| value_name(arch, name, s.position, v))
                .collect();
            format!("{}: {}", s.position.what, values.join(", "))
        })
        .collect();
    let mut text = format!("{name} only with {}", parts.join("; "));
    match name {
        "clone"
            if profile
                .rules
                .iter()
                .any(|r| r.action == Action::Allow && names(r, "clone3")) =>
        {
            text += " (where the profile allows clone3, its flags sit in memory seccomp \
                     cannot read: deny it with ENOSYS and glibc falls back to clone)";
        }
        "mmap" | "mmap2" | "mprotect" | "pkey_mprotect" => {
            text += " (memory never both writable and executable)";
        }
        _ => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::Tally;
    use crate::profile::load_str;

    fn tally(rule: usize, syscall: &str, arg: usize, values: &[u64]) -> Tally {
        Tally {
            count: values.len() as u64,
            values: [(format!("arg{arg}"), values.iter().copied().collect())].into(),
            ..Tally::new(Some(rule), syscall, Arch::X86_64, Action::Allow)
        }
    }

    fn coverage(tallies: Vec<Tally>) -> Coverage {
        Coverage { runs: 1, tallies }
    }

    fn load(text: &str) -> Profile {
        load_str("p.json", text.to_string()).unwrap()
    }

    const DOCKERISH: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "clone", "unshare"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}], "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}], "includes": {"arches": ["s390", "s390x"]}, "excludes": {"caps": ["CAP_SYS_ADMIN"]}}
    ]}"#;

    /// What `tighten` says of its rules is what `check` warns of the same
    /// rules, for every target: one sentence from one function.
    #[test]
    fn says_of_its_rules_what_check_says() {
        use crate::target::{Runtime, RuntimeKind, Version};
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["personality"],
            "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        let runtime = |kind, version| Runtime {
            version: Version::parse(version),
            ..Runtime::newest(kind)
        };
        let mut readings = Vec::new();
        for runtime in [
            None,
            Some(runtime(RuntimeKind::Youki, "0.6.0")),
            Some(runtime(RuntimeKind::Crun, "1.8.1")),
        ] {
            let target = crate::profile::Target {
                runtime: runtime.clone(),
                ..crate::profile::Target::docker_on_host()
            };
            let resolved = crate::profile::resolve(&p, &target);
            let warned = crate::profile::lint(&p, &resolved)
                .into_iter()
                .find(|d| d.code == "arg-semantics")
                .expect("two conditions in one rule are warned of");
            let said = semantics(runtime.as_ref());
            assert!(
                said.ends_with(&warned.message),
                "{said} / {}",
                warned.message
            );
            readings.push(said);
        }
        assert!(
            readings[1].contains("the target) adds each condition"),
            "{}",
            readings[1]
        );
        assert!(readings[2].contains("(the target) ANDs"), "{}", readings[2]);
    }

    #[test]
    fn clone_without_namespaces_narrows_the_privileged_rule_only() {
        let p = load(DOCKERISH);
        let c = coverage(vec![tally(0, "clone", 0, &[0x1200011, 0x3d0f00])]);
        let ps = proposals_for(&p, &c, Arch::X86_64);
        assert_eq!(ps.len(), 1, "{ps:?}");
        let mask = ArgCond {
            index: 0,
            value: CLONE_NAMESPACES,
            value_two: 0,
            op: CmpOp::MaskedEq,
        };
        assert_eq!(ps[0].conditions, vec![vec![mask]]);
        let out = ps[0].apply_commented(&p, Some("narrowed")).unwrap();
        let clone: Vec<&Rule> = out.rules.iter().filter(|r| names(r, "clone")).collect();
        // The privileged copy keeps its includes; the two others are untouched.
        assert_eq!(clone.len(), 3, "{}", out.text);
        let copy = clone
            .iter()
            .find(|r| r.includes.caps == ["CAP_SYS_ADMIN"])
            .unwrap();
        assert_eq!(copy.args, vec![mask]);
        assert_eq!(copy.names.len(), 1);
        assert!(out.rules[0].names.iter().all(|n| n.name != "clone"));
        assert!(out
            .text
            .contains(r#""excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}"#));
        // Applying again changes nothing.
        assert_eq!(ps[0].apply(&out).unwrap().text, out.text);
        assert!(proposals_for(&out, &c, Arch::X86_64).is_empty());
    }

    #[test]
    fn a_namespace_seen_stays_allowed_with_the_others_denied() {
        let p = load(DOCKERISH);
        let newuser = 0x1000_0000;
        let c = coverage(vec![tally(0, "clone", 0, &[0x11, newuser | 0x11])]);
        let ps = proposals_for(&p, &c, Arch::X86_64);
        let values: Vec<u64> = ps[0].conditions.iter().map(|c| c[0].value_two).collect();
        assert_eq!(values, [0, newuser]);
        // The unprivileged rule cannot allow CLONE_NEWUSER: that alternative drops
        // there, so it is left alone; nothing gets looser.
        let out = ps[0].apply(&p).unwrap();
        assert_eq!(out.rules.iter().filter(|r| names(r, "clone")).count(), 4);
    }

    #[test]
    fn socket_family_and_type_conjoin_with_existing_ranges() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_LT"}]},
            {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}]}]}"#,
        );
        let mut t = tally(0, "socket", 0, &[1, 2]);
        t.values.insert("arg1".into(), [0x80001].into());
        let ps = proposals_for(&p, &coverage(vec![t]), Arch::X86_64);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].conditions.len(), 2);
        let out = ps[0].apply(&p).unwrap();
        let args: Vec<Vec<ArgCond>> = out.rules.iter().map(|r| r.args.clone()).collect();
        let eq = |v| ArgCond {
            index: 0,
            value: v,
            value_two: 0,
            op: CmpOp::Eq,
        };
        let ty = ArgCond {
            index: 1,
            value: SOCK_TYPE_MASK,
            value_two: 1,
            op: CmpOp::MaskedEq,
        };
        assert_eq!(args, vec![vec![eq(1), ty], vec![eq(2), ty]], "{}", out.text);
        assert_eq!(
            ps[0].explanation,
            "socket only with family: AF_UNIX, AF_INET; type: SOCK_STREAM"
        );
    }

    #[test]
    fn no_proposal_when_unknowable_or_not_narrower() {
        let p = load(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["ioctl", "mmap"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 21522, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        // A deny rule names ioctl: no proposal.
        assert!(proposals_for(
            &p,
            &coverage(vec![tally(0, "ioctl", 1, &[1])]),
            Arch::X86_64
        )
        .is_empty());
        // Saturated values: unknown, no proposal.
        let many: Vec<u64> = (0..MAX_VALUES as u64).collect();
        assert!(proposals_for(
            &p,
            &coverage(vec![tally(0, "mmap", 2, &many)]),
            Arch::X86_64
        )
        .is_empty());
        // Every combination of PROT_WRITE and PROT_EXEC seen: nothing to narrow.
        assert!(proposals_for(
            &p,
            &coverage(vec![tally(0, "mmap", 2, &[1, 3, 5, 7])]),
            Arch::X86_64
        )
        .is_empty());
        // W^X held: allowed combinations only.
        let ps = proposals_for(
            &p,
            &coverage(vec![tally(0, "mmap", 2, &[1, 3, 5])]),
            Arch::X86_64,
        );
        assert_eq!(ps.len(), 1);
        let classes: Vec<u64> = ps[0].conditions.iter().map(|c| c[0].value_two).collect();
        assert_eq!(classes, [0, 2, 4]);
    }

    #[test]
    fn narrowing_works_inside_an_oci_config() {
        let p = load(
            r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["prctl", "read"], "action": "SCMP_ACT_ALLOW"}]}}}"#,
        );
        let ps = proposals_for(
            &p,
            &coverage(vec![tally(0, "prctl", 0, &[15])]),
            Arch::X86_64,
        );
        let out = ps[0].apply_commented(&p, Some("why")).unwrap();
        assert_eq!(out.rules.len(), 2, "{}", out.text);
        assert_eq!(out.rules[0].names.len(), 1);
        assert_eq!(out.rules[1].names[0].name, "prctl");
        assert_eq!(out.rules[1].args[0].value, 15);
        assert_eq!(out.rules[1].comment.as_deref(), Some("why"));
        assert!(out.text.starts_with(r#"{"ociVersion": "1.0.2""#));
        assert_eq!(ps[0].explanation, "prctl only with option: PR_SET_NAME");
    }
}
