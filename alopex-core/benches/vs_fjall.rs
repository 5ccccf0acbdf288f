//! alopex-core against fjall 3 on the same workloads, in one run.
//!
//! ```text
//! cargo bench -p alopex-core --bench vs_fjall
//! ALOPEX_BENCH_KEYS=100000 cargo bench -p alopex-core --bench vs_fjall      # quick
//! ALOPEX_BENCH_ONLY=read cargo bench -p alopex-core --bench vs_fjall        # a subset
//! ALOPEX_BENCH_REPS=3 cargo bench -p alopex-core --bench vs_fjall           # median of 3
//! ```
//!
//! ## How it runs
//!
//! The parent process runs every cell (one engine, one workload) in a child
//! process: it re-executes its own binary with `--child <args>`, on a fresh
//! temporary directory. One process per cell keeps the engines from sharing
//! a heap, page-cache warmth of their own files, or background threads, and
//! makes the peak RSS (`VmHWM` from `/proc/self/status`, read by the child at
//! its end) belong to that engine alone. Each cell runs `ALOPEX_BENCH_REPS`
//! times (default 1) per engine, alternating which engine goes first, so
//! slow drift on a noisy machine hits both sides alike; the median is kept.
//!
//! A child can be run by hand, which is how to profile one side:
//!
//! ```text
//! perf record -g target/release/deps/vs_fjall-<hash> --child fill alopex sync random 4
//! perf record -g target/release/deps/vs_fjall-<hash> --child read fjall
//! ALOPEX_BENCH_READ_PHASES=miss ALOPEX_BENCH_READS=20000000 \
//!     perf record -g target/release/deps/vs_fjall-<hash> --child read alopex
//! ```
//!
//! ## Workloads
//!
//! Keys are 16 ASCII digits (`{:016}` of an even number, db_bench style),
//! values 100 bytes cut from a random (incompressible) pool.
//!
//! * `fillseq` / `fillrandom`: `ALOPEX_BENCH_KEYS` keys (default 1M) in
//!   ascending or shuffled order, split across 1 or 4 writer threads.
//! * `readrandom hit` / `miss`: after a buffered single-thread `fillrandom`,
//!   a flush of the memtable and a wait for background work to go quiet, one
//!   thread reads random present keys / absent keys (odd numbers, so they
//!   fall between present keys and only a filter or a block search rules
//!   them out).
//! * `seek+scan100`: one thread seeks to a random present key and reads the
//!   next 100 pairs forward.
//!
//! ## Durability, the same on both sides
//!
//! * `sync`: a write is acknowledged only once durable (fdatasync). 1M
//!   fsyncs would take too long, so every commit carries a batch of
//!   `ALOPEX_BENCH_SYNC_BATCH` keys (default 100) on both sides. alopex:
//!   `SyncMode::Sync` (group commit); fjall: a `WriteBatch` with
//!   `durability(Some(PersistMode::SyncData))`.
//! * `buffered`: one key per write, acknowledged once buffered in process
//!   memory, fdatasync every second in the background. alopex:
//!   `SyncMode::Relaxed { interval: 1s }`; fjall: `manual_journal_persist`
//!   plus a thread calling `persist(PersistMode::SyncData)` every second.
//!
//! Other settings: block cache `ALOPEX_BENCH_CACHE_MB` (default 64 MiB) on
//! both; 64 MiB memtables on both (both defaults); fjall block compression
//! off (alopex has none and the values are incompressible); everything else
//! at each engine's defaults.

use std::hint::black_box;
use std::ops::Bound;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use alopex_core::{Engine, Options, SyncMode, WriteBatch};
use bytes::Bytes;
use fjall::config::CompressionPolicy;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngExt, SeedableRng};

const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;
const SCAN_LEN: usize = 100;
/// How often the buffered mode fsyncs, on both sides.
const BUFFERED_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait for background flush/compaction to go quiet before reads.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

