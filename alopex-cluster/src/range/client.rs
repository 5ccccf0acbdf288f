//! # `ClusterKv`: the gateway every node offers
//!
//! Any node can take a KV request. The gateway finds the range of the key
//! in its [`DescriptorCache`] (reading the meta range on a miss), sends the
//! request to the range's leader over the RPC seam, and follows the
//! answers it gets back:
//!
//! - **not leader (hint)**: remember the hint and retry there at once (or,
//!   without a hint, try the next replica after a backoff);
//! - **key not in range**: a split moved the key; drop the cached
//!   descriptor, read the meta range again and retry after a backoff (the
//!   meta range may lag the split for a moment; see `splitter.rs`);
//! - **unreachable / range not here / unavailable**: try the next replica
//!   after a backoff. A node that gave no answer is skipped for two attempt
//!   timeouts, even when a hint names it: long enough for the election that
//!   replaces a killed leader, short enough that a leader which was only
//!   slow is tried again while the others keep naming it.
//!
//! The cached descriptor itself can be stale in its **replicas**, not only
//! its leader: placement adds and removes replicas, and a node that left the
//! group answers "not leader" with no hint (or a hint to another former
//! member) for ever. So once a request has missed on as many attempts as
//! the descriptor has replicas, plus one, the gateway drops the descriptor
//! and reads the meta range again (which the placement loop keeps in step
//! with the groups' memberships), and hints are followed at once only a
//! few times in a row before the gateway backs off, so two nodes that name
//! each other cannot spin it until the deadline.
//!
//! Backoff doubles from `backoff_min` to `backoff_max`; the whole request
//! is bounded by `deadline`, after which the last error is returned. Writes
//! that time out are **ambiguous** (they may still commit), as with any
//! replicated store; puts and deletes are idempotent, and a conditional put
//! can be checked by reading the key. A conditional put whose earlier
//! attempt got no answer is retried too, but if the retry finds the
//! condition false the gateway reports the outcome as unknown (deadline
//! exceeded) rather than "not applied": the first attempt may be what made
//! the condition false.
//!
//! The meta range is addressed like any range, with a descriptor built
//! from the configured meta replicas; its lookups are linearizable scans
//! of one descriptor key (see `keys.rs`).
//!
//! **Scans** walk the ranges in key order: each range returns its part of
//! `[start, end)` and its own end key, and the gateway continues from there
//! until it has `limit` pairs or reaches `end`. Each range's part is read
//! linearizably; a scan over several ranges is not one atomic snapshot.
//!
//! **Transactions** (`crate::txn`) reach the ranges through the `txn_*`
//! methods: a read at a transaction's timestamp, a scan of one range's part
//! of a span, and transaction commands. A command that writes keys of
//! several ranges (`LayIntents`, `ResolveIntents`) is split by range and the
//! pieces are sent concurrently; a piece whose keys a split moved away is
//! answered "keys moved", and the gateway splits it again against fresh
//! descriptors, until the deadline.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Serialize;
// tokio's clock, not std's: the same in production, and virtual in the
// simulation, where deadlines must pass with the simulated time.
use tokio::time::Instant;

use super::cache::DescriptorCache;
use super::descriptor::RangeDescriptor;
use super::keys::{self, META_RANGE};
use super::protocol::{
    ConditionalRequest, GetRequest, KvReply, ScanRequest, TxnCommandRequest, TxnGetRequest, TxnScanRequest,
    WriteRequest, method,
};
use crate::ids::NodeId;
use crate::raft::{Command, CommandResponse, WriteOp, codec};
use crate::rpc::{RpcClient, RpcError};
use crate::txn::{TxnRead, TxnScan};

/// Why a KV request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The key is not a user key (it lies in the reserved spans), or the
    /// request is malformed.
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    /// The deadline passed before a leader answered.
    #[error("no answer before the deadline: {0}")]
    DeadlineExceeded(String),
    /// The range refused the request for good.
    #[error("request failed: {0}")]
    Failed(String),
}

/// Timeouts and backoff of a gateway.
#[derive(Clone, Debug)]
pub struct ClusterKvOptions {
    /// The longest a request may take, retries included.
    pub deadline: Duration,
    /// The first backoff.
    pub backoff_min: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// How long one attempt of a point request (get, put, delete,
    /// conditional put) waits for its node before trying the next replica.
    /// A killed leader never answers and QUIC notices only at its idle
    /// timeout, so without this bound failover would take the transport's
    /// whole call timeout. Scans, whose answers can be large, wait for the
    /// transport's call timeout instead.
    pub attempt_timeout: Duration,
}

impl Default for ClusterKvOptions {
    fn default() -> Self {
        ClusterKvOptions {
            deadline: Duration::from_secs(10),
            backoff_min: Duration::from_millis(5),
            backoff_max: Duration::from_millis(200),
            attempt_timeout: Duration::from_millis(1000),
        }
    }
}

/// The outcome of a conditional put.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionalOutcome {
    /// Whether the write applied.
    pub applied: bool,
    /// When it did not, the key's current value.
    pub current: Option<Bytes>,
}

