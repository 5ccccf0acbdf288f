//! Re-keying a table: `ALTER TABLE … ADD PRIMARY KEY` on a table with rows.
//!
//! A table created without a primary key stores its rows under a hidden row
//! id (`/t/1/rowid`). Adding a primary key is not a catalog-only change
//! here, as it is for PostgreSQL's heap plus a new btree: in an ordered
//! key-value layout the primary key *is* where a row lives, and a point
//! lookup by `aid` is only a point read if the row sits at `/t/1/aid`. So
//! the rows move. pgbench does exactly this (`CREATE TABLE`, `COPY`, then
//! `ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)`), and every later
//! `WHERE aid = $1` depends on it.
//!
//! The move happens inside the statement's transaction, like any write:
//!
//! 1. Read every stored row (pages of raw key/value pairs) and decode it
//!    with the *new* schema. The row codec tags values with column ids, so
//!    the hidden row id, gone from the new schema, is simply skipped, and a
//!    column added by the same statement reads as its missing value.
//! 2. Check the key columns: a NULL is `23502` (PostgreSQL's `column "a" of
//!    relation "t" contains null values`).
//! 3. Compute each row's new key and re-encode it, then sort by key:
//!    duplicates are now neighbours, so uniqueness is one pass (`23505`,
//!    `could not create unique index "t_pkey"`, `Key (a)=(1) is
//!    duplicated.`). Sorting also hands the write buffer its keys in order,
//!    which it appends without searching.
//! 4. Delete the old row span, write the rows under their new keys, and
//!    rebuild every secondary index, whose entries end with the primary key
//!    and so all changed.
//!
//! Everything is checked before the first write, so a failed ALTER leaves
//! nothing behind in the transaction. Rows are collected in memory (their
//! encoded bytes, not decoded values): the transaction buffers every write
//! until commit anyway, so the rewrite needs about the memory its own
//! commit does.

use alopex_core::KvTxn;
use alopex_core::kv::continue_after;
use bytes::Bytes;

use super::keys::{PRIMARY_INDEX_ID, index_prefix, prefix_bounds, row_key};
use crate::catalog::TableSchema;
use crate::encoding::row::{decode_row, encode_row};
use crate::error::{Error, Result};
use crate::sql_err;

/// Keys read per page while collecting the rows.
const PAGE: usize = 1024;

/// Moves every row of `old` (keyed by its hidden row id) to the key `new`
/// gives it, and rebuilds `new`'s secondary indexes. `new` must have the
/// same table id. Returns the number of rows moved.
pub fn rekey(txn: &mut dyn KvTxn, old: &TableSchema, new: &TableSchema) -> Result<u64> {
    if old.id != new.id {
        return Err(Error::internal("re-keying across tables"));
    }
    let span = prefix_bounds(&index_prefix(old.id, PRIMARY_INDEX_ID));
    let mut moved: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut bounds = span.clone();
    loop {
        let page = txn.scan(bounds.clone(), false, PAGE)?;
        let full = page.len() == PAGE;
        let last = page.last().map(|(k, _)| k.clone());
        for (_, value) in page {
            let row = decode_row(new, &value)?;
            for &p in &new.primary_key {
                if row.get(p).is_none_or(|v| v.is_null()) {
                    let name = new.columns.get(p).map_or("?", |c| c.name.as_str());
                    return Err(sql_err!(
                        NOT_NULL_VIOLATION,
                        "column \"{name}\" of relation \"{}\" contains null values",
                        new.name
                    ));
                }
            }
            moved.push((row_key(new, &row)?, encode_row(new, &row)?));
        }
        match (full, last) {
            (true, Some(last)) => bounds = continue_after(&bounds, &last, false),
            _ => break,
        }
    }
    moved.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = moved.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(duplicated(new, &pair[0].1));
    }
    txn.delete_range(span)?;
    let count = moved.len() as u64;
    for (key, value) in moved {
        txn.put(Bytes::from(key), Bytes::from(value))?;
    }
    for (position, index) in new.indexes.iter().enumerate() {
        txn.delete_range(super::index_span(new.id, index.id))?;
        super::backfill_index(txn, new, position)?;
    }
    Ok(count)
}

/// PostgreSQL's error for a duplicate found while building a unique key:
/// 23505 `could not create unique index "t_pkey"`, detail `Key (a)=(1) is
/// duplicated.`
fn duplicated(table: &TableSchema, row_bytes: &[u8]) -> Error {
    let err = sql_err!(UNIQUE_VIOLATION, "could not create unique index \"{}\"", table.pkey_name());
    let Ok(row) = decode_row(table, row_bytes) else {
        return err;
    };
    let names: Vec<&str> =
        table.primary_key.iter().filter_map(|&p| table.columns.get(p)).map(|c| c.name.as_str()).collect();
    let values: Vec<String> = table
        .primary_key
        .iter()
        .filter_map(|&p| row.get(p))
        .map(|v| crate::expr::cast::to_text(v).unwrap_or_else(|| "null".to_string()))
        .collect();
    err.with_detail(format!("Key ({})=({}) is duplicated.", names.join(", "), values.join(", ")))
}
