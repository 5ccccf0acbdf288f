//! Explicit transactions in the embedded API.

use alopex_core::IsolationLevel;

use super::{Rows, Session};
use crate::error::Result;
use crate::sql_err;
use crate::types::Value;

/// An explicit transaction: `let tx = db.begin()?; tx.execute(…)?; tx.commit()?`.
///
/// Statements see the transaction's snapshot and its own writes. After a
/// statement fails, the transaction only accepts [`Transaction::rollback`]
/// (PostgreSQL's rule). Dropping it without committing rolls it back.
pub struct Transaction {
    session: Session,
    finished: bool,
}

impl Transaction {
    pub(crate) fn begin(mut session: Session, isolation: Option<IsolationLevel>) -> Result<Transaction> {
        session.begin_txn(true, isolation)?;
        Ok(Transaction { session, finished: false })
    }

    /// Runs statements; returns the rows affected by the last.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.session.execute(sql, params)
    }

    /// Runs one query and streams its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<'_>> {
        self.session.query(sql, params)
    }

    /// Commits. A serialization failure is SQLSTATE 40001: retry the whole
    /// transaction.
    pub fn commit(mut self) -> Result<()> {
        self.finished = true;
        let Some(mut t) = self.session.txn.take() else {
            return Err(sql_err!(NO_ACTIVE_SQL_TRANSACTION, "the transaction already ended"));
        };
        if t.failed {
            let _ = t.txn.rollback();
            return Err(sql_err!(
                IN_FAILED_SQL_TRANSACTION,
                "the transaction was aborted by an earlier error and has been rolled back"
            ));
        }
        self.session.finish(t)
    }

    /// Rolls back.
    pub fn rollback(mut self) -> Result<()> {
        self.finished = true;
        match self.session.txn.take() {
            Some(mut t) => Ok(t.txn.rollback()?),
            None => Ok(()),
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if !self.finished
            && let Some(mut t) = self.session.txn.take()
        {
            let _ = t.txn.rollback();
        }
    }
}
