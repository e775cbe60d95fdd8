//! From libseccomp's per-syscall decisions ([`Db`]) to a BPF program.
//!
//! Shape, per AUDIT_ARCH value:
//!
//! ```text
//! ld arch; jeq ARCH_1 -> block 1; jeq ARCH_2 -> block 2; …; ret BAD_ARCH
//! block: ld nr; binary search (jge) over runs of syscall numbers with the same
//!        outcome; a run ends in a shared `ret`, or in the syscall's argument block
//! ```
//!
//! Adjacent numbers with the same verdict collapse into one run, so the search is
//! over far fewer than one entry per syscall. The search only loads `nr`/`arch`
//! and compares with constants, which the kernel's action cache can emulate:
//! unconditionally allowed syscalls get cached. Argument blocks are libseccomp's
//! comparison tree, with the accumulator tracked so a word is loaded only when the
//! previous comparison left a different one. Jumps further than 255 go through a
//! `ja` trampoline.

use super::bpf::{self, SockFilter};
use super::dispatch::{self, Dispatch, Seg, Test};
use super::libseccomp::{Db, Entry, Leaf, Node};
use crate::arch::{Arch, X32_SYSCALL_BIT};
use std::collections::HashMap;

pub type Label = usize;

/// A tree node together with the continuation after its level.
type NodeKey = (usize, usize);

#[derive(Clone, Copy, Debug)]
enum Ins {
    Ld(u32),
    And(u32),
    J {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ja(Label),
    Ret(u32),
    Mark(Label),
}

/// Where a syscall number leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dest {
    Ret(u32),
    Block(Label),
}

/// What comes after a level of the tree runs out: an action, or the next sibling
/// of the parent (with its own continuation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Cont {
    Ret(u32),
    Node(usize, usize),
}

#[derive(Clone, Copy)]
struct NodeLabels {
    full: Label,
    and: Label,
    cmp: Label,
}

/// Turns verdicts into action words for the chosen mode.
pub trait Words {
    fn leaf(&mut self, leaf: &Leaf) -> u32;
    fn default(&mut self) -> u32;
    fn bad_arch(&self) -> u32;
}

struct Asm<'a, W: Words> {
    db: &'a Db,
    words: &'a mut W,
    out: Vec<Ins>,
    next_label: Label,
    conts: Vec<Cont>,
    cont_ids: HashMap<Cont, usize>,
    nodes: HashMap<(usize, usize), NodeLabels>,
    order: Vec<(usize, usize)>,
    /// How much of `order` [`Asm::share`] has seen.
    shared: usize,
    /// Node code already planned, by what it is: (offset, mask, jump code, k, jt, jf).
    canon: HashMap<(u32, u32, u16, u32, Label, Label), NodeLabels>,
    /// Node code to emit, in post-order.
    code: Vec<(NodeLabels, u32, u32, Ins)>,
    rets: HashMap<u32, Label>,
}

