//! # A node's Raft groups: one engine, one log, many groups
//!
//! [`RaftNode`] is what a cluster node runs for replication. It owns
//!
//! - the node's [`SharedLog`] (every group's log, group-committed),
//! - a handle to the node's single `alopex-core` engine (every group's
//!   state machine applies into it),
//! - one openraft [`Raft`] per range group hosted here,
//! - the receiving end of snapshot transfers,
//!
//! and it is the node's [`RpcService`] for Raft traffic: a call for range
//! `r` goes to group `r` (method numbers in [`super::network::method`]). A
//! call for a group this node does not (yet) host is refused, which the
//! sender treats as an unreachable peer and retries later.
//!
//! Proposals ([`RaftNode::write`], [`RaftNode::propose`]) are stamped with
//! the node's hybrid clock, which observes every timestamp its state
//! machines apply, so a new leader stamps above everything it has applied.
//! A proposal on a follower fails with [`RaftNodeError::NotLeader`] naming
//! the leader if known; routing it there is the caller's job.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Raft};
use parking_lot::{Mutex, RwLock};

use alopex_core::{Engine, HybridClock, Timestamp, TimestampSource};

use super::codec;
use super::command::{Command, CommandResponse, WriteOp};
use super::heartbeat::{self, HeartbeatBatcher, HeartbeatCounts};
use super::log_file::{SharedLog, SharedLogOptions};
use super::log_store::RangeLogStore;
use super::network::{RangeNetworkFactory, SnapshotChunk, method};
use super::snapshot::{SnapshotFile, SnapshotStore};
use super::span::RangeSpan;
use super::state_machine::{RangeStateMachine, blocking};
use super::types::{RangeConfig, RangeSnapshot};
use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcService};

/// The openraft handle of one range group on this node.
pub type RangeRaft = Raft<RangeConfig, RangeStateMachine>;

/// Why a replication call failed.
#[derive(Debug, thiserror::Error)]
pub enum RaftNodeError {
    /// Disk trouble in the log, the snapshots or the engine.
    #[error("raft storage: {0}")]
    Io(#[from] io::Error),
    /// This node does not host the range.
    #[error("range {0} is not hosted on this node")]
    UnknownRange(RangeId),
    /// This node is not the range's leader.
    #[error("not the leader of range {range}; leader: {leader:?}")]
    NotLeader {
        /// The range.
        range: RangeId,
        /// The leader, if known.
        leader: Option<NodeId>,
    },
    /// The state machine refused the command (the same on every replica).
    #[error("command rejected: {0}")]
    Rejected(String),
    /// openraft stopped or refused for another reason.
    #[error("raft: {0}")]
    Raft(String),
}

/// Tuning of a node's replication.
#[derive(Clone, Debug)]
pub struct RaftNodeOptions {
    /// openraft's configuration, shared by every group.
    pub raft: openraft::Config,
    /// The shared log's tuning.
    pub log: SharedLogOptions,
    /// How often at most the heartbeats of all groups to one peer go out
    /// as one call (see [`super::heartbeat`]): `None` is a tenth of the
    /// heartbeat interval, `Some(Duration::ZERO)` sends each on its own.
    pub heartbeat_window: Option<std::time::Duration>,
}

impl Default for RaftNodeOptions {
    fn default() -> Self {
        let raft = openraft::Config {
            cluster_name: "alopex".into(),
            heartbeat_interval: 100,
            election_timeout_min: 500,
            election_timeout_max: 1000,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(10_000),
            max_in_snapshot_log_to_keep: 1000,
            snapshot_max_chunk_size: 1 << 20,
            ..Default::default()
        };
        RaftNodeOptions { raft, log: SharedLogOptions::default(), heartbeat_window: None }
    }
}

/// A group hosted here: its span and its openraft handle.
#[derive(Clone)]
pub struct RangeGroup {
    /// The range.
    pub range: RangeId,
    /// Its keys.
    pub span: RangeSpan,
    /// openraft.
    pub raft: RangeRaft,
}

struct Incoming {
    path: PathBuf,
    file: File,
    next_offset: u64,
}

/// The replication side of one cluster node. See the module documentation.
pub struct RaftNode {
    id: NodeId,
    engine: Arc<Engine>,
    log: SharedLog,
    snapshot_root: PathBuf,
    rpc: Arc<dyn RpcClient>,
    config: Arc<openraft::Config>,
    clock: Arc<HybridClock>,
    groups: RwLock<HashMap<RangeId, RangeGroup>>,
    incoming: Mutex<HashMap<(NodeId, RangeId), Incoming>>,
    heartbeats: HeartbeatBatcher,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode").field("id", &self.id).finish_non_exhaustive()
    }
}

