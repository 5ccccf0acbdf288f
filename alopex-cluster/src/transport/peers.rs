//! # One connection per peer: the table, the duplicate rule, the backoff
//!
//! Every node may dial every other, so two nodes that start talking at the
//! same moment can end up with two connections between them. The cluster
//! wants exactly one per pair (one congestion controller, one place where
//! all of a peer's ranges share streams), and both ends must agree on
//! *which* one without a round of negotiation. The rule, applied by each
//! end to each new connection that finds another already in place:
//!
//! 1. a connection that is already closed always loses;
//! 2. a connection to a **newer process** of the peer wins: every process
//!    picks a random *boot id* at start and the two ends swap them in the
//!    connection's hello, so a link left over from before a restart (which
//!    may take an idle timeout to notice) never shadows a fresh one;
//! 3. between two live links to the same process, dialed by different
//!    ends, the one **dialed by the lower node id** wins: both ends compute
//!    the same answer from facts both know;
//! 4. between two links dialed by the same end (it re-dialed after seeing
//!    the first one die before we did), the newer wins.
//!
//! The loser is not closed at once: calls already running on it finish,
//! and it is closed after a grace period (see `endpoint.rs`).
//!
//! A peer that cannot be reached is not hammered: after a failed dial the
//! next one waits for an exponential backoff, and calls made meanwhile fail
//! at once with the last error, which keeps a dead peer from slowing down
//! the callers (every Raft group that has a replica there).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::ids::NodeId;

/// What the duplicate rule needs to know about one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFacts {
    /// The peer's boot id, from the hello.
    pub peer_boot: u64,
    /// Whether this node dialed it.
    pub dialed_by_us: bool,
    /// Whether it is still open.
    pub alive: bool,
}

/// The duplicate rule (see the module doc): does `existing` stay, with
/// `new` then closed, or does `new` replace it?
pub fn keep_existing(me: NodeId, peer: NodeId, existing: LinkFacts, new: LinkFacts) -> bool {
    if !existing.alive {
        return false;
    }
    if existing.peer_boot != new.peer_boot {
        return false;
    }
    if existing.dialed_by_us != new.dialed_by_us {
        let lower_dials = me < peer; // true when the canonical link is ours
        return existing.dialed_by_us == lower_dials;
    }
    false
}

/// One established, hello-exchanged connection to a peer.
#[derive(Clone, Debug)]
pub struct Link {
    /// The QUIC connection.
    pub conn: quinn::Connection,
    /// The peer's boot id.
    pub peer_boot: u64,
    /// Whether we dialed it.
    pub dialed_by_us: bool,
}

impl Link {
    /// The facts the duplicate rule looks at.
    pub fn facts(&self) -> LinkFacts {
        LinkFacts {
            peer_boot: self.peer_boot,
            dialed_by_us: self.dialed_by_us,
            alive: self.conn.close_reason().is_none(),
        }
    }
}

/// Exponential backoff between failed dials.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    failures: u32,
    retry_at: Option<Instant>,
    last_error: String,
}

impl Backoff {
    /// Records a failed dial and schedules the next allowed attempt.
    pub fn failed(&mut self, now: Instant, min: Duration, max: Duration, error: String) {
        let shift = self.failures.min(16);
        let wait = min.saturating_mul(1u32 << shift).min(max);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + wait);
        self.last_error = error;
    }

    /// Forgets past failures after a successful dial.
    pub fn succeeded(&mut self) {
        *self = Self::default();
    }

    /// `Some(last error)` while dialing must wait.
    pub fn blocked(&self, now: Instant) -> Option<&str> {
        match self.retry_at {
            Some(at) if now < at => Some(&self.last_error),
            _ => None,
        }
    }
}

/// What the transport knows about one peer.
#[derive(Debug, Default)]
pub struct PeerSlot {
    /// Where to dial it, when known.
    pub addr: Option<SocketAddr>,
    /// The connection in use, if any.
    pub link: Option<Link>,
    /// Dial failures.
    pub backoff: Backoff,
}

/// Every peer's slot, by node id.
#[derive(Debug, Default)]
pub struct PeerTable {
    slots: HashMap<NodeId, PeerSlot>,
}

impl PeerTable {
    /// The slot of `peer`, created empty when missing.
    pub fn slot(&mut self, peer: NodeId) -> &mut PeerSlot {
        self.slots.entry(peer).or_default()
    }

