//! # Ranges: descriptors, the meta range, routing and splits
//!
//! The replication layer (`crate::raft`) runs one Raft group per range;
//! this layer decides **which** ranges exist and finds them:
//!
//! - [`keys`]: the key layout (user keys, the meta span, descriptor keys);
//! - [`descriptor`]: what the meta range records about a range;
//! - [`protocol`]: the KV RPCs between gateways and range leaders;
//! - [`cache`] and [`client`]: the gateway ([`ClusterKv`]) every node offers,
//!   with its descriptor cache, redirects, retries and deadline;
//! - [`node`]: [`RangeNode`], the node's RPC service for KV requests (served
//!   by range leaders, reads through Raft read-index), bootstrap, and the
//!   maintenance task that starts hosted ranges;
//! - [`splitter`]: splitting ranges past a size threshold, and keeping the
//!   meta range in step across crashes.
//!
//! The meta range is range 1 and holds every data range's descriptor; a
//! fresh cluster has it and range 2 (all user keys). See `docs/cluster.md`,
//! "Ranges, the meta range and splits".

pub mod cache;
pub mod client;
pub mod descriptor;
pub mod keys;
pub mod node;
pub mod protocol;
pub mod splitter;

pub use cache::DescriptorCache;
pub use client::{ClusterKv, ClusterKvOptions, ConditionalOutcome, KvError};
pub use descriptor::RangeDescriptor;
pub use node::{RangeNode, RangeNodeOptions};
