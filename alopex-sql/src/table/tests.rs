//! Tests of the table mapping against a real storage engine.

use std::cmp::Ordering;
use std::ops::Bound;
use std::str::FromStr;
use std::sync::Arc;

use alopex_core::{Engine, IsolationLevel, Options, Transaction};
use rust_decimal::Decimal;

use super::*;
use crate::catalog::{ColumnSchema, IndexKind, IndexSchema, ROW_ID_COLUMN};
use crate::encoding::testgen::Gen;
use crate::error::SqlState;

struct Db {
    _dir: tempfile::TempDir,
    engine: Engine,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        Db { _dir: dir, engine }
    }

    fn txn(&self) -> Transaction {
        self.engine.begin(IsolationLevel::Snapshot)
    }
}

fn col(id: u32, name: &str, ty: DataType, nullable: bool) -> ColumnSchema {
    ColumnSchema { id, name: name.into(), ty, nullable, default: None, missing: Value::Null, hidden: false }
}

fn index(id: u32, name: &str, columns: Vec<usize>, unique: bool) -> IndexSchema {
    IndexSchema { id, name: name.into(), columns, unique, kind: IndexKind::BTree }
}

/// `t(a INT, b TEXT, c TEXT NULL, d NUMERIC NULL, PRIMARY KEY (a, b))` with
/// a plain index on c and a unique index on d.
fn table() -> TableSchema {
    TableSchema {
        id: 20,
        name: "t".into(),
        columns: vec![
            col(1, "a", DataType::Int4, false),
            col(2, "b", DataType::Text, false),
            col(3, "c", DataType::Text, true),
            col(4, "d", DataType::Numeric(None), true),
        ],
        primary_key: vec![0, 1],
        indexes: vec![index(2, "t_c_idx", vec![2], false), index(3, "t_d_key", vec![3], true)],
        checks: vec![],
        next_column_id: 5,
        next_index_id: 4,
    }
}

fn num(s: &str) -> Value {
    Value::Numeric(Decimal::from_str(s).unwrap())
}

fn row(a: i64, b: &str, c: Option<&str>, d: Option<&str>) -> Row {
    vec![Value::Int(a), Value::text(b), c.map_or(Value::Null, Value::text), d.map_or(Value::Null, num)]
}

fn collect(txn: &mut dyn KvTxn, mut scan: RowScan) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    while let Some(r) = scan.next(txn)? {
        rows.push(r);
    }
    Ok(rows)
}

fn scan_pk(txn: &mut dyn KvTxn, t: &TableSchema, range: KeyRange, reverse: bool) -> Vec<Row> {
    collect(txn, RowScan::primary(Arc::new(t.clone()), range, reverse)).unwrap()
}

fn scan_index(txn: &mut dyn KvTxn, t: &TableSchema, i: usize, range: KeyRange, reverse: bool) -> Vec<Row> {
    collect(txn, RowScan::index(Arc::new(t.clone()), i, range, reverse)).unwrap()
}

/// Every raw key of the table.
fn raw_keys(txn: &mut dyn KvTxn, table_id: u64) -> Vec<Bytes> {
    txn.scan(table_span(table_id), false, 0).unwrap().into_iter().map(|(k, _)| k).collect()
}

