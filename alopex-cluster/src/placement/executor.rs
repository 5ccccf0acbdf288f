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

use std::collections::BTreeSet;

use async_trait::async_trait;
use openraft::{BasicNode, ChangeMembers};

use super::plan::{Learner, Move, RangeState};
use crate::ids::{NodeId, RangeId};
use crate::raft::{RaftNode, RaftNodeError};

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
