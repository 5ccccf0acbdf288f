//! The vector search path: exact where data is small and fresh, graphs
//! where it is large and settled, and MVCC visibility over both.
//!
//! ```text
//!  own writes ──exact──┐
//!  memtables ──exact───┤                      sort by distance,
//!  table with segment ─┼── candidates (key, ts, ──► verify visibility ──► re-rank ──► top k
//!     └ HNSW walk, ef  │    distance)              lazily, until k
//!  table without ──exact┘                          are found
//! ```
//!
//! 1. **Own writes** of the transaction in the span are results as they
//!    are (scored exactly); every other source skips their keys, since the
//!    own write shadows them (an own delete hides the key).
//! 2. **Memtables** are scored exactly: for each key, the newest version
//!    at or below the snapshot in that memtable. They are small and hold
//!    the freshest data, which has no graph yet.
//! 3. **Tables** with a segment for this index (same spec fingerprint) are
//!    searched with the graph at `ef_search`, skipping nodes newer than the
//!    snapshot and keys the filter rejects during the walk. Tables without
//!    one (written before the index was registered) are scored exactly like
//!    memtables.
//! 4. Every candidate is a version `(key, ts)`. Candidates are sorted by
//!    distance and verified in that order: a candidate counts only if it is
//!    the version a point read at the snapshot returns (no newer version in
//!    another source, no tombstone). Verification stops once `k` are
//!    found, so a search does about `k` point reads, not one per candidate.
//! 5. The survivors are ranked by the exact distance of their value.
//!
//! A version that is invisible (updated or deleted since) costs its slot:
//! a segment full of dead versions returns fewer live candidates, which is
//! why compaction, which drops dead versions and rebuilds the graph,
//! matters for recall as well as space.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::iter::BoxedIter;
use crate::key::Timestamp;
use crate::vector::distance::{check_query, normalize};
use crate::vector::search::{KeyFilter, SnapshotReader, TopHits, VectorHit};
use crate::vector::segment::{Segment, section_name};
use crate::vector::{Metric, VectorIndexSpec, value};
use crate::version::overlaps;

use super::Shared;

/// A version that may be a result.
struct Candidate {
    key: Bytes,
    ts: Timestamp,
    /// Exact for exact sources; from the segment's vector for graph hits.
    distance: f32,
    /// The value, when the source already read it.
    value: Option<Bytes>,
}

/// A search request against one snapshot.
pub(crate) struct VectorQuery<'a> {
    pub spec: &'a VectorIndexSpec,
    pub query: &'a [f32],
    pub k: usize,
    pub ef_search: usize,
    pub filter: Option<KeyFilter<'a>>,
    /// What the filter may read: the searching transaction's snapshot.
    pub reader: &'a dyn SnapshotReader,
    pub read_ts: Timestamp,
    /// The transaction's buffered writes inside the index's span, sorted by
    /// key (`None` = delete).
    pub own_writes: &'a [(Bytes, Option<Bytes>)],
    /// The part of the index's span to search, when only part of it
    /// matters (a cluster range's share): tables and memtables outside it
    /// are skipped. `None`: the whole span. Keys outside it may still come
    /// from tables that straddle its edges; the filter must reject them.
    pub within: Option<crate::version::KeyBounds>,
}

impl VectorQuery<'_> {
    /// True when `key` is not shadowed by an own write and the filter
    /// takes it.
    fn accepts(&self, key: &[u8]) -> Result<bool> {
        let shadowed = self.own_writes.binary_search_by(|(k, _)| k.as_ref().cmp(key)).is_ok();
        Ok(!shadowed && self.filtered_in(key)?)
    }

    fn filtered_in(&self, key: &[u8]) -> Result<bool> {
        match self.filter {
            Some(filter) => filter.accepts(key, self.reader),
            None => Ok(true),
        }
    }

    /// Scores, per key, the newest version at or below the snapshot among
    /// `versions` (one source, internal order).
    fn exact_candidates(&self, versions: BoxedIter, out: &mut Vec<Candidate>) -> Result<()> {
        let mut decided: Option<Bytes> = None;
        let mut vector = Vec::with_capacity(self.spec.dim as usize);
        for entry in versions {
            let entry = entry?;
            if decided.as_ref() == Some(&entry.key) || entry.ts > self.read_ts {
                continue;
            }
            decided = Some(entry.key.clone());
            let Some(val) = entry.value else { continue };
            if !self.accepts(&entry.key)? {
                continue;
            }
            vector.clear();
            if value::decode_into(&val, self.spec.dim, &mut vector).is_err() {
                continue; // not indexed either (see SegmentBuilder::add)
            }
            let distance = self.spec.metric.distance(self.query, &vector);
            out.push(Candidate { key: entry.key, ts: entry.ts, distance, value: Some(val) });
        }
        Ok(())
    }

    /// The graph candidates of one segment. A filter error ends the walk
    /// (the filter rejects everything after it) and is returned.
    fn segment_candidates(&self, segment: &Segment, rank_query: &[f32], out: &mut Vec<Candidate>) -> Result<()> {
        let failure: std::cell::RefCell<Option<Error>> = std::cell::RefCell::new(None);
        let accepts = |node: u32| {
            if segment.ts(node) > self.read_ts || failure.borrow().is_some() {
                return false;
            }
            self.accepts(segment.key(node)).unwrap_or_else(|e| {
                *failure.borrow_mut() = Some(e);
                false
            })
        };
        let found = segment.search(rank_query, self.k, self.ef_search, &accepts);
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        for scored in found {
            let distance = match self.spec.metric {
                Metric::L2 => scored.distance.max(0.0).sqrt(),
                Metric::Cosine | Metric::InnerProduct => scored.distance,
            };
            let (key, ts) = (segment.key(scored.node).clone(), segment.ts(scored.node));
            out.push(Candidate { key, ts, distance, value: None });
        }
        Ok(())
    }
}

