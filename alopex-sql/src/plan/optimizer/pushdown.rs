//! Predicate pushdown.
//!
//! The binder puts the whole WHERE clause in one filter above a tree of
//! cross joins. This rule splits every predicate into AND conjuncts and
//! carries each down the tree as far as it can legally go, so rows are
//! dropped as early as possible: into a scan's filter (evaluated while rows
//! are read, and later turned into key ranges by `index_select`), into the
//! predicate of the join that first has all its columns (where `hash_join`
//! finds equalities), or, failing that, into a filter right above the
//! lowest node it cannot pass.
//!
//! The walk is top-down: [`push`] receives a node and the conjuncts that
//! must hold on the node's output, and returns an equivalent tree. What may
//! pass which node:
//!
//! - **Filter**: merged with the conjuncts from above.
//! - **Project**: a conjunct is rewritten in terms of the projection's input
//!   by substituting the projected expressions, if those it reads are
//!   deterministic and hold no subquery (which would then run twice).
//! - **Inner join**: conjuncts over one side go to that side; conjuncts over
//!   both become the join predicate.
//! - **Outer joins**: for a LEFT join a conjunct from above over left columns
//!   only goes left; one over right columns stays above, unless it rejects
//!   NULLs there (it cannot be TRUE on a NULL-extended row) — then no
//!   NULL-extended row survives anyway, the join becomes INNER, and the
//!   conjuncts are distributed as for one. ON conjuncts over the right side
//!   only go into the right input (restricting what can match), never the
//!   preserved side. RIGHT is the mirror image; FULL becomes LEFT, RIGHT or
//!   INNER by the same null-rejection test.
//! - **Semi/anti join**: the output is the left row, so conjuncts from above
//!   go left; ON conjuncts over the right side go right; a semi join's ON
//!   conjuncts over the left side go left.
//! - **Aggregate** (with GROUP BY): conjuncts over group-by columns only,
//!   rewritten to the group expressions.
//! - **Sort** passes everything; **Distinct** passes deterministic
//!   conjuncts; Limit, TopN, set operations and DML stop everything.
//!
//! A conjunct with a correlated subquery never changes layout: the
//! subquery's plan reads the evaluating row through `Outer` references that
//! this rule does not rewrite. It may still pass nodes whose output row *is*
//! their input row (filter, sort, distinct, the left side of a semi/anti
//! join) and enter a scan's filter.

use std::collections::BTreeSet;

use crate::error::Result;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node};

use super::Ctx;
use super::layout::{
    and_all, columns, conjuncts, has_correlated_subquery, has_subquery, is_volatile, shift_columns, substitute,
};
use super::walk::map_inputs;

/// The pushdown rule.
pub(super) fn pushdown(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    push(node, Vec::new())
}

/// `node` filtered by `preds` (conjuncts over its output), with every
/// conjunct as deep as it can go.
fn push(node: Node, preds: Vec<Expr>) -> Result<Node> {
    Ok(match node {
        Node::Filter { input, predicate } => {
            let mut all = conjuncts(predicate);
            all.extend(preds);
            push(*input, all)?
        }
        Node::Scan { table, alias, range, reverse, filter } => {
            Node::Scan { table, alias, range, reverse, filter: merge(filter, preds) }
        }
        Node::IndexScan { table, alias, index, range, reverse, filter } => {
            Node::IndexScan { table, alias, index, range, reverse, filter: merge(filter, preds) }
        }
        Node::Project { input, exprs } => {
            let (down, stay): (Vec<_>, Vec<_>) =
                preds.into_iter().partition(|p| !has_correlated_subquery(p) && reads_only_plain(p, &exprs));
            let down = down.into_iter().map(|p| substitute(p, &exprs)).collect();
            with_filter(Node::Project { input: Box::new(push(*input, down)?), exprs }, stay)
        }
        Node::Aggregate { input, group_by, aggregates } => {
            let (down, stay): (Vec<_>, Vec<_>) = preds
                .into_iter()
                .partition(|p| !group_by.is_empty() && !has_correlated_subquery(p) && reads_only_plain(p, &group_by));
            let down = down.into_iter().map(|p| substitute(p, &group_by)).collect();
            with_filter(Node::Aggregate { input: Box::new(push(*input, down)?), group_by, aggregates }, stay)
        }
        Node::Sort { input, keys } => Node::Sort { input: Box::new(push(*input, preds)?), keys },
        Node::Distinct { input } => {
            let (stay, down): (Vec<_>, Vec<_>) = preds.into_iter().partition(is_volatile);
            with_filter(Node::Distinct { input: Box::new(push(*input, down)?) }, stay)
        }
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            let on = predicate.map(conjuncts).unwrap_or_default();
            push_join(*left, *right, kind, on, preds, &mut |left, right, kind, on| Node::NestedLoopJoin {
                left: Box::new(left),
                right: Box::new(right),
                kind,
                predicate: and_all(on),
            })?
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let on = residual.map(conjuncts).unwrap_or_default();
            let mut keys = Some((left_keys, right_keys));
            push_join(*left, *right, kind, on, preds, &mut |left, right, kind, on| {
                let (left_keys, right_keys) = keys.take().unwrap_or_default();
                Node::HashJoin {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind,
                    left_keys,
                    right_keys,
                    residual: and_all(on),
                }
            })?
        }
        other => {
            // Nothing passes; the inputs start afresh.
            with_filter(map_inputs(other, &mut |n| push(n, Vec::new()))?, preds)
        }
    })
}

