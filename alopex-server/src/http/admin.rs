//! Operator actions over REST.
//!
//! `POST /v1/admin/checkpoint` flushes the memtables to SSTables, as
//! PostgreSQL's `CHECKPOINT` does (our SQL parser has no such statement).
//! Operators call it before a backup or a benchmark: the flush is also
//! when the HNSW graphs of vector indexes are built, so until a table's
//! rows are flushed its vector searches score them exactly. The flush runs
//! on the statement worker pool, like SQL.

use std::time::Instant;

use axum::Json;
use axum::extract::State;

use super::{ApiError, AppState};

/// The answer to a checkpoint.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Checkpoint {
    /// Milliseconds the flush took.
    pub elapsed_ms: u64,
}

/// Flushes every memtable to disk (with the vector indexes' graphs).
#[utoipa::path(
    post,
    path = "/v1/admin/checkpoint",
    responses(
        (status = 200, body = Checkpoint),
        (status = 401, body = super::ErrorBody),
        (status = 500, body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)
    )
)]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Json<Checkpoint>, ApiError> {
    let db = state.db.clone();
    let started = Instant::now();
    state.workers.run(move || db.checkpoint()).await??;
    Ok(Json(Checkpoint { elapsed_ms: started.elapsed().as_millis() as u64 }))
}
