//! UPDATE.
//!
//! The input yields the current full rows to change (already filtered; it
//! may be a join for `UPDATE … FROM`). Every assignment is evaluated over
//! the old row, coerced into its column, and the new row passes the NOT
//! NULL and CHECK constraints before [`update`] rewrites it and its index
//! entries. A row that the input yields twice (a join matching it more than
//! once) is updated once, with the first match, as in PostgreSQL.

use std::collections::HashSet;

use super::dml::{DmlRun, DmlWrite, Table, check_constraints, check_width, coerce, primary_key};
use super::{ExecContext, Executor, eval_expr};
use crate::error::Result;
use crate::expr::Expr;
use crate::table::update;
use crate::types::{Row, Value};

/// Updates rows.
pub(super) struct UpdateWriter {
    table: Table,
    assignments: Vec<(usize, Expr)>,
    checks: Vec<(String, Expr)>,
    /// Primary keys (as read) of the rows already updated.
    seen: HashSet<Vec<Value>>,
}

/// The UPDATE operator over `input`.
pub(super) fn build(
    table: Table,
    input: Box<dyn Executor>,
    assignments: Vec<(usize, Expr)>,
    checks: Vec<(String, Expr)>,
    returning: Option<Vec<Expr>>,
) -> DmlRun<UpdateWriter> {
    DmlRun::new(input, returning, UpdateWriter { table, assignments, checks, seen: HashSet::new() })
}

impl DmlWrite for UpdateWriter {
    fn write(&mut self, old: Row, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let table = self.table.clone();
        check_width(&table, &old)?;
        if !self.seen.insert(primary_key(&table, &old)) {
            return Ok(None);
        }
        let mut new = old.clone();
        for (position, expr) in &self.assignments {
            let value = eval_expr(expr, &old, cx)?;
            new[*position] = coerce(&table, *position, value)?;
        }
        check_constraints(&table, &self.checks, &new, cx)?;
        update(&mut *cx.txn, &table, &old, &new)?;
        Ok(Some(new))
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, int, ints, lit, rows, run_dml, run_in, scan_all, table, with_cx};
    use crate::plan::Node;
    use crate::types::Value;

    #[test]
    fn updates_every_input_row_once() {
        let t = table("t", 2, &[0]);
        with_cx(&[], |cx| {
            let insert = Node::Insert {
                table: t.clone(),
                input: Box::new(ints(2, &[&[Some(1), Some(10)], &[Some(2), Some(20)]])),
                on_conflict: None,
                checks: vec![],
                returning: None,
            };
            run_dml(&insert, cx).unwrap();
            // SET b = a, a = b: both read the old row, so the columns swap
            // (and the primary key moves); the input yields every row twice,
            // as a join could.
            let input = Node::SetOp {
                op: crate::plan::SetOpKind::Union,
                all: true,
                left: Box::new(scan_all(&t)),
                right: Box::new(scan_all(&t)),
            };
            let update = Node::Update {
                table: t.clone(),
                input: Box::new(input),
                assignments: vec![(1, col(0)), (0, col(1))],
                checks: vec![],
                returning: Some(vec![col(0), col(1)]),
            };
            let (out, n) = run_dml(&update, cx).unwrap();
            assert_eq!((out, n), (rows(&[&[Some(10), Some(1)], &[Some(20), Some(2)]]), 2));
            assert_eq!(run_in(&scan_all(&t), cx).unwrap(), rows(&[&[Some(10), Some(1)], &[Some(20), Some(2)]]));
            // A NOT NULL column set to NULL.
            let bad = Node::Update {
                table: t.clone(),
                input: Box::new(scan_all(&t)),
                assignments: vec![(0, lit(Value::Null))],
                checks: vec![],
                returning: None,
            };
            assert_eq!(run_dml(&bad, cx).unwrap_err().state.code(), "23502");
            let checked = Node::Update {
                table: t.clone(),
                input: Box::new(scan_all(&t)),
                assignments: vec![(1, lit(int(5)))],
                checks: vec![("t_check".into(), lit(Value::Bool(false)))],
                returning: None,
            };
            assert_eq!(run_dml(&checked, cx).unwrap_err().state.code(), "23514");
        });
    }
}
