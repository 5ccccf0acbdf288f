//! The catalog's home in the key-value store.
//!
//! Table definitions are ordinary keys under the reserved table id 0, so
//! DDL is transactional for free: a `CREATE TABLE` that rolls back leaves no
//! definition behind, a snapshot sees the catalog as of its timestamp, and
//! two concurrent DDL statements conflict on the version key like any other
//! write-write conflict. The version key is bumped by every change, so a
//! database can cache a decoded [`Catalog`] and revalidate it with a single
//! `get`.
//!
//! Definitions are keyed by table *id*, not name: a rename rewrites one
//! value, and name uniqueness is the DDL code's job (it reads the catalog
//! first, in the same transaction).
//!
//! ## Format
//!
//! Keys use the table key layout of [`crate::table`] with table id 0
//! (length-prefixed ids, see [`crate::encoding::keycode`]):
//!
//! | key                          | value                                          |
//! |------------------------------|------------------------------------------------|
//! | `/0/1/<table_id: u64>`       | the table definition ([`crate::encoding::schema`]) |
//! | `/0/2`                       | the catalog version, an id-encoded `u64`        |
//! | `/0/3`                       | the next table id to hand out, an id-encoded `u64` |
//! | `/0/4/<user name>`           | a user (`crate::users`, whose `store.rs` has the layout) |
//! | `/0/5/…`, `/0/6/…`           | sequences (`crate::sequence`'s `store.rs`)      |
//! | `/0/7/<table_id: u64>`       | the table's row-id mark on a shared store (`catalog/row_ids.rs`) |
//!
//! Table ids below [`FIRST_TABLE_ID`] are reserved for the system.

use alopex_core::kv::continue_after;
use alopex_core::{KeyBounds, KvTxn, prefix_range};
use bytes::Bytes;

use super::{Catalog, TableSchema};
use crate::encoding::keycode::{decode_u64, encode_u32, encode_u64};
use crate::encoding::schema::{decode_table, encode_table};
use crate::encoding::varint::corrupt;
use crate::error::Result;

/// The reserved table id of the catalog itself.
pub const CATALOG_TABLE_ID: u64 = 0;
/// The first table id handed to user tables; smaller ids are reserved.
pub const FIRST_TABLE_ID: u64 = 16;

const TABLES: u32 = 1;
const VERSION: u32 = 2;
const NEXT_TABLE_ID: u32 = 3;

/// Rows per page when loading the catalog.
const LOAD_PAGE: usize = 128;

fn catalog_key(sub: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(20);
    encode_u64(CATALOG_TABLE_ID, &mut key);
    encode_u32(sub, &mut key);
    key
}

fn table_key(table_id: u64) -> Bytes {
    let mut key = catalog_key(TABLES);
    encode_u64(table_id, &mut key);
    Bytes::from(key)
}

/// A counter's stored value (the id encoding of [`encode_u64`]).
fn counter_value(n: u64) -> Bytes {
    let mut out = Vec::with_capacity(9);
    encode_u64(n, &mut out);
    Bytes::from(out)
}

fn get_u64(txn: &mut dyn KvTxn, key: &[u8]) -> Result<Option<u64>> {
    match txn.get(key)? {
        None => Ok(None),
        Some(value) => {
            let mut input = &value[..];
            let n = decode_u64(&mut input)?;
            if !input.is_empty() {
                return Err(corrupt("catalog counter has trailing bytes"));
            }
            Ok(Some(n))
        }
    }
}

/// Reads the whole catalog as the transaction sees it.
pub fn load(txn: &mut dyn KvTxn) -> Result<Catalog> {
    let version = version(txn)?;
    let mut tables = Vec::new();
    let mut range: KeyBounds = prefix_range(&catalog_key(TABLES));
    loop {
        let page = txn.scan(range.clone(), false, LOAD_PAGE)?;
        for (key, value) in &page {
            let table = decode_table(value)?;
            if *key != table_key(table.id) {
                return Err(corrupt(format!("catalog entry for table \"{}\" is stored under another id", table.name)));
            }
            tables.push(table);
        }
        match page.last() {
            Some((last, _)) if page.len() == LOAD_PAGE => range = continue_after(&range, last, false),
            _ => break,
        }
    }
    Ok(Catalog::new(version, tables))
}

/// The catalog version as the transaction sees it (0 for a new database).
/// Every DDL bumps it; the database uses it to validate its cached catalog.
pub fn version(txn: &mut dyn KvTxn) -> Result<u64> {
    Ok(get_u64(txn, &catalog_key(VERSION))?.unwrap_or(0))
}

fn bump_version(txn: &mut dyn KvTxn) -> Result<()> {
    let next = version(txn)?.wrapping_add(1);
    txn.put(Bytes::from(catalog_key(VERSION)), counter_value(next))?;
    Ok(())
}

/// Allocates a fresh table id (ids below 16 are reserved).
pub fn allocate_table_id(txn: &mut dyn KvTxn) -> Result<u64> {
    let key = catalog_key(NEXT_TABLE_ID);
    let id = get_u64(txn, &key)?.unwrap_or(FIRST_TABLE_ID).max(FIRST_TABLE_ID);
    let next = id.checked_add(1).ok_or_else(|| crate::sql_err!(PROGRAM_LIMIT_EXCEEDED, "out of table ids"))?;
    txn.put(Bytes::from(key), counter_value(next))?;
    Ok(id)
}

