//! The select list: computes each output row from one input row.

use super::{ExecContext, Executor, eval_row};
use crate::error::Result;
use crate::expr::Expr;
use crate::types::Row;

/// Computes expressions over its input.
pub(super) struct ProjectExec {
    input: Box<dyn Executor>,
    exprs: Vec<Expr>,
}

impl ProjectExec {
    /// One output value per expression of `exprs`, over the rows of `input`.
    pub(super) fn new(input: Box<dyn Executor>, exprs: Vec<Expr>) -> ProjectExec {
        ProjectExec { input, exprs }
    }
}

impl Executor for ProjectExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        match self.input.next(cx)? {
            Some(row) => eval_row(&self.exprs, &row, cx).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, int, ints, lit, rows, run};
    use crate::plan::Node;

    #[test]
    fn reorders_duplicates_and_adds_constants() {
        let input = ints(2, &[&[Some(1), Some(2)], &[Some(3), None]]);
        let node = Node::Project { input: Box::new(input), exprs: vec![col(1), col(0), col(1), lit(int(9))] };
        let want = rows(&[&[Some(2), Some(1), Some(2), Some(9)], &[None, Some(3), None, Some(9)]]);
        assert_eq!(run(&node).unwrap(), want);
    }

    #[test]
    fn bad_column_is_an_internal_error() {
        let node = Node::Project { input: Box::new(ints(1, &[&[Some(1)]])), exprs: vec![col(1)] };
        assert_eq!(run(&node).unwrap_err().state.code(), "XX000");
    }
}
