//! The rule-based optimizer.
//!
//! OWNER: optimizer helper. Each rule is a pure `Node -> Node` function;
//! [`optimize`] applies them in one fixed, ordered list.

use crate::error::Result;
use crate::plan::Node;

/// Table statistics the optimizer may use.
pub trait Statistics {
    /// The estimated row count of a table, if known.
    fn row_count(&self, table_id: u64) -> Option<u64>;
}

/// Optimizes a plan tree.
pub fn optimize(node: Node, stats: &dyn Statistics) -> Result<Node> {
    let _ = stats;
    Ok(node)
}
