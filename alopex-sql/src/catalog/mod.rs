//! The catalog: table, column and index definitions.
//!
//! The catalog is stored in the key-value store itself, under a reserved
//! span ([`store`]), so DDL is transactional and the catalog replicates
//! with the data. A [`Catalog`] is an immutable snapshot of it; the
//! database caches one per catalog version.

pub(crate) mod row_ids;
mod schema;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use schema::{CheckConstraint, ColumnSchema, HnswOptions, IndexKind, IndexSchema, ROW_ID_COLUMN, TableSchema};

/// A snapshot of every table definition, by lower-cased name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The catalog version this snapshot was read at.
    pub version: u64,
    tables: BTreeMap<String, Arc<TableSchema>>,
}

impl Catalog {
    /// A catalog of these tables.
    pub fn new(version: u64, tables: impl IntoIterator<Item = TableSchema>) -> Catalog {
        let tables = tables.into_iter().map(|t| (t.name.clone(), Arc::new(t))).collect();
        Catalog { version, tables }
    }

    /// The table called `name` (already normalized to lower case unless it
    /// was quoted).
    pub fn table(&self, name: &str) -> Option<&Arc<TableSchema>> {
        self.tables.get(name)
    }

    /// Every table, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableSchema>> {
        self.tables.values()
    }

    /// The table owning the index called `name`, and the index's position.
    pub fn index(&self, name: &str) -> Option<(&Arc<TableSchema>, usize)> {
        self.tables.values().find_map(|t| t.indexes.iter().position(|i| i.name == name).map(|p| (t, p)))
    }
}
