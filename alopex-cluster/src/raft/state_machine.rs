//! # The state machine of a range: applying commands into the node's engine
//!
//! Every range group of a node applies into the **same** `alopex-core`
//! engine; a range only ever touches its own span. Applying an entry is one
//! `Engine::write_at` batch at the command's commit timestamp, holding the
//! command's writes **and** the range's new applied state (a key in the
//! node-local reserved span, see [`super::span`]). A crash therefore never
//! separates data from the record of having applied it: after a restart,
//! openraft re-applies exactly the entries after the recorded index.
//!
//! The engine may run with relaxed WAL syncing: losing the last applies in
//! a crash loses their applied-state keys with them, and they are applied
//! again from the Raft log, which is the durable record (entries are purged
//! from it only behind a snapshot, which is a durable file).
//!
//! **Snapshots.** Building one exports the span at the applied point into
//! an SSTable ([`super::snapshot`]); it runs inside the apply task, so no
//! later entry can leak into it. Installing one (1) adopts the file as the
//! range's current snapshot, (2) deletes every local key the snapshot no
//! longer has, with a tombstone just above that key's newest version (so it
//! never hides what the snapshot brings), (3) ingests the file, and (4)
//! records the snapshot's log id as applied. Opening the state machine
//! redoes (2)-(4) when the current snapshot is ahead of the applied state.
//!
//! **Transactions.** A range's intents and transaction records live in
//! spans derived from its user span (`crate::txn::keys`), so snapshots
//! export and reconcile those spans too, and splits move nothing. The
//! commands of transactions are decided in `raft/apply_txn.rs`; plain
//! writes that touch a key holding an intent are refused there as well,
//! which costs nothing while the range holds no intents (it keeps a count).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine, Snapshot};

use openraft::{EntryPayload, OptionalSend};

use alopex_core::sstable::{BlockCache, Table};
use alopex_core::{Engine, Timestamp, TimestampSource, WriteBatch};

use super::apply_txn;
use super::codec;
use super::command::{Command, CommandResponse, WriteOp, outside_range};
use super::shape::{self, HostedRange, RangeShape, SplitRecord};
use super::snapshot::{SnapshotFile, SnapshotStore};
use super::span::{self, RangeSpan};
use super::types::{Entry, LogId, RangeConfig, RangeSnapshot, SnapshotMeta, StoredMembership};
use crate::txn::keys::txn_bounds;

fn core_err(e: alopex_core::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Runs blocking engine work without stalling other tasks of a
/// multi-threaded runtime.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Applies one range's committed entries into the node's engine.
pub struct RangeStateMachine {
    range: u64,
    span: RangeSpan,
    /// Bumped by every split (see [`super::shape`]).
    generation: u64,
    engine: Arc<Engine>,
    clock: Arc<dyn TimestampSource>,
    store: SnapshotStore,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    /// Live applied-state keys: (log index, the timestamp they were written at).
    meta_keys: Vec<(u64, Timestamp)>,
    /// The greatest timestamp this range wrote at.
    max_ts: Timestamp,
    /// How many intents the range holds (never fewer than it holds: while
    /// it is 0, plain writes skip the intent check).
    intents: u64,
    current: Option<(SnapshotMeta, PathBuf)>,
}

impl std::fmt::Debug for RangeStateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeStateMachine")
            .field("range", &self.range)
            .field("last_applied", &self.last_applied)
            .finish_non_exhaustive()
    }
}

impl RangeStateMachine {
    /// Opens the state machine of `range`: reads its applied state from
    /// the engine and finishes an interrupted snapshot install.
    pub fn open(
        range: u64,
        span: RangeSpan,
        engine: Arc<Engine>,
        clock: Arc<dyn TimestampSource>,
        snapshot_root: &Path,
    ) -> io::Result<Self> {
        let store = SnapshotStore::open(snapshot_root, range)?;
        let mut sm = RangeStateMachine {
            range,
            span,
            generation: 1,
            engine,
            clock,
            store,
            last_applied: None,
            membership: StoredMembership::default(),
            meta_keys: Vec::new(),
            max_ts: 0,
            intents: 0,
            current: None,
        };
        sm.load_applied()?;
        sm.load_shape()?;
        sm.recount_intents()?;
        sm.current = sm.store.current()?;
        if let Some((meta, path)) = sm.current.clone()
            && meta.last_log_id > sm.last_applied
        {
            tracing::info!(range, snapshot = ?meta.last_log_id, applied = ?sm.last_applied, "finishing a snapshot install");
            sm.install_into_engine(&meta, &path)?;
        }
        Ok(sm)
    }

