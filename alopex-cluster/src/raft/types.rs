//! # The type configuration of a range's Raft group
//!
//! openraft is generic over a bundle of types; this file fixes them for
//! Alopex. Every range group on every node uses the same bundle, so the
//! shared log store, the state machine and the network are written once.
//!
//! - **Node id** is the plain `u64` inside [`crate::NodeId`]: openraft needs
//!   `From<u64>` and `Display`, and its storage test suite builds ids from
//!   integers. The conversion to and from the newtype happens at the seam
//!   (the RPC layer and the node API).
//! - **Node info** is [`openraft::BasicNode`], the peer's node-to-node
//!   address. The transport resolves nodes by id (their certificates say who
//!   they are), so the address is a hint for operators and for re-dialing.
//! - **Application data** is a [`Command`]; the response is a
//!   [`CommandResponse`].
//! - Everything else (terms, leader ids, entries, the tokio runtime, the
//!   responders) keeps openraft's defaults.

use openraft::type_config::alias::{LogIdOf, SnapshotMetaOf, StoredMembershipOf, VoteOf};

use super::command::{Command, CommandResponse};
use super::snapshot::SnapshotFile;

openraft::declare_raft_types!(
    /// The openraft type configuration of every range group.
    pub RangeConfig:
        D = Command,
        R = CommandResponse,
        NodeId = u64,
        Node = openraft::BasicNode,
        AsyncRuntime = super::runtime::AlopexRuntime,
);

/// A Raft log id (leader id + index) in a range group.
pub type LogId = LogIdOf<RangeConfig>;
/// A persisted vote in a range group.
pub type Vote = VoteOf<RangeConfig>;
/// A log entry of a range group.
pub type Entry = openraft::type_config::alias::EntryOf<RangeConfig>;
/// Membership together with the log id that introduced it.
pub type StoredMembership = StoredMembershipOf<RangeConfig>;
/// What a snapshot covers: last log id and membership.
pub type SnapshotMeta = SnapshotMetaOf<RangeConfig>;
/// The openraft storage error of a range group.
pub type StorageError = openraft::StorageError<RangeConfig>;
/// A range snapshot: metadata plus the exported SSTable.
pub type RangeSnapshot = openraft::type_config::alias::SnapshotOf<RangeConfig, SnapshotFile>;