impl RaftNode {
    /// Opens the replication state of node `id` under `dir` (`raft-log/`,
    /// `raft-snapshots/`), over the node's `engine`, sending through `rpc`.
    /// No group runs until [`RaftNode::start_group`].
    pub fn open(
        id: NodeId,
        dir: &Path,
        engine: Arc<Engine>,
        rpc: Arc<dyn RpcClient>,
        opts: RaftNodeOptions,
    ) -> Result<Arc<RaftNode>, RaftNodeError> {
        let config = opts.raft.validate().map_err(|e| RaftNodeError::Raft(e.to_string()))?;
        let log = SharedLog::open(dir.join("raft-log"), opts.log)?;
        let snapshot_root = dir.join("raft-snapshots");
        std::fs::create_dir_all(&snapshot_root)?;
        let clock = Arc::new(HybridClock::new(alopex_core::SystemClock));
        clock.observe(engine.visible_ts());
        let window = opts
            .heartbeat_window
            .unwrap_or_else(|| heartbeat::default_window(std::time::Duration::from_millis(config.heartbeat_interval)));
        let heartbeats = HeartbeatBatcher::new(Arc::clone(&rpc), window);
        Ok(Arc::new(RaftNode {
            id,
            engine,
            log,
            snapshot_root,
            rpc,
            config: Arc::new(config),
            clock,
            groups: RwLock::new(HashMap::new()),
            incoming: Mutex::new(HashMap::new()),
            heartbeats,
        }))
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The node's shared log.
    pub fn log(&self) -> &SharedLog {
        &self.log
    }

    /// The heartbeats this node's groups sent, and the calls that carried
    /// them (see [`super::heartbeat`]).
    pub fn heartbeat_counts(&self) -> HeartbeatCounts {
        self.heartbeats.counts()
    }

    /// A fresh timestamp from the node's hybrid clock.
    pub fn now(&self) -> Timestamp {
        self.clock.next()
    }

    /// Starts (or restarts, recovering from the log and the engine) the
    /// group of `range` on this node. Idempotent.
    pub async fn start_group(&self, range: RangeId, span: RangeSpan) -> Result<RangeGroup, RaftNodeError> {
        if let Some(g) = self.group(range) {
            return Ok(g);
        }
        let engine = Arc::clone(&self.engine);
        let clock: Arc<dyn TimestampSource> = self.clock.clone();
        let root = self.snapshot_root.clone();
        let s = span.clone();
        let sm = blocking(move || RangeStateMachine::open(range.0, s, engine, clock, &root))?;
        let store = RangeLogStore::new(range.0, self.log.clone());
        let chunk = usize::try_from(self.config.snapshot_max_chunk_size).unwrap_or(1 << 20);
        let net =
            RangeNetworkFactory::new(range, Arc::clone(&self.rpc), chunk).with_heartbeats(self.heartbeats.clone());
        let raft = Raft::new(self.id.0, Arc::clone(&self.config), net, store, sm)
            .await
            .map_err(|e| RaftNodeError::Raft(e.to_string()))?;
        let group = RangeGroup { range, span, raft };
        let mut groups = self.groups.write();
        Ok(groups.entry(range).or_insert(group).clone())
    }

    /// Starts the group of `range` and, if it has never been initialized,
    /// makes `members` (id, address) its first voters. Call on one member.
    pub async fn bootstrap_group(
        &self,
        range: RangeId,
        span: RangeSpan,
        members: &[(NodeId, String)],
    ) -> Result<RangeGroup, RaftNodeError> {
        let group = self.start_group(range, span).await?;
        let voters: BTreeMap<u64, BasicNode> =
            members.iter().map(|(id, addr)| (id.0, BasicNode { addr: addr.clone() })).collect();
        match group.raft.initialize(voters).await {
            Ok(()) => Ok(group),
            Err(RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(group),
            Err(e) => Err(RaftNodeError::Raft(e.to_string())),
        }
    }

    /// Stops the group of `range` and forgets it: its log is reset (see
    /// [`SharedLog::reset`]) and its snapshots deleted. The range's keys
    /// and applied state in the engine are the caller's business. Returns
    /// whether a group was running.
    pub async fn remove_group(&self, range: RangeId) -> Result<bool, RaftNodeError> {
        let group = self.groups.write().remove(&range);
        let was = group.is_some();
        if let Some(g) = group
            && let Err(e) = g.raft.shutdown().await
        {
            tracing::warn!(%range, error = %e, "raft group did not shut down cleanly");
        }
        self.incoming.lock().retain(|(_, r), _| *r != range);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.log.reset(
            range.0,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )?;
        rx.await.map_err(|_| RaftNodeError::Raft("the raft log closed".into()))??;
        let dir = self.snapshot_root.join(format!("r{}", range.0));
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        Ok(was)
    }

    /// The group of `range`, if hosted here.
    pub fn group(&self, range: RangeId) -> Option<RangeGroup> {
        self.groups.read().get(&range).cloned()
    }

    /// The ranges hosted here.
    pub fn ranges(&self) -> Vec<RangeId> {
        let mut r: Vec<RangeId> = self.groups.read().keys().copied().collect();
        r.sort();
        r
    }

    /// Proposes `ops` to `range` at a fresh timestamp; returns it once the
    /// write is committed and applied here.
    pub async fn write(&self, range: RangeId, ops: Vec<WriteOp>) -> Result<Timestamp, RaftNodeError> {
        let ts = self.now();
        match self.propose(range, Command::Write { ts, ops }).await? {
            CommandResponse::Applied { .. } => Ok(ts),
            CommandResponse::Rejected { reason } => Err(RaftNodeError::Rejected(reason)),
            CommandResponse::ConditionFailed { .. } => Err(RaftNodeError::Rejected("condition failed".into())),
            // Transactions (issue 7): a key holding an intent refuses plain writes.
            other => Err(RaftNodeError::Rejected(format!("write refused: {other:?}"))),
        }
    }

    /// Proposes `cmd` to `range` and waits until it is applied here.
    pub async fn propose(&self, range: RangeId, cmd: Command) -> Result<CommandResponse, RaftNodeError> {
        let group = self.group(range).ok_or(RaftNodeError::UnknownRange(range))?;
        match group.raft.client_write(cmd).await {
            Ok(resp) => Ok(resp.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(RaftNodeError::NotLeader { range, leader: f.leader_id.map(NodeId) })
            }
            Err(e) => Err(RaftNodeError::Raft(e.to_string())),
        }
    }

    /// openraft's metrics of `range`'s group here (role, leader, applied
    /// and purged log ids, ...).
    pub fn metrics(&self, range: RangeId) -> Option<openraft::RaftMetrics<RangeConfig>> {
        use openraft::async_runtime::watch::WatchReceiver;
        Some(self.group(range)?.raft.metrics().borrow_watched().clone())
    }

    /// The leader of `range` as this node knows it.
    pub async fn leader(&self, range: RangeId) -> Option<NodeId> {
        self.group(range)?.raft.current_leader().await.map(NodeId)
    }

    /// Stops every group and closes the log (everything queued is made
    /// durable first).
    pub async fn shutdown(&self) {
        let groups: Vec<RangeGroup> = self.groups.write().drain().map(|(_, g)| g).collect();
        for g in groups {
            if let Err(e) = g.raft.shutdown().await {
                tracing::warn!(range = %g.range, error = %e, "raft group did not shut down cleanly");
            }
        }
        self.incoming.lock().clear();
        self.log.close();
    }

    async fn handle_raft(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Vec<u8>, String> {
        if method == method::HEARTBEATS {
            return heartbeat::serve(self, from, &body).await;
        }
        let group = self.group(range).ok_or_else(|| format!("range {range} is not hosted on node {}", self.id))?;
        let raft = &group.raft;
        let enc = |r: io::Result<Vec<u8>>| r.map_err(|e| e.to_string());
        match method {
            method::APPEND_ENTRIES => {
                let req = codec::decode(&body).map_err(|e| e.to_string())?;
                enc(codec::encode(&raft.append_entries(req).await.map_err(|e| e.to_string())?))
            }
            method::VOTE => {
                let req = codec::decode(&body).map_err(|e| e.to_string())?;
                enc(codec::encode(&raft.vote(req).await.map_err(|e| e.to_string())?))
            }
            method::PRE_VOTE => {
                let req = codec::decode(&body).map_err(|e| e.to_string())?;
                enc(codec::encode(&raft.pre_vote(req).await.map_err(|e| e.to_string())?))
            }
            method::TRANSFER_LEADER => {
                let req = codec::decode(&body).map_err(|e| e.to_string())?;
                let answer: Result<(), String> = match raft.handle_transfer_leader(req).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                enc(codec::encode(&answer))
            }
            method::SNAPSHOT_CHUNK => {
                let chunk: SnapshotChunk = codec::decode(&body).map_err(|e| e.to_string())?;
                let resp = self.receive_chunk(from, &group, chunk).await?;
                enc(codec::encode(&resp))
            }
            other => Err(format!("unknown raft method {other}")),
        }
    }

    /// Appends a snapshot chunk to its file; after the last, installs it.
    async fn receive_chunk(
        &self,
        from: NodeId,
        group: &RangeGroup,
        chunk: SnapshotChunk,
    ) -> Result<Option<openraft::raft::SnapshotResponse<RangeConfig>>, String> {
        let key = (from, group.range);
        let finished = {
            let mut incoming = self.incoming.lock();
            if chunk.offset == 0 {
                let store = SnapshotStore::open(&self.snapshot_root, group.range.0).map_err(|e| e.to_string())?;
                let path = store.incoming_dir().join(format!("from-{}.part", from.0));
                let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                incoming.insert(key, Incoming { path, file, next_offset: 0 });
            }
            let Some(inc) = incoming.get_mut(&key) else {
                return Err("snapshot chunk without a transfer in progress".into());
            };
            if inc.next_offset != chunk.offset {
                incoming.remove(&key);
                return Err("snapshot chunk out of order; restart the transfer".into());
            }
            if let Err(e) = inc.file.write_all(&chunk.data) {
                incoming.remove(&key);
                return Err(format!("writing snapshot: {e}"));
            }
            inc.next_offset += chunk.data.len() as u64;
            if !chunk.done {
                return Ok(None);
            }
            incoming.remove(&key)
        };
        let Some(inc) = finished else {
            return Err("snapshot transfer vanished".into());
        };
        inc.file.sync_all().map_err(|e| e.to_string())?;
        drop(inc.file);
        let snapshot = RangeSnapshot { meta: chunk.meta, snapshot: SnapshotFile { path: inc.path.clone() } };
        let result = group.raft.install_full_snapshot(chunk.vote, snapshot).await;
        // Installed snapshots were moved into place; anything left is refused.
        let _ = std::fs::remove_file(&inc.path);
        result.map(Some).map_err(|e| e.to_string())
    }
}

#[async_trait]
impl RpcService for RaftNode {
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
        self.handle_raft(from, range, method, body).await.map(Bytes::from)
    }
}
