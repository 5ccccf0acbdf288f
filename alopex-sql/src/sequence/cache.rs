//! Handing out sequence values: blocks reserved in their own transactions.
//!
//! `nextval` must be unique across sessions, must not roll back, and must
//! be cheap. [`Sequences`] (one per `Database`) keeps, per sequence id, a
//! block of values already reserved in storage; taking one is a mutex and
//! an addition. When a block runs out, the stored state is advanced past a
//! new block in a fresh transaction that commits before any of its values
//! is used, so even a crash right after can only skip values, never reuse
//! them. That transaction is independent of the caller's, so a rolled-back
//! insert still consumed its value (as in PostgreSQL) and two sessions
//! inserting concurrently never conflict on the sequence. A refill that
//! conflicts (another process advancing the same store) is retried here and
//! never reaches the user as 40001.
//!
//! The mutex is held across a refill: refills of one database are
//! serialized, which costs one small commit per [`MIN_BLOCK`] values.
//!
//! The per-session part, [`SessionSequences`], remembers the last value
//! each sequence gave this session, for `currval` and `lastval`.

use std::collections::HashMap;
use std::sync::Arc;

use alopex_core::{KvTxn, TxnOptions};
use parking_lot::Mutex;

use super::{SequenceDef, name_from_text, store};
use crate::database::Database;
use crate::error::{Result, SqlState};
use crate::expr::ScalarFunc;
use crate::sql_err;
use crate::types::Value;

/// The fewest values a refill reserves (more when the sequence's CACHE
/// asks for more).
pub const MIN_BLOCK: i64 = 32;

/// Refill attempts before a conflict is reported.
const RETRIES: usize = 50;

/// Reserved, unused values per sequence id.
#[derive(Default)]
pub(crate) struct Sequences {
    blocks: Mutex<HashMap<u64, Block>>,
}

/// `remaining` values starting at `next`, `increment` apart.
#[derive(Clone, Copy)]
struct Block {
    next: i64,
    remaining: i64,
}

/// What a session remembers: the last value per sequence id, and the last
/// value of any sequence.
#[derive(Default)]
pub struct SessionSequences {
    current: HashMap<u64, i64>,
    last: Option<i64>,
}

/// What the executor needs to run sequence functions: the database and the
/// session's memory.
#[derive(Clone)]
pub struct SeqAccess {
    pub(crate) db: Database,
    pub(crate) session: Arc<Mutex<SessionSequences>>,
}