impl<W: Words> Asm<'_, W> {
    fn label(&mut self) -> Label {
        self.next_label += 1;
        self.next_label - 1
    }

    fn cont(&mut self, c: Cont) -> usize {
        if let Some(&id) = self.cont_ids.get(&c) {
            return id;
        }
        self.conts.push(c);
        self.cont_ids.insert(c, self.conts.len() - 1);
        self.conts.len() - 1
    }

    fn ret(&mut self, word: u32) -> Label {
        if let Some(&l) = self.rets.get(&word) {
            return l;
        }
        let l = self.label();
        self.rets.insert(word, l);
        l
    }

    /// The continuation after node `n` (its next sibling, else `cont`).
    fn next_of(&mut self, n: usize, cont: usize) -> usize {
        match self.db.nodes[n].lvl_nxt {
            Some(s) => self.cont(Cont::Node(s, cont)),
            None => cont,
        }
    }

    /// Depth-first discovery of every (node, continuation) pair reachable from
    /// `key`, recording a post-order so that emitting in reverse only jumps forward.
    /// Iterative: a level can have thousands of siblings.
    fn discover(&mut self, key: (usize, usize)) {
        // (key, its successors still to visit)
        let mut stack: Vec<(NodeKey, Vec<NodeKey>)> = Vec::new();
        let enter = |asm: &mut Self, key: (usize, usize), stack: &mut Vec<_>| {
            if asm.nodes.contains_key(&key) {
                return;
            }
            let labels = NodeLabels {
                full: asm.label(),
                and: asm.label(),
                cmp: asm.label(),
            };
            asm.nodes.insert(key, labels);
            let (n, cont) = key;
            let next = asm.next_of(n, cont);
            let node = asm.db.nodes[n].clone();
            let mut succ = Vec::new();
            for (nxt, act) in [(node.nxt_t, node.act_t), (node.nxt_f, node.act_f)] {
                match (nxt, act) {
                    (Some(sub), _) => succ.push((asm.db.level_head(sub), next)),
                    (None, Some(_)) => {}
                    (None, None) => {
                        if let Cont::Node(s, c) = asm.conts[next] {
                            succ.push((s, c));
                        }
                    }
                }
            }
            succ.reverse();
            stack.push((key, succ));
        };
        enter(self, key, &mut stack);
        while let Some((k, succ)) = stack.last_mut() {
            match succ.pop() {
                Some(s) => enter(self, s, &mut stack),
                None => {
                    self.order.push(*k);
                    stack.pop();
                }
            }
        }
    }

    /// The label to jump to for continuation `cont` when the accumulator holds `acc`.
    fn cont_entry(&mut self, cont: usize, acc: Option<(u32, u32)>) -> Label {
        match self.conts[cont] {
            Cont::Ret(w) => self.ret(w),
            Cont::Node(n, c) => self.node_entry((n, c), acc),
        }
    }

    fn node_entry(&mut self, key: (usize, usize), acc: Option<(u32, u32)>) -> Label {
        if let Some(taken) = constant(&self.db.nodes[key.0]) {
            return self.branch_entry(key, taken, acc);
        }
        let l = self.nodes[&key];
        let node = &self.db.nodes[key.0];
        match acc {
            Some((off, mask)) if off == node.offset && mask == node.mask => l.cmp,
            Some((off, u32::MAX)) if off == node.offset => l.and,
            _ => l.full,
        }
    }

    /// Where node `key` leads when its test gives `taken`, with `acc` in A.
    fn branch_entry(&mut self, key: (usize, usize), taken: bool, acc: Option<(u32, u32)>) -> Label {
        let (n, cont) = key;
        let next = self.next_of(n, cont);
        let node = &self.db.nodes[n];
        let (nxt, act) = if taken {
            (node.nxt_t, node.act_t)
        } else {
            (node.nxt_f, node.act_f)
        };
        match (nxt, act) {
            (Some(sub), _) => {
                let head = self.db.level_head(sub);
                self.node_entry((head, next), acc)
            }
            (None, Some(leaf)) => {
                let w = self.words.leaf(&leaf);
                self.ret(w)
            }
            (None, None) => self.cont_entry(next, acc),
        }
    }

    /// Plans the code of the nodes discovered since the last call, children first.
    /// A node whose code (load, mask, compare and both targets) matches one already
    /// planned, from any arch, takes over its labels instead: the arches share it.
    fn share(&mut self) {
        while self.shared < self.order.len() {
            let key = self.order[self.shared];
            self.shared += 1;
            let node = self.db.nodes[key.0].clone();
            if constant(&node).is_some() {
                continue;
            }
            let acc = Some((node.offset, node.mask));
            let jt = self.branch_entry(key, true, acc);
            let jf = self.branch_entry(key, false, acc);
            let code = match node.op {
                super::libseccomp::NodeOp::Eq | super::libseccomp::NodeOp::MaskedEq => bpf::JEQ_K,
                super::libseccomp::NodeOp::Gt => bpf::JGT_K,
                super::libseccomp::NodeOp::Ge => bpf::JGE_K,
            };
            let what = (node.offset, node.mask, code, node.datum, jt, jf);
            if let Some(&labels) = self.canon.get(&what) {
                self.nodes.insert(key, labels);
                continue;
            }
            let labels = self.nodes[&key];
            self.canon.insert(what, labels);
            let j = Ins::J {
                code,
                k: node.datum,
                jt,
                jf,
            };
            self.code.push((labels, node.offset, node.mask, j));
        }
    }

    /// Emits the planned node code, parents before children so jumps go forward.
    fn emit_code(&mut self) {
        for (labels, offset, mask, j) in std::mem::take(&mut self.code).into_iter().rev() {
            self.out.push(Ins::Mark(labels.full));
            self.out.push(Ins::Ld(offset));
            self.out.push(Ins::Mark(labels.and));
            if mask != u32::MAX {
                self.out.push(Ins::And(mask));
            }
            self.out.push(Ins::Mark(labels.cmp));
            self.out.push(j);
        }
    }

    fn target_label(&mut self, t: Dest) -> Label {
        match t {
            Dest::Ret(w) => self.ret(w),
            Dest::Block(l) => l,
        }
    }

    /// The label a jump to `p` takes: its target itself when it has no code.
    fn plan_label(&mut self, p: &Dispatch<Dest>) -> Label {
        match p {
            Dispatch::Jump(t) => self.target_label(*t),
            _ => self.label(),
        }
    }

    /// Emits the number tests of `p` here; the caller placed `p`'s label.
    fn emit_plan(&mut self, p: &Dispatch<Dest>) {
        match p {
            Dispatch::Jump(Dest::Ret(w)) => self.out.push(Ins::Ret(*w)),
            Dispatch::Jump(Dest::Block(l)) => self.out.push(Ins::Ja(*l)),
            Dispatch::Chain { tests, fall } => {
                let fall = self.target_label(*fall);
                for (i, t) in tests.iter().enumerate() {
                    let next = if i + 1 == tests.len() {
                        fall
                    } else {
                        self.label()
                    };
                    let j = |code, k, jt, jf| Ins::J { code, k, jt, jf };
                    match *t {
                        Test::Eq(k, x) => {
                            let x = self.target_label(x);
                            self.out.push(j(bpf::JEQ_K, k, x, next));
                        }
                        Test::AtLeast(k, x) => {
                            let x = self.target_label(x);
                            self.out.push(j(bpf::JGE_K, k, x, next));
                        }
                        Test::Below(k, x) => {
                            let x = self.target_label(x);
                            self.out.push(j(bpf::JGE_K, k, next, x));
                        }
                        Test::Range(lo, hi, x) => {
                            let x = self.target_label(x);
                            let second = self.label();
                            self.out.push(j(bpf::JGT_K, hi, next, second));
                            self.out.push(Ins::Mark(second));
                            self.out.push(j(bpf::JGE_K, lo, x, next));
                        }
                    }
                    if i + 1 < tests.len() {
                        self.out.push(Ins::Mark(next));
                    }
                }
            }
            Dispatch::Split { at, lo, hi } => {
                let jf = self.plan_label(lo);
                let jt = self.plan_label(hi);
                self.out.push(Ins::J {
                    code: bpf::JGE_K,
                    k: *at,
                    jt,
                    jf,
                });
                for (l, sub) in [(jf, lo), (jt, hi)] {
                    if !matches!(**sub, Dispatch::Jump(_)) {
                        self.out.push(Ins::Mark(l));
                        self.emit_plan(sub);
                    }
                }
            }
        }
    }
}

