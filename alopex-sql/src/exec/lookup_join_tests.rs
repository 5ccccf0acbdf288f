use std::sync::Arc;

use crate::catalog::{IndexKind, IndexSchema, TableSchema};
use crate::exec::test_support::{col, int, ints, lit, rows, run_dml, run_in, table, with_cx};
use crate::exec::{ExecContext, NodeStats, build, drain};
use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node};
use crate::types::{DataType, Value};

/// t(a, b, c) with primary key (a, b) and an index on c, holding
/// (1,1,10) (1,2,20) (2,1,10) (3,1,NULL) (4,1,30).
fn filled(cx: &mut ExecContext<'_>) -> Arc<TableSchema> {
    let mut t = (*table("t", 3, &[0, 1])).clone();
    t.indexes.push(IndexSchema { id: 2, name: "t_c".into(), columns: vec![2], unique: false, kind: IndexKind::BTree });
    let t = Arc::new(t);
    let input = ints(
        3,
        &[
            &[Some(1), Some(1), Some(10)],
            &[Some(1), Some(2), Some(20)],
            &[Some(2), Some(1), Some(10)],
            &[Some(3), Some(1), None],
            &[Some(4), Some(1), Some(30)],
        ],
    );
    let insert =
        Node::Insert { table: t.clone(), input: Box::new(input), on_conflict: None, checks: vec![], returning: None };
    run_dml(&insert, cx).unwrap();
    t
}

fn lookup(
    t: &Arc<TableSchema>,
    left: Node,
    index: Option<usize>,
    keys: Vec<Expr>,
    kind: JoinKind,
    filter: Option<Expr>,
    residual: Option<Expr>,
) -> Node {
    Node::LookupJoin { left: Box::new(left), table: t.clone(), alias: "t".into(), index, keys, kind, filter, residual }
}

fn binary(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool }
}

/// Left rows (x, y): full keys (1,2), (9,9), (NULL,1), (2,1), (1,2).
fn full_key_left() -> Node {
    ints(2, &[&[Some(1), Some(2)], &[Some(9), Some(9)], &[None, Some(1)], &[Some(2), Some(1)], &[Some(1), Some(2)]])
}

#[test]
fn full_primary_keys_in_left_order_for_every_kind() {
    with_cx(&[], |cx| {
        let t = filled(cx);
        let run = |kind, cx: &mut ExecContext<'_>| {
            run_in(&lookup(&t, full_key_left(), None, vec![col(0), col(1)], kind, None, None), cx).unwrap()
        };
        let inner = rows(&[
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
            &[Some(2), Some(1), Some(2), Some(1), Some(10)],
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
        ]);
        assert_eq!(run(JoinKind::Inner, cx), inner);
        let left = rows(&[
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
            &[Some(9), Some(9), None, None, None],
            &[None, Some(1), None, None, None],
            &[Some(2), Some(1), Some(2), Some(1), Some(10)],
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
        ]);
        assert_eq!(run(JoinKind::Left, cx), left);
        let semi = rows(&[&[Some(1), Some(2)], &[Some(2), Some(1)], &[Some(1), Some(2)]]);
        assert_eq!(run(JoinKind::Semi, cx), semi);
        assert_eq!(run(JoinKind::Anti, cx), rows(&[&[Some(9), Some(9)], &[None, Some(1)]]));
    });
}

#[test]
fn filter_and_residual_decide_matches() {
    with_cx(&[], |cx| {
        let t = filled(cx);
        // filter: t.c > 15 (over the table row); residual: t.b = 2 (over
        // left ++ table row).
        let filter = Some(binary(BinaryOp::Gt, col(2), lit(int(15))));
        let node = lookup(&t, full_key_left(), None, vec![col(0), col(1)], JoinKind::Left, filter.clone(), None);
        let got = run_in(&node, cx).unwrap();
        let want = rows(&[
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
            &[Some(9), Some(9), None, None, None],
            &[None, Some(1), None, None, None],
            &[Some(2), Some(1), None, None, None],
            &[Some(1), Some(2), Some(1), Some(2), Some(20)],
        ]);
        assert_eq!(got, want);
        let residual = Some(binary(BinaryOp::Eq, col(3), lit(int(2))));
        let node = lookup(&t, full_key_left(), None, vec![col(0), col(1)], JoinKind::Anti, None, residual);
        let got = run_in(&node, cx).unwrap();
        assert_eq!(got, rows(&[&[Some(9), Some(9)], &[None, Some(1)], &[Some(2), Some(1)]]));
    });
}

