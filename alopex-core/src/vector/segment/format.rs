//! The on-disk layout of a vector segment, and the writer.
//!
//! A segment is the HNSW graph over the vectors of one SSTable for one
//! index, stored as a named section of that table (`vector.<index id>`).
//! It is self-contained: the reader needs nothing but these bytes to
//! validate and search it, and everything it needs to re-check results
//! (the user key and timestamp of every node) is in it.
//!
//! Fixed-width integers are little-endian. Vectors are stored as they are
//! searched (for cosine, normalised to unit length at build time), so a
//! search reads them in place after one decode.
//!
//! ## Format
//!
//! ```text
//! header (40 bytes):
//!   magic            8 B   "ALXVSEG\0"
//!   format version   u32   (= 1)
//!   metric           u8    (0 L2, 1 cosine, 2 inner product)
//!   has_graph        u8    (0: nodes are searched exactly; 1: HNSW layers follow)
//!   max_level        u8    (the entry point's level; 0 without a graph)
//!   reserved         u8    (= 0)
//!   dim              u32   (1..=16000)
//!   m                u32   (upper-layer neighbour limit; layer 0 allows 2 × m)
//!   node_count       u32
//!   entry_point      u32   (a node at max_level; u32::MAX without a graph)
//!   spec fingerprint u64   (see VectorIndexSpec::fingerprint)
//! nodes, node_count times, in internal key order (key asc, ts desc):
//!   key              varint length ++ bytes
//!   ts               u64   (the version's commit timestamp)
//!   level            u8    (≤ max_level; 0 without a graph)
//! vectors:           node_count × dim × f32 (finite)
//! graph, only when has_graph = 1; for each node, for each layer 0..=level:
//!   count            varint (≤ 2 × m on layer 0, ≤ m above)
//!   neighbours       count × u32 (node indexes: < node_count, not the node
//!                    itself, of a node whose level reaches this layer)
//! checksum           u64   xxh3-64 of every byte before it
//! ```
//!
//! A segment with fewer than [`GRAPH_MIN_NODES`] nodes is written without a
//! graph: scanning a few hundred vectors is as fast as walking a graph, and
//! exact.

use bytes::Bytes;

use crate::coding::{checksum, put_bytes, put_varint};
use crate::key::Timestamp;
use crate::vector::Metric;

/// The first 8 bytes of every segment.
pub const MAGIC: &[u8; 8] = b"ALXVSEG\0";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Bytes in the fixed header.
pub const HEADER_LEN: usize = 40;
/// Bytes in the checksum trailer.
pub const CHECKSUM_LEN: usize = 8;
/// Highest level a node may have (`hnsw_rs` allows 16 layers).
pub const MAX_LEVEL: u8 = 15;
/// Segments with fewer nodes than this are written without a graph.
pub const GRAPH_MIN_NODES: usize = 256;
/// `entry_point` of a segment without a graph.
pub const NO_ENTRY_POINT: u32 = u32::MAX;

/// One indexed version: the node's key, timestamp and level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentNode {
    /// The user key of the version.
    pub key: Bytes,
    /// The version's commit timestamp.
    pub ts: Timestamp,
    /// The node's top HNSW layer (0 without a graph).
    pub level: u8,
}

/// The HNSW layers of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentGraph {
    /// A node at the top level, where every search starts.
    pub entry_point: u32,
    /// The entry point's level.
    pub max_level: u8,
    /// `adjacency[node][layer]`: the neighbours of `node` on `layer`, for
    /// layers `0..=nodes[node].level`.
    pub adjacency: Vec<Vec<Vec<u32>>>,
}

/// Everything a segment holds, ready to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentParts {
    /// The fingerprint of the spec the segment was built for.
    pub fingerprint: u64,
    /// How the vectors are compared.
    pub metric: Metric,
    /// Elements per vector.
    pub dim: u32,
    /// The HNSW `m` the graph was built with.
    pub m: u32,
    /// The nodes, in internal key order.
    pub nodes: Vec<SegmentNode>,
    /// `nodes.len() × dim` elements, node by node.
    pub vectors: Vec<f32>,
    /// The layers; `None` for a segment searched exactly.
    pub graph: Option<SegmentGraph>,
}

impl SegmentParts {
    /// Encodes the segment (see `## Format`).
    pub fn encode(&self) -> Vec<u8> {
        let node_count = self.nodes.len();
        let mut buf = Vec::with_capacity(HEADER_LEN + self.vectors.len() * 4 + node_count * 48 + CHECKSUM_LEN);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        buf.push(self.metric.to_byte());
        buf.push(u8::from(self.graph.is_some()));
        buf.push(self.graph.as_ref().map_or(0, |g| g.max_level));
        buf.push(0);
        buf.extend_from_slice(&self.dim.to_le_bytes());
        buf.extend_from_slice(&self.m.to_le_bytes());
        buf.extend_from_slice(&(node_count as u32).to_le_bytes());
        buf.extend_from_slice(&self.graph.as_ref().map_or(NO_ENTRY_POINT, |g| g.entry_point).to_le_bytes());
        buf.extend_from_slice(&self.fingerprint.to_le_bytes());
        for node in &self.nodes {
            put_bytes(&mut buf, &node.key);
            buf.extend_from_slice(&node.ts.to_le_bytes());
            buf.push(node.level);
        }
        for x in &self.vectors {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        if let Some(graph) = &self.graph {
            for layers in &graph.adjacency {
                for neighbours in layers {
                    put_varint(&mut buf, neighbours.len() as u64);
                    for n in neighbours {
                        buf.extend_from_slice(&n.to_le_bytes());
                    }
                }
            }
        }
        let sum = checksum(&buf);
        buf.extend_from_slice(&sum.to_le_bytes());
        buf
    }
}
