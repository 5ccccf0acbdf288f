//! Alopex's embedded SQL against SQLite, side by side in one run.
//!
//! `cargo bench -p alopex-sql --bench vs_sqlite`
//!
//! Both engines run the same statements, prepared once and executed with
//! parameters, with equal durability: `ALOPEX_BENCH_DURABILITY=sync` (the
//! default: every commit fsynced; SQLite in WAL mode with
//! `synchronous=FULL`) or `relaxed` (Alopex fsyncs every 50 ms; SQLite WAL
//! with `synchronous=NORMAL`, which syncs only at checkpoints). Each
//! workload prints both times and the ratio SQLite time / Alopex time, so
//! above 1.0 means Alopex is faster. `ALOPEX_BENCH_ROWS` sets the table
//! size (default 1,000,000); `ALOPEX_BENCH_ONLY` runs workloads whose name
//! contains the string. Each line also gives the ratio of the benchmark
//! thread's CPU times (`cpu ratio`), steadier than wall time on a loaded
//! machine.

use std::time::{Duration, Instant};

use alopex_sql::{Database, DatabaseOptions, Value};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Bench {
    rows: usize,
    relaxed: bool,
    only: String,
    alopex: Database,
    sqlite: rusqlite::Connection,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// Wall time and the calling thread's CPU time of one side of a workload.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

fn report(name: &str, ops: usize, alopex: Timing, sqlite: Timing) {
    let per = |d: Duration| d.as_secs_f64() * 1e6 / ops.max(1) as f64;
    let ratio = |s: Duration, a: Duration| s.as_secs_f64() / a.as_secs_f64().max(1e-9);
    let cpu = match (alopex.cpu, sqlite.cpu) {
        (Some(a), Some(s)) => format!("  cpu ratio {:>5.2}", ratio(s, a)),
        _ => String::new(),
    };
    println!(
        "{name:<28} alopex {:>9.3}s ({:>8.2} us/op)  sqlite {:>9.3}s ({:>8.2} us/op)  ratio sqlite/alopex {:>5.2}{cpu}",
        alopex.wall.as_secs_f64(),
        per(alopex.wall),
        sqlite.wall.as_secs_f64(),
        per(sqlite.wall),
        ratio(sqlite.wall, alopex.wall)
    );
}

/// The calling thread's time on a CPU so far (Linux: the first field of
/// `/proc/thread-self/schedstat`, in nanoseconds). On a machine shared with
/// other work, wall times swing with the load; the benchmark thread's own
/// CPU time does much less so. It leaves out Alopex's background threads
/// (flush, compaction), so it flatters inserts: compare wall times there.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

fn timed(f: impl FnOnce()) -> Timing {
    let (start, cpu) = (Instant::now(), thread_cpu());
    f();
    Timing { wall: start.elapsed(), cpu: cpu.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a)) }
}

impl Bench {
    fn new(rows: usize, relaxed: bool) -> Bench {
        let a = tempfile::tempdir().expect("tempdir");
        let s = tempfile::tempdir().expect("tempdir");
        let mut opts = DatabaseOptions::default();
        if relaxed {
            opts = opts.relaxed(Duration::from_millis(50));
        }
        let alopex = Database::open_with(a.path(), opts).expect("open alopex");
        let sqlite = rusqlite::Connection::open(s.path().join("bench.db")).expect("open sqlite");
        sqlite
            .execute_batch(if relaxed {
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            } else {
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
            })
            .expect("pragmas");
        Bench {
            rows,
            relaxed,
            only: std::env::var("ALOPEX_BENCH_ONLY").unwrap_or_default(),
            alopex,
            sqlite,
            _dirs: (a, s),
        }
    }

    fn enabled(&self, name: &str) -> bool {
        name.contains(&self.only)
    }

