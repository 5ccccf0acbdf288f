//! # The RPC seam between replication and the network
//!
//! Raft groups, the meta range and (later) distributed transactions all talk
//! to other nodes the same way: a request for one range on one node, one
//! answer back. This module names that shape and nothing else, so the
//! replication code never knows whether its bytes travel over QUIC streams
//! (the real transport) or through a seeded, simulated network (the
//! deterministic test harness), and the transport never knows what a Raft
//! message looks like.
//!
//! - A call is addressed to a `(NodeId, RangeId)` pair and names a
//!   `method`, a small integer the caller's protocol defines (append
//!   entries, vote, install snapshot, …). The body is opaque bytes.
//! - The transport tags each call with the range id, so one connection per
//!   peer carries the traffic of every group.
//! - The receiving side hands every call to one [`RpcService`], which
//!   routes by range id.

use async_trait::async_trait;
use bytes::Bytes;

use crate::ids::{NodeId, RangeId};

/// Why a call did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// The peer could not be reached (no connection, connection lost,
    /// partitioned away). The caller may retry later.
    #[error("node {0} is unreachable: {1}")]
    Unreachable(NodeId, String),
    /// No answer came within the call's deadline.
    #[error("call to node {0} timed out")]
    Timeout(NodeId),
    /// A request or answer body is over the maximum frame size of the side
    /// that refused it (this node before sending, or the peer on receipt).
    #[error("a frame of {size} bytes to or from node {node} exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The peer of the call.
        node: NodeId,
        /// The body's size.
        size: u64,
        /// The limit it broke.
        max: u64,
    },
    /// The peer answered with an error of its own (unknown range, bad
    /// request, shutting down).
    #[error("node {node} refused the call: {message}")]
    Remote {
        /// The node that refused.
        node: NodeId,
        /// What it said.
        message: String,
    },
}

/// Sends calls to other nodes.
#[async_trait]
pub trait RpcClient: Send + Sync + 'static {
    /// Sends `body` to `range` on node `to` and waits for the answer.
    async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError>;
}

/// Answers calls from other nodes; the transport gives every incoming call
/// to one service, which routes it by range.
#[async_trait]
pub trait RpcService: Send + Sync + 'static {
    /// Handles one call from node `from` (as proven by its certificate).
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String>;
}
