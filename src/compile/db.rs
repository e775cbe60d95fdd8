//! What libseccomp makes of the rules runc hands it, per (arch, syscall).
//!
//! runc adds rules one call at a time; libseccomp merges each into the syscall's
//! entry, and the order matters:
//!
//! - an unconditional rule on a syscall that has one already changes nothing
//!   (the first unconditional rule wins);
//! - an unconditional rule on a syscall with argument rules replaces them all;
//! - an argument rule on a syscall with an unconditional rule is dropped;
//! - argument rules are merged into a decision tree of 32-bit comparisons, one
//!   level per argument word, siblings ordered by argument, operator and value;
//!   identical comparisons share a node, and a rule that would give one path two
//!   different actions is refused (runc then fails to start the container).
//!
//! The tree is evaluated as libseccomp's generated BPF does: siblings are tried in
//! order, a node's true or false branch leads to an action or to the next level,
//! and a level that matches nothing falls back to the next sibling of its parent,
//! finally to the default action. x86 socket and IPC calls are also added in their
//! multiplexed form (`socketcall` / `ipc` with the call number in `args[0]`).
//!
//! This module is written from a reading of libseccomp's behaviour, and the
//! differential tests hold it to libseccomp's own output.

use super::bpf::SeccompData;
use crate::arch::Arch;
use crate::profile::{ArgCond, CmpOp, Resolved, Verdict};
use std::collections::BTreeMap;

/// An action together with the effective rule (index into `Resolved::rules`) that set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Leaf {
    pub verdict: Verdict,
    pub origin: usize,
}

/// The 32-bit comparison a tree node makes after masking the loaded word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeOp {
    Eq,
    MaskedEq,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub arg: u8,
    pub hi: bool,
    /// Offset of the word in seccomp_data.
    pub offset: u32,
    pub op: NodeOp,
    pub op_orig: CmpOp,
    pub mask: u32,
    pub datum: u32,
    pub datum_full: u64,
    pub nxt_t: Option<usize>,
    pub nxt_f: Option<usize>,
    pub act_t: Option<Leaf>,
    pub act_f: Option<Leaf>,
    pub lvl_prv: Option<usize>,
    pub lvl_nxt: Option<usize>,
}

impl Node {
    pub fn test(&self, word: u32) -> bool {
        let v = word & self.mask;
        match self.op {
            NodeOp::Eq | NodeOp::MaskedEq => v == self.datum,
            NodeOp::Gt => v > self.datum,
            NodeOp::Ge => v >= self.datum,
        }
    }

    fn leaf(&self) -> bool {
        self.nxt_t.is_none() && self.nxt_f.is_none()
    }
}

/// One syscall's entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    Always(Leaf),
    /// Some node of the top level of the tree.
    Tree(usize),
}

/// A rule libseccomp refuses; runc then refuses the whole profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Effective rule index.
    pub effective: usize,
    /// The effective rule whose action it clashes with.
    pub with: Option<usize>,
}

/// The outcome for one syscall: a verdict and the effective rule that decided it
/// (`None`: the default action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub origin: Option<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Db {
    pub nodes: Vec<Node>,
    pub entries: BTreeMap<(Arch, u32), Entry>,
}

/// Does libseccomp compare this arch's arguments as 64-bit values?
pub fn is_64bit(arch: Arch) -> bool {
    matches!(
        arch,
        Arch::X86_64
            | Arch::Aarch64
            | Arch::Riscv64
            | Arch::S390x
            | Arch::Ppc64le
            | Arch::Ppc64
            | Arch::Mips64
            | Arch::Mips64el
            | Arch::Loongarch64
    )
}

pub fn is_little_endian(arch: Arch) -> bool {
    arch.audit_arch() & 0x4000_0000 != 0
}

/// Offsets of the low and high words of `args[i]` in seccomp_data.
pub fn arg_offsets(arch: Arch, i: u8) -> (u32, u32) {
    let base = 16 + 8 * i as u32;
    if is_little_endian(arch) {
        (base, base + 4)
    } else {
        (base + 4, base)
    }
}

// x86 direct socket calls (359..=373) and IPC calls (393..=402) and their
// socketcall / ipc call numbers.
const X86_SOCKETCALL: u32 = 102;
const X86_IPC: u32 = 117;
const X86_SOCKET_MUX: &[(u32, u64)] = &[
    (359, 1),
    (360, 8),
    (361, 2),
    (362, 3),
    (363, 4),
    (364, 18),
    (365, 15),
    (366, 14),
    (367, 6),
    (368, 7),
    (369, 11),
    (370, 16),
    (371, 12),
    (372, 17),
    (373, 13),
];
const X86_IPC_MUX: &[(u32, u64)] = &[
    (393, 2),
    (394, 3),
    (395, 23),
    (396, 24),
    (397, 21),
    (398, 22),
    (399, 13),
    (400, 11),
    (401, 12),
    (402, 14),
];

