//! Transactions that span gRPC calls.
//!
//! gRPC calls are independent requests, so a transaction that spans
//! several of them needs a name: `BeginTransaction` opens a session with an
//! explicit transaction, files it under a fresh id, and later calls find it
//! there. A session is used by one call at a time (its mutex), and a
//! transaction nobody touches for [`IDLE_TIMEOUT`] is rolled back and
//! forgotten, so an abandoned client cannot hold back garbage collection of
//! old versions forever.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alopex_sql::Session;
use parking_lot::Mutex;

/// How long an open transaction may sit unused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

struct Entry {
    session: Arc<Mutex<Session>>,
    last_used: Instant,
}

/// The open transactions, by id.
#[derive(Default)]
pub struct Transactions {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Entry>>,
}

impl Transactions {
    /// Files `session` (with its transaction open); returns its id.
    pub fn insert(&self, session: Session) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        self.open.lock().insert(id, Entry { session: Arc::new(Mutex::new(session)), last_used: Instant::now() });
        id
    }

    /// The session of transaction `id`, marked as used now.
    pub fn get(&self, id: u64) -> Option<Arc<Mutex<Session>>> {
        let mut open = self.open.lock();
        let entry = open.get_mut(&id)?;
        entry.last_used = Instant::now();
        Some(entry.session.clone())
    }

    /// Forgets transaction `id`; returns its session.
    pub fn remove(&self, id: u64) -> Option<Arc<Mutex<Session>>> {
        self.open.lock().remove(&id).map(|e| e.session)
    }

    /// Drops the transactions idle longer than `timeout` (dropping a
    /// session rolls its transaction back); returns how many.
    pub fn expire(&self, timeout: Duration) -> usize {
        let mut open = self.open.lock();
        let before = open.len();
        open.retain(|_, e| e.last_used.elapsed() < timeout);
        before - open.len()
    }

    /// How many are open.
    pub fn len(&self) -> usize {
        self.open.lock().len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use alopex_sql::Database;

    use super::*;

    #[test]
    fn ids_find_sessions_and_idle_ones_expire() {
        let db = Database::open_in_memory();
        let t = Transactions::default();
        let a = t.insert(db.session());
        let b = t.insert(db.session());
        assert_ne!(a, b);
        assert!(t.get(a).is_some());
        assert!(t.remove(b).is_some());
        assert!(t.get(b).is_none());
        assert_eq!(t.expire(Duration::from_secs(60)), 0);
        assert_eq!(t.expire(Duration::ZERO), 1);
        assert!(t.is_empty());
    }
}
