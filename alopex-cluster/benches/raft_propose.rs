//! Committed proposals per second on three in-process nodes (in-memory
//! transport, real files: each node has its own engine, shared Raft log and
//! snapshot directory), for one range group and for 64 groups.
//!
//! Not run in CI. Run with
//! `cargo bench -p alopex-cluster --bench raft_propose` (optionally
//! `-- --seconds 5 --clients 256`).
//!
//! A proposal counts when the leader has it committed and applied (a
//! `Command::Write` of one 100-byte value). The engines run with relaxed WAL
//! syncing: the Raft log, fsynced by group commit, is the durable record.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alopex_cluster::raft::command::{Command, WriteOp};
use alopex_cluster::raft::{LocalNetwork, RaftNode, RaftNodeOptions, RangeSpan};
use alopex_cluster::rpc::RpcService;
use alopex_cluster::{NodeId, RangeId};
use alopex_core::{Engine, Options};
use bytes::Bytes;

struct Args {
    seconds: u64,
    clients: usize,
}

fn args() -> Args {
    let mut a = Args { seconds: 5, clients: 256 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.seconds),
            "--clients" => a.clients = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.clients),
            _ => {} // cargo bench passes --bench
        }
    }
    a
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

async fn cluster(dir: &std::path::Path, groups: u64) -> (Arc<LocalNetwork>, Vec<Arc<RaftNode>>) {
    let net = LocalNetwork::new();
    let mut nodes = Vec::new();
    for id in 1..=3u64 {
        let d = dir.join(format!("n{id}"));
        let opts = Options::default().relaxed(Duration::from_millis(20));
        let engine = Arc::new(Engine::open(d.join("engine"), opts).expect("engine"));
        let mut ro = RaftNodeOptions::default();
        ro.raft.max_payload_entries = 1000;
        let node = RaftNode::open(NodeId(id), &d, engine, net.client(NodeId(id)), ro).expect("node");
        net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
        for (r, s) in spans(groups) {
            node.start_group(r, s).await.expect("group");
        }
        nodes.push(node);
    }
    let members: Vec<(NodeId, String)> = (1..=3).map(|i| (NodeId(i), format!("node{i}"))).collect();
    for (r, s) in spans(groups) {
        // Spread the leaders: bootstrap each group from a different node.
        let n = &nodes[(r.0 as usize) % 3];
        n.bootstrap_group(r, s, &members).await.expect("bootstrap");
    }
    for (r, _) in spans(groups) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while nodes.iter().all(|n| n.metrics(r).is_none_or(|m| m.state != openraft::ServerState::Leader)) {
            assert!(Instant::now() < deadline, "no leader for {r}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    (net, nodes)
}

async fn run(groups: u64, a: &Args) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_net, nodes) = cluster(dir.path(), groups).await;
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(a.seconds);
    let value = Bytes::from(vec![b'v'; 100]);
    let fsyncs_before: u64 = nodes.iter().map(|n| n.log().fsyncs()).sum();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let nodes = nodes.clone();
        let done = Arc::clone(&done);
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let g = (c as u64 % groups) + 1;
            let range = RangeId(g);
            let prefix = if g == 1 { String::from("a") } else { format!("g{:03}", g - 1) };
            let mut i = 0u64;
            while Instant::now() < stop {
                let Some(leader) =
                    nodes.iter().find(|n| n.metrics(range).is_some_and(|m| m.state == openraft::ServerState::Leader))
                else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let key = Bytes::from(format!("{prefix}/c{c}/{i}"));
                let cmd = Command::Write { ts: leader.now(), ops: vec![WriteOp::Put { key, value: value.clone() }] };
                if leader.propose(range, cmd).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let fsyncs: u64 = nodes.iter().map(|n| n.log().fsyncs()).sum::<u64>() - fsyncs_before;
    let rate = n as f64 / secs;
    println!(
        "{groups:>3} group(s), 3 nodes, {} clients: {n} committed proposals in {secs:.1} s = {rate:.0}/s ({:.0}/s per group); {fsyncs} raft-log fsyncs on 3 nodes",
        a.clients,
        rate / groups as f64
    );
    for node in &nodes {
        node.shutdown().await;
    }
    rate
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        run(1, &a).await;
        run(64, &a).await;
    });
}
