//! The `alopex` command: `alopex serve` runs a node; `alopex sql` and
//! `alopex import` are clients of a running one (see `cli/`).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use alopex_server::config::Settings;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cli::cert::CertArgs;
use cli::import::ImportArgs;
use cli::node::NodeArgs;
use cli::shell::SqlArgs;

/// Alopex: a SQL + vector database.
#[derive(Parser)]
#[command(name = "alopex", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a node: Postgres wire, HTTP and gRPC over the database in the
    /// data directory; with --listen-addr, also a member of a cluster.
    Serve {
        /// A TOML settings file (flags and ALOPEX_* variables override it).
        #[arg(long, env = "ALOPEX_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// An interactive SQL shell (or `-c SQL`, `-f FILE`, a piped script)
    /// connected to a running server.
    Sql(SqlArgs),
    /// Loads a CSV file into a table (created when missing) on a running
    /// server.
    Import(ImportArgs),
    /// Creates the cluster CA and node certificates (node-to-node mutual
    /// TLS).
    Cert(CertArgs),
    /// The cluster's nodes: `list`, `decommission <id>` (through a running
    /// node's REST API).
    Node(NodeArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("ALOPEX_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Sql(args) => ExitCode::from(cli::shell::run(args)),
        Command::Import(args) => ExitCode::from(cli::import::run(args)),
        Command::Cert(args) => ExitCode::from(cli::cert::run(args)),
        Command::Node(args) => ExitCode::from(cli::node::run(args)),
        Command::Serve { config, settings } => {
            let file = match config.as_deref().map(Settings::from_file).transpose() {
                Ok(f) => f.unwrap_or_default(),
                Err(e) => {
                    eprintln!("alopex: {e}");
                    return ExitCode::from(2);
                }
            };
            let config = match settings.over(file).resolve() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("alopex: {e}");
                    return ExitCode::from(2);
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("alopex: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(alopex_server::server::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("alopex: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
