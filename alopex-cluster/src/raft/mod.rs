//! # Replication: one openraft group per range
//!
//! Each range of the key space is replicated by its own Raft group
//! (openraft, pinned to an exact version because its 0.10 API is still
//! alpha). A node hosts many groups and runs them over three shared
//! resources:
//!
//! ```text
//!            RaftNode (node.rs) ── RpcService: routes calls by range id
//!    ┌──────────┼───────────────┬────────────────────┐
//!  group r1   group r2  …     group rN          RangeNetworkFactory (network.rs)
//!    │ log      │ log           │ log               └─► RpcClient (QUIC or in-process)
//!    ▼          ▼               ▼
//!  SharedLog (log_file.rs): one file set, one writer, one fsync for many groups
//!    │ apply    │ apply         │ apply
//!    ▼          ▼               ▼
//!  RangeStateMachine (state_machine.rs) ──► the node's one alopex-core Engine
//! ```
//!
//! - [`types`]: the openraft type configuration; [`command`]: what the log
//!   carries (KV commands with commit timestamps, never SQL); [`codec`]:
//!   postcard for everything serialized.
//! - [`log_format`] / [`log_file`] / [`log_store`]: the shared, checksummed,
//!   group-committed log and each group's view of it.
//! - [`span`]: range spans and the node-local reserved span where each
//!   range records what it has applied; [`shape`]: a range's current span
//!   and generation after splits; [`state_machine`] and [`snapshot`]:
//!   applying into the engine, snapshots as exported SSTables;
//!   `apply_txn`: the apply rules of distributed transactions' commands.
//! - [`network`] and [`node`]: Raft RPCs over the RPC seam, and the node
//!   that hosts the groups; [`heartbeat`]: the groups' heartbeats to one
//!   peer coalesced into one call; [`local_rpc`]: the in-process transport of
//!   tests and benchmarks.

mod apply_txn;
pub mod codec;
pub mod command;
pub mod heartbeat;
pub mod local_rpc;
pub mod log_file;
pub mod log_format;
pub mod log_store;
pub mod network;
pub mod node;
pub mod runtime;
pub mod shape;
pub mod snapshot;
pub mod span;
pub mod state_machine;
pub mod types;

pub use command::{Command, CommandResponse, WriteOp};
pub use local_rpc::LocalNetwork;
pub use log_file::{SharedLog, SharedLogOptions};
pub use log_store::RangeLogStore;
pub use node::{RaftNode, RaftNodeError, RaftNodeOptions, RangeGroup, RangeRaft};
pub use snapshot::SnapshotFile;
pub use span::RangeSpan;
pub use state_machine::RangeStateMachine;
pub use types::RangeConfig;
