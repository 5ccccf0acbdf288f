//! The gRPC API (tonic): `alopex.v1.Alopex` (`proto/alopex/v1/alopex.proto`),
//! plus the standard health service and server reflection, so generic
//! tools (`grpcurl`, `grpcio` with reflection) can list and call it.
//!
//! Calls run SQL on the shared worker pool like the other protocols.
//! Without a transaction id a call gets a session of its own; with one, it
//! runs in the transaction `BeginTransaction` opened (`transactions.rs`).
//! `Query` materializes the rows on a worker (within `max_result_bytes`)
//! and streams them in batches after a header with the columns.
//!
//! A SQL error becomes a gRPC status whose code follows the SQLSTATE class
//! (InvalidArgument, NotFound, AlreadyExists, Aborted, ResourceExhausted,
//! Unavailable, Unimplemented, Internal), whose message is
//! `"<SQLSTATE>: <message>"`, and whose metadata carries `sqlstate`.
//!
//! The same port carries `alopex.v1.Kv`, the cluster's key-value API: the
//! node's own service in cluster mode, and on a standalone node a stand-in
//! answering UNAVAILABLE "not a cluster node" (`kv.rs`).

pub mod kv;
pub mod transactions;
pub mod values;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use alopex_cluster::node::ClusterNode;
use alopex_proto::v1 as pb;
use alopex_proto::v1::alopex_server::{Alopex, AlopexServer};
use alopex_proto::v1::kv_server::KvServer;
use alopex_sql::{Database, Error, Session, SqlState, StatementResult, Value};
use futures::Stream;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::{Request, Response, Status};
use transactions::{IDLE_TIMEOUT, Transactions};
use values::{from_proto, to_proto};

use crate::metrics::Metrics;
use crate::workers::Workers;

/// Rows per streamed batch.
const BATCH_ROWS: usize = 1000;

/// The service.
pub struct AlopexService {
    db: Database,
    workers: Workers,
    metrics: Arc<Metrics>,
    max_result_bytes: usize,
    transactions: Arc<Transactions>,
}

/// A SQL error as a gRPC status.
pub fn status(e: &Error) -> Status {
    let code = e.state.code();
    let grpc = match code {
        "42P01" => tonic::Code::NotFound,
        "23505" => tonic::Code::AlreadyExists,
        "40001" | "40P01" | "25P02" => tonic::Code::Aborted,
        "54000" | "53300" => tonic::Code::ResourceExhausted,
        "57P01" => tonic::Code::Unavailable,
        "57014" => tonic::Code::Cancelled,
        "0A000" => tonic::Code::Unimplemented,
        _ => match code.get(..2) {
            Some("23") => tonic::Code::FailedPrecondition,
            Some("XX" | "58") => tonic::Code::Internal,
            _ => tonic::Code::InvalidArgument,
        },
    };
    let mut s = Status::new(grpc, format!("{code}: {}", e.message));
    if let Ok(v) = code.parse() {
        s.metadata_mut().insert("sqlstate", v);
    }
    s
}

fn no_transaction(id: u64) -> Status {
    status(&Error::new(SqlState::INVALID_TRANSACTION_STATE, format!("no open transaction with id {id}")))
}

impl AlopexService {
    /// The session a call runs in: its transaction's, or a new one.
    fn session(&self, transaction_id: u64) -> Result<Arc<Mutex<Session>>, Status> {
        if transaction_id == 0 {
            return Ok(Arc::new(Mutex::new(self.db.session())));
        }
        self.transactions.get(transaction_id).ok_or_else(|| no_transaction(transaction_id))
    }

    /// Runs `sql` on a worker in `session`: the last statement's result.
    async fn run(
        &self,
        session: Arc<Mutex<Session>>,
        sql: String,
        params: &[pb::Value],
    ) -> Result<StatementResult, Status> {
        let params: Vec<Value> = params.iter().map(from_proto).collect::<Result<_, _>>().map_err(|e| status(&e))?;
        let limit = self.max_result_bytes;
        let started = Instant::now();
        let (mut results, error) = self
            .workers
            .run(move || session.lock().run_script_limited(&sql, &params, limit))
            .await
            .map_err(|e| status(&e))?;
        self.metrics.statement("grpc", error.is_none(), started.elapsed());
        if let Some(e) = error {
            return Err(status(&e));
        }
        Ok(results.pop().unwrap_or(StatementResult::Command { tag: String::new(), affected: 0 }))
    }
}

