//! Binding queries: WITH, set operations, VALUES, ORDER BY and LIMIT.
//!
//! OWNER: query-binder helper.
//!
//! A query binds to a [`BoundQuery`]: the plan and its output columns. The
//! columns remember whether they are *untyped* (a bare string literal or
//! NULL), because PostgreSQL resolves those by context across a UNION or
//! VALUES (`SELECT 1 UNION SELECT '2'` is an integer column).
//!
//! The plan shape is the straightforward one; the optimizer rewrites it:
//!
//! ```text
//! Project (drop hidden sort columns, only if any)
//!   Limit
//!     Sort
//!       Distinct
//!         Project (SELECT list ++ hidden sort columns)
//!           Filter (HAVING)
//!             Aggregate
//!               Filter (WHERE)
//!                 FROM: NestedLoopJoin / Scan / …
//! ```
//!
//! SELECT bodies are in `select.rs`, because their ORDER BY may use the
//! FROM row; for set operations and VALUES, ORDER BY names output columns
//! only (by name or position), as in PostgreSQL.

use sqlparser::ast;

use super::coerce::typed;
use super::expr::Cx;
use super::from::{CteDef, scope_columns};
use super::naming::ident_name;
use super::scope::RelScope;
use super::subquery::Frame;
use super::types::common_type;
use super::walk::{escapes, fix_params};
use super::{Binder, Scope};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Node, OutputColumn, ScanRange, SetOpKind, SortKey};
use crate::sql_err;
use crate::types::{DataType, Value};

/// Query-binder state for one statement.
#[derive(Debug, Default)]
pub(crate) struct QueryState {
    /// Rows of the enclosing queries of the subquery being bound,
    /// outermost first.
    pub frames: Vec<Frame>,
    /// Per frame: whether the subquery bound inside it is correlated.
    pub correlated: Vec<bool>,
    /// CTEs in scope, innermost last.
    pub ctes: Vec<CteDef>,
    /// The last subquery id handed out.
    pub next_subquery_id: usize,
    /// The set-returning calls of the select list being bound, if any.
    pub srf: Option<super::srf::SrfCollector>,
}

/// One output column of a bound query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutCol {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
    /// A bare string literal or NULL, typed by context in set operations.
    pub untyped: bool,
}

/// A bound query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundQuery {
    /// The plan.
    pub node: Node,
    /// Its columns.
    pub cols: Vec<OutCol>,
}

/// The output columns clients see: untyped columns report TEXT.
fn output_columns(cols: Vec<OutCol>) -> Vec<OutputColumn> {
    cols.into_iter()
        .map(|c| OutputColumn { name: c.name, ty: if c.ty == DataType::Unknown { DataType::Text } else { c.ty } })
        .collect()
}

/// The sort direction and NULLS placement of an ORDER BY item, with
/// PostgreSQL's defaults (NULLS LAST ascending, NULLS FIRST descending).
pub(crate) fn sort_options(o: &ast::OrderByExpr) -> Result<(bool, bool)> {
    if o.with_fill.is_some() {
        return Err(Error::unsupported("WITH FILL"));
    }
    let desc = match &o.options.sort {
        None | Some(ast::OrderBySort::Asc) => false,
        Some(ast::OrderBySort::Desc) => true,
        Some(ast::OrderBySort::Using(_)) => return Err(Error::unsupported("ORDER BY … USING")),
    };
    Ok((desc, o.options.nulls_first.unwrap_or(desc)))
}

/// The items of an ORDER BY clause.
pub(crate) fn order_items(order: Option<&ast::OrderBy>) -> Result<&[ast::OrderByExpr]> {
    match order {
        None => Ok(&[]),
        Some(o) if o.interpolate.is_some() => Err(Error::unsupported("INTERPOLATE")),
        Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(items), .. }) => Ok(items),
        Some(_) => Err(Error::unsupported("ORDER BY ALL")),
    }
}

/// An ORDER BY or GROUP BY position (`ORDER BY 2`): Some(1-based position)
/// for an integer literal, 42601 for other constants, None otherwise.
pub(crate) fn position_ref(e: &ast::Expr, clause: &str) -> Result<Option<usize>> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => match n.parse::<usize>() {
                Ok(k) => Ok(Some(k)),
                Err(_) => Err(sql_err!(SYNTAX_ERROR, "non-integer constant in {clause}")),
            },
            ast::Value::Placeholder(_) => Ok(None),
            _ => Err(sql_err!(SYNTAX_ERROR, "non-integer constant in {clause}")),
        },
        _ => Ok(None),
    }
}

