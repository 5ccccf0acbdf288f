//! `alopex node list` and `alopex node decommission <id>`: the cluster's
//! membership from an operator's shell.
//!
//! Both are thin clients of a running node's REST API
//! (`GET /v1/cluster/nodes`, `POST /v1/cluster/nodes/{id}/decommission`)
//! rather than of the data directory or the node-to-node port: any node
//! answers for the whole cluster, the bearer token protects them like
//! every other operator action, and what the command prints is exactly
//! what scripts calling the API see. `list` prints psql's aligned table
//! (the same renderer as `alopex sql`), so the output reads like
//! `SELECT * FROM system.cluster_nodes`. Errors print the API's code and
//! message and exit 1; an unreachable node exits 2.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::table::ResultTable;

/// `alopex node …`.
#[derive(Args)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
    /// The HTTP address of any node of the cluster.
    #[arg(long, global = true, env = "ALOPEX_HTTP_ADDR", default_value = alopex_server::config::DEFAULT_HTTP_ADDR)]
    http_addr: String,
    /// The REST API's bearer token, when the node requires one.
    #[arg(long, global = true, env = "ALOPEX_HTTP_TOKEN")]
    http_token: Option<String>,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Lists the cluster's nodes: state, replica and leader counts.
    List,
    /// Drains a node: its replicas move to the other nodes. Watch
    /// `alopex node list` until its replicas reach 0, then stop it.
    Decommission {
        /// The node id (`3` or `n3`).
        id: String,
    },
}

/// Why a call failed: (exit code, message).
type Failure = (u8, String);

fn base_url(addr: &str) -> String {
    let addr = addr.trim_end_matches('/');
    if addr.starts_with("http://") || addr.starts_with("https://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    }
}

/// Sends the request; the JSON body of a 2xx answer.
async fn call(request: reqwest::RequestBuilder, token: Option<&str>) -> Result<Value, Failure> {
    let request = match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    let response = request.timeout(Duration::from_secs(30)).send().await.map_err(|e| (2, e.to_string()))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| (1, format!("{status}: {e}")))?;
    if status.is_success() {
        return Ok(body);
    }
    let code = body.pointer("/error/code").and_then(Value::as_str).unwrap_or("error");
    let message = body.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
    Err((1, format!("{code}: {message}")))
}

/// The node list as a table.
pub fn nodes_table(body: &Value) -> ResultTable {
    let columns = ["node_id", "addr", "state", "is_self", "decommissioning", "replicas", "leaders"];
    let cell = |v: Option<&Value>| match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Bool(b)) => Some(if *b { "t" } else { "f" }.to_string()),
        Some(other) => Some(other.to_string()),
    };
    let rows = body
        .get("nodes")
        .and_then(Value::as_array)
        .map(|nodes| nodes.iter().map(|n| columns.iter().map(|c| cell(n.get(*c))).collect()).collect())
        .unwrap_or_default();
    ResultTable {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
        numeric: Some(vec![true, false, false, false, false, true, true]),
    }
}

async fn run_async(args: NodeArgs) -> Result<String, Failure> {
    let client = reqwest::Client::new();
    let base = base_url(&args.http_addr);
    let token = args.http_token.as_deref();
    match args.command {
        NodeCommand::List => {
            let body = call(client.get(format!("{base}/v1/cluster/nodes")), token).await?;
            Ok(nodes_table(&body).render())
        }
        NodeCommand::Decommission { id } => {
            // The id goes into the path: keep it to the characters an id has.
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err((1, format!("\"{id}\" is not a node id (a number such as 3, or n3)")));
            }
            let body = call(client.post(format!("{base}/v1/cluster/nodes/{id}/decommission")), token).await?;
            let node = body.get("node_id").map(Value::to_string).unwrap_or(id);
            Ok(format!(
                "node {node} is being decommissioned: its replicas move to other nodes \
                 (watch `alopex node list` until its replicas reach 0)\n"
            ))
        }
    }
}

/// Runs the command; the process exit code.
pub fn run(args: NodeArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alopex: cannot start the runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(run_async(args)) {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err((code, message)) => {
            eprintln!("alopex: {message}");
            code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_table() {
        let body = serde_json::json!({"self_id": 1, "nodes": [
            {"node_id": 1, "addr": "127.0.0.1:7000", "state": "alive", "is_self": true,
             "decommissioning": false, "replicas": 3, "leaders": 2},
            {"node_id": 2, "addr": "127.0.0.1:7001", "state": "down", "is_self": false,
             "decommissioning": true, "replicas": 0, "leaders": 0}
        ]});
        let out = nodes_table(&body).render();
        assert!(out.contains("node_id |"), "{out}");
        assert!(out.contains("127.0.0.1:7001 | down"), "{out}");
        assert!(out.contains("(2 rows)"), "{out}");
        assert_eq!(base_url("127.0.0.1:1/"), "http://127.0.0.1:1");
        assert_eq!(base_url("http://h:1/"), "http://h:1");
    }
}
