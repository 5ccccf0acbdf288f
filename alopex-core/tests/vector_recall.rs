//! Vector search on real embeddings through the engine's public API.
//!
//! 10,000 MiniLM sentence embeddings (384 dimensions) and 200 queries with
//! exact top-100 ground truth (`tests/data/minilm-10k/`, see its ORIGIN.md).
//! Recall@10 at `ef_search = 40` must stay at or above 0.95, for cosine and
//! for L2, in every state the data passes through: memtable only, flushed
//! (one segment), compacted (rebuilt segment), reopened, and after deleting
//! 10% and updating another 10% of the rows (deleted rows never returned,
//! updated rows returned with their new vector). Filtered search returns
//! only accepted keys with the same recall against exact filtered truth. A
//! flipped byte in a segment on disk is a corruption error.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use alopex_core::vector::fvecs::Dataset;
use alopex_core::vector::{KeyFilter, value};
use alopex_core::{Engine, Error, IsolationLevel, KvTxn, MemStore, Metric, Options, VectorIndexSpec, WriteBatch};
use bytes::Bytes;

const K: usize = 10;
const EF_SEARCH: usize = 40;
const MIN_RECALL: f64 = 0.95;
/// Queries used per check (of the 200), to keep debug-mode tests quick.
const QUERIES: usize = 100;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/minilm-10k")
}

fn data() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| Dataset::load(data_dir()).expect("test data (tests/data/minilm-10k)"))
}

fn key(row: usize) -> Bytes {
    Bytes::from(format!("v/{row:05}"))
}

fn row_of(key: &[u8]) -> usize {
    std::str::from_utf8(&key[2..]).expect("utf8").parse().expect("row number")
}

fn spec(metric: Metric) -> VectorIndexSpec {
    VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], 384, metric)
}

fn options() -> Options {
    Options { background_threads: false, ..Options::default() }
}

/// The exact top k rows of `query` among `live` (row → vector), optionally
/// restricted to rows `keep` accepts.
fn exact_top(metric: Metric, live: &[Option<Vec<f32>>], query: &[f32], keep: &dyn Fn(usize) -> bool) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = live
        .iter()
        .enumerate()
        .filter(|(row, v)| v.is_some() && keep(*row))
        .filter_map(|(row, v)| v.as_ref().map(|v| (metric.distance(query, v), row)))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored.into_iter().take(K).map(|(_, row)| row).collect()
}

/// A filter on keys, as the tests write them.
type KeyPredicate<'a> = &'a dyn Fn(&[u8]) -> bool;

/// Searches every query and checks each hit against `live`: the key is
/// live, its value is the current vector, and the distance is exact.
/// Returns recall@10 against `truth`.
fn recall(
    txn: &mut dyn KvTxn,
    spec: &VectorIndexSpec,
    live: &[Option<Vec<f32>>],
    truth: &dyn Fn(usize) -> Vec<usize>,
    filter: Option<KeyPredicate<'_>>,
) -> f64 {
    let wrapped = filter.map(|f| move |key: &[u8]| f(key));
    let search_filter = wrapped.as_ref().map(|w| w as KeyFilter<'_>);
    let d = data();
    let mut found = 0;
    let mut expected = 0;
    for (qi, query) in d.queries.iter().enumerate().take(QUERIES) {
        let hits = txn.vector_search(spec, query, K, EF_SEARCH, search_filter).expect("search");
        let want = truth(qi);
        expected += want.len();
        assert!(hits.len() <= K);
        for hit in &hits {
            let row = row_of(&hit.key);
            let Some(current) = &live[row] else { panic!("deleted row {row} returned") };
            assert_eq!(value::decode(&hit.value, 384).expect("vector"), *current, "row {row}: stale value");
            let exact = spec.metric.distance(query, current);
            assert!((hit.distance - exact).abs() <= 1e-5, "row {row}: distance {} vs {exact}", hit.distance);
            if let Some(f) = filter {
                assert!(f(&hit.key), "row {row} rejected by the filter was returned");
            }
            if want.contains(&row) {
                found += 1;
            }
        }
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance), "hits not sorted");
    }
    found as f64 / expected.max(1) as f64
}

