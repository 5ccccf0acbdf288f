//! HNSW indexes in the key space: the spec the engine builds graphs for,
//! and nearest-row search.
//!
//! An HNSW index keeps one entry per row with a non-NULL vector,
//! `/table/index/pk values → vector` (the value in the engine's vector
//! encoding, see `alopex_core::vector::value`). That span is what the
//! engine is told about ([`vector_index_spec`]): every SSTable it writes
//! carries a graph over the entries it holds, and
//! [`alopex_core::KvTxn::vector_search`] walks those graphs and scores
//! the fresh entries of the memtables and the transaction's own writes
//! exactly, at the transaction's snapshot.
//!
//! A SQL filter (`WHERE category = 'x'`) is about the row, not the entry,
//! so [`nearest_rows`] hands the search a filter that follows each
//! candidate entry to its row through the search's snapshot reader and
//! evaluates the predicate there, during the graph walk. The walk only
//! asks about entries that would enter its result list, so a search reads
//! about as many rows as it needs to find `k` that pass.

use std::cell::RefCell;

use alopex_core::vector::{KeyFilter, SearchFilter, SnapshotReader};
use alopex_core::{KvTxn, VectorIndexSpec};
use bytes::Bytes;

use super::keys::{index_prefix, pk_suffix, prefix_successor, row_key_from_encoded_pk};
use crate::catalog::{IndexKind, IndexSchema, TableSchema};
use crate::encoding::row::{decode_row, decode_row_columns};
use crate::encoding::varint::corrupt;
use crate::error::{Error, Result};
use crate::types::Row;

/// The engine-side registration of an HNSW index: its entry span, the
/// column's dimension, the metric and the build parameters. The id is
/// `table id << 32 | index id`, unique as long as table ids stay below
/// 2³² (they are handed out one by one). None for a B-tree index.
pub fn vector_index_spec(table: &TableSchema, index: &IndexSchema) -> Option<VectorIndexSpec> {
    let IndexKind::Hnsw(h) = index.kind else { return None };
    let start = index_prefix(table.id, index.id);
    let end = prefix_successor(&start)?;
    let mut spec = VectorIndexSpec::new(table.id << 32 | u64::from(index.id), start, end, h.dim, h.metric);
    spec.m = h.m;
    spec.ef_construction = h.ef_construction;
    Some(spec)
}

/// A predicate over a (partially decoded) row.
pub type RowPredicate<'a> = &'a dyn Fn(&Row) -> Result<bool>;

/// What a search's filter needs to judge an index entry by its row.
struct RowFilter<'a> {
    table: &'a TableSchema,
    index: &'a IndexSchema,
    /// The columns the predicate reads (None = all).
    columns: Option<&'a [bool]>,
    predicate: RowPredicate<'a>,
    /// The SQL error that stopped the search (the engine sees only that
    /// the filter failed), returned as it is, SQLSTATE included.
    failure: RefCell<Option<Error>>,
}

impl SearchFilter for RowFilter<'_> {
    fn accepts(&self, key: &[u8], reader: &dyn SnapshotReader) -> alopex_core::Result<bool> {
        self.judge(key, reader).map_err(|e| {
            let message = e.to_string();
            self.failure.borrow_mut().get_or_insert(e);
            alopex_core::Error::InvalidArgument(message)
        })
    }
}

impl RowFilter<'_> {
    fn judge(&self, key: &[u8], reader: &dyn SnapshotReader) -> Result<bool> {
        let row_key = row_key_from_encoded_pk(self.table.id, pk_suffix(self.table, self.index, key)?);
        // The walk asks about graph nodes before it checks that they are
        // visible: a node of a deleted row has no row at the snapshot, and
        // is no result either way.
        let Some(value) = reader.get(&row_key)? else {
            return Ok(false);
        };
        let row = match self.columns {
            Some(wanted) => decode_row_columns(self.table, &value, wanted)?,
            None => decode_row(self.table, &value)?,
        };
        (self.predicate)(&row)
    }
}

fn dangling(index: &IndexSchema) -> Error {
    corrupt(format!("index \"{}\" has an entry for a row that does not exist", index.name))
}

/// A search request over one HNSW index.
pub struct NearestRows<'a> {
    /// The table.
    pub table: &'a TableSchema,
    /// Position of the HNSW index in `table.indexes`.
    pub index: usize,
    /// The query vector (the index's dimension, finite).
    pub query: &'a [f32],
    /// How many rows.
    pub k: usize,
    /// HNSW candidate list length.
    pub ef_search: usize,
    /// Only rows this accepts (evaluated during the walk).
    pub filter: Option<RowPredicate<'a>>,
    /// The columns `filter` reads (None = all).
    pub filter_columns: Option<&'a [bool]>,
    /// The columns to decode in the result rows (None = all).
    pub columns: Option<&'a [bool]>,
}

/// The `k` rows whose vectors are nearest to the query (closest first)
/// among those the filter accepts, at `txn`'s snapshot with its own
/// writes.
pub fn nearest_rows(txn: &mut dyn KvTxn, req: &NearestRows<'_>) -> Result<Vec<Row>> {
    let index = super::keys::index(req.table, req.index)?;
    let spec = vector_index_spec(req.table, index)
        .ok_or_else(|| Error::internal(format!("index \"{}\" is not an hnsw index", index.name)))?;
    let row_filter = req.filter.map(|predicate| RowFilter {
        table: req.table,
        index,
        columns: req.filter_columns,
        predicate,
        failure: RefCell::new(None),
    });
    let filter: Option<KeyFilter<'_>> = row_filter.as_ref().map(|f| f as KeyFilter<'_>);
    let searched = txn.vector_search(&spec, req.query, req.k, req.ef_search, filter);
    let hits = match (searched, row_filter.and_then(|f| f.failure.into_inner())) {
        (Err(_), Some(failure)) => return Err(failure),
        (result, _) => result?,
    };
    let keys = hits
        .iter()
        .map(|hit| Ok(Bytes::from(row_key_from_encoded_pk(req.table.id, pk_suffix(req.table, index, &hit.key)?))))
        .collect::<Result<Vec<_>>>()?;
    let table = req.table;
    txn.multi_get(&keys)?
        .into_iter()
        .map(|value| {
            let value = value.ok_or_else(|| dangling(index))?;
            match req.columns {
                Some(wanted) => decode_row_columns(table, &value, wanted),
                None => decode_row(table, &value),
            }
        })
        .collect()
}
