//! # `ClusterNode`: one running member of an Alopex cluster
//!
//! Ties the layers together the way `alopex serve --listen-addr … --join …`
//! runs them: the node's identity (certificate and the node id kept in its
//! data directory), the QUIC transport, SWIM membership, the Raft groups of
//! the ranges it hosts, the range gateway and KV service, and the placement
//! control loop that adds, promotes and removes replicas as nodes join,
//! fail and are decommissioned.
//!
//! **Start.** The data directory holds the node id (`node_id`, checked
//! against the certificate, see [`id_file`]), the engine (`engine/`), the
//! shared Raft log and the snapshots. The node binds QUIC, opens its Raft
//! groups and range layer, and starts SWIM with the `join` seeds resolved
//! from `host:port`.
//!
//! **Bootstrap or join.** A node with no `join` and no state yet
//! bootstraps a fresh cluster alone (the meta range and the first data
//! range, one voter each). A node with `join` never bootstraps: it joins
//! through SWIM and receives replicas from placement. A node with state
//! reopens its ranges (whatever it hosted) and rejoins through its seeds
//! or any member that finds it.
//!
//! **Finding the meta range.** The gateway has no static list of meta
//! replicas: the node keeps it set to the live members of its membership
//! view (itself first), and the gateway follows "range not here" and "not
//! leader" answers to the meta leader. Placement keeps the meta range's own
//! replicas in a record of the meta range (`control::META_RANGE_RECORD`).
//!
//! **Placement** runs on the meta range's leader (see [`control`] for the
//! loop and why it is centralized).
//!
//! **Identity modes.** Only [`IdentitySource::CertDir`] is supported;
//! [`IdentitySource::Insecure`] is refused with a configuration error (the
//! tests make real certificates with `tls::CertAuthority`).

mod compaction;
pub mod config;
pub mod control;
pub mod id_file;
pub mod info;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use config::{ClusterConfig, IdentitySource, Tuning};
pub use info::{NodeInfo, RangeInfo};

use crate::ids::{NodeId, RangeId};
use crate::kv_service::KvService;
use crate::membership::{MemberState, Membership, MembershipConfig, MembershipView};
use crate::placement::Policy;
use crate::raft::{RaftNode, codec};
use crate::range::protocol::{KvReply, method};
use crate::range::{ClusterKv, ClusterKvOptions, RangeDescriptor, RangeNode, RangeNodeOptions, keys};
use crate::rpc::{RpcClient, RpcService};
use crate::tls::{self, NodeIdentity};
use crate::transport::{Transport, TransportConfig};
use control::Control;

/// Why a node could not start or an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Bad settings, a certificate that does not match the stored node id,
    /// and the like; the message says what to fix.
    #[error("cluster configuration: {0}")]
    Config(String),
    /// Disk trouble.
    #[error("cluster storage: {0}")]
    Io(#[from] std::io::Error),
    /// Anything the layers below reported.
    #[error("cluster: {0}")]
    Failed(String),
    /// The named node is not a member.
    #[error("node {0} is not a member of the cluster")]
    UnknownNode(NodeId),
}

/// The RPC service handed to the transport before the range layer exists
/// (the range layer needs the transport to send): calls arriving in that
/// instant are refused, and the sender retries. Shutting down clears it,
/// which also breaks the reference cycle range layer → transport →
/// service → range layer, so the engine closes.
#[derive(Default)]
struct LateService(parking_lot::RwLock<Option<Arc<dyn RpcService>>>);

#[async_trait]
impl RpcService for LateService {
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
        let service = self.0.read().clone();
        match service {
            Some(s) => s.handle(from, range, method, body).await,
            None => Err("the node is not serving".into()),
        }
    }
}

