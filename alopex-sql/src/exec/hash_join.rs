//! The hash join: equality joins in one pass over each side.
//!
//! When the join opens, the right (build) side is read into memory and its
//! rows are grouped into buckets by their key values; then each left
//! (probe) row computes its key and is matched against one bucket, with
//! the residual predicate deciding among the bucket's rows. Keys compare
//! with [`Value`]'s grouping equality (numbers across types by value), and
//! a key containing NULL matches nothing, as `=` would have it: such right
//! rows are kept only when a Right or Full join must emit them unmatched.
//! The join kinds' output rules are shared with the nested loop
//! (`join.rs`).

use std::collections::HashMap;

use super::join::{Candidates, JoinCore};
use super::{ExecContext, Executor, drain, eval_row};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::JoinKind;
use crate::types::{Row, Value};

/// Joins on equal keys.
pub(super) struct HashJoinExec {
    left: Box<dyn Executor>,
    right: Option<Box<dyn Executor>>,
    left_keys: Vec<Expr>,
    right_keys: Vec<Expr>,
    /// Key values → position in the core's buckets.
    table: HashMap<Vec<Value>, usize>,
    core: JoinCore,
}

impl HashJoinExec {
    /// A join of `left` and `right` (of the given widths) where
    /// `keys.0` over the left row equal `keys.1` over the right row, and
    /// `residual` (over left ++ right) holds.
    pub(super) fn new(
        left: Box<dyn Executor>,
        right: Box<dyn Executor>,
        kind: JoinKind,
        keys: (Vec<Expr>, Vec<Expr>),
        residual: Option<Expr>,
        left_width: usize,
        right_width: usize,
    ) -> Result<HashJoinExec> {
        let (left_keys, right_keys) = keys;
        if left_keys.len() != right_keys.len() {
            return Err(Error::internal(format!(
                "hash join with {} left keys and {} right keys",
                left_keys.len(),
                right_keys.len()
            )));
        }
        Ok(HashJoinExec {
            left,
            right: Some(right),
            left_keys,
            right_keys,
            table: HashMap::new(),
            core: JoinCore::new(kind, residual, left_width, right_width),
        })
    }

    /// Reads the build side into buckets.
    fn build_side(&mut self, mut right: Box<dyn Executor>, cx: &mut ExecContext<'_>) -> Result<()> {
        let keep_null_keys = self.core.keeps_unmatched_right();
        let mut rows = Vec::new();
        let mut buckets: Vec<Vec<usize>> = Vec::new();
        for row in drain(right.as_mut(), cx)? {
            let key = eval_row(&self.right_keys, &row, cx)?;
            if key.iter().any(Value::is_null) {
                if keep_null_keys {
                    rows.push(row);
                }
                continue;
            }
            let next_bucket = buckets.len();
            let bucket = *self.table.entry(key).or_insert(next_bucket);
            if bucket == next_bucket {
                buckets.push(Vec::new());
            }
            buckets[bucket].push(rows.len());
            rows.push(row);
        }
        self.core.set_right(rows, buckets);
        Ok(())
    }
}

