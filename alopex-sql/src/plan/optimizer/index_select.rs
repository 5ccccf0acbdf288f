//! Index selection: scan filters become key ranges.
//!
//! After pushdown a scan's filter holds every conjunct over that table.
//! Conjuncts of the form `column op bound` — `op` one of `= < <= > >=`,
//! or `column IN (literals)`, and `bound` an expression that reads no row
//! (a literal, parameter or outer reference, evaluated once when the scan
//! opens) — constrain the column. For the primary key and each secondary
//! index, the constraints on a prefix of its columns give a key range: `=`
//! and `IN` on the leading columns give points (the cross product of the IN
//! lists, at most [`MAX_POINTS`]), and a range on the next column gives the
//! bounds after that equality prefix. The best key wins: a unique key fully
//! fixed by equalities, then the longest equality prefix, then one with a
//! range, then the primary key (no extra row fetch).
//!
//! A column qualifies as is or under a lossless widening cast (a smaller
//! integer to a larger one, VARCHAR to TEXT), which is how the binder
//! compares mixed widths. A bound qualifies when its type has the column's
//! value domain such that the executor's cast of the bound to the column
//! type cannot fail or round: the same type; integers when the literal fits
//! or the bound's width is no larger; strings when the column is unbounded
//! or the literal fits the VARCHAR length. Anything else stays a filter.
//!
//! **Which conjuncts leave the filter.** Correctness first: a conjunct is
//! dropped only when the range returns exactly the rows it accepts:
//!
//! - its bound is a non-NULL literal, a parameter or an outer reference:
//!   a value fixed for the whole scan, which the executor evaluates once
//!   when the scan opens (`exec/scan_range.rs`). A NULL there makes the
//!   range empty (a point with a NULL is dropped, a range bound with a
//!   NULL reads nothing), which is exactly the empty set `a = NULL` or
//!   `a < NULL` accepts. Other row-free expressions stay, since the filter
//!   would evaluate them per row (a volatile function would differ);
//! - the column's type compares exactly (not floats or numerics, whose
//!   equal values may differ in representation);
//! - for `<`/`>` bounds, the key is the primary key (never NULL): a
//!   secondary index holds NULL keys, and whether a range end includes them
//!   depends on where the encoding sorts NULL.
//!
//! Everything else stays in the filter: re-checking a consumed conjunct on
//! the rows of an exact range is cheap and never wrong.
//!
//! **ORDER BY on the primary key.** A `Sort` over (projections and filters
//! of) a full-range or single-range primary-key scan, whose keys are a
//! prefix of the primary-key columns all ascending or all descending, is
//! removed and the scan reads in that direction. Primary-key columns are
//! never NULL, so NULLS FIRST/LAST makes no difference, and a stable sort of
//! rows already in key order leaves them as they are (a descending sort on
//! a proper prefix would keep ties ascending, unlike a reverse scan, so it
//! must cover the whole key; keys after the whole key never matter).

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{Node, ScanRange, SortKey};
use crate::types::{DataType, Value};

use super::Ctx;
use super::layout::{and_all, columns, conjuncts, has_subquery, substitute};
use super::walk::transform_up;

/// The most points a cross product of IN lists may produce.
pub(super) const MAX_POINTS: usize = 100;

/// The index-selection rule.
pub(super) fn index_select(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::Scan { table, alias, range: ScanRange::Full, reverse, filter: Some(filter) } => {
                choose_range(table, alias, reverse, filter)
            }
            Node::Sort { input, keys } => match scan_order(&input, &keys) {
                Some(reverse) => set_scan_reverse(*input, reverse),
                None => Node::Sort { input, keys },
            },
            n => n,
        })
    })
}

/// What a conjunct says about one table column.
#[derive(Debug, Clone)]
enum Constraint {
    /// `col = e`.
    Eq(Expr),
    /// `col IN (literals)`: distinct non-NULL values, ascending.
    In(Vec<Expr>),
    /// `col > e` / `col >= e` (inclusive).
    Lower(Expr, bool),
    /// `col < e` / `col <= e` (inclusive).
    Upper(Expr, bool),
}

/// A constraint with where it came from.
#[derive(Debug, Clone)]
struct Constrained {
    /// Position of the conjunct in the filter.
    conjunct: usize,
    /// Table column.
    column: usize,
    constraint: Constraint,
}

