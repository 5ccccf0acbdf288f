//! Ranges and splits in the deterministic simulation.
//!
//! Three production `RangeNode`s (the range layer: meta range, descriptors,
//! the gateway, the splitter) over `RaftNode`s with real engines and log
//! files, on the simulated network with 1 % of messages lost and random
//! delays, on virtual time. A seeded workload writes keys through the
//! gateways of randomly drawn nodes while the ranges split small (16 KiB),
//! one node is partitioned away for a while and another crashes and
//! restarts from its directory. Afterwards:
//!
//! - the meta range's descriptors tile the key space (sorted, adjacent,
//!   the last one ending in the reserved span) and the data really split;
//! - every acknowledged write is read back, with its last acknowledged
//!   value, through the gateway of every node;
//! - one seed replays the same network decisions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alopex_cluster::NodeId;
use alopex_cluster::raft::RaftNode;
use alopex_cluster::range::{ClusterKvOptions, RangeNode, RangeNodeOptions};
use alopex_cluster::rpc::RpcService;
use alopex_cluster::sim::{self, SimConfig, SimNetwork, sim_raft_options};
use alopex_core::{Engine, Options};

const NODES: u64 = 3;

fn range_options() -> RangeNodeOptions {
    RangeNodeOptions {
        split_threshold_bytes: 16 << 10,
        maintenance_interval: Duration::from_millis(100),
        gateway: ClusterKvOptions { deadline: Duration::from_secs(10), ..Default::default() },
    }
}

async fn open(dir: &std::path::Path, net: &Arc<SimNetwork>, id: u64) -> Arc<RangeNode> {
    let meta: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
    let d = dir.join(format!("n{id}"));
    let engine = Arc::new(Engine::open(d.join("engine"), Options::small_for_tests()).expect("engine opens"));
    let raft = RaftNode::open(NodeId(id), &d, engine, net.client(NodeId(id)), sim_raft_options()).expect("raft opens");
    let node = RangeNode::start(raft, net.client(NodeId(id)), meta, range_options()).await.expect("range node starts");
    net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
    node
}

fn key(i: u64) -> String {
    format!("user/{:05}", (i * 7919) % 100_000)
}

/// Returns the trace hash, the number of ranges and the acknowledged writes.
async fn scenario(seed: u64) -> (u64, usize, usize) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let net = SimNetwork::new(seed, SimConfig { drop_rate: 0.01, ..SimConfig::default() });
    let mut nodes: BTreeMap<u64, Arc<RangeNode>> = BTreeMap::new();
    for id in 1..=NODES {
        nodes.insert(id, open(dir.path(), &net, id).await);
    }
    let members: Vec<(NodeId, String)> = (1..=NODES).map(|n| (NodeId(n), format!("sim-{n}"))).collect();
    // Every member bootstraps at once (each waits for the others' groups).
    let boots: Vec<_> = nodes
        .values()
        .map(|node| {
            let (node, members) = (Arc::clone(node), members.clone());
            tokio::spawn(async move { node.bootstrap(&members).await })
        })
        .collect();
    for boot in boots {
        boot.await.expect("bootstrap task").expect("bootstrap");
    }

    let value = |i: u64, round: u64| format!("{round}:{i}:{}", "x".repeat(120));
    let mut acked: BTreeMap<String, String> = BTreeMap::new();
    let total = 480u64;
    for i in 0..total {
        match i {
            160 => net.partition(&[NodeId(3)], &[NodeId(1), NodeId(2)]),
            220 => net.heal(),
            300 => {
                net.unregister(NodeId(2));
                if let Some(n) = nodes.remove(&2) {
                    n.stop().await;
                }
            }
            360 => {
                nodes.insert(2, open(dir.path(), &net, 2).await);
            }
            _ => {}
        }
        // Some keys are written twice: the second value must win.
        let (k, round) = if i % 5 == 4 { (key(i / 2), 1) } else { (key(i), 0) };
        let live: Vec<u64> = nodes.keys().copied().collect();
        let via = live[net.draw(live.len() as u64) as usize];
        let v = value(i, round);
        let put_start = tokio::time::Instant::now();
        let put = nodes[&via].kv().put(k.clone(), v.clone()).await;
        if put_start.elapsed() > Duration::from_millis(500) {
            eprintln!("put {i} via n{via} took {:?}: {put:?}", put_start.elapsed());
        }
        match put {
            Ok(_) => {
                acked.insert(k, v);
            }
            // A put through the partitioned node may time out (ambiguous):
            // it is not counted as acknowledged.
            Err(e) => assert!(via == 3 && (160..220).contains(&i), "put {i} via n{via} failed: {e}"),
        }
    }
    net.heal();
    net.set_config(SimConfig::default());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let descriptors = nodes[&1].kv().descriptors().await.expect("descriptors");
    assert!(descriptors.len() >= 3, "the data never split: {} ranges", descriptors.len());
    let mut spans: Vec<_> = descriptors.iter().map(|d| d.span.clone()).collect();
    spans.sort_by(|a, b| a.start.cmp(&b.start));
    for pair in spans.windows(2) {
        assert_eq!(pair[0].end.as_ref(), Some(&pair[1].start), "descriptors do not tile the key space: {spans:?}");
    }
    let last_end = spans.last().and_then(|s| s.end.clone());
    assert!(
        last_end.as_ref().is_none_or(|e| e.first() == Some(&0xff)),
        "the last range ends at {last_end:?}, inside the user key space"
    );

    for (id, node) in &nodes {
        for (k, v) in &acked {
            let got = node.kv().get(k.clone()).await.expect("get");
            assert_eq!(got.as_deref(), Some(v.as_bytes()), "n{id} read {k} wrong");
        }
    }
    let ranges = descriptors.len();
    let trace = net.trace_hash();
    for node in nodes.values() {
        node.stop().await;
    }
    (trace, ranges, acked.len())
}

#[test]
fn ranges_split_and_keep_every_write_under_faults() {
    for seed in [1, 2] {
        sim::run(seed, |seed| async move {
            let (trace, ranges, acked) = scenario(seed).await;
            println!("seed {seed}: {ranges} ranges, {acked} acknowledged keys, trace {trace:016x}");
        });
    }
}
