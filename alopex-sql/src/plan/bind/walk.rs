//! Walking every expression of a bound plan, subquery plans included.
//!
//! OWNER: query-binder helper.
//!
//! The binder needs three whole-plan passes, all built on
//! [`walk_plan`], which visits every expression of every node, descending
//! into subquery plans with the subquery nesting `level` (0 at the root):
//!
//! * [`fix_params`]: parameters typed by a later context get that type
//!   everywhere, and the ones nothing constrained default to TEXT;
//! * [`escapes`] and [`shift_outer`]: a CTE bound at one query level and
//!   inlined at a deeper one must have its outer references (the ones that
//!   reach beyond the CTE, `depth >= level`) pushed out by the difference.

use std::sync::Arc;

use crate::expr::Expr;
use crate::plan::{Node, OnConflictAction, ScanRange};
use crate::types::{DataType, Value};

/// Calls `f(expr, level)` on every expression in the plan (pre-order).
pub(crate) fn walk_plan(node: &mut Node, level: usize, f: &mut dyn FnMut(&mut Expr, usize)) {
    let mut visit = |e: &mut Expr| walk_expr(e, level, f);
    match node {
        Node::Values { rows, .. } => rows.iter_mut().flatten().for_each(&mut visit),
        Node::Empty { .. } => {}
        Node::Scan { range, filter, .. } | Node::IndexScan { range, filter, .. } => {
            walk_range(range, &mut visit);
            filter.iter_mut().for_each(&mut visit);
        }
        Node::VectorSearch { query, limit, offset, filter, .. } => {
            visit(query);
            visit(limit);
            offset.iter_mut().chain(filter.iter_mut()).for_each(&mut visit);
        }
        Node::TableFunction { args, .. } => args.iter_mut().for_each(&mut visit),
        Node::ProjectSet { calls, .. } => calls.iter_mut().flat_map(|c| c.args.iter_mut()).for_each(&mut visit),
        Node::Filter { predicate, .. } => visit(predicate),
        Node::Project { exprs, .. } => exprs.iter_mut().for_each(&mut visit),
        Node::NestedLoopJoin { predicate, .. } => predicate.iter_mut().for_each(&mut visit),
        Node::HashJoin { left_keys, right_keys, residual, .. } => {
            left_keys.iter_mut().chain(right_keys.iter_mut()).for_each(&mut visit);
            residual.iter_mut().for_each(&mut visit);
        }
        Node::LookupJoin { keys, filter, residual, .. } => {
            keys.iter_mut().chain(filter.iter_mut()).chain(residual.iter_mut()).for_each(&mut visit);
        }
        Node::Aggregate { group_by, aggregates, .. } => {
            group_by.iter_mut().for_each(&mut visit);
            for a in aggregates {
                a.args.iter_mut().for_each(&mut visit);
                a.filter.iter_mut().for_each(&mut visit);
            }
        }
        Node::Sort { keys, .. } => keys.iter_mut().for_each(|k| visit(&mut k.expr)),
        Node::TopN { keys, limit, offset, .. } => {
            keys.iter_mut().for_each(|k| visit(&mut k.expr));
            visit(limit);
            offset.iter_mut().for_each(&mut visit);
        }
        Node::Limit { limit, offset, .. } => {
            limit.iter_mut().for_each(&mut visit);
            offset.iter_mut().for_each(&mut visit);
        }
        Node::Distinct { .. } | Node::SetOp { .. } => {}
        Node::Insert { on_conflict, checks, returning, .. } => {
            if let Some(oc) = on_conflict
                && let OnConflictAction::Update { assignments, predicate } = &mut oc.action
            {
                assignments.iter_mut().for_each(|(_, e)| visit(e));
                predicate.iter_mut().for_each(&mut visit);
            }
            checks.iter_mut().for_each(|(_, e)| visit(e));
            returning.iter_mut().flatten().for_each(&mut visit);
        }
        Node::Update { assignments, checks, returning, .. } => {
            assignments.iter_mut().for_each(|(_, e)| visit(e));
            checks.iter_mut().for_each(|(_, e)| visit(e));
            returning.iter_mut().flatten().for_each(&mut visit);
        }
        Node::Delete { returning, .. } => returning.iter_mut().flatten().for_each(&mut visit),
    }
    for child in node.children_mut() {
        walk_plan(child, level, f);
    }
}

