//! Constant folding and boolean simplification.
//!
//! Folding runs first so every later rule sees literals: key ranges need
//! `a = 3` rather than `a = 1 + 2`, and a WHERE clause that folds to FALSE
//! turns a whole subtree into [`Node::Empty`] before anyone plans joins for
//! it.
//!
//! A subexpression is folded when all its children are literals and it
//! reads nothing from outside (no column, parameter, outer reference,
//! subquery or volatile function, as [`Expr::is_constant`] says). It is
//! evaluated with the ordinary evaluator and an environment that offers
//! nothing. If evaluation fails (`1/0`, an overflow, a bad cast) the
//! expression is left as it is: the error then surfaces only if some row
//! actually evaluates it, which is what PostgreSQL does for a WHERE clause
//! over an empty table, and planning never fails because of a value.
//!
//! Boolean simplification uses three-valued logic: `x AND FALSE` is FALSE
//! and `x OR TRUE` is TRUE whatever `x` is (NULL included), `x AND TRUE` and
//! `x OR FALSE` are `x`. A searched CASE drops branches whose condition is
//! a literal FALSE or NULL and resolves to the first branch whose condition
//! is a literal TRUE.
//!
//! Node level: a filter (or scan filter, or inner-join predicate) that is
//! TRUE disappears; one that is FALSE or NULL keeps no row, so the node
//! becomes `Empty`, and emptiness then propagates up through the operators
//! that return no rows for no input (not through an aggregate without
//! GROUP BY, which returns one row, nor through DML, which must still run
//! and report its count).

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::expr::{BinaryOp, EvalEnv, Expr, Subquery, eval};
use crate::plan::{JoinKind, Node};
use crate::sql_err;
use crate::types::Value;

use super::Ctx;
use super::layout::{is_false_or_null, is_true};
use super::walk::{map_exprs, transform_up};

/// The folding rule: folds every expression of the tree, then simplifies
/// nodes bottom-up.
pub(super) fn fold(node: Node, _cx: &Ctx<'_>) -> Result<Node> {
    transform_up(node, &mut |n| {
        let n = map_exprs(n, &mut |e| Ok(fold_expr(e)))?;
        Ok(simplify_node(n))
    })
}

/// The environment for plan-time evaluation: nothing is available (folded
/// expressions never ask, but a wrong answer here must be an error, not a
/// value).
struct PlanTimeEnv;

impl EvalEnv for PlanTimeEnv {
    fn param(&self, index: usize) -> Result<Value> {
        Err(sql_err!(UNDEFINED_PARAMETER, "there is no parameter ${}", index + 1))
    }

    fn outer(&self, _depth: usize, _index: usize) -> Result<Value> {
        Err(crate::error::Error::internal("outer reference evaluated at plan time"))
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    fn scalar_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Value> {
        Err(crate::error::Error::internal("subquery evaluated at plan time"))
    }

    fn exists_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<bool> {
        Err(crate::error::Error::internal("subquery evaluated at plan time"))
    }

    fn subquery_values(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<std::sync::Arc<Vec<Value>>> {
        Err(crate::error::Error::internal("subquery evaluated at plan time"))
    }
}

/// Folds an expression bottom-up.
pub(super) fn fold_expr(expr: Expr) -> Expr {
    let expr = expr.map_children(&mut fold_expr);
    let expr = match expr {
        Expr::Binary { op: BinaryOp::And, left, right, ty } => match (*left, *right) {
            (l, _) if is_false(&l) => l,
            (_, r) if is_false(&r) => r,
            (l, r) if is_true(&l) => r,
            (l, r) if is_true(&r) => l,
            (l, r) => Expr::Binary { op: BinaryOp::And, left: Box::new(l), right: Box::new(r), ty },
        },
        Expr::Binary { op: BinaryOp::Or, left, right, ty } => match (*left, *right) {
            (l, _) if is_true(&l) => l,
            (_, r) if is_true(&r) => r,
            (l, r) if is_false(&l) => r,
            (l, r) if is_false(&r) => l,
            (l, r) => Expr::Binary { op: BinaryOp::Or, left: Box::new(l), right: Box::new(r), ty },
        },
        Expr::Case { operand: None, branches, else_result, ty } => simplify_case(branches, else_result, ty),
        e => e,
    };
    if matches!(expr, Expr::Literal(..)) || !foldable(&expr) {
        return expr;
    }
    match eval(&expr, &[], &mut PlanTimeEnv) {
        Ok(v) => {
            let ty = expr.ty();
            Expr::Literal(v, ty)
        }
        Err(_) => expr,
    }
}

/// True when the node itself reads nothing from outside and all its
/// children are already literals.
fn foldable(expr: &Expr) -> bool {
    let mut all_literal = true;
    expr.for_each_child(&mut |c| all_literal &= matches!(c, Expr::Literal(..)));
    all_literal
        && match expr {
            Expr::Column(..) | Expr::Outer { .. } | Expr::Param(..) | Expr::Subquery(_) => false,
            Expr::Function { func, .. } => !func.is_volatile(),
            _ => true,
        }
}

fn is_false(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Bool(false), _))
}

