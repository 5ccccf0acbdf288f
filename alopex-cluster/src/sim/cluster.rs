//! # Scripted scenarios: a cluster of real Raft nodes on the simulated network
//!
//! [`SimCluster`] runs N [`RaftNode`]s, each with its own data directory
//! (engine, shared log, snapshots) under one temporary directory, talking
//! through one [`SimNetwork`]. A scenario is a plain async test that calls
//! its verbs: [`start`](SimCluster::start), [`bootstrap`](SimCluster::bootstrap),
//! [`put`](SimCluster::put), [`partition`](SimCluster::partition),
//! [`heal`](SimCluster::heal), [`crash`](SimCluster::crash) /
//! [`restart`](SimCluster::restart) (the node's directory survives),
//! [`advance`](SimCluster::advance), and asserts in between. The code under
//! test is the production `RaftNode`; only the transport, the clock (paused)
//! and the RNGs are the simulation's.
//!
//! Scenarios must run on a current-thread runtime with the clock paused
//! ([`run`]), which also seeds openraft's RNG and prints the seed when the
//! scenario panics, so `ALOPEX_SIM_SEED=<seed>` replays it.
//!
//! The harness is written so later layers plug in: anything that needs
//! "the node with id n" (the placement executor, the range layer's router)
//! gets it from [`SimCluster::node`].

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use alopex_core::{Engine, Options};

use super::network::{SimConfig, SimNetwork};
use crate::ids::{NodeId, RangeId};
use crate::raft::command::{Command, CommandResponse, WriteOp};
use crate::raft::{RaftNode, RaftNodeError, RaftNodeOptions, RangeSpan};
use crate::rpc::RpcService;

/// Runs one seeded scenario: a paused current-thread runtime, openraft's
/// RNG seeded, the seed printed if `body` panics. `ALOPEX_SIM_SEED`
/// overrides `seed`.
pub fn run<F, Fut>(seed: u64, body: F)
where
    F: FnOnce(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let seed = std::env::var("ALOPEX_SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(seed);
    struct Announce(u64);
    impl Drop for Announce {
        fn drop(&mut self) {
            if std::thread::panicking() {
                eprintln!("simulation failed; replay with ALOPEX_SIM_SEED={}", self.0);
            }
        }
    }
    let _announce = Announce(seed);
    crate::raft::runtime::seed_thread_rng(Some(seed));
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build the simulation runtime: {e}"),
    };
    rt.block_on(body(seed));
    drop(rt);
    crate::raft::runtime::seed_thread_rng(None);
}

/// The Raft tuning of simulated nodes: fast heartbeats and elections, an
/// inline (threadless) log, frequent snapshots.
pub fn sim_raft_options() -> RaftNodeOptions {
    let mut o = RaftNodeOptions::default();
    o.raft.heartbeat_interval = 50;
    o.raft.election_timeout_min = 300;
    o.raft.election_timeout_max = 600;
    o.raft.snapshot_policy = openraft::SnapshotPolicy::LogsSinceLast(50);
    o.raft.max_in_snapshot_log_to_keep = 0;
    o.raft.snapshot_max_chunk_size = 4096;
    o.log.inline = true;
    o
}

/// Why a scripted step failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No leader emerged, or a write did not commit, within the patience.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A node call failed for a reason retrying cannot fix.
    #[error("raft: {0}")]
    Raft(#[from] RaftNodeError),
}

/// N simulated nodes. See the module documentation.
pub struct SimCluster {
    dir: tempfile::TempDir,
    net: Arc<SimNetwork>,
    nodes: BTreeMap<NodeId, Arc<RaftNode>>,
    spans: BTreeMap<RangeId, RangeSpan>,
    /// Which ranges each node hosts (restarted with the node).
    hosted: BTreeMap<NodeId, Vec<RangeId>>,
    options: RaftNodeOptions,
    /// How long (virtual time) a step waits for a leader or a commit.
    pub patience: Duration,
}

