//! # Vector search across ranges: the gateway's half
//!
//! A vector index is a key span, and on the cluster that span is cut into
//! ranges whose leaders sit on different nodes. Shipping every vector to
//! the gateway and scoring it there (the default `KvTxn::vector_search`, a
//! paged scan) is correct but linear in the index and in network bytes.
//! Instead the gateway **fans out**: it asks the leader of every range of
//! the index's span, concurrently, for that range's nearest entries
//! (method 18, `serve_vector.rs`: the leader's per-SSTable HNSW segments
//! plus its memtables scored exactly, at the transaction's read timestamp),
//! and **merges** the answers by their exact distances. Each range answers
//! its own top `want`, so the global top `want` is among the answers: the
//! merge loses nothing the ranges found.
//!
//! **Splits.** The gateway plans one piece per range from its descriptor
//! cache; a leader searches only its own part of a piece and answers its
//! range's end. A piece that a split cut short (the answer's end falls
//! before the piece's) leaves a remainder that is searched in the next
//! round, against fresh descriptors, concurrently again; a piece whose
//! start moved to another range is redirected by the gateway's ordinary
//! "key not in range" handling. Pieces never overlap, so no key is counted
//! twice, and none is lost.
//!
//! **Transactions.** What a range reports beyond its hits (other
//! transactions' intents, a version in the uncertainty interval) the
//! coordinator handles as it does for a scan (`coordinator.rs`): it
//! settles the intents and searches again if one was resolved, and moves
//! its read timestamp above an uncertain version. The coordinator then
//! applies the transaction's buffered writes (`merge_own`): its own puts
//! in the span are scored exactly and compete with the remote hits, its
//! own deletes and overwrites remove the remote versions of their keys.
//! A filter (SQL's `WHERE` on the row an entry points to) may read other
//! keys, which only the coordinator can do at the snapshot, so it is
//! applied at the gateway over a candidate list four times larger than
//! `k`; if fewer than `k` candidates pass and the ranges had more, the
//! search falls back to the exact scan (`exact_search_txn`).

use std::collections::BTreeMap;

use bytes::Bytes;

use alopex_core::vector::search::{SnapshotReader, TopHits, exact_search, sort_hits};
use alopex_core::vector::{KeyFilter, VectorHit, VectorIndexSpec, value};
use alopex_core::{KvTxn, Result, Timestamp};

use super::meta::{TxnId, TxnMeta};
use super::serve_vector::TxnVectorRequest;
use super::store::StoreShared;
use crate::range::KvError;

/// How many times `k` a filtered search asks the ranges for.
pub(crate) const FILTER_OVERSAMPLING: usize = 4;

/// One search to fan out.
pub(crate) struct FanOut<'a> {
    /// The index, encoded for the wire.
    pub spec: Bytes,
    /// The span to search (the index's, clamped to user keys).
    pub start: Bytes,
    /// Its exclusive end.
    pub end: Bytes,
    /// The query.
    pub query: &'a [f32],
    /// Hits wanted from each range.
    pub want: usize,
    /// The HNSW candidate list length.
    pub ef_search: usize,
    /// The read timestamp, uncertainty limit and reader.
    pub read_ts: Timestamp,
    /// The upper end of the uncertainty interval.
    pub limit: Timestamp,
    /// The searching transaction.
    pub reader: TxnId,
}

/// The merged answers of every range of a span.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    /// The closest `want` hits of all ranges, closest first.
    pub hits: Vec<VectorHit>,
    /// True when every range answered fewer than `want` hits: `hits` holds
    /// every visible entry of the span.
    pub exhausted: bool,
    /// Other transactions' intents met.
    pub intents: Vec<(Bytes, TxnMeta)>,
    /// The newest uncertain version met.
    pub uncertain: Option<Timestamp>,
    /// How many range answers made up the result.
    pub ranges: usize,
}

