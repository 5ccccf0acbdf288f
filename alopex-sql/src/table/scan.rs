//! Paged scans over rows, by primary key or through a secondary index.
//!
//! A scan does not always know how many rows its consumer wants: `LIMIT 1`
//! wants one, a full aggregate wants all. Each [`KvTxn::scan`] call may be a
//! network round trip in the distributed store, so pages start small
//! ([`FIRST_PAGE`] keys, cheap for the `LIMIT 1` case) and double up to
//! [`MAX_PAGE`], so a full scan makes few round trips without ever holding
//! more than one large page in memory. When the executor knows every row
//! will be read ([`RowScan::eager`]), the first page is larger.
//!
//! An index scan reads a page of index entries, then fetches the rows they
//! point at with one `multi_get` per page, again to keep round trips per
//! page constant. An entry whose row is missing would mean the row and its
//! index entries were not written atomically, so it is reported as
//! corruption.
//!
//! The bounds are computed on the first `next`, not in the constructor, so
//! that an unencodable range value surfaces as an error from `next`.
//!
//! A page keeps the stored row bytes and decodes one row per `next`. Decoding
//! the whole page up front would hold a page of decoded rows (each text value
//! its own allocation) alive at once; decoding as the consumer pulls lets the
//! allocator hand the memory of the row just dropped to the next one, and a
//! consumer that stops early decodes nothing more.

use std::collections::VecDeque;
use std::sync::Arc;

use alopex_core::kv::continue_after;
use alopex_core::{KeyBounds, KvTxn, ScanFilter};
use bytes::Bytes;

use super::KeyRange;
use super::keys::{
    PRIMARY_INDEX_ID, index, index_key_types, index_prefix, index_prefix_len, pk_suffix, pk_types, range_bounds,
    row_key_from_encoded_pk,
};
use crate::catalog::{IndexSchema, TableSchema};
use crate::encoding::keycode;
use crate::encoding::row::{decode_row, decode_row_columns};
use crate::encoding::varint::corrupt;
use crate::error::Result;
use crate::types::{DataType, Row, Value};

/// Keys in the first page of a scan.
const FIRST_PAGE: usize = 16;
/// The most keys in one page.
const MAX_PAGE: usize = 1024;
/// Keys in the first page of a scan whose consumer reads every row (see
/// [`RowScan::eager`]): a whole page at once. Each page read sets up a
/// merge over every memtable and table and seeks each one (a block-cache
/// lookup and a seek inside a block per source), which was a tenth of a
/// 1,000-row range scan when it took three pages (`perf` on `vs_sqlite`).
const EAGER_FIRST_PAGE: usize = MAX_PAGE;

enum ScanState {
    /// Not started: the range still has to be turned into key bounds.
    Start(KeyRange),
    /// Reading; the bounds of what is left.
    Reading(KeyBounds),
    /// Nothing more to read.
    Done,
}

/// A paged scan over a table's rows, by primary key or through an index.
/// Rows come in key order (reverse when asked). Pages grow from a few rows
/// to a few thousand, so a LIMIT 1 reads little and a full scan makes few
/// round trips.
pub struct RowScan {
    table: Arc<TableSchema>,
    /// Position in `table.indexes`, or None for the primary key.
    index: Option<usize>,
    reverse: bool,
    state: ScanState,
    page_size: usize,
    /// The stored rows of the current page not returned yet (index keys
    /// for an index-only scan).
    rows: VecDeque<Bytes>,
    /// The columns to decode; None = all. The others read as NULL.
    columns: Option<Arc<[bool]>>,
    /// Rows are built from the index entries alone (see [`RowScan::columns`]).
    index_only: bool,
    /// A filter for the store to evaluate where the rows live (primary-key
    /// scans on a store that pushes filters; see [`RowScan::pushed`]).
    pushed: Option<Arc<ScanFilter>>,
}

impl RowScan {
    /// Scans the primary key.
    pub fn primary(table: Arc<TableSchema>, range: KeyRange, reverse: bool) -> RowScan {
        RowScan::new(table, None, range, reverse)
    }

    /// Scans the secondary index at position `index` of `table.indexes`,
    /// fetching each row (in batches, with `multi_get`).
    pub fn index(table: Arc<TableSchema>, index: usize, range: KeyRange, reverse: bool) -> RowScan {
        RowScan::new(table, Some(index), range, reverse)
    }

    fn new(table: Arc<TableSchema>, index: Option<usize>, range: KeyRange, reverse: bool) -> RowScan {
        RowScan {
            table,
            index,
            reverse,
            state: ScanState::Start(range),
            page_size: FIRST_PAGE,
            rows: VecDeque::new(),
            columns: None,
            index_only: false,
            pushed: None,
        }
    }

    /// Starts with the largest page, for a consumer known to read every row
    /// (an aggregate, a sort, a statement's result): a 1,000-row range then
    /// takes one page read instead of seven.
    pub fn eager(mut self) -> RowScan {
        self.page_size = EAGER_FIRST_PAGE;
        self
    }

    /// Decodes only the `columns` marked (None = all); the others read as
    /// NULL. When an index scan needs only columns its entries hold (the
    /// index columns and the primary key) and their key encoding gives
    /// values back exactly, the rows are never fetched: an *index-only
    /// scan*, one read instead of two per row.
    pub fn columns(mut self, columns: Option<Arc<[bool]>>) -> RowScan {
        let table = &self.table;
        self.index_only = self.index.and_then(|i| table.indexes.get(i)).is_some_and(|index| {
            table.columns.iter().enumerate().all(|(position, column)| {
                let wanted = columns.as_ref().is_none_or(|w| w.get(position).copied().unwrap_or(true));
                !wanted
                    || ((index.columns.contains(&position) || table.primary_key.contains(&position))
                        && exact_in_keys(&column.ty))
            })
        });
        self.columns = columns;
        self
    }

