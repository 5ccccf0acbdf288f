//! Bulk INSERT: one planned `INSERT … VALUES ($1, …)` run for many rows.
//!
//! `COPY … FROM STDIN` and `alopex import` load rows that all go through
//! the same statement with different parameters. Running that statement
//! once per row pays, per row, for what does not change between rows: the
//! plan-cache lookup, the catalog check, building an executor tree,
//! draining a one-row `Values` into a buffer (the DML operator reads its
//! whole input first, for the Halloween problem) and the command tag. At a
//! million rows that overhead is most of the load.
//!
//! [`BulkInsert`] takes the bound plan apart once: the target table, its
//! CHECK constraints and the row template (the `VALUES` row of parameters
//! and the projection that lays it out as a full table row, filling in
//! omitted columns' defaults, hidden row ids and casts). Each input row is
//! then evaluated with its own parameters and handed to the same
//! [`InsertWriter`] an ordinary INSERT uses, so coercion, NOT NULL, CHECK,
//! UNIQUE/primary-key conflicts and index maintenance are exactly
//! INSERT's, in PostgreSQL's order. A bulk source never reads the target
//! table, so there is no Halloween problem and rows are written as they
//! come. A plan of any other shape (an INSERT … SELECT, RETURNING) is not
//! taken apart: [`BulkInsert::new`] answers `None` and the caller runs the
//! statement per row.

use super::dml::DmlWrite;
use super::insert::{InsertWriter, writer};
use super::{ExecContext, eval_row};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;

/// A one-row INSERT plan ready to run once per parameter row.
pub(crate) struct BulkInsert {
    writer: InsertWriter,
    /// The `VALUES` row: expressions over the parameters.
    values: Vec<Expr>,
    /// The projection of the `VALUES` row onto the table's columns, when
    /// the plan has one.
    project: Option<Vec<Expr>>,
    table_id: u64,
}

impl BulkInsert {
    /// Takes apart `root`, a bound and optimized plan of a one-row
    /// `INSERT … VALUES (…)` without RETURNING; `None` for any other plan.
    pub(crate) fn new(root: &Node) -> Option<BulkInsert> {
        let Node::Insert { table, input, on_conflict, checks, returning: None } = root else {
            return None;
        };
        let (values, project) = match &**input {
            Node::Values { rows, width } if rows.len() == 1 && rows[0].len() == *width => (rows[0].clone(), None),
            Node::Project { input, exprs } => match &**input {
                Node::Values { rows, width } if rows.len() == 1 && rows[0].len() == *width => {
                    (rows[0].clone(), Some(exprs.clone()))
                }
                _ => return None,
            },
            _ => return None,
        };
        Some(BulkInsert {
            writer: writer(table.clone(), on_conflict.clone(), checks.clone()),
            values,
            project,
            table_id: table.id,
        })
    }

    /// The target table's id.
    pub(crate) fn table_id(&self) -> u64 {
        self.table_id
    }

    /// Evaluates the row template with `cx.params` (this row's parameters,
    /// already cast to the plan's parameter types) and inserts the row.
    /// Returns whether a row was written (ON CONFLICT DO NOTHING may skip).
    pub(crate) fn insert(&mut self, cx: &mut ExecContext<'_>) -> Result<bool> {
        let row = eval_row(&self.values, &[], cx)?;
        let row = match &self.project {
            Some(exprs) => eval_row(exprs, &row, cx)?,
            None => row,
        };
        Ok(self.writer.write(row, cx)?.is_some())
    }
}
