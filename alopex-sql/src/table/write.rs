//! Writing rows: insert, update, delete and index backfill, with the
//! NOT NULL and uniqueness checks.
//!
//! Every write checks first and writes last: all constraint checks (and all
//! encoding, which can fail too) happen before the first `put`, so a failed
//! statement leaves nothing half-written in the transaction.
//!
//! Uniqueness is checked by reading, not by a special index structure: an
//! entry of a unique index is `/t/index/values/pk`, and the index holds a
//! duplicate exactly when some key starts with `/t/index/values`. The check
//! is a prefix scan for at most two keys (one of them may be the row being
//! updated, which does not conflict with itself). NULLs are distinct, as in
//! PostgreSQL, so an entry with a NULL value is never checked.
//!
//! A read-only check is not enough under snapshot isolation: two
//! transactions inserting the same value concurrently both pass it, and
//! their entries differ in the primary-key suffix, so the engine sees no
//! write-write conflict. So whoever writes a unique entry also *claims* its
//! values by deleting the bare key `/t/index/values` (never a real entry: a
//! real one always ends with a primary key). A delete is a write, so the
//! two transactions now write the same key and the second to commit fails
//! with `40001`, to be retried, where it will see the duplicate.
//!
//! Messages follow PostgreSQL: `null value in column "a" of relation "t"
//! violates not-null constraint`, `duplicate key value violates unique
//! constraint "t_pkey"`.

use std::collections::HashSet;
use std::sync::Arc;

use alopex_core::KvTxn;
use bytes::Bytes;

use super::KeyRange;
use super::keys::{IndexEntry, index, index_prefix_len, prefix_bounds, row_key, row_key_from_encoded_pk};
use super::scan::RowScan;
use crate::catalog::{IndexSchema, TableSchema};
use crate::encoding::row::{decode_row, encode_row};
use crate::encoding::varint::corrupt;
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::{Row, Value};

/// 23505 with PostgreSQL's message and DETAIL (`Key (a, b)=(1, x) already
/// exists.`, values in their text form).
fn unique_violation(name: &str, table: &TableSchema, columns: &[usize], row: &[Value]) -> Error {
    let names: Vec<&str> = columns.iter().filter_map(|&c| table.columns.get(c)).map(|c| c.name.as_str()).collect();
    let values: Vec<String> = columns
        .iter()
        .filter_map(|&c| row.get(c))
        .map(|v| crate::expr::cast::to_text(v).unwrap_or_else(|| "null".to_string()))
        .collect();
    sql_err!(UNIQUE_VIOLATION, "duplicate key value violates unique constraint \"{name}\"").with_detail(format!(
        "Key ({})=({}) already exists.",
        names.join(", "),
        values.join(", ")
    ))
}

/// Checks the row's width and its NOT NULL columns (primary-key columns
/// are always NOT NULL).
fn check_row(table: &TableSchema, row: &[Value]) -> Result<()> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!(
            "row of {} values for table \"{}\" of {} columns",
            row.len(),
            table.name,
            table.columns.len()
        )));
    }
    for (position, (column, value)) in table.columns.iter().zip(row).enumerate() {
        if value.is_null() && (!column.nullable || table.primary_key.contains(&position)) {
            return Err(sql_err!(
                NOT_NULL_VIOLATION,
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                column.name,
                table.name
            ));
        }
    }
    Ok(())
}

/// The primary-key bytes of an entry that already holds `prefix` (the
/// index values of a unique index), other than the entry of the row whose
/// primary-key bytes are `exclude`.
fn holder_of(txn: &mut dyn KvTxn, prefix: &[u8], exclude: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
    for (key, _) in txn.scan(prefix_bounds(prefix), false, 2)? {
        let pk = &key[prefix.len()..];
        if Some(pk) != exclude {
            return Ok(Some(pk.to_vec()));
        }
    }
    Ok(None)
}

/// Claims unique index values (see the module comment).
fn claim(txn: &mut dyn KvTxn, prefixes: Vec<Vec<u8>>) -> Result<()> {
    for prefix in prefixes {
        txn.delete(Bytes::from(prefix))?;
    }
    Ok(())
}

/// Inserts a full row. See [`super::insert`].
pub fn insert(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    check_row(table, row)?;
    let key = row_key(table, row)?;
    let value = encode_row(table, row)?;
    if txn.get(&key)?.is_some() {
        return Err(unique_violation(&table.pkey_name(), table, &table.primary_key, row));
    }
    let mut entries = Vec::with_capacity(table.indexes.len());
    let mut claims = Vec::new();
    for index in &table.indexes {
        let entry = IndexEntry::of(table, index, row)?;
        if index.unique
            && let Some(prefix) = entry.unique_prefix()
        {
            if holder_of(txn, prefix, None)?.is_some() {
                return Err(unique_violation(&index.name, table, &index.columns, row));
            }
            claims.push(prefix.to_vec());
        }
        if entry.stored {
            entries.push((entry.key, entry.value));
        }
    }
    txn.put(Bytes::from(key), Bytes::from(value))?;
    for (entry, value) in entries {
        txn.put(Bytes::from(entry), value)?;
    }
    claim(txn, claims)
}

