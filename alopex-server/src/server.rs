//! Starting and stopping a node.
//!
//! [`serve`] opens the database in the configured data directory (created
//! when missing), binds the listeners, and runs until SIGINT or SIGTERM.
//! Shutdown then goes in the order that loses nothing: stop accepting
//! connections, let statements already on a worker finish (their commits
//! are acknowledged only once durable), close the connections (a session
//! dropped with an open transaction rolls it back), refuse any further
//! work, and close the database, which flushes the storage engine. The
//! process exits 0.
//!
//! In cluster mode (`--listen-addr`) the node first starts its
//! [`ClusterNode`] (identity, QUIC, membership, the ranges it hosts) from
//! `<data-dir>/cluster`, before any client port opens: a node that cannot
//! join or whose certificate does not match its stored id stops startup
//! with the reason. The gRPC port then carries the cluster's `alopex.v1.Kv`
//! service and the REST API its `/v1/cluster/*` routes. On shutdown the
//! node leaves the cluster gracefully once client work has drained, and
//! before the SQL database closes.
//!
//! In cluster mode SQL runs on the cluster: the node's [`Database`] is
//! opened over a [`ClusterStore`], whose transactions span the replicated
//! ranges (`docs/transactions.md`), so every node is a gateway to the same
//! tables and the catalog replicates like any other keys. No local SQL
//! database is opened; the node's engine under `<data-dir>/cluster` holds
//! the ranges it replicates. A background task follows the catalog so that
//! a vector index created through another node is registered with this
//! node's engine too (it builds the HNSW graphs of the ranges it hosts).

use std::time::Duration;

use alopex_sql::{Database, DatabaseOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use std::sync::Arc;

use alopex_cluster::node::{ClusterNode, IdentitySource};
use alopex_cluster::txn::{ClusterStore, ClusterStoreOptions};
use alopex_sql::StoreAdapter;

use crate::config::AuthMode;
use crate::config::Config;
use crate::http::AppState;
use crate::metrics::Metrics;
use crate::pg::PgServer;
use crate::pg::auth::Authenticator;
use crate::workers::Workers;

/// How long shutdown waits for running statements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be created or opened.
    #[error("cannot open the database in {dir}: {message}")]
    Open {
        /// The directory.
        dir: String,
        /// The cause.
        message: String,
    },
    /// TLS could not be set up from the configured files.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] crate::pg::tls::TlsError),
    /// Authentication could not be set up.
    #[error("cannot set up authentication: {0}")]
    Auth(#[from] crate::pg::auth::AuthError),
    /// The cluster node could not start.
    #[error("cannot start the cluster node: {0}")]
    Cluster(String),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Runs a node with `config` until a shutdown signal.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let dir = config.data_dir.display().to_string();
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| ServeError::Open { dir: dir.clone(), message: e.to_string() })?;
    let mut opts = DatabaseOptions::default();
    if !config.sync {
        opts = opts.relaxed(Duration::from_millis(10));
    }
    // Bad certificate files stop startup before anything else happens.
    let tls = config.tls.as_ref().map(crate::pg::tls::load).transpose()?;
    let pg_listener =
        TcpListener::bind(config.pg_addr).await.map_err(|source| ServeError::Bind { addr: config.pg_addr, source })?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| ServeError::Bind { addr: config.http_addr, source })?;
    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|source| ServeError::Bind { addr: config.grpc_addr, source })?;
    // The client ports are bound first so a taken port fails before the
    // node joins anything; connections wait in the backlog meanwhile.
    let cluster = match config.cluster.clone() {
        None => None,
        Some(cluster_config) => {
            if cluster_config.identity == IdentitySource::Insecure {
                tracing::warn!(
                    "--cluster-insecure: node-to-node TLS checks no cluster CA and node ids are taken on trust; \
                     for tests only, never in production"
                );
            }
            let node = ClusterNode::start(cluster_config).await.map_err(|e| ServeError::Cluster(e.to_string()))?;
            tracing::info!(node_id = %node.id(), "cluster node listening on {} (udp)", node.listen_addr());
            alopex_sql::system::register(Arc::new(crate::system_views::ClusterViews::new(node.clone())));
            Some(node)
        }
    };
    let db = match &cluster {
        // SQL over the cluster's ranges: this node is one gateway of many.
        Some(node) => {
            let store = ClusterStore::new(
                node.range_node().clone(),
                tokio::runtime::Handle::current(),
                ClusterStoreOptions::default(),
            );
            Database::with_store(Box::new(StoreAdapter(store)), opts)
        }
        None => {
            let data_dir = config.data_dir.clone();
            tokio::task::spawn_blocking(move || Database::open_with(&data_dir, opts))
                .await
                .map_err(|e| ServeError::Open { dir: dir.clone(), message: e.to_string() })?
                .map_err(|e| ServeError::Open { dir: dir.clone(), message: e.to_string() })?
        }
    };
    let grpc_addr = grpc_listener.local_addr().unwrap_or(config.grpc_addr);
    let pg_addr = pg_listener.local_addr().unwrap_or(config.pg_addr);
    let http_addr = http_listener.local_addr().unwrap_or(config.http_addr);
    tracing::info!(data_dir = %dir, "database open");
    tracing::info!("postgres wire listening on {pg_addr}");
    tracing::info!("http listening on {http_addr}");
    tracing::info!("grpc listening on {grpc_addr}");

    // `pg_roles` (psql's `\du`) lists the config file's users too.
    db.set_configured_roles(config.users.iter().map(|u| u.name.clone()).collect());
    let authenticator = Arc::new(Authenticator::new(db.clone(), config.auth, &config.users)?);
    let has_users = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || db.has_users()).await.ok().and_then(Result::ok)
    };
    warn_about_auth(&config, pg_addr, has_users);
    if tls.is_some() {
        tracing::info!(required = config.tls_required, "postgres wire TLS on");
    }
    let workers = Workers::new(config.workers);
    let metrics = Metrics::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    let pg = PgServer {
        db: db.clone(),
        workers: workers.clone(),
        metrics: metrics.clone(),
        max_connections: config.max_connections,
        max_result_bytes: config.max_result_bytes,
        authenticator,
        tls,
        tls_required: config.tls_required,
    };
    let pg_task = tokio::spawn(pg.serve(pg_listener, stop_rx.clone()));
    let grpc = crate::grpc::GrpcServer {
        db: db.clone(),
        workers: workers.clone(),
        metrics: metrics.clone(),
        max_result_bytes: config.max_result_bytes,
        cluster: cluster.clone(),
    };
    let grpc_task = tokio::spawn(grpc.serve(grpc_listener, stop_rx.clone()));
    let http_state = AppState {
        db: db.clone(),
        workers: workers.clone(),
        metrics,
        max_result_bytes: config.max_result_bytes,
        token: config.http_token.as_deref().map(Arc::from),
        cluster: cluster.clone(),
    };
    let http_task = tokio::spawn(crate::http::serve(http_state, http_listener, stop_rx.clone()));
    if cluster.is_some() {
        tokio::spawn(follow_catalog(db.clone(), stop_rx));
    }

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    // Statements already running finish; new ones are refused.
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, drain(&workers, config.workers)).await;
    if drained.is_err() {
        tracing::warn!("statements still running after {DRAIN_TIMEOUT:?}; closing anyway");
    }
    workers.close();
    let _ = pg_task.await;
    let _ = http_task.await;
    let _ = grpc_task.await;
    if let Some(node) = &cluster {
        alopex_sql::system::unregister();
        node.shutdown().await;
        tracing::info!("left the cluster");
    }
    let closed = tokio::task::spawn_blocking(move || db.close()).await;
    match closed {
        Ok(Ok(())) => tracing::info!("database closed"),
        Ok(Err(e)) => tracing::warn!("database close: {e}"),
        Err(e) => tracing::warn!("database close failed: {e}"),
    }
    Ok(())
}

