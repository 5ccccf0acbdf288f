//! The nested-loop join: every left row against every right row.
//!
//! It is the join for predicates that are not equalities (and for CROSS
//! JOIN). The right side is read once into memory when the join opens and
//! each left row is tried against all of it; the output rules of the join
//! kinds live in `join.rs`.

use super::join::{Candidates, JoinCore};
use super::{ExecContext, Executor, drain};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::JoinKind;
use crate::types::Row;

/// Joins by trying the predicate on every pair.
pub(super) struct NestedLoopJoinExec {
    left: Box<dyn Executor>,
    right: Option<Box<dyn Executor>>,
    core: JoinCore,
}

impl NestedLoopJoinExec {
    /// A join of `left` and `right` (of the given widths) on `predicate`
    /// (None = every pair).
    pub(super) fn new(
        left: Box<dyn Executor>,
        right: Box<dyn Executor>,
        kind: JoinKind,
        predicate: Option<Expr>,
        left_width: usize,
        right_width: usize,
    ) -> NestedLoopJoinExec {
        NestedLoopJoinExec { left, right: Some(right), core: JoinCore::new(kind, predicate, left_width, right_width) }
    }
}

impl Executor for NestedLoopJoinExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(mut right) = self.right.take() {
            let rows = drain(right.as_mut(), cx)?;
            self.core.set_right(rows, Vec::new());
        }
        self.core.next(self.left.as_mut(), cx, &mut |_, _| Ok(Candidates::All))
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, lit, rows, run};
    use crate::expr::{BinaryOp, Expr};
    use crate::plan::{JoinKind, Node};
    use crate::types::{DataType, Value};

    fn join(kind: JoinKind, left: Node, right: Node, predicate: Option<Expr>) -> Node {
        Node::NestedLoopJoin { left: Box::new(left), right: Box::new(right), kind, predicate }
    }

    fn left() -> Node {
        ints(1, &[&[Some(1)], &[Some(2)]])
    }

    fn right() -> Node {
        ints(1, &[&[Some(10)], &[Some(20)]])
    }

    #[test]
    fn cross_product_in_left_major_order() {
        let got = run(&join(JoinKind::Inner, left(), right(), None)).unwrap();
        let want = rows(&[&[Some(1), Some(10)], &[Some(1), Some(20)], &[Some(2), Some(10)], &[Some(2), Some(20)]]);
        assert_eq!(got, want);
    }

    #[test]
    fn outer_joins_pad_with_nulls_when_a_side_is_empty() {
        let empty = || Node::Empty { width: 1 };
        assert!(run(&join(JoinKind::Inner, left(), empty(), None)).unwrap().is_empty());
        assert_eq!(
            run(&join(JoinKind::Left, left(), empty(), None)).unwrap(),
            rows(&[&[Some(1), None], &[Some(2), None]])
        );
        assert!(run(&join(JoinKind::Left, empty(), right(), None)).unwrap().is_empty());
        assert_eq!(
            run(&join(JoinKind::Right, empty(), right(), None)).unwrap(),
            rows(&[&[None, Some(10)], &[None, Some(20)]])
        );
        assert!(run(&join(JoinKind::Right, left(), empty(), None)).unwrap().is_empty());
        assert_eq!(
            run(&join(JoinKind::Full, left(), empty(), None)).unwrap(),
            rows(&[&[Some(1), None], &[Some(2), None]])
        );
        assert_eq!(
            run(&join(JoinKind::Full, empty(), right(), None)).unwrap(),
            rows(&[&[None, Some(10)], &[None, Some(20)]])
        );
    }

    #[test]
    fn semi_and_anti_without_predicate() {
        let empty = || Node::Empty { width: 1 };
        assert_eq!(run(&join(JoinKind::Semi, left(), right(), None)).unwrap(), rows(&[&[Some(1)], &[Some(2)]]));
        assert!(run(&join(JoinKind::Semi, left(), empty(), None)).unwrap().is_empty());
        assert!(run(&join(JoinKind::Anti, left(), right(), None)).unwrap().is_empty());
        assert_eq!(run(&join(JoinKind::Anti, left(), empty(), None)).unwrap(), rows(&[&[Some(1)], &[Some(2)]]));
    }

    #[test]
    fn boolean_column_predicate_with_null() {
        // right rows carry the "match" flag: TRUE, NULL, FALSE.
        let right = Node::Values {
            rows: vec![
                vec![lit(Value::Int(10)), lit(Value::Bool(true))],
                vec![lit(Value::Int(20)), lit(Value::Null)],
                vec![lit(Value::Int(30)), lit(Value::Bool(false))],
            ],
            width: 2,
        };
        let got = run(&join(JoinKind::Full, left(), right, Some(col(2)))).unwrap();
        let t = Value::Bool(true);
        let want = vec![
            vec![Value::Int(1), Value::Int(10), t.clone()],
            vec![Value::Int(2), Value::Int(10), t],
            vec![Value::Null, Value::Int(20), Value::Null],
            vec![Value::Null, Value::Int(30), Value::Bool(false)],
        ];
        assert_eq!(got, want);
    }

    fn eq(l: usize, r: usize) -> Expr {
        Expr::Binary { op: BinaryOp::Eq, left: Box::new(col(l)), right: Box::new(col(r)), ty: DataType::Bool }
    }

    #[test]
    fn every_kind_with_an_equality_predicate_and_null_keys() {
        let l = || ints(1, &[&[Some(1)], &[Some(2)], &[None]]);
        let r = || ints(1, &[&[Some(2)], &[Some(3)], &[None], &[Some(2)]]);
        let run_kind = |kind| run(&join(kind, l(), r(), Some(eq(0, 1)))).unwrap();
        assert_eq!(run_kind(JoinKind::Inner), rows(&[&[Some(2), Some(2)], &[Some(2), Some(2)]]));
        assert_eq!(
            run_kind(JoinKind::Left),
            rows(&[&[Some(1), None], &[Some(2), Some(2)], &[Some(2), Some(2)], &[None, None]])
        );
        assert_eq!(
            run_kind(JoinKind::Right),
            rows(&[&[Some(2), Some(2)], &[Some(2), Some(2)], &[None, Some(3)], &[None, None]])
        );
        assert_eq!(
            run_kind(JoinKind::Full),
            rows(&[
                &[Some(1), None],
                &[Some(2), Some(2)],
                &[Some(2), Some(2)],
                &[None, None],
                &[None, Some(3)],
                &[None, None]
            ])
        );
        assert_eq!(run_kind(JoinKind::Semi), rows(&[&[Some(2)]]));
        assert_eq!(run_kind(JoinKind::Anti), rows(&[&[Some(1)], &[None]]));
    }
}
