//! Hash join selection.
//!
//! A nested-loop join evaluates its predicate on every pair of rows; with
//! an equality between an expression of the left row and one of the right
//! row, a hash table on the right side finds the matching pairs directly.
//! This rule turns every [`Node::NestedLoopJoin`] (of any kind) whose
//! predicate has such conjuncts into a [`Node::HashJoin`] keyed on them,
//! with the remaining conjuncts as the residual predicate.
//!
//! A conjunct `l = r` qualifies when `l` reads left columns only and `r`
//! right columns only (or the other way round), both read at least one
//! column, neither holds a subquery (keys are evaluated over one side's row
//! alone, which a subquery's outer references would not expect), and both
//! sides have the same value domain: the same type, or integers of any
//! width, or strings, or numerics — value kinds whose hashing agrees with
//! `=`. The binder casts operands of a comparison to a common type, so a
//! mismatch is rare; such a conjunct just stays in the residual.
//!
//! SQL `=` never matches NULL, and hash joins skip NULL keys, so the two
//! agree; `IS NOT DISTINCT FROM` (where NULL matches NULL) is not a key.

use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;
use crate::types::DataType;

use super::Ctx;
use super::layout::{and_all, conjuncts, equi_pair};
use super::walk::transform_up;

/// The hash-join rule.
pub(super) fn hash_join(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate) } => {
                let lw = left.width();
                let mut left_keys = Vec::new();
                let mut right_keys = Vec::new();
                let mut rest = Vec::new();
                for c in conjuncts(predicate.clone()) {
                    match equi_key(&c, lw) {
                        Some((l, r)) => {
                            left_keys.push(l);
                            right_keys.push(r);
                        }
                        None => rest.push(c),
                    }
                }
                if left_keys.is_empty() {
                    Node::NestedLoopJoin { left, right, kind, predicate: Some(predicate) }
                } else {
                    Node::HashJoin { left, right, kind, left_keys, right_keys, residual: and_all(rest) }
                }
            }
            n => n,
        })
    })
}

/// The (left key, right key over the right row) of an equi-join conjunct
/// whose two sides hash alike.
fn equi_key(conjunct: &Expr, left_width: usize) -> Option<(Expr, Expr)> {
    let (l, r) = equi_pair(conjunct, left_width)?;
    hashes_alike(&l.ty(), &r.ty()).then_some((l, r))
}

/// True when values of the two types are equal under `=` exactly when
/// they are equal (and hash alike) as hash keys.
fn hashes_alike(a: &DataType, b: &DataType) -> bool {
    super::layout::same_value_domain(a, b) || matches!((a, b), (DataType::Numeric(_), DataType::Numeric(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::JoinKind;
    use crate::plan::optimizer::testutil::*;

    fn run(n: Node) -> Node {
        hash_join(n, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    #[test]
    fn equalities_across_sides_become_keys_and_the_rest_residual() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        // t1.a = t2.b AND t2.c = t1.b + 1 AND t1.c < t2.c
        let pred = and(and(eq(col(0), col(4)), eq(col(5), add(col(1), int(1)))), lt(col(2), col(5)));
        let out = run(join(scan(&t1), scan(&t2), JoinKind::Left, Some(pred)));
        let expected = Node::HashJoin {
            left: Box::new(scan(&t1)),
            right: Box::new(scan(&t2)),
            kind: JoinKind::Left,
            left_keys: vec![col(0), add(col(1), int(1))],
            right_keys: vec![col(1), col(2)],
            residual: Some(lt(col(2), col(5))),
        };
        assert_eq!(out, expected);
    }

    #[test]
    fn non_equi_or_one_sided_or_mistyped_equalities_stay_nested_loop() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        for pred in [
            lt(col(0), col(3)),
            eq(col(0), col(1)),
            eq(add(col(0), col(3)), int(1)),
            eq(col(0), colt(3, DataType::Text)),
            eq(col(0), param(0)),
        ] {
            let plan = join(scan(&t1), scan(&t2), JoinKind::Inner, Some(pred));
            assert_eq!(run(plan.clone()), plan);
        }
        // Integer widths hash alike.
        let plan = join(scan(&t1), scan(&t2), JoinKind::Semi, Some(eq(colt(0, DataType::Int8), col(3))));
        assert!(matches!(run(plan), Node::HashJoin { kind: JoinKind::Semi, residual: None, .. }));
    }

    #[test]
    fn joins_below_other_nodes_are_converted_too() {
        let (t1, t2) = (abc(1, "t1"), abc(2, "t2"));
        let plan = project(join(scan(&t1), scan(&t2), JoinKind::Inner, Some(eq(col(3), col(0)))), vec![col(0)]);
        let Node::Project { input, .. } = run(plan) else { panic!() };
        let Node::HashJoin { left_keys, right_keys, .. } = *input else { panic!() };
        assert_eq!((left_keys, right_keys), (vec![col(0)], vec![col(0)]));
    }
}
