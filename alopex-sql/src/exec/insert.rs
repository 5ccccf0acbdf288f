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
