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
//!   different actions is refused (runc then fails to start the container);
//! - before merging, libseccomp prunes: a subtree the new rule makes "redundant"
//!   is removed, or the new rule itself is dropped. Its test is structural (equal
//!   nodes, not equal meanings), so on 32-bit arches, where only the low word of
//!   a datum is compared, rules whose 64-bit values differ can be dropped. We keep
//!   libseccomp's pointers and reference counts so the same nodes go.
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
use crate::syscalls::multiplex::x86_multiplexed;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

mod levels;

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
    /// libseccomp's reference count: one per pointer to the node (parents, level
    /// neighbours, the syscall entry). Pruning frees nodes by it.
    refcnt: u32,
    /// The action value libseccomp stores while the flag is off (`act_t` is the
    /// flag and value together); `None` is its zeroed KILL_THREAD.
    ghost_t: Option<Leaf>,
    ghost_f: Option<Leaf>,
    /// The indexed level the node is on, and its place there (see `levels`).
    level: Option<(u32, levels::Place)>,
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

    /// The true (`tf`) or false branch.
    fn branch(&self, tf: bool) -> Option<usize> {
        if tf {
            self.nxt_t
        } else {
            self.nxt_f
        }
    }

    /// The true (`tf`) or false action.
    fn action(&self, tf: bool) -> Option<Leaf> {
        if tf {
            self.act_t
        } else {
            self.act_f
        }
    }

    fn leaf(&self) -> bool {
        self.nxt_t.is_none() && self.nxt_f.is_none()
    }

    /// The true action's value as libseccomp holds it, flag or not.
    fn val_t(&self) -> Verdict {
        self.act_t
            .or(self.ghost_t)
            .map_or(KILL_THREAD, |l| l.verdict)
    }

    fn val_f(&self) -> Verdict {
        self.act_f
            .or(self.ghost_f)
            .map_or(KILL_THREAD, |l| l.verdict)
    }
}

/// A rule's chain while it is built: its first node, and the nodes whose `tf`
/// branch leads to the next comparison (or, at the end, to the action).
struct Chain {
    head: Option<usize>,
    ends: Vec<usize>,
    tf: bool,
}

/// A condition's mask and datum, split into the words a node compares.
struct CondWords {
    lo_off: u32,
    hi_off: u32,
    mask_lo: u32,
    mask_hi: u32,
    datum_lo: u32,
    datum_hi: u32,
    datum: u64,
}

impl CondWords {
    fn new(arch: Arch, c: &ArgCond) -> CondWords {
        let (mask, datum) = match c.op {
            CmpOp::MaskedEq => (c.value, c.value_two),
            _ => (u64::MAX, c.value),
        };
        let (lo_off, hi_off) = arg_offsets(arch, c.index);
        CondWords {
            lo_off,
            hi_off,
            mask_lo: mask as u32,
            mask_hi: (mask >> 32) as u32,
            datum_lo: datum as u32,
            datum_hi: (datum >> 32) as u32,
            datum,
        }
    }

    /// A fresh node comparing the high (`hi`) or low word of `c`'s argument.
    fn node(&self, c: &ArgCond, hi: bool, op: NodeOp) -> Node {
        let (offset, mask, datum) = if hi {
            (self.hi_off, self.mask_hi, self.datum_hi)
        } else {
            (self.lo_off, self.mask_lo, self.datum_lo)
        };
        Node {
            arg: c.index,
            hi,
            offset,
            op,
            op_orig: c.op,
            mask,
            datum: datum & mask,
            datum_full: self.datum,
            nxt_t: None,
            nxt_f: None,
            act_t: None,
            act_f: None,
            lvl_prv: None,
            lvl_nxt: None,
            refcnt: 0,
            ghost_t: None,
            ghost_f: None,
            level: None,
        }
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
    /// libseccomp never returns from adding this rule (its level list loops).
    pub hang: bool,
}

/// Why libseccomp does not add a rule: a clash with this effective rule's action,
/// or a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddError {
    Clash(Option<usize>),
    Hang,
}

/// A pointer to a level that libseccomp's merge may rewrite: the syscall's tree
/// (held in `Db::root` during an add) or a node's true or false branch.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Root,
    T(usize),
    F(usize),
}

// `_db_tree_prune`'s state flags.
const IST_MATCH: u32 = 0x1;
const IST_MATCH_ONCE: u32 = 0x2;
const IST_X_FINISHED: u32 = 0x10;
const IST_N_FINISHED: u32 = 0x20;
const IST_X_PREFIX: u32 = 0x100;
const IST_N_PREFIX: u32 = 0x200;
const IST_MATCHSET: u32 = IST_MATCH | IST_MATCH_ONCE;
const IST_REDUNDANT: u32 = IST_MATCH | IST_X_FINISHED | IST_N_PREFIX;

