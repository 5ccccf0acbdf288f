//! pgJDBC and node-postgres, unmodified, against a real `alopex serve`:
//! `tests/clients/JdbcClient.java` (compiled here with `javac` against the
//! driver jar) and `tests/clients/node_client.js` (with the `pg` package).
//!
//! Where the clients come from: `ALOPEX_JDBC_JAR` (default
//! `/usr/share/java/postgresql.jar`, Debian's `libpostgresql-jdbc-java`)
//! and `ALOPEX_NODE_PATH` (a `node_modules` directory holding `pg`).
//! `.ci/run` installs both and sets `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a
//! missing client fails its test; elsewhere it is reported and skipped.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Reports a missing client: a failure when clients are required.
fn missing(what: &str) {
    assert!(std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(), "{what} is required (ALOPEX_REQUIRE_CLIENTS)");
    eprintln!("{what} not installed: skipping (CI installs it)");
}

fn works(cmd: &str, arg: &str) -> bool {
    Command::new(cmd).arg(arg).output().is_ok_and(|o| o.status.success())
}

fn check_output(what: &str, out: std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pgjdbc() {
    let jar =
        PathBuf::from(std::env::var("ALOPEX_JDBC_JAR").unwrap_or_else(|_| "/usr/share/java/postgresql.jar".into()));
    if !jar.exists() || !works("javac", "-version") || !works("java", "-version") {
        missing(&format!("pgJDBC ({}) with a JDK", jar.display()));
        return;
    }
    let classes = tempfile::tempdir().expect("tempdir");
    let out = Command::new("javac")
        .arg("-d")
        .arg(classes.path())
        .arg("-cp")
        .arg(&jar)
        .arg(clients_dir().join("JdbcClient.java"))
        .output()
        .expect("run javac");
    check_output("javac", out);
    let server = Server::start();
    let classpath = format!("{}:{}", jar.display(), classes.path().display());
    let out = Command::new("java")
        .args(["-cp", &classpath, "JdbcClient", &server.pg_port.to_string()])
        .output()
        .expect("run java");
    check_output("JdbcClient", out);
}

#[test]
fn node_postgres() {
    let node_path = std::env::var("ALOPEX_NODE_PATH").unwrap_or_default();
    let has_pg = !node_path.is_empty() && Path::new(&node_path).join("pg").is_dir();
    if !has_pg || !works("node", "--version") {
        missing("node with the pg package (ALOPEX_NODE_PATH)");
        return;
    }
    let server = Server::start();
    let out = Command::new("node")
        .arg(clients_dir().join("node_client.js"))
        .arg(server.pg_port.to_string())
        .env("NODE_PATH", &node_path)
        .output()
        .expect("run node");
    check_output("node_client.js", out);
}
