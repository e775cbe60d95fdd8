//! Pruning: the allowances a workload never used, from its coverage, and the
//! edits that take them out. Shared by `eperm tighten`, `run --coverage` and the
//! TUI's Coverage view.

use crate::arch::Arch;
use crate::coverage::Coverage;
use crate::profile::edit::{apply_commented, Edit, EditError};
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
        "eperm: coverage: {used} of {} used\n{s}",
        crate::profile::lint::plural(names.len(), "allowed name", "allowed names")
    );
    if !unused.is_empty() {
        out += &format!("unused ({}): {}\n", unused.len(), unused.join(", "));
    }
    out
}

/// `profile` without what was never used ([`prune_edits`]), and the line that
/// says so: the count is of the names the new text no longer allows, and where
/// they differ from the unused names [`report`] listed for `arches`, it says which
/// were kept and which went that are no syscall there.
pub fn pruned(
    profile: &Profile,
    coverage: &Coverage,
    arches: &[Arch],
) -> Result<(Profile, String), EditError> {
    let edits = prune_edits(profile, coverage);
    let applied = apply_commented(profile, &edits, None)?;
    let removed: BTreeSet<&str> = applied.changed_names().collect();
    let exists = |name: &str| arches.iter().any(|a| a.syscall_nr(name).is_some());
    let listed: BTreeSet<&str> = unused(profile, coverage, &exists).into_iter().collect();
    let mut line = format!(
        "eperm: removed {} unused allowance{}",
        removed.len(),
        if removed.len() == 1 { "" } else { "s" }
    );
    let kept: Vec<&str> = listed.difference(&removed).copied().collect();
    if !kept.is_empty() {
        line += &format!(
            "; kept {} of those listed, which the runtime needs to start or another rule lists: {}",
            kept.len(),
            kept.join(", ")
        );
    }
    let elsewhere: Vec<&str> = removed.difference(&listed).copied().collect();
    if !elsewhere.is_empty() {
        let arches: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        line += &format!(
            "; also {} that {} no syscall on {}: {}",
            elsewhere.len(),
            if elsewhere.len() == 1 { "is" } else { "are" },
            arches.join("/"),
            elsewhere.join(", ")
        );
    }
    Ok((applied.profile, line))
}

/// The names of ALLOW rules no run used, each once, among those `exists` keeps.
fn unused<'p>(
    profile: &'p Profile,
    coverage: &Coverage,
    exists: &dyn Fn(&str) -> bool,
) -> Vec<&'p str> {
    let used = coverage.used();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let allows = profile.rules.iter().filter(|r| r.action == Action::Allow);
    allows
        .flat_map(|r| r.names.iter().map(|n| n.name.as_str()))
        .filter(|name| exists(name) && seen.insert(name) && !used.contains(name))
        .collect()
}

/// The edits that take out what was never used: names of ALLOW rules that no
/// run used, except what the runtime needs to exec and names any non-ALLOW rule
/// also lists (removing those would change more than the allowance). Names that
/// are no syscall on any arch (`WIFEXITED` from a naive import) go too: no
/// runtime can use them.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::Tally;

    /// Issue 34: "unused (382)", then "removed 395 unused allowances". The count
    /// said is that of the names the written text no longer allows, and the
    /// line accounts for every difference from the list.
    #[test]
    fn the_count_removed_is_what_the_written_profile_lost() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "write", "execve", "mkdir", "s390_pci_mmio_read", "reboot"],
             "action": "SCMP_ACT_ALLOW"},
            {"names": ["reboot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#;
        let profile = crate::profile::load_str("p.json", text.into()).unwrap();
        let tally = |syscall: &str| Tally {
            count: 3,
            ..Tally::new(Some(0), syscall, Arch::X86_64, Action::Allow)
        };
        let coverage = Coverage {
            runs: 1,
            tallies: vec![tally("read"), tally("write")],
        };
        let arches = [Arch::X86_64];
        let listed = report(&profile, &coverage, &arches);
        let says = "unused (3): execve, mkdir, reboot\n";
        assert!(listed.ends_with(says), "{listed}");
        let (written, line) = pruned(&profile, &coverage, &arches).unwrap();
        let lost = profile
            .allowed_names()
            .difference(&written.allowed_names())
            .count();
        assert_eq!(lost, 2, "mkdir and s390_pci_mmio_read");
        assert!(
            line.starts_with(&format!("eperm: removed {lost} unused allowances;")),
            "{line}"
        );
        assert!(line.contains("kept 2 of those listed, which the runtime needs to start or another rule lists: execve, reboot"), "{line}");
        assert!(
            line.ends_with("also 1 that is no syscall on x86_64: s390_pci_mmio_read"),
            "{line}"
        );
    }

    /// Issue 34: a name that is no syscall anywhere (`WIFEXITED`, from a naive
    /// import) was kept; it goes, and the line says it was no syscall.
    #[test]
    fn a_name_that_is_no_syscall_is_pruned() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "execve", "WIFEXITED"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let profile = crate::profile::load_str("p.json", text.into()).unwrap();
        let coverage = Coverage {
            runs: 1,
            tallies: vec![Tally {
                count: 1,
                ..Tally::new(Some(0), "read", Arch::X86_64, Action::Allow)
            }],
        };
        let names: Vec<String> = prune_edits(&profile, &coverage)
            .iter()
            .map(|e| e.name().to_string())
            .collect();
        assert_eq!(names, ["WIFEXITED"]);
        let (written, line) = pruned(&profile, &coverage, &[Arch::X86_64]).unwrap();
        assert!(!written.text.contains("WIFEXITED"), "{}", written.text);
        assert!(
            line.ends_with("also 1 that is no syscall on x86_64: WIFEXITED"),
            "{line}"
        );
    }
}