/// A candidate key: its columns and what it is.
struct Key<'a> {
    columns: &'a [usize],
    unique: bool,
    /// None for the primary key, else the position in `table.indexes`.
    index: Option<usize>,
}

/// The range one key gives, and how good it is.
struct Choice {
    range: ScanRange,
    /// Conjuncts the range makes redundant.
    consumed: Vec<usize>,
    /// (unique key fully fixed, equality prefix length, has a range, is the
    /// primary key): larger is better.
    score: (bool, usize, bool, bool),
    index: Option<usize>,
}

pub(super) fn choose_range(table: Arc<TableSchema>, alias: String, reverse: bool, filter: Expr) -> Node {
    let parts = conjuncts(filter.clone());
    let constraints: Vec<Constrained> =
        parts.iter().enumerate().filter_map(|(i, c)| constraint_of(c, i, &table)).collect();
    let mut best: Option<Choice> = None;
    if !constraints.is_empty() {
        let pk = Key { columns: &table.primary_key, unique: true, index: None };
        let btrees = table.indexes.iter().enumerate().filter(|(_, ix)| ix.kind.is_btree());
        let indexes = btrees.map(|(i, ix)| Key { columns: &ix.columns, unique: ix.unique, index: Some(i) });
        for key in std::iter::once(pk).chain(indexes) {
            if let Some(choice) = range_for(&key, &constraints, &table)
                && best.as_ref().is_none_or(|b| choice.score > b.score)
            {
                best = Some(choice);
            }
        }
    }
    let Some(choice) = best else {
        return Node::Scan { table, alias, range: ScanRange::Full, reverse, filter: Some(filter) };
    };
    let rest: Vec<Expr> =
        parts.into_iter().enumerate().filter(|(i, _)| !choice.consumed.contains(i)).map(|(_, c)| c).collect();
    let filter = and_all(rest);
    match choice.index {
        None => Node::Scan { table, alias, range: choice.range, reverse, filter },
        Some(index) => Node::IndexScan { table, alias, index, range: choice.range, reverse, filter },
    }
}

/// The range `key` gives under `constraints`, if any.
fn range_for(key: &Key<'_>, constraints: &[Constrained], table: &TableSchema) -> Option<Choice> {
    let is_pk = key.index.is_none();
    let on = |col: usize| constraints.iter().filter(move |c| c.column == col);
    let mut points: Vec<Vec<Expr>> = vec![vec![]];
    let mut consumed = Vec::new();
    let mut eq_len = 0;
    for &col in key.columns {
        let exact = exact_type(&table.columns[col].ty);
        if let Some(c) = on(col).find(|c| matches!(c.constraint, Constraint::Eq(_))) {
            let Constraint::Eq(e) = &c.constraint else { continue };
            points.iter_mut().for_each(|p| p.push(e.clone()));
            if exact && is_fixed_bound(e) {
                consumed.push(c.conjunct);
            }
        } else if let Some(c) =
            on(col).find(|c| matches!(&c.constraint, Constraint::In(v) if points.len() * v.len().max(1) <= MAX_POINTS))
        {
            let Constraint::In(values) = &c.constraint else { continue };
            points = points
                .iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.push(v.clone());
                        p
                    })
                })
                .collect();
            if exact {
                consumed.push(c.conjunct);
            }
        } else {
            break;
        }
        eq_len += 1;
    }

    let mut lower = None;
    let mut upper = None;
    if points.len() == 1
        && let Some(&col) = key.columns.get(eq_len)
    {
        let exact = exact_type(&table.columns[col].ty);
        lower = on(col).find(|c| matches!(c.constraint, Constraint::Lower(..)));
        upper = on(col).find(|c| matches!(c.constraint, Constraint::Upper(..)));
        for c in [lower, upper].into_iter().flatten() {
            let (Constraint::Lower(e, _) | Constraint::Upper(e, _)) = &c.constraint else { continue };
            if exact && is_pk && is_fixed_bound(e) {
                consumed.push(c.conjunct);
            }
        }
    }
    if eq_len == 0 && lower.is_none() && upper.is_none() {
        return None;
    }

    let has_range = lower.is_some() || upper.is_some();
    let score = (key.unique && eq_len == key.columns.len() && points.len() <= 1, eq_len, has_range, is_pk);
    let range = match points.pop() {
        Some(prefix) if points.is_empty() && has_range => {
            let end = |c: Option<&Constrained>| match c.map(|c| &c.constraint) {
                Some(Constraint::Lower(e, inclusive) | Constraint::Upper(e, inclusive)) => {
                    let mut v = prefix.clone();
                    v.push(e.clone());
                    if *inclusive { Bound::Included(v) } else { Bound::Excluded(v) }
                }
                _ if prefix.is_empty() => Bound::Unbounded,
                _ => Bound::Included(prefix.clone()),
            };
            ScanRange::Range { lower: end(lower), upper: end(upper) }
        }
        Some(last) => {
            points.push(last);
            ScanRange::Points(points)
        }
        None => ScanRange::Points(vec![]),
    };
    consumed.sort_unstable();
    Some(Choice { range, consumed, score, index: key.index })
}

