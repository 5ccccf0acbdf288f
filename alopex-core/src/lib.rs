//! `alopex-core`: the storage engine of Alopex.
//!
//! A log-structured merge tree with multi-version concurrency control and
//! optimistic transactions, built to sit under a SQL engine and, later, under
//! Raft-replicated ranges.
//!
//! ```text
//!  KvStore / KvTxn (kv)          ◄── the seam the SQL engine uses
//!        │
//!  Transaction (txn) ── Oracle (oracle): timestamps, visibility, conflicts
//!        │
//!  Engine (engine): commit path, read path, flush, compaction, recovery
//!        │
//!  WAL (wal) · Memtable (memtable) · SSTables (sstable) · Manifest (manifest)
//! ```
//!
//! Start with [`Engine::open`]. See `docs/storage.md` for the formats, the
//! recovery rules and the isolation levels, and `docs/architecture.md` for
//! how the layers fit.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![warn(missing_docs)]

pub mod batch;
pub mod clock;
pub mod coding;
pub mod compaction;
pub mod engine;
pub mod error;
pub mod iter;
pub mod key;
pub mod kv;
pub mod manifest;
pub mod memstore;
pub mod memtable;
pub mod options;
pub mod oracle;
pub mod scan_filter;
pub mod sstable;
pub mod txn;
pub mod vector;
pub mod version;
pub mod wal;

pub use batch::WriteBatch;
pub use clock::{HybridClock, ManualClock, SystemClock, TimestampSource};
pub use engine::{Engine, EngineStats, ExportStats, ScanIter, Snapshot, prefix_range};
pub use error::{Error, Result};
pub use key::{Entry, Timestamp, ValueKind};
pub use kv::{KvStore, KvTxn, RangePlacement, TxnOptions};
pub use memstore::{MemStore, MemTxn};
pub use options::Options;
pub use scan_filter::{FilteredPage, RowPredicate, ScanFilter};
pub use txn::{IsolationLevel, Savepoint, Transaction};
pub use vector::{Metric, VectorHit, VectorIndexSpec};
pub use version::KeyBounds;
pub use wal::SyncMode;
