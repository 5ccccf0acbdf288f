//! # `ClusterTxn`: the coordinator of one transaction
//!
//! A [`ClusterTxn`] is `alopex_core::KvTxn` over the cluster: it reads at
//! its read timestamp through the ranges' leaders, buffers its writes, and
//! commits them atomically across ranges (`docs/transactions.md`):
//!
//! - **reads** go to the leader of each key's range at `read_ts` with the
//!   uncertainty limit `read_ts + max_offset`; own writes are answered from
//!   the buffer and merged into scans. An intent of another transaction is
//!   settled by `conflict.rs` (push, or resolve and read again). A version
//!   in the uncertainty interval moves the read timestamp above it: at once
//!   if the transaction has not read anything yet, else after a read
//!   refresh (`refresh.rs`) shows that everything it read reads the same
//!   at the new timestamp; if something changed, [`Error::Conflict`] (the
//!   caller retries the transaction). `multi_get` reads its keys concurrently and counts as one
//!   read, so a transaction that starts with one `multi_get` never restarts
//!   for uncertainty. A key (or span) the transaction has read once is
//!   read again **without** an uncertainty interval: any version of it
//!   newer than the snapshot was laid as an intent after that first read
//!   (an intent met then was settled: pushed above the snapshot, or
//!   resolved and judged), so its transaction committed after this one
//!   began and is rightly invisible. That is what makes a repeated read
//!   return the same value while others commit, instead of a restart;
//! - **writes are buffered** until commit: nothing reaches a range before
//!   the outcome is being decided, so an open transaction holds no locks and
//!   an abandoned one leaves nothing behind, and a transaction whose writes
//!   fall in one range commits in one Raft round trip
//!   (`CommitOnePhase`, no record, no resolution);
//! - **commit across ranges**: the record's anchor is the first written key.
//!   A heartbeat task keeps the record alive from the moment intents are
//!   laid until the outcome is decided. Intents are laid in every range
//!   concurrently (`LayIntents`, split by the gateway), each range answering
//!   its `write_ts` pushed above the reads it served; the record is then
//!   committed (`CommitTxn`) at the highest of them, or higher if a reader
//!   pushed it; the intents are resolved in the background (the record
//!   keeps their keys, so a reader that meets one can finish the job).
//!   A refused intent (`WriteConflict`) is settled by wound-wait; a key
//!   written after the snapshot (`WriteTooOld`) is a serialization failure,
//!   [`Error::Conflict`]. On any failure after intents were laid, the record
//!   is aborted and the intents resolved away, in the background; if the
//!   record turns out committed (a commit whose answer was lost), they are
//!   resolved as committed instead.
//!
//! **Serializable** transactions keep what they read (`refresh.rs`) and,
//! when their commit timestamp ends above their read timestamp, read it
//! all again at the commit timestamp after laying their intents and before
//! committing the record; a change is a serialization failure
//! ([`Error::Conflict`]). They always commit in two phases (the refresh
//! needs the intents in place and the commit timestamp known).
//!
//! Every method blocks on the store's runtime handle: call it off the
//! runtime's worker threads (see `store.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use alopex_core::clock::physical_ms;
use alopex_core::{Error, IsolationLevel, KeyBounds, KvTxn, Result, Timestamp};

use super::conflict::{WriteSettle, record_command, resolve, settle_for_write, settle_many_for_read};
use super::meta::{TxnId, TxnMeta, TxnStatus};
use super::read::TxnRead;
use super::refresh::{ReadLog, refresh};
use super::serve::{end_of, start_of};
use super::store::{StoreShared, kv_err};
use crate::raft::command::Resolution;
use crate::raft::{Command, CommandResponse, WriteOp};
use crate::range::keys;
use crate::range::protocol::{TxnGetRequest, TxnScanRequest};

/// Reads of one call that may be retried after settling intents, before
/// the transaction gives up with a conflict.
const MAX_READ_ROUNDS: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Active,
    Done,
}

/// One transaction over the cluster. See the module documentation.
pub struct ClusterTxn {
    shared: Arc<StoreShared>,
    id: TxnId,
    read_ts: Timestamp,
    limit: Timestamp,
    /// Whether a read has returned anything to the caller (the read
    /// timestamp may not move any more).
    observed: bool,
    writes: BTreeMap<Bytes, Option<Bytes>>,
    state: State,
    /// Keys and spans read already: read again with no uncertainty.
    seen_keys: std::collections::BTreeSet<Bytes>,
    seen_spans: Vec<(Bytes, Bytes)>,
    /// Committed data read already, answered again from memory.
    cache: super::read_cache::ReadCache,
    /// The buffered writes as they were at each open savepoint (innermost
    /// last): writes live only in the buffer until commit, so rolling back
    /// to a savepoint restores the buffer. Costs a copy of the buffer per
    /// savepoint.
    savepoints: Vec<BTreeMap<Bytes, Option<Bytes>>>,
    /// What was read from the ranges (`refresh.rs`): refreshed at commit
    /// when serializable, and to move the snapshot past an uncertain value.
    reads: ReadLog,
    serializable: bool,
}