/// How many executed instructions, per known syscall number of a block, one
/// instruction of size is worth when planning the number tests.
const SIZE_WEIGHT: u64 = 4;

/// A block whose smallest number tests execute at most this many instructions on
/// average keeps them: short filters stay linear, as small as libseccomp's.
const SHORT_PATH: u64 = 16;

/// Emits the program for the arches of `arches` (x86_64 and x32 share one block).
pub fn emit<W: Words>(db: &Db, arches: &[Arch], words: &mut W) -> Vec<SockFilter> {
    let mut asm = Asm::new(db, words);
    let groups = by_audit_arch(arches);
    let bad_arch = asm.words.bad_arch();
    let group_labels = asm.emit_arch_tests(&groups, bad_arch);
    for ((_, group), &l) in groups.iter().zip(&group_labels) {
        asm.emit_group(group, l, bad_arch);
    }
    // Argument blocks after every arch's number tests, so any arch can jump into
    // code another arch shares with it.
    asm.emit_code();
    asm.emit_rets();
    let live = reachable(asm.out, asm.next_label);
    assemble(live, asm.next_label)
}

/// The arches grouped by AUDIT_ARCH value, in the order of `arches`.
fn by_audit_arch(arches: &[Arch]) -> Vec<(u32, Vec<Arch>)> {
    let mut groups: Vec<(u32, Vec<Arch>)> = Vec::new();
    for &a in arches {
        match groups.iter_mut().find(|g| g.0 == a.audit_arch()) {
            Some(g) => g.1.push(a),
            None => groups.push((a.audit_arch(), vec![a])),
        }
    }
    groups
}

impl<'a, W: Words> Asm<'a, W> {
    fn new(db: &'a Db, words: &'a mut W) -> Self {
        Asm {
            db,
            words,
            out: Vec::new(),
            next_label: 0,
            conts: Vec::new(),
            cont_ids: HashMap::new(),
            nodes: HashMap::new(),
            order: Vec::new(),
            shared: 0,
            canon: HashMap::new(),
            code: Vec::new(),
            rets: HashMap::new(),
        }
    }

    /// `ld arch` and a jump per group to the label returned for it; any other
    /// arch gets `bad_arch`.
    fn emit_arch_tests(&mut self, groups: &[(u32, Vec<Arch>)], bad_arch: u32) -> Vec<Label> {
        self.out.push(Ins::Ld(bpf::OFF_ARCH));
        let group_labels: Vec<Label> = groups.iter().map(|_| self.label()).collect();
        let bad_arch_ret = self.ret(bad_arch);
        for (i, (g, &l)) in groups.iter().zip(&group_labels).enumerate() {
            let last = i + 1 == groups.len();
            let next = if last { bad_arch_ret } else { self.label() };
            self.out.push(Ins::J {
                code: bpf::JEQ_K,
                k: g.0,
                jt: l,
                jf: next,
            });
            if !last {
                self.out.push(Ins::Mark(next));
            }
        }
        group_labels
    }

    /// One arch block at `l`: `ld nr` and the tests of the syscall number.
    fn emit_group(&mut self, group: &[Arch], l: Label, bad_arch: u32) {
        let default = self.words.default();
        let points = self.group_points(group, default);
        let base = base_targets(group, default, bad_arch);
        let mut segs = segments(&points, &base);
        let weight = weigh(&mut segs, group);
        // Smallest first, while the mean path stays short, below one test per
        // listed number; else balanced.
        let budget = SHORT_PATH.min(points.len() as u64);
        let plan = [1 << 12, 64, 16]
            .into_iter()
            .map(|m| dispatch::plan_measured(&segs, m * weight))
            .find(|&(_, _, path)| path <= budget * weight)
            .map_or_else(|| dispatch::plan(&segs, SIZE_WEIGHT * weight), |p| p.0);
        self.out.push(Ins::Mark(l));
        self.out.push(Ins::Ld(bpf::OFF_NR));
        self.emit_plan(&plan);
    }

