//! WHERE and HAVING: keeps the input rows for which the predicate is TRUE.
//!
//! A NULL or FALSE predicate drops the row (three-valued logic ends here).
//! The operator streams: it pulls input rows until one passes.

use super::{ExecContext, Executor, eval_pred};
use crate::error::Result;
use crate::expr::Expr;
use crate::types::Row;

/// Filters its input.
pub(super) struct FilterExec {
    input: Box<dyn Executor>,
    predicate: Expr,
}

impl FilterExec {
    /// Keeps the rows of `input` where `predicate` holds.
    pub(super) fn new(input: Box<dyn Executor>, predicate: Expr) -> FilterExec {
        FilterExec { input, predicate }
    }
}

impl Executor for FilterExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(cx)? {
            if eval_pred(&self.predicate, &row, cx)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, lit, rows, run};
    use crate::plan::Node;
    use crate::types::Value;

    fn filter(predicate: crate::expr::Expr) -> Node {
        let input = ints(1, &[&[Some(1)], &[Some(2)]]);
        Node::Filter { input: Box::new(input), predicate }
    }

    #[test]
    fn true_keeps_false_and_null_drop() {
        assert_eq!(run(&filter(lit(Value::Bool(true)))).unwrap(), rows(&[&[Some(1)], &[Some(2)]]));
        assert!(run(&filter(lit(Value::Bool(false)))).unwrap().is_empty());
        assert!(run(&filter(lit(Value::Null))).unwrap().is_empty());
    }

    #[test]
    fn predicate_reads_the_row() {
        // A boolean column as the predicate.
        let input = Node::Values {
            rows: vec![vec![lit(Value::Bool(true))], vec![lit(Value::Null)], vec![lit(Value::Bool(false))]],
            width: 1,
        };
        let node = Node::Filter { input: Box::new(input), predicate: col(0) };
        assert_eq!(run(&node).unwrap(), vec![vec![Value::Bool(true)]]);
    }
}
