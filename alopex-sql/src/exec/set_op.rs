//! UNION, INTERSECT and EXCEPT, with and without ALL.
//!
//! The bag semantics follow the SQL standard: if a row occurs `m` times on
//! the left and `n` times on the right, UNION ALL returns it `m + n` times,
//! INTERSECT ALL `min(m, n)` times, EXCEPT ALL `max(m − n, 0)` times, and
//! the forms without ALL return it at most once (if the ALL form would
//! return it at all). Rows compare with grouping equality (NULLs equal).
//!
//! UNION ALL streams both inputs. UNION streams too, through a set of rows
//! already returned. INTERSECT and EXCEPT first read the right input into a
//! multiset of counts, then stream the left input against it: INTERSECT
//! ALL takes one count per returned row, EXCEPT ALL cancels one count per
//! dropped row. Output order is left-input order (then right for UNION).

use std::collections::{HashMap, HashSet};

use super::{ExecContext, Executor};
use crate::error::Result;
use crate::plan::SetOpKind;
use crate::types::Row;

/// A set operation.
pub(super) struct SetOpExec {
    op: SetOpKind,
    all: bool,
    left: Box<dyn Executor>,
    /// The right input; taken when it is consumed.
    right: Option<Box<dyn Executor>>,
    /// UNION: rows the left input is done with (then the right streams).
    left_done: bool,
    /// INTERSECT/EXCEPT: right rows and their counts.
    right_counts: HashMap<Row, u64>,
    /// Rows returned so far (the forms without ALL).
    returned: HashSet<Row>,
}

impl SetOpExec {
    /// `left op [ALL] right`.
    pub(super) fn new(op: SetOpKind, all: bool, left: Box<dyn Executor>, right: Box<dyn Executor>) -> SetOpExec {
        SetOpExec {
            op,
            all,
            left,
            right: Some(right),
            left_done: false,
            right_counts: HashMap::new(),
            returned: HashSet::new(),
        }
    }

    /// True when `row` is new (always for ALL), remembering it.
    fn first_time(&mut self, row: &Row) -> bool {
        if self.all || self.returned.contains(row) {
            return self.all;
        }
        self.returned.insert(row.clone());
        true
    }

    fn next_union(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        loop {
            let row = if !self.left_done {
                match self.left.next(cx)? {
                    Some(row) => row,
                    None => {
                        self.left_done = true;
                        continue;
                    }
                }
            } else {
                let Some(right) = self.right.as_mut() else { return Ok(None) };
                match right.next(cx)? {
                    Some(row) => row,
                    None => {
                        self.right = None;
                        return Ok(None);
                    }
                }
            };
            if self.first_time(&row) {
                return Ok(Some(row));
            }
        }
    }

    fn next_intersect_except(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(mut right) = self.right.take() {
            while let Some(row) = right.next(cx)? {
                *self.right_counts.entry(row).or_insert(0) += 1;
            }
        }
        while let Some(row) = self.left.next(cx)? {
            let count = self.right_counts.get_mut(&row);
            let keep = match (self.op, count) {
                (SetOpKind::Intersect, Some(n)) if *n > 0 => {
                    if self.all {
                        *n -= 1;
                    }
                    true
                }
                (SetOpKind::Intersect, _) => false,
                (_, Some(n)) if *n > 0 => {
                    if self.all {
                        *n -= 1;
                    }
                    false
                }
                (_, _) => true,
            };
            if keep && self.first_time(&row) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

impl Executor for SetOpExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        match self.op {
            SetOpKind::Union => self.next_union(cx),
            SetOpKind::Intersect | SetOpKind::Except => self.next_intersect_except(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{ints, rows, run};
    use crate::plan::{Node, SetOpKind};
    use crate::types::Row;

    // left: 1 1 1 2 NULL NULL 3; right: 1 2 2 NULL 4
    fn left() -> Node {
        ints(1, &[&[Some(1)], &[Some(1)], &[Some(1)], &[Some(2)], &[None], &[None], &[Some(3)]])
    }

    fn right() -> Node {
        ints(1, &[&[Some(1)], &[Some(2)], &[Some(2)], &[None], &[Some(4)]])
    }

    fn set_op(op: SetOpKind, all: bool) -> Vec<Row> {
        run(&Node::SetOp { op, all, left: Box::new(left()), right: Box::new(right()) }).unwrap()
    }

    fn col(v: &[Option<i64>]) -> Vec<Row> {
        let r: Vec<Vec<Option<i64>>> = v.iter().map(|x| vec![*x]).collect();
        let refs: Vec<&[Option<i64>]> = r.iter().map(|x| x.as_slice()).collect();
        rows(&refs)
    }

    #[test]
    fn union_all_concatenates() {
        let want =
            col(&[Some(1), Some(1), Some(1), Some(2), None, None, Some(3), Some(1), Some(2), Some(2), None, Some(4)]);
        assert_eq!(set_op(SetOpKind::Union, true), want);
    }

    #[test]
    fn union_removes_duplicates_across_both_sides() {
        assert_eq!(set_op(SetOpKind::Union, false), col(&[Some(1), Some(2), None, Some(3), Some(4)]));
    }

    #[test]
    fn intersect_with_and_without_all() {
        assert_eq!(set_op(SetOpKind::Intersect, false), col(&[Some(1), Some(2), None]));
        assert_eq!(set_op(SetOpKind::Intersect, true), col(&[Some(1), Some(2), None]));
    }

    #[test]
    fn except_with_and_without_all() {
        assert_eq!(set_op(SetOpKind::Except, false), col(&[Some(3)]));
        assert_eq!(set_op(SetOpKind::Except, true), col(&[Some(1), Some(1), None, Some(3)]));
    }

    #[test]
    fn intersect_all_takes_the_minimum_count() {
        let l = ints(1, &[&[Some(5)], &[Some(5)], &[Some(5)]]);
        let r = ints(1, &[&[Some(5)], &[Some(5)]]);
        let got = run(&Node::SetOp { op: SetOpKind::Intersect, all: true, left: Box::new(l), right: Box::new(r) });
        assert_eq!(got.unwrap(), col(&[Some(5), Some(5)]));
    }

    #[test]
    fn empty_sides() {
        let empty = || Box::new(Node::Empty { width: 1 });
        let run_op = |op, all, l: Box<Node>, r: Box<Node>| run(&Node::SetOp { op, all, left: l, right: r }).unwrap();
        assert_eq!(run_op(SetOpKind::Union, false, empty(), Box::new(left())).len(), 4);
        assert!(run_op(SetOpKind::Intersect, true, Box::new(left()), empty()).is_empty());
        assert_eq!(run_op(SetOpKind::Except, true, Box::new(left()), empty()).len(), 7);
        assert!(run_op(SetOpKind::Except, false, empty(), Box::new(right())).is_empty());
    }
}
