//! # A simulated network: every delivery decided by one seeded RNG
//!
//! [`SimNetwork`] is an [`RpcClient`] factory like
//! [`crate::raft::LocalNetwork`], but between the caller and the callee it
//! puts a network that misbehaves on purpose, and only as its seed says:
//!
//! - each request and each answer is **dropped** with probability
//!   [`SimConfig::drop_rate`] (the caller then waits out
//!   [`SimConfig::rpc_timeout`] and gets [`RpcError::Timeout`], as with a
//!   real lost packet; a dropped *answer* means the callee did act, which is
//!   what makes operations indeterminate);
//! - each surviving message is **delayed** by a draw from
//!   `[min_delay, max_delay]`, so messages overtake each other (reorder
//!   without duplication);
//! - **partitions** are a set of blocked node pairs (both directions);
//!   [`SimNetwork::partition`] cuts between groups, [`SimNetwork::heal`]
//!   removes every cut; a node can also be **isolated** ([`SimNetwork::isolate`]).
//!
//! Time is tokio's clock, which the simulation runs paused on a
//! current-thread runtime: delays are virtual, a minute of simulated
//! elections takes milliseconds, and the interleaving of tasks is a function
//! of the program and the seed. Every decision is folded into a **trace
//! hash** (virtual time, endpoints, range, method, verdict), so a test can
//! assert that two runs with one seed made the same decisions.
//!
//! **Decisions do not depend on the order in which concurrent tasks reach
//! the network.** Each stream of messages (one sender, one receiver, one
//! range, one method, one direction) draws from its own RNG, seeded from
//! the network's seed and the stream; and the trace hash is a sum of one
//! hash per decision, so two tasks that send at the same virtual instant
//! in either order leave the same trace. A first version drew everything
//! from one RNG in arrival order, and two runs of one seed diverged when
//! the replication tasks of two followers woke in a different order at the
//! same instant. What else can still make runs differ is listed in
//! `docs/cluster.md`, "Deterministic simulation".

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcError, RpcService};

/// How the simulated network misbehaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Probability that a request, or an answer, is lost.
    pub drop_rate: f64,
    /// Shortest one-way delay.
    pub min_delay: Duration,
    /// Longest one-way delay.
    pub max_delay: Duration,
    /// How long a caller waits for a lost message before giving up.
    pub rpc_timeout: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            drop_rate: 0.0,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            rpc_timeout: Duration::from_millis(300),
        }
    }
}

/// What the network did with one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Delivered after this many microseconds.
    Delivered(u64),
    /// Lost.
    Dropped,
    /// Refused at once: the endpoints are partitioned or a node is isolated.
    Blocked,
    /// No node of that id is registered (crashed or not started).
    NoNode,
}

struct State {
    /// The workload's RNG ([`SimNetwork::draw`]).
    rng: StdRng,
    /// One RNG per message stream: (from, to, range, method, answer).
    streams: HashMap<(NodeId, NodeId, RangeId, u16, bool), StdRng>,
    config: SimConfig,
    blocked: BTreeSet<(NodeId, NodeId)>,
    isolated: BTreeSet<NodeId>,
    trace: u64,
    events: u64,
    log: Option<Vec<String>>,
}

/// A seeded, misbehaving in-process network. See the module documentation.
pub struct SimNetwork {
    seed: u64,
    start: Instant,
    nodes: Mutex<HashMap<NodeId, Weak<dyn RpcService>>>,
    /// Datagram endpoints (`super::datagram`): where each node listens and
    /// the queue its membership task reads.
    pub(super) datagrams: Mutex<HashMap<NodeId, DatagramEndpoint>>,
    state: Mutex<State>,
}

/// A node's datagram endpoint in the simulation.
pub(super) struct DatagramEndpoint {
    /// The address the node claims to listen on (seeds are dialed by it).
    pub(super) addr: std::net::SocketAddr,
    /// Its incoming queue.
    pub(super) queue: tokio::sync::mpsc::Sender<crate::transport::Datagram>,
}

impl std::fmt::Debug for SimNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNetwork").field("seed", &self.seed).finish_non_exhaustive()
    }
}

