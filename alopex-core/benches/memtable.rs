//! Memtable candidates under concurrent writers.
//!
//! The memtable must take inserts from many committers at once (the commit
//! path inserts outside the commit lock, see `engine::write`). Two candidates:
//!
//! * `crossbeam_skiplist::SkipMap`: lock-free; shared by `&` reference. We
//!   time it raw and wrapped in our [`Memtable`] (key + timestamp, size and
//!   timestamp accounting), which is what the engine actually runs.
//! * `skiplist::SkipMap`: a single-threaded ordered map; the only way to
//!   share it between writers is a lock, here a `parking_lot::Mutex`.
//!
//! Workloads, each with 1, 2 and 4 writer threads splitting `N` inserts of
//! 16-byte random keys and 100-byte values:
//!
//! * `insert`: writers only.
//! * `insert+get`: the same, while one extra reader thread does point gets
//!   of keys loaded before the clock started (`N / 10` of them), until the
//!   writers finish. Reports writer and reader throughput.
//!
//! Keys and values are prepared before the clock starts; the timed part is
//! building the map's key (`Bytes` copy of the 16 bytes, as the engine does)
//! and the insert. Every cell runs `ALOPEX_BENCH_REPS` times (default 3) on a
//! fresh map; the median is reported.
//!
//! ```text
//! cargo bench -p alopex-core --bench memtable
//! ALOPEX_BENCH_MEM_KEYS=200000 ALOPEX_BENCH_REPS=1 cargo bench -p alopex-core --bench memtable
//! ```

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use alopex_core::memtable::Memtable;
use bytes::Bytes;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};

const KEY_LEN: usize = 16;
const VALUE_LEN: usize = 100;
const THREADS: [usize; 3] = [1, 2, 4];

/// The map under test, behind the interface the benchmark needs.
trait Candidate: Send + Sync + 'static {
    const NAME: &'static str;
    fn new() -> Self;
    fn insert(&self, key: &[u8; KEY_LEN], value: Bytes);
    fn get(&self, key: &[u8; KEY_LEN]) -> bool;
}

/// `crossbeam_skiplist::SkipMap`, shared without a lock.
struct Crossbeam(crossbeam_skiplist::SkipMap<Bytes, Bytes>);

impl Candidate for Crossbeam {
    const NAME: &'static str = "crossbeam-skiplist SkipMap (lock-free)";
    fn new() -> Self {
        Crossbeam(crossbeam_skiplist::SkipMap::new())
    }
    fn insert(&self, key: &[u8; KEY_LEN], value: Bytes) {
        self.0.insert(Bytes::copy_from_slice(key), value);
    }
    fn get(&self, key: &[u8; KEY_LEN]) -> bool {
        self.0.get(&key[..]).is_some()
    }
}

/// Our memtable (crossbeam inside, plus internal keys and accounting).
struct AlopexMemtable(Memtable);

impl Candidate for AlopexMemtable {
    const NAME: &'static str = "alopex_core::memtable::Memtable";
    fn new() -> Self {
        AlopexMemtable(Memtable::new(1))
    }
    fn insert(&self, key: &[u8; KEY_LEN], value: Bytes) {
        self.0.insert(Bytes::copy_from_slice(key), 1, Some(value));
    }
    fn get(&self, key: &[u8; KEY_LEN]) -> bool {
        self.0.get(key, u64::MAX).is_some()
    }
}

/// `skiplist::SkipMap` behind a mutex.
struct LockedSkiplist(Mutex<skiplist::SkipMap<Bytes, Bytes>>);

impl Candidate for LockedSkiplist {
    const NAME: &'static str = "skiplist SkipMap + parking_lot::Mutex";
    fn new() -> Self {
        LockedSkiplist(Mutex::new(skiplist::SkipMap::new()))
    }
    fn insert(&self, key: &[u8; KEY_LEN], value: Bytes) {
        // Build the owned key outside the lock, as a real writer would.
        let key = Bytes::copy_from_slice(key);
        self.0.lock().insert(key, value);
    }
    fn get(&self, key: &[u8; KEY_LEN]) -> bool {
        self.0.lock().get(&key[..]).is_some()
    }
}

/// Inputs shared by every run: per-writer key lists and a value pool.
struct Workload {
    /// `keys[t]` are the keys writer `t` inserts when there are `threads` writers.
    keys: Vec<[u8; KEY_LEN]>,
    /// Keys loaded before the clock starts in the read-while-writing case.
    preload: Vec<[u8; KEY_LEN]>,
    values: Bytes,
}

impl Workload {
    fn new(n: usize) -> Workload {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        let mut key = || {
            let mut k = [0u8; KEY_LEN];
            rng.fill_bytes(&mut k);
            k
        };
        let keys = (0..n).map(|_| key()).collect();
        let preload = (0..n / 10).map(|_| key()).collect();
        let mut values = vec![0u8; 1 << 20];
        SmallRng::seed_from_u64(7).fill_bytes(&mut values);
        Workload { keys, preload, values: Bytes::from(values) }
    }

    fn value(&self, i: usize) -> Bytes {
        let off = (i * 97) % (self.values.len() - VALUE_LEN);
        self.values.slice(off..off + VALUE_LEN)
    }
}

/// One measured run.
#[derive(Clone, Copy)]
struct Run {
    write_ops: f64,
    /// Reader gets per second, when a reader ran.
    read_ops: Option<f64>,
}

