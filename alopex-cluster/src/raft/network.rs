//! # Raft RPCs over the RPC seam
//!
//! openraft asks, per group and per peer, for a client that can send
//! append-entries, votes and snapshots. [`RangeNetworkFactory`] builds those
//! clients on top of the node's one [`RpcClient`]: every call is addressed
//! to `(peer, range)` with a method number from [`method`] and a postcard
//! body, so all groups share the transport's one connection per peer (the
//! QUIC transport multiplexes them as streams tagged by range).
//!
//! **Snapshots** travel as a sequence of [`SnapshotChunk`] calls of at most
//! `chunk_bytes` each, read from the snapshot's SSTable file, never loaded
//! whole; the receiver appends them to a file and installs it after the
//! last chunk (see [`super::node`]). A chunk that arrives out of order makes
//! the receiver drop the transfer, and the leader starts over.
//!
//! **Heartbeats** come through the client openraft asks for with
//! `new_heartbeat_client`; when the factory has a [`HeartbeatBatcher`],
//! that client's empty `AppendEntries` are coalesced per peer with every
//! other group's (see [`super::heartbeat`]). Entries, votes and snapshots
//! never go through the batcher.
//!
//! Transport failures map to openraft's `Unreachable`, which makes the
//! replication task back off instead of spinning on a dead peer.
//!
//! openraft's heartbeat workers have no such backoff: a worker sends
//! whenever its group asks for a heartbeat, and a leader waiting for a
//! read-index quorum asks again as soon as an answer fails. Against a
//! peer that fails at once (partitioned, or inside the transport's redial
//! backoff) that is a busy loop: the simulation's virtual clock stopped
//! advancing on it (`tests/sim_ranges.rs`), and a real leader cut off from
//! its followers would burn a core. So a heartbeat that fails sooner than
//! half its time-to-live reports the failure only once that half has passed
//! (at most two failed heartbeats per peer per interval).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest, TransferLeaderResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend, RaftNetworkV2};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec;
use super::heartbeat::HeartbeatBatcher;
use super::snapshot::SnapshotFile;
use super::state_machine::blocking;
use super::types::{RangeConfig, RangeSnapshot, SnapshotMeta, Vote};
use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcError};

/// The method numbers of Raft calls on the RPC seam.
pub mod method {
    /// `AppendEntriesRequest` -> `AppendEntriesResponse`.
    pub const APPEND_ENTRIES: u16 = 1;
    /// `VoteRequest` -> `VoteResponse`.
    pub const VOTE: u16 = 2;
    /// `VoteRequest` -> `VoteResponse` (pre-vote, changes nothing).
    pub const PRE_VOTE: u16 = 3;
    /// [`super::SnapshotChunk`] -> `Option<SnapshotResponse>` (`Some` after the last chunk).
    pub const SNAPSHOT_CHUNK: u16 = 4;
    /// `TransferLeaderRequest` -> `Result<(), String>`: the leader hands
    /// leadership to the called node. Numbered after the range protocol's
    /// methods (5-12), which came first.
    pub const TRANSFER_LEADER: u16 = 13;
    /// `Vec<(RangeId, encoded AppendEntriesRequest)>` ->
    /// `Vec<Result<encoded AppendEntriesResponse, String>>`: the coalesced
    /// heartbeats of many groups to one peer (see [`crate::raft::heartbeat`]),
    /// addressed to [`crate::raft::heartbeat::BATCH_RANGE`]; each member
    /// answers on its own. Numbered after `TRANSFER_LEADER`.
    pub const HEARTBEATS: u16 = 14;

    /// Whether `m` is served by the Raft layer (rather than the range
    /// layer's KV and placement methods, 5-12).
    pub fn is_raft(m: u16) -> bool {
        m < 5 || m == TRANSFER_LEADER || m == HEARTBEATS
    }
}

/// One piece of a snapshot transfer.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SnapshotChunk {
    /// The leader's vote.
    pub vote: Vote,
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// Where `data` goes in the file.
    pub offset: u64,
    /// The bytes.
    pub data: Bytes,
    /// Whether this is the last chunk.
    pub done: bool,
}

/// Builds openraft network clients of one range group.
pub struct RangeNetworkFactory {
    range: RangeId,
    client: Arc<dyn RpcClient>,
    chunk_bytes: usize,
    heartbeats: Option<HeartbeatBatcher>,
}

impl RangeNetworkFactory {
    /// Clients of `range` over `client`, sending snapshots in pieces of
    /// `chunk_bytes`.
    pub fn new(range: RangeId, client: Arc<dyn RpcClient>, chunk_bytes: usize) -> Self {
        RangeNetworkFactory { range, client, chunk_bytes: chunk_bytes.max(1), heartbeats: None }
    }

    /// Sends the group's heartbeats through `batcher` (shared by all of the
    /// node's groups) instead of one call each.
    pub fn with_heartbeats(mut self, batcher: HeartbeatBatcher) -> Self {
        self.heartbeats = Some(batcher);
        self
    }

    fn client(&self, target: u64, heartbeat_client: bool) -> RangeNetwork {
        RangeNetwork {
            target: NodeId(target),
            range: self.range,
            client: Arc::clone(&self.client),
            chunk_bytes: self.chunk_bytes,
            heartbeats: if heartbeat_client { self.heartbeats.clone() } else { None },
            heartbeat_client,
        }
    }
}

