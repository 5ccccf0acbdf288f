//! The rule-based optimizer.
//!
//! The binder produces a plain tree: scans, cross joins, one filter with the
//! whole WHERE clause, aggregate, project, sort, limit. The optimizer turns
//! it into something that runs well with a fixed, ordered list of rules
//! (`RULES`). Each rule is a pure function from a tree to a tree that
//! handles the whole tree itself (rules that need it iterate internally);
//! they run once each, in order, because each one prepares the ground for
//! the next:
//!
//! 1. `fold` evaluates constant subexpressions, so later rules see
//!    literals (a key range needs `a = 3`, not `a = 1 + 2`), and removes
//!    filters that are always true and subtrees under filters that are
//!    never true;
//! 2. `pushdown` splits predicates into conjuncts and moves each as deep
//!    as it can go: into join predicates and scan filters;
//! 3. `decorrelate` turns correlated `[NOT] EXISTS` conjuncts into semi-
//!    and anti-joins, so the subquery is read once, not once per row;
//! 4. `join_order` reorders trees of inner joins greedily so that every
//!    join has a join predicate and intermediate results stay small;
//! 5. `hash_join` turns nested-loop joins with equality conjuncts into
//!    hash joins;
//! 6. `vector_search` answers `ORDER BY vec <-> q LIMIT k` from an HNSW
//!    index where one matches (before `index_select`, so it sees the whole
//!    filter and can weigh a graph walk against the exact plan);
//! 7. `index_select` turns scan filters into primary-key or index ranges;
//! 8. `lookup_join` turns joins whose build side is a full scan of a large
//!    table, keyed on its primary key or an index, into lookup joins that
//!    fetch each left row's matches by key (after `index_select`, so both
//!    sides' ranges are known);
//! 9. `limit` turns LIMIT over ORDER BY into a bounded top-N;
//! 10. `prune` removes projections that do nothing (including the one a
//!     swapped lookup join leaves when the SELECT list is above it).
//!
//! Subquery plans inside expressions are optimized first, with the same
//! list: their outer references are not columns, so to the rules they look
//! like parameters.
//!
//! Rules are deterministic (no hash-map iteration order, ties broken by
//! position) so plans are stable for golden EXPLAIN tests. No rule may raise
//! an error a query would not raise when run: constant folding leaves a
//! failing expression (`1/0`) in place for the executor.

mod decorrelate;
mod fold;
mod hash_join;
mod index_select;
mod join_order;
mod layout;
mod limit;
mod lookup_join;
mod prune;
mod pushdown;
mod vector_search;
mod walk;

#[cfg(test)]
mod equivalence_tests;
#[cfg(test)]
mod testutil;

use std::sync::Arc;

use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;

/// Table statistics the optimizer may use.
pub trait Statistics {
    /// The estimated row count of a table, if known.
    fn row_count(&self, table_id: u64) -> Option<u64>;
}

/// What every rule may consult besides the tree.
pub(crate) struct Ctx<'a> {
    /// Table statistics.
    pub stats: &'a dyn Statistics,
}

