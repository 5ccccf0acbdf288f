//! # Who a member is: node id, address, incarnation
//!
//! SWIM gossips about *identities*. Ours is the node id (the member's
//! permanent name, bound to its certificate), the QUIC address it listens
//! on (so that learning a member is enough to reach it), and an
//! **incarnation**: a number the node picks larger at every start. foca
//! treats the node id as the identity's address (`Identity::Addr`), so two
//! identities of one node never coexist: the one with the higher
//! incarnation wins, which is how a restarted node (or one that moved to a
//! new address) replaces its old, possibly down, self at once instead of
//! waiting for the cluster to forget it.
//!
//! This incarnation is not SWIM's own per-member counter, which foca keeps
//! beside every identity and bumps when a member refutes a suspicion; the
//! membership view reports both.
//!
//! ## Format
//!
//! On the wire (postcard, inside foca's packets) an identity is the tuple
//! `(node: u64, addr: SocketAddr, incarnation: u64)`, varint-encoded.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ids::NodeId;

/// A member's identity in SWIM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberId {
    /// The node, as named by its certificate.
    pub node: NodeId,
    /// Where it listens for QUIC.
    pub addr: SocketAddr,
    /// Larger at every start of the node.
    pub incarnation: u64,
}

impl foca::Identity for MemberId {
    type Addr = NodeId;

    /// After being declared down, come back at once with the next
    /// incarnation.
    fn renew(&self) -> Option<Self> {
        Some(Self { incarnation: self.incarnation.wrapping_add(1), ..*self })
    }

    fn addr(&self) -> NodeId {
        self.node
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.incarnation > adversary.incarnation
    }
}

#[derive(Serialize, Deserialize)]
struct Wire(u64, SocketAddr, u64);

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire(self.node.0, self.addr, self.incarnation).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Wire(node, addr, incarnation) = Wire::deserialize(deserializer)?;
        Ok(Self { node: NodeId(node), addr, incarnation })
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    #[test]
    fn a_later_incarnation_of_a_node_replaces_the_earlier() {
        let old = MemberId { node: NodeId(3), addr: "127.0.0.1:7000".parse().unwrap(), incarnation: 10 };
        let new = old.renew().unwrap();
        assert_eq!(new.addr(), old.addr());
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
    }
}
