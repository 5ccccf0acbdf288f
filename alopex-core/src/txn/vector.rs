//! Vector search inside a transaction.
//!
//! A transaction searches at its snapshot and sees its own uncommitted
//! writes: an own insert or update is scored exactly and can be returned,
//! an own delete hides the key. The engine does the rest (see
//! `engine::vector_search`). Under serializable isolation the index's whole
//! span is recorded as read, so a concurrent commit that changes any vector
//! of the index conflicts with this transaction (conservative: a search
//! depends on every vector it did not return, too).

use bytes::Bytes;

use super::Transaction;
use crate::engine::VectorQuery;
use crate::error::Result;
use crate::vector::{KeyFilter, VectorHit, VectorIndexSpec};

impl Transaction {
    /// The `k` entries of registered vector index `index_id` closest to
    /// `query` at this transaction's snapshot, with its own writes, closest
    /// first. `ef_search` is the HNSW candidate list length per table (40
    /// is pgvector's default; raised to `k` if smaller). `filter`, if given,
    /// is applied to user keys during the search: only accepted keys are
    /// returned.
    ///
    /// [`crate::Error::InvalidArgument`] for an unknown index, a query of
    /// the wrong dimension or with NaN/infinite elements, or an own write in
    /// the span that is not a vector; [`crate::Error::Corruption`] if a
    /// segment on disk is damaged.
    pub fn vector_search(
        &mut self,
        index_id: u64,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        let spec = self.shared.vector_spec(index_id)?;
        self.vector_search_spec(&spec, query, k, ef_search, filter)
    }

    /// [`vector_search`](Self::vector_search) with the spec given. If it is
    /// not the registered spec of its id, no segment matches it and every
    /// table is scored exactly: slower, still correct.
    pub fn vector_search_spec(
        &mut self,
        spec: &VectorIndexSpec,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        self.check_active()?;
        spec.validate()?;
        // The own writes in the span, in key order: the only place the
        // search touches the transaction's write buffer.
        let span = spec.span();
        let own_writes: Vec<(Bytes, Option<Bytes>)> =
            self.writes.range(&span, false).map(|(k, v)| (k.clone(), v.clone())).collect();
        let read_ts = self.read_ts();
        let q = VectorQuery { spec, query, k, ef_search, filter, read_ts, own_writes: &own_writes };
        let hits = self.shared.vector_search(&q)?;
        if self.serializable() {
            self.reads.ranges.push(spec.span());
        }
        Ok(hits)
    }
}
