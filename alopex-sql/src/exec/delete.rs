//! DELETE.
//!
//! The input yields the full rows to delete; [`delete`] removes each row
//! and its index entries. A row the input yields twice is deleted once.

use std::collections::HashSet;

use super::ExecContext;
use super::Executor;
use super::dml::{DmlRun, DmlWrite, Table, check_width, primary_key};
use crate::error::Result;
use crate::expr::Expr;
use crate::table::delete;
use crate::types::{Row, Value};

/// Deletes rows.
pub(super) struct DeleteWriter {
    table: Table,
    /// Primary keys of the rows already deleted.
    seen: HashSet<Vec<Value>>,
}

/// The DELETE operator over `input`.
pub(super) fn build(table: Table, input: Box<dyn Executor>, returning: Option<Vec<Expr>>) -> DmlRun<DeleteWriter> {
    DmlRun::new(input, returning, DeleteWriter { table, seen: HashSet::new() })
}

impl DmlWrite for DeleteWriter {
    fn write(&mut self, row: Row, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        check_width(&self.table, &row)?;
        if !self.seen.insert(primary_key(&self.table, &row)) {
            return Ok(None);
        }
        delete(&mut *cx.txn, &self.table, &row)?;
        Ok(Some(row))
    }
}
