//! Coercions: how a bound expression is made to have the type its context
//! needs, and how parameters get their types.
//!
//! OWNER: query-binder helper.
//!
//! PostgreSQL gives string literals and parameters the pseudo-type
//! `unknown` and lets the context pick their type. Alopex binds a string
//! literal as a TEXT [`Expr::Literal`] and recognises it afterwards by its
//! shape ([`is_untyped`]): an explicit `CAST('x' AS text)` is an
//! [`Expr::Cast`], a text column is an [`Expr::Column`], so only a bare
//! literal still counts as untyped. A parameter whose type is not known yet
//! is `Param(i, Unknown)`; the first context that constrains it records the
//! type in [`Binder::params`], and the statement's plan is fixed up at the
//! end (`walk::fix_params`) so every occurrence carries the final type.
//!
//! Three strengths of coercion exist, as in PostgreSQL:
//!
//! * implicit ([`Binder::coerce_implicit`]): to a common type already chosen
//!   by `types::common_type`, so it never fails;
//! * assignment ([`Binder::coerce_to`]): INSERT and UPDATE, per
//!   `types::assignable`; length and precision modifiers are left to the
//!   store-time check, so `varchar(3)` still reports 22001 instead of
//!   silently truncating as an explicit cast would;
//! * explicit ([`Binder::bind_cast`]): `CAST` and `::`, per `types::castable`.

use super::Binder;
use super::types::{assignable, castable, same_base};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::types::{DataType, Value};

/// True for an expression PostgreSQL would type `unknown`: a bare string
/// literal, a NULL literal or a parameter of no known type.
pub(crate) fn is_untyped(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Literal(Value::Text(_), DataType::Text)
            | Expr::Literal(_, DataType::Unknown)
            | Expr::Param(_, DataType::Unknown)
    )
}

/// The type an expression contributes to common-type resolution (None for
/// untyped inputs).
pub(crate) fn typed(expr: &Expr) -> Option<DataType> {
    if is_untyped(expr) { None } else { Some(expr.ty()) }
}