fn run_once<C: Candidate>(w: &Arc<Workload>, writers: usize, with_reader: bool) -> Run {
    let map = Arc::new(C::new());
    if with_reader {
        for (i, k) in w.preload.iter().enumerate() {
            map.insert(k, w.value(i));
        }
    }
    let n = w.keys.len();
    let start = Arc::new(Barrier::new(writers + usize::from(with_reader)));
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));

    let reader = with_reader.then(|| {
        let (map, w, start, done, reads) =
            (Arc::clone(&map), Arc::clone(w), Arc::clone(&start), Arc::clone(&done), Arc::clone(&reads));
        thread::spawn(move || {
            let mut rng = SmallRng::seed_from_u64(99);
            start.wait();
            let t0 = Instant::now();
            let mut count = 0u64;
            let mut hits = 0u64;
            while !done.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    let k = &w.preload[rng.random_range(0..w.preload.len())];
                    hits += u64::from(black_box(map.get(k)));
                }
                count += 64;
            }
            assert_eq!(hits, count, "preloaded keys must all be found");
            reads.store(count, Ordering::Relaxed);
            t0.elapsed()
        })
    });

    let per = n.div_ceil(writers);
    let handles: Vec<_> = (0..writers)
        .map(|t| {
            let (map, w, start) = (Arc::clone(&map), Arc::clone(w), Arc::clone(&start));
            thread::spawn(move || {
                let lo = (t * per).min(n);
                let hi = ((t + 1) * per).min(n);
                start.wait();
                let t0 = Instant::now();
                for i in lo..hi {
                    map.insert(&w.keys[i], w.value(i));
                }
                (t0, Instant::now())
            })
        })
        .collect();

    // Each writer stamps its own start after the barrier; the run spans the
    // first start to the last finish.
    let spans: Vec<(Instant, Instant)> = handles.into_iter().map(|h| h.join().expect("writer panicked")).collect();
    let first = spans.iter().map(|s| s.0).min().expect("at least one writer");
    let last = spans.iter().map(|s| s.1).max().expect("at least one writer");
    let elapsed = last - first;
    done.store(true, Ordering::Relaxed);
    let read_ops = reader.map(|r| {
        let read_time = r.join().expect("reader panicked");
        reads.load(Ordering::Relaxed) as f64 / read_time.as_secs_f64()
    });
    // Dropping a big skiplist takes a while; keep it off the clock.
    drop(map);
    Run { write_ops: n as f64 / elapsed.as_secs_f64(), read_ops }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Median write (and read) throughput over `reps` runs, printed as it goes.
fn cell<C: Candidate>(w: &Arc<Workload>, writers: usize, with_reader: bool, reps: usize) -> Run {
    let runs: Vec<Run> = (0..reps).map(|_| run_once::<C>(w, writers, with_reader)).collect();
    let write_ops = median(runs.iter().map(|r| r.write_ops).collect());
    let read_ops = with_reader.then(|| median(runs.iter().filter_map(|r| r.read_ops).collect()));
    let all: Vec<String> = runs.iter().map(|r| format!("{:.2}", r.write_ops / 1e6)).collect();
    let reader = read_ops.map_or(String::new(), |r| format!("   reader {:>6.2} M gets/s", r / 1e6));
    println!(
        "  {:<40} {writers} writer(s): {:>6.2} M inserts/s (runs: {}){reader}",
        C::NAME,
        write_ops / 1e6,
        all.join(", ")
    );
    Run { write_ops, read_ops }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn main() {
    let n = env_usize("ALOPEX_BENCH_MEM_KEYS", 1_000_000);
    let reps = env_usize("ALOPEX_BENCH_REPS", 3).max(1);
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    println!("memtable benchmark: {n} inserts of {KEY_LEN}-byte random keys + {VALUE_LEN}-byte values per run,");
    println!("split across the writer threads; median of {reps} run(s); {cpus} CPU(s) available.\n");
    let w = Arc::new(Workload::new(n));

    let mut summary = Vec::new();
    for (title, with_reader) in [("insert (writers only)", false), ("insert+get (writers + 1 reader)", true)] {
        println!("{title}");
        for writers in THREADS {
            let cb = cell::<Crossbeam>(&w, writers, with_reader, reps);
            let mt = cell::<AlopexMemtable>(&w, writers, with_reader, reps);
            let sl = cell::<LockedSkiplist>(&w, writers, with_reader, reps);
            summary.push((title, writers, cb, mt, sl));
        }
        println!();
    }

    println!("summary (M ops/s; ratio = lock-free / mutex-wrapped skiplist)");
    println!(
        "| workload | writers | crossbeam SkipMap | alopex Memtable | skiplist+Mutex | crossbeam/skiplist | Memtable/skiplist |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (title, writers, cb, mt, sl) in &summary {
        println!(
            "| {title} inserts | {writers} | {:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× |",
            cb.write_ops / 1e6,
            mt.write_ops / 1e6,
            sl.write_ops / 1e6,
            cb.write_ops / sl.write_ops,
            mt.write_ops / sl.write_ops
        );
        if let (Some(cr), Some(mr), Some(sr)) = (cb.read_ops, mt.read_ops, sl.read_ops) {
            println!(
                "| {title} reader gets | {writers} | {:.2} | {:.2} | {:.2} | {:.2}× | {:.2}× |",
                cr / 1e6,
                mr / 1e6,
                sr / 1e6,
                cr / sr,
                mr / sr
            );
        }
    }
}
