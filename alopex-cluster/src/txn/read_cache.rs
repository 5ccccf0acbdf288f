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
//! before. A scan is remembered under its exact bounds, row limit and
//! pushed filter (if any), with how far it got; a scan with other bounds is
//! read again even if an earlier one covered it (simple, and the repeats
//! that matter are exact). A filtered scan is never answered from an
//! unfiltered entry here, nor the reverse: the coordinator may answer a
//! filtered scan from a *complete* unfiltered one by filtering it itself.

use std::collections::HashMap;

use bytes::Bytes;

use alopex_core::{ScanFilter, Timestamp};

/// The most key and value bytes one transaction keeps.
pub const MAX_BYTES: usize = 16 << 20;

/// A scan's identity: its bounds, the most rows it wanted, its filter.
pub type ScanKey = (Bytes, Bytes, usize, Option<ScanFilter>);

/// A remembered scan: its rows and how far it got (exclusive).
type ScanHit = (Vec<(Bytes, Bytes)>, Bytes);

/// Reads remembered at one read timestamp. See the module documentation.
#[derive(Default)]
pub struct ReadCache {
    at: Timestamp,
    bytes: usize,
    keys: HashMap<Bytes, Option<Bytes>>,
    scans: HashMap<ScanKey, ScanHit>,
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
    /// rows with `filter`, read earlier at `read_ts`, and how far it got.
    pub fn scan(
        &mut self,
        read_ts: Timestamp,
        start: &Bytes,
        end: &Bytes,
        want: usize,
        filter: Option<&ScanFilter>,
    ) -> Option<ScanHit> {
        self.align(read_ts);
        self.scans.get(&(start.clone(), end.clone(), want, filter.cloned())).cloned()
    }

    /// Remembers a scan's committed rows and how far it got.
    pub fn put_scan(&mut self, read_ts: Timestamp, key: ScanKey, rows: &[(Bytes, Bytes)], covered: Bytes) {
        self.align(read_ts);
        let filter = key.3.as_ref().map_or(0, |f| f.program.len());
        let size = key.0.len() + key.1.len() + filter + covered.len();
        let size = size + rows.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if self.bytes + size <= MAX_BYTES {
            self.bytes += size;
            self.scans.insert(key, (rows.to_vec(), covered));
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
        c.put_scan(5, (b("a"), b("z"), 10, None), &[(b("k"), b("v"))], b("z"));
        assert_eq!(c.get(5, b"k"), Some(Some(b("v"))));
        assert_eq!(c.get(5, b"gone"), Some(None));
        assert_eq!(c.get(5, b"other"), None);
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10, None).map(|r| r.0.len()), Some(1));
        assert_eq!(c.scan(5, &b("a"), &b("z"), 11, None), None, "another limit is another scan");
        // A filtered scan is another scan, and each filter its own.
        let f = ScanFilter { codec: 1, program: b("v<10") };
        let g = ScanFilter { codec: 1, program: b("v<20") };
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10, Some(&f)), None);
        c.put_scan(5, (b("a"), b("z"), 10, Some(f.clone())), &[], b("m"));
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10, Some(&f)), Some((vec![], b("m"))));
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10, Some(&g)), None);
        assert_eq!(c.scan(5, &b("a"), &b("z"), 10, None).map(|r| r.0.len()), Some(1), "unfiltered kept apart");
        // The read timestamp moved: everything is read again.
        assert_eq!(c.get(6, b"k"), None);
        assert_eq!(c.scan(6, &b("a"), &b("z"), 10, None), None);
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
