//! # A linearizability checker for register histories
//!
//! A history is what clients saw: each operation's invocation time, its
//! completion time (or none, if the client gave up: a timed-out write may or
//! may not have happened) and its result. The history is linearizable if
//! there is one order of the operations, consistent with real time (an
//! operation that completed before another was invoked comes first), in
//! which a single register would have produced every observed result.
//!
//! The search is Wing & Gong's, with Lowe's memoization (as in Knossos and
//! Porcupine): walk the events in time order; at a call, try to linearize
//! that operation now (if the model accepts it), remembering the
//! configuration (set of linearized operations, register state) so no
//! configuration is explored twice; at a return whose operation is not yet
//! linearized, backtrack. **P-compositionality**: a register per key is
//! independent of the others, so the history is split by key and each
//! part checked alone, which turns one exponential search into many small
//! ones.
//!
//! **Indeterminate operations** (no completion) get a completion time of
//! infinity: they may take effect at any point after their invocation, or
//! (equivalently, for what was observed) never. A read without a result
//! constrains nothing and is dropped.

use std::collections::{BTreeMap, HashSet};

/// A register operation and what it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Read; `Some(v)` is the value seen (`None` inside: the key was absent).
    /// An outer `None`: the result is unknown.
    Read(Option<Option<u64>>),
    /// Write of a value.
    Write(u64),
    /// Compare-and-set from `expect` to `new`; `Some(ok)` is whether it
    /// succeeded, `None` if unknown.
    Cas {
        /// The value required.
        expect: Option<u64>,
        /// The value written if it matched.
        new: u64,
        /// The outcome, if known.
        ok: Option<bool>,
    },
}

/// One operation of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The key (register) it acted on.
    pub key: u64,
    /// The operation and its result.
    pub op: Op,
    /// When it was invoked.
    pub call: u64,
    /// When it completed; `None` if it timed out (indeterminate).
    pub ret: Option<u64>,
}

/// Applies `op` to register state `s`: the new state if the model could
/// have produced the observed result.
fn step(s: Option<u64>, op: &Op) -> Option<Option<u64>> {
    match op {
        Op::Read(None) => Some(s),
        Op::Read(Some(v)) => (*v == s).then_some(s),
        Op::Write(v) => Some(Some(*v)),
        Op::Cas { expect, new, ok } => {
            let matches = s == *expect;
            match ok {
                Some(true) if matches => Some(Some(*new)),
                Some(false) if !matches => Some(s),
                None if matches => Some(Some(*new)),
                None => Some(s),
                _ => None,
            }
        }
    }
}

/// Whether the whole history is linearizable (every key starting absent).
pub fn check(history: &[Operation]) -> bool {
    check_detail(history).is_ok()
}

