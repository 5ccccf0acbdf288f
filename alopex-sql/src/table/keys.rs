//! Key construction: where a row or an index entry lives.
//!
//! Everything that turns schema + values into key bytes is here, so the
//! layout documented in [`super`] has exactly one implementation. Key bytes
//! for key columns come from [`crate::encoding::keycode`], whose encodings
//! are self-delimiting: the bytes of a prefix of the key values are a byte
//! prefix of every matching key, which is what makes [`KeyRange`] bounds and
//! unique checks simple prefix arithmetic.

use std::ops::Bound;

use alopex_core::KeyBounds;
use bytes::Bytes;

use super::KeyRange;
use crate::catalog::{ColumnSchema, IndexKind, IndexSchema, TableSchema};
use crate::encoding::keycode::{encode_u32, encode_u64, encode_value, skip_value};
use crate::error::{Error, Result};
use crate::types::{DataType, Value};

/// The index id of the primary key (the rows themselves).
pub const PRIMARY_INDEX_ID: u32 = 1;

/// Length of `/table_id/index_id`.
pub fn index_prefix_len(table_id: u64, index_id: u32) -> usize {
    crate::encoding::keycode::encoded_id_len(table_id) + crate::encoding::keycode::encoded_id_len(u64::from(index_id))
}

/// `/table_id`.
pub fn table_prefix(table_id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    encode_u64(table_id, &mut key);
    key
}

/// `/table_id/index_id`.
pub fn index_prefix(table_id: u64, index_id: u32) -> Vec<u8> {
    let mut key = table_prefix(table_id);
    encode_u32(index_id, &mut key);
    key
}

/// The column at `position`, or an internal error for a bad schema.
pub fn column(table: &TableSchema, position: usize) -> Result<&ColumnSchema> {
    table
        .columns
        .get(position)
        .ok_or_else(|| Error::internal(format!("table \"{}\" has no column at position {position}", table.name)))
}

/// The index at `position` of `table.indexes`.
pub fn index(table: &TableSchema, position: usize) -> Result<&IndexSchema> {
    table
        .indexes
        .get(position)
        .ok_or_else(|| Error::internal(format!("table \"{}\" has no index at position {position}", table.name)))
}

fn value_at(row: &[Value], position: usize) -> Result<&Value> {
    row.get(position).ok_or_else(|| Error::internal(format!("row has no value at position {position}")))
}

/// Appends the values of the columns at `positions` of `row`; returns true
/// when one of them was NULL.
fn append_columns(table: &TableSchema, positions: &[usize], row: &[Value], key: &mut Vec<u8>) -> Result<bool> {
    let mut has_null = false;
    for &p in positions {
        let value = value_at(row, p)?;
        has_null |= value.is_null();
        encode_value(value, &column(table, p)?.ty, key)?;
    }
    Ok(has_null)
}

/// The key of `row`: `/table/1/pk values`.
pub fn row_key(table: &TableSchema, row: &[Value]) -> Result<Vec<u8>> {
    let mut key = index_prefix(table.id, PRIMARY_INDEX_ID);
    append_columns(table, &table.primary_key, row, &mut key)?;
    Ok(key)
}

/// The key of the row whose primary key is `pk` (all key columns).
pub fn row_key_from_pk(table: &TableSchema, pk: &[Value]) -> Result<Vec<u8>> {
    if pk.len() != table.primary_key.len() {
        return Err(Error::internal(format!(
            "{} values for the {}-column primary key of \"{}\"",
            pk.len(),
            table.primary_key.len(),
            table.name
        )));
    }
    let mut key = index_prefix(table.id, PRIMARY_INDEX_ID);
    for (value, &p) in pk.iter().zip(&table.primary_key) {
        encode_value(value, &column(table, p)?.ty, &mut key)?;
    }
    Ok(key)
}

/// The key of the row whose primary key is already encoded as `pk` (the
/// tail of an index entry).
pub fn row_key_from_encoded_pk(table_id: u64, pk: &[u8]) -> Vec<u8> {
    let mut key = index_prefix(table_id, PRIMARY_INDEX_ID);
    key.extend_from_slice(pk);
    key
}

/// One index entry of a row.
///
/// A B-tree entry is `/table/index/index values/pk values` with an empty
/// value. An HNSW entry is `/table/index/pk values` with the encoded vector
/// as its value (the span the engine builds graphs over, see
/// `alopex_core::vector::value`); a row whose vector is NULL has none.
pub struct IndexEntry {
    /// The whole key.
    pub key: Vec<u8>,
    /// The value: empty for a B-tree entry, the vector for an HNSW entry.
    pub value: Bytes,
    /// False when the row has no entry (an HNSW index over a NULL vector).
    pub stored: bool,
    /// Where the index values end and the primary key begins.
    values_end: usize,
    /// True when an index value is NULL.
    has_null: bool,
}

