//! # Tests of transactions in the range state machine
//!
//! Intents, resolution and transaction records are driven here the way
//! the Raft log drives them: as entries applied in order to a
//! [`RangeStateMachine`] over a real engine in a temporary directory. The
//! checks read the engine the way gateways will (`txn::read_key`), and
//! cover what the protocol leans on: intents hidden from other readers,
//! commit at exactly the commit timestamp, conflicts naming the other
//! transaction, the record's state machine, snapshots and splits carrying
//! intents, and two replicas applying one log to identical states.

use std::path::Path;
use std::sync::Arc;

use alopex_core::clock::hlc;
use alopex_core::{Engine, HybridClock, Options, SystemClock, Timestamp};
use bytes::Bytes;
use openraft::EntryPayload;
use openraft::testing::log_id;

use super::RangeStateMachine;
use crate::raft::command::{Command, CommandResponse, Resolution, WriteOp};
use crate::raft::span::RangeSpan;
use crate::raft::types::{Entry, RangeConfig};
use crate::txn::keys::{intent_key, txn_bounds};
use crate::txn::{TxnId, TxnMeta, TxnRead, TxnRecord, TxnStatus, read_key};

/// One replica of one range: a state machine over its own engine.
struct Replica {
    engine: Arc<Engine>,
    sm: RangeStateMachine,
    index: u64,
    _dir: Option<tempfile::TempDir>,
}

