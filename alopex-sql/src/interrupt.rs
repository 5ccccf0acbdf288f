//! Interrupting a running statement from another thread.
//!
//! A statement runs synchronously on whatever thread called into the
//! session (a server worker, an embedding application's thread), and
//! nothing in the executor ever waits on anything but storage. Stopping it
//! early therefore cannot be done by dropping a future or killing a thread:
//! the statement has to notice by itself. This is PostgreSQL's design too
//! (a cancel request sets `QueryCancelPending`, and `CHECK_FOR_INTERRUPTS()`
//! in the executor's loops turns it into `57014 canceling statement due to
//! user request`).
//!
//! An [`Interrupt`] is that flag: a shared `AtomicBool` that each
//! [`Session`](crate::Session) owns and hands out with
//! [`Session::interrupt`](crate::Session::interrupt). Anyone holding a
//! clone may [`trigger`](Interrupt::trigger) it, without the session's lock.
//! The executor polls it where rows are produced (every row a table scan
//! reads, which is where a long statement spends its time: every plan reads
//! its rows from scans), so a cancel lands within one row's work. The check
//! is one relaxed atomic load.
//!
//! The flag stays set until the owner [`reset`](Interrupt::reset)s it; a
//! statement that starts while it is set fails at its first row. An owner
//! that cancels "the statement running now" (the Postgres wire server)
//! instead gives each statement a fresh flag with
//! [`Session::set_interrupt`](crate::Session::set_interrupt): a statement
//! keeps the flag it started with, so a cancel that arrives late can only
//! ever stop the statement it was meant for.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result, SqlState};

/// A shareable cancellation flag for one session's statements.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag that is not set.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the running statement to stop: it fails with 57014 at its next
    /// check. Callable from any thread.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Clears the flag, so the next statement runs normally.
    pub fn reset(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Whether the flag is set.
    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Fails with 57014 when the flag is set: the executor's check.
    pub fn check(&self) -> Result<()> {
        if self.is_triggered() { Err(canceled()) } else { Ok(()) }
    }
}

/// PostgreSQL's error for a statement stopped by a cancel request.
pub fn canceled() -> Error {
    Error::new(SqlState::QUERY_CANCELED, "canceling statement due to user request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_is_seen_by_clones_until_reset() {
        let a = Interrupt::new();
        let b = a.clone();
        assert!(a.check().is_ok());
        b.trigger();
        let err = a.check().unwrap_err();
        assert_eq!(err.state.code(), "57014");
        assert_eq!(err.message, "canceling statement due to user request");
        a.reset();
        assert!(!b.is_triggered());
    }
}
