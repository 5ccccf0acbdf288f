//! Stopping a connection's running statement: cancel requests and clients
//! that vanish mid-statement.
//!
//! ```text
//!  psql Ctrl-C ──new socket──▶ CancelRequest(pid, secret)
//!                                   │ pgwire ConnectionManager: (pid, secret) → handle
//!                                   ▼
//!  pgwire: select(do_query, cancel) ── cancel wins: drop do_query, send 57014
//!                │                                   │
//!                └─ cancellable(work) ── dropped ──▶ Interrupt::trigger()
//!                     └─ PeerWatch: socket read side closed ──▶ trigger()
//!                                                    │
//!  worker thread: statement polls its flag per row ◀─┘ fails 57014, lock released
//! ```
//!
//! PostgreSQL hands every backend a (pid, secret key) pair in BackendKeyData
//! at startup; a client that wants to stop its statement opens a *second*
//! connection and sends a CancelRequest with that pair, because the first
//! one is busy. pgwire 0.42 does the bookkeeping: the startup handler
//! generates the pair (a random 32-bit secret for protocol 3.0) and
//! registers the connection in a shared [`ConnectionManager`](pgwire::api::ConnectionManager);
//! its cancel handler looks the pair up and fires the connection's oneshot,
//! and pgwire's query loop, which races every `do_query` against that
//! oneshot, drops our future and answers `57014 canceling statement due to
//! user request`. A request with a wrong pair matches nothing and is dropped
//! silently, as PostgreSQL does (the requester learns nothing).
//!
//! Dropping a future does not stop a statement: it runs synchronously on a
//! worker thread, holding the session. So the work is wrapped in
//! [`cancellable`], whose drop guard triggers the statement's
//! [`Interrupt`], which the executor polls per row: the statement fails
//! with 57014 on the worker too, its autocommit transaction rolls back (an
//! explicit one is marked failed, as after any error), and the worker and
//! the session are free for the client's next statement. Each statement gets
//! a fresh flag (`Session::set_interrupt`), so a cancel that arrives as one
//! statement ends can never stop the next one.
//!
//! A statement that runs on the connection's own task (a short one, see
//! `placement.rs`) is not a future pgwire can drop: it runs to its end
//! inside one poll. So the cancel handler ([`PgCancel`]) also looks the
//! (pid, secret key) pair up in [`Running`], where every connection
//! publishes the interrupt of the statement it is running, and triggers
//! that interrupt directly, whichever way the statement runs. (The request
//! is served by another runtime thread than the busy one.)
//!
//! A client that disconnects while its statement runs is the same case
//! with nobody asking: PostgreSQL 14+ checks the socket for it
//! (`client_connection_check_interval`). The connection task is parked in
//! the handler, not reading, so [`PeerWatch`] keeps a duplicate of the
//! socket's descriptor and waits for the kernel to report the read side
//! closed (EPOLLRDHUP, or a `peek` of 0 bytes) without consuming any of the
//! client's bytes. The statement is interrupted, and when the connection
//! then ends the session is dropped, which rolls back an explicit
//! transaction too.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Weak};
use std::time::Duration;

use alopex_sql::Interrupt;
use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use pgwire::api::cancel::{CancelHandler, DefaultCancelHandler};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The interrupt of the statement a connection is running, if any.
pub type RunningSlot = Arc<Mutex<Option<Interrupt>>>;

/// A connection's (pid, secret key) pair, the key as bytes.
type CancelKey = (i32, Bytes);

/// Every connection's [`RunningSlot`], by the (pid, secret key) pair its
/// BackendKeyData carried.
#[derive(Default)]
pub struct Running {
    slots: Mutex<HashMap<CancelKey, Weak<Mutex<Option<Interrupt>>>>>,
}

impl Running {
    /// Publishes `slot` under `(pid, key)`, and forgets connections that
    /// have ended.
    pub fn register(&self, pid: i32, key: &SecretKey, slot: &RunningSlot) {
        let mut slots = self.slots.lock();
        slots.retain(|_, s| s.strong_count() > 0);
        slots.insert((pid, key.to_bytes()), Arc::downgrade(slot));
    }

    /// Triggers the running statement of the connection `(pid, key)`;
    /// whether there was one.
    pub fn interrupt(&self, pid: i32, key: &SecretKey) -> bool {
        let slot = self.slots.lock().get(&(pid, key.to_bytes())).and_then(Weak::upgrade);
        match slot.as_ref().and_then(|s| s.lock().clone()) {
            Some(interrupt) => {
                interrupt.trigger();
                true
            }
            None => false,
        }
    }
}

/// Answers cancel requests: interrupts the statement directly (for one
/// running on its connection's task) and through pgwire (which drops the
/// future of one running on a worker and answers 57014).
pub struct PgCancel {
    running: Arc<Running>,
    pgwire: DefaultCancelHandler,
}

