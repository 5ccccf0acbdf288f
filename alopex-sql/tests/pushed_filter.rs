//! SQL scans hand the simple part of their filter to a store that
//! evaluates filters where the rows live (`KvStore::pushes_filters`).
//!
//! The store here is a `MemStore` whose transactions say they push and use
//! the default `KvTxn::scan_filtered` (the filter evaluated in the store,
//! through the registered SQL codec), counting the rows each scan ships to
//! the executor. Results must equal those of a store that does not push;
//! far fewer rows must be shipped; EXPLAIN names the pushed predicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alopex_core::{
    FilteredPage, KeyBounds, KvStore, KvTxn, MemStore, MemTxn, Result, Savepoint, ScanFilter, Timestamp, TxnOptions,
};
use alopex_sql::{Database, DatabaseOptions, StoreAdapter, Value};
use bytes::Bytes;

/// A store that pushes filters, counting the rows its scans return.
#[derive(Clone, Default)]
struct Pushing {
    inner: MemStore,
    shipped: Arc<AtomicU64>,
    push: bool,
}

struct PushingTxn {
    inner: MemTxn,
    shipped: Arc<AtomicU64>,
    push: bool,
}

impl KvStore for Pushing {
    type Txn = PushingTxn;
    fn begin(&self, opts: TxnOptions) -> Result<PushingTxn> {
        Ok(PushingTxn { inner: self.inner.begin(opts)?, shipped: self.shipped.clone(), push: self.push })
    }
    fn pushes_filters(&self) -> bool {
        self.push
    }
}

impl KvTxn for PushingTxn {
    fn read_ts(&self) -> Timestamp {
        self.inner.read_ts()
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        self.inner.get(key)
    }
    fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        let rows = self.inner.scan(range, reverse, limit)?;
        self.shipped.fetch_add(rows.len() as u64, Ordering::Relaxed);
        Ok(rows)
    }
    fn pushes_filters(&self) -> bool {
        self.push
    }
    fn scan_filtered(
        &mut self,
        range: KeyBounds,
        reverse: bool,
        limit: usize,
        filter: &ScanFilter,
    ) -> Result<FilteredPage> {
        // The default implementation over the inner transaction: the rows
        // it examines are not shipped, only the matches.
        let predicate = alopex_core::scan_filter::compile(filter)?;
        let page = alopex_core::kv::filter_pages(&mut self.inner, range, reverse, limit, &*predicate)?;
        self.shipped.fetch_add(page.rows.len() as u64, Ordering::Relaxed);
        Ok(page)
    }
    fn put(&mut self, key: Bytes, value: Bytes) -> Result<()> {
        self.inner.put(key, value)
    }
    fn delete(&mut self, key: Bytes) -> Result<()> {
        self.inner.delete(key)
    }
    fn delete_range(&mut self, range: KeyBounds) -> Result<()> {
        self.inner.delete_range(range)
    }
    fn commit(&mut self) -> Result<Timestamp> {
        self.inner.commit()
    }
    fn rollback(&mut self) -> Result<()> {
        self.inner.rollback()
    }
    fn savepoint(&mut self) -> Result<Savepoint> {
        self.inner.savepoint()
    }
    fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.inner.rollback_to_savepoint(sp)
    }
    fn release_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.inner.release_savepoint(sp)
    }
}

fn database(push: bool) -> (Database, Arc<AtomicU64>) {
    let store = Pushing { push, ..Default::default() };
    let shipped = store.shipped.clone();
    let db = Database::with_store(Box::new(StoreAdapter(store)), DatabaseOptions::default());
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT, name TEXT, d DATE, ts TIMESTAMPTZ)", &[]).unwrap();
    for i in 0..2000i64 {
        let v = if i % 13 == 0 { Value::Null } else { Value::Int(i % 1000) };
        let name = if i % 7 == 0 { Value::Null } else { Value::text(format!("n{}", i % 50)) };
        db.execute(
            "INSERT INTO t VALUES ($1, $2, $3, DATE '2024-01-01' + ($1 % 400)::int, TIMESTAMPTZ '2024-01-01 00:00:00+00')",
            &[Value::Int(i), v, name],
        )
        .unwrap();
    }
    (db, shipped)
}

fn rows(db: &Database, sql: &str) -> Vec<Vec<Value>> {
    db.query(sql, &[]).unwrap().map(|r| r.unwrap().values().to_vec()).collect()
}

const QUERIES: &[&str] = &[
    "SELECT * FROM t WHERE v < 10 ORDER BY id",
    "SELECT id FROM t WHERE v BETWEEN 100 AND 120 AND name LIKE 'n1%' ORDER BY id",
    "SELECT id FROM t WHERE v IN (1, 2, NULL) OR name IS NULL ORDER BY id",
    "SELECT id FROM t WHERE NOT (v >= 5) ORDER BY id",
    "SELECT id FROM t WHERE v = 7 AND ts > now() - interval '1000 years' ORDER BY id",
    "SELECT id FROM t WHERE d = DATE '2024-01-05' ORDER BY id",
    "SELECT id FROM t WHERE v < 10 LIMIT 3",
    "SELECT id FROM t WHERE v < 10 ORDER BY id DESC LIMIT 3",
    "SELECT count(*) FROM t WHERE v <> 3",
];

#[test]
fn pushed_scans_answer_like_unpushed_ones_and_ship_fewer_rows() {
    let (plain, plain_shipped) = database(false);
    let (pushed, pushed_shipped) = database(true);
    for q in QUERIES {
        let before = (plain_shipped.load(Ordering::Relaxed), pushed_shipped.load(Ordering::Relaxed));
        assert_eq!(rows(&pushed, q), rows(&plain, q), "{q}");
        let shipped =
            (plain_shipped.load(Ordering::Relaxed) - before.0, pushed_shipped.load(Ordering::Relaxed) - before.1);
        println!("{q}: shipped {} rows unpushed, {} pushed", shipped.0, shipped.1);
        assert!(shipped.1 <= shipped.0, "{q}");
    }
    let before = pushed_shipped.load(Ordering::Relaxed);
    let got = rows(&pushed, "SELECT id FROM t WHERE v < 10");
    let shipped = pushed_shipped.load(Ordering::Relaxed) - before;
    assert!(!got.is_empty());
    assert!(shipped < 100, "a selective filter ships about its matches ({shipped}), not the 2000 rows");
}

#[test]
fn explain_names_the_pushed_predicate() {
    let (pushed, _) = database(true);
    let lines: Vec<String> = rows(&pushed, "EXPLAIN SELECT id FROM t WHERE v < 10 AND ts > now()")
        .into_iter()
        .map(|r| match &r[0] {
            Value::Text(s) => s.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    let golden = lines.join("\n");
    println!("{golden}");
    assert!(golden.contains("Pushed filter on t: (t.v < 10)"), "{golden}");
    assert!(!golden.contains("Pushed filter on t: (t.ts"), "timestamptz is not pushed: {golden}");
    let (plain, _) = database(false);
    let plain_lines = rows(&plain, "EXPLAIN SELECT id FROM t WHERE v < 10");
    assert!(plain_lines.iter().all(|r| !format!("{r:?}").contains("Pushed filter")), "a local store pushes nothing");
}
