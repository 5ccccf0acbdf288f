//! # What the checker reports
//!
//! A report is meant to be read by a person who has to find the bug: every
//! anomaly names its class (with the isolation levels that forbid it), the
//! transactions involved, printed whole, and for a cycle every edge with the
//! key and values that justify it. `Display` prints all of that; a test
//! asserts `report.is_valid()` and prints the report when it is not.

use std::collections::BTreeMap;
use std::fmt;

use super::graph::{EdgeKind, Step};
use super::history::{Txn, describe};

/// The consistency model a history is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Snapshot isolation: G0, G1 (a, b, c), G-single (read skew, lost
    /// update) are forbidden; G2 (write skew) is allowed.
    SnapshotIsolation,
    /// Serializability: every dependency cycle is forbidden.
    Serializable,
}

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// The model.
    pub model: Model,
    /// Add process-order edges (a client's transactions in the order it ran
    /// them): checks session guarantees (read your writes, monotonic reads)
    /// on top of the model.
    pub process_order: bool,
    /// Add realtime edges (a transaction acknowledged before another began
    /// precedes it): the "strong" variant of the model, what a database
    /// that promises no stale reads across clients must pass.
    pub realtime: bool,
    /// How many candidate edges the cycle search may try in all; a report
    /// whose search ran out says so (`Report::truncated`).
    pub search_budget: usize,
    /// How many anomalies of one kind are described in full (all are counted).
    pub max_examples: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            model: Model::SnapshotIsolation,
            process_order: false,
            realtime: false,
            search_budget: 20_000,
            max_examples: 8,
        }
    }
}

/// The classes of anomaly the checker finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    /// Two reads of one key where neither is a prefix of the other: no
    /// single order of appends explains both.
    IncompatibleOrder,
    /// A read that lists one value twice, or a value appended to one key by
    /// two transactions.
    DuplicateAppend,
    /// A read that lists a value no transaction appended.
    GarbageRead,
    /// A transaction whose read disagrees with its own earlier read and
    /// appends of the key.
    Internal,
    /// Aborted read: a committed transaction saw an aborted one's append.
    G1a,
    /// Intermediate read: a committed transaction saw another's append that
    /// was not that transaction's last to the key.
    G1b,
    /// Two committed transactions read the same version of a key and both
    /// appended to it.
    LostUpdate,
    /// A cycle of write-write edges (dirty write).
    G0,
    /// A cycle of write-write and write-read edges (circular information flow).
    G1c,
    /// A cycle with exactly one anti-dependency (read skew; a lost update
    /// shows as one): forbidden under snapshot isolation.
    GSingle,
    /// A cycle with two or more anti-dependencies (write skew): allowed under
    /// snapshot isolation, forbidden under serializability.
    G2,
}

impl AnomalyKind {
    /// The usual name of the class.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::IncompatibleOrder => "incompatible-order",
            AnomalyKind::DuplicateAppend => "duplicate-append",
            AnomalyKind::GarbageRead => "garbage-read",
            AnomalyKind::Internal => "internal",
            AnomalyKind::G1a => "G1a (aborted read)",
            AnomalyKind::G1b => "G1b (intermediate read)",
            AnomalyKind::LostUpdate => "lost-update",
            AnomalyKind::G0 => "G0 (write cycle)",
            AnomalyKind::G1c => "G1c (circular information flow)",
            AnomalyKind::GSingle => "G-single (read skew: one anti-dependency in a cycle)",
            AnomalyKind::G2 => "G2 (anti-dependency cycle, e.g. write skew)",
        }
    }
}

/// One anomaly found.
#[derive(Clone, Debug)]
pub struct Anomaly {
    /// Its class.
    pub kind: AnomalyKind,
    /// The transactions involved (indices into the history).
    pub txns: Vec<usize>,
    /// For a cycle, its edges in order (the last one returns to the first
    /// transaction); empty otherwise.
    pub cycle: Vec<Step>,
    /// What was seen, in words.
    pub explanation: String,
}

impl Anomaly {
    /// Whether the cycle uses a process or realtime edge (then the anomaly
    /// is one of the model's session or strong variant).
    pub fn uses_order(&self) -> bool {
        self.cycle.iter().any(|s| matches!(s.why.kind(), EdgeKind::Process | EdgeKind::Realtime))
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The anomalies described in full (at most `max_examples` per kind).
    pub anomalies: Vec<Anomaly>,
    /// How many anomalies of each kind were found.
    pub counts: BTreeMap<AnomalyKind, usize>,
    /// Committed transactions (including indeterminate ones shown to have
    /// committed by a read).
    pub committed: usize,
    /// Aborted transactions.
    pub aborted: usize,
    /// Indeterminate transactions no read showed to have committed.
    pub unknown: usize,
    /// Edges of the dependency graph.
    pub edges: usize,
    /// The longest list read.
    pub longest_read: usize,
    /// The cycle search ran out of budget: a cycle may have been missed.
    pub truncated: bool,
    /// The transactions, rendered for the explanations.
    pub(crate) rendered: Vec<String>,
}

impl Report {
    /// Whether no anomaly was found.
    pub fn is_valid(&self) -> bool {
        self.counts.is_empty()
    }

    /// Whether an anomaly of `kind` was found.
    pub fn has(&self, kind: AnomalyKind) -> bool {
        self.counts.contains_key(&kind)
    }

    pub(crate) fn push(&mut self, max_examples: usize, anomaly: Anomaly) {
        let n = self.counts.entry(anomaly.kind).or_insert(0);
        *n += 1;
        if *n <= max_examples {
            self.anomalies.push(anomaly);
        }
    }

    pub(crate) fn render(history: &[Txn]) -> Vec<String> {
        history.iter().enumerate().map(|(i, t)| describe(i, t)).collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} committed, {} aborted, {} indeterminate transactions; {} dependency edges; longest read {}{}",
            self.committed,
            self.aborted,
            self.unknown,
            self.edges,
            self.longest_read,
            if self.truncated { "; cycle search truncated" } else { "" }
        )?;
        if self.is_valid() {
            return writeln!(f, "no anomalies");
        }
        let counts: Vec<String> = self.counts.iter().map(|(k, n)| format!("{} x{n}", k.name())).collect();
        writeln!(f, "anomalies: {}", counts.join(", "))?;
        for a in &self.anomalies {
            let variant = if a.uses_order() { " (with client order edges)" } else { "" };
            writeln!(f, "\n{}{variant}: {}", a.kind.name(), a.explanation)?;
            if a.cycle.is_empty() {
                for &t in &a.txns {
                    writeln!(f, "  {}", self.rendered.get(t).map_or("?", String::as_str))?;
                }
            } else {
                for s in &a.cycle {
                    writeln!(f, "  {}", self.rendered.get(s.from).map_or("?", String::as_str))?;
                    writeln!(f, "    --[{}]-->", s.why)?;
                }
                if let Some(s) = a.cycle.first() {
                    writeln!(f, "  T{} (the first again)", s.from)?;
                }
            }
        }
        Ok(())
    }
}
