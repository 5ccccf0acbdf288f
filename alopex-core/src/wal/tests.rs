//! End-to-end tests of the log: write with [`Wal`], crash or close, recover.
//!
//! The byte-level recovery rules (torn tails versus corruption) are tested
//! in `recovery.rs` on hand-made segments; these tests drive the writer.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Lsn, RecoveryReport, SyncMode, Wal};
use crate::{Error, Result};

type Records = Vec<(u64, Vec<u8>)>;

fn replay(dir: &Path, min_segment: u64) -> Result<(Records, RecoveryReport)> {
    let mut seen = Vec::new();
    let report = Wal::recover(dir, min_segment, |segment, payload| {
        seen.push((segment, payload.to_vec()));
        Ok(())
    })?;
    Ok((seen, report))
}

fn payload(n: usize) -> Vec<u8> {
    format!("record-{n}").into_bytes()
}

#[test]
fn wal_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Wal>();
}

#[test]
fn roundtrip_across_segments_with_rotate() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), 0, SyncMode::Sync)?;
    let mut expected = Vec::new();
    for n in 0..30 {
        if n > 0 && n % 10 == 0 {
            assert_eq!(wal.rotate()?, wal.current_segment());
        }
        let lsn = wal.append(&payload(n))?;
        assert_eq!(lsn, Lsn(n as u64 + 1));
        expected.push((wal.current_segment(), payload(n)));
        if n % 3 == 0 {
            wal.sync_to(lsn)?;
        }
    }
    assert_eq!(wal.current_segment(), 2);
    wal.close()?;
    assert!(matches!(wal.append(b"late"), Err(Error::Closed)));
    wal.close()?; // closing twice is harmless
    assert_eq!(Wal::list_segments(dir.path())?, vec![0, 1, 2]);

    let (seen, report) = replay(dir.path(), 0)?;
    assert_eq!(seen, expected);
    assert_eq!(report.records, 30);
    assert_eq!(report.last_segment, Some(2));
    assert_eq!(report.truncated, None);

    // Reopen above the last segment, write more, and drop old segments.
    assert!(matches!(Wal::open(dir.path(), 2, SyncMode::Sync), Err(Error::InvalidArgument(_))));
    let wal = Wal::open(dir.path(), 3, SyncMode::Sync)?;
    wal.append(b"after restart")?;
    wal.close()?;
    expected.push((3, b"after restart".to_vec()));
    assert_eq!(replay(dir.path(), 0)?.0, expected);
    assert!(matches!(wal.delete_segments_below(4), Err(Error::InvalidArgument(_))));
    wal.delete_segments_below(2)?;
    assert_eq!(Wal::list_segments(dir.path())?, vec![2, 3]);
    assert_eq!(replay(dir.path(), 2)?.0, expected[20..].to_vec());
    Ok(())
}

#[test]
fn drop_without_close_keeps_every_acknowledged_record() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), 5, SyncMode::Sync)?;
    for n in 0..100 {
        let lsn = wal.append(&payload(n))?;
        wal.sync_to(lsn)?;
    }
    for n in 100..105 {
        wal.append(&payload(n))?; // never acknowledged
    }
    drop(wal); // a crash, as far as the log can tell

    let (seen, report) = replay(dir.path(), 0)?;
    let acked: Records = (0..100).map(|n| (5, payload(n))).collect();
    assert_eq!(seen, acked, "acknowledged records survive; unsynced ones are lost");
    assert_eq!(report.last_segment, Some(5));
    assert_eq!(report.truncated, None);
    Ok(())
}

#[test]
fn concurrent_committers_share_fsyncs() -> Result<()> {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 500;
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), 1, SyncMode::Sync)?);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || -> Result<()> {
                for i in 0..PER_THREAD {
                    let lsn = wal.append(format!("{t}:{i}").as_bytes())?;
                    wal.sync_to(lsn)?;
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("committer thread panicked")?;
    }
    let stats = wal.stats();
    let total = (THREADS * PER_THREAD) as u64;
    assert_eq!(stats.records, total);
    assert!(stats.fsyncs * 2 < total, "group commit should share fsyncs: {} fsyncs for {total} commits", stats.fsyncs);
    wal.close()?;

    let (seen, report) = replay(dir.path(), 0)?;
    assert_eq!(report.records, total);
    // Every thread's records are all there, in the order it appended them.
    let mut next = [0usize; THREADS];
    for (_, record) in &seen {
        let text = String::from_utf8(record.clone()).expect("utf-8 payload");
        let (t, i) = text.split_once(':').expect("t:i payload");
        let (t, i): (usize, usize) = (t.parse().expect("thread"), i.parse().expect("index"));
        assert_eq!(i, next[t], "thread {t} out of order");
        next[t] += 1;
    }
    assert_eq!(next, [PER_THREAD; THREADS]);
    Ok(())
}

