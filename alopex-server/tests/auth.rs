//! Authentication and TLS through real clients: psql with `PGPASSWORD` and
//! `sslmode`, tokio-postgres with a password, against a real `alopex serve`.
//!
//! The rule under test (`src/pg/auth.rs`): trust while no user exists, then
//! SCRAM-SHA-256 for every new connection; wrong passwords and unknown users
//! get the same `28P01`. TLS is offered when a certificate is configured
//! (generated here with rcgen) and refused with `N` otherwise.

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;
use tokio_postgres::NoTls;

fn psql_available() -> bool {
    common::client_available("psql")
}

/// Runs `psql -w` (never prompt) with a connection string and `PGPASSWORD`;
/// returns (success, stdout, stderr).
fn psql(conninfo: &str, password: Option<&str>, sql: &str) -> (bool, String, String) {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql]);
    cmd.env_remove("PGPASSWORD").env_remove("PGSSLMODE").env_remove("PGCHANNELBINDING");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().expect("run psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn conninfo(server: &Server, user: &str, extra: &str) -> String {
    format!("host=127.0.0.1 port={} user={user} dbname=alopex {extra}", server.pg_port)
}

async fn connect(
    server: &Server,
    user: &str,
    password: Option<&str>,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config.host("127.0.0.1").port(server.pg_port).user(user).dbname("alopex");
    if let Some(p) = password {
        config.password(p);
    }
    let (client, conn) = config.connect(NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// The error of a connection attempt that must fail.
async fn refused(server: &Server, user: &str, password: Option<&str>) -> tokio_postgres::Error {
    match connect(server, user, password).await {
        Ok(_) => panic!("{user} got in with {password:?}"),
        Err(e) => e,
    }
}

async fn current_user(client: &tokio_postgres::Client) -> (String, String) {
    let row = client.query_one("SELECT current_user, session_user", &[]).await.expect("current_user");
    (row.get(0), row.get(1))
}

fn code(e: &tokio_postgres::Error) -> Option<&str> {
    e.code().map(|c| c.code())
}

fn message(e: &tokio_postgres::Error) -> String {
    e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{} {}", d.severity(), d.message()))
}

#[tokio::test]
async fn tokio_postgres_trust_until_the_first_user_then_scram() {
    let server = Server::start();
    // No users: trust, whoever the client says it is.
    let first = connect(&server, "alopex", None).await.expect("trust");
    assert_eq!(current_user(&first).await, ("alopex".into(), "alopex".into()));
    first.batch_execute("CREATE USER alice WITH PASSWORD 'correct horse'").await.unwrap();
    let err = first.batch_execute("CREATE USER alice PASSWORD 'x'").await.unwrap_err();
    assert_eq!(code(&err), Some("42710"));
    let err = first.batch_execute("ALTER USER nobody PASSWORD 'x'").await.unwrap_err();
    assert_eq!(code(&err), Some("42704"));

    // The connection that was already open keeps its session.
    assert_eq!(first.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);

    // Every new connection must authenticate now.
    assert!(connect(&server, "alopex", None).await.is_err(), "no password, no entry");
    let alice = connect(&server, "alice", Some("correct horse")).await.expect("right password");
    assert_eq!(current_user(&alice).await, ("alice".into(), "alice".into()));
    let show: String = alice.query_one("SHOW session_authorization", &[]).await.unwrap().get(0);
    assert_eq!(show, "alice");

    let wrong = refused(&server, "alice", Some("battery staple")).await;
    assert_eq!(code(&wrong), Some("28P01"));
    assert_eq!(message(&wrong), "FATAL password authentication failed for user \"alice\"");
    let unknown = refused(&server, "mallory", Some("anything")).await;
    assert_eq!(code(&unknown), Some("28P01"), "an unknown user looks like a wrong password");
    assert_eq!(message(&unknown), "FATAL password authentication failed for user \"mallory\"");

    // A verifier computed on the client side (psql's \password) works as the password.
    let verifier = alopex_sql::users::ScramVerifier::from_password("hashed elsewhere").unwrap();
    alice.batch_execute(&format!("ALTER USER alice PASSWORD '{verifier}'")).await.unwrap();
    assert!(connect(&server, "alice", Some("correct horse")).await.is_err(), "the old password is gone");
    let again = connect(&server, "alice", Some("hashed elsewhere")).await.expect("new password");
    assert_eq!(current_user(&again).await.0, "alice");

    // Dropping the last user returns the server to trust.
    let err = again.batch_execute("DROP USER alice").await.unwrap_err();
    assert_eq!(code(&err), Some("55006"), "a session cannot drop its own user");
    first.batch_execute("DROP USER alice").await.unwrap();
    assert!(connect(&server, "anyone", None).await.is_ok());
}

#[test]
fn psql_with_pgpassword_right_wrong_and_unknown() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql(&conninfo(&server, "alopex", ""), None, "CREATE USER bob PASSWORD 'pw-bob'");
    assert!(ok, "{err}");

    let (ok, out, err) = psql(&conninfo(&server, "bob", ""), Some("pw-bob"), "SELECT current_user");
    assert!(ok, "{err}");
    assert_eq!(out, "bob");

    let (ok, _, err) = psql(&conninfo(&server, "bob", ""), Some("nope"), "SELECT 1");
    assert!(!ok);
    assert!(err.contains("password authentication failed for user \"bob\""), "{err}");
    let (ok, _, err) = psql(&conninfo(&server, "nobody", ""), Some("nope"), "SELECT 1");
    assert!(!ok);
    assert!(err.contains("password authentication failed for user \"nobody\""), "{err}");
    let (ok, _, err) = psql(&conninfo(&server, "bob", ""), None, "SELECT 1");
    assert!(!ok, "-w without a password must not get in");
    assert!(err.contains("password"), "{err}");
}

#[tokio::test]
async fn users_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start_in(&data, &[]);
    let client = connect(&server, "alopex", None).await.unwrap();
    client.batch_execute("CREATE USER carol PASSWORD 'pw-carol'").await.unwrap();
    drop(client);
    assert_eq!(server.stop(), Some(0));

    let server = Server::start_in(&data, &[]);
    assert!(connect(&server, "alopex", None).await.is_err(), "still authenticating after the restart");
    let carol = connect(&server, "carol", Some("pw-carol")).await.expect("carol persisted");
    assert_eq!(current_user(&carol).await.0, "carol");
}

