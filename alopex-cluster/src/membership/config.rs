//! # Membership settings and their translation into foca's
//!
//! The defaults follow foca's LAN profile (itself memberlist's): probe one
//! random member a second, give it 500 ms to answer directly before asking
//! three others to probe it, and wait a few probe periods before turning a
//! suspicion into "down". With N members a failed node is noticed by some
//! member within about N probe periods in the worst case (each period
//! probes one member; foca walks the members in a shuffled round-robin),
//! suspected at once, and declared down `suspect_to_down_after` later,
//! everywhere within a few gossip rounds. Tests shrink every period so that
//! the same logic runs in seconds.
//!
//! `max_packet_size` is 1100 bytes: a QUIC datagram carries at most 1162
//! bytes of payload on the connections we measured, one of which is the
//! datagram's kind byte.

use std::net::SocketAddr;
use std::num::{NonZeroU8, NonZeroUsize};
use std::time::Duration;

/// The largest SWIM packet that fits one QUIC datagram (1162 bytes as
/// measured, less the kind byte).
pub const MAX_PACKET_LIMIT: usize = 1161;

/// How the membership task runs.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    /// Addresses of existing members to join through; empty to start a new
    /// cluster alone.
    pub seeds: Vec<SocketAddr>,
    /// The address other nodes reach this one at; `None` uses the
    /// transport's listening address (which must then not be a wildcard).
    pub advertise: Option<SocketAddr>,
    /// This start's incarnation; `None` takes the wall clock in
    /// milliseconds, which grows across restarts unless the clock steps
    /// back.
    pub incarnation: Option<u64>,
    /// How often one random member is probed.
    pub probe_period: Duration,
    /// How long a direct probe waits before indirect probes are sent.
    pub probe_rtt: Duration,
    /// How many members are asked to probe indirectly.
    pub indirect_probes: usize,
    /// How long a suspect member has to refute before it is declared down.
    pub suspect_to_down_after: Duration,
    /// How often updates are gossiped to a few members.
    pub gossip_period: Duration,
    /// How often this node announces itself to a random member.
    pub announce_period: Duration,
    /// How long a down member is remembered (it can come back sooner with a
    /// higher incarnation).
    pub remove_down_after: Duration,
    /// How many times each update is piggybacked.
    pub max_transmissions: u8,
    /// The largest SWIM packet, at most [`MAX_PACKET_LIMIT`].
    pub max_packet_size: usize,
    /// How often seeds are contacted again until this node has joined.
    pub join_retry: Duration,
}

impl Default for MembershipConfig {
    fn default() -> Self {
        Self {
            seeds: Vec::new(),
            advertise: None,
            incarnation: None,
            probe_period: Duration::from_secs(1),
            probe_rtt: Duration::from_millis(500),
            indirect_probes: 3,
            suspect_to_down_after: Duration::from_secs(5),
            gossip_period: Duration::from_millis(200),
            announce_period: Duration::from_secs(30),
            remove_down_after: Duration::from_secs(24 * 3600),
            max_transmissions: 10,
            max_packet_size: 1100,
            join_retry: Duration::from_secs(1),
        }
    }
}

impl MembershipConfig {
    /// foca's configuration; an error names the setting out of range.
    pub fn to_foca(&self) -> Result<foca::Config, String> {
        if self.max_packet_size > MAX_PACKET_LIMIT || self.max_packet_size < 256 {
            return Err(format!("max_packet_size {} is outside 256..={MAX_PACKET_LIMIT}", self.max_packet_size));
        }
        if self.probe_rtt.is_zero() || self.probe_rtt >= self.probe_period {
            return Err("probe_rtt must be positive and shorter than probe_period".into());
        }
        if self.suspect_to_down_after.is_zero() || self.gossip_period.is_zero() || self.announce_period.is_zero() {
            return Err("membership periods must be positive".into());
        }
        let nonzero = |n: usize, what: &str| NonZeroUsize::new(n).ok_or_else(|| format!("{what} must be positive"));
        let mut c = foca::Config::new_lan(std::num::NonZeroU32::MIN);
        c.probe_period = self.probe_period;
        c.probe_rtt = self.probe_rtt;
        c.num_indirect_probes = nonzero(self.indirect_probes, "indirect_probes")?;
        c.max_transmissions =
            NonZeroU8::new(self.max_transmissions).ok_or_else(|| "max_transmissions must be positive".to_string())?;
        c.suspect_to_down_after = self.suspect_to_down_after;
        c.remove_down_after = Some(self.remove_down_after);
        c.max_packet_size = nonzero(self.max_packet_size, "max_packet_size")?;
        c.notify_down_members = true;
        c.periodic_announce =
            Some(foca::PeriodicParams { frequency: self.announce_period, num_members: NonZeroUsize::MIN });
        c.periodic_announce_to_down_members = Some(foca::PeriodicParams {
            frequency: self.announce_period * 2,
            num_members: nonzero(2, "announce fan-out")?,
        });
        c.periodic_gossip = Some(foca::PeriodicParams {
            frequency: self.gossip_period,
            num_members: nonzero(self.indirect_probes, "indirect_probes")?,
        });
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_must_fit_a_quic_datagram() {
        assert_eq!(MembershipConfig::default().to_foca().unwrap().max_packet_size.get(), 1100);
        let c = MembershipConfig { max_packet_size: 1400, ..Default::default() };
        assert!(c.to_foca().unwrap_err().contains("max_packet_size"));
        let c = MembershipConfig { probe_rtt: Duration::from_secs(2), ..Default::default() };
        assert!(c.to_foca().is_err());
    }
}
