//! Savepoints: rolling a transaction's writes back to a mark.
//!
//! SQL's `SAVEPOINT s … ROLLBACK TO s` undoes the writes made after `s`
//! and keeps the ones before it. A transaction's writes live only in its
//! [`WriteBuffer`] until commit, so a savepoint is a mark in the buffer's
//! history, and rolling back restores every key written since the mark to
//! what the buffer held for it at the mark: an earlier buffered value or
//! delete, or nothing at all (the key falls back to the snapshot).
//!
//! The history is an **undo log**: while at least one savepoint is open,
//! each write first records the key's prior buffered state. A mark is a
//! position in that log. Undoing walks the entries past the mark; the first
//! entry for a key holds its state at the mark, later ones are
//! intermediate. A transaction that never takes a savepoint records nothing
//! and pays nothing; releasing the last open savepoint drops the log.
//!
//! ```text
//!   writes:  put a=1 | SAVEPOINT s1 | put a=2  put b=9 | SAVEPOINT s2 | del a
//!   undo:                             (a,=1)  (b,absent)              (a,=2)
//!   marks:                  s1 -> 0                         s2 -> 2
//!   ROLLBACK TO s1: a back to 1, b removed; s1 stays open, s2 is gone
//! ```
//!
//! Savepoints nest as a stack, with PostgreSQL's rules: rolling back to a
//! savepoint keeps it open and discards the ones taken after it; releasing
//! one discards it and every later one, keeping their writes.
//!
//! **Reads are not undone.** Under serializable isolation the read set
//! (keys and scanned ranges) keeps what was read after the mark: the
//! transaction saw that data and may have acted on it in the part that
//! survives, so a concurrent change to it must still fail the commit. A
//! superset of the true read set can only add conflicts, never miss one
//! (PostgreSQL keeps the predicate locks of a rolled-back subtransaction
//! for the same reason).

use bytes::Bytes;

use super::Transaction;
use super::write_buffer::WriteBuffer;
use crate::error::{Error, Result};

/// A savepoint of one transaction, as returned by
/// [`Transaction::savepoint`]: an opaque handle, valid until it is released,
/// rolled past, or the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Savepoint(u64);

impl Savepoint {
    /// A handle for a store outside this crate that numbers its own
    /// savepoints (the cluster's transactions).
    pub fn from_raw(n: u64) -> Savepoint {
        Savepoint(n)
    }

    /// The number [`Savepoint::from_raw`] made this handle from.
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// A key's buffered state before a write: `None` when the buffer did not
/// hold the key, `Some(None)` for a buffered delete.
pub(crate) type Prior = Option<Option<Bytes>>;

/// The undo log of a write buffer (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct UndoLog {
    /// Open savepoints, oldest first: id and log position.
    marks: Vec<(u64, usize)>,
    /// `(key, prior state)` per write made while a savepoint was open.
    entries: Vec<(Bytes, Prior)>,
    /// The next savepoint id (ids are never reused within a transaction).
    next_id: u64,
}

impl UndoLog {
    /// Whether writes must be recorded (a savepoint is open).
    pub(crate) fn is_recording(&self) -> bool {
        !self.marks.is_empty()
    }

    /// Records the prior state of a key about to be written.
    pub(crate) fn record(&mut self, key: Bytes, prior: Prior) {
        self.entries.push((key, prior));
    }

    /// Opens a savepoint at the current position.
    pub(crate) fn mark(&mut self) -> Savepoint {
        let id = self.next_id;
        self.next_id += 1;
        self.marks.push((id, self.entries.len()));
        Savepoint(id)
    }

    fn find(&self, sp: Savepoint) -> Result<usize> {
        self.marks
            .iter()
            .position(|(id, _)| *id == sp.0)
            .ok_or_else(|| Error::InvalidArgument("no such savepoint in this transaction".into()))
    }

