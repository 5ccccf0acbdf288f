//! The read path: point reads and scans at a snapshot timestamp.
//!
//! A point read asks each source, newest first, for the newest version of
//! the key at or below the snapshot, and keeps the one with the greatest
//! timestamp. Sources are not ordered by timestamp in general (callers may
//! write with their own timestamps, and ingest adds old data to L0), so a
//! found version does not end the search; but a source whose greatest
//! timestamp is not above the best version so far cannot improve on it and
//! is skipped, which in the common case ends the search at the first hit.
//! Bloom filters skip tables that do not hold the key at all.
//!
//! A scan merges every source (see [`crate::iter`]) and applies visibility.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::iter::{BoxedIter, MergeIter, VisibleIter};
use crate::key::{Entry, Timestamp};
use crate::memtable::Memtable;
use crate::sstable::key_hash;
use crate::version::KeyBounds;

use super::{Engine, Shared, SuperVersion};

fn newer(best: &Option<Entry>, candidate_max_ts: Timestamp) -> bool {
    best.as_ref().is_none_or(|b| candidate_max_ts > b.ts)
}

impl SuperVersion {
    /// The newest version of `key` at or below `read_ts` (tombstones
    /// included), over all sources.
    pub(crate) fn get_entry(&self, key: &[u8], read_ts: Timestamp) -> Result<Option<Entry>> {
        self.get_entry_with(key, read_ts, |mem| mem.get(key, read_ts))
    }

    /// [`get_entry`](Self::get_entry) for a key held as `Bytes`, which the
    /// memtable probes share instead of copying.
    pub(crate) fn get_entry_shared(&self, key: &Bytes, read_ts: Timestamp) -> Result<Option<Entry>> {
        self.get_entry_with(key, read_ts, |mem| mem.get_shared(key, read_ts))
    }

    fn get_entry_with(
        &self,
        key: &[u8],
        read_ts: Timestamp,
        mem_get: impl Fn(&Memtable) -> Option<Entry>,
    ) -> Result<Option<Entry>> {
        let mut best: Option<Entry> = None;
        let offer = |e: Option<Entry>, best: &mut Option<Entry>| {
            if let Some(e) = e
                && best.as_ref().is_none_or(|b| e.ts > b.ts)
            {
                *best = Some(e);
            }
        };
        for mem in std::iter::once(&self.mem).chain(self.imm.iter()) {
            if !mem.is_empty() && newer(&best, mem.max_ts()) {
                offer(mem_get(mem), &mut best);
            }
        }
        let hash = key_hash(key);
        for table in &self.version.levels[0] {
            if newer(&best, table.properties().max_ts) {
                offer(table.get_hashed(key, hash, read_ts)?, &mut best);
            }
        }
        for level in 1..self.version.levels.len() {
            if let Some(table) = self.version.table_for_key(level, key)
                && newer(&best, table.properties().max_ts)
            {
                offer(table.get_hashed(key, hash, read_ts)?, &mut best);
            }
        }
        Ok(best)
    }

    /// Every version in `range`, merged over all sources, newest source first.
    pub(crate) fn versions(&self, range: &KeyBounds, reverse: bool) -> MergeIter {
        let mut sources: Vec<BoxedIter> = Vec::new();
        for mem in std::iter::once(&self.mem).chain(self.imm.iter()) {
            if !mem.is_empty() {
                sources.push(Box::new(mem.iter(range.clone(), reverse)));
            }
        }
        sources.extend(self.version.iterators(range, reverse));
        MergeIter::new(sources, reverse)
    }
}

/// An iterator over the `(key, value)` pairs visible at one timestamp.
///
/// It holds the memtables and tables it reads alive, so writes, flushes and
/// compactions that happen while it runs do not disturb it.
pub struct ScanIter {
    inner: VisibleIter<MergeIter>,
    _guard: Option<ReadGuard>,
}

impl Iterator for ScanIter {
    type Item = Result<(Bytes, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.map(|e| (e.key, e.value.unwrap_or_default())))
    }
}

/// Keeps a read timestamp registered with the oracle (so compaction keeps
/// the versions it needs) until dropped.
pub(crate) struct ReadGuard {
    shared: Arc<Shared>,
    ts: Timestamp,
}

impl ReadGuard {
    pub(crate) fn begin(shared: &Arc<Shared>) -> ReadGuard {
        // Read-your-writes for this thread; if the engine is poisoned the
        // wait gives up and the snapshot is simply older.
        let _ = shared.wait_own_commits();
        let ts = shared.oracle.begin_read();
        ReadGuard { shared: Arc::clone(shared), ts }
    }

    pub(crate) fn at(shared: &Arc<Shared>, ts: Timestamp) -> ReadGuard {
        shared.oracle.register_read(ts);
        ReadGuard { shared: Arc::clone(shared), ts }
    }

    pub(crate) fn ts(&self) -> Timestamp {
        self.ts
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        self.shared.oracle.release_read(self.ts);
    }
}

