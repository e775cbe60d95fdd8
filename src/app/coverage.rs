//! The Coverage view's data: each allowance of the profile with its use count
//! from coverage (every run merged) and what pruning would keep. A pure function
//! of (profile, coverage); the App caches its result whenever either changes. The
//! narrower rules come from [`crate::tighten::narrow`], shared with the CLI.

use crate::arch::Arch;
use crate::coverage::{watched, Coverage};
use crate::profile::{Action, Profile};
use crate::syscalls::symbols::{self, Set};
use crate::tighten::prune;
use std::collections::{BTreeSet, HashMap};

/// One name of one ALLOW rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// Index into the profile's `syscalls[]`.
    pub rule: usize,
    /// JSON path of the rule.
    pub path: String,
    pub name: String,
    /// The rule has argument conditions, includes or excludes.
    pub conditional: bool,
    /// Uses the profile allowed through this rule, over every run and arch.
    pub count: u64,
    pub pids: usize,
    /// No run made this call at all, allowed or not.
    pub unused: bool,
    /// Unused, but "prune unused" keeps it, and why.
    pub kept: Option<&'static str>,
    /// Per watched argument position: the values seen, by name.
    pub values: Vec<(usize, Vec<String>)>,
}

/// Every allowance of `profile`, in the profile's order.
///
/// Tallies name the rule by its index when the run happened; an edit since
/// (a rule taken out whole) may have moved later rules. Uses whose index no
/// longer points at a rule allowing that name still count: they go to the
/// first rule that allows it, so no use is ever lost from the view.
pub fn allowances(profile: &Profile, coverage: &Coverage) -> Vec<Allowance> {
    let used = coverage.used();
    let pruned: BTreeSet<String> = prune::prune_edits(profile, coverage)
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    let elsewhere = prune::listed_otherwise(profile);
    let allowing: BTreeSet<(usize, &str)> = profile
        .rules
        .iter()
        .filter(|r| r.action == Action::Allow)
        .flat_map(|r| r.names.iter().map(move |n| (r.index, n.name.as_str())))
        .collect();
    // (rule, name) → (count, pids); and per name what matched no current rule.
    let mut exact: HashMap<(usize, &str), (u64, BTreeSet<u32>)> = HashMap::new();
    let mut stray: HashMap<&str, (u64, BTreeSet<u32>)> = HashMap::new();
    for t in &coverage.tallies {
        if t.action != Action::Allow {
            continue;
        }
        let slot = match t.rule {
            Some(r) if allowing.contains(&(r, t.syscall.as_str())) => {
                exact.entry((r, t.syscall.as_str())).or_default()
            }
            _ => stray.entry(t.syscall.as_str()).or_default(),
        };
        slot.0 += t.count;
        slot.1.extend(&t.pids);
    }
    let mut out = Vec::new();
    for rule in profile.rules.iter().filter(|r| r.action == Action::Allow) {
        let conditional =
            !rule.args.is_empty() || !rule.includes.is_empty() || !rule.excludes.is_empty();
        for n in &rule.names {
            let name = n.name.as_str();
            let (mut count, mut pids) = exact.remove(&(rule.index, name)).unwrap_or_default();
            if let Some((c, p)) = stray.remove(name) {
                count += c;
                pids.extend(p);
            }
            let unused = !used.contains(name);
            let kept = (unused && !pruned.contains(name)).then(|| {
                if elsewhere.contains(name) {
                    "a non-ALLOW rule names it too"
                } else {
                    // execve, and what the runtime called before the exec.
                    "exec needs it"
                }
            });
            out.push(Allowance {
                rule: rule.index,
                path: profile.path(&format!("syscalls[{}]", rule.index)),
                name: name.to_string(),
                conditional,
                count,
                pids: pids.len(),
                unused,
                kept,
                values: values(coverage, name),
            });
        }
    }
    out
}

/// The values seen at the argument positions coverage watches for `name`.
fn values(coverage: &Coverage, name: &str) -> Vec<(usize, Vec<String>)> {
    let arch = Arch::native();
    watched(arch, name)
        .iter()
        .filter_map(|&i| {
            let seen = coverage.values(name, i);
            (!seen.is_empty()).then(|| {
                let named = seen.iter().map(|&v| value_name(arch, name, i, v));
                (i, named.collect())
            })
        })
        .collect()
}

/// A watched argument's value the way `strace` would print it.
pub fn value_name(arch: Arch, name: &str, index: usize, value: u64) -> String {
    let flags = |set: Set| symbols::flags(set.table(arch), value);
    let named = |set: Set| symbols::enum_or_number(set.table(arch), value);
    match (name, index) {
        ("socket" | "socketpair", 0) => named(Set::SocketFamily),
        ("socket" | "socketpair", 1) => flags(Set::SocketType),
        ("clone", _) => flags(Set::Clone),
        ("unshare" | "setns", _) => flags(Set::Unshare),
        ("prctl", _) => named(Set::Prctl),
        ("personality", _) => named(Set::Personality),
        ("ioctl", _) => symbols::ioctl_request(arch, value),
        ("mmap" | "mmap2" | "mprotect" | "pkey_mprotect", _) => flags(Set::Prot),
        _ => format!("{value:#x}"),
    }
}
