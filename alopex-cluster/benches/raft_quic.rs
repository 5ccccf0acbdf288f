//! Committed proposals per second between three **separate processes**
//! over real QUIC with mutual TLS on loopback, for one range group and for
//! 64 groups; and the RPC calls per second that idle groups cost, with and
//! without heartbeat coalescing.
//!
//! Not run in CI. Run with
//! `cargo bench -p alopex-cluster --bench raft_quic` (optionally
//! `-- --seconds 5 --clients 256 --idle-groups 100`; `--window-ms 0` turns
//! heartbeat coalescing off for the proposal runs).
//!
//! `benches/raft_propose.rs` measures the same proposals with three nodes
//! in one process over the in-memory transport; this bench puts each node
//! in its own OS process, so every Raft message crosses a real QUIC
//! connection (TLS, UDP sockets, the kernel) and no two nodes share a
//! tokio runtime or an allocator. The bench binary is its own node
//! program: the parent generates a cluster CA and three node
//! certificates, re-executes itself three times with `--node ID`, and
//! drives the children over their stdin/stdout with one-line commands:
//!
//! ```text
//! child  -> ADDR 127.0.0.1:PORT        (its QUIC endpoint is bound)
//! parent -> PEERS 1=ADDR 2=ADDR 3=ADDR
//! child  -> READY                      (its groups run and know a leader)
//! parent -> IDLE SECS                  child -> IDLE CALLS HEARTBEATS SECS
//! parent -> RUN SECS CLIENTS           child -> DONE PROPOSALS SECS FSYNCS CALLS TERMS
//! parent -> EXIT
//! ```
//!
//! Every node runs every group (three replicas each); group `r` is
//! bootstrapped by node `r % 3 + 1` so leaders spread. A proposal is a
//! `Command::Write` of one 100-byte value proposed on the group's leader
//! (client `c` writes to group `c % groups + 1`; each process runs the
//! clients of the groups it leads) and counts once it is committed and
//! applied there. The engines run with relaxed WAL syncing: the Raft log,
//! fsynced by group commit, is the durable record.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alopex_cluster::raft::command::{Command, WriteOp};
use alopex_cluster::raft::{RaftNode, RaftNodeOptions, RangeSpan};
use alopex_cluster::rpc::{RpcClient, RpcService};
use alopex_cluster::tls::{CertAuthority, NodeIdentity, install_ring_provider};
use alopex_cluster::transport::{Transport, TransportConfig};
use alopex_cluster::{NodeId, RangeId};
use alopex_core::{Engine, Options};
use async_trait::async_trait;
use bytes::Bytes;

struct Args {
    seconds: u64,
    clients: usize,
    idle_groups: u64,
    window_ms: Option<u64>,
}

fn flag<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

fn spans(groups: u64) -> Vec<(RangeId, RangeSpan)> {
    (0..groups)
        .map(|g| {
            let start = if g == 0 { Bytes::new() } else { Bytes::from(format!("g{g:03}")) };
            let end = if g + 1 == groups { None } else { Some(Bytes::from(format!("g{:03}", g + 1))) };
            (RangeId(g + 1), RangeSpan::new(start, end))
        })
        .collect()
}

fn main() {
    if let Some(id) = flag::<u64>("--node") {
        node_main(id);
        return;
    }
    let a = Args {
        seconds: flag("--seconds").unwrap_or(5),
        clients: flag("--clients").unwrap_or(256),
        idle_groups: flag("--idle-groups").unwrap_or(100),
        window_ms: flag("--window-ms"),
    };
    let one = propose(1, &a);
    let many = propose(64, &a);
    println!(
        "proposals over QUIC between 3 processes, {} clients: 1 group {one:.0}/s; 64 groups {many:.0}/s ({:.0}/s per group)",
        a.clients,
        many / 64.0
    );
    if a.idle_groups > 0 {
        let single = idle(a.idle_groups, Some(0));
        let batched = idle(a.idle_groups, None);
        println!(
            "{} idle groups on 3 processes: {single:.0} calls/s with one call per heartbeat, {batched:.0} calls/s coalesced ({:.1}x fewer)",
            a.idle_groups,
            single / batched.max(1.0)
        );
    }
}

// ---------------------------------------------------------------- parent

/// Three child processes of one cluster.
struct Cluster {
    _dir: tempfile::TempDir,
    children: Vec<(Child, ChildStdin, BufReader<std::process::ChildStdout>)>,
}

