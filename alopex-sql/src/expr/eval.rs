//! The expression evaluator.
//!
//! A plain recursive walk over one input row: the binder has already
//! resolved names to positions, made every implicit cast explicit and
//! resolved operators and functions to enums, so evaluation only dispatches.
//! What the walk adds is *order and laziness* where SQL observes them:
//!
//! * `AND`/`OR` short-circuit with three-valued logic: `FALSE AND x` is
//!   FALSE and `TRUE OR x` is TRUE without evaluating `x` (so a division by
//!   zero there never happens), otherwise the three-valued combination;
//! * `CASE` evaluates only the branch it takes; `COALESCE` stops at the
//!   first non-NULL argument;
//! * `x IN (a, b, …)` stops at the first match; with no match it is NULL if
//!   `x` or any item was NULL (it is `x = a OR x = b OR …`);
//! * subqueries go through the [`EvalEnv`], which runs (and for
//!   uncorrelated ones caches) their plans: `IN`/`ANY`/`ALL` follow the same
//!   NULL rules as the list form, and over an empty result `ANY` is FALSE and
//!   `ALL` TRUE whatever the probe.
//!
//! A column position outside the row is a planner bug and reported as
//! XX000, not a panic.

mod like;

use chrono::{DateTime, Utc};

use super::ops::{self, BinaryOp, and3, bool_value, compare, or3, truth};
use super::{Expr, ScalarFunc, Subquery, SubqueryKind, cast, func};
use crate::error::{Error, Result};
use crate::types::{DataType, Value};

/// What an expression needs from the executor while it is evaluated.
pub trait EvalEnv {
    /// The value of parameter `index` (0-based). 42P02 if missing.
    fn param(&self, index: usize) -> Result<Value>;
    /// A value of an enclosing query's current row.
    fn outer(&self, depth: usize, index: usize) -> Result<Value>;
    /// The statement timestamp (`now()`).
    fn now(&self) -> DateTime<Utc>;
    /// Runs a scalar subquery for the current `row` (the row becomes depth 0
    /// for the subquery's outer references): its single value, NULL for no
    /// rows, 21000 for more than one.
    fn scalar_subquery(&mut self, sub: &Subquery, row: &[Value]) -> Result<Value>;
    /// `EXISTS (sub)` for the current row.
    fn exists_subquery(&mut self, sub: &Subquery, row: &[Value]) -> Result<bool>;
    /// The values of a one-column subquery for the current row (for IN,
    /// ANY, ALL). Uncorrelated results are computed once and shared.
    fn subquery_values(&mut self, sub: &Subquery, row: &[Value]) -> Result<std::sync::Arc<Vec<Value>>>;
    /// Runs a sequence function (`nextval`, …; see `crate::sequence`).
    /// Environments without a database refuse with 0A000.
    fn sequence(&mut self, func: ScalarFunc, args: &[Value]) -> Result<Value> {
        let _ = args;
        Err(crate::sql_err!(FEATURE_NOT_SUPPORTED, "{}() is not allowed here", func.name()))
    }
    /// The values of an uncorrelated one-column subquery as a hash set, for
    /// `IN`: built once per statement so each probe is O(1) instead of a
    /// scan of the list. None when the environment does not offer it (the
    /// evaluator then compares against [`EvalEnv::subquery_values`]).
    fn subquery_set(&mut self, sub: &Subquery, row: &[Value]) -> Result<Option<std::sync::Arc<ValueSet>>> {
        let _ = (sub, row);
        Ok(None)
    }
}

/// A set of values for `probe IN (subquery)`, with SQL's NULL rules.
#[derive(Debug, Default)]
pub struct ValueSet {
    values: std::collections::HashSet<Value>,
    has_null: bool,
}

impl ValueSet {
    /// The set of `values`.
    pub fn new(values: impl IntoIterator<Item = Value>) -> ValueSet {
        let mut set = ValueSet::default();
        for v in values {
            if v.is_null() {
                set.has_null = true;
            } else {
                set.values.insert(v);
            }
        }
        set
    }

    /// `probe IN (set)`: TRUE on a match; FALSE for an empty set (even for
    /// a NULL probe); otherwise NULL if the probe or any member is NULL.
    /// Equality is `Value`'s, which for the same-typed values the binder
    /// guarantees is SQL's `=` (numbers by value, text by bytes).
    pub fn contains(&self, probe: &Value) -> Option<bool> {
        if self.values.is_empty() && !self.has_null {
            return Some(false);
        }
        if probe.is_null() {
            return None;
        }
        if self.values.contains(probe) {
            Some(true)
        } else if self.has_null {
            None
        } else {
            Some(false)
        }
    }
}

