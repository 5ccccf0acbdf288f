//! Cancel requests and vanished clients stop a running statement.
//!
//! Each test starts a statement that would run for minutes (a cross join of
//! a 10,000-row table with itself and more), then stops it the way a real
//! client does: tokio-postgres' `cancel_token()`, psql on SIGINT (Ctrl-C),
//! a raw CancelRequest carrying the BackendKeyData from startup, or the
//! client simply closing its socket. The statement must fail with
//! `57014 canceling statement due to user request` within seconds, and
//! the connection (and the server) must go on working.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, wire};
use tokio_postgres::{Client, NoTls};

/// Minutes of work without a cancel (10^4 × 10^4 × 10 pairs).
const SLOW: &str = "SELECT count(*) FROM big a, big b, digits c";

async fn connect(server: &Server) -> Client {
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// `digits(d)` holds 0..9 and `big(n)` 0..9999.
async fn fill(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE digits (d INT PRIMARY KEY);
             INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
             CREATE TABLE big (n INT PRIMARY KEY);
             INSERT INTO big SELECT a.d * 1000 + b.d * 100 + c.d * 10 + d.d
               FROM digits a, digits b, digits c, digits d;
             CREATE TABLE kv (k INT PRIMARY KEY, v TEXT);
             INSERT INTO kv VALUES (1, 'before');",
        )
        .await
        .expect("fill");
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// Runs `sql`, which `canceler` cancels (returning when it sent the
/// cancel); the error, and how long after the cancel the statement stopped.
async fn run_until_canceled(
    client: &tokio_postgres::Client,
    sql: &str,
    limit: Duration,
    canceler: tokio::task::JoinHandle<Instant>,
) -> (tokio_postgres::Error, Duration) {
    let err = tokio::time::timeout(limit, client.simple_query(sql))
        .await
        .expect("the cancel stops the statement in time")
        .expect_err("canceled");
    let stopped = Instant::now();
    let sent = canceler.await.unwrap();
    (err, stopped - sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_token_stops_the_statement_and_the_session_goes_on() {
    let server = Server::start();
    let client = connect(&server).await;
    fill(&client).await;

    // Autocommit: the statement fails with 57014, the session is idle.
    let token = client.cancel_token();
    let canceler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        token.cancel_query(NoTls).await.expect("send cancel");
        Instant::now()
    });
    let (err, after_cancel) = run_until_canceled(&client, SLOW, Duration::from_secs(20), canceler).await;
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    assert_eq!(err.as_db_error().map(|e| e.message()), Some("canceling statement due to user request"));
    assert!(after_cancel < Duration::from_secs(5), "took {after_cancel:?} after the cancel");
    let n: i64 = client.query_one("SELECT count(*) FROM big", &[]).await.unwrap().get(0);
    assert_eq!(n, 10_000);

    // Extended protocol, inside a block: the block is failed (25P02) until
    // ROLLBACK, which undoes the write made before the cancel.
    client.batch_execute("BEGIN; UPDATE kv SET v = 'lost' WHERE k = 1").await.unwrap();
    let token = client.cancel_token();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = token.cancel_query(NoTls).await;
    });
    let err = tokio::time::timeout(Duration::from_secs(20), client.query(SLOW, &[])).await.unwrap().unwrap_err();
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    let err = client.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&err), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    let v: String = client.query_one("SELECT v FROM kv WHERE k = 1", &[]).await.unwrap().get(0);
    assert_eq!(v, "before");

    // A cancel between statements hits nothing later.
    client.cancel_token().cancel_query(NoTls).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let n: i64 = client.query_one("SELECT count(*) FROM big a, digits b", &[]).await.unwrap().get(0);
    assert_eq!(n, 100_000);
}

/// A statement whose shape proved short runs on its connection's task
/// (`pg/placement.rs`), where pgwire cannot drop it; a cancel request must
/// stop it all the same, and other clients are served meanwhile. The
/// budget is raised so that the short runs qualify even in a debug build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_running_on_its_connection_task_is_cancelled_too() {
    let server = Server::start_env(&[("ALOPEX_PG_INLINE_BUDGET_US", "10000000")]);
    let client = connect(&server).await;
    fill(&client).await;
    // The same shape, short twice (no row of `a` qualifies): it now runs inline.
    let short = "SELECT count(*) FROM big a, big b, digits c WHERE a.n < 0";
    for _ in 0..3 {
        client.simple_query(short).await.unwrap();
    }
    let token = client.cancel_token();
    let other = connect(&server).await;
    let canceler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Another client is served while the statement holds a runtime thread.
        let n: i64 = tokio::time::timeout(Duration::from_secs(10), other.query_one("SELECT count(*) FROM digits", &[]))
            .await
            .expect("another client is served meanwhile")
            .unwrap()
            .get(0);
        assert_eq!(n, 10);
        token.cancel_query(NoTls).await.expect("send cancel");
        Instant::now()
    });
    let long = "SELECT count(*) FROM big a, big b, digits c WHERE a.n < 10000";
    let (err, after_cancel) = run_until_canceled(&client, long, Duration::from_secs(30), canceler).await;
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    assert!(after_cancel < Duration::from_secs(5), "took {after_cancel:?} after the cancel");
    let n: i64 = client.query_one("SELECT count(*) FROM big", &[]).await.unwrap().get(0);
    assert_eq!(n, 10_000);
}