    /// Lets the store drop rows `filter` rejects before they are shipped
    /// (`crate::pushed_filter`): primary-key scans only, and only on a
    /// store that evaluates filters where the rows live. The rows that
    /// arrive still go through the scan's own filter above: the pushed one
    /// may only remove rows that one would remove.
    pub fn pushed(mut self, filter: Option<Arc<ScanFilter>>) -> RowScan {
        self.pushed = filter;
        self
    }

    /// The next row.
    pub fn next(&mut self, txn: &mut dyn KvTxn) -> Result<Option<Row>> {
        loop {
            if let Some(bytes) = self.rows.pop_front() {
                return self.decode(&bytes).map(Some);
            }
            // Left as Done if anything below fails.
            match std::mem::replace(&mut self.state, ScanState::Done) {
                ScanState::Done => return Ok(None),
                ScanState::Start(range) => {
                    if let Some(bounds) = self.bounds(&range)? {
                        self.state = ScanState::Reading(bounds);
                    }
                }
                ScanState::Reading(bounds) => self.read_page(txn, bounds)?,
            }
        }
    }

    /// One row from what the page holds for it.
    fn decode(&self, bytes: &[u8]) -> Result<Row> {
        let table = &self.table;
        match (&self.columns, self.index) {
            (_, Some(i)) if self.index_only => row_from_index_entry(table, index(table, i)?, bytes),
            (Some(wanted), _) => decode_row_columns(table, bytes, wanted),
            (None, _) => decode_row(table, bytes),
        }
    }

    fn bounds(&self, range: &KeyRange) -> Result<Option<KeyBounds>> {
        let table = &self.table;
        match self.index {
            None => range_bounds(&index_prefix(table.id, PRIMARY_INDEX_ID), &pk_types(table)?, range),
            Some(i) => {
                let index = index(table, i)?;
                range_bounds(&index_prefix(table.id, index.id), &index_key_types(table, index)?, range)
            }
        }
    }

    fn read_page(&mut self, txn: &mut dyn KvTxn, bounds: KeyBounds) -> Result<()> {
        if let Some(filter) = self.pushed.as_ref().filter(|_| self.index.is_none() && txn.pushes_filters()) {
            // The page counts matches; it resumes past the last key examined.
            let page = txn.scan_filtered(bounds, self.reverse, self.page_size, filter)?;
            if let Some(rest) = page.resume {
                self.state = ScanState::Reading(rest);
            }
            self.page_size = (self.page_size * 2).min(MAX_PAGE);
            self.rows.extend(page.rows.into_iter().map(|(_, value)| value));
            return Ok(());
        }
        let page = txn.scan(bounds.clone(), self.reverse, self.page_size)?;
        if page.len() == self.page_size
            && let Some((last, _)) = page.last()
        {
            self.state = ScanState::Reading(continue_after(&bounds, last, self.reverse));
        }
        self.page_size = (self.page_size * 2).min(MAX_PAGE);
        let table = &self.table;
        match self.index {
            None => self.rows.extend(page.into_iter().map(|(_, value)| value)),
            Some(_) if self.index_only => self.rows.extend(page.into_iter().map(|(key, _)| key)),
            Some(i) => {
                let index = index(table, i)?;
                let mut keys = Vec::with_capacity(page.len());
                for (key, _) in &page {
                    keys.push(Bytes::from(row_key_from_encoded_pk(table.id, pk_suffix(table, index, key)?)));
                }
                for value in txn.multi_get(&keys)? {
                    let value = value.ok_or_else(|| {
                        corrupt(format!("index \"{}\" has an entry for a row that does not exist", index.name))
                    })?;
                    self.rows.push_back(value);
                }
            }
        }
        Ok(())
    }
}

/// Whether a key-encoded value of this type decodes to exactly the value
/// stored: not so for NUMERIC (`1.0` and `1.00` encode alike) and floats
/// (`-0.0` becomes `0.0`).
fn exact_in_keys(ty: &DataType) -> bool {
    !matches!(ty, DataType::Numeric(_) | DataType::Float4 | DataType::Float8 | DataType::Jsonb | DataType::Unknown)
}

/// A table row holding the index and primary-key columns of an index
/// entry's key, NULL elsewhere.
fn row_from_index_entry(table: &TableSchema, index: &IndexSchema, key: &[u8]) -> Result<Row> {
    let mut row: Row = vec![Value::Null; table.columns.len()];
    let mut rest = key
        .get(index_prefix_len(table.id, index.id)..)
        .ok_or_else(|| corrupt(format!("index \"{}\" key too short", index.name)))?;
    for &position in index.columns.iter().chain(&table.primary_key) {
        let column = table.columns.get(position).ok_or_else(|| {
            corrupt(format!("index \"{}\" names column {position}, which does not exist", index.name))
        })?;
        row[position] = keycode::decode_value(&mut rest, &column.ty)?;
    }
    if !rest.is_empty() {
        return Err(corrupt(format!("index \"{}\" key has trailing bytes", index.name)));
    }
    Ok(row)
}