// ---------------------------------------------------------------- settings

struct Settings {
    keys: usize,
    reads: usize,
    scans: usize,
    sync_batch: usize,
    cache_bytes: u64,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn settings() -> &'static Settings {
    static S: OnceLock<Settings> = OnceLock::new();
    S.get_or_init(|| {
        let keys = env_usize("ALOPEX_BENCH_KEYS", 1_000_000).max(1000);
        Settings {
            keys,
            reads: env_usize("ALOPEX_BENCH_READS", keys),
            scans: env_usize("ALOPEX_BENCH_SCANS", (keys / 100).max(1000)),
            sync_batch: env_usize("ALOPEX_BENCH_SYNC_BATCH", 100).max(1),
            cache_bytes: env_usize("ALOPEX_BENCH_CACHE_MB", 64) as u64 * (1 << 20),
        }
    })
}

// ---------------------------------------------------------------- keys and values

/// Key number `n` as 16 ASCII digits. Present keys use even `n`.
fn key(n: u64) -> [u8; KEY_LEN] {
    let mut k = [b'0'; KEY_LEN];
    let mut n = n;
    for slot in k.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    k
}

fn present(i: usize) -> [u8; KEY_LEN] {
    key(2 * i as u64)
}

fn absent(i: usize) -> [u8; KEY_LEN] {
    key(2 * i as u64 + 1)
}

fn value(i: usize) -> &'static [u8] {
    static POOL: OnceLock<Vec<u8>> = OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let mut v = vec![0u8; 1 << 20];
        SmallRng::seed_from_u64(7).fill_bytes(&mut v);
        v
    });
    let off = (i * 97) % (pool.len() - VALUE_LEN);
    &pool[off..off + VALUE_LEN]
}

// ---------------------------------------------------------------- the two stores

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Durability {
    Sync,
    Buffered,
}

/// What the workloads need from an engine.
trait Store: Send + Sync {
    /// Commits `items` as one write (one durable unit in sync mode).
    fn write(&self, items: &[([u8; KEY_LEN], &[u8])]);
    fn get(&self, key: &[u8]) -> bool;
    /// Reads up to `n` pairs from `start` forward; returns how many.
    fn scan(&self, start: &[u8], n: usize) -> usize;
    /// Flushes the memtable and waits for background work to go quiet.
    fn settle(&self);
    /// One line about the engine's shape after the workload.
    fn describe(&self) -> String;
}

struct Alopex {
    engine: Engine,
}

impl Alopex {
    fn open(dir: &Path, durability: Durability) -> Alopex {
        let sync_mode = match durability {
            Durability::Sync => SyncMode::Sync,
            Durability::Buffered => SyncMode::Relaxed { interval: BUFFERED_SYNC_INTERVAL },
        };
        let opts = Options { sync_mode, block_cache_bytes: settings().cache_bytes, ..Options::default() };
        Alopex { engine: Engine::open(dir, opts).expect("open alopex") }
    }
}

impl Store for Alopex {
    fn write(&self, items: &[([u8; KEY_LEN], &[u8])]) {
        if let [(k, v)] = items {
            self.engine.put(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)).expect("put");
            return;
        }
        let mut batch = WriteBatch::new();
        for (k, v) in items {
            batch.put(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
        }
        self.engine.write(batch).expect("write");
    }

    fn get(&self, key: &[u8]) -> bool {
        black_box(self.engine.get(key).expect("get")).is_some()
    }

    fn scan(&self, start: &[u8], n: usize) -> usize {
        let range = (Bound::Included(Bytes::copy_from_slice(start)), Bound::Unbounded);
        self.engine.scan(range, false).take(n).fold(0, |count, r| {
            black_box(r.expect("scan"));
            count + 1
        })
    }