#[tokio::test]
async fn config_file_users_and_scram_mode() {
    let dir = tempfile::tempdir().unwrap();
    let verifier = alopex_sql::users::ScramVerifier::from_password("pw-ops").unwrap();
    let config = dir.path().join("alopex.toml");
    std::fs::write(
        &config,
        format!(
            "auth = \"scram\"\n[[users]]\nname = \"app\"\npassword = \"pw-app\"\n\
             [[users]]\nname = \"ops\"\nverifier = \"{verifier}\"\n"
        ),
    )
    .unwrap();
    let server = Server::start_in(&dir.path().join("data"), &["--config", config.to_str().unwrap()]);
    let app = connect(&server, "app", Some("pw-app")).await.expect("file user with a password");
    assert_eq!(current_user(&app).await.0, "app");
    let ops = connect(&server, "ops", Some("pw-ops")).await.expect("file user with a verifier");
    assert_eq!(current_user(&ops).await.0, "ops");
    let err = refused(&server, "app", Some("wrong")).await;
    assert_eq!(code(&err), Some("28P01"));
}

/// A self-signed certificate for localhost and 127.0.0.1, written as PEM.
fn write_cert(dir: &Path) -> (String, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).expect("certificate");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert.display().to_string(), key.display().to_string())
}

#[test]
fn psql_sslmode_require_against_a_tls_server() {
    if !psql_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert(dir.path());
    let server = Server::start_in(&dir.path().join("data"), &["--tls-cert", &cert, "--tls-key", &key]);

    let (ok, out, err) = psql(&conninfo(&server, "alopex", "sslmode=require"), None, "\\conninfo");
    assert!(ok, "{err}");
    assert!(out.contains("SSL connection (protocol: TLSv1.3"), "{out}");
    // Certificate verification against our own CA file works too.
    let (ok, _, err) =
        psql(&conninfo(&server, "alopex", &format!("sslmode=verify-ca sslrootcert={cert}")), None, "SELECT 1");
    assert!(ok, "{err}");

    // SCRAM over TLS, with channel binding to the server certificate.
    let (ok, _, err) = psql(&conninfo(&server, "alopex", "sslmode=require"), None, "CREATE USER dan PASSWORD 'pw-dan'");
    assert!(ok, "{err}");
    let (ok, out, err) = psql(
        &conninfo(&server, "dan", "sslmode=require channel_binding=require"),
        Some("pw-dan"),
        "SELECT current_user",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "dan");
    // Without TLS, plain SCRAM still works (tls_required is off).
    let (ok, out, err) = psql(&conninfo(&server, "dan", "sslmode=disable"), Some("pw-dan"), "SELECT current_user");
    assert!(ok, "{err}");
    assert_eq!(out, "dan");
    let (ok, _, err) = psql(&conninfo(&server, "dan", "sslmode=require"), Some("wrong"), "SELECT 1");
    assert!(!ok && err.contains("password authentication failed"), "{err}");
}

#[test]
fn tls_required_refuses_cleartext() {
    if !psql_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_cert(dir.path());
    let server =
        Server::start_in(&dir.path().join("data"), &["--tls-cert", &cert, "--tls-key", &key, "--tls-required", "true"]);
    let (ok, _, err) = psql(&conninfo(&server, "alopex", "sslmode=disable"), None, "SELECT 1");
    assert!(!ok);
    assert!(err.contains("requires TLS"), "{err}");
    let (ok, out, err) = psql(&conninfo(&server, "alopex", "sslmode=require"), None, "SELECT 1");
    assert!(ok, "{err}");
    assert_eq!(out, "1");
}

#[test]
fn sslmode_require_against_a_server_without_tls_fails_cleanly() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql(&conninfo(&server, "alopex", "sslmode=require"), None, "SELECT 1");
    assert!(!ok);
    assert!(err.contains("server does not support SSL"), "{err}");
    // The server answered N and keeps serving: sslmode=prefer falls back.
    let (ok, out, err) = psql(&conninfo(&server, "alopex", "sslmode=prefer"), None, "SELECT 1");
    assert!(ok, "{err}");
    assert_eq!(out, "1");
}

#[test]
fn a_bad_certificate_path_stops_startup_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--pg-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0"])
        .args(["--tls-cert", "/nonexistent/server.crt", "--tls-key", "/nonexistent/server.key"])
        .output()
        .expect("run alopex");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read certificate /nonexistent/server.crt"), "{err}");
}