/// The segment of `spec` in `table`, if it has one built for this spec.
fn segment_of(table: &crate::sstable::Table, spec: &VectorIndexSpec) -> Result<Option<Arc<Segment>>> {
    let segment = table.parsed_section(&section_name(spec.id), Segment::parse)?;
    Ok(segment.filter(|s| s.fingerprint() == spec.fingerprint()))
}

impl Shared {
    /// Runs `q` over the current super-version. See the module docs.
    pub(crate) fn vector_search(&self, q: &VectorQuery<'_>) -> Result<Vec<VectorHit>> {
        check_query(q.query, q.spec.dim)?;
        let mut top = TopHits::new(q.k);
        if q.k == 0 {
            return Ok(Vec::new());
        }
        let span = q.within.clone().unwrap_or_else(|| q.spec.span());

        // 1. Own writes.
        let mut vector = Vec::with_capacity(q.spec.dim as usize);
        for (key, val) in q.own_writes {
            let Some(val) = val else { continue };
            if !q.spec.contains(key) {
                continue;
            }
            if !q.filtered_in(key)? {
                continue;
            }
            vector.clear();
            value::decode_into(val, q.spec.dim, &mut vector).map_err(|e| e.invalid_argument())?;
            let distance = q.spec.metric.distance(q.query, &vector);
            top.offer(VectorHit { key: key.clone(), value: val.clone(), distance });
        }

        // 2 and 3. Memtables and tables.
        let sv = self.super_version();
        let mut candidates = Vec::new();
        for mem in std::iter::once(&sv.mem).chain(sv.imm.iter()) {
            if !mem.is_empty() {
                q.exact_candidates(Box::new(mem.iter(span.clone(), false)), &mut candidates)?;
            }
        }
        let mut rank_query = q.query.to_vec();
        if q.spec.metric == Metric::Cosine {
            normalize(&mut rank_query);
        }
        for table in sv.version.tables() {
            let p = table.properties();
            if p.entries == 0 || !overlaps(&p.smallest_key, &p.largest_key, &span) {
                continue;
            }
            match segment_of(table, q.spec)? {
                Some(segment) => q.segment_candidates(&segment, &rank_query, &mut candidates)?,
                None => q.exact_candidates(Box::new(table.iter(span.clone(), false)), &mut candidates)?,
            }
        }

        // 4. Verify in distance order until k are found.
        candidates.sort_by(|a, b| match (a.distance.is_nan(), b.distance.is_nan()) {
            (false, false) => a.distance.total_cmp(&b.distance),
            (nan_a, nan_b) => nan_a.cmp(&nan_b),
        });
        let mut found: HashSet<Bytes> = HashSet::new();
        for candidate in candidates {
            if found.len() >= q.k {
                break;
            }
            if found.contains(&candidate.key) {
                continue;
            }
            let Some(visible) = sv.get_entry(&candidate.key, q.read_ts)? else { continue };
            let Some(val) = visible.value.filter(|_| visible.ts == candidate.ts) else { continue };
            // 5. The exact distance of the visible value.
            let distance = match candidate.value {
                Some(_) => candidate.distance,
                None => {
                    vector.clear();
                    value::decode_into(&val, q.spec.dim, &mut vector).map_err(|e| {
                        Error::corruption(
                            &self.dir,
                            format!(
                                "vector index {}: key {:?} is in a segment but its value is not a vector: {e}",
                                q.spec.id,
                                candidate.key.escape_ascii().to_string()
                            ),
                        )
                    })?;
                    q.spec.metric.distance(q.query, &vector)
                }
            };
            found.insert(candidate.key.clone());
            top.offer(VectorHit { key: candidate.key, value: val, distance });
        }
        Ok(top.into_sorted())
    }
}