/// The constraint conjunct `i` puts on a column of `table`, if any.
fn constraint_of(conjunct: &Expr, i: usize, table: &TableSchema) -> Option<Constrained> {
    let make = |column: usize, constraint| Some(Constrained { conjunct: i, column, constraint });
    match conjunct {
        Expr::Binary { op, left, right, .. } if op.is_comparison() && *op != BinaryOp::NotEq => {
            let (column, op, bound) = match (key_column(left, table), key_column(right, table)) {
                (Some(c), _) if usable_bound(right, &table.columns[c].ty) => (c, *op, right),
                (_, Some(c)) if usable_bound(left, &table.columns[c].ty) => (c, op.flip(), left),
                _ => return None,
            };
            let bound = (**bound).clone();
            make(
                column,
                match op {
                    BinaryOp::Eq => Constraint::Eq(bound),
                    BinaryOp::Gt => Constraint::Lower(bound, false),
                    BinaryOp::GtEq => Constraint::Lower(bound, true),
                    BinaryOp::Lt => Constraint::Upper(bound, false),
                    BinaryOp::LtEq => Constraint::Upper(bound, true),
                    _ => return None,
                },
            )
        }
        Expr::InList { expr, list, negated: false } => {
            let column = key_column(expr, table)?;
            let ty = &table.columns[column].ty;
            if !list.iter().all(|e| usable_bound(e, ty) || matches!(e, Expr::Literal(Value::Null, _))) {
                return None;
            }
            if let [single] = &list[..] {
                return make(column, Constraint::Eq(single.clone()));
            }
            // Several points must be distinct (else rows come twice), which
            // only literals can promise. NULL never matches: leave it out.
            let mut values: Vec<&Value> = Vec::with_capacity(list.len());
            for e in list {
                match e {
                    Expr::Literal(Value::Null, _) => {}
                    Expr::Literal(v, _) => values.push(v),
                    _ => return None,
                }
            }
            values.sort_by(|a, b| a.total_cmp(b));
            values.dedup_by(|a, b| a.total_cmp(b) == Ordering::Equal);
            let values = values.into_iter().map(|v| Expr::Literal(v.clone(), ty.clone())).collect();
            make(column, Constraint::In(values))
        }
        _ => None,
    }
}

/// The table column `e` is, directly or under a lossless widening cast
/// (whose comparisons order exactly like the column's).
fn key_column(e: &Expr, table: &TableSchema) -> Option<usize> {
    let col = match e {
        Expr::Column(i, _) => *i,
        Expr::Cast { expr, ty } => match &**expr {
            Expr::Column(i, from) if widens(from, ty) => *i,
            _ => return None,
        },
        _ => return None,
    };
    let ty = &table.columns.get(col)?.ty;
    indexable(ty).then_some(col)
}

/// True when every `from` value converts to `to` losslessly and in order.
fn widens(from: &DataType, to: &DataType) -> bool {
    (from.is_integer() && to.is_integer() && int_bits(from) <= int_bits(to))
        || (from.is_string() && matches!(to, DataType::Text | DataType::Varchar(None)))
}

fn int_bits(ty: &DataType) -> u32 {
    match ty {
        DataType::Int2 => 16,
        DataType::Int4 => 32,
        _ => 64,
    }
}

/// Types whose key encoding is trusted to order like SQL comparison.
fn indexable(ty: &DataType) -> bool {
    !matches!(ty, DataType::Unknown | DataType::Interval | DataType::Jsonb)
}

