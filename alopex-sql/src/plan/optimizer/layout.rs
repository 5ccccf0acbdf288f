//! Moving expressions between row layouts.
//!
//! An [`Expr::Column`] is a position in the input row of whichever operator
//! evaluates the expression. Every rewrite that moves a predicate (below a
//! projection, into one side of a join, across a reordered join tree) must
//! therefore translate positions from one layout to another, and must refuse
//! to move what it cannot translate. The helpers here are the only place
//! positions are rewritten:
//!
//! - [`remap_columns`] / [`shift_columns`] rename positions (join sides,
//!   reordered joins);
//! - [`substitute`] replaces positions by the expressions that produced them
//!   (moving below a projection or a group-by);
//! - [`has_correlated_subquery`] finds what cannot be moved at all: a
//!   correlated subquery's plan reads the *evaluating row* through
//!   `Outer { depth: 0 }`, references `columns_used` does not see and these
//!   helpers do not rewrite, so such an expression stays in the layout it
//!   was bound in.
//!
//! It also holds the AND-conjunct splitting every predicate rule shares, and
//! [`output_types`], the column types of a node's output (needed to build
//! `Column` references in new projections).

use std::collections::BTreeSet;

use crate::expr::{BinaryOp, Expr, Subquery};
use crate::plan::{JoinKind, Node};
use crate::types::{DataType, Value};

use super::walk::{for_each_expr, for_each_node};

/// Splits a predicate into its AND conjuncts, left to right.
pub(crate) fn conjuncts(expr: Expr) -> Vec<Expr> {
    let mut out = Vec::new();
    split_into(expr, &mut out);
    out
}

fn split_into(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            split_into(*left, out);
            split_into(*right, out);
        }
        e => out.push(e),
    }
}

/// The conjunction of `exprs` (left-deep), None when empty.
pub(crate) fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(and)
}

/// `left AND right`.
pub(crate) fn and(left: Expr, right: Expr) -> Expr {
    Expr::Binary { op: BinaryOp::And, left: Box::new(left), right: Box::new(right), ty: DataType::Bool }
}

/// `l = r` with `l` over the left row and `r` over the right row (either
/// way round) of a join whose left input is `left_width` values wide: the
/// pair (left expression, right expression over the right row alone).
/// None for any other conjunct, or one with a subquery.
pub(crate) fn equi_pair(conjunct: &Expr, left_width: usize) -> Option<(Expr, Expr)> {
    let Expr::Binary { op: BinaryOp::Eq, left, right, .. } = conjunct else { return None };
    if has_subquery(left) || has_subquery(right) {
        return None;
    }
    let side = |e: &Expr| {
        let cols = columns(e);
        match (cols.first(), cols.last()) {
            (Some(_), Some(&max)) if max < left_width => Some(true),
            (Some(&min), Some(_)) if min >= left_width => Some(false),
            _ => None,
        }
    };
    let shift = |e: &Expr| shift_columns(e.clone(), -(left_width as isize));
    match (side(left)?, side(right)?) {
        (true, false) => Some(((**left).clone(), shift(right))),
        (false, true) => Some(((**right).clone(), shift(left))),
        _ => None,
    }
}

/// The input columns an expression reads directly, ascending.
pub(crate) fn columns(expr: &Expr) -> BTreeSet<usize> {
    let mut set = BTreeSet::new();
    expr.columns_used(&mut |c| {
        set.insert(c);
    });
    set
}

/// Rewrites every direct column reference `i` to `f(i)` (subquery plans are
/// not touched: see the module doc).
pub(crate) fn remap_columns(expr: Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    match expr {
        Expr::Column(i, ty) => Expr::Column(f(i), ty),
        e => e.map_children(&mut |c| remap_columns(c, f)),
    }
}

/// Moves every direct column reference by `delta` positions.
pub(crate) fn shift_columns(expr: Expr, delta: isize) -> Expr {
    remap_columns(expr, &|i| i.wrapping_add_signed(delta))
}

/// Replaces every direct column reference `i` by `exprs[i]`, moving an
/// expression over a projection's output to one over its input.
pub(crate) fn substitute(expr: Expr, exprs: &[Expr]) -> Expr {
    match expr {
        Expr::Column(i, ty) => exprs.get(i).cloned().unwrap_or(Expr::Column(i, ty)),
        e => e.map_children(&mut |c| substitute(c, exprs)),
    }
}

/// True when `pred` anywhere holds a function that may return different
/// values for the same arguments.
pub(crate) fn is_volatile(expr: &Expr) -> bool {
    let mut volatile = matches!(expr, Expr::Function { func, .. } if func.is_volatile());
    if !volatile {
        expr.for_each_child(&mut |c| volatile |= is_volatile(c));
    }
    volatile
}

/// True when the expression holds a subquery.
pub(crate) fn has_subquery(expr: &Expr) -> bool {
    let mut found = matches!(expr, Expr::Subquery(_));
    if !found {
        expr.for_each_child(&mut |c| found |= has_subquery(c));
    }
    found
}

/// True when the expression holds a subquery that reads the evaluating row.
pub(crate) fn has_correlated_subquery(expr: &Expr) -> bool {
    let mut found = match expr {
        Expr::Subquery(s) => is_correlated(s),
        _ => false,
    };
    if !found {
        expr.for_each_child(&mut |c| found |= has_correlated_subquery(c));
    }
    found
}

/// A subquery reads its evaluating row when the binder says so or when its
/// plan (at any nesting) holds an outer reference reaching that row.
fn is_correlated(sub: &Subquery) -> bool {
    sub.correlated || plan_reads_outer(&sub.plan, 0)
}

