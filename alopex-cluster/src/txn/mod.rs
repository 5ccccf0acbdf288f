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
//! `crate::raft::apply_txn`.
//!
//! On top of them, the two halves that make transactions run: a range
//! leader serving transactional reads and commands with its timestamp
//! cache ([`serve`]), and the coordinator that implements
//! `alopex_core::KvStore`/`KvTxn` over the cluster ([`store`],
//! [`coordinator`], with the handling of other transactions' intents in
//! [`conflict`] and the serializable read refresh in [`refresh`]). A
//! vector search fans out to the leaders of the index's ranges and is
//! merged at the gateway ([`vector`]; the leader's side is
//! [`serve_vector`]).

pub mod conflict;
pub mod coordinator;
pub mod hlc;
pub mod keys;
pub mod meta;
pub mod read;
pub mod read_cache;
pub mod refresh;
pub mod serve;
pub mod serve_vector;
pub mod store;
pub mod ts_cache;
pub mod vector;

pub use coordinator::ClusterTxn;
pub use hlc::{ClockOffsetError, Hlc};
pub use meta::{Intent, TxnId, TxnMeta, TxnRecord, TxnStatus};
pub use read::{TxnRead, TxnScan, read_key, scan_span};
pub use store::{ClusterStore, ClusterStoreOptions};
pub use ts_cache::TimestampCache;
