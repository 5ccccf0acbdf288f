//! Identifiers, and the names PostgreSQL gives result columns.
//!
//! OWNER: query-binder helper.
//!
//! Unquoted identifiers fold to lower case, quoted ones are kept as written
//! (PostgreSQL). A result column without an alias is named like
//! PostgreSQL's `FigureColname`: a column reference gives its column name,
//! a function call its function name, a cast the name of its operand or
//! else the internal type name (`int4`), CASE gives `case`, a scalar
//! subquery the name of its own column, and anything else `?column?`.

use sqlparser::ast;

use super::types::{data_type, pg_type_name};
use crate::error::{Error, Result};

/// An identifier as PostgreSQL names it: lower-cased unless quoted.
pub(crate) fn ident_name(id: &ast::Ident) -> String {
    match id.quote_style {
        Some(_) => id.value.clone(),
        None => id.value.to_lowercase(),
    }
}

/// The parts of a (possibly qualified) object name.
pub(crate) fn object_name(name: &ast::ObjectName) -> Result<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p.as_ident() {
            Some(id) => Ok(ident_name(id)),
            None => Err(Error::unsupported(format!("name {name}"))),
        })
        .collect()
}

/// The result-column name of an unaliased SELECT item.
pub(crate) fn column_name(expr: &ast::Expr) -> String {
    figure(expr).unwrap_or_else(|| "?column?".to_string())
}

fn figure(expr: &ast::Expr) -> Option<String> {
    use ast::Expr as A;
    Some(match expr {
        A::Identifier(id) => ident_name(id),
        A::CompoundIdentifier(parts) => ident_name(parts.last()?),
        A::Nested(e) => return figure(e),
        A::Function(f) => match f.name.0.last()?.as_ident() {
            Some(id) => ident_name(id),
            None => return None,
        },
        A::Cast { expr, data_type: dt, .. } => match figure(expr) {
            Some(n) => n,
            None => pg_type_name(&data_type(dt).ok()?).to_string(),
        },
        A::TypedString(ts) => pg_type_name(&data_type(&ts.data_type).ok()?).to_string(),
        A::Interval(_) => "interval".into(),
        A::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => "bool".into(),
        A::Case { .. } => "case".into(),
        A::Exists { .. } => "exists".into(),
        A::Extract { .. } => "extract".into(),
        A::Substring { .. } => "substring".into(),
        A::Position { .. } => "position".into(),
        A::Ceil { .. } => "ceil".into(),
        A::Floor { .. } => "floor".into(),
        A::AtTimeZone { .. } => "timezone".into(),
        A::Trim { trim_where, .. } => match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
            _ => "btrim",
        }
        .into(),
        A::Subquery(q) => return subquery_column_name(q),
        A::Array(_) => "array".into(),
        _ => return None,
    })
}

/// The name of a scalar subquery's column, as its own SELECT names it.
fn subquery_column_name(q: &ast::Query) -> Option<String> {
    match q.body.as_ref() {
        ast::SetExpr::Select(s) => match s.projection.first()? {
            ast::SelectItem::UnnamedExpr(e) => figure(e),
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(ident_name(alias)),
            _ => None,
        },
        ast::SetExpr::Query(q) => subquery_column_name(q),
        _ => None,
    }
}
