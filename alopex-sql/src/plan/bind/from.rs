//! Binding the FROM clause: tables, CTE references, derived tables and
//! joins.
//!
//! OWNER: query-binder helper.
//!
//! Every FROM item becomes a node and a [`RelScope`]. Comma-separated items
//! and every JOIN become `Node::NestedLoopJoin` (INNER with no predicate for
//! a cross product); choosing hash joins and a join order is the
//! optimizer's business, so the binder keeps the tree in written order.
//!
//! `USING (c)` and `NATURAL` joins get their equality predicate, and the
//! scope gets PostgreSQL's merged column: one unqualified `c` (the left
//! value, the right value for RIGHT JOIN, `COALESCE(l.c, r.c)` for FULL),
//! listed first by `*`, while `l.c` and `r.c` stay reachable qualified.
//!
//! A CTE is bound once, where its WITH clause is, and inlined (cloned) at
//! each reference; when the reference sits in a deeper subquery than the
//! WITH, the CTE's own outer references are shifted outward to match
//! (`walk::shift_outer`). Tables in `information_schema` and `pg_catalog`
//! are virtual and belong to the statement binder (see
//! [`Binder::virtual_table`]); `public.` is accepted and ignored.

use sqlparser::ast;

use super::expr::Cx;
use super::naming::{ident_name, object_name};
use super::query::OutCol;
use super::scope::{RelCol, RelScope};
use super::types::common_type;
use super::walk::shift_outer;
use super::{Binder, Scope};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::expr::ops::BinaryOp;
use crate::plan::{JoinKind, Node, ScanRange};
use crate::sql_err;
use crate::types::DataType;

/// A bound CTE, visible to the rest of its query.
#[derive(Debug, Clone)]
pub(crate) struct CteDef {
    /// Its name.
    pub name: String,
    /// The plan.
    pub node: Node,
    /// Output columns.
    pub cols: Vec<(String, DataType)>,
    /// The subquery level of its WITH clause.
    pub level: usize,
    /// Whether the plan has outer references reaching out of it.
    pub escapes: bool,
}

/// The names and types of a bound query's columns, with untyped columns
/// resolved to TEXT (PostgreSQL does this for subqueries in FROM).
pub(crate) fn scope_columns(cols: &[OutCol]) -> Vec<(String, DataType)> {
    cols.iter()
        .map(|c| (c.name.clone(), if c.ty == DataType::Unknown { DataType::Text } else { c.ty.clone() }))
        .collect()
}

fn alias_columns(alias: &ast::TableAlias) -> Result<Vec<String>> {
    alias
        .columns
        .iter()
        .map(|c| match c.data_type {
            None => Ok(ident_name(&c.name)),
            Some(_) => Err(Error::unsupported("column types in a table alias")),
        })
        .collect()
}

/// The plain positional arguments of a function in FROM.
fn function_args(args: &[ast::FunctionArg]) -> Result<Vec<&ast::Expr>> {
    args.iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
            other => Err(Error::unsupported(format!("argument {other}"))),
        })
        .collect()
}

fn and(a: Option<Expr>, b: Expr) -> Expr {
    match a {
        None => b,
        Some(a) => Expr::Binary { op: BinaryOp::And, left: Box::new(a), right: Box::new(b), ty: DataType::Bool },
    }
}