fn cmp_rows(a: &[Value], b: &[Value]) -> Ordering {
    a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

#[test]
fn scans_can_live_in_executors() {
    fn assert_send<T: Send>() {}
    assert_send::<RowScan>();
}

#[test]
fn rows_round_trip_and_scan_in_key_order_across_pages() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    // Insert out of order, enough rows for many growing pages.
    let mut expected = Vec::new();
    for i in 0..3000i64 {
        let a = (i * 7919) % 3000 - 1500;
        let r = row(a, &format!("k{}", i % 3), Some(&format!("c{}", i % 10)), None);
        insert(&mut txn, &t, &r).unwrap();
        expected.push(r);
    }
    expected.sort_by(|x, y| cmp_rows(&x[..2], &y[..2]));
    txn.commit().unwrap();

    let mut txn = db.txn();
    assert_eq!(scan_pk(&mut txn, &t, KeyRange::Full, false), expected);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(scan_pk(&mut txn, &t, KeyRange::Full, true), reversed);

    // Through the index on c: (c, a, b) order, over many pages both ways.
    let mut by_c = expected.clone();
    by_c.sort_by(|x, y| {
        cmp_rows(&[x[2].clone(), x[0].clone(), x[1].clone()], &[y[2].clone(), y[0].clone(), y[1].clone()])
    });
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Full, false), by_c);
    by_c.reverse();
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Full, true), by_c);
    let c3: Vec<Row> = expected.iter().filter(|r| r[2] == Value::text("c3")).cloned().collect();
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("c3")]), false), c3);

    // A LIMIT 1 style read stops after the first page.
    let mut scan = RowScan::primary(Arc::new(t.clone()), KeyRange::Full, true);
    assert_eq!(scan.next(&mut txn).unwrap().as_ref(), reversed.first());

    let got =
        get_rows(&mut txn, &t, &[vec![Value::Int(-1500), Value::text("k0")], vec![Value::Int(5), Value::text("nope")]])
            .unwrap();
    assert_eq!(got[0].as_ref(), expected.iter().find(|r| r[0] == Value::Int(-1500)));
    assert_eq!(got[1], None);
    assert_eq!(get_rows(&mut txn, &t, &[vec![Value::Int(1)]]).unwrap_err().state, SqlState::INTERNAL_ERROR);
}

/// The model of a key range: which key tuples it holds.
fn in_range(key: &[Value], range: &KeyRange) -> bool {
    let prefix_cmp = |p: &[Value]| cmp_rows(&key[..p.len()], p);
    match range {
        KeyRange::Full => true,
        KeyRange::Prefix(p) => prefix_cmp(p).is_eq(),
        KeyRange::Between { lower, upper } => {
            let lower_ok = match lower {
                Bound::Unbounded => true,
                Bound::Included(p) => prefix_cmp(p).is_ge(),
                Bound::Excluded(p) => prefix_cmp(p).is_gt(),
            };
            let upper_ok = match upper {
                Bound::Unbounded => true,
                Bound::Included(p) => prefix_cmp(p).is_le(),
                Bound::Excluded(p) => prefix_cmp(p).is_lt(),
            };
            lower_ok && upper_ok
        }
    }
}

fn random_prefix(g: &mut Gen) -> Vec<Value> {
    let a = Value::Int(g.below(12) as i64 - 1);
    match g.below(3) {
        0 => vec![],
        1 => vec![a],
        _ => vec![a, g.pick(&[Value::text(""), Value::text("k1"), Value::text("k1x"), Value::text("k2")])],
    }
}

fn random_bound(g: &mut Gen) -> Bound<Vec<Value>> {
    match g.below(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(random_prefix(g)),
        _ => Bound::Excluded(random_prefix(g)),
    }
}

#[test]
fn primary_ranges_match_the_model_forward_and_reverse() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    let mut all = Vec::new();
    for a in 0..10 {
        for b in ["", "k1", "k1x", "k2"] {
            let r = row(a, b, None, None);
            insert(&mut txn, &t, &r).unwrap();
            all.push(r);
        }
    }
    let mut g = Gen::new(42);
    for _ in 0..400 {
        let range = match g.below(4) {
            0 => KeyRange::Prefix(random_prefix(&mut g)),
            1 => KeyRange::Full,
            _ => KeyRange::Between { lower: random_bound(&mut g), upper: random_bound(&mut g) },
        };
        let mut want: Vec<Row> = all.iter().filter(|r| in_range(&r[..2], &range)).cloned().collect();
        assert_eq!(scan_pk(&mut txn, &t, range.clone(), false), want, "{range:?}");
        want.reverse();
        assert_eq!(scan_pk(&mut txn, &t, range.clone(), true), want, "{range:?} reversed");
    }
}

