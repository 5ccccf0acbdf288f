//! # Placement: where each range's replicas and leader should live
//!
//! Deciding and doing are kept apart. [`plan()`] is a **pure function** of a
//! snapshot of the cluster ([`ClusterState`]: nodes with their liveness and
//! ranges with their voters, learners, leader and size) and a [`Policy`];
//! it returns a short list of [`Move`]s. Because it is pure it can be tested
//! exhaustively: a test applies the moves to a model of the cluster, calls
//! it again, and checks that the sequence converges and that no move ever
//! endangers a range's quorum. Executing moves (openraft membership changes
//! on the range's leader, see [`executor`]) is separate, and so is deciding
//! *when* to plan: a caller re-reads the state after the moves it issued
//! took effect and plans again.
//!
//! The rules, in priority order per range (at most one move per range per
//! step, and at most [`Policy::max_moves`] in total):
//!
//! 1. a **caught-up learner** is promoted to voter;
//! 2. a range with **more voters** than [`Policy::replicas`] sheds one,
//!    preferring a dead (down longer than [`Policy::down_after`]) or
//!    decommissioning node, then the node with the most replicas; the leader
//!    is never removed directly (leadership moves away first), and a removal
//!    that would leave fewer available voters than the new quorum is not
//!    made;
//! 3. a learner on an unusable node is removed;
//! 4. a range with **fewer good voters** than the target (a node down too
//!    long, a node draining) gets a learner on the eligible node with the
//!    fewest replicas (never two learners at once);
//! 5. **rebalancing**: if the most and least loaded eligible nodes differ by
//!    more than one replica, a range moves from the former to the latter
//!    (learner, promote, remove: three steps through rules 4, 1 and 2);
//! 6. **leadership**: a leader on a draining node moves away; a node leading
//!    more than [`Policy::leader_slack`] ranges above the least-leading
//!    voter of a range hands that range's leadership over.
//!
//! New ranges start with whatever replicas their creator chose; the spread
//! of a brand-new range is [`initial_replicas`].

pub mod executor;
pub mod plan;

pub use plan::{
    ClusterState, Hold, Learner, Move, NodeState, NodeStatus, Policy, RangeState, initial_replicas, plan, plan_holding,
};
