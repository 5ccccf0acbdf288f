//! # A range leader serving transactions: reads, the timestamp cache, proposals
//!
//! The replicated half of the protocol (`raft/apply_txn.rs`) decides every
//! transaction command deterministically from the log. What it cannot know
//! is what the leader **served outside the log**: reads. A transaction that
//! read key `k` at `R` must never see a write of `k` land at or below `R`
//! afterwards. This file is the leader's side of that promise
//! (`docs/transactions.md`, "Timestamps"):
//!
//! - every transactional read (methods `TXN_GET`, `TXN_SCAN`, and
//!   `TXN_VECTOR` in `serve_vector.rs`) is served after the leader
//!   confirmed its leadership (its lease, else a read-index), and records
//!   its key or span at its read timestamp in the range's [`TimestampCache`];
//! - a `LayIntents` proposal's `write_ts` (and a one-phase commit's
//!   timestamp) is pushed above the cache **before** it is proposed, and the
//!   pushed `write_ts` is what the state machine answers;
//! - the cache belongs to one leadership **term**: a node that becomes
//!   leader (again), or leads a range just split off, starts a fresh cache
//!   whose low-water mark is its **wall clock** plus the maximum clock
//!   offset plus 2 ms, which bounds every read timestamp its predecessor
//!   could have served, and serves nothing until its wall clock moved on by
//!   a millisecond (so that the timestamps it pushes writes to are at most
//!   its wall clock plus the offset plus 1 ms, the bound the next new
//!   leader relies on; within one millisecond the bound could not be told
//!   from the logical counters). The wall clock, not the
//!   node's hybrid clock: a hybrid clock that observed a pushed timestamp
//!   already runs up to the offset ahead, and pushing from it again would
//!   let timestamps drift further ahead with every leader change until the
//!   gateways refuse them. With the wall clock, no timestamp's physical part
//!   ever exceeds a wall clock plus the offset, which is what makes the
//!   bound hold (and the coordinator's commit wait, `coordinator.rs`).
//!
//! **Latches.** Recording a read and pushing a write must not interleave
//! with the engine read and the proposal: a read that records itself after
//! a write computed its push, but reads the engine before the intent is
//! applied, would miss an intent laid below its timestamp. Each range has
//! one reader-writer latch: reads hold it shared from recording to reading,
//! intent and one-phase proposals hold it exclusively from the push until
//! the command is applied. A range-wide latch serializes a range's intent
//! proposals with each other and with its transactional reads for one Raft
//! round trip; per-key latches (CockroachDB's latch manager) are the
//! refinement when that shows up in profiles. Resolutions and record
//! commands take no latch: they write nothing a read at a timestamp below
//! the commit could see.
//!
//! Every other transaction command is proposed as it is, with the proposer
//! timestamp replaced by the leader's clock (expiry is decided with it).
//!
//! **History.** A transaction reads at a timestamp in the past, but the
//! engine's compaction keeps only what its registered readers may still
//! read: without one, it drops every version a newer one shadows, and a
//! snapshot read would find a key missing. Remote transactions do not
//! register with the engine, so the node keeps one pinned snapshot
//! [`HISTORY_RETENTION`] behind its clock (moved forward by the node's
//! maintenance task): every version a transaction younger than that may
//! read is kept. A read below the pin is refused ("transaction too old");
//! so is one on a node that started after the transaction began (its
//! history before the start may be gone).

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use alopex_core::Timestamp;
use alopex_core::clock::{hlc, physical_ms};

use super::hlc::DEFAULT_MAX_OFFSET;
use super::read::{SpanFilter, read_key, scan_span_filtered};
use super::ts_cache::TimestampCache;
use crate::ids::RangeId;
use crate::raft::{Command, CommandResponse, RaftNodeError, codec};
use crate::range::RangeNode;
use crate::range::protocol::{KvReply, TxnCommandRequest, TxnGetRequest, TxnScanRequest, method};

/// The most visible rows one filtered `TXN_SCAN` examines before it
/// answers with a resume key (a sparse filter answers in bounded time).
pub const MAX_SCANNED_PER_REQUEST: usize = 16 * 1024;

/// Entries a range's timestamp cache keeps before it forgets the older half.
const CACHE_CAPACITY: usize = 64 * 1024;

/// How far behind its clock a node keeps the history transactions read:
/// the longest a transaction that reads can run. One minute was too short
/// for `pgbench -i -s 10` (1,000,000 rows in one `COPY`, whose inserts read
/// their keys for uniqueness: 75 s on a loaded 2-core machine, refused as
/// "too old" two thirds through). Ten minutes keeps more shadowed versions
/// from compaction on update-heavy tables; CockroachDB keeps hours.
pub const HISTORY_RETENTION: Duration = Duration::from_secs(600);