    /// Discards `sp` and every later savepoint, keeping their writes.
    pub(crate) fn release(&mut self, sp: Savepoint) -> Result<()> {
        let i = self.find(sp)?;
        self.marks.truncate(i);
        if self.marks.is_empty() {
            self.entries = Vec::new();
        }
        Ok(())
    }

    /// Discards the savepoints after `sp` and the log past its mark;
    /// returns each key written since the mark with its state at the mark,
    /// in the order first written.
    pub(crate) fn undo(&mut self, sp: Savepoint) -> Result<Vec<(Bytes, Prior)>> {
        let i = self.find(sp)?;
        let pos = self.marks[i].1;
        self.marks.truncate(i + 1);
        let tail = self.entries.split_off(pos);
        let mut seen = std::collections::HashSet::with_capacity(tail.len());
        Ok(tail.into_iter().filter(|(key, _)| seen.insert(key.clone())).collect())
    }

    /// Forgets every savepoint (the transaction ended).
    pub(crate) fn clear(&mut self) {
        self.marks.clear();
        self.entries = Vec::new();
    }
}

impl Transaction {
    /// Opens a savepoint: a later [`Transaction::rollback_to_savepoint`]
    /// undoes the writes made after this call.
    pub fn savepoint(&mut self) -> Result<Savepoint> {
        self.check_active()?;
        Ok(self.writes.savepoint())
    }

    /// Undoes every write made since `sp` was taken; `sp` stays open and the
    /// savepoints taken after it are discarded. Reads stay in the read set
    /// (see the module docs).
    pub fn rollback_to_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.check_active()?;
        self.writes.rollback_to(sp)
    }

    /// Discards `sp` and every later savepoint, keeping their writes.
    pub fn release_savepoint(&mut self, sp: Savepoint) -> Result<()> {
        self.check_active()?;
        self.writes.release(sp)
    }
}