impl Cluster {
    fn start(groups: u64, window_ms: Option<u64>) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = CertAuthority::generate("raft-quic-bench").expect("CA");
        let exe = std::env::current_exe().expect("own path");
        let mut children = Vec::new();
        let mut addrs = Vec::new();
        for id in 1..=3u64 {
            let d = dir.path().join(format!("n{id}"));
            ca.issue(NodeId(id), &["127.0.0.1".to_string()])
                .expect("cert")
                .write(&d.join("cert"), ca.cert_pem())
                .expect("write cert");
            let mut p = Process::new(&exe);
            p.args(["--node", &id.to_string(), "--dir", &d.display().to_string(), "--groups", &groups.to_string()]);
            if let Some(w) = window_ms {
                p.args(["--window-ms", &w.to_string()]);
            }
            let mut child = p.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("spawn node");
            let stdin = child.stdin.take().expect("stdin");
            let mut out = BufReader::new(child.stdout.take().expect("stdout"));
            let line = read_line(&mut out);
            addrs.push(format!("{id}={}", line.strip_prefix("ADDR ").expect("ADDR line")));
            children.push((child, stdin, out));
        }
        let mut c = Cluster { _dir: dir, children };
        c.send(&format!("PEERS {}", addrs.join(" ")));
        for line in c.answers() {
            assert_eq!(line, "READY");
        }
        c
    }

    fn send(&mut self, line: &str) {
        for (_, stdin, _) in &mut self.children {
            writeln!(stdin, "{line}").expect("write to node");
            stdin.flush().expect("flush");
        }
    }

    fn answers(&mut self) -> Vec<String> {
        self.children.iter_mut().map(|(_, _, out)| read_line(out)).collect()
    }

    fn stop(mut self) {
        self.send("EXIT");
        for (child, _, _) in &mut self.children {
            let _ = child.wait();
        }
    }
}

fn read_line(out: &mut impl BufRead) -> String {
    let mut line = String::new();
    let n = out.read_line(&mut line).expect("read from node");
    assert!(n > 0, "a node process exited");
    line.trim().to_string()
}

fn fields(line: &str, tag: &str) -> Vec<f64> {
    let rest = line.strip_prefix(tag).unwrap_or_else(|| panic!("expected {tag}, got {line:?}"));
    rest.split_whitespace().map(|f| f.parse().expect("number")).collect()
}

fn propose(groups: u64, a: &Args) -> f64 {
    let mut c = Cluster::start(groups, a.window_ms);
    c.send(&format!("RUN {} {}", a.seconds, a.clients));
    let (mut n, mut secs, mut fsyncs, mut calls, mut elections) = (0.0, 0f64, 0.0, 0.0, 0f64);
    for line in c.answers() {
        let f = fields(&line, "DONE");
        n += f[0];
        secs = secs.max(f[1]);
        fsyncs += f[2];
        calls += f[3];
        elections = elections.max(f[4]);
    }
    c.stop();
    let rate = n / secs;
    println!(
        "{groups:>3} group(s), 3 processes over QUIC, {} clients: {n:.0} committed proposals in {secs:.1} s = {rate:.0}/s ({:.0}/s per group); {fsyncs:.0} raft-log fsyncs, {:.0} RPC calls/s, {elections:.0} term changes",
        a.clients,
        rate / groups as f64,
        calls / secs
    );
    rate
}

fn idle(groups: u64, window_ms: Option<u64>) -> f64 {
    let mut c = Cluster::start(groups, window_ms);
    // Let elections and their catch-up traffic pass.
    std::thread::sleep(Duration::from_secs(1));
    c.send("IDLE 3");
    let (mut calls, mut hb, mut secs) = (0.0, 0.0, 0f64);
    for line in c.answers() {
        let f = fields(&line, "IDLE");
        calls += f[0];
        hb += f[1];
        secs = secs.max(f[2]);
    }
    c.stop();
    let label = if window_ms == Some(0) { "one call per heartbeat" } else { "coalesced" };
    println!(
        "{groups} idle groups, 3 processes over QUIC, {label}: {:.0} calls/s carrying {:.0} heartbeats/s",
        calls / secs,
        hb / secs
    );
    calls / secs
}

// ---------------------------------------------------------------- node

/// Routes calls to the Raft node once it exists (the transport is bound
/// first, to learn its address).
#[derive(Default)]
struct Late(parking_lot::RwLock<Option<Arc<RaftNode>>>);

#[async_trait]
impl RpcService for Late {
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
        let node = self.0.read().clone();
        match node {
            Some(n) => n.handle(from, range, method, body).await,
            None => Err("not serving yet".into()),
        }
    }
}

