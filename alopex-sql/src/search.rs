//! The embedded nearest-neighbour call: [`Database::search`].
//!
//! `db.search("items", "embedding", &q, 10, Some("category = 'a'"))` is
//! shorthand for the SQL a pgvector user would write,
//!
//! ```sql
//! SELECT *, embedding <op> $1 AS distance FROM items
//! WHERE category = 'a' ORDER BY distance LIMIT 10
//! ```
//!
//! with `<op>` the operator of the column's HNSW index (`<->`, `<=>` or
//! `<#>` for `vector_l2_ops`, `vector_cosine_ops`, `vector_ip_ops`), or L2
//! distance when the column has none. It runs through the planner like any
//! query, so it uses the index exactly when the same SQL would, and it
//! sees what a statement of its own sees (its own snapshot). The query
//! vector travels as a typed parameter, never as text.

use alopex_core::{Metric, TxnOptions};

use crate::catalog::IndexKind;
use crate::database::Database;
use crate::error::Result;
use crate::plan::bind::quote_ident;
use crate::session::Rows;
use crate::sql_err;
use crate::types::Value;

impl Database {
    /// The `k` rows of `table` whose `column` is nearest to `query`, closest
    /// first, among those matching `filter` (a SQL boolean expression over
    /// the table's columns, or None). Each row has the table's columns
    /// followed by `distance`. See the module documentation.
    pub fn search(
        &self,
        table: &str,
        column: &str,
        query: &[f32],
        k: usize,
        filter: Option<&str>,
    ) -> Result<Rows<'static>> {
        let metric = self.search_metric(table, column)?;
        let (t, c) = (quote_ident(table), quote_ident(column));
        let op = metric.operator();
        let filter = filter.map(|f| format!(" WHERE ({f})")).unwrap_or_default();
        let sql = format!("SELECT *, {c} {op} $1 AS distance FROM {t}{filter} ORDER BY distance LIMIT {k}");
        self.query(&sql, &[Value::from(query)])
    }

    /// The metric of `column`'s HNSW index (L2 without one); 42P01 / 42703
    /// for an unknown table or column.
    fn search_metric(&self, table: &str, column: &str) -> Result<Metric> {
        let shared = &self.shared;
        let mut txn = shared.store.begin_txn(TxnOptions::default())?;
        let catalog = shared.catalog_for(&mut *txn, false)?;
        let _ = txn.rollback();
        let schema =
            catalog.table(table).ok_or_else(|| sql_err!(UNDEFINED_TABLE, "relation \"{table}\" does not exist"))?;
        let position = schema
            .column_index(column)
            .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{column}\" does not exist"))?;
        Ok(schema
            .indexes
            .iter()
            .find_map(|ix| match ix.kind {
                IndexKind::Hnsw(h) if ix.columns == [position] => Some(h.metric),
                _ => None,
            })
            .unwrap_or(Metric::L2))
    }
}