    fn settle(&self) {
        self.engine.flush().expect("flush");
        let trigger = self.engine.options().l0_compaction_trigger;
        wait_until(|| {
            let s = self.engine.stats();
            s.immutable_memtables == 0 && s.level_tables.first().is_none_or(|&l0| l0 < trigger)
        });
    }

    fn describe(&self) -> String {
        let s = self.engine.stats();
        format!(
            "tables/level {:?}, table bytes {:.1} MiB, flushes {}, compactions {}, trivial moves {}, stalls {}, wal fsyncs {}",
            s.level_tables,
            s.level_bytes.iter().sum::<u64>() as f64 / f64::from(1 << 20),
            s.flushes,
            s.compactions,
            s.trivial_moves,
            s.stalls,
            s.wal_fsyncs
        )
    }
}

struct Fjall {
    db: Database,
    ks: Keyspace,
    durability: Durability,
    stop: Arc<AtomicBool>,
    persister: Option<JoinHandle<()>>,
}

impl Fjall {
    fn open(dir: &Path, durability: Durability) -> Fjall {
        let db = Database::builder(dir)
            .cache_size(settings().cache_bytes)
            .manual_journal_persist(true)
            .open()
            .expect("open fjall");
        let ks = db
            .keyspace("bench", || {
                KeyspaceCreateOptions::default()
                    .manual_journal_persist(true)
                    .data_block_compression_policy(CompressionPolicy::all(CompressionType::None))
            })
            .expect("keyspace");
        let stop = Arc::new(AtomicBool::new(false));
        let persister = (durability == Durability::Buffered).then(|| {
            let (db, stop) = (db.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(BUFFERED_SYNC_INTERVAL);
                    db.persist(PersistMode::SyncData).expect("persist");
                }
            })
        });
        Fjall { db, ks, durability, stop, persister }
    }
}

impl Drop for Fjall {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(p) = self.persister.take() {
            let _ = p.join();
        }
    }
}

impl Store for Fjall {
    fn write(&self, items: &[([u8; KEY_LEN], &[u8])]) {
        if let ([(k, v)], Durability::Buffered) = (items, self.durability) {
            self.ks.insert(&k[..], *v).expect("insert");
            return;
        }
        let mode = (self.durability == Durability::Sync).then_some(PersistMode::SyncData);
        let mut batch = self.db.batch().durability(mode);
        for (k, v) in items {
            batch.insert(&self.ks, &k[..], *v);
        }
        batch.commit().expect("commit");
    }

    fn get(&self, key: &[u8]) -> bool {
        black_box(self.ks.get(key).expect("get")).is_some()
    }

    fn scan(&self, start: &[u8], n: usize) -> usize {
        self.ks.range(start..).take(n).fold(0, |count, g| {
            black_box(g.into_inner().expect("scan"));
            count + 1
        })
    }

    fn settle(&self) {
        self.ks.rotate_memtable_and_wait().expect("rotate memtable");
        wait_until(|| self.db.outstanding_flushes() == 0 && self.db.active_compactions() == 0);
    }

    fn describe(&self) -> String {
        format!(
            "tables {}, L0 tables {}, disk {:.1} MiB, compactions {}",
            self.ks.table_count(),
            self.ks.l0_table_count(),
            self.ks.disk_space() as f64 / f64::from(1 << 20),
            self.db.compactions_completed()
        )
    }
}

/// Polls `quiet` until it holds twice in a row, 250 ms apart.
fn wait_until(quiet: impl Fn() -> bool) {
    let t0 = Instant::now();
    let mut streak = 0;
    while streak < 2 && t0.elapsed() < SETTLE_TIMEOUT {
        streak = if quiet() { streak + 1 } else { 0 };
        thread::sleep(Duration::from_millis(250));
    }
}

fn open(engine: &str, dir: &Path, durability: Durability) -> Arc<dyn Store> {
    match engine {
        "alopex" => Arc::new(Alopex::open(dir, durability)),
        "fjall" => Arc::new(Fjall::open(dir, durability)),
        other => panic!("unknown engine {other:?}"),
    }
}

