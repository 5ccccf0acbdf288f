//! Vector search in the engine on the MiniLM set: what segments cost to
//! build, to open, and what they give back at query time.
//!
//! Measures, on `tests/data/minilm-10k` (10,000 × 384, cosine, k = 10,
//! m = 16, ef_construction = 64):
//!
//! * **flush**: writing the 10,000 rows as one table, without and with the
//!   index registered (the difference is the segment build);
//! * **compaction**: `compact_all` moving that table down the levels (the
//!   segment is reused), then merging it with 1,000 rewritten rows (the
//!   segment is rebuilt), without and with;
//! * **reopen**: opening the database and the first search (which parses
//!   the segment), against later searches;
//! * **search**: recall@10 and queries per second, one thread, through
//!   `Transaction::vector_search`, at `ef_search` 10, 20, 40, 80, 160, over
//!   the compacted table (one segment), plus exact search (memtable only)
//!   for reference.
//!
//! ```text
//! cargo bench -p alopex-core --bench vector
//! # only the query path, 40 passes at ef_search 40 (for perf record):
//! ALOPEX_BENCH_PROFILE_EF=40 ALOPEX_BENCH_SEARCH_REPS=40 cargo bench -p alopex-core --bench vector
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alopex_core::vector::fvecs::{read_fvecs, read_ivecs};
use alopex_core::vector::value;
use alopex_core::{Engine, IsolationLevel, Metric, Options, VectorIndexSpec, WriteBatch};
use bytes::Bytes;

const K: usize = 10;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/minilm-10k")
}

fn key(row: usize) -> Bytes {
    Bytes::from(format!("v/{row:05}"))
}

fn options() -> Options {
    Options { background_threads: false, ..Options::default() }
}

fn load(engine: &Engine, base: &[Vec<f32>]) {
    for (c, chunk) in base.chunks(1000).enumerate() {
        let mut batch = WriteBatch::new();
        for (i, v) in chunk.iter().enumerate() {
            batch.put(key(c * 1000 + i), value::encode(v).expect("finite"));
        }
        engine.write(batch).expect("write");
    }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Flush and compaction times, with or without the index: the flush of
/// the 10k rows, a `compact_all` that only moves that table down (the
/// segment is reused), and a `compact_all` that merges it with a table of
/// 1,000 rows rewritten with the same vectors (new versions, so the merge
/// drops the old ones and rebuilds the segment over 10k vectors; the
/// ground truth stays valid).
fn write_costs(base: &[Vec<f32>], spec: &VectorIndexSpec, indexed: bool) -> ([Duration; 3], tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path(), options()).expect("open");
    if indexed {
        engine.create_vector_index(spec.clone()).expect("create");
    }
    load(&engine, base);
    let ((), flush) = timed(|| engine.flush().expect("flush"));
    let ((), moved) = timed(|| engine.compact_all().expect("compact"));
    let mut batch = WriteBatch::new();
    for row in (0..base.len()).step_by(10) {
        batch.put(key(row), value::encode(&base[row]).expect("finite"));
    }
    engine.write(batch).expect("write");
    engine.flush().expect("flush");
    let ((), merged) = timed(|| engine.compact_all().expect("compact"));
    drop(engine);
    ([flush, moved, merged], dir)
}

fn search_pass(engine: &Engine, queries: &[Vec<f32>], truth: &[Vec<u32>], ef: usize) -> (f64, f64) {
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let mut found = 0;
    let start = Instant::now();
    for (q, t) in queries.iter().zip(truth) {
        let hits = txn.vector_search(1, q, K, ef, None).expect("search");
        let want: Vec<u32> = t.iter().take(K).copied().collect();
        found += hits
            .iter()
            .filter(|h| {
                let row: u32 = std::str::from_utf8(&h.key[2..]).expect("utf8").parse().expect("row");
                want.contains(&row)
            })
            .count();
    }
    let secs = start.elapsed().as_secs_f64();
    (found as f64 / (queries.len() * K) as f64, queries.len() as f64 / secs)
}

fn main() {
    let base = read_fvecs(data_dir().join("base.fvecs")).expect("test data");
    let queries = read_fvecs(data_dir().join("query.fvecs")).expect("test data");
    let truth = read_ivecs(data_dir().join("groundtruth-cosine.ivecs")).expect("test data");
    let spec = VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], 384, Metric::Cosine);
    println!("MiniLM 10k × 384, cosine, m = {}, ef_construction = {}, k = {K}", spec.m, spec.ef_construction);

    // ALOPEX_BENCH_SEARCH_REPS=n repeats each search pass n times (for
    // profiling the query path).
    let reps: usize = std::env::var("ALOPEX_BENCH_SEARCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    if let Ok(ef) = std::env::var("ALOPEX_BENCH_PROFILE_EF") {
        // Only the query path, for a profiler: one indexed table, then
        // `reps` passes at one ef_search.
        let ef: usize = ef.parse().expect("ALOPEX_BENCH_PROFILE_EF is a number");
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path(), options()).expect("open");
        engine.create_vector_index(spec.clone()).expect("create");
        load(&engine, &base);
        engine.flush().expect("flush");
        let start = Instant::now();
        let mut pass = (0.0, 0.0);
        for _ in 0..reps {
            pass = search_pass(&engine, &queries, &truth, ef);
        }
        println!(
            "ef_search {ef}: recall@10 {:.3}, {:.0} QPS over {:.1} s",
            pass.0,
            pass.1,
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let (plain, _plain_dir) = write_costs(&base, &spec, false);
    let (indexed, indexed_dir) = write_costs(&base, &spec, true);
    let steps = ["flush of 10k rows", "compact_all, moves only", "compact_all, merging"];
    for ((step, without), with) in steps.iter().zip(plain).zip(indexed) {
        println!(
            "{step:<24} {:>8.1} ms without the index, {:>8.1} ms with (+{:.1} ms)",
            ms(without),
            ms(with),
            ms(with.saturating_sub(without))
        );
    }

    let (engine, open) = timed(|| Engine::open(indexed_dir.path(), options()).expect("reopen"));
    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let (_, first) = timed(|| txn.vector_search(1, &queries[0], K, 40, None).expect("search"));
    let (_, second) = timed(|| txn.vector_search(1, &queries[1], K, 40, None).expect("search"));
    drop(txn);
    println!(
        "reopen: open {:.1} ms; first search {:.2} ms (parses the segment); next search {:.3} ms",
        ms(open),
        ms(first),
        ms(second)
    );

    println!("ef_search  recall@10        QPS   (1 thread, compacted: one segment)");
    for ef in [10, 20, 40, 80, 160] {
        search_pass(&engine, &queries, &truth, ef); // warm
        let mut pass = search_pass(&engine, &queries, &truth, ef);
        for _ in 1..reps {
            pass = search_pass(&engine, &queries, &truth, ef);
        }
        let (recall, qps) = pass;
        println!("{ef:>9}  {recall:>9.3}  {qps:>9.0}");
    }
    drop(engine);

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path(), options()).expect("open");
    engine.create_vector_index(spec).expect("create");
    load(&engine, &base);
    let (recall, qps) = search_pass(&engine, &queries, &truth, 40);
    println!("exact (memtable only): recall@10 {recall:.3}, {qps:.0} QPS");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
