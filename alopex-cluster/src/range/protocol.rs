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
//! | 15 `TXN_GET` | [`TxnGetRequest`] | [`KvReply::TxnValue`] |
//! | 16 `TXN_SCAN` | [`TxnScanRequest`] | [`KvReply::TxnRows`] |
//! | 17 `TXN_COMMAND` | [`TxnCommandRequest`] | [`KvReply::TxnAnswer`] or [`KvReply::TxnKeysMoved`] |
//! | 18 `TXN_VECTOR` | [`TxnVectorRequest`] | [`KvReply::TxnVectorHits`] |
//!
//! Methods 9 and 10 are served by the range's leader (placement, see
//! `crate::node`); 11 and 12 by whichever node is called. (13 and 14 are
//! Raft methods, see `raft::network::method`.)
//!
//! Methods 15-18 are the transactional ones (`docs/transactions.md`),
//! served by the range's leader (`crate::txn::serve`): reads at a
//! transaction's read timestamp through intents, recorded in the leader's
//! timestamp cache, and the transaction commands of `crate::raft::Command`
//! proposed through the range's log. A transaction command whose keys no
//! longer all lie in the range answers [`KvReply::TxnKeysMoved`] instead of
//! [`KvReply::KeyNotInRange`]: the gateway must split it again by range
//! rather than resend the same body, which is what "key not in range"
//! makes it do.
//!
//! Any of them may instead answer [`KvReply::NotLeader`] (with the leader
//! if known), [`KvReply::KeyNotInRange`] (with the range's generation: a
//! split moved the key), [`KvReply::RangeNotHere`] (no replica on that
//! node), [`KvReply::Unavailable`] (try again: an election, a lost quorum)
//! or [`KvReply::Failed`] (final: the request itself is bad).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::raft::{Command, CommandResponse, RangeSpan, WriteOp};
pub use crate::txn::serve_vector::{TxnVectorHits, TxnVectorRequest};
use crate::txn::{TxnId, TxnRead, TxnScan};

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
    /// A transactional point read ([`super::TxnGetRequest`]; answer
    /// [`super::KvReply::TxnValue`]).
    pub const TXN_GET: u16 = 15;
    /// A transactional scan of the range's part of a span
    /// ([`super::TxnScanRequest`]; answer [`super::KvReply::TxnRows`]).
    pub const TXN_SCAN: u16 = 16;
    /// A transaction command proposed through the range's log
    /// ([`super::TxnCommandRequest`]; answer [`super::KvReply::TxnAnswer`],
    /// or [`super::KvReply::TxnKeysMoved`] when a key is not in the range).
    pub const TXN_COMMAND: u16 = 17;
    /// A transactional vector search of the range's part of an index's
    /// span ([`super::TxnVectorRequest`]; answer
    /// [`super::KvReply::TxnVectorHits`]; see `crate::txn::serve_vector`).
    pub const TXN_VECTOR: u16 = 18;
}

/// Reads one key at a transaction's read timestamp, through intents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnGetRequest {
    /// The key.
    pub key: Bytes,
    /// The read timestamp.
    pub read_ts: u64,
    /// The upper end of the uncertainty interval (`>= read_ts`).
    pub limit: u64,
    /// The reading transaction (its own intents are visible to it).
    pub reader: Option<TxnId>,
}

/// Scans the range's part of `[start, end)` at a transaction's read
/// timestamp, through intents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnScanRequest {
    /// Inclusive start; must lie in the range.
    pub start: Bytes,
    /// Exclusive end (`None`: to the end of the range).
    pub end: Option<Bytes>,
    /// The read timestamp.
    pub read_ts: u64,
    /// The upper end of the uncertainty interval.
    pub limit: u64,
    /// The reading transaction.
    pub reader: Option<TxnId>,
    /// The most rows to return.
    pub max_rows: u32,
    /// A predicate to evaluate on the visible rows (only matches are
    /// returned; everything else is reported for the whole span examined,
    /// see `txn::read`).
    pub filter: Option<PushedFilter>,
}

/// An `alopex_core::ScanFilter` on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedFilter {
    /// The codec registered for the program (`alopex_core::scan_filter`).
    pub codec: u32,
    /// The program, opaque here.
    pub program: Bytes,
}

impl From<&alopex_core::ScanFilter> for PushedFilter {
    fn from(f: &alopex_core::ScanFilter) -> Self {
        PushedFilter { codec: f.codec, program: f.program.clone() }
    }
}

impl From<&PushedFilter> for alopex_core::ScanFilter {
    fn from(f: &PushedFilter) -> Self {
        alopex_core::ScanFilter { codec: f.codec, program: f.program.clone() }
    }
}

/// A transaction command for the range's log. The leader replaces the
/// command's proposer timestamp (`ts`) with its own clock, and pushes a
/// `LayIntents`' `write_ts` (and a one-phase commit's timestamp) above the
/// reads its timestamp cache remembers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnCommandRequest {
    /// One of the transaction commands (`LayIntents` .. `CommitOnePhase`).
    pub cmd: Command,
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
    /// Members that never matched an entry nor acknowledged a heartbeat
    /// (a replica that is slow is not lagging): candidates for a repair
    /// ([`method::HOST_REPLICA`]).
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
    /// What a transactional read found (method 15).
    TxnValue(TxnRead),
    /// What a transactional scan found in the range, and the range's end
    /// (method 16).
    TxnRows {
        /// Rows, intents met, uncertainty, resume point.
        scan: TxnScan,
        /// The range's exclusive end (`None`: the end of its key space).
        range_end: Option<Bytes>,
    },
    /// The answer of the range's state machine to a transaction command
    /// (method 17), with a `LayIntents`' pushed `write_ts` as its applied
    /// timestamp.
    TxnAnswer(CommandResponse),
    /// A key of the transaction command is not (or no longer) in the range:
    /// split it again by range (method 17).
    TxnKeysMoved {
        /// The range's current generation.
        generation: u64,
    },
    /// What a transactional vector search found in the range, and the
    /// range's end (method 18).
    TxnVectorHits {
        /// Hits, intents met, uncertainty, graphs searched.
        found: TxnVectorHits,
        /// The range's exclusive end (`None`: the end of its key space).
        range_end: Option<Bytes>,
    },
}
