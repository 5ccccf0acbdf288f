//! # Meeting another transaction's intent
//!
//! An intent is a promise of a write whose fate lives in a record in some
//! other range. A reader or a writer that meets one must find that fate out
//! and act on it, or it would either wait for ever on a dead coordinator or
//! read a value that is about to change below its snapshot. Both sides are
//! here, each a bounded number of round trips (`docs/transactions.md`,
//! "Reads"):
//!
//! - a **reader** at `R` never waits: it pushes the holder to commit above
//!   `R` (one `PushTxn`, which also answers the record). Committed or
//!   aborted: it resolves the intent and reads again. Pending and expired:
//!   it aborts the holder (`if_expired`, so a live coordinator is never
//!   aborted by a reader) and resolves. Pending and alive: the push holds,
//!   and the committed value below the intent is the right answer at `R`;
//! - a **writer** whose intents were refused (`WriteConflict`) polls the
//!   record for a short while (`conflict_wait`); a holder that finishes is
//!   resolved and the writer retries. Then **wound-wait**: an expired or
//!   younger holder (higher read timestamp, ties by id) is aborted, and an
//!   older one makes the writer abort itself ([`alopex_core::Error::Conflict`],
//!   which the SQL layer retries). In every cycle of waiters the youngest
//!   loses, so no deadlock can hang, and the oldest transaction always
//!   makes progress.
//!
//! Resolving here is lazy and local: only the keys that were met. The
//! holder's own coordinator (or the record's intent list, for anyone)
//! resolves the rest. A reader that meets many intents at once (a page of
//! a scan over a large transaction still being resolved) settles each
//! **holder** once: one push, then one resolution of all the keys it met of
//! that holder (`settle_many_for_read`). Settling key by key made a scan
//! over 1,000 fresh intents send 1,000 pushes and 1,000 resolutions to two
//! ranges at once, and their leaders stopped answering within the attempt
//! timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use alopex_core::Timestamp;

use super::meta::{TxnMeta, TxnRecord, TxnStatus};
use super::store::StoreShared;
use crate::raft::command::Resolution;
use crate::raft::{Command, CommandResponse};
use crate::range::KvError;

/// What a reader did about an intent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// The intent is gone (committed into a version or discarded): read again.
    Resolved,
    /// The holder is pending and now commits above the reader: the value
    /// below the intent stands.
    Pushed,
}

/// Why a writer gave up.
#[derive(Debug)]
pub(crate) enum WriteSettle {
    /// An older, live transaction holds the key: abort and restart.
    Lose(String),
    /// The cluster did not answer.
    Kv(KvError),
}

impl From<KvError> for WriteSettle {
    fn from(e: KvError) -> Self {
        WriteSettle::Kv(e)
    }
}

/// Sends a record command and answers the record after it.
pub(crate) async fn record_command(shared: &StoreShared, cmd: Command) -> Result<TxnRecord, KvError> {
    let answers = shared.kv().txn_command(cmd).await?;
    match answers.into_iter().next() {
        Some(CommandResponse::TxnRecord { record }) => Ok(record),
        Some(other) => Err(KvError::Failed(format!("unexpected answer to a record command: {other:?}"))),
        None => Err(KvError::Failed("no answer to a record command".into())),
    }
}

/// Resolves `txn`'s intents on `keys` as its record says.
pub(crate) async fn resolve(
    shared: &StoreShared,
    txn: &TxnMeta,
    keys: Vec<Bytes>,
    resolution: Resolution,
) -> Result<(), KvError> {
    if keys.is_empty() {
        return Ok(());
    }
    let cmd = Command::ResolveIntents { ts: shared.clock.now(), txn: txn.id, keys, resolution };
    for answer in shared.kv().txn_command(cmd).await? {
        if let CommandResponse::Rejected { reason } = answer {
            return Err(KvError::Failed(format!("resolving intents of {}: {reason}", txn.id)));
        }
    }
    Ok(())
}

/// Resolves the intent on `key` if `record` is final; whether it was.
async fn resolve_final(shared: &StoreShared, key: &Bytes, record: &TxnRecord) -> Result<bool, KvError> {
    resolve_final_keys(shared, vec![key.clone()], record).await
}