#[test]
fn index_scans_order_by_index_then_pk_with_nulls_last() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    let rows = vec![
        row(1, "x", Some("m"), Some("1")),
        row(2, "x", None, Some("2")),
        row(3, "x", Some("a"), None),
        row(4, "x", Some("m"), None),
        row(5, "x", None, Some("-7.5")),
        row(6, "x", Some("z"), Some("1e3")),
    ];
    for r in &rows {
        insert(&mut txn, &t, r).unwrap();
    }
    let pick = |ids: &[i64]| -> Vec<Row> { ids.iter().map(|&i| rows[i as usize - 1].clone()).collect() };

    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Full, false), pick(&[3, 1, 4, 6, 2, 5]));
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Full, true), pick(&[5, 2, 6, 4, 1, 3]));
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("m")]), false), pick(&[1, 4]));
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::Null]), false), pick(&[2, 5]));
    // Index columns then primary-key columns.
    let point = KeyRange::Prefix(vec![Value::text("m"), Value::Int(4)]);
    assert_eq!(scan_index(&mut txn, &t, 0, point, false), pick(&[4]));
    // c > 'a', without and with the NULLs.
    let gt_a = |upper| KeyRange::Between { lower: Bound::Excluded(vec![Value::text("a")]), upper };
    assert_eq!(scan_index(&mut txn, &t, 0, gt_a(Bound::Excluded(vec![Value::Null])), false), pick(&[1, 4, 6]));
    assert_eq!(scan_index(&mut txn, &t, 0, gt_a(Bound::Unbounded), false), pick(&[1, 4, 6, 2, 5]));
    let le_m = KeyRange::Between { lower: Bound::Unbounded, upper: Bound::Included(vec![Value::text("m")]) };
    assert_eq!(scan_index(&mut txn, &t, 0, le_m, true), pick(&[4, 1, 3]));
    // The unique numeric index orders by value.
    assert_eq!(scan_index(&mut txn, &t, 1, KeyRange::Full, false), pick(&[5, 1, 2, 6, 3, 4]));
    let d_point = KeyRange::Prefix(vec![num("1000.00")]);
    assert_eq!(scan_index(&mut txn, &t, 1, d_point, false), pick(&[6]));
    // An empty range and an inverted one.
    let empty = KeyRange::Between {
        lower: Bound::Included(vec![Value::text("n")]),
        upper: Bound::Excluded(vec![Value::text("b")]),
    };
    assert!(scan_index(&mut txn, &t, 0, empty, false).is_empty());
    assert!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("q")]), false).is_empty());
}

#[test]
fn bad_ranges_are_errors_from_next() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    let too_long = KeyRange::Prefix(vec![Value::Int(1), Value::text("a"), Value::Int(3)]);
    let err = collect(&mut txn, RowScan::primary(Arc::new(t.clone()), too_long, false)).unwrap_err();
    assert_eq!(err.state, SqlState::INTERNAL_ERROR);
    let err = collect(&mut txn, RowScan::index(Arc::new(t.clone()), 9, KeyRange::Full, false)).unwrap_err();
    assert_eq!(err.state, SqlState::INTERNAL_ERROR);
}

#[test]
fn constraint_violations_match_postgres_and_write_nothing() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    insert(&mut txn, &t, &row(1, "x", Some("c"), Some("1.0"))).unwrap();
    let before = raw_keys(&mut txn, t.id);
    assert_eq!(before.len(), 3);

    let err = insert(&mut txn, &t, &row(1, "x", Some("other"), None)).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.message, "duplicate key value violates unique constraint \"t_pkey\"");

    // 1.00 equals 1.0: a duplicate in the unique index.
    let err = insert(&mut txn, &t, &row(2, "x", Some("c"), Some("1.00"))).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.message, "duplicate key value violates unique constraint \"t_d_key\"");

    let err = insert(
        &mut txn,
        &t,
        &row(2, "x", Some("c"), None)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i == 1 { Value::Null } else { v })
            .collect(),
    )
    .unwrap_err();
    assert_eq!(err.state, SqlState::NOT_NULL_VIOLATION);
    assert_eq!(err.message, "null value in column \"b\" of relation \"t\" violates not-null constraint");

    let err = insert(&mut txn, &t, &vec![Value::Int(1)]).unwrap_err();
    assert_eq!(err.state, SqlState::INTERNAL_ERROR);
    // A value of the wrong kind is refused before anything is written.
    let err = insert(&mut txn, &t, &vec![Value::Int(9), Value::text("x"), Value::Int(3), Value::Null]).unwrap_err();
    assert_eq!(err.state, SqlState::INTERNAL_ERROR);
    assert_eq!(raw_keys(&mut txn, t.id), before, "failed inserts leave no keys");

    // NULLs in a unique index are distinct.
    insert(&mut txn, &t, &row(2, "x", None, None)).unwrap();
    insert(&mut txn, &t, &row(3, "x", None, None)).unwrap();
    assert_eq!(scan_index(&mut txn, &t, 1, KeyRange::Prefix(vec![Value::Null]), false).len(), 2);
}