/// Asks every range of `[f.start, f.end)` concurrently and merges (see the
/// module documentation).
pub(crate) async fn fan_out(shared: &StoreShared, f: &FanOut<'_>) -> std::result::Result<Merged, KvError> {
    let kv = shared.kv();
    // One piece per range, as the descriptors say now.
    let mut pieces: Vec<(Bytes, Bytes)> = Vec::new();
    let mut cursor = f.start.clone();
    while cursor < f.end {
        let desc = match kv.cache().get(&cursor) {
            Some(d) => d,
            None => kv.lookup(&cursor).await?,
        };
        let piece_end = match desc.span.end {
            Some(e) if e < f.end && e > cursor => e,
            _ => f.end.clone(),
        };
        pieces.push((cursor, piece_end.clone()));
        cursor = piece_end;
    }
    let mut merged = Merged { exhausted: true, ..Merged::default() };
    let mut all: Vec<VectorHit> = Vec::new();
    let want = u32::try_from(f.want).unwrap_or(u32::MAX);
    let ef = u32::try_from(f.ef_search.max(f.want)).unwrap_or(u32::MAX);
    while !pieces.is_empty() {
        let asks = pieces.iter().map(|(start, end)| {
            kv.txn_vector_range(TxnVectorRequest {
                start: start.clone(),
                end: end.clone(),
                spec: f.spec.clone(),
                query: f.query.to_vec(),
                k: want,
                ef_search: ef,
                read_ts: f.read_ts,
                limit: f.limit,
                reader: Some(f.reader),
            })
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut rest = Vec::new();
        for ((start, end), answer) in pieces.iter().zip(answers) {
            let (found, range_end) = answer?;
            merged.ranges += 1;
            if found.hits.len() >= f.want {
                merged.exhausted = false;
            }
            merged.intents.extend(found.intents);
            merged.uncertain = merged.uncertain.max(found.uncertain);
            all.extend(found.hits.into_iter().map(|(key, value, bits)| VectorHit {
                key,
                value,
                distance: f32::from_bits(bits),
            }));
            // A split cut this piece short: search the rest next round.
            if let Some(range_end) = range_end
                && range_end > *start
                && range_end < *end
            {
                rest.push((range_end, end.clone()));
            }
        }
        pieces = rest;
    }
    sort_hits(&mut all);
    all.truncate(f.want);
    merged.hits = all;
    Ok(merged)
}

/// Applies a transaction's buffered writes in the span (`own`, sorted by
/// key, `None` = delete) to the remote hits: own puts scored exactly
/// (values that are not vectors of the index are skipped, as the exact
/// search skips them), remote versions of written keys dropped. Closest
/// first.
pub(crate) fn merge_own(
    remote: Vec<VectorHit>,
    own: &BTreeMap<Bytes, Option<Bytes>>,
    spec: &VectorIndexSpec,
    query: &[f32],
) -> Vec<VectorHit> {
    let mut out: Vec<VectorHit> = remote.into_iter().filter(|h| !own.contains_key(&h.key)).collect();
    let mut vector = Vec::with_capacity(spec.dim as usize);
    for (key, val) in own {
        let Some(val) = val else { continue };
        vector.clear();
        if value::decode_into(val, spec.dim, &mut vector).is_err() {
            continue;
        }
        out.push(VectorHit { key: key.clone(), value: val.clone(), distance: spec.metric.distance(query, &vector) });
    }
    sort_hits(&mut out);
    out
}

/// A transaction as the reader of its search's filter.
struct TxnReader<'a, T: ?Sized>(std::cell::RefCell<&'a mut T>);

impl<T: KvTxn + ?Sized> SnapshotReader for TxnReader<'_, T> {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.0.borrow_mut().get(key)
    }
}

/// Keeps, in order, the first `k` of `hits` that `filter` accepts, reading
/// through `txn`.
pub(crate) fn filter_hits<T: KvTxn + ?Sized>(
    txn: &mut T,
    hits: Vec<VectorHit>,
    k: usize,
    filter: KeyFilter<'_>,
) -> Result<Vec<VectorHit>> {
    let reader = TxnReader(std::cell::RefCell::new(txn));
    let mut out = Vec::with_capacity(k.min(hits.len()));
    for hit in hits {
        if out.len() >= k {
            break;
        }
        if filter.accepts(&hit.key, &reader)? {
            out.push(hit);
        }
    }
    Ok(out)
}

/// The exact search through `txn`'s scans: every entry of the span scored
/// at the gateway (the default `KvTxn::vector_search`), for a filter that
/// the fan-out's candidates did not satisfy.
pub(crate) fn exact_search_txn<T: KvTxn + ?Sized>(
    txn: &mut T,
    spec: &VectorIndexSpec,
    query: &[f32],
    k: usize,
    filter: Option<KeyFilter<'_>>,
) -> Result<Vec<VectorHit>> {
    const PAGE: usize = 1024;
    let mut top = TopHits::new(k);
    let mut range = spec.span();
    loop {
        let page = txn.scan(range.clone(), false, PAGE)?;
        let last = page.last().map(|(key, _)| key.clone());
        let full = page.len() >= PAGE;
        let reader = TxnReader(std::cell::RefCell::new(&mut *txn));
        let hits = exact_search(page, spec, query, k, filter.map(|f| (f, &reader as &dyn SnapshotReader)))?;
        for hit in hits {
            if top.admits(hit.distance) {
                top.offer(hit);
            }
        }
        match last {
            Some(last) if full => range = alopex_core::kv::continue_after(&range, &last, false),
            _ => break,
        }
    }
    Ok(top.into_sorted())
}

#[cfg(test)]
mod tests {
    use alopex_core::vector::Metric;

    use super::*;

    #[test]
    fn own_writes_replace_remote_hits() {
        let spec = VectorIndexSpec::new(1, &b"v/"[..], &b"v0"[..], 2, Metric::L2);
        let enc = |v: &[f32]| value::encode(v).unwrap();
        let hit =
            |k: &'static [u8], v: &[f32], d: f32| VectorHit { key: Bytes::from_static(k), value: enc(v), distance: d };
        let remote = vec![hit(b"v/a", &[0.0, 0.0], 0.0), hit(b"v/b", &[1.0, 0.0], 1.0), hit(b"v/c", &[2.0, 0.0], 2.0)];
        let mut own = BTreeMap::new();
        own.insert(Bytes::from_static(b"v/a"), None); // deleted
        own.insert(Bytes::from_static(b"v/c"), Some(enc(&[0.5, 0.0]))); // moved closer
        own.insert(Bytes::from_static(b"v/d"), Some(enc(&[3.0, 0.0]))); // new
        own.insert(Bytes::from_static(b"v/e"), Some(Bytes::from_static(b"junk")));
        let merged = merge_own(remote, &own, &spec, &[0.0, 0.0]);
        let keys: Vec<&[u8]> = merged.iter().map(|h| h.key.as_ref()).collect();
        assert_eq!(keys, vec![&b"v/c"[..], &b"v/b"[..], &b"v/d"[..]]);
        assert!((merged[0].distance - 0.5).abs() < 1e-6);
    }
}
