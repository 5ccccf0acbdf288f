//! # A transaction's memory of what it read
//!
//! A transaction reads at one timestamp, so reading the same key or the
//! same span again must give the same answer: nothing committed below the
//! read timestamp can change any more (a later writer is pushed above it
//! by the leaders' timestamp caches), and the intents the first read met
//! were settled before it returned. The SQL executor rereads a lot: a
//! correlated subquery scans its table once per outer row, a nested-loop
//! join probes the same keys again, every statement reads the catalog
//! version. On one node that costs a memtable lookup; on a cluster every
//! read is a network round trip through a range leader's read-index.
//! So a [`ClusterTxn`](super::ClusterTxn) remembers its reads of committed
//! data and answers repeats from memory.
//!
//! What is kept is the **committed** answer, before the transaction's own
//! buffered writes are laid over it: the overlay is applied on every read,
//! so a write made after the first read is seen by the second.
//!
//! The memory is dropped whenever the read timestamp moves (an
//! uncertainty restart), and it is bounded: past [`MAX_BYTES`] of cached
//! keys and values nothing more is kept, and reads go to the ranges as
//! before. A scan is remembered under its exact bounds and row limit; a
//! scan with other bounds is read again even if an earlier one covered it
//! (simple, and the repeats that matter are exact).

use std::collections::HashMap;

use bytes::Bytes;

use alopex_core::Timestamp;

/// The most key and value bytes one transaction keeps.
pub const MAX_BYTES: usize = 16 << 20;

/// A scan's identity: its bounds and the most rows it wanted.
type ScanKey = (Bytes, Bytes, usize);

/// Reads remembered at one read timestamp. See the module documentation.
#[derive(Default)]
pub struct ReadCache {
    at: Timestamp,
    bytes: usize,
    keys: HashMap<Bytes, Option<Bytes>>,
    scans: HashMap<ScanKey, Vec<(Bytes, Bytes)>>,
}

impl ReadCache {
    /// Forgets everything unless it was read at `read_ts`.
    fn align(&mut self, read_ts: Timestamp) {
        if self.at != read_ts {
            self.keys.clear();
            self.scans.clear();
            self.bytes = 0;
            self.at = read_ts;
        }
    }

    /// The committed value of `key` read earlier at `read_ts` (the outer
    /// `None`: not remembered).
    pub fn get(&mut self, read_ts: Timestamp, key: &[u8]) -> Option<Option<Bytes>> {
        self.align(read_ts);
        self.keys.get(key).cloned()
    }

    /// Remembers the committed value of `key` at `read_ts`.
    pub fn put(&mut self, read_ts: Timestamp, key: Bytes, value: Option<Bytes>) {
        self.align(read_ts);
        let size = key.len() + value.as_ref().map_or(0, Bytes::len);
        if self.bytes + size <= MAX_BYTES {
            self.bytes += size;
            self.keys.insert(key, value);
        }
    }

    /// The committed rows of the scan `[start, end)` limited to `want`
    /// rows, read earlier at `read_ts`.
    pub fn scan(&mut self, read_ts: Timestamp, start: &Bytes, end: &Bytes, want: usize) -> Option<Vec<(Bytes, Bytes)>> {
        self.align(read_ts);
        self.scans.get(&(start.clone(), end.clone(), want)).cloned()
    }

    /// Remembers a scan's committed rows.
    pub fn put_scan(&mut self, read_ts: Timestamp, start: Bytes, end: Bytes, want: usize, rows: &[(Bytes, Bytes)]) {
        self.align(read_ts);
        let size = start.len() + end.len() + rows.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.bytes + size <= MAX_BYTES {
            self.bytes += size;
            self.scans.insert((start, end, want), rows.to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn remembers_at_one_timestamp_only() {
        let mut c = ReadCache::default();
        c.put(5, b("k"), Some(b("v")));
        c.put(5, b("gone"), None);
        c.put_scan(5, b("a"), b("z"), 10, &[(b("k"), b("v"))]);
        assert_eq!(c.get(5, b"k"), Some(Some(b("v"))));
        assert_eq!(c.get(5, b"gone"), Some(None));
        assert_eq!(c.get(5, b"other"), None);
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10).map(|r| r.len()), Some(1));
        assert_eq!(c.scan(5, &b("a"), &b("z"), 11), None, "another limit is another scan");
        // The read timestamp moved: everything is read again.
        assert_eq!(c.get(6, b"k"), None);
        assert_eq!(c.scan(6, &b("a"), &b("z"), 10), None);
    }

    #[test]
    fn stops_keeping_past_its_budget() {
        let mut c = ReadCache::default();
        let big = Bytes::from(vec![0u8; MAX_BYTES - 10]);
        c.put(1, b("big"), Some(big));
        c.put(1, b("small"), Some(b("0123456789")));
        assert!(c.get(1, b"big").is_some());
        assert_eq!(c.get(1, b"small"), None);
    }
}