#[test]
fn updates_rewrite_changed_entries_and_move_rows() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    let r1 = row(1, "x", Some("c"), Some("1"));
    let r2 = row(2, "x", Some("c"), Some("2"));
    insert(&mut txn, &t, &r1).unwrap();
    insert(&mut txn, &t, &r2).unwrap();

    // Non-key change: same keys, new value.
    let r1b = row(1, "x", Some("c"), Some("1.000"));
    update(&mut txn, &t, &r1, &r1b).unwrap();
    assert_eq!(raw_keys(&mut txn, t.id).len(), 6);
    let got = get_rows(&mut txn, &t, &[vec![Value::Int(1), Value::text("x")]]).unwrap();
    assert_eq!(got[0].as_ref().map(|r| r[3].to_owned()), Some(num("1")));

    // Index column change: the old entry goes, the new one comes.
    let r1c = row(1, "x", Some("q"), Some("1"));
    update(&mut txn, &t, &r1b, &r1c).unwrap();
    assert!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("q")]), false) == vec![r1c.clone()]);
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("c")]), false), vec![r2.clone()]);

    // Unique checks exclude the row itself but catch others.
    let err = update(&mut txn, &t, &r1c, &row(1, "x", Some("q"), Some("2.0"))).unwrap_err();
    assert_eq!(err.message, "duplicate key value violates unique constraint \"t_d_key\"");
    let err = update(&mut txn, &t, &r1c, &row(2, "x", Some("q"), Some("1"))).unwrap_err();
    assert_eq!(err.message, "duplicate key value violates unique constraint \"t_pkey\"");
    assert_eq!(raw_keys(&mut txn, t.id).len(), 6, "failed updates write nothing");

    // Moving the primary key keeps the unique value (no self-conflict) and
    // repoints every index entry.
    let moved = row(7, "y", Some("q"), Some("1"));
    update(&mut txn, &t, &r1c, &moved).unwrap();
    assert_eq!(get_rows(&mut txn, &t, &[vec![Value::Int(1), Value::text("x")]]).unwrap(), vec![None]);
    assert_eq!(scan_index(&mut txn, &t, 1, KeyRange::Prefix(vec![num("1")]), false), vec![moved.clone()]);
    assert_eq!(scan_index(&mut txn, &t, 0, KeyRange::Prefix(vec![Value::text("q")]), false), vec![moved.clone()]);
    assert_eq!(scan_pk(&mut txn, &t, KeyRange::Full, false), vec![r2.clone(), moved.clone()]);
    assert_eq!(raw_keys(&mut txn, t.id).len(), 6);

    // Delete takes the row and its entries.
    delete(&mut txn, &t, &moved).unwrap();
    delete(&mut txn, &t, &r2).unwrap();
    assert!(raw_keys(&mut txn, t.id).is_empty());
    txn.commit().unwrap();
}

#[test]
fn find_conflict_by_target() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    let existing = row(1, "x", Some("c"), Some("5"));
    insert(&mut txn, &t, &existing).unwrap();

    let same_pk = row(1, "x", None, None);
    assert_eq!(find_conflict(&mut txn, &t, &same_pk, None).unwrap(), Some(existing.clone()));
    assert_eq!(find_conflict(&mut txn, &t, &same_pk, Some(&[1, 0])).unwrap(), Some(existing.clone()));
    assert_eq!(find_conflict(&mut txn, &t, &same_pk, Some(&[3])).unwrap(), None);

    let same_d = row(2, "x", None, Some("5.00"));
    assert_eq!(find_conflict(&mut txn, &t, &same_d, None).unwrap(), Some(existing.clone()));
    assert_eq!(find_conflict(&mut txn, &t, &same_d, Some(&[3])).unwrap(), Some(existing.clone()));
    assert_eq!(find_conflict(&mut txn, &t, &same_d, Some(&[0, 1])).unwrap(), None);

    assert_eq!(find_conflict(&mut txn, &t, &row(2, "x", Some("c"), None), None).unwrap(), None);
    let err = find_conflict(&mut txn, &t, &same_d, Some(&[2])).unwrap_err();
    assert_eq!(err.state, SqlState::INVALID_COLUMN_REFERENCE);
}