/// Drops searched-CASE branches that can never be taken and resolves the
/// CASE when its first remaining condition is TRUE.
fn simplify_case(branches: Vec<(Expr, Expr)>, else_result: Option<Box<Expr>>, ty: crate::types::DataType) -> Expr {
    let original =
        Expr::Case { operand: None, branches: branches.clone(), else_result: else_result.clone(), ty: ty.clone() };
    let kept: Vec<(Expr, Expr)> = branches.into_iter().filter(|(w, _)| !is_false_or_null(w)).collect();
    let result = match kept.first() {
        Some((w, t)) if is_true(w) => Some(t.clone()),
        Some(_) => return Expr::Case { operand: None, branches: kept, else_result, ty },
        None => Some(else_result.map_or_else(|| Expr::Literal(Value::Null, ty.clone()), |e| *e)),
    };
    match result {
        Some(r) if r.ty() == ty => r,
        _ => original,
    }
}

/// Node-level simplification after the node's expressions were folded.
fn simplify_node(node: Node) -> Node {
    let empty = |n: &Node| matches!(n, Node::Empty { .. });
    match node {
        Node::Filter { input, predicate } => {
            if is_true(&predicate) {
                *input
            } else if is_false_or_null(&predicate) || empty(&input) {
                Node::Empty { width: input.width() }
            } else {
                Node::Filter { input, predicate }
            }
        }
        Node::Scan { ref filter, .. } | Node::IndexScan { ref filter, .. } => match filter {
            Some(f) if is_false_or_null(f) => Node::Empty { width: node.width() },
            Some(f) if is_true(f) => match node {
                Node::Scan { table, alias, range, reverse, .. } => {
                    Node::Scan { table, alias, range, reverse, filter: None }
                }
                Node::IndexScan { table, alias, index, range, reverse, .. } => {
                    Node::IndexScan { table, alias, index, range, reverse, filter: None }
                }
                n => n,
            },
            _ => node,
        },
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            let predicate = predicate.filter(|p| !is_true(p));
            let never = predicate.as_ref().is_some_and(is_false_or_null);
            let node = Node::NestedLoopJoin { left, right, kind, predicate };
            if join_is_empty(&node, kind, never) { Node::Empty { width: node.width() } } else { node }
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let residual = residual.filter(|p| !is_true(p));
            let never = residual.as_ref().is_some_and(is_false_or_null);
            let node = Node::HashJoin { left, right, kind, left_keys, right_keys, residual };
            if join_is_empty(&node, kind, never) { Node::Empty { width: node.width() } } else { node }
        }
        Node::Project { ref input, ref exprs } if empty(input) => Node::Empty { width: exprs.len() },
        Node::Sort { ref input, .. }
        | Node::TopN { ref input, .. }
        | Node::Limit { ref input, .. }
        | Node::Distinct { ref input }
            if empty(input) =>
        {
            Node::Empty { width: input.width() }
        }
        Node::Aggregate { ref input, ref group_by, .. } if empty(input) && !group_by.is_empty() => {
            Node::Empty { width: node.width() }
        }
        n => n,
    }
}

