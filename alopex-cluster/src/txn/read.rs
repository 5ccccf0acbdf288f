//! # Reading a range at a timestamp, through its intents
//!
//! A transactional read of a key must not simply read the engine: the
//! key may carry an intent, a provisional write whose transaction has not
//! finished. What the reader does about it depends on things only the
//! gateway can do (consult the transaction's record in another range,
//! push it, resolve the intent), so this function does not decide; it
//! **reports** what it met, and the gateway acts and reads again:
//!
//! - the reader's own intent: its provisional value (a transaction sees its
//!   own writes);
//! - another transaction's intent at or below the reader's uncertainty
//!   limit: [`TxnRead::Intent`], with the committed value beneath it;
//! - another transaction's intent above the limit: ignored, it cannot have
//!   committed before the read;
//! - a committed version above the read timestamp but within the limit:
//!   [`TxnRead::Uncertain`] (it may have committed before the read began,
//!   on a node whose clock runs ahead);
//! - otherwise the committed value at the read timestamp.
//!
//! The intent is read **before** the value: resolving an intent writes the
//! committed version first and removes the intent afterwards (see
//! `raft/apply_txn.rs`), so a read that finds no intent is sure to see the
//! version a resolution wrote, and a resolution is never missed in between.
//!
//! [`scan_span`] does the same for a span: it merges the reader's own
//! intents into the rows and reports every other intent it passed.
//!
//! With a pushed filter ([`SpanFilter`], `docs/transactions.md`, "Filtered
//! scans"), only the visible rows the predicate matches are returned, but
//! everything else is reported for the whole span the scan **examined**:
//! the intents and the uncertain versions on rejected keys too (a rejected
//! committed value beneath an intent may be replaced by a matching one),
//! and the resume key is the first key not examined, so a sparse filter
//! never rescans. A filtered scan also stops after examining
//! [`SpanFilter::max_scanned`] visible rows, whatever it found.
//!
//! It reads the node's engine directly. Callers make sure the node may
//! serve the read (the leader, after a read-index), as for plain reads.

use std::collections::BTreeMap;
use std::io;
use std::ops::Bound;

use bytes::Bytes;

use alopex_core::{Engine, RowPredicate, Timestamp};

use super::keys::{intent_key, intent_user_key};
use super::meta::{Intent, TxnId, TxnMeta};

/// What a transactional read of one key found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TxnRead {
    /// The committed value at the read timestamp (`None`: absent).
    Value(Option<Bytes>),
    /// The reader's own provisional write (`None`: it deleted the key).
    Own(Option<Bytes>),
    /// Another transaction's intent at or below the uncertainty limit: the
    /// gateway must find out its fate (push, resolve) and read again.
    Intent {
        /// The transaction holding the intent.
        txn: TxnMeta,
        /// The committed value beneath the intent at the read timestamp.
        committed: Option<Bytes>,
    },
    /// A committed version in `(read ts, limit]`: restart the read above
    /// `existing_ts`.
    Uncertain {
        /// The version's commit timestamp.
        existing_ts: Timestamp,
    },
}

fn core_err(e: alopex_core::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// The newest value of a bookkeeping key (an intent, a record), whatever
/// the engine's visible timestamp.
///
/// Not `Engine::get`: that reads at the engine's *visible* timestamp, which
/// lags behind a write at a timestamp above it while another range's
/// commit at a lower timestamp is still in flight on the same engine (each
/// range applies at its own timestamps, concurrently). A range applying
/// its entries one after another must see what its previous entry wrote,
/// or two transactions could both lay an intent on one key.
pub fn newest(engine: &Engine, key: &[u8]) -> io::Result<Option<Bytes>> {
    Ok(engine.get_version(key, Timestamp::MAX).map_err(core_err)?.and_then(|e| e.value))
}

/// The intent on `key`, if any.
pub fn intent_of(engine: &Engine, key: &[u8]) -> io::Result<Option<Intent>> {
    match newest(engine, &intent_key(key))? {
        Some(v) => Ok(Some(crate::raft::codec::decode(&v)?)),
        None => Ok(None),
    }
}

/// The newest intents in `bounds` (intent keys), whatever the visible
/// timestamp (see [`newest`]).
pub fn intents_in(engine: &Engine, bounds: alopex_core::KeyBounds) -> impl Iterator<Item = io::Result<(Bytes, Bytes)>> {
    newest_in(engine, bounds)
}

/// The newest live pair of every key in `bounds`, whatever the engine's
/// visible timestamp (see [`newest`]): what a range's state machine has
/// applied so far, for reads that must see all of it (a linearizable read
/// after a read-index, a shape record just written).
pub fn newest_in(engine: &Engine, bounds: alopex_core::KeyBounds) -> impl Iterator<Item = io::Result<(Bytes, Bytes)>> {
    engine.scan_versions(bounds, Timestamp::MAX).filter_map(|e| match e {
        Ok(e) => e.value.map(|v| Ok((e.key, v))),
        Err(e) => Some(Err(core_err(e))),
    })
}

/// Reads `key` at `ts` for `reader` (`None`: a non-transactional read),
/// with the uncertainty interval `(ts, limit]` (pass `limit = ts` for none).
pub fn read_key(
    engine: &Engine,
    key: &[u8],
    ts: Timestamp,
    limit: Timestamp,
    reader: Option<TxnId>,
) -> io::Result<TxnRead> {
    let limit = limit.max(ts);
    if let Some(intent) = intent_of(engine, key)? {
        if Some(intent.txn.id) == reader {
            return Ok(TxnRead::Own(intent.value));
        }
        if intent.txn.write_ts <= limit {
            let committed = engine.get_at(key, ts).map_err(core_err)?;
            return Ok(TxnRead::Intent { txn: intent.txn, committed });
        }
    }
    if limit > ts
        && let Some(newest) = engine.get_version(key, limit).map_err(core_err)?
        && newest.ts > ts
    {
        return Ok(TxnRead::Uncertain { existing_ts: newest.ts });
    }
    Ok(TxnRead::Value(engine.get_at(key, ts).map_err(core_err)?))
}

/// What a transactional scan of a span found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TxnScan {
    /// The rows visible to the reader, in key order: committed values at
    /// the read timestamp with the reader's own intents applied (only those
    /// a pushed filter matches, when there is one).
    pub rows: Vec<(Bytes, Bytes)>,
    /// Other transactions' intents at or below the uncertainty limit, on
    /// keys up to the last row (the gateway settles them and scans again).
    pub intents: Vec<(Bytes, TxnMeta)>,
    /// The newest commit timestamp in `(read ts, limit]` on those keys, if
    /// any: restart the scan above it.
    pub uncertain: Option<Timestamp>,
    /// Where to resume when the scan stopped at `max_rows` (or, filtered,
    /// after examining its most rows): the first key not examined
    /// (`None`: done).
    pub resume: Option<Bytes>,
}