    fn schema(&self, table: &str) {
        let ddl = format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, k INTEGER, g INTEGER, v TEXT)");
        self.alopex.execute(&ddl, &[]).expect("alopex ddl");
        self.sqlite.execute_batch(&ddl).expect("sqlite ddl");
    }

    fn row(i: usize) -> (i64, i64, i64, String) {
        let k = (i as i64).wrapping_mul(2_654_435_761) % 1_000_003;
        (i as i64, k, (i % 100) as i64, format!("value-{i:08}"))
    }

    /// Inserts `rows` rows into `table` in transactions of `batch` rows.
    fn insert(&self, table: &str, batch: usize) -> (Timing, Timing) {
        let sql = format!("INSERT INTO {table} (id, k, g, v) VALUES ($1, $2, $3, $4)");
        let alopex = timed(|| {
            let mut i = 0;
            while i < self.rows {
                let mut tx = self.alopex.begin().expect("begin");
                for j in i..(i + batch).min(self.rows) {
                    let (id, k, g, v) = Bench::row(j);
                    tx.execute(&sql, &[Value::Int(id), Value::Int(k), Value::Int(g), Value::text(v)]).expect("insert");
                }
                tx.commit().expect("commit");
                i += batch;
            }
        });
        let sqlite_sql = format!("INSERT INTO {table} (id, k, g, v) VALUES (?1, ?2, ?3, ?4)");
        let sqlite = timed(|| {
            let mut i = 0;
            while i < self.rows {
                self.sqlite.execute_batch("BEGIN").expect("begin");
                {
                    let mut stmt = self.sqlite.prepare_cached(&sqlite_sql).expect("prepare");
                    for j in i..(i + batch).min(self.rows) {
                        let (id, k, g, v) = Bench::row(j);
                        stmt.execute(rusqlite::params![id, k, g, v]).expect("insert");
                    }
                }
                self.sqlite.execute_batch("COMMIT").expect("commit");
                i += batch;
            }
        });
        (alopex, sqlite)
    }

    fn point_select(&self, ops: usize) -> (Timing, Timing) {
        let mut rng = SmallRng::seed_from_u64(7);
        let ids: Vec<i64> = (0..ops).map(|_| rng.random_range(0..self.rows as i64)).collect();
        let alopex = timed(|| {
            for id in &ids {
                let mut rows = self.alopex.query("SELECT v FROM t WHERE id = $1", &[Value::Int(*id)]).expect("query");
                let v: String = rows.next().expect("row").expect("row").get(0).expect("text");
                assert!(!v.is_empty());
            }
        });
        let sqlite = timed(|| {
            let mut stmt = self.sqlite.prepare_cached("SELECT v FROM t WHERE id = ?1").expect("prepare");
            for id in &ids {
                let v: String = stmt.query_row([id], |r| r.get(0)).expect("row");
                assert!(!v.is_empty());
            }
        });
        (alopex, sqlite)
    }

    fn index_lookup(&self, ops: usize) -> (Timing, Timing) {
        let mut rng = SmallRng::seed_from_u64(11);
        let ks: Vec<i64> = (0..ops).map(|_| Bench::row(rng.random_range(0..self.rows)).1).collect();
        let alopex = timed(|| {
            for k in &ks {
                let n = self.alopex.query("SELECT id FROM t WHERE k = $1", &[Value::Int(*k)]).expect("query").count();
                assert!(n >= 1);
            }
        });
        let sqlite = timed(|| {
            let mut stmt = self.sqlite.prepare_cached("SELECT id FROM t WHERE k = ?1").expect("prepare");
            for k in &ks {
                let n = stmt.query_map([k], |r| r.get::<_, i64>(0)).expect("query").count();
                assert!(n >= 1);
            }
        });
        (alopex, sqlite)
    }

    fn range_scan(&self, ops: usize) -> (Timing, Timing) {
        let mut rng = SmallRng::seed_from_u64(13);
        let starts: Vec<i64> = (0..ops).map(|_| rng.random_range(0..(self.rows as i64 - 1000).max(1))).collect();
        let alopex = timed(|| {
            for s in &starts {
                let n = self
                    .alopex
                    .query("SELECT id, v FROM t WHERE id >= $1 AND id < $2", &[Value::Int(*s), Value::Int(s + 1000)])
                    .expect("query")
                    .count();
                assert_eq!(n, 1000.min(self.rows));
            }
        });
        let sqlite = timed(|| {
            let mut stmt =
                self.sqlite.prepare_cached("SELECT id, v FROM t WHERE id >= ?1 AND id < ?2").expect("prepare");
            for s in &starts {
                let n = stmt.query_map([s, &(s + 1000)], |r| r.get::<_, i64>(0)).expect("query").count();
                assert_eq!(n, 1000.min(self.rows));
            }
        });
        (alopex, sqlite)
    }

    fn group_by(&self, reps: usize) -> (Timing, Timing) {
        let sql = "SELECT g, count(*), sum(k) FROM t GROUP BY g";
        let alopex = timed(|| {
            for _ in 0..reps {
                assert_eq!(self.alopex.query(sql, &[]).expect("query").count(), 100.min(self.rows));
            }
        });
        let sqlite = timed(|| {
            let mut stmt = self.sqlite.prepare_cached(sql).expect("prepare");
            for _ in 0..reps {
                assert_eq!(stmt.query_map([], |r| r.get::<_, i64>(0)).expect("query").count(), 100.min(self.rows));
            }
        });
        (alopex, sqlite)
    }

    fn join(&self, reps: usize) -> (Timing, Timing) {
        let sql = "SELECT count(*), sum(t.k) FROM u JOIN t ON t.id = u.k WHERE u.g < 10";
        let mut a = 0i64;
        let alopex = timed(|| {
            for _ in 0..reps {
                a = self.alopex.query(sql, &[]).expect("query").next().expect("row").expect("row").get(0).expect("int");
            }
        });
        let mut s = 0i64;
        let sqlite = timed(|| {
            let mut stmt = self.sqlite.prepare_cached(sql).expect("prepare");
            for _ in 0..reps {
                s = stmt.query_row([], |r| r.get(0)).expect("row");
            }
        });
        assert_eq!(a, s, "both engines agree on the join");
        (alopex, sqlite)
    }
}

