//! # Applying the commands of distributed transactions
//!
//! The rules by which a range lays and resolves intents and keeps
//! transaction records (`docs/transactions.md` explains the protocol).
//! Deciding is separate from doing: [`apply`] reads the range's current
//! state from the engine and returns a [`TxnEffect`] (the answer and the
//! batches to write); the state machine writes them and records the applied
//! index. Every decision depends only on the command and on this range's
//! keys in the engine, which only this range's apply loop writes, so every
//! replica answers the same.
//!
//! Timestamps: intents and records are bookkeeping, written at the
//! command's applied timestamp (`max(ts, highest applied + 1)`, so always
//! above their own earlier versions). Committed **values** are written at
//! exactly the transaction's commit timestamp, in a separate batch written
//! first: the intent guaranteed that no version of the key is newer than the
//! transaction's snapshot, so the value at the commit timestamp is the key's
//! newest, whatever else the range applied since. A crash between the two
//! batches re-applies the command from the log, rewriting identical versions.

use std::collections::BTreeMap;
use std::io;
use std::ops::Bound;

use bytes::Bytes;

use alopex_core::{Engine, Timestamp, WriteBatch};

use super::codec;
use super::command::{Command, CommandResponse, Resolution, WriteOp};
use super::span::RangeSpan;
use crate::txn::keys::{self, intent_key, record_key};
use crate::txn::read::intent_of;
use crate::txn::{Intent, TxnId, TxnMeta, TxnRecord, TxnStatus};

fn core_err(e: alopex_core::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// What applying a transaction command does.
#[derive(Debug, Default)]
pub(super) struct TxnEffect {
    /// The answer, the same on every replica.
    pub response: Option<CommandResponse>,
    /// Committed values at the commit timestamp, written before `batch`.
    pub committed: Option<(Timestamp, WriteBatch)>,
    /// Intents, records (and one-phase values) at the applied timestamp.
    pub batch: WriteBatch,
    /// How the number of intents in the range changed.
    pub intents_delta: i64,
}

/// Whether `cmd` is one of the transaction commands this file applies.
pub(super) fn is_txn_command(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::LayIntents { .. }
            | Command::ResolveIntents { .. }
            | Command::HeartbeatTxn { .. }
            | Command::PushTxn { .. }
            | Command::CommitTxn { .. }
            | Command::AbortTxn { .. }
            | Command::CommitOnePhase { .. }
    )
}

fn check_meta(txn: &TxnMeta) -> Result<(), String> {
    if txn.read_ts == 0 || txn.write_ts < txn.read_ts {
        return Err(format!("txn {}: invalid timestamps (read {}, write {})", txn.id, txn.read_ts, txn.write_ts));
    }
    Ok(())
}

/// Validates a transaction command against the range's span
/// (deterministic, like every validation).
pub(super) fn validate(span: &RangeSpan, range: u64, cmd: &Command) -> Result<(), String> {
    // `txn::serve` recognizes this refusal as "the keys moved".
    let outside = |k: &[u8]| super::command::outside_range(format_args!("key {k:?}"), range);
    if cmd.ts() == Some(0) {
        return Err("commit timestamp 0 is invalid".into());
    }
    match cmd {
        Command::LayIntents { txn, ops, .. } | Command::CommitOnePhase { txn, ops, .. } => {
            check_meta(txn)?;
            match ops.iter().find(|op| !span.contains(op.key())) {
                Some(op) => Err(outside(op.key())),
                None => Ok(()),
            }
        }
        Command::ResolveIntents { keys, resolution, .. } => {
            if *resolution == (Resolution::Commit { commit_ts: 0 }) {
                return Err("commit timestamp 0 is invalid".into());
            }
            match keys.iter().find(|k| !span.contains(k)) {
                Some(k) => Err(outside(k)),
                None => Ok(()),
            }
        }
        Command::HeartbeatTxn { txn, .. } | Command::PushTxn { txn, .. } | Command::AbortTxn { txn, .. } => {
            check_meta(txn)?;
            if span.contains(&txn.anchor) { Ok(()) } else { Err(outside(&txn.anchor)) }
        }
        Command::CommitTxn { txn, commit_ts, .. } => {
            check_meta(txn)?;
            if *commit_ts < txn.write_ts {
                return Err(format!("txn {}: commit timestamp {commit_ts} is below its writes", txn.id));
            }
            if span.contains(&txn.anchor) { Ok(()) } else { Err(outside(&txn.anchor)) }
        }
        _ => Ok(()),
    }
}

