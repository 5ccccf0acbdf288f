//! The memtable: recent writes, sorted in memory.
//!
//! Writes land here after the WAL has them. The memtable is a lock-free
//! skiplist (`crossbeam-skiplist`) keyed by internal key (user key ascending,
//! timestamp descending), so many committers insert at once without a lock
//! and readers never block writers. We measured it against the `skiplist`
//! crate behind a mutex (see `docs/benchmarks.md`); under concurrent writers
//! the lock-free map wins, and it is the one kept.
//!
//! A memtable has a byte budget. When it is full the engine makes it
//! immutable, starts a new one (and a new WAL segment), and a background
//! thread flushes the immutable one to an L0 SSTable. Each memtable remembers
//! the WAL segment that holds its writes, so the segment can be deleted once
//! the memtable is durable in an SSTable.
//!
//! Iteration does not borrow the skiplist: a [`MemtableIter`] owns an `Arc` of
//! the memtable and re-seeks after the last key it returned, a chunk at a
//! time. That makes iterators `'static` and lets them outlive a memtable
//! switch.
//!
//! The map is the skiplist crate's base layer (`crossbeam_skiplist::base`),
//! not its `SkipMap` wrapper: the wrapper pins the epoch and takes and drops
//! a node reference count for every entry an iterator steps over (about
//! half of a scan of a memtable-resident table in the `vs_sqlite` join
//! profile). The base layer lets a reader pin once per chunk or lookup and
//! borrow the entries for the pin's lifetime; what a reader keeps, it
//! clones out (`Bytes`, a reference count on shared chunks).

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use crossbeam_skiplist::SkipList;

use crate::error::Result;
use crate::key::{Entry, Timestamp};

mod max_key;
pub(crate) mod pack;

/// Bytes charged per entry on top of key and value (node, pointers, Arc).
const ENTRY_OVERHEAD: usize = 64;
/// Entries fetched per re-seek by a [`MemtableIter`].
const CHUNK: usize = 128;

/// The skiplist key: user key ascending, timestamp descending.
///
/// The first 16 bytes of the key (zero-padded) are kept inline as a
/// pair of big-endian `u64`s, so most comparisons during a skiplist
/// search are one integer compare on the node itself instead of a pointer
/// chase into the key's heap buffer (the profile in `docs/benchmarks.md`
/// showed those cache misses dominating inserts). Padded prefixes order like
/// the keys whenever they differ: a difference inside both keys is the real
/// first difference, and a difference past the end of one key means that key
/// is a prefix of the other, so it sorts first, as its zero padding does.
///
/// The layout is fixed (`repr(C)`) with the prefix and timestamp last: in a
/// `crossbeam-skiplist` node the key is followed by the tower of next
/// pointers, so a search step reads the prefix, the timestamp and the tower
/// from the same cache line. Node size matters most: shrinking the key to 56
/// bytes (two `u64`s rather than a 16-byte-aligned `u128`, no separate
/// length) made single-writer random inserts ~15–20% faster; the field order
/// measured neutral to slightly positive.
#[derive(Debug, Clone)]
#[repr(C)]
struct MemKey {
    key: Bytes,
    ts: Timestamp,
    /// The first 16 key bytes, zero-padded, as big-endian halves.
    prefix: [u64; 2],
}

const INLINE: usize = 16;

impl MemKey {
    fn new(key: Bytes, ts: Timestamp) -> Self {
        MemKey { prefix: max_key::prefix_of(&key), key, ts }
    }

    fn cmp_user_key(&self, other: &MemKey) -> std::cmp::Ordering {
        self.prefix.cmp(&other.prefix).then_with(|| {
            // `Bytes` keeps its length inline, so this reads no heap memory.
            let (a, b) = (self.key.len(), other.key.len());
            if a <= INLINE && b <= INLINE {
                // Equal padded prefixes and both keys inline: one is a prefix
                // of the other, and the shorter sorts first.
                a.cmp(&b)
            } else {
                self.key.cmp(&other.key)
            }
        })
    }
}

