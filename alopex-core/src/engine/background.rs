//! Background work: flushing frozen memtables and compacting levels.
//!
//! Two threads, so that a long compaction never delays a flush (which would
//! stall writers). Each waits on the engine's condition variable for new
//! work. Both change the version the same way: write the new tables, append
//! one atomic edit to the manifest (fsynced), then install the new
//! super-version in memory — all while holding the manifest lock, so the
//! manifest and memory change in the same order.
//!
//! A failed flush or compaction leaves the old version in place (its WAL
//! segments or input tables are untouched), logs the error, and is retried
//! after a pause.

use std::fs;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::compaction::worker::{self, CompactionContext, table_file_name};
use crate::compaction::{CompactionTask, choose, picker};
use crate::error::{Error, Result};
use crate::manifest::{Edit, sync_dir};
use crate::memtable::Memtable;
use crate::sstable::{Table, TableBuilder};
use crate::vector::table_segments::TableSegments;

use super::{Engine, Shared, SuperVersion};

const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Runs `work` whenever signalled, until shutdown.
fn spawn_loop(shared: Arc<Shared>, name: &str, work: fn(&Shared) -> Result<bool>) -> Result<JoinHandle<()>> {
    let thread_name = name.to_string();
    std::thread::Builder::new()
        .name(format!("alopex-{name}"))
        .spawn(move || {
            loop {
                let epoch = {
                    let bg = shared.bg.lock();
                    if bg.shutdown {
                        return;
                    }
                    bg.work_epoch
                };
                let pause = match work(&shared) {
                    Ok(true) => {
                        shared.bg.lock().last_error = None;
                        continue; // did something; look again at once
                    }
                    Ok(false) => None,
                    Err(e) if shared.is_poisoned.load(Ordering::Acquire) => {
                        tracing::error!(thread = %thread_name, error = %e, "background work stops: engine poisoned");
                        return;
                    }
                    Err(e) => {
                        tracing::error!(thread = %thread_name, error = %e, "background work failed; retrying");
                        shared.bg.lock().last_error = Some(e.to_string());
                        Some(RETRY_PAUSE)
                    }
                };
                let mut bg = shared.bg.lock();
                if bg.shutdown {
                    return;
                }
                if bg.work_epoch == epoch || pause.is_some() {
                    shared.bg_cv.wait_for(&mut bg, pause.unwrap_or(Duration::from_millis(500)));
                }
            }
        })
        .map_err(Error::Io)
}

pub(super) fn spawn_flusher(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    spawn_loop(shared, "flush", flush_oldest_immutable)
}

pub(super) fn spawn_compactor(shared: Arc<Shared>) -> Result<JoinHandle<()>> {
    spawn_loop(shared, "compact", compact_once)
}

/// Writes `mem` to a new table file, returning it open (or `None` if the
/// memtable is empty).
pub(super) fn write_memtable(shared: &Shared, mem: &Arc<Memtable>, id: u64) -> Result<Option<Arc<Table>>> {
    if mem.is_empty() {
        return Ok(None);
    }
    let path = shared.dir.join(table_file_name(id));
    let mut builder = TableBuilder::create(&path, shared.opts.table.clone())?;
    let mut segments = TableSegments::new(&shared.vector_specs());
    for entry in mem.iter((Bound::Unbounded, Bound::Unbounded), false) {
        let entry = entry?;
        if let Err(e) = builder.add(&entry.key, entry.ts, entry.value.as_deref()) {
            builder.abandon();
            return Err(e);
        }
        segments.add(&entry.key, entry.ts, entry.value.as_deref());
    }
    if let Err(e) = segments.write_to(&mut builder, &[]) {
        builder.abandon();
        return Err(e);
    }
    builder.finish()?;
    sync_dir(&shared.dir)?;
    Ok(Some(Table::open(&path, id, Arc::clone(&shared.cache))?))
}

/// Flushes the oldest frozen memtable. Returns whether there was one.
pub(super) fn flush_oldest_immutable(shared: &Shared) -> Result<bool> {
    let _flush = shared.flush_lock.lock();
    let sv = shared.super_version();
    let Some(mem) = sv.imm.last().cloned() else { return Ok(false) };
    mem.wait_for_writers();
    let id = shared.manifest.lock().next_file_id();
    let table = write_memtable(shared, &mem, id)?;
    // The next-newer memtable's segment is the oldest one still needed.
    let keep_segment = match sv.imm.len() {
        n if n >= 2 => sv.imm[n - 2].wal_segment(),
        _ => sv.mem.wal_segment(),
    };
    let mut edits = Vec::new();
    if let Some(t) = &table {
        edits.push(Edit::AddTable { level: 0, id, size: t.properties().file_size });
        edits.push(Edit::LastTimestamp(t.properties().max_ts));
    }
    edits.push(Edit::NextFileId(id + 1));
    edits.push(Edit::WalMinSegment(keep_segment));
    shared.install(&edits, |current| {
        let imm: Vec<Arc<Memtable>> = current.imm.iter().filter(|m| !Arc::ptr_eq(m, &mem)).cloned().collect();
        let version = match &table {
            Some(t) => Arc::new(current.version.with_changes(&[], &[(0, Arc::clone(t))])),
            None => Arc::clone(&current.version),
        };
        SuperVersion { mem: Arc::clone(&current.mem), imm, version }
    })?;
    shared.wal.delete_segments_below(keep_segment)?;
    shared.counters.flushes.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(table = id, entries = mem.len(), "flushed memtable");
    shared.signal_work();
    Ok(true)
}

/// Flushes every frozen memtable.
pub(super) fn flush_all_immutable(shared: &Shared) -> Result<()> {
    while flush_oldest_immutable(shared)? {}
    Ok(())
}