impl Binder<'_> {
    /// Records that parameter `index` has type `ty` (the first constraint
    /// wins) and returns its type.
    pub(crate) fn set_param_type(&mut self, index: usize, ty: &DataType) -> DataType {
        if self.params.len() <= index {
            self.params.resize(index + 1, DataType::Unknown);
        }
        if self.params[index] == DataType::Unknown {
            self.params[index] = ty.clone();
        }
        self.params[index].clone()
    }

    /// `$n` (1-based in SQL): the parameter with the type known so far.
    pub(crate) fn bind_param(&mut self, n: usize) -> Result<Expr> {
        if n == 0 {
            return Err(Error::new(SqlState::UNDEFINED_PARAMETER, "there is no parameter $0"));
        }
        if n > 65_535 {
            return Err(Error::new(SqlState::UNDEFINED_PARAMETER, format!("there is no parameter ${n}")));
        }
        if self.params.len() < n {
            self.params.resize(n, DataType::Unknown);
        }
        Ok(Expr::Param(n - 1, self.params[n - 1].clone()))
    }

    /// Gives an untyped parameter or NULL the type `ty`; other expressions
    /// are returned unchanged.
    pub(crate) fn type_unknown(&mut self, expr: Expr, ty: &DataType) -> Expr {
        match expr {
            Expr::Param(i, DataType::Unknown) => {
                let t = self.set_param_type(i, ty);
                Expr::Param(i, t)
            }
            Expr::Literal(Value::Null, DataType::Unknown) => Expr::Literal(Value::Null, ty.clone()),
            e => e,
        }
    }

    /// Coerces `expr` to a common type chosen for it (UNION, CASE, IN, …).
    pub(crate) fn coerce_implicit(&mut self, expr: Expr, ty: &DataType) -> Expr {
        let expr = self.type_unknown(expr, ty);
        let from = expr.ty();
        if from == *ty || same_base(&from, ty) || *ty == DataType::Unknown {
            return expr;
        }
        Expr::Cast { expr: Box::new(expr), ty: ty.clone() }
    }

    /// Coerces a predicate operand to boolean: 42804 `argument of WHERE must
    /// be type boolean, not type integer`.
    pub(crate) fn coerce_bool(&mut self, expr: Expr, what: &str) -> Result<Expr> {
        let ty = expr.ty();
        if ty == DataType::Bool {
            return Ok(expr);
        }
        if is_untyped(&expr) {
            return Ok(self.coerce_implicit(expr, &DataType::Bool));
        }
        Err(Error::new(SqlState::DATATYPE_MISMATCH, format!("argument of {what} must be type boolean, not type {ty}")))
    }

    /// `CAST(expr AS ty)`: 42846 when no such cast exists.
    pub(crate) fn bind_cast(&mut self, expr: Expr, ty: &DataType) -> Result<Expr> {
        match expr {
            Expr::Param(i, DataType::Unknown) => return Ok(self.type_unknown(Expr::Param(i, DataType::Unknown), ty)),
            Expr::Literal(Value::Null, _) => return Ok(Expr::Literal(Value::Null, ty.clone())),
            _ => {}
        }
        let from = expr.ty();
        if from == *ty && !is_untyped(&expr) {
            return Ok(expr);
        }
        if !castable(&from, ty) {
            return Err(Error::new(SqlState::CANNOT_COERCE, format!("cannot cast type {from} to {ty}")));
        }
        Ok(Expr::Cast { expr: Box::new(expr), ty: ty.clone() })
    }

    /// Converts a bound expression to `ty` for assignment (INSERT/UPDATE):
    /// an implicit cast where PostgreSQL allows one, 42804 otherwise. An
    /// untyped parameter takes `ty`.
    pub fn coerce_to(&mut self, expr: Expr, ty: &DataType) -> Result<Expr> {
        let untyped = is_untyped(&expr);
        let expr = self.type_unknown(expr, ty);
        let from = expr.ty();
        if from == *ty || same_base(&from, ty) {
            return Ok(expr);
        }
        if !(untyped || assignable(&from, ty)) {
            return Err(Error::new(
                SqlState::DATATYPE_MISMATCH,
                format!("column is of type {ty} but expression is of type {from}"),
            ));
        }
        // A varchar length is checked when the value is stored (22001); an
        // explicit cast to varchar(n) would truncate instead.
        let target = match ty {
            DataType::Varchar(_) => DataType::Varchar(None),
            t => t.clone(),
        };
        Ok(Expr::Cast { expr: Box::new(expr), ty: target })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn parameters_take_the_first_constraint() {
        let cat = Catalog::new(1, vec![]);
        let mut b = Binder::new(&cat, &[]);
        let p = b.bind_param(2).unwrap();
        assert_eq!(p, Expr::Param(1, DataType::Unknown));
        assert_eq!(b.params, vec![DataType::Unknown, DataType::Unknown]);
        let p = b.coerce_to(p, &DataType::Int8).unwrap();
        assert_eq!(p, Expr::Param(1, DataType::Int8));
        assert_eq!(b.bind_param(2).unwrap(), Expr::Param(1, DataType::Int8));
        assert_eq!(b.bind_param(0).unwrap_err().state, SqlState::UNDEFINED_PARAMETER);
    }

    #[test]
    fn assignment_coercions() {
        let cat = Catalog::new(1, vec![]);
        let mut b = Binder::new(&cat, &[]);
        let lit = Expr::Literal(Value::text("12"), DataType::Text);
        assert_eq!(
            b.coerce_to(lit.clone(), &DataType::Int4).unwrap(),
            Expr::Cast { expr: Box::new(lit.clone()), ty: DataType::Int4 }
        );
        // Same base type: the length is checked at store time.
        assert_eq!(b.coerce_to(lit.clone(), &DataType::Varchar(Some(1))).unwrap(), lit);
        let col = Expr::Column(0, DataType::Text);
        assert_eq!(b.coerce_to(col.clone(), &DataType::Int4).unwrap_err().state, SqlState::DATATYPE_MISMATCH);
        let int = Expr::Column(0, DataType::Int4);
        assert_eq!(
            b.coerce_to(int.clone(), &DataType::Varchar(Some(3))).unwrap(),
            Expr::Cast { expr: Box::new(int), ty: DataType::Varchar(None) }
        );
        assert_eq!(
            b.coerce_to(Expr::Literal(Value::Null, DataType::Unknown), &DataType::Date).unwrap(),
            Expr::Literal(Value::Null, DataType::Date)
        );
        let boolean = Expr::Column(0, DataType::Bool);
        assert_eq!(b.bind_cast(boolean, &DataType::Date).unwrap_err().state, SqlState::CANNOT_COERCE);
        assert_eq!(
            b.coerce_bool(Expr::Column(0, DataType::Int4), "WHERE").unwrap_err().message,
            "argument of WHERE must be type boolean, not type integer"
        );
    }
}
