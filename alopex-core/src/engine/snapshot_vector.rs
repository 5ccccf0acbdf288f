//! Vector search at a snapshot, for readers that are not engine
//! transactions.
//!
//! [`crate::Transaction::vector_search`] searches at the transaction's
//! snapshot with its own writes. A cluster node serves searches for
//! transactions that live elsewhere: their writes are buffered at their
//! gateway, their snapshot is a timestamp the node pins with
//! [`Engine::snapshot_at`], and the node must search only the part of an
//! index that one of its ranges holds (the engine is shared by every range
//! the node hosts, and its tables mix their keys). So the entry point here
//! takes a [`Snapshot`] and a filter, and runs the very same search path
//! (`engine::vector_search`: exact memtables, per-table HNSW segments,
//! visibility checks, exact re-rank) with no own writes. The range
//! restriction is twofold: `within` skips the tables and memtables that
//! hold none of the range's keys (without it, a filter rejecting every
//! node of a table would make the walk visit the whole graph), and the
//! caller's filter rejects the keys of other ranges in tables that
//! straddle the range's edges (a graph walk keeps going past rejected
//! nodes until it has `ef_search` accepted ones, so that costs walk
//! length, not recall).
//!
//! [`Engine::vector_segments`] tells how many tables hold a graph for an
//! index, so that a caller (and a test) can tell a graph search from an
//! exact one.

use bytes::Bytes;

use super::{Engine, Snapshot, VectorQuery};
use crate::error::Result;
use crate::vector::VectorIndexSpec;
use crate::vector::search::{KeyFilter, SnapshotReader, VectorHit};
use crate::vector::segment::{Segment, section_name};
use crate::version::{KeyBounds, overlaps};

/// A snapshot as the reader of a search's filter.
struct SnapshotAsReader<'a>(&'a Snapshot);

impl SnapshotReader for SnapshotAsReader<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.0.get(key)
    }
}

impl Engine {
    /// The `k` entries of `spec`'s span closest to `query` at `snapshot`
    /// (taken from this engine), closest first, with exact distances; only
    /// keys `filter` accepts (it reads through the snapshot). Tables with a
    /// segment built for `spec` are searched by graph at `ef_search`, the
    /// memtables and tables without one exactly. With `within` (a part of
    /// the span), tables and memtables that do not overlap it are skipped;
    /// tables straddling its edges still offer keys outside it, which
    /// `filter` must reject. Errors as
    /// [`crate::Transaction::vector_search`].
    #[allow(clippy::too_many_arguments)]
    pub fn vector_search_at(
        &self,
        snapshot: &Snapshot,
        spec: &VectorIndexSpec,
        within: Option<KeyBounds>,
        query: &[f32],
        k: usize,
        ef_search: usize,
        filter: Option<KeyFilter<'_>>,
    ) -> Result<Vec<VectorHit>> {
        spec.validate()?;
        let reader = SnapshotAsReader(snapshot);
        let q = VectorQuery {
            spec,
            query,
            k,
            ef_search,
            filter,
            reader: &reader,
            read_ts: snapshot.ts(),
            own_writes: &[],
            within,
        };
        self.shared.vector_search(&q)
    }

    /// How many of the current tables overlapping `spec`'s span carry a
    /// graph segment built for `spec`.
    pub fn vector_segments(&self, spec: &VectorIndexSpec) -> Result<usize> {
        let span = spec.span();
        let sv = self.shared.super_version();
        let mut n = 0;
        for table in sv.version.tables() {
            let p = table.properties();
            if p.entries == 0 || !overlaps(&p.smallest_key, &p.largest_key, &span) {
                continue;
            }
            let segment = table.parsed_section(&section_name(spec.id), Segment::parse)?;
            if segment.is_some_and(|s| s.fingerprint() == spec.fingerprint()) {
                n += 1;
            }
        }
        Ok(n)
    }
}
