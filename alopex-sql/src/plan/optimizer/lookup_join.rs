//! Lookup join selection: index nested-loop joins.
//!
//! A hash join reads its whole build side. When that side is a full scan
//! of a large table and the join keys cover its primary key (or a leading
//! prefix of a secondary index), it is much cheaper to take the few rows
//! of the other side and look each one's match up by key: `u JOIN t ON
//! t.id = u.k WHERE u.g < 10` reads ten thousand keys of `t` instead of a
//! million rows. This rule turns such a [`Node::HashJoin`] or
//! [`Node::NestedLoopJoin`] into a [`Node::LookupJoin`].
//!
//! **Shape.** The join is Inner, Left, Semi or Anti (the kinds that emit
//! left rows in left order and never need the table's unmatched rows), and
//! its right side is a forward, full-range [`Node::Scan`] (its filter, over
//! the table row, becomes the lookup's filter). For an inner join whose
//! *left* side is such a scan, the sides are swapped and a projection on
//! top puts the columns back in their original order.
//!
//! **Keys.** An equi-conjunct `l = r` (as `hash_join` found them, or split
//! from a nested loop's predicate) binds a table column when `r` is that
//! column, directly or under a lossless widening cast (how the binder
//! compares mixed integer widths), and `l` reads only the left row and
//! holds no subquery. The column must have a type whose key encoding is
//! exact (not floats or numerics, whose equal values may differ in
//! representation, nor intervals and JSON), and `l` must have the column's
//! value domain (the same type, integers of any width, strings), so that
//! the executor's cast of the key value to the column type either is exact
//! or proves that no key can be equal (out of range, truncated), which it
//! treats as "no match", as `=` would. The lookup key is the one with the
//! best binding: the whole primary key, then a whole unique index, then
//! the longest bound leading prefix of any index (the primary key first on
//! ties, then the earlier index). Equi-conjuncts the key does not use stay
//! in the residual.
//!
//! **Cost.** The join's cost is the rows its hash join reads (the whole
//! table) against the lookups the lookup join makes (one per left row, each
//! several times dearer than a row of a sequential scan). With the
//! estimate of `join_order` for the left side and the table's row count
//! from [`super::Statistics`], a lookup join is chosen when `left * 4 <
//! rows` for a unique key, `left * 16 < rows` for a prefix (each lookup is
//! a range scan). A table without statistics is only looked up from a
//! clearly tiny left side (at most [`TINY`] rows estimated).
//!
//! The rule runs after `index_select`, so a right side whose filter gave a
//! key range is not a full scan and stays as it is (reading a range is
//! already cheap), and the left side's estimate reflects its own range.
//! Conjuncts holding a correlated subquery are never moved to another
//! layout: a join with one in its residual is not swapped.

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node, ScanRange};
use crate::types::DataType;

use super::Ctx;
use super::join_order::estimate;
use super::layout::{
    and_all, columns, conjuncts, equi_pair, has_correlated_subquery, has_subquery, output_types, remap_columns,
    same_value_domain, shift_columns,
};
use super::walk::transform_up;

/// The largest estimated left side that may look up a table without
/// statistics.
pub(super) const TINY: f64 = 10.0;

/// How many sequential row reads one unique-key lookup is worth.
const UNIQUE_LOOKUP_COST: f64 = 4.0;

/// How many sequential row reads one prefix lookup (a range scan) is worth.
const PREFIX_LOOKUP_COST: f64 = 16.0;

/// The lookup-join rule.
pub(super) fn lookup_join(node: Node, cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::HashJoin { left, right, kind, left_keys, right_keys, residual } if lookup_kind(kind) => {
                let pairs: Vec<(Expr, Expr)> = left_keys.iter().cloned().zip(right_keys.iter().cloned()).collect();
                let rest = residual.clone().map(conjuncts).unwrap_or_default();
                match convert(Join { left: &left, right: &right, kind, pairs, rest }, cx) {
                    Some(n) => n,
                    None => Node::HashJoin { left, right, kind, left_keys, right_keys, residual },
                }
            }
            Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate) } if lookup_kind(kind) => {
                let lw = left.width();
                let mut pairs = Vec::new();
                let mut rest = Vec::new();
                for c in conjuncts(predicate.clone()) {
                    match equi_pair(&c, lw) {
                        Some(pair) => pairs.push(pair),
                        None => rest.push(c),
                    }
                }
                match convert(Join { left: &left, right: &right, kind, pairs, rest }, cx) {
                    Some(n) => n,
                    None => Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate) },
                }
            }
            n => n,
        })
    })
}

/// The kinds a lookup join runs.
fn lookup_kind(kind: JoinKind) -> bool {
    matches!(kind, JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti)
}

/// A join to consider, taken apart.
struct Join<'a> {
    left: &'a Node,
    right: &'a Node,
    kind: JoinKind,
    /// (expression over the left row, expression over the right row) that
    /// must be equal.
    pairs: Vec<(Expr, Expr)>,
    /// The other conjuncts, over left ++ right.
    rest: Vec<Expr>,
}

