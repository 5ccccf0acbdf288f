//! [`Session::insert_batch`]: many rows through one planned INSERT.
//!
//! Bulk loaders (`COPY … FROM STDIN` over the wire, `alopex import`) hand
//! the session batches of rows for one `INSERT … VALUES ($1, …)`. The
//! statement is parsed, bound and optimized once per batch (from the plan
//! cache), taken apart by [`crate::exec::BulkInsert`], and every row of the
//! batch is evaluated and written straight into the session's transaction:
//! no executor tree, no result, no command tag per row. Everything a row
//! goes through in an INSERT still happens (parameter casts, defaults,
//! NOT NULL, CHECK, unique keys, indexes), in the same order, with the same
//! errors.
//!
//! A batch is one statement: it runs in the open transaction (or in one of
//! its own, committed at the end), and an error anywhere in it fails the
//! statement the usual way (an explicit transaction becomes failed, an
//! autocommit one rolls back). The error says which row of the batch
//! failed ([`BatchError::row`]) so a loader can name the input line. The
//! batch is the caller's memory bound: this function holds one batch, the
//! transaction holds the rows written so far.
//!
//! Plans that cannot be taken apart (an INSERT … SELECT, RETURNING) run
//! once per row through the ordinary path, with the same contract.

use std::sync::Arc;

use super::{Parsed, Session, StatementOutcome, cast_params, is_rollback};
use crate::database::RowIdAllocator;
use crate::error::Error;
use crate::exec::{BulkInsert, ExecContext, ExecState};
use crate::plan::Node;
use crate::sql_err;
use crate::types::Value;

/// A batch that failed: which row (0-based, within the batch) and why.
/// `row` is `None` when the statement failed before any row (a parse or
/// bind error, an aborted transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchError {
    /// The failing row's index in the batch.
    pub row: Option<usize>,
    /// The error, as the row's INSERT would have reported it.
    pub error: Error,
}

fn before_rows(error: Error) -> BatchError {
    BatchError { row: None, error }
}

impl Session {
    /// Runs `sql`, one `INSERT … VALUES ($1, …)`, once for each parameter
    /// row of `rows` (text values are cast like parameters), as one
    /// statement of the session's transaction. Returns the rows written.
    /// See the module documentation.
    pub fn insert_batch(&mut self, sql: &str, rows: Vec<Vec<Value>>) -> std::result::Result<u64, BatchError> {
        let parsed = self.db.shared.plans.parse(sql).map_err(before_rows)?;
        if parsed.len() != 1 {
            return Err(before_rows(sql_err!(SYNTAX_ERROR, "a batch insert takes exactly one statement")));
        }
        if let Some(t) = &self.txn
            && t.explicit
            && t.failed
            && !is_rollback(&parsed[0])
        {
            return Err(before_rows(sql_err!(
                IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block"
            )));
        }
        let autocommit = self.txn.is_none();
        if autocommit {
            self.begin_txn(false, None).map_err(before_rows)?;
        }
        match self.insert_batch_in_txn(&parsed, rows) {
            Ok(n) => {
                if autocommit && let Some(t) = self.txn.take() {
                    self.finish(t).map_err(before_rows)?;
                }
                Ok(n)
            }
            Err(mut e) => {
                self.fail(autocommit);
                e.error = e.error.resolve_position(&parsed.sql);
                Err(e)
            }
        }
    }

    fn insert_batch_in_txn(
        &mut self,
        parsed: &Arc<Parsed>,
        rows: Vec<Vec<Value>>,
    ) -> std::result::Result<u64, BatchError> {
        let width = rows.first().map_or(0, Vec::len);
        let placeholders = vec![Value::Null; width];
        let plan = match self.statement_in_txn(parsed, 0, &placeholders).map_err(before_rows)? {
            StatementOutcome::Rows(plan, _, _) if matches!(plan.root, Node::Insert { .. }) => plan,
            _ => {
                return Err(before_rows(sql_err!(FEATURE_NOT_SUPPORTED, "a batch insert takes an INSERT statement")));
            }
        };
        let Some(mut bulk) = BulkInsert::new(&plan.root) else {
            return self.insert_rows_one_by_one(parsed, rows);
        };
        let shared = self.db.shared.clone();
        let now = (shared.clock)();
        let row_ids = RowIdAllocator { db: &shared };
        let interrupt = self.interrupt.clone();
        let mut state = ExecState::with_interrupt(interrupt.clone())
            .with_ef_search(self.ef_search())
            .with_sequences(self.seq_access());
        let t = self.open().map_err(before_rows)?;
        let mut written = 0u64;
        for (i, row) in rows.into_iter().enumerate() {
            let at = |error: Error| BatchError { row: Some(i), error };
            interrupt.check().map_err(at)?;
            if row.len() != plan.param_types.len() {
                return Err(at(sql_err!(
                    PROTOCOL_VIOLATION,
                    "bind message supplies {} parameters, but prepared statement requires {}",
                    row.len(),
                    plan.param_types.len()
                )));
            }
            let params = cast_params(&plan, &row).map_err(at)?;
            let mut cx = ExecContext { txn: &mut *t.txn, params: &params, now, row_ids: &row_ids, state };
            let inserted = bulk.insert(&mut cx);
            state = cx.state;
            if inserted.map_err(at)? {
                written += 1;
            }
        }
        *t.row_deltas.entry(bulk.table_id()).or_default() += written as i64;
        Ok(written)
    }

