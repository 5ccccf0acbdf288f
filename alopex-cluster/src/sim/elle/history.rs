//! # What a list-append history is made of
//!
//! A history is what the clients saw, nothing more: for every transaction,
//! the operations it issued with what its reads returned, and how it ended.
//! The checker trusts nothing else (no timestamps from the database, no
//! internal state), so the same types serve a test that drives
//! `ClusterTxn` in process and one that drives `psql` against three real
//! processes: both only need to turn what they observed into these plain
//! values.
//!
//! The workload is Elle's list append: every key holds a list of numbers; a
//! transaction either appends a number to a key's list or reads the whole
//! list. The workload appends each number at most once per key, so a value
//! names the one append that wrote it, and a read names the whole prefix of
//! appends it observed. That is what makes the version order of each key
//! recoverable from the reads alone.

use std::fmt;

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mop {
    /// Appends `value` to the list at `key`. The workload never appends the
    /// same value twice to one key.
    Append {
        /// The key.
        key: u64,
        /// The value appended.
        value: u64,
    },
    /// Reads the list at `key`. `None`: the result is unknown (the read was
    /// issued but its answer lost); an absent key reads as an empty list.
    Read {
        /// The key.
        key: u64,
        /// The list observed, oldest append first.
        values: Option<Vec<u64>>,
    },
}

impl Mop {
    /// An append of `value` to `key`.
    pub fn append(key: u64, value: u64) -> Mop {
        Mop::Append { key, value }
    }

    /// A read of `key` that returned `values`.
    pub fn read(key: u64, values: &[u64]) -> Mop {
        Mop::Read { key, values: Some(values.to_vec()) }
    }

    /// The key this operation acts on.
    pub fn key(&self) -> u64 {
        match self {
            Mop::Append { key, .. } | Mop::Read { key, .. } => *key,
        }
    }
}

impl fmt::Display for Mop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mop::Append { key, value } => write!(f, "append({key}, {value})"),
            Mop::Read { key, values: Some(v) } => write!(f, "read({key}) -> {}", list(v)),
            Mop::Read { key, values: None } => write!(f, "read({key}) -> ?"),
        }
    }
}

/// How a transaction ended, as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The commit was acknowledged.
    Committed,
    /// The transaction definitely did not commit (a conflict, a rollback).
    Aborted,
    /// The client does not know (a timeout, a lost connection during the
    /// commit): it may have committed. An indeterminate transaction whose
    /// append some committed transaction read is treated as committed.
    Unknown,
}

/// One transaction of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    /// The client (thread, connection) that ran it. Transactions of one
    /// process do not overlap and are listed in the order it ran them.
    pub process: u64,
    /// Its operations, in order.
    pub ops: Vec<Mop>,
    /// How it ended.
    pub outcome: Outcome,
    /// When the client began it (any monotonic clock shared by all
    /// clients, e.g. microseconds since the test started).
    pub start: u64,
    /// When the client learned its outcome; `None` if it never did.
    pub end: Option<u64>,
}

impl Txn {
    /// A committed transaction of `process` with no timing (times 0).
    pub fn committed(process: u64, ops: Vec<Mop>) -> Txn {
        Txn { process, ops, outcome: Outcome::Committed, start: 0, end: Some(0) }
    }

    /// An aborted transaction of `process` with no timing.
    pub fn aborted(process: u64, ops: Vec<Mop>) -> Txn {
        Txn { process, ops, outcome: Outcome::Aborted, start: 0, end: Some(0) }
    }

    /// A transaction of `process` whose outcome is unknown, with no timing.
    pub fn unknown(process: u64, ops: Vec<Mop>) -> Txn {
        Txn { process, ops, outcome: Outcome::Unknown, start: 0, end: None }
    }

    /// The same transaction with its client-observed start and end times.
    pub fn at(mut self, start: u64, end: Option<u64>) -> Txn {
        self.start = start;
        self.end = end;
        self
    }
}

/// A list as `[1, 2, 3]`, or, when long, its first and last three values
/// and its length: `[1, 2, 3, .. 9, 11, 12] (40 values)`. What a cycle
/// turns on is always a list's end.
pub(crate) fn list(v: &[u64]) -> String {
    if v.len() <= 8 {
        return format!("{v:?}");
    }
    let head: Vec<String> = v[..3].iter().map(u64::to_string).collect();
    let tail: Vec<String> = v[v.len() - 3..].iter().map(u64::to_string).collect();
    format!("[{}, .. {}] ({} values)", head.join(", "), tail.join(", "), v.len())
}

/// A compact rendering of transaction `i` of a history, for reports:
/// `T7 (process 2, committed): [append(1, 4), read(2) -> [1, 3]]`.
pub(crate) fn describe(i: usize, t: &Txn) -> String {
    let outcome = match t.outcome {
        Outcome::Committed => "committed",
        Outcome::Aborted => "aborted",
        Outcome::Unknown => "unknown outcome",
    };
    let ops: Vec<String> = t.ops.iter().map(|m| m.to_string()).collect();
    format!("T{i} (process {}, {outcome}): [{}]", t.process, ops.join(", "))
}
