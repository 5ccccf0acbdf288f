//! Heartbeat coalescing, end to end on three in-process nodes with 100
//! idle range groups (the in-memory transport, wrapped to count every call
//! by method): with coalescing off, every group's leader makes one call
//! per heartbeat per follower; with it on (the default), the calls between
//! two nodes are paced to one per window whatever the number of groups.
//! Both runs print their calls per second, and both must keep every
//! leader in place (no elections while idle). A hand-made batch to a node
//! with one hosted and one unknown range answers the hosted one and fails
//! only the unknown one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::raft::codec;
use alopex_cluster::raft::heartbeat::BATCH_RANGE;
use alopex_cluster::raft::network::method;
use alopex_cluster::raft::types::RangeConfig;
use alopex_cluster::raft::{LocalNetwork, RaftNode, RaftNodeOptions, RangeSpan};
use alopex_cluster::rpc::{RpcClient, RpcError, RpcService};
use alopex_cluster::{NodeId, RangeId};
use alopex_core::{Engine, Options};
use async_trait::async_trait;
use bytes::Bytes;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
use parking_lot::Mutex;

const GROUPS: u64 = 100;
const MEASURE: Duration = Duration::from_secs(3);

/// Counts calls by method number, then forwards them.
struct Counting {
    inner: Arc<dyn RpcClient>,
    calls: Arc<Mutex<HashMap<u16, u64>>>,
}

#[async_trait]
impl RpcClient for Counting {
    async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError> {
        *self.calls.lock().entry(method).or_default() += 1;
        self.inner.call(to, range, method, body).await
    }
}

fn spans() -> Vec<(RangeId, RangeSpan)> {
    (0..GROUPS)
        .map(|g| {
            let start = if g == 0 { Bytes::new() } else { Bytes::from(format!("g{g:03}")) };
            let end = if g + 1 == GROUPS { None } else { Some(Bytes::from(format!("g{:03}", g + 1))) };
            (RangeId(g + 1), RangeSpan::new(start, end))
        })
        .collect()
}

struct Cluster {
    _dir: tempfile::TempDir,
    _net: Arc<LocalNetwork>,
    nodes: Vec<Arc<RaftNode>>,
    calls: Arc<Mutex<HashMap<u16, u64>>>,
}

async fn cluster(window: Option<Duration>) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let net = LocalNetwork::new();
    let calls = Arc::new(Mutex::new(HashMap::new()));
    let mut nodes = Vec::new();
    for id in 1..=3u64 {
        let d = dir.path().join(format!("n{id}"));
        let engine = Arc::new(Engine::open(d.join("engine"), Options::default()).unwrap());
        let o = RaftNodeOptions { heartbeat_window: window, ..Default::default() };
        let client = Arc::new(Counting { inner: net.client(NodeId(id)), calls: Arc::clone(&calls) });
        let node = RaftNode::open(NodeId(id), &d, engine, client, o).unwrap();
        net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
        for (r, s) in spans() {
            node.start_group(r, s).await.unwrap();
        }
        nodes.push(node);
    }
    let members: Vec<(NodeId, String)> = (1..=3).map(|i| (NodeId(i), format!("node{i}"))).collect();
    for (r, s) in spans() {
        nodes[(r.0 as usize) % 3].bootstrap_group(r, s, &members).await.unwrap();
    }
    Cluster { _dir: dir, _net: net, nodes, calls }
}

/// Every group's (leader, term), once every group has a leader that all
/// three nodes agree on.
async fn leaders(c: &Cluster) -> Vec<(u64, u64)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen: Option<Vec<(u64, u64)>> = spans()
            .into_iter()
            .map(|(r, _)| {
                let m: Vec<_> = c.nodes.iter().filter_map(|n| n.metrics(r)).collect();
                let leader = m.first()?.current_leader?;
                let term = m.first()?.current_term;
                m.iter().all(|x| x.current_leader == Some(leader) && x.current_term == term).then_some((leader, term))
            })
            .collect();
        if let Some(seen) = seen {
            return seen;
        }
        assert!(Instant::now() < deadline, "the groups did not settle on leaders");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls per second (all methods, and heartbeat batches) over an idle
/// stretch; asserts no group changed leader or term meanwhile.
async fn idle_rate(c: &Cluster, label: &str) -> f64 {
    let before = leaders(c).await;
    // Let the elections' catch-up traffic pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_calls: u64 = c.calls.lock().values().sum();
    let start_hb: u64 = c.nodes.iter().map(|n| n.heartbeat_counts().heartbeats).sum();
    let start = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let secs = start.elapsed().as_secs_f64();
    let calls = c.calls.lock().values().sum::<u64>() - start_calls;
    let hb = c.nodes.iter().map(|n| n.heartbeat_counts().heartbeats).sum::<u64>() - start_hb;
    let after = leaders(c).await;
    assert_eq!(before, after, "{label}: a leader changed while the cluster was idle");
    let rate = calls as f64 / secs;
    let by_method = c.calls.lock().clone();
    println!(
        "{label}: 3 nodes, {GROUPS} idle groups: {rate:.0} calls/s carrying {:.0} heartbeats/s (calls by method since start: {by_method:?})",
        hb as f64 / secs
    );
    for n in &c.nodes {
        n.shutdown().await;
    }
    rate
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_groups_share_heartbeat_calls_and_keep_their_leaders() {
    let single = idle_rate(&cluster(Some(Duration::ZERO)).await, "one call per heartbeat").await;
    let batched = idle_rate(&cluster(None).await, "coalesced (window 10 ms)").await;
    // Unbatched: ~100 groups x 2 followers x 10 heartbeats/s = ~2000/s.
    // Batched: at most 6 directed links x 100 flushes/s = 600/s.
    assert!(single > 1000.0, "unbatched heartbeats: {single:.0} calls/s");
    assert!(batched < single / 3.0, "batched {batched:.0}/s vs unbatched {single:.0}/s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_an_unknown_range_answers_the_others() {
    let c = cluster(None).await;
    leaders(&c).await;
    let node = &c.nodes[0];
    // A heartbeat from a stale leader (term 0): each hosted group answers
    // it (with its higher vote), the unknown range fails on its own.
    let req = AppendEntriesRequest::<RangeConfig> {
        vote: openraft::Vote::new(0, 2),
        prev_log_id: None,
        leader_commit: None,
        entries: vec![],
    };
    let one = Bytes::from(codec::encode(&req).unwrap());
    let batch = vec![(RangeId(1), one.clone()), (RangeId(9999), one.clone()), (RangeId(2), one)];
    let answer = node.handle(NodeId(2), BATCH_RANGE, method::HEARTBEATS, Bytes::from(codec::encode(&batch).unwrap()));
    let answer: Vec<Result<Bytes, String>> = codec::decode(&answer.await.unwrap()).unwrap();
    assert_eq!(answer.len(), 3);
    for i in [0, 2] {
        let body = answer[i].as_ref().unwrap_or_else(|e| panic!("member {i} failed: {e}"));
        codec::decode::<AppendEntriesResponse<RangeConfig>>(body).unwrap();
    }
    let err = answer[1].as_ref().unwrap_err();
    assert!(err.contains("9999"), "{err}");
    for n in &c.nodes {
        n.shutdown().await;
    }
}