    /// Marks the open transaction block failed, as a failed statement
    /// does: for a bulk loader's own errors (malformed COPY data), so the
    /// client's transaction is aborted (25P02 until ROLLBACK) whichever
    /// part of the load failed. No effect outside a transaction block.
    pub fn fail_transaction(&mut self) {
        if let Some(t) = &mut self.txn
            && t.explicit
        {
            t.failed = true;
        }
    }

    /// The fallback: each row through the ordinary statement path.
    fn insert_rows_one_by_one(
        &mut self,
        parsed: &Arc<Parsed>,
        rows: Vec<Vec<Value>>,
    ) -> std::result::Result<u64, BatchError> {
        let mut written = 0;
        for (i, row) in rows.into_iter().enumerate() {
            let at = |error: Error| BatchError { row: Some(i), error };
            let result = self.statement(parsed, 0, &row).and_then(|r| r.into_result()).map_err(at)?;
            written += affected_of(&result);
        }
        Ok(written)
    }
}

fn affected_of(result: &super::StatementResult) -> u64 {
    match result {
        super::StatementResult::Rows { rows, .. } => rows.len() as u64,
        super::StatementResult::Command { affected, .. } => *affected,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Database, TxnStatus, Value};

    fn text(s: &str) -> Value {
        Value::text(s)
    }

    #[test]
    fn batches_insert_with_defaults_constraints_and_row_numbers() {
        let db = Database::open_in_memory();
        let mut s = db.session();
        s.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL, n INT DEFAULT 7 CHECK (n > 0))", &[])
            .unwrap();
        let sql = "INSERT INTO t (id, name) VALUES ($1, $2)";
        let rows = vec![vec![text("1"), text("a")], vec![text("2"), text("b")]];
        assert_eq!(s.insert_batch(sql, rows).unwrap(), 2);
        let got = s.run("SELECT id, name, n FROM t ORDER BY id", &[]).unwrap();
        assert_eq!(format!("{got:?}").matches("Int(7)").count(), 2, "{got:?}");

        // A failing batch in an explicit transaction: the row is named,
        // the transaction fails, nothing of it survives the rollback.
        s.execute("BEGIN", &[]).unwrap();
        let rows = vec![vec![text("3"), text("c")], vec![text("4"), Value::Null], vec![text("5"), text("e")]];
        let e = s.insert_batch(sql, rows).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (Some(1), "23502"));
        assert_eq!(s.status(), TxnStatus::Failed);
        let e = s.insert_batch(sql, vec![vec![text("6"), text("f")]]).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (None, "25P02"));
        s.execute("ROLLBACK", &[]).unwrap();

        // Bad input text, a duplicate key and a CHECK, each at its row.
        let e = s.insert_batch(sql, vec![vec![text("3"), text("c")], vec![text("x"), text("d")]]).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (Some(1), "22P02"));
        let e = s.insert_batch(sql, vec![vec![text("1"), text("dup")]]).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (Some(0), "23505"));
        let with_n = "INSERT INTO t VALUES ($1, $2, $3)";
        let e = s.insert_batch(with_n, vec![vec![text("9"), text("i"), text("0")]]).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (Some(0), "23514"));
        let count = s.run("SELECT count(*) FROM t", &[]).unwrap();
        assert!(format!("{count:?}").contains("Int(2)"), "autocommit batches that failed left nothing: {count:?}");
    }

    #[test]
    fn other_plans_run_row_by_row_and_rows_feed_the_statistics() {
        let db = Database::open_in_memory();
        let mut s = db.session();
        s.execute("CREATE TABLE t (a INT, b TEXT)", &[]).unwrap();
        let rows: Vec<Vec<Value>> = (0..1000).map(|i| vec![text(&i.to_string()), text("x")]).collect();
        assert_eq!(s.insert_batch("INSERT INTO t VALUES ($1, $2)", rows).unwrap(), 1000);
        let returning = "INSERT INTO t VALUES ($1, $2) RETURNING a";
        assert_eq!(s.insert_batch(returning, vec![vec![text("5"), text("y")]]).unwrap(), 1);
        let count = s.run("SELECT count(*) FROM t", &[]).unwrap();
        assert!(format!("{count:?}").contains("Int(1001)"), "{count:?}");
        let e = s.insert_batch("SELECT 1", vec![]).unwrap_err();
        assert_eq!((e.row, e.error.state.code()), (None, "0A000"));
    }
}
