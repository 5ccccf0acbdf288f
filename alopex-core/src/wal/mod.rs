//! The write-ahead log: every commit is recorded here before it is applied.
//!
//! The memtable lives in memory, so a commit is durable only once its write
//! batch is in this log and fsynced. After a crash, the engine rebuilds its
//! memtables by replaying the log from the oldest segment whose data has not
//! yet been flushed to an SSTable.
//!
//! The log stores opaque records: the engine puts one encoded write batch in
//! each. It is a directory of numbered *segments*; the engine rotates to a
//! new segment when it switches memtables, and deletes old segments once
//! their memtables are flushed.
//!
//! The pieces, one per file:
//!
//! * `format.rs` — the bytes: segment header and checksummed record frame
//!   (the `## Format` section).
//! * `segment.rs` — segment file names, listing, durable creation.
//! * `writer.rs` — [`Wal`]: append, group commit ([`Wal::sync_to`]),
//!   rotation, the relaxed-mode background syncer, and poisoning.
//! * `recovery.rs` — [`Wal::recover`]: replay, torn-tail repair, and the
//!   rules that tell a torn tail from corruption.
//!
//! A typical life:
//!
//! ```no_run
//! # use alopex_core::wal::{Wal, SyncMode};
//! # fn main() -> alopex_core::Result<()> {
//! # let dir = std::path::Path::new("wal");
//! let report = Wal::recover(dir, 0, |_segment, batch| {
//!     // decode `batch` and apply it to the memtable
//!     Ok(())
//! })?;
//! let wal = Wal::open(dir, report.last_segment.map_or(0, |s| s + 1), SyncMode::Sync)?;
//! let lsn = wal.append(b"encoded write batch")?;
//! wal.sync_to(lsn)?; // durable: acknowledge the commit
//! wal.close()?;
//! # Ok(())
//! # }
//! ```

mod format;
mod recovery;
mod segment;
mod writer;

pub use recovery::{RecoveryReport, TruncatedTail};
pub use writer::{Lsn, SyncMode, Wal, WalStats};

#[cfg(test)]
mod tests;
