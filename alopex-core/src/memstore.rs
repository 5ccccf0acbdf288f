//! An in-memory transactional store with the engine's semantics.
//!
//! [`MemStore`] implements [`KvStore`]/[`KvTxn`] over a `BTreeMap` of
//! versions, with the same isolation rules as the engine: snapshot reads,
//! own writes visible, first committer wins on write-write conflicts, and
//! under serializable isolation read keys and scanned ranges validated
//! against every later commit. It keeps nothing on disk: it backs the
//! in-memory SQL database (`Database::open_in_memory`) and tests that want
//! the seam without files.
//!
//! Versions older than the oldest open snapshot are pruned at commit, so
//! memory holds the live data plus what open transactions can still see.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::kv::{KvStore, KvTxn, TxnOptions};
use crate::txn::merge;
use crate::txn::write_buffer::WriteBuffer;
use crate::txn::{IsolationLevel, Savepoint};
use crate::version::KeyBounds;

/// An in-memory MVCC store. Cloning shares the same data.
#[derive(Clone, Default)]
pub struct MemStore {
    state: Arc<Mutex<State>>,
}

/// A key's versions, newest first; `None` is a tombstone.
type Versions = Vec<(Timestamp, Option<Bytes>)>;

#[derive(Default)]
struct State {
    /// Per key: its versions.
    data: BTreeMap<Bytes, Versions>,
    /// The last commit timestamp.
    last: Timestamp,
    /// Keys written by each commit, for validation.
    log: BTreeMap<Timestamp, Arc<BTreeSet<Bytes>>>,
    /// Open snapshots: read timestamp → count.
    snapshots: BTreeMap<Timestamp, usize>,
}

impl State {
    fn read(&self, key: &[u8], ts: Timestamp) -> Option<Bytes> {
        self.data.get(key)?.iter().find(|(t, _)| *t <= ts).and_then(|(_, v)| v.clone())
    }

    fn release(&mut self, ts: Timestamp) {
        if let Some(n) = self.snapshots.get_mut(&ts) {
            *n -= 1;
            if *n == 0 {
                self.snapshots.remove(&ts);
            }
        }
    }

    /// Drops log entries, and versions of `keys`, that no open snapshot
    /// can need. Only the keys a commit wrote are visited, so a commit costs
    /// what it wrote, not the size of the store; a key keeps at most the
    /// versions that were needed when it was last written.
    fn prune(&mut self, keys: &BTreeSet<Bytes>) {
        let horizon = self.snapshots.keys().next().copied().unwrap_or(self.last);
        self.log = self.log.split_off(&(horizon + 1));
        for key in keys {
            let Some(versions) = self.data.get_mut(key) else { continue };
            if let Some(pos) = versions.iter().position(|(t, _)| *t <= horizon) {
                versions.truncate(pos + 1);
            }
            if versions.len() == 1 && versions[0].1.is_none() {
                self.data.remove(key);
            }
        }
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }
}

impl KvStore for MemStore {
    type Txn = MemTxn;

    fn begin(&self, opts: TxnOptions) -> Result<MemTxn> {
        let mut st = self.state.lock();
        let read_ts = st.last;
        *st.snapshots.entry(read_ts).or_default() += 1;
        Ok(MemTxn {
            store: self.state.clone(),
            read_ts,
            isolation: opts.isolation,
            writes: WriteBuffer::default(),
            read_keys: Vec::new(),
            read_ranges: Vec::new(),
            open: true,
        })
    }
}

/// A transaction on a [`MemStore`].
pub struct MemTxn {
    store: Arc<Mutex<State>>,
    read_ts: Timestamp,
    isolation: IsolationLevel,
    writes: WriteBuffer,
    read_keys: Vec<Bytes>,
    read_ranges: Vec<KeyBounds>,
    open: bool,
}

impl MemTxn {
    fn check_open(&self) -> Result<()> {
        if self.open { Ok(()) } else { Err(Error::InvalidArgument("transaction already finished".into())) }
    }

    fn finish(&mut self) {
        if self.open {
            self.open = false;
            self.store.lock().release(self.read_ts);
        }
    }
}