    /// What each syscall number the group's entries list leads to, by number.
    fn group_points(&mut self, group: &[Arch], default: u32) -> Vec<(u32, Dest)> {
        let db = self.db;
        let default_cont = self.cont(Cont::Ret(default));
        let entries: Vec<(u32, Entry)> = db
            .entries
            .iter()
            .filter(|((arch, _), _)| group.contains(arch))
            .map(|(&(_, nr), &e)| (nr, e))
            .collect();
        for (_, e) in &entries {
            if let Entry::Tree(n) = e {
                self.discover((db.level_head(*n), default_cont));
            }
        }
        self.share();
        let mut points: Vec<(u32, Dest)> = Vec::new();
        for (nr, entry) in entries {
            let t = match entry {
                Entry::Always(leaf) => Dest::Ret(self.words.leaf(&leaf)),
                Entry::Tree(n) => {
                    let key = (db.level_head(n), default_cont);
                    Dest::Block(self.node_entry(key, None))
                }
            };
            points.push((nr, t));
        }
        points.sort_by_key(|p| p.0);
        points
    }

    /// One `ret` per action word for the whole program: the arch blocks share them.
    fn emit_rets(&mut self) {
        let mut rets: Vec<(u32, Label)> = self.rets.iter().map(|(&w, &l)| (w, l)).collect();
        rets.sort_unstable();
        for (w, l) in rets {
            self.out.push(Ins::Mark(l));
            self.out.push(Ins::Ret(w));
        }
    }
}

/// Where numbers no entry lists lead, from each start on: the default, and on
/// x86_64 or x32 alone the other ABI's numbers to `bad_arch`.
fn base_targets(group: &[Arch], default: u32, bad_arch: u32) -> Vec<(u32, Dest)> {
    let has = |a| group.contains(&a);
    if has(Arch::X86_64) && !has(Arch::X32) {
        // x32 numbers under AUDIT_ARCH_X86_64 are a different ABI: bad arch,
        // except -1, which tracers use to skip a call.
        vec![
            (0, Dest::Ret(default)),
            (X32_SYSCALL_BIT, Dest::Ret(bad_arch)),
            (u32::MAX, Dest::Ret(default)),
        ]
    } else if has(Arch::X32) && !has(Arch::X86_64) {
        vec![
            (0, Dest::Ret(bad_arch)),
            (X32_SYSCALL_BIT, Dest::Ret(default)),
        ]
    } else {
        vec![(0, Dest::Ret(default))]
    }
}

