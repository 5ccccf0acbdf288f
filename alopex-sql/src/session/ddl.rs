//! Running DDL: catalog writes plus the data they imply.
//!
//! DDL runs inside the statement's transaction like any write, so it is
//! atomic with the rest of the transaction and rolls back with it. Dropping
//! a table deletes its key span; creating an index backfills it from the
//! rows the transaction sees; adding a primary key to a table keyed by its
//! hidden row id moves every row to its new key (`table/rekey.rs`).
//! TRUNCATE deletes the key span and leaves the catalog alone; ANALYZE
//! counts rows for the optimizer's statistics.

use alopex_core::KvTxn;

use crate::catalog::{Catalog, store};
use crate::error::Result;
use crate::plan::BoundStatement;
use crate::sql_err;
use crate::table::{self, KeyRange, RowScan};

/// Executes one DDL statement; returns its command tag.
pub(crate) fn execute(txn: &mut dyn KvTxn, catalog: &Catalog, stmt: &BoundStatement) -> Result<&'static str> {
    match stmt {
        BoundStatement::CreateTable { table, if_not_exists, serials } => {
            if catalog.table(&table.name).is_some() {
                if *if_not_exists {
                    return Ok("CREATE TABLE");
                }
                return Err(sql_err!(DUPLICATE_TABLE, "relation \"{}\" already exists", table.name));
            }
            for index in &table.indexes {
                if catalog.index(&index.name).is_some() {
                    return Err(sql_err!(DUPLICATE_TABLE, "relation \"{}\" already exists", index.name));
                }
            }
            check_key_columns(table)?;
            let mut table = table.clone();
            table.id = store::allocate_table_id(txn)?;
            store::put_table(txn, &table)?;
            for (column, width) in serials {
                crate::sequence::create_owned(txn, catalog, &table, column, *width)?;
            }
            Ok("CREATE TABLE")
        }
        BoundStatement::DropTable { names } => {
            for name in names {
                let Some(table) = catalog.table(name) else {
                    return Err(sql_err!(UNDEFINED_TABLE, "table \"{name}\" does not exist"));
                };
                txn.delete_range(table::table_span(table.id))?;
                crate::sequence::drop_owned(txn, table.id)?;
                txn.delete(crate::catalog::row_ids::mark_key(table.id))?;
                store::delete_table(txn, table)?;
            }
            Ok("DROP TABLE")
        }
        BoundStatement::CreateIndex { table, index, if_not_exists } => {
            let Some(schema) = catalog.table(table) else {
                return Err(sql_err!(UNDEFINED_TABLE, "relation \"{table}\" does not exist"));
            };
            if catalog.index(&index.name).is_some() || catalog.table(&index.name).is_some() {
                if *if_not_exists {
                    return Ok("CREATE INDEX");
                }
                return Err(sql_err!(DUPLICATE_TABLE, "relation \"{}\" already exists", index.name));
            }
            let mut schema = (**schema).clone();
            let mut index = index.clone();
            index.id = schema.next_index_id;
            schema.next_index_id += 1;
            schema.indexes.push(index);
            check_key_columns(&schema)?;
            table::backfill_index(txn, &schema, schema.indexes.len() - 1)?;
            store::put_table(txn, &schema)?;
            Ok("CREATE INDEX")
        }
        BoundStatement::DropIndex { names } => {
            for name in names {
                let Some((schema, pos)) = catalog.index(name) else {
                    return Err(sql_err!(UNDEFINED_OBJECT, "index \"{name}\" does not exist"));
                };
                let mut schema = (**schema).clone();
                let index = schema.indexes.remove(pos);
                txn.delete_range(table::index_span(schema.id, index.id))?;
                store::put_table(txn, &schema)?;
            }
            Ok("DROP INDEX")
        }
        BoundStatement::AlterTable { old, new, added_column } => {
            if old.name != new.name {
                if catalog.table(&new.name).is_some() || catalog.index(&new.name).is_some() {
                    return Err(sql_err!(DUPLICATE_TABLE, "relation \"{}\" already exists", new.name));
                }
                store::delete_table(txn, old)?;
            }
            if let Some(pos) = added_column {
                let column = &new.columns[*pos];
                if !column.nullable && column.missing.is_null() {
                    let mut scan = RowScan::primary(std::sync::Arc::new(old.clone()), KeyRange::Full, false);
                    if scan.next(txn)?.is_some() {
                        return Err(sql_err!(
                            NOT_NULL_VIOLATION,
                            "column \"{}\" of relation \"{}\" contains null values",
                            column.name,
                            new.name
                        ));
                    }
                }
            }
            // Indexes that the change removed (DROP COLUMN drops the indexes
            // over it) lose their entries.
            for index in &old.indexes {
                if !new.indexes.iter().any(|i| i.id == index.id) {
                    txn.delete_range(table::index_span(old.id, index.id))?;
                }
            }
            // ADD PRIMARY KEY: the rows move from their hidden row ids to
            // their keys (and the indexes, which end with the key, follow).
            if old.has_row_id() && !new.has_row_id() {
                table::rekey(txn, old, new)?;
            }
            store::put_table(txn, new)?;
            Ok("ALTER TABLE")
        }
        _ => Err(crate::error::Error::internal("not a DDL statement")),
    }
}

/// TRUNCATE: deletes each table's whole key span (rows and every index)
/// in the transaction; returns the table ids. The catalog is unchanged.
pub(crate) fn truncate(txn: &mut dyn KvTxn, catalog: &Catalog, tables: &[String]) -> Result<Vec<u64>> {
    let mut ids = Vec::with_capacity(tables.len());
    for name in tables {
        let Some(table) = catalog.table(name) else {
            return Err(sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"));
        };
        txn.delete_range(table::table_span(table.id))?;
        ids.push(table.id);
    }
    Ok(ids)
}

/// ANALYZE: the number of rows of each table as `txn` sees them (a scan of
/// the row span in pages), by table id.
pub(crate) fn count_rows(txn: &mut dyn KvTxn, catalog: &Catalog, tables: &[String]) -> Result<Vec<(u64, u64)>> {
    const PAGE: usize = 4096;
    let mut counts = Vec::with_capacity(tables.len());
    for name in tables {
        let Some(table) = catalog.table(name) else {
            return Err(sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"));
        };
        let mut bounds = table::index_span(table.id, table::PRIMARY_INDEX_ID);
        let mut rows = 0u64;
        loop {
            let page = txn.scan(bounds.clone(), false, PAGE)?;
            rows += page.len() as u64;
            match page.last() {
                Some((last, _)) if page.len() == PAGE => {
                    bounds = alopex_core::kv::continue_after(&bounds, last, false);
                }
                _ => break,
            }
        }
        counts.push((table.id, rows));
    }
    Ok(counts)
}

/// Every key column (primary key and B-tree indexes) must have a type the
/// key encoding can order (not JSONB). An HNSW index keeps its column in
/// the value.
fn check_key_columns(table: &crate::catalog::TableSchema) -> Result<()> {
    let btrees = table.indexes.iter().filter(|i| i.kind.is_btree());
    let key_columns = table.primary_key.iter().chain(btrees.flat_map(|i| i.columns.iter()));
    for &pos in key_columns {
        if let Some(column) = table.columns.get(pos) {
            crate::encoding::keycode::check_key_type(&column.ty)?;
        }
    }
    Ok(())
}
