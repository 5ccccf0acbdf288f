//! Decorrelation: correlated `[NOT] EXISTS` subqueries become semi- and
//! anti-joins.
//!
//! Evaluated as written, `WHERE EXISTS (SELECT 1 FROM b WHERE b.x = a.id)`
//! runs the subquery once per row of `a`: with a thousand rows on each side
//! that is a million inner rows read. When the correlation is a set of
//! conjuncts in the subquery's own filter that refer to the outer row only
//! directly (depth 0), the subquery is a join in disguise: its filter minus
//! those conjuncts is an uncorrelated inner input, and the correlated
//! conjuncts, with outer references turned into left-side columns and inner
//! columns shifted past them, are the join predicate. `EXISTS` becomes a
//! `Semi` join, `NOT EXISTS` an `Anti` join; hash-join selection then turns
//! equality predicates into hash joins, so the inner side is read once.
//!
//! The answer is unchanged, NULLs included: EXISTS is never NULL, a NULL
//! join key matches nothing (so EXISTS is false and NOT EXISTS true for that
//! row), and the subquery's select list, which EXISTS never evaluates, is
//! dropped. Anything else, a correlation below a join or aggregate, a
//! reference two levels out, a LIMIT, is left for per-row evaluation.

use super::Ctx;
use super::layout::{and_all, conjuncts};
use super::walk::{for_each_expr, for_each_node, transform_up};
use crate::error::Result;
use crate::expr::{Expr, SubqueryKind};
use crate::plan::{JoinKind, Node};

/// The rule: rewrites filters (and scan filters) holding correlated EXISTS
/// conjuncts into semi/anti joins.
pub(super) fn decorrelate(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| Ok(rewrite(n)))
}

fn rewrite(node: Node) -> Node {
    match node {
        Node::Filter { input, predicate } => {
            let width = input.width();
            let (joins, rest) = extract(conjuncts(predicate), width);
            let joined = joins.into_iter().fold(*input, |left, j| j.apply(left));
            match and_all(rest) {
                Some(predicate) => Node::Filter { input: Box::new(joined), predicate },
                None => joined,
            }
        }
        Node::Scan { table, alias, range, reverse, filter: Some(filter) } => {
            let width = table.columns.len();
            let (joins, rest) = extract(conjuncts(filter), width);
            let scan = Node::Scan { table, alias, range, reverse, filter: and_all(rest) };
            joins.into_iter().fold(scan, |left, j| j.apply(left))
        }
        Node::IndexScan { table, alias, index, range, reverse, filter: Some(filter) } => {
            let width = table.columns.len();
            let (joins, rest) = extract(conjuncts(filter), width);
            let scan = Node::IndexScan { table, alias, index, range, reverse, filter: and_all(rest) };
            joins.into_iter().fold(scan, |left, j| j.apply(left))
        }
        other => other,
    }
}

/// A subquery turned into a join with the outer rows.
struct SemiJoin {
    inner: Node,
    kind: JoinKind,
    predicate: Expr,
}

impl SemiJoin {
    fn apply(self, left: Node) -> Node {
        Node::NestedLoopJoin {
            left: Box::new(left),
            right: Box::new(self.inner),
            kind: self.kind,
            predicate: Some(self.predicate),
        }
    }
}

/// Splits conjuncts over rows of `width` values into decorrelated joins and
/// the conjuncts that stay.
fn extract(conjs: Vec<Expr>, width: usize) -> (Vec<SemiJoin>, Vec<Expr>) {
    let mut joins = Vec::new();
    let mut rest = Vec::new();
    for conj in conjs {
        match as_semi_join(&conj, width) {
            Some(join) => joins.push(join),
            None => rest.push(conj),
        }
    }
    (joins, rest)
}

