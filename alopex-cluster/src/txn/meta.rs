//! # What a transaction is, to the replicated state machine
//!
//! The state machine of a range needs to know three things about a
//! distributed transaction, and this file defines them as plain data:
//!
//! - its **meta** ([`TxnMeta`]): who it is, where its record lives, and
//!   its timestamps. Every intent carries a copy, so a reader that meets an
//!   intent knows which record to consult and which transaction to push
//!   without any other lookup;
//! - an **intent** ([`Intent`]): the provisional value of one key;
//! - its **record** ([`TxnRecord`]): the one place that decides whether the
//!   transaction committed, kept in the range of its anchor key.
//!
//! All of it is encoded with `postcard` into engine values (see
//! [`super::keys`]). Fields are only ever appended, so old values stay
//! readable. Expiry is a pure function of a record and a timestamp taken
//! from the command being applied, never of a replica's own clock, so every
//! replica decides the same.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use alopex_core::Timestamp;
use alopex_core::clock::physical_ms;

/// The default time a transaction record stays alive after a heartbeat.
pub const DEFAULT_LIVENESS_MS: u64 = 5_000;

/// A transaction's identity: 128 random bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TxnId(pub u128);

impl TxnId {
    /// A fresh random id.
    pub fn random() -> Self {
        TxnId(rand::random())
    }
}

impl std::fmt::Display for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// What every intent records about the transaction that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMeta {
    /// The transaction's id.
    pub id: TxnId,
    /// The key whose range holds the transaction record.
    pub anchor: Bytes,
    /// The snapshot the transaction reads at (also its "start": an absent
    /// record counts as heartbeated at this timestamp).
    pub read_ts: Timestamp,
    /// The timestamp its intents are laid at; at least `read_ts`.
    pub write_ts: Timestamp,
    /// How long the record stays alive after a heartbeat, in milliseconds.
    pub liveness_ms: u64,
}

impl TxnMeta {
    /// A transaction reading and writing at `ts`, anchored at `anchor`.
    pub fn new(id: TxnId, anchor: impl Into<Bytes>, ts: Timestamp) -> Self {
        TxnMeta { id, anchor: anchor.into(), read_ts: ts, write_ts: ts, liveness_ms: DEFAULT_LIVENESS_MS }
    }
}

/// The provisional write of one key by one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The transaction that wrote it.
    pub txn: TxnMeta,
    /// The new value; `None` deletes the key.
    pub value: Option<Bytes>,
}

/// Where a transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnStatus {
    /// Not decided yet.
    Pending,
    /// Committed: its intents become versions at `commit_ts`.
    Committed {
        /// The timestamp every one of its writes lands at.
        commit_ts: Timestamp,
    },
    /// Aborted: its intents are discarded.
    Aborted,
}

impl TxnStatus {
    /// Whether the outcome is decided.
    pub fn is_final(&self) -> bool {
        !matches!(self, TxnStatus::Pending)
    }
}

/// The record that decides a transaction's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnRecord {
    /// The transaction, as its coordinator last described it.
    pub txn: TxnMeta,
    /// Where it stands.
    pub status: TxnStatus,
    /// The timestamp of the last heartbeat (the transaction's `read_ts`
    /// before the first).
    pub heartbeat: Timestamp,
    /// Readers pushed the transaction: it may not commit below this.
    pub min_commit_ts: Timestamp,
    /// Once committed: the keys of every intent it laid, in any range,
    /// so that anyone can finish resolving them; empty for a transaction
    /// with more than fit in one piece (`range::client::PIECE_KEYS`),
    /// whose record would otherwise be one oversized Raft entry.
    pub intents: Vec<Bytes>,
}

impl TxnRecord {
    /// The record of a transaction that has none yet: pending, heartbeated
    /// at its start.
    pub fn implicit(txn: &TxnMeta) -> Self {
        TxnRecord {
            txn: txn.clone(),
            status: TxnStatus::Pending,
            heartbeat: txn.read_ts,
            min_commit_ts: 0,
            intents: Vec::new(),
        }
    }

    /// Whether a pending record's heartbeat has expired at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.status == TxnStatus::Pending
            && physical_ms(now) > physical_ms(self.heartbeat).saturating_add(self.txn.liveness_ms)
    }
}

#[cfg(test)]
mod tests {
    use alopex_core::clock::hlc;

    use super::*;

    #[test]
    fn a_record_expires_after_its_liveness() {
        let mut meta = TxnMeta::new(TxnId(1), "a", hlc(1_000, 0));
        meta.liveness_ms = 100;
        let mut rec = TxnRecord::implicit(&meta);
        assert!(!rec.expired_at(hlc(1_100, 9)));
        assert!(rec.expired_at(hlc(1_101, 0)));
        rec.status = TxnStatus::Aborted;
        assert!(!rec.expired_at(hlc(9_999, 0)), "a final record never expires");
        assert!(TxnStatus::Committed { commit_ts: 5 }.is_final());
        assert_ne!(TxnId::random(), TxnId::random());
        assert_eq!(TxnId(255).to_string(), format!("{:032x}", 255));
    }
}