/// One range's transactional state on its leader, for one term.
#[derive(Debug)]
pub(crate) struct RangeTxnState {
    term: u64,
    /// The wall clock (ms) before which the cache must not serve.
    ready_at_ms: u64,
    pub(crate) cache: parking_lot::Mutex<TimestampCache>,
    pub(crate) latch: tokio::sync::RwLock<()>,
}

/// The transactional state of every range this node leads: their timestamp
/// caches and latches. Memory only: a restart is a new term.
#[derive(Debug)]
pub struct LeaderTxnState {
    max_offset_ms: AtomicU64,
    /// The snapshot that keeps the engine's history (see the module
    /// documentation); `None` before the node started.
    history: parking_lot::Mutex<Option<alopex_core::Snapshot>>,
    ranges: parking_lot::Mutex<HashMap<RangeId, Arc<RangeTxnState>>>,
}

impl Default for LeaderTxnState {
    fn default() -> Self {
        LeaderTxnState {
            max_offset_ms: AtomicU64::new(DEFAULT_MAX_OFFSET.as_millis() as u64),
            history: parking_lot::Mutex::new(None),
            ranges: parking_lot::Mutex::new(HashMap::new()),
        }
    }
}

impl LeaderTxnState {
    /// Sets the maximum clock offset a new leader's cache starts above its
    /// clock by. It must match the gateways' (`txn::Hlc`).
    pub fn set_max_offset(&self, max_offset: Duration) {
        self.max_offset_ms.store(max_offset.as_millis() as u64, Ordering::Relaxed);
    }

    /// Keeps the engine's versions from [`HISTORY_RETENTION`] before `now`
    /// on (from `now` at the first call: older history may be gone).
    pub(crate) fn keep_history(&self, engine: &alopex_core::Engine, now: Timestamp) {
        let mut history = self.history.lock();
        let behind = hlc(physical_ms(now).saturating_sub(HISTORY_RETENTION.as_millis() as u64), 0);
        let pin = match history.as_ref() {
            None => now,
            Some(old) if behind > old.ts() => behind,
            Some(_) => return,
        };
        // The new pin is taken before the old one is dropped, so nothing
        // the new one reads can be collected in between.
        *history = Some(engine.snapshot_at(pin));
    }

    /// The oldest timestamp a transaction may read at on this node.
    pub(crate) fn horizon(&self) -> Timestamp {
        self.history.lock().as_ref().map_or(Timestamp::MAX, |s| s.ts())
    }

    /// The range's state for `term`, replacing one of an older term.
    fn for_term(&self, range: RangeId, term: u64) -> Arc<RangeTxnState> {
        let mut ranges = self.ranges.lock();
        if let Some(s) = ranges.get(&range)
            && s.term == term
        {
            return Arc::clone(s);
        }
        let wall_ms = alopex_core::clock::PhysicalClock::now_ms(&alopex_core::SystemClock);
        let offset_ms = self.max_offset_ms.load(Ordering::Relaxed);
        let low_water = hlc(wall_ms.saturating_add(offset_ms).saturating_add(2), 0);
        let s = Arc::new(RangeTxnState {
            term,
            ready_at_ms: wall_ms + 1,
            cache: parking_lot::Mutex::new(TimestampCache::new(low_water, CACHE_CAPACITY)),
            latch: tokio::sync::RwLock::new(()),
        });
        ranges.insert(range, Arc::clone(&s));
        s
    }

    /// The cache push for a plain write of `keys` proposed at `ts` on a
    /// range that has served transactional reads in the current term
    /// (`term`, asked only then: reading it clones the Raft metrics); `ts`
    /// itself otherwise.
    pub(crate) fn push_plain(
        &self,
        range: RangeId,
        term: impl FnOnce() -> Option<u64>,
        keys: &[Bytes],
        ts: Timestamp,
    ) -> Timestamp {
        let Some(state) = self.ranges.lock().get(&range).cloned() else { return ts };
        if term() != Some(state.term) {
            return ts;
        }
        state.cache.lock().push_write(keys.iter().map(|k| k.as_ref()), ts)
    }
}

impl RangeTxnState {
    /// Waits until a new cache may serve (see the module documentation).
    async fn ready(self: Arc<Self>) -> Arc<Self> {
        loop {
            let wall_ms = alopex_core::clock::PhysicalClock::now_ms(&alopex_core::SystemClock);
            if wall_ms >= self.ready_at_ms {
                return self;
            }
            tokio::time::sleep(Duration::from_millis(self.ready_at_ms - wall_ms)).await;
        }
    }
}

