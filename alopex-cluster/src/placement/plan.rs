//! # The placement decision: a pure function from cluster state to moves
//!
//! See the module documentation of [`crate::placement`] for the rules. The
//! function never reads a clock or a network: "down longer than" is judged
//! against [`ClusterState::now`], and counts are recomputed from the state,
//! projected forward by the moves already chosen in this step, so one call
//! does not pile every range onto the same empty node.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::{NodeId, RangeId};

/// A node's liveness as the failure detector reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Answering.
    Alive,
    /// Missed probes since this time (ms); not yet declared down.
    Suspect {
        /// Since when.
        since: u64,
    },
    /// Declared down at this time (ms).
    Down {
        /// Since when.
        since: u64,
    },
}

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeState {
    /// Its id.
    pub id: NodeId,
    /// Its liveness.
    pub status: NodeStatus,
    /// Being drained before removal from the cluster.
    pub decommissioning: bool,
}

/// A learner replica and whether it has caught up with the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Learner {
    /// Where it is.
    pub node: NodeId,
    /// Whether its log has reached the leader's (ready to vote).
    pub caught_up: bool,
}

/// One range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeState {
    /// Its id.
    pub id: RangeId,
    /// Its voting replicas.
    pub voters: Vec<NodeId>,
    /// Its learners.
    pub learners: Vec<Learner>,
    /// Its leader, if known.
    pub leader: Option<NodeId>,
    /// Its size in bytes (used to break ties toward moving small ranges).
    pub size: u64,
}

/// A snapshot of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterState {
    /// The time of the snapshot (ms, same clock as the statuses).
    pub now: u64,
    /// Every known node.
    pub nodes: Vec<NodeState>,
    /// Every range.
    pub ranges: Vec<RangeState>,
}

/// What placement aims for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Voters per range.
    pub replicas: usize,
    /// How long (ms) a node is down before its replicas are re-created.
    pub down_after: u64,
    /// The most moves one call returns.
    pub max_moves: usize,
    /// How many more leaderships than the least-leading voter a node may hold.
    pub leader_slack: usize,
    /// The most learners still catching up (receiving a snapshot) a node
    /// may have at once: a new learner is not placed on a node that has
    /// this many. Without the bound a node replacing a dead one was handed
    /// a learner of every range within seconds, and a hundred snapshots
    /// streamed into it at once.
    pub max_catching_up: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { replicas: 3, down_after: 5 * 60 * 1000, max_moves: 8, leader_slack: 1, max_catching_up: 4 }
    }
}

/// One step toward the placement the policy wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// Start a replica of `range` on `node` as a non-voting learner.
    AddLearner {
        /// The range.
        range: RangeId,
        /// The new replica's node.
        node: NodeId,
    },
    /// Make a caught-up learner a voter.
    Promote {
        /// The range.
        range: RangeId,
        /// The learner's node.
        node: NodeId,
    },
    /// Remove the replica (voter or learner) of `range` on `node`.
    RemoveReplica {
        /// The range.
        range: RangeId,
        /// The node.
        node: NodeId,
    },
    /// Move `range`'s leadership from `from` to `to`.
    TransferLeader {
        /// The range.
        range: RangeId,
        /// The current leader.
        from: NodeId,
        /// The new leader.
        to: NodeId,
    },
}

impl Move {
    /// The range the move is about.
    pub fn range(&self) -> RangeId {
        match *self {
            Move::AddLearner { range, .. }
            | Move::Promote { range, .. }
            | Move::RemoveReplica { range, .. }
            | Move::TransferLeader { range, .. } => range,
        }
    }
}

/// Ranges a planning step must leave alone, decided by the caller (the
/// control loop knows what it could not observe and what it moved a moment
/// ago; the plan is still a pure function of these inputs). Held ranges
/// still count toward every node's load, so the moves chosen for the others
/// are the same as if they had been planned around them. The planner skips
/// them *while choosing*, so a held range never takes a slot of
/// `Policy::max_moves` that another range could have used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hold {
    /// No moves at all (e.g. their leader did not answer).
    pub frozen: BTreeSet<RangeId>,
    /// No leadership moves (e.g. one was made recently).
    pub no_transfer: BTreeSet<RangeId>,
    /// No leadership moves anywhere (e.g. the planner has just taken over).
    pub transfers_off: bool,
}

impl Hold {
    fn transfer_ok(&self, r: RangeId) -> bool {
        !self.transfers_off && !self.no_transfer.contains(&r)
    }
}

struct View<'a> {
    state: &'a ClusterState,
    policy: &'a Policy,
    hold: &'a Hold,
    nodes: BTreeMap<NodeId, &'a NodeState>,
}