impl Binder<'_> {
    /// The virtual tables of `information_schema` and `pg_catalog`, which
    /// the statement binder implements. Until it is wired in here, they do
    /// not exist.
    fn virtual_table(&mut self, schema: &str, name: &str) -> Result<Option<(Node, Scope)>> {
        super::misc::virtual_table(self, schema, name)
    }

    /// The FROM clause: the cross product of its items (one empty row when
    /// there are none).
    pub(crate) fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> Result<(Node, RelScope)> {
        let mut acc: Option<(Node, RelScope)> = None;
        for item in from {
            let right = self.bind_table_with_joins(item)?;
            acc = Some(match acc {
                None => right,
                Some(left) => cross_join(left, right)?,
            });
        }
        Ok(acc.unwrap_or((Node::Values { rows: vec![vec![]], width: 0 }, RelScope::default())))
    }

    fn bind_table_with_joins(&mut self, twj: &ast::TableWithJoins) -> Result<(Node, RelScope)> {
        let mut acc = self.bind_table_factor(&twj.relation)?;
        for join in &twj.joins {
            acc = self.bind_join(acc, join)?;
        }
        Ok(acc)
    }

    /// One FROM item. An error is pointed at the item.
    pub(crate) fn bind_table_factor(&mut self, tf: &ast::TableFactor) -> Result<(Node, RelScope)> {
        use sqlparser::ast::Spanned;
        self.bind_factor(tf).map_err(|e| e.locate(tf.span().start))
    }

    fn bind_factor(&mut self, tf: &ast::TableFactor) -> Result<(Node, RelScope)> {
        match tf {
            ast::TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                sample,
                ..
            } => {
                if !with_hints.is_empty() || version.is_some() || !partitions.is_empty() || sample.is_some() {
                    return Err(Error::unsupported(format!("table options in {tf}")));
                }
                if let Some(args) = args {
                    let fname = super::call::function_name(name)?;
                    let exprs = function_args(&args.args)?;
                    return self.bind_table_function(&fname, &exprs, *with_ordinality, alias.as_ref());
                }
                if *with_ordinality {
                    return Err(Error::unsupported(format!("WITH ORDINALITY on table {name}")));
                }
                self.bind_named_table(name, alias.as_ref())
            }
            ast::TableFactor::Derived { lateral, subquery, alias, sample } => {
                if *lateral {
                    return Err(Error::unsupported("LATERAL"));
                }
                if sample.is_some() {
                    return Err(Error::unsupported("TABLESAMPLE"));
                }
                let bq = self.bind_query_inner(subquery)?;
                let cols = scope_columns(&bq.cols);
                let scope = match alias {
                    Some(a) => {
                        let name = ident_name(&a.name);
                        RelScope::for_columns(Some(&name), &cols).realias(&name, &alias_columns(a)?)?
                    }
                    None => RelScope::for_columns(None, &cols),
                };
                Ok((bq.node, scope))
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias } => {
                let (node, scope) = self.bind_table_with_joins(table_with_joins)?;
                match alias {
                    Some(a) => {
                        let scope = scope.realias(&ident_name(&a.name), &alias_columns(a)?)?;
                        Ok((node, scope))
                    }
                    None => Ok((node, scope)),
                }
            }
            ast::TableFactor::Function { lateral, name, args, with_ordinality, alias } => {
                if *lateral {
                    return Err(Error::unsupported("LATERAL"));
                }
                let fname = super::call::function_name(name)?;
                let exprs = function_args(args)?;
                self.bind_table_function(&fname, &exprs, *with_ordinality, alias.as_ref())
            }
            ast::TableFactor::UNNEST { alias, array_exprs, with_offset, with_ordinality, .. } => {
                if *with_offset {
                    return Err(Error::unsupported("UNNEST … WITH OFFSET"));
                }
                if array_exprs.len() != 1 {
                    return Err(Error::unsupported("unnest of several arrays"));
                }
                let exprs: Vec<&ast::Expr> = array_exprs.iter().collect();
                self.bind_table_function("unnest", &exprs, *with_ordinality, alias.as_ref())
            }
            other => Err(Error::unsupported(format!("FROM item {other}"))),
        }
    }

    fn bind_named_table(
        &mut self,
        name: &ast::ObjectName,
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Node, RelScope)> {
        let parts = object_name(name)?;
        let (schema, table) = match parts.as_slice() {
            [t] => (None, t.clone()),
            [s, t] => (Some(s.clone()), t.clone()),
            [_db, s, t] => (Some(s.clone()), t.clone()),
            _ => return Err(sql_err!(SYNTAX_ERROR, "improper qualified name (too many dotted names): {name}")),
        };
        let alias_name = alias.map(|a| ident_name(&a.name)).unwrap_or_else(|| table.clone());
        let renames = match alias {
            Some(a) => alias_columns(a)?,
            None => vec![],
        };
        if schema.is_none()
            && let Some(cte) = self.state.ctes.iter().rev().find(|c| c.name == table).cloned()
        {
            let mut node = cte.node;
            let level = self.state.frames.len();
            if cte.escapes && level > cte.level {
                shift_outer(&mut node, level - cte.level);
                for c in &mut self.state.correlated[cte.level..level] {
                    *c = true;
                }
            }
            let scope = RelScope::for_columns(Some(&alias_name), &cte.cols).realias(&alias_name, &renames)?;
            return Ok((node, scope));
        }
        if schema.as_deref() == Some("system") {
            // Live rows from the embedder (crate::system): never cached.
            let (node, scope) = crate::system::bind(&table)
                .ok_or_else(|| sql_err!(UNDEFINED_TABLE, "relation \"system.{table}\" does not exist"))?;
            self.settings_use.used = true;
            return Ok((node, RelScope::from_scope(&scope).realias(&alias_name, &renames)?));
        }
        let virtual_schema = match schema.as_deref() {
            None | Some("public") => None,
            Some(s @ ("information_schema" | "pg_catalog")) => Some(s.to_string()),
            Some(s) => return Err(sql_err!(UNDEFINED_TABLE, "relation \"{s}.{table}\" does not exist")),
        };
        if virtual_schema.is_none()
            && let Some(t) = self.catalog.table(&table)
        {
            let t = t.clone();
            let scope = RelScope::for_table(&t, &alias_name).realias(&alias_name, &renames)?;
            let node = Node::Scan { table: t, alias: alias_name, range: ScanRange::Full, reverse: false, filter: None };
            return Ok((node, scope));
        }
        let schema_name = virtual_schema.unwrap_or_else(|| "pg_catalog".to_string());
        if let Some((node, scope)) = self.virtual_table(&schema_name, &table)? {
            let scope = RelScope::from_scope(&scope);
            let scope = if scope.aliases().is_empty() || alias.is_some() {
                scope.realias(&alias_name, &renames)?
            } else {
                scope
            };
            return Ok((node, scope));
        }
        let shown = match schema.as_deref() {
            Some(s) if s != "public" => format!("{s}.{table}"),
            _ => table,
        };
        Err(sql_err!(UNDEFINED_TABLE, "relation \"{shown}\" does not exist"))
    }

    fn bind_join(&mut self, left: (Node, RelScope), join: &ast::Join) -> Result<(Node, RelScope)> {
        use ast::JoinOperator as J;
        let (kind, constraint) = match &join.join_operator {
            J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
            J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
            J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
            J::FullOuter(c) => (JoinKind::Full, c),
            J::CrossJoin(c) => (JoinKind::Inner, c),
            other => return Err(Error::unsupported(format!("join {other:?}"))),
        };
        let right = self.bind_table_factor(&join.relation)?;
        let ((lnode, lscope), (rnode, rscope)) = (left, right);
        check_aliases(&lscope, &rscope)?;
        let node = |predicate| Node::NestedLoopJoin { left: Box::new(lnode), right: Box::new(rnode), kind, predicate };
        match constraint {
            ast::JoinConstraint::None => Ok((node(None), lscope.join(rscope))),
            ast::JoinConstraint::On(on) => {
                let scope = lscope.join(rscope);
                let predicate = self.bind_bool(&mut Cx::new(&scope, "JOIN conditions"), on, "JOIN/ON")?;
                Ok((node(Some(predicate)), scope))
            }
            ast::JoinConstraint::Using(names) => {
                let mut cols = Vec::with_capacity(names.len());
                for n in names {
                    match object_name(n)?.as_slice() {
                        [c] => {
                            if cols.contains(c) {
                                return Err(sql_err!(
                                    DUPLICATE_COLUMN,
                                    "column \"{c}\" appears more than once in USING clause"
                                ));
                            }
                            cols.push(c.clone());
                        }
                        _ => return Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \".\"")),
                    }
                }
                let (predicate, scope) = self.merge_using(kind, lscope, rscope, &cols)?;
                Ok((node(predicate), scope))
            }
            ast::JoinConstraint::Natural => {
                let visible = |s: &RelScope| -> Vec<String> {
                    s.cols.iter().filter(|c| !c.hidden && !c.qualified_only).map(|c| c.name.clone()).collect()
                };
                let right_names = visible(&rscope);
                let mut cols: Vec<String> = Vec::new();
                for n in visible(&lscope) {
                    if right_names.contains(&n) && !cols.contains(&n) {
                        cols.push(n);
                    }
                }
                let (predicate, scope) = self.merge_using(kind, lscope, rscope, &cols)?;
                Ok((node(predicate), scope))
            }
        }
    }

    /// The predicate and scope of a USING (or NATURAL) join on `names`.
    fn merge_using(
        &mut self,
        kind: JoinKind,
        left: RelScope,
        right: RelScope,
        names: &[String],
    ) -> Result<(Option<Expr>, RelScope)> {
        let shift = left.width;
        let mut predicate = None;
        let mut merged = Vec::with_capacity(names.len());
        for name in names {
            let side = |s: &RelScope, which: &str| -> Result<Expr> {
                match s.lookup(None, name)? {
                    super::scope::Lookup::Found(e) => Ok(e),
                    _ => Err(sql_err!(
                        UNDEFINED_COLUMN,
                        "column \"{name}\" specified in USING clause does not exist in {which} table"
                    )),
                }
            };
            let l = side(&left, "left")?;
            let r = super::scope::shift_columns(side(&right, "right")?, shift);
            let eq = self.binary(BinaryOp::Eq, l.clone(), r.clone())?;
            predicate = Some(and(predicate, eq));
            let ty = common_type(&[Some(l.ty()), Some(r.ty())], "JOIN/USING")?;
            let l = self.coerce_implicit(l, &ty);
            let r = self.coerce_implicit(r, &ty);
            let expr = match kind {
                JoinKind::Right => r,
                JoinKind::Full => self.call_scalar("coalesce", vec![l, r])?,
                _ => l,
            };
            merged.push(RelCol { table: None, name: name.clone(), expr, hidden: false, qualified_only: false });
        }
        let mut scope = left.join(right);
        for c in &mut scope.cols {
            if !c.hidden && names.contains(&c.name) {
                c.qualified_only = true;
            }
        }
        merged.append(&mut scope.cols);
        scope.cols = merged;
        Ok((predicate, scope))
    }
}

/// 42712 when the two sides of a join use the same table alias.
fn check_aliases(left: &RelScope, right: &RelScope) -> Result<()> {
    let l = left.aliases();
    match right.aliases().into_iter().find(|a| l.contains(a)) {
        Some(a) => Err(Error::new(SqlState("42712"), format!("table name \"{a}\" specified more than once"))),
        None => Ok(()),
    }
}

fn cross_join(left: (Node, RelScope), right: (Node, RelScope)) -> Result<(Node, RelScope)> {
    check_aliases(&left.1, &right.1)?;
    let node = Node::NestedLoopJoin {
        left: Box::new(left.0),
        right: Box::new(right.0),
        kind: JoinKind::Inner,
        predicate: None,
    };
    Ok((node, left.1.join(right.1)))
}
