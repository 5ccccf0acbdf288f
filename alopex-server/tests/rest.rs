//! The REST API through a real HTTP client (`reqwest`) against a real
//! `alopex serve`: SQL with parameters, JSON value mapping, errors with
//! SQLSTATEs and HTTP statuses, NDJSON, table introspection, health,
//! metrics, the OpenAPI document, and bearer tokens.

mod common;

use common::Server;
use serde_json::{Value, json};

async fn sql(client: &reqwest::Client, server: &Server, body: Value) -> (u16, Value) {
    let resp = client.post(format!("{}/v1/sql", server.http_url())).json(&body).send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_tables_health_metrics_and_openapi() {
    let server = Server::start();
    let client = reqwest::Client::new();
    let base = server.http_url();

    let health: Value = client.get(format!("{base}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "ok"}));

    let (status, body) = sql(
        &client,
        &server,
        json!({"sql": "CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance NUMERIC(12,2), opened DATE); CREATE INDEX acct_owner ON acct (owner)"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = sql(
        &client,
        &server,
        json!({"sql": "INSERT INTO acct VALUES ($1, $2, $3, $4), (2, 'bo', NULL, NULL)", "params": [1, "al", "10.50", "2024-01-02"]}),
    )
    .await;
    assert_eq!((status, body["rows_affected"].clone(), body["command"].clone()), (200, json!(2), json!("INSERT 0 2")));

    let (status, body) = sql(
        &client,
        &server,
        json!({"sql": "SELECT id, owner, balance, opened FROM acct WHERE id >= $1 ORDER BY id", "params": [1]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "columns": [{"name": "id", "type": "integer"}, {"name": "owner", "type": "text"},
                        {"name": "balance", "type": "numeric(12,2)"}, {"name": "opened", "type": "date"}],
            "rows": [[1, "al", "10.50", "2024-01-02"], [2, "bo", null, null]],
            "rows_affected": 2,
            "command": "SELECT 2"
        })
    );

    // Errors: SQLSTATE in the body, status by class.
    let (status, body) = sql(&client, &server, json!({"sql": "SELECT * FROM nope"})).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!("42P01")));
    assert_eq!(body["error"]["position"], json!(15));
    let (status, body) = sql(&client, &server, json!({"sql": "INSERT INTO acct VALUES (1, 'x', 0, NULL)"})).await;
    assert_eq!((status, body["error"]["code"].clone()), (409, json!("23505")));
    assert_eq!(body["error"]["detail"], json!("Key (id)=(1) already exists."));
    // A malformed request body is a 4xx from the framework, not a crash.
    let resp = client
        .post(format!("{base}/v1/sql"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    // A transaction left open by a request is rolled back.
    let (status, _) = sql(&client, &server, json!({"sql": "BEGIN; DELETE FROM acct"})).await;
    assert_eq!(status, 200);
    let (_, body) = sql(&client, &server, json!({"sql": "SELECT count(*) FROM acct"})).await;
    assert_eq!(body["rows"], json!([[2]]));

    // NDJSON.
    let text = client
        .post(format!("{base}/v1/sql"))
        .header("accept", "application/x-ndjson")
        .json(&json!({"sql": "SELECT id FROM acct ORDER BY id"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1], json!([1]));
    assert_eq!(lines[3], json!({"rows_affected": 2}));

    // Vectors come back as arrays of numbers; parameters take the text form.
    let (status, body) = sql(&client, &server, json!({"sql": "CREATE TABLE v (id INT PRIMARY KEY, e VECTOR(2)); INSERT INTO v VALUES (1, $1)", "params": ["[0.5,2]"]})).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = sql(&client, &server, json!({"sql": "SELECT e FROM v"})).await;
    assert_eq!(body["rows"], json!([[[0.5, 2.0]]]));

    // A checkpoint flushes, building the HNSW graph the search then walks.
    let (status, body) = sql(
        &client,
        &server,
        json!({"sql": "CREATE INDEX v_e ON v USING hnsw (e vector_l2_ops); INSERT INTO v VALUES (2, '[9,9]')"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let resp = client.post(format!("{base}/v1/admin/checkpoint")).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let done: Value = resp.json().await.unwrap();
    assert!(done["elapsed_ms"].is_u64(), "{done}");
    let (_, body) =
        sql(&client, &server, json!({"sql": "SELECT id FROM v ORDER BY e <-> $1 LIMIT 1", "params": ["[8,8]"]})).await;
    assert_eq!(body["rows"], json!([[2]]));

    // Tables.
    let tables: Value = client.get(format!("{base}/v1/tables")).send().await.unwrap().json().await.unwrap();
    assert_eq!(tables, json!([{"name": "acct", "columns": 4}, {"name": "v", "columns": 2}]));
    let acct: Value = client.get(format!("{base}/v1/tables/acct")).send().await.unwrap().json().await.unwrap();
    assert_eq!(acct["primary_key"], json!(["id"]));
    assert_eq!(acct["columns"][1], json!({"name": "owner", "type": "text", "nullable": false, "default": null}));
    assert_eq!(acct["indexes"][0]["name"], json!("acct_owner"));
    let missing = client.get(format!("{base}/v1/tables/nope")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    // Metrics and the OpenAPI document.
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("alopex_statements_total{protocol=\"http\",outcome=\"ok\"}"), "{metrics}");
    assert!(metrics.contains("alopex_commits_total"), "{metrics}");
    let doc: Value = client.get(format!("{base}/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/v1/sql", "/v1/tables", "/v1/tables/{name}", "/v1/admin/checkpoint", "/health"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(&dir.path().join("d"), &["--http-token", "s3cret"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/tables", server.http_url());
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], json!("unauthorized"));
    let resp = client.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = client.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Health stays open for load balancers.
    assert_eq!(client.get(format!("{}/health", server.http_url())).send().await.unwrap().status().as_u16(), 200);
}
