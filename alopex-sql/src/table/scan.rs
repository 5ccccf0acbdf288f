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
use alopex_core::{KeyBounds, KvTxn};
use bytes::Bytes;

use super::KeyRange;
use super::keys::{
    PRIMARY_INDEX_ID, index, index_key_types, index_prefix, pk_suffix, pk_types, range_bounds, row_key_from_encoded_pk,
};
use crate::catalog::TableSchema;
use crate::encoding::row::decode_row;
use crate::encoding::varint::corrupt;
use crate::error::Result;
use crate::types::Row;

/// Keys in the first page of a scan.
const FIRST_PAGE: usize = 16;
/// Keys in the first page of a scan whose consumer reads every row (see
/// [`RowScan::eager`]).
const EAGER_FIRST_PAGE: usize = 256;
/// The most keys in one page.
const MAX_PAGE: usize = 1024;

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
    /// The stored rows of the current page not returned yet.
    rows: VecDeque<Bytes>,
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
        RowScan { table, index, reverse, state: ScanState::Start(range), page_size: FIRST_PAGE, rows: VecDeque::new() }
    }

    /// Starts with larger pages, for a consumer known to read every row (an
    /// aggregate, a sort, a statement's result): a 1,000-row range then
    /// takes three page reads instead of seven.
    pub fn eager(mut self) -> RowScan {
        self.page_size = EAGER_FIRST_PAGE;
        self
    }

    /// The next row.
    pub fn next(&mut self, txn: &mut dyn KvTxn) -> Result<Option<Row>> {
        loop {
            if let Some(bytes) = self.rows.pop_front() {
                return decode_row(&self.table, &bytes).map(Some);
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