impl std::fmt::Debug for ClusterTxn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTxn")
            .field("id", &self.id)
            .field("read_ts", &self.read_ts)
            .field("writes", &self.writes.len())
            .finish_non_exhaustive()
    }
}

impl ClusterTxn {
    pub(crate) fn begin(shared: Arc<StoreShared>, isolation: IsolationLevel) -> ClusterTxn {
        let read_ts = shared.clock.now();
        let limit = shared.clock.uncertainty_limit(read_ts);
        ClusterTxn {
            shared,
            id: TxnId::random(),
            read_ts,
            limit,
            observed: false,
            writes: BTreeMap::new(),
            state: State::Active,
            seen_keys: Default::default(),
            seen_spans: Vec::new(),
            cache: Default::default(),
            savepoints: Vec::new(),
            reads: ReadLog::default(),
            serializable: isolation == IsolationLevel::Serializable,
        }
    }

    /// The transaction's id.
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// Fault injection for tests: lays this transaction's intents as a
    /// commit would and then stops, as a coordinator that crashes between
    /// laying its intents and committing its record: no heartbeat, no
    /// commit, no cleanup. Its record expires after the liveness period and
    /// the first reader or writer that meets an intent aborts and resolves
    /// it.
    pub fn crash_after_laying_intents(mut self) -> Result<()> {
        self.check_active()?;
        self.state = State::Done;
        let meta = self.meta();
        let ops = self.ops();
        let shared = Arc::clone(&self.shared);
        Arc::clone(&shared).block(async move {
            match lay_intents(&shared, &meta, &ops).await? {
                Ok(_) => Ok(()),
                Err((key, existing_ts)) => Err(too_old(&key, existing_ts)),
            }
        })
    }

    fn check_active(&self) -> Result<()> {
        match self.state {
            State::Active => Ok(()),
            State::Done => Err(Error::InvalidArgument("the transaction has already committed or rolled back".into())),
        }
    }

    fn meta(&self) -> TxnMeta {
        let anchor = self.writes.keys().next().cloned().unwrap_or_default();
        TxnMeta {
            id: self.id,
            anchor,
            read_ts: self.read_ts,
            write_ts: self.read_ts,
            liveness_ms: self.shared.opts.liveness.as_millis() as u64,
        }
    }

    fn ops(&self) -> Vec<WriteOp> {
        self.writes
            .iter()
            .map(|(k, v)| match v {
                Some(value) => WriteOp::Put { key: k.clone(), value: value.clone() },
                None => WriteOp::Delete { key: k.clone() },
            })
            .collect()
    }

    /// The uncertainty limit of a read of `key`.
    fn limit_for(&self, key: &Bytes) -> Timestamp {
        let seen = self.seen_keys.contains(key) || self.seen_spans.iter().any(|(s, e)| s <= key && key < e);
        if seen { self.read_ts } else { self.limit }
    }

    /// The uncertainty limit of a scan of `[start, end)`.
    fn limit_for_span(&self, start: &Bytes, end: &Bytes) -> Timestamp {
        if self.seen_spans.iter().any(|(s, e)| s <= start && end <= e) { self.read_ts } else { self.limit }
    }

    /// A version at `existing_ts` is in the uncertainty interval: move the
    /// read timestamp to it. If something was read already, only after a
    /// refresh shows it all reads the same there (else a conflict).
    async fn restart_read(&mut self, existing_ts: Timestamp) -> Result<()> {
        self.shared.observe(existing_ts);
        let new_ts = self.read_ts.max(existing_ts);
        if self.observed
            && !self.reads.is_empty()
            && !refresh(&self.shared, self.id, &self.reads, new_ts).await.map_err(kv_err)?
        {
            return Err(Error::Conflict(format!(
                "a value committed at {existing_ts}, within the clock uncertainty of this transaction's snapshot \
                 ({}), cannot be ordered against what it read already, which changed since; retry the transaction",
                self.read_ts
            )));
        }
        self.read_ts = new_ts;
        self.limit = self.limit.max(self.read_ts);
        Ok(())
    }

