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
//! were appended by the range layer; intents and commit/abort records of
//! distributed transactions (issue 7) come next.
//!
//! A command is validated when it is applied, deterministically: every
//! replica reaches the same verdict from the same log, so a bad command
//! (a key outside the range, a key in the node-local reserved span) is
//! answered with [`CommandResponse::Rejected`] on every replica and writes
//! nothing, instead of diverging or stopping the group.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use alopex_core::Timestamp;

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
}

impl Command {
    /// The commit timestamp of a writing command.
    pub fn ts(&self) -> Option<Timestamp> {
        match self {
            Command::Noop => None,
            Command::Write { ts, .. }
            | Command::DeleteRange { ts, .. }
            | Command::Split { ts, .. }
            | Command::ConditionalWrite { ts, .. } => Some(*ts),
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
        }
    }
}

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
}