#[test]
fn primary_key_prefixes_and_index_lookups_stream_every_match() {
    with_cx(&[], |cx| {
        let t = filled(cx);
        let left = ints(1, &[&[Some(1)], &[None], &[Some(5)], &[Some(3)]]);
        let node = lookup(&t, left.clone(), None, vec![col(0)], JoinKind::Left, None, None);
        let want = rows(&[
            &[Some(1), Some(1), Some(1), Some(10)],
            &[Some(1), Some(1), Some(2), Some(20)],
            &[None, None, None, None],
            &[Some(5), None, None, None],
            &[Some(3), Some(3), Some(1), None],
        ]);
        assert_eq!(run_in(&node, cx).unwrap(), want);
        // Through the index on c: NULL keys on either side never match.
        let left = ints(1, &[&[Some(10)], &[None], &[Some(30)], &[Some(99)]]);
        let node = lookup(&t, left.clone(), Some(0), vec![col(0)], JoinKind::Inner, None, None);
        let want = rows(&[
            &[Some(10), Some(1), Some(1), Some(10)],
            &[Some(10), Some(2), Some(1), Some(10)],
            &[Some(30), Some(4), Some(1), Some(30)],
        ]);
        assert_eq!(run_in(&node, cx).unwrap(), want);
        let node = lookup(&t, left, Some(0), vec![col(0)], JoinKind::Semi, None, None);
        assert_eq!(run_in(&node, cx).unwrap(), rows(&[&[Some(10)], &[Some(30)]]));
    });
}

#[test]
fn keys_are_cast_to_the_key_types_and_unrepresentable_keys_match_nothing() {
    with_cx(&[], |cx| {
        let mut t = (*table("t", 2, &[0])).clone();
        t.columns[0].ty = DataType::Int2;
        let t = Arc::new(t);
        let input = ints(2, &[&[Some(7), Some(70)]]);
        let insert = Node::Insert {
            table: t.clone(),
            input: Box::new(input),
            on_conflict: None,
            checks: vec![],
            returning: None,
        };
        run_dml(&insert, cx).unwrap();
        let left = ints(1, &[&[Some(7)], &[Some(100_000)], &[Some(-100_000)]]);
        let node = lookup(&t, left, None, vec![col(0)], JoinKind::Left, None, None);
        let want = rows(&[&[Some(7), Some(7), Some(70)], &[Some(100_000), None, None], &[Some(-100_000), None, None]]);
        assert_eq!(run_in(&node, cx).unwrap(), want);
    });
}

#[test]
fn many_left_rows_span_several_batches() {
    with_cx(&[], |cx| {
        let t = table("t", 2, &[0]);
        let values: Vec<Vec<Option<i64>>> = (0..300).map(|i| vec![Some(i), Some(i * 10)]).collect();
        let refs: Vec<&[Option<i64>]> = values.iter().map(|v| &v[..]).collect();
        let insert = Node::Insert {
            table: t.clone(),
            input: Box::new(ints(2, &refs)),
            on_conflict: None,
            checks: vec![],
            returning: None,
        };
        run_dml(&insert, cx).unwrap();
        // 1000 left rows, keys counting down from 999: the ones below 300 match.
        let left: Vec<Vec<Option<i64>>> = (0..1000).rev().map(|i| vec![Some(i)]).collect();
        let refs: Vec<&[Option<i64>]> = left.iter().map(|v| &v[..]).collect();
        let node = lookup(&t, ints(1, &refs), None, vec![col(0)], JoinKind::Inner, None, None);
        let got = run_in(&node, cx).unwrap();
        let want: Vec<Vec<Value>> = (0..300).rev().map(|i| vec![int(i), int(i), int(i * 10)]).collect();
        assert_eq!(got, want);
    });
}

#[test]
fn explain_analyze_counts_the_join_and_its_input() {
    with_cx(&[], |cx| {
        let t = filled(cx);
        let node = lookup(&t, full_key_left(), None, vec![col(0), col(1)], JoinKind::Inner, None, None);
        let stats = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let mut exec = build(&node, Some(stats.clone())).unwrap();
        assert_eq!(drain(exec.as_mut(), cx).unwrap().len(), 3);
        let counts: Vec<(u64, u64)> = stats.lock().iter().map(|s: &NodeStats| (s.rows, s.loops)).collect();
        assert_eq!(counts, vec![(3, 1), (5, 1)]);
    });
}

#[test]
fn bad_shapes_are_internal_errors() {
    let t = table("t", 2, &[0]);
    for node in [
        lookup(&t, ints(1, &[&[Some(1)]]), None, vec![], JoinKind::Inner, None, None),
        lookup(&t, ints(1, &[&[Some(1)]]), None, vec![col(0), col(0)], JoinKind::Inner, None, None),
        lookup(&t, ints(1, &[&[Some(1)]]), Some(3), vec![col(0)], JoinKind::Inner, None, None),
        lookup(&t, ints(1, &[&[Some(1)]]), None, vec![col(0)], JoinKind::Full, None, None),
    ] {
        let err = with_cx(&[], |cx| run_in(&node, cx)).unwrap_err();
        assert_eq!(err.state.code(), "XX000");
    }
}