fn columns(cols: &[alopex_sql::Column]) -> Vec<pb::Column> {
    cols.iter().map(|c| pb::Column { name: c.name.clone(), r#type: c.ty.to_string() }).collect()
}

fn row(values: &[Value]) -> pb::Row {
    pb::Row { values: values.iter().map(to_proto).collect() }
}

type QueryStream = Pin<Box<dyn Stream<Item = Result<pb::QueryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Alopex for AlopexService {
    async fn execute(&self, request: Request<pb::ExecuteRequest>) -> Result<Response<pb::ExecuteResponse>, Status> {
        let r = request.into_inner();
        let session = self.session(r.transaction_id)?;
        Ok(Response::new(match self.run(session, r.sql, &r.params).await? {
            StatementResult::Rows { columns: cols, rows, tag } => pb::ExecuteResponse {
                columns: columns(&cols),
                rows_affected: rows.len() as u64,
                rows: rows.iter().map(|r| row(r)).collect(),
                command: tag,
            },
            StatementResult::Command { tag, affected } => {
                pb::ExecuteResponse { columns: vec![], rows: vec![], rows_affected: affected, command: tag }
            }
        }))
    }

    type QueryStream = QueryStream;

    async fn query(&self, request: Request<pb::QueryRequest>) -> Result<Response<Self::QueryStream>, Status> {
        let r = request.into_inner();
        let session = self.session(r.transaction_id)?;
        let (cols, rows) = match self.run(session, r.sql, &r.params).await? {
            StatementResult::Rows { columns, rows, .. } => (columns, rows),
            StatementResult::Command { .. } => (Vec::new(), Vec::new()),
        };
        let mut messages = vec![Ok(pb::QueryResponse {
            part: Some(pb::query_response::Part::Header(pb::Header { columns: columns(&cols) })),
        })];
        for chunk in rows.chunks(BATCH_ROWS) {
            messages.push(Ok(pb::QueryResponse {
                part: Some(pb::query_response::Part::Rows(pb::RowBatch {
                    rows: chunk.iter().map(|r| row(r)).collect(),
                })),
            }));
        }
        Ok(Response::new(Box::pin(futures::stream::iter(messages))))
    }

    async fn begin_transaction(
        &self,
        request: Request<pb::BeginTransactionRequest>,
    ) -> Result<Response<pb::BeginTransactionResponse>, Status> {
        let sql = match request.into_inner().isolation.to_ascii_lowercase().as_str() {
            "" | "snapshot" | "repeatable read" => "BEGIN",
            "serializable" => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            other => {
                return Err(status(&Error::new(
                    SqlState::INVALID_PARAMETER_VALUE,
                    format!("unknown isolation level \"{other}\" (snapshot or serializable)"),
                )));
            }
        };
        let session = Arc::new(Mutex::new(self.db.session()));
        self.run(session.clone(), sql.to_string(), &[]).await?;
        let session = Arc::try_unwrap(session).map_err(|_| Status::internal("session still shared"))?.into_inner();
        let id = self.transactions.insert(session);
        Ok(Response::new(pb::BeginTransactionResponse { transaction_id: id }))
    }

    async fn commit(
        &self,
        request: Request<pb::TransactionRequest>,
    ) -> Result<Response<pb::TransactionResponse>, Status> {
        let id = request.into_inner().transaction_id;
        let session = self.transactions.remove(id).ok_or_else(|| no_transaction(id))?;
        let tag = match self.run(session, "COMMIT".into(), &[]).await? {
            StatementResult::Command { tag, .. } | StatementResult::Rows { tag, .. } => tag,
        };
        if tag == "ROLLBACK" {
            // PostgreSQL's answer to COMMIT in a failed transaction.
            return Err(status(&Error::new(
                SqlState::IN_FAILED_SQL_TRANSACTION,
                "the transaction had failed and was rolled back",
            )));
        }
        Ok(Response::new(pb::TransactionResponse { command: tag }))
    }

    async fn rollback(
        &self,
        request: Request<pb::TransactionRequest>,
    ) -> Result<Response<pb::TransactionResponse>, Status> {
        let id = request.into_inner().transaction_id;
        let session = self.transactions.remove(id).ok_or_else(|| no_transaction(id))?;
        self.run(session, "ROLLBACK".into(), &[]).await?;
        Ok(Response::new(pb::TransactionResponse { command: "ROLLBACK".into() }))
    }
}

/// What the gRPC server needs.
pub struct GrpcServer {
    /// The database.
    pub db: Database,
    /// Where SQL runs.
    pub workers: Workers,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per-statement result memory limit.
    pub max_result_bytes: usize,
    /// The cluster node, in cluster mode: its `Kv` service is mounted.
    pub cluster: Option<Arc<ClusterNode>>,
}

impl GrpcServer {
    /// Serves on `listener` until `shutdown` turns true.
    pub async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        let transactions = Arc::new(Transactions::default());
        let service = AlopexService {
            db: self.db,
            workers: self.workers,
            metrics: self.metrics,
            max_result_bytes: self.max_result_bytes,
            transactions: transactions.clone(),
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<AlopexServer<AlopexService>>().await;

        // Reflection in both versions: grpcurl asks v1 first, while
        // grpcio's Python client (and older tools) speak only v1alpha.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(alopex_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        let (reflection_v1, reflection_v1alpha) = match (reflection().build_v1(), reflection().build_v1alpha()) {
            (Ok(v1), Ok(v1alpha)) => (v1, v1alpha),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!("grpc reflection: {e}");
                return;
            }
        };
        // Roll back transactions abandoned by their clients.
        let expiry = {
            let transactions = transactions.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(IDLE_TIMEOUT / 10);
                loop {
                    tick.tick().await;
                    let n = transactions.expire(IDLE_TIMEOUT);
                    if n > 0 {
                        tracing::info!("rolled back {n} idle grpc transactions");
                    }
                }
            })
        };
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let routes = tonic::service::Routes::new(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(AlopexServer::new(service));
        let routes = match &self.cluster {
            Some(node) => {
                health.set_serving::<KvServer<alopex_cluster::kv_service::KvService>>().await;
                routes.add_service(node.kv_service().into_server())
            }
            None => routes.add_service(KvServer::new(kv::NotAClusterNode)),
        };
        let result = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = shutdown.wait_for(|s| *s).await;
            })
            .await;
        expiry.abort();
        if let Err(e) = result {
            tracing::warn!("grpc server failed: {e}");
        }
    }
}
