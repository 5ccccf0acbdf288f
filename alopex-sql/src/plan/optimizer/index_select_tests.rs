//! Tests of index selection.

use std::sync::Arc;

use super::*;
use crate::plan::optimizer::layout::and;
use crate::plan::optimizer::testutil::*;

fn run(n: Node) -> Node {
    index_select(n, &Ctx { stats: &MapStats::default() }).unwrap()
}

/// t(a INT PRIMARY KEY, b INT, c TEXT): index 0 on (b), unique index 1 on (c).
fn t() -> Arc<TableSchema> {
    table(
        1,
        "t",
        &[("a", DataType::Int4), ("b", DataType::Int4), ("c", DataType::Text)],
        &[0],
        &[(&[1], false), (&[2], true)],
    )
}

/// u(x INT, y INT, z INT, PRIMARY KEY (x, y)).
fn u() -> Arc<TableSchema> {
    table(2, "u", &[("x", DataType::Int4), ("y", DataType::Int4), ("z", DataType::Int4)], &[0, 1], &[])
}

fn pk_scan(t: &Arc<TableSchema>, range: ScanRange, filter: Option<Expr>) -> Node {
    Node::Scan { table: t.clone(), alias: t.name.clone(), range, reverse: false, filter }
}

fn index_scan(t: &Arc<TableSchema>, index: usize, range: ScanRange, filter: Option<Expr>) -> Node {
    Node::IndexScan { table: t.clone(), alias: t.name.clone(), index, range, reverse: false, filter }
}

fn range(lower: Bound<Vec<Expr>>, upper: Bound<Vec<Expr>>) -> ScanRange {
    ScanRange::Range { lower, upper }
}

#[test]
fn primary_key_equality_is_a_point_lookup() {
    let t = t();
    let out = run(scan_f(&t, and(eq(col(0), int(5)), gt(col(1), int(1)))));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![int(5)]]), Some(gt(col(1), int(1)))));
    // Flipped operands, and a parameter bound: consumed too (a NULL
    // parameter makes the point match nothing, as `a = NULL` does).
    let out = run(scan_f(&t, eq(param(0), col(0))));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![param(0)]]), None));
    // So is an outer reference.
    let outer = outer(0, 1);
    let out = run(scan_f(&t, eq(col(0), outer.clone())));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![outer]]), None));
    // Any other row-free expression stays in the filter.
    let plus =
        Expr::Binary { op: BinaryOp::Add, left: Box::new(param(0)), right: Box::new(int(1)), ty: DataType::Int4 };
    let out = run(scan_f(&t, eq(col(0), plus.clone())));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![plus.clone()]]), Some(eq(col(0), plus))));
}

#[test]
fn in_lists_become_sorted_distinct_points() {
    let t = t();
    let list = in_list(col(0), vec![int(3), int(1), int(3), Expr::Literal(Value::Null, DataType::Int4)]);
    let out = run(scan_f(&t, list));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![int(1)], vec![int(3)]]), None));
    // Several parameters could be equal at run time: no points.
    let list = in_list(col(0), vec![param(0), param(1)]);
    assert_eq!(run(scan_f(&t, list.clone())), scan_f(&t, list));
    // More than MAX_POINTS values: a full scan.
    let list = in_list(col(0), (0..=MAX_POINTS as i64).map(int).collect());
    assert_eq!(run(scan_f(&t, list.clone())), scan_f(&t, list));
}