impl Shared {
    /// The value of `key` at `read_ts`.
    pub(crate) fn get_at(&self, key: &[u8], read_ts: Timestamp) -> Result<Option<Bytes>> {
        Ok(self.super_version().get_entry(key, read_ts)?.and_then(|e| e.value))
    }

    /// The visible pairs of `range` at `read_ts`, not registered as a reader.
    pub(crate) fn scan_at(&self, range: KeyBounds, read_ts: Timestamp, reverse: bool) -> ScanIter {
        ScanIter { inner: self.visible_versions(&range, read_ts, reverse), _guard: None }
    }

    /// The visible versions (with their timestamps) of `range` at `read_ts`.
    pub(crate) fn visible_versions(
        &self,
        range: &KeyBounds,
        read_ts: Timestamp,
        reverse: bool,
    ) -> VisibleIter<MergeIter> {
        let merged = self.super_version().versions(range, reverse);
        VisibleIter::new(merged, read_ts, reverse)
    }

    /// The newest version of each key of `range` at `read_ts`, forward,
    /// tombstones included.
    pub(crate) fn version_entries(&self, range: &KeyBounds, read_ts: Timestamp) -> VisibleIter<MergeIter> {
        let merged = self.super_version().versions(range, false);
        VisibleIter::with_tombstones(merged, read_ts, false)
    }
}

/// The end bound of a prefix scan: the smallest key greater than every key
/// starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Bound<Bytes> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(Bytes::from(end));
        }
    }
    Bound::Unbounded
}

/// The user-key bounds of every key starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyBounds {
    (Bound::Included(Bytes::copy_from_slice(prefix)), prefix_end(prefix))
}

/// A consistent, registered read-only view of the database at one
/// timestamp. Versions it can see are kept by compaction until it drops.
pub struct Snapshot {
    guard: ReadGuard,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("ts", &self.guard.ts).finish()
    }
}

impl Snapshot {
    /// The snapshot's read timestamp.
    pub fn ts(&self) -> Timestamp {
        self.guard.ts
    }

    /// The value of `key` at this snapshot.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.guard.shared.get_at(key, self.guard.ts)
    }

    /// The pairs in `range` at this snapshot, forward or reverse.
    pub fn scan(&self, range: KeyBounds, reverse: bool) -> ScanIter {
        let guard = ReadGuard::at(&self.guard.shared, self.guard.ts);
        ScanIter { inner: self.guard.shared.visible_versions(&range, guard.ts, reverse), _guard: Some(guard) }
    }

    /// The pairs whose key starts with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8], reverse: bool) -> ScanIter {
        self.scan(prefix_range(prefix), reverse)
    }
}

impl Engine {
    /// A registered snapshot at the current visible timestamp.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot { guard: ReadGuard::begin(&self.shared) }
    }

    /// A registered snapshot at `ts`. Versions that compaction already
    /// collected below the GC watermark are gone: reading far in the past
    /// sees the newest version at or below the watermark instead.
    pub fn snapshot_at(&self, ts: Timestamp) -> Snapshot {
        Snapshot { guard: ReadGuard::at(&self.shared, ts) }
    }

    /// The latest value of `key`.
    ///
    /// The super-version is captured *before* the timestamp is read: any
    /// compaction installed before the capture collected only below a
    /// watermark at most the visible timestamp of its start, which is at
    /// most ours, so the versions this read needs are in what it captured,
    /// without registering as a reader.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.shared.wait_own_commits()?;
        let sv = self.shared.super_version();
        let ts = self.shared.oracle.visible();
        Ok(sv.get_entry(key, ts)?.and_then(|e| e.value))
    }

    /// Blocks until `ts` is visible: every snapshot, transaction or read
    /// started afterwards sees the commit at `ts`. For sessions that move
    /// between threads (a thread sees its own commits already).
    pub fn wait_visible(&self, ts: Timestamp) -> Result<()> {
        self.shared.oracle.wait_visible(ts)
    }

    /// The value of `key` at `ts`.
    pub fn get_at(&self, key: &[u8], ts: Timestamp) -> Result<Option<Bytes>> {
        self.shared.get_at(key, ts)
    }

    /// The latest pairs in `range`, forward or reverse, as of when the scan
    /// starts.
    pub fn scan(&self, range: KeyBounds, reverse: bool) -> ScanIter {
        self.snapshot().scan(range, reverse)
    }

    /// The latest pairs whose key starts with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8], reverse: bool) -> ScanIter {
        self.scan(prefix_range(prefix), reverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), Bound::Excluded(Bytes::from_static(b"ac")));
        assert_eq!(prefix_end(b"a\xff"), Bound::Excluded(Bytes::from_static(b"b")));
        assert_eq!(prefix_end(b"\xff\xff"), Bound::Unbounded);
        assert_eq!(prefix_end(b""), Bound::Unbounded);
    }
}
