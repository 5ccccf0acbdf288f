//! # `RangeNode`: a cluster node's ranges, its KV service and its gateway
//!
//! [`RangeNode`] sits on top of the node's [`RaftNode`] and is the node's
//! [`RpcService`]: Raft methods (1-4) go to the Raft groups, KV methods
//! (5-8, see [`super::protocol`]) are served here by the range's leader.
//! It also owns the node's gateway ([`ClusterKv`]) and a maintenance task
//! that (1) starts the group of every range recorded as hosted here
//! (ranges born by a split, and every range after a restart) and (2) runs
//! the splitter for the ranges this node leads (`splitter.rs`).
//!
//! **Linearizable reads** use openraft's read-index
//! (`Raft::ensure_linearizable(ReadPolicy::ReadIndex)`): the leader
//! confirms with a quorum that it still leads, waits until its state
//! machine has applied everything committed before the read arrived, and
//! reads its engine. We chose read-index over a leader lease for the KV API
//! because it does not depend on bounded clock drift; it costs one
//! heartbeat round per read (openraft batches concurrent reads behind
//! one). Transactional reads, whose protocol assumes bounded clock offsets
//! anyway, take the leader lease when it is valid
//! (`RangeNode::linearize_lease`).
//!
//! A request is checked against the range's **current shape** (span and
//! generation, `raft::shape`) before it is proposed and, for reads, again
//! after the read-index wait. A write that races a split and reaches the
//! log after it is rejected by the state machine on every replica; the
//! leader reports it as "key not in range" and the gateway retries it on
//! the right half, so no acknowledged write is lost and none lands in the
//! wrong range.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use openraft::ReadPolicy;
use openraft::error::{LinearizableReadError, RaftError};

use alopex_core::WriteBatch;

use super::client::{ClusterKv, ClusterKvOptions};
use super::descriptor::RangeDescriptor;
use super::keys::{self, FIRST_ALLOCATED_RANGE, FIRST_DATA_RANGE, META_RANGE};
use super::protocol::{ConditionalRequest, GetRequest, HostRequest, KvReply, ScanRequest, WriteRequest, method};
use super::splitter;
use crate::ids::{NodeId, RangeId};
use crate::raft::shape::{self, HostedRange, RangeShape};
use crate::raft::{Command, CommandResponse, RaftNode, RaftNodeError, RangeSpan, WriteOp, codec};
use crate::rpc::{RpcClient, RpcService};

/// Tuning of the range layer.
#[derive(Clone, Debug)]
pub struct RangeNodeOptions {
    /// A range whose live data (keys + values) passes this many bytes splits.
    pub split_threshold_bytes: u64,
    /// How often the maintenance task runs.
    pub maintenance_interval: Duration,
    /// The gateway's timeouts.
    pub gateway: ClusterKvOptions,
}

impl Default for RangeNodeOptions {
    fn default() -> Self {
        RangeNodeOptions {
            split_threshold_bytes: 64 << 20,
            maintenance_interval: Duration::from_millis(500),
            gateway: ClusterKvOptions::default(),
        }
    }
}

/// One node's range layer. See the module documentation.
pub struct RangeNode {
    raft: Arc<RaftNode>,
    rpc: Arc<dyn RpcClient>,
    kv: ClusterKv,
    opts: RangeNodeOptions,
    stopped: AtomicBool,
    /// Serializes starting and dropping groups (the maintenance task,
    /// `host_replica`, `drop_replica`), so a group being dropped is never
    /// restarted from its hosted record halfway through.
    hosting: tokio::sync::Mutex<()>,
    /// The timestamp caches and latches of the ranges this node leads
    /// (transactions, `crate::txn::serve`).
    txn: crate::txn::serve::LeaderTxnState,
}

impl std::fmt::Debug for RangeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeNode").field("id", &self.raft.id()).finish_non_exhaustive()
    }
}

