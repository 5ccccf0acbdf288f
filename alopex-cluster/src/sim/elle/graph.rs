//! # The dependency graph between transactions, and finding its cycles
//!
//! Nodes are transactions (indices into the history); an edge `a -> b`
//! says `a` must come before `b` in any order that explains what the
//! clients saw. Adya's three data dependencies, plus two orders the
//! clients themselves observed:
//!
//! ```text
//!  ww  a appended a value of k, b appended the next one      (write-write)
//!  wr  b read k, and the last value it saw is a's            (write-read)
//!  rw  a read k, and b appended the value a did not yet see  (anti-dependency)
//!  process   a and b ran one after the other on one client
//!  realtime  a's commit was acknowledged before b began
//! ```
//!
//! Every edge keeps the first reason it was added for (the key and values),
//! so a cycle can be printed as an argument a reader can verify against the
//! history by hand.
//!
//! Cycles are found the way Elle finds them: strongly connected components
//! first (Tarjan's algorithm, iterative, so a long history cannot overflow
//! the stack), since every cycle lies inside one; then, within a component,
//! a breadth-first search from the target of one chosen edge back to its
//! source, restricted to the edge kinds a class of anomaly allows. BFS gives
//! the shortest such cycle, which is the easiest one to read.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

/// The kind of an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Write-write: the source appended the value just before the target's.
    Ww,
    /// Write-read: the target read the source's append as the last value.
    Wr,
    /// Read-write (anti-dependency): the source read a prefix that ends just
    /// before the target's append.
    Rw,
    /// The same client ran the source, then the target.
    Process,
    /// The source completed before the target began.
    Realtime,
}

impl EdgeKind {
    /// This kind as a bit of an `EdgeMask`.
    pub const fn bit(self) -> EdgeMask {
        EdgeMask(1 << self as u8)
    }
}

/// A set of edge kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeMask(pub u8);

impl EdgeMask {
    /// Write-write edges only.
    pub const WW: EdgeMask = EdgeKind::Ww.bit();
    /// Write-write and write-read.
    pub const WW_WR: EdgeMask = EdgeMask(EdgeKind::Ww.bit().0 | EdgeKind::Wr.bit().0);
    /// The client orders (process and realtime).
    pub const ORDER: EdgeMask = EdgeMask(EdgeKind::Process.bit().0 | EdgeKind::Realtime.bit().0);

    /// Whether `kind` is in the set.
    pub fn has(self, kind: EdgeKind) -> bool {
        self.0 & kind.bit().0 != 0
    }

    /// The union of two sets.
    pub fn with(self, other: EdgeMask) -> EdgeMask {
        EdgeMask(self.0 | other.0)
    }
}

/// Why an edge exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The source appended `prev` to `key`, the target appended `next`
    /// right after it.
    Ww {
        /// The key.
        key: u64,
        /// The source's value.
        prev: u64,
        /// The target's value.
        next: u64,
    },
    /// The target read `key` and the last value it saw, `value`, is the
    /// source's append.
    Wr {
        /// The key.
        key: u64,
        /// The value.
        value: u64,
    },
    /// The source read `key` up to `seen` (`None`: an empty list), and the
    /// target appended `next`, the value after it.
    Rw {
        /// The key.
        key: u64,
        /// The last value the source saw.
        seen: Option<u64>,
        /// The target's value.
        next: u64,
    },
    /// The same client ran both, in this order.
    Process,
    /// The source's outcome was known (at the first time) before the target
    /// began (at the second).
    Realtime(u64, u64),
}

impl Why {
    /// The kind of edge this reason makes.
    pub fn kind(&self) -> EdgeKind {
        match self {
            Why::Ww { .. } => EdgeKind::Ww,
            Why::Wr { .. } => EdgeKind::Wr,
            Why::Rw { .. } => EdgeKind::Rw,
            Why::Process => EdgeKind::Process,
            Why::Realtime(..) => EdgeKind::Realtime,
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Ww { key, prev, next } => {
                write!(f, "ww: appended {prev} to key {key}, then the next append was {next}")
            }
            Why::Wr { key, value } => write!(f, "wr: appended {value} to key {key}, which was the last value read"),
            Why::Rw { key, seen: Some(seen), next } => {
                write!(f, "rw: read key {key} up to {seen}, missing the next append, {next}")
            }
            Why::Rw { key, seen: None, next } => {
                write!(f, "rw: read key {key} empty, missing its first append, {next}")
            }
            Why::Process => write!(f, "process: ran next on the same client"),
            Why::Realtime(end, start) => write!(f, "realtime: finished at {end}, before the next began at {start}"),
        }
    }
}

