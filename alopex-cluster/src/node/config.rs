//! # A cluster node's settings
//!
//! Everything `alopex serve --listen-addr … --join …` (or the `[cluster]`
//! table of the config file) decides about the node. The server crate
//! parses flags, environment and file into a [`ClusterConfig`]; this crate
//! never reads them itself, so the same node can be started in-process by
//! tests with exactly the settings a process would get.
//!
//! Timings come in two profiles ([`Tuning`]): `lan` for real deployments
//! and `fast` for tests on loopback, where failure detection, elections
//! and the placement loop run in fractions of a second so a multi-process
//! test finishes in minutes, not hours. The profile changes only *when*
//! things happen, never *what* happens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the node's certificate comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentitySource {
    /// A directory with `node.crt`, `node.key` and `ca.crt`, as written by
    /// `alopex cert create-node`. The node id is read from the certificate.
    CertDir(PathBuf),
    /// **Insecure, for tests only**: no cluster CA is checked. The node id
    /// comes from the data directory (created at random on first start) and
    /// peers take each other's certificates on trust. Starting in this mode
    /// logs a warning.
    Insecure,
}

/// Timing profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Tuning {
    /// Real networks: SWIM probes every second, Raft elections after
    /// 0.5-1 s of silence, placement every few seconds.
    #[default]
    Lan,
    /// Loopback tests: every period shrunk (SWIM probe 200 ms, elections
    /// after 200-400 ms, placement every 200 ms).
    Fast,
}

/// A cluster node's settings. See the module documentation.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The directory for the node's cluster state (its id, Raft log and
    /// replicated engine); created when missing.
    pub data_dir: PathBuf,
    /// The UDP address QUIC listens on for node-to-node traffic.
    pub listen: SocketAddr,
    /// The address other nodes reach this one at, when `listen` is a
    /// wildcard or sits behind a proxy; `None` uses `listen`.
    pub advertise: Option<SocketAddr>,
    /// Seeds (`host:port`) of an existing cluster to join; empty to
    /// bootstrap a new cluster (only when this node has no state yet).
    pub join: Vec<String>,
    /// Where the node's certificate comes from.
    pub identity: IdentitySource,
    /// Voters per range (3 by default).
    pub replication_factor: usize,
    /// How long a node stays down before its replicas are re-created on
    /// other nodes.
    pub down_timeout: Duration,
    /// A range whose live data passes this many bytes splits.
    pub split_threshold_bytes: u64,
    /// The timing profile.
    pub tuning: Tuning,
}

impl ClusterConfig {
    /// The defaults for a node keeping its state in `data_dir` and
    /// listening on `listen`.
    pub fn new(data_dir: PathBuf, listen: SocketAddr, identity: IdentitySource) -> Self {
        ClusterConfig {
            data_dir,
            listen,
            advertise: None,
            join: Vec::new(),
            identity,
            replication_factor: 3,
            down_timeout: Duration::from_secs(300),
            split_threshold_bytes: 64 << 20,
            tuning: Tuning::Lan,
        }
    }
}

/// The concrete periods and timeouts of a [`Tuning`] profile, for the
/// layers the node starts.
impl Tuning {
    /// Raft: heartbeats and election timeouts.
    pub fn raft_options(self) -> crate::raft::RaftNodeOptions {
        let mut o = crate::raft::RaftNodeOptions::default();
        if self == Tuning::Fast {
            o.raft.heartbeat_interval = 50;
            o.raft.election_timeout_min = 200;
            o.raft.election_timeout_max = 400;
        }
        o
    }

    /// SWIM: probe, suspicion and gossip periods (seeds and the advertised
    /// address are filled in by the node).
    pub fn membership(self) -> crate::membership::MembershipConfig {
        let base = crate::membership::MembershipConfig::default();
        match self {
            Tuning::Lan => base,
            Tuning::Fast => crate::membership::MembershipConfig {
                probe_period: Duration::from_millis(200),
                probe_rtt: Duration::from_millis(80),
                suspect_to_down_after: Duration::from_millis(1000),
                gossip_period: Duration::from_millis(100),
                announce_period: Duration::from_millis(1000),
                join_retry: Duration::from_millis(200),
                ..base
            },
        }
    }

    /// QUIC: call, dial and idle timeouts, redial backoff.
    pub fn transport(self, t: &mut crate::transport::TransportConfig) {
        if self == Tuning::Fast {
            t.call_timeout = Duration::from_secs(2);
            t.connect_timeout = Duration::from_millis(500);
            t.idle_timeout = Duration::from_secs(2);
            t.keep_alive = Duration::from_millis(300);
            t.backoff_min = Duration::from_millis(50);
            t.backoff_max = Duration::from_millis(200);
        }
    }

    /// How often the placement loop observes and plans, and how often each
    /// node refreshes what it reports (`nodes()`).
    pub fn placement_period(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(2),
            Tuning::Fast => Duration::from_millis(200),
        }
    }

    /// How often the range layer's maintenance (hosted ranges, splits) runs.
    pub fn maintenance_interval(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_millis(500),
            Tuning::Fast => Duration::from_millis(100),
        }
    }

    /// How long a status or move call of the placement loop may take.
    pub fn placement_call_timeout(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(5),
            Tuning::Fast => Duration::from_secs(2),
        }
    }

    /// How long the placement loop waits for one range's status: a range
    /// that does not answer in time is left alone for this tick, so one
    /// leaderless range does not hold every step for a whole call timeout.
    pub fn placement_status_timeout(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(2),
            Tuning::Fast => Duration::from_secs(1),
        }
    }

    /// How often a node looks for idle ranges whose logs to compact (see
    /// `node::compaction`); at most one snapshot is built per pass.
    pub fn compaction_period(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(5),
            Tuning::Fast => Duration::from_secs(1),
        }
    }

    /// How long a range's log must not grow before it is compacted.
    pub fn compaction_idle(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(60),
            Tuning::Fast => Duration::from_secs(3),
        }
    }

    /// How long a node waits after starting before it plans placement, so
    /// that membership has found the other nodes (a node it has not heard
    /// of yet would otherwise look dead).
    pub fn placement_grace(self) -> Duration {
        match self {
            Tuning::Lan => Duration::from_secs(10),
            Tuning::Fast => Duration::from_secs(2),
        }
    }
}
