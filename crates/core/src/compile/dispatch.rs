//! Choosing how an arch block tests the syscall number.
//!
//! The number line is cut into segments, each leading to one target. A block can
//! test them as a chain (one `jeq` per isolated number, one or two compares per run
//! of numbers, falling through to the commonest target) or split the line with a
//! `jge` and handle each half on its own. Chains are small; splits shorten the
//! path. [`plan`] picks, for every piece of the line, whichever costs less by
//! `size * per_insn + executed instructions summed over the numbers in it`, so
//! small filters come out linear and large ones as a search tree of short chains.

use std::collections::HashMap;

/// A run of numbers `start..=end` leading to `target`; `weight` is how many known
/// syscall numbers fall in it.
#[derive(Clone, Copy, Debug)]
pub struct Seg<T> {
    pub start: u32,
    pub end: u32,
    pub target: T,
    pub weight: u64,
}

/// One test of a chain; a miss goes on to the next test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Test<T> {
    /// `nr == k`.
    Eq(u32, T),
    /// `nr < k` (`jge k` with the hit on the false branch).
    Below(u32, T),
    /// `nr >= k`.
    AtLeast(u32, T),
    /// `lo <= nr <= hi`: `jgt hi`, then `jge lo`.
    Range(u32, u32, T),
}

impl<T> Test<T> {
    pub fn size(&self) -> u64 {
        match self {
            Test::Range(..) => 2,
            _ => 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatch<T> {
    /// Every number here leads to one target: no code, the parent jumps there.
    Jump(T),
    Chain {
        tests: Vec<Test<T>>,
        fall: T,
    },
    /// `jge at`: `hi` for numbers `>= at`, else `lo`.
    Split {
        at: u32,
        lo: Box<Dispatch<T>>,
        hi: Box<Dispatch<T>>,
    },
}

/// Intervals of at most this many segments try every split and chain; longer ones
/// split near their middle only, which keeps planning fast on huge filters.
const FULL: usize = 48;
/// Splits tried on each side of the middle of a long interval.
const WINDOW: usize = 4;

#[derive(Clone, Copy)]
enum Choice {
    Jump,
    Chain(usize),
    Split(usize),
}

struct Planner<'a, T> {
    segs: &'a [Seg<T>],
    per_insn: u64,
    /// Prefix sums of weights.
    prefix: Vec<u64>,
    memo: HashMap<(usize, usize), (u64, Choice), BuildPairHasher>,
    /// (weight, size, target) of an interval's segments, busiest first, reused by
    /// [`Planner::sort_tests`].
    scratch: Vec<(u64, u64, T)>,
}

/// The memo is hit millions of times for a large profile: hashing its `(i, j)` keys
/// with SipHash was a third of the time `eperm run` took to start. Keys are small
/// indices, not attacker-chosen: one multiply spreads them well enough.
#[derive(Clone, Copy, Default)]
struct BuildPairHasher;

#[derive(Default)]
struct PairHasher(u64);

impl std::hash::BuildHasher for BuildPairHasher {
    type Hasher = PairHasher;
    fn build_hasher(&self) -> PairHasher {
        PairHasher::default()
    }
}

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b.into());
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl<T: Copy + Eq> Planner<'_, T> {
    fn weight(&self, i: usize, j: usize) -> u64 {
        self.prefix[j + 1] - self.prefix[i]
    }

    /// The chain for `i..=j` falling through to the target of segment `f`, and its
    /// (size, summed path).
    fn chain(&self, i: usize, j: usize, f: usize) -> (Vec<Test<T>>, u64, u64) {
        let fall = self.segs[f].target;
        let mut tests: Vec<(u64, Test<T>)> = Vec::new();
        let mut fall_weight = 0;
        for k in i..=j {
            let s = self.segs[k];
            if s.target == fall {
                fall_weight += s.weight;
                continue;
            }
            let t = if s.start == s.end {
                Test::Eq(s.start, s.target)
            } else if k == i {
                Test::Below(s.end + 1, s.target)
            } else if k == j {
                Test::AtLeast(s.start, s.target)
            } else {
                Test::Range(s.start, s.end, s.target)
            };
            tests.push((s.weight, t));
        }
        // Busy numbers first.
        tests.sort_by_key(|t| std::cmp::Reverse(t.0));
        let (mut size, mut path) = (0, 0);
        for (w, t) in &tests {
            size += t.size();
            path += w * size;
        }
        path += fall_weight * size;
        (tests.into_iter().map(|(_, t)| t).collect(), size, path)
    }

