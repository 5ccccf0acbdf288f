//! LIMIT pushdown: ORDER BY … LIMIT becomes a bounded top-N.
//!
//! `Limit` over `Sort` sorts every input row to return a few; a [`Node::TopN`]
//! keeps only the best `limit + offset` rows in a bounded heap. The binder
//! may put projections between the limit and the sort (the SELECT list, or
//! a projection that drops helper columns the ORDER BY needed), so a limit
//! first sinks below projections — a projection maps rows one to one, so
//! limiting before or after it returns the same rows — and a limit that
//! reaches a sort fuses with it. A limit that reaches anything else stays
//! there (below the projections, which then compute fewer rows). LIMIT
//! without a count (OFFSET only) is left alone: a top-N needs a bound.

use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;

use super::Ctx;
use super::walk::transform_up;

/// The limit rule.
pub(super) fn limit(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        Ok(match n {
            Node::Limit { input, limit: Some(limit), offset } => sink(*input, limit, offset),
            n => n,
        })
    })
}

/// `LIMIT limit OFFSET offset` applied to `input`, as deep as it goes.
fn sink(input: Node, limit: Expr, offset: Option<Expr>) -> Node {
    match input {
        Node::Sort { input, keys } => Node::TopN { input, keys, limit, offset },
        Node::Project { input, exprs } => Node::Project { input: Box::new(sink(*input, limit, offset)), exprs },
        other => Node::Limit { input: Box::new(other), limit: Some(limit), offset },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::SortKey;
    use crate::plan::optimizer::testutil::*;

    fn run(n: Node) -> Node {
        limit(n, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    fn lim(input: Node, l: Option<Expr>, offset: Option<Expr>) -> Node {
        Node::Limit { input: Box::new(input), limit: l, offset }
    }

    fn keys() -> Vec<SortKey> {
        vec![SortKey { expr: col(1), desc: false, nulls_first: false }]
    }

    #[test]
    fn limit_over_sort_becomes_top_n_through_projections() {
        let t = abc(1, "t");
        let sort = Node::Sort { input: Box::new(scan(&t)), keys: keys() };
        let top = Node::TopN { input: Box::new(scan(&t)), keys: keys(), limit: int(3), offset: Some(int(2)) };
        assert_eq!(run(lim(sort.clone(), Some(int(3)), Some(int(2)))), top.clone());
        let plan = lim(project(project(sort.clone(), vec![col(0), col(1)]), vec![col(1)]), Some(int(3)), Some(int(2)));
        assert_eq!(run(plan), project(project(top, vec![col(0), col(1)]), vec![col(1)]));
        // OFFSET alone stays a Limit.
        let plan = lim(sort, None, Some(int(2)));
        assert_eq!(run(plan.clone()), plan);
    }

    #[test]
    fn limit_without_sort_sinks_below_projections_only() {
        let t = abc(1, "t");
        let plan = lim(project(filter(scan(&t), gt(col(0), int(1))), vec![col(2)]), Some(int(1)), None);
        let expected = project(lim(filter(scan(&t), gt(col(0), int(1))), Some(int(1)), None), vec![col(2)]);
        assert_eq!(run(plan), expected);
    }
}