/// Runs one compaction if the picker wants one. Returns whether it did.
pub(super) fn compact_once(shared: &Shared) -> Result<bool> {
    let _compaction = shared.compaction_lock.lock();
    let version = Arc::clone(&shared.super_version().version);
    let Some(task) = choose(&version, &shared.opts) else { return Ok(false) };
    run_task(shared, &task)?;
    Ok(true)
}

/// Compacts until the picker is satisfied.
pub(super) fn compact_until_done(shared: &Shared) -> Result<()> {
    while compact_once(shared)? {}
    Ok(())
}

fn run_task(shared: &Shared, task: &CompactionTask) -> Result<()> {
    let cursor_key = task.inputs.iter().map(|t| t.properties().largest_key.clone()).max();
    let removed: Vec<u64> = task.all_inputs().map(|t| t.id()).collect();
    let mut edits: Vec<Edit> = task
        .all_inputs()
        .map(|t| Edit::RemoveTable {
            level: if task.inputs.iter().any(|i| i.id() == t.id()) { task.input_level } else { task.output_level }
                as u32,
            id: t.id(),
        })
        .collect();
    let outputs: Vec<Arc<Table>> = if task.trivial_move {
        task.inputs.clone()
    } else {
        let watermark = shared.oracle.gc_watermark();
        let tombstone_floor = tombstone_floor(&shared.super_version(), task);
        let mut allocate = || shared.manifest.lock().next_file_id();
        let ctx = CompactionContext {
            dir: &shared.dir,
            table_options: shared.opts.table.clone(),
            target_table_bytes: shared.opts.target_table_bytes,
            gc_watermark: watermark,
            tombstone_floor,
            cache: Arc::clone(&shared.cache),
            vector_indexes: shared.vector_specs(),
            allocate_id: &mut allocate,
        };
        let outputs = worker::run(task, ctx)?;
        sync_dir(&shared.dir)?;
        outputs
    };
    for t in &outputs {
        edits.push(Edit::AddTable { level: task.output_level as u32, id: t.id(), size: t.properties().file_size });
    }
    // The manifest keeps the greatest NextFileId it has seen.
    edits.push(Edit::NextFileId(outputs.iter().map(|t| t.id() + 1).max().unwrap_or(0)));
    let adds: Vec<(usize, Arc<Table>)> = outputs.iter().map(|t| (task.output_level, Arc::clone(t))).collect();
    // On failure the outputs stay: the frame naming them may be durable.
    // Reopening deletes them if it is not.
    shared.install(&edits, |current| {
        let mut version = current.version.with_changes(&removed, &adds);
        version.compact_cursor[task.input_level] = cursor_key;
        debug_assert!(version.check_invariants().is_ok(), "{:?}", version.check_invariants());
        current.with_version(version)
    })?;
    if task.trivial_move {
        shared.counters.trivial_moves.fetch_add(1, Ordering::Relaxed);
    } else {
        for t in task.all_inputs() {
            shared.cache.remove_table(t.id());
            if let Err(e) = fs::remove_file(t.path()) {
                tracing::warn!(table = t.id(), error = %e, "could not delete a compacted table");
            }
        }
        shared.counters.compactions.fetch_add(1, Ordering::Relaxed);
    }
    tracing::debug!(
        from = task.input_level,
        to = task.output_level,
        inputs = removed.len(),
        outputs = outputs.len(),
        trivial = task.trivial_move,
        "compaction done"
    );
    shared.signal_work();
    Ok(())
}

/// The smallest timestamp outside `task`'s inputs that may share a key with
/// them: every memtable, and every shallower table overlapping the task.
/// Deeper levels do not count: `bottommost` already says they hold nothing
/// in the task's span.
fn tombstone_floor(sv: &SuperVersion, task: &CompactionTask) -> u64 {
    let Some(span) = picker::task_span(task) else { return 0 };
    let inputs: Vec<u64> = task.all_inputs().map(|t| t.id()).collect();
    let mems = std::iter::once(&sv.mem).chain(sv.imm.iter()).map(|m| m.min_ts());
    let tables = (0..task.output_level)
        .flat_map(|level| sv.version.overlapping(level, &span))
        .filter(|t| !inputs.contains(&t.id()))
        .map(|t| t.properties().min_ts);
    mems.chain(tables).min().unwrap_or(u64::MAX)
}

impl Engine {
    /// Freezes the active memtable (if it holds anything) and flushes every
    /// frozen memtable to L0, synchronously.
    pub fn flush(&self) -> Result<()> {
        let shared = &self.shared;
        shared.check_poisoned()?;
        {
            let _guard = shared.commit_lock.lock();
            if !shared.super_version().mem.is_empty() {
                shared.switch_memtable()?;
            }
        }
        flush_all_immutable(shared)
    }

    /// Runs compactions until every level is within its budget,
    /// synchronously.
    pub fn compact(&self) -> Result<()> {
        compact_until_done(&self.shared)
    }

    /// Flushes, then compacts everything into the deepest level: every key
    /// ends up in one sorted run, with invisible versions dropped. For tests
    /// and for operators who want to reclaim space now.
    pub fn compact_all(&self) -> Result<()> {
        self.flush()?;
        let shared = &self.shared;
        let _compaction = shared.compaction_lock.lock();
        let levels = shared.super_version().version.levels.len();
        for level in 0..levels.saturating_sub(1) {
            let version = Arc::clone(&shared.super_version().version);
            let inputs = version.levels[level].clone();
            if inputs.is_empty() {
                continue;
            }
            run_task(shared, &picker::task(&version, level, inputs, false))?;
        }
        Ok(())
    }
}