/// One edge of a found cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The source transaction.
    pub from: usize,
    /// The target transaction.
    pub to: usize,
    /// Why the source must precede the target.
    pub why: Why,
}

/// The dependency graph of a history.
#[derive(Debug, Default)]
pub struct DepGraph {
    /// Out-edges per node: (target, reason index).
    out: Vec<Vec<(usize, usize)>>,
    whys: Vec<Why>,
    seen: HashSet<(usize, usize, EdgeKind)>,
}

impl DepGraph {
    /// A graph over `n` transactions and no edges.
    pub fn new(n: usize) -> DepGraph {
        DepGraph { out: vec![Vec::new(); n], whys: Vec::new(), seen: HashSet::new() }
    }

    /// Adds `from -> to` for `why`, unless an edge of that kind is already
    /// there or it would be a self-loop.
    pub fn add(&mut self, from: usize, to: usize, why: Why) {
        if from == to || !self.seen.insert((from, to, why.kind())) {
            return;
        }
        self.out[from].push((to, self.whys.len()));
        self.whys.push(why);
    }

    /// The number of edges.
    pub fn edges(&self) -> usize {
        self.whys.len()
    }

    /// The strongly connected components of more than one node, using only
    /// edges in `mask` (Tarjan's algorithm, iterative).
    pub fn components(&self, mask: EdgeMask) -> Vec<Vec<usize>> {
        let n = self.out.len();
        const NONE: usize = usize::MAX;
        let (mut index, mut low) = (vec![NONE; n], vec![0; n]);
        let mut on_stack = vec![false; n];
        let (mut stack, mut found) = (Vec::new(), Vec::new());
        let mut next = 0;
        for root in 0..n {
            if index[root] != NONE {
                continue;
            }
            // Each frame: the node and how far through its out-edges it is.
            let mut frames: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut pos)) = frames.last_mut() {
                let edges = &self.out[v];
                let mut descended = false;
                while *pos < edges.len() {
                    let (w, why) = edges[*pos];
                    *pos += 1;
                    if !mask.has(self.whys[why].kind()) {
                        continue;
                    }
                    if index[w] == NONE {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        frames.push((w, 0));
                        descended = true;
                        break;
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                }
                if descended {
                    continue;
                }
                frames.pop();
                if let Some(&(parent, _)) = frames.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort_unstable();
                        found.push(component);
                    }
                }
            }
        }
        found
    }

    /// The shortest path from `from` to `to` over edges in `mask` that stay
    /// inside `inside` (a membership table), or `None`.
    pub fn path(&self, from: usize, to: usize, mask: EdgeMask, inside: &[bool]) -> Option<Vec<Step>> {
        let mut prev: HashMap<usize, (usize, usize)> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut visited = HashSet::from([from]);
        while let Some(v) = queue.pop_front() {
            for &(w, why) in &self.out[v] {
                if !inside[w] || !mask.has(self.whys[why].kind()) || !visited.insert(w) {
                    continue;
                }
                prev.insert(w, (v, why));
                if w == to {
                    let mut steps = Vec::new();
                    let mut at = to;
                    while at != from {
                        // Every node reached but `from` has a predecessor.
                        let &(p, why) = prev.get(&at)?;
                        steps.push(Step { from: p, to: at, why: self.whys[why].clone() });
                        at = p;
                    }
                    steps.reverse();
                    return Some(steps);
                }
                queue.push_back(w);
            }
        }
        None
    }

    /// The shortest cycle through an edge `a -> b` in `first` (tried in
    /// turn, at most `budget` of them) closed by a path `b ->* a` over
    /// `rest`, inside the component `inside`.
    pub fn cycle_through(
        &self,
        members: &[usize],
        inside: &[bool],
        first: EdgeKind,
        rest: EdgeMask,
        budget: &mut usize,
    ) -> Option<Vec<Step>> {
        let mut best: Option<Vec<Step>> = None;
        for &a in members {
            for &(b, why) in &self.out[a] {
                if !inside[b] || self.whys[why].kind() != first {
                    continue;
                }
                if *budget == 0 {
                    return best;
                }
                *budget -= 1;
                let Some(back) = self.path(b, a, rest, inside) else { continue };
                let mut cycle = vec![Step { from: a, to: b, why: self.whys[why].clone() }];
                cycle.extend(back);
                if best.as_ref().is_none_or(|c| cycle.len() < c.len()) {
                    let shortest = cycle.len() == 2;
                    best = Some(cycle);
                    if shortest {
                        return best;
                    }
                }
            }
        }
        best
    }
}