impl Binder<'_> {
    /// Binds a full query (WITH, set operations, ORDER BY, LIMIT) into a
    /// node and its output columns. Inside a subquery, names not found in
    /// the query's own FROM resolve against the enclosing scopes as
    /// [`crate::expr::Expr::Outer`] references.
    pub fn bind_query(&mut self, query: &ast::Query) -> Result<(Node, Vec<OutputColumn>)> {
        let bq = self.bind_query_inner(query)?;
        let mut node = bq.node;
        fix_params(&mut node, &mut self.params);
        Ok((node, output_columns(bq.cols)))
    }

    /// Gives every parameter of a finished statement plan its final type:
    /// the inferred one, or TEXT where nothing constrained it (recorded in
    /// [`Binder::params`] too). [`Binder::bind_query`] and
    /// [`Binder::bind_insert_source`] do this themselves; DML plans built
    /// from [`Binder::bind_expr`] pieces should call it once at the end.
    pub fn finish_params(&mut self, node: &mut Node) {
        fix_params(node, &mut self.params);
    }

    /// Binds a FROM-less row source for INSERT … VALUES / SELECT: like
    /// [`Binder::bind_query`]; kept separate so INSERT can type VALUES rows
    /// against the target columns (`targets`).
    pub fn bind_insert_source(
        &mut self,
        query: &ast::Query,
        targets: &[crate::types::DataType],
    ) -> Result<(Node, Vec<OutputColumn>)> {
        let plain_values = query.with.is_none()
            && query.order_by.is_none()
            && query.limit_clause.is_none()
            && query.fetch.is_none()
            && matches!(query.body.as_ref(), ast::SetExpr::Values(_));
        let mut bq = match query.body.as_ref() {
            ast::SetExpr::Values(v) if plain_values => self.bind_values(v, Some(targets))?,
            _ => self.bind_query_inner(query)?,
        };
        check_insert_width(bq.cols.len(), targets.len())?;
        if !plain_values {
            let mut exprs = Vec::with_capacity(targets.len());
            for (i, (col, ty)) in bq.cols.iter().zip(targets).enumerate() {
                exprs.push(self.coerce_to(Expr::Column(i, col.ty.clone()), ty)?);
            }
            bq.node = Node::Project { input: Box::new(bq.node), exprs };
        }
        let mut node = bq.node;
        fix_params(&mut node, &mut self.params);
        let cols =
            bq.cols.into_iter().zip(targets).map(|(c, t)| OutputColumn { name: c.name, ty: t.clone() }).collect();
        Ok((node, cols))
    }

    /// Binds a table reference in FROM position for UPDATE/DELETE: a scan of
    /// the table with its scope.
    pub fn bind_table_scan(&mut self, table: &ast::TableFactor) -> Result<(Node, Scope)> {
        let ast::TableFactor::Table { name, alias, args: None, .. } = table else {
            return Err(Error::unsupported(format!("target {table}")));
        };
        let parts = super::naming::object_name(name)?;
        let table_name = match parts.as_slice() {
            [t] => t,
            [s, t] if s == "public" => t,
            _ => return Err(sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist")),
        };
        let Some(schema) = self.catalog.table(table_name) else {
            return Err(sql_err!(UNDEFINED_TABLE, "relation \"{table_name}\" does not exist"));
        };
        if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
            return Err(Error::unsupported("column aliases on a target table"));
        }
        let alias = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_else(|| table_name.clone());
        let scope = Scope::for_table(schema, &alias);
        let node = Node::Scan { table: schema.clone(), alias, range: ScanRange::Full, reverse: false, filter: None };
        Ok((node, scope))
    }

    /// Binds a query at the current subquery level.
    pub(crate) fn bind_query_inner(&mut self, query: &ast::Query) -> Result<BoundQuery> {
        if !query.locks.is_empty() && query.locks.iter().any(|l| l.of.is_some()) {
            return Err(Error::unsupported("FOR UPDATE OF"));
        }
        if query.for_clause.is_some() || query.settings.is_some() || query.format_clause.is_some() {
            return Err(Error::unsupported(format!("query clauses in {query}")));
        }
        if !query.pipe_operators.is_empty() {
            return Err(Error::unsupported("pipe operators"));
        }
        let ctes_before = self.state.ctes.len();
        let bound = self.bind_query_body(query);
        self.state.ctes.truncate(ctes_before);
        bound
    }

    fn bind_query_body(&mut self, query: &ast::Query) -> Result<BoundQuery> {
        if let Some(with) = &query.with {
            if with.recursive {
                return Err(Error::unsupported("WITH RECURSIVE"));
            }
            let first = self.state.ctes.len();
            for cte in &with.cte_tables {
                self.bind_cte(cte, first)?;
            }
        }
        let order = order_items(query.order_by.as_ref())?;
        let (limit, offset) = self.bind_limit(query)?;
        let (mut node, cols, hidden) = match query.body.as_ref() {
            ast::SetExpr::Select(s) => {
                let out = self.bind_select(s, order)?;
                (out.node, out.cols, out.hidden)
            }
            body => {
                let bq = self.bind_set_expr(body)?;
                let node = self.sort_by_output(bq.node, &bq.cols, order)?;
                (node, bq.cols, 0)
            }
        };
        if limit.is_some() || offset.is_some() {
            node = Node::Limit { input: Box::new(node), limit, offset };
        }
        if hidden > 0 {
            let exprs = cols.iter().enumerate().map(|(i, c)| Expr::Column(i, c.ty.clone())).collect();
            node = Node::Project { input: Box::new(node), exprs };
        }
        Ok(BoundQuery { node, cols })
    }

    /// Binds one CTE of a WITH clause whose CTEs start at `first` in
    /// `QueryState::ctes`.
    fn bind_cte(&mut self, cte: &ast::Cte, first: usize) -> Result<()> {
        let name = ident_name(&cte.alias.name);
        if cte.from.is_some() {
            return Err(Error::unsupported("CTE … FROM"));
        }
        if self.state.ctes[first..].iter().any(|c| c.name == name) {
            return Err(Error::new(
                crate::error::SqlState("42712"),
                format!("WITH query name \"{name}\" specified more than once"),
            ));
        }
        let bq = self.bind_query_inner(&cte.query)?;
        let mut cols = scope_columns(&bq.cols);
        if cte.alias.columns.len() > cols.len() {
            return Err(Error::new(
                crate::error::SqlState::INVALID_COLUMN_REFERENCE,
                format!(
                    "WITH query \"{name}\" has {} columns available but {} columns specified",
                    cols.len(),
                    cte.alias.columns.len()
                ),
            ));
        }
        for (c, a) in cols.iter_mut().zip(&cte.alias.columns) {
            c.0 = ident_name(&a.name);
        }
        let escapes = escapes(&bq.node);
        self.state.ctes.push(CteDef { name, node: bq.node, cols, level: self.state.frames.len(), escapes });
        Ok(())
    }

    /// LIMIT / OFFSET / FETCH FIRST: expressions without columns, as BIGINT.
    fn bind_limit(&mut self, query: &ast::Query) -> Result<(Option<Expr>, Option<Expr>)> {
        let (mut limit, offset) = match &query.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, limit_by }) => {
                if !limit_by.is_empty() {
                    return Err(Error::unsupported("LIMIT BY"));
                }
                (limit.as_ref(), offset.as_ref().map(|o| &o.value))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
        };
        if let Some(fetch) = &query.fetch {
            if fetch.with_ties || fetch.percent {
                return Err(Error::unsupported("FETCH … WITH TIES / PERCENT"));
            }
            if limit.is_some() {
                return Err(sql_err!(SYNTAX_ERROR, "multiple LIMIT clauses not allowed"));
            }
            limit = fetch.quantity.as_ref();
        }
        let fetch_default = query.fetch.as_ref().is_some_and(|f| f.quantity.is_none());
        let limit = match limit {
            Some(e) => Some(self.bind_limit_expr(e, "LIMIT")?),
            None if fetch_default => Some(Expr::Literal(Value::Int(1), DataType::Int8)),
            None => None,
        };
        let offset = match offset {
            Some(e) => Some(self.bind_limit_expr(e, "OFFSET")?),
            None => None,
        };
        Ok((limit, offset))
    }

    fn bind_limit_expr(&mut self, e: &ast::Expr, clause: &'static str) -> Result<Expr> {
        let empty = RelScope::default();
        let x = self.bind(&mut Cx::new(&empty, clause), e)?;
        let ty = x.ty();
        if !(ty.is_numeric() || super::coerce::is_untyped(&x)) {
            return Err(sql_err!(DATATYPE_MISMATCH, "argument of {clause} must be type bigint, not type {ty}"));
        }
        match x {
            Expr::Literal(Value::Int(n), _) => Ok(Expr::Literal(Value::Int(n), DataType::Int8)),
            x if ty == DataType::Int8 => Ok(x),
            x => self.coerce_to(x, &DataType::Int8),
        }
    }

    /// A query body other than a plain SELECT with ORDER BY.
    pub(crate) fn bind_set_expr(&mut self, body: &ast::SetExpr) -> Result<BoundQuery> {
        match body {
            ast::SetExpr::Select(s) => {
                let out = self.bind_select(s, &[])?;
                Ok(BoundQuery { node: out.node, cols: out.cols })
            }
            ast::SetExpr::Query(q) => self.bind_query_inner(q),
            ast::SetExpr::Values(v) => self.bind_values(v, None),
            ast::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                self.bind_set_operation(left, *op, *set_quantifier, right)
            }
            ast::SetExpr::Table(t) => {
                let Some(name) = &t.table_name else {
                    return Err(sql_err!(SYNTAX_ERROR, "syntax error at end of input"));
                };
                let mut parts = vec![];
                if let Some(s) = &t.schema_name {
                    parts.push(ast::Ident::new(s.clone()));
                }
                parts.push(ast::Ident::new(name.clone()));
                let from = ast::TableFactor::Table {
                    name: ast::ObjectName::from(parts),
                    alias: None,
                    args: None,
                    with_hints: vec![],
                    version: None,
                    with_ordinality: false,
                    partitions: vec![],
                    json_path: None,
                    sample: None,
                    index_hints: vec![],
                };
                let (node, scope) = self.bind_table_factor(&from)?;
                let star = scope.expand_star(None)?;
                let cols = star.iter().map(|(n, e)| OutCol { name: n.clone(), ty: e.ty(), untyped: false }).collect();
                let exprs = star.into_iter().map(|(_, e)| e).collect();
                Ok(BoundQuery { node: Node::Project { input: Box::new(node), exprs }, cols })
            }
            other => Err(Error::unsupported(format!("{other} as a query"))),
        }
    }

    fn bind_set_operation(
        &mut self,
        left: &ast::SetExpr,
        op: ast::SetOperator,
        quantifier: ast::SetQuantifier,
        right: &ast::SetExpr,
    ) -> Result<BoundQuery> {
        let (kind, name) = match op {
            ast::SetOperator::Union => (SetOpKind::Union, "UNION"),
            ast::SetOperator::Intersect => (SetOpKind::Intersect, "INTERSECT"),
            ast::SetOperator::Except | ast::SetOperator::Minus => (SetOpKind::Except, "EXCEPT"),
        };
        let all = match quantifier {
            ast::SetQuantifier::All => true,
            ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
            other => return Err(Error::unsupported(format!("{name} {other}"))),
        };
        let l = self.bind_set_expr(left)?;
        let r = self.bind_set_expr(right)?;
        if l.cols.len() != r.cols.len() {
            return Err(sql_err!(SYNTAX_ERROR, "each {name} query must have the same number of columns"));
        }
        let mut types = Vec::with_capacity(l.cols.len());
        for (a, b) in l.cols.iter().zip(&r.cols) {
            let t = |c: &OutCol| if c.untyped { None } else { Some(c.ty.clone()) };
            types.push(common_type(&[t(a), t(b)], name)?);
        }
        let cols = l
            .cols
            .iter()
            .zip(&types)
            .map(|(c, t)| OutCol { name: c.name.clone(), ty: t.clone(), untyped: false })
            .collect();
        let left = cast_columns(l, &types);
        let right = cast_columns(r, &types);
        Ok(BoundQuery { node: Node::SetOp { op: kind, all, left: Box::new(left), right: Box::new(right) }, cols })
    }

    /// `VALUES (…), (…)`: each column gets the rows' common type, or the
    /// INSERT target's type when `targets` is given.
    pub(crate) fn bind_values(&mut self, values: &ast::Values, targets: Option<&[DataType]>) -> Result<BoundQuery> {
        if values.explicit_row || values.value_keyword {
            return Err(Error::unsupported("VALUE / VALUES ROW"));
        }
        let width = values.rows.first().map_or(0, |r| r.len());
        let empty = RelScope::default();
        let mut rows = Vec::with_capacity(values.rows.len());
        for row in &values.rows {
            if row.len() != width {
                return Err(sql_err!(SYNTAX_ERROR, "VALUES lists must all be the same length"));
            }
            if let Some(t) = targets {
                check_insert_width(row.len(), t.len())?;
            }
            let mut bound = Vec::with_capacity(width);
            for item in row.iter() {
                if is_default_keyword(item) {
                    return Err(Error::unsupported("DEFAULT here"));
                }
                bound.push(self.bind(&mut Cx::new(&empty, "VALUES"), item)?);
            }
            rows.push(bound);
        }
        let mut cols = Vec::with_capacity(width);
        for c in 0..width {
            let (ty, untyped) = match targets {
                Some(t) => (t[c].clone(), false),
                None => {
                    let types: Vec<Option<DataType>> = rows.iter().map(|r| typed(&r[c])).collect();
                    let all_untyped = types.iter().all(Option::is_none);
                    let any_text_literal =
                        rows.iter().any(|r| matches!(r[c], Expr::Literal(Value::Text(_), DataType::Text)));
                    if all_untyped {
                        (if any_text_literal { DataType::Text } else { DataType::Unknown }, true)
                    } else {
                        (common_type(&types, "VALUES")?, false)
                    }
                }
            };
            for row in &mut rows {
                let e = std::mem::replace(&mut row[c], Expr::Literal(Value::Null, DataType::Unknown));
                row[c] = match targets {
                    Some(_) => self.coerce_to(e, &ty)?,
                    None if untyped => e,
                    None => self.coerce_implicit(e, &ty),
                };
            }
            cols.push(OutCol { name: format!("column{}", c + 1), ty, untyped });
        }
        Ok(BoundQuery { node: Node::Values { rows, width }, cols })
    }

    /// ORDER BY over a query's output columns (set operations, VALUES): by
    /// output name or position only.
    fn sort_by_output(&mut self, node: Node, cols: &[OutCol], order: &[ast::OrderByExpr]) -> Result<Node> {
        if order.is_empty() {
            return Ok(node);
        }
        let mut keys = Vec::with_capacity(order.len());
        for o in order {
            let (desc, nulls_first) = sort_options(o)?;
            let index = match position_ref(&o.expr, "ORDER BY")? {
                Some(k) if k >= 1 && k <= cols.len() => k - 1,
                Some(k) => {
                    return Err(sql_err!(INVALID_COLUMN_REFERENCE, "ORDER BY position {k} is not in select list"));
                }
                None => {
                    let name = match &o.expr {
                        ast::Expr::Identifier(id) => ident_name(id),
                        _ => {
                            return Err(Error::unsupported(
                                "ORDER BY expressions on UNION/INTERSECT/EXCEPT results (only result column names or positions)",
                            ));
                        }
                    };
                    let hits: Vec<usize> = (0..cols.len()).filter(|&i| cols[i].name == name).collect();
                    match hits.as_slice() {
                        [i] => *i,
                        [] => return Err(sql_err!(UNDEFINED_COLUMN, "column \"{name}\" does not exist")),
                        _ => return Err(sql_err!(AMBIGUOUS_COLUMN, "ORDER BY \"{name}\" is ambiguous")),
                    }
                }
            };
            keys.push(SortKey { expr: Expr::Column(index, cols[index].ty.clone()), desc, nulls_first });
        }
        Ok(Node::Sort { input: Box::new(node), keys })
    }
}

/// True for the bare keyword DEFAULT in a VALUES row.
pub(crate) fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

fn check_insert_width(got: usize, want: usize) -> Result<()> {
    if got > want {
        return Err(sql_err!(SYNTAX_ERROR, "INSERT has more expressions than target columns"));
    }
    if got < want {
        return Err(sql_err!(SYNTAX_ERROR, "INSERT has more target columns than expressions"));
    }
    Ok(())
}

/// The query with its columns cast to `types` where they differ.
fn cast_columns(bq: BoundQuery, types: &[DataType]) -> Node {
    let needs = bq.cols.iter().zip(types).any(|(c, t)| !super::types::same_base(&c.ty, t) && c.ty != DataType::Unknown);
    if !needs {
        return bq.node;
    }
    let exprs = bq
        .cols
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (c, t))| {
            let col = Expr::Column(i, c.ty.clone());
            if super::types::same_base(&c.ty, t) || c.ty == DataType::Unknown {
                col
            } else {
                Expr::Cast { expr: Box::new(col), ty: t.clone() }
            }
        })
        .collect();
    Node::Project { input: Box::new(bq.node), exprs }
}
