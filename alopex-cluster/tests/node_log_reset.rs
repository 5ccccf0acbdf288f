//! The shared log's RESET record, used when placement drops a replica from
//! a node: the group's entries, vote and purge point are forgotten at once
//! and after a reopen, other groups are untouched, and segments held only
//! by the forgotten group's entries are deleted.

use std::sync::mpsc;

use alopex_cluster::raft::command::{Command, WriteOp};
use alopex_cluster::raft::types::{Entry, RangeConfig};
use alopex_cluster::raft::{SharedLog, SharedLogOptions};
use openraft::EntryPayload;
use openraft::testing::log_id;

fn entry(index: u64) -> Entry {
    Entry {
        log_id: log_id::<RangeConfig>(1, 1, index),
        payload: EntryPayload::Normal(Command::Write {
            ts: index + 100,
            ops: vec![WriteOp::Put { key: format!("k{index}").into(), value: vec![b'v'; 200].into() }],
        }),
    }
}

fn wait(f: impl FnOnce(alopex_cluster::raft::log_file::Completion) -> std::io::Result<()>) {
    let (tx, rx) = mpsc::channel();
    f(Box::new(move |r| {
        let _ = tx.send(r);
    }))
    .unwrap();
    rx.recv().unwrap().unwrap();
}

fn has(log: &SharedLog, range: u64) -> bool {
    log.read(range, |g| g.is_some())
}

#[test]
fn a_reset_group_is_forgotten_and_releases_its_segments() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SharedLogOptions { segment_bytes: 4 << 10, ..Default::default() };
    let log = SharedLog::open(dir.path(), opts.clone()).unwrap();
    for i in 1..=40 {
        wait(|d| log.append(7, vec![entry(i)], d));
    }
    wait(|d| log.save_vote(7, openraft::Vote::new(3, 1), d));
    wait(|d| log.append(8, vec![entry(1)], d));
    let before = log.segment_count();
    assert!(before > 2, "entries of range 7 span several segments ({before})");
    wait(|d| log.reset(7, d));
    assert!(!has(&log, 7) && has(&log, 8));
    // Roll over once more: segments only range 7's entries held go away.
    for i in 2..=30 {
        wait(|d| log.append(8, vec![entry(i)], d));
    }
    wait(|d| log.purge(8, log_id::<RangeConfig>(1, 1, 25), d));
    assert!(log.segment_count() < before, "{} segments kept, {before} before", log.segment_count());
    drop(log);

    let log = SharedLog::open(dir.path(), opts).unwrap();
    assert!(!has(&log, 7), "the reset survives a reopen");
    assert_eq!(log.read(8, |g| g.map(|g| g.entries.len())), Some(5));
    // The same range can start over from an empty log.
    wait(|d| log.append(7, vec![entry(1)], d));
    assert_eq!(log.read(7, |g| g.map(|g| (g.entries.len(), g.vote))), Some((1, None)));
}
