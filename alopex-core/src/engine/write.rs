//! The commit path.
//!
//! 1. Under the commit lock: make room (switch a full memtable, or stall if
//!    flush or L0 compaction is behind), expand range deletes, validate the
//!    transaction, allocate the commit timestamp, append the batch to the WAL
//!    buffer, record the write set for conflict checks, and reserve the
//!    memtable. Everything that fixes the order of commits happens here.
//! 2. Outside the lock: for a batch big enough to be worth it, ask the WAL's
//!    syncer to start the fsync; insert the versions into the reserved
//!    memtable (meanwhile the fsync runs; the versions stay invisible, since
//!    snapshots read below pending timestamps).
//! 3. Wait for the WAL to make the batch durable. The first waiter fsyncs for
//!    everyone queued behind it (group commit). Then release the memtable and
//!    mark the timestamp applied, which advances the visible timestamp.
//!
//! A WAL failure poisons the engine: nothing more is acknowledged.

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::batch::{BatchOp, ResolvedBatch, WriteBatch};
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::memtable::Memtable;
use crate::memtable::pack::Packer;
use crate::oracle::ReadSet;

use super::{Engine, Shared, SuperVersion, background};

/// How a commit gets its timestamp, and what it must be checked against.
pub(crate) struct CommitRequest<'a> {
    /// `None`: allocate from the clock. `Some(ts)`: the caller's timestamp.
    pub ts: Option<Timestamp>,
    /// Point writes, sorted by key, one per key.
    pub writes: Vec<(Bytes, Option<Bytes>)>,
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
        self.check_poisoned()?; // closed while this commit waited for the lock
        self.make_room()?;
        if !req.ranges.is_empty() {
            self.expand_ranges(&mut req)?;
        }
        if let Some((start_ts, reads)) = req.validate {
            let keys: Vec<&Bytes> = req.writes.iter().map(|(k, _)| k).collect();
            if let Err(e) = self.oracle.check_conflicts(start_ts, &keys, reads) {
                self.counters.conflicts.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        }
        if req.writes.is_empty() {
            return Ok(req.ts.unwrap_or_else(|| self.oracle.visible()));
        }
        let batch = ResolvedBatch { writes: req.writes };
        // The write set is recorded for conflict checks only when some
        // transaction could conflict with it (one is open).
        let ts = self.oracle.allocate(req.ts, || batch.writes.iter().map(|(k, _)| k.clone()).collect());
        let appended = ENCODE_BUF.with_borrow_mut(|buf| {
            buf.clear();
            batch.encode_into(ts, buf);
            let result = self.wal.append(buf);
            if buf.capacity() > ENCODE_BUF_KEEP {
                *buf = Vec::new();
            }
            result
        });
        let lsn = match appended {
            Ok(lsn) => lsn,
            Err(e) => {
                // Nothing of this record reached the log: release the
                // timestamp. Only an I/O failure says anything about the disk.
                self.oracle.finish(ts);
                if matches!(e, Error::Io(_) | Error::Poisoned(_)) {
                    self.poison(format!("WAL append failed: {e}"));
                }
                return Err(e);
            }
        };
        let mem = Arc::clone(&self.current.read().mem);
        mem.reserve_writer();
        drop(guard);

        // Start the fsync, and insert into the memtable while it runs. The
        // versions stay invisible until `finish` below: every snapshot reads
        // below the pending timestamp. The reservation keeps the flusher
        // from writing this memtable out before the record is durable.
        if batch.writes.len() >= HANDOFF_MIN_WRITES {
            self.wal.request_sync();
        }
        // Keys and values move into chunks shared by the batch, so the
        // memtable frees one buffer per chunk instead of two per entry.
        let mut packer = Packer::for_batch(&batch.writes);
        for (key, value) in batch.writes {
            mem.insert(packer.pack(key), ts, value.map(|v| packer.pack(v)));
        }
        let synced = self.wal.sync_to(lsn);
        mem.release_writer();
        if let Err(e) = synced {
            // Not durable, so never made visible: the timestamp stays
            // pending, which freezes visibility below it; the engine is
            // poisoned and must be reopened, which recovers from the WAL.
            self.poison(format!("WAL sync failed: {e}"));
            return Err(e);
        }
        self.oracle.finish(ts);
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        // The commit may not be visible yet if an earlier one is still
        // finishing. Rather than making every committer wait for that, the
        // thread remembers its newest commit, and its next snapshot waits
        // for it (usually not at all): reads on a thread see its own writes.
        self.note_own_commit(ts);
        Ok(ts)
    }

    /// Expands range deletes into point tombstones over the keys visible at
    /// commit time. Waits for in-flight commits first, so that none escapes.
    fn expand_ranges(&self, req: &mut CommitRequest<'_>) -> Result<()> {
        self.oracle.wait_all_applied()?;
        let read_ts = req.ts.unwrap_or(Timestamp::MAX);
        for range in std::mem::take(&mut req.ranges) {
            for item in self.scan_at(range, read_ts, false) {
                let (key, _) = item?;
                req.writes.push((key, None));
            }
        }
        // Point writes of the batch win over its range deletes.
        req.writes = sorted_last_wins(std::mem::take(&mut req.writes), true);
        Ok(())
    }

    /// Under the commit lock: switch a full memtable; stall while too many
    /// memtables wait for flush or L0 is over its limit.
    fn make_room(&self) -> Result<()> {
        let mut stalled_since: Option<Instant> = None;
        loop {
            // Read what we need and let go of the lock at once: flushes
            // install new super-versions under its write side.
            let (imm_count, l0_count, mem_full) = {
                let sv = self.current.read();
                (sv.imm.len(), sv.version.levels[0].len(), sv.mem.size() >= self.opts.memtable_budget)
            };
            let imm_full = imm_count >= self.opts.max_immutable_memtables.max(1);
            let l0_full = l0_count >= self.opts.l0_stop_writes;
            if !imm_full && !l0_full {
                if mem_full {
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
                    immutable_memtables = imm_count,
                    l0_tables = l0_count,
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
        let segment = self.wal.rotate().inspect_err(|e| {
            if matches!(e, Error::Io(_) | Error::Poisoned(_)) {
                self.poison(format!("WAL rotate failed: {e}"));
            }
        })?;
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
        let writes = vec![(key.into(), Some(value.into()))];
        self.shared.commit(CommitRequest { ts: None, writes, ranges: Vec::new(), validate: None })
    }

    /// Deletes one key; returns the commit timestamp.
    pub fn delete(&self, key: impl Into<Bytes>) -> Result<Timestamp> {
        let writes = vec![(key.into(), None)];
        self.shared.commit(CommitRequest { ts: None, writes, ranges: Vec::new(), validate: None })
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
    let writes = batch
        .ops
        .into_iter()
        .filter_map(|op| match op {
            BatchOp::Put { key, value } => Some((key, Some(value))),
            BatchOp::Delete { key } => Some((key, None)),
            BatchOp::DeleteRange { .. } => None,
        })
        .collect();
    CommitRequest { ts, writes: sorted_last_wins(writes, false), ranges, validate: None }
}

/// Sorts writes by key, keeping one write per key: the last one, or with
/// `first_wins` the first one.
fn sorted_last_wins(mut writes: Vec<(Bytes, Option<Bytes>)>, first_wins: bool) -> Vec<(Bytes, Option<Bytes>)> {
    if writes.windows(2).all(|w| w[0].0 < w[1].0) {
        return writes; // already sorted and unique: the common case
    }
    if !first_wins {
        writes.reverse(); // the stable sort then keeps the last write first
    }
    writes.sort_by(|a, b| a.0.cmp(&b.0));
    writes.dedup_by(|later, earlier| later.0 == earlier.0);
    writes
}

thread_local! {
    /// The newest commit timestamp acknowledged to this thread, and the
    /// engine instance it belongs to (a thread may use several engines).
    static OWN_COMMIT: std::cell::Cell<(u64, Timestamp)> = const { std::cell::Cell::new((0, 0)) };
}

impl Shared {
    fn note_own_commit(&self, ts: Timestamp) {
        OWN_COMMIT.with(|c| {
            let (instance, last) = c.get();
            let last = if instance == self.instance { last } else { 0 };
            c.set((self.instance, last.max(ts)));
        });
    }

    /// Waits until this thread's own acknowledged commits on this engine are
    /// visible, so a snapshot taken next includes them. Returns at once in
    /// the common case.
    pub(crate) fn wait_own_commits(&self) -> Result<()> {
        let (instance, own) = OWN_COMMIT.with(std::cell::Cell::get);
        if instance == self.instance && own > self.oracle.visible() { self.oracle.wait_visible(own) } else { Ok(()) }
    }
}

/// Below this many writes, the memtable insert is shorter than waking the
/// WAL syncer, so the committer skips the handoff and leads its own fsync.
const HANDOFF_MIN_WRITES: usize = 16;

/// Encoding scratch space for WAL records, one per committing thread.
const ENCODE_BUF_KEEP: usize = 1 << 20;
thread_local! {
    static ENCODE_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(k: &str, v: Option<&str>) -> (Bytes, Option<Bytes>) {
        (Bytes::copy_from_slice(k.as_bytes()), v.map(|v| Bytes::copy_from_slice(v.as_bytes())))
    }

    #[test]
    fn one_write_per_key_in_key_order() {
        let writes = vec![w("b", Some("1")), w("a", Some("2")), w("b", None), w("a", Some("3"))];
        assert_eq!(sorted_last_wins(writes.clone(), false), vec![w("a", Some("3")), w("b", None)]);
        assert_eq!(sorted_last_wins(writes, true), vec![w("a", Some("2")), w("b", Some("1"))]);
    }
}
