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
//! ```
//!
//! Unknown keys are an error, so a misspelt setting is noticed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

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
}

/// The settings in force, every one decided.
#[derive(Debug, Clone, PartialEq)]
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
        Ok(Config {
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            pg_addr: addr(self.pg_addr, DEFAULT_PG_ADDR)?,
            http_addr: addr(self.http_addr, DEFAULT_HTTP_ADDR)?,
            grpc_addr: addr(self.grpc_addr, DEFAULT_GRPC_ADDR)?,
            workers,
            max_connections,
            max_result_bytes: self.max_result_bytes.unwrap_or(256 << 20),
            sync: self.sync.unwrap_or(true),
            http_token: self.http_token.filter(|t| !t.is_empty()),
        })
    }
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
    fn bad_files_are_clear_errors() {
        let err = Settings::from_toml("pg_adr = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.contains("unknown field `pg_adr`"), "{err}");
        let err = Settings::from_toml("pg_addr = \"nonsense\"").unwrap_err();
        assert!(err.contains("pg_addr"), "{err}");
        let zero = Settings { workers: Some(0), ..Settings::default() };
        assert!(zero.resolve().is_err());
    }
}
