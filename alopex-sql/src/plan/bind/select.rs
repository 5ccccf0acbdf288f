//! Binding one SELECT: FROM, WHERE, GROUP BY, HAVING, the SELECT list,
//! DISTINCT and ORDER BY.
//!
//! OWNER: query-binder helper.
//!
//! The clauses are bound in PostgreSQL's evaluation order, each over the
//! row it sees: WHERE over the FROM row; GROUP BY over the FROM row (a bare
//! name is an input column first, then an output alias; an integer is a
//! SELECT-list position); the SELECT list, HAVING and ORDER BY over the FROM
//! row and then, for a grouped query, rewritten over the aggregate output
//! (`aggregate.rs`).
//!
//! ORDER BY follows PostgreSQL's mixed rules: an integer is an output
//! position, a bare name that matches an output column name is that column
//! (SQL-92), and anything else is an expression over the input row. Such an
//! expression, unless it equals a SELECT-list item, is computed as a hidden
//! column by the SELECT list's projection and dropped after the sort and
//! limit (`query.rs` adds that last projection). With DISTINCT, hidden
//! columns would change which rows are duplicates, so they are 42P10.

use sqlparser::ast;

use super::aggregate::{AggState, contains_aggregate, finalize, rewrite_grouped};
use super::coerce::is_untyped;
use super::expr::Cx;
use super::naming::{column_name, ident_name, object_name};
use super::query::{OutCol, position_ref, sort_options};
use super::scope::{Lookup, RelScope};
use super::srf::SrfCollector;
use super::{Binder, Scope};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Node, OutputColumn, SortKey};
use crate::sql_err;

/// A bound SELECT before LIMIT.
pub(crate) struct SelectOut {
    /// The plan; its rows have the visible columns then `hidden` more.
    pub node: Node,
    /// The visible output columns.
    pub cols: Vec<OutCol>,
    /// How many hidden sort columns follow the visible ones.
    pub hidden: usize,
}

fn reject_unsupported(s: &ast::Select) -> Result<()> {
    let clause = if s.top.is_some() {
        "TOP"
    } else if s.into.is_some() {
        "SELECT INTO"
    } else if !s.lateral_views.is_empty() {
        "LATERAL VIEW"
    } else if s.prewhere.is_some() {
        "PREWHERE"
    } else if !s.connect_by.is_empty() {
        "CONNECT BY"
    } else if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
        "CLUSTER/DISTRIBUTE/SORT BY"
    } else if !s.named_window.is_empty() {
        "WINDOW"
    } else if s.qualify.is_some() {
        "QUALIFY"
    } else if s.value_table_mode.is_some() {
        "SELECT AS VALUE"
    } else if s.exclude.is_some() {
        "EXCLUDE"
    } else if s.select_modifiers.is_some() {
        "SELECT modifiers"
    } else {
        return Ok(());
    };
    Err(Error::unsupported(clause))
}

fn check_wildcard(opts: &ast::WildcardAdditionalOptions) -> Result<()> {
    if opts.opt_ilike.is_some()
        || opts.opt_exclude.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
        || opts.opt_alias.is_some()
    {
        return Err(Error::unsupported(format!("wildcard options{opts}")));
    }
    Ok(())
}