/// A rewrite of a whole plan tree.
type Rule = fn(Node, &Ctx<'_>) -> Result<Node>;

/// The rules, in the order they run (see the module doc for why).
const RULES: &[(&str, Rule)] = &[
    ("fold", fold::fold),
    ("pushdown", pushdown::pushdown),
    ("decorrelate", decorrelate::decorrelate),
    ("join_order", join_order::join_order),
    ("hash_join", hash_join::hash_join),
    ("vector_search", vector_search::vector_search),
    ("index_select", index_select::index_select),
    ("lookup_join", lookup_join::lookup_join),
    ("limit", limit::limit),
    ("prune", prune::prune),
];

/// Optimizes a plan tree.
pub fn optimize(node: Node, stats: &dyn Statistics) -> Result<Node> {
    let cx = Ctx { stats };
    let node = optimize_subqueries(node, &cx)?;
    RULES.iter().try_fold(node, |node, (_, rule)| rule(node, &cx))
}

/// Optimizes the plan of every subquery held by an expression of the tree.
fn optimize_subqueries(node: Node, cx: &Ctx<'_>) -> Result<Node> {
    walk::transform_up(node, &mut |n| walk::map_exprs(n, &mut |e| optimize_expr_subqueries(e, cx)))
}

fn optimize_expr_subqueries(expr: Expr, cx: &Ctx<'_>) -> Result<Expr> {
    let mut failure = None;
    let expr = expr.map_children(&mut |c| match optimize_expr_subqueries(c, cx) {
        Ok(c) => c,
        Err(e) => {
            failure.get_or_insert(e);
            Expr::Literal(crate::types::Value::Null, crate::types::DataType::Unknown)
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    match expr {
        Expr::Subquery(s) => {
            let mut s = Arc::unwrap_or_clone(s);
            let plan = std::mem::replace(&mut s.plan, Node::Empty { width: 0 });
            let plan = optimize_subqueries(plan, cx)?;
            s.plan = RULES.iter().try_fold(plan, |node, (_, rule)| rule(node, cx))?;
            Ok(Expr::Subquery(Arc::new(s)))
        }
        e => Ok(e),
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::plan::ScanRange;

    #[test]
    fn subquery_plans_are_optimized_too() {
        let t = abc(1, "t");
        // EXISTS (SELECT * FROM t WHERE a = $1): the inner filter becomes a
        // primary-key point lookup.
        let sub = exists(filter(scan(&t), eq(col(0), param(0))), false);
        let plan = filter(values_one(), sub);
        let out = optimize(plan, &MapStats::default()).unwrap();
        let Node::Filter { predicate: Expr::Subquery(s), .. } = out else { panic!("{out:?}") };
        let Node::Scan { range: ScanRange::Points(p), .. } = &s.plan else { panic!("{:?}", s.plan) };
        assert_eq!(p, &vec![vec![param(0)]]);
    }

    /// select5's `join-8-1`: eight tables in scrambled FROM order, a chain
    /// of `a_i = b_j` and one `a57 = 7`.
    #[test]
    fn select5_shape_becomes_hash_joins_from_a_point_lookup() {
        let names = [48u64, 57, 27, 2, 36, 30, 44, 22];
        let tables: Vec<_> = names.iter().map(|&n| abc(n, &format!("t{n}"))).collect();
        let pos = |n: u64| names.iter().position(|&m| m == n).unwrap() * 3;
        let (a, b, x) = (|n| col(pos(n)), |n| col(pos(n) + 1), |n| col(pos(n) + 2));
        let conjuncts = [
            eq(b(30), a(48)),
            eq(b(44), a(27)),
            eq(a(22), b(27)),
            eq(b(22), a(36)),
            eq(b(48), a(57)),
            eq(a(57), int(7)),
            eq(a(30), b(36)),
            eq(a(44), b(2)),
        ];
        let pred = conjuncts.into_iter().reduce(layout::and).unwrap();
        let joined = tables.iter().map(scan).reduce(cross).unwrap();
        let select = [22, 44, 30, 36, 48, 27, 2, 57].map(x).to_vec();
        let plan = project(filter(joined, pred), select);
        let out = optimize(plan, &MapStats::default()).unwrap();

        let mut joins = 0;
        let mut point_lookups = Vec::new();
        walk::for_each_node(&out, &mut |n| match n {
            Node::HashJoin { residual: None, .. } => joins += 1,
            Node::Scan { table, range: ScanRange::Points(p), filter: None, .. } => {
                point_lookups.push((table.name.clone(), p.clone()))
            }
            Node::Scan { range: ScanRange::Full, filter: None, .. } => {}
            other => assert!(matches!(other, Node::Project { .. }), "unexpected {other:#?}"),
        });
        assert_eq!(joins, 7);
        assert_eq!(point_lookups, vec![("t57".to_string(), vec![vec![int(7)]])]);
        // One projection on top: the SELECT list merged with the reorder's.
        let Node::Project { input, exprs } = out else { panic!() };
        assert!(matches!(*input, Node::HashJoin { .. }));
        // It reads each x column where the new join order put its table.
        let mut leaves = Vec::new();
        walk::for_each_node(&input, &mut |n| {
            if let Node::Scan { table, .. } = n {
                leaves.push(table.id)
            }
        });
        let expected: Vec<Expr> = [22, 44, 30, 36, 48, 27, 2, 57]
            .iter()
            .map(|n| col(leaves.iter().position(|l| l == n).unwrap() * 3 + 2))
            .collect();
        assert_eq!(exprs, expected);
    }
}