// ---------------------------------------------------------------- workloads (child side)

/// Writes keys `order[..]` from `threads` threads, `batch` keys per commit.
/// Returns the wall time from the first writer's start to the last ack
/// (each writer stamps its own start after the barrier, so a descheduled
/// main thread cannot shorten the measurement).
fn fill(store: &Arc<dyn Store>, order: &Arc<Vec<u32>>, threads: usize, batch: usize) -> Duration {
    let start = Arc::new(Barrier::new(threads));
    let per = order.len().div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, order, start) = (Arc::clone(store), Arc::clone(order), Arc::clone(&start));
            thread::spawn(move || {
                let mine = &order[(t * per).min(order.len())..((t + 1) * per).min(order.len())];
                let mut items = Vec::with_capacity(batch);
                start.wait();
                let t0 = Instant::now();
                for chunk in mine.chunks(batch) {
                    items.clear();
                    items.extend(chunk.iter().map(|&i| (present(i as usize), value(i as usize))));
                    store.write(&items);
                }
                (t0, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = handles.into_iter().map(|h| h.join().expect("writer panicked")).collect();
    let first = spans.iter().map(|s| s.0).min().expect("at least one writer");
    let last = spans.iter().map(|s| s.1).max().expect("at least one writer");
    last - first
}

fn shuffled(n: usize, seed: u64) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n as u32).collect();
    v.shuffle(&mut SmallRng::seed_from_u64(seed));
    v
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn report(name: &str, ops: usize, elapsed: Duration) {
    println!("RESULT\t{name}\t{}\t{:.3}", ops as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64());
}

fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("ALOPEX_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("tempdir")
}

/// `--child fill <engine> <sync|buffered> <seq|random> <threads>`
/// `--child read <engine>`
fn child(args: &[String]) {
    let s = settings();
    let dir = bench_dir();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["fill", engine, durability, order, threads] => {
            let durability = if *durability == "sync" { Durability::Sync } else { Durability::Buffered };
            let order = Arc::new(match *order {
                "seq" => (0..s.keys as u32).collect(),
                _ => shuffled(s.keys, 1),
            });
            let batch = if durability == Durability::Sync { s.sync_batch } else { 1 };
            let threads: usize = threads.parse().expect("threads");
            let baseline = peak_rss_kib();
            let store = open(engine, dir.path(), durability);
            let elapsed = fill(&store, &order, threads, batch);
            report("fill", s.keys, elapsed);
            println!("INFO\t{}", store.describe());
            println!("RSS\t{}\t{baseline}", peak_rss_kib());
        }
        ["read", engine] => {
            let order = Arc::new(shuffled(s.keys, 2));
            let mut rng = SmallRng::seed_from_u64(3);
            let targets: Vec<u32> = (0..s.reads.max(s.scans)).map(|_| rng.random_range(0..s.keys as u32)).collect();
            let baseline = peak_rss_kib();
            let store = open(engine, dir.path(), Durability::Buffered);
            let elapsed = fill(&store, &order, 1, 1);
            report("load (fillrandom, buffered, 1 thread)", s.keys, elapsed);
            let t0 = Instant::now();
            store.settle();
            report("settle (flush + wait for compaction)", 1, t0.elapsed());
            println!("INFO\t{}", store.describe());

            // For profiling one phase alone: ALOPEX_BENCH_READ_PHASES=miss (default all).
            let phases = std::env::var("ALOPEX_BENCH_READ_PHASES").unwrap_or_else(|_| "hit,miss,scan".into());

            if phases.contains("hit") {
                let t0 = Instant::now();
                let hits = targets[..s.reads].iter().filter(|&&i| store.get(&present(i as usize))).count();
                report("readrandom hit", s.reads, t0.elapsed());
                assert_eq!(hits, s.reads, "every present key must be found");
            }
            if phases.contains("miss") {
                let t0 = Instant::now();
                let found = targets[..s.reads].iter().filter(|&&i| store.get(&absent(i as usize))).count();
                report("readrandom miss", s.reads, t0.elapsed());
                assert_eq!(found, 0, "no absent key may be found");
            }
            if phases.contains("scan") {
                let t0 = Instant::now();
                let pairs: usize = targets[..s.scans].iter().map(|&i| store.scan(&present(i as usize), SCAN_LEN)).sum();
                report("seek+scan100", s.scans, t0.elapsed());
                assert!(pairs >= s.scans * SCAN_LEN / 2, "scans came back short: {pairs}");
            }
            println!("RSS\t{}\t{baseline}", peak_rss_kib());
        }
        other => panic!("bad child arguments {other:?}"),
    }
}

