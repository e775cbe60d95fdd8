//! Pruning: the allowances a workload never used, from its coverage, and the
//! edits that take them out. Shared by `eperm tighten`, `run --coverage` and the
//! TUI's Coverage view.

use crate::arch::Arch;
use crate::coverage::Coverage;
use crate::profile::edit::Edit;
use crate::profile::{Action, Profile};
use std::collections::BTreeSet;

/// Each allowance (an ALLOW rule's name) with its use count; then the unused
/// names, each once (a name several rules allow is unused only when no run used
/// it under any of them) and only names that exist on one of `arches` (the
/// target's: `s390_pci_mmio_read` is no allowance on x86_64).
pub fn report(profile: &Profile, coverage: &Coverage, arches: &[Arch]) -> String {
    let mut s = String::new();
    let exists = |name: &str| arches.iter().any(|a| a.syscall_nr(name).is_some());
    let used_names = coverage.used();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    let mut unused: Vec<&str> = Vec::new();
    for rule in profile.rules.iter().filter(|r| r.action == Action::Allow) {
        let mut line = Vec::new();
        for n in rule.names.iter().filter(|n| exists(&n.name)) {
            let name = n.name.as_str();
            let count: u64 = coverage
                .tallies
                .iter()
                .filter(|t| t.rule == Some(rule.index) && t.syscall == name)
                .map(|t| t.count)
                .sum();
            if count > 0 {
                line.push(format!("{name}×{count}"));
            }
            if names.insert(name) && !used_names.contains(name) {
                unused.push(name);
            }
        }
        if !line.is_empty() {
            s += &format!(
                "  {}: {}\n",
                profile.path(&format!("syscalls[{}]", rule.index)),
                line.join(", ")
            );
        }
    }
    let used = names.len() - unused.len();
    let mut out = format!(
        "eperm: coverage: {used} of {} allowed names used\n{s}",
        names.len()
    );
    if !unused.is_empty() {
        out += &format!("unused ({}): {}\n", unused.len(), unused.join(", "));
    }
    out
}

/// The edits that take out what was never used: names of ALLOW rules that no
/// run used, except what the runtime needs to exec and names any non-ALLOW rule
/// also lists (removing those would change more than the allowance).
pub fn prune_edits(profile: &Profile, coverage: &Coverage) -> Vec<Edit> {
    let used = coverage.used();
    let before = coverage.before_exec();
    let elsewhere = listed_otherwise(profile);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for rule in profile.rules.iter().filter(|r| r.action == Action::Allow) {
        for n in &rule.names {
            let name = n.name.as_str();
            if used.contains(name)
                || before.contains(name)
                || name == "execve"
                || elsewhere.contains(name)
            {
                continue;
            }
            names.insert(name);
        }
    }
    names
        .into_iter()
        .map(|n| Edit::Remove(n.to_string()))
        .filter(|e| e.validate().is_ok())
        .collect()
}

/// The names some rule other than an ALLOW one lists: taking such a name out of
/// an allowance would change more than the allowance.
pub fn listed_otherwise(profile: &Profile) -> BTreeSet<&str> {
    profile
        .rules
        .iter()
        .filter(|r| r.action != Action::Allow)
        .flat_map(|r| r.names.iter().map(|n| n.name.as_str()))
        .collect()
}
