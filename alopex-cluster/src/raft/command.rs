//! # Commands: what a range's Raft log carries
//!
//! The log of a range holds key-value commands, never SQL: the SQL engine
//! sits above the transactional KV layer, and a replica only has to apply
//! bytes to its engine in log order. Every command that writes carries the
//! **commit timestamp** it is applied at (chosen by the proposer from the
//! cluster's hybrid clock), so every replica stores the same versions at
//! the same timestamps and MVCC reads agree across replicas.
//!
//! Commands are encoded with `postcard` (see [`super::codec`]): variants are
//! numbered by position, so new kinds are **appended** at the end and old
//! logs stay readable. `Split` (a range splitting in two) and
//! `ConditionalWrite` (a write guarded by a key's current value, decided
//! at apply time)
//! were appended by the range layer; then the commands of distributed
//! transactions (issue 7): laying and resolving intents, the transaction
//! record's heartbeat, push, commit and abort, and the one-phase commit.
//! Their apply rules are in `raft/apply_txn.rs`; the protocol in
//! `docs/transactions.md`.
//!
//! A command is validated when it is applied, deterministically: every
//! replica reaches the same verdict from the same log, so a bad command
//! (a key outside the range, a key in the node-local reserved span) is
//! answered with [`CommandResponse::Rejected`] on every replica and writes
//! nothing, instead of diverging or stopping the group.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use alopex_core::Timestamp;

use crate::txn::{TxnId, TxnMeta, TxnRecord};

/// One write of a [`Command::Write`] batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOp {
    /// Sets `key` to `value`.
    Put {
        /// The user key.
        key: Bytes,
        /// The new value.
        value: Bytes,
    },
    /// Deletes `key`.
    Delete {
        /// The user key.
        key: Bytes,
    },
}

impl WriteOp {
    /// The key this op writes.
    pub fn key(&self) -> &Bytes {
        match self {
            WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
        }
    }
}

/// A replicated command of one range. New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Writes nothing; advances the applied index (a barrier).
    Noop,
    /// Puts and deletes of user keys, applied atomically at `ts`.
    Write {
        /// The commit timestamp of every write in the batch.
        ts: Timestamp,
        /// The writes; for one key, the last op wins.
        ops: Vec<WriteOp>,
    },
    /// Deletes every key in `[start, end)` visible when applied, at `ts`.
    DeleteRange {
        /// The commit timestamp of the tombstones.
        ts: Timestamp,
        /// Inclusive start.
        start: Bytes,
        /// Exclusive end.
        end: Bytes,
    },
    /// Splits the range at `split_key`: this group keeps `[start,
    /// split_key)` under a new generation, and `[split_key, end)` becomes
    /// range `new_range`, a new group on the same replicas (see
    /// `crate::range`). Applied at `ts`; rejected unless `split_key` lies
    /// strictly inside the span.
    Split {
        /// The timestamp of the bookkeeping the split writes.
        ts: Timestamp,
        /// The first key of the right half.
        split_key: Bytes,
        /// The id of the right half's range (allocated by the meta range).
        new_range: u64,
    },
    /// Applies `ops` atomically at `ts` only if `key`'s current value
    /// equals `expected` (`None`: absent), compared when the command is
    /// applied, so every replica decides the same. The KV API's conditional
    /// put, and the meta range's guarded descriptor updates.
    ConditionalWrite {
        /// The commit timestamp of the writes.
        ts: Timestamp,
        /// The key whose value is compared.
        key: Bytes,
        /// The value the key must have now.
        expected: Option<Bytes>,
        /// The writes (all inside the range).
        ops: Vec<WriteOp>,
    },
    /// Lays `txn`'s intents on the keys of `ops` (provisional writes at
    /// `txn.write_ts`), all or none: refused with
    /// [`CommandResponse::WriteConflict`] if another transaction holds an
    /// intent on one of them, or [`CommandResponse::WriteTooOld`] if one
    /// has a committed version newer than `txn.read_ts`.
    LayIntents {
        /// The proposer's clock (the timestamp of the bookkeeping).
        ts: Timestamp,
        /// The transaction.
        txn: TxnMeta,
        /// The provisional writes; for one key, the last op wins.
        ops: Vec<WriteOp>,
    },
    /// Resolves `txn`'s intents on `keys` once its record is final: a
    /// commit writes each intent's value at exactly the commit timestamp,
    /// an abort discards it. Keys without an intent of `txn` are skipped
    /// (resolution is idempotent).
    ResolveIntents {
        /// The proposer's clock (the timestamp of the bookkeeping).
        ts: Timestamp,
        /// The transaction whose intents are resolved.
        txn: TxnId,
        /// The keys (all inside the range).
        keys: Vec<Bytes>,
        /// Commit or abort.
        resolution: Resolution,
    },
    /// Creates `txn`'s record (pending) or refreshes its heartbeat to `ts`.
    /// Answers [`CommandResponse::TxnRecord`].
    HeartbeatTxn {
        /// The coordinator's clock: the new heartbeat.
        ts: Timestamp,
        /// The transaction (its anchor is in this range).
        txn: TxnMeta,
    },
    /// Raises a pending record's minimum commit timestamp to `push_to`
    /// (a reader at `push_to - 1` may then ignore its intents). Answers
    /// [`CommandResponse::TxnRecord`].
    PushTxn {
        /// The pusher's clock.
        ts: Timestamp,
        /// The pushed transaction (from the intent the pusher met).
        txn: TxnMeta,
        /// The lowest timestamp the transaction may still commit at.
        push_to: Timestamp,
    },
    /// Commits `txn` at `commit_ts` if its record is pending, has not
    /// expired at `ts` (an expired one is aborted instead), and was not
    /// pushed above `commit_ts`. Answers [`CommandResponse::TxnRecord`].
    CommitTxn {
        /// The coordinator's clock (decides expiry).
        ts: Timestamp,
        /// The transaction.
        txn: TxnMeta,
        /// The timestamp every write of the transaction lands at.
        commit_ts: Timestamp,
        /// The keys of every intent the transaction laid, in any range.
        intents: Vec<Bytes>,
    },
    /// Aborts `txn` unless it committed; with `if_expired`, only if its
    /// heartbeat has expired at `ts` (a pusher cleaning up after a dead
    /// coordinator). Answers [`CommandResponse::TxnRecord`].
    AbortTxn {
        /// The proposer's clock (decides expiry).
        ts: Timestamp,
        /// The transaction.
        txn: TxnMeta,
        /// Abort only an expired record.
        if_expired: bool,
    },
    /// The one-phase commit of a transaction whose writes all fall in this
    /// range: the conflict checks of [`Command::LayIntents`], then the
    /// writes committed at once, at the applied timestamp (answered), with
    /// no record and no resolution. `txn`'s own intents on these keys are
    /// taken over.
    CommitOnePhase {
        /// The commit timestamp the proposer asks for (raised like any write).
        ts: Timestamp,
        /// The transaction.
        txn: TxnMeta,
        /// All of its writes.
        ops: Vec<WriteOp>,
    },
}

