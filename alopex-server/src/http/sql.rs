//! `POST /v1/sql`: run SQL, get JSON back.
//!
//! The request holds a statement or a script and optional positional
//! parameters (`$1`, `$2`, …). The response is the result of the last
//! statement: its columns with their SQL types, its rows as JSON arrays
//! (values mapped as `json.rs` describes), and the rows it affected. A
//! script stops at its first error, which is the response (with the
//! SQLSTATE), and a transaction the script left open is rolled back when
//! the request ends: one request, one session.
//!
//! With `Accept: application/x-ndjson` the same result comes as
//! newline-delimited JSON: a `{"columns": …}` line, one line per row, and
//! a final `{"rows_affected": n}` line, so a client can process rows as
//! they arrive.

use std::time::Instant;

use alopex_sql::{Column, DataType, StatementResult, Value};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value as JsonValue;
use utoipa::ToSchema;

use super::error::ApiError;
use super::json::{from_json, to_json};
use super::{AppState, ErrorBody};

/// A SQL request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlRequest {
    /// One statement or a script of several.
    pub sql: String,
    /// Values for `$1`, `$2`, …: any JSON value (null, a boolean, a number,
    /// a string; an array or object is passed as `jsonb`, and an array of
    /// numbers also casts to `vector`).
    #[serde(default)]
    #[schema(value_type = Vec<serde_json::Value>)]
    pub params: Vec<JsonValue>,
}

/// A result column.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnInfo {
    /// Its name.
    pub name: String,
    /// Its SQL type (`integer`, `text`, `numeric(10,2)`, …).
    #[serde(rename = "type")]
    pub ty: String,
}

/// The result of the last statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqlResponse {
    /// Result columns (empty for commands).
    pub columns: Vec<ColumnInfo>,
    /// Rows, each an array of values in column order.
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    pub rows: Vec<Vec<JsonValue>>,
    /// Rows returned or affected.
    pub rows_affected: u64,
    /// The command tag (`SELECT 2`, `INSERT 0 1`, …).
    pub command: String,
}

/// Runs SQL.
#[utoipa::path(
    post,
    path = "/v1/sql",
    request_body = SqlRequest,
    responses(
        (status = 200, description = "the last statement's result", body = SqlResponse),
        (status = 400, description = "a bad statement or value", body = ErrorBody),
        (status = 409, description = "a constraint or serialization conflict", body = ErrorBody),
        (status = 413, description = "the result exceeds the memory limit", body = ErrorBody),
        (status = 401, description = "missing or wrong bearer token", body = ErrorBody),
        (status = 408, description = "the statement was cancelled", body = ErrorBody),
        (status = 415, description = "the body is not `application/json`", body = ErrorBody),
        (status = 500, description = "an internal error (I/O, corruption)", body = ErrorBody),
        (status = 501, description = "a feature Alopex does not support", body = ErrorBody),
        (status = 503, description = "the server is shutting down or at its limits", body = ErrorBody),
    )
)]
pub async fn run_sql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<SqlRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = request?;
    let params: Vec<Value> = request.params.iter().map(from_json).collect();
    let db = state.db.clone();
    let limit = state.max_result_bytes;
    let started = Instant::now();
    let (results, error) = state
        .workers
        .run(move || {
            let mut session = db.session();
            // Dropping the session rolls back a transaction left open.
            session.run_script_limited(&request.sql, &params, limit)
        })
        .await?;
    state.metrics.statement("http", error.is_none(), started.elapsed());
    if let Some(e) = error {
        return Err(e.into());
    }
    let (columns, rows, command, affected) = match results.into_iter().last() {
        Some(StatementResult::Rows { columns, rows, tag }) => {
            let n = rows.len() as u64;
            (columns, rows, tag, n)
        }
        Some(StatementResult::Command { tag, affected }) => (Vec::new(), Vec::new(), tag, affected),
        None => (Vec::new(), Vec::new(), String::new(), 0),
    };
    let types: Vec<DataType> = columns.iter().map(|c| c.ty.clone()).collect();
    let json_row = |row: &Vec<Value>| -> Vec<JsonValue> {
        row.iter().enumerate().map(|(i, v)| to_json(v, types.get(i).unwrap_or(&DataType::Unknown))).collect()
    };
    let wants_ndjson =
        headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/x-ndjson"));
    if wants_ndjson {
        let mut lines = Vec::with_capacity(rows.len() + 2);
        lines.push(serde_json::json!({ "columns": column_infos(&columns), "command": command }).to_string());
        lines.extend(rows.iter().map(|r| JsonValue::Array(json_row(r)).to_string()));
        lines.push(serde_json::json!({ "rows_affected": affected }).to_string());
        let body = Body::from_stream(futures::stream::iter(lines.into_iter().map(|mut l| {
            l.push('\n');
            Ok::<_, std::convert::Infallible>(l)
        })));
        return Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response());
    }
    let rows = rows.iter().map(json_row).collect();
    Ok(Json(SqlResponse { columns: column_infos(&columns), rows, rows_affected: affected, command }).into_response())
}

fn column_infos(columns: &[Column]) -> Vec<ColumnInfo> {
    columns.iter().map(|c| ColumnInfo { name: c.name.clone(), ty: c.ty.to_string() }).collect()
}