impl Replica {
    fn new(range: u64, span: RangeSpan) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Replica::open(dir.path(), range, span);
        r._dir = Some(dir);
        r
    }

    fn open(dir: &Path, range: u64, span: RangeSpan) -> Self {
        let engine = Arc::new(Engine::open(dir.join("engine"), Options::small_for_tests()).unwrap());
        Replica::on(engine, dir, range, span)
    }

    /// Another range's state machine over the same engine.
    fn on(engine: Arc<Engine>, dir: &Path, range: u64, span: RangeSpan) -> Self {
        let clock = Arc::new(HybridClock::new(SystemClock));
        let sm = RangeStateMachine::open(range, span, Arc::clone(&engine), clock, &dir.join("snap")).unwrap();
        Replica { engine, sm, index: 0, _dir: None }
    }

    fn apply(&mut self, cmd: Command) -> CommandResponse {
        self.index += 1;
        let entry = Entry { log_id: log_id::<RangeConfig>(1, 1, self.index), payload: EntryPayload::Normal(cmd) };
        self.sm.apply_entry(entry).unwrap()
    }

    fn read(&self, key: &str, ts: Timestamp, reader: Option<TxnId>) -> TxnRead {
        read_key(&self.engine, key.as_bytes(), ts, ts, reader).unwrap()
    }

    fn record(&mut self, cmd: Command) -> TxnRecord {
        match self.apply(cmd) {
            CommandResponse::TxnRecord { record } => record,
            other => panic!("{other:?}"),
        }
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn put(k: &str, v: &str) -> WriteOp {
    WriteOp::Put { key: b(k), value: b(v) }
}

fn t(ms: u64) -> Timestamp {
    hlc(ms, 0)
}

fn write(ts: Timestamp, ops: Vec<WriteOp>) -> Command {
    Command::Write { ts, ops }
}

fn txn(id: u128, anchor: &str, ts: Timestamp) -> TxnMeta {
    TxnMeta::new(TxnId(id), b(anchor), ts)
}

fn lay(txn: &TxnMeta, ops: Vec<WriteOp>) -> Command {
    Command::LayIntents { ts: txn.write_ts, txn: txn.clone(), ops }
}

fn resolve(ts: Timestamp, txn: &TxnMeta, keys: &[&str], resolution: Resolution) -> Command {
    Command::ResolveIntents { ts, txn: txn.id, keys: keys.iter().map(|k| b(k)).collect(), resolution }
}

fn value(v: &str) -> TxnRead {
    TxnRead::Value(Some(b(v)))
}

#[test]
fn intents_are_private_until_committed_at_exactly_the_commit_ts() {
    let mut r = Replica::new(7, RangeSpan::all());
    assert_eq!(r.apply(write(t(1_000), vec![put("a", "a0")])), CommandResponse::Applied { ts: Some(t(1_000)) });
    let tx = txn(1, "a", t(2_000));
    assert_eq!(
        r.apply(lay(&tx, vec![put("a", "a1"), put("b", "b1")])),
        CommandResponse::Applied { ts: Some(t(2_000)) }
    );
    assert_eq!(r.sm.intent_count(), 2);

    // Other readers meet the intent (with the committed value beneath it),
    // or do not see it at all when it is above their uncertainty limit.
    assert_eq!(r.read("a", t(3_000), None), TxnRead::Intent { txn: tx.clone(), committed: Some(b("a0")) });
    assert_eq!(r.read("b", t(3_000), Some(TxnId(99))), TxnRead::Intent { txn: tx.clone(), committed: None });
    assert_eq!(r.read("a", t(1_500), None), value("a0"));
    assert_eq!(
        read_key(&r.engine, b"a", t(1_500), t(2_000), None).unwrap(),
        TxnRead::Intent { txn: tx.clone(), committed: Some(b("a0")) }
    );
    assert_eq!(r.engine.get(b"b").unwrap(), None, "a plain engine read never sees an intent");
    // The transaction sees its own writes.
    assert_eq!(r.read("a", t(3_000), Some(tx.id)), TxnRead::Own(Some(b("a1"))));

    // The range moves on far above the commit timestamp.
    r.apply(write(t(9_000), vec![put("z", "z")]));
    let commit_ts = t(2_500);
    let rec = r.record(Command::CommitTxn { ts: t(2_400), txn: tx.clone(), commit_ts, intents: vec![b("a"), b("b")] });
    assert_eq!(rec.status, TxnStatus::Committed { commit_ts });
    assert_eq!(
        r.apply(resolve(t(2_600), &tx, &["a", "b"], Resolution::Commit { commit_ts })),
        CommandResponse::Applied { ts: Some(commit_ts) }
    );
    assert_eq!(r.sm.intent_count(), 0);
    for (k, v) in [("a", "a1"), ("b", "b1")] {
        let newest = r.engine.get_version(k.as_bytes(), Timestamp::MAX).unwrap().unwrap();
        assert_eq!(newest.ts, commit_ts, "{k} committed at exactly the commit timestamp");
        assert_eq!(r.read(k, commit_ts, None), value(v));
        assert_eq!(r.engine.get(k.as_bytes()).unwrap(), Some(b(v)));
    }
    assert_eq!(r.read("a", commit_ts - 1, None), value("a0"));
    assert_eq!(r.read("b", commit_ts - 1, None), TxnRead::Value(None));
    // A committed version inside a reader's uncertainty interval.
    assert_eq!(
        read_key(&r.engine, b"a", t(2_400), t(2_900), None).unwrap(),
        TxnRead::Uncertain { existing_ts: commit_ts }
    );

    // Resolving again changes nothing; a later write lands above.
    r.apply(resolve(t(2_700), &tx, &["a", "b"], Resolution::Commit { commit_ts }));
    assert_eq!(r.engine.get_version(b"a", Timestamp::MAX).unwrap().unwrap().ts, commit_ts);
    let CommandResponse::Applied { ts: Some(ts) } = r.apply(write(t(2_800), vec![put("a", "a2")])) else { panic!() };
    assert!(ts > t(9_000));
    assert_eq!(r.engine.get(b"a").unwrap(), Some(b("a2")));
}

#[test]
fn abort_discards_intents() {
    let mut r = Replica::new(7, RangeSpan::all());
    r.apply(write(t(1_000), vec![put("a", "a0")]));
    let tx = txn(1, "a", t(2_000));
    r.apply(lay(&tx, vec![put("a", "a1"), WriteOp::Delete { key: b("c") }]));
    let rec = r.record(Command::AbortTxn { ts: t(2_100), txn: tx.clone(), if_expired: false });
    assert_eq!(rec.status, TxnStatus::Aborted);
    // Another transaction's resolution does not touch them.
    r.apply(resolve(t(2_150), &txn(2, "a", t(2_000)), &["a", "c"], Resolution::Abort));
    assert_eq!(r.sm.intent_count(), 2);
    assert_eq!(r.apply(resolve(t(2_200), &tx, &["a", "c"], Resolution::Abort)), CommandResponse::Applied { ts: None });
    assert_eq!(r.sm.intent_count(), 0);
    assert_eq!(r.engine.get(&intent_key(b"a")).unwrap(), None);
    assert_eq!(r.read("a", t(5_000), None), value("a0"));
    assert_eq!(r.read("a", t(5_000), Some(tx.id)), value("a0"));
    // The key is free again, for plain writes too.
    assert!(matches!(r.apply(write(t(5_000), vec![put("a", "a3")])), CommandResponse::Applied { .. }));
}

#[test]
fn conflicting_writes_are_refused_with_the_other_txn() {
    let mut r = Replica::new(7, RangeSpan::all());
    r.apply(write(t(1_000), vec![put("old", "x")]));
    let t1 = txn(1, "k", t(2_000));
    r.apply(lay(&t1, vec![put("k", "1")]));
    let conflict = CommandResponse::WriteConflict { key: b("k"), txn: t1.clone() };

    // Another transaction: the whole batch is refused, nothing is laid.
    let t2 = txn(2, "j", t(2_100));
    assert_eq!(r.apply(lay(&t2, vec![put("j", "2"), put("k", "2")])), conflict);
    assert_eq!(r.engine.get(&intent_key(b"j")).unwrap(), None);
    assert_eq!(r.apply(Command::CommitOnePhase { ts: t(2_100), txn: t2.clone(), ops: vec![put("k", "2")] }), conflict);
    // Plain writes of every kind.
    assert_eq!(r.apply(write(t(2_200), vec![put("other", "o"), put("k", "p")])), conflict);
    assert_eq!(r.engine.get(b"other").unwrap(), None);
    let cas = Command::ConditionalWrite { ts: t(2_200), key: b("k"), expected: None, ops: vec![put("k", "c")] };
    assert_eq!(r.apply(cas), conflict);
    assert_eq!(r.apply(Command::DeleteRange { ts: t(2_200), start: b("a"), end: b("z") }), conflict);
    assert!(matches!(
        r.apply(Command::DeleteRange { ts: t(2_200), start: b("p"), end: b("z") }),
        CommandResponse::Applied { .. }
    ));

    // A committed version newer than the writer's snapshot.
    let t3 = txn(3, "old", t(500));
    assert_eq!(
        r.apply(lay(&t3, vec![put("old", "3")])),
        CommandResponse::WriteTooOld { key: b("old"), existing_ts: t(1_000) }
    );
    // A newer delete counts as a newer write.
    r.apply(write(t(3_000), vec![WriteOp::Delete { key: b("gone") }]));
    let t4 = txn(4, "gone", t(2_500));
    assert!(matches!(r.apply(lay(&t4, vec![put("gone", "4")])), CommandResponse::WriteTooOld { .. }));

    // The owner may rewrite its own intent; the count does not grow.
    assert!(matches!(r.apply(lay(&t1, vec![put("k", "1b")])), CommandResponse::Applied { .. }));
    assert_eq!(r.sm.intent_count(), 1);
    assert_eq!(r.read("k", t(9_000), Some(t1.id)), TxnRead::Own(Some(b("1b"))));
}

#[test]
fn record_transitions_are_guarded() {
    let mut r = Replica::new(7, RangeSpan::all());
    let mut tx = txn(1, "a", t(1_000));
    tx.liveness_ms = 1_000;
    let hb = |ts| Command::HeartbeatTxn { ts, txn: tx.clone() };
    let commit = |ts, commit_ts| Command::CommitTxn { ts, txn: tx.clone(), commit_ts, intents: vec![b("a")] };
    let abort = |ts, if_expired| Command::AbortTxn { ts, txn: tx.clone(), if_expired };

    let rec = r.record(hb(t(1_500)));
    assert_eq!((rec.status, rec.heartbeat), (TxnStatus::Pending, t(1_500)));
    // Alive 1 s after its heartbeat: a conditional abort does nothing.
    assert_eq!(r.record(abort(t(2_500), true)).status, TxnStatus::Pending);
    // A push raises the minimum commit timestamp; a commit below it waits.
    assert_eq!(r.record(Command::PushTxn { ts: t(2_000), txn: tx.clone(), push_to: t(2_200) }).min_commit_ts, t(2_200));
    assert_eq!(r.record(commit(t(2_000), t(2_100))).status, TxnStatus::Pending);
    let committed = TxnStatus::Committed { commit_ts: t(2_300) };
    let rec = r.record(commit(t(2_300), t(2_300)));
    assert_eq!((rec.status, rec.intents.clone()), (committed, vec![b("a")]));
    // Double commit, abort after commit, heartbeat and push of a final record.
    assert_eq!(r.record(commit(t(2_400), t(2_900))).status, committed);
    assert_eq!(r.record(abort(t(2_400), false)).status, committed);
    assert_eq!(r.record(abort(t(60_000), true)).status, committed);
    let rec = r.record(hb(t(2_500)));
    assert_eq!((rec.status, rec.heartbeat), (committed, t(1_500)));
    assert_eq!(r.record(Command::PushTxn { ts: t(2_600), txn: tx.clone(), push_to: t(9_000) }).min_commit_ts, t(2_200));

    // Abort first: a later commit fails, heartbeats do not revive it.
    tx.id = TxnId(2);
    assert_eq!(
        r.record(Command::AbortTxn { ts: t(1_100), txn: tx.clone(), if_expired: false }).status,
        TxnStatus::Aborted
    );
    assert_eq!(
        r.record(Command::CommitTxn { ts: t(1_200), txn: tx.clone(), commit_ts: t(1_200), intents: vec![] }).status,
        TxnStatus::Aborted
    );
    assert_eq!(r.record(Command::HeartbeatTxn { ts: t(1_300), txn: tx.clone() }).status, TxnStatus::Aborted);

    // A coordinator silent past its liveness loses: the commit aborts.
    tx.id = TxnId(3);
    r.record(Command::HeartbeatTxn { ts: t(1_000), txn: tx.clone() });
    let rec = r.record(Command::CommitTxn { ts: t(2_001), txn: tx.clone(), commit_ts: t(2_001), intents: vec![] });
    assert_eq!(rec.status, TxnStatus::Aborted);

    // A record never written counts as heartbeated at the txn's start: a
    // pusher may abort it once that has expired (and a late commit fails).
    tx.id = TxnId(4);
    assert_eq!(
        r.record(Command::AbortTxn { ts: t(1_900), txn: tx.clone(), if_expired: true }).status,
        TxnStatus::Pending
    );
    assert_eq!(
        r.record(Command::AbortTxn { ts: t(2_001), txn: tx.clone(), if_expired: true }).status,
        TxnStatus::Aborted
    );
    assert_eq!(
        r.record(Command::CommitTxn { ts: t(2_002), txn: tx.clone(), commit_ts: t(2_002), intents: vec![] }).status,
        TxnStatus::Aborted
    );

    // Records are refused outside the range; a commit below the writes too.
    let mut narrow = Replica::new(8, RangeSpan::new("m", None));
    assert!(matches!(
        narrow.apply(Command::HeartbeatTxn { ts: t(1), txn: txn(5, "a", t(1)) }),
        CommandResponse::Rejected { .. }
    ));
    let mut late = txn(6, "x", t(1_000));
    late.write_ts = t(1_100);
    let cmd = Command::CommitTxn { ts: t(1_200), txn: late, commit_ts: t(1_050), intents: vec![] };
    assert!(matches!(narrow.apply(cmd), CommandResponse::Rejected { .. }));
}

#[test]
fn one_phase_commit_writes_at_the_applied_ts_and_takes_over_own_intents() {
    let mut r = Replica::new(7, RangeSpan::all());
    r.apply(write(t(3_000), vec![put("x", "0")]));
    let tx = txn(1, "a", t(3_000));
    r.apply(lay(&tx, vec![put("a", "early")]));
    assert_eq!(r.sm.intent_count(), 1);
    let resp =
        r.apply(Command::CommitOnePhase { ts: t(2_000), txn: tx.clone(), ops: vec![put("a", "1"), put("b", "1")] });
    let CommandResponse::Applied { ts: Some(ts) } = resp else { panic!("{resp:?}") };
    assert!(ts > t(3_000), "raised like any write: {ts}");
    assert_eq!(r.sm.intent_count(), 0);
    assert_eq!(r.read("a", ts, None), value("1"));
    assert_eq!(r.read("b", ts, None), value("1"));
    assert_eq!(r.read("b", ts - 1, None), TxnRead::Value(None));
    // Its snapshot must be as new as what it overwrites.
    let stale = txn(2, "x", t(2_000));
    assert!(matches!(
        r.apply(Command::CommitOnePhase { ts: t(9_000), txn: stale, ops: vec![put("x", "2")] }),
        CommandResponse::WriteTooOld { .. }
    ));
}

/// Every version in the user span and the transaction spans of `span`.
fn dump(engine: &Engine, span: &RangeSpan) -> Vec<(Bytes, Timestamp, Option<Bytes>)> {
    std::iter::once(span.bounds())
        .chain(txn_bounds(span))
        .flat_map(|bounds| engine.scan_versions(bounds, Timestamp::MAX).map(|e| e.unwrap()).collect::<Vec<_>>())
        .map(|e| (e.key, e.ts, e.value))
        .collect()
}

#[tokio::test]
async fn intents_and_records_travel_in_snapshots() {
    use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};

    let mut leader = Replica::new(7, RangeSpan::all());
    leader.apply(write(t(1_000), vec![put("a", "a0")]));
    let tx = txn(1, "a", t(2_000));
    leader.apply(lay(&tx, vec![put("a", "a1"), put("b", "b1")]));
    leader.record(Command::HeartbeatTxn { ts: t(2_100), txn: tx.clone() });
    let snap = leader.sm.get_snapshot_builder().await.build_snapshot().await.unwrap();

    // A lagging replica with a stale intent the snapshot no longer has.
    let mut follower = Replica::new(7, RangeSpan::all());
    let gone = txn(2, "c", t(1_500));
    follower.apply(lay(&gone, vec![put("c", "stale")]));
    follower.record(Command::HeartbeatTxn { ts: t(1_600), txn: gone.clone() });
    follower.sm.install_snapshot(&snap.meta, snap.snapshot).await.unwrap();

    assert_eq!(follower.sm.intent_count(), 2);
    assert_eq!(follower.read("a", t(3_000), None), TxnRead::Intent { txn: tx.clone(), committed: Some(b("a0")) });
    assert_eq!(follower.read("c", t(3_000), None), TxnRead::Value(None), "the stale intent is gone");
    assert_eq!(dump(&follower.engine, &RangeSpan::all()), dump(&leader.engine, &RangeSpan::all()));
    // The record came along: the transaction can commit on the follower.
    let rec =
        follower.record(Command::CommitTxn { ts: t(2_200), txn: tx.clone(), commit_ts: t(2_200), intents: vec![] });
    assert_eq!(rec.heartbeat, t(2_100));
    assert_eq!(rec.status, TxnStatus::Committed { commit_ts: t(2_200) });
    // The stale record is gone: that transaction starts from nothing again.
    assert_eq!(follower.record(Command::HeartbeatTxn { ts: t(1_700), txn: gone }).heartbeat, t(1_700));
}

