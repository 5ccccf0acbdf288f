//! One connection's message loop, writing through [`Corked`].
//!
//! pgwire's `process_socket` builds its `Framed` over the raw stream, and
//! that `Framed` flushes after most messages; the only place to batch the
//! replies is the I/O object underneath it. So this is pgwire's own loop
//! (`pgwire::tokio::server::process_socket` in 0.42, the
//! `process_socket_messages!` macro), rebuilt from its public pieces:
//! [`negotiate_tls`] for the SSLRequest and TLS handshake, then the stream
//! re-wrapped in [`Corked`] (keeping any bytes already read or queued),
//! then [`process_message`] per message and [`process_error`] for errors,
//! with the same startup timeout, Terminate handling and FATAL handling.
//! The protocol logic stays pgwire's; only the writer changes.
//!
//! If a later pgwire version changes its loop, compare it with this one.

use std::io;
use std::time::Duration;

use futures::StreamExt;
use pgwire::api::{ClientInfo, ErrorHandler, PgWireConnectionState, PgWireServerHandlers};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::tokio::TlsAcceptor;
use pgwire::tokio::server::{negotiate_tls, process_error, process_message};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};

use super::corked::Corked;

/// How long a client has to finish startup and authentication (pgwire's).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the last replies may take to leave when the connection ends.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one client connection until it ends: TLS negotiation, startup,
/// then queries, with replies batched per [`Corked`].
pub async fn process_socket<H: PgWireServerHandlers>(
    tcp: TcpStream,
    tls: Option<TlsAcceptor>,
    handlers: H,
) -> io::Result<()> {
    let startup_timeout = tokio::time::sleep(STARTUP_TIMEOUT);
    tokio::pin!(startup_timeout);
    let negotiated = tokio::select! {
        _ = &mut startup_timeout => return Ok(()),
        socket = negotiate_tls(tcp, tls) => socket?,
    };
    // None: a direct TLS handshake without a configured certificate.
    let Some(negotiated) = negotiated else { return Ok(()) };
    let old = negotiated.into_parts();
    let mut parts = FramedParts::new(Corked::new(old.io), old.codec);
    parts.read_buf = old.read_buf;
    parts.write_buf = old.write_buf;
    let mut socket = Framed::from_parts(parts);

    let startup_handler = handlers.startup_handler();
    let simple_query_handler = handlers.simple_query_handler();
    let extended_query_handler = handlers.extended_query_handler();
    let copy_handler = handlers.copy_handler();
    let cancel_handler = handlers.cancel_handler();
    let error_handler = handlers.error_handler();

    loop {
        let starting = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
        );
        let msg = if starting {
            tokio::select! {
                _ = &mut startup_timeout => None,
                msg = socket.next() => msg,
            }
        } else {
            socket.next().await
        };
        let Some(Ok(msg)) = msg else { break };
        // Terminate: the client is leaving; dropping the socket closes it.
        if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let is_extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => msg.is_extended_query(),
        };
        let is_cancel_request = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
        if let Err(mut e) = process_message(
            msg,
            &mut socket,
            startup_handler.clone(),
            simple_query_handler.clone(),
            extended_query_handler.clone(),
            copy_handler.clone(),
            cancel_handler.clone(),
        )
        .await
        {
            error_handler.on_error(&socket, &mut e);
            let is_fatal = e.is_fatal();
            process_error(&mut socket, e, is_extended_query).await?;
            if is_fatal {
                break;
            }
        }
        if is_cancel_request {
            break;
        }
    }
    // Whatever is still buffered (a reply the client did not wait for)
    // goes out before the socket closes, unless the client stopped reading.
    let close = futures::SinkExt::<pgwire::messages::PgWireBackendMessage>::close(&mut socket);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, close).await;
    Ok(())
}
