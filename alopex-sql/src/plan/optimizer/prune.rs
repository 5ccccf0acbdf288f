//! Projection pruning: projections that do nothing, and projections of
//! projections.
//!
//! Join ordering leaves a projection that restores the original column
//! order, and the SELECT list is a projection over it: two projections in a
//! row, the lower one only moving columns. A projection whose expressions
//! are only column references and literals is folded into the projection
//! above it by substitution (nothing is computed twice, nothing is dropped
//! that could fail). A projection that returns its input unchanged
//! (`Column(0), Column(1), …` over an input of that width) is removed.
//!
//! The upper projection must not hold a correlated subquery: its outer
//! references point into the lower projection's output row, which merging
//! would take away.

use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;

use super::Ctx;
use super::layout::{has_correlated_subquery, substitute};
use super::walk::transform_up;

/// The pruning rule.
pub(super) fn prune(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::Project { input, exprs } => {
                let (input, exprs) = match *input {
                    Node::Project { input: inner_input, exprs: inner }
                        if inner.iter().all(|e| matches!(e, Expr::Column(..) | Expr::Literal(..)))
                            && !exprs.iter().any(has_correlated_subquery) =>
                    {
                        (inner_input, exprs.into_iter().map(|e| substitute(e, &inner)).collect())
                    }
                    other => (Box::new(other), exprs),
                };
                if is_identity(&exprs, input.width()) { *input } else { Node::Project { input, exprs } }
            }
            n => n,
        })
    })
}

/// True when `exprs` returns an input row of `width` values unchanged.
fn is_identity(exprs: &[Expr], width: usize) -> bool {
    exprs.len() == width && exprs.iter().enumerate().all(|(i, e)| matches!(e, Expr::Column(c, _) if *c == i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::optimizer::testutil::*;

    fn run(n: Node) -> Node {
        prune(n, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    #[test]
    fn identity_projections_vanish() {
        let t = abc(1, "t");
        assert_eq!(run(project(scan(&t), vec![col(0), col(1), col(2)])), scan(&t));
        let keep = project(scan(&t), vec![col(0), col(1)]);
        assert_eq!(run(keep.clone()), keep);
        let keep = project(scan(&t), vec![col(1), col(0), col(2)]);
        assert_eq!(run(keep.clone()), keep);
    }

    #[test]
    fn column_shuffles_merge_into_the_projection_above() {
        let t = abc(1, "t");
        let plan = project(project(scan(&t), vec![col(2), col(0), col(1)]), vec![add(col(1), col(0)), int(4)]);
        assert_eq!(run(plan), project(scan(&t), vec![add(col(0), col(2)), int(4)]));
        // Back to the identity: both go.
        let plan = project(project(scan(&t), vec![col(2), col(0), col(1)]), vec![col(1), col(2), col(0)]);
        assert_eq!(run(plan), scan(&t));
        // A computing projection below is not merged (it would be computed
        // once per use).
        let plan = project(project(scan(&t), vec![add(col(0), int(1))]), vec![add(col(0), col(0))]);
        assert_eq!(run(plan.clone()), plan);
        // Nor under a correlated subquery reading the lower projection's row.
        let corr = exists(filter(values_one(), eq(outer(0, 0), int(1))), true);
        let plan = project(project(scan(&t), vec![col(2)]), vec![corr]);
        assert_eq!(run(plan.clone()), plan);
    }
}