#[test]
fn primary_key_ranges_have_the_right_bounds() {
    let t = t();
    // BETWEEN 2 AND 9 arrives as two conjuncts.
    let out = run(scan_f(&t, and(ge(col(0), int(2)), le(col(0), int(9)))));
    assert_eq!(out, pk_scan(&t, range(Bound::Included(vec![int(2)]), Bound::Included(vec![int(9)])), None));
    let out = run(scan_f(&t, and(gt(int(10), col(0)), gt(col(0), int(2)))));
    assert_eq!(out, pk_scan(&t, range(Bound::Excluded(vec![int(2)]), Bound::Excluded(vec![int(10)])), None));
    let out = run(scan_f(&t, and(ge(col(0), param(0)), lt(col(0), param(1)))));
    assert_eq!(out, pk_scan(&t, range(Bound::Included(vec![param(0)]), Bound::Excluded(vec![param(1)])), None));
    // On a secondary index a parameter equality is consumed, a parameter
    // range is not (the index holds NULL keys).
    let out = run(scan_f(&t, eq(col(1), param(0))));
    assert_eq!(out, index_scan(&t, 0, ScanRange::Points(vec![vec![param(0)]]), None));
    let out = run(scan_f(&t, gt(col(1), param(0))));
    assert_eq!(
        out,
        index_scan(&t, 0, range(Bound::Excluded(vec![param(0)]), Bound::Unbounded), Some(gt(col(1), param(0))))
    );
}

#[test]
fn composite_primary_key_uses_an_equality_prefix_then_a_range() {
    let u = u();
    let out = run(scan_f(&u, and(eq(col(0), int(1)), gt(col(1), int(3)))));
    assert_eq!(out, pk_scan(&u, range(Bound::Excluded(vec![int(1), int(3)]), Bound::Included(vec![int(1)])), None));
    let out = run(scan_f(&u, and(le(col(1), int(3)), eq(col(0), int(1)))));
    assert_eq!(out, pk_scan(&u, range(Bound::Included(vec![int(1)]), Bound::Included(vec![int(1), int(3)])), None));
    // Only the second key column constrained: nothing to do.
    let f = eq(col(1), int(3));
    assert_eq!(run(scan_f(&u, f.clone())), scan_f(&u, f));
    // IN on the first column and = on the second: the cross product.
    let out = run(scan_f(&u, and(in_list(col(0), vec![int(2), int(1)]), eq(col(1), int(5)))));
    assert_eq!(out, pk_scan(&u, ScanRange::Points(vec![vec![int(1), int(5)], vec![int(2), int(5)]]), None));
    // An equality prefix alone is a prefix point; z stays a filter.
    let out = run(scan_f(&u, and(eq(col(0), int(1)), eq(col(2), int(3)))));
    assert_eq!(out, pk_scan(&u, ScanRange::Points(vec![vec![int(1)]]), Some(eq(col(2), int(3)))));
    // Points with a range after them: the range stays a filter.
    let f = and(in_list(col(0), vec![int(1), int(2)]), gt(col(1), int(0)));
    let out = run(scan_f(&u, f));
    assert_eq!(out, pk_scan(&u, ScanRange::Points(vec![vec![int(1)], vec![int(2)]]), Some(gt(col(1), int(0)))));
}

#[test]
fn secondary_indexes_and_unique_ones() {
    let t = t();
    let out = run(scan_f(&t, eq(col(1), int(7))));
    assert_eq!(out, index_scan(&t, 0, ScanRange::Points(vec![vec![int(7)]]), None));
    // A one-sided range on a nullable index column keeps its conjunct.
    let out = run(scan_f(&t, gt(col(1), int(7))));
    assert_eq!(
        out,
        index_scan(&t, 0, range(Bound::Excluded(vec![int(7)]), Bound::Unbounded), Some(gt(col(1), int(7))))
    );
    // A unique index fully fixed beats a primary-key range.
    let f = and(and(ge(col(0), int(2)), lt(col(0), int(10))), eq(col(2), text("x")));
    let out = run(scan_f(&t, f));
    assert_eq!(
        out,
        index_scan(&t, 1, ScanRange::Points(vec![vec![text("x")]]), Some(and(ge(col(0), int(2)), lt(col(0), int(10)))))
    );
    // The primary key fixed beats an index equality.
    let out = run(scan_f(&t, and(eq(col(1), int(7)), eq(col(0), int(1)))));
    assert_eq!(out, pk_scan(&t, ScanRange::Points(vec![vec![int(1)]]), Some(eq(col(1), int(7)))));
}

