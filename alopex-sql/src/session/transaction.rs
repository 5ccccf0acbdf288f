//! Explicit transactions in the embedded API, and savepoints.
//!
//! A savepoint is a name on a stack of storage marks
//! ([`alopex_core::Savepoint`]): `ROLLBACK TO s` asks the key-value
//! transaction to undo the writes made since `s`'s mark, which undoes rows,
//! index entries and catalog changes alike, since all of them are writes of
//! the one transaction. The session adds PostgreSQL's rules on top:
//!
//! * savepoints exist only inside `BEGIN … COMMIT`; outside one, each
//!   statement is 25P01 (an error in PostgreSQL too, not a warning);
//! * names may repeat, and the newest savepoint of a name wins;
//! * `ROLLBACK TO s` keeps `s`, discards the savepoints after it, and
//!   leaves a failed transaction usable again (this is how drivers recover
//!   from an error without losing the whole transaction: psycopg's nested
//!   `conn.transaction()` blocks and SQLAlchemy's `begin_nested()`);
//! * `RELEASE s` discards `s` and the savepoints after it, keeping their
//!   writes; in a failed transaction it is 25P02 like any other statement;
//! * an unknown name is 3B001, which (as every error) fails the
//!   transaction.
//!
//! The row-count deltas kept for the statistics are saved with each
//! savepoint and restored with it, so undone inserts are not counted.

use std::collections::BTreeMap;

use alopex_core::IsolationLevel;

use super::{Rows, Session};
use crate::error::Result;
use crate::sql_err;
use crate::types::Value;

/// One open savepoint of a session's transaction.
pub(crate) struct SavepointEntry {
    name: String,
    mark: alopex_core::Savepoint,
    row_deltas: BTreeMap<u64, i64>,
}

impl Session {
    /// `SAVEPOINT name`.
    pub(crate) fn savepoint(&mut self, name: &str) -> Result<()> {
        let t = self.in_block("SAVEPOINT")?;
        let mark = t.txn.savepoint()?;
        t.savepoints.push(SavepointEntry { name: name.to_string(), mark, row_deltas: t.row_deltas.clone() });
        Ok(())
    }

    /// `ROLLBACK TO [SAVEPOINT] name`.
    pub(crate) fn rollback_to_savepoint(&mut self, name: &str) -> Result<()> {
        let t = self.in_block("ROLLBACK TO SAVEPOINT")?;
        let i = find(&t.savepoints, name)?;
        let entry = &t.savepoints[i];
        t.txn.rollback_to_savepoint(entry.mark)?;
        t.row_deltas = entry.row_deltas.clone();
        t.savepoints.truncate(i + 1);
        t.failed = false;
        Ok(())
    }

    /// `RELEASE [SAVEPOINT] name`.
    pub(crate) fn release_savepoint(&mut self, name: &str) -> Result<()> {
        let t = self.in_block("RELEASE SAVEPOINT")?;
        let i = find(&t.savepoints, name)?;
        t.txn.release_savepoint(t.savepoints[i].mark)?;
        t.savepoints.truncate(i);
        Ok(())
    }

    /// The open explicit transaction, or 25P01 naming `what`.
    fn in_block(&mut self, what: &str) -> Result<&mut super::OpenTxn> {
        let t = self.open()?;
        if !t.explicit {
            return Err(sql_err!(NO_ACTIVE_SQL_TRANSACTION, "{what} can only be used in transaction blocks"));
        }
        Ok(t)
    }
}

/// The newest savepoint called `name`, or 3B001.
fn find(savepoints: &[SavepointEntry], name: &str) -> Result<usize> {
    savepoints
        .iter()
        .rposition(|s| s.name == name)
        .ok_or_else(|| sql_err!(INVALID_SAVEPOINT_SPECIFICATION, "savepoint \"{name}\" does not exist"))
}

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
