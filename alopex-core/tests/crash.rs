//! Crash test: a child process commits numbered write batches and is killed
//! with SIGKILL at random moments; after every kill the parent reopens the
//! database and checks that each acknowledged batch survived whole and that
//! no batch survived in part.
//!
//! ```text
//!  parent                                   child (this binary, re-executed)
//!  ──────                                   ─────
//!  spawn ─────────────────────────────────► open (recovers the last crash)
//!                                           4 writers: write(batch n) → "ACK n"
//!  read complete "ACK n" lines ◄──────────  ...
//!  SIGKILL after a random delay ─────────►  ✝
//!  open, scan, verify, close
//!  repeat on the same directory
//! ```
//!
//! The child is this test binary itself, run with `--exact crash_child` and
//! `ALOPEX_CRASH_CHILD_DIR` set; without that variable [`crash_child`] returns
//! at once, so a plain `cargo test` runs only the parent. Commits use the
//! default `SyncMode::Sync`, so `Engine::write` returning means the batch is
//! durable, and only then is `ACK n` printed. A line cut short by the kill has
//! no newline and is ignored.
//!
//! Every iteration reuses one directory, so whatever a crash leaves behind
//! (a torn WAL tail, a half-written table, an interrupted flush, compaction
//! or manifest rewrite) is what the next child and the next check recover
//! from. `Options::small_for_tests` makes flushes, WAL rotations and
//! compactions happen while the child runs.
//!
//! Iteration `i` numbers its batches from `(i + 1) * BATCH_SPACE`, so a batch
//! number says which child wrote it. That lets the parent check two more
//! things than the acknowledgements: a batch found after one crash is still
//! there after every later one, and a batch lost in one crash never comes
//! back.
//!
//! A SIGKILL ends the process but not the kernel: bytes written but not yet
//! fsynced still reach the disk. So this test checks commit atomicity, the
//! acknowledgement protocol and recovery from every point a process can die
//! at; it cannot catch a missing fsync, which only a power cut would expose.
//!
//! Knobs (environment): `ALOPEX_CRASH_ITERS` (default 50),
//! `ALOPEX_CRASH_MAX_RUN_MS` (default 300), `ALOPEX_CRASH_SEED` (default
//! random; printed so a failure can be replayed with the same delays).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Bound;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use alopex_core::{Engine, Options, WriteBatch};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const CHILD_TEST: &str = "crash_child";
const DIR_ENV: &str = "ALOPEX_CRASH_CHILD_DIR";
const START_ENV: &str = "ALOPEX_CRASH_START";

/// Keys written by every batch.
const KEYS_PER_BATCH: u64 = 5;
/// Concurrent committers in the child, so that group commit is exercised.
const WRITER_THREADS: usize = 4;
/// Batch numbers of iteration `i` start at `(i + 1) * BATCH_SPACE`.
const BATCH_SPACE: u64 = 10_000_000;
/// A child that outlives a vanished parent stops by itself after this long.
const CHILD_MAX_LIFETIME: Duration = Duration::from_secs(20);
/// How long the parent waits for a child's first acknowledgement.
const FIRST_ACK_TIMEOUT: Duration = Duration::from_secs(15);
/// The signal `Child::kill` sends on Unix.
const SIGKILL: i32 = 9;
/// After the parent's recovery, the WAL must hold at most this many segments.
const MAX_WAL_SEGMENTS: usize = 2;

/// The key of write `j` of batch `n`.
fn key(n: u64, j: u64) -> String {
    format!("b{n:012}/k{j}")
}

/// The value of write `j` of batch `n`: it names both, and a padding of
/// 0..400 bytes derived from them makes memtables fill at an uneven pace.
fn value(n: u64, j: u64) -> Vec<u8> {
    let mut v = format!("n={n} j={j};").into_bytes();
    let pad = (n.wrapping_mul(2_654_435_761).wrapping_add(j * 97) % 400) as usize;
    v.resize(v.len() + pad, b'a' + (n % 26) as u8);
    v
}

fn batch(n: u64) -> WriteBatch {
    let mut b = WriteBatch::new();
    for j in 0..KEYS_PER_BATCH {
        b.put(key(n, j), value(n, j));
    }
    b
}

/// Parses a key written by [`key`] into `(n, j)`.
fn parse_key(k: &[u8]) -> Option<(u64, u64)> {
    let s = std::str::from_utf8(k).ok()?;
    let (n, j) = s.strip_prefix('b')?.split_once("/k")?;
    Some((n.parse().ok()?, j.parse().ok()?))
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(s) => s.parse().unwrap_or_else(|_| panic!("{name}={s:?} does not parse")),
        Err(_) => default,
    }
}

