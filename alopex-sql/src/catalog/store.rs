//! The catalog's home in the key-value store.
//!
//! OWNER: storage-mapping helper. Document the `## Format` here.

use alopex_core::KvTxn;

use super::{Catalog, TableSchema};
use crate::error::Result;

/// Reads the whole catalog as the transaction sees it.
pub fn load(txn: &mut dyn KvTxn) -> Result<Catalog> {
    let _ = txn;
    todo!("storage-mapping helper")
}

/// The catalog version as the transaction sees it (0 for a new database).
/// Every DDL bumps it; the database uses it to validate its cached catalog.
pub fn version(txn: &mut dyn KvTxn) -> Result<u64> {
    let _ = txn;
    todo!("storage-mapping helper")
}

/// Allocates a fresh table id (ids below 16 are reserved).
pub fn allocate_table_id(txn: &mut dyn KvTxn) -> Result<u64> {
    let _ = txn;
    todo!("storage-mapping helper")
}

/// Writes (creates or replaces) a table definition and bumps the version.
pub fn put_table(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<()> {
    let _ = (txn, table);
    todo!("storage-mapping helper")
}

/// Removes a table definition and bumps the version. If the name changed
/// (RENAME), call this for the old name before `put_table`.
pub fn delete_table(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<()> {
    let _ = (txn, table);
    todo!("storage-mapping helper")
}
