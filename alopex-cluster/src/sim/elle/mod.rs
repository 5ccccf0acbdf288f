//! # An Elle-style checker for snapshot isolation on list-append histories
//!
//! The bank test checks one invariant (the total). That catches lost money,
//! not a read that saw half a transaction on one key and all of it on
//! another, nor a write that overwrote a newer one and happened to keep the
//! total. This checker, after Kingsbury & Alvaro's Elle ("Elle: Inferring
//! Isolation Anomalies from Experimental Observations", VLDB 2020), checks
//! the isolation level itself, from nothing but what the clients observed:
//!
//! - the workload appends unique values to lists and reads whole lists, so
//!   each read reveals the **order** of every append before it, and each
//!   value names the transaction that appended it;
//! - from those orders it rebuilds Adya's dependency graph (ww, wr, rw
//!   edges) and looks for the cycles and the direct anomalies that each
//!   isolation level forbids (G0, G1a, G1b, G1c, G-single, G2, lost update,
//!   plus the history-level ones: incompatible orders, duplicate and
//!   garbage reads, reads that contradict their own transaction);
//! - optional process and realtime edges check session guarantees and the
//!   "strong" variants (no stale reads across clients).
//!
//! ```text
//!   history ──► who appended what ──► version order per key ──► edges ──► SCCs ──► cycles by class
//!                   │ (history.rs)        (check.rs)            (graph.rs)          (cycles.rs)
//!                   └──► direct anomalies (check.rs)                      ──► Report (report.rs)
//! ```
//!
//! It takes plain data (`Txn`s of `Mop`s with an `Outcome`) and returns a
//! [`Report`] that prints the anomalies with their transactions and the
//! reason for every edge of a cycle; it knows nothing of `ClusterTxn`, so a
//! test over SQL (three `alopex serve` processes, psql clients) records its
//! history in the same types. `tests/txn_history.rs` runs the workload on
//! the in-process cluster.
//!
//! What it does not do (yet): Elle's inference of version orders from
//! appends no read observed, and of orders between writes that only
//! realtime constrains; those add edges, so without them some anomalies
//! are missed, but no valid history is ever reported invalid.

mod check;
mod cycles;
mod graph;
mod history;
mod report;
#[cfg(test)]
mod tests;

pub use check::check;
pub use graph::{EdgeKind, Step, Why};
pub use history::{Mop, Outcome, Txn};
pub use report::{Anomaly, AnomalyKind, CheckOptions, Model, Report};
