//! The expression evaluator.
//!
//! OWNER: expressions helper.

use chrono::{DateTime, Utc};

use super::{Expr, Subquery};
use crate::error::Result;
use crate::types::Value;

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
}

/// Evaluates `expr` over `row`.
pub fn eval(expr: &Expr, row: &[Value], env: &mut dyn EvalEnv) -> Result<Value> {
    let _ = (expr, row, env);
    todo!("expressions helper")
}

/// Evaluates a predicate: true only for TRUE (NULL and FALSE reject).
pub fn eval_predicate(expr: &Expr, row: &[Value], env: &mut dyn EvalEnv) -> Result<bool> {
    Ok(matches!(eval(expr, row, env)?, Value::Bool(true)))
}
