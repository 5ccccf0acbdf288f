//! # The KV RPCs between gateways and range leaders
//!
//! A gateway ([`super::ClusterKv`]) sends each request to the node it
//! believes leads the range, over the same [`crate::rpc::RpcClient`] seam
//! as Raft traffic, addressed to `(node, range)`. Method numbers continue
//! after the Raft ones (1-4, see `raft::network::method`); bodies and
//! answers are postcard:
//!
//! | method | body | answer |
//! |---|---|---|
//! | 5 `KV_GET` | [`GetRequest`] | [`KvReply::Value`] |
//! | 6 `KV_WRITE` | [`WriteRequest`] | [`KvReply::Written`] |
//! | 7 `KV_SCAN` | [`ScanRequest`] | [`KvReply::Rows`] |
//! | 8 `KV_CONDITIONAL` | [`ConditionalRequest`] | [`KvReply::Conditional`] |
//! | 9 `RANGE_STATUS` | empty | [`KvReply::Status`] |
//! | 10 `PLACE_MOVE` | [`MoveRequest`] | [`KvReply::Status`] |
//! | 11 `HOST_REPLICA` | [`HostRequest`] | [`KvReply::Done`] |
//! | 12 `DROP_REPLICA` | empty | [`KvReply::Done`] |
//!
//! Methods 9 and 10 are served by the range's leader (placement, see
//! `crate::node`); 11 and 12 by whichever node is called.
//!
//! Any of them may instead answer [`KvReply::NotLeader`] (with the leader
//! if known), [`KvReply::KeyNotInRange`] (with the range's generation: a
//! split moved the key), [`KvReply::RangeNotHere`] (no replica on that
//! node), [`KvReply::Unavailable`] (try again: an election, a lost quorum)
//! or [`KvReply::Failed`] (final: the request itself is bad).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::raft::{RangeSpan, WriteOp};

/// RPC method numbers of the KV protocol.
pub mod method {
    /// [`super::GetRequest`].
    pub const KV_GET: u16 = 5;
    /// [`super::WriteRequest`].
    pub const KV_WRITE: u16 = 6;
    /// [`super::ScanRequest`].
    pub const KV_SCAN: u16 = 7;
    /// [`super::ConditionalRequest`].
    pub const KV_CONDITIONAL: u16 = 8;
    /// Placement: the range's membership as its leader sees it (body
    /// empty; answer [`super::KvReply::Status`]).
    pub const RANGE_STATUS: u16 = 9;
    /// Placement: one [`super::MoveRequest`], executed by the range's
    /// leader (answer [`super::KvReply::Status`] after the move).
    pub const PLACE_MOVE: u16 = 10;
    /// Placement: start an empty group of the range on the called node
    /// ([`super::HostRequest`]; answer [`super::KvReply::Done`]).
    pub const HOST_REPLICA: u16 = 11;
    /// Placement: stop and forget the range's group on the called node
    /// (body empty; answer [`super::KvReply::Done`]).
    pub const DROP_REPLICA: u16 = 12;
}

/// A range's membership and shape as its leader reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeStatus {
    /// Voting members.
    pub voters: Vec<u64>,
    /// Learners, and whether each has caught up with the leader's log.
    pub learners: Vec<(u64, bool)>,
    /// The leader (the answering node).
    pub leader: Option<u64>,
    /// Members whose replication is not progressing (no match yet or far
    /// behind): candidates for a repair ([`method::HOST_REPLICA`]).
    pub lagging: Vec<u64>,
    /// The range's current span.
    pub span: RangeSpan,
    /// Its current generation.
    pub generation: u64,
}

/// One placement move, sent to the range's leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoveRequest {
    /// Start a replica on `node` and add it as a learner.
    AddLearner(u64),
    /// Make the caught-up learner on `node` a voter.
    Promote(u64),
    /// Remove the replica on `node` and drop its group there.
    Remove(u64),
    /// Hand leadership to `node`.
    TransferLeader(u64),
    /// `node` is a member that does not run the group (it missed a split
    /// while away): seed it from a snapshot (the leader snapshots and
    /// purges its log) and start the group there.
    Repair(u64),
}

/// Starts an empty group of a range on the called node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRequest {
    /// The range's current span.
    pub span: RangeSpan,
    /// Its current generation.
    pub generation: u64,
}

/// Reads one key, linearizably.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GetRequest {
    /// The key.
    pub key: Bytes,
}

/// Writes keys of one range atomically.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WriteRequest {
    /// The writes.
    pub ops: Vec<WriteOp>,
}

/// Reads up to `limit` pairs of `[start, end)` that lie in the range.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanRequest {
    /// Inclusive start; must lie in the range.
    pub start: Bytes,
    /// Exclusive end (`None`: to the end of the range).
    pub end: Option<Bytes>,
    /// The most pairs to return.
    pub limit: u32,
}

/// Applies `ops` only if `key` currently holds `expected`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConditionalRequest {
    /// The key compared.
    pub key: Bytes,
    /// Its expected value (`None`: absent).
    pub expected: Option<Bytes>,
    /// The writes.
    pub ops: Vec<WriteOp>,
}

/// The answer to every KV method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvReply {
    /// A key's value.
    Value(Option<Bytes>),
    /// Committed at this timestamp.
    Written {
        /// The commit timestamp.
        ts: u64,
    },
    /// Pairs in key order, and the end of the range they were read from.
    Rows {
        /// The pairs.
        rows: Vec<(Bytes, Bytes)>,
        /// The range's exclusive end (`None`: the end of its key space).
        range_end: Option<Bytes>,
    },
    /// Whether the conditional write applied, and if not the current value.
    Conditional {
        /// Applied.
        ok: bool,
        /// The value found when it did not apply.
        current: Option<Bytes>,
    },
    /// This node does not lead the range.
    NotLeader {
        /// The leader, if known.
        leader: Option<u64>,
    },
    /// The key is not (or no longer) in this range.
    KeyNotInRange {
        /// The range's current generation.
        generation: u64,
    },
    /// This node holds no replica of the range.
    RangeNotHere,
    /// Transient trouble; retry.
    Unavailable(String),
    /// The request failed for good.
    Failed(String),
    /// A placement status (methods 9 and 10).
    Status(RangeStatus),
    /// Done (methods 11 and 12).
    Done,
}
