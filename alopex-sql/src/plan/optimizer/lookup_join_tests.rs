//! Tests of the lookup-join rule.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::plan::optimizer::testutil::*;

fn stats(rows: &[(u64, u64)]) -> MapStats {
    MapStats(rows.iter().copied().collect::<BTreeMap<_, _>>())
}

fn run(n: Node, stats: &MapStats) -> Node {
    lookup_join(n, &Ctx { stats }).unwrap()
}

fn hash(left: Node, right: Node, kind: JoinKind, keys: Vec<(Expr, Expr)>, residual: Option<Expr>) -> Node {
    let (left_keys, right_keys) = keys.into_iter().unzip();
    Node::HashJoin { left: Box::new(left), right: Box::new(right), kind, left_keys, right_keys, residual }
}

/// t1(a pk, b, c), 100 rows; big(a pk, b, c) with an index on c, 10,000 rows.
fn tables() -> (Arc<TableSchema>, Arc<TableSchema>, MapStats) {
    let t1 = abc(1, "t1");
    let cols = [("a", DataType::Int4), ("b", DataType::Int4), ("c", DataType::Int4)];
    let big = table(2, "big", &cols, &[0], &[(&[2], false)]);
    (t1, big, stats(&[(1, 100), (2, 10_000)]))
}

#[test]
fn small_left_looks_up_the_primary_key_of_a_big_right_scan() {
    let (t1, big, st) = tables();
    for kind in [JoinKind::Inner, JoinKind::Left, JoinKind::Semi, JoinKind::Anti] {
        let right = scan_f(&big, gt(col(1), int(5)));
        let plan = hash(scan(&t1), right, kind, vec![(col(1), col(0))], Some(lt(col(2), col(5))));
        let expected = Node::LookupJoin {
            left: Box::new(scan(&t1)),
            table: big.clone(),
            alias: "big".into(),
            index: None,
            keys: vec![col(1)],
            kind,
            filter: Some(gt(col(1), int(5))),
            residual: Some(lt(col(2), col(5))),
        };
        assert_eq!(run(plan, &st), expected);
    }
}

#[test]
fn right_and_full_joins_and_big_left_sides_stay_hash_joins() {
    let (t1, big, st) = tables();
    for kind in [JoinKind::Right, JoinKind::Full] {
        let plan = hash(scan(&t1), scan(&big), kind, vec![(col(1), col(0))], None);
        assert_eq!(run(plan.clone(), &st), plan);
    }
    // 3,000 left rows × 4 > 10,000.
    let st = stats(&[(1, 3000), (2, 10_000)]);
    let plan = hash(scan(&t1), scan(&big), JoinKind::Inner, vec![(col(1), col(0))], None);
    assert_eq!(run(plan.clone(), &st), plan);
    // Unknown table size: only from a tiny left side.
    let plan = hash(scan(&t1), scan(&big), JoinKind::Left, vec![(col(1), col(0))], None);
    assert_eq!(run(plan.clone(), &stats(&[(1, 100)])), plan);
    let tiny = values(&[&[1], &[2]]);
    let plan = hash(tiny, scan(&big), JoinKind::Left, vec![(colt(0, DataType::Int8), col(0))], None);
    assert!(matches!(run(plan, &stats(&[])), Node::LookupJoin { .. }));
}

#[test]
fn keys_must_be_key_columns_of_a_matching_domain() {
    let (t1, big, st) = tables();
    let text_cols = [("a", DataType::Text), ("b", DataType::Float8)];
    let tt = table(3, "tt", &text_cols, &[0], &[(&[1], false)]);
    let st3 = stats(&[(1, 100), (3, 10_000)]);
    let left = || scan(&t1);
    // Not a key column (b), an expression over the key column, a non-range
    // scan on the right, a float key, a domain mismatch.
    let unchanged = [
        (hash(left(), scan(&big), JoinKind::Inner, vec![(col(1), col(1))], None), &st),
        (hash(left(), scan(&big), JoinKind::Inner, vec![(col(1), add(col(0), int(1)))], None), &st),
        (
            hash(
                left(),
                Node::Scan {
                    table: big.clone(),
                    alias: "big".into(),
                    range: ScanRange::Points(vec![vec![int(1)]]),
                    reverse: false,
                    filter: None,
                },
                JoinKind::Inner,
                vec![(col(1), col(0))],
                None,
            ),
            &st,
        ),
        (
            hash(left(), scan(&tt), JoinKind::Left, vec![(colt(1, DataType::Float8), colt(1, DataType::Float8))], None),
            &st3,
        ),
        (hash(left(), scan(&tt), JoinKind::Left, vec![(col(1), colt(0, DataType::Text))], None), &st3),
    ];
    for (plan, st) in unchanged {
        assert_eq!(run(plan.clone(), st), plan);
    }
    // A text key on a text primary key, an integer under a widening cast.
    let plan = hash(
        left(),
        scan(&tt),
        JoinKind::Left,
        vec![(colt(1, DataType::Varchar(Some(3))), colt(0, DataType::Text))],
        None,
    );
    assert!(matches!(run(plan, &st3), Node::LookupJoin { index: None, .. }));
    let widened = Expr::Cast { expr: Box::new(col(0)), ty: DataType::Int8 };
    let plan = hash(left(), scan(&big), JoinKind::Inner, vec![(colt(1, DataType::Int8), widened)], None);
    assert!(matches!(run(plan, &st), Node::LookupJoin { index: None, .. }));
}

