//! Binding TRUNCATE, VACUUM and ANALYZE: the statements that manage a
//! table's storage rather than its rows one by one.
//!
//! **TRUNCATE** empties whole tables. Rows and index entries of a table
//! share one key span (`/table_id/…`, see `table/mod.rs`), so emptying it is
//! deleting that span inside the statement's transaction: no row is read or
//! decoded and no index entry is computed, and the TRUNCATE commits or rolls
//! back with the transaction, as in PostgreSQL. Several tables are emptied
//! together (`TRUNCATE a, b`, which pgbench's initialization sends). There
//! are no sequences or foreign keys, so `RESTART IDENTITY` and `CASCADE`
//! have nothing more to do and are accepted.
//!
//! **VACUUM** has nothing to reclaim: an update writes a new version of the
//! key and the LSM's compactions drop the versions no snapshot can see, so
//! there is no heap to sweep and no visibility map to set. It is accepted
//! (clients and tools such as pgbench send it), and its table must exist.
//!
//! **ANALYZE** refreshes the optimizer's statistics, which are per-table row
//! counts (`database.rs`): the session counts the table's rows in the
//! statement's snapshot and replaces the estimate. Without a table it
//! analyzes every table. `VACUUM ANALYZE t` is ANALYZE with VACUUM's tag.
//!
//! sqlparser does not parse PostgreSQL's VACUUM; `session/vacuum_syntax.rs`
//! does, and hands VACUUM … ANALYZE here as an [`ast::Analyze`] with
//! `compute_statistics` set (a form no PostgreSQL statement produces, since
//! those always come through the same parser).

use sqlparser::ast;

use super::names::{lookup_table, user_relation};
use super::{Binder, BoundStatement};
use crate::error::{Error, Result};

/// Binds TRUNCATE [TABLE] [ONLY] name [*] [, …] [RESTART|CONTINUE IDENTITY]
/// [CASCADE|RESTRICT].
pub(super) fn truncate(b: &mut Binder<'_>, tr: &ast::Truncate) -> Result<BoundStatement> {
    if tr.partitions.is_some() || tr.on_cluster.is_some() {
        return Err(Error::unsupported("this form of TRUNCATE"));
    }
    let mut tables = Vec::with_capacity(tr.table_names.len());
    for target in &tr.table_names {
        let name = user_relation(&target.name)?;
        if tr.if_exists && b.catalog.table(&name).is_none() {
            continue;
        }
        let table = lookup_table(b.catalog, &name)?;
        if !tables.contains(&table.name) {
            tables.push(table.name.clone());
        }
    }
    Ok(BoundStatement::Truncate { tables })
}

/// Binds VACUUM [table]: checks the table, does nothing else.
pub(super) fn vacuum(b: &mut Binder<'_>, v: &ast::VacuumStatement) -> Result<BoundStatement> {
    if v.sort_only || v.delete_only || v.reindex || v.recluster || v.threshold.is_some() || v.boost {
        return Err(Error::unsupported("this form of VACUUM"));
    }
    if let Some(name) = &v.table_name {
        lookup_table(b.catalog, &user_relation(name)?)?;
    }
    Ok(BoundStatement::Maintenance { tag: "VACUUM", analyze: vec![] })
}

/// Binds ANALYZE [table [(columns)]] and VACUUM … ANALYZE.
pub(super) fn analyze(b: &mut Binder<'_>, a: &ast::Analyze) -> Result<BoundStatement> {
    if a.has_table_keyword || a.for_columns || a.partitions.is_some() || a.cache_metadata || a.noscan {
        return Err(Error::unsupported("this form of ANALYZE"));
    }
    let tag = if a.compute_statistics { "VACUUM" } else { "ANALYZE" };
    let analyze = match &a.table_name {
        Some(name) => {
            let table = lookup_table(b.catalog, &user_relation(name)?)?;
            for column in &a.columns {
                super::names::target_column(table, &super::names::ident(column))?;
            }
            vec![table.name.clone()]
        }
        None => b.catalog.tables().map(|t| t.name.clone()).collect(),
    };
    Ok(BoundStatement::Maintenance { tag, analyze })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::error::SqlState;
    use crate::plan::BoundStatement;

    #[test]
    fn truncate_names_every_table_once() {
        let cat = catalog(vec![users(), events()]);
        let BoundStatement::Truncate { tables } = bind_sql(&cat, "TRUNCATE TABLE users, events, users CASCADE") else {
            panic!("not a truncate")
        };
        assert_eq!(tables, ["users", "events"]);
        assert_eq!(bind_sql_err(&cat, "TRUNCATE users, nope").state, SqlState::UNDEFINED_TABLE);
        let BoundStatement::Truncate { tables } = bind_sql(&cat, "TRUNCATE ONLY users RESTART IDENTITY") else {
            panic!("not a truncate")
        };
        assert_eq!(tables, ["users"]);
    }

    #[test]
    fn analyze_names_its_tables() {
        let cat = catalog(vec![users(), events()]);
        let BoundStatement::Maintenance { tag, analyze } = bind_sql(&cat, "ANALYZE users") else {
            panic!("not maintenance")
        };
        assert_eq!((tag, analyze.as_slice()), ("ANALYZE", ["users".to_string()].as_slice()));
        let BoundStatement::Maintenance { analyze, .. } = bind_sql(&cat, "ANALYZE") else { panic!("not maintenance") };
        assert_eq!(analyze.len(), 2);
        assert_eq!(bind_sql_err(&cat, "ANALYZE nope").state, SqlState::UNDEFINED_TABLE);
        assert_eq!(bind_sql_err(&cat, "ANALYZE users (nope)").state, SqlState::UNDEFINED_COLUMN);
    }

    #[test]
    fn vacuum_checks_its_table() {
        let cat = catalog(vec![users()]);
        let BoundStatement::Maintenance { tag, analyze } = bind_sql(&cat, "VACUUM users") else {
            panic!("not maintenance")
        };
        assert_eq!((tag, analyze.len()), ("VACUUM", 0));
        let BoundStatement::Maintenance { tag, analyze } = bind_sql(&cat, "VACUUM (VERBOSE, ANALYZE) users") else {
            panic!("not maintenance")
        };
        assert_eq!((tag, analyze.as_slice()), ("VACUUM", ["users".to_string()].as_slice()));
        assert_eq!(bind_sql_err(&cat, "VACUUM nope").state, SqlState::UNDEFINED_TABLE);
    }
}