/// The refusal a write of `keys` meets from an intent of a transaction
/// other than `writer` (`None`: a plain write, refused by any intent).
pub(super) fn intent_conflict<'k>(
    engine: &Engine,
    keys: impl IntoIterator<Item = &'k Bytes>,
    writer: Option<TxnId>,
) -> io::Result<Option<CommandResponse>> {
    for key in keys {
        if let Some(intent) = intent_of(engine, key)?
            && Some(intent.txn.id) != writer
        {
            return Ok(Some(CommandResponse::WriteConflict { key: key.clone(), txn: intent.txn }));
        }
    }
    Ok(None)
}

/// The refusal a delete of `[start, end)` meets from any intent in it.
pub(super) fn range_conflict(engine: &Engine, start: &Bytes, end: &Bytes) -> io::Result<Option<CommandResponse>> {
    let bounds = (Bound::Included(intent_key(start)), Bound::Excluded(intent_key(end)));
    if let Some(e) = crate::txn::read::intents_in(engine, bounds).next() {
        let (k, v) = e?;
        let intent: Intent = codec::decode(&v)?;
        let key = Bytes::copy_from_slice(keys::intent_user_key(&k).unwrap_or_default());
        return Ok(Some(CommandResponse::WriteConflict { key, txn: intent.txn }));
    }
    Ok(None)
}

/// The number of intents on `span`'s keys.
pub(super) fn count_intents(engine: &Engine, span: &RangeSpan) -> io::Result<u64> {
    let mut n = 0;
    for e in crate::txn::read::intents_in(engine, keys::intent_bounds(span)) {
        e?;
        n += 1;
    }
    Ok(n)
}

/// The writes of `ops`, one per key (the last op wins).
fn by_key(ops: &[WriteOp]) -> BTreeMap<Bytes, Option<Bytes>> {
    ops.iter()
        .map(|op| match op {
            WriteOp::Put { key, value } => (key.clone(), Some(value.clone())),
            WriteOp::Delete { key } => (key.clone(), None),
        })
        .collect()
}

/// Checks the keys `txn` writes: another transaction's intent, or a
/// committed version newer than its snapshot, refuses the batch. Answers
/// the refusal, or how many of the keys already hold `txn`'s own intent.
fn check_writes(
    engine: &Engine,
    txn: &TxnMeta,
    writes: &BTreeMap<Bytes, Option<Bytes>>,
) -> io::Result<Result<u64, CommandResponse>> {
    let mut own = 0;
    for key in writes.keys() {
        if let Some(intent) = intent_of(engine, key)? {
            if intent.txn.id != txn.id {
                return Ok(Err(CommandResponse::WriteConflict { key: key.clone(), txn: intent.txn }));
            }
            own += 1;
        }
        if let Some(newest) = engine.get_version(key, Timestamp::MAX).map_err(core_err)?
            && newest.ts > txn.read_ts
        {
            return Ok(Err(CommandResponse::WriteTooOld { key: key.clone(), existing_ts: newest.ts }));
        }
    }
    Ok(Ok(own))
}

fn read_record(engine: &Engine, txn: &TxnMeta) -> io::Result<Option<TxnRecord>> {
    match crate::txn::read::newest(engine, &record_key(&txn.anchor, txn.id))? {
        Some(v) => Ok(Some(codec::decode(&v)?)),
        None => Ok(None),
    }
}