fn mix(h: u64, v: u64) -> u64 {
    // FNV-1a over the 8 bytes of `v`: stable across platforms and versions.
    let mut h = h;
    for b in v.to_le_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl SimNetwork {
    /// A network whose every decision follows from `seed`. Must be created
    /// inside the (paused) runtime: virtual time starts now.
    pub fn new(seed: u64, config: SimConfig) -> Arc<SimNetwork> {
        Arc::new(SimNetwork {
            seed,
            start: Instant::now(),
            nodes: Mutex::new(HashMap::new()),
            datagrams: Mutex::new(HashMap::new()),
            state: Mutex::new(State {
                rng: StdRng::seed_from_u64(seed),
                streams: HashMap::new(),
                config,
                blocked: BTreeSet::new(),
                isolated: BTreeSet::new(),
                trace: 0xcbf2_9ce4_8422_2325,
                events: 0,
                log: None,
            }),
        })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Makes `service` reachable as node `id` (held weakly, so dropping the
    /// node really drops it).
    pub fn register(&self, id: NodeId, service: Arc<dyn RpcService>) {
        self.nodes.lock().insert(id, Arc::downgrade(&service));
    }

    /// Removes node `id` (a crash).
    pub fn unregister(&self, id: NodeId) {
        self.nodes.lock().remove(&id);
    }

    /// The client node `from` sends with.
    pub fn client(self: &Arc<Self>, from: NodeId) -> Arc<dyn RpcClient> {
        Arc::new(SimClient { from, net: Arc::clone(self) })
    }

    /// Replaces the misbehaviour settings (e.g. to stop dropping before a
    /// final convergence check).
    pub fn set_config(&self, config: SimConfig) {
        self.state.lock().config = config;
    }

    /// The current settings.
    pub fn config(&self) -> SimConfig {
        self.state.lock().config.clone()
    }

    /// Cuts every link between a node of `a` and a node of `b`.
    pub fn partition(&self, a: &[NodeId], b: &[NodeId]) {
        let mut s = self.state.lock();
        for &x in a {
            for &y in b {
                if x != y {
                    s.blocked.insert((x, y));
                    s.blocked.insert((y, x));
                }
            }
        }
        self.note(&mut s, 1, 0);
    }

    /// Cuts node `id` off from everyone (`true`) or lets it back (`false`).
    pub fn isolate(&self, id: NodeId, isolated: bool) {
        let mut s = self.state.lock();
        if isolated {
            s.isolated.insert(id);
        } else {
            s.isolated.remove(&id);
        }
        self.note(&mut s, 2, id.0);
    }

    /// Removes every partition and isolation.
    pub fn heal(&self) {
        let mut s = self.state.lock();
        s.blocked.clear();
        s.isolated.clear();
        self.note(&mut s, 3, 0);
    }

    /// Whether `a` can currently reach `b`.
    pub fn connected(&self, a: NodeId, b: NodeId) -> bool {
        let s = self.state.lock();
        !(s.isolated.contains(&a) || s.isolated.contains(&b) || s.blocked.contains(&(a, b)))
    }

    /// The hash of every decision so far (same seed, same program: same hash).
    pub fn trace_hash(&self) -> u64 {
        self.state.lock().trace
    }

    /// How many decisions were made.
    pub fn events(&self) -> u64 {
        self.state.lock().events
    }

    /// Starts keeping a readable line per decision (for debugging a replay).
    pub fn record_log(&self) {
        self.state.lock().log.get_or_insert_with(Vec::new);
    }

    /// The readable decisions recorded since [`SimNetwork::record_log`].
    pub fn log(&self) -> Vec<String> {
        self.state.lock().log.clone().unwrap_or_default()
    }

    /// Draws a number from the network's RNG (for workloads that must
    /// replay with the network, e.g. which client does what next).
    pub fn draw(&self, below: u64) -> u64 {
        let mut s = self.state.lock();
        let v = s.rng.random_range(0..below.max(1));
        self.note(&mut s, 4, v);
        v
    }

    fn elapsed_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn note(&self, s: &mut State, kind: u64, v: u64) {
        let t = self.elapsed_us();
        s.trace = s.trace.wrapping_add(mix(mix(mix(0xcbf2_9ce4_8422_2325, t), kind), v));
        s.events += 1;
    }

    /// Decides the fate of one message from `from` to `to`.
    pub(super) fn decide(&self, from: NodeId, to: NodeId, range: RangeId, method: u16, answer: bool) -> Verdict {
        let registered = if method >= super::datagram::DATAGRAM_METHODS {
            self.datagrams.lock().contains_key(&to)
        } else {
            self.nodes.lock().contains_key(&to)
        };
        let mut guard = self.state.lock();
        let s = &mut *guard;
        let drop_rate = s.config.drop_rate.clamp(0.0, 1.0);
        let (lo, hi) = {
            let lo = u64::try_from(s.config.min_delay.as_micros()).unwrap_or(u64::MAX);
            (lo, u64::try_from(s.config.max_delay.as_micros()).unwrap_or(u64::MAX).max(lo))
        };
        let seed = self.seed;
        let stream = s.streams.entry((from, to, range, method, answer)).or_insert_with(|| {
            let mut h = mix(0xcbf2_9ce4_8422_2325, seed);
            for v in [from.0, to.0, range.0, u64::from(method), u64::from(answer)] {
                h = mix(h, v);
            }
            StdRng::seed_from_u64(h)
        });
        let verdict = if s.isolated.contains(&from) || s.isolated.contains(&to) || s.blocked.contains(&(from, to)) {
            Verdict::Blocked
        } else if !registered && !answer {
            Verdict::NoNode
        } else if drop_rate > 0.0 && stream.random_bool(drop_rate) {
            Verdict::Dropped
        } else {
            Verdict::Delivered(stream.random_range(lo..=hi))
        };
        let t = self.elapsed_us();
        let code = match verdict {
            Verdict::Delivered(us) => 1 + (us << 3),
            Verdict::Dropped => 2,
            Verdict::Blocked => 3,
            Verdict::NoNode => 4,
        };
        let mut h = 0xcbf2_9ce4_8422_2325;
        for v in [t, from.0, to.0, range.0, u64::from(method), u64::from(answer), code] {
            h = mix(h, v);
        }
        // A sum: the same decisions at one instant, in any order, add up the same.
        s.trace = s.trace.wrapping_add(h);
        s.events += 1;
        if let Some(log) = s.log.as_mut() {
            let dir = if answer { "<-" } else { "->" };
            log.push(format!("{t:>10}us n{} {dir} n{} r{} m{method}: {verdict:?}", from.0, to.0, range.0));
        }
        verdict
    }
}

struct SimClient {
    from: NodeId,
    net: Arc<SimNetwork>,
}

impl SimClient {
    /// Carries one message: waits its delay, or times out if it is lost.
    async fn carry(&self, from: NodeId, to: NodeId, range: RangeId, method: u16, answer: bool) -> Result<(), RpcError> {
        match self.net.decide(from, to, range, method, answer) {
            Verdict::Delivered(us) => {
                tokio::time::sleep(Duration::from_micros(us)).await;
                Ok(())
            }
            Verdict::Dropped => {
                let timeout = self.net.state.lock().config.rpc_timeout;
                tokio::time::sleep(timeout).await;
                Err(RpcError::Timeout(to))
            }
            Verdict::Blocked => Err(RpcError::Unreachable(to, "partitioned".into())),
            Verdict::NoNode => Err(RpcError::Unreachable(to, "no such node".into())),
        }
    }
}

#[async_trait]
impl RpcClient for SimClient {
    async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError> {
        let sent = Instant::now();
        self.carry(self.from, to, range, method, false).await?;
        let service = self.net.nodes.lock().get(&to).and_then(Weak::upgrade);
        let Some(service) = service else {
            return Err(RpcError::Unreachable(to, "no such node".into()));
        };
        let result = service.handle(self.from, range, method, body).await;
        drop(service);
        // The answer travels back through the same network; losing it (or a
        // partition that formed meanwhile) leaves the caller not knowing.
        match self.carry(to, self.from, range, method, true).await {
            Ok(()) => {}
            Err(RpcError::Unreachable(..)) => {
                let timeout = self.net.state.lock().config.rpc_timeout;
                tokio::time::sleep_until(sent + timeout).await;
                return Err(RpcError::Timeout(to));
            }
            Err(e) => return Err(e),
        }
        result.map_err(|message| RpcError::Remote { node: to, message })
    }
}
