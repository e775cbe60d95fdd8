//! What two compiled profiles decide differently, call by call.

use super::probe;
use crate::arch::Arch;
use crate::compile::Compiled;
use crate::profile::{Action, ArgCond, Resolved, Verdict};
use std::collections::BTreeSet;

/// One profile, resolved and compiled for the target both are compared on.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub resolved: &'a Resolved,
    pub compiled: &'a Compiled,
}

impl Side<'_> {
    fn verdict(&self, arch: Arch, nr: u32, args: [u64; 6]) -> Verdict {
        self.compiled.evaluate(arch, nr, args).verdict
    }

    /// The condition sets of the rules naming `nr` on `arch` (empty ones left out).
    fn condition_sets(&self, arch: Arch, nr: u32) -> impl Iterator<Item = &[ArgCond]> {
        self.resolved
            .rules_for(arch, nr)
            .map(|e| e.conds.as_slice())
            .filter(|c| !c.is_empty())
    }
}

/// One call's verdict at some argument values, before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub args: [u64; 6],
    pub old: Verdict,
    pub new: Verdict,
}

/// A syscall of one arch whose verdict differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallChange {
    pub arch: Arch,
    pub name: &'static str,
    pub nr: u32,
    /// The argument indices either side's rules test for this call.
    pub indices: Vec<u8>,
    /// Every argument value changes the same way: `points` is that one change
    /// (at all-zero arguments). Otherwise `points` are the probed values whose
    /// verdict changed.
    pub whole: bool,
    pub points: Vec<Point>,
}

/// Every difference between two profiles on one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerdictDiff {
    /// The arches both filters cover, compared call by call.
    pub arches: Vec<Arch>,
    /// Arches only the old (first) profile's filter covers: the other one
    /// refuses every call of them with its bad-arch action.
    pub only_old: Vec<Arch>,
    /// Arches only the new (second) profile's filter covers.
    pub only_new: Vec<Arch>,
    pub changes: Vec<CallChange>,
}

impl VerdictDiff {
    /// Do the two profiles decide every call alike?
    pub fn is_same(&self) -> bool {
        self.changes.is_empty() && self.only_old.is_empty() && self.only_new.is_empty()
    }

    /// The changes of one syscall name, on every arch.
    pub fn of_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CallChange> {
        self.changes.iter().filter(move |c| c.name == name)
    }
}

/// Every call of every arch both cover, tried at the argument values either
/// side's rules for it test ([`probe::vectors`]), in arch then number order.
pub fn diff(old: Side, new: Side) -> VerdictDiff {
    let (arches, only_old, only_new) = split_arches(old, new);
    let mut changes = Vec::new();
    for &arch in &arches {
        for &(name, nr) in arch.syscalls() {
            if let Some(c) = call_change(old, new, arch, name, nr) {
                changes.push(c);
            }
        }
    }
    VerdictDiff {
        arches,
        only_old,
        only_new,
        changes,
    }
}

/// Does the kernel refuse the call outright with this verdict? ALLOW and LOG
/// let it run; TRACE and NOTIFY hand it to another program, which may.
pub fn refuses(v: Verdict) -> bool {
    matches!(
        v.action,
        Action::Errno | Action::KillThread | Action::KillProcess | Action::Trap
    )
}

/// The calls `profile` does not refuse that `base` refuses, with the argument
/// values where that is so; arches `profile` covers and `base` does not are in
/// `only_new` (base's filter refuses every call of them).
pub fn looser(base: Side, profile: Side) -> VerdictDiff {
    let mut d = diff(base, profile);
    d.only_old.clear();
    d.changes.retain_mut(|c| {
        c.points.retain(|p| refuses(p.old) && !refuses(p.new));
        !c.points.is_empty()
    });
    d
}

fn split_arches(old: Side, new: Side) -> (Vec<Arch>, Vec<Arch>, Vec<Arch>) {
    let (a, b) = (&old.resolved.arches, &new.resolved.arches);
    let both = a.iter().filter(|x| b.contains(x)).copied().collect();
    let only_a = a.iter().filter(|x| !b.contains(x)).copied().collect();
    let only_b = b.iter().filter(|x| !a.contains(x)).copied().collect();
    (both, only_a, only_b)
}

fn call_change(
    old: Side,
    new: Side,
    arch: Arch,
    name: &'static str,
    nr: u32,
) -> Option<CallChange> {
    let sets: Vec<&[ArgCond]> = old
        .condition_sets(arch, nr)
        .chain(new.condition_sets(arch, nr))
        .collect();
    let indices: BTreeSet<u8> = sets
        .iter()
        .flat_map(|s| s.iter().map(|c| c.index))
        .collect();
    let points: Vec<Point> = probe::vectors(arch, &sets)
        .into_iter()
        .map(|args| Point {
            args,
            old: old.verdict(arch, nr, args),
            new: new.verdict(arch, nr, args),
        })
        .collect();
    let first = points[0];
    let whole = first.old != first.new
        && points
            .iter()
            .all(|p| (p.old, p.new) == (first.old, first.new));
    let points: Vec<Point> = if whole {
        vec![first]
    } else {
        points.into_iter().filter(|p| p.old != p.new).collect()
    };
    (!points.is_empty()).then(|| CallChange {
        arch,
        name,
        nr,
        indices: indices.into_iter().collect(),
        whole,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, resolve, Target};

    fn built(text: &str) -> (Resolved, Compiled) {
        let p = load_str("p.json", text.to_string()).unwrap();
        let t = Target {
            arch: Arch::X86_64,
            caps: CapSet::docker_default(),
            kernel: None,
            runtime: None,
        };
        let r = resolve(&p, &t);
        let c = compile(&r, Mode::Enforce).unwrap();
        (r, c)
    }

    fn side<'a>(b: &'a (Resolved, Compiled)) -> Side<'a> {
        Side {
            resolved: &b.0,
            compiled: &b.1,
        }
    }

    const BASE: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "socket"], "action": "SCMP_ACT_ALLOW"}]}"#;
    const OTHER: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "mount"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#;

    #[test]
    fn whole_and_argument_changes_are_told_apart() {
        let (a, b) = (built(BASE), built(OTHER));
        let d = diff(side(&a), side(&b));
        assert_eq!(d.arches, [Arch::X86_64]);
        let mount = d.of_name("mount").next().unwrap();
        assert!(mount.whole);
        assert_eq!(mount.points[0].new, Verdict::ALLOW);
        let socket = d.of_name("socket").next().unwrap();
        assert!(!socket.whole);
        assert_eq!(socket.indices, [0]);
        // Every value but AF_UNIX (1) is now refused; 1 is not listed.
        assert!(socket
            .points
            .iter()
            .all(|p| p.args[0] != 1 && refuses(p.new)));
        assert!(socket.points.iter().any(|p| p.args[0] == 0));
        assert_eq!(d.changes.len(), 2);
        assert!(diff(side(&a), side(&a)).is_same());
    }

    #[test]
    fn looser_keeps_only_what_the_base_refuses() {
        let (a, b) = (built(BASE), built(OTHER));
        let l = looser(side(&a), side(&b));
        let names: Vec<&str> = l.changes.iter().map(|c| c.name).collect();
        assert_eq!(names, ["mount"]);
        let l = looser(side(&b), side(&a));
        let names: Vec<&str> = l.changes.iter().map(|c| c.name).collect();
        assert_eq!(names, ["socket"]);
    }
}
