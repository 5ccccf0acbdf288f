//! Rows and indexes in the key space.
//!
//! OWNER: storage-mapping helper. This module is the only place that knows
//! how a table's rows and index entries are laid out as keys and values
//! (see `## Format` in the files here). The executor reads and writes rows
//! through it, over the [`KvTxn`] seam.

use std::ops::Bound;
use std::sync::Arc;

use alopex_core::{KeyBounds, KvTxn};

use crate::catalog::TableSchema;
use crate::error::Result;
use crate::types::{Row, Value};

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

/// A paged scan over a table's rows, by primary key or through an index.
/// Rows come in key order (reverse when asked). Pages grow from a few rows
/// to a few thousand, so a LIMIT 1 reads little and a full scan makes few
/// round trips.
pub struct RowScan {
    _private: (),
}

impl RowScan {
    /// Scans the primary key.
    pub fn primary(table: Arc<TableSchema>, range: KeyRange, reverse: bool) -> RowScan {
        let _ = (table, range, reverse);
        todo!("storage-mapping helper")
    }

    /// Scans the secondary index at position `index` of `table.indexes`,
    /// fetching each row (in batches, with `multi_get`).
    pub fn index(table: Arc<TableSchema>, index: usize, range: KeyRange, reverse: bool) -> RowScan {
        let _ = (table, index, range, reverse);
        todo!("storage-mapping helper")
    }

    /// The next row.
    pub fn next(&mut self, txn: &mut dyn KvTxn) -> Result<Option<Row>> {
        let _ = txn;
        todo!("storage-mapping helper")
    }
}

/// Reads rows by full primary key, in one batch; None where absent.
pub fn get_rows(txn: &mut dyn KvTxn, table: &TableSchema, keys: &[Vec<Value>]) -> Result<Vec<Option<Row>>> {
    let _ = (txn, table, keys);
    todo!("storage-mapping helper")
}

/// Inserts a full row (values already coerced to the column types): 23502
/// for a NULL in a NOT NULL column, 23505 when the primary key or a unique
/// index already holds the key (`duplicate key value violates unique
/// constraint "<name>"`, detail `Key (a)=(1) already exists.`).
pub fn insert(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    let _ = (txn, table, row);
    todo!("storage-mapping helper")
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
    let _ = (txn, table, row, target);
    todo!("storage-mapping helper")
}

/// Replaces `old` (as read) with `new`: rewrites the row and the index
/// entries that changed; moves the row if the primary key changed; the same
/// checks as [`insert`].
pub fn update(txn: &mut dyn KvTxn, table: &TableSchema, old: &Row, new: &Row) -> Result<()> {
    let _ = (txn, table, old, new);
    todo!("storage-mapping helper")
}

/// Deletes a row (as read) and its index entries.
pub fn delete(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    let _ = (txn, table, row);
    todo!("storage-mapping helper")
}

/// Writes the entries of index `index` for every existing row (CREATE
/// INDEX), with the uniqueness check for a unique index.
pub fn backfill_index(txn: &mut dyn KvTxn, table: &TableSchema, index: usize) -> Result<()> {
    let _ = (txn, table, index);
    todo!("storage-mapping helper")
}

/// The key span of one index of a table (1 = rows).
pub fn index_span(table_id: u64, index_id: u32) -> KeyBounds {
    let _ = (table_id, index_id);
    todo!("storage-mapping helper")
}

/// The key span of a whole table: rows and every index.
pub fn table_span(table_id: u64) -> KeyBounds {
    let _ = table_id;
    todo!("storage-mapping helper")
}

/// The largest hidden row id in use (0 for none).
pub fn max_row_id(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<i64> {
    let _ = (txn, table);
    todo!("storage-mapping helper")
}
