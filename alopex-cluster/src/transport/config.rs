//! # Transport settings
//!
//! The defaults suit a LAN cluster: calls give up after five seconds, a
//! lost peer is noticed within a few seconds by QUIC keep-alives, and a
//! peer that cannot be reached is retried with a backoff from 100 ms up to
//! five seconds. Tests shorten them.

use std::net::SocketAddr;
use std::time::Duration;

use crate::tls::NodeIdentity;

/// Everything a [`super::Transport`] needs to start.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// The UDP address to listen on (port 0 picks one).
    pub listen: SocketAddr,
    /// This node's certificate, key and cluster CA.
    pub identity: NodeIdentity,
    /// How long one call may take, from dialing to the last byte of the
    /// answer.
    pub call_timeout: Duration,
    /// How long dialing a peer (QUIC + TLS handshake and hello) may take.
    pub connect_timeout: Duration,
    /// The largest request or response body accepted or sent.
    pub max_frame: u32,
    /// How often an idle connection is pinged.
    pub keep_alive: Duration,
    /// How long a silent connection lives before it is considered lost.
    pub idle_timeout: Duration,
    /// The first wait after a failed dial; it doubles on each failure.
    pub backoff_min: Duration,
    /// The longest wait between dials.
    pub backoff_max: Duration,
    /// How many calls a peer may have in flight to us at once.
    pub max_concurrent_calls: u32,
}

impl TransportConfig {
    /// The defaults, for `identity` listening on `listen`.
    pub fn new(listen: SocketAddr, identity: NodeIdentity) -> Self {
        Self {
            listen,
            identity,
            call_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            max_frame: 64 << 20,
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            max_concurrent_calls: 1024,
        }
    }
}
