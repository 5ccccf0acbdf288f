//! The `system` schema: read-only tables whose rows come from outside SQL.
//!
//! Some state a SQL user wants to query lives in layers `alopex-sql` must
//! not depend on: the cluster's membership is known to `alopex-cluster`,
//! which the server links and this crate does not. Rather than teach the
//! engine about clusters, the engine offers a hook: whoever embeds it
//! registers a [`SystemViews`] provider, and `SELECT … FROM
//! system.<name>` asks the provider for the named table's columns and
//! rows at bind time. The rows become a `Values` node exactly like the
//! `information_schema` views (`plan/bind/views.rs`), so filters, joins,
//! ordering and aggregates work on them unchanged, and nothing is stored.
//!
//! Two choices follow from the rows being live. A statement that reads a
//! system table is never cached as a plan (the binder marks it like a call
//! to `current_setting`), so every execution sees fresh rows. And the
//! provider is process-wide, not per [`crate::Database`]: one server
//! process serves one database and has one view of its cluster, and a
//! registry beside the engine keeps the binder change to a few lines. A
//! name the provider does not know (or any name, when none is registered)
//! is an undefined table (42P01), as PostgreSQL says for a missing
//! relation.
//!
//! The server registers `system.cluster_nodes` in cluster mode (see
//! `docs/cluster.md`).

use std::sync::{Arc, RwLock};

use crate::expr::Expr;
use crate::plan::Node;
use crate::plan::bind::{Scope, ScopeColumn};
use crate::types::{DataType, Value};

/// One system table's contents, as computed for one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemTable {
    /// Column names and types.
    pub columns: Vec<(String, DataType)>,
    /// Rows, one value per column (NULL allowed), of the columns' types.
    pub rows: Vec<Vec<Value>>,
}

/// A provider of `system.*` tables. See the module documentation.
pub trait SystemViews: Send + Sync {
    /// The table `system.<name>` (name folded to lower case), or `None`
    /// when the provider has no such table. Called while a statement binds:
    /// answer from memory, without blocking on the network.
    fn table(&self, name: &str) -> Option<SystemTable>;
}

static PROVIDER: RwLock<Option<Arc<dyn SystemViews>>> = RwLock::new(None);

/// Registers the process's provider (replacing any earlier one).
pub fn register(views: Arc<dyn SystemViews>) {
    let mut p = PROVIDER.write().unwrap_or_else(|e| e.into_inner());
    *p = Some(views);
}

/// Removes the provider: `system.*` names are undefined again.
pub fn unregister() {
    let mut p = PROVIDER.write().unwrap_or_else(|e| e.into_inner());
    *p = None;
}

/// The plan and scope of `system.<name>`, when a provider has it.
pub(crate) fn bind(name: &str) -> Option<(Node, Scope)> {
    let provider = PROVIDER.read().unwrap_or_else(|e| e.into_inner()).clone()?;
    let table = provider.table(name)?;
    let width = table.columns.len();
    let rows = table
        .rows
        .into_iter()
        .map(|row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| Expr::Literal(row.get(i).cloned().unwrap_or(Value::Null), ty.clone()))
                .collect()
        })
        .collect();
    let scope = Scope {
        columns: table
            .columns
            .into_iter()
            .map(|(column, ty)| ScopeColumn { table: Some(name.to_string()), name: column, ty, hidden: false })
            .collect(),
    };
    Some((Node::Values { rows, width }, scope))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;
    use crate::{Database, StatementResult};

    /// A provider whose one table changes between statements.
    struct Counter(AtomicI64);

    impl SystemViews for Counter {
        fn table(&self, name: &str) -> Option<SystemTable> {
            (name == "things").then(|| {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                SystemTable {
                    columns: vec![("name".into(), DataType::Text), ("n".into(), DataType::Int8)],
                    rows: vec![vec![Value::text("a"), Value::Int(n)], vec![Value::text("b"), Value::Null]],
                }
            })
        }
    }

    fn rows(db: &Database, sql: &str) -> crate::Result<Vec<Vec<Value>>> {
        let (mut results, error) = db.session().run_script(sql, &[]);
        if let Some(e) = error {
            return Err(e);
        }
        match results.pop() {
            Some(StatementResult::Rows { rows, .. }) => Ok(rows),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn system_tables_come_from_the_provider_and_are_never_cached() {
        let db = Database::open_in_memory();
        register(Arc::new(Counter(AtomicI64::new(10))));
        let sql = "SELECT t.name, n FROM system.things AS t WHERE n IS NOT NULL ORDER BY name";
        assert_eq!(rows(&db, sql).unwrap(), vec![vec![Value::text("a"), Value::Int(10)]]);
        // The same text again: bound again, fresh rows.
        assert_eq!(rows(&db, sql).unwrap(), vec![vec![Value::text("a"), Value::Int(11)]]);
        assert_eq!(rows(&db, "SELECT count(*) FROM system.things").unwrap(), vec![vec![Value::Int(2)]]);
        let err = rows(&db, "SELECT * FROM system.nope").unwrap_err();
        assert_eq!(err.state.code(), "42P01");
        unregister();
        let err = rows(&db, sql).unwrap_err();
        assert_eq!(err.state.code(), "42P01");
        assert!(err.message.contains("system.things"), "{}", err.message);
    }
}
