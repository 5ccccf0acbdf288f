//! Python clients against a real `alopex serve`: the scripts in
//! `tests/clients/` run with the interpreter in `ALOPEX_PYTHON` (default
//! `python3`).
//!
//! `.ci/run` creates a virtual environment with the client packages and
//! sets `ALOPEX_PYTHON` and `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a missing
//! package fails the test. Elsewhere, a missing package is reported and the
//! test passes.

mod common;

use std::path::Path;
use std::process::Command;

use common::Server;

fn python() -> String {
    std::env::var("ALOPEX_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Whether `module` imports; fails if it does not and clients are required.
fn has_module(module: &str) -> bool {
    let ok =
        Command::new(python()).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(),
            "python module {module} is required (ALOPEX_REQUIRE_CLIENTS) but cannot be imported by {}",
            python()
        );
        eprintln!("python module {module} not installed: skipping (CI installs it)");
    }
    ok
}

fn run_script(script: &str, server: &Server) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
    let out = Command::new(python()).arg(&path).arg(server.pg_port.to_string()).output().expect("run python");
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn psycopg3() {
    if !has_module("psycopg") {
        return;
    }
    let server = Server::start();
    run_script("psycopg_client.py", &server);
}

#[test]
fn sqlalchemy2() {
    if !has_module("psycopg") || !has_module("sqlalchemy") {
        return;
    }
    let server = Server::start();
    run_script("sqlalchemy_client.py", &server);
}
