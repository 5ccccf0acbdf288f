//! The oracle: commit timestamps, snapshot visibility, and conflict checks.
//!
//! Commits are allocated a timestamp under the engine's commit lock, but they
//! finish (WAL fsync, memtable insert) concurrently and possibly out of
//! order. A snapshot must never see commit 11 before commit 10 is applied,
//! so the oracle tracks *pending* commits and publishes a **visible
//! timestamp**: the greatest `ts` such that every commit at or below it has
//! been applied. New snapshots read at the visible timestamp.
//!
//! The oracle also keeps a short log of recently committed write sets. A
//! transaction that started at `start_ts` conflicts with any commit in that
//! log newer than `start_ts` whose writes intersect its writes (snapshot
//! isolation: first committer wins) or, under serializable isolation, its
//! reads and scanned ranges (backward validation, which rules out write skew
//! and phantoms). Entries older than the oldest live reader are pruned.
//!
//! The oracle also knows every live reader, so compaction can ask for the
//! **GC watermark**: the oldest timestamp anyone may still read at.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use crate::clock::TimestampSource;
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::version::KeyBounds;

/// The writes of one committed batch, for conflict detection.
#[derive(Debug)]
struct CommittedWrites {
    ts: Timestamp,
    /// Sorted, deduplicated keys.
    keys: Arc<Vec<Bytes>>,
}

#[derive(Debug, Default)]
struct OracleState {
    pending: BTreeMap<Timestamp, usize>,
    visible: Timestamp,
    readers: BTreeMap<Timestamp, usize>,
    recent: VecDeque<CommittedWrites>,
    /// Set when the engine is poisoned: waits for visibility give up.
    poisoned: bool,
}

impl OracleState {
    fn recompute_visible(&mut self, clock: &dyn TimestampSource) {
        let candidate = match self.pending.keys().next() {
            Some(&first) => first.saturating_sub(1),
            None => clock.current(),
        };
        self.visible = self.visible.max(candidate);
    }

    /// Drops write sets no transaction can conflict with. A transaction that
    /// started at `r` checks commits with ts > r, and every future one starts
    /// at the visible timestamp or later, so a write set is needed only while
    /// its ts exceeds both the oldest reader and the visible timestamp.
    /// Entries are not always in timestamp order (caller-supplied
    /// timestamps), hence `retain`.
    fn prune(&mut self) {
        let bound = self.readers.keys().next().copied().unwrap_or(Timestamp::MAX).min(self.visible);
        if self.recent.front().is_some_and(|f| f.ts <= bound) || self.recent.back().is_some_and(|b| b.ts <= bound) {
            self.recent.retain(|c| c.ts > bound);
        }
    }
}

/// The read set of a serializable transaction.
#[derive(Debug, Default, Clone)]
pub struct ReadSet {
    /// Keys read by point lookups.
    pub keys: Vec<Bytes>,
    /// Ranges read by scans (as far as the scan actually went).
    pub ranges: Vec<KeyBounds>,
}

fn contains(range: &KeyBounds, key: &[u8]) -> bool {
    let after_start = match &range.0 {
        Bound::Included(s) => key >= s.as_ref(),
        Bound::Excluded(s) => key > s.as_ref(),
        Bound::Unbounded => true,
    };
    let before_end = match &range.1 {
        Bound::Included(e) => key <= e.as_ref(),
        Bound::Excluded(e) => key < e.as_ref(),
        Bound::Unbounded => true,
    };
    after_start && before_end
}

fn range_hits(sorted: &[Bytes], range: &KeyBounds) -> bool {
    let start = match &range.0 {
        Bound::Included(s) => sorted.partition_point(|k| k < s),
        Bound::Excluded(s) => sorted.partition_point(|k| k <= s),
        Bound::Unbounded => 0,
    };
    sorted.get(start).is_some_and(|k| contains(range, k))
}

/// See the module documentation.
pub struct Oracle {
    clock: Arc<dyn TimestampSource>,
    state: Mutex<OracleState>,
    applied: Condvar,
    /// A copy of `state.visible`, written under the lock, read without it.
    visible: AtomicU64,
}

impl Oracle {
    /// An oracle over `clock`, with nothing pending.
    pub fn new(clock: Arc<dyn TimestampSource>) -> Self {
        let visible = clock.current();
        Oracle {
            clock,
            state: Mutex::new(OracleState { visible, ..Default::default() }),
            applied: Condvar::new(),
            visible: AtomicU64::new(visible),
        }
    }

    /// Advances the clock past `ts` (recovery) and republishes visibility.
    pub fn observe(&self, ts: Timestamp) {
        let mut s = self.state.lock();
        self.clock.observe(ts);
        s.recompute_visible(self.clock.as_ref());
        self.visible.store(s.visible, Ordering::Release);
    }