impl RaftNetworkFactory<RangeConfig> for RangeNetworkFactory {
    type Network = RangeNetwork;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> RangeNetwork {
        self.client(target, false)
    }

    async fn new_heartbeat_client(&mut self, target: u64, _node: &BasicNode) -> RangeNetwork {
        self.client(target, true)
    }
}

/// Sends one group's Raft calls to one peer.
pub struct RangeNetwork {
    target: NodeId,
    range: RangeId,
    client: Arc<dyn RpcClient>,
    chunk_bytes: usize,
    /// Set on heartbeat clients: empty `AppendEntries` go through it.
    heartbeats: Option<HeartbeatBatcher>,
    /// This is the client openraft sends heartbeats with (failures are
    /// paced, see the module documentation).
    heartbeat_client: bool,
}

fn unreachable_err(e: impl std::fmt::Display) -> Unreachable<RangeConfig> {
    Unreachable::from_string(e.to_string())
}

impl RangeNetwork {
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: u16,
        req: &Req,
        ttl: Duration,
    ) -> Result<Resp, RpcError> {
        let body = codec::encode(req).map_err(|e| RpcError::Unreachable(self.target, e.to_string()))?;
        let call = self.client.call(self.target, self.range, method, Bytes::from(body));
        let answer = match tokio::time::timeout(ttl, call).await {
            Ok(r) => r?,
            Err(_) => return Err(RpcError::Timeout(self.target)),
        };
        codec::decode(&answer).map_err(|e| RpcError::Remote { node: self.target, message: e.to_string() })
    }

    async fn rpc<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: u16,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<RangeConfig>> {
        self.call(method, req, option.hard_ttl()).await.map_err(|e| RPCError::Unreachable(unreachable_err(e)))
    }
}

impl RaftNetworkV2<RangeConfig> for RangeNetwork {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<RangeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<RangeConfig>, RPCError<RangeConfig>> {
        if !(self.heartbeat_client && rpc.entries.is_empty()) {
            return self.rpc(method::APPEND_ENTRIES, &rpc, &option).await;
        }
        let started = tokio::time::Instant::now();
        let result = match &self.heartbeats {
            Some(batcher) => {
                let unreachable = |e: RpcError| RPCError::Unreachable(unreachable_err(e));
                let body = codec::encode(&rpc).map_err(|e| RPCError::Unreachable(unreachable_err(e)))?;
                let answer = batcher.call(self.target, self.range, Bytes::from(body), option.hard_ttl()).await;
                answer.map_err(unreachable).and_then(|answer| {
                    codec::decode(&answer)
                        .map_err(|e| unreachable(RpcError::Remote { node: self.target, message: e.to_string() }))
                })
            }
            None => self.rpc(method::APPEND_ENTRIES, &rpc, &option).await,
        };
        if result.is_err() {
            tokio::time::sleep_until(started + option.hard_ttl() / 2).await;
        }
        result
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<RangeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<RangeConfig>, RPCError<RangeConfig>> {
        self.rpc(method::VOTE, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<RangeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<RangeConfig>, RPCError<RangeConfig>> {
        self.rpc(method::PRE_VOTE, &rpc, &option).await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<RangeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<RangeConfig>, RPCError<RangeConfig>> {
        let answer: Result<(), String> = self.rpc(method::TRANSFER_LEADER, &req, &option).await?;
        answer.map_err(|e| RPCError::Unreachable(unreachable_err(e)))?;
        Ok(Ok(()))
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: RangeSnapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<RangeConfig>, StreamingError<RangeConfig>> {
        let mut cancel = std::pin::pin!(cancel);
        let path = snapshot.snapshot.path.clone();
        let mut file = std::fs::File::open(&path)
            .map_err(|e| StreamingError::Unreachable(unreachable_err(format!("{}: {e}", path.display()))))?;
        let chunk_bytes = option.snapshot_chunk_size().unwrap_or(self.chunk_bytes).max(1);
        // A chunk may take longer than a heartbeat; give each a generous deadline.
        let ttl = option.hard_ttl().max(Duration::from_secs(10));
        let mut offset = 0u64;
        loop {
            let mut data = vec![0u8; chunk_bytes];
            let n = blocking(|| read_full(&mut file, &mut data))
                .map_err(|e| StreamingError::Unreachable(unreachable_err(e)))?;
            data.truncate(n);
            let done = n < chunk_bytes;
            let chunk = SnapshotChunk { vote, meta: snapshot.meta.clone(), offset, data: Bytes::from(data), done };
            let call = self.call::<_, Option<SnapshotResponse<RangeConfig>>>(method::SNAPSHOT_CHUNK, &chunk, ttl);
            let answer = tokio::select! {
                r = call => r.map_err(|e| StreamingError::Unreachable(unreachable_err(e)))?,
                closed = &mut cancel => return Err(StreamingError::Closed(closed)),
            };
            offset += n as u64;
            match answer {
                Some(resp) => return Ok(resp),
                None if done => {
                    return Err(StreamingError::Unreachable(unreachable_err("peer did not finish the snapshot")));
                }
                None => {}
            }
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
