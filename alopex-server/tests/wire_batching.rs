//! A query's replies leave the server in one write, and batching never
//! holds back a reply the client is waiting for.
//!
//! The first test speaks the extended protocol by hand, as pgbench
//! `-M prepared` does (Bind, Execute, Sync in one packet), and counts the
//! TCP segments with data that reach the client per query (Linux's
//! `tcpi_data_segs_in`): one write is one segment on loopback, and pgwire's
//! own writer made one per BindComplete, CommandComplete and
//! ReadyForQuery. The others send replies that end without ReadyForQuery
//! (a Parse followed by Flush, an error before Sync) and expect them to
//! arrive anyway, and check that a result larger than the buffer streams.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, wire};

/// A raw connection past startup.
fn started(server: &Server) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", server.pg_port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s.write_all(&wire::startup()).unwrap();
    read_until(&mut s, b'Z');
    s
}

/// A frontend message: type byte, length, body.
fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![ty];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Parse of a named statement without declared parameter types.
fn parse(name: &str, sql: &str) -> Vec<u8> {
    let mut body = cstr(name);
    body.extend(cstr(sql));
    body.extend_from_slice(&0i16.to_be_bytes());
    message(b'P', &body)
}

/// Bind of the unnamed portal to `stmt` with text parameters.
fn bind(stmt: &str, params: &[&str]) -> Vec<u8> {
    let mut body = cstr("");
    body.extend(cstr(stmt));
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&(params.len() as i16).to_be_bytes());
    for p in params {
        body.extend_from_slice(&(p.len() as i32).to_be_bytes());
        body.extend_from_slice(p.as_bytes());
    }
    body.extend_from_slice(&0i16.to_be_bytes());
    message(b'B', &body)
}

fn execute() -> Vec<u8> {
    let mut body = cstr("");
    body.extend_from_slice(&0i32.to_be_bytes());
    message(b'E', &body)
}

fn sync() -> Vec<u8> {
    message(b'S', &[])
}

fn flush() -> Vec<u8> {
    message(b'H', &[])
}

/// Reads whole backend messages until one of type `until`; returns their
/// type bytes. Fails on a timeout (a reply held back).
fn read_until(s: &mut TcpStream, until: u8) -> Vec<u8> {
    let mut types = Vec::new();
    loop {
        let mut header = [0u8; 5];
        s.read_exact(&mut header).expect("a reply (none arrived: held back?)");
        let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).unwrap();
        types.push(header[0]);
        if header[0] == until {
            return types;
        }
    }
}

/// Data segments this socket has received so far.
#[cfg(target_os = "linux")]
fn data_segments_in(s: &TcpStream) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: getsockopt writes at most `len` bytes into `info`, a plain
    // C struct that is valid when zeroed.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        assert_eq!(rc, 0, "getsockopt(TCP_INFO)");
        info.tcpi_data_segs_in
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_prepared_query_is_answered_in_one_segment() {
    let server = Server::start();
    let mut s = started(&server);
    s.write_all(&wire::query("CREATE TABLE kv (k int PRIMARY KEY, v text); INSERT INTO kv VALUES (1, 'one')")).unwrap();
    read_until(&mut s, b'Z');
    let mut prepare = parse("get", "SELECT v FROM kv WHERE k = $1");
    prepare.extend(sync());
    s.write_all(&prepare).unwrap();
    assert_eq!(read_until(&mut s, b'Z'), b"1Z");

    let mut worst = 0;
    for _ in 0..20 {
        let before = data_segments_in(&s);
        let mut q = bind("get", &["1"]);
        q.extend(execute());
        q.extend(sync());
        s.write_all(&q).unwrap();
        assert_eq!(read_until(&mut s, b'Z'), b"2DCZ");
        // The segments counted once the whole reply was read.
        worst = worst.max(data_segments_in(&s) - before);
    }
    assert_eq!(worst, 1, "BindComplete, DataRow, CommandComplete and ReadyForQuery in one write");
}

#[test]
fn a_reply_without_ready_for_query_is_not_held_back() {
    let server = Server::start();
    let mut s = started(&server);
    // Parse then Flush: the client waits for ParseComplete with no Sync.
    let mut m = parse("one", "SELECT 1");
    m.extend(flush());
    s.write_all(&m).unwrap();
    assert_eq!(read_until(&mut s, b'1'), b"1");
    // An error in the extended protocol, then Flush: the ErrorResponse.
    let mut m = parse("bad", "SELEC 1");
    m.extend(flush());
    s.write_all(&m).unwrap();
    assert_eq!(read_until(&mut s, b'E'), b"E");
    s.write_all(&sync()).unwrap();
    assert_eq!(read_until(&mut s, b'Z'), b"Z");
    // Bind/Execute with Flush instead of Sync: rows and CommandComplete.
    let mut m = bind("one", &[]);
    m.extend(execute());
    m.extend(flush());
    s.write_all(&m).unwrap();
    assert_eq!(read_until(&mut s, b'C'), b"2DC");
    s.write_all(&sync()).unwrap();
    assert_eq!(read_until(&mut s, b'Z'), b"Z");
}

#[test]
fn a_large_result_streams_past_the_buffer() {
    let server = Server::start();
    let mut s = started(&server);
    s.write_all(&wire::query("SELECT g, repeat('x', 100) FROM generate_series(1, 5000) AS g")).unwrap();
    let types = read_until(&mut s, b'Z');
    assert_eq!(types.iter().filter(|&&t| t == b'D').count(), 5000);
    assert_eq!(types.last(), Some(&b'Z'));
}