#[derive(Clone, Copy, Debug)]
struct PruneState {
    flags: u32,
    action: Verdict,
}

/// The pruning of one level: the state it was entered with, the flags it
/// gathers (`sn`, as libseccomp names them), and the nodes it freed.
struct LevelPrune {
    state: PruneState,
    sn: PruneState,
    freed: u32,
}

const KILL_THREAD: Verdict = Verdict {
    action: crate::profile::Action::KillThread,
    data: 0,
};

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
    /// The tree of the syscall being added to, while a rule is merged.
    root: Option<usize>,
    /// Every action the tree being added to may hold (see `act_check`).
    acts: Vec<Verdict>,
    /// `acts` of each syscall's tree, kept while another is added to.
    tree_acts: BTreeMap<(Arch, u32), Vec<Verdict>>,
    levels: levels::Levels,
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

impl Db {
    /// Adds every effective rule in order, as runc's calls into libseccomp do.
    pub fn build(resolved: &Resolved) -> Result<Db, Conflict> {
        Db::build_watched(resolved, &mut |_| {})
    }

    /// [`Db::build`], telling `added` how many rules are in after each (a
    /// progress line's count: merging is what takes long in a huge profile).
    pub fn build_watched(
        resolved: &Resolved,
        added: &mut dyn FnMut(usize),
    ) -> Result<Db, Conflict> {
        let mut db = Db::default();
        for (i, e) in resolved.rules.iter().enumerate() {
            added(i);
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
        let key = (arch, nr);
        let mut acts = self.tree_acts.remove(&key).unwrap_or_default();
        if !acts.contains(&verdict) {
            acts.push(verdict);
        }
        self.acts = acts;
        let done = self.add_to(key, leaf, conds);
        self.tree_acts.insert(key, std::mem::take(&mut self.acts));
        done
    }

    /// [`Db::add`] to the syscall `key`, with `self.acts` that syscall's.
    fn add_to(&mut self, key: (Arch, u32), leaf: Leaf, conds: &[ArgCond]) -> Result<(), Conflict> {
        let (arch, verdict, origin) = (key.0, leaf.verdict, leaf.origin);
        let chain = self.gen_chain(arch, leaf, conds);
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
                let err = |e| match e {
                    AddError::Clash(with) => Conflict {
                        effective: origin,
                        with,
                        hang: false,
                    },
                    AddError::Hang => Conflict {
                        effective: origin,
                        with: None,
                        hang: true,
                    },
                };
                // First prune: the new rule may make parts of the tree redundant,
                // or be redundant itself. The test is structural (see `prune`), so
                // it also drops rules that are not redundant at all.
                self.root = Some(existing);
                let mut state = PruneState {
                    flags: 0,
                    action: verdict,
                };
                let freed = self.prune(Some(existing), Some(new), &mut state);
                match self.root {
                    // Everything pruned: the new rule is the tree.
                    None => {
                        self.entries.insert(key, Entry::Tree(new));
                        return Ok(());
                    }
                    Some(r) if freed == 0 && state.flags & IST_REDUNDANT == IST_REDUNDANT => {
                        self.entries.insert(key, Entry::Tree(r));
                        self.tree_put(Some(new));
                        return Ok(());
                    }
                    Some(_) => {}
                }
                let added = self.tree_add(Slot::Root, new);
                let root = self.root.take().expect("the tree survives the merge");
                self.entries.insert(key, Entry::Tree(root));
                added.map_err(err)?;
                self.tree_put(Some(new));
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
        let mut chain = Chain {
            head: None,
            ends: Vec::new(),
            tf: false,
        };
        for c in &sorted {
            let words = CondWords::new(arch, c);
            if is_64bit(arch) {
                self.chain_wide(&mut chain, c, &words);
            } else {
                self.chain_narrow(&mut chain, c, &words);
            }
        }
        let head = chain.head?;
        // The syscall entry's reference.
        self.nodes[head].refcnt += 1;
        for &p in &chain.ends {
            if chain.tf {
                self.nodes[p].act_t = Some(leaf);
            } else {
                self.nodes[p].act_f = Some(leaf);
            }
        }
        Some(head)
    }

    /// On a 32-bit arch a condition is one node on the low word.
    fn chain_narrow(&mut self, chain: &mut Chain, c: &ArgCond, w: &CondWords) {
        if c.op == CmpOp::MaskedEq && w.mask_lo == 0 {
            return;
        }
        // NE, LT and LE test the opposite and act on the false branch.
        let (op, tf) = match c.op {
            CmpOp::Ne => (NodeOp::Eq, false),
            CmpOp::Lt => (NodeOp::Ge, false),
            CmpOp::Le => (NodeOp::Gt, false),
            CmpOp::Eq => (NodeOp::Eq, true),
            CmpOp::Ge => (NodeOp::Ge, true),
            CmpOp::Gt => (NodeOp::Gt, true),
            CmpOp::MaskedEq => (NodeOp::MaskedEq, true),
        };
        let id = self.node(w.node(c, false, op));
        self.append(chain, id, vec![id], tf);
    }

    /// On a 64-bit arch a condition compares the high word, then the low one.
    fn chain_wide(&mut self, chain: &mut Chain, c: &ArgCond, w: &CondWords) {
        if c.op == CmpOp::MaskedEq && w.mask_lo == 0 && w.mask_hi == 0 {
            return;
        }
        match c.op {
            CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                let lo_op = if matches!(c.op, CmpOp::Gt | CmpOp::Le) {
                    NodeOp::Gt
                } else {
                    NodeOp::Ge
                };
                let i0 = self.node(w.node(c, true, NodeOp::Gt));
                let i1 = self.node(w.node(c, true, NodeOp::Eq));
                let i2 = self.node(w.node(c, false, lo_op));
                self.link(&[i0], false, i1);
                self.link(&[i1], true, i2);
                if matches!(c.op, CmpOp::Gt | CmpOp::Ge) {
                    self.append(chain, i0, vec![i0, i2], true);
                } else {
                    self.append(chain, i0, vec![i1, i2], false);
                }
            }
            CmpOp::Eq | CmpOp::Ne | CmpOp::MaskedEq => {
                let op = if c.op == CmpOp::MaskedEq {
                    NodeOp::MaskedEq
                } else {
                    NodeOp::Eq
                };
                let i0 = self.node(w.node(c, true, op));
                let i1 = self.node(w.node(c, false, op));
                self.link(&[i0], true, i1);
                if c.op == CmpOp::Ne {
                    self.append(chain, i0, vec![i0, i1], false);
                } else {
                    self.append(chain, i0, vec![i1], true);
                }
            }
        }
    }

