//! Vector search through embedded SQL on the MiniLM set: what a pgvector
//! user gets from `ORDER BY embedding <=> $1 LIMIT 10` when Alopex runs in
//! their process.
//!
//! The issue's benchmark compares three things: Alopex over the wire
//! against pgvector (the same psycopg client on both sides), Alopex
//! embedded against `hnswlib` in-process (the upper bound of a pure graph
//! library), and build times. The wire and Python halves live in
//! `bench/vector_pgvector.py`; this binary is the embedded half, and that
//! script runs it and parses its `RESULT` lines, so one command prints the
//! whole comparison. It also runs on its own:
//!
//! ```text
//! cargo bench -p alopex-sql --bench vector_sql
//! ```
//!
//! What it does, on `tests/data/minilm-10k` (10,000 × 384, cosine, k = 10):
//!
//! 1. opens a [`Database`] on a temporary directory with the default
//!    options (the ones `alopex serve` uses), creates
//!    `items (id INTEGER PRIMARY KEY, embedding VECTOR(384))` and loads the
//!    10,000 rows in one transaction with typed `Value::from(Vec<f32>)`
//!    parameters;
//! 2. **build**: `CREATE INDEX … USING hnsw (embedding vector_cosine_ops)
//!    WITH (m = 16, ef_construction = 64)` followed by
//!    [`Database::checkpoint`]. Both are timed together, because the graph
//!    is built when the entries are flushed (one graph per SSTable), not by
//!    the DDL statement: until then searches score the fresh rows exactly;
//! 3. **SQL**: for each `ef_search` in 10, 20, 40, 80, 160, a session runs
//!    `SET hnsw.ef_search = N`, then one warm-up pass and one timed pass of
//!    the 200 queries, one at a time, as
//!    `SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10` with the
//!    query as a typed parameter (the plan comes from the plan cache after
//!    the first execution, as a prepared statement's would). `EXPLAIN`
//!    must show a `VectorSearch`, or the bench stops: numbers from an
//!    exact scan would be meaningless;
//! 4. **`Database::search`** at the default `ef_search` (40), the
//!    convenience call (it returns every column plus the distance);
//! 5. **engine**: the same searches one layer down, through
//!    `alopex_core::Transaction::vector_search` on the index's span, to
//!    split the SQL layer's cost from the graph walk's.
//!
//! Recall@10 is measured against `groundtruth-cosine.ivecs` (exact top-100
//! by cosine distance; the first 10 count). Each result line is printed
//! twice: once for people, once as
//! `RESULT system=<name> ef=<n> recall=<r> qps=<q> build_s=<s>` for the
//! script. `ALOPEX_BENCH_REPS=n` repeats each timed pass n times and keeps
//! the best (for a noisy machine), and `ALOPEX_BENCH_PROFILE_EF=n` runs
//! only the SQL search at one `ef_search` for a profiler
//! (`ALOPEX_BENCH_REPS` passes).

use alopex_core::vector::fvecs::{read_fvecs, read_ivecs};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use alopex_core::IsolationLevel;
use alopex_sql::{Database, Session, Value};

const K: usize = 10;
const EFS: [usize; 5] = [10, 20, 40, 80, 160];
const SEARCH_SQL: &str = "SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/minilm-10k")
}

struct Data {
    base: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
    /// The exact top 10 per query.
    truth: Vec<Vec<u32>>,
}