/// Types where SQL equality is representation equality, so a key range is
/// exactly the set of rows the comparison accepts.
fn exact_type(ty: &DataType) -> bool {
    !matches!(ty, DataType::Float4 | DataType::Float8 | DataType::Numeric(_))
}

/// True when `e` is a value fixed for the whole scan whose NULL (if it can
/// be NULL) the range turns into "no rows": a non-NULL literal, a
/// parameter or an outer reference.
fn is_fixed_bound(e: &Expr) -> bool {
    match e {
        Expr::Literal(v, _) => !v.is_null(),
        Expr::Param(..) | Expr::Outer { .. } => true,
        _ => false,
    }
}

/// True when `bound` can be evaluated when the scan opens (reads no row,
/// runs no subquery) and cast to the column type `col` without failing or
/// rounding.
fn usable_bound(bound: &Expr, col: &DataType) -> bool {
    if !columns(bound).is_empty() || has_subquery(bound) {
        return false;
    }
    let ty = bound.ty();
    match bound {
        Expr::Literal(Value::Null, _) => return false,
        Expr::Literal(Value::Int(v), _) if col.is_integer() && ty.is_integer() => return int_fits(*v, col),
        Expr::Literal(Value::Text(s), _) if ty.is_string() => {
            return match col {
                DataType::Text | DataType::Varchar(None) => true,
                DataType::Varchar(Some(n)) => s.chars().count() <= *n as usize,
                _ => false,
            };
        }
        _ => {}
    }
    &ty == col
        || (ty.is_integer() && col.is_integer() && int_bits(&ty) <= int_bits(col))
        || (ty.is_string() && matches!(col, DataType::Text | DataType::Varchar(None)))
}

fn int_fits(v: i64, ty: &DataType) -> bool {
    match ty {
        DataType::Int2 => i16::try_from(v).is_ok(),
        DataType::Int4 => i32::try_from(v).is_ok(),
        _ => true,
    }
}

/// The scan direction that makes a Sort with `keys` over `input`
/// unnecessary: Some(reverse) when `input` reads a primary key in an order
/// the keys follow.
fn scan_order(input: &Node, keys: &[SortKey]) -> Option<bool> {
    let desc = keys.first()?.desc;
    let mut exprs: Vec<Expr> = keys.iter().map(|k| k.expr.clone()).collect();
    let mut node = input;
    loop {
        match node {
            Node::Filter { input, .. } => node = input,
            Node::Project { input, exprs: projected } => {
                if projected.iter().any(has_subquery) {
                    return None;
                }
                exprs = exprs.into_iter().map(|e| substitute(e, projected)).collect();
                node = input;
            }
            Node::Scan { table, range, reverse: false, .. } => {
                let single = match range {
                    ScanRange::Full | ScanRange::Range { .. } => true,
                    ScanRange::Points(p) => p.len() <= 1,
                };
                let pk = &table.primary_key;
                // Keys after the whole (unique) key never decide anything.
                let matched = exprs
                    .iter()
                    .zip(keys)
                    .zip(pk)
                    .all(|((e, k), pk)| k.desc == desc && matches!(e, Expr::Column(c, _) if c == pk));
                // Keys covering the whole (unique) key leave no ties; a
                // shorter prefix leaves ties, which a stable ascending sort
                // keeps in key order, as the forward scan returns them, but
                // a descending sort keeps them ascending and a reverse scan
                // would not.
                let no_ties = exprs.len() >= pk.len();
                return (single && matched && (no_ties || !desc)).then_some(desc);
            }
            _ => return None,
        }
    }
}

/// `node` (the input [`scan_order`] accepted) with its scan reading in the
/// given direction.
fn set_scan_reverse(node: Node, reverse: bool) -> Node {
    match node {
        Node::Filter { input, predicate } => {
            Node::Filter { input: Box::new(set_scan_reverse(*input, reverse)), predicate }
        }
        Node::Project { input, exprs } => Node::Project { input: Box::new(set_scan_reverse(*input, reverse)), exprs },
        Node::Scan { table, alias, range, filter, .. } => Node::Scan { table, alias, range, reverse, filter },
        n => n,
    }
}

#[cfg(test)]
#[path = "index_select_tests.rs"]
mod tests;
