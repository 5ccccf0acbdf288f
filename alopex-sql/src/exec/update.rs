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
