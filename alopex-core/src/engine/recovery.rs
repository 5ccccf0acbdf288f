//! Opening a database directory.
//!
//! 1. Take the directory lock (one process at a time).
//! 2. Replay the manifest: the live tables per level, the next file id, the
//!    oldest WAL segment still needed, and a timestamp floor.
//! 3. Open every live table (footer, index, bloom and properties are
//!    checksummed); a missing or wrong-sized table is corruption. Table
//!    files the manifest does not list are leftovers of an interrupted flush
//!    or compaction and are deleted.
//! 4. Replay the WAL from the oldest needed segment into a memtable. A torn
//!    tail is truncated; corruption before the tail is an error.
//! 5. Start a new WAL segment, flush the recovered memtable to L0 and record
//!    the new segment as the oldest needed; delete the replayed segments.
//! 6. Advance the clock past every timestamp seen.

use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::batch::ResolvedBatch;
use crate::error::{Error, Result};
use crate::manifest::{Edit, Manifest};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::oracle::Oracle;
use crate::sstable::{BlockCache, Table};
use crate::version::Version;
use crate::wal::Wal;

use super::{BgState, Counters, Shared, SuperVersion, background};

pub(super) fn open(dir: &Path, opts: Options) -> Result<Shared> {
    if opts.num_levels < 2 {
        return Err(Error::InvalidArgument("num_levels must be at least 2".into()));
    }
    fs::create_dir_all(dir)?;
    let wal_dir = dir.join("wal");
    fs::create_dir_all(&wal_dir)?;
    let lock_file = File::create(dir.join("LOCK"))?;
    if lock_file.try_lock().is_err() {
        return Err(Error::InvalidArgument(format!("{} is already open in another process", dir.display())));
    }

    let mut manifest = Manifest::open(dir)?;
    let state = manifest.state().clone();
    let cache = Arc::new(BlockCache::new(opts.block_cache_bytes));

    let mut adds = Vec::new();
    let mut max_ts = state.last_ts;
    let mut max_id = 0;
    for (&id, &(level, size)) in &state.tables {
        let path = dir.join(crate::compaction::worker::table_file_name(id));
        if !path.exists() {
            return Err(Error::corruption(&path, "the manifest lists this table but the file is missing"));
        }
        let table = Table::open(&path, id, Arc::clone(&cache))?;
        if table.properties().file_size != size {
            return Err(Error::corruption(
                &path,
                format!("size is {} but the manifest recorded {size}", table.properties().file_size),
            ));
        }
        let level = level as usize;
        if level >= opts.num_levels {
            return Err(Error::corruption(&path, format!("at level {level}, beyond the configured levels")));
        }
        max_ts = max_ts.max(table.properties().max_ts);
        max_id = max_id.max(id);
        adds.push((level, table));
    }
    remove_orphans(dir, &state.tables)?;
    let version = Version::new(opts.num_levels).with_changes(&[], &adds);
    if let Err(e) = version.check_invariants() {
        return Err(Error::corruption(dir, e));
    }

    let recovered = Arc::new(Memtable::new(0));
    let report = Wal::recover(&wal_dir, state.wal_min_segment, |segment, payload| {
        let path = wal_dir.join(format!("{segment:020}.wal"));
        let (ts, batch) = ResolvedBatch::decode(payload, &path)?;
        max_ts = max_ts.max(ts);
        for (key, value) in batch.writes {
            recovered.insert(key, ts, value);
        }
        Ok(())
    })?;
    if let Some(t) = &report.truncated {
        tracing::warn!(?t, "recovered the WAL after truncating a torn tail");
    }
    let segments = Wal::list_segments(&wal_dir)?;
    let new_segment = segments.last().map_or(1, |s| s + 1).max(state.wal_min_segment);
    let wal = Wal::open(&wal_dir, new_segment, opts.sync_mode)?;

    let clock = Arc::clone(&opts.clock);
    clock.observe(max_ts);
    let oracle = Oracle::new(clock);
    if manifest.state().next_file_id <= max_id {
        manifest.apply(&[Edit::NextFileId(max_id + 1)])?;
    }
    let current = SuperVersion { mem: Arc::new(Memtable::new(new_segment)), imm: vec![], version: Arc::new(version) };
    let shared = Shared {
        dir: dir.to_path_buf(),
        cache,
        wal,
        oracle,
        commit_lock: Mutex::new(()),
        current: RwLock::new(Arc::new(current)),
        manifest: Mutex::new(manifest),
        flush_lock: Mutex::new(()),
        compaction_lock: Mutex::new(()),
        bg: Mutex::new(BgState::default()),
        bg_cv: Condvar::new(),
        poisoned: Mutex::new(None),
        is_poisoned: std::sync::atomic::AtomicBool::new(false),
        counters: Counters::default(),
        opts,
        closed: std::sync::atomic::AtomicBool::new(false),
        lock_file: Mutex::new(Some(lock_file)),
        instance: super::NEXT_INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        vector_indexes: RwLock::new(Arc::new(state.vector_indexes.values().cloned().collect())),
    };

    // Persist what the WAL replay recovered as an L0 table, so the replayed
    // segments can go.
    let id = shared.manifest.lock().next_file_id();
    let table = background::write_memtable(&shared, &recovered, id)?;
    let mut edits = vec![Edit::NextFileId(id + 1), Edit::WalMinSegment(new_segment), Edit::LastTimestamp(max_ts)];
    if let Some(t) = &table {
        edits.push(Edit::AddTable { level: 0, id, size: t.properties().file_size });
    }
    let adds: Vec<(usize, Arc<Table>)> = table.into_iter().map(|t| (0, t)).collect();
    shared.install(&edits, |current| current.with_version(current.version.with_changes(&[], &adds)))?;
    shared.wal.delete_segments_below(new_segment)?;
    tracing::info!(
        dir = %dir.display(),
        wal_records = report.records,
        tables = shared.super_version().version.tables().count(),
        "opened database"
    );
    Ok(shared)
}

/// Deletes table files that no live version references.
fn remove_orphans(dir: &Path, live: &std::collections::BTreeMap<u64, (u32, u64)>) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(".sst") else { continue };
        if let Ok(id) = stem.parse::<u64>()
            && !live.contains_key(&id)
        {
            tracing::info!(file = name, "removing a table left over from an interrupted flush or compaction");
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}
