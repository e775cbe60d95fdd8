//! The argument values a call is tried with when its rules test arguments.
//!
//! A rule's conditions cut each argument's range at their values: the verdict
//! can change only where some condition's value (or mask) lies. So each
//! value, its neighbours, the same with the high word flipped or set, and for
//! masked tests the mask and its complement, are tried alone; then each set of
//! ANDed conditions is satisfied together and every argument varied in turn,
//! which reaches the verdicts of rules that need several arguments at once.
//! (The differential tests pick their probes the same way.) A call with
//! thousands of argument rules gets each set satisfied but not varied once it
//! has [`VARIED_BUDGET`] vectors.

use crate::arch::Arch;
use crate::compile::libseccomp::is_64bit;
use crate::profile::{ArgCond, CmpOp};
use std::collections::BTreeSet;

/// The argument vectors to try for one call whose rules (on either side)
/// have the condition sets `sets` (each ANDed, as libseccomp receives them);
/// `[0; 6]` first. On 32-bit arches only the low word reaches the filter.
pub fn vectors(arch: Arch, sets: &[&[ArgCond]]) -> Vec<[u64; 6]> {
    let word = |v: u64| if is_64bit(arch) { v } else { v & 0xffff_ffff };
    let mut singles = BTreeSet::new();
    for c in sets.iter().flat_map(|s| s.iter()) {
        for v in cut_points(c) {
            singles.insert((c.index, word(v)));
        }
    }
    let mut out = vec![[0u64; 6]];
    let mut seen = BTreeSet::from([[0u64; 6]]);
    let mut push = |a: [u64; 6]| {
        if seen.insert(a) {
            out.push(a);
        }
        seen.len()
    };
    for &(i, v) in &singles {
        let mut a = [0u64; 6];
        a[usize::from(i)] = v;
        push(a);
    }
    for set in sets.iter().filter(|s| !s.is_empty()) {
        let mut base = [0u64; 6];
        for c in set.iter() {
            base[usize::from(c.index)] = word(satisfying(c));
        }
        let tried = push(base);
        // Thousands of argument rules on one call would make this quadratic:
        // past the budget, each set is tried satisfied, not varied.
        if tried >= VARIED_BUDGET {
            continue;
        }
        for &(i, v) in &singles {
            let mut a = base;
            a[usize::from(i)] = v;
            push(a);
        }
    }
    out
}

/// How many vectors one call may get before condition sets stop being varied
/// (a few milliseconds of evaluation).
const VARIED_BUDGET: usize = 20_000;

/// The values around which `c` changes its answer.
fn cut_points(c: &ArgCond) -> Vec<u64> {
    let around = |v: u64| {
        [
            v,
            v.wrapping_sub(1),
            v.wrapping_add(1),
            v ^ 0x1_0000_0000,
            v | 0xffff_ffff_0000_0000,
            v & 0xffff_ffff,
        ]
    };
    let mut out = around(c.value).to_vec();
    if c.op == CmpOp::MaskedEq {
        out.extend(around(c.value_two));
        out.extend(around(c.value | c.value_two));
        out.extend(around(!c.value));
    }
    out
}

/// A value for which `c` holds.
fn satisfying(c: &ArgCond) -> u64 {
    match c.op {
        CmpOp::Eq | CmpOp::Ge | CmpOp::Le => c.value,
        CmpOp::Gt | CmpOp::Ne => c.value.wrapping_add(1),
        CmpOp::Lt => c.value.wrapping_sub(1),
        CmpOp::MaskedEq => c.value_two,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(index: u8, op: CmpOp, value: u64, value_two: u64) -> ArgCond {
        ArgCond {
            index,
            value,
            value_two,
            op,
        }
    }

    #[test]
    fn every_side_of_each_condition_is_tried() {
        let c = [cond(0, CmpOp::Eq, 16, 0)];
        let v = vectors(Arch::X86_64, &[&c]);
        assert_eq!(v[0], [0; 6]);
        for want in [15, 16, 17, 0x1_0000_0010] {
            assert!(v.iter().any(|a| a[0] == want), "{want}: {v:x?}");
        }
    }

    #[test]
    fn conditions_anded_are_satisfied_together() {
        let c = [cond(0, CmpOp::Eq, 1, 0), cond(2, CmpOp::Gt, 7, 0)];
        let v = vectors(Arch::X86_64, &[&c]);
        assert!(v.iter().any(|a| a[0] == 1 && a[2] == 8), "{v:x?}");
    }

    #[test]
    fn thirty_two_bit_arches_get_low_words_only() {
        let c = [cond(1, CmpOp::Eq, 0x1_0000_0002, 0)];
        let v = vectors(Arch::X86, &[&c]);
        assert!(v.iter().all(|a| a[1] <= 0xffff_ffff), "{v:x?}");
        assert!(v.iter().any(|a| a[1] == 2));
    }
}