/// The multiplexed form libseccomp also adds for an x86 socket or IPC syscall.
pub fn x86_multiplexed(nr: u32) -> Option<(u32, u64)> {
    let find = |table: &[(u32, u64)]| table.iter().find(|&&(n, _)| n == nr).map(|&(_, c)| c);
    find(X86_SOCKET_MUX)
        .map(|c| (X86_SOCKETCALL, c))
        .or_else(|| find(X86_IPC_MUX).map(|c| (X86_IPC, c)))
}

impl Db {
    /// Adds every effective rule in order, as runc's calls into libseccomp do.
    pub fn build(resolved: &Resolved) -> Result<Db, Conflict> {
        let mut db = Db::default();
        for (i, e) in resolved.rules.iter().enumerate() {
            if e.arch == Arch::X86 {
                if let Some((mux, call)) = x86_multiplexed(e.nr) {
                    let mut conds: Vec<ArgCond> =
                        e.conds.iter().copied().filter(|c| c.index != 0).collect();
                    conds.push(ArgCond {
                        index: 0,
                        value: call,
                        value_two: 0,
                        op: CmpOp::Eq,
                    });
                    db.add(e.arch, mux, e.verdict, i, &conds)?;
                }
            }
            db.add(e.arch, e.nr, e.verdict, i, &e.conds)?;
        }
        Ok(db)
    }

    /// Adds one rule (conditions ANDed, at most one per argument).
    pub fn add(
        &mut self,
        arch: Arch,
        nr: u32,
        verdict: Verdict,
        origin: usize,
        conds: &[ArgCond],
    ) -> Result<(), Conflict> {
        let leaf = Leaf { verdict, origin };
        let chain = self.gen_chain(arch, leaf, conds);
        let key = (arch, nr);
        match (self.entries.get(&key).copied(), chain) {
            (None, None) => {
                self.entries.insert(key, Entry::Always(leaf));
            }
            (None, Some(head)) => {
                self.entries.insert(key, Entry::Tree(head));
            }
            // The first unconditional rule stays; argument rules cannot narrow it.
            (Some(Entry::Always(_)), _) => {}
            // An unconditional rule replaces the argument rules.
            (Some(Entry::Tree(_)), None) => {
                self.entries.insert(key, Entry::Always(leaf));
            }
            (Some(Entry::Tree(existing)), Some(new)) => {
                self.tree_add(existing, new).map_err(|with| Conflict {
                    effective: origin,
                    with,
                })?;
            }
        }
        Ok(())
    }

