//! Optimistic MVCC transactions.
//!
//! `begin` registers a read timestamp (the snapshot); every read sees the
//! database as of that timestamp plus the transaction's own writes, which
//! are buffered in memory until commit. Nothing is locked while the
//! transaction runs, so readers never block writers and vice versa.
//!
//! At commit, under the engine's commit lock, the oracle checks the
//! transaction against every transaction that committed after its snapshot:
//!
//! * **Snapshot isolation** (the default) fails the commit if any of those
//!   wrote a key this transaction writes (first committer wins). This
//!   prevents lost updates; it allows write skew.
//! * **Serializable** also fails it if any of them wrote a key this
//!   transaction read, or a key inside a range it scanned (phantoms). With
//!   every writer validated this way, committed transactions are equivalent
//!   to running one at a time in commit-timestamp order; a read-only
//!   transaction is serialized at its snapshot and never fails.
//!
//! A failed commit returns [`Error::Conflict`]; the
//! caller retries the whole transaction.

use std::sync::Arc;

use bytes::Bytes;

use crate::engine::Engine;
use crate::engine::{ReadGuard, Shared};
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::oracle::ReadSet;
use crate::version::KeyBounds;

pub(crate) mod merge;
mod savepoint;
mod vector;
pub(crate) mod write_buffer;

pub use savepoint::Savepoint;
use write_buffer::WriteBuffer;

/// How strictly a transaction is isolated from concurrent ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Snapshot isolation: write-write conflicts abort.
    #[default]
    Snapshot,
    /// Serializable: read-write conflicts (including phantoms) abort too.
    Serializable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    Active,
    Committed,
    RolledBack,
}

/// An open transaction. Dropping it without committing rolls it back.
pub struct Transaction {
    shared: Arc<Shared>,
    guard: ReadGuard,
    isolation: IsolationLevel,
    writes: WriteBuffer,
    reads: ReadSet,
    state: TxnState,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("read_ts", &self.guard.ts())
            .field("isolation", &self.isolation)
            .field("writes", &self.writes.len())
            .field("state", &self.state)
            .finish()
    }
}

impl Transaction {
    pub(crate) fn new(shared: &Arc<Shared>, isolation: IsolationLevel) -> Transaction {
        Transaction {
            shared: Arc::clone(shared),
            guard: ReadGuard::begin(shared),
            isolation,
            writes: WriteBuffer::default(),
            reads: ReadSet::default(),
            state: TxnState::Active,
        }
    }

    fn check_active(&self) -> Result<()> {
        match self.state {
            TxnState::Active => Ok(()),
            TxnState::Committed => Err(Error::InvalidArgument("transaction already committed".into())),
            TxnState::RolledBack => Err(Error::InvalidArgument("transaction already rolled back".into())),
        }
    }

    fn serializable(&self) -> bool {
        self.isolation == IsolationLevel::Serializable
    }

    /// The snapshot timestamp every read runs at.
    pub fn read_ts(&self) -> Timestamp {
        self.guard.ts()
    }

    /// The isolation level.
    pub fn isolation(&self) -> IsolationLevel {
        self.isolation
    }