fn as_semi_join(conj: &Expr, width: usize) -> Option<SemiJoin> {
    let Expr::Subquery(sub) = conj else { return None };
    let SubqueryKind::Exists { negated } = sub.kind else { return None };
    if !sub.correlated {
        return None;
    }
    // EXISTS never evaluates the select list.
    let mut plan = sub.plan.clone();
    while let Node::Project { input, .. } = plan {
        plan = *input;
    }
    let (base, filter) = match plan {
        Node::Filter { input, predicate } => (*input, predicate),
        Node::Scan { table, alias, range, reverse, filter: Some(f) } => {
            (Node::Scan { table, alias, range, reverse, filter: None }, f)
        }
        _ => return None,
    };
    let mut inner_conjs = Vec::new();
    let mut correlated = Vec::new();
    for c in conjuncts(filter) {
        if !mentions_outer(&c) {
            inner_conjs.push(c);
        } else if only_direct_outer(&c) {
            correlated.push(c);
        } else {
            return None;
        }
    }
    if correlated.is_empty() || plan_mentions_outer(&base) || inner_conjs.iter().any(mentions_outer) {
        return None;
    }
    let inner = match (base, and_all(inner_conjs)) {
        (Node::Scan { table, alias, range, reverse, filter: None }, f) => {
            Node::Scan { table, alias, range, reverse, filter: f }
        }
        (base, Some(predicate)) => Node::Filter { input: Box::new(base), predicate },
        (base, None) => base,
    };
    let predicate = and_all(correlated.into_iter().map(|c| to_join_predicate(c, width)).collect())?;
    Some(SemiJoin { inner, kind: if negated { JoinKind::Anti } else { JoinKind::Semi }, predicate })
}

/// Rewrites a correlated conjunct over the inner row into a predicate over
/// `left ++ inner`: outer references (depth 0) become left columns, inner
/// columns move past the left row's `width` values.
fn to_join_predicate(expr: Expr, width: usize) -> Expr {
    match expr {
        Expr::Outer { depth: 0, index, ty } => Expr::Column(index, ty),
        Expr::Column(i, ty) => Expr::Column(i + width, ty),
        e => e.map_children(&mut |c| to_join_predicate(c, width)),
    }
}

/// True when the expression refers to an enclosing row, directly or from a
/// subquery inside it.
fn mentions_outer(expr: &Expr) -> bool {
    let mut found = matches!(expr, Expr::Outer { .. });
    if let Expr::Subquery(s) = expr {
        found |= plan_mentions_outer(&s.plan);
    }
    expr.for_each_child(&mut |c| found |= mentions_outer(c));
    found
}

/// True when the expression's outer references are all direct (depth 0,
/// not inside a nested subquery).
fn only_direct_outer(expr: &Expr) -> bool {
    let mut ok = match expr {
        Expr::Outer { depth, .. } => *depth == 0,
        Expr::Subquery(_) => false,
        _ => true,
    };
    expr.for_each_child(&mut |c| ok &= only_direct_outer(c));
    ok
}

/// True when any expression anywhere in the plan refers to an enclosing row
/// (conservative: a nested subquery's reference to its own parent counts).
fn plan_mentions_outer(plan: &Node) -> bool {
    let mut found = false;
    for_each_node(plan, &mut |n| {
        for_each_expr(n, &mut |e| found |= mentions_outer(e));
    });
    found
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn rule(node: Node) -> Node {
        decorrelate(node, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    #[test]
    fn correlated_exists_becomes_a_semi_join_and_not_exists_an_anti_join() {
        let a = abc(1, "a");
        let b = abc(2, "b");
        for negated in [false, true] {
            // SELECT * FROM a WHERE [NOT] EXISTS (SELECT 1 FROM b WHERE b.a = a.b AND b.c > 3)
            let inner = filter(scan(&b), and(eq(col(0), outer(0, 1)), gt(col(2), int(3))));
            let Expr::Subquery(sub) = exists(inner, true) else { unreachable!() };
            let mut sub = std::sync::Arc::unwrap_or_clone(sub);
            sub.kind = SubqueryKind::Exists { negated };
            let out = rule(filter(scan(&a), Expr::Subquery(std::sync::Arc::new(sub))));
            let want_kind = if negated { JoinKind::Anti } else { JoinKind::Semi };
            let Node::NestedLoopJoin { kind, predicate: Some(p), right, .. } = out else { panic!("{out:?}") };
            assert_eq!(kind, want_kind);
            // a has 3 columns: b.a (0) moves to 3, a.b (outer 1) becomes column 1.
            assert_eq!(p, eq(col(3), col(1)));
            // The uncorrelated conjunct stays with the inner scan.
            assert!(matches!(*right, Node::Scan { filter: Some(_), .. }), "{right:?}");
        }
    }

    #[test]
    fn two_level_references_and_uncorrelated_subqueries_stay() {
        let a = abc(1, "a");
        let b = abc(2, "b");
        let deep = exists(filter(scan(&b), eq(col(0), outer(1, 0))), true);
        let plan = filter(scan(&a), deep.clone());
        assert_eq!(rule(plan.clone()), plan);
        let plain = exists(filter(scan(&b), eq(col(0), int(1))), false);
        let plan = filter(scan(&a), plain);
        assert_eq!(rule(plan.clone()), plan);
    }
}