fn check(engine: &Engine, spec: &VectorIndexSpec, live: &[Option<Vec<f32>>], state: &str) {
    let truth_file = match spec.metric {
        Metric::Cosine => &data().truth_cosine,
        _ => &data().truth_l2,
    };
    let pristine = live.iter().zip(&data().base).all(|(l, b)| l.as_ref() == Some(b));
    let truth = |qi: usize| -> Vec<usize> {
        if pristine {
            truth_file[qi].iter().take(K).map(|&r| r as usize).collect()
        } else {
            exact_top(spec.metric, live, &data().queries[qi], &|_| true)
        }
    };
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let r = recall(&mut txn, spec, live, &truth, None);
    println!("{:?} {state}: recall@{K} = {r:.3} (ef_search {EF_SEARCH})", spec.metric);
    assert!(r >= MIN_RECALL, "{:?} {state}: recall@{K} {r:.3} < {MIN_RECALL}", spec.metric);
}

fn load(engine: &Engine) -> Vec<Option<Vec<f32>>> {
    for chunk in data().base.chunks(1000).enumerate() {
        let mut batch = WriteBatch::new();
        for (i, v) in chunk.1.iter().enumerate() {
            batch.put(key(chunk.0 * 1000 + i), value::encode(v).expect("finite"));
        }
        engine.write(batch).expect("write");
    }
    data().base.iter().cloned().map(Some).collect()
}

/// Deletes rows ≡ 0 (mod 10) and gives rows ≡ 1 (mod 10) another row's
/// vector.
fn delete_and_update(engine: &Engine, live: &mut [Option<Vec<f32>>]) {
    let mut batch = WriteBatch::new();
    for (row, slot) in live.iter_mut().enumerate() {
        match row % 10 {
            0 => {
                batch.delete(key(row));
                *slot = None;
            }
            1 => {
                let new = data().base[(row * 7 + 3) % data().base.len()].clone();
                batch.put(key(row), value::encode(&new).expect("finite"));
                *slot = Some(new);
            }
            _ => {}
        }
    }
    engine.write(batch).expect("write");
}

fn lifecycle(metric: Metric) {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(metric);
    let mut live;
    {
        let engine = Engine::open(dir.path(), options()).expect("open");
        engine.create_vector_index(spec.clone()).expect("create index");
        live = load(&engine);
        check(&engine, &spec, &live, "memtable");
        engine.flush().expect("flush");
        check(&engine, &spec, &live, "flushed");
        engine.compact_all().expect("compact");
        check(&engine, &spec, &live, "compacted");
    }
    let engine = Engine::open(dir.path(), options()).expect("reopen");
    check(&engine, &spec, &live, "reopened");
    delete_and_update(&engine, &mut live);
    check(&engine, &spec, &live, "deleted+updated (memtable over segment)");
    engine.flush().expect("flush");
    check(&engine, &spec, &live, "deleted+updated (flushed)");
    engine.compact_all().expect("compact");
    check(&engine, &spec, &live, "deleted+updated (compacted)");

    // Filtered search: 50%, 5% and 0.5% of the rows.
    for modulus in [2usize, 20, 200] {
        let keep = move |row: usize| row % modulus == 3 % modulus;
        let filter = move |key: &[u8]| keep(row_of(key));
        let truth = |qi: usize| exact_top(metric, &live, &data().queries[qi], &keep);
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        let r = recall(&mut txn, &spec, &live, &truth, Some(&filter));
        println!("{metric:?} filtered 1/{modulus}: recall@{K} = {r:.3}");
        assert!(r >= MIN_RECALL, "{metric:?} filtered 1/{modulus}: recall@{K} {r:.3}");
    }
}

#[test]
fn cosine_recall_through_the_lifecycle() {
    lifecycle(Metric::Cosine);
}

#[test]
fn l2_recall_through_the_lifecycle() {
    lifecycle(Metric::L2);
}