    /// Reads `keys` (none of them buffered) concurrently.
    async fn read_keys(&mut self, keys: &[Bytes]) -> Result<Vec<Option<Bytes>>> {
        let shared = Arc::clone(&self.shared);
        // Keys an earlier round of this call found clean (a value, no
        // intent, nothing uncertain): a version of one of them that
        // appears later belongs to an intent laid after that read, so it
        // is read again with no uncertainty (the rule for keys read by
        // earlier calls, in the module documentation). Without it, a
        // restart above one uncertain key met new versions of the others
        // for as long as the interval lasted.
        let mut clean = vec![false; keys.len()];
        for _ in 0..MAX_READ_ROUNDS {
            let reads = keys.iter().zip(&clean).map(|(k, clean)| {
                let limit = if *clean { self.read_ts } else { self.limit_for(k) };
                let req = TxnGetRequest { key: k.clone(), read_ts: self.read_ts, limit, reader: Some(self.id) };
                shared.kv().txn_get(req)
            });
            let answers = futures_util::future::join_all(reads).await;
            let mut values = Vec::with_capacity(keys.len());
            let mut uncertain = None;
            let mut met = Vec::new();
            for (i, (key, answer)) in keys.iter().zip(answers).enumerate() {
                match answer.map_err(kv_err)? {
                    TxnRead::Value(v) | TxnRead::Own(v) => {
                        clean[i] = true;
                        values.push(v)
                    }
                    TxnRead::Intent { txn, committed } => {
                        // The value below stands if the holder is pushed.
                        values.push(committed);
                        met.push((key.clone(), txn));
                    }
                    TxnRead::Uncertain { existing_ts } => uncertain = uncertain.max(Some(existing_ts)),
                }
            }
            if let Some(ts) = uncertain {
                self.restart_read(ts).await?;
                continue;
            }
            let read_ts = self.read_ts;
            let again = settle_many_for_read(&shared, &met, read_ts).await.map_err(kv_err)?;
            if !again {
                self.observed = true;
                self.seen_keys.extend(keys.iter().cloned());
                self.reads.keys.extend(keys.iter().cloned().zip(values.iter().cloned()));
                return Ok(values);
            }
        }
        Err(Error::Conflict("reads kept meeting new intents; retry the transaction".into()))
    }

