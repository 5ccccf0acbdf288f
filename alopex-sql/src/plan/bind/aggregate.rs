//! Grouping: GROUP BY, aggregates, and rewriting expressions over the
//! aggregate's output.
//!
//! OWNER: query-binder helper.
//!
//! A grouped query's SELECT list, HAVING and ORDER BY are bound in two
//! steps. First they are bound over the FROM row like any expression, with
//! each aggregate call collected into [`AggState::calls`] and replaced by a
//! placeholder `Column(AGG_BASE + k)`. Then [`rewrite_grouped`] turns the
//! expression into one over the `Node::Aggregate` output (group values,
//! then aggregate values): a subexpression equal to a GROUP BY expression
//! becomes a reference to that group value, placeholders stay, and any other
//! column of the FROM row is 42803 `column "t.x" must appear in the GROUP BY
//! clause or be used in an aggregate function` — unless it belongs to a
//! table whose whole primary key is grouped (PostgreSQL's functional
//! dependency), in which case it is appended to the group keys. Because keys
//! can be appended until the last expression is bound, placeholders are
//! only turned into real positions (`ngroups + k`) by [`finalize`], once.
//!
//! Whether a query is grouped at all must be known before its SELECT list
//! is bound (it decides what row a subquery there sees), so
//! [`contains_aggregate`] scans the AST first, with the same aggregate test
//! the binder uses.

use sqlparser::ast;

use super::call::{call_args, function_name, is_aggregate};
use super::scope::RelScope;
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::AggCall;
use crate::sql_err;

/// Placeholder columns at or past this position stand for aggregate
/// results while a grouped query is bound.
pub(crate) const AGG_BASE: usize = usize::MAX / 2;

/// The aggregates and group keys of a grouped query being bound.
#[derive(Debug, Default)]
pub(crate) struct AggState {
    /// Aggregate calls over the FROM row, deduplicated.
    pub calls: Vec<AggCall>,
    /// Group keys over the FROM row.
    pub groups: Vec<Expr>,
}

/// True when FROM-row position `index` belongs to a base table whose every
/// primary-key column is a plain group key.
pub(crate) fn dependent_key_column(index: usize, groups: &[Expr], scope: &RelScope) -> bool {
    scope.tables.iter().any(|t| {
        t.columns.contains(&index)
            && t.key.iter().all(|k| groups.iter().any(|g| matches!(g, Expr::Column(j, _) if j == k)))
    })
}

/// Rewrites an expression bound over the FROM row (with aggregate
/// placeholders) to one over the aggregate output.
pub(crate) fn rewrite_grouped(expr: Expr, agg: &mut AggState, scope: &RelScope) -> Result<Expr> {
    if let Some(g) = agg.groups.iter().position(|g| *g == expr) {
        return Ok(Expr::Column(g, expr.ty()));
    }
    match expr {
        Expr::Column(i, ty) if i >= AGG_BASE => Ok(Expr::Column(i, ty)),
        Expr::Column(i, ty) => {
            if dependent_key_column(i, &agg.groups, scope) {
                agg.groups.push(Expr::Column(i, ty.clone()));
                return Ok(Expr::Column(agg.groups.len() - 1, ty));
            }
            Err(sql_err!(
                GROUPING_ERROR,
                "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                scope.describe(i)
            ))
        }
        e => {
            let mut err = None;
            let out = e.map_children(&mut |c| {
                if err.is_some() {
                    return c;
                }
                match rewrite_grouped(c, agg, scope) {
                    Ok(c) => c,
                    Err(e) => {
                        err = Some(e);
                        Expr::Literal(crate::types::Value::Null, crate::types::DataType::Unknown)
                    }
                }
            });
            match err {
                Some(e) => Err(e),
                None => Ok(out),
            }
        }
    }
}

/// Turns aggregate placeholders into positions after `ngroups` group keys.
pub(crate) fn finalize(expr: Expr, ngroups: usize) -> Expr {
    match expr {
        Expr::Column(i, ty) if i >= AGG_BASE => Expr::Column(ngroups + (i - AGG_BASE), ty),
        e => e.map_children(&mut |c| finalize(c, ngroups)),
    }
}

/// True when the expression calls an aggregate outside of any subquery.
pub(crate) fn contains_aggregate(expr: &ast::Expr) -> bool {
    use ast::Expr as A;
    fn any<'a>(mut es: impl Iterator<Item = &'a ast::Expr>) -> bool {
        es.any(contains_aggregate)
    }
    match expr {
        A::Function(f) => {
            let Ok(call) = call_args(f) else { return false };
            if call.filter.is_some() {
                return true;
            }
            if let Ok(name) = function_name(&f.name)
                && is_aggregate(&name, call.args.len(), call.star)
            {
                return true;
            }
            call.args.iter().any(|a| contains_aggregate(a))
        }
        A::Nested(e)
        | A::UnaryOp { expr: e, .. }
        | A::IsNull(e)
        | A::IsNotNull(e)
        | A::IsTrue(e)
        | A::IsNotTrue(e)
        | A::IsFalse(e)
        | A::IsNotFalse(e)
        | A::IsUnknown(e)
        | A::IsNotUnknown(e)
        | A::Cast { expr: e, .. }
        | A::Collate { expr: e, .. }
        | A::Extract { expr: e, .. }
        | A::Ceil { expr: e, .. }
        | A::Floor { expr: e, .. }
        | A::InSubquery { expr: e, .. }
        | A::AnyOp { left: e, .. }
        | A::AllOp { left: e, .. } => contains_aggregate(e),
        A::BinaryOp { left, right, .. }
        | A::IsDistinctFrom(left, right)
        | A::IsNotDistinctFrom(left, right)
        | A::Position { expr: left, r#in: right }
        | A::AtTimeZone { timestamp: left, time_zone: right }
        | A::Like { expr: left, pattern: right, .. }
        | A::ILike { expr: left, pattern: right, .. } => contains_aggregate(left) || contains_aggregate(right),
        A::InList { expr, list, .. } => contains_aggregate(expr) || any(list.iter()),
        A::Between { expr, low, high, .. } => any([&**expr, &**low, &**high].into_iter()),
        A::Case { operand, conditions, else_result, .. } => {
            operand.as_deref().is_some_and(contains_aggregate)
                || else_result.as_deref().is_some_and(contains_aggregate)
                || conditions.iter().any(|c| contains_aggregate(&c.condition) || contains_aggregate(&c.result))
        }
        A::Substring { expr, substring_from, substring_for, .. } => {
            contains_aggregate(expr)
                || substring_from.as_deref().is_some_and(contains_aggregate)
                || substring_for.as_deref().is_some_and(contains_aggregate)
        }
        A::Trim { expr, trim_what, trim_characters, .. } => {
            contains_aggregate(expr)
                || trim_what.as_deref().is_some_and(contains_aggregate)
                || trim_characters.as_ref().is_some_and(|cs| any(cs.iter()))
        }
        A::Tuple(es) => any(es.iter()),
        _ => false,
    }
}
