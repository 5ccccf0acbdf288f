//! A connection's writer that sends a query's replies in one write.
//!
//! pgwire writes through a `Framed` sink and flushes after almost every
//! message it `send`s: BindComplete, CommandComplete, ReadyForQuery each
//! leave in their own `sendto`. On loopback a send is not cheap: it also
//! runs the receiver's TCP path, and the client wakes up once per segment.
//! A pgbench `-M prepared` point select (Bind, Execute, Sync in one packet)
//! cost the server 1.8 sends where PostgreSQL makes one.
//!
//! PostgreSQL's backend buffers its output and flushes in three places:
//! at ReadyForQuery, when the buffer fills, and before it blocks reading
//! the client (a `Flush` message, a COPY, an authentication exchange).
//! [`Corked`] does the same under pgwire's `Framed`, as the I/O object it
//! writes to:
//!
//! * `poll_write` only appends to an in-memory buffer (and follows the
//!   message framing, type byte plus length, to know which message the
//!   buffer ends with);
//! * `poll_flush` really writes when the buffer ends with a complete
//!   ReadyForQuery, or holds more than [`FLUSH_AT`] bytes; otherwise the
//!   bytes wait for the next of those;
//! * `poll_read` writes out whatever waits before it reads, so anything a
//!   client could be waiting for is on the wire before the server waits for
//!   the client. This is what keeps batching from ever deadlocking, and
//!   makes the framing heuristic only a matter of *when*: if it were
//!   wrong, replies would still leave before the next read.
//!   If the socket cannot take the bytes yet (a client still writing a long
//!   pipeline and not reading), the read goes ahead anyway and the bytes go
//!   out on a later poll, as they would have with pgwire's own writer.
//! * `poll_shutdown` writes everything first (a FATAL error, a closing
//!   server).
//!
//! A query's replies thus cost one `sendto`, the same as PostgreSQL, and a
//! pipelining client gets each Sync's replies as soon as its
//! ReadyForQuery is ready.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Past this many buffered bytes a flush always writes (large results
/// stream in pieces of about this size).
pub const FLUSH_AT: usize = 64 * 1024;

/// The type byte of ReadyForQuery.
const READY_FOR_QUERY: u8 = b'Z';

/// Follows backend message boundaries (a type byte, then a big-endian
/// length that counts itself) through the bytes written, in any split.
#[derive(Debug, Default)]
struct Framing {
    /// Body bytes of the current message still to come.
    skip: usize,
    /// The header read so far.
    header: [u8; 5],
    /// How much of `header` is filled.
    have: usize,
    /// The type byte of the last message whose header was read.
    last: u8,
}

impl Framing {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len());
                self.skip -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (5 - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == 5 {
                self.have = 0;
                self.last = self.header[0];
                let len = u32::from_be_bytes([self.header[1], self.header[2], self.header[3], self.header[4]]);
                self.skip = (len as usize).saturating_sub(4);
            }
        }
    }

    /// Whether the bytes so far end with a complete ReadyForQuery.
    fn at_ready_for_query(&self) -> bool {
        self.skip == 0 && self.have == 0 && self.last == READY_FOR_QUERY
    }
}

/// An I/O object whose writes wait in a buffer until a reply is complete
/// (see the module documentation).
pub struct Corked<S> {
    inner: S,
    out: BytesMut,
    framing: Framing,
}

impl<S> Corked<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Corked<S> {
        Corked { inner, out: BytesMut::with_capacity(8 * 1024), framing: Framing::default() }
    }

    /// The wrapped I/O object.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Bytes written but not yet sent.
    pub fn pending(&self) -> usize {
        self.out.len()
    }
}

impl<S: AsyncWrite + Unpin> Corked<S> {
    /// Writes out the buffer; Pending until the socket took all of it.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::WriteZero, "the client stopped reading")));
            }
            self.out.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes out the buffer and flushes the wrapped object.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Corked<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.out.is_empty() {
            // Pending means the socket is full: read anyway (the client may
            // be writing before it reads); the write waker is registered.
            if let Poll::Ready(Err(e)) = this.poll_send(cx) {
                return Poll::Ready(Err(e));
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Corked<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() >= FLUSH_AT {
            ready!(this.poll_drain(cx))?;
        }
        this.out.extend_from_slice(buf);
        this.framing.feed(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.out.len() >= FLUSH_AT || (!this.out.is_empty() && this.framing.at_ready_for_query()) {
            return this.poll_send(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn message(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn framing_finds_ready_for_query_in_any_split() {
        let mut bytes = message(b'2', b"");
        bytes.extend(message(b'D', b"\0\x01\0\0\0\x02ZZ"));
        bytes.extend(message(b'C', b"SELECT 1\0"));
        bytes.extend(message(b'Z', b"I"));
        for split in 0..bytes.len() {
            let mut f = Framing::default();
            f.feed(&bytes[..split]);
            assert!(!f.at_ready_for_query() || split == bytes.len());
            f.feed(&bytes[split..]);
            assert!(f.at_ready_for_query(), "split at {split}");
        }
        let mut f = Framing::default();
        f.feed(&bytes[..bytes.len() - 1]);
        assert!(!f.at_ready_for_query());
    }

    #[tokio::test]
    async fn replies_wait_for_ready_for_query_or_a_read() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let mut corked = Corked::new(server);
        let (mut client_read, mut client_write) = tokio::io::split(client);

        corked.write_all(&message(b'2', b"")).await.unwrap();
        corked.flush().await.unwrap();
        corked.write_all(&message(b'C', b"SELECT 1\0")).await.unwrap();
        corked.flush().await.unwrap();
        assert_eq!(corked.pending(), 19, "nothing sent before ReadyForQuery");
        corked.write_all(&message(b'Z', b"I")).await.unwrap();
        corked.flush().await.unwrap();
        assert_eq!(corked.pending(), 0);
        let mut got = vec![0u8; 25];
        client_read.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], b'2');
        assert_eq!(got[24], b'I');

        // A reply without ReadyForQuery (a Flush, an auth exchange) goes
        // out before the server reads.
        corked.write_all(&message(b'1', b"")).await.unwrap();
        corked.flush().await.unwrap();
        assert_eq!(corked.pending(), 5);
        client_write.write_all(b"x").await.unwrap();
        let mut one = [0u8; 1];
        corked.read_exact(&mut one).await.unwrap();
        assert_eq!(corked.pending(), 0);
        let mut got = [0u8; 5];
        client_read.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], b'1');

        // Past FLUSH_AT a flush writes whatever is there.
        let big = message(b'D', &vec![7u8; FLUSH_AT]);
        corked.write_all(&big).await.unwrap();
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; FLUSH_AT + 5];
            client_read.read_exact(&mut got).await.unwrap();
        });
        corked.flush().await.unwrap();
        assert_eq!(corked.pending(), 0);
        reader.await.unwrap();
    }
}
