//! # Distributed transactions: the replicated foundations
//!
//! A transaction that writes keys in several ranges commits atomically in
//! the CockroachDB style (`docs/transactions.md` has the whole protocol):
//! it lays **intents** (provisional writes) in each range through Raft, a
//! **transaction record** in the range of its anchor key decides commit or
//! abort with one Raft command, and the intents are then **resolved** into
//! ordinary versions at the commit timestamp, or discarded.
//!
//! This module holds what the ranges share about it: the hybrid clock that
//! stamps transactions ([`hlc`]), what a transaction, an intent and a
//! record are ([`meta`]), where they live in the engine ([`keys`]), and
//! how a transactional read goes through intents ([`read`]), and what a
//! leader remembers of the reads it served ([`ts_cache`]). The commands
//! and their apply rules are in `crate::raft::command` and
//! `crate::raft::apply_txn`; the coordinator comes next.

pub mod hlc;
pub mod keys;
pub mod meta;
pub mod read;
pub mod ts_cache;

pub use hlc::{ClockOffsetError, Hlc};
pub use meta::{Intent, TxnId, TxnMeta, TxnRecord, TxnStatus};
pub use read::{TxnRead, TxnScan, read_key, scan_span};
pub use ts_cache::TimestampCache;
