//! Whole cluster nodes (`ClusterNode`) on real QUIC sockets on loopback,
//! with real certificates from a test CA and the `Fast` timing profile:
//! a bootstrap node and two joiners reach three replicas of every range,
//! keys written through one node read back through the others, a
//! restarted node keeps its id and catches up, a fourth node receives
//! replicas, a node down past the down timeout has its replicas re-created
//! elsewhere, and a decommissioned node is drained. Each phase waits for
//! the cluster to converge within a bound and fails with what it saw.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::NodeId;
use alopex_cluster::node::{ClusterConfig, ClusterError, ClusterNode, IdentitySource, RangeInfo, Tuning};
use alopex_cluster::tls::CertAuthority;

struct Certs {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Certs {
    fn new(nodes: u64) -> Certs {
        let dir = tempfile::tempdir().unwrap();
        let ca = CertAuthority::generate("node-cluster-test").unwrap();
        for i in 1..=nodes {
            let cert = ca.issue(NodeId(i), &["127.0.0.1".to_string()]).unwrap();
            cert.write(&dir.path().join(format!("n{i}")), ca.cert_pem()).unwrap();
        }
        Certs { root: dir.path().to_path_buf(), _dir: dir }
    }

    fn dir(&self, i: u64) -> PathBuf {
        self.root.join(format!("n{i}"))
    }
}

fn config(data: &Path, certs: &Certs, cert: u64, join: Option<SocketAddr>) -> ClusterConfig {
    let mut c = ClusterConfig::new(
        data.to_path_buf(),
        "127.0.0.1:0".parse().unwrap(),
        IdentitySource::CertDir(certs.dir(cert)),
    );
    c.join = join.map(|a| a.to_string()).into_iter().collect();
    c.tuning = Tuning::Fast;
    c.down_timeout = Duration::from_secs(2);
    c.split_threshold_bytes = 8 << 10;
    c
}

/// Polls `check` until it returns `Ok`, failing after `limit` with the last
/// complaint.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    loop {
        let last = match check().await {
            Ok(()) => {
                let took = start.elapsed();
                println!("{what}: {took:.2?}");
                return took;
            }
            Err(e) => e,
        };
        assert!(start.elapsed() < limit, "{what}: not reached within {limit:?}; last: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn describe(ranges: &[RangeInfo]) -> String {
    ranges
        .iter()
        .map(|r| format!("{}: voters {:?} learners {:?} leader {:?}", r.id, r.voters, r.learners, r.leader))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Every range has exactly `rf` voters, no learners, none of them in `avoid`.
async fn replicated(node: &ClusterNode, rf: usize, avoid: &[NodeId]) -> Result<Vec<RangeInfo>, String> {
    let ranges = node.ranges().await.map_err(|e| e.to_string())?;
    let ok = !ranges.is_empty()
        && ranges
            .iter()
            .all(|r| r.voters.len() == rf && r.learners.is_empty() && !r.voters.iter().any(|v| avoid.contains(v)));
    if ok { Ok(ranges) } else { Err(describe(&ranges)) }
}

fn counts(ranges: &[RangeInfo]) -> BTreeMap<NodeId, usize> {
    let mut c = BTreeMap::new();
    for r in ranges {
        for v in &r.voters {
            *c.entry(*v).or_insert(0) += 1;
        }
    }
    c
}

fn key(i: usize) -> String {
    format!("key-{i:05}")
}

async fn write_keys(node: &Arc<ClusterNode>, range: std::ops::Range<usize>, tag: &str) {
    let chunks: Vec<Vec<usize>> = range.collect::<Vec<_>>().chunks(64).map(|c| c.to_vec()).collect();
    let writers = chunks.into_iter().map(|chunk| {
        let node = Arc::clone(node);
        let tag = tag.to_string();
        tokio::spawn(async move {
            for i in chunk {
                node.kv().put(key(i), format!("{tag}-{i}-{}", "v".repeat(24))).await.unwrap();
            }
        })
    });
    for w in futures_util::future::join_all(writers).await {
        w.unwrap();
    }
}

async fn read_keys(node: &ClusterNode, range: std::ops::Range<usize>, tag: &str) {
    for i in range {
        let got = node.kv().get(key(i)).await.unwrap();
        let want = format!("{tag}-{i}-{}", "v".repeat(24));
        assert_eq!(got.as_deref(), Some(want.as_bytes()), "{} via {}", key(i), node.id());
    }
}

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_join_replicate_restart_rebalance_and_drain() {
    logs();
    let started = Instant::now();
    let certs = Certs::new(5);
    let data = tempfile::tempdir().unwrap();
    let dir = |i: u64| data.path().join(format!("n{i}"));
    let mut nodes: BTreeMap<u64, Arc<ClusterNode>> = BTreeMap::new();

    // Bootstrap + 2 joiners reach RF=3.
    let n1 = ClusterNode::start(config(&dir(1), &certs, 1, None)).await.unwrap();
    let r1: &ClusterNode = &n1;
    let seed = n1.listen_addr();
    assert_eq!(n1.id(), NodeId(1));
    nodes.insert(1, Arc::clone(&n1));
    for i in [2, 3] {
        nodes.insert(i, ClusterNode::start(config(&dir(i), &certs, i, Some(seed))).await.unwrap());
    }
    wait_for("3 nodes: every range has 3 voters", Duration::from_secs(30), || async move {
        replicated(r1, 3, &[]).await.map(|_| ())
    })
    .await;

    // 1,000 keys through one node, read back through every other.
    write_keys(&n1, 0..1000, "a").await;
    for i in [2, 3] {
        read_keys(&nodes[&i], 0..1000, "a").await;
    }
    let ranges = n1.ranges().await.unwrap();
    println!("after 1,000 keys: {} ranges: {}", ranges.len(), describe(&ranges));
    wait_for("splits replicated to 3 voters", Duration::from_secs(30), || async move {
        replicated(r1, 3, &[]).await.map(|_| ())
    })
    .await;
    wait_for("leadership balanced (leader counts within 2)", Duration::from_secs(30), || async move {
        let ranges = replicated(r1, 3, &[]).await?;
        let mut leaders: BTreeMap<NodeId, usize> = [1, 2, 3].map(|i| (NodeId(i), 0)).into();
        for l in ranges.iter().filter_map(|r| r.leader) {
            *leaders.entry(l).or_insert(0) += 1;
        }
        let (min, max) = (leaders.values().min().copied().unwrap_or(0), leaders.values().max().copied().unwrap_or(0));
        if max - min <= 2 { Ok(()) } else { Err(format!("leaders {leaders:?}")) }
    })
    .await;
    let every = nodes[&2].nodes();
    assert_eq!(every.iter().map(|n| n.id.0).collect::<Vec<_>>(), vec![1, 2, 3], "{every:?}");
    assert!(every.iter().all(|n| n.state == "alive"), "{every:?}");

    // Restart node 3 from its data directory: same id, catches up.
    nodes.remove(&3).unwrap().shutdown().await;
    write_keys(&n1, 1000..1200, "b").await;
    let n3 = ClusterNode::start(config(&dir(3), &certs, 3, Some(seed))).await.unwrap();
    assert_eq!(n3.id(), NodeId(3));
    nodes.insert(3, Arc::clone(&n3));
    wait_for(
        "restarted node 3 caught up (keys written while it was down are in its engine)",
        Duration::from_secs(30),
        || {
            let n3 = Arc::clone(&n3);
            async move {
                let engine = n3.range_node().raft().engine();
                let missing = (1000..1200).filter(|i| engine.get(key(*i).as_bytes()).ok().flatten().is_none()).count();
                if missing == 0 { Ok(()) } else { Err(format!("{missing} keys missing")) }
            }
        },
    )
    .await;
    read_keys(&n3, 0..1000, "a").await;
    read_keys(&n3, 1000..1200, "b").await;

    // A 4th node receives replicas until the counts even out.
    let n4 = ClusterNode::start(config(&dir(4), &certs, 4, Some(seed))).await.unwrap();
    nodes.insert(4, Arc::clone(&n4));
    wait_for("4th node received replicas, counts within 1", Duration::from_secs(45), || async move {
        let ranges = replicated(r1, 3, &[]).await?;
        let c = counts(&ranges);
        let (min, max) = (c.values().min().copied().unwrap_or(0), c.values().max().copied().unwrap_or(0));
        if c.get(&NodeId(4)).copied().unwrap_or(0) > 0 && c.len() == 4 && max - min <= 1 {
            Ok(())
        } else {
            Err(format!("counts {c:?}: {}", describe(&ranges)))
        }
    })
    .await;

    // Node 4 shut down past the down timeout: its replicas are re-created.
    nodes.remove(&4).unwrap().shutdown().await;
    wait_for("node 4's replicas re-created on the others", Duration::from_secs(45), || async move {
        replicated(r1, 3, &[NodeId(4)]).await.map(|_| ())
    })
    .await;
    read_keys(&nodes[&2], 0..1000, "a").await;

    // Decommission node 3: a 5th node takes its replicas.
    let n5 = ClusterNode::start(config(&dir(5), &certs, 5, Some(seed))).await.unwrap();
    nodes.insert(5, Arc::clone(&n5));
    nodes[&2].decommission(NodeId(3)).await.unwrap();
    assert!(matches!(n1.decommission(NodeId(99)).await, Err(ClusterError::UnknownNode(NodeId(99)))));
    wait_for("node 3 drained", Duration::from_secs(45), || async move {
        replicated(r1, 3, &[NodeId(3), NodeId(4)]).await.map(|_| ())
    })
    .await;
    let r5: &ClusterNode = &n5;
    wait_for("nodes() shows node 3 draining with no replicas", Duration::from_secs(10), || async move {
        let info = r5.nodes();
        match info.iter().find(|n| n.id == NodeId(3)) {
            Some(n) if n.decommissioning && n.replicas == 0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    read_keys(&n5, 0..1000, "a").await;

    for (_, n) in nodes {
        n.shutdown().await;
    }
    println!("whole scenario: {:.2?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_refuses_another_nodes_certificate() {
    let certs = Certs::new(2);
    let data = tempfile::tempdir().unwrap();
    let n1 = ClusterNode::start(config(data.path(), &certs, 1, None)).await.unwrap();
    n1.kv().put("k", "v").await.unwrap();
    n1.shutdown().await;
    drop(n1);
    let err = ClusterNode::start(config(data.path(), &certs, 2, None)).await.unwrap_err();
    assert!(matches!(&err, ClusterError::Config(m) if m.contains("node 2") && m.contains("node 1")), "{err}");
    let mut insecure = config(data.path(), &certs, 1, None);
    insecure.identity = IdentitySource::Insecure;
    assert!(matches!(ClusterNode::start(insecure).await, Err(ClusterError::Config(_))));
    // The right certificate reopens it, with its data.
    let n1 = ClusterNode::start(config(data.path(), &certs, 1, None)).await.unwrap();
    assert_eq!(n1.kv().get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    n1.shutdown().await;
}
