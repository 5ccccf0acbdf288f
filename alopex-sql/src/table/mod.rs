//! Rows and indexes in the key space.
//!
//! This module is the only place that knows how a table's rows and index
//! entries are laid out as keys and values. The executor reads and writes
//! rows through it, over the [`KvTxn`] seam, and never builds a key itself.
//!
//! The layout is the classic one of ordered key-value SQL engines: a row is
//! stored under its primary key, and a secondary index is a set of keys that
//! end with the primary key of the row they point at, with empty values.
//! Unique and non-unique indexes share that layout; a unique index is only
//! a check on write (see `write.rs`). Putting the primary key in the entry
//! key rather than in its value keeps entries of equal index values
//! distinct (NULLs in a unique index, duplicates in a plain one) and makes
//! "is this value taken?" a prefix scan.
//!
//! Rows are read in pages ([`RowScan`], in `scan.rs`), keys are built in one
//! place (`keys.rs`), and writes with their constraint checks live in
//! `write.rs`.
//!
//! ## Format
//!
//! Key components are encoded with [`crate::encoding::keycode`]; `/` marks
//! the boundary between components, not a byte.
//!
//! | key                                          | value                      |
//! |----------------------------------------------|----------------------------|
//! | `/table_id: u64/1/pk values…`                | the row ([`crate::encoding::row`]) |
//! | `/table_id: u64/index_id: u32/index values…/pk values…` | empty           |
//!
//! Table id and index id are big-endian (`u64`, `u32`). Index id 1 is the
//! primary key (the rows); secondary indexes use 2 and up. Table id 0 holds
//! the catalog ([`crate::catalog::store`]).
//!
//! Writers of a unique entry also delete the bare key
//! `/table_id/index_id/index values…` (a tombstone, never a live key) to
//! claim the value, so concurrent duplicates conflict in the engine even
//! under snapshot isolation.
//!
//! ## Key ranges
//!
//! A [`KeyRange`] names keys by values for a prefix of the key columns
//! (primary-key columns; or index columns, then primary-key columns).
//! Because NULL sorts after every value in a key, `Prefix([NULL])` is
//! `IS NULL`, and a range with an unbounded upper end includes the NULLs
//! of the first unbounded column: `a > 5` without NULLs is
//! `Between { lower: Excluded([5]), upper: Excluded([NULL]) }`.

mod keys;
mod rekey;
mod scan;
mod vector;
mod write;

#[cfg(test)]
mod tests;

use std::ops::Bound;

use alopex_core::{KeyBounds, KvTxn};
use bytes::Bytes;

use crate::catalog::TableSchema;
use crate::encoding::keycode::decode_value;
use crate::encoding::row::{decode_row, decode_row_columns};
use crate::encoding::varint::corrupt;
use crate::error::{Error, Result};
use crate::types::{DataType, Row, Value};

pub use keys::PRIMARY_INDEX_ID;
pub use rekey::rekey;
pub use scan::RowScan;
pub use vector::{NearestRows, RowPredicate, nearest_rows, vector_index_spec};

/// Which keys to read, as values for a prefix of the key columns. Values
/// must already have the key columns' types (the executor casts them).
#[derive(Debug, Clone, PartialEq)]
pub enum KeyRange {
    /// Every key.
    Full,
    /// Keys starting with this prefix (all key columns = a point lookup).
    Prefix(Vec<Value>),
    /// Keys between two prefixes. `Included(p)` as an upper bound includes
    /// every key that starts with `p`; `Excluded(p)` as a lower bound skips
    /// every key that starts with `p`.
    Between {
        /// Lower bound.
        lower: Bound<Vec<Value>>,
        /// Upper bound.
        upper: Bound<Vec<Value>>,
    },
}

/// Hands out hidden row ids for tables without a primary key.
pub trait RowIdSource {
    /// A fresh row id for `table`, never handed out before.
    fn next_row_id(&self, table: &TableSchema) -> Result<i64>;
}

/// Reads rows by full primary key, in one batch; None where absent.
pub fn get_rows(txn: &mut dyn KvTxn, table: &TableSchema, keys: &[Vec<Value>]) -> Result<Vec<Option<Row>>> {
    get_rows_columns(txn, table, keys, None)
}

/// [`get_rows`], decoding only the marked `columns` (None = all); the
/// others read as NULL.
pub fn get_rows_columns(
    txn: &mut dyn KvTxn,
    table: &TableSchema,
    keys: &[Vec<Value>],
    columns: Option<&[bool]>,
) -> Result<Vec<Option<Row>>> {
    let keys: Vec<Bytes> =
        keys.iter().map(|pk| keys::row_key_from_pk(table, pk).map(Bytes::from)).collect::<Result<_>>()?;
    let decode = |v: Bytes| match columns {
        Some(wanted) => decode_row_columns(table, &v, wanted),
        None => decode_row(table, &v),
    };
    txn.multi_get(&keys)?.into_iter().map(|value| value.map(decode).transpose()).collect()
}

/// Inserts a full row (values already coerced to the column types): 23502
/// for a NULL in a NOT NULL column, 23505 when the primary key or a unique
/// index already holds the key (`duplicate key value violates unique
/// constraint "<name>"`, detail `Key (a)=(1) already exists.`).
pub fn insert(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    write::insert(txn, table, row)
}

/// The existing row that `row` would conflict with on the primary key or a
/// unique index (only the unique index on exactly `target` columns, or the
/// primary key if those are its columns, when `target` is given).
pub fn find_conflict(
    txn: &mut dyn KvTxn,
    table: &TableSchema,
    row: &Row,
    target: Option<&[usize]>,
) -> Result<Option<Row>> {
    write::find_conflict(txn, table, row, target)
}

/// Replaces `old` (as read) with `new`: rewrites the row and the index
/// entries that changed; moves the row if the primary key changed; the same
/// checks as [`insert`].
pub fn update(txn: &mut dyn KvTxn, table: &TableSchema, old: &Row, new: &Row) -> Result<()> {
    write::update(txn, table, old, new)
}

/// Deletes a row (as read) and its index entries.
pub fn delete(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    write::delete(txn, table, row)
}

/// Writes the entries of index `index` for every existing row (CREATE
/// INDEX), with the uniqueness check for a unique index.
pub fn backfill_index(txn: &mut dyn KvTxn, table: &TableSchema, index: usize) -> Result<()> {
    write::backfill_index(txn, table, index)
}

/// The key span of one index of a table (1 = rows).
pub fn index_span(table_id: u64, index_id: u32) -> KeyBounds {
    keys::prefix_bounds(&keys::index_prefix(table_id, index_id))
}

/// The key span of a whole table: rows and every index.
pub fn table_span(table_id: u64) -> KeyBounds {
    keys::prefix_bounds(&keys::table_prefix(table_id))
}

/// The largest hidden row id in use (0 for none).
pub fn max_row_id(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<i64> {
    if !table.has_row_id() {
        return Err(Error::internal(format!("table \"{}\" has no hidden row id", table.name)));
    }
    let Some((key, _)) = txn.scan(index_span(table.id, PRIMARY_INDEX_ID), true, 1)?.into_iter().next() else {
        return Ok(0);
    };
    let mut rest = key.get(keys::index_prefix_len(table.id, PRIMARY_INDEX_ID)..).unwrap_or_default();
    match decode_value(&mut rest, &DataType::Int8)? {
        Value::Int(id) if rest.is_empty() => Ok(id),
        _ => Err(corrupt(format!("bad row id key in table \"{}\"", table.name))),
    }
}
