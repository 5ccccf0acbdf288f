//! # Read refresh: what makes a serializable transaction's commit safe
//!
//! Under snapshot isolation a transaction may commit at a timestamp above
//! the one it read at (a range's timestamp cache or a reader pushed its
//! writes up). Under **serializable** isolation that is only sound if what
//! it read is still what it would read at the commit timestamp: then the
//! transaction is equivalent to one that ran, reads and writes, at that
//! single instant. Checking that is a **read refresh**
//! (`docs/transactions.md`, "Serializable").
//!
//! The coordinator keeps what a serializable transaction read from the
//! ranges (`ReadLog`: keys with their values, spans with their rows) and,
//! after laying its intents and before committing its record, reads them
//! all again at the commit timestamp and compares. Comparing **values**
//! rather than version timestamps accepts a key that changed and changed
//! back, which is still serializable (the reads equal the state at the
//! commit timestamp). The refreshing reads go through the leaders like any
//! transactional read, so they are recorded in the timestamp caches at the
//! commit timestamp: nothing can be written below it afterwards, and the
//! check cannot be invalidated between the refresh and the commit.
//!
//! The refresh reads as nobody's transaction (`reader: None`): the
//! transaction's own intents then show as intents with the committed value
//! beneath, which is the value to compare. Another transaction's intent is
//! settled as for any reader (pushed above the commit timestamp, or
//! resolved and read again).

use bytes::Bytes;

use alopex_core::Timestamp;

use super::conflict::{Settled, settle_for_read, settle_many_for_read};
use super::meta::TxnId;
use super::read::TxnRead;
use super::store::StoreShared;
use crate::range::KvError;
use crate::range::protocol::{TxnGetRequest, TxnScanRequest};

/// Rounds a refresh may retry after resolving intents before it gives up.
const MAX_ROUNDS: usize = 32;

/// Rows read from a span, in key order.
pub(crate) type Rows = Vec<(Bytes, Bytes)>;

/// What a serializable transaction read from the ranges.
#[derive(Debug, Default)]
pub(crate) struct ReadLog {
    /// Point reads: the key and the committed value read.
    pub keys: Vec<(Bytes, Option<Bytes>)>,
    /// Scans: `[start, end)`, the filter pushed into the scan if any, and
    /// every committed row read in it (every match, with a filter: the
    /// refresh evaluates the filter again over the whole span, so a
    /// rejected key that now matches is a change).
    pub spans: Vec<(Bytes, Bytes, Option<alopex_core::ScanFilter>, Rows)>,
}

impl ReadLog {
    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.spans.is_empty()
    }
}

/// Whether everything in `log` reads the same at `ts`; `Err` when the
/// cluster did not answer. `me` is the refreshing transaction (its own
/// intents are not conflicts).
pub(crate) async fn refresh(shared: &StoreShared, me: TxnId, log: &ReadLog, ts: Timestamp) -> Result<bool, KvError> {
    let keys = log.keys.iter().map(|(k, v)| async move { Ok::<_, KvError>(read_key(shared, me, k, ts).await? == *v) });
    for same in futures_util::future::join_all(keys).await {
        if !same? {
            return Ok(false);
        }
    }
    for (start, end, filter, rows) in &log.spans {
        if scan_span(shared, me, start, end, filter.as_ref(), ts).await? != *rows {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The committed value of `key` at `ts`, intents settled.
async fn read_key(shared: &StoreShared, me: TxnId, key: &Bytes, ts: Timestamp) -> Result<Option<Bytes>, KvError> {
    for _ in 0..MAX_ROUNDS {
        let req = TxnGetRequest { key: key.clone(), read_ts: ts, limit: ts, reader: None };
        match shared.kv().txn_get(req).await? {
            TxnRead::Value(v) | TxnRead::Own(v) => return Ok(v),
            TxnRead::Intent { txn, committed } if txn.id == me => return Ok(committed),
            TxnRead::Intent { txn, committed } => {
                if settle_for_read(shared, key, &txn, ts).await? == Settled::Pushed {
                    return Ok(committed);
                }
            }
            // No uncertainty interval was asked for.
            TxnRead::Uncertain { .. } => return Err(KvError::Failed("uncertain read without an interval".into())),
        }
    }
    Err(KvError::DeadlineExceeded(format!("refreshing key {key:?} kept meeting new intents")))
}

/// Every committed row of `[start, end)` at `ts`, intents settled.
async fn scan_span(
    shared: &StoreShared,
    me: TxnId,
    start: &Bytes,
    end: &Bytes,
    filter: Option<&alopex_core::ScanFilter>,
    ts: Timestamp,
) -> Result<Rows, KvError> {
    let page = shared.opts.scan_page.max(1);
    let mut rows = Vec::new();
    let mut cursor = start.clone();
    let mut rounds = 0;
    while cursor < *end {
        let req = TxnScanRequest {
            start: cursor.clone(),
            end: Some(end.clone()),
            read_ts: ts,
            limit: ts,
            reader: None,
            max_rows: u32::try_from(page).unwrap_or(u32::MAX),
            filter: filter.map(crate::range::protocol::PushedFilter::from),
        };
        let (scan, range_end) = shared.kv().txn_scan_range(req).await?;
        shared.count_rows(scan.rows.len());
        let others: Vec<_> = scan.intents.iter().filter(|(_, t)| t.id != me).cloned().collect();
        let again = settle_many_for_read(shared, &others, ts).await?;
        if again {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Err(KvError::DeadlineExceeded("refreshing a scan kept meeting new intents".into()));
            }
            continue;
        }
        rows.extend(scan.rows);
        cursor = super::coordinator::next_cursor(scan.resume, range_end, &cursor, end);
    }
    Ok(rows)
}
