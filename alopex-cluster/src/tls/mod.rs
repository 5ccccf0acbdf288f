//! # Node identity: the cluster CA, node certificates, mutual TLS
//!
//! - [`cert`]: creating the CA and node certificates (with `rcgen`), the
//!   `alopex://node/<id>` URI that binds a node id to its certificate, and
//!   the files they live in;
//! - [`verify`]: rustls client and server configurations for mutual TLS in
//!   which each side checks that the other chains to the cluster CA and
//!   names a node.

pub mod cert;
pub mod verify;

pub use cert::{CertAuthority, CertError, NodeCertificate, NodeIdentity, node_id_of};
pub use verify::{TlsError, client_config, install_ring_provider, peer_node_id, server_config};
