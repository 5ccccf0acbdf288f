//! Python clients against a real `alopex serve`: the scripts in
//! `tests/clients/` run with the interpreter in `ALOPEX_PYTHON` (default
//! `python3`).
//!
//! `.ci/run` creates a virtual environment with the client packages and
//! sets `ALOPEX_PYTHON` and `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a missing
//! package fails the test. Elsewhere, a missing package is reported and the
//! test passes.

mod common;

use common::Server;
use common::python::{has_module, run_script};

#[test]
fn psycopg3() {
    if !has_module("psycopg") {
        return;
    }
    let server = Server::start();
    run_script("psycopg_client.py", &[&server.pg_port.to_string()]);
}

#[test]
fn sqlalchemy2() {
    if !has_module("psycopg") || !has_module("sqlalchemy") {
        return;
    }
    let server = Server::start();
    run_script("sqlalchemy_client.py", &[&server.pg_port.to_string()]);
}
