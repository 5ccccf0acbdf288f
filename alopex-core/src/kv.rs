//! The transactional key-value seam.
//!
//! The SQL engine reads and writes only through these two traits. The local
//! MVCC [`Engine`] implements them here; the cluster will
//! implement them again over ranges and Raft, and the SQL engine will not
//! know which one it runs on.
//!
//! Every call may become a network round trip in the distributed
//! implementation, so the traits favour batches: `multi_get` instead of many
//! `get`s, and `scan` returns a page of up to `limit` pairs that the caller
//! continues from the last key.

use std::ops::Bound;

use bytes::Bytes;

use crate::engine::Engine;
use crate::error::Result;
use crate::key::Timestamp;
use crate::scan_filter::{FilteredPage, RowPredicate, ScanFilter};
use crate::txn::{IsolationLevel, Savepoint, Transaction};
use crate::vector::search::{TopHits, exact_search};
use crate::vector::{KeyFilter, SnapshotReader, VectorHit, VectorIndexSpec};
use crate::version::KeyBounds;

/// Options for [`KvStore::begin`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnOptions {
    /// The isolation level.
    pub isolation: IsolationLevel,
}

/// A store that runs transactions.
pub trait KvStore: Send + Sync {
    /// The transaction type.
    type Txn: KvTxn;

    /// Begins a transaction at a fresh snapshot.
    fn begin(&self, opts: TxnOptions) -> Result<Self::Txn>;

    /// Registers a vector index, so the store can build search structures
    /// for its span (the engine: an HNSW segment in every table it writes).
    /// Idempotent for an identical spec. The default accepts any valid
    /// spec and does nothing: [`KvTxn::vector_search`]'s default is exact
    /// and needs no structure.
    fn create_vector_index(&self, spec: &VectorIndexSpec) -> Result<()> {
        spec.validate()
    }

    /// Unregisters vector index `id`; returns whether the store had it
    /// registered (the default keeps no registry: `false`).
    fn drop_vector_index(&self, id: u64) -> Result<bool> {
        let _ = id;
        Ok(false)
    }

    /// The registered vector indexes (the default keeps no registry).
    fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        Vec::new()
    }

    /// Where the keys of `span` live, for `EXPLAIN`: the ranges of a
    /// distributed store that the span overlaps, in key order. `None` (the
    /// default) for a store that is not split (a local engine).
    fn placement(&self, span: &KeyBounds) -> Option<Vec<RangePlacement>> {
        let _ = span;
        None
    }

    /// Whether [`KvTxn::scan_filtered`] evaluates filters where the data
    /// lives, so that a planner should push predicates into scans. The
    /// default (`false`): a local store whose filtered scan is the plain
    /// scan plus a filter in process, which saves nothing.
    fn pushes_filters(&self) -> bool {
        false
    }
}

/// One range of a distributed store, as [`KvStore::placement`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlacement {
    /// The range's id.
    pub range: u64,
    /// The nodes holding a replica.
    pub replicas: Vec<u64>,
    /// The node believed to lead it, when known.
    pub leader: Option<u64>,
}

/// One transaction: reads at a snapshot, buffered writes, atomic commit.
pub trait KvTxn: Send {
    /// The snapshot timestamp.
    fn read_ts(&self) -> Timestamp;

    /// Reads one key.
    fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>>;

