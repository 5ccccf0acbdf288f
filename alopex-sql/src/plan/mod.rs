//! Logical and physical plans, and the binder and optimizer that make them.
//!
//! A plan is data: a tree of [`Node`]s. Every node produces rows; an
//! expression inside a node refers to the node's *input* row by position
//! (for joins, the left row followed by the right row). The binder builds a
//! straightforward tree (scans, cross joins, one filter, aggregate, project,
//! sort, limit); the optimizer's rules rewrite it (push predicates down,
//! choose hash joins and a join order, pick index and key-range scans, fold
//! constants, turn Sort+Limit into TopN). The executor then runs the tree as
//! Volcano iterators.

pub mod bind;
pub mod explain;
pub mod node;
pub mod optimizer;

#[cfg(test)]
mod golden_tests;

pub use bind::{BoundStatement, SettingsUse, bind, bind_in_session, bind_in_session_with_roles};
pub use node::{
    AggCall, JoinKind, Node, OnConflict, OnConflictAction, OutputColumn, Plan, ScanRange, SetCall, SetOpKind, SortKey,
};
