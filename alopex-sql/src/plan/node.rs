//! Plan nodes.

use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::TableSchema;
use crate::expr::srf::SetFunc;
use crate::expr::{AggFunc, Expr};
use crate::types::DataType;

/// A statement's plan and the columns it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The root node.
    pub root: Node,
    /// Names and types of the result columns (empty for DML without
    /// RETURNING).
    pub columns: Vec<OutputColumn>,
    /// The types of `$1`, `$2`, … as given or inferred.
    pub param_types: Vec<DataType>,
}

/// One result column.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    /// The column name clients see (`?column?` when SQL gives none).
    pub name: String,
    /// Its type.
    pub ty: DataType,
}

/// Which keys a scan reads, as values for a prefix of the key columns
/// (primary key, or index columns). Expressions are constants, parameters
/// or outer references, evaluated when the scan opens.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanRange {
    /// Every row.
    Full,
    /// Rows whose key starts with one of these prefixes (`=` and `IN`).
    Points(Vec<Vec<Expr>>),
    /// Rows between two key prefixes.
    Range {
        /// Lower bound on the key prefix.
        lower: Bound<Vec<Expr>>,
        /// Upper bound on the key prefix.
        upper: Bound<Vec<Expr>>,
    },
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinKind {
    /// INNER and CROSS.
    Inner,
    /// LEFT OUTER.
    Left,
    /// RIGHT OUTER.
    Right,
    /// FULL OUTER.
    Full,
    /// Left rows with at least one match (output: left columns only).
    Semi,
    /// Left rows with no match (output: left columns only).
    Anti,
}

/// Set operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOpKind {
    /// UNION.
    Union,
    /// INTERSECT.
    Intersect,
    /// EXCEPT.
    Except,
}

/// An ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The expression over the input row.
    pub expr: Expr,
    /// DESC.
    pub desc: bool,
    /// NULLS FIRST (PostgreSQL's default is NULLS LAST for ASC, FIRST for DESC).
    pub nulls_first: bool,
}

/// One aggregate computed by [`Node::Aggregate`].
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Arguments over the input row.
    pub args: Vec<Expr>,
    /// `agg(DISTINCT …)`.
    pub distinct: bool,
    /// `FILTER (WHERE …)`.
    pub filter: Option<Expr>,
    /// `agg(… ORDER BY …)`: the last `order_by.len()` arguments are sort
    /// keys, each `(descending, nulls_first)`.
    pub order_by: Vec<(bool, bool)>,
    /// The result type.
    pub ty: DataType,
}

/// One set-returning call of a [`Node::ProjectSet`].
#[derive(Debug, Clone, PartialEq)]
pub struct SetCall {
    /// The function.
    pub func: SetFunc,
    /// Arguments over the input row.
    pub args: Vec<Expr>,
    /// The result type.
    pub ty: DataType,
}

/// INSERT … ON CONFLICT.
#[derive(Debug, Clone, PartialEq)]
pub struct OnConflict {
    /// The conflict target's columns (table positions); None = any unique
    /// constraint.
    pub target: Option<Vec<usize>>,
    /// What to do.
    pub action: OnConflictAction,
}

/// The action of ON CONFLICT.
#[derive(Debug, Clone, PartialEq)]
pub enum OnConflictAction {
    /// DO NOTHING.
    Nothing,
    /// DO UPDATE SET … [WHERE …]. Expressions see the existing row followed
    /// by the proposed row (`excluded`), each of the table's full width.
    Update {
        /// (column position, new value).
        assignments: Vec<(usize, Expr)>,
        /// Only update when this holds.
        predicate: Option<Expr>,
    },
}