impl View<'_> {
    /// Answering now (counts toward a quorum).
    fn available(&self, n: NodeId) -> bool {
        self.nodes.get(&n).is_some_and(|s| matches!(s.status, NodeStatus::Alive))
    }
    /// Down longer than the policy tolerates, or unknown.
    fn dead(&self, n: NodeId) -> bool {
        match self.nodes.get(&n) {
            None => true,
            Some(s) => match s.status {
                NodeStatus::Down { since } => self.state.now.saturating_sub(since) >= self.policy.down_after,
                _ => false,
            },
        }
    }
    /// A replica here should be replaced.
    fn unusable(&self, n: NodeId) -> bool {
        self.dead(n) || self.nodes.get(&n).is_some_and(|s| s.decommissioning)
    }
    /// May receive new replicas.
    fn eligible(&self, n: NodeId) -> bool {
        self.available(n) && !self.nodes.get(&n).is_some_and(|s| s.decommissioning)
    }
}

/// Whether a voter set keeps a working quorum: available voters form a
/// majority of it.
fn quorum_ok(view: &View<'_>, voters: &[NodeId]) -> bool {
    let up = voters.iter().filter(|v| view.available(**v)).count();
    up > voters.len() / 2
}

/// The replicas of a brand-new range: the `policy.replicas` eligible nodes
/// with the fewest replicas (ties by id), the first as leader.
pub fn initial_replicas(state: &ClusterState, policy: &Policy) -> Vec<NodeId> {
    let hold = Hold::default();
    let view = View { state, policy, hold: &hold, nodes: state.nodes.iter().map(|n| (n.id, n)).collect() };
    let load = replica_counts(state);
    let leaders = leader_counts(state);
    let mut cands: Vec<NodeId> = state.nodes.iter().map(|n| n.id).filter(|n| view.eligible(*n)).collect();
    cands.sort_by_key(|n| (load.get(n).copied().unwrap_or(0), leaders.get(n).copied().unwrap_or(0), *n));
    cands.truncate(policy.replicas);
    cands
}

fn replica_counts(state: &ClusterState) -> BTreeMap<NodeId, usize> {
    let mut c: BTreeMap<NodeId, usize> = state.nodes.iter().map(|n| (n.id, 0)).collect();
    for r in &state.ranges {
        for n in r.voters.iter().copied().chain(r.learners.iter().map(|l| l.node)) {
            *c.entry(n).or_insert(0) += 1;
        }
    }
    c
}

fn leader_counts(state: &ClusterState) -> BTreeMap<NodeId, usize> {
    let mut c: BTreeMap<NodeId, usize> = state.nodes.iter().map(|n| (n.id, 0)).collect();
    for l in state.ranges.iter().filter_map(|r| r.leader) {
        *c.entry(l).or_insert(0) += 1;
    }
    c
}

/// Plans the next moves. See [`crate::placement`] for the rules.
pub fn plan(state: &ClusterState, policy: &Policy) -> Vec<Move> {
    plan_holding(state, policy, &Hold::default())
}

/// [`plan`], leaving the ranges in `hold` alone.
pub fn plan_holding(state: &ClusterState, policy: &Policy, hold: &Hold) -> Vec<Move> {
    let view = View { state, policy, hold, nodes: state.nodes.iter().map(|n| (n.id, n)).collect() };
    let mut load = replica_counts(state);
    let mut leaders = leader_counts(state);
    let mut catching = catching_up(state);
    let mut moves = Vec::new();
    let mut ranges: Vec<&RangeState> = state.ranges.iter().collect();
    // Small ranges first: they are the cheapest to move.
    ranges.sort_by_key(|r| (r.size, r.id));
    let eligible: Vec<NodeId> = state.nodes.iter().map(|n| n.id).filter(|n| view.eligible(*n)).collect();

    for pass in 0..2 {
        for r in &ranges {
            if moves.len() >= policy.max_moves {
                return moves;
            }
            if hold.frozen.contains(&r.id) || moves.iter().any(|m: &Move| m.range() == r.id) {
                continue;
            }
            // Nodes already receiving as many snapshots as the policy
            // allows take no new learner in this step.
            let open: Vec<NodeId> = eligible
                .iter()
                .copied()
                .filter(|n| catching.get(n).copied().unwrap_or(0) < policy.max_catching_up)
                .collect();
            let m = if pass == 0 {
                repair(&view, r, &load, &open)
            } else {
                balance(&view, r, &load, &leaders, &eligible, &open)
            };
            if let Some(m) = m {
                project(&m, &mut load, &mut leaders);
                if let Move::AddLearner { node, .. } = m {
                    *catching.entry(node).or_insert(0) += 1;
                }
                moves.push(m);
            }
        }
    }
    moves
}

/// Learners not caught up yet, per node.
fn catching_up(state: &ClusterState) -> BTreeMap<NodeId, usize> {
    let mut c = BTreeMap::new();
    for l in state.ranges.iter().flat_map(|r| r.learners.iter()).filter(|l| !l.caught_up) {
        *c.entry(l.node).or_insert(0) += 1;
    }
    c
}

