//! # The datagram link: what SWIM needs from a network, and nothing more
//!
//! The membership task (`swim.rs`) needs five things from the network: its
//! own node id and address, a way to send an unreliable datagram to a node,
//! a way to remember where a node listens, a way to learn which node a seed
//! address belongs to, and the stream of datagrams that arrive. In
//! production all five come from the QUIC [`Transport`]: datagrams ride the
//! one connection per peer, and a node's id is the one its certificate
//! names, never a claim it makes.
//!
//! The seam exists for the deterministic simulation (`crate::sim`): there
//! the same membership task, the same foca configuration and the same join
//! and refutation logic run over simulated datagrams that are lost,
//! delayed, partitioned and healed as a seed says, on virtual time. SWIM's
//! failure detector is all timing and loss; a seam lower than this one
//! (foca's own `Runtime`) would leave our task, our timers and our join
//! loop untested, and a seam higher would test nothing of SWIM.

use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::ids::NodeId;
use crate::transport::{Datagram, Transport};

/// The network side of the membership task. See the module documentation.
#[async_trait]
pub trait DatagramLink: Send + Sync + 'static {
    /// This node's id.
    fn node_id(&self) -> NodeId;

    /// The address this node listens on.
    fn local_addr(&self) -> SocketAddr;

    /// Records where `node` listens, so that later sends can reach it.
    fn set_peer_addr(&self, node: NodeId, addr: SocketAddr);

    /// Sends an unreliable datagram of `kind`; losing it is not an error.
    fn send_datagram(&self, to: NodeId, kind: u8, payload: &[u8]);

    /// Reaches the node listening at `addr` (a seed) and returns its id as
    /// the network vouches for it, or why it could not be reached.
    async fn connect_addr(&self, addr: SocketAddr) -> Result<NodeId, String>;

    /// The incoming datagrams; only the first caller gets them.
    fn take_datagrams(&self) -> Option<mpsc::Receiver<Datagram>>;
}

#[async_trait]
impl DatagramLink for Transport {
    fn node_id(&self) -> NodeId {
        Transport::node_id(self)
    }

    fn local_addr(&self) -> SocketAddr {
        Transport::local_addr(self)
    }

    fn set_peer_addr(&self, node: NodeId, addr: SocketAddr) {
        Transport::set_peer_addr(self, node, addr);
    }

    fn send_datagram(&self, to: NodeId, kind: u8, payload: &[u8]) {
        Transport::send_datagram(self, to, kind, payload);
    }

    async fn connect_addr(&self, addr: SocketAddr) -> Result<NodeId, String> {
        Transport::connect_addr(self, addr).await.map_err(|e| e.to_string())
    }

    fn take_datagrams(&self) -> Option<mpsc::Receiver<Datagram>> {
        Transport::take_datagrams(self)
    }
}
