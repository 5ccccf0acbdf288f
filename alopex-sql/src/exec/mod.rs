//! The Volcano executor.
//!
//! Each operator is an [`Executor`]: `next` pulls one row from its inputs
//! and returns it, so a `LIMIT 1` stops the whole tree early and results
//! stream to the caller. Operators get everything they need (the
//! transaction, parameters, the statement time, subquery caches) from the
//! [`ExecContext`] passed into every call, so the tree itself owns no
//! borrowed state and a result cursor can outlive the call that opened it.
//!
//! The plan is data ([`Node`]); [`build`] turns each node into one boxed
//! operator, one operator per file. Operators are *lazy*: building does no
//! work and evaluates nothing, and the first `next` "opens" the operator
//! (evaluates its LIMIT, reads the build side of a join, drains a sort's
//! input). That keeps building cheap enough to rebuild a correlated
//! subquery's tree for every outer row instead of teaching every operator
//! to rewind.
//!
//! Expressions are evaluated by `crate::expr::eval` with the context as
//! the `EvalEnv` (see `subquery.rs`): parameters,
//! the outer-row stack of correlated subqueries, the statement time, and
//! the subquery runner with its per-statement caches. The two most common
//! expressions, a column reference and a literal, take a shortcut here
//! (`eval_expr`) because a projection or a join key is usually nothing
//! else.
//!
//! DML operators do all their writes on the first `next`, after draining
//! their input completely (the Halloween problem: the transaction reads its
//! own writes, so an UPDATE reading the rows it is rewriting could see them
//! again). They then stream their RETURNING rows, and report how many rows
//! they changed through [`Executor::affected_rows`].
//!
//! EXPLAIN ANALYZE wraps every operator in a counter (`analyze.rs`) that
//! records into [`NodeStats`] at the node's pre-order position.

mod aggregate;
mod analyze;
mod bulk_insert;
mod delete;
mod demand;
mod distinct;
mod dml;
mod filter;
mod hash_join;
mod insert;
mod insert_values;
mod join;
mod limit;
mod lookup_join;
mod nested_loop;
mod project;
mod scan;
mod scan_range;
mod set_op;
mod sort;
mod subquery;
mod table_function;
mod topn;
mod update;
mod values;
mod vector_search;

#[cfg(test)]
mod test_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alopex_core::KvTxn;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::expr::{EvalEnv, Expr};
use crate::interrupt::Interrupt;
use crate::plan::Node;
use crate::table::RowIdSource;
use crate::types::{DataType, Row, Value};
use demand::Demand;

pub(crate) use bulk_insert::BulkInsert;

/// One operator.
pub trait Executor: Send {
    /// The next row, or None when done.
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>>;

    /// Rows inserted, updated or deleted so far (DML operators; 0 for the
    /// others). Read it after draining the operator.
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
    /// The current rows of the enclosing queries of the subquery being run;
    /// the last one is depth 0.
    outer: Vec<Row>,
    /// Results of uncorrelated subqueries, by [`crate::expr::Subquery::id`].
    subquery_cache: HashMap<usize, subquery::Cached>,
    /// The session's cancellation flag, polled where rows are produced.
    interrupt: Interrupt,
    /// The session's `hnsw.ef_search` (0 = the default, 40).
    pub(crate) ef_search: usize,
    /// The database and session behind `nextval` and friends (None: the
    /// sequence functions are refused).
    pub(crate) sequences: Option<crate::sequence::SeqAccess>,
}

impl ExecState {
    /// Fresh state for a statement that stops when `interrupt` is triggered.
    pub fn with_interrupt(interrupt: Interrupt) -> ExecState {
        ExecState { interrupt, ..ExecState::default() }
    }

    /// The same, searching HNSW indexes with this `hnsw.ef_search`.
    pub(crate) fn with_ef_search(mut self, ef_search: usize) -> ExecState {
        self.ef_search = ef_search;
        self
    }

    /// The same, able to run sequence functions.
    pub(crate) fn with_sequences(mut self, access: crate::sequence::SeqAccess) -> ExecState {
        self.sequences = Some(access);
        self
    }
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