/// Decides a transaction command applied at `applied_ts` (validated
/// already).
pub(super) fn apply(engine: &Engine, cmd: &Command, applied_ts: Timestamp) -> io::Result<TxnEffect> {
    let mut effect = TxnEffect::default();
    match cmd {
        Command::LayIntents { txn, ops, .. } => {
            let writes = by_key(ops);
            match check_writes(engine, txn, &writes)? {
                Err(refusal) => effect.response = Some(refusal),
                Ok(own) => {
                    for (key, value) in writes.iter() {
                        let intent = Intent { txn: txn.clone(), value: value.clone() };
                        effect.batch.put(intent_key(key), codec::encode(&intent)?);
                    }
                    effect.intents_delta = writes.len() as i64 - own as i64;
                    effect.response = Some(CommandResponse::Applied { ts: Some(txn.write_ts) });
                }
            }
        }
        Command::CommitOnePhase { txn, ops, .. } => {
            // The same commit again, after its answer was lost (a leader
            // died between applying it and answering, and the gateway
            // retried): the record it left answers what it did. Without
            // it the retry met the transaction's own versions as
            // `WriteTooOld`, and a commit that applied was reported as a
            // conflict (found by the list-append history test).
            if let Some(TxnRecord { status: TxnStatus::Committed { commit_ts }, .. }) = read_record(engine, txn)? {
                effect.response = Some(CommandResponse::Applied { ts: Some(commit_ts) });
                return Ok(effect);
            }
            let writes = by_key(ops);
            match check_writes(engine, txn, &writes)? {
                Err(refusal) => effect.response = Some(refusal),
                Ok(own) => {
                    for (key, value) in writes {
                        if own > 0 {
                            effect.batch.delete(intent_key(&key));
                        }
                        match value {
                            Some(v) => effect.batch.put(key, v),
                            None => effect.batch.delete(key),
                        };
                    }
                    effect.intents_delta = -(own as i64);
                    let record = TxnRecord {
                        status: TxnStatus::Committed { commit_ts: applied_ts },
                        ..TxnRecord::implicit(txn)
                    };
                    write_record(&mut effect, &record)?;
                    effect.response = Some(CommandResponse::Applied { ts: Some(applied_ts) });
                }
            }
        }
        Command::ResolveIntents { txn, keys, resolution, .. } => {
            let mut committed = WriteBatch::new();
            let mut resolved = 0i64;
            let keys: std::collections::BTreeSet<&Bytes> = keys.iter().collect();
            for key in keys {
                let Some(intent) = intent_of(engine, key)? else { continue };
                if intent.txn.id != *txn {
                    continue;
                }
                if let Resolution::Commit { .. } = resolution {
                    match intent.value {
                        Some(v) => committed.put(key.clone(), v),
                        None => committed.delete(key.clone()),
                    };
                }
                effect.batch.delete(intent_key(key));
                resolved += 1;
            }
            effect.intents_delta = -resolved;
            let ts = match resolution {
                Resolution::Commit { commit_ts } => {
                    if !committed.is_empty() {
                        effect.committed = Some((*commit_ts, committed));
                    }
                    Some(*commit_ts)
                }
                Resolution::Abort => None,
            };
            effect.response = Some(CommandResponse::Applied { ts });
        }
        Command::HeartbeatTxn { ts, txn } => {
            let mut rec = read_record(engine, txn)?.unwrap_or_else(|| TxnRecord::implicit(txn));
            if !rec.status.is_final() {
                rec.heartbeat = rec.heartbeat.max(*ts);
                rec.txn.liveness_ms = txn.liveness_ms;
                rec.txn.write_ts = rec.txn.write_ts.max(txn.write_ts);
                write_record(&mut effect, &rec)?;
            }
            effect.response = Some(CommandResponse::TxnRecord { record: rec });
        }
        Command::PushTxn { txn, push_to, .. } => {
            let mut rec = read_record(engine, txn)?.unwrap_or_else(|| TxnRecord::implicit(txn));
            if !rec.status.is_final() && rec.min_commit_ts < *push_to {
                rec.min_commit_ts = *push_to;
                write_record(&mut effect, &rec)?;
            }
            effect.response = Some(CommandResponse::TxnRecord { record: rec });
        }
        Command::CommitTxn { ts, txn, commit_ts, intents } => {
            let mut rec = read_record(engine, txn)?.unwrap_or_else(|| TxnRecord::implicit(txn));
            if rec.status == TxnStatus::Pending {
                if rec.expired_at(*ts) {
                    rec.status = TxnStatus::Aborted;
                    write_record(&mut effect, &rec)?;
                } else if *commit_ts >= rec.min_commit_ts {
                    rec.status = TxnStatus::Committed { commit_ts: *commit_ts };
                    rec.intents = intents.clone();
                    write_record(&mut effect, &rec)?;
                }
            }
            effect.response = Some(CommandResponse::TxnRecord { record: rec });
        }
        Command::AbortTxn { ts, txn, if_expired } => {
            let mut rec = read_record(engine, txn)?.unwrap_or_else(|| TxnRecord::implicit(txn));
            if rec.status == TxnStatus::Pending && (!*if_expired || rec.expired_at(*ts)) {
                rec.status = TxnStatus::Aborted;
                write_record(&mut effect, &rec)?;
            }
            effect.response = Some(CommandResponse::TxnRecord { record: rec });
        }
        _ => {}
    }
    Ok(effect)
}

fn write_record(effect: &mut TxnEffect, rec: &TxnRecord) -> io::Result<()> {
    effect.batch.put(record_key(&rec.txn.anchor, rec.txn.id), codec::encode(rec)?);
    Ok(())
}