#[test]
fn relaxed_mode_persists_after_the_interval() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let interval = Duration::from_millis(20);
    let wal = Wal::open(dir.path(), 0, SyncMode::Relaxed { interval })?;
    for n in 0..10 {
        let lsn = wal.append(&payload(n))?;
        wal.sync_to(lsn)?; // returns at once
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while wal.stats().fsyncs == 0 {
        assert!(Instant::now() < deadline, "background sync never ran");
        std::thread::sleep(interval);
    }
    drop(wal); // no final sync: only the background thread wrote the records
    let (seen, _) = replay(dir.path(), 0)?;
    assert_eq!(seen, (0..10).map(|n| (0, payload(n))).collect::<Records>());
    Ok(())
}

#[test]
fn relaxed_sync_all_is_a_barrier() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let interval = Duration::from_secs(3600);
    let wal = Wal::open(dir.path(), 0, SyncMode::Relaxed { interval })?;
    wal.append(b"one")?;
    wal.sync_all()?;
    assert_eq!(wal.stats().fsyncs, 1);
    let start = Instant::now();
    wal.close()?; // must not wait for the hour-long interval
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(replay(dir.path(), 0)?.1.records, 1);
    Ok(())
}

#[test]
fn large_buffers_are_written_out_before_sync() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), 0, SyncMode::Sync)?;
    let big = vec![7u8; 64 << 10];
    for _ in 0..100 {
        wal.append(&big)?;
    }
    let before = wal.stats();
    assert!(before.bytes > 0, "a 6 MiB buffer should have been written out");
    assert_eq!(before.fsyncs, 0, "writing out is not syncing");
    wal.sync_all()?;
    assert_eq!(wal.stats().fsyncs, 1);
    drop(wal);
    assert_eq!(replay(dir.path(), 0)?.1.records, 100);
    Ok(())
}

#[test]
fn failed_write_poisons_the_log() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), 0, SyncMode::Sync)?;
    let lsn = wal.append(b"durable")?;
    wal.sync_to(lsn)?;
    wal.break_file_for_test()?;
    let lsn = wal.append(b"lost")?;
    assert!(matches!(wal.sync_to(lsn), Err(Error::Poisoned(_))));
    assert!(matches!(wal.append(b"more"), Err(Error::Poisoned(_))));
    assert!(matches!(wal.sync_to(Lsn(1)), Err(Error::Poisoned(_))));
    assert!(matches!(wal.sync_all(), Err(Error::Poisoned(_))));
    assert!(matches!(wal.rotate(), Err(Error::Poisoned(_))));
    assert!(matches!(wal.close(), Err(Error::Poisoned(_))));
    drop(wal);
    assert_eq!(replay(dir.path(), 0)?.0, vec![(0, b"durable".to_vec())]);
    Ok(())
}

#[test]
fn poison_wakes_every_waiter() -> Result<()> {
    const THREADS: usize = 8;
    let dir = tempfile::tempdir()?;
    let wal = Arc::new(Wal::open(dir.path(), 0, SyncMode::Sync)?);
    let (done, finished) = mpsc::channel();
    for t in 0..THREADS {
        let wal = Arc::clone(&wal);
        let done = done.clone();
        std::thread::spawn(move || {
            // Commit until the log refuses; report how it refused.
            let outcome = loop {
                let result = wal.append(format!("{t}").as_bytes()).and_then(|lsn| wal.sync_to(lsn));
                if let Err(e) = result {
                    break e;
                }
            };
            let _ = done.send(outcome);
        });
    }
    std::thread::sleep(Duration::from_millis(50));
    wal.break_file_for_test()?;
    for _ in 0..THREADS {
        let outcome = finished
            .recv_timeout(Duration::from_secs(30))
            .expect("a committer was left hanging after the leader failed");
        assert!(matches!(outcome, Error::Poisoned(_)), "{outcome:?}");
    }
    Ok(())
}

#[test]
fn bad_arguments_are_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let zero = SyncMode::Relaxed { interval: Duration::ZERO };
    assert!(matches!(Wal::open(dir.path(), 0, zero), Err(Error::InvalidArgument(_))));
    let wal = Wal::open(&dir.path().join("nested/wal"), 0, SyncMode::default())?;
    assert!(matches!(wal.sync_to(Lsn(1)), Err(Error::InvalidArgument(_))));
    wal.sync_to(Lsn(0))?;
    wal.close()?;
    assert!(matches!(wal.rotate(), Err(Error::Closed)));
    Ok(())
}

#[test]
fn request_sync_makes_records_durable_in_the_background() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let wal = Wal::open(dir.path(), 1, SyncMode::Sync)?;
    let lsn = wal.append(&payload(1))?;
    wal.request_sync();
    let deadline = Instant::now() + Duration::from_secs(10);
    while wal.stats().fsyncs == 0 {
        assert!(Instant::now() < deadline, "the syncer never synced");
        std::thread::sleep(Duration::from_millis(1));
    }
    // Already durable: sync_to returns without a new fsync.
    wal.sync_to(lsn)?;
    assert_eq!(wal.stats().fsyncs, 1);
    drop(wal); // no close: only what was synced survives
    let (records, _) = replay(dir.path(), 1)?;
    assert_eq!(records, vec![(1, payload(1))]);
    Ok(())
}