    /// The live connection to `peer`, if any.
    pub fn live(&self, peer: NodeId) -> Option<quinn::Connection> {
        let link = self.slots.get(&peer)?.link.as_ref()?;
        link.conn.close_reason().is_none().then(|| link.conn.clone())
    }

    /// Installs `new` unless the duplicate rule keeps the existing link.
    /// Returns the link now in use and, if one lost, the loser.
    pub fn install(&mut self, me: NodeId, peer: NodeId, new: Link) -> (quinn::Connection, Option<quinn::Connection>) {
        let slot = self.slot(peer);
        slot.backoff.succeeded();
        match slot.link.take() {
            Some(existing) if keep_existing(me, peer, existing.facts(), new.facts()) => {
                let kept = existing.conn.clone();
                slot.link = Some(existing);
                (kept, Some(new.conn))
            }
            previous => {
                let used = new.conn.clone();
                slot.link = Some(new);
                (used, previous.map(|p| p.conn))
            }
        }
    }

    /// Forgets the link to `peer` if it is the connection `stable_id`.
    pub fn remove_if(&mut self, peer: NodeId, stable_id: usize) {
        if let Some(slot) = self.slots.get_mut(&peer)
            && slot.link.as_ref().is_some_and(|l| l.conn.stable_id() == stable_id)
        {
            slot.link = None;
        }
    }

    /// Whether the live link to `peer` was dialed by us.
    pub fn link_dialed_by_us(&self, peer: NodeId) -> Option<bool> {
        let link = self.slots.get(&peer)?.link.as_ref()?;
        link.conn.close_reason().is_none().then_some(link.dialed_by_us)
    }

    /// The peers with a live connection.
    pub fn connected(&self) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = self
            .slots
            .iter()
            .filter(|(_, s)| s.link.as_ref().is_some_and(|l| l.conn.close_reason().is_none()))
            .map(|(id, _)| *id)
            .collect();
        out.sort();
        out
    }

    /// Every live connection (for shutdown).
    pub fn all_links(&self) -> Vec<quinn::Connection> {
        self.slots.values().filter_map(|s| s.link.as_ref().map(|l| l.conn.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(peer_boot: u64, dialed_by_us: bool) -> LinkFacts {
        LinkFacts { peer_boot, dialed_by_us, alive: true }
    }

    #[test]
    fn simultaneous_dials_keep_the_link_dialed_by_the_lower_id_on_both_ends() {
        let (a, b) = (NodeId(1), NodeId(2));
        // On a: existing = a's own dial, new = b's dial: keep a's.
        assert!(keep_existing(a, b, facts(20, true), facts(20, false)));
        // On a, the other order: existing = b's dial, new = a's: replace.
        assert!(!keep_existing(a, b, facts(20, false), facts(20, true)));
        // On b: existing = b's own dial, new = a's dial: replace with a's.
        assert!(!keep_existing(b, a, facts(10, true), facts(10, false)));
        // On b, the other order: existing = a's dial: keep it.
        assert!(keep_existing(b, a, facts(10, false), facts(10, true)));
    }

    #[test]
    fn a_restarted_peer_or_a_dead_link_always_loses_to_the_new_link() {
        let (a, b) = (NodeId(1), NodeId(2));
        assert!(!keep_existing(a, b, facts(20, true), facts(21, false)));
        assert!(!keep_existing(a, b, LinkFacts { alive: false, ..facts(20, true) }, facts(20, false)));
        assert!(!keep_existing(a, b, facts(20, false), facts(20, false)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let (min, max) = (Duration::from_millis(100), Duration::from_millis(350));
        let now = Instant::now();
        let mut b = Backoff::default();
        assert!(b.blocked(now).is_none());
        b.failed(now, min, max, "refused".into());
        assert_eq!(b.blocked(now + Duration::from_millis(99)), Some("refused"));
        assert!(b.blocked(now + Duration::from_millis(100)).is_none());
        b.failed(now, min, max, "refused".into());
        assert!(b.blocked(now + Duration::from_millis(199)).is_some());
        b.failed(now, min, max, "refused".into());
        assert!(b.blocked(now + Duration::from_millis(349)).is_some());
        assert!(b.blocked(now + Duration::from_millis(350)).is_none());
        b.succeeded();
        assert!(b.blocked(now).is_none());
    }
}