#[test]
fn backfill_builds_entries_and_checks_uniqueness() {
    let db = Db::new();
    let mut t = table();
    t.indexes.clear();
    let mut txn = db.txn();
    for i in 0..100 {
        let c = if i % 10 == 0 { None } else { Some(format!("v{}", i % 7)) };
        insert(&mut txn, &t, &row(i, "x", c.as_deref(), None)).unwrap();
    }
    t.indexes.push(index(2, "t_c_idx", vec![2], false));
    backfill_index(&mut txn, &t, 0).unwrap();
    let by_index = scan_index(&mut txn, &t, 0, KeyRange::Full, false);
    assert_eq!(by_index.len(), 100);
    assert!(
        by_index
            .windows(2)
            .all(|w| cmp_rows(&[w[0][2].clone(), w[0][0].clone()], &[w[1][2].clone(), w[1][0].clone()]).is_lt())
    );

    t.indexes.push(index(3, "t_c_key", vec![2], true));
    let err = backfill_index(&mut txn, &t, 1).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.message, "could not create unique index \"t_c_key\"");

    // Unique over a, plus many NULLs in d: fine.
    t.indexes.push(index(4, "t_ad_key", vec![3, 0], true));
    backfill_index(&mut txn, &t, 2).unwrap();
    assert_eq!(scan_index(&mut txn, &t, 2, KeyRange::Full, false).len(), 100);
}

fn rowid_table() -> TableSchema {
    let mut hidden = col(2, ROW_ID_COLUMN, DataType::Int8, false);
    hidden.hidden = true;
    TableSchema {
        id: 21,
        name: "r".into(),
        columns: vec![col(1, "v", DataType::Float8, true), hidden],
        primary_key: vec![1],
        indexes: vec![],
        checks: vec![],
        next_column_id: 3,
        next_index_id: 2,
    }
}

#[test]
fn max_row_id_reads_the_last_key() {
    let db = Db::new();
    let r = rowid_table();
    let mut txn = db.txn();
    assert_eq!(max_row_id(&mut txn, &r).unwrap(), 0);
    for id in [3, 1, 300, 20] {
        insert(&mut txn, &r, &vec![Value::Float(id as f64), Value::Int(id)]).unwrap();
    }
    // Another table's keys right after do not count.
    insert(&mut txn, &table(), &row(1, "x", None, None)).unwrap();
    assert_eq!(max_row_id(&mut txn, &r).unwrap(), 300);
    assert_eq!(max_row_id(&mut txn, &table()).unwrap_err().state, SqlState::INTERNAL_ERROR);
}

#[test]
fn added_columns_read_their_missing_value() {
    let db = Db::new();
    let v1 = rowid_table();
    let mut txn = db.txn();
    insert(&mut txn, &v1, &vec![Value::Float(1.5), Value::Int(1)]).unwrap();
    // ALTER TABLE r ADD COLUMN w INT DEFAULT 7.
    let mut v2 = v1.clone();
    let mut w = col(3, "w", DataType::Int4, true);
    w.missing = Value::Int(7);
    v2.columns.insert(1, w);
    v2.primary_key = vec![2];
    insert(&mut txn, &v2, &vec![Value::Float(2.5), Value::Null, Value::Int(2)]).unwrap();
    insert(&mut txn, &v2, &vec![Value::Float(3.5), Value::Int(9), Value::Int(3)]).unwrap();
    let rows = scan_pk(&mut txn, &v2, KeyRange::Full, false);
    assert_eq!(rows[0], vec![Value::Float(1.5), Value::Int(7), Value::Int(1)]);
    assert!(rows[1][1].is_null(), "an explicit NULL is not the missing value");
    assert_eq!(rows[2][1], Value::Int(9));
}

