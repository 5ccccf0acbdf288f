//! Doing a compaction: merge the inputs, drop invisible versions, write new
//! tables.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::iter::{BoxedIter, MergeIter};
use crate::key::{Entry, Timestamp};
use crate::sstable::{BlockCache, Table, TableBuilder, TableOptions};
use crate::vector::VectorIndexSpec;
use crate::vector::table_segments::TableSegments;
use crate::version::level_iter;

use super::CompactionTask;

/// The file name of table `id`.
pub fn table_file_name(id: u64) -> String {
    format!("{id:06}.sst")
}

/// What the worker needs besides the task.
pub struct CompactionContext<'a> {
    /// The data directory.
    pub dir: &'a Path,
    /// Table layout.
    pub table_options: TableOptions,
    /// Split outputs at about this size (only between user keys).
    pub target_table_bytes: u64,
    /// Versions at or below this timestamp are visible only in their newest
    /// form: the oldest live snapshot.
    pub gc_watermark: Timestamp,
    /// The smallest timestamp of any version *outside* the inputs that may
    /// share a key with them (memtables and shallower tables). A bottommost
    /// tombstone older than it shadows nothing and may be dropped; a younger
    /// one must stay, or an older version outside the inputs (written with
    /// a caller-supplied timestamp, or ingested) would reappear.
    pub tombstone_floor: Timestamp,
    /// The block cache new tables read through.
    pub cache: Arc<BlockCache>,
    /// The registered vector indexes: each output table gets a segment per
    /// index it holds vectors of.
    pub vector_indexes: Arc<Vec<VectorIndexSpec>>,
    /// Hands out fresh file ids.
    pub allocate_id: &'a mut dyn FnMut() -> u64,
}

/// Decides, version by version, what survives garbage collection.
///
/// Feed it versions in internal order; it answers whether to keep each one.
#[derive(Debug)]
pub struct GcFilter {
    watermark: Timestamp,
    /// Tombstones below this timestamp may be dropped (0: none may).
    drop_tombstones_below: Timestamp,
    key: Option<Bytes>,
    /// The newest version at or below the watermark was already seen.
    floor_seen: bool,
}

impl GcFilter {
    /// A filter for the given watermark. Tombstones with a timestamp below
    /// `drop_tombstones_below` shadow nothing outside the inputs and may be
    /// dropped once no snapshot needs them; pass 0 to keep every tombstone.
    pub fn new(watermark: Timestamp, drop_tombstones_below: Timestamp) -> Self {
        GcFilter { watermark, drop_tombstones_below, key: None, floor_seen: false }
    }

    /// True when `entry` must be written to the output.
    pub fn keep(&mut self, entry: &Entry) -> bool {
        if self.key.as_ref() != Some(&entry.key) {
            self.key = Some(entry.key.clone());
            self.floor_seen = false;
        }
        if entry.ts > self.watermark {
            return true;
        }
        if self.floor_seen {
            return false; // shadowed for every live snapshot
        }
        self.floor_seen = true;
        !(entry.value.is_none() && entry.ts < self.drop_tombstones_below)
    }
}

/// Runs `task`, returning the new tables (already open). The caller installs
/// them through the manifest and deletes the inputs.
pub fn run(task: &CompactionTask, ctx: CompactionContext<'_>) -> Result<Vec<Arc<Table>>> {
    let full = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
    let mut sources: Vec<BoxedIter> = Vec::new();
    if task.input_level == 0 {
        for t in &task.inputs {
            sources.push(Box::new(t.iter(full.clone(), false)));
        }
    } else {
        sources.push(level_iter(task.inputs.clone(), full.clone(), false));
    }
    if !task.overlapping.is_empty() {
        sources.push(level_iter(task.overlapping.clone(), full, false));
    }
    let merged = MergeIter::new(sources, false);
    let task_tables: Vec<Arc<Table>> = task.all_inputs().cloned().collect();
    let floor = if task.bottommost { ctx.tombstone_floor } else { 0 };
    let mut gc = GcFilter::new(ctx.gc_watermark, floor);
    let mut outputs = Vec::new();
    let mut builder: Option<(u64, TableBuilder, TableSegments)> = None;
    let mut last_key: Option<Bytes> = None;
    let result = (|| -> Result<()> {
        for entry in merged {
            let entry = entry?;
            if !gc.keep(&entry) {
                continue;
            }
            let new_key = last_key.as_ref() != Some(&entry.key);
            if new_key
                && let Some((_, b, _)) = &builder
                && b.estimated_size() >= ctx.target_table_bytes
                && let Some((id, b, segments)) = builder.take()
            {
                outputs.push(finish(ctx.dir, id, b, segments, &task_tables, &ctx.cache)?);
            }
            if builder.is_none() {
                let id = (ctx.allocate_id)();
                let table = TableBuilder::create(&ctx.dir.join(table_file_name(id)), ctx.table_options.clone())?;
                builder = Some((id, table, TableSegments::new(&ctx.vector_indexes)));
            }
            if let Some((_, b, segments)) = builder.as_mut() {
                b.add(&entry.key, entry.ts, entry.value.as_deref())?;
                segments.add(&entry.key, entry.ts, entry.value.as_deref());
            }
            if new_key {
                last_key = Some(entry.key);
            }
        }
        if let Some((id, b, segments)) = builder.take() {
            outputs.push(finish(ctx.dir, id, b, segments, &task_tables, &ctx.cache)?);
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(outputs),
        Err(e) => {
            if let Some((_, b, _)) = builder {
                b.abandon();
            }
            for t in outputs {
                let _ = std::fs::remove_file(t.path());
            }
            Err(e)
        }
    }
}

fn finish(
    dir: &Path,
    id: u64,
    mut builder: TableBuilder,
    segments: TableSegments,
    inputs: &[Arc<Table>],
    cache: &Arc<BlockCache>,
) -> Result<Arc<Table>> {
    segments.write_to(&mut builder, inputs)?; // on error, dropping the builder deletes its file
    builder.finish()?;
    Table::open(&dir.join(table_file_name(id)), id, Arc::clone(cache))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(k: &str, ts: u64, v: Option<&str>) -> Entry {
        Entry { key: Bytes::copy_from_slice(k.as_bytes()), ts, value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())) }
    }

    #[test]
    fn gc_keeps_versions_live_snapshots_can_see() {
        let versions = [
            e("a", 9, Some("a9")),
            e("a", 6, Some("a6")),
            e("a", 4, Some("a4")),
            e("a", 2, Some("a2")),
            e("b", 3, None),
            e("b", 1, Some("b1")),
            e("c", 7, None),
        ];
        let kept = |floor: u64| -> Vec<(String, u64)> {
            let mut gc = GcFilter::new(5, floor);
            versions
                .iter()
                .filter(|v| gc.keep(v))
                .map(|v| (String::from_utf8_lossy(&v.key).into_owned(), v.ts))
                .collect()
        };
        let s = |k: &str, t: u64| (k.to_string(), t);
        assert_eq!(kept(0), vec![s("a", 9), s("a", 6), s("a", 4), s("b", 3), s("c", 7)]);
        assert_eq!(kept(u64::MAX), vec![s("a", 9), s("a", 6), s("a", 4), s("c", 7)]);
        // An older version of b lives outside the inputs: its tombstone stays.
        assert_eq!(kept(2), vec![s("a", 9), s("a", 6), s("a", 4), s("b", 3), s("c", 7)]);
    }
}
