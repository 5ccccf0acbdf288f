//! The shared Raft log on real files: recovery of every group's log, vote
//! and purge point; a torn tail cut off; a corrupt record in the middle
//! refused; many groups' appends sharing fsyncs; old segments deleted once
//! purged.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use alopex_cluster::raft::command::{Command, WriteOp};
use alopex_cluster::raft::log_format;
use alopex_cluster::raft::types::{Entry, RangeConfig};
use alopex_cluster::raft::{SharedLog, SharedLogOptions};
use openraft::EntryPayload;
use openraft::testing::log_id;

fn entry(term: u64, index: u64, key: &str) -> Entry {
    Entry {
        log_id: log_id::<RangeConfig>(term, 1, index),
        payload: EntryPayload::Normal(Command::Write {
            ts: index + 100,
            ops: vec![WriteOp::Put { key: key.to_string().into(), value: vec![b'v'; 40].into() }],
        }),
    }
}

/// Runs a log call and waits until it is durable.
fn wait(f: impl FnOnce(alopex_cluster::raft::log_file::Completion) -> std::io::Result<()>) {
    let (tx, rx) = mpsc::channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }))
    .unwrap();
    rx.recv().unwrap().unwrap();
}

fn indexes(log: &SharedLog, range: u64) -> Vec<u64> {
    log.read(range, |g| g.map(|g| g.entries.keys().copied().collect()).unwrap_or_default())
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rlog"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_group_recovers_entries_vote_truncation_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
        for range in [1u64, 2, 3] {
            let entries: Vec<Entry> = (1..=10).map(|i| entry(1, i, &format!("r{range}k{i}"))).collect();
            wait(|d| log.append(range, entries, d));
        }
        let vote = openraft::impls::Vote::new_committed(3, 2);
        wait(|d| log.save_vote(2, vote, d));
        wait(|d| log.truncate_after(1, Some(6), d));
        wait(|d| log.append(1, vec![entry(2, 7, "new7")], d));
        wait(|d| log.purge(3, log_id::<RangeConfig>(1, 1, 4), d));
        wait(|d| log.save_committed(3, Some(log_id::<RangeConfig>(1, 1, 8)), d));
    }
    let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
    assert_eq!(indexes(&log, 1), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(log.read(1, |g| g.unwrap().entries[&7].log_id.leader_id.term), 2);
    assert_eq!(indexes(&log, 2), (1..=10).collect::<Vec<_>>());
    assert_eq!(log.read(2, |g| g.unwrap().vote), Some(openraft::impls::Vote::new_committed(3, 2)));
    assert_eq!(indexes(&log, 3), (5..=10).collect::<Vec<_>>());
    assert_eq!(log.read(3, |g| g.unwrap().purged.map(|p| p.index)), Some(4));
    assert_eq!(log.read(3, |g| g.unwrap().committed.map(|p| p.index)), Some(8));
    let mut ranges = log.ranges();
    ranges.sort();
    assert_eq!(ranges, vec![1, 2, 3]);
}

#[test]
fn a_torn_tail_is_cut_off_and_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
        wait(|d| log.append(1, (1..=5).map(|i| entry(1, i, "k")).collect(), d));
    }
    // A crash in the middle of writing the next record: half of it made it.
    let seg = segments(dir.path()).pop().unwrap();
    let mut record = Vec::new();
    log_format::put_record(&mut record, log_format::RecordKind::Entry, 1, |b| {
        b.extend_from_slice(&[7u8; 100]);
        Ok(())
    })
    .unwrap();
    let good_len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new().append(true).open(&seg).unwrap().write_all(&record[..60]).unwrap();

    let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
    assert_eq!(indexes(&log, 1), vec![1, 2, 3, 4, 5]);
    assert_eq!(fs::metadata(&seg).unwrap().len(), good_len, "the torn record is cut off");
    wait(|d| log.append(1, vec![entry(1, 6, "k")], d));
    drop(log);
    let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
    assert_eq!(indexes(&log, 1), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail_too() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
        wait(|d| log.append(1, (1..=3).map(|i| entry(1, i, "k")).collect(), d));
    }
    let seg = segments(dir.path()).pop().unwrap();
    OpenOptions::new().append(true).open(&seg).unwrap().write_all(&[0u8; 4096]).unwrap();
    let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
    assert_eq!(indexes(&log, 1), vec![1, 2, 3]);
}