/// The constraints `target` names: the primary key and every unique index
/// (no target), or those whose columns are exactly the target's, in any
/// order. The bool says "primary key".
fn conflict_targets<'a>(table: &'a TableSchema, target: Option<&[usize]>) -> Result<(bool, Vec<&'a IndexSchema>)> {
    let matches = |columns: &[usize]| match target {
        None => true,
        Some(target) => {
            let want: HashSet<usize> = target.iter().copied().collect();
            want.len() == columns.len() && columns.iter().all(|c| want.contains(c))
        }
    };
    let primary = matches(&table.primary_key);
    let indexes: Vec<&IndexSchema> = table.indexes.iter().filter(|i| i.unique && matches(&i.columns)).collect();
    if !primary && indexes.is_empty() {
        return Err(sql_err!(
            INVALID_COLUMN_REFERENCE,
            "there is no unique or exclusion constraint matching the ON CONFLICT specification"
        ));
    }
    Ok((primary, indexes))
}

/// The existing row `row` would conflict with. See [`super::find_conflict`].
pub fn find_conflict(
    txn: &mut dyn KvTxn,
    table: &TableSchema,
    row: &Row,
    target: Option<&[usize]>,
) -> Result<Option<Row>> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!("row of {} values for table \"{}\"", row.len(), table.name)));
    }
    let (primary, indexes) = conflict_targets(table, target)?;
    if primary && table.primary_key.iter().all(|&p| row.get(p).is_some_and(|v| !v.is_null())) {
        let key = row_key(table, row)?;
        if let Some(value) = txn.get(&key)? {
            return Ok(Some(decode_row(table, &value)?));
        }
    }
    for index in indexes {
        let entry = IndexEntry::of(table, index, row)?;
        let Some(prefix) = entry.unique_prefix() else {
            continue;
        };
        if let Some(pk) = holder_of(txn, prefix, None)? {
            let key = row_key_from_encoded_pk(table.id, &pk);
            let value = txn.get(&key)?.ok_or_else(|| {
                corrupt(format!("index \"{}\" has an entry for a row that does not exist", index.name))
            })?;
            return Ok(Some(decode_row(table, &value)?));
        }
    }
    Ok(None)
}

/// Replaces `old` with `new`. See [`super::update`].
pub fn update(txn: &mut dyn KvTxn, table: &TableSchema, old: &Row, new: &Row) -> Result<()> {
    check_row(table, new)?;
    if old.len() != table.columns.len() {
        return Err(Error::internal(format!("old row of {} values for table \"{}\"", old.len(), table.name)));
    }
    let old_key = row_key(table, old)?;
    let new_key = row_key(table, new)?;
    let value = encode_row(table, new)?;
    let moved = old_key != new_key;
    if moved && txn.get(&new_key)?.is_some() {
        return Err(unique_violation(&table.pkey_name(), table, &table.primary_key, new));
    }
    let old_pk = old_key.get(index_prefix_len(table.id, super::PRIMARY_INDEX_ID)..).unwrap_or_default();
    let mut changes = Vec::new();
    let mut claims = Vec::new();
    for index in &table.indexes {
        let old_entry = IndexEntry::of(table, index, old)?;
        let new_entry = IndexEntry::of(table, index, new)?;
        if (&old_entry.key, &old_entry.value, old_entry.stored) == (&new_entry.key, &new_entry.value, new_entry.stored)
        {
            continue;
        }
        if index.unique
            && let Some(prefix) = new_entry.unique_prefix()
        {
            if holder_of(txn, prefix, Some(old_pk))?.is_some() {
                return Err(unique_violation(&index.name, table, &index.columns, new));
            }
            claims.push(prefix.to_vec());
        }
        changes.push((old_entry, new_entry));
    }
    if moved {
        txn.delete(Bytes::from(old_key))?;
    }
    txn.put(Bytes::from(new_key), Bytes::from(value))?;
    for (old_entry, new_entry) in changes {
        if old_entry.stored && old_entry.key != new_entry.key || !new_entry.stored {
            txn.delete(Bytes::from(old_entry.key))?;
        }
        if new_entry.stored {
            txn.put(Bytes::from(new_entry.key), new_entry.value)?;
        }
    }
    claim(txn, claims)
}

/// Deletes a row and its index entries. See [`super::delete`].
pub fn delete(txn: &mut dyn KvTxn, table: &TableSchema, row: &Row) -> Result<()> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!("row of {} values for table \"{}\"", row.len(), table.name)));
    }
    let mut keys = vec![row_key(table, row)?];
    for index in &table.indexes {
        let entry = IndexEntry::of(table, index, row)?;
        if entry.stored {
            keys.push(entry.key);
        }
    }
    for key in keys {
        txn.delete(Bytes::from(key))?;
    }
    Ok(())
}

/// Writes the entries of one index for every row. See
/// [`super::backfill_index`].
pub fn backfill_index(txn: &mut dyn KvTxn, table: &TableSchema, position: usize) -> Result<()> {
    let index = index(table, position)?;
    let mut rows = RowScan::primary(Arc::new(table.clone()), KeyRange::Full, false);
    while let Some(row) = rows.next(txn)? {
        let entry = IndexEntry::of(table, index, &row)?;
        if index.unique
            && let Some(prefix) = entry.unique_prefix()
        {
            if holder_of(txn, prefix, None)?.is_some() {
                return Err(sql_err!(UNIQUE_VIOLATION, "could not create unique index \"{}\"", index.name));
            }
            claim(txn, vec![prefix.to_vec()])?;
        }
        if entry.stored {
            txn.put(Bytes::from(entry.key), entry.value)?;
        }
    }
    Ok(())
}