/// A KV client over the whole cluster. See the module documentation.
pub struct ClusterKv {
    rpc: Arc<dyn RpcClient>,
    meta: parking_lot::Mutex<RangeDescriptor>,
    cache: DescriptorCache,
    opts: ClusterKvOptions,
}

impl std::fmt::Debug for ClusterKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterKv").field("meta", &*self.meta.lock()).finish_non_exhaustive()
    }
}

enum Target {
    Meta,
    Key(Bytes),
}

impl ClusterKv {
    /// A gateway sending through `rpc`; `meta_replicas` hold the meta range.
    pub fn new(rpc: Arc<dyn RpcClient>, meta_replicas: Vec<NodeId>, opts: ClusterKvOptions) -> Self {
        let meta = RangeDescriptor {
            range: META_RANGE,
            span: keys::meta_span(),
            replicas: meta_replicas,
            generation: 1,
            leader_hint: None,
        };
        ClusterKv { rpc, meta: parking_lot::Mutex::new(meta), cache: DescriptorCache::new(), opts }
    }

    /// Where the gateway looks for the meta range: the nodes tried in turn
    /// (a node without a replica answers "range not here", a follower
    /// names the leader). A running node keeps this set to the live
    /// members it knows, so the meta range is found wherever placement
    /// moved it. The known leader is kept.
    pub fn set_meta_replicas(&self, replicas: Vec<NodeId>) {
        let mut meta = self.meta.lock();
        if meta.replicas != replicas {
            meta.replicas = replicas;
        }
    }

    /// The nodes the gateway tries for the meta range, and the leader it
    /// last found.
    pub fn meta_replicas(&self) -> (Vec<NodeId>, Option<NodeId>) {
        let meta = self.meta.lock();
        (meta.replicas.clone(), meta.leader_hint)
    }

    /// The gateway's descriptor cache.
    pub fn cache(&self) -> &DescriptorCache {
        &self.cache
    }