    /// The current visible timestamp.
    pub fn visible(&self) -> Timestamp {
        self.visible.load(Ordering::Acquire)
    }

    /// Registers a reader at the visible timestamp and returns it.
    pub fn begin_read(&self) -> Timestamp {
        let mut s = self.state.lock();
        let ts = s.visible;
        *s.readers.entry(ts).or_default() += 1;
        ts
    }

    /// Registers a reader at a chosen timestamp.
    pub fn register_read(&self, ts: Timestamp) {
        *self.state.lock().readers.entry(ts).or_default() += 1;
    }

    /// Ends a reader registered by [`begin_read`](Self::begin_read) or
    /// [`register_read`](Self::register_read).
    pub fn release_read(&self, ts: Timestamp) {
        let mut s = self.state.lock();
        if let Some(n) = s.readers.get_mut(&ts) {
            *n -= 1;
            if *n == 0 {
                s.readers.remove(&ts);
            }
        }
        s.prune();
    }

    /// The oldest timestamp any live reader may read at. Versions shadowed at
    /// or below it are garbage.
    pub fn gc_watermark(&self) -> Timestamp {
        let s = self.state.lock();
        s.readers.keys().next().copied().unwrap_or(s.visible).min(s.visible)
    }

    /// Fails with [`Error::Conflict`] if a commit newer than `start_ts` wrote
    /// one of `writes` or, when given, touched `reads`. `writes` must be
    /// sorted. Call under the engine's commit lock.
    pub fn check_conflicts(&self, start_ts: Timestamp, writes: &[&Bytes], reads: Option<&ReadSet>) -> Result<()> {
        let s = self.state.lock();
        for commit in s.recent.iter().rev() {
            if commit.ts <= start_ts {
                continue; // not ordered by ts when callers supply timestamps
            }
            let committed = commit.keys.as_slice();
            if let Some(k) = writes.iter().find(|k| committed.binary_search(k).is_ok()) {
                return Err(Error::Conflict(format!(
                    "write-write conflict on key {:?} with a transaction committed at {}",
                    Bytes::clone(*k),
                    commit.ts
                )));
            }
            if let Some(reads) = reads {
                if let Some(k) = reads.keys.iter().find(|k| committed.binary_search(k).is_ok()) {
                    return Err(Error::Conflict(format!(
                        "read-write conflict: key {:?} was read and then written by a transaction committed at {}",
                        Bytes::clone(k),
                        commit.ts
                    )));
                }
                if reads.ranges.iter().any(|r| range_hits(committed, r)) {
                    return Err(Error::Conflict(format!(
                        "read-write conflict: a scanned range was written by a transaction committed at {}",
                        commit.ts
                    )));
                }
            }
        }
        Ok(())
    }

    /// Allocates a commit timestamp (or accepts the caller's), marks it
    /// pending, and records the commit's write set (`keys` returns it
    /// sorted) for conflict checks. The set is kept even when no transaction
    /// is open: one that begins while this commit is still pending starts
    /// below its timestamp and must see it. Call under the commit lock.
    pub fn allocate(&self, given: Option<Timestamp>, keys: impl FnOnce() -> Vec<Bytes>) -> Timestamp {
        let keys = Arc::new(keys()); // built before taking the lock
        let mut s = self.state.lock();
        let ts = match given {
            Some(ts) => {
                self.clock.observe(ts);
                ts
            }
            None => self.clock.next(),
        };
        *s.pending.entry(ts).or_default() += 1;
        s.recent.push_back(CommittedWrites { ts, keys });
        ts
    }

    /// Marks the commit at `ts` applied (or abandoned) and advances
    /// visibility.
    pub fn finish(&self, ts: Timestamp) {
        let mut s = self.state.lock();
        if let Some(n) = s.pending.get_mut(&ts) {
            *n -= 1;
            if *n == 0 {
                s.pending.remove(&ts);
            }
        }
        let before = s.visible;
        s.recompute_visible(self.clock.as_ref());
        self.visible.store(s.visible, Ordering::Release);
        s.prune();
        if s.visible != before || s.pending.is_empty() {
            self.applied.notify_all();
        }
    }

    /// Blocks until no commit is pending. Call under the commit lock, so that
    /// no new commit can start meanwhile. Fails once the engine is poisoned
    /// (a commit whose fsync failed stays pending forever).
    pub fn wait_all_applied(&self) -> Result<()> {
        let mut s = self.state.lock();
        while !s.pending.is_empty() {
            if s.poisoned {
                return Err(Error::Poisoned("a commit never became durable".into()));
            }
            self.applied.wait(&mut s);
        }
        Ok(())
    }

