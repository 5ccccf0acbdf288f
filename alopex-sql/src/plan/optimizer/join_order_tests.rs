//! Tests of the join-ordering rule.

use std::sync::Arc;

use super::*;
use crate::catalog::TableSchema;
use crate::plan::optimizer::hash_join::hash_join;
use crate::plan::optimizer::layout::and;
use crate::plan::optimizer::pushdown::pushdown;
use crate::plan::optimizer::testutil::*;
use crate::plan::optimizer::walk::for_each_node;

fn ctx(stats: &MapStats) -> Ctx<'_> {
    Ctx { stats }
}

/// pushdown then join_order, as in the rule list.
fn reorder(plan: Node, stats: &MapStats) -> Node {
    let cx = ctx(stats);
    join_order(pushdown(plan, &cx).unwrap(), &cx).unwrap()
}

/// A left-deep chain of cross joins in this order.
fn cross_all(nodes: Vec<Node>) -> Node {
    nodes.into_iter().reduce(cross).unwrap()
}

/// Every join's predicate reads both of its inputs.
fn assert_every_join_connected(plan: &Node) {
    let mut joins = 0;
    for_each_node(plan, &mut |n| match n {
        Node::NestedLoopJoin { left, predicate, .. } => {
            joins += 1;
            let p = predicate.as_ref().unwrap_or_else(|| panic!("cross product in {plan:#?}"));
            let lw = left.width();
            let cols = columns(p);
            assert!(cols.iter().any(|&c| c < lw) && cols.iter().any(|&c| c >= lw), "join predicate {p:?} is one-sided");
        }
        Node::HashJoin { left_keys, .. } => {
            joins += 1;
            assert!(!left_keys.is_empty());
        }
        _ => {}
    });
    assert!(joins > 0);
}

/// SQLite's select5 shape: tables t1..t8 listed out of join order, joined by
/// a chain `a1 = b2 AND a2 = b3 …`, plus `a5 IN (…)`.
#[test]
fn eight_way_chain_never_builds_a_cross_product() {
    let tables: Vec<Arc<TableSchema>> = (1..=8).map(|i| abc(i, &format!("t{i}"))).collect();
    let from = [5usize, 1, 8, 3, 7, 2, 6, 4];
    let pos = |t: usize| from.iter().position(|&f| f == t).unwrap() * 3;
    let a = |t: usize| col(pos(t));
    let b = |t: usize| col(pos(t) + 1);
    let mut pred = in_list(a(5), vec![int(1), int(3), int(5)]);
    for t in 1..8 {
        pred = and(pred, eq(a(t), b(t + 1)));
    }
    let plan = project(filter(cross_all(from.iter().map(|&t| scan(&tables[t - 1])).collect()), pred), vec![col(2)]);
    let out = reorder(plan, &MapStats::default());
    assert_every_join_connected(&out);
    // Starts from the filtered t5; the rest follows the chain.
    let mut scans = Vec::new();
    for_each_node(&out, &mut |n| {
        if let Node::Scan { table, .. } = n {
            scans.push(table.name.clone())
        }
    });
    assert_eq!(scans.len(), 8);
    assert!(scans[..2].contains(&"t5".to_string()), "{scans:?}");
    // And every join becomes a hash join.
    let hashed = hash_join(out, &ctx(&MapStats::default())).unwrap();
    for_each_node(&hashed, &mut |n| assert!(!matches!(n, Node::NestedLoopJoin { .. })));
}

#[test]
fn reordering_preserves_rows_and_column_order() {
    // r0(a,b) 6 rows, r1(a,b) 2 rows, r2(a,b) 4 rows, r3(a,b) 3 rows
    let r0 = values(&[&[1, 10], &[2, 20], &[3, 30], &[4, 40], &[5, 50], &[6, 60]]);
    let r1 = values(&[&[2, 1], &[3, 2]]);
    let r2 = values(&[&[1, 2], &[2, 3], &[3, 5], &[4, 2]]);
    let r3 = values(&[&[3, 7], &[5, 8], &[6, 9]]);
    // FROM r0, r1, r2, r3 WHERE r0.a = r2.b AND r2.a = r1.a AND r3.a = r0.a
    //   AND r0.b + r3.b > r1.b
    let pred =
        and(and(and(eq(col(0), col(5)), eq(col(4), col(2))), eq(col(6), col(0))), gt(add(col(1), col(7)), col(3)));
    let plan = filter(cross_all(vec![r0, r1, r2, r3]), pred);
    let out = reorder(plan.clone(), &MapStats::default());
    assert_every_join_connected(&out);
    assert!(matches!(out, Node::Project { .. }), "a reorder restores the layout: {out:#?}");
    assert_eq!(sorted_rows(&out), sorted_rows(&plan));
    assert!(!sorted_rows(&plan).is_empty());
    let hashed = hash_join(out, &ctx(&MapStats::default())).unwrap();
    assert_eq!(sorted_rows(&hashed), sorted_rows(&plan));
}

