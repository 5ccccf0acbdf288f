//! # Executing placement moves through openraft membership changes
//!
//! [`super::plan()`] decides; this file does, one move at a time, on the
//! range's current leader (only a leader may change membership):
//!
//! - `AddLearner`: make sure the target node hosts an (empty) group of the
//!   range ([`ReplicaHost::ensure_replica`]), then `add_learner` without
//!   waiting for it to catch up; the leader streams it the log or a
//!   snapshot, and [`observe`] reports it caught up later;
//! - `Promote`: `change_membership(AddVoterIds)`, openraft's joint
//!   consensus;
//! - `RemoveReplica`: `change_membership(RemoveVoters)` for a voter (not
//!   retained as a learner) or `RemoveNodes` for a learner, then
//!   [`ReplicaHost::drop_replica`] on the node;
//! - `TransferLeader`: openraft's leadership transfer trigger.
//!
//! [`observe`] reads back the [`RangeState`] from the leader's metrics, so a
//! control loop is `observe → plan → execute → repeat`.
//!
//! **Over the network.** A running node (`crate::node`) plans on the meta
//! range's leader but must execute on each range's leader, wherever it is.
//! [`serve`] is the leader's side of two RPCs of the range protocol:
//! `RANGE_STATUS` answers [`observe`] plus the range's shape and its
//! lagging members, and `PLACE_MOVE` runs [`execute`] with an
//! [`RpcReplicaHost`], which starts and drops replicas on other nodes with
//! the `HOST_REPLICA` and `DROP_REPLICA` RPCs. A follower answers "not
//! leader" with its hint, so the caller's gateway follows it.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use openraft::{BasicNode, ChangeMembers};

use super::plan::{Learner, Move, RangeState};
use crate::ids::{NodeId, RangeId};
use crate::raft::{RaftNode, RaftNodeError, RangeSpan, codec};
use crate::range::RangeNode;
use crate::range::protocol::{HostRequest, KvReply, MoveRequest, RangeStatus, method};
use crate::rpc::RpcClient;

/// How the executor reaches the nodes of the cluster.
#[async_trait]
pub trait ReplicaHost: Send + Sync {
    /// The node `id`, if it is running here (in-process or via a handle).
    fn node(&self, id: NodeId) -> Option<std::sync::Arc<RaftNode>>;
    /// Starts an empty group of `range` on `node` so it can become a learner.
    async fn ensure_replica(&self, node: NodeId, range: RangeId) -> Result<(), RaftNodeError>;
    /// Stops and forgets the group of `range` on `node` once removed.
    async fn drop_replica(&self, node: NodeId, range: RangeId) -> Result<(), RaftNodeError>;
}

fn raft_err(e: impl std::fmt::Display) -> RaftNodeError {
    RaftNodeError::Raft(e.to_string())
}

/// Applies one move through `leader`, the range's current leader.
pub async fn execute(leader: &RaftNode, mv: Move, host: &dyn ReplicaHost) -> Result<(), RaftNodeError> {
    match mv {
        Move::AddLearner { range, node } => {
            host.ensure_replica(node, range).await?;
            let g = leader.group(range).ok_or(RaftNodeError::UnknownRange(range))?;
            seed_by_snapshot(leader, range, &g.raft, node).await?;
            g.raft
                .add_learner(node.0, BasicNode { addr: format!("node-{}", node.0) }, false)
                .await
                .map_err(raft_err)?;
        }
        Move::Promote { range, node } => {
            let g = leader.group(range).ok_or(RaftNodeError::UnknownRange(range))?;
            let ids: BTreeSet<u64> = [node.0].into();
            g.raft.change_membership(ChangeMembers::AddVoterIds(ids), false).await.map_err(raft_err)?;
        }
        Move::RemoveReplica { range, node } => {
            let g = leader.group(range).ok_or(RaftNodeError::UnknownRange(range))?;
            let ids: BTreeSet<u64> = [node.0].into();
            let is_voter = observe(leader, range).is_some_and(|r| r.voters.contains(&node));
            let change = if is_voter { ChangeMembers::RemoveVoters(ids) } else { ChangeMembers::RemoveNodes(ids) };
            g.raft.change_membership(change, false).await.map_err(raft_err)?;
            host.drop_replica(node, range).await?;
        }
        Move::TransferLeader { range, to, .. } => {
            let g = leader.group(range).ok_or(RaftNodeError::UnknownRange(range))?;
            g.raft.trigger().transfer_leader(to.0).await.map_err(raft_err)?;
        }
    }
    Ok(())
}

