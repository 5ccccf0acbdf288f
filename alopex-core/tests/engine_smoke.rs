//! Basic behaviour of the engine through its public API.

use std::ops::Bound;

use alopex_core::{Engine, Error, IsolationLevel, Options, WriteBatch};
use bytes::Bytes;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn all(engine: &Engine) -> Vec<(Bytes, Bytes)> {
    engine.scan((Bound::Unbounded, Bound::Unbounded), false).collect::<Result<_, _>>().expect("scan")
}

#[test]
fn put_get_scan_across_flush_compaction_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { background_threads: false, ..Options::small_for_tests() };
    {
        let engine = Engine::open(dir.path(), opts.clone()).expect("open");
        for i in 0..5000u32 {
            engine.put(format!("key{i:05}"), format!("value{i}")).expect("put");
        }
        engine.delete(b("key00007")).expect("delete");
        engine.delete_range(b("key00100"), b("key00200")).expect("delete range");
        assert_eq!(engine.get(b"key00001").expect("get"), Some(b("value1")));
        assert_eq!(engine.get(b"key00007").expect("get"), None);
        assert_eq!(engine.get(b"key00150").expect("get"), None);
        assert_eq!(all(&engine).len(), 5000 - 1 - 100);
        engine.flush().expect("flush");
        engine.compact().expect("compact");
        let stats = engine.stats();
        assert!(stats.flushes > 0, "{stats:?}");
        assert_eq!(all(&engine).len(), 4899);
        let rev: Vec<_> = engine.scan((Bound::Unbounded, Bound::Unbounded), true).map(|r| r.expect("ok")).collect();
        let mut fwd = all(&engine);
        fwd.reverse();
        assert_eq!(rev, fwd);
    }
    let engine = Engine::open(dir.path(), opts).expect("reopen");
    assert_eq!(all(&engine).len(), 4899);
    assert_eq!(engine.get(b"key04999").expect("get"), Some(b("value4999")));
    engine.compact_all().expect("compact all");
    assert_eq!(all(&engine).len(), 4899);
    assert_eq!(engine.stats().level_tables[0], 0);
}

#[test]
fn snapshot_isolation_and_conflicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("open");
    engine.put(b("x"), b("1")).expect("put");
    let snap = engine.snapshot();
    let mut t1 = engine.begin(IsolationLevel::Snapshot);
    let mut t2 = engine.begin(IsolationLevel::Snapshot);
    t1.put(b("x"), b("2")).expect("buffer");
    t2.put(b("x"), b("3")).expect("buffer");
    assert_eq!(t1.get(b"x").expect("own write"), Some(b("2")));
    t1.commit().expect("first committer wins");
    assert!(matches!(t2.commit(), Err(Error::Conflict(_))));
    assert_eq!(snap.get(b"x").expect("get"), Some(b("1")));
    assert_eq!(engine.get(b"x").expect("get"), Some(b("2")));
    let mut batch = WriteBatch::new();
    batch.put(b("a"), b("1")).put(b("b"), b("2"));
    let ts = engine.write(batch).expect("batch");
    assert!(ts > snap.ts());
}

#[test]
fn export_then_ingest_ships_a_span_at_a_snapshot() {
    let src_dir = tempfile::tempdir().expect("tempdir");
    let dst_dir = tempfile::tempdir().expect("tempdir");
    let src = Engine::open(src_dir.path(), Options::small_for_tests()).expect("open");
    for i in 0..2000u32 {
        src.put(format!("r/{i:04}"), format!("v{i}")).expect("put");
    }
    src.put(b("other"), b("outside the span")).expect("put");
    src.delete(b("r/0005")).expect("delete");
    let at = src.visible_ts();
    // Writes after the export timestamp are not exported.
    src.put(b("r/0006"), b("too late")).expect("put");
    let file = src_dir.path().join("span.export");
    let range = (Bound::Included(b("r/")), Bound::Excluded(b("r0")));
    let stats = src.export(range.clone(), at, &file).expect("export");
    assert_eq!(stats.keys, 1999);

    let dst = Engine::open(dst_dir.path(), Options::small_for_tests()).expect("open");
    dst.put(b("r/9999"), b("already here")).expect("put");
    dst.ingest(&file).expect("ingest");
    assert_eq!(dst.get(b"r/0006").expect("get"), Some(b("v6")));
    assert_eq!(dst.get(b"r/0005").expect("get"), None);
    assert_eq!(dst.get(b"other").expect("get"), None);
    assert_eq!(dst.scan(range.clone(), false).count(), 2000);
    assert!(dst.visible_ts() >= at, "the clock moved past the ingested versions");
    // Ingested data survives reopen and compaction.
    drop(dst);
    let dst = Engine::open(dst_dir.path(), Options::small_for_tests()).expect("reopen");
    dst.compact_all().expect("compact");
    assert_eq!(dst.scan(range, false).count(), 2000);

    // A damaged export is refused and nothing is added.
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[100] ^= 0xff;
    let bad = src_dir.path().join("bad.export");
    std::fs::write(&bad, &bytes).expect("write");
    assert!(matches!(dst.ingest(&bad), Err(Error::Corruption { .. })));
}