    /// Reads many keys in one call, answering in order.
    fn multi_get(&mut self, keys: &[Bytes]) -> Result<Vec<Option<Bytes>>> {
        // Sized up front: collecting through `Result` has no size hint, and
        // growing by reallocation showed in join profiles.
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key)?);
        }
        Ok(out)
    }

    /// Reads up to `limit` pairs of `range` (0 = no limit), forward or
    /// reverse. To continue, scan again from just past the last key.
    fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>>;

    /// Reads the pairs of `range` that `filter` matches, up to `limit` of
    /// them (0 = no limit), forward or reverse; the page says where to
    /// continue ([`FilteredPage::resume`], past the last key *examined*), and
    /// may stop early with fewer matches after examining many keys (a
    /// sparse filter answers in bounded time). An unknown codec or a bad
    /// program is an error, never an empty page (see
    /// [`crate::scan_filter`]).
    ///
    /// The default compiles the filter in process and filters
    /// [`KvTxn::scan`]'s pages; a distributed store evaluates it where the
    /// rows live.
    fn scan_filtered(
        &mut self,
        range: KeyBounds,
        reverse: bool,
        limit: usize,
        filter: &ScanFilter,
    ) -> Result<FilteredPage> {
        let predicate = crate::scan_filter::compile(filter)?;
        filter_pages(self, range, reverse, limit, &*predicate)
    }

    /// Whether [`KvTxn::scan_filtered`] evaluates the filter where the
    /// rows live (see [`KvStore::pushes_filters`]); the default: `false`.
    fn pushes_filters(&self) -> bool {
        false
    }

    /// Writes a value.
    fn put(&mut self, key: Bytes, value: Bytes) -> Result<()>;

    /// Deletes a key.
    fn delete(&mut self, key: Bytes) -> Result<()>;

    /// Deletes every key in a range.
    fn delete_range(&mut self, range: KeyBounds) -> Result<()>;

    /// Commits; returns the commit timestamp. [`crate::Error::Conflict`]
    /// means retry.
    fn commit(&mut self) -> Result<Timestamp>;

    /// Discards the transaction.
    fn rollback(&mut self) -> Result<()>;

    /// Opens a savepoint (SQL `SAVEPOINT`): a later
    /// [`KvTxn::rollback_to_savepoint`] undoes the writes made after it.
    /// The default refuses: a store must opt in.
    fn savepoint(&mut self) -> Result<Savepoint> {
        Err(crate::Error::InvalidArgument("this store does not support savepoints".into()))
    }

    /// Undoes the writes made since `sp`; `sp` stays open, later
    /// savepoints are discarded. Reads are kept (serializable validation
    /// still covers them).
    fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        let _ = sp;
        Err(crate::Error::InvalidArgument("this store does not support savepoints".into()))
    }

    /// Discards `sp` and every later savepoint, keeping their writes.
    fn release_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        let _ = sp;
        Err(crate::Error::InvalidArgument("this store does not support savepoints".into()))
    }

    /// The `k` entries of the vector index `spec` closest to `query` at
    /// the snapshot (own writes included), closest first, with their exact
    /// distances; only keys `filter` accepts (it may read other keys at the
    /// same snapshot, e.g. the row an index entry points to). `ef_search` is the HNSW
    /// candidate list length where the store has graphs.
    ///
    /// The default scans the index's span and scores every entry exactly
    /// (correct, linear in the span); the engine's [`Transaction`] searches
    /// its per-table graphs instead. Values in the span that are not
    /// vectors of `spec.dim` dimensions are skipped.
    fn vector_search(
        &mut self,
        spec: &VectorIndexSpec,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        const PAGE: usize = 1024;
        let _ = ef_search; // exact: no candidate list
        let mut top = TopHits::new(k);
        let mut range = spec.span();
        loop {
            let page = self.scan(range.clone(), false, PAGE)?;
            let last = page.last().map(|(key, _)| key.clone());
            let full = page.len() >= PAGE;
            let reader = TxnReader(std::cell::RefCell::new(&mut *self));
            let hits = exact_search(page, spec, query, k, filter.map(|f| (f, &reader as &dyn SnapshotReader)))?;
            for hit in hits {
                if top.admits(hit.distance) {
                    top.offer(hit);
                }
            }
            match last {
                Some(last) if full => range = continue_after(&range, &last, false),
                _ => break,
            }
        }
        Ok(top.into_sorted())
    }
}

/// Pairs [`filter_pages`] reads from the store per underlying page.
const FILTER_PAGE: usize = 1024;

/// The most pairs one [`KvTxn::scan_filtered`] page of the default
/// implementation examines before it answers.
pub const MAX_SCANNED_PER_PAGE: usize = 64 * 1024;