    /// Fails with 57014 once the statement has been asked to stop (see
    /// [`crate::interrupt`]). Operators that produce rows call it per row.
    pub fn check_interrupt(&self) -> Result<()> {
        self.state.interrupt.check()
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
///
/// The root's rows are expected to be read to the end (a statement's
/// result), which lets scans read in large pages; see [`build_lazy`].
pub fn build(node: &Node, stats: Option<StatsHandle>) -> Result<Box<dyn Executor>> {
    build_root(node, stats, true)
}

/// Builds the operator tree for a statement's cached `plan` (read to the
/// end, as [`build`]). `INSERT … VALUES` runs from the shared plan
/// itself instead of copies of its rows (see `insert_values.rs`).
pub(crate) fn build_statement<P>(plan: P) -> Result<Box<dyn Executor>>
where
    P: std::ops::Deref<Target = crate::plan::Plan> + Send + 'static,
{
    if insert_values::applies(&plan) {
        return Ok(Box::new(insert_values::InsertValuesExec::new(plan)));
    }
    build(&plan.root, None)
}

/// Like [`build`], for a consumer that may stop after a row or two (a
/// subquery under EXISTS or in scalar position): scans start with small
/// pages.
pub fn build_lazy(node: &Node, stats: Option<StatsHandle>) -> Result<Box<dyn Executor>> {
    build_root(node, stats, false)
}

fn build_root(node: &Node, stats: Option<StatsHandle>, eager: bool) -> Result<Box<dyn Executor>> {
    if let Some(stats) = &stats {
        let nodes = count_nodes(node);
        let mut stats = stats.lock();
        if stats.len() < nodes {
            stats.resize(nodes, NodeStats::default());
        }
    }
    let mut next_index = 0;
    build_tree(node, stats.as_ref(), &mut next_index, eager, None)
}

/// Whether `node` reads all of its input (`Some(true)`), may stop early
/// (`Some(false)`), or reads as much as its own consumer does (`None`).
fn node_reads_all_input(node: &Node) -> Option<bool> {
    match node {
        Node::Aggregate { .. }
        | Node::Sort { .. }
        | Node::TopN { .. }
        | Node::HashJoin { .. }
        | Node::Insert { .. }
        | Node::Update { .. }
        | Node::Delete { .. } => Some(true),
        Node::Limit { .. } | Node::NestedLoopJoin { .. } | Node::LookupJoin { .. } => Some(false),
        _ => None,
    }
}

/// The number of nodes in the tree (the length of the stats vector).
fn count_nodes(node: &Node) -> usize {
    1 + node.children().into_iter().map(count_nodes).sum::<usize>()
}

/// Builds `node` and its children; `next_index` is the pre-order position
/// the node gets, advanced past the whole subtree. `eager` says the node's
/// consumer reads all of its rows.
fn build_tree(
    node: &Node,
    stats: Option<&StatsHandle>,
    next_index: &mut usize,
    eager: bool,
    demand: Demand,
) -> Result<Box<dyn Executor>> {
    let index = *next_index;
    *next_index += 1;
    // What each child must produce (children are built in order).
    let mut demands = demand::child_demands(node, &demand).into_iter();
    // Children that feed an operator which reads its whole input (an
    // aggregate, a sort, a write) are eager; a LIMIT's, a join's inner side
    // and anything under them are not; the rest inherit.
    let child_eager = node_reads_all_input(node).unwrap_or(eager);
    let mut child = |n: &Node| build_tree(n, stats, next_index, child_eager, demands.next().flatten());
    let exec: Box<dyn Executor> = match node {
        Node::Values { rows, width } => Box::new(values::ValuesExec::new(rows.clone(), *width)),
        Node::Empty { .. } => Box::new(values::EmptyExec),
        Node::Scan { table, range, reverse, filter, .. } => {
            let columns = demand::scan_columns(table.columns.len(), &demand, filter.as_ref());
            let scan = scan::ScanExec::primary(table.clone(), range.clone(), *reverse, filter.clone());
            Box::new(scan.eager(eager).columns(columns))
        }
        Node::IndexScan { table, index, range, reverse, filter, .. } => {
            let columns = demand::scan_columns(table.columns.len(), &demand, filter.as_ref());
            let scan = scan::ScanExec::index(table.clone(), *index, range.clone(), *reverse, filter.clone())?;
            Box::new(scan.eager(eager).columns(columns))
        }
        Node::VectorSearch { table, index, query, limit, offset, filter, .. } => {
            let bounds = (query.clone(), limit.clone(), offset.clone());
            Box::new(vector_search::VectorSearchExec::new(table.clone(), *index, bounds, filter.clone(), &demand))
        }
        Node::TableFunction { func, args, ty, ordinality } => {
            Box::new(table_function::TableFunctionExec::new(*func, args.clone(), ty.clone(), *ordinality))
        }
        Node::ProjectSet { input, calls } => {
            Box::new(table_function::ProjectSetExec::new(child(input)?, calls.clone()))
        }
        Node::Filter { input, predicate } => Box::new(filter::FilterExec::new(child(input)?, predicate.clone())),
        Node::Project { input, exprs } => Box::new(project::ProjectExec::new(child(input)?, exprs.clone())),
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            let (lw, rw) = (left.width(), right.width());
            let left = child(left)?;
            let right = child(right)?;
            Box::new(nested_loop::NestedLoopJoinExec::new(left, right, *kind, predicate.clone(), lw, rw))
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let (lw, rw) = (left.width(), right.width());
            let left = child(left)?;
            let right = child(right)?;
            let keys = (left_keys.clone(), right_keys.clone());
            Box::new(hash_join::HashJoinExec::new(left, right, *kind, keys, residual.clone(), lw, rw)?)
        }
        Node::LookupJoin { left, table, index, keys, kind, filter, residual, .. } => {
            let lw = left.width();
            let columns =
                demand::lookup_columns(&demand, lw, table.columns.len(), *kind, filter.as_ref(), residual.as_ref());
            Box::new(
                lookup_join::LookupJoinExec::new(
                    child(left)?,
                    table.clone(),
                    *index,
                    keys.clone(),
                    *kind,
                    filter.clone(),
                    residual.clone(),
                    lw,
                )?
                .columns(columns),
            )
        }
        Node::Aggregate { input, group_by, aggregates } => {
            Box::new(aggregate::AggregateExec::new(child(input)?, group_by.clone(), aggregates.clone()))
        }
        Node::Sort { input, keys } => Box::new(sort::SortExec::new(child(input)?, keys.clone())),
        Node::TopN { input, keys, limit, offset } => {
            Box::new(topn::TopNExec::new(child(input)?, keys.clone(), limit.clone(), offset.clone()))
        }
        Node::Limit { input, limit, offset } => {
            Box::new(limit::LimitExec::new(child(input)?, limit.clone(), offset.clone()))
        }
        Node::Distinct { input } => Box::new(distinct::DistinctExec::new(child(input)?)),
        Node::SetOp { op, all, left, right } => {
            let left = child(left)?;
            let right = child(right)?;
            Box::new(set_op::SetOpExec::new(*op, *all, left, right))
        }
        Node::Insert { table, input, on_conflict, checks, returning } => Box::new(insert::build(
            table.clone(),
            child(input)?,
            on_conflict.clone(),
            checks.clone(),
            returning.clone(),
        )),
        Node::Update { table, input, assignments, checks, returning } => Box::new(update::build(
            table.clone(),
            child(input)?,
            assignments.clone(),
            checks.clone(),
            returning.clone(),
        )),
        Node::Delete { table, input, returning } => {
            Box::new(delete::build(table.clone(), child(input)?, returning.clone()))
        }
    };
    Ok(match stats {
        Some(stats) => Box::new(analyze::CountedExec::new(exec, stats.clone(), index)),
        None => exec,
    })
}

/// Evaluates `expr` over `row`, with a shortcut for the leaves (column and
/// outer references, literals, parameters).
pub(crate) fn eval_expr(expr: &Expr, row: &[Value], cx: &mut ExecContext<'_>) -> Result<Value> {
    match expr {
        Expr::Column(i, _) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::internal(format!("column {i} out of range of a {}-column row", row.len()))),
        Expr::Literal(v, _) => Ok(v.clone()),
        Expr::Param(i, _) => cx.param(*i),
        Expr::Outer { depth, index, .. } => cx.outer(*depth, *index),
        _ => crate::expr::eval(expr, row, cx),
    }
}

