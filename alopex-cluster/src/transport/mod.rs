//! # Node-to-node transport: QUIC with mutual TLS
//!
//! - [`frame`]: the bytes on a stream (hello, request, response) and the
//!   datagram kind byte;
//! - [`peers`]: the one-connection-per-peer table, the rule that resolves
//!   duplicate connections, and the redial backoff;
//! - [`config`]: timeouts and limits;
//! - [`endpoint`]: the [`Transport`] itself, an [`crate::rpc::RpcClient`]
//!   that dispatches incoming calls to an [`crate::rpc::RpcService`] and
//!   carries SWIM's datagrams.

pub mod config;
pub mod endpoint;
pub mod frame;
pub mod peers;

pub use config::TransportConfig;
pub use endpoint::{Datagram, Transport, TransportError};