fn load_data() -> Data {
    let floats = |name| read_fvecs(data_dir().join(name)).expect("test data (tests/data/minilm-10k)");
    let truth = read_ivecs(data_dir().join("groundtruth-cosine.ivecs"))
        .expect("test data (tests/data/minilm-10k)")
        .into_iter()
        .map(|r| r.into_iter().take(K).collect())
        .collect();
    Data { base: floats("base.fvecs"), queries: floats("query.fvecs"), truth }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// One timed pass: recall@10 over all queries and queries per second.
/// `search` returns the ids it found for query `i`.
fn pass(data: &Data, reps: usize, search: &mut dyn FnMut(usize) -> Vec<u32>) -> (f64, f64) {
    // Warm-up: first touches of the segment, the plan cache, the allocator.
    for i in 0..data.queries.len() {
        search(i);
    }
    let mut best_qps = 0.0f64;
    let mut recall = 0.0;
    for _ in 0..reps.max(1) {
        let mut found = 0;
        let start = Instant::now();
        for (i, truth) in data.truth.iter().enumerate() {
            found += search(i).iter().filter(|id| truth.contains(id)).count();
        }
        let qps = data.queries.len() as f64 / start.elapsed().as_secs_f64();
        best_qps = best_qps.max(qps);
        recall = found as f64 / (data.queries.len() * K) as f64;
    }
    (recall, best_qps)
}

fn report(system: &str, ef: usize, (recall, qps): (f64, f64), build_s: f64) {
    println!("{system:<24} {ef:>9} {recall:>10.3} {qps:>10.0} {build_s:>8.2}");
    println!("RESULT system={system} ef={ef} recall={recall:.4} qps={qps:.1} build_s={build_s:.3}");
}

/// The ids a SQL search returned.
fn sql_ids(session: &mut Session, query: &[f32]) -> Vec<u32> {
    session
        .query(SEARCH_SQL, &[Value::from(query)])
        .expect("search")
        .map(|r| r.expect("row").get::<i32>(0).expect("id") as u32)
        .collect()
}

fn set_ef(session: &mut Session, ef: usize) {
    session.execute(&format!("SET hnsw.ef_search = {ef}"), &[]).expect("SET hnsw.ef_search");
}

fn main() {
    let data = load_data();
    assert_eq!((data.base.len(), data.queries.len(), data.truth.len()), (10_000, 200, 200), "MiniLM-10k");
    let reps = env_usize("ALOPEX_BENCH_REPS").unwrap_or(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, embedding VECTOR(384))", &[]).expect("create");

    let start = Instant::now();
    let mut txn = db.begin().expect("begin");
    for (id, v) in data.base.iter().enumerate() {
        txn.execute("INSERT INTO items VALUES ($1, $2)", &[Value::Int(id as i64), Value::from(v.clone())])
            .expect("insert");
    }
    txn.commit().expect("commit");
    let load_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    db.execute(
        "CREATE INDEX items_embedding ON items USING hnsw (embedding vector_cosine_ops) \
         WITH (m = 16, ef_construction = 64)",
        &[],
    )
    .expect("create index");
    let ddl_s = start.elapsed().as_secs_f64();
    db.checkpoint().expect("checkpoint");
    let build_s = start.elapsed().as_secs_f64();
    println!(
        "MiniLM 10k x 384, cosine, k = {K}, m = 16, ef_construction = 64: load {load_s:.2} s (one transaction), \
         build {build_s:.2} s (CREATE INDEX {ddl_s:.2} s + checkpoint {:.2} s)",
        build_s - ddl_s
    );
    println!("LOAD system=alopex-embedded load_s={load_s:.3} create_index_s={ddl_s:.3} build_s={build_s:.3}");

    let mut session = db.session();
    let plan: Vec<String> = session
        .query(&format!("EXPLAIN {SEARCH_SQL}"), &[Value::from(&data.queries[0][..])])
        .expect("explain")
        .map(|r| r.expect("row").get::<String>(0).expect("plan line"))
        .collect();
    assert!(plan.iter().any(|l| l.contains("VectorSearch")), "the index is not used:\n{}", plan.join("\n"));
    println!("plan: {}", plan.join(" / "));

    if let Some(ef) = env_usize("ALOPEX_BENCH_PROFILE_EF") {
        set_ef(&mut session, ef);
        let result = pass(&data, reps, &mut |i| sql_ids(&mut session, &data.queries[i]));
        report("alopex-embedded-sql", ef, result, build_s);
        return;
    }

    println!("{:<24} {:>9} {:>10} {:>10} {:>8}", "system", "ef_search", "recall@10", "QPS", "build s");
    for ef in EFS {
        set_ef(&mut session, ef);
        let result = pass(&data, reps, &mut |i| sql_ids(&mut session, &data.queries[i]));
        report("alopex-embedded-sql", ef, result, build_s);
    }

    // The convenience call, at the default ef_search.
    let result = pass(&data, reps, &mut |i| {
        db.search("items", "embedding", &data.queries[i], K, None)
            .expect("search")
            .map(|r| r.expect("row").get::<i32>(0).expect("id") as u32)
            .collect()
    });
    report("alopex-embedded-search", 40, result, build_s);

    // One layer down: the engine's search over the index's span. Hits carry
    // the index entry's key and the stored vector; the vector names the row
    // (MiniLM has no two identical vectors among its 10k).
    let engine = db.engine().expect("local engine");
    let specs = engine.vector_indexes();
    assert_eq!(specs.len(), 1, "one vector index registered");
    let index_id = specs[0].id;
    let by_vector: HashMap<Vec<u8>, u32> = (data.base.iter().enumerate())
        .map(|(id, v)| (v.iter().flat_map(|x| x.to_le_bytes()).collect(), id as u32))
        .collect();
    for ef in EFS {
        let result = pass(&data, reps, &mut |i| {
            let mut txn = engine.begin(IsolationLevel::Snapshot);
            let hits = txn.vector_search(index_id, &data.queries[i], K, ef, None).expect("engine search");
            hits.iter().map(|h| by_vector.get(&h.value[..]).copied().unwrap_or(u32::MAX)).collect()
        });
        report("alopex-engine", ef, result, build_s);
    }
}