    /// Fills `scratch` with the tests `i..=j` would need, busiest first (a stable
    /// sort, as in [`Planner::chain`]): one sort serves every fall-through target,
    /// since leaving out the fall-through's segments keeps the others' order.
    fn sort_tests(&mut self, i: usize, j: usize) {
        let tests = &mut self.scratch;
        tests.clear();
        for k in i..=j {
            let s = self.segs[k];
            // A range strictly inside the interval takes two compares (see `chain`).
            let size = if s.start != s.end && k != i && k != j {
                2
            } else {
                1
            };
            tests.push((s.weight, size, s.target));
        }
        tests.sort_by_key(|t| std::cmp::Reverse(t.0));
    }

    /// [`Planner::chain`]'s size and summed path for the interval last given to
    /// [`Planner::sort_tests`], falling through to `fall`.
    fn sorted_cost(&self, fall: T) -> (u64, u64) {
        let (mut size, mut path, mut fall_weight) = (0, 0, 0);
        for &(w, t, target) in &self.scratch {
            if target == fall {
                fall_weight += w;
            } else {
                size += t;
                path += w * size;
            }
        }
        (size, path + fall_weight * size)
    }

    /// [`Planner::chain`]'s size and summed path, without building the chain.
    #[cfg(test)]
    fn chain_cost(&mut self, i: usize, j: usize, f: usize) -> (u64, u64) {
        self.sort_tests(i, j);
        self.sorted_cost(self.segs[f].target)
    }

    fn best(&mut self, i: usize, j: usize) -> u64 {
        if let Some(&(c, _)) = self.memo.get(&(i, j)) {
            return c;
        }
        if i == j {
            self.memo.insert((i, j), (0, Choice::Jump));
            return 0;
        }
        let mut best = (u64::MAX, Choice::Jump);
        let n = j - i + 1;
        if n <= FULL {
            let mut tried: Vec<T> = Vec::new();
            self.sort_tests(i, j);
            for f in i..=j {
                if tried.contains(&self.segs[f].target) {
                    continue;
                }
                tried.push(self.segs[f].target);
                let (size, path) = self.sorted_cost(self.segs[f].target);
                let c = size * self.per_insn + path;
                if c < best.0 {
                    best = (c, Choice::Chain(f));
                }
            }
        }
        let splits: Vec<usize> = if n <= FULL {
            (i + 1..=j).collect()
        } else {
            let mid = i + n / 2;
            (mid - WINDOW..=mid + WINDOW).collect()
        };
        let here = self.per_insn + self.weight(i, j);
        for m in splits {
            if best.0 <= here {
                break;
            }
            let c = here
                .saturating_add(self.best(i, m - 1))
                .saturating_add(self.best(m, j));
            if c < best.0 {
                best = (c, Choice::Split(m));
            }
        }
        self.memo.insert((i, j), best);
        best.0
    }

    fn build(&mut self, i: usize, j: usize) -> Dispatch<T> {
        self.best(i, j);
        match self.memo[&(i, j)].1 {
            Choice::Jump => Dispatch::Jump(self.segs[i].target),
            Choice::Chain(f) => Dispatch::Chain {
                tests: self.chain(i, j, f).0,
                fall: self.segs[f].target,
            },
            Choice::Split(m) => Dispatch::Split {
                at: self.segs[m].start,
                lo: Box::new(self.build(i, m - 1)),
                hi: Box::new(self.build(m, j)),
            },
        }
    }
}

/// The cheapest way to test `segs` (sorted, contiguous, neighbours with different
/// targets), an instruction costing `per_insn` executed instructions.
pub fn plan<T: Copy + Eq>(segs: &[Seg<T>], per_insn: u64) -> Dispatch<T> {
    plan_measured(segs, per_insn).0
}

/// [`plan`], with its size and its executed instructions summed over the weights.
pub fn plan_measured<T: Copy + Eq>(segs: &[Seg<T>], per_insn: u64) -> (Dispatch<T>, u64, u64) {
    let mut prefix = vec![0];
    for s in segs {
        prefix.push(prefix.last().unwrap() + s.weight);
    }
    let mut p = Planner {
        segs,
        per_insn,
        prefix,
        memo: HashMap::default(),
        scratch: Vec::new(),
    };
    let plan = p.build(0, segs.len() - 1);
    let (size, path) = measure(&plan, segs);
    (plan, size, path)
}