    fn node(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    /// The chain of nodes for one rule; `None` when it has no (effective) conditions.
    fn gen_chain(&mut self, arch: Arch, leaf: Leaf, conds: &[ArgCond]) -> Option<usize> {
        let mut sorted: Vec<ArgCond> = conds.to_vec();
        sorted.sort_by_key(|c| c.index);
        let wide = is_64bit(arch);
        let mut head = None;
        // Nodes whose `tf` branch leads to the next comparison (or the action).
        let mut prev: Vec<usize> = Vec::new();
        let mut tf = false;
        for c in &sorted {
            let (mask, datum) = match c.op {
                CmpOp::MaskedEq => (c.value, c.value_two),
                _ => (u64::MAX, c.value),
            };
            let blank = |hi: bool, offset: u32, op: NodeOp, m: u32, d: u32| Node {
                arg: c.index,
                hi,
                offset,
                op,
                op_orig: c.op,
                mask: m,
                datum: d & m,
                datum_full: datum,
                nxt_t: None,
                nxt_f: None,
                act_t: None,
                act_f: None,
                lvl_prv: None,
                lvl_nxt: None,
            };
            let (lo_off, hi_off) = arg_offsets(arch, c.index);
            let (mlo, mhi, dlo, dhi) = (
                mask as u32,
                (mask >> 32) as u32,
                datum as u32,
                (datum >> 32) as u32,
            );
            if !wide {
                if c.op == CmpOp::MaskedEq && mlo == 0 {
                    continue;
                }
                // NE, LT and LE test the opposite and act on the false branch.
                let (op, new_tf) = match c.op {
                    CmpOp::Ne => (NodeOp::Eq, false),
                    CmpOp::Lt => (NodeOp::Ge, false),
                    CmpOp::Le => (NodeOp::Gt, false),
                    CmpOp::Eq => (NodeOp::Eq, true),
                    CmpOp::Ge => (NodeOp::Ge, true),
                    CmpOp::Gt => (NodeOp::Gt, true),
                    CmpOp::MaskedEq => (NodeOp::MaskedEq, true),
                };
                let n = blank(false, lo_off, op, mlo, dlo);
                let id = self.node(n);
                self.link(&prev, tf, id);
                head.get_or_insert(id);
                prev = vec![id];
                tf = new_tf;
                continue;
            }
            if c.op == CmpOp::MaskedEq && mlo == 0 && mhi == 0 {
                continue;
            }
            match c.op {
                CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                    let lo_op = if matches!(c.op, CmpOp::Gt | CmpOp::Le) {
                        NodeOp::Gt
                    } else {
                        NodeOp::Ge
                    };
                    let n0 = blank(true, hi_off, NodeOp::Gt, mhi, dhi);
                    let n1 = blank(true, hi_off, NodeOp::Eq, mhi, dhi);
                    let n2 = blank(false, lo_off, lo_op, mlo, dlo);
                    let (i0, i1, i2) = (self.node(n0), self.node(n1), self.node(n2));
                    self.nodes[i0].nxt_f = Some(i1);
                    self.nodes[i1].nxt_t = Some(i2);
                    self.link(&prev, tf, i0);
                    head.get_or_insert(i0);
                    if matches!(c.op, CmpOp::Gt | CmpOp::Ge) {
                        prev = vec![i0, i2];
                        tf = true;
                    } else {
                        prev = vec![i1, i2];
                        tf = false;
                    }
                }
                CmpOp::Eq | CmpOp::Ne | CmpOp::MaskedEq => {
                    let op = if c.op == CmpOp::MaskedEq {
                        NodeOp::MaskedEq
                    } else {
                        NodeOp::Eq
                    };
                    let n0 = blank(true, hi_off, op, mhi, dhi);
                    let n1 = blank(false, lo_off, op, mlo, dlo);
                    let (i0, i1) = (self.node(n0), self.node(n1));
                    self.nodes[i0].nxt_t = Some(i1);
                    self.link(&prev, tf, i0);
                    head.get_or_insert(i0);
                    if c.op == CmpOp::Ne {
                        prev = vec![i0, i1];
                        tf = false;
                    } else {
                        prev = vec![i1];
                        tf = true;
                    }
                }
            }
        }
        let head = head?;
        for &p in &prev {
            if tf {
                self.nodes[p].act_t = Some(leaf);
            } else {
                self.nodes[p].act_f = Some(leaf);
            }
        }
        Some(head)
    }

    fn link(&mut self, prev: &[usize], tf: bool, to: usize) {
        for &p in prev {
            if tf {
                self.nodes[p].nxt_t = Some(to);
            } else {
                self.nodes[p].nxt_f = Some(to);
            }
        }
    }

    /// The first node of the level `n` is on.
    pub fn level_head(&self, mut n: usize) -> usize {
        while let Some(p) = self.nodes[n].lvl_prv {
            n = p;
        }
        n
    }

    fn priority(n: &Node) -> (u32, u32) {
        let arg = ((n.arg as u32) << 1) + n.hi as u32;
        let op = match n.op_orig {
            CmpOp::MaskedEq | CmpOp::Eq | CmpOp::Ne => 3,
            CmpOp::Le | CmpOp::Lt => 2,
            CmpOp::Ge | CmpOp::Gt => 1,
        };
        (arg, op)
    }

    /// libseccomp's sibling order: is `a` "less than" `b`?
    fn chain_lt(a: &Node, b: &Node) -> bool {
        let (pa, pb) = (Db::priority(a), Db::priority(b));
        if pa.0 != pb.0 {
            return pa.0 < pb.0;
        }
        if pa.1 != pb.1 {
            return pa.1 < pb.1;
        }
        match a.op_orig {
            CmpOp::Le | CmpOp::Lt => a.datum > b.datum,
            _ => a.datum < b.datum,
        }
    }

    fn chain_eq(a: &Node, b: &Node) -> bool {
        Db::priority(a).0 == Db::priority(b).0
            && a.op == b.op
            && a.datum == b.datum
            && a.mask == b.mask
    }

    /// Is every action in the tree under `n` equal to `v`? Returns the first that is not.
    fn act_check(&self, n: Option<usize>, v: Verdict) -> Result<(), Option<usize>> {
        let Some(n) = n else { return Ok(()) };
        let mut cur = Some(self.level_head(n));
        while let Some(c) = cur {
            let node = &self.nodes[c];
            for leaf in [node.act_t, node.act_f].into_iter().flatten() {
                if leaf.verdict != v {
                    return Err(Some(leaf.origin));
                }
            }
            self.act_check(node.nxt_t, v)?;
            self.act_check(node.nxt_f, v)?;
            cur = node.lvl_nxt;
        }
        Ok(())
    }

