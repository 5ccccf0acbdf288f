//! Whole cluster nodes over real QUIC with mutual TLS on loopback: write
//! throughput of three nodes (three replicas of every range) as a ratio of
//! one node (one replica), and the time to re-create a dead node's
//! replicas on a new node.
//!
//! Not run in CI. Run with
//! `cargo bench -p alopex-cluster --bench cluster_nodes` (optionally
//! `-- --seconds 10 --clients 64 --rereplicate-mb 1024`).
//!
//! - **Throughput.** `clients` concurrent writers put 100-byte values under
//!   random keys through the nodes' gateways (spread round-robin over the
//!   nodes) for `seconds`; a put counts when the gateway has it
//!   acknowledged (committed by a quorum of the range and applied by its
//!   leader). Ranges split at 16 MiB, as a real table would; both runs
//!   start from an empty cluster. Printed: puts/s for each, and the ratio
//!   3 nodes ÷ 1 node (the issue's target is at least 0.5×).
//! - **Re-replication.** The three-node cluster is loaded with
//!   `rereplicate-mb` of 4 KiB values, one of the three is shut down and
//!   a fourth node joins in its place, and the clock runs from the shutdown until
//!   every range has three voters again, none of them the dead node, a
//!   leader, and every voter running its group (down timeout 2 s, included
//!   in the time). Printed: the time and MB/s. The load is not over until
//!   every voter of every range runs its group, so stopping a node never
//!   leaves a range with fewer working copies than the count says.
//!
//! With `ALOPEX_BENCH_WATCH=1`, the load prints every 250 ms how each node
//! sees the newest range (role, term, leader, log, commit and apply
//! indexes), and `RUST_LOG=alopex_cluster=info` shows splits and placement
//! moves: the tools that found why puts to a range born by a split could
//! stall for the gateway's whole deadline.
//!
//! All nodes run in this process on the `fast` timing profile (periods
//! shrunk for loopback; throughput does not depend on it). Compare the
//! ratio, not absolute numbers: the nodes share the machine's cores.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alopex_cluster::NodeId;
use alopex_cluster::node::{ClusterConfig, ClusterNode, IdentitySource, RangeInfo, Tuning};
use alopex_cluster::tls::CertAuthority;

struct Args {
    seconds: u64,
    clients: usize,
    rereplicate_mb: u64,
}

fn args() -> Args {
    let mut a = Args { seconds: 10, clients: 64, rereplicate_mb: 256 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.seconds),
            "--clients" => a.clients = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.clients),
            "--rereplicate-mb" => a.rereplicate_mb = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.rereplicate_mb),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

fn certs(root: &Path, nodes: u64) -> Vec<PathBuf> {
    let ca = CertAuthority::generate("cluster-bench").expect("CA");
    (1..=nodes)
        .map(|i| {
            let dir = root.join(format!("cert{i}"));
            ca.issue(NodeId(i), &["127.0.0.1".to_string()]).expect("cert").write(&dir, ca.cert_pem()).expect("write");
            dir
        })
        .collect()
}

async fn start(root: &Path, cert: &Path, name: &str, join: Option<SocketAddr>) -> Arc<ClusterNode> {
    let mut c = ClusterConfig::new(
        root.join(name),
        "127.0.0.1:0".parse().expect("addr"),
        IdentitySource::CertDir(cert.to_path_buf()),
    );
    c.join = join.map(|a| a.to_string()).into_iter().collect();
    c.tuning = Tuning::Fast;
    c.down_timeout = Duration::from_secs(2);
    c.split_threshold_bytes = 16 << 20;
    ClusterNode::start(c).await.expect("node starts")
}

/// `r` has `rf` voters, no learners, none in `avoid`, and every voter runs
/// the group (its leader has replicated to each).
fn done(r: &RangeInfo, rf: usize, avoid: &[NodeId]) -> bool {
    r.voters.len() == rf
        && r.learners.is_empty()
        && r.lagging.is_empty()
        && r.leader.is_some()
        && !r.voters.iter().any(|v| avoid.contains(v))
}

/// Every range is [`done`].
async fn replicated(node: &ClusterNode, rf: usize, avoid: &[NodeId]) -> Option<Vec<RangeInfo>> {
    let ranges = node.ranges().await.ok()?;
    let ok = !ranges.is_empty() && ranges.iter().all(|r| done(r, rf, avoid));
    ok.then_some(ranges)
}

