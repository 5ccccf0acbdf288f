//! Where a statement runs: on the connection's task, or on a worker.
//!
//! Statements run on the bounded worker pool (`workers.rs`) so that a slow
//! one never holds a runtime thread, which would stall the connections
//! scheduled there. The price is two thread wake-ups per statement: the
//! connection's task hands the statement to a pool thread and sleeps, and
//! the pool thread wakes the task with the result. For a point select
//! that takes tens of microseconds, those wake-ups (futex calls and
//! context switches, 33 % of the server's CPU under pgbench select-only)
//! cost more than the statement.
//!
//! So a connection remembers how long its statements took, keyed by the
//! statement's *shape* (its text with literals blanked, so pgbench's
//! `SELECT … WHERE aid = 4711` and `… = 815` are one shape; a prepared
//! statement's `$1` text is one shape by itself). A shape runs on the
//! connection's own task only once it has proved short:
//!
//! * the first [`PROOF`] runs of a shape go to the pool, and each must take
//!   less than [`BUDGET`] (measured on the worker, around the statement
//!   alone);
//! * after that it runs inline when the session is outside a transaction
//!   block, and is still timed: one inline run over
//!   the budget sends the shape back to the pool, where it must prove
//!   itself again. Whatever waits on I/O (a COMMIT's fsync, a big scan)
//!   never qualifies.
//!
//! Statements inside a transaction block always go to the pool. Its bound
//! on concurrent statements is also a bound on how many blocks make
//! progress at once, and Alopex's commits are optimistic: with every block
//! of pgbench's tpcb-like running its statements inline, 8 clients
//! updating 10 branch rows retried three times as often, and some
//! transactions exhausted 100 tries.
//!
//! The budget can be changed with the environment variable
//! `ALOPEX_PG_INLINE_BUDGET_US` (microseconds; 0 runs everything on the
//! pool), read once at startup: for measuring what inline execution buys,
//! and for tests that need a statement to run inline deterministically.
//!
//! The worst case is a shape that was short and is not this time (a range
//! whose bounds are parameters): it holds its runtime thread once, for as
//! long as it runs, while tokio's other runtime threads steal the waiting
//! connections; it is cancellable as any statement (`cancel.rs`), and then
//! it goes back to the pool. A connection remembers at most
//! [`MAX_SHAPES`] shapes.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;

/// A statement that ran under this long may run on the connection's task
/// (unless `ALOPEX_PG_INLINE_BUDGET_US` says otherwise).
pub const BUDGET: Duration = Duration::from_micros(250);

/// The environment variable that overrides [`BUDGET`], in microseconds.
pub const BUDGET_ENV: &str = "ALOPEX_PG_INLINE_BUDGET_US";

/// The budget in force: [`BUDGET_ENV`] when set to a number, else [`BUDGET`].
pub fn budget() -> Duration {
    static BUDGET_IN_FORCE: OnceLock<Duration> = OnceLock::new();
    *BUDGET_IN_FORCE.get_or_init(|| {
        std::env::var(BUDGET_ENV).ok().and_then(|v| v.trim().parse::<u64>().ok()).map_or(BUDGET, Duration::from_micros)
    })
}

/// How many consecutive runs under [`BUDGET`] a shape needs first.
pub const PROOF: u32 = 2;

/// How many shapes one connection remembers (then it forgets them all).
pub const MAX_SHAPES: usize = 256;

/// The short-statement record of one connection.
#[derive(Debug)]
pub struct Placement {
    /// Shape → consecutive runs under the budget.
    streaks: Mutex<HashMap<u64, u32>>,
    budget: Duration,
}

impl Default for Placement {
    fn default() -> Placement {
        Placement::with_budget(budget())
    }
}

impl Placement {
    /// A record that lets statements under `budget` run inline (none when
    /// it is zero).
    pub fn with_budget(budget: Duration) -> Placement {
        Placement { streaks: Mutex::new(HashMap::new()), budget }
    }

    /// Whether a statement of `shape` should run on the connection's task.
    pub fn inline(&self, shape: u64) -> bool {
        self.streaks.lock().get(&shape).is_some_and(|&n| n >= PROOF)
    }

    /// Records that a statement of `shape` took `took`.
    pub fn record(&self, shape: u64, took: Duration) {
        let mut streaks = self.streaks.lock();
        if took >= self.budget {
            streaks.remove(&shape);
            return;
        }
        if streaks.len() >= MAX_SHAPES && !streaks.contains_key(&shape) {
            streaks.clear();
        }
        let n = streaks.entry(shape).or_insert(0);
        *n = n.saturating_add(1);
    }
}

/// The shape of a statement: a hash of its text with numeric and string
/// literals blanked and runs of whitespace folded, so statements that
/// differ only in their constants share it. Digits inside identifiers
/// (`t1`, `$1`) are kept.
pub fn shape(sql: &str) -> u64 {
    // FNV-1a: tiny, and collisions only cost a placement decision.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut put = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    let bytes = sql.as_bytes();
    let mut i = 0;
    let mut prev: u8 = b' ';
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\'' {
            // A string literal ('' escapes a quote): one placeholder.
            i += 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            put(b'?');
            prev = b'?';
            continue;
        }
        let word = prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'$';
        if b.is_ascii_digit() && !word {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            put(b'0');
            prev = b'0';
            continue;
        }
        if b.is_ascii_whitespace() {
            if prev != b' ' {
                put(b' ');
            }
            prev = b' ';
            i += 1;
            continue;
        }
        put(b.to_ascii_lowercase());
        prev = b;
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_do_not_change_the_shape_identifiers_do() {
        let a = shape("SELECT abalance FROM pgbench_accounts WHERE aid = 4711;");
        assert_eq!(a, shape("select abalance  from pgbench_accounts where aid = 81;"));
        assert_eq!(shape("SELECT * FROM kv WHERE v = 'it''s'"), shape("SELECT * FROM kv WHERE v = 'x'"));
        assert_ne!(a, shape("SELECT abalance FROM pgbench_tellers WHERE aid = 4711;"));
        assert_ne!(shape("SELECT * FROM t1 WHERE k = $1"), shape("SELECT * FROM t2 WHERE k = $1"));
        assert_ne!(shape("SELECT $1"), shape("SELECT $2"));
        assert_eq!(shape("SELECT 1.5"), shape("SELECT 2"));
    }

    #[test]
    fn a_shape_runs_inline_after_proving_short_and_leaves_when_slow() {
        let p = Placement::with_budget(BUDGET);
        let s = shape("SELECT v FROM kv WHERE k = 1");
        assert!(!p.inline(s));
        p.record(s, Duration::from_micros(20));
        assert!(!p.inline(s), "one short run is not proof");
        p.record(s, Duration::from_micros(20));
        assert!(p.inline(s));
        p.record(s, Duration::from_millis(3));
        assert!(!p.inline(s), "a slow run sends it back to the pool");
        let commit = shape("COMMIT");
        for _ in 0..10 {
            p.record(commit, BUDGET);
        }
        assert!(!p.inline(commit));
        for i in 0..(MAX_SHAPES as u64 + 10) {
            p.record(i, Duration::ZERO);
        }
        assert!(p.streaks.lock().len() <= MAX_SHAPES);
        let never = Placement::with_budget(Duration::ZERO);
        never.record(s, Duration::ZERO);
        never.record(s, Duration::ZERO);
        assert!(!never.inline(s), "a zero budget runs everything on the pool");
    }
}