    /// Up to `want` committed rows of `[start, end)` at the read timestamp,
    /// across ranges, intents settled; with `filter`, only the rows it
    /// matches (evaluated by the ranges' leaders, `want` counting matches).
    /// Also answers how far the scan got: every key below it was examined.
    async fn scan_cluster(
        &mut self,
        start: &Bytes,
        end: &Bytes,
        want: usize,
        filter: Option<&alopex_core::ScanFilter>,
    ) -> Result<(Vec<(Bytes, Bytes)>, Bytes)> {
        let shared = Arc::clone(&self.shared);
        let page = shared.opts.scan_page.max(1);
        let wire = filter.map(crate::range::protocol::PushedFilter::from);
        // Requests, and requests that made no progress (intents resolved,
        // read again). A filtered scan is bounded by the latter only: a
        // sparse filter legitimately takes many requests (each examines at
        // most `serve::MAX_SCANNED_PER_REQUEST` rows).
        let (mut rounds, mut retries) = (0, 0);
        'restart: loop {
            let mut rows = Vec::new();
            let mut cursor = start.clone();
            while rows.len() < want && cursor < *end {
                rounds += 1;
                if (rounds > MAX_READ_ROUNDS * 16 && wire.is_none()) || retries > MAX_READ_ROUNDS * 16 {
                    return Err(Error::Conflict("a scan kept meeting new intents; retry the transaction".into()));
                }
                let req = TxnScanRequest {
                    start: cursor.clone(),
                    end: Some(end.clone()),
                    read_ts: self.read_ts,
                    limit: self.limit_for_span(&cursor, end),
                    reader: Some(self.id),
                    max_rows: u32::try_from((want - rows.len()).min(page)).unwrap_or(u32::MAX),
                    filter: wire.clone(),
                };
                let (scan, range_end) = shared.kv().txn_scan_range(req).await.map_err(kv_err)?;
                shared.count_rows(scan.rows.len());
                if let Some(ts) = scan.uncertain {
                    self.restart_read(ts).await?;
                    continue 'restart;
                }
                let read_ts = self.read_ts;
                let again = settle_many_for_read(&shared, &scan.intents, read_ts).await.map_err(kv_err)?;
                if again {
                    retries += 1;
                    continue;
                }
                rows.extend(scan.rows);
                cursor = next_cursor(scan.resume, range_end, &cursor, end);
            }
            self.observed = true;
            // What was covered: up to the cursor (everything, if done).
            let covered = if rows.len() < want { end.clone() } else { cursor.min(end.clone()) };
            if *start < covered {
                self.reads.spans.push((start.clone(), covered.clone(), filter.cloned(), rows.clone()));
                self.seen_spans.push((start.clone(), covered.clone()));
            }
            return Ok((rows, covered));
        }
    }

    async fn scan_async(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        let start = start_of(&range.0);
        let end = end_of(&range.1).min(Bytes::from_static(keys::USER_END));
        if start >= end {
            return Ok(Vec::new());
        }
        let own: Vec<(Bytes, Option<Bytes>)> =
            self.writes.range(start.clone()..end.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let deletes = own.iter().filter(|(_, v)| v.is_none()).count();
        // Forward with a limit: the first `limit` rows after own deletes
        // lie within the first `limit + deletes` committed ones. Reverse
        // scans read the whole span (ranges scan forward only).
        let want = if limit == 0 || reverse { usize::MAX } else { limit.saturating_add(deletes) };
        let committed = match self.cache.scan(self.read_ts, &start, &end, want, None) {
            Some((rows, _)) => rows,
            None => {
                let (rows, covered) = self.scan_cluster(&start, &end, want, None).await?;
                self.cache.put_scan(self.read_ts, (start.clone(), end.clone(), want, None), &rows, covered);
                rows
            }
        };
        let mut merged: BTreeMap<Bytes, Bytes> = committed.into_iter().collect();
        for (k, v) in own {
            match v {
                Some(v) => merged.insert(k, v),
                None => merged.remove(&k),
            };
        }
        let take = if limit == 0 { usize::MAX } else { limit };
        Ok(if reverse {
            merged.into_iter().rev().take(take).collect()
        } else {
            merged.into_iter().take(take).collect()
        })
    }

    /// [`KvTxn::scan_filtered`] over the ranges: the leaders evaluate the
    /// filter on committed rows, the gateway on the transaction's own
    /// writes (an own put replaces the committed row, matching or not; an
    /// own delete hides it).
    async fn scan_filtered_async(
        &mut self,
        range: KeyBounds,
        reverse: bool,
        limit: usize,
        filter: &alopex_core::ScanFilter,
        predicate: &dyn alopex_core::RowPredicate,
    ) -> Result<alopex_core::FilteredPage> {
        let start = start_of(&range.0);
        let end = end_of(&range.1).min(Bytes::from_static(keys::USER_END));
        if start >= end {
            return Ok(alopex_core::FilteredPage::default());
        }
        let own: Vec<(Bytes, Option<Bytes>)> =
            self.writes.range(start.clone()..end.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
        // Each own write hides at most one committed match.
        let want = if limit == 0 || reverse { usize::MAX } else { limit.saturating_add(own.len()) };
        let key = (start.clone(), end.clone(), want, Some(filter.clone()));
        let cached = match self.cache.scan(self.read_ts, &start, &end, want, Some(filter)) {
            Some(hit) => Some(hit),
            // A complete unfiltered read of the span answers too, filtered here.
            None => match self.cache.scan(self.read_ts, &start, &end, usize::MAX, None) {
                Some((rows, covered)) => {
                    let mut kept = Vec::new();
                    for (k, v) in rows {
                        if predicate.matches(&k, &v)? {
                            kept.push((k, v));
                        }
                    }
                    Some((kept, covered))
                }
                None => None,
            },
        };
        let (committed, covered) = match cached {
            Some(hit) => hit,
            None => {
                let (rows, covered) = self.scan_cluster(&start, &end, want, Some(filter)).await?;
                self.cache.put_scan(self.read_ts, key, &rows, covered.clone());
                (rows, covered)
            }
        };
        let mut merged: BTreeMap<Bytes, Bytes> = committed.into_iter().collect();
        for (k, v) in own.into_iter().filter(|(k, _)| *k < covered) {
            match v {
                Some(v) if predicate.matches(&k, &v)? => merged.insert(k, v),
                _ => merged.remove(&k),
            };
        }
        let take = if limit == 0 { usize::MAX } else { limit };
        let truncated = merged.len() > take;
        let rows: Vec<(Bytes, Bytes)> = if reverse {
            merged.into_iter().rev().take(take).collect()
        } else {
            merged.into_iter().take(take).collect()
        };
        let resume = match rows.last() {
            Some((last, _)) if truncated => Some(alopex_core::kv::continue_after(&range, last, reverse)),
            _ if covered < end => Some((std::ops::Bound::Included(covered), range.1.clone())),
            _ => None,
        };
        Ok(alopex_core::FilteredPage { scanned: 0, rows, resume })
    }

    /// The vector search's fan-out (`vector.rs`) at the read timestamp,
    /// with the ranges' intents settled and uncertainty handled as a scan
    /// handles them: search again after resolving an intent, move the read
    /// timestamp above an uncertain version. A serializable transaction
    /// first reads the whole span as a scan (recorded for the refresh at
    /// commit: a search depends on every vector of the index).
    async fn vector_remote(
        &mut self,
        spec: &alopex_core::VectorIndexSpec,
        query: &[f32],
        want: usize,
        ef_search: usize,
    ) -> Result<super::vector::Merged> {
        let start = spec.start.clone();
        let end = spec.end.clone().min(Bytes::from_static(keys::USER_END));
        if start >= end {
            return Ok(super::vector::Merged { exhausted: true, ..Default::default() });
        }
        if self.serializable {
            self.scan_cluster(&start, &end, usize::MAX, None).await?;
        }
        let mut wire = Vec::new();
        spec.encode_to(&mut wire);
        let wire = Bytes::from(wire);
        let shared = Arc::clone(&self.shared);
        for _ in 0..MAX_READ_ROUNDS {
            let f = super::vector::FanOut {
                spec: wire.clone(),
                start: start.clone(),
                end: end.clone(),
                query,
                want,
                ef_search,
                read_ts: self.read_ts,
                limit: self.limit,
                reader: self.id,
            };
            let merged = super::vector::fan_out(&shared, &f).await.map_err(kv_err)?;
            if let Some(ts) = merged.uncertain {
                self.restart_read(ts).await?;
                continue;
            }
            let read_ts = self.read_ts;
            let again = settle_many_for_read(&shared, &merged.intents, read_ts).await.map_err(kv_err)?;
            if !again {
                self.observed = true;
                return Ok(merged);
            }
        }
        Err(Error::Conflict("a vector search kept meeting new intents; retry the transaction".into()))
    }

    async fn commit_async(&mut self) -> Result<Timestamp> {
        if self.writes.is_empty() {
            return Ok(self.read_ts);
        }
        loop {
            match self.try_commit().await? {
                Ok(ts) => {
                    self.shared.commit_wait(ts).await;
                    self.shared.observe(ts);
                    return Ok(ts);
                }
                // A key was written after the snapshot, but the transaction
                // read nothing: it is as if it began later. Move the read
                // timestamp above the write and commit again (its intents
                // already laid are laid again with the new timestamps).
                Err(existing_ts) => {
                    self.shared.observe(existing_ts);
                    self.read_ts = self.read_ts.max(existing_ts);
                    self.limit = self.limit.max(self.read_ts);
                }
            }
        }
    }

    /// One attempt to commit; `Ok(Err(ts))`: a key was written at `ts`,
    /// after the snapshot, and the transaction read nothing (retry above
    /// it); a transaction that read something answers a conflict instead.
    async fn try_commit(&mut self) -> Result<std::result::Result<Timestamp, Timestamp>> {
        let retry_too_old = !self.observed;
        let shared = Arc::clone(&self.shared);
        let meta = self.meta();
        let ops = self.ops();
        let groups = shared.kv().txn_group(self.writes.keys().cloned()).await.map_err(kv_err)?;
        // Serializable needs a refresh between laying the intents and
        // committing, which the one-phase path has no room for.
        // Whether a one-phase commit was sent: if its answer was lost and a
        // split sends the retry down the two-phase path, that path meets
        // the transaction's own versions and must recognize them.
        let mut one_phase_sent = false;
        // A one-phase commit is one Raft entry: a larger transaction is cut
        // into pieces, in two phases.
        if groups.len() == 1 && !self.serializable && crate::range::client::fits_one_piece(&ops) {
            loop {
                let cmd = Command::CommitOnePhase { ts: shared.clock.now(), txn: meta.clone(), ops: ops.clone() };
                one_phase_sent = true;
                match shared.kv().txn_send(meta.anchor.clone(), &cmd).await.map_err(kv_err)? {
                    Some(CommandResponse::Applied { ts: Some(ts) }) => {
                        shared.observe(ts);
                        return Ok(Ok(ts));
                    }
                    Some(CommandResponse::WriteConflict { key, txn }) => {
                        write_settled(settle_for_write(&shared, &key, &txn, &meta).await)?;
                    }
                    Some(CommandResponse::WriteTooOld { key, existing_ts }) => {
                        shared.observe(existing_ts);
                        if retry_too_old {
                            return Ok(Err(existing_ts));
                        }
                        return Err(too_old(&key, existing_ts));
                    }
                    Some(other) => {
                        return Err(Error::Io(std::io::Error::other(format!("one-phase commit: {other:?}"))));
                    }
                    None => break, // a split moved some keys: commit in two phases
                }
            }
        }
        let reads = self.serializable.then_some(&self.reads);
        two_phase(&shared, meta, ops, retry_too_old, reads, one_phase_sent).await
    }
}

fn too_old(key: &Bytes, existing_ts: Timestamp) -> Error {
    Error::Conflict(format!(
        "key {key:?} was written at {existing_ts}, after this transaction's snapshot (serialization failure); \
         retry the transaction"
    ))
}

fn write_settled(r: std::result::Result<(), WriteSettle>) -> Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(WriteSettle::Lose(m)) => Err(Error::Conflict(m)),
        Err(WriteSettle::Kv(e)) => Err(kv_err(e)),
    }
}

