//! # The QUIC endpoint: dialing, accepting, calls and datagrams
//!
//! One [`Transport`] per node owns one QUIC endpoint (one UDP socket) that
//! both listens and dials. What travels over it:
//!
//! ```text
//!   node A                                      node B
//!   RpcClient::call(B, r7, m, body) ──┐   ┌──> RpcService::handle(A, r7, m, body)
//!   RpcClient::call(B, r9, m, body) ──┼───┼──> (each call: its own stream,
//!   send_datagram(B, swim packet)  ───┘   │     its own task)
//!            one QUIC connection, mutual TLS, node ids from certificates
//! ```
//!
//! - **Connections.** At most one per peer, found or dialed on demand;
//!   duplicates from simultaneous dials and stale links from before a
//!   restart are resolved by the rule in [`super::peers`]. Every new
//!   connection starts with a hello stream that swaps boot ids.
//! - **Calls.** Each call opens its own bidirectional stream (frames in
//!   [`super::frame`]) and runs under the call timeout, from dialing to the
//!   last byte. QUIC streams are independent, and each incoming stream is
//!   served by its own task, so a slow handler delays only its own call; a
//!   slow or dead peer holds only its own connection and dial lock, never
//!   another peer's.
//! - **Datagrams** are QUIC's unreliable datagrams, for SWIM: sent without
//!   waiting (a missing connection is dialed in the background), received
//!   into one channel with the sender's node id as proven by its
//!   certificate.
//!
//! Background tasks hold the transport weakly, so dropping the last
//! [`Transport`] handle closes the endpoint; [`Transport::shutdown`] does
//! so explicitly and waits for the close to reach the peers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{RecvStream, SendStream, VarInt};
use rustls_pki_types::CertificateDer;
use tokio::sync::mpsc;
use tracing::{debug, trace, warn};

use super::config::TransportConfig;
use super::frame::{self, Status};
use super::peers::{Link, PeerTable};
use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcError, RpcService};
use crate::tls;

/// The server name put in handshakes; not checked (see `tls::verify`).
const SERVER_NAME: &str = "alopex-node";
/// Close codes.
const CLOSE_SHUTDOWN: u32 = 0;
const CLOSE_DUPLICATE: u32 = 1;
const CLOSE_WRONG_NODE: u32 = 2;
const CLOSE_PROTOCOL: u32 = 3;
/// How many received datagrams may wait for the membership task.
const DATAGRAM_QUEUE: usize = 1024;

/// Why a transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The TLS material is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A setting is out of range.
    #[error("invalid transport setting: {0}")]
    Config(String),
}

/// A datagram received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The sender, as named by its verified certificate.
    pub from: NodeId,
    /// The kind byte (see [`super::frame`]).
    pub kind: u8,
    /// The payload after the kind byte.
    pub payload: Bytes,
}

/// A node's QUIC transport; cheap to clone (all clones share one
/// endpoint).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    me: NodeId,
    boot: u64,
    endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
    config: TransportConfig,
    service: Arc<dyn RpcService>,
    peers: Mutex<PeerTable>,
    dial_locks: Mutex<HashMap<NodeId, Arc<tokio::sync::Mutex<()>>>>,
    datagram_tx: mpsc::Sender<Datagram>,
    datagram_rx: Mutex<Option<mpsc::Receiver<Datagram>>>,
    /// Call streams opened to peers so far (see [`Transport::calls_opened`]).
    calls_opened: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.endpoint.close(VarInt::from_u32(CLOSE_SHUTDOWN), b"shutdown");
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn peer_of(conn: &quinn::Connection) -> Option<NodeId> {
    let identity = conn.peer_identity()?;
    let certs = identity.downcast::<Vec<CertificateDer<'static>>>().ok()?;
    tls::peer_node_id(&certs)
}

fn boot_id() -> u64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    // Mix in the pid so two processes started in the same nanosecond differ.
    nanos ^ (u64::from(std::process::id()) << 32).rotate_left(17)
}