/// A scan filter with more conjuncts appended.
fn merge(filter: Option<Expr>, preds: Vec<Expr>) -> Option<Expr> {
    let mut all = filter.map(conjuncts).unwrap_or_default();
    all.extend(preds);
    and_all(all)
}

/// `node` under a filter of `preds` (none when empty).
fn with_filter(node: Node, preds: Vec<Expr>) -> Node {
    match and_all(preds) {
        Some(predicate) => Node::Filter { input: Box::new(node), predicate },
        None => node,
    }
}

/// True when every column `pred` reads is produced by an expression that is
/// safe to evaluate in the conjunct's place (deterministic, no subquery).
fn reads_only_plain(pred: &Expr, produced: &[Expr]) -> bool {
    columns(pred).into_iter().all(|c| produced.get(c).is_some_and(|e| !is_volatile(e) && !has_subquery(e)))
}

/// Where a conjunct's columns lie relative to a join's two inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// No column at all.
    Neither,
    /// Left columns only.
    Left,
    /// Right columns only.
    Right,
    /// Both sides.
    Both,
}

fn side_of(cols: &BTreeSet<usize>, left_width: usize) -> Side {
    match (cols.first(), cols.last()) {
        (None, _) | (_, None) => Side::Neither,
        (Some(_), Some(&max)) if max < left_width => Side::Left,
        (Some(&min), Some(_)) if min >= left_width => Side::Right,
        _ => Side::Both,
    }
}

type Rebuild<'a> = dyn FnMut(Node, Node, JoinKind, Vec<Expr>) -> Node + 'a;

/// Distributes the join's own conjuncts (`on`) and the conjuncts from above
/// (`above`) between the two inputs, the join predicate and a filter above.
fn push_join(
    left: Node,
    right: Node,
    kind: JoinKind,
    on: Vec<Expr>,
    above: Vec<Expr>,
    rebuild: &mut Rebuild<'_>,
) -> Result<Node> {
    let lw = left.width();
    let total = lw + right.width();
    let kind = strengthen(kind, &above, lw, total);
    let mut to_left = Vec::new();
    let mut to_right = Vec::new();
    let mut keep_on = Vec::new();
    let mut stay = Vec::new();

    for p in above {
        let side = side_of(&columns(&p), lw);
        let correlated = has_correlated_subquery(&p);
        match kind {
            // Semi/anti output is the left row itself: same layout.
            JoinKind::Semi | JoinKind::Anti => to_left.push(p),
            _ if correlated => stay.push(p),
            JoinKind::Inner => match side {
                Side::Neither | Side::Left => to_left.push(p),
                Side::Right => to_right.push(shift_columns(p, -(lw as isize))),
                Side::Both => keep_on.push(p),
            },
            JoinKind::Left if matches!(side, Side::Neither | Side::Left) => to_left.push(p),
            JoinKind::Right if side == Side::Right => to_right.push(shift_columns(p, -(lw as isize))),
            JoinKind::Right if side == Side::Neither => to_right.push(p),
            _ => stay.push(p),
        }
    }
    for p in on {
        let side = side_of(&columns(&p), lw);
        if has_correlated_subquery(&p) {
            keep_on.push(p);
            continue;
        }
        match (kind, side) {
            (JoinKind::Inner | JoinKind::Semi, Side::Left | Side::Neither) => to_left.push(p),
            (JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti, Side::Right | Side::Neither) => {
                to_right.push(shift_columns(p, -(lw as isize)))
            }
            (JoinKind::Right, Side::Left | Side::Neither) => to_left.push(p),
            _ => keep_on.push(p),
        }
    }
    let left = push(left, to_left)?;
    let right = push(right, to_right)?;
    Ok(with_filter(rebuild(left, right, kind, keep_on), stay))
}