fn walk_range(range: &mut ScanRange, visit: &mut dyn FnMut(&mut Expr)) {
    match range {
        ScanRange::Full => {}
        ScanRange::Points(points) => points.iter_mut().flatten().for_each(visit),
        ScanRange::Range { lower, upper } => {
            for b in [lower, upper] {
                if let std::ops::Bound::Included(v) | std::ops::Bound::Excluded(v) = b {
                    v.iter_mut().for_each(&mut *visit);
                }
            }
        }
    }
}

/// Calls `f(expr, level)` on `expr` and everything below it, subquery plans
/// included (at `level + 1`).
pub(crate) fn walk_expr(expr: &mut Expr, level: usize, f: &mut dyn FnMut(&mut Expr, usize)) {
    f(expr, level);
    let taken = std::mem::replace(expr, Expr::Literal(Value::Null, DataType::Unknown));
    *expr = taken.map_children(&mut |mut c| {
        walk_expr(&mut c, level, &mut *f);
        c
    });
    if let Expr::Subquery(s) = expr {
        walk_plan(&mut Arc::make_mut(s).plan, level + 1, f);
    }
}

/// Gives every parameter its final type: the inferred one, or TEXT when
/// nothing constrained it (recorded in `params` too).
pub(crate) fn fix_params(node: &mut Node, params: &mut [DataType]) {
    for p in params.iter_mut() {
        if *p == DataType::Unknown {
            *p = DataType::Text;
        }
    }
    walk_plan(node, 0, &mut |e, _| {
        if let Expr::Param(i, ty @ DataType::Unknown) = e
            && let Some(t) = params.get(*i)
        {
            *ty = t.clone();
        }
    });
}

/// True when the plan has outer references reaching beyond it.
pub(crate) fn escapes(node: &Node) -> bool {
    let mut node = node.clone();
    let mut found = false;
    walk_plan(&mut node, 0, &mut |e, level| {
        if let Expr::Outer { depth, .. } = e
            && *depth >= level
        {
            found = true;
        }
    });
    found
}

/// Moves the outer references that reach beyond the plan `by` levels out.
pub(crate) fn shift_outer(node: &mut Node, by: usize) {
    if by == 0 {
        return;
    }
    walk_plan(node, 0, &mut |e, level| {
        if let Expr::Outer { depth, .. } = e
            && *depth >= level
        {
            *depth += by;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Subquery, SubqueryKind};

    fn outer(depth: usize) -> Expr {
        Expr::Outer { depth, index: 0, ty: DataType::Int4 }
    }

    #[test]
    fn shifting_reaches_only_escaping_references() {
        let inner = Node::Filter {
            input: Box::new(Node::Values { rows: vec![vec![]], width: 0 }),
            // depth 0 inside the subquery: refers to the CTE's own row.
            predicate: Expr::Binary {
                op: crate::expr::BinaryOp::Eq,
                left: Box::new(outer(0)),
                right: Box::new(outer(1)),
                ty: DataType::Bool,
            },
        };
        let sub = Expr::Subquery(Arc::new(Subquery {
            id: 1,
            plan: inner,
            correlated: true,
            kind: SubqueryKind::Exists { negated: false },
            ty: DataType::Bool,
        }));
        let mut plan = Node::Project {
            input: Box::new(Node::Values { rows: vec![vec![]], width: 0 }),
            exprs: vec![sub, outer(0)],
        };
        assert!(escapes(&plan));
        shift_outer(&mut plan, 2);
        let Node::Project { exprs, .. } = &plan else { panic!() };
        assert_eq!(exprs[1], outer(2));
        let Expr::Subquery(s) = &exprs[0] else { panic!() };
        let Node::Filter { predicate: Expr::Binary { left, right, .. }, .. } = &s.plan else { panic!() };
        assert_eq!(**left, outer(0));
        assert_eq!(**right, outer(3));
    }

    #[test]
    fn parameters_get_final_types() {
        let mut plan = Node::Project {
            input: Box::new(Node::Values { rows: vec![vec![]], width: 0 }),
            exprs: vec![Expr::Param(0, DataType::Unknown), Expr::Param(1, DataType::Unknown)],
        };
        let mut params = vec![DataType::Int8, DataType::Unknown];
        fix_params(&mut plan, &mut params);
        assert_eq!(params, vec![DataType::Int8, DataType::Text]);
        let Node::Project { exprs, .. } = &plan else { panic!() };
        assert_eq!(exprs, &vec![Expr::Param(0, DataType::Int8), Expr::Param(1, DataType::Text)]);
    }
}
