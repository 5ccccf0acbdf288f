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

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, rows, run_dml, run_in, scan_all, table, with_cx};
    use crate::plan::Node;

    #[test]
    fn deletes_and_returns() {
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
            let delete =
                Node::Delete { table: t.clone(), input: Box::new(scan_all(&t)), returning: Some(vec![col(1)]) };
            assert_eq!(run_dml(&delete, cx).unwrap(), (rows(&[&[Some(10)], &[Some(20)]]), 2));
            assert!(run_in(&scan_all(&t), cx).unwrap().is_empty());
            let delete = Node::Delete { table: t.clone(), input: Box::new(scan_all(&t)), returning: None };
            assert_eq!(run_dml(&delete, cx).unwrap(), (vec![], 0));
        });
    }
}