impl SimCluster {
    /// An empty cluster on a fresh simulated network. Call inside [`run`].
    pub fn new(seed: u64, config: SimConfig) -> std::io::Result<SimCluster> {
        Ok(SimCluster {
            dir: tempfile::tempdir()?,
            net: SimNetwork::new(seed, config),
            nodes: BTreeMap::new(),
            spans: BTreeMap::new(),
            hosted: BTreeMap::new(),
            options: sim_raft_options(),
            patience: Duration::from_secs(30),
        })
    }

    /// The network (for partitions, trace hashes, drawing workload choices).
    pub fn net(&self) -> &Arc<SimNetwork> {
        &self.net
    }

    /// A running node.
    pub fn node(&self, id: NodeId) -> Option<&Arc<RaftNode>> {
        self.nodes.get(&id)
    }

    /// The ids of running nodes.
    pub fn running(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The span of a bootstrapped range.
    pub fn span(&self, range: RangeId) -> Option<RangeSpan> {
        self.spans.get(&range).cloned()
    }

    fn node_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("n{}", id.0))
    }

    /// Starts (or restarts) node `id` over its directory, with the groups it
    /// hosted before.
    pub async fn start(&mut self, id: NodeId) -> Result<Arc<RaftNode>, SimError> {
        if let Some(n) = self.nodes.get(&id) {
            return Ok(Arc::clone(n));
        }
        let dir = self.node_dir(id);
        let engine = Engine::open(dir.join("engine"), Options::small_for_tests())
            .map_err(|e| RaftNodeError::Io(std::io::Error::other(e.to_string())))?;
        let node = RaftNode::open(id, &dir, Arc::new(engine), self.net.client(id), self.options.clone())?;
        self.net.register(id, Arc::clone(&node) as Arc<dyn RpcService>);
        for range in self.hosted.get(&id).cloned().unwrap_or_default() {
            if let Some(span) = self.spans.get(&range).cloned() {
                node.start_group(range, span).await?;
            }
        }
        self.nodes.insert(id, Arc::clone(&node));
        Ok(node)
    }

    /// Starts a group of `range` on `id` (an empty replica, e.g. before it is
    /// added as a learner).
    pub async fn host(&mut self, id: NodeId, range: RangeId, span: RangeSpan) -> Result<(), SimError> {
        self.spans.insert(range, span.clone());
        let hosted = self.hosted.entry(id).or_default();
        if !hosted.contains(&range) {
            hosted.push(range);
        }
        if let Some(n) = self.nodes.get(&id) {
            n.start_group(range, span).await?;
        }
        Ok(())
    }

    /// Creates `range` with `members` as its voters (all must be running).
    pub async fn bootstrap(&mut self, range: RangeId, span: RangeSpan, members: &[NodeId]) -> Result<(), SimError> {
        for &m in members {
            self.host(m, range, span.clone()).await?;
        }
        let addrs: Vec<(NodeId, String)> = members.iter().map(|m| (*m, format!("sim-{}", m.0))).collect();
        if let Some(first) = members.first().and_then(|m| self.nodes.get(m)) {
            first.bootstrap_group(range, span, &addrs).await?;
        }
        Ok(())
    }

    /// Crashes node `id`: it vanishes from the network and its groups stop;
    /// its directory stays for [`SimCluster::restart`].
    pub async fn crash(&mut self, id: NodeId) {
        self.net.unregister(id);
        if let Some(node) = self.nodes.remove(&id) {
            node.shutdown().await;
        }
    }

    /// Restarts a crashed node from its directory.
    pub async fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        self.start(id).await.map(|_| ())
    }

    /// Cuts the network between `a` and `b`.
    pub fn partition(&self, a: &[NodeId], b: &[NodeId]) {
        self.net.partition(a, b);
    }

    /// Removes every partition.
    pub fn heal(&self) {
        self.net.heal();
    }

    /// Lets virtual time pass.
    pub async fn advance(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// The node that believes it leads `range` and is in the term's
    /// majority view, if any, among running nodes.
    pub fn current_leader(&self, range: RangeId) -> Option<NodeId> {
        let mut best: Option<(u64, NodeId)> = None;
        for (id, n) in &self.nodes {
            if let Some(m) = n.metrics(range)
                && m.state == openraft::ServerState::Leader
                && best.is_none_or(|(t, _)| m.current_term > t)
            {
                best = Some((m.current_term, *id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// Waits (virtual time) until some node among `among` leads `range`.
    pub async fn await_leader(&self, range: RangeId, among: &[NodeId]) -> Result<NodeId, SimError> {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            for id in among {
                if let Some(m) = self.nodes.get(id).and_then(|n| n.metrics(range))
                    && m.state == openraft::ServerState::Leader
                {
                    return Ok(*id);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Timeout(format!("no leader of {range} among {among:?}")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Proposes `ops` through the leader among `among`, retrying across
    /// elections; each attempt is bounded by `attempt` virtual time.
    pub async fn write_via(&self, range: RangeId, among: &[NodeId], ops: Vec<WriteOp>) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            let leader = self.await_leader(range, among).await?;
            if let Some(node) = self.nodes.get(&leader) {
                let cmd = Command::Write { ts: node.now(), ops: ops.clone() };
                match tokio::time::timeout(Duration::from_secs(2), node.propose(range, cmd)).await {
                    Ok(Ok(CommandResponse::Applied { .. })) => return Ok(()),
                    Ok(Ok(CommandResponse::Rejected { reason })) => {
                        return Err(SimError::Raft(RaftNodeError::Rejected(reason)));
                    }
                    Ok(Ok(CommandResponse::ConditionFailed { .. })) => {
                        let reason = "an unconditional write answered with a failed condition".to_string();
                        return Err(SimError::Raft(RaftNodeError::Rejected(reason)));
                    }
                    Ok(Ok(other)) => {
                        return Err(SimError::Raft(RaftNodeError::Rejected(format!("unexpected answer: {other:?}"))));
                    }
                    Ok(Err(RaftNodeError::NotLeader { .. } | RaftNodeError::Raft(_))) | Err(_) => {}
                    Ok(Err(e)) => return Err(e.into()),
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Timeout(format!("write to {range} via {among:?} did not commit")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Puts `key = value` in `range` through whichever running node leads it.
    pub async fn put(&self, range: RangeId, key: &str, value: &str) -> Result<(), SimError> {
        let op = WriteOp::Put {
            key: Bytes::copy_from_slice(key.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
        };
        let among = self.running();
        self.write_via(range, &among, vec![op]).await
    }

    /// Tries one write through `via` only, giving up after `wait`: `true` if
    /// it committed. (A minority must answer `false`.)
    pub async fn try_put_via(&self, via: NodeId, range: RangeId, key: &str, value: &str, wait: Duration) -> bool {
        let Some(node) = self.nodes.get(&via) else { return false };
        let op = WriteOp::Put {
            key: Bytes::copy_from_slice(key.as_bytes()),
            value: Bytes::copy_from_slice(value.as_bytes()),
        };
        let cmd = Command::Write { ts: node.now(), ops: vec![op] };
        matches!(tokio::time::timeout(wait, node.propose(range, cmd)).await, Ok(Ok(CommandResponse::Applied { .. })))
    }

    /// The value of `key` in node `id`'s engine.
    pub fn read_local(&self, id: NodeId, key: &str) -> Option<Vec<u8>> {
        self.nodes.get(&id).and_then(|n| n.engine().get(key.as_bytes()).ok().flatten()).map(|v| v.to_vec())
    }

    /// Waits until every running node's engine holds `value` for `key`.
    pub async fn await_value(&self, key: &str, value: Option<&str>) -> Result<(), SimError> {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            let lagging =
                self.nodes.keys().find(|id| self.read_local(**id, key).as_deref() != value.map(str::as_bytes)).copied();
            let Some(id) = lagging else { return Ok(()) };
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Timeout(format!("node {id} never saw {key} = {value:?}")));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops every node.
    pub async fn shutdown(&mut self) {
        let ids = self.running();
        for id in ids {
            self.crash(id).await;
        }
    }
}
