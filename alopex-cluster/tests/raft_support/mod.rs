//! Three (or more) `RaftNode`s in one process over the in-memory transport,
//! each with its own engine and log in a temporary directory, running a
//! fixed set of range groups: the harness `raft_cluster.rs` and
//! `raft_txn.rs` share. Nodes can be killed (shut down, unreachable) and
//! started again from their directories; proposals go through whoever
//! leads the range, retrying across elections.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::raft::command::{Command, CommandResponse};
use alopex_cluster::raft::{LocalNetwork, RaftNode, RaftNodeError, RaftNodeOptions, RangeSpan};
use alopex_cluster::rpc::RpcService;
use alopex_cluster::{NodeId, RangeId};
use alopex_core::{Engine, Options};

/// How long a test waits for leaders, proposals and convergence.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Raft options for loopback tests: fast elections; snapshots every
/// `snapshot_every` entries with the log purged behind them, so a node that
/// was away must be sent a snapshot.
pub fn options(snapshot_every: u64) -> RaftNodeOptions {
    let mut o = RaftNodeOptions::default();
    o.raft.heartbeat_interval = 50;
    o.raft.election_timeout_min = 200;
    o.raft.election_timeout_max = 400;
    o.raft.snapshot_policy = openraft::SnapshotPolicy::LogsSinceLast(snapshot_every);
    o.raft.max_in_snapshot_log_to_keep = 0;
    o
}

/// The nodes, their ranges and the network between them.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub net: Arc<LocalNetwork>,
    /// Indexed by node id (index 0 unused); `None` while a node is down.
    pub nodes: Vec<Option<Arc<RaftNode>>>,
    pub ranges: Vec<(RangeId, RangeSpan)>,
    pub options: RaftNodeOptions,
}

impl Cluster {
    /// Starts nodes `1..=nodes` hosting `ranges` and bootstraps every group
    /// with all of them as voters.
    pub async fn start_all(nodes: u64, ranges: Vec<(RangeId, RangeSpan)>, options: RaftNodeOptions) -> Cluster {
        let mut c = Cluster {
            dir: tempfile::tempdir().unwrap(),
            net: LocalNetwork::new(),
            nodes: vec![None; nodes as usize + 1],
            ranges,
            options,
        };
        for id in 1..=nodes {
            c.start(id).await;
        }
        let members: Vec<(NodeId, String)> =
            (1..=nodes).map(|i| (NodeId(i), format!("127.0.0.1:{}", 7000 + i))).collect();
        let first = c.nodes[1].clone().unwrap();
        for (range, span) in c.ranges.clone() {
            first.bootstrap_group(range, span, &members).await.unwrap();
        }
        c
    }

    /// The range holding `key`.
    pub fn range_of(&self, key: &str) -> RangeId {
        self.ranges.iter().find(|(_, s)| s.contains(key.as_bytes())).map(|(r, _)| *r).unwrap()
    }

    pub fn node_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    /// Opens node `id` from its directory and starts its groups.
    pub async fn start(&mut self, id: u64) {
        let dir = self.node_dir(id);
        let engine = Arc::new(Engine::open(dir.join("engine"), Options::small_for_tests()).unwrap());
        let node = RaftNode::open(NodeId(id), &dir, engine, self.net.client(NodeId(id)), self.options.clone()).unwrap();
        self.net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
        for (range, span) in self.ranges.clone() {
            node.start_group(range, span).await.unwrap();
        }
        self.nodes[id as usize] = Some(node);
    }

    /// Cuts node `id` off and shuts it down.
    pub async fn kill(&mut self, id: u64) {
        self.net.set_down(NodeId(id), true);
        self.net.unregister(NodeId(id));
        let node = self.nodes[id as usize].take().unwrap();
        node.shutdown().await;
        drop(node);
        self.net.set_down(NodeId(id), false);
    }

    pub fn live(&self) -> impl Iterator<Item = &Arc<RaftNode>> {
        self.nodes.iter().flatten()
    }

    pub fn node(&self, id: NodeId) -> Option<&Arc<RaftNode>> {
        self.nodes.get(id.0 as usize).and_then(|n| n.as_ref())
    }

    /// The node leading `range`, waiting for an election if needed.
    pub async fn leader(&self, range: RangeId) -> Arc<RaftNode> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            for n in self.live() {
                if let Some(m) = n.metrics(range)
                    && m.current_leader == Some(n.id().0)
                    && m.state == openraft::ServerState::Leader
                {
                    return Arc::clone(n);
                }
            }
            assert!(Instant::now() < deadline, "no leader for {range}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Proposes `make(leader)` through whoever leads the range, retrying
    /// across elections.
    pub async fn propose(&self, range: RangeId, make: impl Fn(&RaftNode) -> Command) -> CommandResponse {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let leader = self.leader(range).await;
            match leader.propose(range, make(&leader)).await {
                Ok(r) => return r,
                Err(RaftNodeError::NotLeader { .. } | RaftNodeError::Raft(_)) => {}
                Err(e) => panic!("proposal failed: {e}"),
            }
            assert!(Instant::now() < deadline, "could not propose to {range}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