/// A running cluster node. See the module documentation.
pub struct ClusterNode {
    id: NodeId,
    listen: SocketAddr,
    advertise: SocketAddr,
    config: ClusterConfig,
    transport: Transport,
    late: Arc<LateService>,
    membership: tokio::sync::Mutex<Option<Membership>>,
    view: tokio::sync::watch::Receiver<MembershipView>,
    range: Arc<RangeNode>,
    control: Arc<Control>,
    stopped: Arc<AtomicBool>,
    tasks: parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode").field("id", &self.id).field("listen", &self.listen).finish_non_exhaustive()
    }
}

fn failed(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Failed(e.to_string())
}

/// Resolves `host:port` seeds (the first address of each).
async fn resolve_seeds(join: &[String]) -> Result<Vec<SocketAddr>, ClusterError> {
    let mut seeds = Vec::new();
    for j in join {
        let mut addrs = tokio::net::lookup_host(j.as_str())
            .await
            .map_err(|e| ClusterError::Config(format!("cannot resolve the seed {j:?}: {e}")))?;
        let addr = addrs.next().ok_or_else(|| ClusterError::Config(format!("the seed {j:?} resolves to nothing")))?;
        seeds.push(addr);
    }
    Ok(seeds)
}

impl ClusterNode {
    /// Starts the node: reads or records its id, binds QUIC, joins through
    /// the seeds (or bootstraps a new cluster when there are none and no
    /// state exists yet), starts its ranges and the placement loop.
    pub async fn start(config: ClusterConfig) -> Result<Arc<ClusterNode>, ClusterError> {
        tls::install_ring_provider();
        if config.replication_factor == 0 {
            return Err(ClusterError::Config("the replication factor must be at least 1".into()));
        }
        let identity = match &config.identity {
            IdentitySource::CertDir(dir) => NodeIdentity::load(dir)
                .map_err(|e| ClusterError::Config(format!("node certificate in {}: {e}", dir.display())))?,
            IdentitySource::Insecure => {
                return Err(ClusterError::Config(
                    "the insecure identity mode is not supported; create certificates with \
                     `alopex cert create-ca` and `alopex cert create-node`"
                        .into(),
                ));
            }
        };
        std::fs::create_dir_all(&config.data_dir)?;
        let id = id_file::check_or_record(&config.data_dir, identity.node_id)?;
        let seeds = resolve_seeds(&config.join).await?;
        let tuning = config.tuning;

        let engine_opts = alopex_core::Options::default().relaxed(Duration::from_millis(20));
        let engine = alopex_core::Engine::open(config.data_dir.join("engine"), engine_opts)
            .map_err(|e| ClusterError::Failed(format!("opening the engine: {e}")))?;
        let late = Arc::new(LateService::default());
        let mut tc = TransportConfig::new(config.listen, identity);
        tuning.transport(&mut tc);
        let transport = Transport::bind(tc, Arc::clone(&late) as Arc<dyn RpcService>)
            .map_err(|e| ClusterError::Config(e.to_string()))?;
        let listen = transport.local_addr();
        let advertise = config.advertise.unwrap_or(listen);
        if advertise.ip().is_unspecified() {
            transport.shutdown().await;
            return Err(ClusterError::Config(format!(
                "cannot advertise the wildcard address {advertise}; set the advertised address"
            )));
        }
        let rpc: Arc<dyn RpcClient> = Arc::new(transport.clone());
        let raft = RaftNode::open(id, &config.data_dir, Arc::new(engine), Arc::clone(&rpc), tuning.raft_options())
            .map_err(failed)?;
        let range_opts = RangeNodeOptions {
            split_threshold_bytes: config.split_threshold_bytes,
            maintenance_interval: tuning.maintenance_interval(),
            gateway: ClusterKvOptions::default(),
        };
        let had_state = raft.engine().scan_prefix(crate::raft::shape::HOSTED_PREFIX, false).next().is_some();
        let range = RangeNode::start(raft, rpc, vec![id], range_opts).await.map_err(failed)?;
        *late.0.write() = Some(Arc::clone(&range) as Arc<dyn RpcService>);

        let swim = MembershipConfig { seeds, advertise: Some(advertise), ..tuning.membership() };
        let membership = Membership::start(transport.clone(), swim).map_err(|e| ClusterError::Config(e.to_string()))?;
        let view = membership.subscribe();
        let policy = Policy {
            replicas: config.replication_factor,
            down_after: config.down_timeout.as_millis() as u64,
            ..Policy::default()
        };
        let control = Arc::new(Control::new(Arc::clone(&range), view.clone(), policy, tuning));
        let node = Arc::new(ClusterNode {
            id,
            listen,
            advertise,
            config,
            transport,
            late,
            membership: tokio::sync::Mutex::new(Some(membership)),
            view,
            range,
            control,
            stopped: Arc::new(AtomicBool::new(false)),
            tasks: parking_lot::Mutex::new(Vec::new()),
        });
        node.follow_view();
        if !had_state && node.config.join.is_empty() {
            tracing::info!(node = %id, "bootstrapping a new cluster");
            let members = [(id, advertise.to_string())];
            if let Err(e) = node.range.bootstrap(&members).await {
                node.shutdown().await;
                return Err(ClusterError::Failed(format!("bootstrapping the cluster: {e}")));
            }
        } else if had_state {
            tracing::info!(node = %id, "restarting with existing state");
        } else {
            tracing::info!(node = %id, seeds = ?node.config.join, "joining a cluster");
        }
        let task =
            tokio::spawn(control::run(Arc::clone(&node.control), tuning.placement_period(), Arc::clone(&node.stopped)));
        node.tasks.lock().push(task);
        let compact = compaction::run(
            Arc::clone(node.range.raft()),
            tuning.compaction_period(),
            tuning.compaction_idle(),
            Arc::clone(&node.stopped),
        );
        node.tasks.lock().push(tokio::spawn(compact));
        Ok(node)
    }

