//! EXPLAIN ANALYZE: per-operator row counts, loops and times.
//!
//! With a [`StatsHandle`], [`super::build`] wraps every operator in a
//! [`CountedExec`] that knows the node's pre-order position in the plan
//! and adds to that entry of the shared vector: one loop when the operator
//! is first pulled (operators are opened by their first `next`), one row
//! per row returned, and the wall time of every `next` call. The time
//! includes the children's, as PostgreSQL reports it. The plain executor
//! pays nothing for this: without stats no wrapper is built.

use std::time::Instant;

use super::{ExecContext, Executor, StatsHandle};
use crate::error::Result;
use crate::types::Row;

/// Counts an operator's work into the stats entry `index`.
pub(super) struct CountedExec {
    inner: Box<dyn Executor>,
    stats: StatsHandle,
    index: usize,
    opened: bool,
}

impl CountedExec {
    /// Wraps `inner`, the node at pre-order position `index`.
    pub(super) fn new(inner: Box<dyn Executor>, stats: StatsHandle, index: usize) -> CountedExec {
        CountedExec { inner, stats, index, opened: false }
    }
}

impl Executor for CountedExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let start = Instant::now();
        let result = self.inner.next(cx);
        let elapsed = start.elapsed();
        let mut stats = self.stats.lock();
        if stats.len() <= self.index {
            stats.resize(self.index + 1, Default::default());
        }
        let entry = &mut stats[self.index];
        entry.elapsed += elapsed;
        if !self.opened {
            self.opened = true;
            entry.loops += 1;
        }
        if let Ok(Some(_)) = &result {
            entry.rows += 1;
        }
        result
    }

    fn affected_rows(&self) -> u64 {
        self.inner.affected_rows()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use crate::exec::test_support::{col, ints, lit, with_cx};
    use crate::exec::{NodeStats, build, drain};
    use crate::plan::{JoinKind, Node};
    use crate::types::Value;

    #[test]
    fn counts_rows_and_loops_in_pre_order() {
        let join = Node::NestedLoopJoin {
            left: Box::new(ints(1, &[&[Some(1)], &[Some(2)], &[Some(3)]])),
            right: Box::new(ints(1, &[&[Some(10)], &[Some(20)]])),
            kind: JoinKind::Inner,
            predicate: None,
        };
        let filter = Node::Filter { input: Box::new(join), predicate: lit(Value::Bool(true)) };
        let limit = Node::Limit { input: Box::new(filter), limit: Some(lit(Value::Int(3))), offset: None };
        let union = Node::SetOp {
            op: crate::plan::SetOpKind::Union,
            all: true,
            left: Box::new(limit),
            right: Box::new(Node::Project { input: Box::new(Node::Empty { width: 2 }), exprs: vec![col(0), col(1)] }),
        };
        let stats = Arc::new(Mutex::new(Vec::new()));
        let got = with_cx(&[], |cx| {
            let mut exec = build(&union, Some(stats.clone())).unwrap();
            drain(exec.as_mut(), cx).unwrap()
        });
        assert_eq!(got.len(), 3);
        let stats = stats.lock();
        let counts: Vec<(u64, u64)> = stats.iter().map(|s: &NodeStats| (s.rows, s.loops)).collect();
        // SetOp, Limit, Filter, Join, left Values, right Values, Project, Empty
        assert_eq!(counts, vec![(3, 1), (3, 1), (3, 1), (3, 1), (2, 1), (2, 1), (0, 1), (0, 1)]);
        assert!(stats[0].elapsed >= stats[1].elapsed);
    }
}