impl RangeNode {
    /// The range layer over `raft`, whose gateway sends through `rpc` and
    /// finds the meta range on `meta_replicas`. Starts every range recorded
    /// as hosted here and the maintenance task (stopped by [`Self::stop`]).
    pub async fn start(
        raft: Arc<RaftNode>,
        rpc: Arc<dyn RpcClient>,
        meta_replicas: Vec<NodeId>,
        opts: RangeNodeOptions,
    ) -> Result<Arc<RangeNode>, RaftNodeError> {
        let kv = ClusterKv::new(Arc::clone(&rpc), meta_replicas, opts.gateway.clone());
        let node = Arc::new(RangeNode {
            raft,
            rpc,
            kv,
            opts,
            stopped: AtomicBool::new(false),
            hosting: tokio::sync::Mutex::new(()),
            txn: Default::default(),
        });
        node.txn.keep_history(node.raft.engine(), node.raft.now());
        node.host_recorded().await?;
        let weak = Arc::downgrade(&node);
        let interval = node.opts.maintenance_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(node) = weak.upgrade() else { return };
                if node.stopped.load(Ordering::Relaxed) {
                    return;
                }
                node.txn.keep_history(node.raft.engine(), node.raft.now());
                if let Err(e) = node.host_recorded().await {
                    tracing::warn!(node = %node.id(), error = %e, "starting hosted ranges failed");
                }
                splitter::run_once(&node).await;
            }
        });
        Ok(node)
    }

    /// Makes a fresh cluster: records the meta range and the first data
    /// range (all user keys) as hosted on this node with `members` as their
    /// voters, starts and initializes their groups, and writes the first
    /// descriptors into the meta range. Call it on **every** member (the
    /// groups' first membership is the same everywhere, and the meta
    /// writes are conditional), or on one of them; it is idempotent.
    pub async fn bootstrap(&self, members: &[(NodeId, String)]) -> Result<(), RaftNodeError> {
        let engine = self.raft.engine();
        let m: Vec<(u64, String)> = members.iter().map(|(n, a)| (n.0, a.clone())).collect();
        let mut batch = WriteBatch::new();
        for (range, span) in [(META_RANGE, keys::meta_span()), (FIRST_DATA_RANGE, keys::user_span())] {
            if engine.get(&shape::hosted_key(range.0)).map_err(core_err)?.is_none() {
                batch.put(shape::hosted_key(range.0), codec::encode(&HostedRange { span, members: m.clone() })?);
            }
        }
        if !batch.is_empty() {
            engine.write(batch).map_err(core_err)?;
        }
        self.host_recorded().await?;
        let desc = RangeDescriptor {
            range: FIRST_DATA_RANGE,
            span: keys::user_span(),
            replicas: members.iter().map(|(n, _)| *n).collect(),
            generation: 1,
            leader_hint: None,
        };
        let meta_err = |e: super::client::KvError| RaftNodeError::Raft(format!("seeding the meta range: {e}"));
        let key = keys::meta_key(keys::USER_END);
        self.kv
            .meta_conditional(key.clone(), None, vec![WriteOp::Put { key, value: codec::encode(&desc)?.into() }])
            .await
            .map_err(meta_err)?;
        let key = Bytes::from_static(keys::NEXT_RANGE_ID_KEY);
        let value = Bytes::copy_from_slice(&FIRST_ALLOCATED_RANGE.to_be_bytes());
        self.kv.meta_conditional(key.clone(), None, vec![WriteOp::Put { key, value }]).await.map_err(meta_err)?;
        Ok(())
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.raft.id()
    }

    /// The node's Raft groups.
    pub fn raft(&self) -> &Arc<RaftNode> {
        &self.raft
    }

    /// The node's gateway.
    pub fn kv(&self) -> &ClusterKv {
        &self.kv
    }

    /// The transactional state of the ranges this node leads (timestamp
    /// caches, latches; see `crate::txn::serve`).
    pub fn txn_state(&self) -> &crate::txn::serve::LeaderTxnState {
        &self.txn
    }

    /// The tuning.
    pub fn options(&self) -> &RangeNodeOptions {
        &self.opts
    }

    /// Stops the maintenance task and every group.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.raft.shutdown().await;
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Starts the group of every range recorded as hosted here.
    async fn host_recorded(&self) -> Result<(), RaftNodeError> {
        if self.is_stopped() {
            return Ok(());
        }
        let _hosting = self.hosting.lock().await;
        let engine = Arc::clone(self.raft.engine());
        let hosted: Vec<(RangeId, HostedRange)> = engine
            .scan_prefix(shape::HOSTED_PREFIX, false)
            .filter_map(|e| {
                let (k, v) = e.ok()?;
                Some((RangeId(shape::hosted_range(&k)?), codec::decode(&v).ok()?))
            })
            .collect();
        let mut first_err = None;
        for (range, h) in hosted {
            if self.raft.group(range).is_none() {
                let members: Vec<(NodeId, String)> = h.members.iter().map(|(n, a)| (NodeId(*n), a.clone())).collect();
                tracing::info!(node = %self.id(), %range, "starting a hosted range");
                // A replica placed here by placement (or a learner that
                // applied a split) is not among the first voters: it starts
                // empty and waits for the leader to add it.
                let started = if members.iter().any(|(n, _)| *n == self.id()) {
                    self.raft.bootstrap_group(range, h.span, &members).await.map(|_| ())
                } else {
                    self.raft.start_group(range, h.span).await.map(|_| ())
                };
                if let Err(e) = started {
                    tracing::warn!(node = %self.id(), %range, error = %e, "starting a hosted range failed");
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The node's RPC client (the transport).
    pub fn rpc(&self) -> &Arc<dyn RpcClient> {
        &self.rpc
    }

    /// Whether any range is recorded as hosted here (a node with state).
    pub fn hosts_anything(&self) -> bool {
        self.raft.engine().scan_prefix(shape::HOSTED_PREFIX, false).next().is_some()
    }

    /// Starts an empty group of `range` here (placement is about to add
    /// this node as a learner): records it as hosted, with its current
    /// `span` and `generation` as its shape, so it survives a restart and
    /// replays the leader's log against the right span. A no-op when the
    /// group runs already.
    pub async fn host_replica(&self, range: RangeId, span: RangeSpan, generation: u64) -> Result<(), RaftNodeError> {
        if self.is_stopped() {
            return Err(RaftNodeError::Raft("the node is stopping".into()));
        }
        let _hosting = self.hosting.lock().await;
        if self.raft.group(range).is_some() {
            return Ok(());
        }
        if let Some(parent) = self.parent_behind(range, &span) {
            return Err(RaftNodeError::Raft(format!(
                "{parent} covers {range}'s start here and has entries to apply: its split will start {range}"
            )));
        }
        let mut batch = WriteBatch::new();
        batch.put(shape::hosted_key(range.0), codec::encode(&HostedRange { span: span.clone(), members: Vec::new() })?);
        let shape = RangeShape { span: span.clone(), generation, split: None };
        batch.put(shape::shape_key(range.0, 0), codec::encode(&shape)?);
        let engine = Arc::clone(self.raft.engine());
        engine.write(batch).map_err(core_err)?;
        tracing::info!(node = %self.id(), %range, "hosting a new replica");
        self.raft.start_group(range, span).await?;
        Ok(())
    }

    /// A group here whose span still covers `span`'s start, other than
    /// `range`, with log entries it has not applied yet: `range`'s parent,
    /// behind the split that made `range`. Applying that split starts
    /// `range` here with the data the parent's log holds; hosting `range`
    /// empty before that would seed it from a snapshot and then let the
    /// parent's late replay write keys deleted after the split back.
    fn parent_behind(&self, range: RangeId, span: &RangeSpan) -> Option<RangeId> {
        self.raft.ranges().into_iter().filter(|r| *r != range).find(|r| {
            let behind = self
                .raft
                .metrics(*r)
                .is_some_and(|m| m.last_applied.map_or(0, |l| l.index) < m.last_log_index.unwrap_or(0));
            behind && self.shape(*r).is_some_and(|s| s.span.contains(&span.start))
        })
    }

    /// Stops and forgets the group of `range` here (placement removed this
    /// node from it): the group stops, its log and snapshots are deleted,
    /// and its hosted, shape and applied records are erased, so a later
    /// replica of the same range starts from scratch. The range's user keys
    /// stay in the engine (no range routes to them here; a later replica's
    /// snapshot reconciles them): deleting them with tombstones could
    /// shadow the versions a later snapshot brings back.
    pub async fn drop_replica(&self, range: RangeId) -> Result<(), RaftNodeError> {
        let _hosting = self.hosting.lock().await;
        let engine = Arc::clone(self.raft.engine());
        let mut batch = WriteBatch::new();
        batch.delete(shape::hosted_key(range.0));
        engine.write(batch).map_err(core_err)?;
        self.raft.remove_group(range).await?;
        let mut by_ts: std::collections::BTreeMap<u64, WriteBatch> = std::collections::BTreeMap::new();
        for prefix in [shape::shape_prefix(range.0), crate::raft::span::applied_prefix(range.0)] {
            // Newest versions: the range's last records may lie above the
            // engine's visible timestamp (see `crate::txn::read::newest`).
            for v in engine.scan_versions(alopex_core::prefix_range(&prefix), u64::MAX) {
                let v = v.map_err(core_err)?;
                if v.value.is_some() {
                    by_ts.entry(v.ts.saturating_add(1)).or_default().delete(v.key);
                }
            }
        }
        for (ts, batch) in by_ts {
            engine.write_at(batch, ts).map_err(core_err)?;
        }
        tracing::info!(node = %self.id(), %range, "dropped a replica");
        Ok(())
    }

    /// The current shape of `range` on this node: its newest shape record,
    /// else the span it was started with at generation 1.
    pub fn shape(&self, range: RangeId) -> Option<RangeShape> {
        let group = self.raft.group(range)?;
        let prefix = shape::shape_prefix(range.0);
        // The newest record, even above the engine's visible timestamp
        // (`crate::txn::read::newest`): a split this replica applied must be
        // seen at once, or a request for the moved half is served here.
        let newest = crate::txn::read::newest_in(self.raft.engine(), alopex_core::prefix_range(&prefix)).last();
        if let Some(Ok((_, v))) = newest
            && let Ok(s) = codec::decode::<RangeShape>(&v)
        {
            return Some(s);
        }
        Some(RangeShape { span: group.span, generation: 1, split: None })
    }

    /// Whether this node currently leads `range`.
    pub fn is_leader(&self, range: RangeId) -> bool {
        self.raft
            .metrics(range)
            .is_some_and(|m| m.state == openraft::ServerState::Leader && m.current_leader == Some(self.id().0))
    }

    async fn serve(&self, range: RangeId, method: u16, body: &[u8]) -> KvReply {
        if self.is_stopped() || self.raft.group(range).is_none() {
            return KvReply::RangeNotHere;
        }
        let bad = |e: std::io::Error| KvReply::Failed(format!("bad request: {e}"));
        match method {
            method::KV_GET => match codec::decode::<GetRequest>(body) {
                Ok(r) => self.get(range, r).await,
                Err(e) => bad(e),
            },
            method::KV_WRITE => match codec::decode::<WriteRequest>(body) {
                Ok(r) => {
                    let keys: Vec<Bytes> = r.ops.iter().map(|o| o.key().clone()).collect();
                    self.propose(range, &keys, false, |ts| Command::Write { ts, ops: r.ops.clone() }).await
                }
                Err(e) => bad(e),
            },
            method::KV_SCAN => match codec::decode::<ScanRequest>(body) {
                Ok(r) => self.scan(range, r).await,
                Err(e) => bad(e),
            },
            method::KV_CONDITIONAL => match codec::decode::<ConditionalRequest>(body) {
                Ok(r) => {
                    let mut keys: Vec<Bytes> = r.ops.iter().map(|o| o.key().clone()).collect();
                    keys.push(r.key.clone());
                    self.propose(range, &keys, true, |ts| Command::ConditionalWrite {
                        ts,
                        key: r.key.clone(),
                        expected: r.expected.clone(),
                        ops: r.ops.clone(),
                    })
                    .await
                }
                Err(e) => bad(e),
            },
            method::TXN_GET | method::TXN_SCAN | method::TXN_COMMAND | method::TXN_VECTOR => {
                crate::txn::serve::serve(self, range, method, body).await
            }
            other => KvReply::Failed(format!("unknown KV method {other}")),
        }
    }

    /// `Some(reply)` if a key of `keys` is not in the range's current span.
    pub(crate) fn check_keys<'a>(&self, range: RangeId, keys: impl IntoIterator<Item = &'a Bytes>) -> Option<KvReply> {
        let Some(shape) = self.shape(range) else { return Some(KvReply::RangeNotHere) };
        keys.into_iter()
            .any(|k| !shape.span.contains(k))
            .then_some(KvReply::KeyNotInRange { generation: shape.generation })
    }

    pub(crate) async fn linearize(&self, range: RangeId) -> Option<KvReply> {
        self.linearize_with(range, ReadPolicy::ReadIndex).await
    }

    /// [`RangeNode::linearize`] for transactional reads: through the
    /// leader lease when it is valid (no network round), else a read-index.
    ///
    /// A lease read trusts that no other node can have been elected while
    /// a quorum acknowledged this leader less than a lease ago: followers
    /// refuse to vote for that long after a heartbeat (except in a transfer
    /// this leader started, during which it refuses reads itself). That
    /// holds while the nodes' clocks advance at nearly the same rate. The
    /// transaction protocol already assumes more (a bounded offset between
    /// the clocks, `docs/transactions.md`), so its reads take the lease;
    /// the plain KV API keeps read-index, which assumes nothing of clocks.
    pub(crate) async fn linearize_lease(&self, range: RangeId) -> Option<KvReply> {
        // Any refusal (a stale lease answers "forward to leader" with no
        // leader) is decided by a read-index, as for a plain read.
        self.linearize_with(range, ReadPolicy::LeaseRead).await?;
        self.linearize_with(range, ReadPolicy::ReadIndex).await
    }

    async fn linearize_with(&self, range: RangeId, policy: ReadPolicy) -> Option<KvReply> {
        let group = self.raft.group(range)?;
        match group.raft.ensure_linearizable(policy).await {
            Ok(_) => None,
            Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(f))) => {
                Some(KvReply::NotLeader { leader: f.leader_id })
            }
            Err(e) => Some(KvReply::Unavailable(e.to_string())),
        }
    }

    async fn get(&self, range: RangeId, r: GetRequest) -> KvReply {
        if let Some(reply) = self.check_keys(range, [&r.key]) {
            return reply;
        }
        if let Some(reply) = self.linearize(range).await {
            return reply;
        }
        if let Some(reply) = self.check_keys(range, [&r.key]) {
            return reply;
        }
        // Everything the range applied up to the read index: the newest
        // versions, not the engine's visible ones (`crate::txn::read::newest`).
        match crate::txn::read::newest(self.raft.engine(), &r.key) {
            Ok(v) => KvReply::Value(v),
            Err(e) => KvReply::Unavailable(e.to_string()),
        }
    }

    async fn scan(&self, range: RangeId, r: ScanRequest) -> KvReply {
        if let Some(reply) = self.check_keys(range, [&r.start]) {
            return reply;
        }
        if let Some(reply) = self.linearize(range).await {
            return reply;
        }
        let Some(shape) = self.shape(range) else { return KvReply::RangeNotHere };
        if !shape.span.contains(&r.start) {
            return KvReply::KeyNotInRange { generation: shape.generation };
        }
        let span_end = Bytes::copy_from_slice(shape.span.end_key());
        let end = match r.end {
            Some(e) if e < span_end => e,
            _ => span_end,
        };
        let mut rows = Vec::new();
        if r.start < end {
            let bounds = (Bound::Included(r.start), Bound::Excluded(end));
            for item in crate::txn::read::newest_in(self.raft.engine(), bounds) {
                match item {
                    Ok(kv) => rows.push(kv),
                    Err(e) => return KvReply::Unavailable(e.to_string()),
                }
                if rows.len() >= r.limit as usize {
                    break;
                }
            }
        }
        KvReply::Rows { rows, range_end: shape.span.end }
    }

    /// Proposes `make(ts)` after checking `keys` against the current span;
    /// `conditional` says whether an applied command answers `Conditional`.
    async fn propose(
        &self,
        range: RangeId,
        keys: &[Bytes],
        conditional: bool,
        make: impl FnOnce(u64) -> Command,
    ) -> KvReply {
        if keys.is_empty() {
            return KvReply::Failed("a write needs at least one key".into());
        }
        if let Some(reply) = self.check_keys(range, keys) {
            return reply;
        }
        // Above every transactional read this leader served of the keys
        // (`crate::txn::serve`), so a plain write never changes a
        // transaction's snapshot.
        let term = || crate::txn::serve::leader_term(self, range).ok();
        let ts = self.txn.push_plain(range, term, keys, self.raft.now());
        match self.raft.propose(range, make(ts)).await {
            Ok(CommandResponse::Applied { .. }) if conditional => KvReply::Conditional { ok: true, current: None },
            Ok(CommandResponse::Applied { ts }) => KvReply::Written { ts: ts.unwrap_or(0) },
            Ok(CommandResponse::ConditionFailed { current }) => KvReply::Conditional { ok: false, current },
            // A key holding a transaction's intent (issue 7): retry until it is resolved.
            Ok(CommandResponse::WriteConflict { key, txn }) => {
                KvReply::Unavailable(format!("key {key:?} holds an intent of transaction {}", txn.id))
            }
            Ok(CommandResponse::Rejected { reason }) => {
                // A split applied before this write: the key moved away. The
                // state machine is the authority; the shape this node reads
                // back may not be visible yet (the engine's visible
                // timestamp can lag the split's write), so its refusal alone
                // is enough to send the gateway to the new range.
                self.check_keys(range, keys).unwrap_or_else(|| {
                    if crate::raft::command::is_outside_range(&reason) {
                        KvReply::KeyNotInRange { generation: self.shape(range).map_or(0, |s| s.generation) }
                    } else {
                        KvReply::Failed(reason)
                    }
                })
            }
            Ok(other) => KvReply::Failed(format!("unexpected answer to a write: {other:?}")),
            Err(RaftNodeError::NotLeader { leader, .. }) => KvReply::NotLeader { leader: leader.map(|l| l.0) },
            Err(RaftNodeError::UnknownRange(_)) => KvReply::RangeNotHere,
            Err(e) => KvReply::Unavailable(e.to_string()),
        }
    }
}

