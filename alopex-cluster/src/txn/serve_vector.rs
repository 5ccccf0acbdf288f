//! # A range leader serving a transactional vector search (method 18)
//!
//! A vector search over a table split across ranges fans out: the gateway
//! asks the leader of every range of the index's span for that range's
//! nearest entries, and merges (`txn/vector.rs`). This is the leader's
//! half. It is a transactional read like `TXN_SCAN` (`serve.rs`), and
//! follows the same rules, in the same order:
//!
//! 1. **Admission**: the read timestamp must be above the history the node
//!    keeps, the start key in the range, leadership confirmed by a
//!    read-index, and the range's timestamp cache of this term ready.
//! 2. **Latch and cache**: the range latch is held shared from recording to
//!    reading, and the **whole** searched span (the index's span
//!    intersected with the range's) is recorded in the timestamp cache at
//!    the read timestamp: a search depends on every vector it did not
//!    return as much as on those it did, so no write may land in the span
//!    at or below the read timestamp afterwards.
//! 3. **Intents first**: every other transaction's intent in the span at
//!    or below the uncertainty limit is reported, as a scan reports the
//!    intents it passed. An intent on any key, not only on a hit, may hide
//!    a vector closer than every hit, so all of them are reported; the
//!    gateway settles them (push, or resolve and search again). They are
//!    read before the values, for the reason `read.rs` gives. The reader's
//!    own intents are skipped: a `ClusterTxn` buffers its writes until
//!    commit, and its gateway applies them to the merged result itself.
//! 4. **The search** runs on the leader's engine at the read timestamp
//!    through [`alopex_core::Engine::vector_search_at`]: the memtables are
//!    scored exactly, every SSTable with an HNSW segment for the index is
//!    walked by graph, the others scored exactly, and each candidate's
//!    visibility at the snapshot is checked before the exact re-rank. The
//!    engine is shared by every range the node hosts and its tables mix
//!    their keys, so the search skips the tables that hold none of the
//!    range's keys and carries a filter that rejects the other ranges'
//!    keys in the tables that straddle its edges (the walk goes on past
//!    rejected nodes, see the engine's documentation). It runs on a blocking thread: a search scores
//!    thousands of vectors, too long to hold an async worker.
//! 5. **Uncertainty**: with an interval `(read ts, limit]`, the search is
//!    run again at `limit`, and every key among the hits of either search
//!    whose newest version up to `limit` is above the read timestamp is
//!    uncertain: a vector written in the interval that ranks among the
//!    nearest, or a hit deleted or moved in it. The gateway moves its read
//!    timestamp above the newest such version (`coordinator.rs`). A write
//!    in the interval that ranks in neither search does not change the
//!    answer and is not reported; this is the search's equivalent of a
//!    scan's "only on the keys the scan covered".
//!
//! The answer has up to `k` hits (the gateway asks for more than it needs
//! when it filters or has own writes to apply), each with its value and
//! exact distance, plus how many of the engine's tables carried a graph for
//! the index (so a test, and an operator, can tell a graph search from an
//! exact one).

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use alopex_core::{Engine, Timestamp, VectorIndexSpec};

use super::keys::{intent_key, intent_user_key};
use super::meta::{Intent, TxnId, TxnMeta};
use super::read::intents_in;
use super::serve::prepare_read;
use crate::ids::RangeId;
use crate::range::RangeNode;
use crate::range::protocol::KvReply;

/// Searches the range's part of `[start, end)`, an index's span, at a
/// transaction's read timestamp (method 18).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxnVectorRequest {
    /// Inclusive start; must lie in the range.
    pub start: Bytes,
    /// Exclusive end (the leader stops at its range's end).
    pub end: Bytes,
    /// The index, as `VectorIndexSpec::encode_to` writes it (the leader
    /// searches the segments built for exactly this spec).
    pub spec: Bytes,
    /// The query vector.
    pub query: Vec<f32>,
    /// How many hits to return.
    pub k: u32,
    /// The HNSW candidate list length.
    pub ef_search: u32,
    /// The read timestamp.
    pub read_ts: u64,
    /// The upper end of the uncertainty interval (`>= read_ts`).
    pub limit: u64,
    /// The searching transaction (its intents are not reported).
    pub reader: Option<TxnId>,
}

