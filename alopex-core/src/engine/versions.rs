//! Scans that keep each version's commit timestamp.
//!
//! [`Engine::scan`] answers `(key, value)`: what a reader needs. A layer that
//! reconciles two copies of the same key span (the cluster, installing a
//! Raft snapshot over a replica's stale data) also needs *when* each newest
//! version was committed: a key the snapshot no longer holds is deleted by a
//! tombstone just above its own newest version, so that the tombstone never
//! shadows a version the snapshot brings in. This file exposes exactly that
//! and nothing more: the same visibility rules, with timestamps.

use crate::error::Result;
use crate::iter::VisibleIter;
use crate::key::{Entry, Timestamp};
use crate::version::KeyBounds;

use super::Engine;
use super::read::ReadGuard;

/// The newest visible version of each key of a span, with its commit
/// timestamp (tombstoned keys are skipped). Holds its read timestamp
/// registered, so compaction keeps what it reads.
pub struct VersionIter {
    inner: VisibleIter<crate::iter::MergeIter>,
    _guard: ReadGuard,
}

impl Iterator for VersionIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

impl Engine {
    /// The newest version at or below `ts` of every key in `range`, in key
    /// order, each with its commit timestamp; deleted keys are skipped.
    pub fn scan_versions(&self, range: KeyBounds, ts: Timestamp) -> VersionIter {
        let guard = ReadGuard::at(&self.shared, ts);
        let inner = self.shared.visible_versions(&range, guard.ts(), false);
        VersionIter { inner, _guard: guard }
    }

    /// [`Engine::scan_versions`] with **tombstones included** (`value:
    /// None`): the newest version at or below `ts` of every key that has
    /// one, live or deleted. A reader that checks an uncertainty interval
    /// must see a delete committed inside it as much as a write.
    pub fn scan_versions_with_tombstones(&self, range: KeyBounds, ts: Timestamp) -> VersionIter {
        let guard = ReadGuard::at(&self.shared, ts);
        let inner = self.shared.version_entries(&range, guard.ts());
        VersionIter { inner, _guard: guard }
    }

    /// The newest version of `key` at or below `ts`, with its commit
    /// timestamp, **tombstones included** (`value: None`): a layer that
    /// checks for write conflicts must see a newer delete as a newer write.
    pub fn get_version(&self, key: &[u8], ts: Timestamp) -> Result<Option<Entry>> {
        let guard = ReadGuard::at(&self.shared, ts);
        self.shared.super_version().get_entry(key, guard.ts())
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use bytes::Bytes;

    use crate::{Engine, Options, WriteBatch};

    #[test]
    fn versions_carry_their_commit_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut b = WriteBatch::new();
        b.put("a", "1");
        engine.write_at(b, 100).unwrap();
        let mut b = WriteBatch::new();
        b.put("b", "2").put("c", "3");
        engine.write_at(b, 50).unwrap();
        let mut b = WriteBatch::new();
        b.delete("c");
        engine.write_at(b, 60).unwrap();
        let all = (Bound::Unbounded, Bound::Unbounded);
        let got: Vec<(Bytes, u64)> = engine
            .scan_versions(all.clone(), u64::MAX >> 1)
            .map(|e| e.map(|e| (e.key, e.ts)))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, vec![(Bytes::from("a"), 100), (Bytes::from("b"), 50)]);
        let with_deletes: Vec<(Bytes, u64, bool)> = engine
            .scan_versions_with_tombstones(all.clone(), u64::MAX >> 1)
            .map(|e| e.map(|e| (e.key, e.ts, e.value.is_some())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            with_deletes,
            vec![(Bytes::from("a"), 100, true), (Bytes::from("b"), 50, true), (Bytes::from("c"), 60, false)]
        );
        // Below the delete, "c" is live again.
        let at_55: Vec<(Bytes, u64, bool)> = engine
            .scan_versions_with_tombstones(all.clone(), 55)
            .map(|e| e.map(|e| (e.key, e.ts, e.value.is_some())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(at_55, vec![(Bytes::from("b"), 50, true), (Bytes::from("c"), 50, true)]);
        let old: Vec<u64> = engine.scan_versions(all, 55).map(|e| e.unwrap().ts).collect();
        assert_eq!(old, vec![50, 50]);
        // `get_version` sees the delete, with its timestamp.
        let c = engine.get_version(b"c", u64::MAX).unwrap().unwrap();
        assert_eq!((c.ts, c.value), (60, None));
        assert_eq!(engine.get_version(b"c", 55).unwrap().unwrap().value, Some(Bytes::from("3")));
        assert_eq!(engine.get_version(b"zz", u64::MAX).unwrap(), None);
    }

    #[test]
    fn export_with_appends_later_spans_and_refuses_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path().join("db"), Options::small_for_tests()).unwrap();
        let mut b = WriteBatch::new();
        b.put("a", "1").put("m", "2").put("x", "3").put("y", "4");
        engine.write_at(b, 10).unwrap();
        let span =
            |s: &'static str, e: &'static str| (Bound::Included(Bytes::from(s)), Bound::Excluded(Bytes::from(e)));
        let path = dir.path().join("out.sst");
        let stats = engine.export_with(span("a", "b"), &[span("x", "y")], 10, &path).unwrap();
        assert_eq!(stats.keys, 2);
        let other = Engine::open(dir.path().join("db2"), Options::small_for_tests()).unwrap();
        other.ingest(&path).unwrap();
        assert_eq!(other.get(b"a").unwrap(), Some(Bytes::from("1")));
        assert_eq!(other.get(b"x").unwrap(), Some(Bytes::from("3")));
        assert_eq!(other.get(b"m").unwrap(), None);
        let bad = engine.export_with(span("m", "n"), &[span("a", "b")], 10, &dir.path().join("bad.sst"));
        assert!(bad.is_err());
    }
}