// ---------------------------------------------------------------- the parent: run cells, print tables

const ENGINES: [&str; 2] = ["alopex", "fjall"];

/// What one child reported, or the fold of several.
#[derive(Default, Clone)]
struct Outcome {
    /// Named throughputs (ops/s); after a fold, the median over the runs.
    results: Vec<(String, f64)>,
    /// After a fold: every run's throughput, per result.
    samples: Vec<Vec<f64>>,
    info: String,
    peak_rss_kib: u64,
    baseline_kib: u64,
}

impl Outcome {
    /// `name: median (run1, run2, ...)` when there was more than one run.
    fn samples_of(&self, i: usize) -> String {
        match self.samples.get(i) {
            Some(xs) if xs.len() > 1 => {
                let all: Vec<String> = xs.iter().map(|&x| ops(x)).collect();
                format!(" ({})", all.join(", "))
            }
            _ => String::new(),
        }
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs a cell on both engines `reps` times, alternating which engine goes
/// first, and folds each side's runs: median throughput, highest peak RSS.
/// `args[1]` is the engine slot.
fn run_pair(args: &[&str], reps: usize) -> [Outcome; 2] {
    let mut runs: [Vec<Outcome>; 2] = Default::default();
    for rep in 0..reps {
        let order = if rep % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let mut a = args.to_vec();
            a[1] = ENGINES[side];
            runs[side].push(run_child(&a));
        }
    }
    runs.map(|runs| {
        let first = runs[0].clone();
        let samples: Vec<Vec<f64>> =
            (0..first.results.len()).map(|i| runs.iter().map(|r| r.results[i].1).collect()).collect();
        Outcome {
            results: first.results.iter().zip(&samples).map(|((n, _), xs)| (n.clone(), median(xs.clone()))).collect(),
            samples,
            info: runs.last().map(|r| r.info.clone()).unwrap_or_default(),
            peak_rss_kib: runs.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
            baseline_kib: runs.iter().map(|r| r.baseline_kib).max().unwrap_or(0),
        }
    })
}

fn run_child(args: &[&str]) -> Outcome {
    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe).arg("--child").args(args).output().expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        panic!("child {args:?} failed: {}", out.status);
    }
    let mut o = Outcome::default();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["RESULT", name, ops, _secs] => o.results.push((name.to_string(), ops.parse().unwrap_or(0.0))),
            ["INFO", info] => o.info = info.to_string(),
            ["RSS", peak, base] => {
                o.peak_rss_kib = peak.parse().unwrap_or(0);
                o.baseline_kib = base.parse().unwrap_or(0);
            }
            _ => {}
        }
    }
    o
}

struct Row {
    workload: String,
    alopex: f64,
    fjall: f64,
    alopex_rss: u64,
    fjall_rss: u64,
}

