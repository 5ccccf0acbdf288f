//! `DEALLOCATE` through tokio-postgres: one statement by name, an unknown
//! name (26000), and `ALL`. Alone in its file (its own process) because
//! tokio-postgres numbers prepared statements per process.

mod common;

use common::Server;

async fn connect(server: &Server) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_forgets_prepared_statements() {
    let server = Server::start();
    let client = connect(&server).await;
    let one = client.prepare("SELECT 1::INT").await.expect("prepare");
    let two = client.prepare("SELECT 2::INT").await.expect("prepare");
    assert_eq!(client.query_one(&one, &[]).await.expect("run").get::<_, i32>(0), 1);

    // tokio-postgres names statements s0, s1, … per process; this file holds
    // only this test, so the first is s0.
    client.batch_execute("DEALLOCATE s0").await.expect("deallocate one");
    let err = client.query_one(&one, &[]).await.expect_err("the first is gone");
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::from_code("26000")), "{err:?}");
    assert_eq!(client.query_one(&two, &[]).await.expect("the second stays").get::<_, i32>(0), 2);

    let err = client.batch_execute("DEALLOCATE nope").await.expect_err("unknown name");
    assert_eq!(err.code(), Some(&tokio_postgres::error::SqlState::from_code("26000")), "{err:?}");
    client.batch_execute("DEALLOCATE PREPARE ALL;").await.expect("deallocate all");
    assert!(client.query_one(&two, &[]).await.is_err(), "every statement is gone");
    let again = client.prepare("SELECT 3::INT").await.expect("prepare after DEALLOCATE ALL");
    assert_eq!(client.query_one(&again, &[]).await.expect("run").get::<_, i32>(0), 3);
}
