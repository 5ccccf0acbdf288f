//! Fixtures for the statement binder's tests: hand-built schemas and a
//! parse-and-bind shortcut.

use super::{BoundStatement, bind};
use crate::catalog::{Catalog, CheckConstraint, ColumnSchema, IndexKind, IndexSchema, ROW_ID_COLUMN, TableSchema};
use crate::error::Error;
use crate::types::{DataType, Value};

/// A column with id `id`.
pub(crate) fn col(id: u32, name: &str, ty: DataType, nullable: bool) -> ColumnSchema {
    ColumnSchema { id, name: name.into(), ty, nullable, default: None, missing: Value::Null, hidden: false }
}

/// `users (id INT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
/// score INT DEFAULT 0 CHECK (score >= 0))`.
pub(crate) fn users() -> TableSchema {
    let mut score = col(4, "score", DataType::Int4, true);
    score.default = Some("0".into());
    TableSchema {
        id: 20,
        name: "users".into(),
        columns: vec![
            col(1, "id", DataType::Int4, false),
            col(2, "name", DataType::Text, false),
            col(3, "email", DataType::Text, true),
            score,
        ],
        primary_key: vec![0],
        indexes: vec![IndexSchema {
            id: 2,
            name: "users_email_key".into(),
            columns: vec![2],
            unique: true,
            kind: IndexKind::BTree,
        }],
        checks: vec![CheckConstraint { name: "users_score_check".into(), expr: "score >= 0".into() }],
        next_column_id: 5,
        next_index_id: 3,
    }
}

/// `events (kind TEXT, at BIGINT)` without a primary key: a hidden row id,
/// and an index on `at`.
pub(crate) fn events() -> TableSchema {
    let mut rowid = col(3, ROW_ID_COLUMN, DataType::Int8, false);
    rowid.hidden = true;
    TableSchema {
        id: 21,
        name: "events".into(),
        columns: vec![col(1, "kind", DataType::Text, true), col(2, "at", DataType::Int8, true), rowid],
        primary_key: vec![2],
        indexes: vec![IndexSchema {
            id: 2,
            name: "events_at_idx".into(),
            columns: vec![1],
            unique: false,
            kind: IndexKind::BTree,
        }],
        checks: vec![],
        next_column_id: 4,
        next_index_id: 3,
    }
}

/// A catalog of these tables.
pub(crate) fn catalog(tables: Vec<TableSchema>) -> Catalog {
    Catalog::new(7, tables)
}

fn parse(sql: &str) -> sqlparser::ast::Statement {
    let mut stmts = crate::session::parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(stmts.len(), 1, "{sql}");
    stmts.remove(0)
}

/// Parses and binds one statement, which must succeed.
pub(crate) fn bind_sql(catalog: &Catalog, sql: &str) -> BoundStatement {
    bind(&parse(sql), catalog, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Parses and binds one statement, which must fail.
pub(crate) fn bind_sql_err(catalog: &Catalog, sql: &str) -> Error {
    match bind(&parse(sql), catalog, &[]) {
        Ok(b) => panic!("{sql} bound to {b:?}"),
        Err(e) => e,
    }
}