/// The child: commits batches from four threads until it is killed.
/// Does nothing unless run by the parent with `ALOPEX_CRASH_CHILD_DIR` set.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else { return };
    let start: u64 = env_or(START_ENV, BATCH_SPACE);
    let engine = Arc::new(Engine::open(Path::new(&dir), Options::small_for_tests()).expect("child: open"));
    // libtest has printed "test crash_child ... " without a newline: end it.
    report_line("\nOPEN");
    let next = Arc::new(AtomicU64::new(start));
    let deadline = Instant::now() + CHILD_MAX_LIFETIME;
    let writers: Vec<JoinHandle<()>> = (0..WRITER_THREADS)
        .map(|_| {
            let (engine, next) = (Arc::clone(&engine), Arc::clone(&next));
            thread::spawn(move || {
                while Instant::now() < deadline {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    engine.write(batch(n)).expect("child: write");
                    report_line(&format!("ACK {n}"));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("child: writer thread panicked");
    }
}

/// Prints one whole line and flushes it, so the parent sees it before a kill.
fn report_line(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes()).expect("child: stdout");
    out.flush().expect("child: flush stdout");
}

/// What the parent learned from one child's stdout.
#[derive(Debug, Default)]
struct ChildReport {
    opened: bool,
    acks: Vec<u64>,
}

/// A running child, killed if the parent panics.
struct RunningChild {
    child: Option<Child>,
    stdout: Option<JoinHandle<ChildReport>>,
    stderr: Option<JoinHandle<String>>,
    first_ack: mpsc::Receiver<()>,
}

impl RunningChild {
    fn spawn(dir: &Path, start: u64) -> RunningChild {
        let exe = std::env::current_exe().expect("current_exe");
        let mut child = Command::new(exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(DIR_ENV, dir)
            .env(START_ENV, start.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the child");
        let out = child.stdout.take().expect("child stdout");
        let mut err = child.stderr.take().expect("child stderr");
        let (tx, first_ack) = mpsc::channel();
        let stdout = thread::spawn(move || read_report(out, tx));
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        RunningChild { child: Some(child), stdout: Some(stdout), stderr: Some(stderr), first_ack }
    }

    /// Sends SIGKILL (`Child::kill` on Unix), reaps the child, and collects
    /// what it printed. Panics if the child had died on its own.
    fn kill(mut self) -> ChildReport {
        let mut child = self.child.take().expect("child present");
        child.kill().expect("kill the child");
        let status = child.wait().expect("wait for the child");
        let report = self.stdout.take().expect("stdout reader").join().expect("stdout reader panicked");
        let stderr = self.stderr.take().expect("stderr reader").join().expect("stderr reader panicked");
        check_killed(status, &stderr);
        report
    }
}

impl Drop for RunningChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The child must have died of our SIGKILL, not of a panic of its own.
fn check_killed(status: ExitStatus, stderr: &str) {
    assert!(
        status.signal() == Some(SIGKILL),
        "the child exited by itself ({status}) instead of being killed; its stderr:\n{stderr}"
    );
}

/// Collects `OPEN` and `ACK n` from complete lines; signals the first ack.
fn read_report(out: impl Read, first_ack: mpsc::Sender<()>) -> ChildReport {
    let mut report = ChildReport::default();
    let mut reader = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Some(text) = line.strip_suffix(b"\n") else { break }; // cut short by the kill
        let text = String::from_utf8_lossy(text);
        if text == "OPEN" {
            report.opened = true;
        } else if let Some(n) = text.strip_prefix("ACK ") {
            let n: u64 = n.parse().unwrap_or_else(|_| panic!("bad ack line {text:?}"));
            if report.acks.is_empty() {
                let _ = first_ack.send(());
            }
            report.acks.push(n);
        }
    }
    report
}

/// How long a child runs before it is killed.
#[derive(Debug, Clone, Copy)]
enum KillPlan {
    /// Right after spawn, usually before `Engine::open` returns.
    Early(Duration),
    /// A while after spawn, whatever it has done by then.
    AfterSpawn(Duration),
    /// A while after its first acknowledged batch.
    AfterFirstAck(Duration),
}

fn pick_plan(rng: &mut StdRng, max_run_ms: u64) -> KillPlan {
    let run = Duration::from_millis(rng.random_range(20..=max_run_ms.max(20)));
    match rng.random_range(0..10) {
        0..=1 => KillPlan::Early(Duration::from_millis(rng.random_range(0..20))),
        2..=4 => KillPlan::AfterSpawn(run),
        _ => KillPlan::AfterFirstAck(run),
    }
}

/// Everything the parent knows across iterations.
#[derive(Debug, Default)]
struct Ledger {
    /// Every batch number ever acknowledged.
    acked: BTreeSet<u64>,
    /// The batches found by the last check.
    present: BTreeSet<u64>,
}

/// Opens the database, checks it against the ledger, and closes it. Returns
/// the batches present now and the WAL segment count after recovery.
fn check(dir: &Path, ledger: &Ledger, iteration: u64, seed: u64, rng: &mut StdRng) -> (BTreeSet<u64>, usize) {
    let ctx = format!("iteration {iteration} (ALOPEX_CRASH_SEED={seed})");
    let engine = Engine::open(dir, Options::small_for_tests()).unwrap_or_else(|e| panic!("{ctx}: reopen: {e}"));
    let mut found: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let range = (Bound::Included(Bytes::from_static(b"b")), Bound::Excluded(Bytes::from_static(b"c")));
    for item in engine.scan(range, false) {
        let (k, v) = item.unwrap_or_else(|e| panic!("{ctx}: scan: {e}"));
        let (n, j) = parse_key(&k).unwrap_or_else(|| panic!("{ctx}: unexpected key {k:?}"));
        assert!(j < KEYS_PER_BATCH, "{ctx}: unexpected key {k:?}");
        assert!(v.as_ref() == value(n, j).as_slice(), "{ctx}: key {k:?} holds a wrong value {v:?}");
        found.entry(n).or_default().insert(j);
    }
    for (n, keys) in &found {
        assert_eq!(keys.len() as u64, KEYS_PER_BATCH, "{ctx}: batch {n} is partial: only keys {keys:?} survived");
    }
    let present: BTreeSet<u64> = found.into_keys().collect();
    let lost: Vec<&u64> = ledger.acked.difference(&present).take(10).collect();
    assert!(lost.is_empty(), "{ctx}: acknowledged batches are missing (first few): {lost:?}");
    let vanished: Vec<&u64> = ledger.present.difference(&present).take(10).collect();
    assert!(vanished.is_empty(), "{ctx}: batches recovered by an earlier check are gone: {vanished:?}");
    let this_child = (iteration + 1) * BATCH_SPACE..(iteration + 2) * BATCH_SPACE;
    let revived: Vec<&u64> = present.difference(&ledger.present).filter(|n| !this_child.contains(n)).take(10).collect();
    assert!(revived.is_empty(), "{ctx}: batches lost in an earlier crash came back: {revived:?}");

    // Point reads of a sample of acknowledged batches: the bloom filter and
    // per-level lookups, not only the merged scan.
    let acked: Vec<u64> = ledger.acked.iter().copied().collect();
    for _ in 0..acked.len().min(20) {
        let n = acked[rng.random_range(0..acked.len())];
        for j in 0..KEYS_PER_BATCH {
            let got = engine.get(key(n, j).as_bytes()).unwrap_or_else(|e| panic!("{ctx}: get: {e}"));
            assert_eq!(got.as_deref(), Some(value(n, j).as_slice()), "{ctx}: get of batch {n} key {j}");
        }
    }
    let wal_segments = engine.stats().wal_segments;
    engine.close().unwrap_or_else(|e| panic!("{ctx}: close: {e}"));
    (present, wal_segments)
}

fn count_files(dir: &Path, suffix: &str) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(suffix)).count()
        })
        .unwrap_or(0)
}