/// [`KvTxn::scan_filtered`] by filtering `txn`'s plain scan in process.
pub fn filter_pages<T: KvTxn + ?Sized>(
    txn: &mut T,
    range: KeyBounds,
    reverse: bool,
    limit: usize,
    predicate: &dyn RowPredicate,
) -> Result<FilteredPage> {
    let mut out = FilteredPage::default();
    let mut rest = range;
    loop {
        let page = txn.scan(rest.clone(), reverse, FILTER_PAGE)?;
        let full = page.len() >= FILTER_PAGE;
        let mut last = None;
        for (key, value) in page {
            out.scanned += 1;
            if predicate.matches(&key, &value)? {
                out.rows.push((key.clone(), value));
                if limit > 0 && out.rows.len() >= limit {
                    out.resume = Some(continue_after(&rest, &key, reverse));
                    return Ok(out);
                }
            }
            last = Some(key);
        }
        match last {
            Some(last) if full => rest = continue_after(&rest, &last, reverse),
            _ => return Ok(out),
        }
        if out.scanned >= MAX_SCANNED_PER_PAGE {
            out.resume = Some(rest);
            return Ok(out);
        }
    }
}

/// A transaction as the [`SnapshotReader`] of its own search's filter.
struct TxnReader<'a, T: ?Sized>(std::cell::RefCell<&'a mut T>);

impl<T: KvTxn + ?Sized> SnapshotReader for TxnReader<'_, T> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.0.borrow_mut().get(key)
    }
}

/// The range that continues a page of a scan after `last`.
pub fn continue_after(range: &KeyBounds, last: &Bytes, reverse: bool) -> KeyBounds {
    if reverse {
        (range.0.clone(), Bound::Excluded(last.clone()))
    } else {
        (Bound::Excluded(last.clone()), range.1.clone())
    }
}

impl KvStore for Engine {
    type Txn = Transaction;

    fn begin(&self, opts: TxnOptions) -> Result<Transaction> {
        Ok(Engine::begin(self, opts.isolation))
    }

    fn create_vector_index(&self, spec: &VectorIndexSpec) -> Result<()> {
        Engine::create_vector_index(self, spec.clone())
    }

    fn drop_vector_index(&self, id: u64) -> Result<bool> {
        Engine::drop_vector_index(self, id)
    }

    fn vector_indexes(&self) -> Vec<VectorIndexSpec> {
        Engine::vector_indexes(self)
    }
}

impl KvTxn for Transaction {
    fn read_ts(&self) -> Timestamp {
        Transaction::read_ts(self)
    }
    fn get(&mut self, key: &[u8]) -> Result<Option<Bytes>> {
        Transaction::get(self, key)
    }
    fn multi_get(&mut self, keys: &[Bytes]) -> Result<Vec<Option<Bytes>>> {
        Transaction::multi_get(self, keys)
    }
    fn scan(&mut self, range: KeyBounds, reverse: bool, limit: usize) -> Result<Vec<(Bytes, Bytes)>> {
        Transaction::scan(self, range, reverse, limit)
    }
    fn put(&mut self, key: Bytes, value: Bytes) -> Result<()> {
        Transaction::put(self, key, value)
    }
    fn delete(&mut self, key: Bytes) -> Result<()> {
        Transaction::delete(self, key)
    }
    fn delete_range(&mut self, range: KeyBounds) -> Result<()> {
        Transaction::delete_range(self, range)
    }
    fn commit(&mut self) -> Result<Timestamp> {
        Transaction::commit(self)
    }
    fn rollback(&mut self) -> Result<()> {
        Transaction::rollback(self)
    }
    fn savepoint(&mut self) -> Result<Savepoint> {
        Transaction::savepoint(self)
    }
    fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        Transaction::rollback_to_savepoint(self, sp)
    }
    fn release_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        Transaction::release_savepoint(self, sp)
    }
    fn vector_search(
        &mut self,
        spec: &VectorIndexSpec,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        Transaction::vector_search_spec(self, spec, query, k, ef_search, filter)
    }
}
