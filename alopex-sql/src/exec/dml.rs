//! What INSERT, UPDATE and DELETE share: coercing values into columns,
//! the NOT NULL and CHECK constraints, row identity, and the shape of a
//! DML operator's run.
//!
//! Every DML operator does all of its work on the first `next` ([`DmlRun`]):
//! it drains its input into a buffer first, because the transaction reads
//! its own writes and an UPDATE that read rows while rewriting them could
//! meet its own new rows again (the Halloween problem); then it writes
//! row by row, collecting RETURNING rows, which it then streams. Doing all
//! the writes at once also means the statement's effect does not depend on
//! how far a client reads the RETURNING rows.
//!
//! Constraints are checked in PostgreSQL's order: NOT NULL first, then
//! CHECK constraints (a NULL result passes), before the storage layer
//! checks uniqueness.

use std::sync::Arc;
use std::vec::IntoIter;

use super::{ExecContext, Executor, drain, eval_expr, eval_row, has_exact_type};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::expr::cast::assign;
use crate::sql_err;
use crate::types::{Row, Value};

/// Coerces `value` into column `column` of `table` (an assignment cast).
pub(super) fn coerce(table: &TableSchema, column: usize, value: Value) -> Result<Value> {
    let Some(col) = table.columns.get(column) else {
        return Err(Error::internal(format!("column {column} out of range in table \"{}\"", table.name)));
    };
    if value.is_null() || has_exact_type(&value, &col.ty) { Ok(value) } else { assign(&value, &col.ty) }
}

/// Checks that `row` has the table's width.
pub(super) fn check_width(table: &TableSchema, row: &Row) -> Result<()> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!(
            "{}-value row for the {} columns of table \"{}\"",
            row.len(),
            table.columns.len(),
            table.name
        )));
    }
    Ok(())
}

/// The NOT NULL and CHECK constraints on a new row.
pub(super) fn check_constraints(
    table: &TableSchema,
    checks: &[(String, Expr)],
    row: &Row,
    cx: &mut ExecContext<'_>,
) -> Result<()> {
    for (col, value) in table.columns.iter().zip(row) {
        if !col.nullable && value.is_null() {
            return Err(sql_err!(
                NOT_NULL_VIOLATION,
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                col.name,
                table.name
            ));
        }
    }
    for (name, predicate) in checks {
        if let Value::Bool(false) = eval_expr(predicate, row, cx)? {
            return Err(sql_err!(
                CHECK_VIOLATION,
                "new row for relation \"{}\" violates check constraint \"{}\"",
                table.name,
                name
            ));
        }
    }
    Ok(())
}

/// The primary-key values of a full row: its identity within the table.
pub(super) fn primary_key(table: &TableSchema, row: &Row) -> Vec<Value> {
    table.primary_key.iter().map(|&p| row.get(p).cloned().unwrap_or(Value::Null)).collect()
}

/// The statement-specific part of a DML operator.
pub(super) trait DmlWrite: Send {
    /// Writes one input row; returns the row RETURNING is computed over,
    /// if the row was written.
    fn write(&mut self, row: Row, cx: &mut ExecContext<'_>) -> Result<Option<Row>>;
}

/// Runs a [`DmlWrite`] over a fully buffered input and streams RETURNING.
pub(super) struct DmlRun<W> {
    input: Option<Box<dyn Executor>>,
    returning: Option<Vec<Expr>>,
    write: W,
    output: IntoIter<Row>,
    affected: u64,
}

impl<W: DmlWrite> DmlRun<W> {
    /// Writes every row of `input` with `write`.
    pub(super) fn new(input: Box<dyn Executor>, returning: Option<Vec<Expr>>, write: W) -> DmlRun<W> {
        DmlRun { input: Some(input), returning, write, output: Vec::new().into_iter(), affected: 0 }
    }

    fn run(&mut self, mut input: Box<dyn Executor>, cx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let rows = drain(input.as_mut(), cx)?;
        drop(input);
        let mut output = Vec::new();
        for row in rows {
            let Some(written) = self.write.write(row, cx)? else { continue };
            self.affected += 1;
            if let Some(returning) = &self.returning {
                output.push(eval_row(returning, &written, cx)?);
            }
        }
        Ok(output)
    }
}

impl<W: DmlWrite> Executor for DmlRun<W> {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(input) = self.input.take() {
            self.output = self.run(input, cx)?.into_iter();
        }
        Ok(self.output.next())
    }

    fn affected_rows(&self) -> u64 {
        self.affected
    }
}

/// A shared table handle, for the DML writers.
pub(super) type Table = Arc<TableSchema>;