#[test]
fn acknowledged_batches_survive_sigkill_and_no_batch_is_partial() {
    if std::env::var_os(DIR_ENV).is_some() {
        return; // we are a child that was asked to run `crash_child` only
    }
    let iterations: u64 = env_or("ALOPEX_CRASH_ITERS", 50);
    let max_run_ms: u64 = env_or("ALOPEX_CRASH_MAX_RUN_MS", 300);
    let seed: u64 = env_or("ALOPEX_CRASH_SEED", rand::rng().random());
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let started = Instant::now();

    let mut ledger = Ledger::default();
    let (mut killed_before_open, mut killed_before_ack, mut max_wal_segments) = (0, 0, 0);
    for iteration in 0..iterations {
        let plan = pick_plan(&mut rng, max_run_ms);
        let child = RunningChild::spawn(dir, (iteration + 1) * BATCH_SPACE);
        match plan {
            KillPlan::Early(d) | KillPlan::AfterSpawn(d) => thread::sleep(d),
            KillPlan::AfterFirstAck(d) => {
                if let Err(e) = child.first_ack.recv_timeout(FIRST_ACK_TIMEOUT) {
                    let report = child.kill();
                    panic!("iteration {iteration} (seed {seed}): no acknowledgement in time ({e}); {report:?}");
                }
                thread::sleep(d);
            }
        }
        let report = child.kill();
        killed_before_open += u64::from(!report.opened);
        killed_before_ack += u64::from(report.acks.is_empty());
        for &n in &report.acks {
            assert!(ledger.acked.insert(n), "iteration {iteration}: batch {n} acknowledged twice");
        }

        let (present, wal_segments) = check(dir, &ledger, iteration, seed, &mut rng);
        max_wal_segments = max_wal_segments.max(wal_segments);
        assert!(
            wal_segments <= MAX_WAL_SEGMENTS,
            "iteration {iteration} (seed {seed}): {wal_segments} WAL segments after recovery"
        );
        ledger.present = present;
    }

    let wal_files = count_files(&dir.join("wal"), ".wal");
    assert!(wal_files <= MAX_WAL_SEGMENTS, "{wal_files} WAL segment files left at the end");
    println!(
        "crash test: {iterations} iterations in {:.1?} (seed {seed}): {} batches acknowledged, {} present; \
         {killed_before_open} kills before open finished, {killed_before_ack} before the first ack; \
         at most {max_wal_segments} WAL segment(s) after recovery, {wal_files} at the end, {} tables",
        started.elapsed(),
        ledger.acked.len(),
        ledger.present.len(),
        count_files(dir, ".sst"),
    );
}