fn contains(range: &KeyBounds, key: &[u8]) -> bool {
    let lower = match &range.0 {
        Bound::Included(b) => key >= b.as_ref(),
        Bound::Excluded(b) => key > b.as_ref(),
        Bound::Unbounded => true,
    };
    let upper = match &range.1 {
        Bound::Included(b) => key <= b.as_ref(),
        Bound::Excluded(b) => key < b.as_ref(),
        Bound::Unbounded => true,
    };
    lower && upper
}

impl KvTxn for MemTxn {
    fn read_ts(&self) -> Timestamp {
        self.read_ts
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check_open()?;
        if let Some(own) = self.writes.get(key) {
            return Ok(own.clone());
        }
        if self.isolation == IsolationLevel::Serializable {
            self.read_keys.push(Bytes::copy_from_slice(key));
        }
        Ok(self.store.lock().read(key, self.read_ts))
    }

    fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        self.check_open()?;
        let limit = if limit == 0 { usize::MAX } else { limit };
        // Merge the snapshot with own writes: collect candidate keys from both.
        let bounds = (range.0.as_ref().map(|b| b.as_ref()), range.1.as_ref().map(|b| b.as_ref()));
        let out = {
            let st = self.store.lock();
            let read_ts = self.read_ts;
            // BTreeMap::range panics on inverted or empty bounds.
            let stored: Box<dyn Iterator<Item = (&Bytes, &Versions)>> =
                if crate::txn::write_buffer::is_empty_range(&range) {
                    Box::new(std::iter::empty())
                } else if reverse {
                    Box::new(st.data.range::<[u8], _>(bounds).rev())
                } else {
                    Box::new(st.data.range::<[u8], _>(bounds))
                };
            let stored = stored.filter_map(|(k, versions)| {
                versions.iter().find(|(t, _)| *t <= read_ts).and_then(|(_, v)| v.clone()).map(|v| Ok((k.clone(), v)))
            });
            merge::with_own_writes(stored, &self.writes, &range, reverse, limit)?
        };
        if self.isolation == IsolationLevel::Serializable {
            self.read_ranges.push(merge::covered(range, &out, reverse, limit));
        }
        Ok(out)
    }

    fn put(&mut self, key: Bytes, value: Bytes) -> Result<()> {
        self.check_open()?;
        self.writes.insert(key, Some(value));
        Ok(())
    }

    fn delete(&mut self, key: Bytes) -> Result<()> {
        self.check_open()?;
        self.writes.insert(key, None);
        Ok(())
    }

    fn delete_range(&mut self, range: KeyBounds) -> Result<()> {
        for (key, _) in self.scan(range, false, 0)? {
            self.writes.insert(key, None);
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<Timestamp> {
        self.check_open()?;
        if self.writes.is_empty() {
            self.finish();
            return Ok(self.read_ts);
        }
        let writes = self.writes.take_sorted();
        let mut st = self.store.lock();
        for (ts, keys) in st.log.range(self.read_ts + 1..) {
            if let Some((k, _)) = writes.iter().find(|(k, _)| keys.contains(k)) {
                let msg = format!("key {k:?} was written by a transaction that committed at {ts}");
                drop(st);
                self.writes.clear();
                self.finish();
                return Err(Error::Conflict(msg));
            }
            if self.isolation == IsolationLevel::Serializable {
                let read_conflict = self.read_keys.iter().any(|k| keys.contains(k))
                    || self.read_ranges.iter().any(|r| keys.iter().any(|k| contains(r, k)));
                if read_conflict {
                    let msg = format!("a read was invalidated by a transaction that committed at {ts}");
                    drop(st);
                    self.writes.clear();
                    self.finish();
                    return Err(Error::Conflict(msg));
                }
            }
        }
        let ts = st.last + 1;
        st.last = ts;
        let keys: BTreeSet<Bytes> = writes.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in writes {
            st.data.entry(k).or_default().insert(0, (ts, v));
        }
        let keys = Arc::new(keys);
        st.log.insert(ts, keys.clone());
        st.release(self.read_ts);
        self.open = false;
        st.prune(&keys);
        Ok(ts)
    }

    fn rollback(&mut self) -> Result<()> {
        self.writes.clear();
        self.finish();
        Ok(())
    }

    fn savepoint(&mut self) -> Result<Savepoint> {
        self.check_open()?;
        Ok(self.writes.savepoint())
    }

    fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.check_open()?;
        self.writes.rollback_to(sp)
    }

    fn release_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.check_open()?;
        self.writes.release(sp)
    }
}

