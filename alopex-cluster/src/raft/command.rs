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
//! logs stay readable. Room is left for the next kinds: intents and
//! commit/abort records of distributed transactions (issue 7) and the split
//! command of a range.
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
}

impl Command {
    /// The commit timestamp of a writing command.
    pub fn ts(&self) -> Option<Timestamp> {
        match self {
            Command::Noop => None,
            Command::Write { ts, .. } | Command::DeleteRange { ts, .. } => Some(*ts),
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Noop => write!(f, "noop"),
            Command::Write { ts, ops } => write!(f, "write({} ops @{ts})", ops.len()),
            Command::DeleteRange { ts, .. } => write!(f, "delete_range(@{ts})"),
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
}