/// Evaluates `expr` over `row`.
pub fn eval(expr: &Expr, row: &[Value], env: &mut dyn EvalEnv) -> Result<Value> {
    match expr {
        Expr::Literal(v, _) => Ok(v.clone()),
        Expr::Column(i, _) => row
            .get(*i)
            .cloned()
            .ok_or_else(|| Error::internal(format!("column {i} is out of range for a row of {} values", row.len()))),
        Expr::Outer { depth, index, .. } => env.outer(*depth, *index),
        Expr::Param(i, ty) => {
            let v = env.param(*i)?;
            if *ty == DataType::Unknown { Ok(v) } else { cast::cast(&v, ty) }
        }
        Expr::Unary { op, expr, ty } => ops::unary(*op, &eval(expr, row, env)?, ty),
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            let l = truth(&eval(left, row, env)?)?;
            if l == Some(false) {
                return Ok(Value::Bool(false));
            }
            Ok(bool_value(and3(l, truth(&eval(right, row, env)?)?)))
        }
        Expr::Binary { op: BinaryOp::Or, left, right, .. } => {
            let l = truth(&eval(left, row, env)?)?;
            if l == Some(true) {
                return Ok(Value::Bool(true));
            }
            Ok(bool_value(or3(l, truth(&eval(right, row, env)?)?)))
        }
        Expr::Binary { op, left, right, ty } => {
            let l = eval(left, row, env)?;
            let r = eval(right, row, env)?;
            ops::binary(*op, &l, &r, ty)
        }
        Expr::IsNull { expr, negated } => Ok(Value::Bool(eval(expr, row, env)?.is_null() != *negated)),
        Expr::IsBool { expr, value, negated } => {
            let v = truth(&eval(expr, row, env)?)?;
            Ok(Value::Bool((v == *value) != *negated))
        }
        Expr::Like { expr, pattern, escape, case_insensitive, negated } => {
            let s = eval(expr, row, env)?;
            let p = eval(pattern, row, env)?;
            let (Some(s), Some(p)) = (text_of(&s), text_of(&p)) else { return Ok(Value::Null) };
            let matched = like::like(&s, &p, Some(escape.unwrap_or('\\')), *case_insensitive)?;
            Ok(Value::Bool(matched != *negated))
        }
        Expr::InList { expr, list, negated } => {
            let probe = eval(expr, row, env)?;
            if probe.is_null() {
                return Ok(Value::Null);
            }
            let mut saw_null = false;
            for item in list {
                let v = eval(item, row, env)?;
                if v.is_null() {
                    saw_null = true;
                } else if compare::sql_eq(&probe, &v)? {
                    return Ok(Value::Bool(!negated));
                }
            }
            Ok(if saw_null { Value::Null } else { Value::Bool(*negated) })
        }
        Expr::Case { operand, branches, else_result, .. } => {
            let operand = match operand {
                Some(o) => Some(eval(o, row, env)?),
                None => None,
            };
            for (when, then) in branches {
                let w = eval(when, row, env)?;
                let taken = match &operand {
                    Some(o) => !o.is_null() && !w.is_null() && compare::sql_eq(o, &w)?,
                    None => truth(&w)? == Some(true),
                };
                if taken {
                    return eval(then, row, env);
                }
            }
            match else_result {
                Some(e) => eval(e, row, env),
                None => Ok(Value::Null),
            }
        }
        Expr::Cast { expr, ty } => cast::cast(&eval(expr, row, env)?, ty),
        Expr::Function { func: ScalarFunc::Coalesce, args, .. } => {
            for a in args {
                let v = eval(a, row, env)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Value::Null)
        }
        Expr::Function { func, args, .. } if func.is_sequence() => {
            let values = args.iter().map(|a| eval(a, row, env)).collect::<Result<Vec<_>>>()?;
            env.sequence(*func, &values)
        }
        Expr::Function { func, args, ty } => {
            let values = args.iter().map(|a| eval(a, row, env)).collect::<Result<Vec<_>>>()?;
            func::call(*func, &values, ty, env.now())
        }
        Expr::Subquery(sub) => subquery(sub, row, env),
    }
}

/// Evaluates a predicate: true only for TRUE (NULL and FALSE reject).
pub fn eval_predicate(expr: &Expr, row: &[Value], env: &mut dyn EvalEnv) -> Result<bool> {
    Ok(matches!(eval(expr, row, env)?, Value::Bool(true)))
}

/// The text a LIKE operand is matched as; None for NULL.
fn text_of(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(std::borrow::Cow::Borrowed(s)),
        other => cast::to_text(other).map(std::borrow::Cow::Owned),
    }
}

fn subquery(sub: &Subquery, row: &[Value], env: &mut dyn EvalEnv) -> Result<Value> {
    match &sub.kind {
        SubqueryKind::Scalar => env.scalar_subquery(sub, row),
        SubqueryKind::Exists { negated } => Ok(Value::Bool(env.exists_subquery(sub, row)? != *negated)),
        SubqueryKind::In { probe, negated } => {
            let probe = eval(probe, row, env)?;
            if let Some(set) = env.subquery_set(sub, row)? {
                let any = set.contains(&probe);
                return Ok(bool_value(if *negated { any.map(|b| !b) } else { any }));
            }
            let values = env.subquery_values(sub, row)?;
            let any = quantified(BinaryOp::Eq, &probe, &values, false)?;
            Ok(bool_value(if *negated { any.map(|b| !b) } else { any }))
        }
        SubqueryKind::Quantified { probe, op, all } => {
            let probe = eval(probe, row, env)?;
            let values = env.subquery_values(sub, row)?;
            Ok(bool_value(quantified(*op, &probe, &values, *all)?))
        }
    }
}

/// `probe op ANY (values)` / `probe op ALL (values)` with three-valued
/// logic: ANY is TRUE on the first TRUE comparison, ALL FALSE on the first
/// FALSE; otherwise NULL if some comparison was NULL.
fn quantified(op: BinaryOp, probe: &Value, values: &[Value], all: bool) -> Result<Option<bool>> {
    let mut saw_null = false;
    for v in values {
        match truth(&ops::binary(op, probe, v, &DataType::Bool)?)? {
            Some(b) if b != all => return Ok(Some(b)),
            Some(_) => {}
            None => saw_null = true,
        }
    }
    Ok(if saw_null { None } else { Some(all) })
}

#[cfg(test)]
mod tests;