/// The leader's term of `range`, if this node leads it (else the reply to
/// send as is).
#[allow(clippy::result_large_err)]
pub(crate) fn leader_term(node: &RangeNode, range: RangeId) -> Result<u64, KvReply> {
    let Some(m) = node.raft().metrics(range) else { return Err(KvReply::RangeNotHere) };
    if m.state == openraft::ServerState::Leader && m.current_leader == Some(node.id().0) {
        Ok(m.current_term)
    } else {
        Err(KvReply::NotLeader { leader: m.current_leader })
    }
}

/// Serves methods 15-18 (see `range::protocol`).
pub(crate) async fn serve(node: &RangeNode, range: RangeId, method: u16, body: &[u8]) -> KvReply {
    let bad = |e: std::io::Error| KvReply::Failed(format!("bad request: {e}"));
    match method {
        method::TXN_GET => match codec::decode::<TxnGetRequest>(body) {
            Ok(r) => get(node, range, r).await,
            Err(e) => bad(e),
        },
        method::TXN_SCAN => match codec::decode::<TxnScanRequest>(body) {
            Ok(r) => scan(node, range, r).await,
            Err(e) => bad(e),
        },
        method::TXN_COMMAND => match codec::decode::<TxnCommandRequest>(body) {
            Ok(r) => command(node, range, r.cmd).await,
            Err(e) => bad(e),
        },
        method::TXN_VECTOR => match codec::decode::<super::serve_vector::TxnVectorRequest>(body) {
            Ok(r) => super::serve_vector::vector(node, range, r).await,
            Err(e) => bad(e),
        },
        other => KvReply::Failed(format!("unknown transaction method {other}")),
    }
}

/// Checks the key, confirms leadership with a read-index, and answers the
/// range's state for this term (else the reply to send as is).
#[allow(clippy::result_large_err)]
pub(crate) async fn prepare_read(
    node: &RangeNode,
    range: RangeId,
    key: &Bytes,
    read_ts: Timestamp,
) -> Result<Arc<RangeTxnState>, KvReply> {
    if read_ts == 0 {
        return Err(KvReply::Failed("read timestamp 0 is invalid".into()));
    }
    let horizon = node.txn_state().horizon();
    if read_ts < horizon {
        return Err(KvReply::Failed(format!(
            "transaction too old: its snapshot {read_ts} is below the history node {} keeps ({horizon}); retry it",
            node.id()
        )));
    }
    if let Some(reply) = node.check_keys(range, [key]) {
        return Err(reply);
    }
    if let Some(reply) = node.linearize_lease(range).await {
        return Err(reply);
    }
    if let Some(reply) = node.check_keys(range, [key]) {
        return Err(reply);
    }
    let term = leader_term(node, range)?;
    Ok(node.txn_state().for_term(range, term).ready().await)
}

async fn get(node: &RangeNode, range: RangeId, r: TxnGetRequest) -> KvReply {
    let state = match prepare_read(node, range, &r.key, r.read_ts).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let _latch = state.latch.read().await;
    state.cache.lock().record_read(&r.key, r.read_ts);
    match read_key(node.raft().engine(), &r.key, r.read_ts, r.limit, r.reader) {
        Ok(read) => KvReply::TxnValue(read),
        Err(e) => KvReply::Unavailable(e.to_string()),
    }
}

