//! The evaluation environment: parameters, outer rows, and subqueries.
//!
//! [`ExecContext`] is the [`EvalEnv`] of every expression the executor
//! evaluates. Parameters and the statement time come straight from the
//! context. Correlated subqueries see the rows of their enclosing queries
//! through a stack kept in [`super::ExecState`]: running a subquery pushes
//! the row it is evaluated for, so inside it `Outer { depth: 0 }` is that
//! row, `depth: 1` the row the enclosing query was itself evaluated for,
//! and so on; the row is popped when the subquery is done, error or not.
//!
//! A subquery is run by building its plan and pulling rows until the
//! answer is known (one row for EXISTS, two for a scalar subquery, all for
//! IN/ANY/ALL). An uncorrelated subquery has the same answer for every row
//! of the statement, so the answer is cached by the subquery's id, like
//! PostgreSQL's InitPlans. A correlated one runs again for every row; its
//! tree is rebuilt each time, which costs a few allocations next to the
//! reads it does (operators are lazy, so building evaluates nothing).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{ExecContext, Executor, build_lazy};
use crate::error::{Error, Result};
use crate::expr::{EvalEnv, Subquery, ValueSet};
use crate::sql_err;
use crate::types::{Row, Value};

/// The cached answer of an uncorrelated subquery.
pub(super) enum Cached {
    /// A scalar subquery's value.
    Scalar(Value),
    /// Whether an EXISTS subquery returned a row.
    Exists(bool),
    /// The values of an IN/ANY/ALL subquery.
    Values(Arc<Vec<Value>>),
    /// The values of an uncorrelated IN subquery, hashed.
    Set(Arc<ValueSet>),
}

impl ExecContext<'_> {
    /// Builds `sub`'s plan and runs `f` on it with `row` as the innermost
    /// outer row.
    fn with_subquery<T>(
        &mut self,
        sub: &Subquery,
        row: &[Value],
        f: impl FnOnce(&mut dyn Executor, &mut Self) -> Result<T>,
    ) -> Result<T> {
        let mut exec = build_lazy(&sub.plan, None)?;
        self.state.outer.push(row.to_vec());
        let result = f(exec.as_mut(), self);
        self.state.outer.pop();
        result
    }

    /// The cached answer for `sub`, when it is uncorrelated and was run.
    fn cached(&self, sub: &Subquery) -> Option<&Cached> {
        if sub.correlated { None } else { self.state.subquery_cache.get(&sub.id) }
    }

    /// Remembers the answer of an uncorrelated subquery.
    fn cache(&mut self, sub: &Subquery, answer: Cached) {
        if !sub.correlated {
            self.state.subquery_cache.insert(sub.id, answer);
        }
    }
}

/// The single value of a one-column subquery row.
fn single_column(row: Row) -> Result<Value> {
    let width = row.len();
    let mut values = row.into_iter();
    match (values.next(), width) {
        (Some(v), 1) => Ok(v),
        _ => Err(Error::internal(format!("subquery returned {width} columns where one was expected"))),
    }
}

/// Parameter `index` (0-based) of a statement; 42P02 if missing.
pub(super) fn param_value(params: &[Value], index: usize) -> Result<Value> {
    params.get(index).cloned().ok_or_else(|| sql_err!(UNDEFINED_PARAMETER, "there is no parameter ${}", index + 1))
}

/// The value at `index` of the enclosing row `depth` levels out of
/// `stack` (the last row is depth 0).
pub(super) fn outer_value(stack: &[Row], depth: usize, index: usize) -> Result<Value> {
    let row =
        stack.len().checked_sub(depth + 1).and_then(|i| stack.get(i)).ok_or_else(|| {
            Error::internal(format!("outer reference {depth} levels out, but {} are open", stack.len()))
        })?;
    row.get(index)
        .cloned()
        .ok_or_else(|| Error::internal(format!("outer reference to column {index} of a {}-column row", row.len())))
}

