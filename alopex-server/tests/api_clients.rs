//! The REST and gRPC APIs driven by clients that know only what the server
//! publishes: `schemathesis` fuzzes the REST API from its OpenAPI document,
//! and a Python `grpcio` client lists and calls the gRPC service through
//! server reflection, the way `grpcurl` does.
//!
//! Both are Python packages: `.ci/run` installs them in its virtual
//! environment and sets `ALOPEX_PYTHON`; see `python_clients.rs` for the
//! skip rule outside CI.

mod common;

use std::process::Command;

use common::Server;
use common::python::{has_module, python, run_script};

/// Schemathesis generates requests from `/v1/openapi.json` (valid ones,
/// and ones that break the schema) and checks every answer against the
/// document: documented status codes and content types, response bodies
/// that match their schemas, no 5xx, and rejection of invalid input. The
/// server runs with a bearer token, so the document and every route are
/// reached through it.
///
/// One check is left out: `positive_data_acceptance` expects every
/// schema-valid request to succeed, but a body can be valid JSON and still
/// carry SQL that fails (a syntax error is a documented 400).
#[tokio::test]
async fn schemathesis_fuzzes_the_rest_api_from_its_openapi_document() {
    if !has_module("schemathesis") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("d"), &["--http-token", "fuzz"]);
    // Some tables, so that the introspection routes have something to say.
    let setup = reqwest::Client::new()
        .post(format!("{}/v1/sql", server.http_url()))
        .bearer_auth("fuzz")
        .json(&serde_json::json!({"sql": "CREATE TABLE t (id INT PRIMARY KEY, v VECTOR(2)); CREATE INDEX ON t (id)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200, "setup SQL failed");
    let out = Command::new(python())
        .args(["-c", "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())"])
        .args(["run", &format!("{}/v1/openapi.json", server.http_url())])
        .args(["-H", "Authorization: Bearer fuzz"])
        .args(["--max-examples", "200", "--seed", "20261121", "--workers", "1"])
        .args(["--exclude-checks", "positive_data_acceptance"])
        // The stateful phase (chains of calls) runs until the time budget.
        .args(["--request-timeout", "30", "--max-time", "60"])
        .env("NO_COLOR", "1")
        // Schemathesis keeps a cache in its working directory: not in the tree.
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout.lines().rev().take(12).collect();
    eprintln!("{}", summary.into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("passed"), "schemathesis ran no test cases:\n{stdout}");
}

/// A reflection-only gRPC client: lists the services (ours and health),
/// builds the messages from the descriptors the server returns, and calls
/// Execute, the streaming Query (a nearest-neighbour search), a transaction
/// and a failing statement whose status carries its SQLSTATE.
#[test]
fn grpcio_client_through_server_reflection() {
    if !has_module("grpc") || !has_module("grpc_reflection") || !has_module("grpc_health") {
        return;
    }
    let server = Server::start();
    let out = run_script("grpc_reflection_client.py", &[&server.grpc_port.to_string()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("grpc reflection client: ok"));
}