#[test]
fn write_at_uses_caller_timestamps_and_older_versions_stay_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("open");
    let base = engine.visible_ts() + 1000;
    let mut batch = WriteBatch::new();
    batch.put(b("k"), b("at base"));
    engine.write_at(batch, base).expect("write_at");
    let mut batch = WriteBatch::new();
    batch.put(b("k"), b("later"));
    engine.write_at(batch, base + 10).expect("write_at");
    let snap = engine.snapshot_at(base + 5);
    assert_eq!(snap.get(b"k").expect("get"), Some(b("at base")));
    assert_eq!(engine.get(b"k").expect("get"), Some(b("later")));
    engine.flush().expect("flush");
    engine.compact_all().expect("compact");
    // The snapshot keeps its version through compaction.
    assert_eq!(snap.get(b"k").expect("get"), Some(b("at base")));
    assert!(engine.put(b("k"), b("fresh")).expect("put") > base + 10, "the clock moved past caller timestamps");
}

#[test]
fn close_releases_the_directory_even_with_live_transactions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("open");
    assert!(
        matches!(Engine::open(dir.path(), Options::small_for_tests()), Err(Error::InvalidArgument(_))),
        "a second open of the same directory is refused"
    );
    engine.put(b("k"), b("v")).expect("put");
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    txn.put(b("k"), b("late")).expect("buffer");
    engine.close().expect("close");
    assert!(matches!(txn.commit(), Err(Error::Closed)), "a commit after close is refused");
    let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("reopen while txn is alive");
    assert_eq!(engine.get(b"k").expect("get"), Some(b("v")));
}

#[test]
fn compaction_reclaims_overwritten_versions_and_bottom_tombstones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { background_threads: false, ..Options::small_for_tests() };
    let engine = Engine::open(dir.path(), opts).expect("open");
    let value = vec![b'v'; 100];
    for _ in 0..2000 {
        engine.put(b("hot"), value.clone()).expect("put");
    }
    for i in 0..1000u32 {
        engine.put(format!("gone/{i:04}"), value.clone()).expect("put");
    }
    engine.delete_range(b("gone/"), b("gone0")).expect("delete range");
    engine.flush().expect("flush");
    let before: u64 = engine.stats().level_bytes.iter().sum();
    assert!(before > 250_000, "3000 versions of 100 bytes are on disk: {before}");
    engine.compact_all().expect("compact");
    let after: u64 = engine.stats().level_bytes.iter().sum();
    // One version of "hot" survives; the deleted keys and their tombstones go.
    assert!(after < 4_096, "only one live version should remain, found {after} bytes");
    assert_eq!(engine.get(b"hot").expect("get").map(|v| v.len()), Some(100));
    assert_eq!(engine.scan_prefix(b"gone/", false).count(), 0);
}

/// A thread's reads wait for its own commits to become visible; that memory
/// must be per engine, or a commit on one engine (with large wall-clock
/// timestamps) would make reads on another (with a manual clock) wait forever.
#[test]
fn own_commit_tracking_is_per_engine() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let dir_a = tempfile::tempdir().expect("tempdir");
        let dir_b = tempfile::tempdir().expect("tempdir");
        let a = Engine::open(dir_a.path(), Options::small_for_tests()).expect("open a");
        a.put(b("k"), b("wall clock")).expect("put");
        let clock = std::sync::Arc::new(alopex_core::HybridClock::new(alopex_core::ManualClock::new(1)));
        let b_engine = Engine::open(dir_b.path(), Options { clock, ..Options::small_for_tests() }).expect("open b");
        let mut txn = b_engine.begin(IsolationLevel::Snapshot);
        let seen = txn.get(b"k").expect("get");
        let _ = tx.send(seen);
    });
    let seen = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("reads on engine b must not wait");
    assert_eq!(seen, None);
}

#[test]
fn approximate_counts_follow_the_data_in_memtables_and_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { background_threads: false, ..Options::small_for_tests() };
    let engine = Engine::open(dir.path(), opts).expect("open");
    for i in 0..4000u32 {
        engine.put(format!("a{i:05}"), "v").expect("put");
    }
    for i in 0..400u32 {
        engine.put(format!("b{i:05}"), "v").expect("put");
    }
    let span = |p: &str| (Bound::Included(b(p)), Bound::Excluded(b(&format!("{p}~"))));
    // In the memtable: exact.
    assert_eq!(engine.approximate_count(&span("a")), 4000);
    assert_eq!(engine.approximate_count(&span("b")), 400);
    engine.flush().expect("flush");
    // From the block index: roughly right, and in the right proportion.
    let (a, bb) = (engine.approximate_count(&span("a")), engine.approximate_count(&span("b")));
    assert!((3500..=4500).contains(&a), "a ≈ 4000, got {a}");
    assert!((200..=800).contains(&bb), "b ≈ 400, got {bb}");
    assert_eq!(engine.approximate_count(&span("c")), 0);
}
