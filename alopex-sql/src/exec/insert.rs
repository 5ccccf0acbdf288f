//! INSERT, with ON CONFLICT DO NOTHING / DO UPDATE.
//!
//! The input yields full table rows (defaults already filled in by the
//! plan). Each row gets a fresh hidden row id if its table has one and the
//! plan left it NULL, is coerced into the column types (assignment casts),
//! and passes the NOT NULL and CHECK constraints, in that order, before
//! the storage layer is asked about conflicts; this is PostgreSQL's order,
//! so the same bad row fails with the same error.
//!
//! With ON CONFLICT, [`find_conflict`] names the existing row the new one
//! collides with. DO NOTHING skips the row. DO UPDATE evaluates the
//! assignments and the optional WHERE over the existing row followed by
//! the proposed one (`excluded`), and rewrites the existing row. A
//! statement may not update a row it has already inserted or updated
//! (21000), which is what happens when two proposed rows share a key: the
//! writer remembers the primary keys it wrote.

use std::collections::HashSet;

use super::dml::{DmlRun, DmlWrite, Table, check_constraints, check_width, coerce, primary_key};
use super::{ExecContext, Executor, eval_expr, eval_pred};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::{OnConflict, OnConflictAction};
use crate::sql_err;
use crate::table::{find_conflict, insert, update};
use crate::types::{Row, Value};

/// Inserts rows.
pub(super) struct InsertWriter {
    table: Table,
    on_conflict: Option<OnConflict>,
    checks: Vec<(String, Expr)>,
    /// Primary keys of the rows this statement wrote (DO UPDATE only).
    written: HashSet<Vec<Value>>,
}

/// The INSERT operator over `input`.
pub(super) fn build(
    table: Table,
    input: Box<dyn Executor>,
    on_conflict: Option<OnConflict>,
    checks: Vec<(String, Expr)>,
    returning: Option<Vec<Expr>>,
) -> DmlRun<InsertWriter> {
    DmlRun::new(input, returning, InsertWriter { table, on_conflict, checks, written: HashSet::new() })
}

/// The row writer of an INSERT on its own, for bulk loads
/// (`bulk_insert.rs`) that feed it rows without an input operator.
pub(super) fn writer(table: Table, on_conflict: Option<OnConflict>, checks: Vec<(String, Expr)>) -> InsertWriter {
    InsertWriter { table, on_conflict, checks, written: HashSet::new() }
}

impl InsertWriter {
    /// True when DO UPDATE may rewrite rows, so written keys are tracked.
    fn tracks_written(&self) -> bool {
        matches!(&self.on_conflict, Some(OnConflict { action: OnConflictAction::Update { .. }, .. }))
    }

    /// ON CONFLICT DO UPDATE of `existing` with the proposed row.
    fn update_existing(
        &mut self,
        existing: Row,
        proposed: Row,
        assignments: &[(usize, Expr)],
        predicate: Option<&Expr>,
        cx: &mut ExecContext<'_>,
    ) -> Result<Option<Row>> {
        let table = &*self.table;
        if self.written.contains(&primary_key(table, &existing)) {
            return Err(sql_err!(
                CARDINALITY_VIOLATION,
                "ON CONFLICT DO UPDATE command cannot affect row a second time"
            ));
        }
        let mut combined = existing.clone();
        combined.extend(proposed);
        if let Some(predicate) = predicate
            && !eval_pred(predicate, &combined, cx)?
        {
            return Ok(None);
        }
        let mut new = existing.clone();
        for (position, expr) in assignments {
            let value = eval_expr(expr, &combined, cx)?;
            let value = coerce(table, *position, value)?;
            new[*position] = value;
        }
        check_constraints(table, &self.checks, &new, cx)?;
        update(&mut *cx.txn, table, &existing, &new)?;
        self.written.insert(primary_key(table, &new));
        Ok(Some(new))
    }
}

impl DmlWrite for InsertWriter {
    fn write(&mut self, mut row: Row, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let table = self.table.clone();
        check_width(&table, &row)?;
        if table.has_row_id()
            && let Some(last) = row.last_mut()
            && last.is_null()
        {
            *last = Value::Int(cx.row_ids.next_row_id(&table)?);
        }
        let row: Row = row.into_iter().enumerate().map(|(i, v)| coerce(&table, i, v)).collect::<Result<_>>()?;
        check_constraints(&table, &self.checks, &row, cx)?;
        if let Some(on_conflict) = self.on_conflict.clone()
            && let Some(existing) = find_conflict(&mut *cx.txn, &table, &row, on_conflict.target.as_deref())?
        {
            return match &on_conflict.action {
                OnConflictAction::Nothing => Ok(None),
                OnConflictAction::Update { assignments, predicate } => {
                    self.update_existing(existing, row, assignments, predicate.as_ref(), cx)
                }
            };
        }
        insert(&mut *cx.txn, &table, &row)?;
        if self.tracks_written() {
            self.written.insert(primary_key(&table, &row));
        }
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, int, ints, lit, rows, run_dml, run_in, scan_all, table, with_cx};
    use crate::plan::{Node, OnConflict, OnConflictAction};
    use crate::types::Value;

    fn insert(table: &std::sync::Arc<crate::catalog::TableSchema>, input: Node) -> Node {
        Node::Insert {
            table: table.clone(),
            input: Box::new(input),
            on_conflict: None,
            checks: vec![],
            returning: None,
        }
    }

