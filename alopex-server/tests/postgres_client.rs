//! The server through a real Rust Postgres client (`tokio-postgres`): the
//! extended protocol with typed parameters in binary format, result types,
//! transactions, SQLSTATEs, portal row limits, and a clean shutdown that
//! keeps every committed row.

mod common;

use common::Server;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, SimpleQueryMessage};

async fn connect(server: &Server) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_protocol_types_transactions_and_errors() {
    let mut server = Server::start();
    let client = connect(&server).await;
    client
        .batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score DOUBLE PRECISION, \
             amount NUMERIC(10,2), born DATE, seen TIMESTAMP, big BIGINT, flag BOOLEAN, small SMALLINT)",
        )
        .await
        .expect("create");
    let insert = client.prepare("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)").await.expect("prepare");
    assert_eq!(insert.params().len(), 9);
    assert_eq!(insert.params()[0], tokio_postgres::types::Type::INT4);
    let born = chrono::NaiveDate::from_ymd_opt(1990, 5, 17).unwrap();
    let seen = born.and_hms_opt(12, 30, 0).unwrap();
    let amount = rust_decimal::Decimal::new(12345, 2);
    for i in 1..=5i32 {
        let n = client
            .execute(
                &insert,
                &[
                    &i,
                    &format!("n{i}"),
                    &(i as f64 / 2.0),
                    &amount,
                    &born,
                    &seen,
                    &(1i64 << 40),
                    &(i % 2 == 0),
                    &(i as i16),
                ],
            )
            .await
            .expect("insert");
        assert_eq!(n, 1);
    }
    let rows = client
        .query(
            "SELECT id, name, score, amount, born, seen, big, flag, small FROM t WHERE id >= $1 ORDER BY id",
            &[&4i32],
        )
        .await
        .expect("select");
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.get::<_, i32>(0), 4);
    assert_eq!(r.get::<_, String>(1), "n4");
    assert_eq!(r.get::<_, f64>(2), 2.0);
    assert_eq!(r.get::<_, rust_decimal::Decimal>(3), amount);
    assert_eq!(r.get::<_, chrono::NaiveDate>(4), born);
    assert_eq!(r.get::<_, chrono::NaiveDateTime>(5), seen);
    assert_eq!(r.get::<_, i64>(6), 1 << 40);
    assert!(r.get::<_, bool>(7));
    assert_eq!(r.get::<_, i16>(8), 4);

    // SQLSTATEs pass through.
    let err = client
        .execute(&insert, &[&1i32, &"dup", &0f64, &amount, &born, &seen, &0i64, &false, &0i16])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION));
    let err = client.query("SELECT 1/0", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::DIVISION_BY_ZERO));
    let err = client.query("SELECT * FROM missing", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE));
    let err = client.query("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::SYNTAX_ERROR));

    // A transaction, rolled back and committed; an aborted block refuses
    // statements until ROLLBACK.
    client.batch_execute("BEGIN").await.unwrap();
    client.execute("DELETE FROM t WHERE id = 1", &[]).await.unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    assert!(client.query("SELECT nope FROM t", &[]).await.is_err());
    let err = client.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    client.batch_execute("ROLLBACK").await.unwrap();
    let count: i64 = client.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(count, 5);

    // The simple protocol: several statements, results in text.
    let msgs = client
        .simple_query("UPDATE t SET score = 0 WHERE id < 3; SELECT count(*) FROM t WHERE score = 0")
        .await
        .unwrap();
    let counts: Vec<&str> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0),
            _ => None,
        })
        .collect();
    assert_eq!(counts, vec!["2"]);

    // Portals with a row limit (a cursor-like fetch).
    let mut client = client;
    let txn = client.transaction().await.unwrap();
    let portal = txn.bind("SELECT id FROM t ORDER BY id", &[]).await.unwrap();
    let first = txn.query_portal(&portal, 2).await.unwrap();
    let rest = txn.query_portal(&portal, 10).await.unwrap();
    assert_eq!((first.len(), rest.len()), (2, 3));
    assert_eq!(rest[0].get::<_, i32>(0), 3);
    txn.commit().await.unwrap();

    // A clean shutdown exits 0, and a restart finds every row.
    drop(client);
    assert_eq!(server.stop(), Some(0));
    let dir = server.data_dir.clone();
    let server2 = Server::start_in(&dir, &[]);
    let client = connect(&server2).await;
    let count: i64 = client.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
    assert_eq!(count, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_and_out_through_the_extended_protocol() {
    use futures::{SinkExt, StreamExt};
    let server = Server::start();
    let client = connect(&server).await;
    client.batch_execute("CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC(8,2))").await.unwrap();
    let sink = client.copy_in("COPY c (id, name, amount) FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    // 10,000 rows in uneven chunks that split lines.
    let data: String = (0..10_000).map(|i| format!("{i}\tname {i}\t{}.25\n", i % 100)).collect();
    for chunk in data.as_bytes().chunks(1777) {
        sink.send(bytes::Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 10_000);
    let row = client.query_one("SELECT count(*), sum(amount) FROM c", &[]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 10_000);
    // A bad row fails the whole COPY: nothing of it stays.
    let sink = client.copy_in("COPY c FROM STDIN").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"20000\tok\t1\n20001\tbad\tnope\n")).await.unwrap();
    let err = sink.finish().await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INVALID_TEXT_REPRESENTATION), "{err}");
    let n: i64 = client.query_one("SELECT count(*) FROM c", &[]).await.unwrap().get(0);
    assert_eq!(n, 10_000);
    // COPY TO STDOUT.
    let stream = client
        .copy_out("COPY (SELECT id, name FROM c WHERE id < 3 ORDER BY id) TO STDOUT WITH (FORMAT csv)")
        .await
        .unwrap();
    let chunks: Vec<bytes::Bytes> = stream.map(|r| r.unwrap()).collect().await;
    let text: String = chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert_eq!(text, "0,name 0\n1,name 1\n2,name 2\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("d"), &["--max-connections", "1"]);
    let _first = connect(&server).await;
    let err = tokio_postgres::connect(&server.conn_str(), NoTls).await.err().expect("second connection refused");
    assert_eq!(err.code(), Some(&SqlState::TOO_MANY_CONNECTIONS), "{err}");
}
