//! What a vector search returns, and the exact search every store can run.
//!
//! [`VectorHit`] is plain data (key, value, distance), so the same answer
//! can come from the local engine or, later, over the network from a
//! cluster. [`exact_search`] scores `(key, value)` pairs one by one and
//! keeps the best `k`: it is the whole of the default
//! [`crate::KvTxn::vector_search`] (a scan of the index's span), and the
//! engine uses the same ranking ([`TopHits`]) for its final re-rank.
//!
//! Ordering is by distance ascending, NaN last (a cosine distance to an
//! all-zero vector is NaN, as in pgvector, and PostgreSQL sorts NaN above
//! every number), ties by key so results are deterministic.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use bytes::Bytes;

use super::distance::check_query;
use super::spec::VectorIndexSpec;
use super::value;
use crate::error::Result;

/// Point reads at a search's snapshot, the transaction's own writes
/// included: what a [`SearchFilter`] may consult besides the key.
pub trait SnapshotReader {
    /// The value of `key` at the snapshot, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>>;
}

/// Decides during a search which index entries may be results.
///
/// The filter runs inside the graph walk, on each entry that would enter
/// the result list, so a search with a filter still returns `k` results
/// when `k` accepted entries exist nearby. A filter on the key alone is a
/// closure `Fn(&[u8]) -> bool`; a filter on the row an entry points to
/// (SQL's `WHERE`) reads that row through the [`SnapshotReader`], which
/// sees exactly what the searching transaction sees. An error stops the
/// search and is returned by it.
pub trait SearchFilter {
    /// True when the entry at `key` may be returned.
    fn accepts(&self, key: &[u8], reader: &dyn SnapshotReader) -> Result<bool>;
}

impl<F: Fn(&[u8]) -> bool> SearchFilter for F {
    fn accepts(&self, key: &[u8], _reader: &dyn SnapshotReader) -> Result<bool> {
        Ok(self(key))
    }
}

/// A filter as the search APIs take it.
pub type KeyFilter<'a> = &'a dyn SearchFilter;

/// One result of a vector search.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    /// The user key of the index entry.
    pub key: Bytes,
    /// Its value (the encoded vector).
    pub value: Bytes,
    /// The exact distance to the query under the index's metric.
    pub distance: f32,
}

/// Orders hits: distance ascending (NaN last), then key.
fn hit_order(a: &VectorHit, b: &VectorHit) -> Ordering {
    match (a.distance.is_nan(), b.distance.is_nan()) {
        (false, false) => a.distance.total_cmp(&b.distance),
        (nan_a, nan_b) => nan_a.cmp(&nan_b),
    }
    .then_with(|| a.key.cmp(&b.key))
}

/// A hit ordered by [`hit_order`], for the heap.
struct Ranked(VectorHit);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        hit_order(&self.0, &other.0) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        hit_order(&self.0, &other.0)
    }
}

/// The best `k` hits offered so far.
pub struct TopHits {
    k: usize,
    heap: BinaryHeap<Ranked>,
}

impl TopHits {
    /// Keeps up to `k` hits.
    pub fn new(k: usize) -> Self {
        TopHits { k, heap: BinaryHeap::with_capacity(k.saturating_add(1).min(4096)) }
    }

    /// True when a hit at `distance` could still enter.
    pub fn admits(&self, distance: f32) -> bool {
        if self.heap.len() < self.k {
            return true;
        }
        self.heap.peek().is_some_and(|worst| worst.0.distance.is_nan() || distance < worst.0.distance)
    }

    /// Offers a hit.
    pub fn offer(&mut self, hit: VectorHit) {
        if self.k == 0 {
            return;
        }
        self.heap.push(Ranked(hit));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// The hits, closest first.
    pub fn into_sorted(self) -> Vec<VectorHit> {
        self.heap.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }
}

/// Sorts hits closest first.
pub fn sort_hits(hits: &mut [VectorHit]) {
    hits.sort_by(hit_order);
}

/// The `k` pairs closest to `query` among `pairs` (the visible entries of
/// `spec`'s span) that `filter` accepts (reading through its reader),
/// scored exactly. Values that are
/// not vectors of the index's dimension are skipped, as the segment
/// builder skips them. The query must be valid for the index
/// ([`Error::InvalidArgument`](crate::Error::InvalidArgument) otherwise).
pub fn exact_search(
    pairs: impl IntoIterator<Item = (Bytes, Bytes)>,
    spec: &VectorIndexSpec,
    query: &[f32],
    k: usize,
    filter: Option<(KeyFilter<'_>, &dyn SnapshotReader)>,
) -> Result<Vec<VectorHit>> {
    check_query(query, spec.dim)?;
    let mut top = TopHits::new(k);
    let mut vector = Vec::with_capacity(spec.dim as usize);
    for (key, val) in pairs {
        if !spec.contains(&key) {
            continue;
        }
        if let Some((filter, reader)) = filter
            && !filter.accepts(&key, reader)?
        {
            continue;
        }
        vector.clear();
        if value::decode_into(&val, spec.dim, &mut vector).is_err() {
            continue;
        }
        let distance = spec.metric.distance(query, &vector);
        if top.admits(distance) {
            top.offer(VectorHit { key, value: val, distance });
        }
    }
    Ok(top.into_sorted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::Metric;

    #[test]
    fn exact_search_ranks_filters_and_skips() {
        let spec = VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], 2, Metric::L2);
        let enc = |v: &[f32]| value::encode(v).expect("enc");
        let pairs = vec![
            (Bytes::from_static(b"v/a"), enc(&[0.0, 0.0])),
            (Bytes::from_static(b"v/b"), enc(&[1.0, 0.0])),
            (Bytes::from_static(b"v/c"), enc(&[3.0, 0.0])),
            (Bytes::from_static(b"v/d"), Bytes::from_static(b"bad")),
            (Bytes::from_static(b"w/e"), enc(&[0.0, 0.0])),
        ];
        let hits = exact_search(pairs.clone(), &spec, &[0.9, 0.0], 2, None).expect("search");
        let keys: Vec<&[u8]> = hits.iter().map(|h| h.key.as_ref()).collect();
        assert_eq!(keys, vec![&b"v/b"[..], &b"v/a"[..]]);
        assert!((hits[0].distance - 0.1).abs() < 1e-6);
        struct NoReads;
        impl SnapshotReader for NoReads {
            fn get(&self, _key: &[u8]) -> Result<Option<Bytes>> {
                Ok(None)
            }
        }
        let only_c = |k: &[u8]| k == b"v/c";
        let hits = exact_search(pairs.clone(), &spec, &[0.0, 0.0], 5, Some((&only_c, &NoReads))).expect("search");
        assert_eq!(hits.len(), 1);
        assert!(exact_search(pairs, &spec, &[0.0], 5, None).is_err());
    }

    #[test]
    fn nan_sorts_last() {
        let hit = |k: &'static [u8], d: f32| VectorHit { key: Bytes::from_static(k), value: Bytes::new(), distance: d };
        let mut top = TopHits::new(2);
        top.offer(hit(b"a", f32::NAN));
        top.offer(hit(b"b", 2.0));
        assert!(top.admits(1.0));
        top.offer(hit(b"c", 1.0));
        let keys: Vec<Bytes> = top.into_sorted().into_iter().map(|h| h.key).collect();
        assert_eq!(keys, vec![Bytes::from_static(b"c"), Bytes::from_static(b"b")]);
    }
}