/// Writes (creates or replaces) a table definition and bumps the version.
pub fn put_table(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<()> {
    txn.put(table_key(table.id), Bytes::from(encode_table(table)))?;
    bump_version(txn)
}

/// Removes a table definition and bumps the version. If the name changed
/// (RENAME), call this for the old name before `put_table`.
pub fn delete_table(txn: &mut dyn KvTxn, table: &TableSchema) -> Result<()> {
    txn.delete(table_key(table.id))?;
    bump_version(txn)
}

#[cfg(test)]
mod tests {
    use alopex_core::{Engine, IsolationLevel, Options};

    use super::*;
    use crate::catalog::{ColumnSchema, IndexKind, IndexSchema};
    use crate::error::SqlState;
    use crate::types::{DataType, Value};

    fn table(id: u64, name: &str) -> TableSchema {
        TableSchema {
            id,
            name: name.into(),
            columns: vec![
                ColumnSchema {
                    id: 1,
                    name: "a".into(),
                    ty: DataType::Int4,
                    nullable: false,
                    default: None,
                    missing: Value::Null,
                    hidden: false,
                },
                ColumnSchema {
                    id: 2,
                    name: "b".into(),
                    ty: DataType::Numeric(Some((8, 3))),
                    nullable: true,
                    default: Some("1.5".into()),
                    missing: Value::Numeric(rust_decimal::Decimal::new(15, 1)),
                    hidden: false,
                },
            ],
            primary_key: vec![0],
            indexes: vec![IndexSchema {
                id: 2,
                name: format!("{name}_b"),
                columns: vec![1],
                unique: false,
                kind: IndexKind::BTree,
            }],
            checks: vec![],
            next_column_id: 3,
            next_index_id: 3,
        }
    }

    #[test]
    fn definitions_versions_and_ids_persist_across_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();

        let mut txn = engine.begin(IsolationLevel::Snapshot);
        assert_eq!(version(&mut txn).unwrap(), 0);
        assert_eq!(load(&mut txn).unwrap().tables().count(), 0);
        // Enough tables to need several load pages.
        let mut ids = Vec::new();
        for i in 0..300 {
            let id = allocate_table_id(&mut txn).unwrap();
            ids.push(id);
            put_table(&mut txn, &table(id, &format!("t{i}"))).unwrap();
        }
        assert_eq!(ids[0], FIRST_TABLE_ID);
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
        assert_eq!(version(&mut txn).unwrap(), 300);
        txn.commit().unwrap();

        let mut txn = engine.begin(IsolationLevel::Snapshot);
        let catalog = load(&mut txn).unwrap();
        assert_eq!(catalog.version, 300);
        assert_eq!(catalog.tables().count(), 300);
        assert_eq!(**catalog.table("t7").unwrap(), table(ids[7], "t7"));
        assert_eq!(catalog.index("t9_b").map(|(t, p)| (t.id, p)), Some((ids[9], 0)));

        // Rename = replace under the same id; drop = delete.
        let mut renamed = table(ids[0], "renamed");
        renamed.indexes.clear();
        put_table(&mut txn, &renamed).unwrap();
        delete_table(&mut txn, &table(ids[1], "t1")).unwrap();
        assert_eq!(allocate_table_id(&mut txn).unwrap(), ids[299] + 1);
        txn.commit().unwrap();

        let mut txn = engine.begin(IsolationLevel::Snapshot);
        let catalog = load(&mut txn).unwrap();
        assert_eq!(catalog.version, 302);
        assert!(catalog.table("t0").is_none() && catalog.table("t1").is_none());
        assert_eq!(catalog.table("renamed").unwrap().id, ids[0]);
        assert_eq!(catalog.tables().count(), 299);
    }

    #[test]
    fn rolled_back_ddl_leaves_nothing_and_concurrent_ddl_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        let id = allocate_table_id(&mut txn).unwrap();
        put_table(&mut txn, &table(id, "gone")).unwrap();
        txn.rollback().unwrap();
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        assert_eq!(version(&mut txn).unwrap(), 0);
        assert_eq!(allocate_table_id(&mut txn).unwrap(), FIRST_TABLE_ID);
        txn.rollback().unwrap();

        let mut a = engine.begin(IsolationLevel::Snapshot);
        let mut b = engine.begin(IsolationLevel::Snapshot);
        let ia = allocate_table_id(&mut a).unwrap();
        put_table(&mut a, &table(ia, "a")).unwrap();
        let ib = allocate_table_id(&mut b).unwrap();
        put_table(&mut b, &table(ib, "b")).unwrap();
        a.commit().unwrap();
        let err = crate::error::Error::from(b.commit().unwrap_err());
        assert_eq!(err.state, SqlState::SERIALIZATION_FAILURE);
    }

    #[test]
    fn corrupt_entries_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        txn.put(table_key(20), Bytes::from_static(&[1, 2, 3])).unwrap();
        assert_eq!(load(&mut txn).unwrap_err().state, SqlState::DATA_CORRUPTED);
        // A valid definition under the wrong id.
        txn.put(table_key(20), Bytes::from(encode_table(&table(21, "x")))).unwrap();
        assert_eq!(load(&mut txn).unwrap_err().state, SqlState::DATA_CORRUPTED);
        txn.put(Bytes::from(catalog_key(VERSION)), Bytes::from_static(&[1])).unwrap();
        assert_eq!(version(&mut txn).unwrap_err().state, SqlState::DATA_CORRUPTED);
    }
}