    /// Counts the intents of the current span from the engine.
    fn recount_intents(&mut self) -> io::Result<()> {
        let engine = Arc::clone(&self.engine);
        let span = self.span.clone();
        self.intents = blocking(move || apply_txn::count_intents(&engine, &span))?;
        Ok(())
    }

    /// How many intents the range holds.
    pub fn intent_count(&self) -> u64 {
        self.intents
    }

    /// The refusal a plain command meets from intents on the keys it
    /// writes (checked only while the range holds intents).
    fn plain_conflict(&self, cmd: &Command) -> io::Result<Option<CommandResponse>> {
        if self.intents == 0 {
            return Ok(None);
        }
        let engine = &self.engine;
        match cmd {
            Command::Write { ops, .. } | Command::ConditionalWrite { ops, .. } => {
                blocking(|| apply_txn::intent_conflict(engine, ops.iter().map(WriteOp::key), None))
            }
            Command::DeleteRange { start, end, .. } => blocking(|| apply_txn::range_conflict(engine, start, end)),
            _ => Ok(None),
        }
    }

    /// The range id.
    pub fn range(&self) -> u64 {
        self.range
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> Option<LogId> {
        self.last_applied
    }

    /// The current span.
    pub fn span(&self) -> &RangeSpan {
        &self.span
    }

    /// Adopts the newest shape record, if the range ever split.
    fn load_shape(&mut self) -> io::Result<()> {
        let prefix = shape::shape_prefix(self.range);
        if let Some(e) = self.engine.scan(alopex_core::prefix_range(&prefix), true).next() {
            let (_, v) = e.map_err(core_err)?;
            let shape: RangeShape = codec::decode(&v)?;
            self.span = shape.span;
            self.generation = shape.generation;
        }
        Ok(())
    }

    fn load_applied(&mut self) -> io::Result<()> {
        let prefix = span::applied_prefix(self.range);
        let read_ts = self.engine.visible_ts();
        self.meta_keys.clear();
        let mut newest: Option<bytes::Bytes> = None;
        for e in self.engine.scan_versions(alopex_core::prefix_range(&prefix), read_ts) {
            let e = e.map_err(core_err)?;
            if let Some(index) = span::applied_index(self.range, &e.key) {
                self.meta_keys.push((index, e.ts));
                self.max_ts = self.max_ts.max(e.ts);
                newest = e.value;
            }
        }
        if let Some(v) = newest {
            let (applied, membership): (Option<LogId>, StoredMembership) = codec::decode(&v)?;
            self.last_applied = applied;
            self.membership = membership;
        }
        Ok(())
    }

    /// Adds the applied-state key for `log_id` to `batch` (written at `ts`),
    /// and deletes older ones the batch's timestamp can shadow.
    fn record_applied(&mut self, batch: &mut WriteBatch, log_id: Option<LogId>, ts: Timestamp) -> io::Result<()> {
        let index = log_id.map_or(0, |l| l.index);
        let value = codec::encode(&(log_id, &self.membership))?;
        batch.put(span::applied_key(self.range, index), value);
        let range = self.range;
        self.meta_keys.retain(|&(i, t)| {
            if t < ts && i != index {
                batch.delete(span::applied_key(range, i));
                false
            } else {
                true
            }
        });
        self.meta_keys.retain(|&(i, _)| i != index);
        self.meta_keys.push((index, ts));
        Ok(())
    }

    /// A timestamp for entries that carry none (blank, membership).
    fn local_ts(&self) -> Timestamp {
        self.engine.visible_ts().max(1)
    }

    fn validate(&self, cmd: &Command) -> Result<(), String> {
        match cmd {
            Command::Noop => Ok(()),
            Command::Write { ts, ops } => {
                if *ts == 0 {
                    return Err("commit timestamp 0 is invalid".into());
                }
                match ops.iter().find(|op| !self.span.contains(op.key())) {
                    Some(op) => Err(outside_range(format_args!("key {:?}", op.key()), self.range)),
                    None => Ok(()),
                }
            }
            Command::DeleteRange { ts, start, end } => {
                if *ts == 0 {
                    return Err("commit timestamp 0 is invalid".into());
                }
                if self.span.covers(start, end) { Ok(()) } else { Err(outside_range("delete range", self.range)) }
            }
            Command::Split { ts, split_key, new_range } => {
                if *ts == 0 {
                    return Err("commit timestamp 0 is invalid".into());
                }
                if *new_range == 0 || *new_range == self.range {
                    return Err(format!("r{new_range} cannot be the right half of r{}", self.range));
                }
                if split_key.as_ref() <= self.span.start.as_ref() || !self.span.contains(split_key) {
                    return Err(format!("split key {split_key:?} is not strictly inside range r{}", self.range));
                }
                Ok(())
            }
            Command::ConditionalWrite { ts, key, ops, .. } => {
                if *ts == 0 {
                    return Err("commit timestamp 0 is invalid".into());
                }
                match std::iter::once(key).chain(ops.iter().map(WriteOp::key)).find(|k| !self.span.contains(k)) {
                    Some(k) => Err(outside_range(format_args!("key {k:?}"), self.range)),
                    None => Ok(()),
                }
            }
            Command::LayIntents { .. }
            | Command::ResolveIntents { .. }
            | Command::HeartbeatTxn { .. }
            | Command::PushTxn { .. }
            | Command::CommitTxn { .. }
            | Command::AbortTxn { .. }
            | Command::CommitOnePhase { .. } => apply_txn::validate(&self.span, self.range, cmd),
        }
    }

    fn apply_entry(&mut self, entry: Entry) -> io::Result<CommandResponse> {
        let log_id = entry.log_id;
        let mut batch = WriteBatch::new();
        let (response, ts) = match entry.payload {
            EntryPayload::Blank => (CommandResponse::Applied { ts: None }, None),
            EntryPayload::Membership(m) => {
                self.membership = StoredMembership::new(Some(log_id), m);
                (CommandResponse::Applied { ts: None }, None)
            }
            EntryPayload::Normal(cmd) => match self.validate(&cmd) {
                Err(reason) => (CommandResponse::Rejected { reason }, None),
                Ok(()) => {
                    // The commit timestamp this replica applies the command
                    // at: the proposer's, raised above every timestamp this
                    // range has applied. A new leader's clock may not yet
                    // have seen the timestamps of entries its predecessor
                    // proposed (they sit in its log, not yet applied), and
                    // a write at a lower timestamp would hide under the
                    // older version instead of replacing it, losing an
                    // acknowledged write. The raise depends only on the
                    // log, so every replica applies the same timestamp.
                    let ts = cmd.ts().map(|t| t.max(self.max_ts + 1));
                    let mut response = CommandResponse::Applied { ts };
                    if let Some(refusal) = self.plain_conflict(&cmd)? {
                        return self.finish_entry(log_id, WriteBatch::new(), refusal, None, None);
                    }
                    if apply_txn::is_txn_command(&cmd) {
                        let applied_ts = ts.unwrap_or_else(|| self.local_ts());
                        let engine = Arc::clone(&self.engine);
                        let effect = blocking(|| apply_txn::apply(&engine, &cmd, applied_ts))?;
                        let response = effect.response.unwrap_or(CommandResponse::Applied { ts: None });
                        self.intents = self.intents.saturating_add_signed(effect.intents_delta);
                        return self.finish_entry(log_id, effect.batch, response, ts, effect.committed);
                    }
                    match &cmd {
                        Command::Noop => {}
                        Command::Write { ops, .. } => {
                            for op in ops {
                                match op {
                                    WriteOp::Put { key, value } => batch.put(key.clone(), value.clone()),
                                    WriteOp::Delete { key } => batch.delete(key.clone()),
                                };
                            }
                        }
                        Command::DeleteRange { start, end, .. } => {
                            batch.delete_range(start.clone(), end.clone());
                        }
                        Command::Split { split_key, new_range, .. } => {
                            self.apply_split(&mut batch, log_id.index, split_key, *new_range)?;
                        }
                        Command::ConditionalWrite { key, expected, ops, .. } => {
                            let engine = Arc::clone(&self.engine);
                            let k = key.clone();
                            // The newest value, not the engine's visible one:
                            // that lags behind this range's own previous
                            // write while another range's commit at a lower
                            // timestamp is in flight, and a stale `current`
                            // let two allocations of the meta range's id
                            // counter both succeed (two ranges got one id).
                            let current = blocking(move || crate::txn::read::newest(&engine, &k))?;
                            if current == *expected {
                                for op in ops {
                                    match op {
                                        WriteOp::Put { key, value } => batch.put(key.clone(), value.clone()),
                                        WriteOp::Delete { key } => batch.delete(key.clone()),
                                    };
                                }
                            } else {
                                response = CommandResponse::ConditionFailed { current };
                            }
                        }
                        _ => {}
                    }
                    (response, ts)
                }
            },
        };
        self.finish_entry(log_id, batch, response, ts, None)
    }

    /// Writes an entry's effects: `committed` (values at a transaction's
    /// commit timestamp) first, then `batch` with the applied state at the
    /// entry's timestamp `ts` (a local one for entries without).
    fn finish_entry(
        &mut self,
        log_id: LogId,
        mut batch: WriteBatch,
        response: CommandResponse,
        ts: Option<Timestamp>,
        committed: Option<(Timestamp, WriteBatch)>,
    ) -> io::Result<CommandResponse> {
        if let Some((commit_ts, values)) = committed {
            let engine = Arc::clone(&self.engine);
            blocking(move || engine.write_at(values, commit_ts)).map_err(core_err)?;
            self.max_ts = self.max_ts.max(commit_ts);
            self.clock.observe(commit_ts);
        }
        let write_ts = ts.unwrap_or_else(|| self.local_ts());
        self.record_applied(&mut batch, Some(log_id), write_ts)?;
        let engine = Arc::clone(&self.engine);
        blocking(move || engine.write_at(batch, write_ts)).map_err(core_err)?;
        if let Some(ts) = ts {
            self.max_ts = self.max_ts.max(ts);
            self.clock.observe(ts);
        }
        self.last_applied = Some(log_id);
        Ok(response)
    }

    /// Shrinks the span to the left of `split_key` and records, in `batch`,
    /// the new shape and the right half as a range hosted here.
    fn apply_split(
        &mut self,
        batch: &mut WriteBatch,
        index: u64,
        split_key: &bytes::Bytes,
        new_range: u64,
    ) -> io::Result<()> {
        let right = RangeSpan { start: split_key.clone(), end: self.span.end.clone() };
        let members: Vec<(u64, String)> = {
            let m = self.membership.membership();
            let voters: std::collections::BTreeSet<u64> = m.voter_ids().collect();
            m.nodes().filter(|(id, _)| voters.contains(id)).map(|(id, n)| (*id, n.addr.clone())).collect()
        };
        let shape = RangeShape {
            span: RangeSpan { start: self.span.start.clone(), end: Some(split_key.clone()) },
            generation: self.generation + 1,
            split: Some(SplitRecord { split_key: split_key.clone(), new_range, right_end: self.span.end.clone() }),
        };
        batch.put(shape::shape_key(self.range, index), codec::encode(&shape)?);
        batch.put(shape::hosted_key(new_range), codec::encode(&HostedRange { span: right, members })?);
        tracing::info!(range = self.range, new_range, ?split_key, "range split");
        self.span = shape.span;
        self.generation = shape.generation;
        // The right half's intents now belong to it.
        self.recount_intents()
    }

    /// Exports the span at the applied point and makes it the current snapshot.
    fn build(&mut self) -> io::Result<RangeSnapshot> {
        let meta = SnapshotMeta { last_log_id: self.last_applied, last_membership: self.membership.clone() };
        let path = self.store.new_path(&meta);
        // Every write of this range is complete (applies are synchronous),
        // and other ranges' in-flight commits are outside the span.
        let ts = self.engine.visible_ts().max(self.max_ts);
        let engine = Arc::clone(&self.engine);
        let bounds = self.span.bounds();
        let extra = txn_bounds(&self.span);
        let p = path.clone();
        blocking(move || -> io::Result<()> {
            engine.export_with(bounds, &extra, ts, &p).map_err(core_err)?;
            SnapshotStore::sync_file(&p)
        })?;
        self.store.set_current(&meta, &path)?;
        self.current = Some((meta.clone(), path.clone()));
        Ok(Snapshot { meta, snapshot: SnapshotFile { path } })
    }

    /// Steps (2)-(4) of an install (see the module documentation).
    fn install_into_engine(&mut self, meta: &SnapshotMeta, path: &Path) -> io::Result<()> {
        // A snapshot taken after splits this replica never applied covers a
        // narrower span: adopt it, so reconciling never touches the keys of
        // the right halves (other ranges' data in this engine).
        let narrowed = {
            let table = Table::open(path, 0, Arc::new(BlockCache::new(1 << 20))).map_err(core_err)?;
            exported_span(&table)?.filter(|s| *s != self.span && self.span.covers(&s.start, s.end_key()))
        };
        if let Some(s) = &narrowed {
            tracing::warn!(range = self.range, old = ?self.span, new = ?s, "a snapshot narrows the range (splits skipped)");
            self.span = s.clone();
            self.generation += 1;
        }
        let engine = Arc::clone(&self.engine);
        // The user span, then the range's intents and records.
        let spans: Vec<_> = std::iter::once(self.span.bounds()).chain(txn_bounds(&self.span)).collect();
        let path_owned = path.to_path_buf();
        let snapshot_max_ts = blocking(move || -> io::Result<Timestamp> {
            let table = Table::open(&path_owned, 0, Arc::new(BlockCache::new(1 << 20))).map_err(core_err)?;
            let mut tombstones: BTreeMap<Timestamp, WriteBatch> = BTreeMap::new();
            for bounds in spans {
                let mut incoming = table.iter(bounds.clone(), false).peekable();
                // Newest versions, not the visible ones (see `newest`): this
                // range's latest writes may sit above the visible timestamp.
                for local in engine.scan_versions(bounds, Timestamp::MAX) {
                    let local = local.map_err(core_err)?;
                    while let Some(Ok(s)) = incoming.peek() {
                        if s.key >= local.key {
                            break;
                        }
                        incoming.next();
                    }
                    let kept = match incoming.peek() {
                        Some(Ok(s)) => s.key == local.key && s.value.is_some(),
                        Some(Err(_)) => {
                            return Err(match incoming.next() {
                                Some(Err(e)) => core_err(e),
                                _ => io::Error::other("reading the snapshot failed"),
                            });
                        }
                        None => false,
                    };
                    if !kept {
                        tombstones.entry(local.ts.saturating_add(1)).or_default().delete(local.key);
                    }
                }
            }
            for (ts, batch) in tombstones {
                engine.write_at(batch, ts).map_err(core_err)?;
            }
            engine.ingest(&path_owned).map_err(core_err)?;
            Ok(table.properties().max_ts)
        })?;
        self.membership = meta.last_membership.clone();
        self.max_ts = self.max_ts.max(snapshot_max_ts);
        self.clock.observe(snapshot_max_ts);
        let mut batch = WriteBatch::new();
        let ts = self.local_ts().max(snapshot_max_ts);
        self.record_applied(&mut batch, meta.last_log_id, ts)?;
        if narrowed.is_some() {
            let shape = RangeShape { span: self.span.clone(), generation: self.generation, split: None };
            let index = meta.last_log_id.map_or(0, |l| l.index);
            batch.put(shape::shape_key(self.range, index), codec::encode(&shape)?);
        }
        let engine = Arc::clone(&self.engine);
        blocking(move || engine.write_at(batch, ts)).map_err(core_err)?;
        self.last_applied = meta.last_log_id;
        self.recount_intents()
    }
}

/// The span a snapshot file was exported from (its export section records
/// the engine bounds, `RangeSpan::bounds`), if it records one.
fn exported_span(table: &Table) -> io::Result<Option<RangeSpan>> {
    use alopex_core::coding::get_bytes;
    use std::ops::Bound;
    let Some(meta) = table.section(alopex_core::engine::EXPORT_SECTION).map_err(core_err)? else { return Ok(None) };
    let mut input: &[u8] = meta.as_ref();
    let bad = || io::Error::other("snapshot: malformed export section");
    let bound = |input: &mut &[u8]| -> io::Result<Bound<bytes::Bytes>> {
        let (&tag, rest) = input.split_first().ok_or_else(bad)?;
        *input = rest;
        match tag {
            0 => Ok(Bound::Unbounded),
            1 | 2 => {
                let k = bytes::Bytes::copy_from_slice(get_bytes(input).ok_or_else(bad)?);
                Ok(if tag == 1 { Bound::Included(k) } else { Bound::Excluded(k) })
            }
            _ => Err(bad()),
        }
    };
    if input.len() < 9 || input[0] != 1 {
        return Ok(None);
    }
    input = &input[9..];
    let (start, end) = (bound(&mut input)?, bound(&mut input)?);
    Ok(match (start, end) {
        (Bound::Included(s), Bound::Excluded(e)) => {
            let end = (e.as_ref() < span::RESERVED_START).then_some(e);
            Some(RangeSpan { start: s, end })
        }
        _ => None,
    })
}

/// Hands openraft a snapshot built when the builder was asked for.
pub struct RangeSnapshotBuilder {
    built: Option<io::Result<RangeSnapshot>>,
}

impl RaftSnapshotBuilder<RangeConfig> for RangeSnapshotBuilder {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> Result<RangeSnapshot, io::Error> {
        self.built.take().unwrap_or_else(|| Err(io::Error::other("snapshot builder used twice")))
    }
}

impl RaftStateMachine<RangeConfig> for RangeStateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = RangeSnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<RangeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let response = self.apply_entry(entry)?;
            if let Some(r) = responder {
                r.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        RangeSnapshotBuilder { built: Some(self.build()) }
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: SnapshotFile) -> Result<(), io::Error> {
        let began = std::time::Instant::now();
        let path = self.store.adopt(meta, &snapshot.path)?;
        self.store.set_current(meta, &path)?;
        self.current = Some((meta.clone(), path.clone()));
        self.install_into_engine(meta, &path)?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        tracing::debug!(range = self.range, bytes, took = ?began.elapsed(), index = ?meta.last_log_id.map(|l| l.index), "installed a snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<RangeSnapshot>, io::Error> {
        Ok(self
            .current
            .as_ref()
            .map(|(meta, path)| Snapshot { meta: meta.clone(), snapshot: SnapshotFile { path: path.clone() } }))
    }
}

#[cfg(test)]
#[path = "state_machine_txn_tests.rs"]
mod txn_tests;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use alopex_core::{Engine, HybridClock, Options, SystemClock};
    use bytes::Bytes;
    use openraft::EntryPayload;
    use openraft::testing::log_id;