    /// Reads `key` at the snapshot, seeing this transaction's own writes.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check_active()?;
        if let Some(own) = self.writes.get(key) {
            return Ok(own.clone());
        }
        if self.serializable() {
            self.reads.keys.push(Bytes::copy_from_slice(key));
        }
        self.shared.get_at(key, self.read_ts())
    }

    /// Reads `keys` at the snapshot (own writes included), answering in
    /// order. One super-version serves the whole batch, and the memtable
    /// probes share the given keys instead of copying each: a lookup join
    /// or an index scan fetches its rows this way, a batch at a time.
    pub fn multi_get(&mut self, keys: &[Bytes]) -> Result<Vec<Option<Bytes>>> {
        self.check_active()?;
        let sv = self.shared.super_version();
        let read_ts = self.read_ts();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(own) = self.writes.get(key) {
                out.push(own.clone());
                continue;
            }
            if self.serializable() {
                self.reads.keys.push(key.clone());
            }
            out.push(sv.get_entry_shared(key, read_ts)?.and_then(|e| e.value));
        }
        Ok(out)
    }

    /// Reads up to `limit` pairs of `range` (forward or reverse) at the
    /// snapshot, merged with this transaction's own writes. `limit = 0`
    /// means no limit. Under serializable isolation the part of the range
    /// actually covered is recorded for phantom detection.
    pub fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        self.check_active()?;
        let limit = if limit == 0 { usize::MAX } else { limit };
        let stored = self.shared.scan_at(range.clone(), self.read_ts(), reverse);
        let out = merge::with_own_writes(stored, &self.writes, &range, reverse, limit)?;
        if self.serializable() {
            self.reads.ranges.push(merge::covered(range, &out, reverse, limit));
        }
        Ok(out)
    }

    /// Buffers a write of `value` to `key`.
    pub fn put(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<()> {
        self.check_active()?;
        self.writes.insert(key.into(), Some(value.into()));
        Ok(())
    }

    /// Buffers a delete of `key`.
    pub fn delete(&mut self, key: impl Into<Bytes>) -> Result<()> {
        self.check_active()?;
        self.writes.insert(key.into(), None);
        Ok(())
    }

    /// Deletes every key of `range` that this transaction can see.
    pub fn delete_range(&mut self, range: KeyBounds) -> Result<()> {
        for (key, _) in self.scan(range, false, 0)? {
            self.writes.insert(key, None);
        }
        Ok(())
    }

    /// Number of buffered writes.
    pub fn pending_writes(&self) -> usize {
        self.writes.len()
    }

    /// Validates and commits; returns the commit timestamp (the snapshot
    /// timestamp for a read-only transaction). On [`Error::Conflict`] the
    /// transaction is rolled back.
    pub fn commit(&mut self) -> Result<Timestamp> {
        self.check_active()?;
        if self.writes.is_empty() {
            self.state = TxnState::Committed;
            return Ok(self.read_ts());
        }
        let reads = self.serializable().then_some(&self.reads);
        let req = crate::engine::CommitRequest {
            ts: None,
            writes: self.writes.take_sorted(),
            ranges: Vec::new(),
            validate: Some((self.read_ts(), reads)),
        };
        let result = self.shared.commit(req);
        self.state = if result.is_ok() { TxnState::Committed } else { TxnState::RolledBack };
        result
    }

    /// Discards every buffered write.
    pub fn rollback(&mut self) -> Result<()> {
        self.check_active()?;
        self.writes.clear();
        self.state = TxnState::RolledBack;
        Ok(())
    }
}

impl Engine {
    /// Begins a transaction at the current visible timestamp.
    pub fn begin(&self, isolation: IsolationLevel) -> Transaction {
        Transaction::new(&self.shared, isolation)
    }
}

#[cfg(test)]
mod script_tests;

#[cfg(test)]
mod multi_get_tests {
    use super::*;
    use crate::Options;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// A batch read answers like one `get` per key: flushed and memtable
    /// versions, own writes and deletes, missing keys, duplicates, in order.
    #[test]
    fn multi_get_answers_like_get_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("open");
        engine.put(b("a"), b("a-old")).expect("put");
        engine.put(b("b"), b("b1")).expect("put");
        engine.flush().expect("flush");
        engine.put(b("a"), b("a-new")).expect("put");
        engine.put(b("c"), b("c1")).expect("put");
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        txn.put(b("d"), b("own")).expect("put");
        txn.delete(b("c")).expect("delete");
        engine.put(b("b"), b("after-snapshot")).expect("put");
        let keys = [b("a"), b("b"), b("c"), b("d"), b("zz"), b("a")];
        let got = txn.multi_get(&keys).expect("multi_get");
        let one_by_one: Vec<Option<Bytes>> = keys.iter().map(|k| txn.get(k).expect("get")).collect();
        assert_eq!(got, one_by_one);
        assert_eq!(got, vec![Some(b("a-new")), Some(b("b1")), None, Some(b("own")), None, Some(b("a-new"))]);
    }

    /// Under serializable isolation the keys a batch read are validated at
    /// commit, as a `get`'s are.
    #[test]
    fn multi_get_reads_are_validated_under_serializable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path(), Options::small_for_tests()).expect("open");
        engine.put(b("x"), b("1")).expect("put");
        let mut txn = engine.begin(IsolationLevel::Serializable);
        assert_eq!(txn.multi_get(&[b("x")]).expect("multi_get"), vec![Some(b("1"))]);
        engine.put(b("x"), b("2")).expect("concurrent write");
        txn.put(b("y"), b("from x")).expect("put");
        assert!(matches!(txn.commit(), Err(Error::Conflict(_))), "a read-write conflict on x");
    }
}