/// The lookup join (possibly swapped, under a projection) for `join`, if
/// its shape and the estimates call for one.
fn convert(join: Join<'_>, cx: &Ctx<'_>) -> Option<Node> {
    if let Some(n) = lookup(join.left, join.right, join.kind, &join.pairs, &join.rest, cx) {
        return Some(n);
    }
    if join.kind != JoinKind::Inner || join.rest.iter().any(has_correlated_subquery) {
        return None;
    }
    // The left side is the big scan: look it up from the right side.
    let (lw, rw) = (join.left.width(), join.right.width());
    let pairs: Vec<(Expr, Expr)> = join.pairs.iter().map(|(l, r)| (r.clone(), l.clone())).collect();
    let swap = |c: usize| if c < lw { c + rw } else { c - lw };
    let rest: Vec<Expr> = join.rest.iter().map(|e| remap_columns(e.clone(), &swap)).collect();
    let swapped = lookup(join.right, join.left, join.kind, &pairs, &rest, cx)?;
    let types = output_types(&swapped);
    let order = (rw..rw + lw).chain(0..rw);
    let exprs = order.map(|c| Expr::Column(c, types.get(c).cloned().unwrap_or(DataType::Unknown))).collect();
    Some(Node::Project { input: Box::new(swapped), exprs })
}

/// A lookup of the table `right` scans for each row of `left`.
fn lookup(
    left: &Node,
    right: &Node,
    kind: JoinKind,
    pairs: &[(Expr, Expr)],
    rest: &[Expr],
    cx: &Ctx<'_>,
) -> Option<Node> {
    let Node::Scan { table, alias, range: ScanRange::Full, reverse: false, filter } = right else { return None };
    let lw = left.width();
    // The left expression bound to each table column (the first pair wins).
    let mut bound: Vec<Option<usize>> = vec![None; table.columns.len()];
    for (i, (l, r)) in pairs.iter().enumerate() {
        if let Some(c) = key_column(r, table)
            && bound[c].is_none()
            && binds(l, &table.columns[c].ty, lw)
        {
            bound[c] = Some(i);
        }
    }
    let KeyChoice { index, used, unique } = best_key(table, &bound)?;

    let left_estimate = estimate(left, cx);
    let cost = if unique { UNIQUE_LOOKUP_COST } else { PREFIX_LOOKUP_COST };
    let worth_it = match cx.stats.row_count(table.id) {
        Some(rows) => left_estimate * cost < rows as f64,
        None => left_estimate <= TINY,
    };
    if !worth_it {
        return None;
    }

    let keys: Vec<Expr> = used.iter().map(|&i| pairs[i].0.clone()).collect();
    let mut residual: Vec<Expr> = pairs
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, (l, r))| Expr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(l.clone()),
            right: Box::new(shift_columns(r.clone(), lw as isize)),
            ty: DataType::Bool,
        })
        .collect();
    residual.extend(rest.iter().cloned());
    Some(Node::LookupJoin {
        left: Box::new(left.clone()),
        table: table.clone(),
        alias: alias.clone(),
        index,
        keys,
        kind,
        filter: filter.clone(),
        residual: and_all(residual),
    })
}

/// A key to look up by.
struct KeyChoice {
    /// None for the primary key, else the position in `table.indexes`.
    index: Option<usize>,
    /// The pairs giving the values of its leading columns, in key order.
    used: Vec<usize>,
    /// Those values identify at most one row.
    unique: bool,
}

/// The best key to look up by, given which pair binds each table column:
/// a whole unique key first, then the longest bound prefix, the earlier
/// key (primary key first) on ties.
fn best_key(table: &TableSchema, bound: &[Option<usize>]) -> Option<KeyChoice> {
    let pk = std::iter::once((None, &table.primary_key[..], true));
    let btrees = table.indexes.iter().enumerate().filter(|(_, ix)| ix.kind.is_btree());
    let indexes = btrees.map(|(i, ix)| (Some(i), &ix.columns[..], ix.unique));
    let mut best: Option<KeyChoice> = None;
    for (index, cols, unique) in pk.chain(indexes) {
        let used: Vec<usize> = cols.iter().map_while(|&c| bound.get(c).copied().flatten()).collect();
        if used.is_empty() {
            continue;
        }
        let choice = KeyChoice { index, unique: unique && used.len() == cols.len(), used };
        if best.as_ref().is_none_or(|b| (choice.unique, choice.used.len()) > (b.unique, b.used.len())) {
            best = Some(choice);
        }
    }
    best
}

/// True when `l` (a key expression) can look up a column of type `col`:
/// it reads only the left row (of `left_width` columns), runs no subquery,
/// and has the column's value domain; the column's type has an exact key
/// encoding.
fn binds(l: &Expr, col: &DataType, left_width: usize) -> bool {
    let exact_key = !matches!(
        col,
        DataType::Unknown
            | DataType::Float4
            | DataType::Float8
            | DataType::Numeric(_)
            | DataType::Interval
            | DataType::Jsonb
    );
    exact_key
        && !has_subquery(l)
        && columns(l).last().is_none_or(|&c| c < left_width)
        && same_value_domain(&l.ty(), col)
}

/// The table column `e` is, directly or under a lossless widening cast.
fn key_column(e: &Expr, table: &TableSchema) -> Option<usize> {
    let col = match e {
        Expr::Column(i, _) => *i,
        Expr::Cast { expr, ty } => match &**expr {
            Expr::Column(i, from) if widens(from, ty) => *i,
            _ => return None,
        },
        _ => return None,
    };
    (col < table.columns.len()).then_some(col)
}

/// True when every `from` value converts to `to` losslessly and in order.
fn widens(from: &DataType, to: &DataType) -> bool {
    let bits = |t: &DataType| match t {
        DataType::Int2 => 16,
        DataType::Int4 => 32,
        _ => 64,
    };
    (from.is_integer() && to.is_integer() && bits(from) <= bits(to))
        || (from.is_string() && matches!(to, DataType::Text | DataType::Varchar(None)))
}

#[cfg(test)]
#[path = "lookup_join_tests.rs"]
mod tests;
