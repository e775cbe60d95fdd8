//! An ordered index over each level's siblings, so that merging a rule into a
//! syscall with thousands of argument rules finds the level's head, the new
//! node's place and its twin by lookup instead of walking the level (a walk per
//! added rule made `check` quadratic in the rules of one syscall).
//!
//! libseccomp keeps a level in descending `chain_lt` order, a node after its
//! equals in the order they came; the index holds the same order. It is only an
//! accelerator: a level is indexed while it is built by `insert_last` and
//! `insert_before` in that order, and the first operation the index does not
//! follow (a node freed or unlinked, a node placed out of order, as a merge
//! started mid-level can do) marks it unclean, after which the level is walked
//! as before. So every answer the index gives is the one the walk would give.

use super::{Db, Node};
use crate::profile::CmpOp;
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A node's rank in libseccomp's sibling order: `chain_lt(a, b)` is
/// `rank(a) < rank(b)` (argument word, operator class, datum; LT/LE compare
/// the datum the other way round).
type Rank = (u32, u32, u32);

/// A node's place in its level: higher ranks first, equals by arrival.
pub(super) type Place = (Reverse<Rank>, u64);

#[derive(Clone, Debug, Default)]
pub(super) struct Levels {
    levels: Vec<Level>,
    /// Arrivals so far: the second half of a [`Place`].
    arrivals: u64,
}

#[derive(Clone, Debug, Default)]
struct Level {
    nodes: BTreeMap<Place, usize>,
    /// The nodes with a branch to a level below.
    branched: BTreeMap<Place, usize>,
    /// Whether `nodes` is the level's list, in order.
    clean: bool,
}