/// A plan node. Each produces rows; see [`Node::width`] for how many values.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Constant rows (also `SELECT` without FROM: one empty row).
    Values {
        /// The rows.
        rows: Vec<Vec<Expr>>,
        /// Values per row.
        width: usize,
    },
    /// No rows (a predicate folded to false).
    Empty {
        /// Values per row.
        width: usize,
    },
    /// Reads a table through its primary key. Output: every column of the
    /// table in schema order, hidden row id included.
    Scan {
        /// The table.
        table: Arc<TableSchema>,
        /// The name the query gave it.
        alias: String,
        /// Which primary keys.
        range: ScanRange,
        /// Descending key order.
        reverse: bool,
        /// A predicate over the table row, applied as rows are read.
        filter: Option<Expr>,
    },
    /// Reads a table through a secondary index, then fetches the rows.
    /// Output: like [`Node::Scan`].
    IndexScan {
        /// The table.
        table: Arc<TableSchema>,
        /// The name the query gave it.
        alias: String,
        /// Position in `table.indexes`.
        index: usize,
        /// Which index keys.
        range: ScanRange,
        /// Descending key order.
        reverse: bool,
        /// A predicate over the table row.
        filter: Option<Expr>,
    },
    /// Reads the rows of `table` whose vectors are nearest to a query
    /// through an HNSW index (`ORDER BY col <-> q LIMIT k`): at least the
    /// `limit + offset` nearest rows that pass `filter`, in no promised
    /// order (the sort above orders them). The filter is applied during
    /// the graph walk. When the query vector or the limit rule out the
    /// index at run time (NULL, wrong dimension, no limit), it reads every
    /// row that passes the filter instead, so results never depend on the
    /// choice. Output: like [`Node::Scan`].
    VectorSearch {
        /// The table.
        table: Arc<TableSchema>,
        /// The name the query gave it.
        alias: String,
        /// Position in `table.indexes` (an HNSW index).
        index: usize,
        /// The query vector (no column references).
        query: Expr,
        /// The LIMIT of the query.
        limit: Expr,
        /// Its OFFSET.
        offset: Option<Expr>,
        /// A predicate over the table row (no subqueries).
        filter: Option<Expr>,
    },
    /// A set-returning function in FROM (`generate_series(1, 3)`,
    /// `unnest(a) WITH ORDINALITY`). Output: one value per row (its result
    /// type is `ty`), then the 1-based ordinality when asked for.
    TableFunction {
        /// The function.
        func: SetFunc,
        /// Arguments (no column references: constants, parameters, outer
        /// references and subqueries).
        args: Vec<Expr>,
        /// The result type.
        ty: DataType,
        /// `WITH ORDINALITY`.
        ordinality: bool,
    },
    /// Set-returning functions in a select list (`SELECT unnest(a), x`):
    /// for each input row, the calls run in lockstep, one output row per
    /// step until every call is exhausted (a shorter one gives NULL), and
    /// an input row whose calls all yield nothing gives no row. Output: the
    /// input row, then one value per call.
    ProjectSet {
        /// Input.
        input: Box<Node>,
        /// The calls over the input row: (function, arguments, result type).
        calls: Vec<SetCall>,
    },
    /// Keeps rows where the predicate is TRUE.
    Filter {
        /// Input.
        input: Box<Node>,
        /// Predicate over the input row.
        predicate: Expr,
    },
    /// Computes new rows.
    Project {
        /// Input.
        input: Box<Node>,
        /// Output expressions over the input row.
        exprs: Vec<Expr>,
    },
    /// Joins by evaluating the predicate on every pair. Output: left row then
    /// right row (Semi/Anti: left row only).
    NestedLoopJoin {
        /// Outer side.
        left: Box<Node>,
        /// Inner side (re-run or buffered per outer row).
        right: Box<Node>,
        /// Kind.
        kind: JoinKind,
        /// Predicate over left ++ right; None = cross product.
        predicate: Option<Expr>,
    },
    /// Joins on equal keys by building a hash table on the right side.
    /// NULL keys never match. Output like [`Node::NestedLoopJoin`].
    HashJoin {
        /// Probe side.
        left: Box<Node>,
        /// Build side.
        right: Box<Node>,
        /// Kind.
        kind: JoinKind,
        /// Key expressions over the left row.
        left_keys: Vec<Expr>,
        /// Key expressions over the right row.
        right_keys: Vec<Expr>,
        /// Further predicate over left ++ right.
        residual: Option<Expr>,
    },
    /// Joins by looking up, for each left row, the rows of `table` whose
    /// key (the primary key, or a secondary index) starts with the values
    /// of `keys` over the left row: an index nested-loop join. NULL keys
    /// never match. Output: left row then table row (Semi/Anti: left row
    /// only), in left order.
    LookupJoin {
        /// Outer side, read in batches.
        left: Box<Node>,
        /// The table looked up.
        table: Arc<TableSchema>,
        /// The name the query gave it.
        alias: String,
        /// Position in `table.indexes`; None for the primary key.
        index: Option<usize>,
        /// Values for a leading prefix of the key columns, over the left row.
        keys: Vec<Expr>,
        /// Kind: Inner, Left, Semi or Anti.
        kind: JoinKind,
        /// A predicate over the table row, applied to each fetched row.
        filter: Option<Expr>,
        /// Further predicate over left ++ table row.
        residual: Option<Expr>,
    },
    /// Groups and aggregates. Output: group-by values, then aggregate values.
    /// With no group-by it returns exactly one row.
    Aggregate {
        /// Input.
        input: Box<Node>,
        /// Group keys over the input row.
        group_by: Vec<Expr>,
        /// Aggregates over the input row.
        aggregates: Vec<AggCall>,
    },
    /// Sorts (stable).
    Sort {
        /// Input.
        input: Box<Node>,
        /// Keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// The first `limit` rows after `offset` in key order, with a bounded heap.
    TopN {
        /// Input.
        input: Box<Node>,
        /// Keys.
        keys: Vec<SortKey>,
        /// Row count (an expression without column references).
        limit: Expr,
        /// Rows to skip.
        offset: Option<Expr>,
    },
    /// LIMIT / OFFSET.
    Limit {
        /// Input.
        input: Box<Node>,
        /// Row count; None = all.
        limit: Option<Expr>,
        /// Rows to skip.
        offset: Option<Expr>,
    },
    /// Removes duplicate rows (NULLs equal).
    Distinct {
        /// Input.
        input: Box<Node>,
    },
    /// UNION / INTERSECT / EXCEPT, with or without ALL.
    SetOp {
        /// Which.
        op: SetOpKind,
        /// Keep duplicates (bag semantics).
        all: bool,
        /// Left input.
        left: Box<Node>,
        /// Right input (same width).
        right: Box<Node>,
    },
    /// INSERT. `input` yields full table rows (defaults filled in; a NULL in
    /// the hidden row id column means "allocate one").
    Insert {
        /// Target.
        table: Arc<TableSchema>,
        /// Rows to insert.
        input: Box<Node>,
        /// ON CONFLICT.
        on_conflict: Option<OnConflict>,
        /// CHECK constraints: (name, predicate over the new row).
        checks: Vec<(String, Expr)>,
        /// RETURNING expressions over the inserted row.
        returning: Option<Vec<Expr>>,
    },
    /// UPDATE. `input` yields the current full table rows to change.
    Update {
        /// Target.
        table: Arc<TableSchema>,
        /// Rows to update.
        input: Box<Node>,
        /// (column position, new value over the old row).
        assignments: Vec<(usize, Expr)>,
        /// CHECK constraints over the new row.
        checks: Vec<(String, Expr)>,
        /// RETURNING expressions over the new row.
        returning: Option<Vec<Expr>>,
    },
    /// DELETE. `input` yields the full table rows to delete.
    Delete {
        /// Target.
        table: Arc<TableSchema>,
        /// Rows to delete.
        input: Box<Node>,
        /// RETURNING expressions over the deleted row.
        returning: Option<Vec<Expr>>,
    },
}