    /// Merges the chain `new` into the level holding `existing`.
    fn tree_add(&mut self, existing: usize, new: usize) -> Result<(), Option<usize>> {
        let mut x = self.level_head(existing);
        let n = new;
        loop {
            let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
            if Db::chain_eq(xn, nn) {
                if let Some(nt) = nn.act_t {
                    match xn.act_t {
                        None => {
                            self.act_check(xn.nxt_t, nt.verdict)?;
                            let xm = &mut self.nodes[x];
                            xm.nxt_t = None;
                            xm.act_t = Some(nt);
                        }
                        Some(xt) if xt.verdict != nt.verdict => {
                            let (n_hi, n_full, x_full) = (nn.hi, nn.datum_full, xn.datum_full);
                            let leafy = xn.leaf() || nn.leaf();
                            if n_hi && n_full > x_full {
                                self.nodes[x].act_t = Some(nt);
                            }
                            if leafy {
                                return Err(Some(xt.origin));
                            }
                        }
                        _ => {}
                    }
                }
                let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
                if let Some(nf) = nn.act_f {
                    match xn.act_f {
                        None => {
                            self.act_check(xn.nxt_f, nf.verdict)?;
                            let xm = &mut self.nodes[x];
                            xm.nxt_f = None;
                            xm.act_f = Some(nf);
                        }
                        Some(xf) if xf.verdict != nf.verdict => {
                            let (n_hi, n_full, x_full) = (nn.hi, nn.datum_full, xn.datum_full);
                            let leafy = xn.leaf() || nn.leaf();
                            // libseccomp updates the true action here, as written.
                            if n_hi && n_full < x_full {
                                let nt = nn.act_t;
                                if let Some(xt) = self.nodes[x].act_t.as_mut() {
                                    *xt = nt.unwrap_or(Leaf {
                                        verdict: Verdict {
                                            action: crate::profile::Action::KillThread,
                                            data: 0,
                                        },
                                        origin: nf.origin,
                                    });
                                }
                            }
                            if leafy {
                                return Err(Some(xf.origin));
                            }
                        }
                        _ => {}
                    }
                }
                let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
                let (n_nt, n_nf) = (nn.nxt_t, nn.nxt_f);
                if let Some(nt) = n_nt {
                    match (xn.nxt_t, xn.act_t) {
                        (Some(xt), _) => self.tree_add(xt, nt)?,
                        (None, None) => self.nodes[x].nxt_t = Some(nt),
                        (None, Some(_)) => return Ok(()),
                    }
                }
                let xn = &self.nodes[x];
                if let Some(nf) = n_nf {
                    match (xn.nxt_f, xn.act_f) {
                        (Some(xf), _) => self.tree_add(xf, nf)?,
                        (None, None) => self.nodes[x].nxt_f = Some(nf),
                        (None, Some(_)) => return Ok(()),
                    }
                }
                return Ok(());
            } else if !Db::chain_lt(xn, nn) {
                match xn.lvl_nxt {
                    None => {
                        self.nodes[n].lvl_prv = Some(x);
                        self.nodes[x].lvl_nxt = Some(n);
                        return Ok(());
                    }
                    Some(next) => x = next,
                }
            } else {
                let prv = self.nodes[x].lvl_prv;
                if let Some(p) = prv {
                    self.nodes[p].lvl_nxt = Some(n);
                }
                self.nodes[n].lvl_prv = prv;
                self.nodes[n].lvl_nxt = Some(x);
                self.nodes[x].lvl_prv = Some(n);
                return Ok(());
            }
        }
    }

    /// What the filter decides for this syscall, and which rule decided it.
    pub fn evaluate(&self, arch: Arch, nr: u32, data: &SeccompData, default: Verdict) -> Outcome {
        let dflt = Outcome {
            verdict: default,
            origin: None,
        };
        match self.entries.get(&(arch, nr)) {
            None => dflt,
            Some(Entry::Always(l)) => Outcome {
                verdict: l.verdict,
                origin: Some(l.origin),
            },
            Some(Entry::Tree(head)) => self.eval_level(*head, data).map_or(dflt, |l| Outcome {
                verdict: l.verdict,
                origin: Some(l.origin),
            }),
        }
    }

    fn eval_level(&self, start: usize, data: &SeccompData) -> Option<Leaf> {
        let mut cur = Some(self.level_head(start));
        while let Some(c) = cur {
            let node = &self.nodes[c];
            let word = data.word(node.offset).unwrap_or(0);
            let (nxt, act) = if node.test(word) {
                (node.nxt_t, node.act_t)
            } else {
                (node.nxt_f, node.act_f)
            };
            match (nxt, act) {
                (Some(sub), _) => {
                    if let Some(l) = self.eval_level(sub, data) {
                        return Some(l);
                    }
                }
                (None, Some(a)) => return Some(a),
                (None, None) => {}
            }
            cur = node.lvl_nxt;
        }
        None
    }
}
