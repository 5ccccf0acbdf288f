//! EXPLAIN output: the plan tree as indented text.
//!
//! OWNER: binder helper.

use crate::exec::NodeStats;
use crate::plan::Plan;

/// One line per operator, children indented under their parent, with
/// names resolved (`t1.a`, not positions). With `stats` (indexed by pre-order
/// position), each line ends with `(rows=N loops=L time=T)`.
pub fn explain(plan: &Plan, stats: Option<&[NodeStats]>) -> Vec<String> {
    let _ = (plan, stats);
    todo!("binder helper")
}