#[test]
fn a_split_leaves_each_half_its_intents_and_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut left = Replica::open(dir.path(), 7, RangeSpan::all());
    let ta = txn(1, "a", t(2_000));
    let tm = txn(2, "m", t(2_000));
    left.apply(lay(&ta, vec![put("a", "a1"), put("n", "n1")]));
    left.apply(lay(&tm, vec![put("m", "m1")]));
    left.record(Command::HeartbeatTxn { ts: t(2_100), txn: ta.clone() });
    left.record(Command::HeartbeatTxn { ts: t(2_100), txn: tm.clone() });
    assert_eq!(left.sm.intent_count(), 3);
    assert!(matches!(
        left.apply(Command::Split { ts: t(2_200), split_key: b("h"), new_range: 8 }),
        CommandResponse::Applied { .. }
    ));
    assert_eq!(left.sm.intent_count(), 1);
    let mut right = Replica::on(Arc::clone(&left.engine), dir.path(), 8, RangeSpan::new("h", None));
    assert_eq!(right.sm.intent_count(), 2);

    // A transaction in flight across the split: the left half refuses the
    // right half's keys, the right half resolves them.
    let commit = Resolution::Commit { commit_ts: t(2_500) };
    assert!(matches!(left.apply(resolve(t(2_600), &ta, &["a", "n"], commit)), CommandResponse::Rejected { .. }));
    assert_eq!(left.apply(resolve(t(2_600), &ta, &["a"], commit)), CommandResponse::Applied { ts: Some(t(2_500)) });
    assert_eq!(right.apply(resolve(t(2_600), &ta, &["n"], commit)), CommandResponse::Applied { ts: Some(t(2_500)) });
    assert_eq!(right.read("n", t(2_500), None), value("n1"));
    assert_eq!((left.sm.intent_count(), right.sm.intent_count()), (0, 1));
    // Each record is where its anchor went.
    assert!(matches!(
        left.apply(Command::HeartbeatTxn { ts: t(2_700), txn: tm.clone() }),
        CommandResponse::Rejected { .. }
    ));
    assert_eq!(right.record(Command::HeartbeatTxn { ts: t(2_700), txn: tm.clone() }).heartbeat, t(2_700));
    assert_eq!(left.record(Command::HeartbeatTxn { ts: t(2_700), txn: ta.clone() }).heartbeat, t(2_700));
    // Reopened, each half counts its own intents.
    let engine = Arc::clone(&left.engine);
    drop((left, right));
    let left = Replica::on(Arc::clone(&engine), dir.path(), 7, RangeSpan::all());
    assert_eq!(left.sm.span(), &RangeSpan::new("", Some(b("h"))));
    assert_eq!(left.sm.intent_count(), 0);
    assert_eq!(Replica::on(engine, dir.path(), 8, RangeSpan::new("h", None)).sm.intent_count(), 1);
}

