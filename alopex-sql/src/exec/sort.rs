//! ORDER BY: a stable in-memory sort.
//!
//! The first `next` drains the input, evaluates the sort keys once per row,
//! and sorts the (keys, row) pairs with a stable sort, so rows with equal
//! keys keep their input order. Values compare with [`Value::total_cmp`]
//! (numbers by value across types, NULL after everything); each key then
//! applies its own direction and NULL placement ([`compare_value`]): DESC
//! reverses the order of non-NULL values only, and NULLS FIRST/LAST places
//! NULLs independently of the direction, as in PostgreSQL.

use std::cmp::Ordering;
use std::vec::IntoIter;

use super::{ExecContext, Executor, drain, eval_expr};
use crate::error::Result;
use crate::plan::SortKey;
use crate::types::{Row, Value};

/// Compares two values of one sort key.
pub(super) fn compare_value(a: &Value, b: &Value, desc: bool, nulls_first: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, true) => {
            if nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, false) => {
            let o = a.total_cmp(b);
            if desc { o.reverse() } else { o }
        }
    }
}

/// Compares two rows' key values, most significant first.
pub(super) fn compare_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> Ordering {
    for ((a, b), key) in a.iter().zip(b).zip(keys) {
        let o = compare_value(a, b, key.desc, key.nulls_first);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Evaluates the sort keys over one row.
pub(super) fn key_values(keys: &[SortKey], row: &[Value], cx: &mut ExecContext<'_>) -> Result<Vec<Value>> {
    keys.iter().map(|k| eval_expr(&k.expr, row, cx)).collect()
}

/// Sorts its input.
pub(super) struct SortExec {
    input: Option<Box<dyn Executor>>,
    keys: Vec<SortKey>,
    sorted: IntoIter<Row>,
}

impl SortExec {
    /// Sorts the rows of `input` by `keys`.
    pub(super) fn new(input: Box<dyn Executor>, keys: Vec<SortKey>) -> SortExec {
        SortExec { input: Some(input), keys, sorted: Vec::new().into_iter() }
    }
}

impl Executor for SortExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(mut input) = self.input.take() {
            let mut keyed = Vec::new();
            for row in drain(input.as_mut(), cx)? {
                keyed.push((key_values(&self.keys, &row, cx)?, row));
            }
            keyed.sort_by(|(a, _), (b, _)| compare_keys(a, b, &self.keys));
            self.sorted = keyed.into_iter().map(|(_, row)| row).collect::<Vec<_>>().into_iter();
        }
        Ok(self.sorted.next())
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, rows, run};
    use crate::plan::{Node, SortKey};

    fn key(i: usize, desc: bool, nulls_first: bool) -> SortKey {
        SortKey { expr: col(i), desc, nulls_first }
    }

    fn input() -> Node {
        ints(2, &[&[Some(2), Some(1)], &[None, Some(2)], &[Some(1), Some(3)], &[Some(2), Some(4)], &[None, Some(5)]])
    }

    fn sorted(keys: Vec<SortKey>) -> Vec<crate::types::Row> {
        run(&Node::Sort { input: Box::new(input()), keys }).unwrap()
    }

    #[test]
    fn asc_nulls_last_is_stable() {
        let want =
            rows(&[&[Some(1), Some(3)], &[Some(2), Some(1)], &[Some(2), Some(4)], &[None, Some(2)], &[None, Some(5)]]);
        assert_eq!(sorted(vec![key(0, false, false)]), want);
    }

    #[test]
    fn asc_nulls_first() {
        let want =
            rows(&[&[None, Some(2)], &[None, Some(5)], &[Some(1), Some(3)], &[Some(2), Some(1)], &[Some(2), Some(4)]]);
        assert_eq!(sorted(vec![key(0, false, true)]), want);
    }

    #[test]
    fn desc_nulls_first_and_last() {
        let want =
            rows(&[&[None, Some(2)], &[None, Some(5)], &[Some(2), Some(1)], &[Some(2), Some(4)], &[Some(1), Some(3)]]);
        assert_eq!(sorted(vec![key(0, true, true)]), want);
        let want =
            rows(&[&[Some(2), Some(1)], &[Some(2), Some(4)], &[Some(1), Some(3)], &[None, Some(2)], &[None, Some(5)]]);
        assert_eq!(sorted(vec![key(0, true, false)]), want);
    }

    #[test]
    fn second_key_breaks_ties() {
        let want =
            rows(&[&[Some(2), Some(4)], &[Some(2), Some(1)], &[Some(1), Some(3)], &[None, Some(5)], &[None, Some(2)]]);
        assert_eq!(sorted(vec![key(0, true, false), key(1, true, false)]), want);
    }

    #[test]
    fn empty_input() {
        let node = Node::Sort { input: Box::new(Node::Empty { width: 1 }), keys: vec![key(0, false, false)] };
        assert!(run(&node).unwrap().is_empty());
    }
}