    #[test]
    fn inserts_count_and_return() {
        let t = table("t", 2, &[0]);
        with_cx(&[], |cx| {
            let (out, n) = run_dml(&insert(&t, ints(2, &[&[Some(2), None], &[Some(1), Some(10)]])), cx).unwrap();
            assert_eq!((out.len(), n), (0, 2));
            let mut node = insert(&t, ints(2, &[&[Some(3), Some(30)]]));
            if let Node::Insert { returning, .. } = &mut node {
                *returning = Some(vec![col(1), col(0)]);
            }
            assert_eq!(run_dml(&node, cx).unwrap(), (rows(&[&[Some(30), Some(3)]]), 1));
            let want = rows(&[&[Some(1), Some(10)], &[Some(2), None], &[Some(3), Some(30)]]);
            assert_eq!(run_in(&scan_all(&t), cx).unwrap(), want);
            // A duplicate key is the storage layer's 23505.
            let err = run_dml(&insert(&t, ints(2, &[&[Some(3), None]])), cx).unwrap_err();
            assert_eq!(err.state.code(), "23505");
        });
    }

    #[test]
    fn not_null_then_check_constraints() {
        let t = table("t", 2, &[0]);
        with_cx(&[], |cx| {
            let err = run_dml(&insert(&t, ints(2, &[&[None, Some(1)]])), cx).unwrap_err();
            assert_eq!(err.state.code(), "23502");
            assert_eq!(err.message, "null value in column \"a\" of relation \"t\" violates not-null constraint");
            let checked = |check: Value| Node::Insert {
                table: t.clone(),
                input: Box::new(ints(2, &[&[Some(1), Some(1)]])),
                on_conflict: None,
                checks: vec![("t_b_check".to_string(), lit(check))],
                returning: None,
            };
            let err = run_dml(&checked(Value::Bool(false)), cx).unwrap_err();
            assert_eq!(err.state.code(), "23514");
            assert_eq!(err.message, "new row for relation \"t\" violates check constraint \"t_b_check\"");
            assert_eq!(run_dml(&checked(Value::Null), cx).unwrap().1, 1, "a NULL check passes");
        });
    }

    #[test]
    fn hidden_row_ids_and_the_halloween_problem() {
        // INSERT INTO t SELECT * FROM t must read t before writing.
        let t = table("t", 1, &[]);
        with_cx(&[], |cx| {
            let two = Node::Values {
                rows: vec![vec![lit(int(1)), lit(Value::Null)], vec![lit(int(2)), lit(Value::Null)]],
                width: 2,
            };
            assert_eq!(run_dml(&insert(&t, two), cx).unwrap().1, 2);
            let copy = Node::Project { input: Box::new(scan_all(&t)), exprs: vec![col(0), lit(Value::Null)] };
            assert_eq!(run_dml(&insert(&t, copy), cx).unwrap().1, 2);
            let all = run_in(&scan_all(&t), cx).unwrap();
            assert_eq!(all.len(), 4);
            let ids: std::collections::HashSet<Value> = all.iter().map(|r| r[1].clone()).collect();
            assert_eq!(ids.len(), 4, "every row got its own id");
        });
    }

    fn upsert(t: &std::sync::Arc<crate::catalog::TableSchema>, input: Node, action: OnConflictAction) -> Node {
        Node::Insert {
            table: t.clone(),
            input: Box::new(input),
            on_conflict: Some(OnConflict { target: Some(vec![0]), action }),
            checks: vec![],
            returning: Some(vec![col(0), col(1)]),
        }
    }

    #[test]
    fn on_conflict_do_nothing_and_do_update() {
        let t = table("t", 2, &[0]);
        with_cx(&[], |cx| {
            run_dml(&insert(&t, ints(2, &[&[Some(1), Some(10)]])), cx).unwrap();
            let input = || ints(2, &[&[Some(1), Some(11)], &[Some(2), Some(20)]]);
            let (out, n) = run_dml(&upsert(&t, input(), OnConflictAction::Nothing), cx).unwrap();
            assert_eq!((out, n), (rows(&[&[Some(2), Some(20)]]), 1));
            // DO UPDATE SET b = excluded.b (column 1 of the proposed row = 3).
            let update = OnConflictAction::Update { assignments: vec![(1, col(3))], predicate: None };
            let (out, n) = run_dml(&upsert(&t, input(), update.clone()), cx).unwrap();
            assert_eq!((out, n), (rows(&[&[Some(1), Some(11)], &[Some(2), Some(20)]]), 2));
            // A false WHERE skips the update.
            let skip =
                OnConflictAction::Update { assignments: vec![(1, col(3))], predicate: Some(lit(Value::Bool(false))) };
            assert_eq!(run_dml(&upsert(&t, input(), skip), cx).unwrap().1, 0);
            // The same key proposed twice.
            let twice = ints(2, &[&[Some(5), Some(1)], &[Some(5), Some(2)]]);
            let err = run_dml(&upsert(&t, twice, update), cx).unwrap_err();
            assert_eq!(err.state.code(), "21000");
            assert_eq!(err.message, "ON CONFLICT DO UPDATE command cannot affect row a second time");
        });
    }
}