fn node_main(id: u64) {
    let dir = PathBuf::from(flag::<String>("--dir").expect("--dir"));
    let groups = flag::<u64>("--groups").expect("--groups");
    let window = flag::<u64>("--window-ms").map(Duration::from_millis);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(node(NodeId(id), &dir, groups, window));
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

async fn node(id: NodeId, dir: &Path, groups: u64, window: Option<Duration>) {
    install_ring_provider();
    let identity = NodeIdentity::load(&dir.join("cert")).expect("identity");
    let late = Arc::new(Late::default());
    let config = TransportConfig::new("127.0.0.1:0".parse().expect("addr"), identity);
    let transport = Transport::bind(config, Arc::clone(&late) as Arc<dyn RpcService>).expect("bind");
    let engine =
        Engine::open(dir.join("engine"), Options::default().relaxed(Duration::from_millis(20))).expect("engine");
    let mut o = RaftNodeOptions::default();
    o.raft.max_payload_entries = 1000;
    o.heartbeat_window = window;
    let rpc: Arc<dyn RpcClient> = Arc::new(transport.clone());
    let raft = RaftNode::open(id, dir, Arc::new(engine), rpc, o).expect("raft node");
    *late.0.write() = Some(Arc::clone(&raft));
    say(&format!("ADDR {}", transport.local_addr()));

    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let peers = lines.recv().await.expect("PEERS");
    let mut members = Vec::new();
    for p in peers.strip_prefix("PEERS ").expect("PEERS line").split_whitespace() {
        let (n, addr) = p.split_once('=').expect("id=addr");
        let n = NodeId(n.parse().expect("id"));
        transport.set_peer_addr(n, addr.parse().expect("addr"));
        members.push((n, addr.to_string()));
    }
    for (r, s) in spans(groups) {
        if r.0 % 3 + 1 == id.0 {
            raft.bootstrap_group(r, s, &members).await.expect("bootstrap");
        } else {
            raft.start_group(r, s).await.expect("group");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (r, _) in spans(groups) {
        while raft.metrics(r).is_none_or(|m| m.current_leader.is_none()) {
            assert!(Instant::now() < deadline, "no leader for {r}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    say("READY");

    while let Some(line) = lines.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["IDLE", secs] => {
                let secs: u64 = secs.parse().expect("secs");
                let (c0, h0) = (transport.calls_opened(), raft.heartbeat_counts().heartbeats);
                let start = Instant::now();
                tokio::time::sleep(Duration::from_secs(secs)).await;
                let t = start.elapsed().as_secs_f64();
                let (c, h) = (transport.calls_opened() - c0, raft.heartbeat_counts().heartbeats - h0);
                say(&format!("IDLE {c} {h} {t:.3}"));
            }
            ["RUN", secs, clients] => {
                let secs: u64 = secs.parse().expect("secs");
                let clients: u64 = clients.parse().expect("clients");
                say(&run(&raft, &transport, groups, secs, clients).await);
            }
            ["EXIT"] => break,
            other => panic!("unknown command {other:?}"),
        }
    }
    raft.shutdown().await;
    transport.shutdown().await;
}

/// Runs the clients of the groups this node leads for `secs`.
async fn run(raft: &Arc<RaftNode>, transport: &Transport, groups: u64, secs: u64, clients: u64) -> String {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs);
    let value = Bytes::from(vec![b'v'; 100]);
    let terms = |raft: &RaftNode| -> u64 {
        spans(groups).iter().filter_map(|(r, _)| raft.metrics(*r)).map(|m| m.current_term).sum()
    };
    let (f0, c0, t0) = (raft.log().fsyncs(), transport.calls_opened(), terms(raft));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let raft = Arc::clone(raft);
        let done = Arc::clone(&done);
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let g = c % groups + 1;
            let range = RangeId(g);
            let prefix = if g == 1 { String::from("a") } else { format!("g{:03}", g - 1) };
            let mut i = 0u64;
            while Instant::now() < stop {
                if raft.metrics(range).is_none_or(|m| m.state != openraft::ServerState::Leader) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let key = Bytes::from(format!("{prefix}/c{c}/{i}"));
                let cmd = Command::Write { ts: raft.now(), ops: vec![WriteOp::Put { key, value: value.clone() }] };
                if raft.propose(range, cmd).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let t = start.elapsed().as_secs_f64();
    let (f, c) = (raft.log().fsyncs() - f0, transport.calls_opened() - c0);
    format!("DONE {} {t:.3} {f} {c} {}", done.load(Ordering::Relaxed), terms(raft) - t0)
}