/// True when `plan` holds an `Outer` reference `depth` levels out of it.
fn plan_reads_outer(plan: &Node, depth: usize) -> bool {
    let mut found = false;
    for_each_node(plan, &mut |n| {
        for_each_expr(n, &mut |e| found |= expr_reads_outer(e, depth));
    });
    found
}

fn expr_reads_outer(expr: &Expr, depth: usize) -> bool {
    let mut found = match expr {
        Expr::Outer { depth: d, .. } => *d == depth,
        Expr::Subquery(s) => plan_reads_outer(&s.plan, depth + 1),
        _ => false,
    };
    if !found {
        expr.for_each_child(&mut |c| found |= expr_reads_outer(c, depth));
    }
    found
}

/// True for a literal TRUE.
pub(crate) fn is_true(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(Value::Bool(true), _))
}

/// True for a literal FALSE or NULL: a predicate that keeps no row.
pub(crate) fn is_false_or_null(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(Value::Bool(false) | Value::Null, _))
}

/// The types of a node's output columns (`Unknown` where the plan no longer
/// says, e.g. under an `Empty` node).
pub(crate) fn output_types(node: &Node) -> Vec<DataType> {
    match node {
        Node::Values { rows, width } => match rows.first() {
            Some(r) => r.iter().map(Expr::ty).collect(),
            None => vec![DataType::Unknown; *width],
        },
        Node::Empty { width } => vec![DataType::Unknown; *width],
        Node::TableFunction { ty, ordinality, .. } => {
            let mut types = vec![ty.clone()];
            if *ordinality {
                types.push(DataType::Int8);
            }
            types
        }
        Node::ProjectSet { input, calls } => {
            let mut types = output_types(input);
            types.extend(calls.iter().map(|c| c.ty.clone()));
            types
        }
        Node::Scan { table, .. } | Node::IndexScan { table, .. } | Node::VectorSearch { table, .. } => {
            table.columns.iter().map(|c| c.ty.clone()).collect()
        }
        Node::Filter { input, .. }
        | Node::Sort { input, .. }
        | Node::TopN { input, .. }
        | Node::Limit { input, .. }
        | Node::Distinct { input } => output_types(input),
        Node::Project { exprs, .. } => exprs.iter().map(Expr::ty).collect(),
        Node::NestedLoopJoin { left, right, kind, .. } | Node::HashJoin { left, right, kind, .. } => {
            let mut types = output_types(left);
            if !matches!(kind, JoinKind::Semi | JoinKind::Anti) {
                types.extend(output_types(right));
            }
            types
        }
        Node::LookupJoin { left, table, kind, .. } => {
            let mut types = output_types(left);
            if !matches!(kind, JoinKind::Semi | JoinKind::Anti) {
                types.extend(table.columns.iter().map(|c| c.ty.clone()));
            }
            types
        }
        Node::Aggregate { group_by, aggregates, .. } => {
            group_by.iter().map(Expr::ty).chain(aggregates.iter().map(|a| a.ty.clone())).collect()
        }
        Node::SetOp { left, .. } => output_types(left),
        Node::Insert { returning, .. } | Node::Update { returning, .. } | Node::Delete { returning, .. } => {
            returning.iter().flatten().map(Expr::ty).collect()
        }
    }
}

/// True when the two types compare and hash alike as values: equal, or both
/// integers (every width is `Value::Int`), or both strings.
pub(crate) fn same_value_domain(a: &DataType, b: &DataType) -> bool {
    a == b || (a.is_integer() && b.is_integer()) || (a.is_string() && b.is_string())
}

#[cfg(test)]
mod tests {
    use super::{and_all, columns, conjuncts, has_correlated_subquery, has_subquery, shift_columns, substitute};
    use crate::plan::optimizer::testutil::*;

    #[test]
    fn conjuncts_split_nested_ands_in_order() {
        let e = and(and(eq(col(0), int(1)), eq(col(1), int(2))), and(eq(col(2), int(3)), eq(col(3), int(4))));
        let parts = conjuncts(e);
        assert_eq!(parts, vec![eq(col(0), int(1)), eq(col(1), int(2)), eq(col(2), int(3)), eq(col(3), int(4))]);
        let back = and_all(parts.clone()).unwrap();
        assert_eq!(conjuncts(back), parts);
        assert_eq!(and_all(vec![]), None);
    }

    #[test]
    fn remap_and_substitute_touch_only_columns() {
        let e = eq(add(col(1), param(0)), col(3));
        assert_eq!(shift_columns(e.clone(), -1), eq(add(col(0), param(0)), col(2)));
        assert_eq!(columns(&e).into_iter().collect::<Vec<_>>(), vec![1, 3]);
        let sub = substitute(e, &[int(9), add(col(5), int(1)), int(9), col(7)]);
        assert_eq!(sub, eq(add(add(col(5), int(1)), param(0)), col(7)));
    }

    #[test]
    fn correlation_is_found_in_nested_plans() {
        let uncorrelated = exists(values_one(), false);
        assert!(has_subquery(&uncorrelated));
        assert!(!has_correlated_subquery(&uncorrelated));
        // A subquery whose own subquery reaches two levels out reads our row.
        let inner = exists(filter(values_one(), eq(outer(1, 0), int(1))), false);
        let outer_sub = exists(filter(values_one(), inner), false);
        assert!(has_correlated_subquery(&outer_sub));
        // depth 0 inside the nested one refers to the middle query only.
        let inner = exists(filter(values_one(), eq(outer(0, 0), int(1))), false);
        let outer_sub = exists(filter(values_one(), inner), false);
        assert!(!has_correlated_subquery(&outer_sub));
    }
}
