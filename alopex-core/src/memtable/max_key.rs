//! The largest key a memtable holds, readable without a lock.
//!
//! Most point reads of a write-heavy workload look for keys that are not
//! there: an INSERT checks that its primary key is new, and new keys are
//! usually larger than every key written so far (serial ids, timestamps).
//! A skiplist search for such a key walks a whole tower and, before that,
//! copies the probe key into an allocation; about a tenth of a prepared
//! single-row INSERT went there (`perf` on the `vs_sqlite` insert
//! workload). If the memtable knows its largest key, a read above it is
//! answered at once.
//!
//! The bound kept is the key's first 16 bytes, zero-padded, as two
//! big-endian `u64`s (the same prefix [`super::MemKey`] keeps inline). A
//! padded prefix is monotone in the key (a longer or larger key never has a
//! smaller prefix), so a probe whose prefix is *greater* than the largest
//! prefix is greater than every key held. Equal prefixes decide nothing and
//! the search runs as before.
//!
//! The two words are published as a *seqlock*: a writer makes the sequence
//! odd, stores both words, and makes it even again; a reader trusts the
//! words only if it read the same even sequence before and after them, and
//! otherwise just searches (it never waits on a writer). Readers never
//! write shared memory, so concurrent readers do not contend, and the
//! writers (committers inserting concurrently, each only when its key
//! raises the bound) serialize on a small mutex.
//!
//! Ordering: a key's bound is raised *before* the key is inserted into the
//! skiplist. A reader that can see a version through its snapshot took
//! that snapshot after the commit was applied, hence after the raise, so
//! it sees the raised bound. A reader racing with an insert may miss the
//! raise, but then the version is not visible to it anyway.

use std::sync::atomic::{AtomicU64, Ordering, fence};

/// The padded 16-byte prefix of `key` as big-endian halves.
pub(super) fn prefix_of(key: &[u8]) -> [u64; 2] {
    let mut buf = [0u8; 16];
    let n = key.len().min(16);
    buf[..n].copy_from_slice(&key[..n]);
    let (hi, lo) = buf.split_at(8);
    let half = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
    [half(hi), half(lo)]
}

/// The largest key prefix inserted so far (see the module docs).
#[derive(Debug, Default)]
pub(super) struct MaxKey {
    /// Odd while a writer is storing the words.
    seq: AtomicU64,
    hi: AtomicU64,
    lo: AtomicU64,
    /// Serializes writers.
    write: parking_lot::Mutex<()>,
}

impl MaxKey {
    /// The largest prefix (`[0, 0]` when nothing was inserted), or None
    /// when a writer is storing it right now. Readers never wait for a
    /// writer (one preempted halfway would stall them): they take None as
    /// "unknown" and search the skiplist as before.
    pub(super) fn get(&self) -> Option<[u64; 2]> {
        let before = self.seq.load(Ordering::Acquire);
        if before & 1 == 1 {
            return None;
        }
        let value = [self.hi.load(Ordering::Relaxed), self.lo.load(Ordering::Relaxed)];
        fence(Ordering::Acquire);
        (self.seq.load(Ordering::Relaxed) == before).then_some(value)
    }

    /// Raises the bound to `prefix` if it is larger.
    pub(super) fn raise(&self, prefix: [u64; 2]) {
        if self.get().is_some_and(|current| prefix <= current) {
            return;
        }
        let _writer = self.write.lock();
        let current = [self.hi.load(Ordering::Relaxed), self.lo.load(Ordering::Relaxed)];
        if prefix <= current {
            return;
        }
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.hi.store(prefix[0], Ordering::Relaxed);
        self.lo.store(prefix[1], Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// True when `key` is greater than every key whose prefix was raised.
    /// False when the bound is being written (see [`MaxKey::get`]).
    pub(super) fn above(&self, key: &[u8]) -> bool {
        self.get().is_some_and(|max| prefix_of(key) > max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_order_like_keys() {
        let keys: [&[u8]; 7] = [b"", b"\0", b"a", b"a\0", b"ab", b"abcdefghijklmnopq", b"b"];
        for pair in keys.windows(2) {
            assert!(prefix_of(pair[0]) <= prefix_of(pair[1]), "{pair:?}");
        }
        let max = MaxKey::default();
        max.raise(prefix_of(b"ab"));
        max.raise(prefix_of(b"a"));
        assert!(max.above(b"b"));
        assert!(max.above(b"abc"));
        assert!(!max.above(b"ab"), "an equal prefix decides nothing");
        assert!(!max.above(b"ab\0"), "padding makes it equal");
        assert!(!max.above(b"a"));
    }

    /// Readers on other threads never see a torn pair: every value read is
    /// one that was raised, and the bound only grows.
    #[test]
    fn concurrent_readers_see_whole_values() {
        let max = std::sync::Arc::new(MaxKey::default());
        let writer = {
            let max = max.clone();
            std::thread::spawn(move || {
                for i in 1..=20_000u64 {
                    max.raise([i, i]);
                }
            })
        };
        let mut last = [0, 0];
        while !writer.is_finished() {
            let Some(v) = max.get() else { continue };
            assert_eq!(v[0], v[1], "torn read {v:?}");
            assert!(v >= last);
            last = v;
        }
        writer.join().expect("writer");
        assert_eq!(max.get(), Some([20_000, 20_000]));
    }
}
