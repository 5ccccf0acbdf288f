//! Binding function calls, aggregates, CASE, and the SQL-standard call
//! syntaxes (`EXTRACT(f FROM x)`, `SUBSTRING(s FROM a FOR b)`,
//! `TRIM(LEADING c FROM s)`, `POSITION(a IN b)`, `CEIL`, `FLOOR`).
//!
//! OWNER: query-binder helper.
//!
//! A call is an aggregate when `crate::expr::agg::resolve` knows the name;
//! otherwise `crate::expr::func::resolve` picks the scalar function and the
//! casts its arguments need. The special syntaxes are rewritten to the
//! PostgreSQL function they stand for (`btrim`, `substring`, `date_part`);
//! where the function library may spell a function two ways, the second
//! spelling is tried when the first is 42883.
//!
//! Aggregates are only legal where the binding context collects them
//! (`Cx::agg`): the call is recorded as an [`AggCall`] over the FROM row and
//! replaced by a placeholder column past `AGG_BASE`, which the grouping pass
//! later turns into a reference to the aggregate's output (see
//! `aggregate.rs`). COALESCE, GREATEST, LEAST, NULLIF and CASE first unify
//! their arguments to a common type, as PostgreSQL does.

use sqlparser::ast;

use super::Binder;
use super::aggregate::AGG_BASE;
use super::coerce::{is_untyped, typed};
use super::expr::Cx;
use super::naming::object_name;
use super::types::common_type;
use crate::error::{Error, Result, SqlState};
use crate::expr::{Expr, agg, func};
use crate::plan::AggCall;
use crate::sql_err;
use crate::types::{DataType, Value};

/// The arguments of a call, as written.
pub(crate) struct CallArgs<'a> {
    pub args: Vec<&'a ast::Expr>,
    pub star: bool,
    pub distinct: bool,
    pub filter: Option<&'a ast::Expr>,
    /// `agg(x ORDER BY …)`.
    pub order_by: Vec<&'a ast::OrderByExpr>,
}

/// Splits a call's argument list; 0A000 for what Alopex does not support
/// (named arguments, ORDER BY inside aggregates, window functions).
pub(crate) fn call_args(f: &ast::Function) -> Result<CallArgs<'_>> {
    if f.over.is_some() {
        return Err(Error::unsupported("window functions"));
    }
    if !f.within_group.is_empty() {
        return Err(Error::unsupported("WITHIN GROUP"));
    }
    if f.null_treatment.is_some() || !matches!(f.parameters, ast::FunctionArguments::None) {
        return Err(Error::unsupported(format!("call syntax {f}")));
    }
    let mut out =
        CallArgs { args: vec![], star: false, distinct: false, filter: f.filter.as_deref(), order_by: vec![] };
    match &f.args {
        ast::FunctionArguments::None => {}
        ast::FunctionArguments::Subquery(_) => return Err(Error::unsupported(format!("call syntax {f}"))),
        ast::FunctionArguments::List(list) => {
            out.distinct = matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
            for clause in &list.clauses {
                match clause {
                    ast::FunctionArgumentClause::Where(e) if out.filter.is_none() => out.filter = Some(e),
                    ast::FunctionArgumentClause::OrderBy(keys) => out.order_by.extend(keys.iter()),
                    other => return Err(Error::unsupported(format!("{other} in a call"))),
                }
            }
            for arg in &list.args {
                match arg {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => out.args.push(e),
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) if list.args.len() == 1 => {
                        out.star = true
                    }
                    _ => return Err(Error::unsupported(format!("argument {arg}"))),
                }
            }
        }
    }
    Ok(out)
}

/// The lower-cased name of a called function; `pg_catalog.` is accepted.
pub(crate) fn function_name(name: &ast::ObjectName) -> Result<String> {
    let parts = object_name(name)?;
    match parts.as_slice() {
        [n] => Ok(n.clone()),
        [s, n] if s == "pg_catalog" || s == "public" => Ok(n.clone()),
        _ => Err(sql_err!(UNDEFINED_FUNCTION, "function {name} does not exist")),
    }
}