/// The join kind after the conjuncts above it are taken into account: a
/// conjunct that rejects NULLs on a side removes the NULL-extended rows of
/// that side, so the outer join no longer needs to produce them.
fn strengthen(kind: JoinKind, above: &[Expr], lw: usize, total: usize) -> JoinKind {
    let rejects = |range: std::ops::Range<usize>| above.iter().any(|p| rejects_nulls(p, &range));
    match kind {
        JoinKind::Left if rejects(lw..total) => JoinKind::Inner,
        JoinKind::Right if rejects(0..lw) => JoinKind::Inner,
        JoinKind::Full => match (rejects(0..lw), rejects(lw..total)) {
            (true, true) => JoinKind::Inner,
            (true, false) => JoinKind::Left,
            (false, true) => JoinKind::Right,
            (false, false) => JoinKind::Full,
        },
        k => k,
    }
}

/// True when `pred` cannot be TRUE on a row whose columns in `range` are
/// all NULL.
fn rejects_nulls(pred: &Expr, range: &std::ops::Range<usize>) -> bool {
    if null_when_null(pred, range) {
        return true;
    }
    match pred {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            rejects_nulls(left, range) || rejects_nulls(right, range)
        }
        Expr::Binary { op: BinaryOp::Or, left, right, .. } => rejects_nulls(left, range) && rejects_nulls(right, range),
        Expr::IsNull { expr, negated: true } => null_when_null(expr, range),
        Expr::IsBool { expr, value: Some(true), negated: false } => rejects_nulls(expr, range),
        Expr::IsBool { expr, value: Some(false), negated: false } => null_when_null(expr, range),
        _ => false,
    }
}

