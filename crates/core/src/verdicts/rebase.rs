//! A custom profile's own changes, carried onto a new upstream profile.
//!
//! CUSTOM was made from OLD; NEW is OLD's successor. What CUSTOM decides
//! differently from OLD ([`diff`](super::diff), call by call) is CUSTOM's own
//! change; each syscall it touches is then, against NEW:
//!
//! - **already** done when NEW decides the call as CUSTOM does;
//! - a **conflict** when NEW also changed that call (relative to OLD): the
//!   user decides, nothing is written for it;
//! - **carried** otherwise, as the smallest edit of NEW's text: an allow or a
//!   deny when the change is the same for every argument value, else NEW's
//!   rules for the name replaced by CUSTOM's (their conditions as written).
//!
//! The result is compiled again and every carried call checked: it must be
//! decided as CUSTOM decides it. One that is not is reported as a conflict.

use super::diff::{diff, CallChange, Side};
use crate::arch::Arch;
use crate::compile::{self, Compiled, Mode};
use crate::profile::edit::{self, Edit, EditError, EditReport};
use crate::profile::resolve::filtered_out;
use crate::profile::{resolve, Action, Profile, Resolved, Target, Verdict};
use std::collections::BTreeMap;

/// One profile of the three, loaded, resolved and compiled for the target.
pub struct Input<'a> {
    pub profile: &'a Profile,
    pub side: Side<'a>,
}

/// What happened to one syscall CUSTOM changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Written into the result; the edit engine's reports say how.
    Carried { how: String, reports: Vec<String> },
    /// NEW already decides it as CUSTOM does.
    Already,
    /// NEW changed it too (or the carried edit does not reproduce CUSTOM):
    /// for the user to decide. `why` says which.
    Conflict { why: String },
}

/// One syscall name's changes and what became of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub name: &'static str,
    /// CUSTOM's changes relative to OLD, per arch.
    pub mine: Vec<CallChange>,
    /// NEW's changes relative to OLD, per arch (for conflicts).
    pub upstream: Vec<CallChange>,
    pub fate: Fate,
}

/// The rebased profile (NEW's text with CUSTOM's changes) and the report.
pub struct Rebased {
    pub profile: Profile,
    pub items: Vec<Item>,
    /// What is not carried at all, in a sentence each (default action, arches).
    pub notes: Vec<String>,
}

impl Rebased {
    pub fn conflicts(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.fate, Fate::Conflict { .. }))
            .count()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RebaseError {
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error("the rebased profile does not compile: {0}")]
    Compile(#[from] compile::CompileError),
}

/// Carries `custom`'s changes relative to `old` onto `new` for `target`;
/// rules `rebase` writes carry `comment`.
pub fn rebase(
    custom: &Input,
    old: &Input,
    new: &Input,
    target: &Target,
    comment: &str,
) -> Result<Rebased, RebaseError> {
    let mine = diff(old.side, custom.side);
    let upstream = diff(old.side, new.side);
    let notes = notes(custom, old, &mine);
    let named = |n: &str| {
        [custom.profile, old.profile]
            .iter()
            .any(|p| p.rules.iter().any(|r| r.names.iter().any(|x| x.name == n)))
    };
    // A changed default changes every call no rule names: those are not edits.
    let same_default = custom.side.resolved.default == old.side.resolved.default;
    let mut by_name: BTreeMap<(u32, &'static str), Vec<CallChange>> = BTreeMap::new();
    for c in mine
        .changes
        .iter()
        .filter(|c| same_default || named(c.name))
    {
        let first = mine
            .changes
            .iter()
            .find(|x| x.name == c.name)
            .map_or(0, |x| x.nr);
        by_name.entry((first, c.name)).or_default().push(c.clone());
    }
    let mut out = new.profile.clone();
    let mut items = Vec::new();
    for ((_, name), changes) in by_name {
        let theirs: Vec<CallChange> = upstream.of_name(name).cloned().collect();
        let fate = if decides_alike(custom.side, new.side, &changes) {
            Fate::Already
        } else if !theirs.is_empty() {
            Fate::Conflict {
                why: "NEW changed this syscall too".into(),
            }
        } else {
            let (next, how, reports) = carry(&out, custom, name, &changes, comment)?;
            out = next;
            Fate::Carried { how, reports }
        };
        items.push(Item {
            name,
            mine: changes,
            upstream: theirs,
            fate,
        });
    }
    verify(&out, custom.side, target, &mut items)?;
    Ok(Rebased {
        profile: out,
        items,
        notes,
    })
}

/// Does `b` decide every call of `changes` (each arch, each value probed) as `a`?
fn decides_alike(a: Side, b: Side, changes: &[CallChange]) -> bool {
    changes.iter().all(|c| {
        let both = [a, b];
        let probes = super::probe::vectors(c.arch, &conds(&both, c.arch, c.nr));
        probes.iter().all(|&args| {
            a.compiled.evaluate(c.arch, c.nr, args).verdict
                == b.compiled.evaluate(c.arch, c.nr, args).verdict
        })
    })
}

fn conds<'a>(sides: &[Side<'a>], arch: Arch, nr: u32) -> Vec<&'a [crate::profile::ArgCond]> {
    sides
        .iter()
        .flat_map(|s| s.resolved.rules_for(arch, nr))
        .map(|e| e.conds.as_slice())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The one verdict CUSTOM gives the name everywhere, when its change is the