/// PostgreSQL's system information functions that clients call when they
/// connect (`version()`, `current_schema()`, `current_database()`,
/// `current_user`, `pg_backend_pid()`): their values are fixed for a
/// database, so they bind to constants. `version()` begins like
/// PostgreSQL's, with the version `SHOW server_version` reports, because
/// drivers parse it.
fn system_information(name: &str, nargs: usize) -> Option<Value> {
    if nargs != 0 {
        return None;
    }
    Some(match name {
        "version" => Value::text(format!(
            "PostgreSQL 15.0 on {}-{}, compiled by rustc (Alopex {})",
            std::env::consts::ARCH,
            std::env::consts::OS,
            env!("CARGO_PKG_VERSION")
        )),
        "current_schema" => Value::text("public"),
        "current_database" | "current_catalog" => Value::text("alopex"),
        "current_user" | "session_user" | "user" | "current_role" => Value::text("alopex"),
        "pg_backend_pid" => Value::Int(i64::from(std::process::id())),
        _ => return None,
    })
}

/// A system function PostgreSQL accepts without parentheses
/// (`current_schema`, `current_catalog`, `current_user`, …), as a constant.
pub(crate) fn bare_system_function(name: &str) -> Option<Expr> {
    if !matches!(name, "current_schema" | "current_catalog" | "current_user" | "session_user" | "current_role") {
        return None;
    }
    let value = system_information(name, 0)?;
    let ty = value.data_type();
    Some(Expr::Literal(value, ty))
}

/// True when `name` is an aggregate (decided by the aggregate library).
pub(crate) fn is_aggregate(name: &str, nargs: usize, star: bool) -> bool {
    !matches!(agg::resolve(name, &vec![DataType::Unknown; nargs], star), Ok(None))
}

