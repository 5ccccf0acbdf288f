//! `GET /v1/tables` and `GET /v1/tables/{name}`: what the database holds.
//!
//! The answers are read with SQL from `information_schema` and
//! `pg_catalog.pg_indexes`, in one snapshot per request, so they show
//! exactly what a SQL client would see (and cannot drift from it).

use alopex_sql::{Database, Error, Row, StatementResult, Value};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::{AppState, ErrorBody};

/// A table in the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableSummary {
    /// Its name.
    pub name: String,
    /// How many columns it has.
    pub columns: u64,
}

/// One column of a table.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableColumn {
    /// Its name.
    pub name: String,
    /// Its SQL type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its default expression, if any.
    pub default: Option<String>,
}

/// An index of a table.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexInfo {
    /// Its name.
    pub name: String,
    /// Its definition (`CREATE UNIQUE INDEX … ON … (…)`).
    pub definition: String,
}

/// A table's description.
#[derive(Debug, Serialize, ToSchema)]
pub struct TableInfo {
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<TableColumn>,
    /// The primary-key columns, in key order (empty for a table keyed by a
    /// hidden row id).
    pub primary_key: Vec<String>,
    /// Its secondary indexes.
    pub indexes: Vec<IndexInfo>,
}

/// Runs a query with text parameters in one session: its rows.
fn rows(db: &Database, sql: &str, params: &[Value]) -> Result<Vec<Row>, Error> {
    let mut session = db.session();
    match session.run(sql, params)?.pop() {
        Some(StatementResult::Rows { rows, .. }) => Ok(rows),
        _ => Ok(Vec::new()),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.to_string(),
        Value::Null => String::new(),
        other => alopex_sql::expr::cast::to_text(other).unwrap_or_default(),
    }
}

/// Lists the tables.
#[utoipa::path(
    get,
    path = "/v1/tables",
    responses(
        (status = 200, body = Vec<TableSummary>),
        (status = 401, body = ErrorBody),
        (status = 500, body = ErrorBody),
        (status = 503, body = ErrorBody)
    )
)]
pub async fn list_tables(State(state): State<AppState>) -> Result<Json<Vec<TableSummary>>, ApiError> {
    let db = state.db.clone();
    let found = state
        .workers
        .run(move || {
            rows(
                &db,
                "SELECT t.table_name, count(c.column_name) FROM information_schema.tables t \
                 LEFT JOIN information_schema.columns c ON c.table_name = t.table_name \
                 WHERE t.table_schema = 'public' GROUP BY t.table_name ORDER BY t.table_name",
                &[],
            )
        })
        .await??;
    Ok(Json(
        found
            .iter()
            .map(|r| TableSummary {
                name: text(&r[0]),
                columns: match r[1] {
                    Value::Int(n) => n.max(0) as u64,
                    _ => 0,
                },
            })
            .collect(),
    ))
}

/// Describes one table.
#[utoipa::path(
    get,
    path = "/v1/tables/{name}",
    params(("name" = String, Path, description = "the table name")),
    responses(
        (status = 200, body = TableInfo),
        (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 500, body = ErrorBody),
        (status = 503, body = ErrorBody)
    )
)]
pub async fn describe_table(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<TableInfo>, ApiError> {
    let db = state.db.clone();
    let table = name.clone();
    let (columns, key, indexes) = state
        .workers
        .run(move || -> Result<_, Error> {
            let p = [Value::text(&table)];
            let columns = rows(
                &db,
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &p,
            )?;
            let key = rows(
                &db,
                "SELECT k.column_name FROM information_schema.table_constraints c \
                 JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name \
                 AND k.table_name = c.table_name \
                 WHERE c.table_name = $1 AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position",
                &p,
            )?;
            let indexes =
                rows(&db, "SELECT indexname, indexdef FROM pg_catalog.pg_indexes WHERE tablename = $1 ORDER BY 1", &p)?;
            Ok((columns, key, indexes))
        })
        .await??;
    if columns.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "42P01", format!("relation \"{name}\" does not exist")));
    }
    Ok(Json(TableInfo {
        name,
        columns: columns
            .iter()
            .map(|r| TableColumn {
                name: text(&r[0]),
                ty: text(&r[1]),
                nullable: text(&r[2]) == "YES",
                default: (!r[3].is_null()).then(|| text(&r[3])),
            })
            .collect(),
        primary_key: key.iter().map(|r| text(&r[0])).collect(),
        indexes: indexes.iter().map(|r| IndexInfo { name: text(&r[0]), definition: text(&r[1]) }).collect(),
    }))
}
