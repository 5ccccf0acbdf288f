//! Constant rows: `VALUES (…), (…)`, `SELECT` without FROM, and the empty
//! relation.
//!
//! Each row's expressions are evaluated over an empty input row when the
//! row is pulled, not up front: a `VALUES` list under a `LIMIT` evaluates
//! only the rows it returns, and an error in a later row surfaces only if
//! that row is reached (as in PostgreSQL). The expressions may still read
//! parameters, outer rows and subqueries through the context.

use std::vec::IntoIter;

use super::{ExecContext, Executor, eval_row};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::types::Row;

/// Evaluates constant rows.
pub(super) struct ValuesExec {
    rows: IntoIter<Vec<Expr>>,
    width: usize,
}

impl ValuesExec {
    /// Rows of `width` expressions each.
    pub(super) fn new(rows: Vec<Vec<Expr>>, width: usize) -> ValuesExec {
        ValuesExec { rows: rows.into_iter(), width }
    }
}

impl Executor for ValuesExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let Some(exprs) = self.rows.next() else { return Ok(None) };
        if exprs.len() != self.width {
            return Err(Error::internal(format!("VALUES row of {} values in a {}-wide list", exprs.len(), self.width)));
        }
        eval_row(&exprs, &[], cx).map(Some)
    }
}

/// No rows.
pub(super) struct EmptyExec;

impl Executor for EmptyExec {
    fn next(&mut self, _cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{int, ints, rows, run};
    use crate::plan::Node;
    use crate::types::Value;

    #[test]
    fn values_rows_in_order() {
        let node = ints(2, &[&[Some(1), None], &[Some(3), Some(4)]]);
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(1), None], &[Some(3), Some(4)]]));
    }

    #[test]
    fn select_without_from_is_one_empty_row() {
        let node = Node::Values { rows: vec![vec![]], width: 0 };
        assert_eq!(run(&node).unwrap(), vec![Vec::<Value>::new()]);
    }

    #[test]
    fn empty_has_no_rows() {
        assert!(run(&Node::Empty { width: 3 }).unwrap().is_empty());
    }

    #[test]
    fn ragged_values_are_an_internal_error() {
        let node = Node::Values { rows: vec![vec![crate::exec::test_support::lit(int(1))]], width: 2 };
        assert_eq!(run(&node).unwrap_err().state.code(), "XX000");
    }
}
