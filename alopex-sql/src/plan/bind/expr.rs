//! Binding expressions.
//!
//! OWNER: query-binder helper.

use sqlparser::ast;

use super::{Binder, Scope};
use crate::error::Result;
use crate::expr::Expr;
use crate::types::DataType;

impl Binder<'_> {
    /// Binds a scalar expression over `scope` (aggregates are an error
    /// here: 42803).
    pub fn bind_expr(&mut self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let _ = (expr, scope);
        todo!("query-binder helper")
    }

    /// Binds a predicate (WHERE, ON, CHECK): the result must be boolean
    /// (42804 otherwise).
    pub fn bind_predicate(&mut self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let _ = (expr, scope);
        todo!("query-binder helper")
    }

    /// Converts a bound expression to `ty` for assignment (INSERT/UPDATE):
    /// an implicit cast where PostgreSQL allows one, 42804 otherwise. An
    /// untyped parameter takes `ty`.
    pub fn coerce_to(&mut self, expr: Expr, ty: &DataType) -> Result<Expr> {
        let _ = (expr, ty);
        todo!("query-binder helper")
    }
}