impl EvalEnv for ExecContext<'_> {
    fn param(&self, index: usize) -> Result<Value> {
        param_value(self.params, index)
    }

    fn outer(&self, depth: usize, index: usize) -> Result<Value> {
        outer_value(&self.state.outer, depth, index)
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn sequence(&mut self, func: crate::expr::ScalarFunc, args: &[Value]) -> Result<Value> {
        match self.state.sequences.clone() {
            Some(access) => access.call(&mut *self.txn, func, args),
            None => Err(sql_err!(FEATURE_NOT_SUPPORTED, "{}() is not allowed here", func.name())),
        }
    }

    fn scalar_subquery(&mut self, sub: &Subquery, row: &[Value]) -> Result<Value> {
        if let Some(Cached::Scalar(v)) = self.cached(sub) {
            return Ok(v.clone());
        }
        let value = self.with_subquery(sub, row, |exec, cx| {
            let Some(first) = exec.next(cx)? else { return Ok(Value::Null) };
            if exec.next(cx)?.is_some() {
                return Err(sql_err!(
                    CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression"
                ));
            }
            single_column(first)
        })?;
        self.cache(sub, Cached::Scalar(value.clone()));
        Ok(value)
    }

    fn exists_subquery(&mut self, sub: &Subquery, row: &[Value]) -> Result<bool> {
        if let Some(Cached::Exists(b)) = self.cached(sub) {
            return Ok(*b);
        }
        let exists = self.with_subquery(sub, row, |exec, cx| Ok(exec.next(cx)?.is_some()))?;
        self.cache(sub, Cached::Exists(exists));
        Ok(exists)
    }

    fn subquery_values(&mut self, sub: &Subquery, row: &[Value]) -> Result<Arc<Vec<Value>>> {
        if let Some(Cached::Values(v)) = self.cached(sub) {
            return Ok(v.clone());
        }
        let values = self.with_subquery(sub, row, |exec, cx| {
            let mut values = Vec::new();
            while let Some(row) = exec.next(cx)? {
                values.push(single_column(row)?);
            }
            Ok(Arc::new(values))
        })?;
        self.cache(sub, Cached::Values(values.clone()));
        Ok(values)
    }

    fn subquery_set(&mut self, sub: &Subquery, row: &[Value]) -> Result<Option<Arc<ValueSet>>> {
        if sub.correlated {
            // Rebuilt per row anyway: a list scan is as cheap as hashing it.
            return Ok(None);
        }
        if let Some(Cached::Set(set)) = self.cached(sub) {
            return Ok(Some(set.clone()));
        }
        let set = self.with_subquery(sub, row, |exec, cx| {
            let mut values = Vec::new();
            while let Some(row) = exec.next(cx)? {
                values.push(single_column(row)?);
            }
            Ok(Arc::new(ValueSet::new(values)))
        })?;
        self.cache(sub, Cached::Set(set.clone()));
        Ok(Some(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::test_support::{int, lit, values, with_cx};
    use crate::expr::{Expr, SubqueryKind};
    use crate::plan::Node;
    use crate::types::DataType;

    fn sub(id: usize, plan: Node, correlated: bool, kind: SubqueryKind) -> Subquery {
        Subquery { id, plan, correlated, kind, ty: DataType::Int8 }
    }

    #[test]
    fn params_and_outer_rows() {
        with_cx(&[Value::Int(7)], |cx| {
            assert_eq!(cx.param(0).unwrap(), Value::Int(7));
            assert_eq!(cx.param(1).unwrap_err().state.code(), "42P02");
            assert_eq!(cx.outer(0, 0).unwrap_err().state.code(), "XX000");
            cx.state.outer.push(vec![int(1), int(2)]);
            cx.state.outer.push(vec![int(3)]);
            assert_eq!(cx.outer(0, 0).unwrap(), int(3));
            assert_eq!(cx.outer(1, 1).unwrap(), int(2));
            assert!(cx.outer(2, 0).is_err());
            assert!(cx.outer(0, 1).is_err());
        });
    }

    #[test]
    fn scalar_subquery_zero_one_and_two_rows() {
        with_cx(&[], |cx| {
            let none = sub(1, Node::Empty { width: 1 }, false, SubqueryKind::Scalar);
            assert_eq!(cx.scalar_subquery(&none, &[]).unwrap(), Value::Null);
            let one = sub(2, values(vec![vec![lit(int(5))]]), false, SubqueryKind::Scalar);
            assert_eq!(cx.scalar_subquery(&one, &[]).unwrap(), int(5));
            let two = sub(3, values(vec![vec![lit(int(5))], vec![lit(int(6))]]), false, SubqueryKind::Scalar);
            let err = cx.scalar_subquery(&two, &[]).unwrap_err();
            assert_eq!(err.state.code(), "21000");
            assert_eq!(err.message, "more than one row returned by a subquery used as an expression");
        });
    }

    #[test]
    fn exists_and_values() {
        with_cx(&[], |cx| {
            let empty = sub(1, Node::Empty { width: 1 }, false, SubqueryKind::Exists { negated: false });
            assert!(!cx.exists_subquery(&empty, &[]).unwrap());
            let rows = values(vec![vec![lit(int(1))], vec![lit(Value::Null)], vec![lit(int(1))]]);
            let some = sub(2, rows.clone(), false, SubqueryKind::Exists { negated: false });
            assert!(cx.exists_subquery(&some, &[]).unwrap());
            let kind = SubqueryKind::In { probe: Box::new(lit(int(1))), negated: false };
            let list = sub(3, rows, false, kind);
            assert_eq!(*cx.subquery_values(&list, &[]).unwrap(), vec![int(1), Value::Null, int(1)]);
        });
    }

    #[test]
    fn correlated_subqueries_see_the_row_and_rerun() {
        with_cx(&[], |cx| {
            // (SELECT outer.1) for each row.
            let outer = Expr::Outer { depth: 0, index: 1, ty: DataType::Int8 };
            let s = sub(1, values(vec![vec![outer]]), true, SubqueryKind::Scalar);
            assert_eq!(cx.scalar_subquery(&s, &[int(1), int(10)]).unwrap(), int(10));
            assert_eq!(cx.scalar_subquery(&s, &[int(2), int(20)]).unwrap(), int(20));
            assert!(cx.state.outer.is_empty(), "the outer row is popped");
            // The same plan marked uncorrelated is answered from the cache.
            let outer = Expr::Outer { depth: 0, index: 0, ty: DataType::Int8 };
            let s = sub(2, values(vec![vec![outer]]), false, SubqueryKind::Scalar);
            assert_eq!(cx.scalar_subquery(&s, &[int(1)]).unwrap(), int(1));
            assert_eq!(cx.scalar_subquery(&s, &[int(2)]).unwrap(), int(1));
        });
    }

    #[test]
    fn errors_pop_the_outer_row() {
        with_cx(&[], |cx| {
            let bad = Expr::Outer { depth: 1, index: 0, ty: DataType::Int8 };
            let s = sub(1, values(vec![vec![bad]]), true, SubqueryKind::Scalar);
            assert!(cx.scalar_subquery(&s, &[int(1)]).is_err());
            assert!(cx.state.outer.is_empty());
        });
    }
}