async fn wait_replicated(node: &ClusterNode, rf: usize, avoid: &[NodeId], limit: Duration) -> Duration {
    let start = Instant::now();
    let mut report = start + Duration::from_secs(30);
    loop {
        if replicated(node, rf, avoid).await.is_some() {
            return start.elapsed();
        }
        if Instant::now() >= report {
            // Progress, so a slow run shows whether it moves at all.
            report += Duration::from_secs(30);
            if let Ok(ranges) = node.ranges().await {
                let finished = ranges.iter().filter(|r| done(r, rf, avoid)).count();
                let learners: usize = ranges.iter().map(|r| r.learners.len()).sum();
                println!(
                    "  after {:.0?}: {finished} of {} ranges done, {learners} learners",
                    start.elapsed(),
                    ranges.len()
                );
                for r in ranges.iter().filter(|r| !done(r, rf, avoid)).take(12) {
                    println!(
                        "    {}: voters {:?} learners {:?} not running {:?} leader {:?}",
                        r.id, r.voters, r.learners, r.lagging, r.leader
                    );
                }
            }
        }
        assert!(start.elapsed() < limit, "not replicated {rf}x within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts random keys through `nodes` (round-robin per client) for `secs`;
/// acknowledged puts per second.
async fn throughput(nodes: &[Arc<ClusterNode>], clients: usize, secs: u64, value_len: usize) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let node = Arc::clone(&nodes[c % nodes.len()]);
            let (done, errors) = (Arc::clone(&done), Arc::clone(&errors));
            tokio::spawn(async move {
                let value = vec![b'v'; value_len];
                let mut seed = (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                while Instant::now() < until {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    match node.kv().put(format!("k{seed:016x}"), value.clone()).await {
                        Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let secs = start.elapsed().as_secs_f64();
    let e = errors.load(Ordering::Relaxed);
    if e > 0 {
        println!("  ({e} puts failed and were not counted)");
    }
    done.load(Ordering::Relaxed) as f64 / secs
}

async fn load(nodes: &[Arc<ClusterNode>], mb: u64) {
    const VALUE: usize = 4096;
    let total = (mb << 20) / VALUE as u64;
    let next = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..64)
        .map(|c| {
            let node = Arc::clone(&nodes[c % nodes.len()]);
            let (next, retries) = (Arc::clone(&next), Arc::clone(&retries));
            tokio::spawn(async move {
                let value = vec![b'x'; VALUE];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return;
                    }
                    // A put that times out is retried (puts are idempotent)
                    // and reported: the gateway gave up within its deadline.
                    while let Err(e) = node.kv().put(format!("bulk{i:012}"), value.clone()).await {
                        if retries.fetch_add(1, Ordering::Relaxed) < 3 {
                            println!("  load put retried: {e}");
                        }
                    }
                }
            })
        })
        .collect();
    // With ALOPEX_BENCH_WATCH set, every 250 ms, print how each node sees
    // the newest range (where sequential keys land): a range that stalls
    // puts shows here.
    let watch_nodes: Vec<Arc<ClusterNode>> = nodes.to_vec();
    let watch = std::env::var_os("ALOPEX_BENCH_WATCH").is_some();
    let watcher = tokio::spawn(async move {
        if !watch {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let newest = watch_nodes.iter().flat_map(|n| n.range_node().raft().ranges()).max();
            let Some(r) = newest else { continue };
            let views: Vec<String> = watch_nodes
                .iter()
                .filter_map(|n| {
                    let m = n.range_node().raft().metrics(r)?;
                    Some(format!(
                        "n{}:{:?} t{} l{:?} log{:?} c{:?} a{:?}",
                        n.id().0,
                        m.state,
                        m.current_term,
                        m.current_leader,
                        m.last_log_index,
                        m.local_committed.map(|c| c.index),
                        m.last_applied.map(|c| c.index)
                    ))
                })
                .collect();
            println!("  watch {r}: {}", views.join(" | "));
        }
    });
    for t in tasks {
        t.await.expect("loader");
    }
    watcher.abort();
    let r = retries.load(Ordering::Relaxed);
    if r > 0 {
        println!("  {r} load puts timed out and were retried");
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // RUST_LOG=alopex_cluster=info shows the placement moves.
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    let a = args();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let certs = certs(root, 7);
    println!("cluster_nodes: {} clients, {} s per run, 100-byte values, QUIC + mTLS on loopback", a.clients, a.seconds);

    // One node, one replica.
    let solo = start(root, &certs[0], "solo", None).await;
    wait_replicated(&solo, 1, &[], Duration::from_secs(30)).await;
    let one = throughput(std::slice::from_ref(&solo), a.clients, a.seconds, 100).await;
    println!("1 node  (1 replica):  {one:>9.0} puts/s");
    solo.shutdown().await;
    drop(solo);

    // Three nodes, three replicas.
    let n1 = start(root, &certs[1], "n1", None).await;
    let seed = Some(n1.advertise_addr());
    let n2 = start(root, &certs[2], "n2", seed).await;
    let n3 = start(root, &certs[3], "n3", seed).await;
    let took = wait_replicated(&n1, 3, &[], Duration::from_secs(60)).await;
    println!("3 nodes replicated 3x after {took:.2?}");
    let nodes = vec![Arc::clone(&n1), Arc::clone(&n2), Arc::clone(&n3)];
    let three = throughput(&nodes, a.clients, a.seconds, 100).await;
    println!("3 nodes (3 replicas): {three:>9.0} puts/s");
    println!("ratio 3 nodes / 1 node: {:.2}", three / one);

    // Re-replication of a dead node's data onto a new node.
    let t = Instant::now();
    load(&nodes, a.rereplicate_mb).await;
    let loaded = t.elapsed();
    wait_replicated(&n1, 3, &[], Duration::from_secs(600)).await;
    let ranges = n1.ranges().await.map(|r| r.len()).unwrap_or(0);
    println!("loaded {} MB in {loaded:.2?} ({ranges} ranges)", a.rereplicate_mb);
    let victim = n3.id();
    let t = Instant::now();
    n3.shutdown().await;
    drop(n3);
    let n4 = start(root, &certs[4], "n4", seed).await;
    let took = wait_replicated(&n1, 3, &[victim], Duration::from_secs(3600)).await;
    let mb_per_s = a.rereplicate_mb as f64 / t.elapsed().as_secs_f64();
    println!(
        "re-replication of {} MB after a node stopped (down timeout 2 s): {took:.2?} ({mb_per_s:.1} MB/s)",
        a.rereplicate_mb
    );
    for n in [n1, n2, n4] {
        n.shutdown().await;
    }
}
