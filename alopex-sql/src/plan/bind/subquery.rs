//! Subqueries in expressions, and names that reach out of a query.
//!
//! OWNER: query-binder helper.
//!
//! While a subquery expression is bound, the row of the operator that will
//! evaluate it is pushed as a [`Frame`] on `QueryState::frames`. A name the
//! subquery's own FROM does not have is looked up in those frames, innermost
//! first, and becomes [`Expr::Outer`] with `depth` = how many frames were
//! skipped (0 = the nearest enclosing query). The executor mirrors this: it
//! pushes one row per subquery level.
//!
//! What "the row of the evaluating operator" is matters for grouped queries:
//! a subquery in the SELECT list, HAVING or ORDER BY of a grouped query is
//! evaluated over the aggregate's output, so its frame carries the group
//! expressions and an outer name must match one of them (or depend on a
//! grouped primary key), otherwise 42803 `subquery uses ungrouped column`.
//! Inside an aggregate's arguments the frame is the plain FROM row.
//!
//! A subquery is *correlated* when its plan reaches out of itself. Every
//! frame has a flag in `QueryState::correlated`; resolving a name `d`
//! levels out marks the `d + 1` innermost levels.

use std::sync::Arc;

use sqlparser::ast;

use super::Binder;
use super::aggregate::dependent_key_column;
use super::coerce::is_untyped;
use super::expr::{Cx, comparison_op};
use super::query::BoundQuery;
use super::scope::{Lookup, RelScope, outerize};
use crate::error::Result;
use crate::expr::ops::{self, BinaryOp};
use crate::expr::{Expr, Subquery, SubqueryKind};
use crate::plan::Node;
use crate::sql_err;
use crate::types::DataType;

/// The row of an enclosing query, as seen from a subquery.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// Names of the row (the FROM row of the enclosing query).
    pub scope: RelScope,
    /// When the enclosing operator sees the aggregate output instead: the
    /// group expressions over `scope`'s row, in output order.
    pub groups: Option<Vec<Expr>>,
}