    /// Links the chain's ends to `first`, the first node of a condition whose
    /// `tf` branches from `ends` lead on.
    fn append(&mut self, chain: &mut Chain, first: usize, ends: Vec<usize>, tf: bool) {
        self.link(&chain.ends, chain.tf, first);
        chain.head.get_or_insert(first);
        chain.ends = ends;
        chain.tf = tf;
    }

    fn link(&mut self, prev: &[usize], tf: bool, to: usize) {
        for &p in prev {
            self.nodes[to].refcnt += 1;
            if tf {
                self.nodes[p].nxt_t = Some(to);
            } else {
                self.nodes[p].nxt_f = Some(to);
            }
        }
    }

    /// The first node of the level `n` is on.
    pub fn level_head(&self, mut n: usize) -> usize {
        if let Some(head) = self.indexed_head(n) {
            return head;
        }
        while let Some(p) = self.nodes[n].lvl_prv {
            n = p;
        }
        n
    }

    fn priority(n: &Node) -> (u32, u32) {
        let arg = ((n.arg as u32) << 1) + n.hi as u32;
        (arg, Db::priority_class(n.op_orig))
    }

    fn priority_class(op: CmpOp) -> u32 {
        match op {
            CmpOp::MaskedEq | CmpOp::Eq | CmpOp::Ne => 3,
            CmpOp::Le | CmpOp::Lt => 2,
            CmpOp::Ge | CmpOp::Gt => 1,
        }
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
        // A tree all of whose actions are `v` needs no walk (in a syscall with
        // thousands of ALLOW argument rules, the walk made each add linear).
        if levels::indexing() && self.acts.iter().all(|&a| a == v) {
            return Ok(());
        }
        self.act_walk(n, v)
    }

    fn act_walk(&self, n: Option<usize>, v: Verdict) -> Result<(), Option<usize>> {
        let Some(n) = n else { return Ok(()) };
        let mut cur = Some(self.level_head(n));
        while let Some(c) = cur {
            let node = &self.nodes[c];
            for leaf in [node.act_t, node.act_f].into_iter().flatten() {
                if leaf.verdict != v {
                    return Err(Some(leaf.origin));
                }
            }
            self.act_walk(node.nxt_t, v)?;
            self.act_walk(node.nxt_f, v)?;
            cur = node.lvl_nxt;
        }
        Ok(())
    }

    fn slot(&self, s: Slot) -> Option<usize> {
        match s {
            Slot::Root => self.root,
            Slot::T(n) => self.nodes[n].nxt_t,
            Slot::F(n) => self.nodes[n].nxt_f,
        }
    }

    fn set_slot(&mut self, s: Slot, v: Option<usize>) {
        match s {
            Slot::Root => self.root = v,
            Slot::T(n) => self.nodes[n].nxt_t = v,
            Slot::F(n) => self.nodes[n].nxt_f = v,
        }
        if let Slot::T(n) | Slot::F(n) = s {
            self.branches_changed(n);
        }
    }

    fn get(&mut self, n: Option<usize>) -> Option<usize> {
        if let Some(i) = n {
            self.nodes[i].refcnt += 1;
        }
        n
    }

