//! A 3-node in-process cluster with the range layer, shared by the
//! `range_*` tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use alopex_cluster::NodeId;
use alopex_cluster::raft::{LocalNetwork, RaftNode, RaftNodeOptions};
use alopex_cluster::range::{ClusterKvOptions, RangeNode, RangeNodeOptions};
use alopex_cluster::rpc::RpcService;
use alopex_core::{Engine, Options};

pub const NODES: u64 = 3;

pub fn raft_options() -> RaftNodeOptions {
    let mut o = RaftNodeOptions::default();
    o.raft.heartbeat_interval = 50;
    o.raft.election_timeout_min = 200;
    o.raft.election_timeout_max = 400;
    o
}

pub fn range_options() -> RangeNodeOptions {
    RangeNodeOptions {
        split_threshold_bytes: 48 << 10,
        maintenance_interval: Duration::from_millis(100),
        gateway: ClusterKvOptions { deadline: Duration::from_secs(30), ..Default::default() },
    }
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub net: Arc<LocalNetwork>,
    pub nodes: Vec<Option<Arc<RangeNode>>>,
}

impl Cluster {
    pub async fn start() -> Cluster {
        Cluster::start_with(raft_options(), range_options()).await
    }

    /// Opens (or reopens) node `id` from its directory and registers it.
    pub async fn open_node(
        dir: &std::path::Path,
        net: &Arc<LocalNetwork>,
        id: u64,
        raft_opts: RaftNodeOptions,
        range_opts: RangeNodeOptions,
    ) -> Arc<RangeNode> {
        let meta: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
        let d = dir.join(format!("n{id}"));
        let engine = Arc::new(Engine::open(d.join("engine"), Options::small_for_tests()).unwrap());
        let raft = RaftNode::open(NodeId(id), &d, engine, net.client(NodeId(id)), raft_opts).unwrap();
        let node = RangeNode::start(raft, net.client(NodeId(id)), meta, range_opts).await.unwrap();
        net.set_down(NodeId(id), false);
        net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
        node
    }

    pub async fn start_with(raft_opts: RaftNodeOptions, range_opts: RangeNodeOptions) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let net = LocalNetwork::new();
        let mut nodes = vec![None];
        let meta: Vec<NodeId> = (1..=NODES).map(NodeId).collect();
        for id in 1..=NODES {
            nodes.push(Some(Cluster::open_node(dir.path(), &net, id, raft_opts.clone(), range_opts.clone()).await));
        }
        let members: Vec<(NodeId, String)> = meta.iter().map(|n| (*n, format!("127.0.0.1:{}", 7000 + n.0))).collect();
        let boots = nodes.iter().flatten().map(|n| {
            let n = Arc::clone(n);
            let m = members.clone();
            tokio::spawn(async move { n.bootstrap(&m).await })
        });
        for b in futures_util::future::join_all(boots).await {
            b.unwrap().unwrap();
        }
        Cluster { dir, net, nodes }
    }

    pub fn node(&self, id: u64) -> &Arc<RangeNode> {
        self.nodes[id as usize].as_ref().unwrap()
    }

    pub fn live(&self) -> impl Iterator<Item = &Arc<RangeNode>> {
        self.nodes.iter().flatten()
    }

    pub async fn kill(&mut self, id: u64) {
        self.net.set_down(NodeId(id), true);
        self.net.unregister(NodeId(id));
        let node = self.nodes[id as usize].take().unwrap();
        node.stop().await;
    }

    /// Reopens a killed node from its directory.
    pub async fn restart(&mut self, id: u64, raft_opts: RaftNodeOptions, range_opts: RangeNodeOptions) {
        let node = Cluster::open_node(self.dir.path(), &self.net, id, raft_opts, range_opts).await;
        self.nodes[id as usize] = Some(node);
    }
}
