//! The `[cluster]` settings: what turns `alopex serve` into a cluster node.
//!
//! A node is in cluster mode exactly when it has a node-to-node address
//! (`--listen-addr`); every other cluster setting without one is a mistake
//! the operator wants to hear about at startup, not a silently ignored
//! flag. The settings layer like the rest ([`super::Settings`]): a
//! `[cluster]` table in the file, `ALOPEX_*` variables, flags, each over
//! the one before; [`ClusterSettings::resolve`] then checks them and
//! builds the [`ClusterConfig`] the cluster crate takes, with the cluster
//! state kept in `<data-dir>/cluster` beside the node-local SQL database.
//!
//! Identity must be chosen explicitly: a certificate directory written by
//! `alopex cert create-node`, or `--cluster-insecure`, whose name says what
//! it is (tests only; the server logs a warning). Durations accept
//! humantime's forms (`30s`, `5m`, `500ms`) or a bare number of seconds;
//! sizes accept a bare number of bytes or a `KiB`/`MiB`/`GiB` suffix, so
//! tests can make ranges split after a few kilobytes.
//!
//! ```toml
//! [cluster]
//! listen_addr = "10.0.0.1:7000"
//! advertise_addr = "node1.internal:7000"   # optional
//! join = ["10.0.0.2:7000", "10.0.0.3:7000"] # empty: bootstrap
//! cert_dir = "/etc/alopex/node"             # node.crt, node.key, ca.crt
//! replication_factor = 3
//! down_timeout = "5m"
//! split_threshold = "64MiB"
//! tuning = "lan"                            # lan | fast (tests)
//! ```

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use alopex_cluster::node::{ClusterConfig, IdentitySource, Tuning};
use clap::Args;
use serde::Deserialize;

use super::ConfigError;

/// The files `alopex cert create-node` writes into a node's directory.
pub const CERT_FILES: [&str; 3] = ["node.crt", "node.key", "ca.crt"];

/// One layer of the cluster settings; `None` means "not set in this layer".
#[derive(Debug, Clone, Default, Deserialize, Args)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Node-to-node (QUIC, UDP) listen address; setting it turns cluster
    /// mode on.
    #[arg(long = "listen-addr", env = "ALOPEX_LISTEN_ADDR", value_name = "HOST:PORT")]
    pub listen_addr: Option<String>,
    /// The address other nodes reach this one at (default: the listen
    /// address).
    #[arg(long = "advertise-addr", env = "ALOPEX_ADVERTISE_ADDR", value_name = "HOST:PORT")]
    pub advertise_addr: Option<String>,
    /// Seeds of an existing cluster (comma-separated); none: bootstrap a
    /// new cluster.
    #[arg(long = "join", env = "ALOPEX_JOIN", value_name = "HOST:PORT,…", value_delimiter = ',')]
    pub join: Option<Vec<String>>,
    /// Directory with node.crt, node.key and ca.crt (`alopex cert create-node`).
    #[arg(long = "cluster-cert-dir", env = "ALOPEX_CLUSTER_CERT_DIR", value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// INSECURE, tests only: no cluster CA, node ids taken on trust.
    #[arg(long = "cluster-insecure", env = "ALOPEX_CLUSTER_INSECURE", num_args = 0..=1, default_missing_value = "true")]
    pub insecure: Option<bool>,
    /// Voters per range (default 3).
    #[arg(long = "replication-factor", env = "ALOPEX_REPLICATION_FACTOR")]
    pub replication_factor: Option<usize>,
    /// How long a node may stay down before its replicas are re-created
    /// elsewhere (`30s`, `5m`, or seconds; default 5m).
    #[arg(long = "down-timeout", env = "ALOPEX_DOWN_TIMEOUT", value_name = "DURATION")]
    pub down_timeout: Option<String>,
    /// A range larger than this splits (bytes, or with KiB/MiB/GiB;
    /// default 64MiB).
    #[arg(long = "split-threshold", env = "ALOPEX_SPLIT_THRESHOLD", value_name = "SIZE")]
    pub split_threshold: Option<String>,
    /// Timing profile: `lan` (real networks) or `fast` (loopback tests).
    #[arg(long = "cluster-tuning", env = "ALOPEX_CLUSTER_TUNING", value_enum)]
    pub tuning: Option<TuningSetting>,
}

/// `--cluster-tuning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TuningSetting {
    /// Real networks.
    Lan,
    /// Loopback tests: every period shrunk.
    Fast,
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, message: message.into() }
}