impl Binder<'_> {
    /// A function call.
    pub(crate) fn bind_function(&mut self, cx: &mut Cx, f: &ast::Function) -> Result<Expr> {
        let name = function_name(&f.name)?;
        if let (ast::FunctionArguments::Subquery(q), "array") = (&f.args, name.as_str()) {
            return self.bind_array_subquery(cx, q);
        }
        let call = call_args(f)?;
        if crate::expr::srf::is_set_function(&name) && !call.star && call.filter.is_none() {
            return self.bind_select_list_srf(cx, &name, &call.args);
        }
        if is_aggregate(&name, call.args.len(), call.star) {
            return self.bind_aggregate(cx, &name, &call);
        }
        let not_agg = |what: &str| {
            Error::new(SqlState("42809"), format!("{what} specified, but {name} is not an aggregate function"))
        };
        if call.distinct {
            return Err(not_agg("DISTINCT"));
        }
        if call.filter.is_some() {
            return Err(not_agg("FILTER"));
        }
        if !call.order_by.is_empty() {
            return Err(not_agg("ORDER BY"));
        }
        if call.star {
            return Err(not_agg("*"));
        }
        if let Some(user) = self.session_user_function(&name, call.args.len()) {
            return Ok(user);
        }
        if let Some(value) = system_information(&name, call.args.len()) {
            let ty = value.data_type();
            return Ok(Expr::Literal(value, ty));
        }
        let args = call.args.iter().map(|a| self.bind(cx, a)).collect::<Result<Vec<_>>>()?;
        let args = match self.array_function(&name, args)? {
            Ok(e) => return Ok(e),
            Err(args) => args,
        };
        let args = match self.catalog_function(&name, args)? {
            Ok(e) => return Ok(e),
            Err(args) => args,
        };
        let name = match name.as_str() {
            "current_timestamp" | "transaction_timestamp" | "statement_timestamp" => "now",
            n => n,
        };
        match name {
            "coalesce" | "greatest" | "least" | "nullif" => {
                let types: Vec<Option<DataType>> = args.iter().map(typed).collect();
                let ty = common_type(&types, &name.to_uppercase())?;
                let args = args.into_iter().map(|a| self.coerce_implicit(a, &ty)).collect();
                self.call_scalar(name, args)
            }
            _ => self.call_scalar(name, args),
        }
    }

    /// Calls scalar function `name` on bound arguments.
    ///
    /// String literals are bound as TEXT; when no overload takes them as
    /// text, resolution is tried again with them as `unknown`, as
    /// PostgreSQL types them (`l2_distance('[1,2]', '[3,4]')` reads both as
    /// vectors). The first error is the one reported.
    pub(crate) fn call_scalar(&mut self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        let types: Vec<DataType> = args.iter().map(Expr::ty).collect();
        let sig = match func::resolve(name, &types) {
            Ok(sig) => sig,
            Err(e) if e.state == SqlState::UNDEFINED_FUNCTION && args.iter().any(is_untyped) => {
                let loose: Vec<DataType> =
                    args.iter().map(|a| if is_untyped(a) { DataType::Unknown } else { a.ty() }).collect();
                func::resolve(name, &loose).map_err(|_| e)?
            }
            Err(e) => return Err(e),
        };
        let mut casts = sig.arg_casts.into_iter();
        let args = args.into_iter().map(|a| self.apply_cast(a, casts.next().flatten())).collect();
        Ok(Expr::Function { func: sig.func, args, ty: sig.result })
    }

    /// Calls `first`, or `second` (with the arguments reordered by `swap`)
    /// when the function library has no `first`.
    fn call_either(&mut self, first: &str, second: &str, args: Vec<Expr>, swap: bool) -> Result<Expr> {
        match self.call_scalar(first, args.clone()) {
            Err(e) if e.state == SqlState::UNDEFINED_FUNCTION => {
                let mut args = args;
                if swap {
                    args.reverse();
                }
                self.call_scalar(second, args).map_err(|_| e)
            }
            other => other,
        }
    }

    fn bind_aggregate(&mut self, cx: &mut Cx, name: &str, call: &CallArgs) -> Result<Expr> {
        if cx.in_agg_arg {
            return Err(sql_err!(GROUPING_ERROR, "aggregate function calls cannot be nested"));
        }
        if cx.agg.is_none() {
            return Err(sql_err!(GROUPING_ERROR, "aggregate functions are not allowed in {}", cx.clause));
        }
        cx.in_agg_arg = true;
        let bound = self.bind_aggregate_inputs(cx, call);
        cx.in_agg_arg = false;
        let (mut args, filter, order) = bound?;
        let nargs = args.len();
        // PostgreSQL evaluates an aggregate whose arguments use only columns
        // of enclosing queries in the outer query (making it grouped);
        // Alopex does not, so refuse it rather than compute something else.
        let (mut local, mut outer) = (false, false);
        for e in args.iter().chain(filter.iter()) {
            references(e, &mut local, &mut outer);
        }
        if outer && !local {
            return Err(Error::unsupported("an aggregate over columns of an enclosing query only"));
        }
        let types: Vec<DataType> = args[..nargs].iter().map(Expr::ty).collect();
        let Some((func, ty)) = agg::resolve(name, &types, call.star)? else {
            return Err(sql_err!(UNDEFINED_FUNCTION, "function {name} does not exist"));
        };
        let mut order_by = Vec::with_capacity(order.len());
        for (key, desc, nulls_first) in order {
            args.push(key);
            order_by.push((desc, nulls_first));
        }
        let call = AggCall { func, args, distinct: call.distinct, filter, order_by, ty: ty.clone() };
        let Some(state) = cx.agg.as_deref_mut() else {
            return Err(Error::internal("aggregate collector vanished"));
        };
        let k = match state.calls.iter().position(|c| *c == call) {
            Some(k) => k,
            None => {
                state.calls.push(call);
                state.calls.len() - 1
            }
        };
        Ok(Expr::Column(AGG_BASE + k, ty))
    }

    #[allow(clippy::type_complexity)]
    fn bind_aggregate_inputs(
        &mut self,
        cx: &mut Cx,
        call: &CallArgs,
    ) -> Result<(Vec<Expr>, Option<Expr>, Vec<(Expr, bool, bool)>)> {
        let args = call.args.iter().map(|a| self.bind(cx, a)).collect::<Result<Vec<_>>>()?;
        let filter = match call.filter {
            Some(f) => Some(self.bind_bool(cx, f, "FILTER")?),
            None => None,
        };
        let mut order = Vec::with_capacity(call.order_by.len());
        for o in &call.order_by {
            let (desc, nulls_first) = super::query::sort_options(o)?;
            let key = self.bind(cx, &o.expr)?;
            let key = if is_untyped(&key) { self.coerce_implicit(key, &DataType::Text) } else { key };
            order.push((key, desc, nulls_first));
        }
        Ok((args, filter, order))
    }

    /// `CASE [operand] WHEN … THEN … [ELSE …] END`.
    pub(crate) fn bind_case(
        &mut self,
        cx: &mut Cx,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
    ) -> Result<Expr> {
        let operand = match operand {
            Some(o) => Some(self.bind(cx, o)?),
            None => None,
        };
        let mut whens = Vec::with_capacity(conditions.len());
        for c in conditions {
            whens.push(match operand {
                Some(_) => self.bind(cx, &c.condition)?,
                None => self.bind_bool(cx, &c.condition, "CASE/WHEN")?,
            });
        }
        let operand = match operand {
            Some(o) => {
                let mut types = vec![typed(&o)];
                types.extend(whens.iter().map(typed));
                let ty = common_type(&types, "CASE/WHEN")?;
                whens = whens.into_iter().map(|w| self.coerce_implicit(w, &ty)).collect();
                Some(Box::new(self.coerce_implicit(o, &ty)))
            }
            None => None,
        };
        let mut results = Vec::with_capacity(conditions.len());
        for c in conditions {
            results.push(self.bind(cx, &c.result)?);
        }
        let else_result = match else_result {
            Some(e) => Some(self.bind(cx, e)?),
            None => None,
        };
        let mut types: Vec<Option<DataType>> = results.iter().map(typed).collect();
        types.extend(else_result.iter().map(typed));
        let ty = common_type(&types, "CASE")?;
        let branches = whens.into_iter().zip(results).map(|(w, r)| (w, self.coerce_implicit(r, &ty))).collect();
        let else_result = else_result.map(|e| Box::new(self.coerce_implicit(e, &ty)));
        Ok(Expr::Case { operand, branches, else_result, ty })
    }

    /// `EXTRACT(field FROM x)`: `extract('field', x)` or `date_part`.
    pub(crate) fn bind_extract(&mut self, cx: &mut Cx, field: &ast::DateTimeField, e: &ast::Expr) -> Result<Expr> {
        let field = match field {
            ast::DateTimeField::Custom(id) => id.value.to_lowercase(),
            f => f.to_string().to_lowercase(),
        };
        let x = self.bind(cx, e)?;
        let x = if super::coerce::is_untyped(&x) { self.coerce_implicit(x, &DataType::Timestamp) } else { x };
        let f = Expr::Literal(Value::text(field), DataType::Text);
        self.call_either("extract", "date_part", vec![f, x], false)
    }

    /// `CEIL(x)` / `FLOOR(x)`.
    pub(crate) fn bind_ceil_floor(
        &mut self,
        cx: &mut Cx,
        name: &str,
        e: &ast::Expr,
        kind: &ast::CeilFloorKind,
    ) -> Result<Expr> {
        if !matches!(kind, ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)) {
            return Err(Error::unsupported(format!("{name} with a unit or scale")));
        }
        let x = self.bind(cx, e)?;
        self.call_scalar(name, vec![x])
    }

    /// `POSITION(sub IN s)`: `position(sub, s)` or `strpos(s, sub)`.
    pub(crate) fn bind_position(&mut self, cx: &mut Cx, sub: &ast::Expr, s: &ast::Expr) -> Result<Expr> {
        let sub = self.bind(cx, sub)?;
        let s = self.bind(cx, s)?;
        self.call_either("position", "strpos", vec![sub, s], true)
    }

    /// `SUBSTRING(s FROM a FOR b)`.
    pub(crate) fn bind_substring(
        &mut self,
        cx: &mut Cx,
        s: &ast::Expr,
        from: Option<&ast::Expr>,
        count: Option<&ast::Expr>,
    ) -> Result<Expr> {
        let mut args = vec![self.bind(cx, s)?];
        match (from, count) {
            (Some(f), c) => {
                args.push(self.bind(cx, f)?);
                if let Some(c) = c {
                    args.push(self.bind(cx, c)?);
                }
            }
            (None, Some(c)) => {
                args.push(Expr::Literal(Value::Int(1), DataType::Int4));
                args.push(self.bind(cx, c)?);
            }
            (None, None) => {}
        }
        self.call_either("substring", "substr", args, false)
    }

    /// `TRIM([BOTH|LEADING|TRAILING] [chars FROM] s)`: `btrim`, `ltrim`,
    /// `rtrim`.
    pub(crate) fn bind_trim(
        &mut self,
        cx: &mut Cx,
        side: Option<&ast::TrimWhereField>,
        what: Option<&ast::Expr>,
        s: &ast::Expr,
        chars: Option<&[ast::Expr]>,
    ) -> Result<Expr> {
        let name = match side {
            None | Some(ast::TrimWhereField::Both) => "btrim",
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
        };
        let mut args = vec![self.bind(cx, s)?];
        if let Some(w) = what {
            args.push(self.bind(cx, w)?);
        }
        for c in chars.unwrap_or_default() {
            args.push(self.bind(cx, c)?);
        }
        self.call_scalar(name, args)
    }
}

/// Notes whether `e` reads columns of its own row (`local`) or of an
/// enclosing query (`outer`), outside of subquery plans.
fn references(e: &Expr, local: &mut bool, outer: &mut bool) {
    match e {
        Expr::Column(..) => *local = true,
        Expr::Outer { .. } => *outer = true,
        _ => {}
    }
    e.for_each_child(&mut |c| references(c, local, outer));
}
