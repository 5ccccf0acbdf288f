//! The commit path.
//!
//! 1. Under the commit lock: make room (switch a full memtable, or stall if
//!    flush or L0 compaction is behind), expand range deletes, validate the
//!    transaction, allocate the commit timestamp, append the batch to the WAL
//!    buffer, record the write set for conflict checks, and reserve the
//!    memtable. Everything that fixes the order of commits happens here.
//! 2. Outside the lock: wait for the WAL to make the batch durable. The first
//!    waiter fsyncs for everyone queued behind it (group commit).
//! 3. Insert into the reserved memtable, release it, and mark the timestamp
//!    applied, which advances the visible timestamp.
//!
//! A WAL failure poisons the engine: nothing more is acknowledged.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::batch::{BatchOp, ResolvedBatch, WriteBatch};
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::memtable::Memtable;
use crate::oracle::ReadSet;

use super::{Engine, Shared, SuperVersion, background};

/// How a commit gets its timestamp, and what it must be checked against.
pub(crate) struct CommitRequest<'a> {
    /// `None`: allocate from the clock. `Some(ts)`: the caller's timestamp.
    pub ts: Option<Timestamp>,
    /// Point writes, last write per key wins.
    pub writes: BTreeMap<Bytes, Option<Bytes>>,
    /// Range deletes to expand at commit time.
    pub ranges: Vec<(Bound<Bytes>, Bound<Bytes>)>,
    /// For transactions: the snapshot the writes were computed at, and the
    /// read set under serializable isolation.
    pub validate: Option<(Timestamp, Option<&'a ReadSet>)>,
}

impl Shared {
    /// Commits a request; see the module documentation.
    pub(crate) fn commit(&self, mut req: CommitRequest<'_>) -> Result<Timestamp> {
        self.check_poisoned()?;
        let guard = self.commit_lock.lock();
        self.make_room()?;
        if !req.ranges.is_empty() {
            self.expand_ranges(&mut req)?;
        }
        let keys: Vec<Bytes> = req.writes.keys().cloned().collect();
        if let Some((start_ts, reads)) = req.validate
            && let Err(e) = self.oracle.check_conflicts(start_ts, &keys, reads)
        {
            self.counters.conflicts.fetch_add(1, Ordering::Relaxed);
            return Err(e);
        }
        if req.writes.is_empty() {
            return Ok(req.ts.unwrap_or_else(|| self.oracle.visible()));
        }
        let batch = ResolvedBatch { writes: req.writes.into_iter().collect() };
        let ts = self.oracle.allocate(req.ts);
        let lsn = match self.wal.append(&batch.encode(ts)) {
            Ok(lsn) => lsn,
            Err(e) => {
                self.oracle.finish(ts);
                self.poison(format!("WAL append failed: {e}"));
                return Err(e);
            }
        };
        self.oracle.record_writes(ts, Arc::new(keys));
        let mem = Arc::clone(&self.current.read().mem);
        mem.reserve_writer();
        drop(guard);

        let synced = self.wal.sync_to(lsn);
        if let Err(e) = synced {
            mem.release_writer();
            self.oracle.finish(ts);
            self.poison(format!("WAL sync failed: {e}"));
            return Err(e);
        }
        for (key, value) in batch.writes {
            mem.insert(key, ts, value);
        }
        mem.release_writer();
        self.oracle.finish(ts);
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        Ok(ts)
    }

    /// Expands range deletes into point tombstones over the keys visible at
    /// commit time. Waits for in-flight commits first, so that none escapes.
    fn expand_ranges(&self, req: &mut CommitRequest<'_>) -> Result<()> {
        self.oracle.wait_all_applied();
        let read_ts = req.ts.unwrap_or(Timestamp::MAX);
        for range in std::mem::take(&mut req.ranges) {
            for item in self.scan_at(range, read_ts, false) {
                let (key, _) = item?;
                req.writes.entry(key).or_insert(None);
            }
        }
        Ok(())
    }