/// Evaluates a predicate over `row`: true only for TRUE.
pub(crate) fn eval_pred(expr: &Expr, row: &[Value], cx: &mut ExecContext<'_>) -> Result<bool> {
    Ok(matches!(eval_expr(expr, row, cx)?, Value::Bool(true)))
}

/// Evaluates every expression of `exprs` over `row`. The output is sized
/// up front (collecting through `Result` would start small and grow).
pub(crate) fn eval_row(exprs: &[Expr], row: &[Value], cx: &mut ExecContext<'_>) -> Result<Row> {
    let mut out = Vec::with_capacity(exprs.len());
    for e in exprs {
        out.push(eval_expr(e, row, cx)?);
    }
    Ok(out)
}

/// True when `value` already is a value of `ty` that any cast or assignment
/// to `ty` would return unchanged (its tag matches and the type has no
/// width, length or precision to enforce), so the cast can be skipped.
pub(crate) fn has_exact_type(value: &Value, ty: &DataType) -> bool {
    matches!(
        (value, ty),
        (Value::Bool(_), DataType::Bool)
            | (Value::Int(_), DataType::Int8)
            | (Value::Float(_), DataType::Float8)
            | (Value::Numeric(_), DataType::Numeric(None))
            | (Value::Text(_), DataType::Text | DataType::Varchar(None))
            | (Value::Bytes(_), DataType::Bytea)
            | (Value::Date(_), DataType::Date)
            | (Value::Timestamp(_), DataType::Timestamp)
            | (Value::TimestampTz(_), DataType::TimestampTz)
            | (Value::Interval(_), DataType::Interval)
            | (Value::Json(_), DataType::Jsonb)
    )
}

/// Pulls every remaining row of `input`.
pub(crate) fn drain(input: &mut dyn Executor, cx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    while let Some(row) = input.next(cx)? {
        rows.push(row);
    }
    Ok(rows)
}