/// Lays `meta`'s intents for `ops` in every range, settling conflicts;
/// answers the highest `write_ts` the ranges answered, or the key and
/// timestamp of a write newer than the snapshot (`WriteTooOld`).
async fn lay_intents(
    shared: &StoreShared,
    meta: &TxnMeta,
    ops: &[WriteOp],
) -> Result<std::result::Result<Timestamp, (Bytes, Timestamp)>> {
    'lay: loop {
        let cmd = Command::LayIntents { ts: shared.clock.now(), txn: meta.clone(), ops: ops.to_vec() };
        let mut write_ts = meta.write_ts;
        for answer in shared.kv().txn_command(cmd).await.map_err(kv_err)? {
            match answer {
                CommandResponse::Applied { ts } => write_ts = write_ts.max(ts.unwrap_or(0)),
                CommandResponse::WriteConflict { key, txn } => {
                    write_settled(settle_for_write(shared, &key, &txn, meta).await)?;
                    // Laying is idempotent for our own intents: lay all again.
                    continue 'lay;
                }
                CommandResponse::WriteTooOld { key, existing_ts } => {
                    shared.observe(existing_ts);
                    return Ok(Err((key, existing_ts)));
                }
                other => return Err(Error::Io(std::io::Error::other(format!("laying intents: {other:?}")))),
            }
        }
        shared.observe(write_ts);
        return Ok(Ok(write_ts));
    }
}

