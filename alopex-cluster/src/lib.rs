//! # `alopex-cluster`: the key space split into ranges, each replicated by Raft
//!
//! A single Alopex node keeps every key in one `alopex-core` engine. A cluster
//! splits the key space into **ranges**, contiguous spans of keys, and
//! replicates each range with its own Raft group, so a range's leader can
//! live on any node and a failed node costs each of its ranges one replica,
//! not the data. The pieces, bottom up:
//!
//! - **identity and transport**: nodes speak QUIC with mutual TLS; a node's
//!   id is read from its certificate, signed by the cluster CA, never taken
//!   from what the peer says about itself;
//! - **membership**: SWIM gossip (`foca`) over QUIC datagrams finds the
//!   nodes and detects failures;
//! - **replication**: one `openraft` group per range, a log store shared by
//!   all the groups of a node (one fsync for many), and a state machine that
//!   applies KV commands into the node's one engine;
//! - **transactions**: [`ClusterStore`] implements `alopex_core::KvStore`
//!   over the ranges, atomic across ranges with snapshot isolation
//!   (`docs/transactions.md`).
//!
//! This crate never depends on `alopex-sql`: the SQL engine reaches the
//! cluster only through `alopex-core`'s transactional KV trait. The design
//! is written down in `docs/cluster.md`.

pub mod ids;
pub mod kv_service;
pub mod membership;
pub mod node;
pub mod placement;
pub mod raft;
pub mod range;
pub mod rpc;
pub mod sim;
pub mod tls;
pub mod transport;
pub mod txn;

pub use ids::{NodeId, RangeId};
pub use txn::{ClusterStore, ClusterStoreOptions, ClusterTxn};