#[test]
fn own_writes_are_seen_inside_the_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(Metric::Cosine);
    let engine = Engine::open(dir.path(), options()).expect("open");
    engine.create_vector_index(spec.clone()).expect("create");
    let base = &data().base[..2000];
    let mut batch = WriteBatch::new();
    for (row, v) in base.iter().enumerate() {
        batch.put(key(row), value::encode(v).expect("finite"));
    }
    engine.write(batch).expect("write");
    engine.flush().expect("flush");
    let query = &data().queries[0];
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let before = txn.vector_search(1, query, K, EF_SEARCH, None).expect("search");
    let top = before[0].key.clone();
    // Delete the best hit and insert the query itself under a new key.
    txn.delete(top.clone()).expect("delete");
    txn.put(key(9999), value::encode(query).expect("finite")).expect("put");
    let after = txn.vector_search(1, query, K, EF_SEARCH, None).expect("search");
    assert_eq!(after[0].key, key(9999));
    assert!(after[0].distance.abs() < 1e-5);
    assert!(after.iter().all(|h| h.key != top));
    // Another transaction sees neither.
    let mut other = engine.begin(IsolationLevel::Snapshot);
    assert_eq!(other.vector_search(1, query, K, EF_SEARCH, None).expect("search")[0].key, top);
    // An own write that is not a vector of the index is the caller's error.
    txn.put(key(9998), Bytes::from_static(b"xyz")).expect("put");
    assert!(matches!(txn.vector_search(1, query, K, EF_SEARCH, None), Err(Error::InvalidArgument(_))));
    assert!(matches!(other.vector_search(1, &query[..3], K, EF_SEARCH, None), Err(Error::InvalidArgument(_))));
    assert!(matches!(other.vector_search(2, query, K, EF_SEARCH, None), Err(Error::InvalidArgument(_))));
}

#[test]
fn tables_written_before_the_index_are_searched_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(Metric::L2);
    let engine = Engine::open(dir.path(), options()).expect("open");
    let base = &data().base[..1000];
    let mut batch = WriteBatch::new();
    for (row, v) in base.iter().enumerate() {
        batch.put(key(row), value::encode(v).expect("finite"));
    }
    engine.write(batch).expect("write");
    engine.flush().expect("flush"); // no index yet: no segment
    engine.create_vector_index(spec.clone()).expect("create");
    let live: Vec<Option<Vec<f32>>> = base.iter().cloned().map(Some).collect();
    let query = &data().queries[1];
    let want = exact_top(Metric::L2, &live, query, &|_| true);
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let got: Vec<usize> =
        txn.vector_search(1, query, K, EF_SEARCH, None).expect("search").iter().map(|h| row_of(&h.key)).collect();
    assert_eq!(got, want);
    // The default (exact, scan-based) implementation agrees.
    let store = MemStore::default();
    let mut mem = alopex_core::KvStore::begin(&store, Default::default()).expect("begin");
    for (row, v) in base.iter().enumerate() {
        mem.put(key(row), value::encode(v).expect("finite")).expect("put");
    }
    let got: Vec<usize> =
        mem.vector_search(&spec, query, K, EF_SEARCH, None).expect("search").iter().map(|h| row_of(&h.key)).collect();
    assert_eq!(got, want);
}

#[test]
fn a_flipped_segment_byte_is_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(Metric::Cosine);
    {
        let engine = Engine::open(dir.path(), options()).expect("open");
        engine.create_vector_index(spec.clone()).expect("create");
        let mut batch = WriteBatch::new();
        for (row, v) in data().base[..500].iter().enumerate() {
            batch.put(key(row), value::encode(v).expect("finite"));
        }
        engine.write(batch).expect("write");
        engine.flush().expect("flush");
    }
    let table = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .expect("a table");
    let mut bytes = std::fs::read(&table).expect("read");
    let at = bytes.windows(8).position(|w| w == b"ALXVSEG\0").expect("segment magic in the table");
    bytes[at + 5000] ^= 0x01;
    std::fs::write(&table, &bytes).expect("write");
    let engine = Engine::open(dir.path(), options()).expect("a table opens: sections are checked when read");
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    match txn.vector_search(1, &data().queries[0], K, EF_SEARCH, None) {
        Err(Error::Corruption { .. }) => {}
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]
fn an_exported_span_carries_its_segment_to_the_ingesting_engine() {
    let spec = spec(Metric::L2);
    let rows = 2000;
    let source_dir = tempfile::tempdir().expect("tempdir");
    let target_dir = tempfile::tempdir().expect("tempdir");
    let file = source_dir.path().join("export.sst");
    {
        let source = Engine::open(source_dir.path().join("db"), options()).expect("open");
        source.create_vector_index(spec.clone()).expect("create");
        let mut batch = WriteBatch::new();
        for (row, v) in data().base[..rows].iter().enumerate() {
            batch.put(key(row), value::encode(v).expect("finite"));
        }
        let ts = source.write(batch).expect("write");
        source.export(spec.span(), ts, &file).expect("export");
    }
    let bytes = std::fs::read(&file).expect("read export");
    assert!(bytes.windows(8).any(|w| w == b"ALXVSEG\0"), "the export holds a segment");
    let target = Engine::open(target_dir.path(), options()).expect("open");
    target.create_vector_index(spec.clone()).expect("create");
    target.ingest(&file).expect("ingest");
    let live: Vec<Option<Vec<f32>>> = data().base[..rows].iter().cloned().map(Some).collect();
    let truth = |qi: usize| exact_top(Metric::L2, &live, &data().queries[qi], &|_| true);
    let mut txn = target.begin(IsolationLevel::Snapshot);
    let r = recall(&mut txn, &spec, &live, &truth, None);
    assert!(r >= MIN_RECALL, "recall {r}");
}