impl Node {
    /// How many values each output row has.
    pub fn width(&self) -> usize {
        match self {
            Node::Values { width, .. } | Node::Empty { width } => *width,
            Node::TableFunction { ordinality, .. } => 1 + usize::from(*ordinality),
            Node::ProjectSet { input, calls } => input.width() + calls.len(),
            Node::Scan { table, .. } | Node::IndexScan { table, .. } | Node::VectorSearch { table, .. } => {
                table.columns.len()
            }
            Node::Filter { input, .. }
            | Node::Sort { input, .. }
            | Node::TopN { input, .. }
            | Node::Limit { input, .. }
            | Node::Distinct { input } => input.width(),
            Node::Project { exprs, .. } => exprs.len(),
            Node::NestedLoopJoin { left, right, kind, .. } | Node::HashJoin { left, right, kind, .. } => match kind {
                JoinKind::Semi | JoinKind::Anti => left.width(),
                _ => left.width() + right.width(),
            },
            Node::LookupJoin { left, table, kind, .. } => match kind {
                JoinKind::Semi | JoinKind::Anti => left.width(),
                _ => left.width() + table.columns.len(),
            },
            Node::Aggregate { group_by, aggregates, .. } => group_by.len() + aggregates.len(),
            Node::SetOp { left, .. } => left.width(),
            Node::Insert { returning, .. } | Node::Update { returning, .. } | Node::Delete { returning, .. } => {
                returning.as_ref().map_or(0, |r| r.len())
            }
        }
    }

    /// The node's inputs, in order, for rewriting in place.
    pub fn children_mut(&mut self) -> Vec<&mut Node> {
        match self {
            Node::Values { .. }
            | Node::Empty { .. }
            | Node::Scan { .. }
            | Node::IndexScan { .. }
            | Node::TableFunction { .. }
            | Node::VectorSearch { .. } => vec![],
            Node::Filter { input, .. }
            | Node::ProjectSet { input, .. }
            | Node::Project { input, .. }
            | Node::Aggregate { input, .. }
            | Node::Sort { input, .. }
            | Node::TopN { input, .. }
            | Node::Limit { input, .. }
            | Node::Distinct { input }
            | Node::LookupJoin { left: input, .. }
            | Node::Insert { input, .. }
            | Node::Update { input, .. }
            | Node::Delete { input, .. } => vec![input],
            Node::NestedLoopJoin { left, right, .. }
            | Node::HashJoin { left, right, .. }
            | Node::SetOp { left, right, .. } => vec![left, right],
        }
    }

    /// The node's inputs, in order.
    pub fn children(&self) -> Vec<&Node> {
        match self {
            Node::Values { .. }
            | Node::Empty { .. }
            | Node::Scan { .. }
            | Node::IndexScan { .. }
            | Node::TableFunction { .. }
            | Node::VectorSearch { .. } => vec![],
            Node::Filter { input, .. }
            | Node::ProjectSet { input, .. }
            | Node::Project { input, .. }
            | Node::Aggregate { input, .. }
            | Node::Sort { input, .. }
            | Node::TopN { input, .. }
            | Node::Limit { input, .. }
            | Node::Distinct { input }
            | Node::LookupJoin { left: input, .. }
            | Node::Insert { input, .. }
            | Node::Update { input, .. }
            | Node::Delete { input, .. } => vec![input],
            Node::NestedLoopJoin { left, right, .. }
            | Node::HashJoin { left, right, .. }
            | Node::SetOp { left, right, .. } => vec![left, right],
        }
    }
}
