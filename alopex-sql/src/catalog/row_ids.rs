//! Hidden row ids reserved in blocks, for stores shared by many processes.
//!
//! A table without a primary key stores its rows under a hidden `BIGINT`
//! row id. On a store only one [`crate::Database`] writes (the embedded
//! engine), that database seeds a counter from the largest id in the table
//! and counts up in memory: nothing else can hand out ids. On a store that
//! several databases share (every node of a cluster is a SQL gateway over
//! the same ranges), two gateways counting from the same maximum would
//! give two rows the same key, and the second insert would silently
//! overwrite the first. So there each database **reserves blocks** of ids
//! in storage, exactly as sequences do (`crate::sequence::cache`): a small
//! transaction of its own advances the table's high-water mark past the
//! block and commits before any id of it is used. Two gateways reserving at
//! once conflict on the one key, and the loser retries with the new mark;
//! ids are unique across the cluster, and increasing within one gateway,
//! but not dense (an unused block is skipped when a process stops), which
//! is all a hidden id promises.
//!
//! The first reservation for a table seeds the mark from the largest id
//! already stored, so rows written before the mark existed (a database
//! that started embedded) keep their ids.
//!
//! ## Format
//!
//! One key per table in the catalog's reserved span (table id 0):
//!
//! | key                   | value                                        |
//! |-----------------------|----------------------------------------------|
//! | `/0/7/<table_id>`     | the next unreserved id, an id-encoded `u64`  |
//!
//! `DROP TABLE` deletes the key; a rename keeps it (the id stays).

use alopex_core::{KvTxn, TxnOptions};
use bytes::Bytes;

use super::TableSchema;
use crate::database::TxnSource;
use crate::encoding::keycode::{decode_u64, encode_u32, encode_u64};
use crate::encoding::varint::corrupt;
use crate::error::{Result, SqlState};
use crate::sql_err;

/// The catalog sub-key of the row-id marks.
const ROW_ID_MARKS: u32 = 7;

/// Attempts to reserve a block before contention is reported.
const RETRIES: usize = 50;

/// The key holding `table_id`'s next unreserved row id.
pub(crate) fn mark_key(table_id: u64) -> Bytes {
    let mut key = Vec::with_capacity(24);
    encode_u64(super::store::CATALOG_TABLE_ID, &mut key);
    encode_u32(ROW_ID_MARKS, &mut key);
    encode_u64(table_id, &mut key);
    Bytes::from(key)
}

fn read_mark(txn: &mut dyn KvTxn, table_id: u64) -> Result<Option<i64>> {
    let Some(value) = txn.get(&mark_key(table_id))? else {
        return Ok(None);
    };
    let mut input = &value[..];
    let n = decode_u64(&mut input)?;
    if !input.is_empty() || n > i64::MAX as u64 {
        return Err(corrupt(format!("row-id mark of table {table_id}")));
    }
    Ok(Some(n as i64))
}

/// Reserves `n` row ids of `table` in a transaction of its own and
/// returns the first; the block is `first..first + n`.
pub(crate) fn reserve(store: &dyn TxnSource, table: &TableSchema, n: i64) -> Result<i64> {
    for _ in 0..RETRIES {
        let mut txn = store.begin_txn(TxnOptions::default())?;
        let first = match read_mark(&mut *txn, table.id)? {
            Some(next) => next,
            None => crate::table::max_row_id(&mut *txn, table)?.saturating_add(1).max(1),
        };
        let end = first
            .checked_add(n)
            .ok_or_else(|| sql_err!(PROGRAM_LIMIT_EXCEEDED, "table \"{}\" ran out of row ids", table.name))?;
        let mut value = Vec::with_capacity(9);
        encode_u64(end as u64, &mut value);
        txn.put(mark_key(table.id), Bytes::from(value))?;
        match txn.commit() {
            Ok(_) => return Ok(first),
            Err(e) => {
                let e = crate::error::Error::from(e);
                if e.state != SqlState::SERIALIZATION_FAILURE {
                    return Err(e);
                }
            }
        }
    }
    Err(sql_err!(SERIALIZATION_FAILURE, "could not reserve row ids for table \"{}\": too much contention", table.name))
}