/// Resolves `HOST:PORT` (a name is looked up once, at startup).
fn socket_addr(name: &'static str, text: &str) -> Result<SocketAddr, ConfigError> {
    if let Ok(a) = text.parse() {
        return Ok(a);
    }
    let mut addrs = text.to_socket_addrs().map_err(|e| invalid(name, format!("\"{text}\" is not HOST:PORT ({e})")))?;
    addrs.next().ok_or_else(|| invalid(name, format!("\"{text}\" resolves to no address")))
}

/// A duration: humantime's forms or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return if secs.is_finite() && secs >= 0.0 {
            Ok(Duration::from_secs_f64(secs))
        } else {
            Err(format!("\"{text}\" is not a duration"))
        };
    }
    humantime::parse_duration(t).map_err(|e| format!("\"{text}\" is not a duration ({e}); try 30s, 5m or 500ms"))
}

/// A size: bytes, or a number with a `KiB`/`MiB`/`GiB` (or `K`/`M`/`G`) suffix.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| format!("\"{text}\" is not a size; try 65536 or 64MiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit \"{other}\" in \"{text}\"; use KiB, MiB or GiB")),
    };
    n.checked_mul(1 << shift).ok_or_else(|| format!("\"{text}\" is too large"))
}

impl ClusterSettings {
    /// `self` laid over `lower`: each setting from `self` when set there.
    pub fn over(self, lower: ClusterSettings) -> ClusterSettings {
        ClusterSettings {
            listen_addr: self.listen_addr.or(lower.listen_addr),
            advertise_addr: self.advertise_addr.or(lower.advertise_addr),
            join: self.join.or(lower.join),
            cert_dir: self.cert_dir.or(lower.cert_dir),
            insecure: self.insecure.or(lower.insecure),
            replication_factor: self.replication_factor.or(lower.replication_factor),
            down_timeout: self.down_timeout.or(lower.down_timeout),
            split_threshold: self.split_threshold.or(lower.split_threshold),
            tuning: self.tuning.or(lower.tuning),
        }
    }

    /// Whether any cluster setting is present.
    fn any_set(&self) -> bool {
        let ClusterSettings {
            listen_addr,
            advertise_addr,
            join,
            cert_dir,
            insecure,
            replication_factor,
            down_timeout,
            split_threshold,
            tuning,
        } = self;
        listen_addr.is_some()
            || advertise_addr.is_some()
            || join.as_ref().is_some_and(|j| !j.is_empty())
            || cert_dir.is_some()
            || insecure == &Some(true)
            || replication_factor.is_some()
            || down_timeout.is_some()
            || split_threshold.is_some()
            || tuning.is_some()
    }

