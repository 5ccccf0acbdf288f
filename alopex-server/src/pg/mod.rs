//! The Postgres wire protocol listener.
//!
//! Each accepted socket gets its own set of pgwire handlers
//! ([`handler::PgConnection`]) holding a fresh [`alopex_sql::Session`], so
//! transactions, prepared statements and settings are per connection, as in
//! PostgreSQL. pgwire drives the protocol (startup, simple and extended
//! query, portals); the handlers turn messages into SQL work on the shared
//! worker pool.
//!
//! The connection limit is a semaphore: a client beyond it gets PostgreSQL's
//! `53300 sorry, too many clients already` as a FATAL ErrorResponse and the
//! socket is closed, so it never queues for a slot it cannot see.
//!
//! Every connection is issued a (pid, secret key) pair in BackendKeyData
//! and registered for cancel requests; [`cancel`] explains how a
//! CancelRequest, or the client hanging up, stops the running statement.
//!
//! pgwire's message loop runs in [`process`] over a writer that sends each
//! query's replies in one write ([`corked`]), and short statements run on
//! the connection's own task instead of a worker ([`placement`]): the two
//! costs that dominated a pgbench point select (docs/benchmarks.md).
//!
//! Authentication ([`auth`]) is trust until users exist, then SCRAM-SHA-256;
//! TLS ([`tls`]) is offered when a certificate is configured.

pub mod auth;
pub mod cancel;
pub mod copy;
pub mod corked;
mod deallocate;
mod describe;
pub mod error;
pub mod handler;
pub mod placement;
pub mod process;
pub mod tls;
pub mod types;

use std::sync::Arc;

use alopex_sql::Database;
use pgwire::api::auth::StartupHandler;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::api::copy::CopyHandler;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::{ConnectionManager, PgWireServerHandlers};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::metrics::{Metrics, OpenConnection};
use crate::workers::Workers;
use auth::{Authenticator, ConnectionStartup, PgAuth};
use cancel::{PeerWatch, PgCancel, Running};
use handler::PgConnection;
use tls::PgTls;

/// The handlers of one connection, as pgwire wants them.
struct ConnectionHandlers {
    connection: Arc<PgConnection>,
    startup: Arc<ConnectionStartup>,
    cancel: Arc<PgCancel>,
}

impl PgWireServerHandlers for ConnectionHandlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.connection.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.connection.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.connection.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancel.clone()
    }
}

/// What the listener needs to serve connections.
pub struct PgServer {
    /// The database every connection opens a session on.
    pub db: Database,
    /// Where statements run.
    pub workers: Workers,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Connection limit.
    pub max_connections: usize,
    /// Per-statement result memory limit.
    pub max_result_bytes: usize,
    /// Who may connect.
    pub authenticator: Arc<Authenticator>,
    /// TLS, when configured.
    pub tls: Option<PgTls>,
    /// Refuse connections without TLS.
    pub tls_required: bool,
}

impl PgServer {
    /// Accepts connections on `listener` until `shutdown` turns true, then
    /// closes every connection (dropping a session rolls back its open
    /// transaction) and returns.
    pub async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let cancels = Arc::new(ConnectionManager::new());
        let cert_pem = self.tls.as_ref().map(|t| t.cert_pem.as_slice());
        let auth = Arc::new(PgAuth::new(self.authenticator.clone(), cancels.clone(), cert_pem, self.tls_required));
        let acceptor = self.tls.as_ref().map(|t| t.acceptor.clone());
        let running = Arc::new(Running::default());
        let cancel = Arc::new(PgCancel::new(running.clone(), DefaultCancelHandler::new(cancels)));
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                accepted = listener.accept() => accepted,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (mut socket, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            };
            let _ = socket.set_nodelay(true);
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "connection refused: too many clients");
                connections.spawn(async move { refuse(&mut socket).await });
                continue;
            };
            // A watch on the socket sees the client hang up mid-statement.
            let (socket, peer_watch) = match PeerWatch::split(socket) {
                Ok((socket, watch)) => (socket, Some(watch)),
                Err(e) => {
                    tracing::warn!(%peer, "cannot watch the connection: {e}");
                    continue;
                }
            };
            let connection = Arc::new(
                PgConnection::new(self.db.session(), self.workers.clone(), self.metrics.clone(), self.max_result_bytes)
                    .with_peer_watch(peer_watch),
            );
            let open = OpenConnection::new(&self.metrics, "pg");
            let startup = Arc::new(ConnectionStartup::new(auth.clone(), connection.clone(), running.clone()));
            let handlers = Arc::new(ConnectionHandlers { connection, startup, cancel: cancel.clone() });
            let acceptor = acceptor.clone();
            connections.spawn(async move {
                tracing::debug!(%peer, "connection opened");
                if let Err(e) = process::process_socket(socket, acceptor, handlers).await {
                    tracing::debug!(%peer, "connection ended with an error: {e}");
                }
                drop((slot, open));
                tracing::debug!(%peer, "connection closed");
            });
        }
        tracing::info!("postgres wire listener stopped; closing {} connections", connections.len());
        connections.shutdown().await;
    }
}

/// Tells a client over the limit why it cannot connect.
async fn refuse(socket: &mut TcpStream) {
    let mut body = Vec::new();
    for (field, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', "53300"), (b'M', "sorry, too many clients already")]
    {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    msg.extend_from_slice(&body);
    let _ = socket.write_all(&msg).await;
    let _ = socket.shutdown().await;
}