    /// Drops a reference; the last one frees the node, splices its level and drops
    /// its subtrees. Returns the nodes freed and what the caller's pointer becomes
    /// (a level neighbour when the node was freed).
    fn node_put(&mut self, n: Option<usize>) -> (u32, Option<usize>) {
        let Some(i) = n else { return (0, None) };
        let node = &mut self.nodes[i];
        node.refcnt = node.refcnt.wrapping_sub(1);
        if node.refcnt != 0 {
            return (0, n);
        }
        let (mut lvl_p, mut lvl_n, nxt_t, nxt_f) =
            (node.lvl_prv, node.lvl_nxt, node.nxt_t, node.nxt_f);
        self.unindex(i);
        let mut cnt = 0;
        if let Some(p) = lvl_p {
            self.nodes[p].lvl_nxt = None;
        }
        if let Some(q) = lvl_n {
            self.nodes[q].lvl_prv = None;
        }
        if lvl_p.is_some() {
            let (c, p) = self.node_put(lvl_p);
            cnt += c;
            lvl_p = p;
        }
        if lvl_n.is_some() {
            let (c, q) = self.node_put(lvl_n);
            cnt += c;
            lvl_n = q;
        }
        if let Some(p) = lvl_p {
            self.nodes[p].lvl_nxt = self.get(lvl_n);
        }
        if let Some(q) = lvl_n {
            self.nodes[q].lvl_prv = self.get(lvl_p);
        }
        cnt += self.tree_put(nxt_t);
        cnt += self.tree_put(nxt_f);
        (cnt + 1, lvl_p.or(lvl_n))
    }

    /// Drops a reference to a level, and the whole level if nothing else points
    /// into it. Returns the nodes freed.
    fn tree_put(&mut self, t: Option<usize>) -> u32 {
        let (mut cnt, t) = self.node_put(t);
        if let Some(t) = t {
            cnt += self.level_clean(t);
        }
        cnt
    }

    fn level_clean(&mut self, n: usize) -> u32 {
        let start = self.level_head(n);
        let mut cur = Some(start);
        while let Some(c) = cur {
            let node = &self.nodes[c];
            let links = node.lvl_prv.is_some() as u32 + node.lvl_nxt.is_some() as u32;
            if node.refcnt > links {
                return 0;
            }
            cur = node.lvl_nxt;
        }
        let mut cnt = 0;
        let mut cur = Some(start);
        while let Some(c) = cur {
            let (k, next) = self.node_put(cur);
            cnt += k;
            // libseccomp would spin here on a node it cannot free.
            if next == Some(c) {
                break;
            }
            cur = next;
        }
        cnt
    }

    /// Unlinks `node` (searched for from the tree in `slot`) from its level and drops
    /// a reference to it; nodes left with neither branch nor action on the way
    /// back up are unlinked too. Stops after a level where something was freed.
    fn tree_remove(&mut self, slot: Slot, node: usize) -> u32 {
        let Some(t) = self.slot(slot) else { return 0 };
        let mut c = self.level_head(t);
        let mut cnt = 0;
        loop {
            let zombie = |n: &Node| n.leaf() && n.act_t.is_none() && n.act_f.is_none();
            if c != node {
                cnt += self.tree_remove(Slot::T(c), node);
                cnt += self.tree_remove(Slot::F(c), node);
            }
            if c == node || zombie(&self.nodes[c]) {
                let (prv, nxt) = (self.nodes[c].lvl_prv, self.nodes[c].lvl_nxt);
                self.unindex(c);
                if self.slot(slot) == Some(c) {
                    self.set_slot(slot, prv.or(nxt));
                }
                if let Some(p) = prv {
                    self.nodes[p].lvl_nxt = nxt;
                }
                if let Some(q) = nxt {
                    self.nodes[q].lvl_prv = prv;
                }
                self.nodes[c].lvl_prv = None;
                self.nodes[c].lvl_nxt = None;
                return cnt + self.node_put(Some(c)).0;
            }
            match self.nodes[c].lvl_nxt {
                Some(next) if cnt == 0 => c = next,
                _ => return cnt,
            }
        }
    }

