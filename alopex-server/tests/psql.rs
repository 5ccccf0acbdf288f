//! The server through `psql`, the client most people try first.
//!
//! `psql` comes from Debian's `postgresql-client`, which `.ci/run` installs
//! and then sets `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a missing `psql` fails
//! the test. On a developer machine without it the test says so and passes.

mod common;

use std::process::Command;

use common::Server;

fn psql_available() -> bool {
    let found = Command::new("psql").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(),
            "psql is required (ALOPEX_REQUIRE_CLIENTS) but not installed"
        );
        eprintln!("psql not installed: skipping (CI installs it)");
    }
    found
}

/// Runs psql with `args` against `server`; returns (status ok, stdout, stderr).
fn psql(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .args(args)
        .output()
        .expect("run psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn psql_queries_errors_and_transactions() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, out, err) = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(8,2), added DATE)",
            "-c",
            "INSERT INTO items VALUES (1, 'apple', 0.50, '2024-03-01'), (2, 'pear', NULL, NULL)",
            "-A",
            "-t",
            "-c",
            "SELECT id, name, price, added FROM items ORDER BY id",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "CREATE TABLE\nINSERT 0 2\n1|apple|0.50|2024-03-01\n2|pear||\n");

    // Errors carry their SQLSTATE and position; psql prints them.
    let (ok, _, err) = psql(&server, &["-v", "VERBOSITY=verbose", "-c", "SELECT nope FROM items"]);
    assert!(!ok);
    assert!(err.contains("ERROR:  42703: column \"nope\" does not exist"), "{err}");
    assert!(err.contains("LINE 1: SELECT nope FROM items"), "{err}");

    // A script: a failed statement aborts the block until ROLLBACK.
    let script = "BEGIN;\nINSERT INTO items VALUES (3, 'fig', 1, NULL);\nSELECT 1/0;\nSELECT 1;\nROLLBACK;\nSELECT count(*) FROM items;\n";
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .expect("psql script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "BEGIN\nINSERT 0 1\nROLLBACK\n2\n", "{stderr}");
    assert!(stderr.contains("division by zero"), "{stderr}");
    assert!(stderr.contains("current transaction is aborted"), "{stderr}");
}