/// Makes the leader's log start at a snapshot covering everything applied,
/// so that `target`, a member with no log yet, is seeded by that snapshot
/// and never by replaying the log from index 1: a range born by a split
/// has its older data in its parent's log, not its own, and a replay would
/// miss it. Builds the snapshot if the current one is behind, then purges
/// the log, waiting (bounded) for both.
///
/// The purge goes no further than what every *other* member has already
/// replicated: the first version purged up to the snapshot, so a follower
/// that was merely slow (a busy node under a bulk load) had to catch up by
/// snapshot too. A snapshot taken after a split skips that split on the
/// follower, so the follower never started the right half, and each such
/// repair seeded the next: in `benches/cluster_nodes.rs` a node ended up
/// running none of the newest ranges, and when another node stopped, those
/// ranges had one running replica of three and never elected a leader.
async fn seed_by_snapshot(
    leader: &RaftNode,
    range: RangeId,
    raft: &crate::raft::RangeRaft,
    target: NodeId,
) -> Result<(), RaftNodeError> {
    const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
    let index = |l: Option<crate::raft::types::LogId>| l.map_or(0, |l| l.index);
    let m = leader.metrics(range).ok_or(RaftNodeError::UnknownRange(range))?;
    let applied = index(m.last_applied);
    if applied == 0 || (index(m.snapshot) >= applied && m.purged.is_some()) {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    if index(m.snapshot) < applied {
        raft.trigger().snapshot().await.map_err(raft_err)?;
    }
    let snapshot = loop {
        let s = leader.metrics(range).map_or(0, |m| index(m.snapshot));
        if s >= applied {
            break s;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RaftNodeError::Raft(format!("{range}: the snapshot for a new replica is not ready")));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // Keep what the other members still need: purge up to the slowest
    // match among them (members that matched nothing need a snapshot
    // anyway). Purging index 0 already makes `target` take the snapshot.
    let m = leader.metrics(range).ok_or(RaftNodeError::UnknownRange(range))?;
    let needed = m
        .replication
        .as_ref()
        .into_iter()
        .flatten()
        .filter(|(id, _)| **id != leader.id().0 && **id != target.0)
        .filter_map(|(_, matched)| matched.as_ref().map(|l| l.index))
        .min();
    let upto = needed.map_or(snapshot, |n| n.min(snapshot));
    if m.purged.is_some_and(|p| p.index >= upto) {
        return Ok(());
    }
    raft.trigger().purge_log(upto).await.map_err(raft_err)?;
    loop {
        if leader.metrics(range).is_some_and(|m| m.purged.is_some_and(|p| p.index >= upto)) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RaftNodeError::Raft(format!("{range}: the log was not purged for a new replica")));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The range as `node` sees it: voters and learners from its membership,
/// the leader it knows, and (on the leader) which learners are within
/// `CAUGHT_UP_LAG` entries of the leader's log.
pub fn observe(node: &RaftNode, range: RangeId) -> Option<RangeState> {
    const CAUGHT_UP_LAG: u64 = 10;
    let m = node.metrics(range)?;
    let membership = m.membership_config.membership();
    let voters: Vec<NodeId> = membership.voter_ids().map(NodeId).collect();
    let last = m.last_log_index.unwrap_or(0);
    let learners = membership
        .learner_ids()
        .map(|id| {
            let matched =
                m.replication.as_ref().and_then(|r| r.get(&id).cloned().flatten()).map(|l| l.index).unwrap_or(0);
            Learner { node: NodeId(id), caught_up: m.replication.is_some() && matched + CAUGHT_UP_LAG >= last }
        })
        .collect();
    Some(RangeState { id: range, voters, learners, leader: m.current_leader.map(NodeId), size: 0 })
}

/// [`ReplicaHost`] over the RPC seam: starts and drops groups on other
/// nodes with `HOST_REPLICA` / `DROP_REPLICA`, giving a new replica the
/// range's current span and generation.
pub struct RpcReplicaHost {
    /// The transport.
    pub rpc: Arc<dyn RpcClient>,
    /// The range's current span.
    pub span: RangeSpan,
    /// Its current generation.
    pub generation: u64,
}

impl RpcReplicaHost {
    async fn call(&self, node: NodeId, range: RangeId, method: u16, body: Vec<u8>) -> Result<(), RaftNodeError> {
        let answer = self.rpc.call(node, range, method, Bytes::from(body)).await.map_err(raft_err)?;
        match codec::decode::<KvReply>(&answer)? {
            KvReply::Done => Ok(()),
            other => Err(RaftNodeError::Raft(format!("{node} answered {other:?} for {range}"))),
        }
    }
}

#[async_trait]
impl ReplicaHost for RpcReplicaHost {
    fn node(&self, _id: NodeId) -> Option<Arc<RaftNode>> {
        None
    }

    async fn ensure_replica(&self, node: NodeId, range: RangeId) -> Result<(), RaftNodeError> {
        let req = HostRequest { span: self.span.clone(), generation: self.generation };
        self.call(node, range, method::HOST_REPLICA, codec::encode(&req)?).await
    }

    async fn drop_replica(&self, node: NodeId, range: RangeId) -> Result<(), RaftNodeError> {
        self.call(node, range, method::DROP_REPLICA, Vec::new()).await
    }
}

/// The status of `range` as this node, its leader, reports it.
pub fn status(node: &RangeNode, range: RangeId) -> Option<RangeStatus> {
    let state = observe(node.raft(), range)?;
    let shape = node.shape(range)?;
    let m = node.raft().metrics(range)?;
    // Lagging means "has matched nothing": a member that does not run the
    // group (it missed a split) never answers an append. A member that is
    // merely behind is not reported: repairing it seeds it by a snapshot,
    // and a snapshot taken after a split makes it skip that split (see
    // `seed_by_snapshot`). The first version also reported members over
    // 1,000 entries behind, which under a bulk load was every busy node.
    // A member that has acknowledged a heartbeat runs the group, even if
    // it has not matched an entry yet (a new leader's view of a slow one).
    let acked = |id: u64| m.heartbeat.as_ref().and_then(|h| h.get(&id).cloned().flatten()).is_some();
    let lagging = match &m.replication {
        Some(rep) => {
            rep.iter().filter(|(id, l)| **id != node.id().0 && l.is_none() && !acked(**id)).map(|(id, _)| *id).collect()
        }
        None => Vec::new(),
    };
    Some(RangeStatus {
        voters: state.voters.iter().map(|n| n.0).collect(),
        learners: state.learners.iter().map(|l| (l.node.0, l.caught_up)).collect(),
        leader: state.leader.map(|n| n.0),
        lagging,
        span: shape.span,
        generation: shape.generation,
    })
}

/// The leader's side of `RANGE_STATUS` and `PLACE_MOVE` (see the module
/// documentation).
pub async fn serve(node: &RangeNode, _from: NodeId, range: RangeId, method: u16, body: &[u8]) -> KvReply {
    if node.is_stopped() || node.raft().group(range).is_none() {
        return KvReply::RangeNotHere;
    }
    if !node.is_leader(range) {
        let leader = node.raft().metrics(range).and_then(|m| m.current_leader).filter(|l| *l != node.id().0);
        return KvReply::NotLeader { leader };
    }
    if method == method::PLACE_MOVE {
        let req: MoveRequest = match codec::decode(body) {
            Ok(r) => r,
            Err(e) => return KvReply::Failed(format!("bad request: {e}")),
        };
        let Some(shape) = node.shape(range) else { return KvReply::RangeNotHere };
        let host = RpcReplicaHost { rpc: Arc::clone(node.rpc()), span: shape.span, generation: shape.generation };
        if let MoveRequest::Repair(n) = req {
            let Some(g) = node.raft().group(range) else { return KvReply::RangeNotHere };
            let repaired = match seed_by_snapshot(node.raft(), range, &g.raft, NodeId(n)).await {
                Ok(()) => host.ensure_replica(NodeId(n), range).await,
                Err(e) => Err(e),
            };
            return match (repaired, status(node, range)) {
                (Err(e), _) => KvReply::Unavailable(format!("repairing {range} on n{n}: {e}")),
                (Ok(()), Some(s)) => KvReply::Status(s),
                (Ok(()), None) => KvReply::RangeNotHere,
            };
        }
        let mv = match req {
            MoveRequest::AddLearner(n) => Move::AddLearner { range, node: NodeId(n) },
            MoveRequest::Promote(n) => Move::Promote { range, node: NodeId(n) },
            MoveRequest::Remove(n) => Move::RemoveReplica { range, node: NodeId(n) },
            MoveRequest::TransferLeader(n) => Move::TransferLeader { range, from: node.id(), to: NodeId(n) },
            MoveRequest::Repair(_) => return KvReply::Failed("unreachable".into()),
        };
        if let Err(e) = execute(node.raft(), mv, &host).await {
            return KvReply::Unavailable(format!("{mv:?}: {e}"));
        }
    }
    match status(node, range) {
        Some(s) => KvReply::Status(s),
        None => KvReply::RangeNotHere,
    }
}