#[test]
fn bounds_must_fit_the_column_type() {
    let s = table(
        3,
        "s",
        &[("a", DataType::Int2), ("v", DataType::Varchar(Some(3))), ("f", DataType::Float8)],
        &[0],
        &[(&[1], false), (&[2], false)],
    );
    let small = |v| Expr::Literal(Value::Int(v), DataType::Int8);
    // A literal out of SMALLINT range would fail the cast: no range.
    let f = eq(Expr::Cast { expr: Box::new(colt(0, DataType::Int2)), ty: DataType::Int8 }, small(100_000));
    assert_eq!(run(scan_f(&s, f.clone())), scan_f(&s, f));
    // One that fits is fine, through the widening cast.
    let f = eq(Expr::Cast { expr: Box::new(colt(0, DataType::Int2)), ty: DataType::Int8 }, small(7));
    assert_eq!(run(scan_f(&s, f)), pk_scan(&s, ScanRange::Points(vec![vec![small(7)]]), None));
    // A BIGINT parameter might not fit either.
    let f = eq(colt(0, DataType::Int2), Expr::Param(0, DataType::Int8));
    assert_eq!(run(scan_f(&s, f.clone())), scan_f(&s, f));
    // VARCHAR(3) against a longer text literal: no range.
    let cast_v = Expr::Cast { expr: Box::new(colt(1, DataType::Varchar(Some(3)))), ty: DataType::Text };
    let f = lt(cast_v.clone(), text("abcd"));
    assert_eq!(run(scan_f(&s, f.clone())), scan_f(&s, f));
    let f = eq(cast_v, text("ab"));
    assert_eq!(run(scan_f(&s, f)), index_scan(&s, 0, ScanRange::Points(vec![vec![text("ab")]]), None));
    // Floats: the range is used, the conjunct kept.
    let one = Expr::Literal(Value::Float(1.0), DataType::Float8);
    let f = eq(colt(2, DataType::Float8), one.clone());
    assert_eq!(run(scan_f(&s, f.clone())), index_scan(&s, 1, ScanRange::Points(vec![vec![one]]), Some(f)));
    // A column compared to another column is no bound.
    let f = eq(colt(0, DataType::Int2), colt(0, DataType::Int2));
    assert_eq!(run(scan_f(&s, f.clone())), scan_f(&s, f));
}

fn sort(input: Node, keys: &[(Expr, bool)]) -> Node {
    Node::Sort {
        input: Box::new(input),
        keys: keys.iter().map(|(e, desc)| SortKey { expr: e.clone(), desc: *desc, nulls_first: *desc }).collect(),
    }
}

#[test]
fn order_by_the_primary_key_reads_the_scan_in_order() {
    let t = t();
    // SELECT c, a FROM t ORDER BY a (a is column 1 of the projection)
    let plan = sort(project(scan(&t), vec![col(2), col(0)]), &[(col(1), false)]);
    assert_eq!(run(plan), project(scan(&t), vec![col(2), col(0)]));
    let plan = sort(project(scan(&t), vec![col(2), col(0)]), &[(col(1), true)]);
    let reversed =
        Node::Scan { table: t.clone(), alias: "t".into(), range: ScanRange::Full, reverse: true, filter: None };
    assert_eq!(run(plan), project(reversed, vec![col(2), col(0)]));
    // Not on the key: the sort stays.
    let plan = sort(scan(&t), &[(col(1), false)]);
    assert_eq!(run(plan.clone()), plan);
    // A descending sort on a proper prefix of a composite key keeps ties
    // ascending: the sort stays. Ascending on the prefix is fine.
    let u = u();
    let plan = sort(scan(&u), &[(col(0), true)]);
    assert_eq!(run(plan.clone()), plan);
    assert_eq!(run(sort(scan(&u), &[(col(0), false)])), scan(&u));
    let plan = sort(scan(&u), &[(col(0), true), (col(1), true), (col(2), false)]);
    assert!(matches!(run(plan), Node::Scan { reverse: true, .. }));
}