/// A mixed log of plain and transactional commands.
fn mixed_log() -> Vec<Command> {
    let mut log = Vec::new();
    for i in 0..40u64 {
        let base = t(1_000 + i * 10);
        let key = |n: u64| format!("k{:02}", n % 13);
        let tx = txn(u128::from(i % 5), &key(i), base);
        log.push(write(base, vec![put(&key(i * 7), &format!("plain{i}"))]));
        log.push(lay(&tx, vec![put(&key(i), &format!("t{i}")), put(&key(i + 3), &format!("t{i}"))]));
        log.push(Command::HeartbeatTxn { ts: base + 1, txn: tx.clone() });
        match i % 3 {
            0 => {
                log.push(Command::CommitTxn { ts: base + 2, txn: tx.clone(), commit_ts: base + 2, intents: vec![] });
                log.push(resolve(
                    base + 3,
                    &tx,
                    &[key(i).as_str(), key(i + 3).as_str()],
                    Resolution::Commit { commit_ts: base + 2 },
                ));
            }
            1 => {
                log.push(Command::AbortTxn { ts: base + 2, txn: tx.clone(), if_expired: i % 2 == 0 });
                log.push(resolve(base + 3, &tx, &[key(i).as_str(), key(i + 3).as_str()], Resolution::Abort));
            }
            _ => log.push(Command::CommitOnePhase { ts: base + 2, txn: tx, ops: vec![put(&key(i + 1), "1pc")] }),
        }
        log.push(Command::DeleteRange { ts: base + 4, start: b("k05"), end: b("k06") });
    }
    log
}