impl WriteBuffer {
    /// Restores the keys of an undo to their prior states.
    pub(crate) fn restore(&mut self, priors: Vec<(Bytes, Prior)>) {
        let mut gone = std::collections::HashSet::new();
        for (key, prior) in priors {
            match prior {
                Some(value) => self.insert_unlogged(key, value),
                None => {
                    gone.insert(key);
                }
            }
        }
        self.remove_all(&gone);
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::engine::Engine;
    use crate::options::Options;
    use crate::txn::IsolationLevel;
    use crate::version::KeyBounds;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// The buffer's contents in key order.
    type Contents = Vec<(Bytes, Option<Bytes>)>;

    fn all(buf: &WriteBuffer) -> Contents {
        let range: KeyBounds = (Bound::Unbounded, Bound::Unbounded);
        buf.range(&range, false).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    #[test]
    fn rollback_restores_values_deletes_and_absence() {
        let mut buf = WriteBuffer::default();
        buf.insert(b("a"), Some(b("1")));
        buf.insert(b("d"), None);
        let s1 = buf.savepoint();
        buf.insert(b("a"), Some(b("2")));
        buf.insert(b("b"), Some(b("9")));
        buf.insert(b("d"), Some(b("back")));
        let s2 = buf.savepoint();
        buf.insert(b("a"), None);
        buf.insert(b("0"), Some(b("tree")));
        buf.rollback_to(s2).unwrap();
        assert_eq!(all(&buf), vec![(b("a"), Some(b("2"))), (b("b"), Some(b("9"))), (b("d"), Some(b("back")))]);
        buf.rollback_to(s1).unwrap();
        assert_eq!(all(&buf), vec![(b("a"), Some(b("1"))), (b("d"), None)]);
        // s2 was taken after s1: rolling back to s1 discarded it.
        assert!(buf.rollback_to(s2).is_err());
        // s1 stays open: it can be rolled back to again.
        buf.insert(b("z"), Some(b("x")));
        buf.rollback_to(s1).unwrap();
        assert_eq!(buf.len(), 2);
        assert_eq!(buf.get(b"z"), None);
    }

    #[test]
    fn release_keeps_writes_and_stops_recording() {
        let mut buf = WriteBuffer::default();
        let s1 = buf.savepoint();
        buf.insert(b("a"), Some(b("1")));
        let s2 = buf.savepoint();
        buf.insert(b("b"), Some(b("2")));
        buf.release(s2).unwrap();
        assert!(buf.release(s2).is_err(), "released twice");
        buf.rollback_to(s1).unwrap();
        assert!(buf.is_empty(), "s2's writes belong to s1 once released");
        buf.release(s1).unwrap();
        buf.insert(b("c"), Some(b("3")));
        assert!(!buf.undo.is_recording());
        // A new savepoint is never confused with a released one.
        let s3 = buf.savepoint();
        assert_ne!(s1, s3);
        assert!(buf.rollback_to(s1).is_err());
    }

    /// Against a model: the buffer's contents at each savepoint, replayed by
    /// random writes, nested savepoints, releases and rollbacks.
    #[test]
    fn behaves_like_snapshots_of_a_map() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..40 {
            let mut buf = WriteBuffer::default();
            let mut model: Contents = Vec::new();
            let mut stack: Vec<(Savepoint, Contents)> = Vec::new();
            let mut seq = 0u32;
            for step in 0..400 {
                match rng.random_range(0..12) {
                    0 => {
                        stack.push((buf.savepoint(), all(&buf)));
                    }
                    1 if !stack.is_empty() => {
                        let i = rng.random_range(0..stack.len());
                        buf.rollback_to(stack[i].0).unwrap();
                        stack.truncate(i + 1);
                        assert_eq!(all(&buf), stack[i].1, "step {step}");
                    }
                    2 if !stack.is_empty() => {
                        let i = rng.random_range(0..stack.len());
                        buf.release(stack[i].0).unwrap();
                        stack.truncate(i);
                    }
                    _ => {
                        let key = if rng.random_range(0..3) > 0 {
                            seq += 1;
                            format!("k{seq:05}")
                        } else {
                            format!("k{:05}", rng.random_range(0..seq + 3))
                        };
                        let value = if rng.random_range(0..4) == 0 { None } else { Some(b(&format!("v{step}"))) };
                        buf.insert(b(&key), value);
                    }
                }
                model = all(&buf);
            }
            assert_eq!(buf.take_sorted(), model);
        }
    }

    #[test]
    fn transaction_savepoints_commit_only_surviving_writes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::default()).unwrap();
        let mut t = engine.begin(IsolationLevel::Snapshot);
        t.put(b("keep"), b("1")).unwrap();
        let sp = t.savepoint().unwrap();
        t.put(b("drop"), b("2")).unwrap();
        t.delete(b("keep")).unwrap();
        assert_eq!(t.get(b"keep").unwrap(), None);
        t.rollback_to_savepoint(sp).unwrap();
        assert_eq!(t.get(b"keep").unwrap(), Some(b("1")));
        assert_eq!(t.get(b"drop").unwrap(), None);
        t.release_savepoint(sp).unwrap();
        assert!(t.release_savepoint(sp).is_err());
        t.commit().unwrap();
        assert!(t.savepoint().is_err(), "a finished transaction takes no savepoints");
        let mut r = engine.begin(IsolationLevel::Snapshot);
        assert_eq!(r.get(b"keep").unwrap(), Some(b("1")));
        assert_eq!(r.get(b"drop").unwrap(), None);
    }

    /// A read made after a savepoint that was rolled back still conflicts
    /// under serializable isolation.
    #[test]
    fn rolled_back_reads_still_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::default()).unwrap();
        let mut t = engine.begin(IsolationLevel::Serializable);
        let sp = t.savepoint().unwrap();
        assert_eq!(t.get(b"x").unwrap(), None);
        t.rollback_to_savepoint(sp).unwrap();
        t.put(b("y"), b("1")).unwrap();
        let mut other = engine.begin(IsolationLevel::Snapshot);
        other.put(b("x"), b("1")).unwrap();
        other.commit().unwrap();
        assert!(matches!(t.commit(), Err(Error::Conflict(_))));
    }
}