    /// Blocks until `ts` is visible, so that a committer's next snapshot sees
    /// its own commit even while an earlier commit is still finishing.
    pub fn wait_visible(&self, ts: Timestamp) -> Result<()> {
        // The earlier commits are usually just finishing their memtable
        // insert: spin briefly before parking on the condition variable.
        for _ in 0..64 {
            if self.visible.load(Ordering::Acquire) >= ts {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        for _ in 0..8 {
            std::thread::yield_now();
            if self.visible.load(Ordering::Acquire) >= ts {
                return Ok(());
            }
        }
        let mut s = self.state.lock();
        while s.visible < ts {
            if s.poisoned {
                return Err(Error::Poisoned("an earlier commit never became durable".into()));
            }
            self.applied.wait(&mut s);
        }
        Ok(())
    }

    /// Makes every wait give up: the engine is poisoned.
    pub fn poison(&self) {
        self.state.lock().poisoned = true;
        self.applied.notify_all();
    }

    /// Number of committed write sets kept for conflict checks.
    pub fn conflict_log_len(&self) -> usize {
        self.state.lock().recent.len()
    }
}

impl std::fmt::Debug for Oracle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oracle").field("state", &*self.state.lock()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HybridClock, ManualClock};

    fn oracle() -> Oracle {
        Oracle::new(Arc::new(HybridClock::new(ManualClock::new(1))))
    }

    #[test]
    fn visibility_waits_for_out_of_order_commits() {
        let o = oracle();
        let v0 = o.visible();
        let a = o.allocate(None, Vec::new);
        let b = o.allocate(None, Vec::new);
        o.finish(b);
        assert_eq!(o.visible(), a - 1, "b is applied but a is not");
        assert!(o.visible() >= v0);
        o.finish(a);
        assert_eq!(o.visible(), b);
    }

    #[test]
    fn a_transaction_sees_conflicts_with_writes_pending_when_it_began() {
        let o = oracle();
        let key = Bytes::from_static(b"k");
        // A plain write is allocated while no transaction is open...
        let ts = o.allocate(None, || vec![key.clone()]);
        // ...a transaction begins below it, since it is not yet visible...
        let start = o.begin_read();
        assert!(start < ts);
        o.finish(ts);
        // ...and must still conflict with it.
        assert!(matches!(o.check_conflicts(start, &[&key], None), Err(Error::Conflict(_))));
        o.release_read(start);
        assert_eq!(o.conflict_log_len(), 0);
    }

    #[test]
    fn caller_timestamps_out_of_order_are_still_checked() {
        let o = oracle();
        let key = Bytes::from_static(b"k");
        let start = o.begin_read();
        let high = o.allocate(Some(start + 100), || vec![key.clone()]);
        let low = o.allocate(Some(start + 50), Vec::new);
        o.finish(high);
        o.finish(low);
        assert!(o.check_conflicts(start + 60, &[&key], None).is_err(), "ts {high} is newer than the start");
    }

    #[test]
    fn wait_visible_returns_once_earlier_commits_finish() {
        let o = Arc::new(oracle());
        let a = o.allocate(None, Vec::new);
        let b = o.allocate(None, Vec::new);
        o.finish(b);
        let waiter = {
            let o = Arc::clone(&o);
            std::thread::spawn(move || o.wait_visible(b))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!waiter.is_finished(), "b is not visible while a is pending");
        o.finish(a);
        waiter.join().expect("thread").expect("visible");
        // A poisoned oracle releases waiters with an error.
        let c = o.allocate(None, Vec::new);
        o.poison();
        assert!(matches!(o.wait_visible(c), Err(Error::Poisoned(_))));
    }

    #[test]
    fn conflicts_only_with_newer_commits() {
        let o = oracle();
        let start = o.begin_read();
        let key = Bytes::from_static(b"k");
        let ts = o.allocate(None, || vec![key.clone()]);
        o.finish(ts);
        assert!(matches!(o.check_conflicts(start, &[&key], None), Err(Error::Conflict(_))));
        assert!(o.check_conflicts(ts, &[&key], None).is_ok());
        let reads = ReadSet {
            keys: vec![],
            ranges: vec![(Bound::Included(Bytes::from_static(b"a")), Bound::Excluded(Bytes::from_static(b"z")))],
        };
        assert!(o.check_conflicts(start, &[], Some(&reads)).is_err(), "phantom in a scanned range");
        o.release_read(start);
        assert_eq!(o.conflict_log_len(), 0, "pruned once no reader needs it");
    }
}