fn main() {
    let rows = env_usize("ALOPEX_BENCH_ROWS", 1_000_000);
    let relaxed = std::env::var("ALOPEX_BENCH_DURABILITY").is_ok_and(|v| v == "relaxed");
    let b = Bench::new(rows, relaxed);
    println!("rows={rows} durability={}", if b.relaxed { "relaxed" } else { "sync" });

    b.schema("t");
    if b.enabled("insert") {
        let (a, s) = b.insert("t", rows);
        report("insert, one transaction", rows, a, s);
    } else {
        b.insert("t", rows);
    }
    if b.enabled("insert") {
        b.schema("t1000");
        let (a, s) = b.insert("t1000", 1000);
        report("insert, 1000-row txns", rows, a, s);
    }
    if b.enabled("point") {
        let (a, s) = b.point_select(100_000);
        report("point select by pk", 100_000, a, s);
    }
    let ddl = "CREATE INDEX t_k ON t (k)";
    b.alopex.execute(ddl, &[]).expect("alopex index");
    b.sqlite.execute_batch(ddl).expect("sqlite index");
    if b.enabled("index") {
        let (a, s) = b.index_lookup(100_000);
        report("secondary index lookup", 100_000, a, s);
    }
    if b.enabled("range") {
        let (a, s) = b.range_scan(500);
        report("1000-row range scan", 500, a, s);
    }
    if b.enabled("group") {
        let (a, s) = b.group_by(3);
        report("group by over all rows", 3, a, s);
    }
    if b.enabled("join") {
        // u: 100k rows whose k points at rows of t.
        let urows = (rows / 10).max(1);
        let ddl = "CREATE TABLE u (id INTEGER PRIMARY KEY, k INTEGER, g INTEGER, v TEXT)";
        b.alopex.execute(ddl, &[]).expect("ddl");
        b.sqlite.execute_batch(ddl).expect("ddl");
        let mut tx = b.alopex.begin().expect("begin");
        b.sqlite.execute_batch("BEGIN").expect("begin");
        for i in 0..urows {
            let k = ((i * 7919) % rows) as i64;
            let g = (i % 100) as i64;
            tx.execute("INSERT INTO u VALUES ($1, $2, $3, 'u')", &[Value::Int(i as i64), Value::Int(k), Value::Int(g)])
                .expect("insert");
            b.sqlite
                .execute("INSERT INTO u VALUES (?1, ?2, ?3, 'u')", rusqlite::params![i as i64, k, g])
                .expect("insert");
        }
        tx.commit().expect("commit");
        b.sqlite.execute_batch("COMMIT").expect("commit");
        let (a, s) = b.join(3);
        report("two-table join", 3, a, s);
    }
}
