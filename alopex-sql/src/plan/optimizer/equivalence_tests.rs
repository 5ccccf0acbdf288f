//! Whole-pipeline tests: random join trees over literal rows, optimized
//! with the full rule list, must return the same rows as before.
//!
//! The trees mix every join kind, join predicates, filters above joins and
//! projections (where pushdown, outer-join strengthening, join ordering and
//! hash-join selection all have to remap columns), over small relations
//! with NULLs. The reference is the test interpreter in `testutil`.

use super::testutil::*;
use super::*;
use crate::expr::BinaryOp;
use crate::plan::JoinKind;
use crate::types::{DataType, Value};

/// xorshift64: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn value(rng: &mut Rng) -> Expr {
    if rng.chance(15) { Expr::Literal(Value::Null, DataType::Int4) } else { int(rng.below(4) as i64) }
}

fn relation(rng: &mut Rng) -> Node {
    let width = 1 + rng.below(3);
    let rows = rng.below(6);
    Node::Values { rows: (0..rows).map(|_| (0..width).map(|_| value(rng)).collect()).collect(), width }
}

fn atom(rng: &mut Rng, width: usize) -> Expr {
    let c = col(rng.below(width));
    match rng.below(8) {
        0 | 1 => eq(c, col(rng.below(width))),
        2 => lt(c, col(rng.below(width))),
        3 => eq(c, int(rng.below(4) as i64)),
        4 => gt(c, int(rng.below(4) as i64)),
        5 => Expr::IsNull { expr: Box::new(c), negated: rng.chance(50) },
        6 => in_list(c, vec![int(rng.below(4) as i64), value(rng)]),
        _ => or(atom(rng, width), atom(rng, width)),
    }
}

fn predicate(rng: &mut Rng, width: usize) -> Expr {
    let mut p = atom(rng, width);
    for _ in 0..rng.below(3) {
        p = super::layout::and(p, atom(rng, width));
    }
    p
}

fn tree(rng: &mut Rng, relations: usize) -> Node {
    if relations == 1 {
        return relation(rng);
    }
    let split = 1 + rng.below(relations - 1);
    let (left, right) = (tree(rng, split), tree(rng, relations - split));
    let kind = [
        JoinKind::Inner,
        JoinKind::Inner,
        JoinKind::Inner,
        JoinKind::Left,
        JoinKind::Right,
        JoinKind::Full,
        JoinKind::Semi,
        JoinKind::Anti,
    ][rng.below(8)];
    let both = left.width() + right.width();
    let pred = if kind == JoinKind::Inner && rng.chance(50) { None } else { Some(predicate(rng, both)) };
    let mut node = join(left, right, kind, pred);
    if rng.chance(40) {
        let w = node.width();
        node = filter(node, predicate(rng, w));
    }
    if rng.chance(10) {
        // GROUP BY one column, count(*).
        let group = col(rng.below(node.width()));
        node = Node::Aggregate {
            input: Box::new(node),
            group_by: vec![group],
            aggregates: vec![crate::plan::AggCall {
                func: crate::expr::AggFunc::CountStar,
                args: vec![],
                distinct: false,
                filter: None,
                order_by: vec![],
                ty: DataType::Int8,
            }],
        };
    } else if rng.chance(10) {
        node = Node::Distinct { input: Box::new(node) };
    } else if rng.chance(10) {
        // ORDER BY every column (a total order, so LIMIT is deterministic).
        let keys = (0..node.width())
            .map(|i| crate::plan::SortKey { expr: col(i), desc: rng.chance(50), nulls_first: rng.chance(50) })
            .collect();
        let sorted = Node::Sort { input: Box::new(node), keys };
        let w = sorted.width();
        let shown = if rng.chance(50) { project(sorted, (0..w).rev().map(col).collect()) } else { sorted };
        node = Node::Limit {
            input: Box::new(shown),
            limit: Some(int(rng.below(4) as i64)),
            offset: rng.chance(50).then(|| int(rng.below(3) as i64)),
        };
    }
    if rng.chance(25) {
        // A projection that permutes and duplicates columns.
        let w = node.width();
        let exprs: Vec<Expr> = (0..1 + rng.below(w + 1)).map(|_| col(rng.below(w))).collect();
        node = project(node, exprs);
    }
    node
}

#[test]
fn random_join_trees_keep_their_rows() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let stats = MapStats::default();
    for case in 0..3000 {
        let relations = 2 + rng.below(4);
        let mut plan = tree(&mut rng, relations);
        let w = plan.width();
        if rng.chance(70) {
            plan = filter(plan, predicate(&mut rng, w));
        }
        let expected = sorted_rows(&plan);
        let optimized = optimize(plan.clone(), &stats).unwrap();
        assert_eq!(optimized.width(), plan.width(), "case {case}: width changed");
        assert_eq!(sorted_rows(&optimized), expected, "case {case}:\n{plan:#?}\n=>\n{optimized:#?}");
    }
}

/// `FROM t1, …, tn WHERE` a chain of equalities and constant filters, with
/// the tables listed in a scrambled order: the optimized plan has no cross
/// product and the same rows.
#[test]
fn scrambled_chains_keep_their_rows() {
    let mut rng = Rng(42);
    for _ in 0..200 {
        let n = 3 + rng.below(5);
        let rels: Vec<Node> = (0..n)
            .map(|_| {
                let rows = 1 + rng.below(6);
                Node::Values {
                    rows: (0..rows).map(|_| vec![int(rng.below(5) as i64), int(rng.below(5) as i64)]).collect(),
                    width: 2,
                }
            })
            .collect();
        let mut from: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            from.swap(i, rng.below(i + 1));
        }
        let pos = |t: usize| from.iter().position(|&f| f == t).unwrap() * 2;
        let mut pred = eq(col(pos(0)), int(rng.below(5) as i64));
        for t in 0..n - 1 {
            let e = Expr::Binary {
                op: BinaryOp::Eq,
                left: Box::new(col(pos(t) + 1)),
                right: Box::new(col(pos(t + 1))),
                ty: DataType::Bool,
            };
            pred = super::layout::and(pred, e);
        }
        let plan = filter(from.iter().map(|&t| rels[t].clone()).reduce(cross).unwrap(), pred);
        let optimized = optimize(plan.clone(), &MapStats::default()).unwrap();
        super::walk::for_each_node(&optimized, &mut |node| {
            assert!(!matches!(node, Node::NestedLoopJoin { .. }), "not all hash joins: {optimized:#?}")
        });
        assert_eq!(sorted_rows(&optimized), sorted_rows(&plan));
    }
}