/// Like [`check`], naming the first key whose history is not linearizable.
pub fn check_detail(history: &[Operation]) -> Result<(), u64> {
    let mut by_key: BTreeMap<u64, Vec<&Operation>> = BTreeMap::new();
    for o in history {
        if matches!(o.op, Op::Read(None)) {
            continue;
        }
        by_key.entry(o.key).or_default().push(o);
    }
    for (key, ops) in by_key {
        if !check_register(&ops) {
            return Err(key);
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    time: u64,
}

/// Wing–Gong search with memoization over one register's operations.
fn check_register(ops: &[&Operation]) -> bool {
    let n = ops.len();
    if n == 0 {
        return true;
    }
    let mut events: Vec<Event> = Vec::with_capacity(2 * n);
    for (i, o) in ops.iter().enumerate() {
        events.push(Event { op: i, is_call: true, time: o.call });
        events.push(Event { op: i, is_call: false, time: o.ret.unwrap_or(u64::MAX) });
    }
    // Calls before returns at equal times: touching operations overlap.
    events.sort_by_key(|e| (e.time, !e.is_call, e.op));
    // A doubly linked list over the events, with a sentinel head at index 0.
    let len = events.len() + 1;
    let mut next: Vec<usize> = (1..=len).collect();
    let mut prev: Vec<usize> = (0..len).map(|i| i.wrapping_sub(1)).collect();
    let mut ret_of = vec![0usize; n];
    let mut call_of = vec![0usize; n];
    for (i, e) in events.iter().enumerate() {
        if e.is_call {
            call_of[e.op] = i + 1;
        } else {
            ret_of[e.op] = i + 1;
        }
    }
    let end = len; // one past the last node
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, q) = (prev[x], next[x]);
        next[p] = q;
        if q != end {
            prev[q] = p;
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, x: usize| {
        let (p, q) = (prev[x], next[x]);
        next[p] = x;
        if q != end {
            prev[q] = x;
        }
    };
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, Option<u64>)> = HashSet::new();
    let mut stack: Vec<(usize, Option<u64>)> = Vec::new();
    let mut state: Option<u64> = None;
    let mut cur = next[0];
    while next[0] != end {
        if cur == end {
            // Every remaining event is a call the model refused: backtrack.
            let Some((op, s)) = stack.pop() else { return false };
            state = s;
            linearized[op / 64] &= !(1 << (op % 64));
            relink(&mut next, &mut prev, ret_of[op]);
            relink(&mut next, &mut prev, call_of[op]);
            cur = next[call_of[op]];
            continue;
        }
        let e = events[cur - 1];
        if e.is_call {
            if let Some(s2) = step(state, &ops[e.op].op) {
                let mut lin = linearized.clone();
                lin[e.op / 64] |= 1 << (e.op % 64);
                if cache.insert((lin.clone(), s2)) {
                    stack.push((e.op, state));
                    state = s2;
                    linearized = lin;
                    unlink(&mut next, &mut prev, call_of[e.op]);
                    unlink(&mut next, &mut prev, ret_of[e.op]);
                    cur = next[0];
                    continue;
                }
            }
            cur = next[cur];
        } else {
            // A return of an operation not yet linearized: backtrack.
            let Some((op, s)) = stack.pop() else { return false };
            state = s;
            linearized[op / 64] &= !(1 << (op % 64));
            relink(&mut next, &mut prev, ret_of[op]);
            relink(&mut next, &mut prev, call_of[op]);
            cur = next[call_of[op]];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(key: u64, op: Op, call: u64, ret: Option<u64>) -> Operation {
        Operation { key, op, call, ret }
    }
    fn w(v: u64, call: u64, ret: u64) -> Operation {
        op(0, Op::Write(v), call, Some(ret))
    }
    fn r(v: Option<u64>, call: u64, ret: u64) -> Operation {
        op(0, Op::Read(Some(v)), call, Some(ret))
    }

    #[test]
    fn sequential_history_is_linearizable() {
        assert!(check(&[r(None, 0, 1), w(1, 2, 3), r(Some(1), 4, 5), w(2, 6, 7), r(Some(2), 8, 9)]));
    }

    #[test]
    fn stale_read_after_completed_write_is_not() {
        assert!(!check(&[w(1, 0, 1), w(2, 2, 3), r(Some(1), 4, 5)]));
        assert!(!check(&[w(1, 0, 1), r(None, 2, 3)]));
    }

    #[test]
    fn concurrent_operations_may_order_either_way() {
        // The read overlaps both writes: either value is fine.
        assert!(check(&[w(1, 0, 10), w(2, 0, 10), r(Some(1), 5, 20)]));
        assert!(check(&[w(1, 0, 10), w(2, 0, 10), r(Some(2), 5, 20)]));
        // Two sequential reads seeing 2 then 1 while both writes overlap them
        // is fine only if the writes can be ordered 2 then 1 between them.
        assert!(check(&[w(1, 0, 100), w(2, 0, 100), r(Some(2), 10, 20), r(Some(1), 30, 40)]));
    }

    #[test]
    fn reads_cannot_flip_back() {
        // w1 then w2 completed in order; reads after both cannot see 2 then 1.
        let h = [w(1, 0, 100), w(2, 0, 100), r(Some(2), 110, 120), r(Some(1), 130, 140)];
        assert!(!check(&h));
    }

    #[test]
    fn indeterminate_write_may_or_may_not_happen() {
        let lost = op(0, Op::Write(7), 0, None);
        assert!(check(&[lost.clone(), r(None, 10, 11)]));
        assert!(check(&[lost.clone(), r(Some(7), 10, 11)]));
        // ...but once seen, it cannot be unseen.
        assert!(!check(&[lost.clone(), r(Some(7), 10, 11), r(None, 12, 13)]));
        // And it cannot take effect before it was invoked.
        assert!(!check(&[r(Some(7), 0, 1), op(0, Op::Write(7), 5, None)]));
    }

    #[test]
    fn compare_and_set() {
        let cas = |e: Option<u64>, n: u64, ok: Option<bool>, c: u64, rt: Option<u64>| {
            op(0, Op::Cas { expect: e, new: n, ok }, c, rt)
        };
        assert!(check(&[w(1, 0, 1), cas(Some(1), 2, Some(true), 2, Some(3)), r(Some(2), 4, 5)]));
        assert!(!check(&[w(1, 0, 1), cas(Some(1), 2, Some(false), 2, Some(3))]));
        assert!(!check(&[w(1, 0, 1), cas(Some(5), 2, Some(true), 2, Some(3))]));
        // Two concurrent CAS from the same value cannot both succeed.
        assert!(!check(&[
            w(1, 0, 1),
            cas(Some(1), 2, Some(true), 2, Some(10)),
            cas(Some(1), 3, Some(true), 2, Some(10))
        ]));
        assert!(check(&[
            w(1, 0, 1),
            cas(Some(1), 2, Some(true), 2, Some(10)),
            cas(Some(1), 3, Some(false), 2, Some(10))
        ]));
        // An unknown CAS may have happened.
        assert!(check(&[w(1, 0, 1), cas(Some(1), 2, None, 2, None), r(Some(2), 20, 21)]));
        assert!(check(&[w(1, 0, 1), cas(Some(1), 2, None, 2, None), r(Some(1), 20, 21)]));
    }

    #[test]
    fn keys_are_independent() {
        let h = [
            op(1, Op::Write(1), 0, Some(1)),
            op(2, Op::Read(Some(None)), 2, Some(3)),
            op(1, Op::Read(Some(Some(1))), 4, Some(5)),
        ];
        assert!(check(&h));
        let bad = [op(1, Op::Write(1), 0, Some(1)), op(2, Op::Read(Some(Some(1))), 2, Some(3))];
        assert_eq!(check_detail(&bad), Err(2));
    }

    #[test]
    fn many_concurrent_writes_stay_tractable() {
        // 12 overlapping writes and final reads: without memoization the
        // refuting search tries 12! orders; with it, 2^12 configurations.
        let mut h: Vec<Operation> = (0..12).map(|i| w(i, i, 1000 + i)).collect();
        h.push(r(Some(7), 2000, 2001));
        assert!(check(&h));
        h.push(r(Some(8), 2002, 2003));
        assert!(!check(&h));
    }
}