/// Size and summed path of `plan` over `segs`, as [`Planner`] counts them.
fn measure<T: Copy + Eq>(plan: &Dispatch<T>, segs: &[Seg<T>]) -> (u64, u64) {
    fn go<T: Copy + Eq>(
        p: &Dispatch<T>,
        segs: &[Seg<T>],
        depth: u64,
        lo: u32,
        hi: u32,
    ) -> (u64, u64) {
        let inside = segs.iter().filter(|s| s.start >= lo && s.end <= hi);
        match p {
            Dispatch::Jump(_) => (0, inside.map(|s| s.weight).sum::<u64>() * depth),
            Dispatch::Chain { tests, fall } => {
                let size: u64 = tests.iter().map(|t| t.size()).sum();
                let mut path = 0;
                for s in inside {
                    let mut at = 0;
                    let mut hit = None;
                    for t in tests {
                        at += t.size();
                        let x = match *t {
                            Test::Eq(_, x) | Test::Below(_, x) | Test::AtLeast(_, x) => x,
                            Test::Range(_, _, x) => x,
                        };
                        if x == s.target && x != *fall {
                            hit = Some(at);
                            break;
                        }
                    }
                    path += s.weight * (depth + hit.unwrap_or(size));
                }
                (size, path)
            }
            Dispatch::Split { at, lo: l, hi: h } => {
                let (s1, p1) = go(l, segs, depth + 1, lo, at - 1);
                let (s2, p2) = go(h, segs, depth + 1, *at, hi);
                (1 + s1 + s2, p1 + p2)
            }
        }
    }
    go(plan, segs, 0, 0, u32::MAX)
}

/// Where `p` sends `nr`, for tests.
#[cfg(test)]
fn lookup<T: Copy>(p: &Dispatch<T>, nr: u32) -> T {
    match p {
        Dispatch::Jump(t) => *t,
        Dispatch::Chain { tests, fall } => {
            for t in tests {
                let hit = match *t {
                    Test::Eq(k, x) => (nr == k).then_some(x),
                    Test::Below(k, x) => (nr < k).then_some(x),
                    Test::AtLeast(k, x) => (nr >= k).then_some(x),
                    Test::Range(lo, hi, x) => (lo <= nr && nr <= hi).then_some(x),
                };
                if let Some(x) = hit {
                    return x;
                }
            }
            *fall
        }
        Dispatch::Split { at, lo, hi } => {
            if nr >= *at {
                lookup(hi, nr)
            } else {
                lookup(lo, nr)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(cuts: &[(u32, u8, u64)]) -> Vec<Seg<u8>> {
        cuts.iter()
            .enumerate()
            .map(|(i, &(start, target, weight))| Seg {
                start,
                end: cuts.get(i + 1).map_or(u32::MAX, |c| c.0 - 1),
                target,
                weight,
            })
            .collect()
    }

    #[test]
    fn plans_send_every_number_to_its_segment() {
        let cases = [
            segs(&[(0, 0, 10)]),
            segs(&[(0, 0, 3), (3, 1, 1), (4, 0, 100), (0x4000_0000, 2, 0)]),
            segs(&[
                (0, 1, 5),
                (5, 0, 20),
                (30, 2, 1),
                (31, 0, 200),
                (300, 1, 3),
                (303, 0, 0),
                (u32::MAX, 3, 0),
            ]),
        ];
        let mut many = Vec::new();
        for i in 0..400u32 {
            many.push((i * 3, (i % 5) as u8, 2));
        }
        let many = segs(&many);
        for s in cases.iter().chain([&many]) {
            for per_insn in [0, 1, 50, 10_000] {
                let p = plan(s, per_insn);
                for seg in s {
                    for nr in [seg.start, seg.end, seg.start + (seg.end - seg.start) / 2] {
                        assert_eq!(lookup(&p, nr), seg.target, "{nr} {p:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_few_numbers_make_a_chain() {
        let s = segs(&[(0, 0, 3), (3, 1, 1), (4, 0, 100), (7, 1, 1), (8, 0, 100)]);
        let p = plan(&s, 200);
        assert!(
            matches!(p, Dispatch::Chain { ref tests, fall: 0 } if tests.len() == 2),
            "{p:?}"
        );
    }
}

#[cfg(test)]
mod chain_cost {
    use super::*;

    #[test]
    fn costing_a_chain_agrees_with_building_it() {
        // Single numbers, ranges, repeated targets and equal weights (the order of
        // ties changes the path): every interval, every fall-through.
        let mut segs = Vec::new();
        let mut start = 0u32;
        for k in 0..24u32 {
            let len = [1, 1, 3, 1, 7, 2][k as usize % 6];
            segs.push(Seg {
                start,
                end: start + len - 1,
                target: (k * 7 % 4) as u8,
                weight: [2, 5, 2, 0, 9, 2, 1][k as usize % 7],
            });
            start += len;
        }
        let mut p = Planner {
            segs: &segs,
            per_insn: 1,
            prefix: Vec::new(),
            memo: HashMap::default(),
            scratch: Vec::new(),
        };
        for i in 0..segs.len() {
            for j in i..segs.len() {
                for f in i..=j {
                    let (_, size, path) = p.chain(i, j, f);
                    assert_eq!(
                        p.chain_cost(i, j, f),
                        (size, path),
                        "{i}..={j} falling to {f}"
                    );
                }
            }
        }
    }
}