/// The runs of numbers with one target, over all of `u32` (unweighted).
fn segments(points: &[(u32, Dest)], base: &[(u32, Dest)]) -> Vec<Seg<Dest>> {
    let base_at = |nr: u32| {
        base.iter()
            .rev()
            .find(|b| b.0 <= nr)
            .expect("base starts at 0")
            .1
    };
    let mut bounds: Vec<u32> = base.iter().map(|b| b.0).collect();
    for &(nr, _) in points {
        bounds.push(nr);
        if nr < u32::MAX {
            bounds.push(nr + 1);
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut segs: Vec<Seg<Dest>> = Vec::new();
    for b in bounds {
        let t = match points.binary_search_by_key(&b, |p| p.0) {
            Ok(i) => points[i].1,
            Err(_) => base_at(b),
        };
        if segs.last().is_none_or(|s| s.target != t) {
            if let Some(s) = segs.last_mut() {
                s.end = b - 1;
            }
            segs.push(Seg {
                start: b,
                end: u32::MAX,
                target: t,
                weight: 0,
            });
        }
    }
    segs
}

/// Weighs each run by the group's known syscall numbers in it; returns their
/// count (at least 1).
fn weigh(segs: &mut [Seg<Dest>], group: &[Arch]) -> u64 {
    let mut known: Vec<u32> = group
        .iter()
        .flat_map(|a| a.syscalls().iter().map(|&(_, nr)| nr))
        .collect();
    known.sort_unstable();
    for s in segs {
        let from = known.partition_point(|&n| n < s.start);
        let to = known.partition_point(|&n| n <= s.end);
        s.weight = (to - from) as u64;
    }
    (known.len() as u64).max(1)
}

/// Drops instructions no path reaches (a node's `ld` when every way in jumps past it).
fn reachable(ins: Vec<Ins>, labels: Label) -> Vec<Ins> {
    let mut at = vec![usize::MAX; labels];
    for (i, x) in ins.iter().enumerate() {
        if let Ins::Mark(l) = x {
            at[*l] = i;
        }
    }
    let mut seen = vec![false; ins.len()];
    let mut todo = vec![0usize];
    while let Some(i) = todo.pop() {
        if i >= ins.len() || seen[i] {
            continue;
        }
        seen[i] = true;
        match ins[i] {
            Ins::Mark(_) | Ins::Ld(_) | Ins::And(_) => todo.push(i + 1),
            Ins::J { jt, jf, .. } => todo.extend([at[jt], at[jf]]),
            Ins::Ja(l) => todo.push(at[l]),
            Ins::Ret(_) => {}
        }
    }
    ins.into_iter()
        .zip(seen)
        .filter(|(x, live)| *live || matches!(x, Ins::Mark(_)))
        .map(|(x, _)| x)
        .collect()
}

/// The outcome of a node's test when it cannot depend on the word: a zero mask,
/// `>= 0`, or `>` something no masked word exceeds.
fn constant(node: &Node) -> Option<bool> {
    use super::libseccomp::NodeOp;
    match node.op {
        _ if node.mask == 0 => Some(node.test(0)),
        NodeOp::Ge if node.datum == 0 => Some(true),
        NodeOp::Gt if node.datum >= node.mask => Some(false),
        _ => None,
    }
}

/// Resolves labels to offsets. A conditional jump reaches at most 255 ahead: a far
/// jump to a `ret` goes to a copy of it placed within reach (shared by the jumps near
/// it), any other far jump through a `ja` trampoline.
fn assemble(mut ins: Vec<Ins>, mut next_label: Label) -> Vec<SockFilter> {
    loop {
        let mut reach = Reach::new(&ins, next_label);
        reach.plan();
        if !reach.changed {
            break;
        }
        next_label = reach.next_label;
        let fixes = reach.fixes;
        ins = fixes.apply(ins);
    }
    encode(&ins, next_label)
}

/// Room kept between a jump and the `ret` copy it is sent to, for what later
/// fixes insert in between.
const SLACK: usize = 32;

/// What one pass changes to bring far jumps within reach.
#[derive(Default)]
struct Fixes {
    /// Jumps given new targets: (index in `ins`, instruction).
    retarget: Vec<(usize, Ins)>,
    /// (index in `ins`, instruction) to insert before.
    insert: Vec<(usize, Ins)>,
    /// Labels to add before an index of `ins`.
    marks: Vec<(usize, Label)>,
}

impl Fixes {
    fn apply(mut self, mut ins: Vec<Ins>) -> Vec<Ins> {
        for (i, x) in self.retarget {
            ins[i] = x;
        }
        for (i, l) in self.marks {
            self.insert.push((i, Ins::Mark(l)));
        }
        // Stable sort keeps each group's order (mark before its instruction).
        self.insert.sort_by_key(|x| x.0);
        let mut fixed = Vec::with_capacity(ins.len() + self.insert.len());
        let mut it = self.insert.into_iter().peekable();
        for (i, x) in ins.into_iter().enumerate() {
            while let Some((_, y)) = it.next_if(|(j, _)| *j == i) {
                fixed.push(y);
            }
            fixed.push(x);
        }
        fixed.extend(it.map(|(_, y)| y));
        fixed
    }
}

/// One pass over the program's jumps, planning how each far one is brought
/// within reach.
struct Reach<'i> {
    ins: &'i [Ins],
    pos: Vec<usize>,
    /// Program position -> index in `ins`.
    idx: Vec<usize>,
    /// Copies of each word, existing and planned: (position, label).
    copies: HashMap<u32, Vec<(usize, Label)>>,
    fixes: Fixes,
    changed: bool,
    next_label: Label,
}

impl<'i> Reach<'i> {
    fn new(ins: &'i [Ins], next_label: Label) -> Self {
        Reach {
            ins,
            pos: positions(ins, next_label),
            idx: (0..ins.len())
                .filter(|&i| !matches!(ins[i], Ins::Mark(_)))
                .collect(),
            copies: HashMap::new(),
            fixes: Fixes::default(),
            changed: false,
            next_label,
        }
    }

    fn plan(&mut self) {
        for at in 0..self.idx.len() {
            let i = self.idx[at];
            let Ins::J { code, k, jt, jf } = self.ins[i] else {
                continue;
            };
            let jt = self.fix(at, i, jt);
            let jf = self.fix(at, i, jf);
            self.fixes.retarget.push((i, Ins::J { code, k, jt, jf }));
        }
    }

    fn ret_at(&self, p: usize) -> Option<u32> {
        match self.idx.get(p).map(|&i| self.ins[i]) {
            Some(Ins::Ret(w)) => Some(w),
            _ => None,
        }
    }

    fn ends_flow(&self, p: usize) -> bool {
        matches!(
            self.ins[self.idx[p]],
            Ins::J { .. } | Ins::Ja(_) | Ins::Ret(_)
        )
    }

    fn fresh(&mut self) -> Label {
        self.next_label += 1;
        self.next_label - 1
    }

    /// Where the jump at position `at` (index `i`) to `l` should go instead.
    fn fix(&mut self, at: usize, i: usize, l: Label) -> Label {
        if self.pos[l] - (at + 1) <= 255 {
            return l;
        }
        self.changed = true;
        match self.ret_at(self.pos[l]) {
            Some(w) => self.near_ret(at, w),
            None => {
                let t = self.fresh();
                self.fixes.insert.push((i + 1, Ins::Mark(t)));
                self.fixes.insert.push((i + 1, Ins::Ja(l)));
                t
            }
        }
    }

    /// A `ret w` within reach of position `at`: a copy planned already, an
    /// existing one, or a new one after the last instruction in reach that ends
    /// a flow.
    fn near_ret(&mut self, at: usize, w: u32) -> Label {
        let near = self.copies.get(&w).and_then(|c| {
            c.iter()
                .find(|&&(p, _)| p > at && p - (at + 1) <= 255 - SLACK)
        });
        if let Some(&(_, cl)) = near {
            return cl;
        }
        let reach = at + 1..=(at + 256 - SLACK).min(self.idx.len() - 1);
        if let Some(p) = reach.clone().rev().find(|&p| self.ret_at(p) == Some(w)) {
            let t = self.fresh();
            self.fixes.marks.push((self.idx[p], t));
            self.copies.entry(w).or_default().push((p, t));
            return t;
        }
        let p = reach
            .rev()
            .find(|&p| self.ends_flow(p - 1))
            .expect("the jump itself ends a flow");
        let t = self.fresh();
        let after = self.idx[p - 1] + 1;
        self.fixes.insert.push((after, Ins::Mark(t)));
        self.fixes.insert.push((after, Ins::Ret(w)));
        self.copies.entry(w).or_default().push((p, t));
        t
    }
}

/// The program, its labels resolved to offsets.
fn encode(ins: &[Ins], next_label: Label) -> Vec<SockFilter> {
    let pos = positions(ins, next_label);
    let mut out = Vec::new();
    for &i in ins {
        let at = out.len();
        let off = |l: Label| (pos[l] - (at + 1)) as u32;
        out.push(match i {
            Ins::Mark(_) => continue,
            Ins::Ld(k) => SockFilter::new(bpf::LD_ABS, 0, 0, k),
            Ins::And(k) => SockFilter::new(bpf::AND_K, 0, 0, k),
            Ins::Ret(k) => SockFilter::new(bpf::RET_K, 0, 0, k),
            Ins::Ja(l) => SockFilter::new(bpf::JA, 0, 0, off(l)),
            Ins::J { code, k, jt, jf } => SockFilter::new(code, off(jt) as u8, off(jf) as u8, k),
        });
    }
    out
}

fn positions(ins: &[Ins], labels: Label) -> Vec<usize> {
    let mut pos = vec![usize::MAX; labels];
    let mut at = 0;
    for i in ins {
        match i {
            Ins::Mark(l) => pos[*l] = at,
            _ => at += 1,
        }
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::compile::{action_word, SeccompData};
    use crate::profile::{load_str, resolve, Action, Target, Verdict};

    /// Enforce-mode words: each verdict as the kernel gets it; bad arch apart.
    struct Enforce(Verdict);

    impl Words for Enforce {
        fn leaf(&mut self, leaf: &Leaf) -> u32 {
            action_word(leaf.verdict)
        }
        fn default(&mut self) -> u32 {
            action_word(self.0)
        }
        fn bad_arch(&self) -> u32 {
            bpf::RET_KILL_PROCESS
        }
    }

    /// The profile's Db and arches (native x86_64, eperm's own loader), and the
    /// program `emit` makes of them.
    fn emitted(json: &str) -> (Db, Vec<Arch>, Verdict, Vec<SockFilter>) {
        emitted_on(Arch::X86_64, json)
    }

    /// [`emitted`] with `native` as the target's arch (always among the arches).
    fn emitted_on(native: Arch, json: &str) -> (Db, Vec<Arch>, Verdict, Vec<SockFilter>) {
        let profile = load_str("t.json", json.to_string()).unwrap();
        let target = Target {
            arch: native,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        };
        let resolved = resolve(&profile, &target);
        let db = Db::build(&resolved).unwrap();
        let prog = emit(&db, &resolved.arches, &mut Enforce(resolved.default));
        assert_eq!(bpf::validate(&prog), Ok(()));
        (db, resolved.arches, resolved.default, prog)
    }

    fn call(arch: u32, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData {
            nr,
            arch,
            ip: 0,
            args,
        }
    }

    /// The instructions of `prog` no path from the first reaches.
    fn dead(prog: &[SockFilter]) -> Vec<usize> {
        let mut seen = vec![false; prog.len()];
        let mut todo = vec![0];
        while let Some(i) = todo.pop() {
            if i >= prog.len() || std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let ins = prog[i];
            match ins.code {
                bpf::RET_K => {}
                bpf::JA => todo.push(i + 1 + ins.k as usize),
                bpf::JEQ_K | bpf::JGT_K | bpf::JGE_K | bpf::JSET_K => {
                    todo.push(i + 1 + ins.jt as usize);
                    todo.push(i + 1 + ins.jf as usize);
                }
                _ => todo.push(i + 1),
            }
        }
        (0..prog.len()).filter(|&i| !seen[i]).collect()
    }

    #[test]
    fn no_rules_is_the_arch_check_the_x32_guard_and_the_default() {
        let (_, _, _, prog) = emitted(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": []}"#,
        );
        let x86_64 = Arch::X86_64.audit_arch();
        assert_eq!(
            prog,
            [
                SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH),
                SockFilter::new(bpf::JEQ_K, 0, 4, x86_64),
                SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR),
                // x32 numbers under x86_64's AUDIT_ARCH are another ABI: bad arch,
                // all but -1 (a tracer's skipped call), which gets the default.
                SockFilter::new(bpf::JGE_K, 0, 1, X32_SYSCALL_BIT),
                SockFilter::new(bpf::JEQ_K, 0, 1, u32::MAX),
                SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ERRNO | 1),
                SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_KILL_PROCESS),
            ]
        );
    }

    #[test]
    fn one_number_is_one_test_before_the_shared_returns() {
        let (_, _, _, prog) = emitted_on(
            Arch::Aarch64,
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_AARCH64"],
                "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}"#,
        );
        let getpid = Arch::Aarch64.syscall_nr("getpid").unwrap();
        assert_eq!(
            prog,
            [
                SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH),
                SockFilter::new(bpf::JEQ_K, 0, 4, Arch::Aarch64.audit_arch()),
                SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR),
                SockFilter::new(bpf::JEQ_K, 0, 1, getpid),
                // The returns, sorted by word, one per word for the whole program.
                SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ERRNO | 38),
                SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_ALLOW),
                SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_KILL_PROCESS),
            ]
        );
    }

    /// A profile with every kind of entry on the three x86 arches.
    const MIXED: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["read", "write", "close", "exit_group", "futex"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["ptrace"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["kill"], "action": "SCMP_ACT_TRAP"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
            {"names": ["socket"], "action": "SCMP_ACT_LOG",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NE"},
                      {"index": 1, "value": 2048, "valueTwo": 2048, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["mmap"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 2, "value": 4, "op": "SCMP_CMP_LT"}]}
        ]
    }"#;

    /// Argument words that walk every side of the comparisons above.
    const ARGS: &[[u64; 6]] = &[
        [0; 6],
        [8, 0, 0, 0, 0, 0],
        [0xffff_ffff, 0, 0, 0, 0, 0],
        [0x1_0000_0008, 0, 0, 0, 0, 0],
        [1, 2048, 0, 0, 0, 0],
        [2, 2048, 0, 0, 0, 0],
        [2, 0x801, 3, 0, 0, 0],
        [2, 0, 4, 0, 0, 0],
        [u64::MAX, u64::MAX, u64::MAX, 0, 0, 0],
    ];

    #[test]
    fn the_program_gives_libseccomps_verdict_for_every_number_of_every_arch() {
        let (db, arches, default, prog) = emitted(MIXED);
        assert_eq!(dead(&prog), Vec::<usize>::new(), "dead code was kept");
        for &arch in &arches {
            let mut numbers: Vec<u32> = arch.syscalls().iter().map(|&(_, nr)| nr).collect();
            // Numbers no table has, around the ones it does.
            numbers.extend([0, 1, 999, 0x3fff_ffff, X32_SYSCALL_BIT | 999]);
            // x32 shares x86_64's AUDIT_ARCH: its numbers are the ones with the bit.
            numbers.retain(|nr| arch != Arch::X32 || nr & X32_SYSCALL_BIT != 0);
            for nr in numbers {
                for args in ARGS {
                    let data = call(arch.audit_arch(), nr, *args);
                    let want = action_word(db.evaluate(arch, nr, &data, default).verdict);
                    let got = bpf::run(&prog, &data).0;
                    assert_eq!(got, want, "{arch} nr {nr} args {args:x?}");
                }
            }
        }
        // A named case of each: allowed, errno, kill, trap, an argument rule's
        // match and miss, a masked test, a 64-bit value whose low word matches.
        let x = |name: &str, args: [u64; 6]| {
            let nr = Arch::X86_64.syscall_nr(name).unwrap();
            bpf::run(&prog, &call(Arch::X86_64.audit_arch(), nr, args)).0
        };
        assert_eq!(x("read", [0; 6]), bpf::RET_ALLOW);
        assert_eq!(x("clone3", [0; 6]), bpf::RET_ERRNO | 38);
        assert_eq!(x("ptrace", [0; 6]), bpf::RET_KILL_PROCESS);
        assert_eq!(x("kill", [0; 6]), bpf::RET_TRAP);
        assert_eq!(x("openat", [0; 6]), bpf::RET_ERRNO | 1);
        assert_eq!(x("personality", [8, 0, 0, 0, 0, 0]), bpf::RET_ALLOW);
        assert_eq!(
            x("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            bpf::RET_ALLOW
        );
        assert_eq!(
            x("personality", [0x1_0000_0008, 0, 0, 0, 0, 0]),
            bpf::RET_ERRNO | 1
        );
        assert_eq!(x("socket", [2, 0x0801, 0, 0, 0, 0]), bpf::RET_LOG);
        assert_eq!(x("socket", [1, 0x0801, 0, 0, 0, 0]), bpf::RET_ERRNO | 1);
        assert_eq!(x("socket", [2, 0x0001, 0, 0, 0, 0]), bpf::RET_ERRNO | 1);
        assert_eq!(x("mmap", [0, 0, 3, 0, 0, 0]), bpf::RET_ALLOW);
        assert_eq!(x("mmap", [0, 0, 4, 0, 0, 0]), bpf::RET_ERRNO | 1);
        // i386 compares the low word only: 0x1_0000_0008 is 8 there.
        let nr = Arch::X86.syscall_nr("personality").unwrap();
        let args = [0x1_0000_0008, 0, 0, 0, 0, 0];
        assert_eq!(
            bpf::run(&prog, &call(Arch::X86.audit_arch(), nr, args)).0,
            bpf::RET_ALLOW
        );
        // An arch the profile does not list.
        let aarch64 = call(Arch::Aarch64.audit_arch(), 63, [0; 6]);
        assert_eq!(bpf::run(&prog, &aarch64).0, bpf::RET_KILL_PROCESS);
        // x32 is listed: its numbers under x86_64's AUDIT_ARCH are judged as x32's.
        let x32_read = Arch::X32.syscall_nr("read").unwrap();
        assert_ne!(x32_read & X32_SYSCALL_BIT, 0);
        assert_eq!(
            bpf::run(&prog, &call(Arch::X86_64.audit_arch(), x32_read, [0; 6])).0,
            bpf::RET_ALLOW
        );
    }

    #[test]
    fn only_argument_rules_read_arguments_and_each_word_has_one_ret() {
        let (db, _, default, prog) = emitted(MIXED);
        let audit = Arch::X86_64.audit_arch();
        for &(name, nr) in Arch::X86_64.syscalls() {
            let data = call(audit, nr, [0; 6]);
            let r = bpf::run_traced(&prog, &data);
            let has_tree = matches!(db.entries.get(&(Arch::X86_64, nr)), Some(Entry::Tree(_)));
            // The action cache needs paths that load only nr and arch.
            assert_eq!(r.read_args, has_tree, "{name}");
            if !has_tree {
                let want = action_word(db.evaluate(Arch::X86_64, nr, &data, default).verdict);
                assert_eq!(r.action, want, "{name}");
            }
        }
        let mut rets: Vec<u32> = prog
            .iter()
            .filter(|i| i.code == bpf::RET_K)
            .map(|i| i.k)
            .collect();
        let all = rets.len();
        rets.sort_unstable();
        rets.dedup();
        assert_eq!(
            rets.len(),
            all,
            "a word returned from two places: {rets:x?}"
        );
        let allow = Verdict {
            action: Action::Allow,
            data: 0,
        };
        assert!(rets.contains(&action_word(allow)));
    }

    #[test]
    fn far_targets_are_reached_through_trampolines() {
        // 300 syscalls each with its own argument test: the number tests sit
        // further than 255 instructions from the blocks at the end.
        let names: Vec<&str> = Arch::X86_64
            .syscalls()
            .iter()
            .map(|&(n, _)| n)
            .filter(|n| !n.starts_with('_'))
            .take(300)
            .collect();
        let rules: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    r#"{{"names": ["{n}"], "action": "SCMP_ACT_ALLOW", "args": [{{"index": 0, "value": {i}, "op": "SCMP_CMP_EQ"}}]}}"#
                )
            })
            .collect();
        let json = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{}]}}"#,
            rules.join(",")
        );
        let (db, _, default, prog) = emitted(&json);
        assert!(prog.len() > 600, "{} instructions", prog.len());
        assert!(prog.iter().any(|i| i.code == bpf::JA), "no trampoline");
        // Moving a far `ret` next to its jumps can leave the original, or an
        // earlier copy, unused: only such `ret`s may be dead.
        let dead = dead(&prog);
        assert!(dead.iter().all(|&i| prog[i].code == bpf::RET_K), "{dead:?}");
        let audit = Arch::X86_64.audit_arch();
        for (i, name) in names.iter().enumerate() {
            let nr = Arch::X86_64.syscall_nr(name).unwrap();
            for arg in [i as u64, i as u64 + 1] {
                let data = call(audit, nr, [arg, 0, 0, 0, 0, 0]);
                let want = action_word(db.evaluate(Arch::X86_64, nr, &data, default).verdict);
                assert_eq!(bpf::run(&prog, &data).0, want, "{name}({arg})");
                let allowed = want == bpf::RET_ALLOW;
                assert_eq!(allowed, arg == i as u64, "{name}({arg})");
            }
        }
    }
}
