//! ORDER BY … LIMIT n [OFFSET m] with a bounded heap.
//!
//! Instead of sorting the whole input, the operator keeps only the best
//! `m + n` rows seen so far in a max-heap (the worst kept row on top): a
//! new row either replaces the top or is dropped, so memory is bounded by
//! the limit and the work is `O(rows · log(m + n))`. Each entry carries its
//! input sequence number as the last sort key, which makes the order total
//! and keeps rows with equal keys in input order, exactly like the stable
//! sort a `Sort` + `Limit` would do. At the end the heap is sorted and the
//! first `m` rows are skipped.
//!
//! The counts follow `limit.rs` (NULL LIMIT = no limit, then every row is
//! kept; negative counts are errors). A zero limit reads no input.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::vec::IntoIter;

use super::limit::{CountKind, eval_count};
use super::sort::{compare_value, key_values};
use super::{ExecContext, Executor};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::SortKey;
use crate::types::{Row, Value};

/// One key value with its key's direction, so heap entries order
/// themselves.
struct KeyValue {
    value: Value,
    desc: bool,
    nulls_first: bool,
}

/// A kept row.
struct Entry {
    keys: Vec<KeyValue>,
    seq: u64,
    row: Row,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        for (a, b) in self.keys.iter().zip(&other.keys) {
            let o = compare_value(&a.value, &b.value, a.desc, a.nulls_first);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.seq.cmp(&other.seq)
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

/// The first rows in key order.
pub(super) struct TopNExec {
    input: Option<Box<dyn Executor>>,
    keys: Vec<SortKey>,
    limit: Expr,
    offset: Option<Expr>,
    output: IntoIter<Row>,
}

impl TopNExec {
    /// The first `limit` rows of `input` after `offset`, by `keys`.
    pub(super) fn new(input: Box<dyn Executor>, keys: Vec<SortKey>, limit: Expr, offset: Option<Expr>) -> TopNExec {
        TopNExec { input: Some(input), keys, limit, offset, output: Vec::new().into_iter() }
    }

    /// Reads the input and computes the output rows.
    fn compute(&mut self, mut input: Box<dyn Executor>, cx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let limit = eval_count(&self.limit, CountKind::Limit, cx)?;
        let offset = match &self.offset {
            Some(e) => eval_count(e, CountKind::Offset, cx)?.unwrap_or(0),
            None => 0,
        };
        // None = keep everything (NULL limit).
        let keep = limit.map(|l| l.saturating_add(offset));
        if keep == Some(0) {
            return Ok(Vec::new());
        }
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        while let Some(row) = input.next(cx)? {
            let keys = key_values(&self.keys, &row, cx)?
                .into_iter()
                .zip(&self.keys)
                .map(|(value, k)| KeyValue { value, desc: k.desc, nulls_first: k.nulls_first })
                .collect();
            let entry = Entry { keys, seq, row };
            seq += 1;
            match keep {
                Some(keep) if heap.len() as u64 >= keep => {
                    // Full: replace the worst kept row if the new one is better.
                    if let Some(mut top) = heap.peek_mut()
                        && entry < *top
                    {
                        *top = entry;
                    }
                }
                _ => heap.push(entry),
            }
        }
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(heap.into_sorted_vec().into_iter().skip(skip).map(|e| e.row).collect())
    }
}

impl Executor for TopNExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(input) = self.input.take() {
            self.output = self.compute(input, cx)?.into_iter();
        }
        Ok(self.output.next())
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, int, ints, lit, rows, run};
    use crate::plan::{Node, SortKey};
    use crate::types::{Row, Value};

    fn input() -> Node {
        // (key, position)
        ints(
            2,
            &[
                &[Some(3), Some(1)],
                &[Some(1), Some(2)],
                &[None, Some(3)],
                &[Some(2), Some(4)],
                &[Some(1), Some(5)],
                &[Some(2), Some(6)],
                &[Some(1), Some(7)],
            ],
        )
    }

    fn topn(desc: bool, nulls_first: bool, limit: Value, offset: Option<i64>) -> Vec<Row> {
        let node = Node::TopN {
            input: Box::new(input()),
            keys: vec![SortKey { expr: col(0), desc, nulls_first }],
            limit: lit(limit),
            offset: offset.map(|o| lit(int(o))),
        };
        run(&node).unwrap()
    }

    #[test]
    fn ties_keep_input_order() {
        assert_eq!(topn(false, false, int(2), None), rows(&[&[Some(1), Some(2)], &[Some(1), Some(5)]]));
        assert_eq!(
            topn(false, false, int(4), None),
            rows(&[&[Some(1), Some(2)], &[Some(1), Some(5)], &[Some(1), Some(7)], &[Some(2), Some(4)]])
        );
    }

    #[test]
    fn offset_skips_after_ordering() {
        assert_eq!(topn(false, false, int(2), Some(2)), rows(&[&[Some(1), Some(7)], &[Some(2), Some(4)]]));
        assert!(topn(false, false, int(2), Some(20)).is_empty());
    }

    #[test]
    fn desc_and_nulls() {
        assert_eq!(topn(true, true, int(2), None), rows(&[&[None, Some(3)], &[Some(3), Some(1)]]));
        assert_eq!(topn(true, false, int(2), None), rows(&[&[Some(3), Some(1)], &[Some(2), Some(4)]]));
        assert_eq!(topn(false, true, int(1), None), rows(&[&[None, Some(3)]]));
        assert_eq!(topn(false, false, int(7), Some(6)), rows(&[&[None, Some(3)]]));
    }

    #[test]
    fn matches_a_stable_sort_for_every_limit() {
        let key = SortKey { expr: col(0), desc: false, nulls_first: false };
        let sorted = run(&Node::Sort { input: Box::new(input()), keys: vec![key] }).unwrap();
        for limit in 0..9 {
            for offset in 0..4 {
                let want: Vec<Row> = sorted.iter().skip(offset).take(limit).cloned().collect();
                assert_eq!(topn(false, false, int(limit as i64), Some(offset as i64)), want, "{limit} {offset}");
            }
        }
    }

    #[test]
    fn null_limit_keeps_everything() {
        assert_eq!(topn(false, false, Value::Null, Some(5)).len(), 2);
    }

    #[test]
    fn negative_limit_is_an_error() {
        let node = Node::TopN { input: Box::new(input()), keys: vec![], limit: lit(int(-1)), offset: None };
        assert_eq!(run(&node).unwrap_err().state.code(), "2201W");
    }
}