fn ops(x: f64) -> String {
    if x >= 1e6 { format!("{:.2} M", x / 1e6) } else { format!("{:.1} k", x / 1e3) }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(pos) = args.iter().position(|a| a == "--child") {
        child(&args[pos + 1..]);
        return;
    }
    let s = settings();
    let only: Vec<String> =
        std::env::var("ALOPEX_BENCH_ONLY").map(|v| v.split(',').map(str::to_owned).collect()).unwrap_or_default();
    let reps = env_usize("ALOPEX_BENCH_REPS", 1).max(1);
    let wanted = |label: &str| only.is_empty() || only.iter().any(|o| label.contains(o.as_str()));

    println!(
        "alopex-core vs fjall 3: {} keys ({KEY_LEN} B keys, {VALUE_LEN} B values), block cache {} MiB each,",
        s.keys,
        s.cache_bytes >> 20
    );
    println!(
        "sync = fdatasync before ack, {} keys per commit on both sides; buffered = 1 key per write, fdatasync every {}s.",
        s.sync_batch,
        BUFFERED_SYNC_INTERVAL.as_secs()
    );
    println!("Each cell runs in its own child process on a fresh directory; RSS = that child's VmHWM.");
    println!("{reps} run(s) per cell, alternating which engine goes first; throughput = median.\n");

    let mut rows: Vec<Row> = Vec::new();
    let mut infos: Vec<String> = Vec::new();
    for durability in ["sync", "buffered"] {
        for order in ["seq", "random"] {
            for threads in ["1", "4"] {
                let label = format!("fill{order} {durability} {threads}t");
                if !wanted(&label) {
                    continue;
                }
                let [a, f] = run_pair(&["fill", "", durability, order, threads], reps);
                let row = Row {
                    workload: label.clone(),
                    alopex: a.results[0].1,
                    fjall: f.results[0].1,
                    alopex_rss: a.peak_rss_kib,
                    fjall_rss: f.peak_rss_kib,
                };
                println!(
                    "{:<28} alopex {:>10}/s{}  fjall {:>10}/s{}  ratio {:.2}",
                    label,
                    ops(row.alopex),
                    a.samples_of(0),
                    ops(row.fjall),
                    f.samples_of(0),
                    row.alopex / row.fjall
                );
                infos.push(format!("{label}: alopex: {}; fjall: {}", a.info, f.info));
                rows.push(row);
            }
        }
    }
    if wanted("read") {
        let [a, f] = run_pair(&["read", ""], reps);
        for (i, ((name, ao), (_, fo))) in a.results.iter().zip(&f.results).enumerate() {
            if name.starts_with("settle") {
                println!("{name:<28} alopex {:.1}s  fjall {:.1}s", 1.0 / ao, 1.0 / fo);
                continue;
            }
            println!(
                "{name:<28} alopex {:>10}/s{}  fjall {:>10}/s{}  ratio {:.2}",
                ops(*ao),
                a.samples_of(i),
                ops(*fo),
                f.samples_of(i),
                ao / fo
            );
            rows.push(Row {
                workload: name.clone(),
                alopex: *ao,
                fjall: *fo,
                alopex_rss: a.peak_rss_kib,
                fjall_rss: f.peak_rss_kib,
            });
        }
        infos.push(format!("read phase: alopex: {}; fjall: {}", a.info, f.info));
        println!(
            "(bench process itself before opening an engine: alopex child {}, fjall child {})",
            mib(a.baseline_kib),
            mib(f.baseline_kib)
        );
    }

    println!("\n| workload | alopex ops/s | fjall ops/s | alopex/fjall | ≥ 1.2× | alopex peak RSS | fjall peak RSS |");
    println!("|---|---:|---:|---:|:---:|---:|---:|");
    for r in &rows {
        let ratio = r.alopex / r.fjall;
        println!(
            "| {} | {} | {} | {:.2} | {} | {} | {} |",
            r.workload,
            ops(r.alopex),
            ops(r.fjall),
            ratio,
            if ratio >= 1.2 { "yes" } else { "no" },
            mib(r.alopex_rss),
            mib(r.fjall_rss)
        );
    }
    println!("\nengine state after each cell:");
    for i in infos {
        println!("  {i}");
    }
}
