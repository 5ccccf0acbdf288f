//! # `ClusterNode`: one running member of an Alopex cluster
//!
//! Ties the layers together the way `alopex serve --listen-addr … --join …`
//! runs them: the node's identity (certificate and the node id kept in its
//! data directory), the QUIC transport, SWIM membership, the Raft groups of
//! the ranges it hosts, the range gateway and KV service, and the placement
//! control loop that adds, promotes and removes replicas as nodes join,
//! fail and are decommissioned.
//!
//! API CONTRACT (skeleton): the bodies are filled in by the node work; the
//! server codes against these signatures.

pub mod config;
pub mod info;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{ClusterConfig, IdentitySource, Tuning};
pub use info::{NodeInfo, RangeInfo};

use crate::ids::NodeId;
use crate::kv_service::KvService;
use crate::range::ClusterKv;

/// Why a node could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Bad settings, a certificate that does not match the stored node id,
    /// and the like; the message says what to fix.
    #[error("cluster configuration: {0}")]
    Config(String),
    /// Disk trouble.
    #[error("cluster storage: {0}")]
    Io(#[from] std::io::Error),
    /// Anything the layers below reported.
    #[error("cluster: {0}")]
    Failed(String),
    /// The named node is not a member.
    #[error("node {0} is not a member of the cluster")]
    UnknownNode(NodeId),
}

/// A running cluster node. See the module documentation.
pub struct ClusterNode {
    _private: (),
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode").finish_non_exhaustive()
    }
}

impl ClusterNode {
    /// Starts the node: reads or records its id, binds QUIC, joins through
    /// the seeds (or bootstraps a new cluster when there are none and no
    /// state exists yet), starts its ranges and the placement loop.
    pub async fn start(config: ClusterConfig) -> Result<Arc<ClusterNode>, ClusterError> {
        let _ = config;
        Err(ClusterError::Config("cluster node not built yet".into()))
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        NodeId(0)
    }

    /// The UDP address QUIC listens on (the real port when 0 was asked).
    pub fn listen_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    /// The gateway: routes KV requests to the right range leader.
    pub fn kv(&self) -> &ClusterKv {
        unreachable!("skeleton")
    }

    /// The `alopex.v1.Kv` gRPC service over this node's gateway.
    pub fn kv_service(&self) -> KvService {
        unreachable!("skeleton")
    }

    /// Every known node, sorted by id.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        Vec::new()
    }

    /// Every range, sorted by start key (reads the meta range).
    pub async fn ranges(&self) -> Result<Vec<RangeInfo>, ClusterError> {
        Ok(Vec::new())
    }

    /// Marks `node` for decommissioning: placement moves its replicas to
    /// other nodes. Returns once the mark is durable; progress shows in
    /// [`Self::nodes`] (its replica count falls to 0).
    pub async fn decommission(&self, node: NodeId) -> Result<(), ClusterError> {
        Err(ClusterError::UnknownNode(node))
    }

    /// Leaves the cluster gracefully (SWIM leave), stops the groups and
    /// closes the transport.
    pub async fn shutdown(&self) {}
}
