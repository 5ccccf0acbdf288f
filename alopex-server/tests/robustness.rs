//! Bad clients do not hurt good ones: garbage bytes, truncated and
//! oversized messages, and clients that vanish mid-query each leave the
//! server serving everyone else, with no lost data and no transaction left
//! open.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, wire};
use tokio_postgres::NoTls;

fn raw(server: &Server) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.pg_port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// A raw connection past startup.
fn started(server: &Server) -> TcpStream {
    let mut s = raw(server);
    s.write_all(&wire::startup()).unwrap();
    read_until_ready(&mut s);
    s
}

/// Sends a simple Query message.
fn send_query(s: &mut TcpStream, sql: &str) {
    s.write_all(&wire::query(sql)).unwrap();
}

/// Reads until ReadyForQuery ('Z') or the connection ends.
fn read_until_ready(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return all,
            Ok(n) => {
                all.extend_from_slice(&buf[..n]);
                if all.windows(6).any(|w| w[0] == b'Z' && w[1..5] == [0, 0, 0, 5]) {
                    return all;
                }
            }
        }
    }
}

async fn healthy(server: &Server) -> i64 {
    let (client, conn) =
        tokio_postgres::connect(&server.conn_str(), NoTls).await.expect("a good client still connects");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client.query_one("SELECT count(*) FROM t", &[]).await.expect("and is served").get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_clients_leave_the_server_serving() {
    let server = Server::start();
    {
        let (client, conn) = tokio_postgres::connect(&server.conn_str(), NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)").await.unwrap();
        client.batch_execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')").await.unwrap();
    }

    // Garbage before startup.
    let mut s = raw(&server);
    let _ = s.write_all(b"\xde\xad\xbe\xef garbage that is not a startup packet \x00\x01\x02");
    let _ = s.read(&mut [0u8; 256]);
    drop(s);
    assert_eq!(healthy(&server).await, 2);

    // Garbage after startup: an unknown message type.
    let mut s = started(&server);
    let _ = s.write_all(b"\x07\x00\x00\x00\x08abcd");
    let _ = s.read(&mut [0u8; 256]);
    drop(s);
    assert_eq!(healthy(&server).await, 2);

    // A truncated Query message, then the client goes away.
    let mut s = started(&server);
    s.write_all(b"Q\x00\x00\x00\x40SELECT 1").unwrap();
    drop(s);
    assert_eq!(healthy(&server).await, 2);

    // An oversized message length.
    let mut s = started(&server);
    let _ = s.write_all(b"Q\x7f\xff\xff\xff");
    let _ = s.write_all(&[b'x'; 1024]);
    let _ = s.read(&mut [0u8; 256]);
    drop(s);
    assert_eq!(healthy(&server).await, 2);

    // A client that opens a transaction, writes, and vanishes: its writes
    // are rolled back, and the rows it touched are free for others.
    let mut s = started(&server);
    send_query(&mut s, "BEGIN; UPDATE t SET v = 'lost' WHERE id = 1; INSERT INTO t VALUES (3, 'lost');");
    read_until_ready(&mut s);
    drop(s);
    // A client that vanishes before reading its query's result.
    let mut s = started(&server);
    send_query(&mut s, "SELECT count(*) FROM t a, t b, t c, t d, t e, t f, t g, t h, t i, t j, t k;");
    drop(s);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let rows = client.query("SELECT id, v FROM t ORDER BY id", &[]).await.unwrap();
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, vec![(1, "a".to_string()), (2, "b".to_string())]);
    // The abandoned transaction holds nothing: this update commits.
    assert_eq!(client.execute("UPDATE t SET v = 'ok' WHERE id = 1", &[]).await.unwrap(), 1);
}
