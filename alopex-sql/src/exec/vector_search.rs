//! Nearest-neighbour reads through an HNSW index ([`Node::VectorSearch`]).
//!
//! On its first `next` the operator evaluates the query vector, LIMIT and
//! OFFSET, asks the table layer for the `limit + offset` nearest rows that
//! pass the filter (`table::nearest_rows`, which walks the engine's
//! per-SSTable graphs and scores fresh data exactly), and returns them. The
//! sort or top-N above it orders them by the distance it computes, so the
//! operator only has to deliver the right set.
//!
//! Whenever the index cannot answer exactly what the query asks, the
//! operator reads the table instead (a filtered full scan; the top-N above
//! still returns the right rows), so results never depend on the plan:
//! a NULL query vector (every distance is NULL), one of another dimension
//! or with non-finite elements (the distance operator raises the error),
//! `LIMIT NULL` or `LIMIT ALL` (no bound), or a bound above
//! [`MAX_GRAPH_K`].
//!
//! The filter runs inside the walk, without the executor's context (the
//! transaction is busy searching), so it is evaluated in a detached
//! environment with the statement's parameters, clock and outer rows; the
//! planner never puts a subquery into it.
//!
//! [`Node::VectorSearch`]: crate::plan::Node::VectorSearch

use std::cell::RefCell;
use std::sync::Arc;
use std::vec::IntoIter;

use chrono::{DateTime, Utc};

use super::demand::{Demand, scan_columns};
use super::scan::ScanExec;
use super::subquery::{outer_value, param_value};
use super::{ExecContext, Executor, eval_expr};
use crate::catalog::{IndexKind, TableSchema};
use crate::error::{Error, Result};
use crate::expr::{EvalEnv, Expr, Subquery, ValueSet};
use crate::plan::ScanRange;
use crate::table::{NearestRows, nearest_rows};
use crate::types::{Row, Value};

/// The largest `limit + offset` served by the graph; above it the table is
/// scanned (a graph walk with a candidate list that long is no faster).
pub const MAX_GRAPH_K: i64 = 10_000;

/// pgvector's default `hnsw.ef_search`.
pub const DEFAULT_EF_SEARCH: usize = 40;

enum State {
    /// Not opened yet.
    Unopened,
    /// Rows found through the index.
    Found(IntoIter<Row>),
    /// The index cannot answer: a filtered scan of the table.
    Scan(Box<ScanExec>),
}

/// See the module documentation.
pub(super) struct VectorSearchExec {
    table: Arc<TableSchema>,
    index: usize,
    query: Expr,
    limit: Expr,
    offset: Option<Expr>,
    filter: Option<Expr>,
    columns: Demand,
    state: State,
}

impl VectorSearchExec {
    pub(super) fn new(
        table: Arc<TableSchema>,
        index: usize,
        (query, limit, offset): (Expr, Expr, Option<Expr>),
        filter: Option<Expr>,
        demand: &Demand,
    ) -> VectorSearchExec {
        let columns = scan_columns(table.columns.len(), demand, filter.as_ref());
        VectorSearchExec { table, index, query, limit, offset, filter, columns, state: State::Unopened }
    }

    /// The query vector and `k` when the index can answer, else None.
    fn graph_request(&self, cx: &mut ExecContext<'_>) -> Result<Option<(Arc<[f32]>, usize)>> {
        let dim = match self.table.indexes.get(self.index).map(|i| i.kind) {
            Some(IndexKind::Hnsw(h)) => h.dim as usize,
            _ => {
                return Err(Error::internal(format!("vector search over a non-hnsw index of \"{}\"", self.table.name)));
            }
        };
        let Value::Vector(query) = eval_expr(&self.query, &[], cx)? else { return Ok(None) };
        if query.len() != dim || query.iter().any(|x| !x.is_finite()) {
            return Ok(None);
        }
        let Value::Int(limit) = eval_expr(&self.limit, &[], cx)? else { return Ok(None) };
        let offset = match &self.offset {
            None => 0,
            Some(e) => match eval_expr(e, &[], cx)? {
                Value::Int(o) => o,
                Value::Null => 0,
                _ => return Ok(None),
            },
        };
        let k = limit.checked_add(offset).filter(|k| (0..=MAX_GRAPH_K).contains(k) && limit >= 0 && offset >= 0);
        Ok(k.map(|k| (query, k as usize)))
    }

    fn open(&self, cx: &mut ExecContext<'_>) -> Result<State> {
        let Some((query, k)) = self.graph_request(cx)? else {
            let scan = ScanExec::primary(self.table.clone(), ScanRange::Full, false, self.filter.clone())
                .eager(true)
                .columns(self.columns.clone());
            return Ok(State::Scan(Box::new(scan)));
        };
        let ef_search = match cx.state.ef_search {
            0 => DEFAULT_EF_SEARCH,
            n => n,
        };
        let env = RefCell::new(Detached { params: cx.params, now: cx.now, outer: cx.state.outer.clone() });
        let predicate = |row: &Row| -> Result<bool> {
            let filter = self.filter.as_ref().ok_or_else(|| Error::internal("no filter"))?;
            let mut env = env.borrow_mut();
            Ok(matches!(crate::expr::eval(filter, row, &mut *env)?, Value::Bool(true)))
        };
        let filter_columns = self.filter.as_ref().and_then(|f| {
            let none: Demand = Some(vec![false; self.table.columns.len()].into());
            scan_columns(self.table.columns.len(), &none, Some(f))
        });
        let request = NearestRows {
            table: &self.table,
            index: self.index,
            query: &query,
            k,
            ef_search,
            filter: self.filter.as_ref().map(|_| &predicate as &dyn Fn(&Row) -> Result<bool>),
            filter_columns: filter_columns.as_deref(),
            columns: self.columns.as_deref(),
        };
        Ok(State::Found(nearest_rows(&mut *cx.txn, &request)?.into_iter()))
    }
}

impl Executor for VectorSearchExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let State::Unopened = self.state {
            self.state = self.open(cx)?;
        }
        match &mut self.state {
            State::Found(rows) => Ok(rows.next()),
            State::Scan(scan) => scan.next(cx),
            State::Unopened => Ok(None),
        }
    }
}

/// The evaluation environment of a filter run inside the graph walk.
struct Detached<'a> {
    params: &'a [Value],
    now: DateTime<Utc>,
    outer: Vec<Row>,
}

impl EvalEnv for Detached<'_> {
    fn param(&self, index: usize) -> Result<Value> {
        param_value(self.params, index)
    }

    fn outer(&self, depth: usize, index: usize) -> Result<Value> {
        outer_value(&self.outer, depth, index)
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn scalar_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Value> {
        Err(no_subqueries())
    }

    fn exists_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<bool> {
        Err(no_subqueries())
    }

    fn subquery_values(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Arc<Vec<Value>>> {
        Err(no_subqueries())
    }

    fn subquery_set(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Option<Arc<ValueSet>>> {
        Err(no_subqueries())
    }
}

fn no_subqueries() -> Error {
    Error::internal("a subquery in the filter of a vector search (the planner keeps them out)")
}