/// True when `expr` is certainly NULL on a row whose columns in `range` are
/// all NULL (a strict operator over such a column).
fn null_when_null(expr: &Expr, range: &std::ops::Range<usize>) -> bool {
    match expr {
        Expr::Column(i, _) => range.contains(i),
        Expr::Binary { op: BinaryOp::And | BinaryOp::Or, left, right, .. } => {
            null_when_null(left, range) && null_when_null(right, range)
        }
        Expr::Binary { op: BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom, .. } => false,
        Expr::Binary { left, right, .. } => null_when_null(left, range) || null_when_null(right, range),
        Expr::Unary { expr, .. } | Expr::Cast { expr, .. } => null_when_null(expr, range),
        Expr::Like { expr, pattern, .. } => null_when_null(expr, range) || null_when_null(pattern, range),
        Expr::InList { expr, list, .. } => !list.is_empty() && null_when_null(expr, range),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::optimizer::testutil::*;

    fn run(n: Node) -> Node {
        pushdown(n, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    #[test]
    fn where_over_cross_join_splits_into_scans_and_join_predicate() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        // WHERE t1.a = 1 AND t1.b = t2.b AND t2.c > $1
        let plan = project(
            filter(cross(scan(&t1), scan(&t2)), and(and(eq(col(0), int(1)), eq(col(1), col(4))), gt(col(5), param(0)))),
            vec![col(2)],
        );
        let expected = project(
            join(
                scan_f(&t1, eq(col(0), int(1))),
                scan_f(&t2, gt(col(2), param(0))),
                JoinKind::Inner,
                Some(eq(col(1), col(4))),
            ),
            vec![col(2)],
        );
        assert_eq!(run(plan), expected);
    }

    #[test]
    fn nested_joins_place_conjuncts_at_the_lowest_join() {
        let (t1, t2, t3) = (abc(1, "t1"), abc(2, "t2"), abc(3, "t3"));
        let plan = filter(cross(cross(scan(&t1), scan(&t2)), scan(&t3)), and(eq(col(0), col(3)), eq(col(4), col(6))));
        let expected = join(
            join(scan(&t1), scan(&t2), JoinKind::Inner, Some(eq(col(0), col(3)))),
            scan(&t3),
            JoinKind::Inner,
            Some(eq(col(4), col(6))),
        );
        assert_eq!(run(plan), expected);
    }

    #[test]
    fn filters_pass_projections_by_substitution() {
        let t = abc(1, "t");
        // SELECT * FROM (SELECT a + 1 AS x, c FROM t) WHERE x = 5 AND c < 3
        let plan =
            filter(project(scan(&t), vec![add(col(0), int(1)), col(2)]), and(eq(col(0), int(5)), lt(col(1), int(3))));
        let expected = project(
            scan_f(&t, and(eq(add(col(0), int(1)), int(5)), lt(col(2), int(3)))),
            vec![add(col(0), int(1)), col(2)],
        );
        assert_eq!(run(plan), expected);
        // A projected subquery is not duplicated below.
        let plan = filter(project(scan(&t), vec![exists(values_one(), false)]), colt(0, crate::types::DataType::Bool));
        assert_eq!(run(plan.clone()), plan);
    }

    #[test]
    fn left_join_pushes_left_conjuncts_and_keeps_right_ones_above() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        let lj = |l: Node, r: Node, on: Expr| join(l, r, JoinKind::Left, Some(on));
        // ON t1.a = t2.a AND t2.b = 7 WHERE t1.c = 1 AND t2.c IS NULL
        let plan = filter(
            lj(scan(&t1), scan(&t2), and(eq(col(0), col(3)), eq(col(4), int(7)))),
            and(eq(col(2), int(1)), Expr::IsNull { expr: Box::new(col(5)), negated: false }),
        );
        let expected = filter(
            lj(scan_f(&t1, eq(col(2), int(1))), scan_f(&t2, eq(col(1), int(7))), eq(col(0), col(3))),
            Expr::IsNull { expr: Box::new(col(5)), negated: false },
        );
        assert_eq!(run(plan), expected);
        // ON t1.a = 1 (left side) must stay in ON: left rows are preserved.
        let plan = lj(scan(&t1), scan(&t2), and(eq(col(0), col(3)), eq(col(0), int(1))));
        assert_eq!(run(plan.clone()), plan);
    }

    #[test]
    fn null_rejecting_filter_turns_left_join_inner() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        // ... LEFT JOIN t2 ON t1.a = t2.a WHERE t2.b > 3
        let plan = filter(join(scan(&t1), scan(&t2), JoinKind::Left, Some(eq(col(0), col(3)))), gt(col(4), int(3)));
        let expected = join(scan(&t1), scan_f(&t2, gt(col(1), int(3))), JoinKind::Inner, Some(eq(col(0), col(3))));
        assert_eq!(run(plan), expected);
        // t2.b IS NULL OR t1.a = 1 does not reject NULLs on t2.
        let p = or(Expr::IsNull { expr: Box::new(col(4)), negated: false }, eq(col(0), int(1)));
        let plan = filter(join(scan(&t1), scan(&t2), JoinKind::Left, Some(eq(col(0), col(3)))), p);
        assert_eq!(run(plan.clone()), plan);
    }

    #[test]
    fn full_join_becomes_left_when_the_right_side_rejects_nulls() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        let plan = filter(join(scan(&t1), scan(&t2), JoinKind::Full, Some(eq(col(0), col(3)))), gt(col(4), int(3)));
        // Rows with t2 all NULL are the left-only rows; dropping them leaves
        // matched and right-only rows: a RIGHT join, and the conjunct over
        // the preserved right side then goes into the right input.
        let expected = join(scan(&t1), scan_f(&t2, gt(col(1), int(3))), JoinKind::Right, Some(eq(col(0), col(3))));
        assert_eq!(run(plan), expected);
    }

    #[test]
    fn aggregate_passes_group_key_conjuncts_only() {
        let t = abc(1, "t");
        let agg = |input: Node| Node::Aggregate {
            input: Box::new(input),
            group_by: vec![col(1)],
            aggregates: vec![crate::plan::AggCall {
                func: crate::expr::AggFunc::Sum,
                args: vec![col(2)],
                distinct: false,
                filter: None,
                order_by: vec![],
                ty: crate::types::DataType::Int8,
            }],
        };
        let plan = filter(agg(scan(&t)), and(eq(col(0), int(2)), gt(col(1), int(10))));
        let expected = filter(agg(scan_f(&t, eq(col(1), int(2)))), gt(col(1), int(10)));
        assert_eq!(run(plan), expected);
    }

    #[test]
    fn limit_stops_pushdown_and_correlated_conjuncts_do_not_cross_joins() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        let limited = Node::Limit { input: Box::new(scan(&t1)), limit: Some(int(1)), offset: None };
        let plan = filter(limited.clone(), eq(col(0), int(1)));
        assert_eq!(run(plan.clone()), plan);
        // WHERE EXISTS (... t2.b ...) over a join stays above the join...
        let corr = exists(filter(values_one(), eq(outer(0, 4), int(1))), true);
        let plan = filter(cross(scan(&t1), scan(&t2)), corr.clone());
        assert_eq!(run(plan.clone()), plan);
        // ...but may enter a scan filter directly below it, and uncorrelated
        // ones go to the left input.
        let plan = filter(scan(&t1), corr.clone());
        assert_eq!(run(plan), scan_f(&t1, corr));
        let unc = exists(values_one(), false);
        let plan = filter(cross(scan(&t1), scan(&t2)), unc.clone());
        assert_eq!(run(plan), cross(scan_f(&t1, unc), scan(&t2)));
    }

    #[test]
    fn semi_join_takes_conjuncts_from_above_into_its_left_input() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        let plan = filter(
            join(scan(&t1), scan(&t2), JoinKind::Semi, Some(and(eq(col(0), col(3)), lt(col(5), int(4))))),
            eq(col(1), int(9)),
        );
        let expected = join(
            scan_f(&t1, eq(col(1), int(9))),
            scan_f(&t2, lt(col(2), int(4))),
            JoinKind::Semi,
            Some(eq(col(0), col(3))),
        );
        assert_eq!(run(plan), expected);
    }
}