    /// libseccomp's `_db_tree_prune`: walks the new chain against the tree before
    /// merging. Where the new rule ends on a matched node that the tree continues
    /// below with actions all equal to the new rule's, that subtree goes (the new
    /// rule is "shorter"); where the new rule has extra levels above a match on a
    /// leaf of the tree, the new rule is flagged redundant and is not added at all.
    /// A match is `chain_eq` on a node: argument, word, comparison, datum and
    /// mask, but neither which branch acts nor the action. On 32-bit arches, where
    /// only the low word of a datum is compared, `LT 2^64-1` and `GE 2^64-1` are
    /// the same node (`lo >= 0xffffffff`), so an ERRNO rule `GE 2^64-1 && arg0 != 0`
    /// after an ALLOW rule `LT 2^64-1` is dropped there (but not on 64-bit arches).
    /// Returns the nodes freed.
    fn prune(
        &mut self,
        existing: Option<usize>,
        new: Option<usize>,
        state: &mut PruneState,
    ) -> u32 {
        let mut level = LevelPrune {
            state: *state,
            sn: *state,
            freed: 0,
        };
        if let (Some(x), Some(n)) = (existing, new) {
            if state.flags & IST_MATCHSET != IST_MATCH_ONCE {
                self.prune_level(x, n, &mut level);
            }
        }
        if level.sn.flags & IST_MATCH != 0 {
            state.flags |= level.sn.flags;
        } else {
            state.flags &= !IST_MATCH;
        }
        level.freed
    }

    /// Compares the new node `n` with each node of the existing level holding `x0`.
    fn prune_level(&mut self, x0: usize, n: usize, level: &mut LevelPrune) {
        let mut x = self.level_head(x0);
        // Searching no prefix, most nodes are compared with `n` for nothing:
        // below a match (MATCH_ONCE) every node but `n`'s twins (the searches
        // they start stop at once on MATCH_ONCE), else the nodes the index
        // finds no work at (`indexed_work_from`). A clean level skips them.
        let flags = level.state.flags & (IST_MATCH_ONCE | IST_X_PREFIX | IST_N_PREFIX);
        loop {
            // Without MATCH_ONCE, only the nodes the index says have work.
            let skip = match flags {
                IST_MATCH_ONCE => self.indexed_twin_from(x, n),
                0 => self.indexed_work_from(x, n),
                _ => None,
            };
            match skip {
                Some(Some(next)) => x = next,
                Some(None) => break,
                None => {}
            }
            let x_next = self.nodes[x].lvl_nxt;
            let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
            let flow = if Db::chain_eq(xn, nn) {
                self.prune_match(x, n, level)
            } else if Db::chain_lt(xn, nn) {
                // Look for the new node further down the existing tree.
                self.prune_search(x, n, level, true)
            } else {
                // Look for the existing node further down the new chain.
                self.prune_search(x, n, level, false)
            };
            if flow.is_break() {
                return;
            }
            match x_next {
                Some(v) => x = v,
                None => break,
            }
        }
        // Fell off the level: nothing matched here.
        level.sn.flags &= !IST_MATCH;
    }

