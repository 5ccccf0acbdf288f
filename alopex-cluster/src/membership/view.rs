//! # The membership view: what this node believes about every member
//!
//! foca keeps the authoritative state inside the membership task; after
//! every event the task rebuilds this plain snapshot from it and publishes
//! it on a `tokio::sync::watch` channel, but only when it changed. Readers
//! (the transport's address book, later the placement code, the HTTP
//! endpoint and the system table) never lock anything foca owns: they read
//! the latest snapshot or wait for the next one.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::identity::MemberId;
use crate::ids::NodeId;

/// What SWIM says about a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberState {
    /// Answering probes.
    Alive,
    /// Missed a probe; declared down unless it refutes in time.
    Suspect,
    /// Declared down (failed, or left).
    Down,
}

impl MemberState {
    /// The lowercase name used in logs and APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Alive => "alive",
            Self::Suspect => "suspect",
            Self::Down => "down",
        }
    }
}

impl From<foca::State> for MemberState {
    fn from(s: foca::State) -> Self {
        match s {
            foca::State::Alive => Self::Alive,
            foca::State::Suspect => Self::Suspect,
            foca::State::Down => Self::Down,
        }
    }
}

/// One member as this node sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// The node.
    pub node: NodeId,
    /// Its QUIC address.
    pub addr: SocketAddr,
    /// The node's incarnation (larger at every start).
    pub incarnation: u64,
    /// SWIM's counter for this identity (bumped to refute suspicion).
    pub swim_incarnation: u16,
    /// Alive, suspect or down.
    pub state: MemberState,
}

/// Every member this node knows of, itself included, by node id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembershipView {
    /// This node.
    pub local: NodeId,
    /// The members.
    pub members: BTreeMap<NodeId, MemberInfo>,
}

impl MembershipView {
    /// Builds the view from this node's identity and foca's member list.
    pub fn build<'a>(local: &MemberId, members: impl Iterator<Item = &'a foca::Member<MemberId>>) -> Self {
        let mut view = Self { local: local.node, members: BTreeMap::new() };
        for m in members {
            let id = m.id();
            let info = MemberInfo {
                node: id.node,
                addr: id.addr,
                incarnation: id.incarnation,
                swim_incarnation: m.incarnation(),
                state: m.state().into(),
            };
            let entry = view.members.entry(id.node).or_insert(info);
            if info.incarnation > entry.incarnation {
                *entry = info;
            }
        }
        view.members.insert(
            local.node,
            MemberInfo {
                node: local.node,
                addr: local.addr,
                incarnation: local.incarnation,
                swim_incarnation: 0,
                state: MemberState::Alive,
            },
        );
        view
    }

    /// What this node believes about `node`.
    pub fn get(&self, node: NodeId) -> Option<&MemberInfo> {
        self.members.get(&node)
    }

    /// The state of `node`, if known.
    pub fn state(&self, node: NodeId) -> Option<MemberState> {
        self.get(node).map(|m| m.state)
    }

    /// The members not known to be down (alive or suspect), this node
    /// included.
    pub fn live(&self) -> impl Iterator<Item = &MemberInfo> {
        self.members.values().filter(|m| m.state != MemberState::Down)
    }
}