/// Reads backend messages until ReadyForQuery; returns them as (type, body).
fn read_until_ready(s: &mut TcpStream) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let mut head = [0u8; 5];
        if s.read_exact(&mut head).is_err() {
            return out;
        }
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).expect("message body");
        let done = head[0] == b'Z';
        out.push((head[0], body));
        if done {
            return out;
        }
    }
}

fn cancel_request(port: u16, pid: i32, secret: i32) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect for cancel");
    let mut msg = 16i32.to_be_bytes().to_vec();
    msg.extend_from_slice(&80877102i32.to_be_bytes());
    msg.extend_from_slice(&pid.to_be_bytes());
    msg.extend_from_slice(&secret.to_be_bytes());
    s.write_all(&msg).unwrap();
    // The server closes the cancel connection without a reply.
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "a cancel request gets no reply");
}

#[test]
fn backend_key_data_is_issued_and_a_wrong_secret_cancels_nothing() {
    let server = Server::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { fill(&connect(&server).await).await });

    let mut s = TcpStream::connect(("127.0.0.1", server.pg_port)).unwrap();
    s.write_all(&wire::startup()).unwrap();
    let hello = read_until_ready(&mut s);
    let key = hello.iter().find(|(t, _)| *t == b'K').expect("BackendKeyData at startup");
    assert_eq!(key.1.len(), 8, "protocol 3.0: pid and a 4-byte secret");
    let pid = i32::from_be_bytes(key.1[0..4].try_into().unwrap());
    let secret = i32::from_be_bytes(key.1[4..8].try_into().unwrap());

    s.write_all(&wire::query(SLOW)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Wrong secret, then wrong pid: the statement keeps running.
    cancel_request(server.pg_port, pid, secret.wrapping_add(1));
    cancel_request(server.pg_port, pid.wrapping_add(1), secret);
    s.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let mut byte = [0u8; 1];
    let early = s.read(&mut byte);
    assert!(early.is_err(), "no answer yet: the statement still runs ({early:?})");
    // The right pair stops it.
    cancel_request(server.pg_port, pid, secret);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let reply = read_until_ready(&mut s);
    let error = reply.iter().find(|(t, _)| *t == b'E').expect("an ErrorResponse");
    let fields = String::from_utf8_lossy(&error.1);
    assert!(fields.contains("C57014"), "{fields}");
    assert!(fields.contains("canceling statement due to user request"), "{fields}");
    // The connection still serves.
    s.write_all(&wire::query("SELECT count(*) FROM digits")).unwrap();
    let reply = read_until_ready(&mut s);
    assert!(reply.iter().any(|(t, body)| *t == b'D' && body.ends_with(b"10")), "{reply:?}");
}

#[test]
fn psql_ctrl_c_cancels_the_running_statement() {
    let found = Command::new("psql").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(), "psql is required but not installed");
        eprintln!("psql not installed: skipping (CI installs it)");
        return;
    }
    let server = Server::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async { fill(&connect(&server).await).await });
    let child = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .args(["-c", SLOW])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql");
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(sent.elapsed() < Duration::from_secs(10), "psql waited {:?}", sent.elapsed());
    assert!(err.contains("canceling statement due to user request"), "psql said: {err}");
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_up_mid_statement_frees_its_worker_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    // One worker: if the abandoned statement kept running, nothing else would.
    let server = Server::start_in(&dir.path().join("data"), &["--workers", "1"]);
    let client = connect(&server).await;
    fill(&client).await;

    let mut s = TcpStream::connect(("127.0.0.1", server.pg_port)).unwrap();
    s.write_all(&wire::startup()).unwrap();
    read_until_ready(&mut s);
    s.write_all(&wire::query("BEGIN; UPDATE kv SET v = 'lost' WHERE k = 1;")).unwrap();
    read_until_ready(&mut s);
    s.write_all(&wire::query(SLOW)).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(s);

    let started = Instant::now();
    let v: String =
        tokio::time::timeout(Duration::from_secs(10), client.query_one("SELECT v FROM kv WHERE k = 1", &[]))
            .await
            .expect("the worker is freed")
            .unwrap()
            .get(0);
    assert_eq!(v, "before");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // Its transaction is gone: this write does not conflict.
    assert_eq!(client.execute("UPDATE kv SET v = 'after' WHERE k = 1", &[]).await.unwrap(), 1);
}