impl PartialEq for MemKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for MemKey {}
impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.cmp_user_key(other).then_with(|| other.ts.cmp(&self.ts))
    }
}

/// A sorted, concurrent, in-memory table of versions.
#[derive(Debug)]
pub struct Memtable {
    map: SkipList<MemKey, Option<Bytes>>,
    size: AtomicUsize,
    min_ts: AtomicU64,
    max_ts: AtomicU64,
    wal_segment: u64,
    /// Writers that have reserved this memtable but not yet applied.
    writers: AtomicUsize,
    /// The largest key inserted, so reads above it skip the search.
    max_key: max_key::MaxKey,
}

impl Memtable {
    /// An empty memtable whose writes live in WAL segment `wal_segment`.
    pub fn new(wal_segment: u64) -> Self {
        Memtable {
            map: SkipList::new(crossbeam_epoch::default_collector().clone()),
            size: AtomicUsize::new(0),
            min_ts: AtomicU64::new(u64::MAX),
            max_ts: AtomicU64::new(0),
            wal_segment,
            writers: AtomicUsize::new(0),
            max_key: max_key::MaxKey::default(),
        }
    }

    /// The WAL segment holding this memtable's writes.
    pub fn wal_segment(&self) -> u64 {
        self.wal_segment
    }

    /// Approximate bytes used.
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// Number of versions held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no version is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The greatest timestamp written here (0 when empty).
    pub fn max_ts(&self) -> Timestamp {
        self.max_ts.load(Ordering::Acquire)
    }

    /// The smallest timestamp written here (`u64::MAX` when empty).
    pub fn min_ts(&self) -> Timestamp {
        self.min_ts.load(Ordering::Acquire)
    }

    /// Inserts one version. A second write of the same `(key, ts)` replaces
    /// the first.
    pub fn insert(&self, key: Bytes, ts: Timestamp, value: Option<Bytes>) {
        let charge = key.len() + value.as_ref().map_or(0, Bytes::len) + ENTRY_OVERHEAD;
        let key = MemKey::new(key, ts);
        // Before the insert: a reader that sees the version sees the bound.
        self.max_key.raise(key.prefix);
        let guard = &crossbeam_epoch::pin();
        self.map.insert(key, value, guard).release(guard);
        self.size.fetch_add(charge, Ordering::Relaxed);
        self.min_ts.fetch_min(ts, Ordering::AcqRel);
        self.max_ts.fetch_max(ts, Ordering::AcqRel);
    }

    /// Announces a writer that will insert later; the flusher waits for it.
    pub fn reserve_writer(&self) {
        self.writers.fetch_add(1, Ordering::AcqRel);
    }

    /// Ends a reservation made by [`reserve_writer`](Self::reserve_writer).
    pub fn release_writer(&self) {
        self.writers.fetch_sub(1, Ordering::AcqRel);
    }

