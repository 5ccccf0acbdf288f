//! # What a node reports about the cluster
//!
//! Plain snapshots for `GET /v1/cluster/nodes`, the SQL system table and
//! the CLI: built from the membership view, the range descriptors and the
//! Raft metrics this node holds, never blocking on the network.

use bytes::Bytes;

use crate::ids::{NodeId, RangeId};

/// One node of the cluster as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node id (bound to its certificate).
    pub id: NodeId,
    /// Its node-to-node QUIC address.
    pub addr: String,
    /// `alive`, `suspect` or `down` (SWIM's view).
    pub state: &'static str,
    /// Whether this is the node answering.
    pub is_self: bool,
    /// Being drained by `alopex node decommission`.
    pub decommissioning: bool,
    /// How many range replicas it holds (voters and learners), per the
    /// descriptors.
    pub replicas: usize,
    /// How many ranges it leads, per the latest leader hints.
    pub leaders: usize,
}

/// One range as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeInfo {
    /// The range id.
    pub id: RangeId,
    /// First key of the span (inclusive).
    pub start: Bytes,
    /// End of the span (exclusive); `None` is the end of the key space.
    pub end: Option<Bytes>,
    /// Its voters.
    pub voters: Vec<NodeId>,
    /// Its learners.
    pub learners: Vec<NodeId>,
    /// Its leader, if known.
    pub leader: Option<NodeId>,
    /// Members its leader has never replicated anything to: they do not
    /// run the range's group (yet), so the range has fewer working copies
    /// than voters. Empty when the leader did not answer.
    pub lagging: Vec<NodeId>,
    /// The descriptor's generation.
    pub generation: u64,
}