/// A predicate pushed into a scan, and how many visible rows the scan may
/// examine before it answers.
#[derive(Clone, Copy)]
pub struct SpanFilter<'a> {
    /// Rows it rejects are examined, not returned.
    pub predicate: &'a dyn RowPredicate,
    /// The most visible rows one scan examines (at least 1).
    pub max_scanned: usize,
}

/// Scans `[start, end)` at `ts` for `reader`, with the uncertainty interval
/// `(ts, limit]`, returning at most `max_rows` rows.
pub fn scan_span(
    engine: &Engine,
    start: &[u8],
    end: &[u8],
    ts: Timestamp,
    limit: Timestamp,
    reader: Option<TxnId>,
    max_rows: usize,
) -> io::Result<TxnScan> {
    scan_span_filtered(engine, start, end, ts, limit, reader, max_rows, None)
}

/// [`scan_span`] returning only the rows `filter` matches (see the module
/// documentation). An error of the predicate is `InvalidInput`.
#[allow(clippy::too_many_arguments)]
pub fn scan_span_filtered(
    engine: &Engine,
    start: &[u8],
    end: &[u8],
    ts: Timestamp,
    limit: Timestamp,
    reader: Option<TxnId>,
    max_rows: usize,
    filter: Option<SpanFilter<'_>>,
) -> io::Result<TxnScan> {
    let limit = limit.max(ts);
    // Intents first (see the module documentation), then values.
    let mut own: BTreeMap<Bytes, Option<Bytes>> = BTreeMap::new();
    let mut others: Vec<(Bytes, TxnMeta)> = Vec::new();
    let lock_bounds = (Bound::Included(intent_key(start)), Bound::Excluded(intent_key(end)));
    for e in intents_in(engine, lock_bounds) {
        let (k, v) = e?;
        let key = Bytes::copy_from_slice(intent_user_key(&k).unwrap_or_default());
        let intent: Intent = crate::raft::codec::decode(&v)?;
        if Some(intent.txn.id) == reader {
            own.insert(key, intent.value);
        } else if intent.txn.write_ts <= limit {
            others.push((key, intent.txn));
        }
    }
    let bounds = (Bound::Included(Bytes::copy_from_slice(start)), Bound::Excluded(Bytes::copy_from_slice(end)));
    let snapshot = engine.snapshot_at(ts);
    let mut committed = snapshot.scan(bounds.clone(), false).peekable();
    let mut own_iter = own.into_iter().peekable();
    let mut out = TxnScan::default();
    let mut scanned = 0usize;
    loop {
        // The next key from either side; an own intent replaces the value.
        let next_committed = match committed.peek() {
            Some(Ok((k, _))) => Some(k.clone()),
            Some(Err(_)) => match committed.next() {
                Some(Err(e)) => return Err(core_err(e)),
                _ => None,
            },
            None => None,
        };
        let next_own = own_iter.peek().map(|(k, _)| k.clone());
        let (key, value) = match (next_committed, next_own) {
            (None, None) => break,
            (Some(c), Some(o)) if o <= c => {
                if o == c {
                    committed.next();
                }
                let (k, v) = own_iter.next().unwrap_or_default();
                (k, v)
            }
            (Some(_), _) => match committed.next() {
                Some(Ok((k, v))) => (k, Some(v)),
                _ => break,
            },
            (None, Some(_)) => {
                let (k, v) = own_iter.next().unwrap_or_default();
                (k, v)
            }
        };
        let Some(value) = value else { continue };
        if out.rows.len() == max_rows {
            out.resume = Some(key);
            break;
        }
        if let Some(f) = filter {
            if scanned >= f.max_scanned.max(1) {
                out.resume = Some(key);
                break;
            }
            scanned += 1;
            let matches = f
                .predicate
                .matches(&key, &value)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("scan filter: {e}")))?;
            if !matches {
                continue;
            }
        }
        out.rows.push((key, value));
    }
    // Intents and uncertainty matter only on the keys the scan covered.
    let covered = |k: &[u8]| out.resume.as_ref().is_none_or(|r| k < r.as_ref());
    out.intents = others.into_iter().filter(|(k, _)| covered(k)).collect();
    if limit > ts {
        // Deletes too: a row deleted inside the interval (by a transaction
        // acknowledged before this one began, on a gateway whose clock ran
        // a little ahead) must make the reader move up, as a write does.
        // Skipping them, a count right after an acknowledged `DELETE`
        // through another gateway still saw the deleted rows.
        for e in engine.scan_versions_with_tombstones(bounds, limit) {
            let e = e.map_err(core_err)?;
            if !covered(&e.key) {
                break;
            }
            if e.ts > ts {
                out.uncertain = out.uncertain.max(Some(e.ts));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use alopex_core::{Options, WriteBatch};

    use super::*;
    use crate::txn::meta::TxnId;

    fn intent(engine: &Engine, key: &str, txn: &TxnMeta, value: Option<&str>, at: Timestamp) {
        let i = Intent { txn: txn.clone(), value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())) };
        let mut b = WriteBatch::new();
        b.put(intent_key(key.as_bytes()), crate::raft::codec::encode(&i).unwrap());
        engine.write_at(b, at).unwrap();
    }

    fn rows(scan: &TxnScan) -> Vec<(String, String)> {
        let s = |b: &Bytes| String::from_utf8(b.to_vec()).unwrap();
        scan.rows.iter().map(|(k, v)| (s(k), s(v))).collect()
    }

    #[test]
    fn a_scan_merges_own_intents_and_reports_others() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut b = WriteBatch::new();
        b.put("a", "1").put("b", "1").put("c", "1").put("d", "1");
        engine.write_at(b, 100).unwrap();
        let me = TxnMeta::new(TxnId(1), "a", 200);
        let other = TxnMeta::new(TxnId(2), "c", 150);
        let later = TxnMeta::new(TxnId(3), "d", 900);
        intent(&engine, "b", &me, None, 201); // my delete
        intent(&engine, "bb", &me, Some("mine"), 201); // my insert
        intent(&engine, "c", &other, Some("2"), 202);
        intent(&engine, "d", &later, Some("3"), 203);

        let scan = scan_span(&engine, b"a", b"z", 300, 300, Some(me.id), 100).unwrap();
        let want: Vec<(String, String)> = [("a", "1"), ("bb", "mine"), ("c", "1"), ("d", "1")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(rows(&scan), want);
        assert_eq!(
            scan.intents,
            vec![(Bytes::from_static(b"c"), other.clone())],
            "the later intent is above the limit"
        );
        assert_eq!((scan.uncertain, scan.resume.clone()), (None, None));

        // Someone else sees no provisional writes; limits resume.
        let scan = scan_span(&engine, b"a", b"z", 300, 300, None, 2).unwrap();
        assert_eq!(rows(&scan), vec![("a".into(), "1".into()), ("b".into(), "1".into())]);
        assert_eq!(scan.resume, Some(Bytes::from_static(b"c")));
        // The first transaction's intents are someone else's now; c lies
        // beyond the rows returned.
        let met: Vec<_> = scan.intents.iter().map(|(k, t)| (k.clone(), t.id)).collect();
        assert_eq!(met, vec![(Bytes::from_static(b"b"), me.id), (Bytes::from_static(b"bb"), me.id)]);

        // A version in the uncertainty interval.
        let mut b = WriteBatch::new();
        b.put("a", "new");
        engine.write_at(b, 400).unwrap();
        let scan = scan_span(&engine, b"a", b"b", 300, 500, None, 100).unwrap();
        assert_eq!((scan.uncertain, rows(&scan)), (Some(400), vec![("a".into(), "1".into())]));
        assert_eq!(scan_span(&engine, b"a", b"b", 300, 300, None, 100).unwrap().uncertain, None);

        // A delete in the uncertainty interval counts as much as a write:
        // the reader must move above it, or it reads a row an acknowledged
        // transaction removed.
        let mut b = WriteBatch::new();
        b.delete("d");
        engine.write_at(b, 450).unwrap();
        let scan = scan_span(&engine, b"d", b"z", 300, 500, None, 100).unwrap();
        assert_eq!((scan.uncertain, rows(&scan)), (Some(450), vec![("d".into(), "1".into())]));
        assert_eq!(scan_span(&engine, b"d", b"z", 460, 500, None, 100).unwrap().rows, vec![]);
    }
}