/// Resolves the intents on `keys` if `record` is final; whether it was.
async fn resolve_final_keys(shared: &StoreShared, keys: Vec<Bytes>, record: &TxnRecord) -> Result<bool, KvError> {
    let resolution = match record.status {
        TxnStatus::Committed { commit_ts } => {
            shared.observe(commit_ts);
            Resolution::Commit { commit_ts }
        }
        TxnStatus::Aborted => Resolution::Abort,
        TxnStatus::Pending => return Ok(false),
    };
    resolve(shared, &record.txn, keys, resolution).await?;
    Ok(true)
}

/// A reader at `read_ts` met `holder`'s intent on `key`.
pub(crate) async fn settle_for_read(
    shared: &StoreShared,
    key: &Bytes,
    holder: &TxnMeta,
    read_ts: Timestamp,
) -> Result<Settled, KvError> {
    settle_keys_for_read(shared, vec![key.clone()], holder, read_ts).await
}

/// A reader at `read_ts` met the intents `met` (of any holders): settles
/// each holder once, concurrently, resolving all of its keys together (see
/// the module documentation). Whether any intent was resolved (read again).
pub(crate) async fn settle_many_for_read(
    shared: &StoreShared,
    met: &[(Bytes, TxnMeta)],
    read_ts: Timestamp,
) -> Result<bool, KvError> {
    let mut by_holder: BTreeMap<super::TxnId, (&TxnMeta, Vec<Bytes>)> = BTreeMap::new();
    for (key, holder) in met {
        by_holder.entry(holder.id).or_insert_with(|| (holder, Vec::new())).1.push(key.clone());
    }
    let settled = futures_util::future::join_all(
        by_holder.into_values().map(|(holder, keys)| settle_keys_for_read(shared, keys, holder, read_ts)),
    )
    .await;
    let mut resolved = false;
    for s in settled {
        resolved |= s? == Settled::Resolved;
    }
    Ok(resolved)
}

/// A reader at `read_ts` met `holder`'s intents on `keys`.
async fn settle_keys_for_read(
    shared: &StoreShared,
    keys: Vec<Bytes>,
    holder: &TxnMeta,
    read_ts: Timestamp,
) -> Result<Settled, KvError> {
    let push = Command::PushTxn { ts: shared.clock.now(), txn: holder.clone(), push_to: read_ts.saturating_add(1) };
    let mut record = record_command(shared, push).await?;
    if record.status == TxnStatus::Pending && record.expired_at(shared.clock.now()) {
        let abort = Command::AbortTxn { ts: shared.clock.now(), txn: holder.clone(), if_expired: true };
        record = record_command(shared, abort).await?;
    }
    if resolve_final_keys(shared, keys, &record).await? {
        return Ok(Settled::Resolved);
    }
    Ok(Settled::Pushed)
}

/// Whether `a` is younger than `b` (it yields in wound-wait).
pub(crate) fn younger(a: &TxnMeta, b: &TxnMeta) -> bool {
    (a.read_ts, a.id) > (b.read_ts, b.id)
}

/// A writer `me` found `holder`'s intent on `key`: wait briefly, then
/// wound-wait. `Ok` when the intent is gone (retry the write).
pub(crate) async fn settle_for_write(
    shared: &StoreShared,
    key: &Bytes,
    holder: &TxnMeta,
    me: &TxnMeta,
) -> Result<(), WriteSettle> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        // PushTxn to 0 changes nothing: it reads the record (the implicit
        // one if absent).
        let query = Command::PushTxn { ts: shared.clock.now(), txn: holder.clone(), push_to: 0 };
        let record = record_command(shared, query).await?;
        if resolve_final(shared, key, &record).await? {
            return Ok(());
        }
        let waited = started.elapsed() >= shared.opts.conflict_wait;
        let expired = record.expired_at(shared.clock.now());
        let wound = waited && younger(holder, me);
        if expired || wound {
            let abort = Command::AbortTxn { ts: shared.clock.now(), txn: holder.clone(), if_expired: !wound };
            let record = record_command(shared, abort).await?;
            if resolve_final(shared, key, &record).await? {
                return Ok(());
            }
        } else if waited {
            return Err(WriteSettle::Lose(format!(
                "key {key:?} is held by the older transaction {}; this transaction yields (retry it)",
                holder.id
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
