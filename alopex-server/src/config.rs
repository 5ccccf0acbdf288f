//! Server settings: defaults, a TOML file, `ALOPEX_*` environment variables
//! and command-line flags, in rising order of precedence.
//!
//! `alopex serve` must run with no configuration at all (a data directory
//! `./alopex-data` and three loopback ports), so every setting has a
//! default. Operators then override what they need in the layer that suits
//! them: a file checked into their deployment, an environment variable in a
//! container, a flag in a script. Flags win over the environment and the
//! environment over the file, so the most specific word is the last.
//!
//! The layering is done on [`Settings`], a struct of options: the file is
//! parsed into one, clap fills another from flags and environment (clap
//! itself ranks a flag above its variable), and [`Settings::over`] lays the
//! second on the first. Only then are defaults applied, in
//! [`Settings::resolve`], so a default never hides a value from a lower layer.
//!
//! ## Format
//!
//! ```toml
//! data_dir = "./alopex-data"
//! pg_addr = "127.0.0.1:6432"
//! http_addr = "127.0.0.1:6480"
//! grpc_addr = "127.0.0.1:6490"
//! workers = 4                  # statement worker threads
//! max_connections = 200
//! max_result_bytes = 268435456 # per-statement result memory
//! sync = true                  # fsync every commit
//! http_token = "secret"        # REST API bearer token (default: none)
//! auth = "auto"                # auto | trust | scram (see docs/server.md)
//! tls_cert = "server.crt"      # PEM certificate chain: enables TLS on the pg port
//! tls_key = "server.key"       # PEM private key
//! tls_required = false         # refuse pg connections without TLS
//!
//! [[users]]                    # users besides those made with CREATE USER
//! name = "app"
//! password = "secret"          # or: verifier = "SCRAM-SHA-256$4096:…"
//! ```
//!
//! Unknown keys are an error, so a misspelt setting is noticed. The
//! `[cluster]` table (and the cluster flags) are described in [`cluster`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

pub mod cluster;

pub use cluster::ClusterSettings;

/// The Postgres wire port when none is configured (PostgreSQL's 5432 stays
/// free for a local PostgreSQL).
pub const DEFAULT_PG_ADDR: &str = "127.0.0.1:6432";
/// The HTTP (REST) port when none is configured.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:6480";
/// The gRPC port when none is configured.
pub const DEFAULT_GRPC_ADDR: &str = "127.0.0.1:6490";
/// The data directory when none is configured.
pub const DEFAULT_DATA_DIR: &str = "./alopex-data";

/// One layer of settings; `None` means "not set in this layer".
#[derive(Debug, Clone, Default, Deserialize, Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory holding the database (created when missing).
    #[arg(long, env = "ALOPEX_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Postgres wire listen address.
    #[arg(long, env = "ALOPEX_PG_ADDR")]
    pub pg_addr: Option<SocketAddr>,
    /// HTTP (REST) listen address.
    #[arg(long, env = "ALOPEX_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// gRPC listen address.
    #[arg(long, env = "ALOPEX_GRPC_ADDR")]
    pub grpc_addr: Option<SocketAddr>,
    /// Threads that run statements (default: the number of cores).
    #[arg(long, env = "ALOPEX_WORKERS")]
    pub workers: Option<usize>,
    /// Most client connections at once; more are refused with 53300.
    #[arg(long, env = "ALOPEX_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most bytes one statement's result may hold in memory (54000 beyond).
    #[arg(long, env = "ALOPEX_MAX_RESULT_BYTES")]
    pub max_result_bytes: Option<usize>,
    /// Fsync every commit (true) or group commits within a few ms (false).
    #[arg(long, env = "ALOPEX_SYNC")]
    pub sync: Option<bool>,
    /// A bearer token the REST API requires (none: no token needed).
    #[arg(long, env = "ALOPEX_HTTP_TOKEN")]
    pub http_token: Option<String>,
    /// Postgres wire authentication: `auto` (trust until a user exists,
    /// then SCRAM-SHA-256), `trust` or `scram`.
    #[arg(long, env = "ALOPEX_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// PEM certificate chain for TLS on the Postgres wire port.
    #[arg(long, env = "ALOPEX_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[arg(long, env = "ALOPEX_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Refuse Postgres wire connections that do not use TLS.
    #[arg(long, env = "ALOPEX_TLS_REQUIRED")]
    pub tls_required: Option<bool>,
    /// Users defined in the file (`[[users]]`), besides those in the database.
    #[arg(skip)]
    pub users: Option<Vec<ConfigUser>>,
    /// The cluster settings (`[cluster]` in the file).
    #[command(flatten)]
    #[serde(default)]
    pub cluster: ClusterSettings,
}

