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
//! It reads the node's engine directly. Callers make sure the node may
//! serve the read (the leader, after a read-index), as for plain reads.

use std::io;

use bytes::Bytes;

use alopex_core::{Engine, Timestamp};

use super::keys::intent_key;
use super::meta::{Intent, TxnId, TxnMeta};

/// What a transactional read of one key found.
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The intent on `key`, if any.
pub fn intent_of(engine: &Engine, key: &[u8]) -> io::Result<Option<Intent>> {
    match engine.get(&intent_key(key)).map_err(core_err)? {
        Some(v) => Ok(Some(crate::raft::codec::decode(&v)?)),
        None => Ok(None),
    }
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