    /// The existing node `x` and the new node `n` are alike: prunes below both,
    /// then removes the existing subtree if the new rule makes it redundant.
    /// `Break` when the level is settled.
    fn prune_match(&mut self, mut x: usize, n: usize, level: &mut LevelPrune) -> ControlFlow<()> {
        let LevelPrune { state, sn, freed } = level;
        let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
        sn.flags |= IST_MATCHSET;
        if nn.leaf() {
            sn.flags |= IST_N_FINISHED;
        }
        if xn.leaf() {
            sn.flags |= IST_X_FINISHED;
        }
        for tf in [true, false] {
            let goes_on = |node: &Node| node.action(tf).is_some() || node.branch(tf).is_some();
            if goes_on(xn) && !goes_on(nn) {
                return ControlFlow::Break(());
            }
        }
        if sn.flags & IST_N_FINISHED != 0
            && sn.flags & IST_X_FINISHED != 0
            && (nn.act_t.is_some() != xn.act_t.is_some()
                || nn.val_t() != xn.val_t()
                || nn.act_f.is_some() != xn.act_f.is_some()
                || nn.val_f() != xn.val_f())
        {
            return ControlFlow::Break(());
        }
        for tf in [true, false] {
            let Some(nb) = self.nodes[n].branch(tf) else {
                continue;
            };
            let xb = self.nodes[x].branch(tf);
            let mut st = *state;
            st.flags |= IST_MATCHSET;
            let (c, xp) = self.prune_below(x, xb, Some(nb), &mut st);
            *freed += c;
            if st.flags & IST_MATCH != 0 {
                sn.flags |= st.flags;
            }
            match xp {
                None => return ControlFlow::Continue(()),
                Some(v) => x = v,
            }
        }
        let acts_agree = self.act_check(Some(x), sn.action).is_ok();
        let matched = acts_agree && sn.flags & IST_MATCH != 0;
        if matched && sn.flags & IST_N_FINISHED != 0 && sn.flags & IST_X_PREFIX != 0 {
            *freed += self.tree_remove(Slot::Root, x);
            if self.root.is_none() {
                return ControlFlow::Break(());
            }
        } else if matched && sn.flags & IST_X_FINISHED != 0 && sn.flags & IST_N_PREFIX != 0 {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// The nodes differ: looks for the new node `n` below the existing `x`
    /// (`down_existing`), or for `x` below `n`. `Break` when a match below
    /// settles the level.
    fn prune_search(
        &mut self,
        mut x: usize,
        n: usize,
        level: &mut LevelPrune,
        down_existing: bool,
    ) -> ControlFlow<()> {
        let LevelPrune { state, sn, freed } = level;
        let (prefix, other) = if down_existing {
            (IST_X_PREFIX, IST_N_PREFIX)
        } else {
            (IST_N_PREFIX, IST_X_PREFIX)
        };
        if state.flags & other != 0 {
            return ControlFlow::Break(());
        }
        for tf in [true, false] {
            let (xb, nb) = if down_existing {
                (self.nodes[x].branch(tf), Some(n))
            } else {
                (Some(x), self.nodes[n].branch(tf))
            };
            if xb.is_none() || nb.is_none() {
                continue;
            }
            let mut st = *state;
            st.flags &= !IST_MATCH;
            st.flags |= prefix;
            let (c, xp) = self.prune_below(x, xb, nb, &mut st);
            *freed += c;
            if st.flags & IST_MATCH != 0 {
                sn.flags |= st.flags;
                return ControlFlow::Break(());
            }
            match xp {
                None => return ControlFlow::Continue(()),
                Some(v) => x = v,
            }
        }
        ControlFlow::Continue(())
    }

    /// Prunes `nb` against `xb` while holding a reference to `x`, which the
    /// pruning may free. Returns the nodes freed and what `x` then is.
    fn prune_below(
        &mut self,
        x: usize,
        xb: Option<usize>,
        nb: Option<usize>,
        st: &mut PruneState,
    ) -> (u32, Option<usize>) {
        self.get(Some(x));
        let freed = self.prune(xb, nb, st);
        let (c, xp) = self.node_put(Some(x));
        (freed + c, xp)
    }

    /// Does the level holding `n` loop (libseccomp would never finish walking it)?
    fn level_loops(&self, n: usize) -> bool {
        let limit = self.nodes.len();
        let mut head = n;
        for _ in 0..=limit {
            match self.nodes[head].lvl_prv {
                Some(p) => head = p,
                None => {
                    let mut cur = Some(head);
                    for _ in 0..=limit {
                        match cur {
                            Some(c) => cur = self.nodes[c].lvl_nxt,
                            None => return false,
                        }
                    }
                    return true;
                }
            }
        }
        true
    }

    /// libseccomp's `_db_tree_add`: merges the chain `new` into the level `slot`
    /// points at, starting from that node (not the level's head: a level reached
    /// from two parents can have grown in front of one of them).
    fn tree_add(&mut self, slot: Slot, new: usize) -> Result<(), AddError> {
        let mut x = self.slot(slot).expect("merging into an existing level");
        let n = new;
        // Straight to where the walk below would stop.
        if let Some(stop) = self.indexed_stop(x, n) {
            x = stop;
        }
        loop {
            let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
            if Db::chain_eq(xn, nn) {
                self.merge_true_action(x, n)?;
                self.merge_false_action(x, n)?;
                return self.merge_branches(x, n);
            } else if Db::chain_lt(xn, nn) {
                return self.insert_before(slot, x, n);
            }
            match xn.lvl_nxt {
                Some(next) => x = next,
                None => return self.insert_last(x, n),
            }
        }
    }

    /// The existing node `x` takes the new node `n`'s true action, unless they clash.
    fn merge_true_action(&mut self, x: usize, n: usize) -> Result<(), AddError> {
        let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
        let Some(nt) = nn.act_t else { return Ok(()) };
        match xn.act_t {
            None => self.replace_branch_by_action(x, true, nt),
            Some(xt) if xt.verdict != nt.verdict => {
                // libseccomp's adjustment for 64-bit GT/GE.
                if nn.hi && nn.datum_full > xn.datum_full {
                    self.nodes[x].act_t = Some(nt);
                }
                self.clash_at_leaf(x, n, xt)
            }
            _ => Ok(()),
        }
    }

    /// The existing node `x` takes the new node `n`'s false action, unless they clash.
    fn merge_false_action(&mut self, x: usize, n: usize) -> Result<(), AddError> {
        let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
        let Some(nf) = nn.act_f else { return Ok(()) };
        match xn.act_f {
            None => self.replace_branch_by_action(x, false, nf),
            Some(xf) if xf.verdict != nf.verdict => {
                // libseccomp's adjustment for 64-bit LT/LE, which sets the true
                // action's value (flag untouched), as written.
                if nn.hi && nn.datum_full < xn.datum_full {
                    let v = nn.act_t.or(nn.ghost_t).unwrap_or(Leaf {
                        verdict: KILL_THREAD,
                        origin: nf.origin,
                    });
                    if !self.acts.contains(&v.verdict) {
                        self.acts.push(v.verdict);
                    }
                    let xm = &mut self.nodes[x];
                    if xm.act_t.is_some() {
                        xm.act_t = Some(v);
                    } else {
                        xm.ghost_t = Some(v);
                    }
                }
                self.clash_at_leaf(x, n, xf)
            }
            _ => Ok(()),
        }
    }

    /// `x`'s `tf` branch becomes the action `leaf`, if every action below it agrees.
    fn replace_branch_by_action(&mut self, x: usize, tf: bool, leaf: Leaf) -> Result<(), AddError> {
        self.act_check(self.nodes[x].branch(tf), leaf.verdict)
            .map_err(AddError::Clash)?;
        let node = &mut self.nodes[x];
        let old = if tf {
            node.nxt_t.take()
        } else {
            node.nxt_f.take()
        };
        self.branches_changed(x);
        self.node_put(old);
        let node = &mut self.nodes[x];
        if tf {
            node.act_t = Some(leaf);
        } else {
            node.act_f = Some(leaf);
        }
        Ok(())
    }

    /// Two different actions on one path clash where either node ends the chain.
    fn clash_at_leaf(&self, x: usize, n: usize, existing: Leaf) -> Result<(), AddError> {
        if self.nodes[x].leaf() || self.nodes[n].leaf() {
            Err(AddError::Clash(Some(existing.origin)))
        } else {
            Ok(())
        }
    }

    /// Merges the new node `n`'s branches into the existing node `x`'s.
    fn merge_branches(&mut self, x: usize, n: usize) -> Result<(), AddError> {
        for tf in [true, false] {
            let xs = if tf { Slot::T(x) } else { Slot::F(x) };
            let Some(nb) = self.nodes[n].branch(tf) else {
                continue;
            };
            if self.slot(xs).is_some() {
                self.tree_add(xs, nb)?;
            } else if self.nodes[x].action(tf).is_none() {
                let g = self.get(Some(nb));
                self.set_slot(xs, g);
            } else {
                // The existing tree is "shorter".
                return Ok(());
            }
        }
        Ok(())
    }

    /// Puts the new node `n` after `x`, the last of its level.
    fn insert_last(&mut self, x: usize, n: usize) -> Result<(), AddError> {
        let alone = [self.alone(x), self.alone(n)];
        self.nodes[n].lvl_prv = self.get(Some(x));
        self.nodes[x].lvl_nxt = self.get(Some(n));
        self.hang_check(x, n, alone)
    }

    /// Puts the new node `n` in front of `x`; if `slot` pointed at `x`, it now
    /// points at `n`.
    fn insert_before(&mut self, slot: Slot, x: usize, n: usize) -> Result<(), AddError> {
        let alone = [self.alone(x), self.alone(n)];
        match self.nodes[x].lvl_prv {
            Some(p) => {
                self.nodes[p].lvl_nxt = self.get(Some(n));
                self.nodes[n].lvl_prv = Some(p);
                self.nodes[x].lvl_prv = self.get(Some(n));
                self.nodes[n].lvl_nxt = Some(x);
            }
            None => {
                self.nodes[x].lvl_prv = self.get(Some(n));
                self.nodes[n].lvl_nxt = self.get(Some(x));
            }
        }
        if self.slot(slot) == Some(x) {
            let g = self.get(Some(n));
            self.set_slot(slot, g);
            self.node_put(Some(x));
        }
        self.hang_check(x, n, alone)
    }

    /// Indexes `n`, just linked beside `x`, and fails if its level loops.
    fn hang_check(&mut self, x: usize, n: usize, alone: [bool; 2]) -> Result<(), AddError> {
        // A level the index still follows is a list in order: it ends.
        if !self.index_insert(x, n, alone) && self.level_loops(n) {
            Err(AddError::Hang)
        } else {
            Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::profile::{load_str, resolve, Action, Target};
    use crate::syscalls::multiplex::x86_pseudo;

    /// The profile resolved for `arches` (native x86_64) and its Db, or the conflict.
    fn built(arches: &str, rules: &str) -> (Resolved, Result<Db, Conflict>) {
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "architectures": [{arches}], "syscalls": [{rules}]}}"#
        );
        let profile = load_str("t.json", json).unwrap();
        let target = Target {
            arch: Arch::X86_64,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        };
        let resolved = resolve(&profile, &target);
        let db = Db::build(&resolved);
        (resolved, db)
    }

    /// (action, errno, the profile rule that decided: None for the default).
    fn verdict(
        r: &Resolved,
        db: &Db,
        arch: Arch,
        name: &str,
        args: [u64; 6],
    ) -> (Action, u32, Option<usize>) {
        let nr = arch.syscall_nr(name).unwrap();
        verdict_nr(r, db, arch, nr, args)
    }

    fn verdict_nr(
        r: &Resolved,
        db: &Db,
        arch: Arch,
        nr: u32,
        args: [u64; 6],
    ) -> (Action, u32, Option<usize>) {
        let data = SeccompData::call(arch, nr, args);
        let o = db.evaluate(arch, nr, &data, r.default);
        (
            o.verdict.action,
            o.verdict.data,
            o.origin.map(|e| r.rules[e].rule),
        )
    }

    const X86_64: &str = r#""SCMP_ARCH_X86_64""#;
    const EPERM: (Action, u32, Option<usize>) = (Action::Errno, 1, None);

    #[test]
    fn the_first_unconditional_rule_wins() {
        let (r, db) = built(
            X86_64,
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
               {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#,
        );
        let db = db.unwrap();
        assert_eq!(
            verdict(&r, &db, Arch::X86_64, "read", [0; 6]),
            (Action::Allow, 0, Some(0))
        );
        assert_eq!(verdict(&r, &db, Arch::X86_64, "write", [0; 6]), EPERM);
    }

    #[test]
    fn an_unconditional_rule_replaces_argument_rules_and_drops_later_ones() {
        let (r, db) = built(
            X86_64,
            r#"{"names": ["personality"], "action": "SCMP_ACT_LOG",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
               {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
               {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 4, "op": "SCMP_CMP_EQ"}]}"#,
        );
        let db = db.unwrap();
        for arg in [0, 4, 8] {
            assert_eq!(
                verdict(&r, &db, Arch::X86_64, "personality", [arg, 0, 0, 0, 0, 0]),
                (Action::Errno, 38, Some(1)),
                "personality({arg})"
            );
        }
    }

    #[test]
    fn conditions_of_a_rule_are_anded_and_rules_are_ored() {
        let (r, db) = built(
            X86_64,
            r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                         {"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
               {"names": ["socket"], "action": "SCMP_ACT_LOG",
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}"#,
        );
        let db = db.unwrap();
        let socket = |a0, a1| verdict(&r, &db, Arch::X86_64, "socket", [a0, a1, 0, 0, 0, 0]);
        assert_eq!(socket(2, 1), (Action::Allow, 0, Some(0)));
        assert_eq!(socket(2, 2), EPERM);
        assert_eq!(socket(3, 1), EPERM);
        assert_eq!(socket(1, 5), (Action::Log, 0, Some(1)));
    }

    #[test]
    fn comparisons_are_64_bit_on_x86_64_and_32_bit_on_i386() {
        let (r, db) = built(
            r#""SCMP_ARCH_X86_64", "SCMP_ARCH_X86""#,
            r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
               {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 2, "value": 4294967296, "op": "SCMP_CMP_GE"}]}"#,
        );
        let db = db.unwrap();
        let high = [0x1_0000_0008, 0, 0, 0, 0, 0];
        assert_eq!(verdict(&r, &db, Arch::X86_64, "personality", high), EPERM);
        assert_eq!(
            verdict(&r, &db, Arch::X86, "personality", high),
            (Action::Allow, 0, Some(0))
        );
        // On i386 only the low word is compared: 2^32 is 0 there, and 0 >= 0.
        let mmap = |arch| verdict(&r, &db, arch, "mmap", [0, 0, 5, 0, 0, 0]);
        assert_eq!(mmap(Arch::X86_64), EPERM);
        assert_eq!(mmap(Arch::X86), (Action::Allow, 0, Some(1)));
        assert_eq!(
            verdict(&r, &db, Arch::X86_64, "mmap", [0, 0, 1 << 32, 0, 0, 0]),
            (Action::Allow, 0, Some(1))
        );
    }

