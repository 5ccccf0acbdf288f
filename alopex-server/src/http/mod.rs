//! The REST API (axum): SQL over HTTP with JSON, table introspection,
//! health, Prometheus metrics and the OpenAPI document.
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/sql` | run SQL: `{"sql": …, "params": […]}` → `{columns, rows, rows_affected}`, or NDJSON with `Accept: application/x-ndjson` |
//! | `GET /v1/tables` | the tables |
//! | `GET /v1/tables/{name}` | one table's columns, primary key and indexes (404 if missing) |
//! | `POST /v1/admin/checkpoint` | flush memtables to SSTables (building vector graphs), like `CHECKPOINT` |
//! | `GET /v1/cluster/nodes`, `GET /v1/cluster/ranges`, `POST /v1/cluster/nodes/{id}/decommission` | the cluster (`cluster.rs`; 404 on a standalone node) |
//! | `GET /health` | `{"status": "ok"}` while the node serves |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /v1/openapi.json` | the OpenAPI 3.1 document, generated from these handlers |
//!
//! Each `/v1/sql` request is its own session, so a request is atomic: a
//! script runs in one implicit transaction per statement, or in the
//! explicit one it opens with BEGIN, and a transaction left open at the end
//! of the request is rolled back. SQL runs on the same worker pool as the
//! Postgres wire protocol.
//!
//! When a token is configured (`http_token`), every route but `/health`
//! requires `Authorization: Bearer <token>` (401 otherwise).

mod admin;
pub mod cluster;
mod error;
mod json;
mod sql;
mod tables;

use std::sync::Arc;

use alopex_cluster::node::ClusterNode;
use alopex_sql::Database;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;
use utoipa::OpenApi;

pub use error::{ApiError, ErrorBody, ErrorDetail};

use crate::metrics::Metrics;
use crate::workers::Workers;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Database,
    /// Where SQL runs.
    pub workers: Workers,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per-statement result memory limit.
    pub max_result_bytes: usize,
    /// The bearer token, when one is required.
    pub token: Option<Arc<str>>,
    /// The cluster node, in cluster mode.
    pub cluster: Option<Arc<ClusterNode>>,
}

/// The OpenAPI document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Alopex REST API",
        description = "SQL over HTTP, table introspection, cluster membership, health and metrics."
    ),
    paths(
        sql::run_sql,
        tables::list_tables,
        tables::describe_table,
        admin::checkpoint,
        cluster::list_nodes,
        cluster::list_ranges,
        cluster::decommission,
        health
    ),
    components(schemas(
        sql::SqlRequest,
        sql::SqlResponse,
        sql::ColumnInfo,
        tables::TableSummary,
        tables::TableInfo,
        tables::TableColumn,
        tables::IndexInfo,
        admin::Checkpoint,
        cluster::ClusterNodes,
        cluster::ClusterNodeInfo,
        cluster::ClusterRanges,
        cluster::ClusterRangeInfo,
        cluster::Decommission,
        ErrorBody,
        ErrorDetail,
        Health
    ))
)]
pub struct ApiDoc;

/// The health answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// The node answers.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

async fn metrics(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state.db);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn openapi() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(doc) => ([(header::CONTENT_TYPE, "application/json")], doc).into_response(),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "XX000", e.to_string()).into_response(),
    }
}

/// Refuses requests without the configured bearer token.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_ref()) {
            return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required")
                .into_response();
        }
    }
    next.run(request).await
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/sql", post(sql::run_sql))
        .route("/v1/tables", get(tables::list_tables))
        .route("/v1/tables/{name}", get(tables::describe_table))
        .route("/v1/admin/checkpoint", post(admin::checkpoint))
        .route("/v1/cluster/nodes", get(cluster::list_nodes))
        .route("/v1/cluster/ranges", get(cluster::list_ranges))
        .route("/v1/cluster/nodes/{id}/decommission", post(cluster::decommission))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new().route("/health", get(health)).merge(protected).with_state(state)
}

/// Serves the API on `listener` until `shutdown` turns true.
pub async fn serve(state: AppState, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let app = router(state);
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        tracing::warn!("http server failed: {e}");
    }
}
