//! # The timestamp cache: what a leader has served reads at
//!
//! A transaction that reads key `k` at timestamp `R` must never afterwards
//! see a write of `k` appear at or below `R`: that would change what it
//! read. Reads do not go through the Raft log (they are served by the
//! leader after a read-index), so the range's state machine cannot know
//! about them. The leader remembers them instead, in this cache, and
//! **pushes** every intent it is about to propose above the highest read
//! of its keys: the coordinator then commits at or above the pushed
//! timestamp, so the write lands above every read that could have missed
//! it (`docs/transactions.md`, "Timestamps").
//!
//! The cache is memory only, bounded, and conservative:
//!
//! - a **low-water mark** answers for everything the cache has forgotten.
//!   Evicting entries raises it to the highest timestamp evicted, so a
//!   lookup may answer too high (a needless push), never too low;
//! - a **new leader** starts with the low-water mark at its clock plus the
//!   maximum clock offset: every read the previous leader served was at a
//!   timestamp some gateway's clock produced, which cannot be further ahead
//!   of this leader's clock than the offset;
//! - point reads are kept per key, scans per span (a scan also covers the
//!   keys it did not find, so an insert into a scanned gap is pushed too).
//!
//! It is a plain data structure with no clock and no I/O: the leader owns
//! one per range and feeds it.

use std::collections::BTreeMap;

use bytes::Bytes;

use alopex_core::Timestamp;

/// The highest read timestamps a range's leader has served, per key and
/// per scanned span.
#[derive(Debug)]
pub struct TimestampCache {
    low_water: Timestamp,
    points: BTreeMap<Bytes, Timestamp>,
    /// Scanned spans `[start, end)` (`None`: to the end of the range).
    spans: Vec<(Bytes, Option<Bytes>, Timestamp)>,
    capacity: usize,
}

impl TimestampCache {
    /// A cache that answers at least `low_water` for every key and keeps
    /// at most `capacity` entries (points plus spans).
    pub fn new(low_water: Timestamp, capacity: usize) -> Self {
        TimestampCache { low_water, points: BTreeMap::new(), spans: Vec::new(), capacity: capacity.max(2) }
    }

    /// The cache of a leader that just took over: the low-water mark is
    /// its clock's `now` plus the maximum offset (both as timestamps).
    pub fn for_new_leader(now: Timestamp, max_offset: Timestamp, capacity: usize) -> Self {
        TimestampCache::new(now.saturating_add(max_offset), capacity)
    }

    /// The timestamp below which everything counts as read.
    pub fn low_water(&self) -> Timestamp {
        self.low_water
    }

    /// Records a read of `key` at `ts`.
    pub fn record_read(&mut self, key: &[u8], ts: Timestamp) {
        if ts <= self.low_water {
            return;
        }
        let slot = self.points.entry(Bytes::copy_from_slice(key)).or_insert(ts);
        *slot = (*slot).max(ts);
        self.shrink();
    }

    /// Records a scan of `[start, end)` at `ts`.
    pub fn record_scan(&mut self, start: &[u8], end: Option<&[u8]>, ts: Timestamp) {
        if ts <= self.low_water {
            return;
        }
        self.spans.push((Bytes::copy_from_slice(start), end.map(Bytes::copy_from_slice), ts));
        self.shrink();
    }

    /// The highest timestamp `key` was read at (at least the low-water mark).
    pub fn max_read(&self, key: &[u8]) -> Timestamp {
        let point = self.points.get(key).copied().unwrap_or(0);
        let span = self
            .spans
            .iter()
            .filter(|(s, e, _)| key >= s.as_ref() && e.as_ref().is_none_or(|e| key < e.as_ref()))
            .map(|&(_, _, ts)| ts)
            .max()
            .unwrap_or(0);
        self.low_water.max(point).max(span)
    }

    /// The lowest timestamp a write of `keys` may take: above every read
    /// of them, and at least `proposed`.
    pub fn push_write<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>, proposed: Timestamp) -> Timestamp {
        keys.into_iter().map(|k| self.max_read(k).saturating_add(1)).fold(proposed, Timestamp::max)
    }

    /// Entries kept (points plus spans).
    pub fn len(&self) -> usize {
        self.points.len() + self.spans.len()
    }

    /// Whether only the low-water mark answers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the older half of the entries once over capacity, raising
    /// the low-water mark to the highest timestamp forgotten.
    fn shrink(&mut self) {
        if self.len() <= self.capacity {
            return;
        }
        let mut all: Vec<Timestamp> = self.points.values().chain(self.spans.iter().map(|s| &s.2)).copied().collect();
        all.sort_unstable();
        let cut = all[all.len() / 2];
        self.low_water = self.low_water.max(cut);
        let low = self.low_water;
        self.points.retain(|_, ts| *ts > low);
        self.spans.retain(|s| s.2 > low);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_pushed_above_reads_of_their_keys() {
        let mut c = TimestampCache::new(10, 100);
        assert_eq!(c.max_read(b"k"), 10);
        c.record_read(b"k", 50);
        c.record_read(b"k", 40);
        assert_eq!(c.max_read(b"k"), 50);
        assert_eq!(c.max_read(b"j"), 10);
        assert_eq!(c.push_write([&b"k"[..]], 20), 51);
        assert_eq!(c.push_write([&b"j"[..]], 20), 20);
        assert_eq!(c.push_write([&b"j"[..], &b"k"[..]], 70), 70);
    }

    #[test]
    fn a_scan_covers_the_gaps_it_read() {
        let mut c = TimestampCache::new(0, 100);
        c.record_scan(b"b", Some(b"d"), 30);
        c.record_scan(b"x", None, 40);
        assert_eq!(c.max_read(b"c\x00"), 30, "a key the scan did not find");
        assert_eq!(c.max_read(b"d"), 0);
        assert_eq!(c.max_read(b"a"), 0);
        assert_eq!(c.max_read(b"zzz"), 40);
    }

    #[test]
    fn eviction_only_ever_answers_higher() {
        let mut c = TimestampCache::new(0, 8);
        for i in 0..100u64 {
            c.record_read(format!("k{i:03}").as_bytes(), 1_000 + i);
        }
        assert!(c.len() <= 8);
        for i in 0..100u64 {
            assert!(c.max_read(format!("k{i:03}").as_bytes()) >= 1_000 + i, "k{i:03} answered too low");
        }
        // Reads below the low-water mark are not stored.
        let before = c.len();
        c.record_read(b"old", c.low_water());
        assert_eq!(c.len(), before);
    }

    #[test]
    fn a_new_leader_starts_above_any_read_its_predecessor_served() {
        let c = TimestampCache::for_new_leader(1_000, 500, 10);
        assert_eq!(c.low_water(), 1_500);
        assert_eq!(c.push_write([&b"anything"[..]], 1_200), 1_501);
        assert!(c.is_empty());
    }
}
