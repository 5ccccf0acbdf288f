//! Connecting to a server, and saying what went wrong.
//!
//! The flags are psql's (`-h`, `-p`, `-U`, `-d`) so that muscle memory
//! works, with the defaults of `alopex serve` (`127.0.0.1:6432`, user and
//! database `alopex`); a `postgres://` URL (or libpq `key=value` string)
//! given with `--url` or `ALOPEX_URL` replaces them all.
//!
//! Errors are printed for people and for scripts at once: the severity, the
//! SQLSTATE and the message on one line (`ERROR:  42P01: relation "x" does
//! not exist`, psql's verbose form), then DETAIL and HINT lines. The exit
//! codes follow psql: 1 for a failed statement, 2 when no connection could
//! be made.

use std::fmt::Write as _;
use std::str::FromStr;

use clap::Args;
use tokio_postgres::{Client, Config, NoTls};

/// Where the server is (shared by `alopex sql` and `alopex import`).
#[derive(Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Server host.
    #[arg(short = 'h', long, default_value = "127.0.0.1", env = "ALOPEX_HOST")]
    pub host: String,
    /// Server port (Postgres wire).
    #[arg(short = 'p', long, default_value_t = 6432, env = "ALOPEX_PORT")]
    pub port: u16,
    /// User name.
    #[arg(short = 'U', long, default_value = "alopex", env = "ALOPEX_USER")]
    pub user: String,
    /// Database name.
    #[arg(short = 'd', long, default_value = "alopex", env = "ALOPEX_DATABASE")]
    pub dbname: String,
    /// A connection URL (`postgres://user@host:port/db`) or libpq string;
    /// overrides the flags above.
    #[arg(long, env = "ALOPEX_URL")]
    pub url: Option<String>,
}

/// Why a client command failed, and so its exit code.
#[derive(Debug)]
pub enum Failure {
    /// No connection (exit 2).
    Connect(String),
    /// A statement or the input failed (exit 1); the message is printed.
    Statement(String),
}

impl Failure {
    /// The process exit code: 2 for no connection, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Connect(_) => 2,
            Failure::Statement(_) => 1,
        }
    }

    /// What to print on stderr.
    pub fn message(&self) -> &str {
        match self {
            Failure::Connect(m) | Failure::Statement(m) => m,
        }
    }
}

impl ConnectArgs {
    /// The tokio-postgres configuration these flags describe.
    pub fn config(&self) -> Result<Config, Failure> {
        if let Some(url) = &self.url {
            let mut config =
                Config::from_str(url).map_err(|e| Failure::Connect(format!("alopex: bad connection URL: {e}")))?;
            if config.get_user().is_none() {
                config.user(&self.user);
            }
            if config.get_dbname().is_none() {
                config.dbname(&self.dbname);
            }
            if config.get_hosts().is_empty() {
                config.host(&self.host);
            }
            if config.get_ports().is_empty() {
                config.port(self.port);
            }
            return Ok(config);
        }
        let mut config = Config::new();
        config.host(&self.host).port(self.port).user(&self.user).dbname(&self.dbname).application_name("alopex");
        Ok(config)
    }

    /// Where these flags point, for messages.
    pub fn target(&self) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// Connects, driving the connection on a background task of the
    /// current runtime.
    pub async fn connect(&self) -> Result<Client, Failure> {
        let config = self.config()?;
        let (client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| Failure::Connect(format!("alopex: cannot connect to {}: {}", self.target(), describe(&e))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("alopex: connection lost: {e}");
            }
        });
        Ok(client)
    }
}

/// `e` as psql prints it: `ERROR:  SQLSTATE: message` plus DETAIL and HINT
/// lines for a server error, the plain text for anything else.
pub fn describe(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        // Lower-level errors hide their cause in `source()`.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let _ = write!(text, ": {s}");
            source = s.source();
        }
        return text;
    };
    let mut text = format!("{}:  {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        let _ = write!(text, "\nDETAIL:  {detail}");
    }
    if let Some(hint) = db.hint() {
        let _ = write!(text, "\nHINT:  {hint}");
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    #[command(disable_help_flag = true)]
    struct Cli {
        #[command(flatten)]
        connect: ConnectArgs,
    }

    #[test]
    fn flags_and_urls_make_configs() {
        let cli = Cli::try_parse_from(["x", "-h", "db.local", "-p", "7000", "-U", "ann"]).unwrap();
        let c = cli.connect.config().unwrap();
        assert_eq!(c.get_ports(), [7000]);
        assert_eq!(c.get_user(), Some("ann"));
        assert_eq!(c.get_dbname(), Some("alopex"));
        let cli = Cli::try_parse_from(["x", "--url", "postgres://bob@127.0.0.1:7100/shop"]).unwrap();
        let c = cli.connect.config().unwrap();
        assert_eq!((c.get_ports(), c.get_user(), c.get_dbname()), (&[7100][..], Some("bob"), Some("shop")));
        let cli = Cli::try_parse_from(["x", "--url", "postgres://"]).unwrap();
        assert_eq!(cli.connect.config().unwrap().get_ports(), [6432]);
        let cli = Cli::try_parse_from(["x", "--url", "nonsense://"]).unwrap();
        assert!(matches!(cli.connect.config(), Err(Failure::Connect(_))));
    }
}
