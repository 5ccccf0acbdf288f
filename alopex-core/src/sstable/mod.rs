//! SSTables: immutable sorted files of versioned keys, and their block cache.
//!
//! When a memtable fills up, or compaction merges tables, the engine writes
//! its sorted versions into a *sorted string table*. A table is never
//! modified after [`TableBuilder::finish`]; it is read by many threads at
//! once through an [`Arc<Table>`](std::sync::Arc) and deleted as a whole once
//! compaction has replaced it. That immutability is what makes the format simple: one
//! sequential write, checksums computed once, no locks on the read path.
//!
//! The life of a point read:
//!
//! 1. [`Table::get`] asks the **bloom filter** over user keys; most tables
//!    that do not hold the key are ruled out from memory.
//! 2. A binary search of the in-memory **index** (the last internal key of
//!    every data block) picks the one block that can hold `(key, read_ts)`.
//! 3. The **block cache** returns that block, or reads it with `read_at`,
//!    verifies its checksum and caches it.
//! 4. A seek inside the block (binary search over restart points, then a
//!    short scan) lands on the newest version with `ts <= read_ts`.
//!
//! ```text
//!  file: [data]...[section]...[bloom][properties][metaindex][index][footer]
//!                                          ^            ^      |
//!                                          |            +------+ footer holds
//!                                          +-- by name ---------+ two handles
//! ```
//!
//! Keys inside blocks are encoded internal keys ([`crate::key`]) and are
//! compared only with [`crate::key::compare_internal`]. Every structure that
//! reaches the disk documents its layout under `## Format` in its own file:
//! `frame.rs` (block trailer and handles), `block.rs` (data and index
//! blocks), `bloom.rs`, `properties.rs`, `metaindex.rs` and `footer.rs`.
//! Any bad byte is reported as [`crate::Error::Corruption`] naming the file
//! and offset, never a panic and never skipped.
//!
//! A table with zero entries is valid: it has no data blocks, an empty index,
//! an all-zero bloom filter, and zeroed key/timestamp properties; `get`
//! returns `None` and iterators are empty. The engine normally avoids writing
//! one, but reading one is not an error.

mod block;
mod bloom;
mod builder;
mod cache;
mod footer;
mod frame;
mod iter;
mod key_arena;
mod metaindex;
mod properties;
mod reader;
#[cfg(test)]
mod tests;

pub use bloom::key_hash;
pub use builder::{TableBuilder, TableOptions};
pub use cache::BlockCache;
pub use iter::TableIter;
pub use properties::TableProperties;
pub use reader::Table;