#[cfg(test)]
thread_local! {
    /// Set, levels are never indexed and `act_check` always walks: the plain
    /// walk, to compare with.
    static WALK_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the index and the other shortcuts are on (always, but in tests).
pub(super) fn indexing() -> bool {
    #[cfg(test)]
    if WALK_ONLY.with(|w| w.get()) {
        return false;
    }
    true
}

fn rank(n: &Node) -> Rank {
    let (arg, class) = Db::priority(n);
    (arg, class, oriented(class, n.datum))
}

/// The datum as the order compares it in operator class `class`.
fn oriented(class: u32, datum: u32) -> u32 {
    if class == Db::priority_class(CmpOp::Le) {
        !datum
    } else {
        datum
    }
}

impl Db {
    /// The clean level `n` is in, and `n`'s place there.
    fn clean_level(&self, n: usize) -> Option<(usize, Place)> {
        let (l, place) = self.nodes[n].level?;
        let l = l as usize;
        self.levels.levels[l].clean.then_some((l, place))
    }

    /// The first node of `n`'s level, when the index knows it.
    pub(super) fn indexed_head(&self, n: usize) -> Option<usize> {
        let (l, _) = self.clean_level(n)?;
        self.levels.levels[l].nodes.values().next().copied()
    }

    /// Is `n` on a level of its own, known to no index?
    pub(super) fn alone(&self, n: usize) -> bool {
        let node = &self.nodes[n];
        node.level.is_none() && node.lvl_prv.is_none() && node.lvl_nxt.is_none()
    }

    /// The index stops following the level `n` is in (it was freed or unlinked).
    pub(super) fn unindex(&mut self, n: usize) {
        if let Some((l, _)) = self.nodes[n].level {
            self.levels.levels[l as usize].clean = false;
        }
    }

    /// `n` was just linked into `x`'s level; `alone` says whether each of `x`
    /// and `n` was alone before. True when the level is still clean, so its
    /// list is known to end both ways (no hang check needed).
    pub(super) fn index_insert(&mut self, x: usize, n: usize, alone: [bool; 2]) -> bool {
        let l = match self.nodes[x].level {
            Some((l, _)) => l as usize,
            None => self.new_level(x, alone[0]),
        };
        if let Some((old, _)) = self.nodes[n].level {
            // `n` was on another level already: libseccomp's loops start so.
            self.levels.levels[old as usize].clean = false;
        }
        let place = self.place(n);
        self.nodes[n].level = Some((l as u32, place));
        let fits = indexing() && alone[1] && self.levels.levels[l].clean && self.fits(l, n, place);
        let level = &mut self.levels.levels[l];
        if fits {
            level.nodes.insert(place, n);
            self.branches_changed(n);
        } else {
            level.clean = false;
        }
        fits
    }

    /// `n`'s branches were set or taken: keeps `branched` up to date.
    pub(super) fn branches_changed(&mut self, n: usize) {
        let Some((l, place)) = self.clean_level(n) else {
            return;
        };
        let node = &self.nodes[n];
        let branched = &mut self.levels.levels[l].branched;
        if node.leaf() {
            branched.remove(&place);
        } else {
            branched.insert(place, n);
        }
    }

    /// A new level holding `x`, clean if `x` was alone.
    fn new_level(&mut self, x: usize, alone: bool) -> usize {
        let place = self.place(x);
        let mut level = Level {
            nodes: BTreeMap::new(),
            branched: BTreeMap::new(),
            clean: alone && indexing(),
        };
        level.nodes.insert(place, x);
        self.levels.levels.push(level);
        let l = self.levels.levels.len() - 1;
        self.nodes[x].level = Some((l as u32, place));
        self.branches_changed(x);
        l
    }

    fn place(&mut self, n: usize) -> Place {
        self.levels.arrivals += 1;
        (Reverse(rank(&self.nodes[n])), self.levels.arrivals)
    }

    /// Do `n`'s neighbours on the list come just before and after `place` in
    /// the index of level `l`?
    fn fits(&self, l: usize, n: usize, place: Place) -> bool {
        let at = |m: Option<usize>| m.map(|m| self.nodes[m].level);
        let before = match at(self.nodes[n].lvl_prv) {
            None => None,
            Some(Some((ml, p))) if ml as usize == l && p < place => Some(p),
            Some(_) => return false,
        };
        let after = match at(self.nodes[n].lvl_nxt) {
            None => None,
            Some(Some((ml, p))) if ml as usize == l && p > place => Some(p),
            Some(_) => return false,
        };
        let nodes = &self.levels.levels[l].nodes;
        // Neighbours on the list must be neighbours in the index.
        let prev = nodes.range(..place).next_back().map(|(p, _)| *p);
        let next = nodes.range(place..).next().map(|(p, _)| *p);
        prev == before && next == after
    }

    /// Where `tree_add`'s walk from `x` for the new node `n` stops: the first
    /// node from `x` on, in the level's order, that is `chain_eq` to `n` or
    /// `chain_lt` it, else the level's last node. `None`: not indexed.
    pub(super) fn indexed_stop(&self, x: usize, n: usize) -> Option<usize> {
        let (l, from) = self.clean_level(x)?;
        let nodes = &self.levels.levels[l].nodes;
        let below = (Reverse(rank(&self.nodes[n])), u64::MAX);
        let lower = if from > below {
            Bound::Included(from)
        } else {
            Bound::Excluded(below)
        };
        let less = nodes.range((lower, Bound::Unbounded)).next();
        let twin = self.indexed_twin(l, from, n);
        let stop = match (less, twin) {
            (Some(a), Some(b)) => Some(*a.min(b).1),
            (a, b) => a.or(b).map(|(_, &m)| m),
        };
        stop.or_else(|| nodes.values().next_back().copied())
    }

    /// The first node from `x` on in the level's order that is `chain_eq` to
    /// `n`; `Some(None)` when there is none, `None` when not indexed.
    pub(super) fn indexed_twin_from(&self, x: usize, n: usize) -> Option<Option<usize>> {
        let (l, from) = self.clean_level(x)?;
        Some(self.indexed_twin(l, from, n).map(|(_, &m)| m))
    }

    /// Where `prune_level`'s walk from `x`, entered with `flags` that hold
    /// neither MATCH_ONCE nor a prefix, has work to do: the first node from `x`
    /// on that is `n`'s twin, or less than `n` with a branch whose level might
    /// hold `n`. Every other node only starts searches that stop at their first
    /// comparison (see `skips_smaller` and `skips_larger`). `Some(None)`: none
    /// (the walk falls off the level); `None`: not indexed, or every larger node
    /// has work.
    pub(super) fn indexed_work_from(&self, x: usize, n: usize) -> Option<Option<usize>> {
        let (l, from) = self.clean_level(x)?;
        let level = &self.levels.levels[l];
        let head = *level.nodes.values().next()?;
        if !self.skips_larger(head, n) {
            return None;
        }
        let below = (Reverse(rank(&self.nodes[n])), u64::MAX);
        let lower = if from > below {
            Bound::Included(from)
        } else {
            Bound::Excluded(below)
        };
        let smaller = level
            .branched
            .range((lower, Bound::Unbounded))
            .find(|(_, &m)| !self.skips_smaller(m, n));
        let twin = self.indexed_twin(l, from, n);
        Some(match (smaller, twin) {
            (Some(a), Some(b)) => Some(*a.min(b).1),
            (a, b) => a.or(b).map(|(_, &m)| m),
        })
    }

    /// For a node `x` less than `n`, prune searches `n` in `x`'s levels below
    /// (with X_PREFIX): it stops at once where a level's head is larger than
    /// `n` and not its twin.
    fn skips_smaller(&self, x: usize, n: usize) -> bool {
        let nn = &self.nodes[n];
        [self.nodes[x].nxt_t, self.nodes[x].nxt_f]
            .into_iter()
            .flatten()
            .all(|sub| {
                let h = &self.nodes[self.level_head(sub)];
                !Db::chain_eq(h, nn) && !Db::chain_lt(h, nn)
            })
    }

    /// For a node larger than `n`, prune searches it below `n` (with
    /// N_PREFIX), starting at the head of its level: that stops at once where
    /// the head is less than each of `n`'s branches and not its twin. So
    /// it is the same for every larger node of a level.
    fn skips_larger(&self, head: usize, n: usize) -> bool {
        let h = &self.nodes[head];
        [self.nodes[n].nxt_t, self.nodes[n].nxt_f]
            .into_iter()
            .flatten()
            .all(|nb| {
                let b = &self.nodes[nb];
                !Db::chain_eq(h, b) && Db::chain_lt(h, b)
            })
    }

    /// The first node at or after `from` in level `l` that is `chain_eq` to `n`.
    /// Such a node has `n`'s argument word and datum, in any operator class.
    fn indexed_twin(&self, l: usize, from: Place, n: usize) -> Option<(&Place, &usize)> {
        let nodes = &self.levels.levels[l].nodes;
        let nn = &self.nodes[n];
        let arg = Db::priority(nn).0;
        let mut found: Option<(&Place, &usize)> = None;
        for class in 1..=3 {
            let rank = (arg, class, oriented(class, nn.datum));
            let (lo, hi) = ((Reverse(rank), 0), (Reverse(rank), u64::MAX));
            if from > hi {
                continue;
            }
            let twin = nodes
                .range(from.max(lo)..=hi)
                .find(|(_, &m)| Db::chain_eq(&self.nodes[m], nn));
            found = match (found, twin) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::WALK_ONLY;
    use crate::arch::Arch;
    use crate::caps::CapSet;
    use crate::compile::libseccomp::{Db, Entry};
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, resolve, Target};
    use proptest::prelude::*;
    use std::fmt::Write;

    /// What `rules` compile to on x86_64 with its 32-bit sub-arches (the
    /// program and libseccomp's trees, or the error), built with the index or
    /// walking only; and how many levels stayed indexed.
    fn built(rules: &[String], walk_only: bool) -> (String, usize) {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{}]}}"#,
            rules.join(",")
        );
        let profile = load_str("t.json", json).unwrap();
        let target = Target {
            arch: Arch::X86_64,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        };
        let resolved = resolve(&profile, &target);
        WALK_ONLY.with(|w| w.set(walk_only));
        let compiled = compile(&resolved, Mode::Enforce);
        WALK_ONLY.with(|w| w.set(false));
        match compiled {
            Ok(c) => {
                let clean = c.db.levels.levels.iter().filter(|l| l.clean).count();
                (format!("{:?}\n{}", c.program, trees(&c.db)), clean)
            }
            Err(e) => (e.to_string(), 0),
        }
    }

    /// Every syscall's tree, level by level from each head, with each node's
    /// comparison, actions (and the rules they came from) and references.
    fn trees(db: &Db) -> String {
        let mut out = String::new();
        for (key, entry) in &db.entries {
            writeln!(out, "{key:?}").unwrap();
            match entry {
                Entry::Always(leaf) => writeln!(out, "  {leaf:?}").unwrap(),
                Entry::Tree(n) => level(db, *n, 1, &mut out),
            }
        }
        out
    }

    fn level(db: &Db, n: usize, depth: usize, out: &mut String) {
        let mut cur = Some(db.level_head(n));
        while let Some(c) = cur {
            let x = &db.nodes[c];
            let pad = "  ".repeat(depth);
            writeln!(
                out,
                "{pad}{} {} {:?} {:?} {:#x}/{:#x} t={:?} f={:?} ghosts={:?},{:?} refs={}",
                x.arg,
                x.hi,
                x.op,
                x.op_orig,
                x.datum,
                x.mask,
                x.act_t,
                x.act_f,
                x.ghost_t,
                x.ghost_f,
                x.refcnt
            )
            .unwrap();
            for sub in [x.nxt_t, x.nxt_f].into_iter().flatten() {
                level(db, sub, depth + 1, out);
            }
            cur = x.lvl_nxt;
        }
    }

    fn rule(name: &str, action: &str, conds: &[(u8, u64, &str)]) -> String {
        let args: Vec<String> = conds
            .iter()
            .map(|(i, v, op)| {
                format!(r#"{{"index": {i}, "value": {v}, "valueTwo": {v}, "op": "{op}"}}"#)
            })
            .collect();
        let errno = if action == "SCMP_ACT_ERRNO" {
            r#", "errnoRet": 1"#
        } else {
            ""
        };
        format!(
            r#"{{"names": ["{name}"], "action": "{action}"{errno}, "args": [{}]}}"#,
            args.join(",")
        )
    }

    /// The scale bench's shape: one args[1] value per rule, every fifth
    /// `other` (ERRNO is the default action's, so runc drops those rules),
    /// every seventh with a second condition.
    fn sibling_rules(values: impl Iterator<Item = u64>, other: &str) -> Vec<String> {
        values
            .enumerate()
            .map(|(i, k)| {
                let action = if i % 5 == 0 { other } else { "SCMP_ACT_ALLOW" };
                let mut conds = vec![(1, 0x1000 + k, "SCMP_CMP_EQ")];
                if i % 7 == 0 {
                    conds.push((2, k % 9, "SCMP_CMP_LE"));
                }
                rule("ioctl", action, &conds)
            })
            .collect()
    }

    #[test]
    fn many_siblings_in_any_order_build_what_the_plain_walk_builds() {
        let n = 600u64;
        let scrambled = || (0..n).map(|i| (i * 389) % n);
        for rules in [
            sibling_rules(0..n, "SCMP_ACT_ERRNO"),
            sibling_rules((0..n).rev(), "SCMP_ACT_LOG"),
            sibling_rules(scrambled(), "SCMP_ACT_ERRNO"),
            sibling_rules(scrambled(), "SCMP_ACT_LOG"),
            // Each value twice: the second finds its twin.
            sibling_rules((0..2 * n).map(|i| i % n), "SCMP_ACT_LOG"),
        ] {
            let (indexed, clean) = built(&rules, false);
            let (walked, _) = built(&rules, true);
            assert!(indexed == walked, "indexed:\n{indexed}\nwalked:\n{walked}");
            assert!(clean > 0, "no level was indexed:\n{indexed}");
        }
    }

    const OPS: [&str; 7] = [
        "SCMP_CMP_EQ",
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_MASKED_EQ",
    ];
    const VALUES: [u64; 8] = [0, 1, 2, 8, 0xffff_ffff, 1 << 32, (1 << 32) + 2, u64::MAX];

    fn cond() -> impl Strategy<Value = (u8, u64, &'static str)> {
        (
            0u8..3,
            proptest::sample::select(&VALUES[..]),
            proptest::sample::select(&OPS[..]),
        )
    }

    fn random_rule() -> impl Strategy<Value = String> {
        // Mostly ALLOW, so that most profiles merge rather than clash.
        let action = proptest::sample::select(
            &[
                "SCMP_ACT_ALLOW",
                "SCMP_ACT_ALLOW",
                "SCMP_ACT_ALLOW",
                "SCMP_ACT_ERRNO",
            ][..],
        );
        (action, proptest::collection::vec(cond(), 1..3)).prop_map(|(action, mut conds)| {
            conds.sort_by_key(|c| c.0);
            conds.dedup_by_key(|c| c.0);
            rule("personality", action, &conds)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Crowded levels with every operator, high datums and clashes: the
        /// index must give the walk's tree, program and refusals exactly.
        #[test]
        fn random_crowded_rules_build_what_the_plain_walk_builds(
            rules in proptest::collection::vec(random_rule(), 1..60)
        ) {
            let (indexed, clean) = built(&rules, false);
            if std::env::var_os("EPERM_LEVELS_DEBUG").is_some() {
                eprintln!("clean levels: {clean}, {}", indexed.lines().next().unwrap_or(""));
            }
            let (walked, _) = built(&rules, true);
            prop_assert!(indexed == walked, "indexed:\n{}\nwalked:\n{}", indexed, walked);
        }
    }
}