#[async_trait]
impl RpcService for RangeNode {
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
        if crate::raft::network::method::is_raft(method) {
            return self.raft.handle(from, range, method, body).await;
        }
        let reply = match method {
            method::HOST_REPLICA => match codec::decode::<HostRequest>(&body) {
                Ok(r) => match self.host_replica(range, r.span, r.generation).await {
                    Ok(()) => KvReply::Done,
                    Err(e) => KvReply::Unavailable(e.to_string()),
                },
                Err(e) => KvReply::Failed(format!("bad request: {e}")),
            },
            method::DROP_REPLICA => match self.drop_replica(range).await {
                Ok(()) => KvReply::Done,
                Err(e) => KvReply::Unavailable(e.to_string()),
            },
            method::RANGE_STATUS | method::PLACE_MOVE => {
                crate::placement::executor::serve(self, from, range, method, &body).await
            }
            _ => self.serve(range, method, &body).await,
        };
        codec::encode(&reply).map(Bytes::from).map_err(|e| e.to_string())
    }
}

fn core_err(e: alopex_core::Error) -> RaftNodeError {
    RaftNodeError::Io(std::io::Error::other(e.to_string()))
}

/// The span a range was created with, for descriptors built from shapes.
pub(crate) fn right_half(shape: &RangeShape) -> Option<(RangeId, RangeSpan)> {
    let s = shape.split.as_ref()?;
    Some((RangeId(s.new_range), RangeSpan { start: s.split_key.clone(), end: s.right_end.clone() }))
}