impl Transport {
    /// Binds the endpoint and starts accepting connections; every incoming
    /// call goes to `service`. Must run inside a tokio runtime.
    pub fn bind(config: TransportConfig, service: Arc<dyn RpcService>) -> Result<Self, TransportError> {
        let me = config.identity.node_id;
        let mut quic = quinn::TransportConfig::default();
        quic.keep_alive_interval(Some(config.keep_alive));
        quic.max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(config.idle_timeout).map_err(|e| TransportError::Config(e.to_string()))?,
        ));
        quic.max_concurrent_bidi_streams(VarInt::from_u32(config.max_concurrent_calls));
        quic.max_concurrent_uni_streams(VarInt::from_u32(0));
        let quic = Arc::new(quic);

        let server_tls = QuicServerConfig::try_from(tls::server_config(&config.identity)?)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_tls));
        server.transport_config(quic.clone());
        let client_tls = QuicClientConfig::try_from(tls::client_config(&config.identity)?)
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(client_tls));
        client.transport_config(quic);

        let endpoint = quinn::Endpoint::server(server, config.listen)
            .map_err(|source| TransportError::Bind { addr: config.listen, source })?;
        let (datagram_tx, datagram_rx) = mpsc::channel(DATAGRAM_QUEUE);
        let inner = Arc::new(Inner {
            me,
            boot: boot_id(),
            endpoint: endpoint.clone(),
            client,
            config,
            service,
            peers: Mutex::new(PeerTable::default()),
            dial_locks: Mutex::new(HashMap::new()),
            datagram_tx,
            datagram_rx: Mutex::new(Some(datagram_rx)),
            calls_opened: AtomicU64::new(0),
        });
        tokio::spawn(accept_loop(Arc::downgrade(&inner), endpoint));
        Ok(Self { inner })
    }

    /// This node's id (from its own certificate).
    pub fn node_id(&self) -> NodeId {
        self.inner.me
    }

    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.endpoint.local_addr().unwrap_or(self.inner.config.listen)
    }

    /// Records where `node` listens, so that calls to it can dial.
    pub fn set_peer_addr(&self, node: NodeId, addr: SocketAddr) {
        if node != self.inner.me {
            lock(&self.inner.peers).slot(node).addr = Some(addr);
        }
    }

    /// Dials `addr` (a seed, whose node id is not known yet) and returns
    /// the node id its certificate names.
    pub async fn connect_addr(&self, addr: SocketAddr) -> Result<NodeId, RpcError> {
        let unreachable = |e: String| RpcError::Unreachable(NodeId(0), format!("{addr}: {e}"));
        let dial = tokio::time::timeout(self.inner.config.connect_timeout, self.inner.dial(addr, None));
        let (peer, _) = dial.await.map_err(|_| unreachable("connect timed out".into()))?.map_err(unreachable)?;
        lock(&self.inner.peers).slot(peer).addr = Some(addr);
        Ok(peer)
    }

    /// Sends an unreliable datagram of `kind` to `to`. It is dropped
    /// silently when it cannot be sent (no route, too large, queue full);
    /// if there is no connection yet, one is dialed in the background.
    pub fn send_datagram(&self, to: NodeId, kind: u8, payload: &[u8]) {
        let mut buf = BytesMut::with_capacity(1 + payload.len());
        buf.put_u8(kind);
        buf.extend_from_slice(payload);
        let data = buf.freeze();
        let live = lock(&self.inner.peers).live(to);
        if let Some(conn) = live {
            if let Err(e) = conn.send_datagram(data) {
                trace!(%to, error = %e, "datagram dropped");
            }
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            match inner.connection(to).await {
                Ok(conn) => {
                    if let Err(e) = conn.send_datagram(data) {
                        trace!(%to, error = %e, "datagram dropped");
                    }
                }
                Err(e) => trace!(%to, error = %e, "datagram dropped"),
            }
        });
    }

    /// The largest datagram payload (after the kind byte) the connection to
    /// `to` carries now, if connected.
    pub fn max_datagram_payload(&self, to: NodeId) -> Option<usize> {
        lock(&self.inner.peers).live(to)?.max_datagram_size().map(|n| n.saturating_sub(1))
    }

    /// Takes the receiver of incoming datagrams; only the first caller gets
    /// it.
    pub fn take_datagrams(&self) -> Option<mpsc::Receiver<Datagram>> {
        lock(&self.inner.datagram_rx).take()
    }

    /// How many call streams this node has opened to peers since it
    /// started (one per remote call; calls to itself open none). Benchmarks
    /// and tests read it to count the RPC traffic between nodes.
    pub fn calls_opened(&self) -> u64 {
        self.inner.calls_opened.load(Ordering::Relaxed)
    }

    /// The peers this node has a live connection with, sorted.
    pub fn connected_peers(&self) -> Vec<NodeId> {
        lock(&self.inner.peers).connected()
    }

    /// Whether the connection in use for `peer` was dialed by this node
    /// (`None` when not connected); shows which link the duplicate rule
    /// kept.
    pub fn link_dialed_by_us(&self, peer: NodeId) -> Option<bool> {
        lock(&self.inner.peers).link_dialed_by_us(peer)
    }

    /// Closes every connection and the endpoint, and waits (up to a
    /// second) for the peers to be told.
    pub async fn shutdown(&self) {
        for conn in lock(&self.inner.peers).all_links() {
            conn.close(VarInt::from_u32(CLOSE_SHUTDOWN), b"shutdown");
        }
        self.inner.endpoint.close(VarInt::from_u32(CLOSE_SHUTDOWN), b"shutdown");
        let _ = tokio::time::timeout(Duration::from_secs(1), self.inner.endpoint.wait_idle()).await;
    }
}