    /// Blocks until every reserved writer has released. Only the flusher
    /// waits, once per frozen memtable, and the writers it waits for are
    /// already past their fsync; polling keeps the commit path free of a
    /// lock and a condition variable.
    pub fn wait_for_writers(&self) {
        let mut spins = 0u32;
        while self.writers.load(Ordering::Acquire) > 0 {
            if spins < 100 {
                std::thread::yield_now();
                spins += 1;
            } else {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    /// The newest version of `key` with timestamp `<= read_ts`, tombstones
    /// included (as `value: None`).
    pub fn get(&self, key: &[u8], read_ts: Timestamp) -> Option<Entry> {
        if self.max_key.above(key) {
            return None;
        }
        self.get_shared(&Bytes::copy_from_slice(key), read_ts)
    }

    /// [`get`](Self::get) for a key the caller already holds as `Bytes`:
    /// the search probe shares it instead of copying it into a new
    /// allocation (batched reads, see `Transaction::multi_get`).
    pub fn get_shared(&self, key: &Bytes, read_ts: Timestamp) -> Option<Entry> {
        if self.max_key.above(key) {
            return None;
        }
        let probe = MemKey::new(key.clone(), read_ts);
        let guard = &crossbeam_epoch::pin();
        let entry = self.map.lower_bound(Bound::Included(&probe), guard)?;
        (entry.key().key == key).then(|| Entry {
            key: entry.key().key.clone(),
            ts: entry.key().ts,
            value: entry.value().clone(),
        })
    }

    /// Counts the versions with a user key in `range`, stopping at `cap`.
    pub fn count_range(&self, range: (Bound<Bytes>, Bound<Bytes>), cap: usize) -> usize {
        let lower = match range.0 {
            Bound::Included(k) => Bound::Included(MemKey::new(k, Timestamp::MAX)),
            Bound::Excluded(k) => Bound::Excluded(MemKey::new(k, 0)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let upper = match range.1 {
            Bound::Included(k) => Bound::Included(MemKey::new(k, 0)),
            Bound::Excluded(k) => Bound::Excluded(MemKey::new(k, Timestamp::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let guard = &crossbeam_epoch::pin();
        self.map.range((lower, upper), guard).take(cap).count()
    }

    /// Iterates every version with a user key in `range`, in internal order
    /// (or its exact reverse).
    pub fn iter(self: &Arc<Self>, range: (Bound<Bytes>, Bound<Bytes>), reverse: bool) -> MemtableIter {
        let lower = match range.0 {
            Bound::Included(k) => Bound::Included(MemKey::new(k, Timestamp::MAX)),
            Bound::Excluded(k) => Bound::Excluded(MemKey::new(k, 0)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let upper = match range.1 {
            Bound::Included(k) => Bound::Included(MemKey::new(k, 0)),
            Bound::Excluded(k) => Bound::Excluded(MemKey::new(k, Timestamp::MAX)),
            Bound::Unbounded => Bound::Unbounded,
        };
        MemtableIter { mem: Arc::clone(self), lower, upper, reverse, buf: Vec::new(), done: false }
    }
}

/// A `'static` iterator over a memtable range; see the module docs.
#[derive(Debug)]
pub struct MemtableIter {
    mem: Arc<Memtable>,
    lower: Bound<MemKey>,
    upper: Bound<MemKey>,
    reverse: bool,
    /// Buffered entries, stored in reverse of yield order so `pop` yields.
    buf: Vec<Entry>,
    done: bool,
}

impl MemtableIter {
    /// Reads the next chunk into `buf` (which is empty), reusing its
    /// allocation. Collecting each chunk into a fresh `Vec` grew it by
    /// reallocation a few times per chunk; with glibc that reached
    /// `malloc_consolidate` and, while a flushed memtable was being freed on
    /// another thread, was most of a join's scan of a memtable-resident
    /// table (`perf` on the `vs_sqlite` join).
    fn refill(&mut self) {
        let range = (self.lower.clone(), self.upper.clone());
        let to_entry = |e: crossbeam_skiplist::base::Entry<'_, '_, MemKey, Option<Bytes>>| Entry {
            key: e.key().key.clone(),
            ts: e.key().ts,
            value: e.value().clone(),
        };
        let buf = &mut self.buf;
        buf.reserve(CHUNK);
        let guard = &crossbeam_epoch::pin();
        if self.reverse {
            buf.extend(self.mem.map.range(range, guard).rev().take(CHUNK).map(to_entry));
        } else {
            buf.extend(self.mem.map.range(range, guard).take(CHUNK).map(to_entry));
        }
        if buf.len() < CHUNK {
            self.done = true;
        }
        if let Some(last) = buf.last() {
            let resume = Bound::Excluded(MemKey::new(last.key.clone(), last.ts));
            if self.reverse {
                self.upper = resume;
            } else {
                self.lower = resume;
            }
        }
        buf.reverse();
    }
}

impl Iterator for MemtableIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            self.refill();
        }
        self.buf.pop().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// Reads above the largest key are answered without a search, and
    /// every key up to it is still found (long keys sharing a 16-byte
    /// prefix included).
    #[test]
    fn reads_above_the_largest_key() {
        let m = Memtable::new(1);
        let long = "0123456789abcdefXY";
        for k in ["b", long, "a"] {
            m.insert(b(k), 5, Some(b(k)));
        }
        for k in ["b", long, "a"] {
            assert_eq!(m.get(k.as_bytes(), 9).and_then(|e| e.value), Some(b(k)), "{k}");
            assert_eq!(m.get_shared(&b(k), 9).and_then(|e| e.value), Some(b(k)), "{k}");
        }
        assert!(m.get(b"c", 9).is_none());
        assert!(m.get(b"0123456789abcdefXZ", 9).is_none());
        m.insert(b("d"), 6, None);
        assert!(m.get(b"d", 9).is_some_and(|e| e.value.is_none()), "a tombstone raises the bound too");
    }

    #[test]
    fn inline_prefix_orders_like_the_keys() {
        // Keys built from {0x00, 0x01, 0xff, 'a'} of lengths 0..=20, so that
        // zero bytes, shared prefixes and the 16-byte boundary all occur.
        let alphabet = [0u8, 1, 0xff, b'a'];
        let mut keys = vec![Bytes::new()];
        let mut x = 12345u64;
        for _ in 0..3000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (x >> 33) as usize % 21;
            let k: Vec<u8> = (0..len).map(|i| alphabet[((x >> (i % 30)) & 3) as usize]).collect();
            keys.push(Bytes::from(k));
        }
        for (i, a) in keys.iter().enumerate() {
            let b = &keys[(i * 7 + 3) % keys.len()];
            for (ta, tb) in [(1u64, 2u64), (5, 5), (9, 3)] {
                let expect = a.cmp(b).then(tb.cmp(&ta));
                assert_eq!(
                    MemKey::new(a.clone(), ta).cmp(&MemKey::new(b.clone(), tb)),
                    expect,
                    "{a:?}@{ta} vs {b:?}@{tb}"
                );
            }
        }
    }

    #[test]
    fn get_sees_newest_visible_version() {
        let m = Memtable::new(1);
        m.insert(b("k"), 5, Some(b("v5")));
        m.insert(b("k"), 9, None);
        m.insert(b("ka"), 1, Some(b("x")));
        assert_eq!(m.get(b"k", 4), None);
        assert_eq!(m.get(b"k", 5).and_then(|e| e.value), Some(b("v5")));
        assert_eq!(m.get(b"k", 8).map(|e| e.ts), Some(5));
        assert_eq!(m.get(b"k", 9).map(|e| e.value), Some(None));
        assert_eq!(m.get(b"j", 100), None);
        for (key, ts) in [("k", 4), ("k", 5), ("k", 8), ("k", 9), ("j", 100), ("ka", 1), ("kb", 9)] {
            assert_eq!(m.get_shared(&b(key), ts), m.get(key.as_bytes(), ts), "{key}@{ts}");
        }
    }

    #[test]
    fn iter_chunks_forward_and_reverse() {
        let m = Arc::new(Memtable::new(1));
        for i in 0..1000u32 {
            for ts in [1u64, 2] {
                m.insert(Bytes::from(format!("{i:05}")), ts, Some(b("v")));
            }
        }
        let range = (Bound::Included(b("00100")), Bound::Excluded(b("00900")));
        let fwd: Vec<Entry> = m.iter(range.clone(), false).collect::<Result<_>>().expect("no io");
        assert_eq!(fwd.len(), 1600);
        assert!(fwd.windows(2).all(|w| w[0].cmp_internal(&w[1]).is_lt()));
        let mut rev: Vec<Entry> = m.iter(range, true).collect::<Result<_>>().expect("no io");
        rev.reverse();
        assert_eq!(fwd, rev);
        let incl = (Bound::Excluded(b("00100")), Bound::Included(b("00900")));
        let v: Vec<Entry> = m.iter(incl, false).collect::<Result<_>>().expect("no io");
        assert_eq!(v.first().map(|e| e.key.clone()), Some(b("00101")));
        assert_eq!(v.last().map(|e| (e.key.clone(), e.ts)), Some((b("00900"), 1)));
    }
}
