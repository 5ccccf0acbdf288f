//! Reopening a database that holds a large vector index.
//!
//! Segments are stored in the SSTables, so opening a database never
//! rebuilds a graph; the first search of each table parses its segment.
//! This bench measures both at scale: it writes `ALOPEX_BENCH_VECTORS`
//! vectors (default 1,000,000) of `ALOPEX_BENCH_DIM` dimensions (default
//! 384, the MiniLM set's rows with small random perturbations, so the data
//! has the real set's structure), flushes them with an HNSW index
//! registered (cosine, m = 16, ef_construction = 64), closes the engine,
//! and reports:
//!
//! * the load and flush time (the flush builds the graphs);
//! * `Engine::open` of the indexed database;
//! * the first search (parses every table's segment) and the next ones;
//! * recall@10 of the later searches against exact search over the same
//!   data, as a sanity check.
//!
//! ```text
//! cargo bench -p alopex-core --bench vector_reopen
//! ALOPEX_BENCH_VECTORS=100000 cargo bench -p alopex-core --bench vector_reopen
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alopex_core::vector::fvecs::read_fvecs;
use alopex_core::vector::value;
use alopex_core::{Engine, IsolationLevel, Metric, Options, VectorIndexSpec, WriteBatch};
use bytes::Bytes;

const K: usize = 10;
const QUERIES: usize = 20;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/minilm-10k")
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn key(row: usize) -> Bytes {
    Bytes::from(format!("v/{row:08}"))
}

/// Row `i`: MiniLM row `i % 10,000` (cut or repeated to `dim`), plus noise
/// of about a tenth of an element's spread.
fn vector(base: &[Vec<f32>], i: usize, dim: usize) -> Vec<f32> {
    let src = &base[i % base.len()];
    let mut s = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|d| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let noise = ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.01;
            src[d % src.len()] + noise
        })
        .collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn main() {
    let n = env("ALOPEX_BENCH_VECTORS", 1_000_000);
    let dim = env("ALOPEX_BENCH_DIM", 384);
    let base = read_fvecs(data_dir().join("base.fvecs")).expect("test data");
    let queries: Vec<Vec<f32>> = (0..QUERIES).map(|q| vector(&base, n + 7919 * q, dim)).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], dim as u32, Metric::Cosine);
    // One memtable holds everything, so the one flush at the end writes
    // every table (and graph); no background work interferes.
    let budget = (n * (dim * 4 + 64) * 2).max(64 << 20);
    let options = || Options { background_threads: false, memtable_budget: budget, ..Options::default() };

    println!("{n} vectors of {dim} dimensions, cosine, m = 16, ef_construction = 64");
    let started = Instant::now();
    {
        let engine = Engine::open(dir.path(), options()).expect("open");
        engine.create_vector_index(spec.clone()).expect("register");
        let mut batch = WriteBatch::new();
        for i in 0..n {
            batch.put(key(i), value::encode(&vector(&base, i, dim)).expect("finite"));
            if (i + 1) % 1000 == 0 {
                engine.write(std::mem::take(&mut batch)).expect("write");
            }
        }
        engine.write(batch).expect("write");
        engine.flush().expect("flush");
        engine.close().expect("close");
    }
    println!("load + flush (graph build): {:.1} s", secs(started.elapsed()));
    let bytes: u64 = walk_bytes(dir.path());
    println!("data directory: {:.0} MB", bytes as f64 / 1e6);

    let started = Instant::now();
    let engine = Engine::open(dir.path(), options()).expect("reopen");
    println!("Engine::open: {:.3} s", secs(started.elapsed()));

    let mut txn = engine.begin(IsolationLevel::Snapshot);
    let started = Instant::now();
    let first = txn.vector_search(1, &queries[0], K, 40, None).expect("search");
    println!("first search (parses every segment): {:.3} s", secs(started.elapsed()));
    let started = Instant::now();
    let mut results = Vec::new();
    for q in &queries[1..] {
        results.push(txn.vector_search(1, q, K, 40, None).expect("search"));
    }
    let later = started.elapsed() / (QUERIES as u32 - 1);
    println!("later searches at ef_search 40: {:.2} ms each", later.as_secs_f64() * 1e3);

    // Recall against the exact answer over the same data (a full scan).
    let started = Instant::now();
    let mut found = 0;
    for (q, hits) in queries[1..].iter().zip(&results) {
        let mut exact: Vec<(f32, usize)> =
            (0..n).map(|i| (Metric::Cosine.distance(q, &vector(&base, i, dim)), i)).collect();
        exact.select_nth_unstable_by(K, |a, b| a.0.total_cmp(&b.0));
        let truth: Vec<Bytes> = exact[..K].iter().map(|(_, i)| key(*i)).collect();
        found += hits.iter().filter(|h| truth.contains(&h.key)).count();
    }
    println!(
        "recall@{K} at ef_search 40: {:.3} (exact check took {:.1} s); first search returned {}",
        found as f64 / ((QUERIES - 1) * K) as f64,
        secs(started.elapsed()),
        first.len()
    );
}

fn walk_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