/// Searches keep answering consistently while a writer commits and the
/// background threads flush and compact underneath them: every hit is the
/// value a point read at the same snapshot returns, at its exact distance.
#[test]
fn searches_stay_consistent_under_concurrent_flush_and_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(Metric::Cosine);
    let opts = Options { memtable_budget: 512 << 10, ..Options::small_for_tests() };
    let engine = std::sync::Arc::new(Engine::open(dir.path(), opts).expect("open"));
    engine.create_vector_index(spec.clone()).expect("create");
    let rows = 3000;
    let writer = {
        let engine = std::sync::Arc::clone(&engine);
        std::thread::spawn(move || {
            for round in 0..3 {
                for chunk in (0..rows).collect::<Vec<_>>().chunks(100) {
                    let mut batch = WriteBatch::new();
                    for &row in chunk {
                        if round == 2 && row % 7 == 0 {
                            batch.delete(key(row));
                        } else {
                            let v = &data().base[(row + round * 17) % data().base.len()];
                            batch.put(key(row), value::encode(v).expect("finite"));
                        }
                    }
                    engine.write(batch).expect("write");
                }
            }
        })
    };
    let mut searches = 0;
    while !writer.is_finished() || searches < 20 {
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        let query = &data().queries[searches % data().queries.len()];
        let hits = txn.vector_search(1, query, K, EF_SEARCH, None).expect("search");
        for hit in &hits {
            assert_eq!(txn.get(&hit.key).expect("get"), Some(hit.value.clone()), "hit is the visible version");
            let v = value::decode(&hit.value, 384).expect("vector");
            assert!((hit.distance - Metric::Cosine.distance(query, &v)).abs() <= 1e-5);
        }
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance));
        searches += 1;
    }
    writer.join().expect("writer");
    let stats = engine.stats();
    println!("{searches} searches during {} flushes and {} compactions", stats.flushes, stats.compactions);
    assert!(stats.flushes > 0, "{stats:?}");
}

#[test]
fn inner_product_search_after_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(Metric::InnerProduct);
    let engine = Engine::open(dir.path(), options()).expect("open");
    engine.create_vector_index(spec.clone()).expect("create");
    let rows = 3000;
    // Scale rows so norms differ: inner product is not cosine here.
    let live: Vec<Option<Vec<f32>>> = data().base[..rows]
        .iter()
        .enumerate()
        .map(|(row, v)| Some(v.iter().map(|x| x * (1.0 + (row % 5) as f32 * 0.25)).collect()))
        .collect();
    let mut batch = WriteBatch::new();
    for (row, v) in live.iter().enumerate() {
        batch.put(key(row), value::encode(v.as_deref().expect("live")).expect("finite"));
    }
    engine.write(batch).expect("write");
    engine.flush().expect("flush");
    let truth = |qi: usize| exact_top(Metric::InnerProduct, &live, &data().queries[qi], &|_| true);
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let r = recall(&mut txn, &spec, &live, &truth, None);
    println!("InnerProduct flushed: recall@{K} = {r:.3}");
    assert!(r >= MIN_RECALL, "inner product recall {r}");
}