impl SeqAccess {
    /// Runs `nextval`, `currval`, `setval` or `lastval` with `txn` as the
    /// caller's transaction (where definitions are read).
    pub fn call(&self, txn: &mut dyn KvTxn, func: ScalarFunc, args: &[Value]) -> Result<Value> {
        if func == ScalarFunc::Lastval {
            return match self.session.lock().last {
                Some(v) => Ok(Value::Int(v)),
                None => Err(sql_err!(OBJECT_NOT_IN_PREREQUISITE_STATE, "lastval is not yet defined in this session")),
            };
        }
        let name = match args.first() {
            Some(Value::Null) | None => return Ok(Value::Null),
            Some(Value::Text(t)) => name_from_text(t),
            Some(other) => name_from_text(&crate::expr::cast::to_text(other).unwrap_or_default()),
        };
        let Some(def) = store::get(txn, &name)? else {
            return Err(sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"));
        };
        match func {
            ScalarFunc::Nextval => {
                let v = self.nextval(txn, &def)?;
                let mut s = self.session.lock();
                s.current.insert(def.id, v);
                s.last = Some(v);
                Ok(Value::Int(v))
            }
            ScalarFunc::Currval => match self.session.lock().current.get(&def.id) {
                Some(v) => Ok(Value::Int(*v)),
                None => Err(sql_err!(
                    OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "currval of sequence \"{name}\" is not yet defined in this session"
                )),
            },
            _ => {
                let value = match args.get(1) {
                    Some(Value::Null) | None => return Ok(Value::Null),
                    Some(v) => int_of(v)?,
                };
                let called = match args.get(2) {
                    None => true,
                    Some(Value::Null) => return Ok(Value::Null),
                    Some(Value::Bool(b)) => *b,
                    Some(other) => {
                        return Err(sql_err!(
                            DATATYPE_MISMATCH,
                            "setval's third argument must be boolean, not {other:?}"
                        ));
                    }
                };
                self.setval(txn, &def, value, called)?;
                if called {
                    let mut s = self.session.lock();
                    s.current.insert(def.id, value);
                    s.last = Some(value);
                }
                Ok(Value::Int(value))
            }
        }
    }

    fn nextval(&self, txn: &mut dyn KvTxn, def: &SequenceDef) -> Result<i64> {
        let shared = &self.db.shared;
        let mut blocks = shared.sequences.blocks.lock();
        if let Some(b) = blocks.get_mut(&def.id)
            && b.remaining > 0
        {
            let v = b.next;
            b.remaining -= 1;
            b.next = b.next.wrapping_add(def.increment);
            return Ok(v);
        }
        let want = def.cache.max(MIN_BLOCK);
        for _ in 0..RETRIES {
            let mut own = shared.store.begin_txn(TxnOptions::default())?;
            let Some(state) = store::state(&mut *own, def.id)? else {
                // Created by a transaction that has not committed (the
                // caller's): advance it there, one value at a time.
                let _ = own.rollback();
                drop(blocks);
                let Some(state) = store::state(txn, def.id)? else {
                    return Err(sql_err!(UNDEFINED_TABLE, "relation \"{}\" does not exist", def.name));
                };
                let (first, _) = reserve(def, state, 1)?;
                store::put_state(txn, def.id, first, true)?;
                return Ok(first);
            };
            let (first, n) = reserve(def, state, want)?;
            let last = first + (n - 1) * def.increment;
            store::put_state(&mut *own, def.id, last, true)?;
            match own.commit() {
                Ok(_) => {
                    blocks.insert(def.id, Block { next: first.wrapping_add(def.increment), remaining: n - 1 });
                    return Ok(first);
                }
                Err(e) => {
                    let e = crate::error::Error::from(e);
                    if e.state != SqlState::SERIALIZATION_FAILURE {
                        return Err(e);
                    }
                }
            }
        }
        Err(sql_err!(SERIALIZATION_FAILURE, "could not advance sequence \"{}\": too much contention", def.name))
    }

    fn setval(&self, txn: &mut dyn KvTxn, def: &SequenceDef, value: i64, called: bool) -> Result<()> {
        if value < def.min || value > def.max {
            return Err(sql_err!(
                NUMERIC_VALUE_OUT_OF_RANGE,
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                def.name,
                def.min,
                def.max
            ));
        }
        let shared = &self.db.shared;
        let mut blocks = shared.sequences.blocks.lock();
        blocks.remove(&def.id);
        for _ in 0..RETRIES {
            let mut own = shared.store.begin_txn(TxnOptions::default())?;
            if store::state(&mut *own, def.id)?.is_none() {
                let _ = own.rollback();
                return store::put_state(txn, def.id, value, called);
            }
            store::put_state(&mut *own, def.id, value, called)?;
            match own.commit() {
                Ok(_) => return Ok(()),
                Err(e) => {
                    let e = crate::error::Error::from(e);
                    if e.state != SqlState::SERIALIZATION_FAILURE {
                        return Err(e);
                    }
                }
            }
        }
        Err(sql_err!(SERIALIZATION_FAILURE, "could not set sequence \"{}\": too much contention", def.name))
    }
}

fn int_of(v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(sql_err!(DATATYPE_MISMATCH, "setval expects an integer, not {other:?}")),
    }
}

/// The first value after `state` and how many values (at most `want`)
/// follow it within the bounds, wrapping around for CYCLE; 2200H past a
/// bound without it.
fn reserve(def: &SequenceDef, (last, called): (i64, bool), want: i64) -> Result<(i64, i64)> {
    let inc = def.increment;
    let first = if !called {
        last
    } else {
        match last.checked_add(inc) {
            Some(v) if v >= def.min && v <= def.max => v,
            _ if def.cycle => {
                if inc > 0 {
                    def.min
                } else {
                    def.max
                }
            }
            _ => {
                let (which, bound) = if inc > 0 { ("maximum", def.max) } else { ("minimum", def.min) };
                return Err(sql_err!(
                    SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
                    "nextval: reached {which} value of sequence \"{}\" ({bound})",
                    def.name
                ));
            }
        }
    };
    let room = if inc > 0 {
        (def.max as i128 - first as i128) / inc as i128
    } else {
        (first as i128 - def.min as i128) / -(inc as i128)
    } + 1;
    Ok((first, room.min(want as i128) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(increment: i64, min: i64, max: i64, cycle: bool) -> SequenceDef {
        SequenceDef { id: 1, name: "s".into(), increment, min, max, start: min, cache: 1, cycle, width: 8, owner: None }
    }

    #[test]
    fn blocks_stop_at_bounds_and_cycle_or_fail() {
        let d = def(1, 1, 3, false);
        assert_eq!(reserve(&d, (1, false), 32).unwrap(), (1, 3));
        assert_eq!(reserve(&d, (2, true), 32).unwrap(), (3, 1));
        assert_eq!(reserve(&d, (3, true), 32).unwrap_err().state, SqlState::SEQUENCE_GENERATOR_LIMIT_EXCEEDED);
        let c = def(1, 1, 3, true);
        assert_eq!(reserve(&c, (3, true), 32).unwrap(), (1, 3));
        let down = SequenceDef { start: -1, ..def(-2, -5, -1, false) };
        assert_eq!(reserve(&down, (-1, false), 32).unwrap(), (-1, 3));
        assert!(reserve(&down, (-5, true), 32).is_err());
        let big = def(i64::MAX, 1, i64::MAX, false);
        assert_eq!(reserve(&big, (1, true), 32).unwrap_err().state, SqlState::SEQUENCE_GENERATOR_LIMIT_EXCEEDED);
    }
}