#[async_trait]
impl RpcClient for Transport {
    async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError> {
        let max = self.inner.config.max_frame;
        if body.len() as u64 > u64::from(max) {
            return Err(RpcError::FrameTooLarge { node: to, size: body.len() as u64, max: u64::from(max) });
        }
        let call = async {
            if to == self.inner.me {
                return self
                    .inner
                    .service
                    .handle(to, range, method, body)
                    .await
                    .map_err(|message| RpcError::Remote { node: to, message });
            }
            self.inner.call_remote(to, range, method, body).await
        };
        tokio::time::timeout(self.inner.config.call_timeout, call).await.unwrap_or(Err(RpcError::Timeout(to)))
    }
}

impl Inner {
    fn dial_lock(&self, peer: NodeId) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.dial_locks).entry(peer).or_default().clone()
    }

    /// The live connection to `to`, dialing it when there is none (one dial
    /// at a time per peer, none while backing off).
    async fn connection(self: &Arc<Self>, to: NodeId) -> Result<quinn::Connection, RpcError> {
        if let Some(conn) = lock(&self.peers).live(to) {
            return Ok(conn);
        }
        let dial_lock = self.dial_lock(to);
        let _guard = dial_lock.lock().await;
        let addr = {
            let mut peers = lock(&self.peers);
            if let Some(conn) = peers.live(to) {
                return Ok(conn);
            }
            let slot = peers.slot(to);
            if let Some(err) = slot.backoff.blocked(Instant::now()) {
                return Err(RpcError::Unreachable(to, format!("backing off after: {err}")));
            }
            slot.addr.ok_or_else(|| RpcError::Unreachable(to, "no known address".into()))?
        };
        let result = match tokio::time::timeout(self.config.connect_timeout, self.dial(addr, Some(to))).await {
            Ok(Ok((_, conn))) => return Ok(conn),
            Ok(Err(e)) => e,
            Err(_) => format!("connecting to {addr} timed out"),
        };
        let (min, max) = (self.config.backoff_min, self.config.backoff_max);
        lock(&self.peers).slot(to).backoff.failed(Instant::now(), min, max, result.clone());
        Err(RpcError::Unreachable(to, result))
    }

    /// Dials `addr`, checks the peer is `expected` (when given), swaps
    /// hellos and installs the connection. Returns the peer and the
    /// connection now in use for it (which may be another one, by the
    /// duplicate rule).
    async fn dial(
        self: &Arc<Self>,
        addr: SocketAddr,
        expected: Option<NodeId>,
    ) -> Result<(NodeId, quinn::Connection), String> {
        let connecting =
            self.endpoint.connect_with(self.client.clone(), addr, SERVER_NAME).map_err(|e| e.to_string())?;
        let conn = connecting.await.map_err(|e| e.to_string())?;
        let Some(peer) = peer_of(&conn) else {
            conn.close(VarInt::from_u32(CLOSE_PROTOCOL), b"no node id");
            return Err("the peer certificate names no node".into());
        };
        if expected.is_some_and(|e| e != peer) || peer == self.me {
            conn.close(VarInt::from_u32(CLOSE_WRONG_NODE), b"unexpected node");
            let wanted = expected.map_or_else(|| "another node".to_string(), |e| e.to_string());
            return Err(format!("{addr} is node {peer}, not {wanted}"));
        }
        let hello = async {
            let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
            send.write_all(&frame::encode_hello(self.boot)).await.map_err(|e| e.to_string())?;
            send.finish().map_err(|e| e.to_string())?;
            let mut buf = [0u8; frame::HELLO_LEN];
            recv.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            frame::decode_hello(&buf).ok_or_else(|| "malformed hello".to_string())
        };
        let peer_boot = match hello.await {
            Ok(boot) => boot,
            Err(e) => {
                conn.close(VarInt::from_u32(CLOSE_PROTOCOL), b"hello failed");
                return Err(format!("{addr} refused the connection: {e}"));
            }
        };
        let used = self.install(peer, Link { conn: conn.clone(), peer_boot, dialed_by_us: true });
        tokio::spawn(serve_connection(Arc::downgrade(self), conn, peer));
        debug!(me = %self.me, %peer, %addr, "dialed");
        Ok((peer, used))
    }

    /// Handles one incoming connection: handshake, hello, install.
    async fn accept(self: Arc<Self>, incoming: quinn::Incoming) -> Result<(), String> {
        let remote = incoming.remote_address();
        let handshake = async {
            let conn = incoming.await.map_err(|e| e.to_string())?;
            let Some(peer) = peer_of(&conn) else {
                conn.close(VarInt::from_u32(CLOSE_PROTOCOL), b"no node id");
                return Err("the peer certificate names no node".to_string());
            };
            let (mut send, mut recv) = conn.accept_bi().await.map_err(|e| e.to_string())?;
            let mut buf = [0u8; frame::HELLO_LEN];
            recv.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            let Some(peer_boot) = frame::decode_hello(&buf) else {
                conn.close(VarInt::from_u32(CLOSE_PROTOCOL), b"bad hello");
                return Err("malformed hello".to_string());
            };
            send.write_all(&frame::encode_hello(self.boot)).await.map_err(|e| e.to_string())?;
            send.finish().map_err(|e| e.to_string())?;
            Ok((conn, peer, peer_boot))
        };
        let (conn, peer, peer_boot) = tokio::time::timeout(self.config.connect_timeout, handshake)
            .await
            .map_err(|_| format!("handshake with {remote} timed out"))??;
        if peer == self.me {
            conn.close(VarInt::from_u32(CLOSE_WRONG_NODE), b"same node id");
            return Err(format!("{remote} claims our own node id {peer}"));
        }
        lock(&self.peers).slot(peer).addr.get_or_insert(remote);
        self.install(peer, Link { conn: conn.clone(), peer_boot, dialed_by_us: false });
        debug!(me = %self.me, %peer, %remote, "accepted");
        tokio::spawn(serve_connection(Arc::downgrade(&self), conn, peer));
        Ok(())
    }

    /// Installs a link by the duplicate rule; the loser is closed after a
    /// grace period so calls already on it can finish.
    fn install(&self, peer: NodeId, link: Link) -> quinn::Connection {
        let (used, loser) = lock(&self.peers).install(self.me, peer, link);
        if let Some(loser) = loser {
            let grace = self.config.call_timeout + Duration::from_secs(1);
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                loser.close(VarInt::from_u32(CLOSE_DUPLICATE), b"duplicate connection");
            });
        }
        used
    }

    async fn call_remote(
        self: &Arc<Self>,
        to: NodeId,
        range: RangeId,
        method: u16,
        body: Bytes,
    ) -> Result<Bytes, RpcError> {
        let conn = self.connection(to).await?;
        let lost = |e: String| RpcError::Unreachable(to, e);
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| lost(e.to_string()))?;
        self.calls_opened.fetch_add(1, Ordering::Relaxed);
        let size = body.len() as u64;
        let sent = async {
            send.write_all(&frame::encode_request(range, method, body.len() as u32)).await?;
            if !body.is_empty() {
                send.write_chunk(body).await?;
            }
            send.finish().map_err(quinn::WriteError::from)
        }
        .await;
        // Even when sending failed because the callee stopped reading (it
        // refused the frame), its response says why: read it first.
        let mut head = [0u8; frame::RESPONSE_HEADER_LEN];
        if let Err(e) = recv.read_exact(&mut head).await {
            return Err(lost(sent.err().map_or_else(|| e.to_string(), |w| w.to_string())));
        }
        let remote = |message: String| RpcError::Remote { node: to, message };
        let (status, len) = frame::decode_response(&head).ok_or_else(|| remote("malformed response".into()))?;
        let max = self.config.max_frame;
        if len > max {
            let _ = recv.stop(VarInt::from_u32(CLOSE_PROTOCOL));
            return Err(RpcError::FrameTooLarge { node: to, size: u64::from(len), max: u64::from(max) });
        }
        let mut answer = vec![0u8; len as usize];
        recv.read_exact(&mut answer).await.map_err(|e| lost(e.to_string()))?;
        match status {
            Status::Ok => Ok(Bytes::from(answer)),
            Status::TooLarge => {
                let limit = answer.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                Err(RpcError::FrameTooLarge { node: to, size, max: u64::from(limit) })
            }
            Status::HandlerError | Status::BadRequest => Err(remote(String::from_utf8_lossy(&answer).into_owned())),
        }
    }
}