impl Binder<'_> {
    /// Binds a SELECT with the ORDER BY of its query.
    pub(crate) fn bind_select(&mut self, s: &ast::Select, order: &[ast::OrderByExpr]) -> Result<SelectOut> {
        // An enclosing select list's set-returning calls are not this
        // query's.
        let saved = self.state.srf.take();
        let out = self.bind_select_clauses(s, order);
        self.state.srf = saved;
        out
    }

    fn bind_select_clauses(&mut self, s: &ast::Select, order: &[ast::OrderByExpr]) -> Result<SelectOut> {
        reject_unsupported(s)?;
        let (mut node, scope) = self.bind_from(&s.from)?;
        if let Some(w) = &s.selection {
            let predicate = self.bind_bool(&mut Cx::new(&scope, "WHERE"), w, "WHERE")?;
            node = Node::Filter { input: Box::new(node), predicate };
        }
        let group_asts: &[ast::Expr] = match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs,
            _ => return Err(Error::unsupported("GROUP BY ALL / ROLLUP / CUBE")),
        };
        let select_aggs = s.projection.iter().any(|item| match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => contains_aggregate(e),
            _ => false,
        });
        let grouped = !group_asts.is_empty()
            || s.having.is_some()
            || select_aggs
            || order.iter().any(|o| contains_aggregate(&o.expr));
        let mut agg = AggState::default();
        if grouped {
            for g in group_asts {
                let key = self.bind_group_key(&scope, s, g)?;
                agg.groups.push(key);
            }
        }

        // The SELECT list (set-returning calls allowed when not grouped).
        if !grouped {
            self.state.srf = Some(SrfCollector { base: scope.width, calls: vec![] });
        }
        let mut items: Vec<(Expr, String)> = Vec::with_capacity(s.projection.len());
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let x = self.bind_output(&scope, &mut agg, grouped, e, "SELECT")?;
                    items.push((x, column_name(e)));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let x = self.bind_output(&scope, &mut agg, grouped, expr, "SELECT")?;
                    items.push((x, ident_name(alias)));
                }
                ast::SelectItem::Wildcard(opts) => {
                    check_wildcard(opts)?;
                    if s.from.is_empty() {
                        return Err(sql_err!(SYNTAX_ERROR, "SELECT * with no tables specified is not valid"));
                    }
                    for (name, e) in scope.expand_star(None)? {
                        let e = if grouped { rewrite_grouped(e, &mut agg, &scope)? } else { e };
                        items.push((e, name));
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    check_wildcard(opts)?;
                    let ast::SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(Error::unsupported(format!("{kind}")));
                    };
                    let parts = object_name(name)?;
                    let Some(table) = parts.last() else {
                        return Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \"*\""));
                    };
                    for (name, e) in scope.expand_star(Some(table))? {
                        let e = if grouped { rewrite_grouped(e, &mut agg, &scope)? } else { e };
                        items.push((e, name));
                    }
                }
                ast::SelectItem::ExprWithAliases { .. } => return Err(Error::unsupported("multiple aliases")),
            }
        }

        let having = match &s.having {
            Some(h) => {
                let x = self.bind_output(&scope, &mut agg, grouped, h, "HAVING")?;
                Some(self.coerce_bool(x, "HAVING")?)
            }
            None => None,
        };

        // ORDER BY.
        let visible = items.len();
        let mut hidden: Vec<Expr> = Vec::new();
        let mut keys = Vec::with_capacity(order.len());
        for o in order {
            let (desc, nulls_first) = sort_options(o)?;
            let index = match position_ref(&o.expr, "ORDER BY")? {
                Some(k) if k >= 1 && k <= visible => k - 1,
                Some(k) => {
                    return Err(sql_err!(INVALID_COLUMN_REFERENCE, "ORDER BY position {k} is not in select list"));
                }
                None => match output_by_name(&o.expr, &items)? {
                    Some(i) => i,
                    None => {
                        let x = self.bind_output(&scope, &mut agg, grouped, &o.expr, "ORDER BY")?;
                        if let Some(i) = items.iter().position(|(e, _)| *e == x) {
                            i
                        } else if let Some(j) = hidden.iter().position(|e| *e == x) {
                            visible + j
                        } else {
                            hidden.push(x);
                            visible + hidden.len() - 1
                        }
                    }
                },
            };
            keys.push((index, desc, nulls_first));
        }
        let distinct = match &s.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => return Err(Error::unsupported("DISTINCT ON")),
        };
        if distinct && !hidden.is_empty() {
            return Err(sql_err!(
                INVALID_COLUMN_REFERENCE,
                "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
            ));
        }

        // Assemble the plan.
        if let Some(srf) = self.state.srf.take()
            && !srf.calls.is_empty()
        {
            node = Node::ProjectSet { input: Box::new(node), calls: srf.calls };
        }
        let cols: Vec<OutCol> =
            items.iter().map(|(e, name)| OutCol { name: name.clone(), ty: e.ty(), untyped: is_untyped(e) }).collect();
        let hidden_count = hidden.len();
        let mut exprs: Vec<Expr> = items.into_iter().map(|(e, _)| e).chain(hidden).collect();
        if grouped {
            let ngroups = agg.groups.len();
            exprs = exprs.into_iter().map(|e| finalize(e, ngroups)).collect();
            node = Node::Aggregate { input: Box::new(node), group_by: agg.groups, aggregates: agg.calls };
            if let Some(h) = having {
                node = Node::Filter { input: Box::new(node), predicate: finalize(h, ngroups) };
            }
        }
        let types: Vec<_> = exprs.iter().map(Expr::ty).collect();
        node = Node::Project { input: Box::new(node), exprs };
        if distinct {
            node = Node::Distinct { input: Box::new(node) };
        }
        if !keys.is_empty() {
            let keys = keys
                .into_iter()
                .map(|(i, desc, nulls_first)| SortKey { expr: Expr::Column(i, types[i].clone()), desc, nulls_first })
                .collect();
            node = Node::Sort { input: Box::new(node), keys };
        }
        Ok(SelectOut { node, cols, hidden: hidden_count })
    }

    /// Binds a list of SELECT items over `scope` (RETURNING): `*` and
    /// `t.*` expand, aggregates are 42803. Returns the expressions and the
    /// result columns.
    pub fn bind_returning(
        &mut self,
        items: &[ast::SelectItem],
        scope: &Scope,
    ) -> Result<(Vec<Expr>, Vec<OutputColumn>)> {
        let rel = RelScope::from_scope(scope);
        let mut exprs = Vec::with_capacity(items.len());
        let mut cols = Vec::with_capacity(items.len());
        let mut push = |e: Expr, name: String| {
            cols.push(OutputColumn {
                name,
                ty: if e.ty() == crate::types::DataType::Unknown { crate::types::DataType::Text } else { e.ty() },
            });
            exprs.push(e);
        };
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => push(self.bind(&mut Cx::new(&rel, "RETURNING"), e)?, column_name(e)),
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    push(self.bind(&mut Cx::new(&rel, "RETURNING"), expr)?, ident_name(alias))
                }
                ast::SelectItem::Wildcard(opts) => {
                    check_wildcard(opts)?;
                    rel.expand_star(None)?.into_iter().for_each(|(n, e)| push(e, n));
                }
                ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), opts) => {
                    check_wildcard(opts)?;
                    let parts = object_name(name)?;
                    let table = parts.last().map(String::as_str).unwrap_or_default();
                    rel.expand_star(Some(table))?.into_iter().for_each(|(n, e)| push(e, n));
                }
                other => return Err(Error::unsupported(format!("RETURNING item {other}"))),
            }
        }
        Ok((exprs, cols))
    }

    /// Binds a SELECT-list, HAVING or ORDER BY expression: over the FROM row,
    /// then (grouped) over the aggregate output.
    fn bind_output(
        &mut self,
        scope: &RelScope,
        agg: &mut AggState,
        grouped: bool,
        e: &ast::Expr,
        clause: &'static str,
    ) -> Result<Expr> {
        if !grouped {
            return self.bind(&mut Cx::new(scope, clause), e);
        }
        let x = {
            let mut cx = Cx { scope, clause, agg: Some(&mut *agg), in_agg_arg: false };
            self.bind(&mut cx, e)?
        };
        rewrite_grouped(x, agg, scope)
    }

    /// One GROUP BY key over the FROM row.
    fn bind_group_key(&mut self, scope: &RelScope, s: &ast::Select, g: &ast::Expr) -> Result<Expr> {
        let item = |k: usize| -> Result<&ast::Expr> {
            match s.projection.get(k - 1) {
                Some(ast::SelectItem::UnnamedExpr(e)) | Some(ast::SelectItem::ExprWithAlias { expr: e, .. }) => Ok(e),
                _ => Err(Error::unsupported("GROUP BY position of a wildcard")),
            }
        };
        let target = match position_ref(g, "GROUP BY")? {
            Some(k) if k >= 1 && k <= s.projection.len() => item(k)?,
            Some(k) => return Err(sql_err!(INVALID_COLUMN_REFERENCE, "GROUP BY position {k} is not in select list")),
            None => match g {
                ast::Expr::Identifier(id) if matches!(scope.lookup(None, &ident_name(id))?, Lookup::Missing) => {
                    let name = ident_name(id);
                    s.projection
                        .iter()
                        .find_map(|it| match it {
                            ast::SelectItem::ExprWithAlias { expr, alias } if ident_name(alias) == name => Some(expr),
                            _ => None,
                        })
                        .unwrap_or(g)
                }
                _ => g,
            },
        };
        self.bind(&mut Cx::new(scope, "GROUP BY"), target)
    }
}

/// ORDER BY `name` naming an output column: its position; 42702 when two
/// different output columns have that name.
fn output_by_name(e: &ast::Expr, items: &[(Expr, String)]) -> Result<Option<usize>> {
    let ast::Expr::Identifier(id) = e else { return Ok(None) };
    let name = ident_name(id);
    let mut found: Option<usize> = None;
    for (i, (x, n)) in items.iter().enumerate() {
        if *n != name {
            continue;
        }
        match found {
            Some(j) if items[j].0 != *x => {
                return Err(sql_err!(AMBIGUOUS_COLUMN, "ORDER BY \"{name}\" is ambiguous"));
            }
            Some(_) => {}
            None => found = Some(i),
        }
    }
    Ok(found)
}
