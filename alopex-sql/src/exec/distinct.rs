//! SELECT DISTINCT: drops rows equal to an earlier row.
//!
//! Streaming: a row is returned the first time it is seen and remembered
//! in a hash set, so output order is first-occurrence order and a LIMIT
//! above stops the scan early. Rows compare with [`Value`]'s grouping
//! equality: NULLs are equal to each other, numbers compare by value.
//!
//! [`Value`]: crate::types::Value

use std::collections::HashSet;

use super::{ExecContext, Executor};
use crate::error::Result;
use crate::types::Row;

/// Removes duplicate rows.
pub(super) struct DistinctExec {
    input: Box<dyn Executor>,
    seen: HashSet<Row>,
}

impl DistinctExec {
    /// The distinct rows of `input`.
    pub(super) fn new(input: Box<dyn Executor>) -> DistinctExec {
        DistinctExec { input, seen: HashSet::new() }
    }
}

impl Executor for DistinctExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(cx)? {
            if !self.seen.contains(&row) {
                self.seen.insert(row.clone());
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{ints, rows, run};
    use crate::plan::Node;

    #[test]
    fn first_occurrence_order_and_nulls_equal() {
        let input = ints(
            2,
            &[
                &[Some(2), None],
                &[Some(1), Some(1)],
                &[Some(2), None],
                &[None, None],
                &[Some(1), Some(1)],
                &[None, None],
            ],
        );
        let got = crate::exec::test_support::run(&Node::Distinct { input: Box::new(input) }).unwrap();
        assert_eq!(got, rows(&[&[Some(2), None], &[Some(1), Some(1)], &[None, None]]));
        assert!(run(&Node::Distinct { input: Box::new(Node::Empty { width: 1 }) }).unwrap().is_empty());
    }
}