/// The intent keys a committed record lists: all of them while they fit in
/// one piece of a transaction command, none beyond. The record is one Raft
/// entry in the anchor's range: a 1,000,000-row `COPY` made it 20 MB, and
/// the commit never got through. Nothing depends on the list (readers
/// resolve the intents they meet from the record's status, and the
/// coordinator resolves all of them), so a large transaction's record
/// leaves it out until intent spans are recorded instead.
fn record_intents(keys: &[Bytes]) -> Vec<Bytes> {
    let bytes: usize = keys.iter().map(Bytes::len).sum();
    if keys.len() <= crate::range::client::PIECE_KEYS && bytes <= crate::range::client::PIECE_BYTES / 4 {
        keys.to_vec()
    } else {
        Vec::new()
    }
}

/// The two-phase commit: intents, record, resolution. With
/// `retry_too_old`, a key written after the snapshot answers `Ok(Err(ts))`
/// and leaves the intents laid so far in place (the caller lays them again
/// with a later snapshot).
async fn two_phase(
    shared: &Arc<StoreShared>,
    mut meta: TxnMeta,
    ops: Vec<WriteOp>,
    retry_too_old: bool,
    reads: Option<&ReadLog>,
    one_phase_sent: bool,
) -> Result<std::result::Result<Timestamp, Timestamp>> {
    let keys: Vec<Bytes> = ops.iter().map(|o| o.key().clone()).collect();
    let heartbeat = Heartbeat::start(shared, &meta).await;
    let mut retry_at = None;
    let outcome = async {
        let laid = lay_intents(shared, &meta, &ops).await?;
        if one_phase_sent && laid.is_err() {
            // A newer version: maybe our own, from a one-phase commit
            // whose answer was lost before a split moved some keys. Its
            // record says so (`raft/apply_txn.rs`).
            let query = Command::PushTxn { ts: shared.clock.now(), txn: meta.clone(), push_to: 0 };
            if let TxnStatus::Committed { commit_ts } = record_command(shared, query).await.map_err(kv_err)?.status {
                return Ok(commit_ts);
            }
        }
        let mut commit_ts = match laid {
            Ok(ts) => ts,
            Err((_, existing_ts)) if retry_too_old => {
                retry_at = Some(existing_ts);
                return Ok(0);
            }
            Err((key, existing_ts)) => return Err(too_old(&key, existing_ts)),
        };
        loop {
            if let Some(log) = reads
                && commit_ts > meta.read_ts
                && !log.is_empty()
                && !refresh(shared, meta.id, log, commit_ts).await.map_err(kv_err)?
            {
                return Err(Error::Conflict(format!(
                    "serialization failure: a value this transaction read changed between its snapshot ({}) and \
                     its commit timestamp ({commit_ts}); retry the transaction",
                    meta.read_ts
                )));
            }
            meta.write_ts = commit_ts;
            let cmd = Command::CommitTxn {
                ts: shared.clock.now(),
                txn: meta.clone(),
                commit_ts,
                intents: record_intents(&keys),
            };
            let record = record_command(shared, cmd).await.map_err(kv_err)?;
            match record.status {
                TxnStatus::Committed { commit_ts } => return Ok(commit_ts),
                TxnStatus::Aborted => {
                    return Err(Error::Conflict(
                        "the transaction was aborted by a concurrent one (wounded, or its record expired); retry it"
                            .into(),
                    ));
                }
                TxnStatus::Pending if record.min_commit_ts > commit_ts => {
                    // A reader pushed it: commit above that reader.
                    commit_ts = record.min_commit_ts;
                    shared.observe(commit_ts);
                }
                TxnStatus::Pending => {
                    return Err(Error::Io(std::io::Error::other("the transaction record refused the commit")));
                }
            }
        }
    }
    .await;
    heartbeat.stop();
    if let Some(existing_ts) = retry_at {
        return Ok(Err(existing_ts));
    }
    let finisher = Arc::clone(shared);
    match outcome {
        Ok(commit_ts) => {
            shared.observe(commit_ts);
            shared.handle.spawn(async move {
                let resolution = Resolution::Commit { commit_ts };
                if let Err(e) = resolve(&finisher, &meta, keys, resolution).await {
                    tracing::debug!(txn = %meta.id, error = %e, "resolving committed intents (readers will finish)");
                }
            });
            Ok(Ok(commit_ts))
        }
        Err(e) => {
            shared.handle.spawn(async move { finish_failed(&finisher, meta, keys).await });
            Err(e)
        }
    }
}

