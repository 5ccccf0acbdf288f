//! # Range descriptors
//!
//! A descriptor is what the meta range knows about one range: its span,
//! its replicas, its generation and a hint of its leader. Gateways cache
//! descriptors and route by them; a range answers a request with "key not
//! in range" (and its current generation) when a split has moved the key
//! elsewhere, and the gateway then reads the meta range again.
//!
//! The **generation** starts at 1 and is bumped by every split of the
//! range, so a newer descriptor of the same range always has a greater
//! generation. The **leader hint** is advisory: a gateway tries it first
//! and follows "not leader" answers from there.

use serde::{Deserialize, Serialize};

use crate::ids::{NodeId, RangeId};
use crate::raft::RangeSpan;

/// What the meta range records about one range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeDescriptor {
    /// The range (and its Raft group).
    pub range: RangeId,
    /// The keys it owns, `[start, end)`.
    pub span: RangeSpan,
    /// The nodes holding a replica.
    pub replicas: Vec<NodeId>,
    /// Bumped by every split.
    pub generation: u64,
    /// The leader when the descriptor was written or last learned.
    pub leader_hint: Option<NodeId>,
}

impl RangeDescriptor {
    /// The node to try first: the leader hint, else the first replica.
    pub fn target(&self) -> Option<NodeId> {
        self.leader_hint.or_else(|| self.replicas.first().copied())
    }

    /// The replica after `node` in the replica list (wrapping), to try
    /// when `node` did not answer.
    pub fn next_replica(&self, node: Option<NodeId>) -> Option<NodeId> {
        let i = node.and_then(|n| self.replicas.iter().position(|r| *r == n)).map_or(0, |i| i + 1);
        self.replicas.get(i % self.replicas.len().max(1)).copied()
    }
}
