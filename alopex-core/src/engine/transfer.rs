//! Export of a key span at a snapshot, and ingest of such an export.
//!
//! This is how the cluster will ship a range between nodes (a Raft snapshot):
//! the sender exports the range's span at a timestamp into a self-contained,
//! checksummed SSTable file; the receiver ingests the file, which becomes a
//! new L0 table without passing through the WAL or the memtable.
//!
//! An export holds, for each key in the span, the newest version visible at
//! the export timestamp, with its original commit timestamp. It is an
//! ordinary SSTable (see [`crate::sstable`]) plus an `alopex.export` section
//! recording the span and the timestamp.
//!
//! ## Format
//!
//! The `alopex.export` section: `format version u8 (= 1) | snapshot ts u64
//! LE | start bound | end bound`, where a bound is a tag byte (0 unbounded,
//! 1 included, 2 excluded) followed, for tags 1 and 2, by a varint length and
//! the key bytes.

use std::fs::{self, File};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::coding::put_bytes;
use crate::compaction::worker::table_file_name;
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::manifest::{Edit, sync_dir};
use crate::sstable::{BlockCache, Table, TableBuilder};
use crate::vector::table_segments::TableSegments;
use crate::version::KeyBounds;

use super::Engine;
use super::read::ReadGuard;

/// The section name of export metadata.
pub const EXPORT_SECTION: &str = "alopex.export";

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportStats {
    /// Keys written.
    pub keys: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// The snapshot timestamp of the export.
    pub ts: Timestamp,
}

fn put_bound(buf: &mut Vec<u8>, bound: &Bound<Bytes>) {
    match bound {
        Bound::Unbounded => buf.push(0),
        Bound::Included(k) => {
            buf.push(1);
            put_bytes(buf, k);
        }
        Bound::Excluded(k) => {
            buf.push(2);
            put_bytes(buf, k);
        }
    }
}

impl Engine {
    /// Writes every key of `range` visible at `ts` into a new SSTable file at
    /// `path` (which must not exist).
    pub fn export(&self, range: KeyBounds, ts: Timestamp, path: &Path) -> Result<ExportStats> {
        self.export_with(range, &[], ts, path)
    }

    /// [`export`](Self::export) of `range` followed by the keys of `extra`
    /// spans, which must each lie after `range` and after one another (the
    /// cluster appends the intents and transaction records a range keeps in
    /// the reserved span). The export section records `range` alone.
    pub fn export_with(
        &self,
        range: KeyBounds,
        extra: &[KeyBounds],
        ts: Timestamp,
        path: &Path,
    ) -> Result<ExportStats> {
        let mut last_end = &range.1;
        for span in extra {
            let ordered = match (last_end, &span.0) {
                (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
                (Bound::Included(e) | Bound::Excluded(e), Bound::Included(s) | Bound::Excluded(s)) => e <= s,
            };
            if !ordered {
                return Err(Error::InvalidArgument("export: extra spans must follow the range in key order".into()));
            }
            last_end = &span.1;
        }
        let guard = ReadGuard::at(&self.shared, ts);
        let mut builder = TableBuilder::create(path, self.shared.opts.table.clone())?;
        let mut meta = vec![1u8];
        meta.extend_from_slice(&ts.to_le_bytes());
        put_bound(&mut meta, &range.0);
        put_bound(&mut meta, &range.1);
        let mut keys = 0;
        // The export carries a vector segment per registered index, so an
        // engine that ingests it with the same index searches it by graph.
        let mut segments = TableSegments::new(&self.shared.vector_specs());
        let result = (|| -> Result<()> {
            for span in std::iter::once(&range).chain(extra) {
                for entry in self.shared.visible_versions(span, guard.ts(), false) {
                    let entry = entry?;
                    builder.add(&entry.key, entry.ts, entry.value.as_deref())?;
                    segments.add(&entry.key, entry.ts, entry.value.as_deref());
                    keys += 1;
                }
            }
            segments.write_to(&mut builder, &[])?;
            builder.add_section(EXPORT_SECTION, &meta)
        })();
        if let Err(e) = result {
            builder.abandon();
            return Err(e);
        }
        let props = builder.finish()?;
        Ok(ExportStats { keys, bytes: props.file_size, ts })
    }

    /// Adds an exported SSTable to the database as a new L0 table. The file
    /// is verified block by block first (a corrupt file is refused), then
    /// copied into the data directory; the original is left in place.
    ///
    /// Ingested versions keep their timestamps and become visible at once.
    /// The caller is responsible for what that means to open snapshots
    /// (Raft installs a snapshot on a replica that serves no reads).
    pub fn ingest(&self, path: &Path) -> Result<()> {
        let shared = &self.shared;
        shared.check_poisoned()?;
        {
            let probe = Table::open(path, u64::MAX, Arc::new(BlockCache::new(1 << 20)))?;
            probe.verify()?;
            if probe.properties().entries == 0 {
                return Ok(());
            }
        }
        let id = shared.manifest.lock().next_file_id();
        let dest = shared.dir.join(table_file_name(id));
        if let Err(e) = fs::copy(path, &dest).and_then(|_| File::open(&dest)?.sync_all()) {
            let _ = fs::remove_file(&dest);
            return Err(Error::Io(e));
        }
        sync_dir(&shared.dir)?;
        let table = Table::open(&dest, id, Arc::clone(&shared.cache))?;
        let max_ts = table.properties().max_ts;
        let edits = [
            Edit::AddTable { level: 0, id, size: table.properties().file_size },
            Edit::NextFileId(id + 1),
            Edit::LastTimestamp(max_ts),
        ];
        shared.install(&edits, |current| current.with_version(current.version.with_changes(&[], &[(0, table)])))?;
        // Only now move the clock (and visibility) past the ingested
        // versions, so no snapshot reads at their timestamps before they
        // are installed.
        shared.oracle.observe(max_ts);
        shared.signal_work();
        Ok(())
    }
}