/// After a failed commit: aborts the record (unless it committed after all)
/// and resolves the intents as it says.
async fn finish_failed(shared: &StoreShared, meta: TxnMeta, keys: Vec<Bytes>) {
    let abort = Command::AbortTxn { ts: shared.clock.now(), txn: meta.clone(), if_expired: false };
    let resolution = match record_command(shared, abort).await {
        Ok(r) => match r.status {
            TxnStatus::Committed { commit_ts } => Resolution::Commit { commit_ts },
            TxnStatus::Aborted => Resolution::Abort,
            TxnStatus::Pending => return,
        },
        Err(e) => {
            tracing::debug!(txn = %meta.id, error = %e, "aborting a failed transaction (its record will expire)");
            return;
        }
    };
    if let Err(e) = resolve(shared, &meta, keys, resolution).await {
        tracing::debug!(txn = %meta.id, error = %e, "resolving a failed transaction's intents");
    }
}

/// The task that heartbeats a record while its intents are out.
struct Heartbeat {
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    /// Heartbeats once at once if the implicit record (heartbeat at the read
    /// timestamp) is past half its liveness, then every third of it.
    async fn start(shared: &Arc<StoreShared>, meta: &TxnMeta) -> Heartbeat {
        let beat =
            |shared: &StoreShared, meta: &TxnMeta| Command::HeartbeatTxn { ts: shared.clock.now(), txn: meta.clone() };
        let age_ms = physical_ms(shared.clock.now()).saturating_sub(physical_ms(meta.read_ts));
        if age_ms > meta.liveness_ms / 2
            && let Err(e) = record_command(shared, beat(shared, meta)).await
        {
            tracing::debug!(txn = %meta.id, error = %e, "first heartbeat failed");
        }
        let every = Duration::from_millis((meta.liveness_ms / 3).max(1));
        let shared = Arc::clone(shared);
        let meta = meta.clone();
        let task = shared.handle.clone().spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match record_command(&shared, beat(&shared, &meta)).await {
                    Ok(r) if r.status.is_final() => return,
                    Ok(_) => {}
                    Err(e) => tracing::debug!(txn = %meta.id, error = %e, "heartbeat failed"),
                }
            }
        });
        Heartbeat { task }
    }

    fn stop(self) {
        self.task.abort();
    }
}

impl KvTxn for ClusterTxn {
    fn read_ts(&self) -> Timestamp {
        self.read_ts
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check_active()?;
        if let Some(v) = self.writes.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.cache.get(self.read_ts, key) {
            return Ok(v);
        }
        let keys = [Bytes::copy_from_slice(key)];
        let blocker = Arc::clone(&self.shared);
        let value = blocker.block(self.read_keys(&keys))?.pop().flatten();
        let [key] = keys;
        self.cache.put(self.read_ts, key, value.clone());
        Ok(value)
    }

    fn multi_get(&mut self, keys: &[Bytes]) -> Result<Vec<Option<Bytes>>> {
        self.check_active()?;
        let read_ts = self.read_ts;
        let mut known: Vec<Option<Option<Bytes>>> = keys
            .iter()
            .map(|k| match self.writes.get(k) {
                Some(v) => Some(v.clone()),
                None => self.cache.get(read_ts, k),
            })
            .collect();
        let remote: Vec<Bytes> =
            keys.iter().zip(&known).filter(|(_, known)| known.is_none()).map(|(k, _)| k.clone()).collect();
        if !remote.is_empty() {
            let blocker = Arc::clone(&self.shared);
            let read = blocker.block(self.read_keys(&remote))?;
            let read_ts = self.read_ts;
            let mut read = remote.into_iter().zip(read);
            for slot in known.iter_mut().filter(|slot| slot.is_none()) {
                if let Some((key, value)) = read.next() {
                    self.cache.put(read_ts, key, value.clone());
                    *slot = Some(value);
                }
            }
        }
        Ok(known.into_iter().map(Option::flatten).collect())
    }

    fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        self.check_active()?;
        let blocker = Arc::clone(&self.shared);
        blocker.block(self.scan_async(range, reverse, limit))
    }

    fn pushes_filters(&self) -> bool {
        true
    }

    fn scan_filtered(
        &mut self,
        range: KeyBounds,
        reverse: bool,
        limit: usize,
        filter: &alopex_core::ScanFilter,
    ) -> Result<alopex_core::FilteredPage> {
        self.check_active()?;
        let predicate = alopex_core::scan_filter::compile(filter)?;
        let blocker = Arc::clone(&self.shared);
        blocker.block(self.scan_filtered_async(range, reverse, limit, filter, &*predicate))
    }

    fn put(&mut self, key: Bytes, value: Bytes) -> Result<()> {
        self.check_active()?;
        check_user_key(&key)?;
        self.writes.insert(key, Some(value));
        Ok(())
    }

    fn delete(&mut self, key: Bytes) -> Result<()> {
        self.check_active()?;
        check_user_key(&key)?;
        self.writes.insert(key, None);
        Ok(())
    }

    fn savepoint(&mut self) -> Result<alopex_core::Savepoint> {
        self.check_active()?;
        self.savepoints.push(self.writes.clone());
        Ok(alopex_core::Savepoint::from_raw(self.savepoints.len() as u64 - 1))
    }

    fn rollback_to_savepoint(&mut self, sp: alopex_core::Savepoint) -> Result<()> {
        self.check_active()?;
        let i = usize::try_from(sp.raw()).unwrap_or(usize::MAX);
        let Some(saved) = self.savepoints.get(i) else {
            return Err(Error::InvalidArgument("no such savepoint".into()));
        };
        self.writes = saved.clone();
        self.savepoints.truncate(i + 1);
        Ok(())
    }

    fn release_savepoint(&mut self, sp: alopex_core::Savepoint) -> Result<()> {
        self.check_active()?;
        let i = usize::try_from(sp.raw()).unwrap_or(usize::MAX);
        if i >= self.savepoints.len() {
            return Err(Error::InvalidArgument("no such savepoint".into()));
        }
        self.savepoints.truncate(i);
        Ok(())
    }

    fn delete_range(&mut self, range: KeyBounds) -> Result<()> {
        for (key, _) in self.scan(range, false, 0)? {
            self.writes.insert(key, None);
        }
        Ok(())
    }

    /// Fans the search out to the leaders of the index's ranges and merges
    /// (`vector.rs`); own writes applied, the filter applied here over a
    /// larger candidate list, with the exact scan as its fallback.
    fn vector_search(
        &mut self,
        spec: &alopex_core::VectorIndexSpec,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<alopex_core::vector::KeyFilter<'_>>,
    ) -> Result<Vec<alopex_core::VectorHit>> {
        self.check_active()?;
        spec.validate()?;
        alopex_core::vector::distance::check_query(query, spec.dim)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        let own: BTreeMap<Bytes, Option<Bytes>> =
            self.writes.range(spec.start.clone()..spec.end.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let oversampling = if filter.is_some() { super::vector::FILTER_OVERSAMPLING } else { 1 };
        let want = k.saturating_mul(oversampling).saturating_add(own.len());
        let blocker = Arc::clone(&self.shared);
        let merged = blocker.block(self.vector_remote(spec, query, want, ef_search))?;
        let exhausted = merged.exhausted;
        let hits = super::vector::merge_own(merged.hits, &own, spec, query);
        let Some(filter) = filter else {
            return Ok(hits.into_iter().take(k).collect());
        };
        let kept = super::vector::filter_hits(self, hits, k, filter)?;
        if kept.len() >= k || exhausted {
            return Ok(kept);
        }
        super::vector::exact_search_txn(self, spec, query, k, Some(filter))
    }

    fn commit(&mut self) -> Result<Timestamp> {
        self.check_active()?;
        self.state = State::Done;
        let blocker = Arc::clone(&self.shared);
        blocker.block(self.commit_async())
    }

    fn rollback(&mut self) -> Result<()> {
        // Nothing reached a range: writes are buffered until commit.
        self.state = State::Done;
        self.writes.clear();
        Ok(())
    }
}

fn check_user_key(key: &[u8]) -> Result<()> {
    if keys::is_user_key(key) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("key {key:?} is reserved (user keys sort below FF FF FE)")))
    }
}

/// Where a span scan continues after one range's answer: where the range
/// said to resume, else at the range's end if it is past the cursor and
/// still a user key, else at the span's end (done).
pub(super) fn next_cursor(resume: Option<Bytes>, range_end: Option<Bytes>, cursor: &Bytes, end: &Bytes) -> Bytes {
    match (resume, range_end) {
        (Some(resume), _) => resume,
        (None, Some(e)) if e > *cursor && keys::is_user_key(&e) => e,
        _ => end.clone(),
    }
}
