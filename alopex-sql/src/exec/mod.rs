//! The Volcano executor.
//!
//! OWNER: executor helper. Each operator is an [`Executor`]: `next` pulls one
//! row from its inputs and returns it, so a `LIMIT 1` stops the whole tree
//! early and results stream to the caller. Operators get everything they
//! need (the transaction, parameters, the statement time, subquery caches)
//! from the [`ExecContext`] passed into every call, so the tree itself owns
//! no borrowed state and a result cursor can outlive the call that opened it.

use std::sync::Arc;
use std::time::Duration;

use alopex_core::KvTxn;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::error::Result;
use crate::plan::Node;
use crate::table::RowIdSource;
use crate::types::{Row, Value};

/// One operator.
pub trait Executor: Send {
    /// The next row, or None when done.
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>>;

    /// Rows inserted, updated or deleted (DML operators; 0 otherwise).
    fn affected_rows(&self) -> u64 {
        0
    }
}

/// What operators need while running.
pub struct ExecContext<'a> {
    /// The transaction every read and write goes through.
    pub txn: &'a mut dyn KvTxn,
    /// Statement parameters.
    pub params: &'a [Value],
    /// The statement timestamp.
    pub now: DateTime<Utc>,
    /// Row ids for tables without a primary key.
    pub row_ids: &'a dyn RowIdSource,
    // The executor helper adds private state (outer-row stack, subquery
    // caches) behind this field.
    #[doc(hidden)]
    pub state: ExecState,
}

/// Executor-private state carried by the context.
#[derive(Default)]
pub struct ExecState {
    _private: (),
}

impl<'a> ExecContext<'a> {
    /// A context for one statement.
    pub fn new(
        txn: &'a mut dyn KvTxn,
        params: &'a [Value],
        now: DateTime<Utc>,
        row_ids: &'a dyn RowIdSource,
    ) -> ExecContext<'a> {
        ExecContext { txn, params, now, row_ids, state: ExecState::default() }
    }
}

/// Per-operator counters for EXPLAIN ANALYZE, indexed by the node's
/// position in a pre-order walk of the plan (root = 0).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStats {
    /// Rows returned.
    pub rows: u64,
    /// Times the operator was (re)opened (inner sides of nested loops,
    /// correlated subqueries).
    pub loops: u64,
    /// Time spent in `next`, children included.
    pub elapsed: Duration,
}

/// Shared EXPLAIN ANALYZE counters.
pub type StatsHandle = Arc<Mutex<Vec<NodeStats>>>;

/// Builds the operator tree for a plan. With `stats`, every operator counts
/// its rows and time into it.
pub fn build(node: &Node, stats: Option<StatsHandle>) -> Result<Box<dyn Executor>> {
    let _ = (node, stats);
    todo!("executor helper")
}