#[test]
fn statistics_choose_the_start() {
    let (t1, t2, t3) = (abc(1, "t1"), abc(2, "t2"), abc(3, "t3"));
    // FROM t1, t2, t3 WHERE t1.a = t2.b AND t2.a = t3.b; t3 is tiny.
    let plan = filter(cross_all(vec![scan(&t1), scan(&t2), scan(&t3)]), and(eq(col(0), col(4)), eq(col(3), col(7))));
    let stats = MapStats([(1, 1_000_000), (2, 10_000), (3, 10)].into_iter().collect());
    let out = reorder(plan, &stats);
    assert_every_join_connected(&out);
    // t3 (10 rows) and t2 form the first join, the smaller on the build side.
    let Node::Project { input, exprs } = out else { panic!("{out:#?}") };
    let Node::NestedLoopJoin { left, .. } = *input else { panic!() };
    let Node::NestedLoopJoin { left: l2, right: r2, .. } = *left else { panic!() };
    let name = |n: &Node| match n {
        Node::Scan { table, .. } => table.name.clone(),
        _ => panic!(),
    };
    assert_eq!((name(&l2), name(&r2)), ("t2".into(), "t3".into()));
    // The projection maps the original t1, t2, t3 columns back.
    assert_eq!(exprs, vec![col(6), col(7), col(8), col(0), col(1), col(2), col(3), col(4), col(5)]);
}

#[test]
fn cross_products_come_last() {
    let (t1, t2, t3) = (abc(1, "t1"), abc(2, "t2"), abc(3, "t3"));
    // FROM t1, t2, t3 WHERE t1.a = t3.a: t2 is unconnected.
    let plan = filter(cross_all(vec![scan(&t1), scan(&t2), scan(&t3)]), eq(col(0), col(6)));
    let out = reorder(plan, &MapStats::default());
    let Node::Project { input, .. } = out else { panic!("{out:#?}") };
    let Node::NestedLoopJoin { left, right, predicate: None, .. } = *input else { panic!() };
    assert!(matches!(*right, Node::Scan { ref table, .. } if table.name == "t2"));
    assert!(matches!(*left, Node::NestedLoopJoin { predicate: Some(_), .. }));
}

#[test]
fn correlated_conjuncts_stay_above_the_restoring_projection() {
    let (t1, t2, t3) = (abc(1, "t1"), abc(2, "t2"), abc(3, "t3"));
    let stats = MapStats([(1, 1000), (2, 1000), (3, 10)].into_iter().collect());
    let corr = exists(filter(values_one(), eq(outer(0, 8), int(1))), true);
    let plan = filter(
        cross_all(vec![scan(&t1), scan(&t2), scan(&t3)]),
        and(and(eq(col(0), col(6)), eq(col(3), col(7))), corr.clone()),
    );
    let out = reorder(plan, &stats);
    let Node::Filter { input, predicate } = out else { panic!("{out:#?}") };
    assert_eq!(predicate, corr);
    assert!(matches!(*input, Node::Project { .. }));
    assert_every_join_connected(&input);
}

#[test]
fn two_way_join_in_a_good_order_is_left_alone() {
    let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
    let stats = MapStats([(1, 1000), (2, 10)].into_iter().collect());
    let plan = join(scan(&t1), scan(&t2), JoinKind::Inner, Some(eq(col(0), col(4))));
    assert_eq!(reorder(plan.clone(), &stats), plan);
}

#[test]
fn joins_under_outer_joins_and_subtrees_are_reordered_separately() {
    let (t1, t2, t3, t4) = (abc(1, "t1"), abc(2, "t2"), abc(3, "t3"), abc(4, "t4"));
    // (t1 x t2 x t3 WHERE t1.a = t3.a AND t3.b = t2.b) LEFT JOIN t4
    let inner = filter(cross_all(vec![scan(&t1), scan(&t2), scan(&t3)]), and(eq(col(0), col(6)), eq(col(7), col(4))));
    let plan = join(inner, scan(&t4), JoinKind::Left, Some(eq(col(0), col(9))));
    let out = reorder(plan, &MapStats::default());
    let Node::NestedLoopJoin { left, kind: JoinKind::Left, .. } = &out else { panic!("{out:#?}") };
    assert_every_join_connected(left);
}
