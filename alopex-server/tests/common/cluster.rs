//! Real clusters for multi-process tests: `alopex serve` processes on
//! loopback, each with a certificate made by the real `alopex cert`
//! commands, the `fast` timing profile, and helpers to kill -9, restart,
//! read the REST cluster routes and talk to the `alopex.v1.Kv` gRPC
//! service.
//!
//! A node keeps its data directory and its node-to-node port across
//! restarts, so a restarted node is the same member coming back, not a new
//! one. A node may advertise another address than it listens on (a
//! `udp_proxy` port), which is how the partition tests put a
//! fault-injecting hop between every pair of nodes.

#![allow(dead_code)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use alopex_proto::v1::kv_client::KvClient;
use serde_json::Value;
use tonic::transport::Channel;

use crate::common::Server;

/// A loopback UDP port nobody uses right now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map(|a| a.port()).expect("free udp port")
}

/// Runs `alopex ARGS`, failing the test unless it exits 0.
pub fn alopex(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_alopex")).args(args).output().expect("run alopex");
    assert!(out.status.success(), "alopex {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One node of a test cluster.
pub struct Node {
    /// Its id (in its certificate).
    pub id: u64,
    /// The UDP port QUIC listens on.
    pub listen_port: u16,
    /// The port other nodes reach it at (its proxy's, or `listen_port`).
    pub advertise_port: u16,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its certificate directory.
    pub cert_dir: PathBuf,
    /// Seeds it joins through (`host:port`).
    pub join: Vec<String>,
    /// Extra `alopex serve` flags.
    pub extra: Vec<String>,
    /// The process, while it runs.
    pub server: Option<Server>,
}

impl Node {
    /// The address other nodes reach it at.
    pub fn advertise_addr(&self) -> String {
        format!("127.0.0.1:{}", self.advertise_port)
    }

    fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--listen-addr".to_string(),
            format!("127.0.0.1:{}", self.listen_port),
            "--cluster-cert-dir".into(),
            self.cert_dir.display().to_string(),
            "--cluster-tuning".into(),
            "fast".into(),
        ];
        if self.advertise_port != self.listen_port {
            a.push("--advertise-addr".into());
            a.push(self.advertise_addr());
        }
        if !self.join.is_empty() {
            a.push("--join".into());
            a.push(self.join.join(","));
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Starts (or restarts) the process; returns once its ports listen.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "node {} already runs", self.id);
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.server = Some(Server::start_in(&self.data_dir, &args));
    }

    /// kill -9.
    pub fn kill(&mut self) {
        // Dropping a Server kills it with SIGKILL and reaps it.
        self.server.take();
    }

    /// SIGTERM; the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        self.server.take().and_then(|mut s| s.stop())
    }

    /// Whether it runs.
    pub fn running(&self) -> bool {
        self.server.is_some()
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap_or_else(|| panic!("node {} is not running", self.id))
    }

    /// A Postgres connection string for its SQL port.
    pub fn conn_str(&self) -> String {
        self.server().conn_str()
    }

    /// Its REST base URL.
    pub fn http_url(&self) -> String {
        self.server().http_url()
    }

    /// A KV client connected to its gRPC port.
    pub async fn kv(&self) -> KvClient<Channel> {
        let channel = Channel::from_shared(self.server().grpc_url())
            .expect("url")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect grpc");
        KvClient::new(channel)
    }

    /// `GET path` on its REST API: the JSON body, or why not.
    pub async fn get(&self, path: &str) -> Result<Value, String> {
        let url = format!("{}{path}", self.http_url());
        let r = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if status.is_success() { Ok(body) } else { Err(format!("{status}: {body}")) }
    }

    /// `/v1/cluster/nodes`' node list.
    pub async fn nodes(&self) -> Vec<Value> {
        match self.get("/v1/cluster/nodes").await {
            Ok(v) => v["nodes"].as_array().cloned().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// `/v1/cluster/ranges`' range list (empty while it cannot be read).
    pub async fn ranges(&self) -> Vec<Value> {
        match self.get("/v1/cluster/ranges").await {
            Ok(v) => v["ranges"].as_array().cloned().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }
}

/// One test cluster at a time per test binary: several clusters of
/// processes on two cores would turn timing assertions into load tests.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A test cluster: a CA and the nodes made so far.
pub struct Cluster {
    /// Holds every directory.
    pub dir: tempfile::TempDir,
    ca: PathBuf,
    /// The nodes, by index (node id = index + 1).
    pub nodes: Vec<Node>,
    /// Flags every node gets.
    pub common_flags: Vec<String>,
    /// Held while the cluster lives (declared last: released after the
    /// nodes are killed).
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Cluster {
    /// A new CA, no nodes yet.
    pub fn new(common_flags: &[&str]) -> Cluster {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca");
        alopex(&["cert", "create-ca", "--out", path(&ca)]);
        Cluster {
            dir,
            ca,
            nodes: Vec::new(),
            common_flags: common_flags.iter().map(|s| s.to_string()).collect(),
            _turn: turn,
        }
    }

    /// Defines the next node (not started): its certificate, ports and
    /// seeds (the advertised addresses of the nodes `join` names, by index).
    /// With `advertise_port`, others reach it there instead of its listen port.
    pub fn define(&mut self, join: &[usize], advertise_port: Option<u16>) -> usize {
        let index = self.nodes.len();
        let id = index as u64 + 1;
        let cert_dir = self.dir.path().join(format!("cert{id}"));
        alopex(&[
            "cert",
            "create-node",
            "--ca",
            path(&self.ca),
            "--node-id",
            &id.to_string(),
            "--host",
            "127.0.0.1",
            "--host",
            "localhost",
            "--out",
            path(&cert_dir),
        ]);
        let listen_port = free_udp_port();
        let node = Node {
            id,
            listen_port,
            advertise_port: advertise_port.unwrap_or(listen_port),
            data_dir: self.dir.path().join(format!("data{id}")),
            cert_dir,
            join: join.iter().map(|&j| self.nodes[j].advertise_addr()).collect(),
            extra: self.common_flags.clone(),
            server: None,
        };
        self.nodes.push(node);
        index
    }

    /// Defines and starts the next node.
    pub fn add(&mut self, join: &[usize]) -> usize {
        let i = self.define(join, None);
        self.nodes[i].start();
        i
    }

    /// Restarts a stopped node with every other node as a seed.
    pub fn restart(&mut self, index: usize) {
        let seeds: Vec<String> =
            self.nodes.iter().enumerate().filter(|(i, _)| *i != index).map(|(_, n)| n.advertise_addr()).collect();
        self.nodes[index].join = seeds;
        self.nodes[index].start();
    }

    /// The running nodes' indexes.
    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].running()).collect()
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Polls `f` every 100 ms until it returns `Ok`, failing the test after
/// `timeout` with `what` and the last state `f` described.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    match try_wait_for(what, timeout, f).await {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Like [`wait_for`], but a timeout is an error to report, not a panic.
pub async fn try_wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(last) => {
                if Instant::now() >= deadline {
                    return Err(format!("timed out after {timeout:?} waiting for {what}; last: {last}"));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many `alive` nodes a node list shows.
pub fn alive(nodes: &[Value]) -> usize {
    nodes.iter().filter(|n| n["state"] == "alive").count()
}

/// Decodes the hex of a range bound.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

/// Whether `key` falls in the span of `range` (a `/v1/cluster/ranges` entry).
pub fn in_range(range: &Value, key: &[u8]) -> bool {
    let start = unhex(range["start"].as_str().unwrap_or(""));
    let end = range["end"].as_str().map(unhex);
    key >= start.as_slice() && end.is_none_or(|e| key < e.as_slice())
}

/// Waits until node `node` lists ranges that all have `voters` voters and a
/// leader: the cluster is fully replicated.
pub async fn wait_replicated(node: &Node, voters: usize, timeout: Duration) -> Vec<Value> {
    wait_for("every range fully replicated", timeout, || async move {
        let ranges = node.ranges().await;
        let short: Vec<&Value> = ranges
            .iter()
            .filter(|r| r["voters"].as_array().map_or(0, |v| v.len()) != voters || r["leader"].is_null())
            .collect();
        if !ranges.is_empty() && short.is_empty() { Ok(ranges.clone()) } else { Err(format!("{ranges:?}")) }
    })
    .await
}