    /// The latest value of `key`, read linearizably.
    pub async fn get(&self, key: impl Into<Bytes>) -> Result<Option<Bytes>, KvError> {
        let key = user_key(key.into())?;
        match self.call(Target::Key(key.clone()), method::KV_GET, &GetRequest { key }).await? {
            KvReply::Value(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    /// Sets `key` to `value`; returns the commit timestamp.
    pub async fn put(&self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<u64, KvError> {
        let key = user_key(key.into())?;
        self.write(key.clone(), vec![WriteOp::Put { key, value: value.into() }]).await
    }

    /// Deletes `key`; returns the commit timestamp.
    pub async fn delete(&self, key: impl Into<Bytes>) -> Result<u64, KvError> {
        let key = user_key(key.into())?;
        self.write(key.clone(), vec![WriteOp::Delete { key }]).await
    }

    /// Sets `key` to `value` (deletes it when `None`) only if its current
    /// value is `expected` (`None`: absent).
    pub async fn conditional_put(
        &self,
        key: impl Into<Bytes>,
        expected: Option<Bytes>,
        value: Option<Bytes>,
    ) -> Result<ConditionalOutcome, KvError> {
        let key = user_key(key.into())?;
        let op = match value {
            Some(value) => WriteOp::Put { key: key.clone(), value },
            None => WriteOp::Delete { key: key.clone() },
        };
        self.conditional(Target::Key(key.clone()), key, expected, vec![op]).await
    }

    /// Up to `limit` pairs of `[start, end)` (`end: None`: every user key
    /// from `start`), in key order, across range boundaries.
    pub async fn scan(
        &self,
        start: impl Into<Bytes>,
        end: Option<Bytes>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>, KvError> {
        let mut cursor = user_key(start.into())?;
        let end = end.filter(|e| keys::is_user_key(e));
        let mut out = Vec::new();
        while out.len() < limit && end.as_ref().is_none_or(|e| cursor < *e) {
            let want = u32::try_from(limit - out.len()).unwrap_or(u32::MAX);
            let req = ScanRequest { start: cursor.clone(), end: end.clone(), limit: want };
            match self.call(Target::Key(cursor.clone()), method::KV_SCAN, &req).await? {
                KvReply::Rows { rows, range_end } => {
                    out.extend(rows);
                    match range_end {
                        Some(e) if keys::is_user_key(&e) && e > cursor => cursor = e,
                        _ => break,
                    }
                }
                other => return Err(unexpected(other)),
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The descriptor of the range holding `key`, read from the meta range
    /// (bypassing and refreshing the cache).
    pub async fn lookup(&self, key: &[u8]) -> Result<RangeDescriptor, KvError> {
        self.lookup_until(key, Instant::now() + self.opts.deadline).await
    }

    /// [`Self::lookup`] within the deadline of the request that needs it:
    /// a lookup inside a request must not restart the clock (nested, every
    /// attempt of a request through a minority could spend a whole
    /// deadline in its lookup: the simulation saw puts take 25 deadlines).
    async fn lookup_until(&self, key: &[u8], deadline: Instant) -> Result<RangeDescriptor, KvError> {
        let req = ScanRequest {
            start: keys::lookup_start(key),
            end: Some(Bytes::from_static(keys::META_PREFIX_END)),
            limit: 1,
        };
        match self.call_until(Target::Meta, method::KV_SCAN, &req, deadline).await? {
            KvReply::Rows { rows, .. } => {
                let (_, v) = rows.into_iter().next().ok_or_else(|| {
                    KvError::Failed(format!("the meta range has no descriptor for key {key:?} (not bootstrapped?)"))
                })?;
                let desc: RangeDescriptor =
                    codec::decode(&v).map_err(|e| KvError::Failed(format!("bad descriptor in the meta range: {e}")))?;
                self.cache.insert(desc.clone());
                Ok(desc)
            }
            other => Err(unexpected(other)),
        }
    }

    /// Every descriptor in the meta range, in key order.
    pub async fn descriptors(&self) -> Result<Vec<RangeDescriptor>, KvError> {
        let req = ScanRequest {
            start: Bytes::from_static(keys::META_PREFIX),
            end: Some(Bytes::from_static(keys::META_PREFIX_END)),
            limit: u32::MAX,
        };
        match self.call(Target::Meta, method::KV_SCAN, &req).await? {
            KvReply::Rows { rows, .. } => rows
                .iter()
                .map(|(_, v)| codec::decode(v).map_err(|e| KvError::Failed(format!("bad descriptor: {e}"))))
                .collect(),
            other => Err(unexpected(other)),
        }
    }

    /// A linearizable read of a key of the meta span.
    pub(crate) async fn meta_get(&self, key: Bytes) -> Result<Option<Bytes>, KvError> {
        match self.call(Target::Meta, method::KV_GET, &GetRequest { key }).await? {
            KvReply::Value(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    /// Up to `limit` pairs of `[start, end)` of the meta span, read
    /// linearizably.
    pub(crate) async fn meta_scan(&self, start: Bytes, end: Bytes, limit: u32) -> Result<Vec<(Bytes, Bytes)>, KvError> {
        match self.call(Target::Meta, method::KV_SCAN, &ScanRequest { start, end: Some(end), limit }).await? {
            KvReply::Rows { rows, .. } => Ok(rows),
            other => Err(unexpected(other)),
        }
    }

    /// Sends a request to the leader of the range holding `key` (the meta
    /// range when `None`), with the gateway's redirects and retries.
    pub(crate) async fn leader_call(
        &self,
        key: Option<Bytes>,
        method: u16,
        req: &impl Serialize,
    ) -> Result<KvReply, KvError> {
        let target = match key {
            Some(k) => Target::Key(k),
            None => Target::Meta,
        };
        self.call(target, method, req).await
    }

    /// A conditional write in the meta range.
    pub(crate) async fn meta_conditional(
        &self,
        key: Bytes,
        expected: Option<Bytes>,
        ops: Vec<WriteOp>,
    ) -> Result<ConditionalOutcome, KvError> {
        self.conditional(Target::Meta, key, expected, ops).await
    }

    /// Reads `req.key` at a transaction's timestamp through intents, on
    /// the leader of its range.
    pub async fn txn_get(&self, req: TxnGetRequest) -> Result<TxnRead, KvError> {
        let key = user_key(req.key.clone())?;
        match self.call(Target::Key(key), method::TXN_GET, &req).await? {
            KvReply::TxnValue(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }

    /// Scans the part of `[req.start, req.end)` in the range holding
    /// `req.start`; answers what it found and the range's end (continue
    /// from there).
    pub async fn txn_scan_range(&self, req: TxnScanRequest) -> Result<(TxnScan, Option<Bytes>), KvError> {
        let key = user_key(req.start.clone())?;
        match self.call(Target::Key(key), method::TXN_SCAN, &req).await? {
            KvReply::TxnRows { scan, range_end } => Ok((scan, range_end)),
            other => Err(unexpected(other)),
        }
    }

    /// Searches the part of `[req.start, req.end)` in the range holding
    /// `req.start` for the nearest vectors (`crate::txn::serve_vector`);
    /// answers what it found and the range's end (continue from there).
    pub async fn txn_vector_range(
        &self,
        req: crate::txn::serve_vector::TxnVectorRequest,
    ) -> Result<(crate::txn::serve_vector::TxnVectorHits, Option<Bytes>), KvError> {
        let key = user_key(req.start.clone())?;
        match self.call(Target::Key(key), method::TXN_VECTOR, &req).await? {
            KvReply::TxnVectorHits { found, range_end } => Ok((found, range_end)),
            other => Err(unexpected(other)),
        }
    }

    /// Sends one transaction command to the leader of the range holding
    /// `route`; `None` when its keys are not all in that range any more
    /// (the cached descriptor is dropped: group the keys again).
    pub async fn txn_send(&self, route: Bytes, cmd: &Command) -> Result<Option<CommandResponse>, KvError> {
        let route = user_key(route)?;
        let req = TxnCommandRequest { cmd: cmd.clone() };
        match self.call(Target::Key(route.clone()), method::TXN_COMMAND, &req).await? {
            KvReply::TxnAnswer(a) => Ok(Some(a)),
            KvReply::TxnKeysMoved { .. } => {
                if let Some(d) = self.cache.get(&route) {
                    self.cache.evict(d.range);
                }
                Ok(None)
            }
            other => Err(unexpected(other)),
        }
    }

    /// `keys` grouped by the range holding them (as the descriptors now
    /// say), in key order.
    pub async fn txn_group(&self, keys: impl IntoIterator<Item = Bytes>) -> Result<Vec<Vec<Bytes>>, KvError> {
        let mut keys: Vec<Bytes> = keys.into_iter().map(user_key).collect::<Result<_, _>>()?;
        keys.sort();
        keys.dedup();
        let mut groups: Vec<Vec<Bytes>> = Vec::new();
        let mut current: Option<RangeDescriptor> = None;
        let deadline = Instant::now() + self.opts.deadline;
        for key in keys {
            match &current {
                Some(d) if d.span.contains(&key) => {}
                _ => current = Some(self.descriptor(&Target::Key(key.clone()), deadline).await?),
            }
            match (groups.last_mut(), current.as_ref()) {
                (Some(g), Some(d)) if g.first().is_some_and(|f| d.span.contains(f)) => g.push(key),
                _ => groups.push(vec![key]),
            }
        }
        Ok(groups)
    }

    /// Sends a transaction command to every range it touches and answers
    /// each piece's response: `LayIntents` and `ResolveIntents` are split
    /// by range (pieces sent concurrently, moved pieces split again),
    /// record commands go to the anchor's range. A one-phase commit is
    /// never split: if its keys span ranges the answer is
    /// [`KvError::InvalidArgument`].
    pub async fn txn_command(&self, cmd: Command) -> Result<Vec<CommandResponse>, KvError> {
        let deadline = Instant::now() + self.opts.deadline;
        let mut backoff = self.opts.backoff_min;
        let mut pending: Vec<Bytes> = match &cmd {
            Command::LayIntents { ops, .. } | Command::CommitOnePhase { ops, .. } => {
                ops.iter().map(|o| o.key().clone()).collect()
            }
            Command::ResolveIntents { keys, .. } => keys.clone(),
            Command::HeartbeatTxn { txn, .. }
            | Command::PushTxn { txn, .. }
            | Command::CommitTxn { txn, .. }
            | Command::AbortTxn { txn, .. } => vec![txn.anchor.clone()],
            other => return Err(KvError::InvalidArgument(format!("not a transaction command: {other}"))),
        };
        let mut answers = Vec::new();
        loop {
            let groups = self.txn_group(pending.clone()).await?;
            if groups.len() > 1 && matches!(cmd, Command::CommitOnePhase { .. }) {
                return Err(KvError::InvalidArgument("a one-phase commit whose keys span ranges".into()));
            }
            // A range applies its pieces one after another (its log, its
            // latch): sent together they queue there, and the last ones
            // outran the attempt timeout and were sent again (a
            // 1,000,000-row commit never finished). So one piece per range
            // in flight, the ranges in parallel.
            let mut per_range: Vec<Vec<(Vec<Bytes>, Command)>> = Vec::new();
            let mut last_group = usize::MAX;
            for (keys, piece) in txn_pieces(&cmd, &groups) {
                let g = groups.partition_point(|grp| grp.last().is_some_and(|l| *l < keys[0]));
                if g != last_group || per_range.is_empty() {
                    per_range.push(Vec::new());
                    last_group = g;
                }
                if let Some(range_pieces) = per_range.last_mut() {
                    range_pieces.push((keys, piece));
                }
            }
            let sends = per_range.into_iter().map(|pieces| async move {
                let mut out = Vec::with_capacity(pieces.len());
                for (keys, piece) in pieces {
                    let answer = self.txn_send(keys[0].clone(), &piece).await;
                    let failed = answer.is_err();
                    out.push((answer, keys));
                    if failed {
                        break;
                    }
                }
                out
            });
            pending = Vec::new();
            let mut sends = futures_util::stream::iter(sends).buffer_unordered(PIECES_IN_FLIGHT);
            while let Some(results) = sends.next().await {
                for (answer, keys) in results {
                    match answer? {
                        Some(a) => answers.push(a),
                        None => pending.extend(keys),
                    }
                }
            }
            if pending.is_empty() {
                return Ok(answers);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(KvError::DeadlineExceeded(format!(
                    "{} keys of a transaction command kept moving between ranges",
                    pending.len()
                )));
            }
            tokio::time::sleep(backoff.min(deadline - now)).await;
            backoff = (backoff * 2).min(self.opts.backoff_max);
        }
    }

    async fn write(&self, key: Bytes, ops: Vec<WriteOp>) -> Result<u64, KvError> {
        match self.call(Target::Key(key), method::KV_WRITE, &WriteRequest { ops }).await? {
            KvReply::Written { ts } => Ok(ts),
            other => Err(unexpected(other)),
        }
    }

    async fn conditional(
        &self,
        target: Target,
        key: Bytes,
        expected: Option<Bytes>,
        ops: Vec<WriteOp>,
    ) -> Result<ConditionalOutcome, KvError> {
        let req = ConditionalRequest { key, expected, ops };
        match self.call(target, method::KV_CONDITIONAL, &req).await? {
            KvReply::Conditional { ok, current } => Ok(ConditionalOutcome { applied: ok, current }),
            other => Err(unexpected(other)),
        }
    }

    async fn descriptor(&self, target: &Target, deadline: Instant) -> Result<RangeDescriptor, KvError> {
        match target {
            Target::Meta => Ok(self.meta.lock().clone()),
            Target::Key(k) => match self.cache.get(k) {
                Some(d) => Ok(d),
                None => Box::pin(self.lookup_until(k, deadline)).await,
            },
        }
    }

    /// The cached descriptor `target` routes by, without reading the meta
    /// range.
    fn cache_entry(&self, target: &Target) -> Option<RangeDescriptor> {
        match target {
            Target::Meta => None,
            Target::Key(k) => self.cache.get(k),
        }
    }

    fn set_leader(&self, desc: &RangeDescriptor, leader: Option<NodeId>) {
        if desc.range == META_RANGE {
            self.meta.lock().leader_hint = leader;
        } else {
            self.cache.set_leader(desc.range, leader);
        }
    }

    /// Sends one request to the leader of its range, following redirects
    /// and retrying with backoff until the deadline.
    async fn call(&self, target: Target, method: u16, req: &impl Serialize) -> Result<KvReply, KvError> {
        self.call_until(target, method, req, Instant::now() + self.opts.deadline).await
    }

    /// [`Self::call`] bounded by `deadline` (every attempt included: a scan
    /// attempt has no per-attempt timeout, a large scan may take long, but
    /// it cannot outlive the request).
    /// How long one attempt of a request of `bytes` may take: the
    /// configured attempt timeout, plus two seconds per MiB the leader must
    /// replicate and apply. A piece of a large transaction (up to
    /// [`PIECE_BYTES`]) takes a loaded leader longer than a small write;
    /// with the plain timeout every attempt of such a piece was abandoned
    /// and sent again, which loaded the leader further.
    fn attempt_timeout_for(&self, bytes: usize) -> Duration {
        self.opts.attempt_timeout + Duration::from_millis((bytes as u64).saturating_mul(2000) >> 20)
    }

    async fn call_until(
        &self,
        target: Target,
        method: u16,
        req: &impl Serialize,
        deadline: Instant,
    ) -> Result<KvReply, KvError> {
        let body = Bytes::from(codec::encode(req).map_err(|e| KvError::InvalidArgument(e.to_string()))?);
        let mut backoff = self.opts.backoff_min;
        let mut last = String::new();
        let mut attempts: std::collections::VecDeque<String> = std::collections::VecDeque::new();
        // Nodes that did not answer during this call, and when: skipped
        // even if a (stale) hint names them again, for two attempt timeouts
        // or until every replica is skipped. Not for the rest of the call: a
        // leader busy past one attempt's timeout is still the leader, and
        // the other replicas keep naming it; skipping it for good sent every
        // retry back to them until the deadline (seen as a range stalled for
        // 10 s under a heavy load). A killed leader is skipped long enough
        // for the election that replaces it.
        let mut unreachable: Vec<(NodeId, Instant)> = Vec::new();
        let skip_for = self.opts.attempt_timeout * 2;
        // Attempts without an answer since the descriptor was last read,
        // and hints followed in a row without a pause.
        let mut misses = 0usize;
        let mut redirects = 0u32;
        // A conditional write sent without an answer may have applied: a
        // retry that then finds the condition false cannot tell "someone
        // else changed it" from "our first attempt changed it".
        let mut maybe_applied = false;
        loop {
            let mut wait = true;
            unreachable.retain(|(_, since)| since.elapsed() < skip_for);
            match self.descriptor(&target, deadline).await {
                Err(e @ KvError::InvalidArgument(_)) => return Err(e),
                Err(e) => last = e.to_string(),
                Ok(desc) => {
                    if desc.replicas.iter().all(|r| skipped(&unreachable, *r)) {
                        unreachable.clear();
                    }
                    let mut node = desc.target();
                    for _ in 0..desc.replicas.len() {
                        match node {
                            Some(n) if skipped(&unreachable, n) => node = desc.next_replica(Some(n)),
                            _ => break,
                        }
                    }
                    let Some(node) = node else {
                        return Err(KvError::Failed(format!("range {} has no replicas", desc.range)));
                    };
                    let attempt = self.rpc.call(node, desc.range, method, body.clone());
                    let answer = if method == method::KV_SCAN {
                        let left = deadline.saturating_duration_since(Instant::now());
                        tokio::time::timeout(left, attempt).await.unwrap_or(Err(RpcError::Timeout(node)))
                    } else {
                        tokio::time::timeout(self.attempt_timeout_for(body.len()), attempt)
                            .await
                            .unwrap_or(Err(RpcError::Timeout(node)))
                    };
                    match answer {
                        Err(e) => {
                            last = e.to_string();
                            maybe_applied |= method == method::KV_CONDITIONAL;
                            unreachable.push((node, Instant::now()));
                            self.set_leader(&desc, desc.next_replica(Some(node)));
                        }
                        Ok(bytes) => match codec::decode::<KvReply>(&bytes) {
                            Err(e) => return Err(KvError::Failed(format!("bad answer from {node}: {e}"))),
                            Ok(KvReply::NotLeader { leader }) => {
                                last = match leader {
                                    Some(l) => format!("{node} is not the leader of {} (it names n{l})", desc.range),
                                    None => format!("{node} is not the leader of {} (it knows no leader)", desc.range),
                                };
                                let hint = leader.map(NodeId).filter(|l| *l != node);
                                redirects = if hint.is_some() { redirects + 1 } else { 0 };
                                wait = hint.is_none() || redirects > MAX_REDIRECTS;
                                self.set_leader(&desc, hint.or_else(|| desc.next_replica(Some(node))));
                            }
                            Ok(KvReply::KeyNotInRange { generation }) => {
                                last = format!("key not in {} (generation {generation})", desc.range);
                                self.cache.evict(desc.range);
                            }
                            Ok(KvReply::RangeNotHere) => {
                                last = format!("{node} holds no replica of {}", desc.range);
                                self.set_leader(&desc, desc.next_replica(Some(node)));
                            }
                            Ok(KvReply::Unavailable(e)) => {
                                last = e;
                                self.set_leader(&desc, desc.next_replica(Some(node)));
                            }
                            Ok(KvReply::Failed(e)) => return Err(KvError::Failed(e)),
                            Ok(KvReply::Conditional { ok: false, .. }) if maybe_applied => {
                                return Err(KvError::DeadlineExceeded(format!(
                                    "conditional write outcome unknown: an attempt that got no answer ({last}) may have \
                                     applied it before this retry found the condition false"
                                )));
                            }
                            Ok(reply) => {
                                if desc.leader_hint != Some(node) {
                                    self.set_leader(&desc, Some(node));
                                }
                                return Ok(reply);
                            }
                        },
                    }
                }
            }
            misses += 1;
            if let Target::Key(_) = target
                && let Some(desc) = self.cache_entry(&target)
                && misses > desc.replicas.len()
            {
                // The replica list may be stale: read it again.
                self.cache.evict(desc.range);
                misses = 0;
            }
            if attempts.len() == 6 {
                attempts.pop_front();
            }
            attempts.push_back(last.clone());
            let now = Instant::now();
            if now >= deadline {
                let history: Vec<String> = attempts.into_iter().collect();
                return Err(KvError::DeadlineExceeded(format!("{last} (last attempts: {})", history.join("; "))));
            }
            if wait {
                tokio::time::sleep(backoff.min(deadline - now)).await;
                backoff = (backoff * 2).min(self.opts.backoff_max);
            }
        }
    }
}

/// Whether `node` is among the nodes a request skips for now.
fn skipped(unreachable: &[(NodeId, Instant)], node: NodeId) -> bool {
    unreachable.iter().any(|(u, _)| *u == node)
}

/// Hints followed at once, in a row, before the gateway backs off.
const MAX_REDIRECTS: u32 = 3;

fn user_key(key: Bytes) -> Result<Bytes, KvError> {
    if keys::is_user_key(&key) {
        Ok(key)
    } else {
        Err(KvError::InvalidArgument(format!("key {key:?} is reserved (user keys sort below FF FF FE)")))
    }
}

/// The most bytes of keys and values one piece of a transaction command
/// carries. A piece is one Raft entry: a transaction of 200,000 rows (what
/// `pgbench -i -s 2` copies in) sent as one entry per range took longer to
/// replicate and apply than an attempt may, so every attempt timed out and
/// was sent again until the gateway's deadline.
pub const PIECE_BYTES: usize = 1 << 20;

/// The most keys one piece carries.
pub const PIECE_KEYS: usize = 4096;

/// Ranges a transaction command is sent to at once (one piece in flight
/// per range).
const PIECES_IN_FLIGHT: usize = 16;

/// Whether `ops` fit in one piece: a one-phase commit cannot be cut, so a
/// larger transaction commits in two phases even on one range.
pub fn fits_one_piece(ops: &[WriteOp]) -> bool {
    ops.len() <= PIECE_KEYS && ops.iter().map(op_bytes).sum::<usize>() <= PIECE_BYTES
}

fn op_bytes(op: &WriteOp) -> usize {
    match op {
        WriteOp::Put { key, value } => key.len() + value.len(),
        WriteOp::Delete { key } => key.len(),
    }
}

/// `cmd` cut for sending: for each group of keys of one range (sorted,
/// disjoint, in key order, as [`ClusterKv::txn_group`] makes them), the
/// keys of each piece and the piece. Intents and resolutions are cut into
/// pieces of at most [`PIECE_KEYS`] keys and [`PIECE_BYTES`] bytes (each
/// applies on its own, as the ranges' pieces already do); a one-phase
/// commit and record commands are sent whole.
fn txn_pieces(cmd: &Command, groups: &[Vec<Bytes>]) -> Vec<(Vec<Bytes>, Command)> {
    // The group each key falls in: groups partition the sorted keys.
    let group_of = |key: &Bytes| groups.partition_point(|g| g.last().is_some_and(|l| l < key));
    match cmd {
        Command::LayIntents { ts, txn, ops } | Command::CommitOnePhase { ts, txn, ops } => {
            let one_phase = matches!(cmd, Command::CommitOnePhase { .. });
            let mut per_group: Vec<Vec<&WriteOp>> = vec![Vec::new(); groups.len()];
            for op in ops {
                let g = group_of(op.key());
                if groups.get(g).is_some_and(|keys| keys.binary_search(op.key()).is_ok()) {
                    per_group[g].push(op);
                }
            }
            let mut pieces = Vec::new();
            for group_ops in per_group {
                let mut chunk: Vec<WriteOp> = Vec::new();
                let mut bytes = 0;
                for op in group_ops {
                    let size = op_bytes(op);
                    if !one_phase && !chunk.is_empty() && (chunk.len() >= PIECE_KEYS || bytes + size > PIECE_BYTES) {
                        pieces.push(std::mem::take(&mut chunk));
                        bytes = 0;
                    }
                    bytes += size;
                    chunk.push(op.clone());
                }
                if !chunk.is_empty() {
                    pieces.push(chunk);
                }
            }
            pieces
                .into_iter()
                .map(|ops| {
                    let mut keys: Vec<Bytes> = ops.iter().map(|o| o.key().clone()).collect();
                    keys.sort();
                    keys.dedup();
                    let piece = if one_phase {
                        Command::CommitOnePhase { ts: *ts, txn: txn.clone(), ops }
                    } else {
                        Command::LayIntents { ts: *ts, txn: txn.clone(), ops }
                    };
                    (keys, piece)
                })
                .collect()
        }
        Command::ResolveIntents { ts, txn, keys, resolution } => {
            let mut per_group: Vec<Vec<Bytes>> = vec![Vec::new(); groups.len()];
            for key in keys {
                let g = group_of(key);
                if groups.get(g).is_some_and(|keys| keys.binary_search(key).is_ok()) {
                    per_group[g].push(key.clone());
                }
            }
            let mut pieces = Vec::new();
            for mut group_keys in per_group {
                group_keys.sort();
                group_keys.dedup();
                let mut chunk: Vec<Bytes> = Vec::new();
                let mut bytes = 0;
                for key in group_keys {
                    if !chunk.is_empty() && (chunk.len() >= PIECE_KEYS || bytes + key.len() > PIECE_BYTES) {
                        pieces.push(std::mem::take(&mut chunk));
                        bytes = 0;
                    }
                    bytes += key.len();
                    chunk.push(key);
                }
                if !chunk.is_empty() {
                    pieces.push(chunk);
                }
            }
            pieces
                .into_iter()
                .map(|keys| {
                    let piece =
                        Command::ResolveIntents { ts: *ts, txn: *txn, keys: keys.clone(), resolution: *resolution };
                    (keys, piece)
                })
                .collect()
        }
        other => groups.iter().map(|g| (g.clone(), other.clone())).collect(),
    }
}

fn unexpected(reply: KvReply) -> KvError {
    KvError::Failed(format!("unexpected answer: {reply:?}"))
}

impl From<RpcError> for KvError {
    fn from(e: RpcError) -> Self {
        KvError::Failed(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    //! The gateway's routing rules against scripted nodes: the RPC seam is
    //! a trait exactly so that routing can be checked deterministically
    //! here, while the real transport is exercised by the cluster tests.

    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::ids::RangeId;
    use crate::raft::RangeSpan;

    /// The meta range on node 1; range 2 on nodes 2, 3 and 4, led by 4,
    /// whose first answer comes later than one attempt may wait.
    struct Scripted {
        calls_to_leader: AtomicU32,
    }

    fn reply(r: &KvReply) -> Result<Bytes, RpcError> {
        Ok(Bytes::from(codec::encode(r).unwrap()))
    }

    #[async_trait]
    impl RpcClient for Scripted {
        async fn call(&self, to: NodeId, range: RangeId, method: u16, _body: Bytes) -> Result<Bytes, RpcError> {
            if range == META_RANGE {
                assert_eq!(method, method::KV_SCAN);
                let desc = RangeDescriptor {
                    range: RangeId(2),
                    span: RangeSpan { start: Bytes::new(), end: None },
                    replicas: vec![NodeId(2), NodeId(3), NodeId(4)],
                    generation: 1,
                    leader_hint: None,
                };
                let row = (keys::meta_key(keys::span_end(&desc.span)), Bytes::from(codec::encode(&desc).unwrap()));
                return reply(&KvReply::Rows { rows: vec![row], range_end: None });
            }
            match to.0 {
                4 => {
                    if self.calls_to_leader.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    reply(&KvReply::Written { ts: 7 })
                }
                _ => reply(&KvReply::NotLeader { leader: Some(4) }),
            }
        }
    }

    /// A multi-key transaction command keeps, per range, only the keys of
    /// that range, cut into pieces of bounded size; a one-phase commit and
    /// record commands go whole.
    #[test]
    fn transaction_commands_split_by_range_and_size() {
        use crate::txn::{TxnId, TxnMeta};
        let b = |k: &str| Bytes::copy_from_slice(k.as_bytes());
        let txn = TxnMeta::new(TxnId(7), "a", 10);
        let put = |k: &str| WriteOp::Put { key: b(k), value: Bytes::from_static(b"v") };
        let lay = Command::LayIntents { ts: 11, txn: txn.clone(), ops: vec![put("z"), put("a"), put("m")] };
        let pieces = txn_pieces(&lay, &[vec![b("a"), b("m")], vec![b("z")]]);
        assert_eq!(
            pieces,
            vec![
                (vec![b("a"), b("m")], Command::LayIntents { ts: 11, txn: txn.clone(), ops: vec![put("a"), put("m")] }),
                (vec![b("z")], Command::LayIntents { ts: 11, txn: txn.clone(), ops: vec![put("z")] }),
            ]
        );
        let resolve = Command::ResolveIntents {
            ts: 12,
            txn: txn.id,
            keys: vec![b("m"), b("a")],
            resolution: crate::raft::command::Resolution::Abort,
        };
        let keys: Vec<Vec<Bytes>> =
            txn_pieces(&resolve, &[vec![b("a")], vec![b("m")]]).into_iter().map(|p| p.0).collect();
        assert_eq!(keys, vec![vec![b("a")], vec![b("m")]]);
        let commit = Command::CommitTxn { ts: 13, txn: txn.clone(), commit_ts: 13, intents: vec![b("a")] };
        assert_eq!(txn_pieces(&commit, &[vec![b("zz")]]), vec![(vec![b("zz")], commit)]);

        // 10,000 small writes in one range: three pieces by count, every
        // key in exactly one; the same writes as a one-phase commit: whole.
        let many: Vec<WriteOp> = (0..10_000).map(|i| put(&format!("k{i:05}"))).collect();
        let all_keys: Vec<Bytes> = many.iter().map(|o| o.key().clone()).collect();
        let pieces = txn_pieces(
            &Command::LayIntents { ts: 14, txn: txn.clone(), ops: many.clone() },
            std::slice::from_ref(&all_keys),
        );
        assert_eq!(
            pieces.iter().map(|p| p.0.len()).collect::<Vec<_>>(),
            vec![PIECE_KEYS, PIECE_KEYS, 10_000 - 2 * PIECE_KEYS]
        );
        assert_eq!(pieces.iter().flat_map(|p| p.0.clone()).collect::<Vec<_>>(), all_keys);
        assert!(!fits_one_piece(&many));
        let one = txn_pieces(&Command::CommitOnePhase { ts: 15, txn: txn.clone(), ops: many }, &[all_keys]);
        assert_eq!(one.len(), 1);
        // Three writes of 600 KiB: one piece each, by bytes.
        let big = |k: &str| WriteOp::Put { key: b(k), value: Bytes::from(vec![0u8; 600 << 10]) };
        let ops = vec![big("x1"), big("x2"), big("x3")];
        assert!(!fits_one_piece(&ops));
        assert!(fits_one_piece(&ops[..1]));
        let pieces = txn_pieces(&Command::LayIntents { ts: 16, txn, ops }, &[vec![b("x1"), b("x2"), b("x3")]]);
        assert_eq!(pieces.len(), 3);
    }

    /// A leader that once answered too late for one attempt is still the
    /// leader: when the other replicas name it, the gateway goes back to
    /// it instead of bouncing between them until the deadline.
    #[tokio::test]
    async fn a_slow_leader_named_by_the_others_is_tried_again() {
        let rpc = Arc::new(Scripted { calls_to_leader: AtomicU32::new(0) });
        let opts = ClusterKvOptions {
            deadline: Duration::from_secs(3),
            attempt_timeout: Duration::from_millis(100),
            ..ClusterKvOptions::default()
        };
        let kv = ClusterKv::new(rpc.clone(), vec![NodeId(1)], opts);
        kv.cache.insert(RangeDescriptor {
            range: RangeId(2),
            span: RangeSpan { start: Bytes::new(), end: None },
            replicas: vec![NodeId(2), NodeId(3), NodeId(4)],
            generation: 1,
            leader_hint: Some(NodeId(4)),
        });
        let started = Instant::now();
        assert_eq!(kv.put("k", "v").await, Ok(7));
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        assert!(rpc.calls_to_leader.load(Ordering::SeqCst) >= 2);
    }
}