async fn scan(node: &RangeNode, range: RangeId, r: TxnScanRequest) -> KvReply {
    let state = match prepare_read(node, range, &r.start, r.read_ts).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let _latch = state.latch.read().await;
    let Some(shape) = node.shape(range) else { return KvReply::RangeNotHere };
    let span_end = Bytes::copy_from_slice(shape.span.end_key());
    let end = match r.end {
        Some(e) if e < span_end => e,
        _ => span_end,
    };
    if r.start >= end {
        return KvReply::TxnRows { scan: Default::default(), range_end: shape.span.end };
    }
    let max_rows = (r.max_rows as usize).max(1);
    let predicate = match r.filter.as_ref().map(|f| alopex_core::scan_filter::compile(&f.into())).transpose() {
        Ok(p) => p,
        Err(e) => return KvReply::Failed(format!("bad scan filter: {e}")),
    };
    let filter = predicate.as_deref().map(|predicate| SpanFilter { predicate, max_scanned: MAX_SCANNED_PER_REQUEST });
    // The whole span examined is recorded below (`covered_end`), not only
    // the matches: a write of a rejected key that would match is a phantom.
    match scan_span_filtered(node.raft().engine(), &r.start, &end, r.read_ts, r.limit, r.reader, max_rows, filter) {
        Ok(scan) => {
            // The span read: up to where the scan stopped.
            let covered_end = scan.resume.as_ref().unwrap_or(&end);
            state.cache.lock().record_scan(&r.start, Some(covered_end), r.read_ts);
            KvReply::TxnRows { scan, range_end: shape.span.end }
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => KvReply::Failed(e.to_string()),
        Err(e) => KvReply::Unavailable(e.to_string()),
    }
}

/// The keys a transaction command touches in the range it is sent to.
fn command_keys(cmd: &Command) -> Option<Vec<Bytes>> {
    match cmd {
        Command::LayIntents { ops, .. } | Command::CommitOnePhase { ops, .. } => {
            Some(ops.iter().map(|o| o.key().clone()).collect())
        }
        Command::ResolveIntents { keys, .. } => Some(keys.clone()),
        Command::HeartbeatTxn { txn, .. }
        | Command::PushTxn { txn, .. }
        | Command::CommitTxn { txn, .. }
        | Command::AbortTxn { txn, .. } => Some(vec![txn.anchor.clone()]),
        _ => None,
    }
}

/// Replaces the proposer timestamp of a transaction command.
fn stamp(cmd: &mut Command, now: Timestamp) {
    match cmd {
        Command::LayIntents { ts, .. }
        | Command::ResolveIntents { ts, .. }
        | Command::HeartbeatTxn { ts, .. }
        | Command::PushTxn { ts, .. }
        | Command::CommitTxn { ts, .. }
        | Command::AbortTxn { ts, .. }
        | Command::CommitOnePhase { ts, .. } => *ts = now,
        _ => {}
    }
}

fn moved(node: &RangeNode, range: RangeId, keys: &[Bytes]) -> Option<KvReply> {
    node.check_keys(range, keys).map(|reply| match reply {
        KvReply::KeyNotInRange { generation } => KvReply::TxnKeysMoved { generation },
        other => other,
    })
}

async fn command(node: &RangeNode, range: RangeId, mut cmd: Command) -> KvReply {
    let Some(keys) = command_keys(&cmd) else {
        return KvReply::Failed(format!("not a transaction command: {cmd}"));
    };
    if keys.is_empty() {
        return KvReply::Failed("a transaction command needs at least one key".into());
    }
    if let Some(reply) = moved(node, range, &keys) {
        return reply;
    }
    let term = match leader_term(node, range) {
        Ok(t) => t,
        Err(reply) => return reply,
    };
    let pushes = matches!(cmd, Command::LayIntents { .. } | Command::CommitOnePhase { .. });
    let state = node.txn_state().for_term(range, term).ready().await;
    let _latch = if pushes { Some(state.latch.write().await) } else { None };
    let now = node.raft().now();
    stamp(&mut cmd, now);
    if pushes {
        let cache = state.cache.lock();
        let pushed = |proposed: Timestamp| cache.push_write(keys.iter().map(|k| k.as_ref()), proposed);
        match &mut cmd {
            Command::LayIntents { txn, .. } => txn.write_ts = pushed(txn.write_ts),
            Command::CommitOnePhase { ts, .. } => *ts = pushed(*ts),
            _ => {}
        }
    }
    match node.raft().propose(range, cmd).await {
        Ok(CommandResponse::Rejected { reason }) => {
            // A split applied before the command: some keys moved away. The
            // shape record the split wrote may not be readable yet (it is
            // read at the engine's visible timestamp), so the state
            // machine's own verdict counts too.
            match moved(node, range, &keys) {
                Some(reply) => reply,
                None if crate::raft::command::is_outside_range(&reason) => KvReply::TxnKeysMoved { generation: 0 },
                None => KvReply::TxnAnswer(CommandResponse::Rejected { reason }),
            }
        }
        Ok(answer) => KvReply::TxnAnswer(answer),
        Err(RaftNodeError::NotLeader { leader, .. }) => KvReply::NotLeader { leader: leader.map(|l| l.0) },
        Err(RaftNodeError::UnknownRange(_)) => KvReply::RangeNotHere,
        Err(e) => KvReply::Unavailable(e.to_string()),
    }
}

/// The key just after `key`.
pub(crate) fn after(key: &[u8]) -> Bytes {
    let mut k = key.to_vec();
    k.push(0);
    Bytes::from(k)
}

/// The exclusive end of a user-key bound.
pub(crate) fn end_of(bound: &Bound<Bytes>) -> Bytes {
    match bound {
        Bound::Included(k) => after(k),
        Bound::Excluded(k) => k.clone(),
        Bound::Unbounded => Bytes::from_static(crate::range::keys::USER_END),
    }
}

/// The inclusive start of a user-key bound.
pub(crate) fn start_of(bound: &Bound<Bytes>) -> Bytes {
    match bound {
        Bound::Included(k) => k.clone(),
        Bound::Excluded(k) => after(k),
        Bound::Unbounded => Bytes::new(),
    }
}
