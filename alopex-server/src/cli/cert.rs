//! `alopex cert`: the certificates nodes prove their identity with.
//!
//! A cluster trusts exactly one certificate authority of its own, created
//! once with `alopex cert create-ca`; every node gets a certificate from it
//! with `alopex cert create-node`, which binds the node's id to the
//! certificate (as the URI `alopex://node/<id>`) so that peers read the id
//! from the certificate they verified rather than from anything the node
//! says. The work is done by `alopex_cluster::tls::cert`; this file only
//! parses flags and reports. Both commands refuse to overwrite an existing
//! file, write private keys with mode 0600, and never need a running
//! server. The CA directory holds the CA key: keep it off the nodes (a node
//! directory gets a copy of the CA *certificate* only).

use std::path::PathBuf;

use alopex_cluster::NodeId;
use alopex_cluster::tls::CertAuthority;
use alopex_cluster::tls::cert::{CA_CERT_FILE, CA_KEY_FILE, NODE_CERT_FILE, NODE_KEY_FILE};
use clap::{Args, Subcommand};

/// `alopex cert …`.
#[derive(Args)]
pub struct CertArgs {
    #[command(subcommand)]
    command: CertCommand,
}

#[derive(Subcommand)]
enum CertCommand {
    /// Creates a cluster certificate authority: ca.crt and ca.key (0600).
    CreateCa {
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The CA's common name.
        #[arg(long, default_value = "Alopex cluster CA")]
        name: String,
    },
    /// Creates a node certificate signed by the CA: node.crt, node.key
    /// (0600) and a copy of ca.crt.
    CreateNode {
        /// The CA directory (from `create-ca`).
        #[arg(long)]
        ca: PathBuf,
        /// The node id the certificate binds (1 or more).
        #[arg(long)]
        node_id: u64,
        /// A DNS name or IP address of the node (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs the command; the process exit code.
pub fn run(args: CertArgs) -> u8 {
    match args.command {
        CertCommand::CreateCa { out, name } => match CertAuthority::generate(&name).and_then(|ca| ca.write(&out)) {
            Ok(()) => {
                println!("wrote {}", out.join(CA_CERT_FILE).display());
                println!("wrote {} (keep it secret: it signs node certificates)", out.join(CA_KEY_FILE).display());
                0
            }
            Err(e) => fail(e),
        },
        CertCommand::CreateNode { ca, node_id, hosts, out } => {
            if node_id == 0 {
                eprintln!("alopex: node ids start at 1");
                return 2;
            }
            let issued = CertAuthority::load(&ca).and_then(|ca| {
                let node = ca.issue(NodeId(node_id), &hosts)?;
                node.write(&out, ca.cert_pem())
            });
            match issued {
                Ok(()) => {
                    for file in [NODE_CERT_FILE, NODE_KEY_FILE, CA_CERT_FILE] {
                        println!("wrote {}", out.join(file).display());
                    }
                    println!("node id {node_id} is bound as alopex://node/{node_id}");
                    0
                }
                Err(e) => fail(e),
            }
        }
    }
}

fn fail(e: impl std::fmt::Display) -> u8 {
    eprintln!("alopex: {e}");
    1
}
