//! Timestamps: where commit timestamps come from.
//!
//! Every write carries a `u64` commit timestamp. The engine never reads a
//! clock itself; it asks a [`TimestampSource`], which the embedder supplies.
//! That keeps the core deterministic under test (a [`ManualClock`] drives it)
//! and lets the cluster substitute its own source later (a hybrid logical
//! clock with uncertainty, or a timestamp oracle in a meta range).
//!
//! ## Format
//!
//! Timestamps use the hybrid-logical-clock layout:
//!
//! ```text
//!  63                                16 15            0
//! +------------------------------------+---------------+
//! |  physical time, ms since the epoch |  logical      |
//! +------------------------------------+---------------+
//! ```
//!
//! 48 bits of milliseconds last until the year 10889; 16 logical bits allow
//! 65,536 timestamps per millisecond before the clock borrows from the
//! physical part (it never goes backwards: it just runs slightly ahead).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::key::Timestamp;

/// Bits reserved for the logical counter.
pub const LOGICAL_BITS: u32 = 16;

/// Builds a timestamp from physical milliseconds and a logical counter.
pub fn hlc(physical_ms: u64, logical: u16) -> Timestamp {
    (physical_ms << LOGICAL_BITS) | u64::from(logical)
}

/// The physical milliseconds of a timestamp.
pub fn physical_ms(ts: Timestamp) -> u64 {
    ts >> LOGICAL_BITS
}

/// A source of commit timestamps.
pub trait TimestampSource: Send + Sync {
    /// Returns a timestamp strictly greater than every timestamp this source
    /// has returned or observed before.
    fn next(&self) -> Timestamp;
    /// Records a timestamp seen elsewhere (on recovery, or in a write with a
    /// caller-supplied timestamp): every later [`next`](Self::next) exceeds it.
    fn observe(&self, ts: Timestamp);
    /// The greatest timestamp returned or observed so far.
    fn current(&self) -> Timestamp;
}

/// Wall-clock milliseconds, the input of a [`HybridClock`].
pub trait PhysicalClock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The operating system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl PhysicalClock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }
}

/// A clock that only moves when told to; for deterministic tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `ms`.
    pub fn new(ms: u64) -> Self {
        ManualClock(AtomicU64::new(ms))
    }
    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl PhysicalClock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The local timestamp source: a hybrid logical clock over a physical clock.
///
/// `next()` returns `max(physical << 16, last + 1)`, so timestamps track wall
/// time when it moves and stay unique and increasing when it does not (or
/// when it steps backwards).
#[derive(Debug, Default)]
pub struct HybridClock<C: PhysicalClock = SystemClock> {
    physical: C,
    last: AtomicU64,
}

impl<C: PhysicalClock> HybridClock<C> {
    /// A hybrid clock reading from `physical`.
    pub fn new(physical: C) -> Self {
        HybridClock { physical, last: AtomicU64::new(0) }
    }
}

impl<C: PhysicalClock> TimestampSource for HybridClock<C> {
    fn next(&self) -> Timestamp {
        let wall = hlc(self.physical.now_ms(), 0);
        let mut last = self.last.load(Ordering::SeqCst);
        loop {
            let candidate = wall.max(last.saturating_add(1));
            match self.last.compare_exchange_weak(last, candidate, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return candidate,
                Err(actual) => last = actual,
            }
        }
    }

    fn observe(&self, ts: Timestamp) {
        self.last.fetch_max(ts, Ordering::SeqCst);
    }

    fn current(&self) -> Timestamp {
        self.last.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_when_wall_clock_stalls_and_after_observe() {
        let clock = HybridClock::new(ManualClock::new(1000));
        let a = clock.next();
        let b = clock.next();
        assert_eq!(a, hlc(1000, 0));
        assert_eq!(b, hlc(1000, 1));
        clock.observe(hlc(5000, 7));
        assert_eq!(clock.next(), hlc(5000, 8));
        assert_eq!(physical_ms(clock.current()), 5000);
    }
}