fn project(m: &Move, load: &mut BTreeMap<NodeId, usize>, leaders: &mut BTreeMap<NodeId, usize>) {
    match *m {
        Move::AddLearner { node, .. } => *load.entry(node).or_insert(0) += 1,
        Move::RemoveReplica { node, .. } => {
            let c = load.entry(node).or_insert(0);
            *c = c.saturating_sub(1);
        }
        Move::Promote { .. } => {}
        Move::TransferLeader { from, to, .. } => {
            let c = leaders.entry(from).or_insert(0);
            *c = c.saturating_sub(1);
            *leaders.entry(to).or_insert(0) += 1;
        }
    }
}

/// The least loaded eligible node not already holding a replica of `r`.
fn target(r: &RangeState, load: &BTreeMap<NodeId, usize>, eligible: &[NodeId]) -> Option<NodeId> {
    eligible
        .iter()
        .copied()
        .filter(|n| !r.voters.contains(n) && !r.learners.iter().any(|l| l.node == *n))
        .min_by_key(|n| (load.get(n).copied().unwrap_or(0), *n))
}

/// Rules 1-4: promote, shed surplus voters, drop useless learners, replace.
fn repair(view: &View<'_>, r: &RangeState, load: &BTreeMap<NodeId, usize>, eligible: &[NodeId]) -> Option<Move> {
    let policy = view.policy;
    // 1. Promote a caught-up learner on a usable node.
    if let Some(l) = r.learners.iter().find(|l| l.caught_up && view.eligible(l.node)) {
        let mut next = r.voters.clone();
        next.push(l.node);
        if quorum_ok(view, &next) {
            return Some(Move::Promote { range: r.id, node: l.node });
        }
    }
    // 2. Shed a surplus voter.
    if r.voters.len() > policy.replicas {
        let mut cands = r.voters.clone();
        cands.sort_by_key(|n| {
            (!view.unusable(*n), !view.available(*n), std::cmp::Reverse(load.get(n).copied().unwrap_or(0)), *n)
        });
        for victim in cands {
            let rest: Vec<NodeId> = r.voters.iter().copied().filter(|v| *v != victim).collect();
            if !quorum_ok(view, &rest) {
                continue;
            }
            if r.leader == Some(victim) {
                if !view.hold.transfer_ok(r.id) {
                    continue;
                }
                let to = rest.iter().copied().filter(|v| view.eligible(*v)).min_by_key(|v| *v)?;
                return Some(Move::TransferLeader { range: r.id, from: victim, to });
            }
            return Some(Move::RemoveReplica { range: r.id, node: victim });
        }
    }
    // 3. A learner that cannot become useful goes.
    if let Some(l) = r.learners.iter().find(|l| !view.eligible(l.node)) {
        return Some(Move::RemoveReplica { range: r.id, node: l.node });
    }
    // 4. Too few good voters: add a learner (one at a time).
    let good = r.voters.iter().filter(|v| !view.unusable(**v)).count();
    if good < policy.replicas
        && r.learners.is_empty()
        && let Some(node) = target(r, load, eligible)
    {
        return Some(Move::AddLearner { range: r.id, node });
    }
    None
}

/// Rules 5-6: even out replica counts, then leaderships.
fn balance(
    view: &View<'_>,
    r: &RangeState,
    load: &BTreeMap<NodeId, usize>,
    leaders: &BTreeMap<NodeId, usize>,
    eligible: &[NodeId],
    open: &[NodeId],
) -> Option<Move> {
    let settled =
        r.learners.is_empty() && r.voters.len() == view.policy.replicas && r.voters.iter().all(|v| view.available(*v));
    if settled {
        let count = |n: &NodeId| load.get(n).copied().unwrap_or(0);
        let busiest = r.voters.iter().copied().filter(|v| view.eligible(*v)).max_by_key(|v| (count(v), *v));
        // The least loaded node overall decides whether to move; a move
        // waits while that node is receiving its fill of snapshots.
        let least = target(r, load, eligible);
        if let (Some(from), Some(to)) = (busiest, least)
            && open.contains(&to)
            && count(&from) > count(&to) + 1
        {
            return Some(Move::AddLearner { range: r.id, node: to });
        }
    }
    if !view.hold.transfer_ok(r.id) {
        return None;
    }
    let leader = r.leader?;
    let lcount = |n: &NodeId| leaders.get(n).copied().unwrap_or(0);
    let best =
        r.voters.iter().copied().filter(|v| *v != leader && view.eligible(*v)).min_by_key(|v| (lcount(v), *v))?;
    let draining = view.nodes.get(&leader).is_some_and(|s| s.decommissioning);
    if draining || lcount(&leader) > lcount(&best) + view.policy.leader_slack {
        return Some(Move::TransferLeader { range: r.id, from: leader, to: best });
    }
    None
}
