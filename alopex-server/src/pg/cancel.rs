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
//! A client that disconnects while its statement runs is the same case
//! with nobody asking: PostgreSQL 14+ checks the socket for it
//! (`client_connection_check_interval`). The connection task is parked in
//! the handler, not reading, so [`PeerWatch`] keeps a duplicate of the
//! socket's descriptor and waits for the kernel to report the read side
//! closed (EPOLLRDHUP, or a `peek` of 0 bytes) without consuming any of the
//! client's bytes. The statement is interrupted, and when the connection
//! then ends the session is dropped, which rolls back an explicit
//! transaction too.

use std::future::Future;
use std::io;
use std::time::Duration;

use alopex_sql::Interrupt;
use tokio::io::Interest;
use tokio::net::TcpStream;

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