    /// The node's cluster configuration, `None` outside cluster mode.
    /// `data_dir` is the server's data directory; the cluster keeps its
    /// state in its `cluster` subdirectory.
    pub fn resolve(self, data_dir: &Path) -> Result<Option<ClusterConfig>, ConfigError> {
        let Some(listen) = self.listen_addr.as_deref() else {
            if self.any_set() {
                return Err(invalid(
                    "listen_addr",
                    "cluster settings are given but --listen-addr (the node-to-node address) is not; \
                     set it to run as a cluster node",
                ));
            }
            return Ok(None);
        };
        let listen = socket_addr("listen_addr", listen)?;
        let advertise = self.advertise_addr.as_deref().map(|a| socket_addr("advertise_addr", a)).transpose()?;
        if let Some(a) = advertise
            && a.ip().is_unspecified()
        {
            return Err(invalid("advertise_addr", format!("{a} is a wildcard; other nodes need a reachable address")));
        }
        let join: Vec<String> = self.join.unwrap_or_default().into_iter().map(|s| s.trim().to_string()).collect();
        for seed in &join {
            let port_ok =
                seed.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !port_ok {
                return Err(invalid("join", format!("seed \"{seed}\" is not HOST:PORT")));
            }
        }
        let identity = match (self.cert_dir, self.insecure.unwrap_or(false)) {
            (Some(_), true) => {
                return Err(invalid(
                    "cluster_insecure",
                    "--cluster-cert-dir and --cluster-insecure exclude each other",
                ));
            }
            (Some(dir), false) => {
                for file in CERT_FILES {
                    if !dir.join(file).is_file() {
                        return Err(invalid(
                            "cluster_cert_dir",
                            format!(
                                "{} has no {file}; create the node's certificates with `alopex cert create-node`",
                                dir.display()
                            ),
                        ));
                    }
                }
                IdentitySource::CertDir(dir)
            }
            (None, true) => IdentitySource::Insecure,
            (None, false) => {
                return Err(invalid(
                    "cluster_cert_dir",
                    "a cluster node needs --cluster-cert-dir (from `alopex cert create-node`), \
                     or --cluster-insecure for tests",
                ));
            }
        };
        let mut config = ClusterConfig::new(data_dir.join("cluster"), listen, identity);
        config.advertise = advertise;
        config.join = join;
        if let Some(rf) = self.replication_factor {
            if !(1..=7).contains(&rf) {
                return Err(invalid("replication_factor", format!("{rf} is not between 1 and 7")));
            }
            config.replication_factor = rf;
        }
        if let Some(t) = self.down_timeout {
            let d = parse_duration(&t).map_err(|m| invalid("down_timeout", m))?;
            if d < Duration::from_millis(100) {
                return Err(invalid("down_timeout", format!("\"{t}\" is shorter than 100ms")));
            }
            config.down_timeout = d;
        }
        if let Some(s) = self.split_threshold {
            let n = parse_size(&s).map_err(|m| invalid("split_threshold", m))?;
            if n < 1024 {
                return Err(invalid("split_threshold", format!("\"{s}\" is below 1KiB")));
            }
            config.split_threshold_bytes = n;
        }
        config.tuning = match self.tuning {
            Some(TuningSetting::Fast) => Tuning::Fast,
            Some(TuningSetting::Lan) | None => Tuning::Lan,
        };
        Ok(Some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insecure(listen: &str) -> ClusterSettings {
        ClusterSettings { listen_addr: Some(listen.into()), insecure: Some(true), ..ClusterSettings::default() }
    }

    #[test]
    fn no_listen_addr_is_no_cluster() {
        assert!(ClusterSettings::default().resolve(Path::new("/d")).unwrap().is_none());
        let stray = ClusterSettings { join: Some(vec!["a:1".into()]), ..ClusterSettings::default() };
        let err = stray.resolve(Path::new("/d")).unwrap_err().to_string();
        assert!(err.contains("--listen-addr"), "{err}");
    }

    #[test]
    fn a_node_config_from_settings() {
        let s = ClusterSettings {
            join: Some(vec!["127.0.0.1:7001".into(), " localhost:7002".into()]),
            down_timeout: Some("2s".into()),
            split_threshold: Some("64KiB".into()),
            tuning: Some(TuningSetting::Fast),
            replication_factor: Some(3),
            ..insecure("127.0.0.1:7000")
        };
        let c = s.resolve(Path::new("/d")).unwrap().unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/d/cluster"));
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.join, vec!["127.0.0.1:7001".to_string(), "localhost:7002".to_string()]);
        assert_eq!(c.down_timeout, Duration::from_secs(2));
        assert_eq!(c.split_threshold_bytes, 64 << 10);
        assert_eq!(c.tuning, Tuning::Fast);
        assert_eq!(c.identity, IdentitySource::Insecure);
    }

    #[test]
    fn bad_cluster_settings_are_clear_errors() {
        let err = |s: ClusterSettings| s.resolve(Path::new("/d")).unwrap_err().to_string();
        let no_identity = ClusterSettings { listen_addr: Some("127.0.0.1:1".into()), ..ClusterSettings::default() };
        assert!(err(no_identity).contains("--cluster-cert-dir"));
        let missing =
            ClusterSettings { cert_dir: Some("/nonexistent".into()), insecure: None, ..insecure("127.0.0.1:1") };
        assert!(err(missing).contains("node.crt"));
        assert!(
            err(ClusterSettings { join: Some(vec!["nohost".into()]), ..insecure("127.0.0.1:1") }).contains("nohost")
        );
        assert!(err(insecure("not an address")).contains("listen_addr"));
        assert!(err(ClusterSettings { down_timeout: Some("soon".into()), ..insecure("127.0.0.1:1") }).contains("soon"));
        assert!(
            err(ClusterSettings { split_threshold: Some("5 parsecs".into()), ..insecure("127.0.0.1:1") })
                .contains("parsecs")
        );
        assert!(err(ClusterSettings { replication_factor: Some(0), ..insecure("127.0.0.1:1") }).contains("between"));
        assert!(
            err(ClusterSettings { advertise_addr: Some("0.0.0.0:9".into()), ..insecure("127.0.0.1:1") })
                .contains("wildcard")
        );
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("-1").is_err());
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("2 G").unwrap(), 2 << 30);
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
