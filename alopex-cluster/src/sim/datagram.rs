//! # Simulated datagrams: SWIM on the seeded network
//!
//! [`SimLink`] is the simulation's [`DatagramLink`]: the membership task
//! (`crate::membership::swim`) runs on it unchanged, with the same foca
//! configuration as production, so the failure detector's timing (probes,
//! indirect probes, suspicion, refutation, announcements to down members)
//! is exercised under loss, delay, partitions and crashes that replay from
//! a seed.
//!
//! Each datagram is one message through [`SimNetwork`]'s decision
//! function, on its own stream `(from, to, kind)`: it is lost with the
//! configured drop rate, delayed by a draw in `[min_delay, max_delay]`
//! (so datagrams overtake each other, as UDP's do), refused by a partition
//! or an isolation, and lost when nobody listens at the destination. Lost
//! datagrams cost the sender nothing, as on a real network. Every decision
//! joins the network's trace hash.
//!
//! A datagram larger than a QUIC datagram can carry (1162 bytes of payload
//! with the kind byte, as measured; see `membership::config`) is dropped
//! and counted in [`SimLink::oversized`], so a test can assert that SWIM's
//! `max_packet_size` really fits the transport.
//!
//! Dialing a seed ([`DatagramLink::connect_addr`]) succeeds when a node
//! listens at that address and the two are connected, after one round trip
//! of the maximum delay: the simulated counterpart of a QUIC handshake
//! whose certificate names the node.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::network::{DatagramEndpoint, SimNetwork, Verdict};
use crate::ids::{NodeId, RangeId};
use crate::membership::DatagramLink;
use crate::transport::Datagram;

/// Method numbers at and above this one are datagrams (`DATAGRAM_METHODS |
/// kind`), below it RPCs: the two never share a message stream.
pub const DATAGRAM_METHODS: u16 = 0xFF00;

/// The most payload one simulated datagram carries, kind byte included (the
/// QUIC limit measured in `membership::config`).
pub const MAX_DATAGRAM: usize = crate::membership::config::MAX_PACKET_LIMIT + 1;

/// How many datagrams a node's queue holds before new ones are dropped (a
/// receiver that falls behind loses datagrams, as a UDP socket's buffer
/// does).
const QUEUE: usize = 1024;

/// A node's datagram link in the simulation. See the module documentation.
pub struct SimLink {
    me: NodeId,
    addr: SocketAddr,
    net: Arc<SimNetwork>,
    incoming: Mutex<Option<mpsc::Receiver<Datagram>>>,
    oversized: AtomicU64,
    sent: AtomicU64,
}

impl std::fmt::Debug for SimLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLink").field("node", &self.me).field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl SimNetwork {
    /// Makes node `id` reachable by datagrams at `addr` and returns its
    /// link. A node started again (after [`SimNetwork::unregister_datagrams`])
    /// gets a new, empty queue.
    pub fn datagram_link(self: &Arc<Self>, id: NodeId, addr: SocketAddr) -> Arc<SimLink> {
        let (queue, incoming) = mpsc::channel(QUEUE);
        self.datagrams.lock().insert(id, DatagramEndpoint { addr, queue });
        Arc::new(SimLink {
            me: id,
            addr,
            net: Arc::clone(self),
            incoming: Mutex::new(Some(incoming)),
            oversized: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        })
    }

    /// Removes node `id`'s datagram endpoint (a crash): datagrams to it
    /// are lost from now on.
    pub fn unregister_datagrams(&self, id: NodeId) {
        self.datagrams.lock().remove(&id);
    }
}

impl SimLink {
    /// Datagrams this link refused to send because they exceed
    /// [`MAX_DATAGRAM`].
    pub fn oversized(&self) -> u64 {
        self.oversized.load(Ordering::Relaxed)
    }

    /// Datagrams this link handed to the network.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl DatagramLink for SimLink {
    fn node_id(&self) -> NodeId {
        self.me
    }

    fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    fn set_peer_addr(&self, _node: NodeId, _addr: SocketAddr) {
        // Nodes are found by id in the simulation; addresses only name seeds.
    }

    fn send_datagram(&self, to: NodeId, kind: u8, payload: &[u8]) {
        if 1 + payload.len() > MAX_DATAGRAM {
            self.oversized.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let Verdict::Delivered(us) =
            self.net.decide(self.me, to, RangeId(0), DATAGRAM_METHODS | u16::from(kind), false)
        else {
            return;
        };
        let datagram = Datagram { from: self.me, kind, payload: Bytes::copy_from_slice(payload) };
        let net = Arc::clone(&self.net);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_micros(us)).await;
            // Whoever listens at `to` when the datagram lands gets it: a node
            // that crashed meanwhile does not, one restarted meanwhile does.
            let queue = net.datagrams.lock().get(&to).map(|e| e.queue.clone());
            if let Some(queue) = queue {
                let _ = queue.try_send(datagram);
            }
        });
    }

    async fn connect_addr(&self, addr: SocketAddr) -> Result<NodeId, String> {
        let target = self.net.datagrams.lock().iter().find(|(_, e)| e.addr == addr).map(|(id, _)| *id);
        tokio::time::sleep(self.net.config().max_delay * 2).await;
        match target {
            Some(id) if id == self.me || self.net.connected(self.me, id) => Ok(id),
            Some(_) => Err(format!("{addr}: partitioned")),
            None => Err(format!("{addr}: nobody listens")),
        }
    }

    fn take_datagrams(&self) -> Option<mpsc::Receiver<Datagram>> {
        self.incoming.lock().take()
    }
}