impl Executor for HashJoinExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(right) = self.right.take() {
            self.build_side(right, cx)?;
        }
        let (table, left_keys) = (&self.table, &self.left_keys);
        let mut probe = |row: &Row, cx: &mut ExecContext<'_>| -> Result<Candidates> {
            let key = eval_row(left_keys, row, cx)?;
            if key.iter().any(Value::is_null) {
                return Ok(Candidates::Nothing);
            }
            Ok(table.get(&key).map_or(Candidates::Nothing, |b| Candidates::Bucket(*b)))
        };
        self.core.next(self.left.as_mut(), cx, &mut probe)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, lit, rows, run};
    use crate::expr::Expr;
    use crate::plan::{JoinKind, Node};
    use crate::types::Value;

    fn join(kind: JoinKind, left: Node, right: Node, residual: Option<Expr>) -> Node {
        Node::HashJoin {
            left: Box::new(left),
            right: Box::new(right),
            kind,
            left_keys: vec![col(0)],
            right_keys: vec![col(0)],
            residual,
        }
    }

    fn l() -> Node {
        ints(2, &[&[Some(1), Some(100)], &[Some(2), Some(200)], &[None, Some(300)], &[Some(2), Some(400)]])
    }

    fn r() -> Node {
        ints(1, &[&[Some(2)], &[Some(3)], &[None], &[Some(2)]])
    }

    fn run_kind(kind: JoinKind) -> Vec<crate::types::Row> {
        run(&join(kind, l(), r(), None)).unwrap()
    }

    #[test]
    fn inner_with_duplicates_and_null_keys() {
        let want = rows(&[
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(400), Some(2)],
            &[Some(2), Some(400), Some(2)],
        ]);
        assert_eq!(run_kind(JoinKind::Inner), want);
    }

    #[test]
    fn left_keeps_unmatched_and_null_key_rows() {
        let want = rows(&[
            &[Some(1), Some(100), None],
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(200), Some(2)],
            &[None, Some(300), None],
            &[Some(2), Some(400), Some(2)],
            &[Some(2), Some(400), Some(2)],
        ]);
        assert_eq!(run_kind(JoinKind::Left), want);
    }

    #[test]
    fn right_emits_unmatched_right_rows_including_null_keys() {
        let want = rows(&[
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(400), Some(2)],
            &[Some(2), Some(400), Some(2)],
            &[None, None, Some(3)],
            &[None, None, None],
        ]);
        assert_eq!(run_kind(JoinKind::Right), want);
    }

    #[test]
    fn full_emits_both_sides_unmatched() {
        let want = rows(&[
            &[Some(1), Some(100), None],
            &[Some(2), Some(200), Some(2)],
            &[Some(2), Some(200), Some(2)],
            &[None, Some(300), None],
            &[Some(2), Some(400), Some(2)],
            &[Some(2), Some(400), Some(2)],
            &[None, None, Some(3)],
            &[None, None, None],
        ]);
        assert_eq!(run_kind(JoinKind::Full), want);
    }

    #[test]
    fn semi_emits_each_left_row_once_and_anti_keeps_null_keys() {
        assert_eq!(run_kind(JoinKind::Semi), rows(&[&[Some(2), Some(200)], &[Some(2), Some(400)]]));
        assert_eq!(run_kind(JoinKind::Anti), rows(&[&[Some(1), Some(100)], &[None, Some(300)]]));
    }

    #[test]
    fn residual_filters_within_a_bucket() {
        // Right rows (key, flag): the residual is the flag.
        let right = Node::Values {
            rows: vec![
                vec![lit(Value::Int(2)), lit(Value::Bool(false))],
                vec![lit(Value::Int(2)), lit(Value::Bool(true))],
                vec![lit(Value::Int(1)), lit(Value::Null)],
            ],
            width: 2,
        };
        let got = run(&join(JoinKind::Left, l(), right.clone(), Some(col(3)))).unwrap();
        let t = Value::Bool(true);
        let want = vec![
            vec![Value::Int(1), Value::Int(100), Value::Null, Value::Null],
            vec![Value::Int(2), Value::Int(200), Value::Int(2), t.clone()],
            vec![Value::Null, Value::Int(300), Value::Null, Value::Null],
            vec![Value::Int(2), Value::Int(400), Value::Int(2), t],
        ];
        assert_eq!(got, want);
        let anti = run(&join(JoinKind::Anti, l(), right, Some(col(3)))).unwrap();
        assert_eq!(anti, rows(&[&[Some(1), Some(100)], &[None, Some(300)]]));
    }

    #[test]
    fn keys_match_across_numeric_types() {
        let right = Node::Values { rows: vec![vec![lit(Value::Float(2.0))]], width: 1 };
        let got = run(&join(JoinKind::Semi, l(), right, None)).unwrap();
        assert_eq!(got, rows(&[&[Some(2), Some(200)], &[Some(2), Some(400)]]));
    }

    #[test]
    fn mismatched_key_counts_are_an_internal_error() {
        let node = Node::HashJoin {
            left: Box::new(l()),
            right: Box::new(r()),
            kind: JoinKind::Inner,
            left_keys: vec![col(0)],
            right_keys: vec![],
            residual: None,
        };
        assert_eq!(run(&node).unwrap_err().state.code(), "XX000");
    }
}