/// How often a cluster node checks the catalog for vector indexes created
/// or dropped through other nodes.
const CATALOG_FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// In cluster mode, keeps this node's vector-index registry in line with
/// the replicated catalog (DDL through any gateway), until shutdown. Each
/// round reads the catalog version (one key) and loads the catalog only
/// when it changed.
async fn follow_catalog(db: Database, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(CATALOG_FOLLOW_INTERVAL) => {}
        }
        let db = db.clone();
        match tokio::task::spawn_blocking(move || db.sync_vector_indexes()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "catalog follow: vector index sync failed; retrying"),
            Err(e) => tracing::warn!(error = %e, "catalog follow task failed"),
        }
    }
}

/// Logs how clients will authenticate, and warns when anyone who can reach
/// a non-loopback address could connect without a password.
fn warn_about_auth(config: &Config, pg_addr: std::net::SocketAddr, has_users: Option<bool>) {
    let users = !config.users.is_empty() || has_users.unwrap_or(true);
    let trusting = match config.auth {
        AuthMode::Trust => true,
        AuthMode::Auto => !users,
        AuthMode::Scram => false,
    };
    match (config.auth, trusting) {
        (AuthMode::Scram, _) if !users => {
            tracing::warn!("auth = scram but no user exists: add [[users]] to the config or CREATE USER over REST/gRPC")
        }
        (_, false) => tracing::info!("postgres wire authentication: SCRAM-SHA-256"),
        (AuthMode::Auto, true) => {
            tracing::info!("postgres wire authentication: trust until the first CREATE USER, then SCRAM-SHA-256")
        }
        (_, true) => tracing::info!("postgres wire authentication: trust"),
    }
    if trusting && !pg_addr.ip().is_loopback() {
        tracing::warn!(
            "postgres wire listens on {pg_addr} (not loopback) with trust authentication: anyone who can reach it \
             has full access; create a user (CREATE USER … PASSWORD) or set auth = \"scram\""
        );
    }
}

/// Waits until every worker is idle, by taking each worker slot in turn.
async fn drain(workers: &Workers, n: usize) {
    for _ in 0..n {
        let _ = workers.run(|| ()).await;
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