    use super::*;
    use crate::raft::command::{Command, WriteOp};

    fn put(index: u64, ts: Timestamp, value: &'static str) -> Entry {
        Entry {
            log_id: log_id::<RangeConfig>(1, 1, index),
            payload: EntryPayload::Normal(Command::Write {
                ts,
                ops: vec![WriteOp::Put { key: Bytes::from_static(b"k"), value: Bytes::from_static(value.as_bytes()) }],
            }),
        }
    }

    /// A leader that took over before applying its predecessor's entries
    /// proposes with a clock that has not seen their timestamps. Applied in
    /// log order, its write must still replace the older one, not hide
    /// beneath it (an acknowledged write lost), and a conditional write
    /// after it must see it.
    #[test]
    fn a_later_entry_with_an_older_timestamp_still_wins() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::open(dir.path().join("engine"), Options::small_for_tests()).unwrap());
        let clock = Arc::new(HybridClock::new(SystemClock));
        let mut sm =
            RangeStateMachine::open(7, RangeSpan::all(), Arc::clone(&engine), clock, &dir.path().join("snap")).unwrap();
        let first = sm.apply_entry(put(1, 1_000_000, "old")).unwrap();
        assert_eq!(first, CommandResponse::Applied { ts: Some(1_000_000) });
        let second = sm.apply_entry(put(2, 999_000, "new")).unwrap();
        let CommandResponse::Applied { ts: Some(ts) } = second else { panic!("{second:?}") };
        assert!(ts > 1_000_000, "applied at {ts}");
        assert_eq!(engine.get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
        let cas = Entry {
            log_id: log_id::<RangeConfig>(1, 1, 3),
            payload: EntryPayload::Normal(Command::ConditionalWrite {
                ts: 999_001,
                key: Bytes::from_static(b"k"),
                expected: Some(Bytes::from_static(b"new")),
                ops: vec![WriteOp::Put { key: Bytes::from_static(b"k"), value: Bytes::from_static(b"cas") }],
            }),
        };
        assert!(matches!(sm.apply_entry(cas).unwrap(), CommandResponse::Applied { .. }));
        assert_eq!(engine.get(b"k").unwrap().as_deref(), Some(&b"cas"[..]));
        // Reopened, the state machine remembers how far its timestamps went.
        drop(sm);
        let clock = Arc::new(HybridClock::new(SystemClock));
        let mut sm =
            RangeStateMachine::open(7, RangeSpan::all(), Arc::clone(&engine), clock, &dir.path().join("snap")).unwrap();
        sm.apply_entry(put(4, 5, "after restart")).unwrap();
        assert_eq!(engine.get(b"k").unwrap().as_deref(), Some(&b"after restart"[..]));
    }
}