    /// Keeps the gateway's meta candidates set to the live members.
    fn follow_view(self: &Arc<Self>) {
        let mut rx = self.view.clone();
        let kv_node = Arc::clone(&self.range);
        let me = self.id;
        let apply = move |v: &MembershipView| {
            let mut nodes = vec![me];
            nodes.extend(v.members.values().filter(|m| m.state == MemberState::Alive && m.node != me).map(|m| m.node));
            kv_node.kv().set_meta_replicas(nodes);
        };
        apply(&rx.borrow());
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let v = rx.borrow_and_update().clone();
                apply(&v);
            }
        });
        self.tasks.lock().push(task);
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The UDP address QUIC listens on (the real port when 0 was asked).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The address other nodes reach this one at.
    pub fn advertise_addr(&self) -> SocketAddr {
        self.advertise
    }

    /// The gateway: routes KV requests to the right range leader.
    pub fn kv(&self) -> &ClusterKv {
        self.range.kv()
    }

    /// The `alopex.v1.Kv` gRPC service over this node's gateway.
    pub fn kv_service(&self) -> KvService {
        KvService::new(Arc::clone(&self.range))
    }

    /// The node's range layer (its Raft groups, its gateway).
    pub fn range_node(&self) -> &Arc<RangeNode> {
        &self.range
    }

    /// The latest membership view.
    pub fn membership_view(&self) -> MembershipView {
        self.view.borrow().clone()
    }

    /// Every known node, sorted by id.
    pub fn nodes(&self) -> Vec<NodeInfo> {
        let view = self.view.borrow().clone();
        let catalog = self.control.catalog();
        let mut ids: std::collections::BTreeSet<NodeId> = view.members.keys().copied().collect();
        ids.extend(catalog.all().flat_map(|d| d.replicas.iter().copied()));
        ids.into_iter()
            .map(|id| {
                let member = view.get(id);
                NodeInfo {
                    id,
                    addr: member.map_or_else(String::new, |m| m.addr.to_string()),
                    state: member.map_or("down", |m| m.state.as_str()),
                    is_self: id == self.id,
                    decommissioning: catalog.draining.contains(&id),
                    replicas: catalog.all().filter(|d| d.replicas.contains(&id)).count(),
                    leaders: catalog.all().filter(|d| d.leader_hint == Some(id)).count(),
                }
            })
            .collect()
    }

    /// Every range, sorted by start key (reads the meta range).
    pub async fn ranges(&self) -> Result<Vec<RangeInfo>, ClusterError> {
        let kv = self.range.kv();
        let mut descs = kv.descriptors().await.map_err(failed)?;
        // Status calls are routed by each range's start key through the
        // gateway's cache, and `RANGE_STATUS` names no key, so a cache still
        // holding a parent from before a split would answer the right
        // half's call with the parent's status, for as long as nothing else
        // corrected the cache (the placement loop learned this first; see
        // `control::Control::step`). Seed the cache with what was just read,
        // and take a status only from a range that starts where this one
        // does.
        for d in &descs {
            kv.cache().insert(d.clone());
        }
        if let Some(v) = kv.meta_get(Bytes::from_static(control::META_RANGE_RECORD)).await.map_err(failed)?
            && let Ok(d) = codec::decode::<RangeDescriptor>(&v)
        {
            descs.push(d);
        }
        let infos = descs.into_iter().map(|d| async move {
            let key = (d.range != keys::META_RANGE).then(|| d.span.start.clone());
            let status = kv.leader_call(key, method::RANGE_STATUS, &());
            let status = match tokio::time::timeout(self.config.tuning.placement_call_timeout(), status).await {
                Ok(Ok(KvReply::Status(s))) if s.span.start == d.span.start => Some(s),
                Ok(Ok(KvReply::Status(_))) => {
                    kv.cache().evict(d.range);
                    None
                }
                _ => None,
            };
            match status {
                Some(s) => RangeInfo {
                    id: d.range,
                    start: d.span.start,
                    end: d.span.end,
                    voters: s.voters.into_iter().map(NodeId).collect(),
                    learners: s.learners.into_iter().map(|(n, _)| NodeId(n)).collect(),
                    leader: s.leader.map(NodeId),
                    lagging: s.lagging.into_iter().map(NodeId).collect(),
                    generation: d.generation,
                },
                None => RangeInfo {
                    id: d.range,
                    start: d.span.start,
                    end: d.span.end,
                    voters: d.replicas,
                    learners: Vec::new(),
                    leader: d.leader_hint,
                    lagging: Vec::new(),
                    generation: d.generation,
                },
            }
        });
        let mut out = futures_util::future::join_all(infos).await;
        out.sort_by(|a, b| a.start.cmp(&b.start));
        Ok(out)
    }

    /// Marks `node` for decommissioning: placement moves its replicas to
    /// other nodes. Returns once the mark is durable; progress shows in
    /// [`Self::nodes`] (its replica count falls to 0).
    pub async fn decommission(&self, node: NodeId) -> Result<(), ClusterError> {
        let known =
            self.view.borrow().get(node).is_some() || self.control.catalog().all().any(|d| d.replicas.contains(&node));
        if !known {
            return Err(ClusterError::UnknownNode(node));
        }
        let kv = self.range.kv();
        let key = control::node_mark_key(node);
        let value = Bytes::from_static(b"decommissioning");
        loop {
            let current = kv.meta_get(key.clone()).await.map_err(failed)?;
            if current.as_ref() == Some(&value) {
                return Ok(());
            }
            let ops = vec![crate::raft::WriteOp::Put { key: key.clone(), value: value.clone() }];
            if kv.meta_conditional(key.clone(), current, ops).await.map_err(failed)?.applied {
                tracing::info!(%node, "node marked for decommissioning");
                return Ok(());
            }
        }
    }

    /// Leaves the cluster gracefully (SWIM leave), stops the groups and
    /// closes the transport.
    pub async fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        if let Some(m) = self.membership.lock().await.take() {
            m.leave().await;
        }
        self.late.0.write().take();
        self.range.stop().await;
        self.transport.shutdown().await;
        // Let in-flight work drop its handles on the engine, so that the
        // data directory can be opened again as soon as the node is dropped.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(self.range.raft().engine()) > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