/// same for every argument value on every arch.
fn whole_verdict(changes: &[CallChange]) -> Option<Verdict> {
    let v = changes.first()?.points.first()?.new;
    changes
        .iter()
        .all(|c| c.whole && c.points[0].new == v)
        .then_some(v)
}

/// Writes CUSTOM's decision for `name` into `profile`: returns the result,
/// what was done in a few words, and the edit engine's reports.
fn carry(
    profile: &Profile,
    custom: &Input,
    name: &'static str,
    changes: &[CallChange],
    comment: &str,
) -> Result<(Profile, String, Vec<String>), RebaseError> {
    let default = Verdict::of(profile.default_action, profile.default_errno);
    if let Some(v) = whole_verdict(changes) {
        let edit = match v.action {
            _ if v == default => Some(Edit::Remove(name.into())),
            Action::Allow => Some(Edit::Allow(name.into())),
            Action::Errno => Some(Edit::Deny {
                name: name.into(),
                errno: Some(v.data),
            }),
            _ => None,
        };
        if let Some(edit) = edit {
            let applied =
                edit::apply_commented(profile, std::slice::from_ref(&edit), Some(comment))?;
            let reports = applied.reports.iter().map(EditReport::to_string).collect();
            return Ok((applied.profile, edit.to_string(), reports));
        }
    }
    copy_rules(profile, custom, name, comment)
}

/// Takes `name` out of every rule of `profile` and appends CUSTOM's rules for
/// it (those the target keeps), in CUSTOM's order.
fn copy_rules(
    profile: &Profile,
    custom: &Input,
    name: &'static str,
    comment: &str,
) -> Result<(Profile, String, Vec<String>), RebaseError> {
    let removed = edit::apply(profile, &[Edit::Remove(name.into())])?;
    let mut reports: Vec<String> = removed.reports.iter().map(EditReport::to_string).collect();
    let mut out = removed.profile;
    let target = &custom.side.resolved.target;
    let default = custom.side.resolved.default;
    let mut copied = Vec::new();
    for rule in &custom.profile.rules {
        let names_it = rule.names.iter().any(|n| n.name == name);
        let kept = filtered_out(rule, target).is_none();
        if !names_it || !kept || Verdict::of(rule.action, rule.errno_ret) == default {
            continue;
        }
        out = edit::add_rule_for(
            &out,
            name,
            (rule.action, rule.errno_ret),
            &rule.args,
            Some(comment),
        )?;
        copied.push(custom.profile.path(&format!("syscalls[{}]", rule.index)));
        reports.push(format!(
            "added a rule like {}",
            copied.last().expect("pushed")
        ));
    }
    let how = format!("{name}'s rules copied from CUSTOM's {}", copied.join(", "));
    Ok((out, how, reports))
}