/// How Postgres wire clients authenticate (see `pg/auth.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Trust while no user exists (in the database or the file), then
    /// SCRAM-SHA-256 for every connection.
    #[default]
    Auto,
    /// Never ask for a password.
    Trust,
    /// Always SCRAM-SHA-256.
    Scram,
}

/// A user from the config file: a name and a password or a verifier.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigUser {
    /// The user name (case-sensitive, as clients send it).
    pub name: String,
    /// The password in cleartext (hashed when the server starts).
    pub password: Option<String>,
    /// A SCRAM-SHA-256 verifier (`SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`).
    pub verifier: Option<String>,
}

impl std::fmt::Debug for ConfigUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigUser").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The certificate and key files of the Postgres wire port.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// The settings in force, every one decided.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the database.
    pub data_dir: PathBuf,
    /// Postgres wire listen address.
    pub pg_addr: SocketAddr,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// Statement worker threads.
    pub workers: usize,
    /// Connection limit.
    pub max_connections: usize,
    /// Per-statement result memory limit.
    pub max_result_bytes: usize,
    /// Fsync every commit.
    pub sync: bool,
    /// The REST API's bearer token, if required.
    pub http_token: Option<String>,
    /// Postgres wire authentication.
    pub auth: AuthMode,
    /// TLS on the Postgres wire port, when configured.
    pub tls: Option<TlsFiles>,
    /// Refuse Postgres wire connections without TLS.
    pub tls_required: bool,
    /// Users from the config file.
    pub users: Vec<ConfigUser>,
    /// The cluster node's settings; `None` outside cluster mode.
    pub cluster: Option<alopex_cluster::node::ClusterConfig>,
}

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Settings`].
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with its position.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Settings {
    /// Reads a TOML settings file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        Settings::from_toml(&text).map_err(|message| ConfigError::Parse { path: path.to_path_buf(), message })
    }

    fn from_toml(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// `self` laid over `lower`: each setting from `self` when set there.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            data_dir: self.data_dir.or(lower.data_dir),
            pg_addr: self.pg_addr.or(lower.pg_addr),
            http_addr: self.http_addr.or(lower.http_addr),
            grpc_addr: self.grpc_addr.or(lower.grpc_addr),
            workers: self.workers.or(lower.workers),
            max_connections: self.max_connections.or(lower.max_connections),
            max_result_bytes: self.max_result_bytes.or(lower.max_result_bytes),
            sync: self.sync.or(lower.sync),
            http_token: self.http_token.or(lower.http_token),
            auth: self.auth.or(lower.auth),
            tls_cert: self.tls_cert.or(lower.tls_cert),
            tls_key: self.tls_key.or(lower.tls_key),
            tls_required: self.tls_required.or(lower.tls_required),
            users: self.users.or(lower.users),
            cluster: self.cluster.over(lower.cluster),
        }
    }

    /// Fills in defaults and checks ranges.
    pub fn resolve(self) -> Result<Config, ConfigError> {
        let addr = |a: Option<SocketAddr>, default: &str| match a {
            Some(a) => Ok(a),
            None => default.parse().map_err(|e| ConfigError::Invalid { name: "address", message: format!("{e}") }),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = self.workers.unwrap_or(cores.max(2));
        if workers == 0 {
            return Err(ConfigError::Invalid { name: "workers", message: "must be at least 1".into() });
        }
        let max_connections = self.max_connections.unwrap_or(200);
        if max_connections == 0 {
            return Err(ConfigError::Invalid { name: "max_connections", message: "must be at least 1".into() });
        }
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("tls_key", "tls_cert is set but tls_key is not")),
            (None, Some(_)) => return Err(invalid("tls_cert", "tls_key is set but tls_cert is not")),
        };
        let tls_required = self.tls_required.unwrap_or(false);
        if tls_required && tls.is_none() {
            return Err(invalid("tls_required", "needs tls_cert and tls_key"));
        }
        let users = self.users.unwrap_or_default();
        for u in &users {
            if u.name.is_empty() {
                return Err(invalid("users", "a user has an empty name"));
            }
            if u.password.is_some() == u.verifier.is_some() {
                return Err(invalid(
                    "users",
                    &format!("user \"{}\" needs exactly one of password and verifier", u.name),
                ));
            }
        }
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let cluster = self.cluster.resolve(&data_dir)?;
        Ok(Config {
            data_dir,
            pg_addr: addr(self.pg_addr, DEFAULT_PG_ADDR)?,
            http_addr: addr(self.http_addr, DEFAULT_HTTP_ADDR)?,
            grpc_addr: addr(self.grpc_addr, DEFAULT_GRPC_ADDR)?,
            workers,
            max_connections,
            max_result_bytes: self.max_result_bytes.unwrap_or(256 << 20),
            sync: self.sync.unwrap_or(true),
            http_token: self.http_token.filter(|t| !t.is_empty()),
            auth: self.auth.unwrap_or_default(),
            tls,
            tls_required,
            users,
            cluster,
        })
    }
}

fn invalid(name: &'static str, message: &str) -> ConfigError {
    ConfigError::Invalid { name, message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let c = Settings::default().resolve().unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./alopex-data"));
        assert_eq!(c.pg_addr.port(), 6432);
        assert_ne!(c.pg_addr.port(), 5432);
        assert!(c.sync);
    }

    #[test]
    fn flags_win_over_env_and_env_over_the_file() {
        let file =
            Settings::from_toml("data_dir = \"/from/file\"\npg_addr = \"127.0.0.1:7000\"\nworkers = 3\n").unwrap();
        let env = Settings { pg_addr: Some("127.0.0.1:7001".parse().unwrap()), ..Settings::default() };
        let flags = Settings { data_dir: Some("/from/flag".into()), ..Settings::default() };
        // clap merges flags and env into one layer, flags first.
        let c = flags.over(env).over(file).resolve().unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.pg_addr.port(), 7001);
        assert_eq!(c.workers, 3);
    }

    #[test]
    fn the_cluster_table_layers_like_the_rest() {
        let file = Settings::from_toml(
            "data_dir = \"/d\"\n[cluster]\nlisten_addr = \"127.0.0.1:7000\"\njoin = [\"127.0.0.1:7001\"]\n\
             insecure = true\nreplication_factor = 5\ndown_timeout = \"1m\"\n",
        )
        .unwrap();
        let flags = Settings {
            cluster: ClusterSettings { replication_factor: Some(3), ..ClusterSettings::default() },
            ..Settings::default()
        };
        let c = flags.over(file).resolve().unwrap().cluster.unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.join, vec!["127.0.0.1:7001".to_string()]);
        assert_eq!(c.replication_factor, 3);
        assert_eq!(c.down_timeout, std::time::Duration::from_secs(60));
        assert_eq!(c.data_dir, PathBuf::from("/d/cluster"));
        assert!(Settings::default().resolve().unwrap().cluster.is_none());
        let err = Settings::from_toml("[cluster]\nlisten = \"x\"\n").unwrap_err();
        assert!(err.contains("unknown field `listen`"), "{err}");
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let err = Settings::from_toml("pg_adr = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.contains("unknown field `pg_adr`"), "{err}");
        let err = Settings::from_toml("pg_addr = \"nonsense\"").unwrap_err();
        assert!(err.contains("pg_addr"), "{err}");
        let zero = Settings { workers: Some(0), ..Settings::default() };
        assert!(zero.resolve().is_err());
    }

    #[test]
    fn auth_tls_and_users_from_the_file() {
        let file = Settings::from_toml(
            "auth = \"scram\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [[users]]\nname = \"app\"\npassword = \"pw\"\n",
        )
        .unwrap();
        let c = file.resolve().unwrap();
        assert_eq!(c.auth, AuthMode::Scram);
        assert_eq!(c.tls, Some(TlsFiles { cert: "c.pem".into(), key: "k.pem".into() }));
        assert_eq!(c.users.len(), 1);
        assert!(!format!("{:?}", c.users).contains("pw"), "passwords stay out of logs");
        let defaults = Settings::default().resolve().unwrap();
        assert_eq!((defaults.auth, defaults.tls, defaults.tls_required), (AuthMode::Auto, None, false));

        let half = Settings { tls_cert: Some("c.pem".into()), ..Settings::default() };
        assert!(half.resolve().unwrap_err().to_string().contains("tls_key"));
        let required = Settings { tls_required: Some(true), ..Settings::default() };
        assert!(required.resolve().is_err());
        let both = Settings::from_toml("[[users]]\nname = \"a\"\npassword = \"x\"\nverifier = \"y\"\n").unwrap();
        assert!(both.resolve().unwrap_err().to_string().contains("exactly one"));
        assert!(Settings::from_toml("auth = \"md5\"").is_err());
    }
}