#[test]
fn replaying_one_log_gives_identical_replicas() {
    let (mut a, mut b) = (Replica::new(7, RangeSpan::all()), Replica::new(7, RangeSpan::all()));
    let mut outcomes = std::collections::BTreeMap::<&str, usize>::new();
    for cmd in mixed_log() {
        let (ra, rb) = (a.apply(cmd.clone()), b.apply(cmd));
        assert_eq!(ra, rb);
        let kind = match ra {
            CommandResponse::Applied { .. } => "applied",
            CommandResponse::WriteConflict { .. } => "conflict",
            CommandResponse::WriteTooOld { .. } => "too old",
            CommandResponse::TxnRecord { .. } => "record",
            _ => "other",
        };
        *outcomes.entry(kind).or_default() += 1;
    }
    // The log exercises conflicts as well as successes.
    assert!(outcomes.get("conflict").copied().unwrap_or(0) > 0, "{outcomes:?}");
    assert!(outcomes.get("applied").copied().unwrap_or(0) > 0, "{outcomes:?}");
    assert_eq!(a.sm.intent_count(), b.sm.intent_count());
    let span = RangeSpan::all();
    assert_eq!(dump(&a.engine, &span), dump(&b.engine, &span));
    assert!(!dump(&a.engine, &span).is_empty());
    // The intent count matches the engine.
    let intents = a.engine.scan(crate::txn::keys::intent_bounds(&span), false).count();
    assert_eq!(intents as u64, a.sm.intent_count());
}