#[test]
fn a_corrupt_record_in_the_middle_is_refused_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap();
        for i in 1..=6 {
            wait(|d| log.append(1, vec![entry(1, i, "key")], d));
        }
    }
    let seg = segments(dir.path()).pop().unwrap();
    let mut data = fs::read(&seg).unwrap();
    // Flip one bit in the payload of the third record.
    let mut at = log_format::SEGMENT_HEADER_LEN;
    for _ in 0..2 {
        let (_, size) = log_format::read_record(&data[at..]).unwrap();
        at += size;
    }
    data[at + log_format::RECORD_HEADER_LEN + 12] ^= 0x10;
    fs::write(&seg, &data).unwrap();
    let err = SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("corrupt"), "{err}");
    assert_eq!(fs::read(&seg).unwrap(), data, "nothing was cut off");
}

#[test]
fn appends_of_many_groups_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(SharedLog::open(dir.path(), SharedLogOptions::default()).unwrap());
    let before = log.fsyncs();
    let groups = 32u64;
    let per_group = 20u64;
    let threads: Vec<_> = (0..groups)
        .map(|range| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for i in 1..=per_group {
                    wait(|d| log.append(range, vec![entry(1, i, "k")], d));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let fsyncs = log.fsyncs() - before;
    let appends = groups * per_group;
    println!("{appends} durable appends from {groups} groups took {fsyncs} fsyncs");
    assert!(fsyncs * 2 <= appends, "{fsyncs} fsyncs for {appends} appends: no group commit");
    for range in 0..groups {
        assert_eq!(indexes(&log, range).len() as u64, per_group);
    }
}

#[test]
fn purged_segments_are_deleted_and_checkpoints_keep_votes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SharedLogOptions { segment_bytes: 4096, ..Default::default() };
    {
        let log = SharedLog::open(dir.path(), opts.clone()).unwrap();
        wait(|d| log.save_vote(1, openraft::impls::Vote::new(5, 1), d));
        for i in 1..=200 {
            wait(|d| log.append(1, vec![entry(1, i, "some-key")], d));
            wait(|d| log.append(2, vec![entry(1, i, "other-key")], d));
        }
        let many = segments(dir.path()).len();
        assert!(many > 5, "the log rolled over ({many} segments)");
        wait(|d| log.purge(1, log_id::<RangeConfig>(1, 1, 190), d));
        assert_eq!(segments(dir.path()).len(), many, "range 2 still needs the old segments");
        wait(|d| log.purge(2, log_id::<RangeConfig>(1, 1, 190), d));
        // The next roll-over or purge deletes what is no longer needed.
        wait(|d| log.append(2, vec![entry(1, 201, "other-key")], d));
        wait(|d| log.purge(2, log_id::<RangeConfig>(1, 1, 191), d));
        let few = segments(dir.path()).len();
        assert!(few < many / 2, "purged segments deleted: {many} -> {few}");
        assert_eq!(log.segment_count(), few);
    }
    let log = SharedLog::open(dir.path(), opts).unwrap();
    assert_eq!(log.read(1, |g| g.unwrap().vote), Some(openraft::impls::Vote::new(5, 1)));
    assert_eq!(indexes(&log, 1), (191..=200).collect::<Vec<_>>());
    assert_eq!(indexes(&log, 2), (192..=201).collect::<Vec<_>>());
    assert_eq!(log.read(1, |g| g.unwrap().purged.map(|p| p.index)), Some(190));
}
