//! Vector search inside the storage engine.
//!
//! An index's vectors live in an ordinary key span (registered with a
//! [`VectorIndexSpec`]); every SSTable written after registration carries an
//! HNSW graph over the vectors it holds ([`segment`]). A search
//! ([`crate::Transaction::vector_search`]) scores the memtables and the
//! transaction's own writes exactly, walks every table's graph, keeps only
//! the versions visible at the snapshot and re-ranks by exact distance.
//! See `docs/vector.md` for the whole design and the numbers.
//!
//! * `distance.rs` — the pgvector metrics and fast kernels.
//! * `value.rs` — how a vector is stored as a value.
//! * `spec.rs` — the registry entry of one index.
//! * `segment/` — the per-table graph: format, reader, search, builder.
//! * `table_segments.rs` — the segments of a table being written.
//! * `search.rs` — search results and the exact search.
//! * `fvecs.rs` — reading the `.fvecs`/`.ivecs` files of ANN benchmark sets.

pub mod distance;
pub mod fvecs;
pub mod search;
pub mod segment;
pub mod spec;
pub mod table_segments;
pub mod value;

pub use distance::Metric;
pub use search::{KeyFilter, SearchFilter, SnapshotReader, VectorHit};
pub use spec::VectorIndexSpec;