impl PgCancel {
    /// A handler over `running` and pgwire's handler.
    pub fn new(running: Arc<Running>, pgwire: DefaultCancelHandler) -> PgCancel {
        PgCancel { running, pgwire }
    }
}

#[async_trait]
impl CancelHandler for PgCancel {
    async fn on_cancel_request(&self, request: CancelRequest) {
        self.running.interrupt(request.pid, &request.secret_key);
        self.pgwire.on_cancel_request(request).await;
    }
}

/// Watches a connection's socket for the client going away.
pub struct PeerWatch {
    socket: TcpStream,
}

impl PeerWatch {
    /// Splits `socket` into the stream to serve and a watch on a duplicate
    /// of its descriptor.
    pub fn split(socket: TcpStream) -> io::Result<(TcpStream, PeerWatch)> {
        let std = socket.into_std()?;
        let dup = std.try_clone()?;
        Ok((TcpStream::from_std(std)?, PeerWatch { socket: TcpStream::from_std(dup)? }))
    }

    /// Resolves once the client has closed its end or the connection failed.
    /// Bytes the client sent meanwhile stay unread for the protocol.
    pub async fn closed(&self) {
        let mut byte = [0u8; 1];
        loop {
            match self.socket.ready(Interest::READABLE).await {
                Ok(r) if r.is_read_closed() || r.is_error() => return,
                Ok(_) => {}
                Err(_) => return,
            }
            match self.socket.peek(&mut byte).await {
                Ok(0) | Err(_) => return,
                // Pipelined messages wait in the buffer: the kernel reports a
                // later hang-up as read-closed, so look again in a while.
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

/// Triggers the interrupt when dropped before [`Armed::disarm`]: the
/// future running the statement was abandoned (a cancel request).
struct Armed<'a> {
    interrupt: &'a Interrupt,
    done: bool,
}

impl Armed<'_> {
    fn disarm(mut self) {
        self.done = true;
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.interrupt.trigger();
        }
    }
}

/// Runs `work` (a statement on a worker that checks `interrupt`) so that
/// the statement stops when this future is dropped before it finishes (a
/// cancel request) or when `peer` sees the client hang up.
pub async fn cancellable<T>(work: impl Future<Output = T>, peer: Option<&PeerWatch>, interrupt: &Interrupt) -> T {
    let armed = Armed { interrupt, done: false };
    let gone = async {
        match peer {
            Some(p) => p.closed().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(work);
    let out = tokio::select! {
        out = &mut work => out,
        _ = gone => {
            tracing::debug!("client went away mid-statement; interrupting it");
            interrupt.trigger();
            work.await
        }
    };
    armed.disarm();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dropping_the_work_triggers_the_interrupt_finishing_does_not() {
        let interrupt = Interrupt::new();
        cancellable(async {}, None, &interrupt).await;
        assert!(!interrupt.is_triggered());
        let abandoned = tokio::time::timeout(
            Duration::from_millis(20),
            cancellable(std::future::pending::<()>(), None, &interrupt),
        )
        .await;
        assert!(abandoned.is_err());
        assert!(interrupt.is_triggered());
    }

    #[test]
    fn a_cancel_reaches_the_registered_running_statement_only() {
        let running = Running::default();
        let slot: RunningSlot = Arc::new(Mutex::new(None));
        let key = SecretKey::I32(42);
        running.register(7, &key, &slot);
        assert!(!running.interrupt(7, &key), "nothing running");
        let interrupt = Interrupt::new();
        *slot.lock() = Some(interrupt.clone());
        assert!(!running.interrupt(7, &SecretKey::I32(41)), "wrong secret");
        assert!(!interrupt.is_triggered());
        assert!(running.interrupt(7, &key));
        assert!(interrupt.is_triggered());
        drop(slot);
        assert!(!running.interrupt(7, &key), "connection gone");
    }

    #[tokio::test]
    async fn an_idle_live_client_is_not_a_hang_up() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (socket, _) = listener.accept().await.unwrap();
        let (_socket, watch) = PeerWatch::split(socket).unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(200), watch.closed()).await.is_err(), "false hang-up");
    }

    #[tokio::test]
    async fn a_hang_up_is_seen_with_bytes_still_unread() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"pipelined").await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(c);
        });
        let (socket, _) = listener.accept().await.unwrap();
        let (_socket, watch) = PeerWatch::split(socket).unwrap();
        // Unread bytes from a live client are not a hang-up.
        assert!(tokio::time::timeout(Duration::from_millis(60), watch.closed()).await.is_err(), "false hang-up");
        tokio::time::timeout(Duration::from_secs(5), watch.closed()).await.expect("hang-up seen");
        client.await.unwrap();
    }
}