impl IndexEntry {
    /// The entry of `row` in `index`.
    pub fn of(table: &TableSchema, index: &IndexSchema, row: &[Value]) -> Result<IndexEntry> {
        let mut key = index_prefix(table.id, index.id);
        if let IndexKind::Hnsw(_) = index.kind {
            let values_end = key.len();
            append_columns(table, &table.primary_key, row, &mut key)?;
            let &[position] = index.columns.as_slice() else {
                return Err(Error::internal(format!("hnsw index \"{}\" must have one column", index.name)));
            };
            return Ok(match value_at(row, position)? {
                Value::Vector(v) => {
                    let value = alopex_core::vector::value::encode(v).map_err(crate::error::Error::from)?;
                    IndexEntry { key, value, stored: true, values_end, has_null: false }
                }
                Value::Null => IndexEntry { key, value: Bytes::new(), stored: false, values_end, has_null: true },
                other => {
                    return Err(Error::internal(format!(
                        "hnsw index \"{}\" over a non-vector value {other:?}",
                        index.name
                    )));
                }
            });
        }
        let has_null = append_columns(table, &index.columns, row, &mut key)?;
        let values_end = key.len();
        append_columns(table, &table.primary_key, row, &mut key)?;
        Ok(IndexEntry { key, value: Bytes::new(), stored: true, values_end, has_null })
    }

    /// `/table/index/index values`: the prefix every entry with the same
    /// index values shares. None when a value is NULL: NULLs are distinct,
    /// so such an entry never conflicts.
    pub fn unique_prefix(&self) -> Option<&[u8]> {
        (!self.has_null).then(|| &self.key[..self.values_end])
    }
}

/// The primary-key part of an index entry's key.
pub fn pk_suffix<'a>(table: &TableSchema, index: &IndexSchema, key: &'a [u8]) -> Result<&'a [u8]> {
    let mut rest = key
        .get(index_prefix_len(table.id, index.id)..)
        .ok_or_else(|| crate::encoding::varint::corrupt(format!("index \"{}\" key too short", index.name)))?;
    if index.kind.is_btree() {
        for &p in &index.columns {
            skip_value(&mut rest, &column(table, p)?.ty)?;
        }
    }
    Ok(rest)
}

/// The types of the key columns of an index scan: the index columns, then
/// the primary-key columns (the full key of an entry).
pub fn index_key_types(table: &TableSchema, index: &IndexSchema) -> Result<Vec<DataType>> {
    index.columns.iter().chain(&table.primary_key).map(|&p| Ok(column(table, p)?.ty.clone())).collect()
}

/// The types of the primary-key columns.
pub fn pk_types(table: &TableSchema) -> Result<Vec<DataType>> {
    table.primary_key.iter().map(|&p| Ok(column(table, p)?.ty.clone())).collect()
}

/// The smallest key greater than every key starting with `prefix`; None
/// when there is none (the prefix is all `0xFF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Every key starting with `prefix`.
pub fn prefix_bounds(prefix: &[u8]) -> KeyBounds {
    let end = match prefix_successor(prefix) {
        Some(end) => Bound::Excluded(Bytes::from(end)),
        None => Bound::Unbounded,
    };
    (Bound::Included(Bytes::copy_from_slice(prefix)), end)
}

fn encode_prefix(base: &[u8], types: &[DataType], values: &[Value]) -> Result<Vec<u8>> {
    if values.len() > types.len() {
        return Err(Error::internal(format!(
            "a key range of {} values over {} key columns",
            values.len(),
            types.len()
        )));
    }
    let mut key = base.to_vec();
    for (value, ty) in values.iter().zip(types) {
        encode_value(value, ty, &mut key)?;
    }
    Ok(key)
}

/// The key bounds of `range` over the keys under `base` whose key columns
/// have `types`; None when the range is empty.
pub fn range_bounds(base: &[u8], types: &[DataType], range: &KeyRange) -> Result<Option<KeyBounds>> {
    let (lower, upper) = match range {
        KeyRange::Full => return Ok(Some(prefix_bounds(base))),
        KeyRange::Prefix(values) => return Ok(Some(prefix_bounds(&encode_prefix(base, types, values)?))),
        KeyRange::Between { lower, upper } => (lower, upper),
    };
    // Both ends as "first key in" / "first key past" the range, in bytes;
    // None for "past the end of the key space".
    let start: Option<Vec<u8>> = match lower {
        Bound::Unbounded => Some(base.to_vec()),
        Bound::Included(p) => Some(encode_prefix(base, types, p)?),
        Bound::Excluded(p) => prefix_successor(&encode_prefix(base, types, p)?),
    };
    let Some(start) = start else {
        return Ok(None);
    };
    let end: Option<Vec<u8>> = match upper {
        Bound::Unbounded => prefix_successor(base),
        Bound::Included(p) => prefix_successor(&encode_prefix(base, types, p)?),
        Bound::Excluded(p) => Some(encode_prefix(base, types, p)?),
    };
    if end.as_ref().is_some_and(|end| *end <= start) {
        return Ok(None);
    }
    let end = end.map_or(Bound::Unbounded, |e| Bound::Excluded(Bytes::from(e)));
    Ok(Some((Bound::Included(Bytes::from(start)), end)))
}