/// What a range's leader found for a [`TxnVectorRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnVectorHits {
    /// Up to `k` hits, closest first: key, value, and the exact distance
    /// as `f32::to_bits` (so the reply stays `Eq`).
    pub hits: Vec<(Bytes, Bytes, u32)>,
    /// Other transactions' intents in the span at or below the limit.
    pub intents: Vec<(Bytes, TxnMeta)>,
    /// The newest version in `(read ts, limit]` on a hit of either search,
    /// if any: search again above it.
    pub uncertain: Option<Timestamp>,
    /// The engine's tables that carry a graph for the index.
    pub segments: u32,
}

/// Serves [`TxnVectorRequest`] (see the module documentation).
pub(crate) async fn vector(node: &RangeNode, range: RangeId, r: TxnVectorRequest) -> KvReply {
    let Some(spec) = VectorIndexSpec::decode_from(&mut r.spec.as_ref()) else {
        return KvReply::Failed("bad request: malformed vector index spec".into());
    };
    if let Err(e) = spec.validate().and_then(|()| alopex_core::vector::distance::check_query(&r.query, spec.dim)) {
        return KvReply::Failed(format!("bad request: {e}"));
    }
    let state = match prepare_read(node, range, &r.start, r.read_ts).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let _latch = state.latch.read().await;
    let Some(shape) = node.shape(range) else { return KvReply::RangeNotHere };
    let span_end = Bytes::copy_from_slice(shape.span.end_key());
    let end = r.end.clone().min(span_end);
    if r.start >= end {
        return KvReply::TxnVectorHits { found: TxnVectorHits::default(), range_end: shape.span.end };
    }
    state.cache.lock().record_scan(&r.start, Some(&end), r.read_ts);
    let engine = Arc::clone(node.raft().engine());
    let start = r.start.clone();
    let searched = tokio::task::spawn_blocking(move || search(&engine, &spec, &start, &end, &r)).await;
    match searched {
        Ok(Ok(found)) => KvReply::TxnVectorHits { found, range_end: shape.span.end },
        Ok(Err(e)) => KvReply::Unavailable(e.to_string()),
        Err(e) => KvReply::Unavailable(format!("vector search task: {e}")),
    }
}

/// Steps 3 to 5 of the module documentation, on the engine.
fn search(
    engine: &Engine,
    spec: &VectorIndexSpec,
    start: &Bytes,
    end: &Bytes,
    r: &TxnVectorRequest,
) -> std::io::Result<TxnVectorHits> {
    let err = |e: alopex_core::Error| std::io::Error::other(e.to_string());
    let limit = r.limit.max(r.read_ts);
    let mut found = TxnVectorHits::default();
    let lock_bounds = (Bound::Included(intent_key(start)), Bound::Excluded(intent_key(end)));
    for e in intents_in(engine, lock_bounds) {
        let (k, v) = e?;
        let intent: Intent = crate::raft::codec::decode(&v)?;
        if Some(intent.txn.id) != r.reader && intent.txn.write_ts <= limit {
            let key = Bytes::copy_from_slice(intent_user_key(&k).unwrap_or_default());
            found.intents.push((key, intent.txn));
        }
    }
    let in_range = |key: &[u8]| key >= start.as_ref() && key < end.as_ref();
    let k = r.k as usize;
    let ef = (r.ef_search as usize).max(k);
    let within = (Bound::Included(start.clone()), Bound::Excluded(end.clone()));
    let at = |ts: Timestamp| {
        let snapshot = engine.snapshot_at(ts);
        engine.vector_search_at(&snapshot, spec, Some(within.clone()), &r.query, k, ef, Some(&in_range)).map_err(err)
    };
    let hits = at(r.read_ts)?;
    if limit > r.read_ts {
        let later = at(limit)?;
        for key in hits.iter().chain(&later).map(|h| &h.key) {
            if let Some(v) = engine.get_version(key, limit).map_err(err)?
                && v.ts > r.read_ts
            {
                found.uncertain = found.uncertain.max(Some(v.ts));
            }
        }
    }
    found.hits = hits.into_iter().map(|h| (h.key, h.value, h.distance.to_bits())).collect();
    found.segments = u32::try_from(engine.vector_segments(spec).map_err(err)?).unwrap_or(u32::MAX);
    Ok(found)
}
