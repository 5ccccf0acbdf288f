//! Nearest-neighbour queries through HNSW indexes.
//!
//! `SELECT … FROM t [WHERE …] ORDER BY col <-> q LIMIT k` (or `<=>`, `<#>`)
//! reads, as bound, every row, computes every distance and keeps the best
//! `k`. When `col` has an HNSW index whose operator class matches the
//! operator, this rule replaces the scan with a [`Node::VectorSearch`] that
//! returns the `k + offset` nearest rows through the index's graphs. The
//! sort above stays: it orders those few rows by the distance the SELECT
//! list computes anyway, so a distance that is also selected is computed
//! once per returned row and never for the rest of the table.
//!
//! It matches the tree the binder produces, after predicates were pushed
//! into the scan and before `index_select` turns them into key ranges:
//!
//! ```text
//! Limit k [offset o]
//!   [Project …]*
//!     Sort [key ASC NULLS LAST]          key = col <op> q, or a column of
//!       [Project [… col <op> q …]]             the projection below that is
//!         Scan t (full) [filter]
//! ```
//!
//! `q` must not depend on the row (a literal, a parameter, an outer
//! reference), and DESC or NULLS FIRST orders are left alone (the index
//! finds the nearest, not the farthest, and never returns NULL vectors).
//!
//! ## With a filter: graph walk or exact search
//!
//! A filter is applied inside the graph walk (the walk skips rows that
//! fail it but keeps going until it has `k` that pass), which costs about
//! one row read per candidate it judges: roughly `(ef_search + k) /
//! selectivity` reads, at most one per row. The alternative is the plain
//! plan: read the rows the filter selects (by key range, when
//! `index_select` can serve the filter, else by a full scan), and compute
//! every distance exactly. The rule estimates both with the optimizer's
//! simple statistics and keeps the cheaper; EXPLAIN shows a `VectorSearch`
//! node for the first and a `TopN` over the filtered scan for the second.
//! A filter with a subquery always takes the exact path (the walk cannot
//! run one).

use std::sync::Arc;

use crate::catalog::{IndexKind, TableSchema};
use crate::error::Result;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{Node, ScanRange, SortKey};

use super::Ctx;
use super::index_select::choose_range;
use super::join_order::{estimate, selectivity};
use super::layout::{columns, has_subquery};
use super::walk::transform_up;

/// Rows assumed when statistics know nothing.
const UNKNOWN_ROWS: f64 = 1000.0;
/// The `ef_search` assumed when costing (pgvector's default).
const PLANNING_EF_SEARCH: f64 = 40.0;
/// The `k` assumed for a LIMIT that is a parameter.
const PLANNING_K: f64 = 10.0;
/// Relative costs (≈ µs): a row read by key, a row read by a scan, one
/// distance.
const LOOKUP: f64 = 3.0;
const SCANNED: f64 = 0.3;
const DISTANCE: f64 = 0.2;

/// The rule.
pub(super) fn vector_search(node: Node, cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::Limit { input, limit: Some(limit), offset } => {
                let input = under_limit(*input, &limit, offset.as_ref(), cx);
                Node::Limit { input: Box::new(input), limit: Some(limit), offset }
            }
            n => n,
        })
    })
}

/// Rewrites the sort under a LIMIT (through projections), if it qualifies.
fn under_limit(node: Node, limit: &Expr, offset: Option<&Expr>, cx: &Ctx<'_>) -> Node {
    match node {
        Node::Project { input, exprs } => {
            Node::Project { input: Box::new(under_limit(*input, limit, offset, cx)), exprs }
        }
        Node::Sort { input, keys } => {
            let input = match nearest(&keys, &input, limit, offset, cx) {
                Some(search) => replace_scan(*input, search),
                None => *input,
            };
            Node::Sort { input: Box::new(input), keys }
        }
        other => other,
    }
}

/// The VectorSearch that can feed a sort by `keys` over `input`.
fn nearest(keys: &[SortKey], input: &Node, limit: &Expr, offset: Option<&Expr>, cx: &Ctx<'_>) -> Option<Node> {
    let [key] = keys else { return None };
    if key.desc || key.nulls_first {
        return None;
    }
    // The distance expression, over the scan's row.
    let (distance, scan) = match (input, &key.expr) {
        (Node::Project { input: scan, exprs }, Expr::Column(i, _)) => (exprs.get(*i)?, scan.as_ref()),
        (scan @ Node::Scan { .. }, e) => (e, scan),
        _ => return None,
    };
    let Node::Scan { table, alias, range: ScanRange::Full, reverse: _, filter } = scan else { return None };
    let Expr::Binary { op, left, right, .. } = distance else { return None };
    let metric = match op {
        BinaryOp::L2Distance => alopex_core::Metric::L2,
        BinaryOp::CosineDistance => alopex_core::Metric::Cosine,
        BinaryOp::NegInnerProduct => alopex_core::Metric::InnerProduct,
        _ => return None,
    };
    let (column, query) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c, _), q) | (q, Expr::Column(c, _)) if is_row_independent(q) => (*c, q),
        _ => return None,
    };
    let index = table
        .indexes
        .iter()
        .position(|ix| ix.columns == [column] && matches!(ix.kind, IndexKind::Hnsw(h) if h.metric == metric))?;
    if let Some(f) = filter
        && !graph_is_cheaper(table, alias, f, limit, offset, cx)
    {
        return None;
    }
    Some(Node::VectorSearch {
        table: table.clone(),
        alias: alias.clone(),
        index,
        query: query.clone(),
        limit: limit.clone(),
        offset: offset.cloned(),
        filter: filter.clone(),
    })
}

/// A query vector must be the same for every row.
fn is_row_independent(e: &Expr) -> bool {
    columns(e).is_empty() && !has_subquery(e)
}

/// Whether walking the graph with `filter` beats reading the filtered rows
/// and ranking them exactly (see the module documentation).
fn graph_is_cheaper(
    table: &Arc<TableSchema>,
    alias: &str,
    filter: &Expr,
    limit: &Expr,
    offset: Option<&Expr>,
    cx: &Ctx<'_>,
) -> bool {
    if has_subquery(filter) {
        return false;
    }
    let rows = cx.stats.row_count(table.id).map_or(UNKNOWN_ROWS, |n| n as f64).max(1.0);
    let selectivity = selectivity(filter).clamp(1e-6, 1.0);
    let k = match (limit, offset) {
        (Expr::Literal(crate::Value::Int(l), _), None) => *l as f64,
        (Expr::Literal(crate::Value::Int(l), _), Some(Expr::Literal(crate::Value::Int(o), _))) => (*l + *o) as f64,
        _ => PLANNING_K,
    };
    let selected = rows * selectivity;
    // The exact plan: the rows index_select would read, then a distance each.
    let access = choose_range(table.clone(), alias.to_string(), false, filter.clone());
    let indexed = match &access {
        Node::Scan { range, .. } => *range != ScanRange::Full,
        Node::IndexScan { .. } => true,
        _ => false,
    };
    let exact = if indexed {
        estimate(&access, cx).max(selected) * (LOOKUP + DISTANCE)
    } else {
        rows * SCANNED + selected * DISTANCE
    };
    let walked = ((PLANNING_EF_SEARCH + k) / selectivity).min(rows);
    let graph = walked * (LOOKUP + DISTANCE);
    graph < exact
}

/// `node` with its scan (under an optional projection) replaced.
fn replace_scan(node: Node, search: Node) -> Node {
    match node {
        Node::Project { exprs, .. } => Node::Project { input: Box::new(search), exprs },
        _ => search,
    }
}