#[test]
fn corrupt_bytes_are_errors() {
    let db = Db::new();
    let t = table();
    let mut txn = db.txn();
    insert(&mut txn, &t, &row(1, "x", Some("c"), None)).unwrap();
    let key = Bytes::from(keys::row_key(&t, &row(1, "x", None, None)).unwrap());
    txn.put(key.clone(), Bytes::from_static(&[1, 1, 0x63, 0x63])).unwrap();
    let err = collect(&mut txn, RowScan::primary(Arc::new(t.clone()), KeyRange::Full, false)).unwrap_err();
    assert_eq!(err.state, SqlState::DATA_CORRUPTED);
    let err = get_rows(&mut txn, &t, &[vec![Value::Int(1), Value::text("x")]]).unwrap_err();
    assert_eq!(err.state, SqlState::DATA_CORRUPTED);
    // An index entry whose row vanished.
    txn.delete(key).unwrap();
    let err = collect(&mut txn, RowScan::index(Arc::new(t.clone()), 0, KeyRange::Full, false)).unwrap_err();
    assert_eq!(err.state, SqlState::DATA_CORRUPTED);
}

#[test]
fn spans_cover_exactly_one_table_or_index() {
    let db = Db::new();
    let t = table();
    let mut other = table();
    other.id = 21;
    let mut txn = db.txn();
    for i in 0..5 {
        insert(&mut txn, &t, &row(i, "x", Some("c"), Some(&i.to_string()))).unwrap();
        insert(&mut txn, &other, &row(i, "x", Some("c"), Some(&i.to_string()))).unwrap();
    }
    assert_eq!(txn.scan(index_span(t.id, 1), false, 0).unwrap().len(), 5);
    assert_eq!(txn.scan(index_span(t.id, 2), false, 0).unwrap().len(), 5);
    assert_eq!(raw_keys(&mut txn, t.id).len(), 15);
    txn.delete_range(index_span(t.id, 3)).unwrap();
    assert_eq!(raw_keys(&mut txn, t.id).len(), 10);
    txn.delete_range(table_span(t.id)).unwrap();
    assert!(raw_keys(&mut txn, t.id).is_empty());
    assert_eq!(raw_keys(&mut txn, other.id).len(), 15);
    // The largest id still has a finite span that ends before anything else.
    let (lo, hi) = table_span(u64::MAX);
    assert!(matches!((&lo, &hi), (Bound::Included(l), Bound::Excluded(h)) if l < h), "{lo:?} {hi:?}");
}

#[test]
fn concurrent_inserts_of_one_unique_value_conflict() {
    let db = Db::new();
    let t = table();
    let mut a = db.txn();
    let mut b = db.txn();
    insert(&mut a, &t, &row(1, "x", None, Some("5"))).unwrap();
    insert(&mut b, &t, &row(2, "x", None, Some("5.0"))).unwrap();
    a.commit().unwrap();
    assert_eq!(Error::from(b.commit().unwrap_err()).state, SqlState::SERIALIZATION_FAILURE);

    // The retry sees the duplicate; a different value commits; so do NULLs.
    let mut b = db.txn();
    let err = insert(&mut b, &t, &row(2, "x", None, Some("5.0"))).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    let mut c = db.txn();
    let mut d = db.txn();
    insert(&mut c, &t, &row(3, "x", None, Some("6"))).unwrap();
    insert(&mut d, &t, &row(4, "x", None, Some("7"))).unwrap();
    insert(&mut c, &t, &row(5, "x", None, None)).unwrap();
    insert(&mut d, &t, &row(6, "x", None, None)).unwrap();
    c.commit().unwrap();
    d.commit().unwrap();

    // An update moving onto a value a concurrent insert takes conflicts too.
    let mut e = db.txn();
    let mut f = db.txn();
    update(&mut e, &t, &row(3, "x", None, Some("6")), &row(3, "x", None, Some("8"))).unwrap();
    insert(&mut f, &t, &row(9, "x", None, Some("8"))).unwrap();
    f.commit().unwrap();
    assert!(e.commit().is_err());
    let mut g = db.txn();
    assert_eq!(scan_pk(&mut g, &t, KeyRange::Full, false).len(), 6);
}
