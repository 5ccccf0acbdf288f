//! # The hybrid logical clock of a node, with a bounded clock offset
//!
//! Distributed transactions take their timestamps from each node's own
//! clock instead of a central oracle (see `docs/transactions.md` for why).
//! That only works if the nodes' clocks agree to within a known bound, the
//! **maximum offset**, and if causality is carried along with messages:
//!
//! - a timestamp is physical milliseconds (48 bits) and a logical counter
//!   (16 bits), the layout of `alopex_core::clock`, so it sorts like wall
//!   time and several events per millisecond still get distinct stamps;
//! - [`Hlc::now`] never goes backwards, even when the wall clock steps back;
//! - [`Hlc::update`] moves the clock past a timestamp received from another
//!   node, so anything this node stamps afterwards is ordered after it. A
//!   remote timestamp further ahead of the local wall clock than the
//!   maximum offset is **refused** with a [`ClockOffsetError`]: accepting it
//!   would drag every clock it reaches forward, and it means one of the two
//!   clocks is outside the bound the uncertainty intervals rely on;
//! - [`Hlc::uncertainty_limit`] is the upper end of a reader's uncertainty
//!   interval: a version above the read timestamp but at or below the limit
//!   may have committed before the read began on a clock running ahead.
//!
//! The clock implements `alopex_core::TimestampSource`, so the Raft layer
//! (which stamps and observes command timestamps through that trait) and
//! the transaction layer share one clock per node. The physical clock is
//! injectable (`alopex_core::ManualClock` in tests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alopex_core::clock::{LOGICAL_BITS, PhysicalClock, hlc, physical_ms};
use alopex_core::{SystemClock, Timestamp, TimestampSource};

/// The default maximum offset between two nodes' clocks.
pub const DEFAULT_MAX_OFFSET: Duration = Duration::from_millis(500);

/// A remote timestamp too far ahead of the local clock.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "clock offset too large: a remote timestamp is {ahead_ms} ms ahead of this node's clock \
     (remote {remote_ms} ms, local {local_ms} ms, maximum offset {max_offset_ms} ms); \
     check the clock synchronization of both nodes"
)]
pub struct ClockOffsetError {
    /// The remote timestamp's physical milliseconds.
    pub remote_ms: u64,
    /// The local wall clock, in milliseconds.
    pub local_ms: u64,
    /// How far ahead the remote timestamp is.
    pub ahead_ms: u64,
    /// The configured maximum offset.
    pub max_offset_ms: u64,
}

/// A hybrid logical clock over a physical clock, with a maximum offset.
#[derive(Debug)]
pub struct Hlc<C: PhysicalClock = SystemClock> {
    physical: C,
    last: AtomicU64,
    max_offset_ms: u64,
}

impl Hlc<SystemClock> {
    /// A clock over the system's wall clock.
    pub fn system(max_offset: Duration) -> Self {
        Hlc::new(SystemClock, max_offset)
    }
}

impl<C: PhysicalClock> Hlc<C> {
    /// A clock reading `physical`, refusing remote timestamps more than
    /// `max_offset` ahead of it.
    pub fn new(physical: C, max_offset: Duration) -> Self {
        let max_offset_ms = u64::try_from(max_offset.as_millis()).unwrap_or(u64::MAX);
        Hlc { physical, last: AtomicU64::new(0), max_offset_ms }
    }

    /// The maximum clock offset.
    pub fn max_offset(&self) -> Duration {
        Duration::from_millis(self.max_offset_ms)
    }

