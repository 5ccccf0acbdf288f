//! Vector segments: an HNSW graph per SSTable per vector index.
//!
//! When the engine writes a table (flush or compaction) it feeds every
//! version it writes to one [`SegmentBuilder`] per registered vector index;
//! the builder keeps the versions in the index's span, builds a graph over
//! them and encodes it in our own format, stored as the table section
//! `vector.<index id>`. Because the graph lives in the table, it is written,
//! compacted, shipped and recovered with the data: no separate index files,
//! no separate recovery.
//!
//! * `format.rs` — the layout (`## Format`) and the writer.
//! * `reader.rs` — [`Segment::parse`]: validation of every byte.
//! * `search.rs` — the HNSW walk with an optional key filter.
//! * `builder.rs` — collecting versions and building the graph with `hnsw_rs`.

mod builder;
mod format;
mod reader;
mod search;

pub use builder::SegmentBuilder;
pub use format::{GRAPH_MIN_NODES, SegmentGraph, SegmentNode, SegmentParts};
pub use reader::Segment;
pub use search::Scored;

/// The table section name of index `id`'s segment.
pub fn section_name(index_id: u64) -> String {
    format!("vector.{index_id}")
}

#[cfg(test)]
pub(crate) mod tests;