/// Compiles the result and checks every carried call against CUSTOM.
fn verify(
    out: &Profile,
    custom: Side,
    target: &Target,
    items: &mut [Item],
) -> Result<(), RebaseError> {
    let resolved: Resolved = resolve(out, target);
    let compiled: Compiled = compile::compile(&resolved, Mode::Enforce)?;
    let result = Side {
        resolved: &resolved,
        compiled: &compiled,
    };
    for item in items.iter_mut() {
        if matches!(item.fate, Fate::Carried { .. }) && !decides_alike(custom, result, &item.mine) {
            item.fate = Fate::Conflict {
                why: "the carried edit does not decide it as CUSTOM does (NEW's other rules for it interfere)".into(),
            };
        }
    }
    Ok(())
}

/// What CUSTOM changes that `rebase` does not carry.
fn notes(custom: &Input, old: &Input, mine: &super::VerdictDiff) -> Vec<String> {
    let mut notes = Vec::new();
    let (c, o) = (custom.side.resolved.default, old.side.resolved.default);
    if c != o {
        notes.push(format!(
            "CUSTOM's default action is {} where OLD's is {}: not carried (only the syscalls their rules name are)",
            c.describe(),
            o.describe()
        ));
    }
    for a in &mine.only_new {
        notes.push(format!("CUSTOM covers {a}, OLD does not: not carried"));
    }
    for a in &mine.only_old {
        notes.push(format!("CUSTOM drops {a}, which OLD covers: not carried"));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::profile::load_str;

    fn target() -> Target {
        Target {
            arch: Arch::X86_64,
            caps: CapSet::docker_default(),
            kernel: None,
            runtime: None,
        }
    }

    struct Built {
        profile: Profile,
        resolved: Resolved,
        compiled: Compiled,
    }

    fn built(name: &str, allowed: &str, extra: &str) -> Built {
        let text = format!(
            "{{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {{\"names\": [{allowed}], \"action\": \"SCMP_ACT_ALLOW\"}}{extra}\n  ]\n}}\n"
        );
        let profile = load_str(name, text).unwrap();
        let resolved = resolve(&profile, &target());
        let compiled = compile::compile(&resolved, Mode::Enforce).unwrap();
        Built {
            profile,
            resolved,
            compiled,
        }
    }

    fn input(b: &Built) -> Input<'_> {
        Input {
            profile: &b.profile,
            side: Side {
                resolved: &b.resolved,
                compiled: &b.compiled,
            },
        }
    }

    #[test]
    fn changes_are_carried_found_done_or_left_as_conflicts() {
        let old = built("old.json", r#""read", "write", "getpid""#, "");
        let enosys = r#",
    {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#;
        let eacces = r#",
    {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}"#;
        let custom = built(
            "custom.json",
            r#""read", "getpid", "mount", "chdir""#,
            eacces,
        );
        let new = built("new.json", r#""read", "getpid", "mount""#, enosys);
        let done = rebase(&input(&custom), &input(&old), &input(&new), &target(), "c").unwrap();
        let fate = |n: &str| &done.items.iter().find(|i| i.name == n).unwrap().fate;
        assert!(matches!(fate("chdir"), Fate::Carried { .. }));
        assert_eq!(fate("mount"), &Fate::Already);
        assert!(matches!(fate("write"), Fate::Conflict { .. }));
        assert_eq!(done.items.len(), 3);
        assert_eq!(done.conflicts(), 1);
        // chdir is allowed in the result; write is left as NEW has it.
        let r = resolve(&done.profile, &target());
        let c = compile::compile(&r, Mode::Enforce).unwrap();
        let nr = |n| Arch::X86_64.syscall_nr(n).unwrap();
        let verdict = |n| c.evaluate(Arch::X86_64, nr(n), [0; 6]).verdict;
        assert_eq!(verdict("chdir"), Verdict::ALLOW);
        assert_eq!(verdict("write").data, 38);
        assert!(done.profile.text.contains(r#""errnoRet": 38"#));
        assert!(!done.profile.text.contains(r#""errnoRet": 13"#));
        assert!(done.notes.is_empty());
    }
}