impl Drop for MemTxn {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn empty_and_inverted_ranges_scan_nothing() {
        let store = MemStore::new();
        let mut tx = store.begin(TxnOptions::default()).unwrap();
        tx.put(Bytes::from_static(b"b"), Bytes::from_static(b"1")).unwrap();
        tx.commit().unwrap();
        let mut tx = store.begin(TxnOptions::default()).unwrap();
        tx.put(Bytes::from_static(b"a"), Bytes::from_static(b"2")).unwrap();
        let b = || Bytes::from_static(b"b");
        for range in [
            (Bound::Excluded(b()), Bound::Excluded(b())),
            (Bound::Included(b()), Bound::Excluded(b())),
            (Bound::Included(Bytes::from_static(b"c")), Bound::Included(Bytes::from_static(b"a"))),
        ] {
            assert!(tx.scan(range.clone(), false, 0).unwrap().is_empty(), "{range:?}");
            assert!(tx.scan(range, true, 0).unwrap().is_empty());
        }
    }

    #[test]
    fn snapshot_reads_and_own_writes() {
        let store = MemStore::new();
        let mut t1 = store.begin(TxnOptions::default()).unwrap();
        t1.put(b("a"), b("1")).unwrap();
        assert_eq!(t1.get(b"a").unwrap(), Some(b("1")));
        let mut t2 = store.begin(TxnOptions::default()).unwrap();
        t1.commit().unwrap();
        assert_eq!(t2.get(b"a").unwrap(), None, "t2's snapshot predates t1's commit");
        let mut t3 = store.begin(TxnOptions::default()).unwrap();
        assert_eq!(t3.get(b"a").unwrap(), Some(b("1")));
        t3.delete(b("a")).unwrap();
        assert!(t3.scan((Bound::Unbounded, Bound::Unbounded), false, 0).unwrap().is_empty());
    }

    #[test]
    fn first_committer_wins() {
        let store = MemStore::new();
        let mut t1 = store.begin(TxnOptions::default()).unwrap();
        let mut t2 = store.begin(TxnOptions::default()).unwrap();
        t1.put(b("k"), b("1")).unwrap();
        t2.put(b("k"), b("2")).unwrap();
        t1.commit().unwrap();
        assert!(matches!(t2.commit(), Err(Error::Conflict(_))));
    }

    #[test]
    fn serializable_detects_phantoms_and_write_skew() {
        let store = MemStore::new();
        let ser = TxnOptions { isolation: IsolationLevel::Serializable };
        let mut t1 = store.begin(ser).unwrap();
        let mut t2 = store.begin(ser).unwrap();
        assert!(t1.scan((Bound::Included(b("a")), Bound::Excluded(b("z"))), false, 0).unwrap().is_empty());
        t1.put(b("x1"), b("1")).unwrap();
        t2.put(b("m"), b("2")).unwrap();
        t2.commit().unwrap();
        assert!(matches!(t1.commit(), Err(Error::Conflict(_))), "t2 wrote into t1's scanned range");
    }

    #[test]
    fn scans_merge_in_order_with_limits_and_reverse() {
        let store = MemStore::new();
        let mut t = store.begin(TxnOptions::default()).unwrap();
        for k in ["a", "c", "e"] {
            t.put(b(k), b(k)).unwrap();
        }
        t.commit().unwrap();
        let mut t = store.begin(TxnOptions::default()).unwrap();
        t.put(b("b"), b("b")).unwrap();
        t.delete(b("c")).unwrap();
        let all = (Bound::Unbounded, Bound::Unbounded);
        let keys = |v: Vec<(Bytes, Bytes)>| v.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(t.scan(all.clone(), false, 0).unwrap()), vec![b("a"), b("b"), b("e")]);
        assert_eq!(keys(t.scan(all.clone(), true, 2).unwrap()), vec![b("e"), b("b")]);
    }
}