    /// Under the commit lock: switch a full memtable; stall while too many
    /// memtables wait for flush or L0 is over its limit.
    fn make_room(&self) -> Result<()> {
        let mut stalled_since: Option<Instant> = None;
        loop {
            let sv = self.super_version();
            let imm_full = sv.imm.len() >= self.opts.max_immutable_memtables.max(1);
            let l0_full = sv.version.levels[0].len() >= self.opts.l0_stop_writes;
            if !imm_full && !l0_full {
                if sv.mem.size() >= self.opts.memtable_budget {
                    self.switch_memtable()?;
                    if !self.opts.background_threads {
                        background::flush_all_immutable(self)?;
                    }
                }
                if let Some(since) = stalled_since {
                    tracing::info!(stalled_ms = since.elapsed().as_millis() as u64, "write stall over");
                }
                return Ok(());
            }
            if !self.opts.background_threads {
                if imm_full {
                    background::flush_all_immutable(self)?;
                } else {
                    background::compact_until_done(self)?;
                }
                continue;
            }
            if stalled_since.is_none() {
                stalled_since = Some(Instant::now());
                self.counters.stalls.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    immutable_memtables = sv.imm.len(),
                    l0_tables = sv.version.levels[0].len(),
                    "write stall: waiting for flush/compaction to catch up"
                );
            }
            self.check_poisoned()?;
            let mut bg = self.bg.lock();
            if bg.shutdown {
                return Err(Error::Closed);
            }
            bg.work_epoch += 1;
            self.bg_cv.notify_all();
            self.bg_cv.wait_for(&mut bg, Duration::from_millis(50));
        }
    }

    /// Freezes the active memtable and starts a new one on a new WAL segment.
    /// Call under the commit lock (which keeps the active memtable fixed).
    pub(crate) fn switch_memtable(&self) -> Result<()> {
        let segment = self.wal.rotate().inspect_err(|e| self.poison(format!("WAL rotate failed: {e}")))?;
        {
            // Build from the *current* super-version: a flush or compaction
            // may have installed a newer version since the caller looked.
            let mut current = self.current.write();
            let mut imm = Vec::with_capacity(current.imm.len() + 1);
            imm.push(Arc::clone(&current.mem));
            imm.extend(current.imm.iter().cloned());
            let next =
                SuperVersion { mem: Arc::new(Memtable::new(segment)), imm, version: Arc::clone(&current.version) };
            *current = Arc::new(next);
        }
        self.signal_work();
        Ok(())
    }
}

impl Engine {
    /// Commits `batch` atomically at a fresh timestamp, which it returns.
    pub fn write(&self, batch: WriteBatch) -> Result<Timestamp> {
        self.shared.commit(request(batch, None))
    }

    /// Commits `batch` atomically at the caller's timestamp `ts`.
    ///
    /// This is for layers that run their own timestamp discipline (the
    /// cluster applies Raft-ordered batches this way). The engine's clock is
    /// advanced past `ts`. A write below the visible timestamp becomes
    /// visible to snapshots that were already taken; that is the caller's
    /// responsibility.
    pub fn write_at(&self, batch: WriteBatch, ts: Timestamp) -> Result<()> {
        self.shared.commit(request(batch, Some(ts))).map(|_| ())
    }

    /// Sets one key; returns the commit timestamp.
    pub fn put(&self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<Timestamp> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        self.write(b)
    }

    /// Deletes one key; returns the commit timestamp.
    pub fn delete(&self, key: impl Into<Bytes>) -> Result<Timestamp> {
        let mut b = WriteBatch::new();
        b.delete(key);
        self.write(b)
    }

    /// Deletes every key in `[start, end)`; returns the commit timestamp.
    pub fn delete_range(&self, start: impl Into<Bytes>, end: impl Into<Bytes>) -> Result<Timestamp> {
        let mut b = WriteBatch::new();
        b.delete_range(start, end);
        self.write(b)
    }
}

fn request<'a>(batch: WriteBatch, ts: Option<Timestamp>) -> CommitRequest<'a> {
    let ranges = batch.ranges().collect();
    let mut writes = BTreeMap::new();
    for op in batch.ops {
        match op {
            BatchOp::Put { key, value } => {
                writes.insert(key, Some(value));
            }
            BatchOp::Delete { key } => {
                writes.insert(key, None);
            }
            BatchOp::DeleteRange { .. } => {}
        }
    }
    CommitRequest { ts, writes, ranges, validate: None }
}