    /// A timestamp greater than every one returned or received before.
    pub fn now(&self) -> Timestamp {
        let wall = hlc(self.physical.now_ms(), 0);
        let prev =
            self.last.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(wall.max(last.saturating_add(1))));
        // `fetch_update` with a closure that always answers `Some` cannot fail.
        let last = prev.unwrap_or_else(|v| v);
        wall.max(last.saturating_add(1))
    }

    /// Moves the clock past `remote`, a timestamp received from another
    /// node, unless it is more than the maximum offset ahead of the local
    /// wall clock (then the clock is left alone).
    pub fn update(&self, remote: Timestamp) -> Result<(), ClockOffsetError> {
        let local_ms = self.physical.now_ms();
        let remote_ms = physical_ms(remote);
        if remote_ms > local_ms.saturating_add(self.max_offset_ms) {
            return Err(ClockOffsetError {
                remote_ms,
                local_ms,
                ahead_ms: remote_ms - local_ms,
                max_offset_ms: self.max_offset_ms,
            });
        }
        self.last.fetch_max(remote, Ordering::SeqCst);
        Ok(())
    }

    /// The upper end of the uncertainty interval of a read at `read_ts`:
    /// `read_ts` plus the maximum offset.
    pub fn uncertainty_limit(&self, read_ts: Timestamp) -> Timestamp {
        read_ts.saturating_add(self.max_offset_ms << LOGICAL_BITS)
    }
}

impl<C: PhysicalClock> TimestampSource for Hlc<C> {
    fn next(&self) -> Timestamp {
        self.now()
    }

    /// Observes a timestamp applied from the Raft log: it was accepted by a
    /// quorum already, so it is taken without the offset check.
    fn observe(&self, ts: Timestamp) {
        self.last.fetch_max(ts, Ordering::SeqCst);
    }

    fn current(&self) -> Timestamp {
        self.last.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// A wall clock the test sets, backwards too.
    #[derive(Debug, Default)]
    struct Wall(AtomicU64);

    impl Wall {
        fn set(&self, ms: u64) {
            self.0.store(ms, Ordering::SeqCst);
        }
    }

    impl PhysicalClock for Wall {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn clock(ms: u64) -> Hlc<Wall> {
        Hlc::new(Wall(AtomicU64::new(ms)), Duration::from_millis(500))
    }

    #[test]
    fn now_follows_wall_time_and_never_repeats() {
        let c = clock(1_000);
        assert_eq!(c.now(), hlc(1_000, 0));
        assert_eq!(c.now(), hlc(1_000, 1));
        c.physical.set(1_005);
        assert_eq!(c.now(), hlc(1_005, 0));
    }

    #[test]
    fn a_wall_clock_stepping_back_does_not_move_now_back() {
        let c = clock(10_000);
        let a = c.now();
        c.physical.set(9_000);
        let b = c.now();
        assert!(b > a, "{b} <= {a}");
        assert_eq!(physical_ms(b), 10_000);
        // The trait view agrees.
        assert_eq!(c.current(), b);
        assert!(c.next() > b);
    }

    #[test]
    fn update_moves_past_remote_timestamps_within_the_offset() {
        let c = clock(1_000);
        c.update(hlc(1_400, 7)).unwrap();
        assert_eq!(c.now(), hlc(1_400, 8));
        // Older remote timestamps change nothing.
        c.update(hlc(900, 0)).unwrap();
        assert_eq!(c.now(), hlc(1_400, 9));
    }

    #[test]
    fn update_refuses_a_remote_clock_beyond_the_maximum_offset() {
        let c = clock(1_000);
        let before = c.now();
        let err = c.update(hlc(1_501, 0)).unwrap_err();
        assert_eq!(err.ahead_ms, 501);
        assert_eq!(err.max_offset_ms, 500);
        assert!(err.to_string().contains("clock offset too large"), "{err}");
        // The clock did not move.
        assert_eq!(c.now(), before + 1);
        // Exactly at the bound is accepted.
        c.update(hlc(1_500, 0)).unwrap();
        assert!(c.now() > hlc(1_500, 0));
    }

    #[test]
    fn uncertainty_limit_adds_the_maximum_offset() {
        let c = clock(1_000);
        assert_eq!(c.max_offset(), Duration::from_millis(500));
        assert_eq!(c.uncertainty_limit(hlc(2_000, 3)), hlc(2_500, 3));
        assert_eq!(c.uncertainty_limit(u64::MAX), u64::MAX);
    }

    #[test]
    fn concurrent_now_is_unique() {
        let c = Arc::new(clock(1_000));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || (0..1_000).map(|_| c.now()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4_000);
    }
}