    #[test]
    fn x86_socket_calls_are_also_judged_through_socketcall() {
        assert_eq!(x86_pseudo("socket"), Some((102, 1)));
        assert_eq!(x86_pseudo("semget"), Some((117, 2)));
        assert_eq!(x86_pseudo("read"), None);
        let socket = Arch::X86.syscall_nr("socket").unwrap();
        assert_eq!(x86_multiplexed(socket), Some((102, 1)));
        let (r, db) = built(
            r#""SCMP_ARCH_X86""#,
            r#"{"names": ["socket"], "action": "SCMP_ACT_ALLOW"}"#,
        );
        let db = db.unwrap();
        assert_eq!(
            verdict_nr(&r, &db, Arch::X86, socket, [0; 6]),
            (Action::Allow, 0, Some(0))
        );
        // socketcall(SYS_SOCKET, …) gets the rule; other socket calls the default.
        let socketcall = |call| verdict_nr(&r, &db, Arch::X86, 102, [call, 0, 0, 0, 0, 0]);
        assert_eq!(socketcall(1), (Action::Allow, 0, Some(0)));
        assert_eq!(socketcall(2), EPERM);
    }

    #[test]
    fn one_path_with_two_actions_is_refused() {
        let (_, db) = built(
            X86_64,
            r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
               {"names": ["personality"], "action": "SCMP_ACT_LOG",
                "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}"#,
        );
        assert_eq!(
            db.unwrap_err(),
            Conflict {
                effective: 1,
                with: Some(0),
                hang: false
            }
        );
    }
}