impl Binder<'_> {
    /// Resolves a column name in `cx`, then in the enclosing queries.
    pub(crate) fn resolve_column(&mut self, cx: &Cx, table: Option<&str>, name: &str) -> Result<Expr> {
        let no_column = || match table {
            Some(t) => sql_err!(UNDEFINED_COLUMN, "column {t}.{name} does not exist"),
            None => sql_err!(UNDEFINED_COLUMN, "column \"{name}\" does not exist"),
        };
        match cx.scope.lookup(table, name)? {
            Lookup::Found(e) => return Ok(e),
            Lookup::NoColumn => return Err(no_column()),
            Lookup::Missing => {}
        }
        let n = self.state.frames.len();
        for f in (0..n).rev() {
            let depth = n - 1 - f;
            let frame = &mut self.state.frames[f];
            let e = match frame.scope.lookup(table, name)? {
                Lookup::Found(e) => e,
                Lookup::NoColumn => return Err(no_column()),
                Lookup::Missing => continue,
            };
            let e = match &mut frame.groups {
                None => outerize(e, depth),
                Some(groups) => grouped_outer(e, groups, &frame.scope, depth)?,
            };
            for c in &mut self.state.correlated[f..n] {
                *c = true;
            }
            return Ok(e);
        }
        Err(match table {
            Some(t) => sql_err!(UNDEFINED_TABLE, "missing FROM-clause entry for table \"{t}\""),
            None => no_column(),
        })
    }

    /// Binds `query` as a subquery of the row described by `cx`: returns
    /// the bound query and whether it is correlated.
    pub(crate) fn bind_nested_query(&mut self, cx: &mut Cx, query: &ast::Query) -> Result<(BoundQuery, bool)> {
        let groups = match (&mut cx.agg, cx.in_agg_arg) {
            (Some(a), false) => Some(std::mem::take(&mut a.groups)),
            _ => None,
        };
        self.state.frames.push(Frame { scope: cx.scope.clone(), groups });
        self.state.correlated.push(false);
        let bound = self.bind_query_inner(query);
        let correlated = self.state.correlated.pop().unwrap_or(true);
        let frame = self.state.frames.pop();
        if let (Some(a), Some(Frame { groups: Some(g), .. })) = (cx.agg.as_deref_mut(), frame) {
            a.groups = g;
        }
        Ok((bound?, correlated))
    }

    fn subquery_expr(&mut self, plan: Node, correlated: bool, kind: SubqueryKind, ty: DataType) -> Expr {
        self.state.next_subquery_id += 1;
        Expr::Subquery(Arc::new(Subquery { id: self.state.next_subquery_id, plan, correlated, kind, ty }))
    }

    /// `(SELECT x …)`.
    pub(crate) fn bind_scalar_subquery(&mut self, cx: &mut Cx, query: &ast::Query) -> Result<Expr> {
        let (bq, correlated) = self.bind_nested_query(cx, query)?;
        if bq.cols.len() != 1 {
            return Err(sql_err!(SYNTAX_ERROR, "subquery must return only one column"));
        }
        let ty = match &bq.cols[0].ty {
            DataType::Unknown => DataType::Text,
            t => t.clone(),
        };
        Ok(self.subquery_expr(bq.node, correlated, SubqueryKind::Scalar, ty))
    }

    /// `[NOT] EXISTS (SELECT …)`.
    pub(crate) fn bind_exists(&mut self, cx: &mut Cx, query: &ast::Query, negated: bool) -> Result<Expr> {
        let (bq, correlated) = self.bind_nested_query(cx, query)?;
        Ok(self.subquery_expr(bq.node, correlated, SubqueryKind::Exists { negated }, DataType::Bool))
    }

    /// `probe [NOT] IN (SELECT …)`.
    pub(crate) fn bind_in_subquery(
        &mut self,
        cx: &mut Cx,
        probe: &ast::Expr,
        query: &ast::Query,
        negated: bool,
    ) -> Result<Expr> {
        let probe = self.bind(cx, probe)?;
        let (bq, correlated) = self.bind_nested_query(cx, query)?;
        let (probe, plan, ty) = self.compare_with_column(BinaryOp::Eq, probe, bq)?;
        Ok(self.subquery_expr(plan, correlated, SubqueryKind::In { probe: Box::new(probe), negated }, ty))
    }

    /// `probe op ANY/ALL (SELECT …)`.
    pub(crate) fn bind_quantified(
        &mut self,
        cx: &mut Cx,
        probe: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> Result<Expr> {
        let op = comparison_op(op)?;
        let mut right = right;
        while let ast::Expr::Nested(inner) = right {
            right = inner;
        }
        // `x = ANY (ARRAY[a, b])` is `x IN (a, b)`, `x <> ALL (ARRAY[…])`
        // is `x NOT IN (…)` (how SQLAlchemy writes IN lists).
        if let ast::Expr::Array(array) = right
            && !array.elem.is_empty()
        {
            match (op, all) {
                (BinaryOp::Eq, false) => return self.bind_in_list(cx, probe, &array.elem, false),
                (BinaryOp::NotEq, true) => return self.bind_in_list(cx, probe, &array.elem, true),
                _ => {}
            }
        }
        let ast::Expr::Subquery(query) = right else {
            let probe = self.bind(cx, probe)?;
            let array = self.bind(cx, right)?;
            // A string-typed column holding an array's text form.
            if op == BinaryOp::Eq && !all && array.ty().is_string() && !is_untyped(&array) {
                return self.bind_any_text_array(probe, array);
            }
            return self.bind_any_array(probe, op, array, all);
        };
        let probe = self.bind(cx, probe)?;
        let (bq, correlated) = self.bind_nested_query(cx, query)?;
        let (probe, plan, ty) = self.compare_with_column(op, probe, bq)?;
        Ok(self.subquery_expr(plan, correlated, SubqueryKind::Quantified { probe: Box::new(probe), op, all }, ty))
    }

    /// Types `probe op column` for IN/ANY/ALL: casts the probe, or the
    /// subquery's single column (through a projection), as the operator
    /// needs.
    fn compare_with_column(&mut self, op: BinaryOp, probe: Expr, bq: BoundQuery) -> Result<(Expr, Node, DataType)> {
        if bq.cols.len() != 1 {
            return Err(sql_err!(SYNTAX_ERROR, "subquery has too many columns"));
        }
        let col = &bq.cols[0];
        let col_ty = col.ty.clone();
        let untyped_col = col.untyped || col_ty == DataType::Unknown;
        let (probe, target) = if untyped_col {
            let probe = if is_untyped(&probe) { self.coerce_implicit(probe, &DataType::Text) } else { probe };
            let t = probe.ty();
            (probe, Some(t))
        } else {
            let probe = if is_untyped(&probe) { self.coerce_implicit(probe, &col_ty) } else { probe };
            let sig = ops::resolve_binary(op, &probe.ty(), &col_ty)?;
            (self.apply_cast(probe, sig.left_cast), sig.right_cast)
        };
        let (plan, ty) = match target {
            Some(t) if t != col_ty => {
                let cast = Expr::Cast { expr: Box::new(Expr::Column(0, col_ty)), ty: t.clone() };
                (Node::Project { input: Box::new(bq.node), exprs: vec![cast] }, t)
            }
            _ => (bq.node, col_ty),
        };
        Ok((probe, plan, ty))
    }
}

/// An outer reference into a grouped query's aggregate output: the
/// position of the group expression `e` matches, adding `e` as a group key
/// when it depends on a grouped primary key; 42803 otherwise.
fn grouped_outer(e: Expr, groups: &mut Vec<Expr>, scope: &RelScope, depth: usize) -> Result<Expr> {
    let ty = e.ty();
    if let Some(index) = groups.iter().position(|g| *g == e) {
        return Ok(Expr::Outer { depth, index, ty });
    }
    if let Expr::Column(i, _) = e
        && dependent_key_column(i, groups, scope)
    {
        groups.push(e);
        return Ok(Expr::Outer { depth, index: groups.len() - 1, ty });
    }
    let shown = match &e {
        Expr::Column(i, _) => scope.describe(*i),
        other => format!("{other:?}"),
    };
    Err(sql_err!(GROUPING_ERROR, "subquery uses ungrouped column \"{shown}\" from outer query"))
}