#[test]
fn secondary_index_prefixes_and_unused_pairs_go_to_the_residual() {
    let (t1, big, _) = tables();
    // Prefix lookups need left * 16 < rows.
    let st = stats(&[(1, 100), (2, 10_000)]);
    let plan = hash(scan(&t1), scan(&big), JoinKind::Inner, vec![(col(0), col(2)), (col(2), col(1))], None);
    let expected = Node::LookupJoin {
        left: Box::new(scan(&t1)),
        table: big.clone(),
        alias: "big".into(),
        index: Some(0),
        keys: vec![col(0)],
        kind: JoinKind::Inner,
        filter: None,
        residual: Some(eq(col(2), col(4))),
    };
    assert_eq!(run(plan.clone(), &st), expected);
    let st = stats(&[(1, 1000), (2, 10_000)]);
    assert_eq!(run(plan, &st), {
        let (t1, big) = (abc(1, "t1"), big.clone());
        hash(scan(&t1), scan(&big), JoinKind::Inner, vec![(col(0), col(2)), (col(2), col(1))], None)
    });
    // With the primary key bound too, the primary key wins.
    let st = stats(&[(1, 100), (2, 10_000)]);
    let plan = hash(scan(&t1), scan(&big), JoinKind::Inner, vec![(col(0), col(2)), (col(1), col(0))], None);
    let Node::LookupJoin { index, keys, residual, .. } = run(plan, &st) else { panic!() };
    assert_eq!((index, keys, residual), (None, vec![col(1)], Some(eq(col(0), col(5)))));
}

#[test]
fn nested_loop_predicates_are_split_into_keys_and_residual() {
    let (t1, big, st) = tables();
    let pred = and(eq(col(3), col(1)), lt(col(2), col(5)));
    let plan = join(scan(&t1), scan(&big), JoinKind::Semi, Some(pred));
    let Node::LookupJoin { keys, residual, kind, .. } = run(plan, &st) else { panic!() };
    assert_eq!((keys, residual, kind), (vec![col(1)], Some(lt(col(2), col(5))), JoinKind::Semi));
}

#[test]
fn an_inner_join_with_the_big_scan_on_the_left_is_swapped_under_a_projection() {
    let (t1, big, st) = tables();
    // big ⋈ t1 on big.a = t1.b, residual big.c < t1.c.
    let plan = hash(
        scan(&big),
        scan_f(&t1, gt(col(0), int(1))),
        JoinKind::Inner,
        vec![(col(0), col(1))],
        Some(lt(col(2), col(5))),
    );
    let lookup = Node::LookupJoin {
        left: Box::new(scan_f(&t1, gt(col(0), int(1)))),
        table: big.clone(),
        alias: "big".into(),
        index: None,
        keys: vec![col(1)],
        kind: JoinKind::Inner,
        filter: None,
        residual: Some(lt(col(5), col(2))),
    };
    let expected = project(lookup, vec![col(3), col(4), col(5), col(0), col(1), col(2)]);
    assert_eq!(run(plan.clone(), &st), expected);
    // Not for outer joins, nor with a correlated subquery in the residual.
    let left_join = hash(scan(&big), scan(&t1), JoinKind::Left, vec![(col(0), col(1))], None);
    assert_eq!(run(left_join.clone(), &st), left_join);
    let corr = exists(filter(values_one(), eq(outer(0, 0), int(1))), true);
    let plan = hash(scan(&big), scan(&t1), JoinKind::Inner, vec![(col(0), col(1))], Some(corr));
    assert_eq!(run(plan.clone(), &st), plan);
}

#[test]
fn a_swapped_lookup_keeps_the_output_layout() {
    // The rows themselves are checked with the executor in the slt files.
    let (t1, big, st) = tables();
    let plan = hash(scan(&big), scan(&t1), JoinKind::Inner, vec![(col(0), col(1))], None);
    let out = run(plan.clone(), &st);
    assert_eq!(out.width(), plan.width());
    assert_eq!(output_types(&out), output_types(&plan));
}