async fn accept_loop(weak: Weak<Inner>, endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        let Some(inner) = weak.upgrade() else { break };
        tokio::spawn(async move {
            let me = inner.me;
            if let Err(e) = inner.accept(incoming).await {
                warn!(%me, error = %e, "refused an incoming node connection");
            }
        });
    }
}

/// Serves one connection until it closes: each incoming stream is one call,
/// handled in its own task; datagrams go to the transport's channel.
async fn serve_connection(weak: Weak<Inner>, conn: quinn::Connection, peer: NodeId) {
    let (service, datagrams, max_frame) = match weak.upgrade() {
        Some(inner) => (inner.service.clone(), inner.datagram_tx.clone(), inner.config.max_frame),
        None => return,
    };
    loop {
        tokio::select! {
            stream = conn.accept_bi() => match stream {
                Ok((send, recv)) => {
                    tokio::spawn(serve_call(peer, send, recv, service.clone(), max_frame));
                }
                Err(_) => break,
            },
            datagram = conn.read_datagram() => match datagram {
                Ok(bytes) if bytes.len() > 1 => {
                    let d = Datagram { from: peer, kind: bytes[0], payload: bytes.slice(1..) };
                    if datagrams.try_send(d).is_err() {
                        trace!(%peer, "datagram queue full; dropped");
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            },
        }
    }
    debug!(%peer, reason = ?conn.close_reason(), "connection closed");
    if let Some(inner) = weak.upgrade() {
        lock(&inner.peers).remove_if(peer, conn.stable_id());
    }
}

async fn respond(mut send: SendStream, status: Status, body: &[u8]) {
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    if send.write_all(&frame::encode_response(status, len)).await.is_ok() && send.write_all(body).await.is_ok() {
        let _ = send.finish();
    }
}

async fn serve_call(
    peer: NodeId,
    send: SendStream,
    mut recv: RecvStream,
    service: Arc<dyn RpcService>,
    max_frame: u32,
) {
    let mut head = [0u8; frame::REQUEST_HEADER_LEN];
    if recv.read_exact(&mut head).await.is_err() {
        return;
    }
    let Some(request) = frame::decode_request(&head) else {
        return respond(send, Status::BadRequest, b"unknown request frame version").await;
    };
    if request.len > max_frame {
        let _ = recv.stop(VarInt::from_u32(CLOSE_PROTOCOL));
        return respond(send, Status::TooLarge, &max_frame.to_be_bytes()).await;
    }
    let mut body = vec![0u8; request.len as usize];
    if recv.read_exact(&mut body).await.is_err() {
        return;
    }
    // The request must end here; reading its end also keeps the stream
    // from being stopped under a caller that is still finishing it.
    match recv.read_to_end(0).await {
        Ok(_) => {}
        Err(quinn::ReadToEndError::TooLong) => {
            return respond(send, Status::BadRequest, b"bytes after the request body").await;
        }
        Err(_) => return,
    }
    match service.handle(peer, request.range, request.method, Bytes::from(body)).await {
        Ok(answer) if answer.len() as u64 > u64::from(max_frame) => {
            let message = format!("the answer of {} bytes exceeds the limit of {max_frame} bytes", answer.len());
            respond(send, Status::HandlerError, message.as_bytes()).await
        }
        Ok(answer) => respond(send, Status::Ok, &answer).await,
        Err(message) => respond(send, Status::HandlerError, message.as_bytes()).await,
    }
}