/// True when a join certainly returns no row: an empty input on a side
/// whose rows every output row needs, or (for inner and semi joins) a
/// predicate that never holds.
fn join_is_empty(node: &Node, kind: JoinKind, never_matches: bool) -> bool {
    let [left, right] = node.children()[..] else { return false };
    let (l, r) = (matches!(left, Node::Empty { .. }), matches!(right, Node::Empty { .. }));
    match kind {
        JoinKind::Inner | JoinKind::Semi => l || r || never_matches,
        JoinKind::Left | JoinKind::Anti => l,
        JoinKind::Right => r,
        JoinKind::Full => l && r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::optimizer::testutil::*;
    use crate::types::DataType;

    fn run(n: Node) -> Node {
        fold(n, &Ctx { stats: &MapStats::default() }).unwrap()
    }

    #[test]
    fn and_or_with_boolean_literals_simplify() {
        let x = eq(col(0), param(0));
        assert_eq!(fold_expr(and(x.clone(), boolean(true))), x);
        assert_eq!(fold_expr(and(boolean(true), x.clone())), x);
        assert_eq!(fold_expr(and(x.clone(), boolean(false))), boolean(false));
        assert_eq!(fold_expr(or(x.clone(), boolean(true))), boolean(true));
        assert_eq!(fold_expr(or(boolean(false), x.clone())), x);
        // NULL decides nothing: x AND NULL stays.
        assert_eq!(fold_expr(and(x.clone(), null_bool())), and(x.clone(), null_bool()));
        // Nested: (x OR TRUE) AND y → y.
        let y = gt(col(1), param(1));
        assert_eq!(fold_expr(and(or(x, boolean(true)), y.clone())), y);
    }

    #[test]
    fn searched_case_drops_dead_branches() {
        let case = |branches: Vec<(Expr, Expr)>, els: Option<Expr>| Expr::Case {
            operand: None,
            branches,
            else_result: els.map(Box::new),
            ty: DataType::Int4,
        };
        let e = case(vec![(boolean(false), col(0)), (boolean(true), col(1)), (eq(col(2), param(0)), col(2))], None);
        assert_eq!(fold_expr(e), col(1));
        let e = case(vec![(null_bool(), col(0)), (eq(col(2), param(0)), col(2))], Some(col(3)));
        assert_eq!(fold_expr(e), case(vec![(eq(col(2), param(0)), col(2))], Some(col(3))));
        let e = case(vec![(boolean(false), col(0))], Some(col(3)));
        assert_eq!(fold_expr(e), col(3));
    }

    #[test]
    fn true_filters_vanish_and_false_filters_empty_the_subtree() {
        let t = abc(1, "t");
        assert_eq!(run(filter(scan(&t), and(boolean(true), boolean(true)))), scan(&t));
        let plan = project(filter(scan(&t), and(eq(col(0), param(0)), boolean(false))), vec![col(1)]);
        assert_eq!(run(plan), Node::Empty { width: 1 });
        assert_eq!(run(scan_f(&t, null_bool())), Node::Empty { width: 3 });
        assert_eq!(run(scan_f(&t, boolean(true))), scan(&t));
    }

    #[test]
    fn emptiness_stops_at_aggregates_without_group_by_and_outer_joins() {
        let t = abc(1, "t");
        let agg = |group_by: Vec<Expr>| Node::Aggregate {
            input: Box::new(filter(scan(&t), boolean(false))),
            group_by,
            aggregates: vec![crate::plan::AggCall {
                func: crate::expr::AggFunc::CountStar,
                args: vec![],
                distinct: false,
                filter: None,
                order_by: vec![],
                ty: DataType::Int8,
            }],
        };
        assert!(matches!(run(agg(vec![])), Node::Aggregate { .. }));
        assert_eq!(run(agg(vec![col(0)])), Node::Empty { width: 2 });
        // LEFT JOIN with an empty right side keeps the left rows.
        let lj = join(scan(&t), filter(scan(&t), boolean(false)), JoinKind::Left, Some(eq(col(0), col(3))));
        assert!(matches!(run(lj), Node::NestedLoopJoin { .. }));
        let ij = join(scan(&t), scan(&t), JoinKind::Inner, Some(boolean(false)));
        assert_eq!(run(ij), Node::Empty { width: 6 });
        let ij = join(scan(&t), scan(&t), JoinKind::Inner, Some(boolean(true)));
        assert_eq!(run(ij), cross(scan(&t), scan(&t)));
    }

    #[test]
    fn constant_arithmetic_folds_and_errors_stay_for_run_time() {
        let e = add(int(1), int(2));
        assert_eq!(fold_expr(eq(col(0), e)), eq(col(0), int(3)));
        let div =
            Expr::Binary { op: BinaryOp::Div, left: Box::new(int(1)), right: Box::new(int(0)), ty: DataType::Int4 };
        let pred = eq(col(0), div.clone());
        assert_eq!(fold_expr(pred.clone()), pred);
        // ... and a filter over it is not turned into anything at plan time.
        let t = abc(1, "t");
        assert_eq!(run(filter(scan(&t), pred.clone())), filter(scan(&t), pred));
        // 1 = 2 folds to FALSE, emptying the filter.
        assert_eq!(run(filter(scan(&t), eq(int(1), int(2)))), Node::Empty { width: 3 });
    }
}