/// How [`Command::ResolveIntents`] resolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resolution {
    /// The transaction committed at `commit_ts`.
    Commit {
        /// Where its values land.
        commit_ts: Timestamp,
    },
    /// The transaction aborted.
    Abort,
}

impl Command {
    /// The commit timestamp of a writing command.
    pub fn ts(&self) -> Option<Timestamp> {
        match self {
            Command::Noop => None,
            Command::Write { ts, .. }
            | Command::DeleteRange { ts, .. }
            | Command::Split { ts, .. }
            | Command::ConditionalWrite { ts, .. }
            | Command::LayIntents { ts, .. }
            | Command::ResolveIntents { ts, .. }
            | Command::HeartbeatTxn { ts, .. }
            | Command::PushTxn { ts, .. }
            | Command::CommitTxn { ts, .. }
            | Command::AbortTxn { ts, .. }
            | Command::CommitOnePhase { ts, .. } => Some(*ts),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Noop => write!(f, "noop"),
            Command::Write { ts, ops } => write!(f, "write({} ops @{ts})", ops.len()),
            Command::DeleteRange { ts, .. } => write!(f, "delete_range(@{ts})"),
            Command::Split { ts, new_range, .. } => write!(f, "split(-> r{new_range} @{ts})"),
            Command::ConditionalWrite { ts, ops, .. } => write!(f, "conditional_write({} ops @{ts})", ops.len()),
            Command::LayIntents { ts, txn, ops } => write!(f, "lay_intents(txn {}, {} ops @{ts})", txn.id, ops.len()),
            Command::ResolveIntents { ts, txn, keys, resolution } => {
                write!(f, "resolve_intents(txn {txn}, {} keys, {resolution:?} @{ts})", keys.len())
            }
            Command::HeartbeatTxn { ts, txn } => write!(f, "heartbeat_txn({} @{ts})", txn.id),
            Command::PushTxn { ts, txn, push_to } => write!(f, "push_txn({} to {push_to} @{ts})", txn.id),
            Command::CommitTxn { ts, txn, commit_ts, .. } => write!(f, "commit_txn({} at {commit_ts} @{ts})", txn.id),
            Command::AbortTxn { ts, txn, if_expired } => {
                write!(f, "abort_txn({}{} @{ts})", txn.id, if *if_expired { " if expired" } else { "" })
            }
            Command::CommitOnePhase { ts, txn, ops } => {
                write!(f, "commit_one_phase(txn {}, {} ops @{ts})", txn.id, ops.len())
            }
        }
    }
}

/// The [`CommandResponse::Rejected`] reason for a command touching `what`
/// (a key, or a span) outside range `range`'s span: a split moved it. Made
/// and recognized ([`is_outside_range`]) only here, so the gateway side can
/// tell "retry on the new range" from other refusals.
pub(crate) fn outside_range(what: impl std::fmt::Display, range: u64) -> String {
    format!("{what} {OUTSIDE_RANGE} r{range}")
}

/// Whether a [`CommandResponse::Rejected`] reason says the keys moved out of
/// the range (see [`outside_range`]).
pub(crate) fn is_outside_range(reason: &str) -> bool {
    reason.contains(OUTSIDE_RANGE)
}

const OUTSIDE_RANGE: &str = "is outside range";

/// What applying a command produced, the same on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResponse {
    /// Applied; the writes (if any) are at `ts`.
    Applied {
        /// The commit timestamp (`None` for commands that write nothing).
        ts: Option<Timestamp>,
    },
    /// Refused by validation; nothing was written.
    Rejected {
        /// Why.
        reason: String,
    },
    /// A [`Command::ConditionalWrite`] whose key did not hold the expected
    /// value; nothing was written.
    ConditionFailed {
        /// The key's value when the command was applied.
        current: Option<Bytes>,
    },
    /// Another transaction holds an intent on `key`; nothing was written.
    WriteConflict {
        /// The contended key.
        key: Bytes,
        /// The transaction holding the intent.
        txn: TxnMeta,
    },
    /// `key` has a committed version newer than the writing transaction's
    /// snapshot; nothing was written (the transaction must restart above
    /// `existing_ts`).
    WriteTooOld {
        /// The key.
        key: Bytes,
        /// The newer version's commit timestamp.
        existing_ts: Timestamp,
    },
    /// A transaction record after a record command (whether or not the
    /// command changed it: compare its status with what was asked).
    TxnRecord {
        /// The record.
        record: TxnRecord,
    },
}
