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
    inner: VisibleIter,
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
        let old: Vec<u64> = engine.scan_versions(all, 55).map(|e| e.unwrap().ts).collect();
        assert_eq!(old, vec![50, 50]);
    }
}
