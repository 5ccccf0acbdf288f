//! # Deterministic simulation: real Raft nodes on a seeded, misbehaving network
//!
//! Distributed bugs hide in interleavings a laptop never produces and CI
//! produces once a month. This module makes interleavings a function of a
//! seed, so a failure found once can be replayed forever:
//!
//! - [`network`]: an `RpcClient` whose every delivery decision (drop,
//!   delay and thus reorder, partitions, heal) comes from one seeded RNG,
//!   hashed into a trace;
//! - [`cluster`]: scripted scenarios over N production [`crate::raft::RaftNode`]s
//!   (start, bootstrap, write, partition, heal, crash/restart with the
//!   data directory, advance virtual time), on a paused current-thread
//!   tokio runtime with openraft's RNG seeded and the log writing inline;
//! - [`datagram`]: the same network carrying datagrams, so SWIM
//!   membership (`crate::membership`) runs on it unchanged;
//! - [`linearizability`]: a checker for register histories recorded under
//!   those faults;
//! - [`elle`]: a checker for snapshot isolation (and serializability) on
//!   list-append transaction histories.
//!
//! What remains nondeterministic is listed in `docs/cluster.md`
//! ("Deterministic simulation").

pub mod cluster;
pub mod datagram;
pub mod elle;
pub mod linearizability;
pub mod network;

pub use cluster::{SimCluster, SimError, run, sim_raft_options};
pub use datagram::SimLink;
pub use network::{SimConfig, SimNetwork, Verdict};
