//! Binding expressions.
//!
//! OWNER: query-binder helper.
//!
//! [`Binder::bind`] turns one `sqlparser` expression into a typed
//! [`Expr`] over the row described by a [`Cx`] (the binding context: the
//! scope, the clause name for error messages, and — in the SELECT list,
//! HAVING and ORDER BY of a grouped query — the aggregate collector).
//!
//! Operators are resolved by `crate::expr::ops`; this file only prepares
//! their operands the way PostgreSQL's parser does before operator lookup:
//! an untyped operand (string literal, NULL, parameter) takes the type of
//! the typed one, AND/OR/NOT operands must be boolean (42804), and
//! `x BETWEEN a AND b` becomes `x >= a AND x <= b`. Functions, CASE and the
//! special call syntaxes live in `call.rs`, subqueries and outer references
//! in `subquery.rs`, coercions in `coerce.rs`.

use std::str::FromStr;

use rust_decimal::Decimal;
use sqlparser::ast;

use super::aggregate::AggState;
use super::coerce::{is_untyped, typed};
use super::naming::ident_name;
use super::row::row_items;
use super::scope::RelScope;
use super::types::{common_type, data_type};
use super::{Binder, Scope};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::expr::ops::{self, BinaryOp, UnaryOp};
use crate::sql_err;
use crate::types::{DataType, Value};

/// The context an expression is bound in.
pub(crate) struct Cx<'a> {
    /// The columns of the row the expression is evaluated over.
    pub scope: &'a RelScope,
    /// The clause, for "aggregate functions are not allowed in WHERE".
    pub clause: &'static str,
    /// Aggregates are collected here (grouped SELECT list, HAVING, ORDER BY).
    pub agg: Option<&'a mut AggState>,
    /// Inside an aggregate's arguments (aggregates cannot nest there).
    pub in_agg_arg: bool,
}

impl<'a> Cx<'a> {
    /// A context without aggregates.
    pub fn new(scope: &'a RelScope, clause: &'static str) -> Cx<'a> {
        Cx { scope, clause, agg: None, in_agg_arg: false }
    }
}

/// What a `sqlparser` binary operator means here.
enum BinaryMeaning {
    Op(BinaryOp),
    Like { case_insensitive: bool, negated: bool },
}

fn binary_meaning(op: &ast::BinaryOperator) -> Result<BinaryMeaning> {
    use ast::BinaryOperator as A;
    Ok(BinaryMeaning::Op(match op {
        A::Plus => BinaryOp::Add,
        A::Minus => BinaryOp::Sub,
        A::Multiply => BinaryOp::Mul,
        A::Divide => BinaryOp::Div,
        A::Modulo => BinaryOp::Mod,
        A::PGExp => BinaryOp::Pow,
        A::Eq => BinaryOp::Eq,
        A::NotEq => BinaryOp::NotEq,
        A::Lt => BinaryOp::Lt,
        A::LtEq => BinaryOp::LtEq,
        A::Gt => BinaryOp::Gt,
        A::GtEq => BinaryOp::GtEq,
        A::And => BinaryOp::And,
        A::Or => BinaryOp::Or,
        A::StringConcat => BinaryOp::Concat,
        A::Arrow => BinaryOp::JsonGet,
        A::LongArrow => BinaryOp::JsonGetText,
        A::BitwiseAnd => BinaryOp::BitAnd,
        A::BitwiseOr => BinaryOp::BitOr,
        A::PGBitwiseXor => BinaryOp::BitXor,
        A::PGBitwiseShiftLeft => BinaryOp::ShiftLeft,
        A::PGBitwiseShiftRight => BinaryOp::ShiftRight,
        // pgvector: sqlparser reads `<->` as the geometric distance, `<=>`
        // as MySQL's spaceship and `<#>` as a custom operator.
        A::LtDashGt => BinaryOp::L2Distance,
        A::Spaceship => BinaryOp::CosineDistance,
        A::Custom(s) if s == "<#>" => BinaryOp::NegInnerProduct,
        A::PGLikeMatch => return Ok(BinaryMeaning::Like { case_insensitive: false, negated: false }),
        A::PGNotLikeMatch => return Ok(BinaryMeaning::Like { case_insensitive: false, negated: true }),
        A::PGILikeMatch => return Ok(BinaryMeaning::Like { case_insensitive: true, negated: false }),
        A::PGNotILikeMatch => return Ok(BinaryMeaning::Like { case_insensitive: true, negated: true }),
        other => return Err(Error::unsupported(format!("operator {other}"))),
    }))
}

/// Maps a comparison operator of the AST (for ANY/ALL).
pub(crate) fn comparison_op(op: &ast::BinaryOperator) -> Result<BinaryOp> {
    match binary_meaning(op)? {
        BinaryMeaning::Op(o) if o.is_comparison() => Ok(o),
        _ => Err(Error::unsupported(format!("operator {op} with ANY/ALL"))),
    }
}

/// A numeric literal: INTEGER when it fits 32 bits, BIGINT when it fits
/// 64, NUMERIC otherwise and for every literal with a point or exponent.
pub(crate) fn number_literal(text: &str) -> Result<Expr> {
    let plain = !text.contains(['.', 'e', 'E']);
    if plain && let Ok(i) = text.parse::<i64>() {
        let ty = if i32::try_from(i).is_ok() { DataType::Int4 } else { DataType::Int8 };
        return Ok(Expr::Literal(Value::Int(i), ty));
    }
    let dec = if text.contains(['e', 'E']) { Decimal::from_scientific(text) } else { Decimal::from_str(text) };
    match dec {
        Ok(d) => Ok(Expr::Literal(Value::Numeric(d), DataType::Numeric(None))),
        Err(_) => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Expr::Literal(Value::Float(f), DataType::Float8)),
            _ => Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "numeric literal {text} is out of range")),
        },
    }
}

/// The string of a string-literal AST value.
pub(crate) fn string_value(v: &ast::Value) -> Option<String> {
    use ast::Value as V;
    match v {
        V::SingleQuotedString(s)
        | V::EscapedStringLiteral(s)
        | V::UnicodeStringLiteral(s)
        | V::NationalStringLiteral(s)
        | V::TripleSingleQuotedString(s) => Some(s.clone()),
        V::DollarQuotedString(d) => Some(d.value.clone()),
        _ => None,
    }
}

impl Binder<'_> {
    /// Binds a scalar expression over `scope` (aggregates are an error
    /// here: 42803).
    pub fn bind_expr(&mut self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let rel = RelScope::from_scope(scope);
        self.bind(&mut Cx::new(&rel, "this context"), expr)
    }

    /// Binds a predicate (WHERE, ON, CHECK): the result must be boolean
    /// (42804 otherwise).
    pub fn bind_predicate(&mut self, expr: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let rel = RelScope::from_scope(scope);
        let e = self.bind(&mut Cx::new(&rel, "WHERE"), expr)?;
        self.coerce_bool(e, "WHERE")
    }

    /// Binds a predicate of `clause` in context `cx`.
    pub(crate) fn bind_bool(&mut self, cx: &mut Cx, expr: &ast::Expr, clause: &str) -> Result<Expr> {
        let e = self.bind(cx, expr)?;
        self.coerce_bool(e, clause)
    }

    /// Binds one expression in context `cx`. An error is pointed at the
    /// innermost expression that raised it.
    pub(crate) fn bind(&mut self, cx: &mut Cx, expr: &ast::Expr) -> Result<Expr> {
        use sqlparser::ast::Spanned;
        self.bind_node(cx, expr).map_err(|e| e.locate(expr.span().start))
    }

    fn bind_node(&mut self, cx: &mut Cx, expr: &ast::Expr) -> Result<Expr> {
        use ast::Expr as A;
        match expr {
            A::Identifier(id) => match self.resolve_column(cx, None, &ident_name(id)) {
                // `SELECT current_schema`, `current_catalog`: functions
                // PostgreSQL also accepts without parentheses.
                Err(e) if e.state == SqlState::UNDEFINED_COLUMN && id.quote_style.is_none() => {
                    let name = ident_name(id);
                    self.session_user_function(&name, 0).or_else(|| super::call::bare_system_function(&name)).ok_or(e)
                }
                other => other,
            },
            A::CompoundIdentifier(parts) => {
                let names: Vec<String> = parts.iter().map(ident_name).collect();
                match names.as_slice() {
                    [t, c] => self.resolve_column(cx, Some(t), c),
                    [_schema, t, c] => self.resolve_column(cx, Some(t), c),
                    _ => Err(Error::unsupported(format!("reference {expr}"))),
                }
            }
            A::Value(v) => self.bind_value(&v.value),
            A::TypedString(ts) => {
                let ty = data_type(&ts.data_type)?;
                let Some(text) = string_value(&ts.value.value) else {
                    return Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \"{}\"", ts.value));
                };
                Ok(Expr::Cast { expr: Box::new(Expr::Literal(Value::text(text), DataType::Text)), ty })
            }
            A::Interval(iv) => self.bind_interval(iv),
            A::Nested(e) => self.bind(cx, e),
            A::UnaryOp { op, expr } => self.bind_unary(cx, op, expr),
            A::BinaryOp { left, op, right } => match super::pg_functions::regex_operator(op) {
                Some((name, negated)) => self.bind_regex(cx, left, right, name, negated),
                None => self.bind_binary(cx, left, op, right),
            },
            A::IsNull(e) => Ok(Expr::IsNull { expr: Box::new(self.bind(cx, e)?), negated: false }),
            A::IsNotNull(e) => Ok(Expr::IsNull { expr: Box::new(self.bind(cx, e)?), negated: true }),
            A::IsTrue(e) => self.bind_is_bool(cx, e, Some(true), false, "IS TRUE"),
            A::IsNotTrue(e) => self.bind_is_bool(cx, e, Some(true), true, "IS NOT TRUE"),
            A::IsFalse(e) => self.bind_is_bool(cx, e, Some(false), false, "IS FALSE"),
            A::IsNotFalse(e) => self.bind_is_bool(cx, e, Some(false), true, "IS NOT FALSE"),
            A::IsUnknown(e) => self.bind_is_bool(cx, e, None, false, "IS UNKNOWN"),
            A::IsNotUnknown(e) => self.bind_is_bool(cx, e, None, true, "IS NOT UNKNOWN"),
            A::IsDistinctFrom(a, b) if row_items(a).is_some() && row_items(b).is_some() => {
                let (l, r) = (row_items(a).unwrap_or_default(), row_items(b).unwrap_or_default());
                self.bind_row_comparison(cx, BinaryOp::IsDistinctFrom, l, r)
            }
            A::IsNotDistinctFrom(a, b) if row_items(a).is_some() && row_items(b).is_some() => {
                let (l, r) = (row_items(a).unwrap_or_default(), row_items(b).unwrap_or_default());
                self.bind_row_comparison(cx, BinaryOp::IsNotDistinctFrom, l, r)
            }
            A::IsDistinctFrom(a, b) => {
                let (l, r) = (self.bind(cx, a)?, self.bind(cx, b)?);
                self.binary(BinaryOp::IsDistinctFrom, l, r)
            }
            A::IsNotDistinctFrom(a, b) => {
                let (l, r) = (self.bind(cx, a)?, self.bind(cx, b)?);
                self.binary(BinaryOp::IsNotDistinctFrom, l, r)
            }
            A::InList { expr, list, negated } => self.bind_in_list(cx, expr, list, *negated),
            A::InSubquery { expr, subquery, negated } => self.bind_in_subquery(cx, expr, subquery, *negated),
            A::Between { expr, negated, low, high } => self.bind_between(cx, expr, *negated, low, high),
            A::Like { negated, any, expr, pattern, escape_char } => {
                self.bind_like(cx, *any, expr, pattern, escape_char.as_deref(), false, *negated)
            }
            A::ILike { negated, any, expr, pattern, escape_char } => {
                self.bind_like(cx, *any, expr, pattern, escape_char.as_deref(), true, *negated)
            }
            A::Cast { kind, expr, data_type: dt, format } => {
                if !matches!(kind, ast::CastKind::Cast | ast::CastKind::DoubleColon) || format.is_some() {
                    return Err(Error::unsupported(format!("{kind:?}")));
                }
                if let Some(reg) = super::pg_functions::reg_type(dt) {
                    let e = self.bind(cx, expr)?;
                    return self.bind_reg_cast(e, reg);
                }
                let ty = data_type(dt)?;
                let e = self.bind(cx, expr)?;
                self.bind_cast(e, &ty)
            }
            A::Collate { expr, collation } => {
                let name = collation.to_string();
                let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).trim_matches('"').to_string();
                if !["C", "POSIX", "default", "ucs_basic"].contains(&name.as_str()) {
                    return Err(sql_err!(
                        UNDEFINED_OBJECT,
                        "collation \"{name}\" for encoding \"UTF8\" does not exist"
                    ));
                }
                self.bind(cx, expr)
            }
            A::Function(f) => self.bind_function(cx, f),
            A::Case { operand, conditions, else_result, .. } => {
                self.bind_case(cx, operand.as_deref(), conditions, else_result.as_deref())
            }
            A::Extract { field, expr, .. } => self.bind_extract(cx, field, expr),
            A::Ceil { expr, field } => self.bind_ceil_floor(cx, "ceil", expr, field),
            A::Floor { expr, field } => self.bind_ceil_floor(cx, "floor", expr, field),
            A::Position { expr, r#in } => self.bind_position(cx, expr, r#in),
            A::Substring { expr, substring_from, substring_for, .. } => {
                self.bind_substring(cx, expr, substring_from.as_deref(), substring_for.as_deref())
            }
            A::Trim { trim_where, trim_what, expr, trim_characters } => {
                self.bind_trim(cx, trim_where.as_ref(), trim_what.as_deref(), expr, trim_characters.as_deref())
            }
            A::AtTimeZone { timestamp, time_zone } => {
                let zone = self.bind(cx, time_zone)?;
                let ts = self.bind(cx, timestamp)?;
                self.call_scalar("timezone", vec![zone, ts])
            }
            A::Exists { subquery, negated } => self.bind_exists(cx, subquery, *negated),
            A::Subquery(q) => self.bind_scalar_subquery(cx, q),
            A::AnyOp { left, compare_op, right, .. } => self.bind_quantified(cx, left, compare_op, right, false),
            A::AllOp { left, compare_op, right } => self.bind_quantified(cx, left, compare_op, right, true),
            A::Wildcard(_) | A::QualifiedWildcard(..) => Err(sql_err!(SYNTAX_ERROR, "\"*\" is not allowed here")),
            A::Tuple(_) => Err(Error::unsupported("row constructors")),
            A::Array(array) => self.bind_array_constructor(cx, array),
            A::CompoundFieldAccess { root, access_chain } => self.bind_subscripts(cx, root, access_chain),
            other => Err(Error::unsupported(format!("expression {other}"))),
        }
    }

    /// A literal value.
    pub(crate) fn bind_value(&mut self, v: &ast::Value) -> Result<Expr> {
        use ast::Value as V;
        if let Some(s) = string_value(v) {
            return Ok(Expr::Literal(Value::text(s), DataType::Text));
        }
        match v {
            V::Number(n, _) => number_literal(n),
            V::Boolean(b) => Ok(Expr::Literal(Value::Bool(*b), DataType::Bool)),
            V::Null => Ok(Expr::Literal(Value::Null, DataType::Unknown)),
            V::Placeholder(p) => match p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => self.bind_param(n),
                None => Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \"{p}\"")),
            },
            V::DoubleQuotedString(s) => Err(sql_err!(UNDEFINED_COLUMN, "column \"{s}\" does not exist")),
            other => Err(Error::unsupported(format!("literal {other}"))),
        }
    }

    fn bind_interval(&mut self, iv: &ast::Interval) -> Result<Expr> {
        let text = match iv.value.as_ref() {
            ast::Expr::Value(v) => string_value(&v.value),
            _ => None,
        };
        let Some(mut text) = text else {
            return Err(Error::unsupported(format!("INTERVAL {}", iv.value)));
        };
        match (&iv.leading_field, &iv.last_field, iv.leading_precision, iv.fractional_seconds_precision) {
            (None, None, None, None) => {}
            (Some(field), None, None, None) => {
                text = format!("{text} {}", field.to_string().to_lowercase());
            }
            _ => return Err(Error::unsupported(format!("interval qualifiers in {iv}"))),
        }
        Ok(Expr::Cast { expr: Box::new(Expr::Literal(Value::text(text), DataType::Text)), ty: DataType::Interval })
    }

    fn bind_unary(&mut self, cx: &mut Cx, op: &ast::UnaryOperator, operand: &ast::Expr) -> Result<Expr> {
        let op = match op {
            ast::UnaryOperator::Not => {
                let e = self.bind_bool(cx, operand, "NOT")?;
                return Ok(Expr::Unary { op: UnaryOp::Not, expr: Box::new(e), ty: DataType::Bool });
            }
            ast::UnaryOperator::Minus => {
                // `-5` is a negative literal, so `-2147483648` is an integer.
                if let ast::Expr::Value(v) = operand
                    && let ast::Value::Number(n, _) = &v.value
                {
                    return number_literal(&format!("-{n}"));
                }
                UnaryOp::Neg
            }
            ast::UnaryOperator::Plus => UnaryOp::Plus,
            other => return Err(Error::unsupported(format!("operator {other}"))),
        };
        let mut e = self.bind(cx, operand)?;
        if is_untyped(&e) {
            // PostgreSQL resolves `-'1'` and `-$1` with a numeric operand.
            let ty = if matches!(e, Expr::Literal(Value::Text(_), _)) { DataType::Float8 } else { DataType::Int4 };
            e = self.coerce_implicit(e, &ty);
        }
        let ty = ops::resolve_unary(op, &e.ty())?;
        Ok(Expr::Unary { op, expr: Box::new(e), ty })
    }

    fn bind_binary(
        &mut self,
        cx: &mut Cx,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
    ) -> Result<Expr> {
        match binary_meaning(op)? {
            BinaryMeaning::Like { case_insensitive, negated } => {
                self.bind_like(cx, false, left, right, None, case_insensitive, negated)
            }
            BinaryMeaning::Op(op @ (BinaryOp::And | BinaryOp::Or)) => {
                let what = if op == BinaryOp::And { "AND" } else { "OR" };
                let l = self.bind_bool(cx, left, what)?;
                let r = self.bind_bool(cx, right, what)?;
                Ok(Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool })
            }
            BinaryMeaning::Op(op) => {
                if let (Some(l), Some(r)) = (row_items(left), row_items(right)) {
                    return self.bind_row_comparison(cx, op, l, r);
                }
                let l = self.bind(cx, left)?;
                let r = self.bind(cx, right)?;
                self.binary(op, l, r)
            }
        }
    }

    /// `left op right` over bound operands: untyped operands take the other
    /// side's type, then `ops::resolve_binary` decides and its casts are
    /// applied.
    pub(crate) fn binary(&mut self, op: BinaryOp, left: Expr, right: Expr) -> Result<Expr> {
        if matches!(op, BinaryOp::And | BinaryOp::Or) {
            let what = if op == BinaryOp::And { "AND" } else { "OR" };
            let l = self.coerce_bool(left, what)?;
            let r = self.coerce_bool(right, what)?;
            return Ok(Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool });
        }
        let (left, right) = self.type_operands(op, left, right);
        let sig = ops::resolve_binary(op, &left.ty(), &right.ty())?;
        let left = self.apply_cast(left, sig.left_cast);
        let right = self.apply_cast(right, sig.right_cast);
        Ok(Expr::Binary { op, left: Box::new(left), right: Box::new(right), ty: sig.result })
    }

    /// Gives untyped operands of a binary operator their type from the other
    /// side, as PostgreSQL's operator resolution does for `unknown`.
    fn type_operands(&mut self, op: BinaryOp, left: Expr, right: Expr) -> (Expr, Expr) {
        let (lu, ru) = (is_untyped(&left), is_untyped(&right));
        let json = matches!(op, BinaryOp::JsonGet | BinaryOp::JsonGetText);
        if json {
            let l = if lu { self.coerce_implicit(left, &DataType::Jsonb) } else { left };
            let r = if ru { self.coerce_implicit(right, &DataType::Text) } else { right };
            return (l, r);
        }
        if op == BinaryOp::Concat {
            let l = if lu { self.coerce_implicit(left, &DataType::Text) } else { left };
            let r = if ru { self.coerce_implicit(right, &DataType::Text) } else { right };
            return (l, r);
        }
        match (lu, ru) {
            (true, true) => (self.coerce_implicit(left, &DataType::Text), self.coerce_implicit(right, &DataType::Text)),
            (true, false) => {
                let ty = untyped_target(op, &right.ty());
                (self.coerce_implicit(left, &ty), right)
            }
            (false, true) => {
                let ty = untyped_target(op, &left.ty());
                let r = self.coerce_implicit(right, &ty);
                (left, r)
            }
            (false, false) => (left, right),
        }
    }

    /// Casts `expr` to `ty` when asked to.
    pub(crate) fn apply_cast(&mut self, expr: Expr, ty: Option<DataType>) -> Expr {
        match ty {
            None => expr,
            Some(t) => {
                let e = self.type_unknown(expr, &t);
                if e.ty() == t { e } else { Expr::Cast { expr: Box::new(e), ty: t } }
            }
        }
    }

    fn bind_is_bool(
        &mut self,
        cx: &mut Cx,
        e: &ast::Expr,
        value: Option<bool>,
        negated: bool,
        what: &str,
    ) -> Result<Expr> {
        let e = self.bind_bool(cx, e, what)?;
        Ok(Expr::IsBool { expr: Box::new(e), value, negated })
    }

    fn bind_between(
        &mut self,
        cx: &mut Cx,
        e: &ast::Expr,
        negated: bool,
        low: &ast::Expr,
        high: &ast::Expr,
    ) -> Result<Expr> {
        let x = self.bind(cx, e)?;
        let lo = self.bind(cx, low)?;
        let hi = self.bind(cx, high)?;
        let (op1, op2, join) = if negated {
            (BinaryOp::Lt, BinaryOp::Gt, BinaryOp::Or)
        } else {
            (BinaryOp::GtEq, BinaryOp::LtEq, BinaryOp::And)
        };
        let a = self.binary(op1, x.clone(), lo)?;
        let b = self.binary(op2, x, hi)?;
        Ok(Expr::Binary { op: join, left: Box::new(a), right: Box::new(b), ty: DataType::Bool })
    }

    pub(crate) fn bind_in_list(
        &mut self,
        cx: &mut Cx,
        e: &ast::Expr,
        list: &[ast::Expr],
        negated: bool,
    ) -> Result<Expr> {
        if let Some(fields) = row_items(e) {
            return self.bind_row_in_list(cx, fields, list, negated);
        }
        let probe = self.bind(cx, e)?;
        let items = list.iter().map(|i| self.bind(cx, i)).collect::<Result<Vec<_>>>()?;
        let mut types = vec![typed(&probe)];
        types.extend(items.iter().map(typed));
        match common_type(&types, "IN") {
            Ok(ty) => {
                let probe = self.coerce_implicit(probe, &ty);
                let list = items.into_iter().map(|i| self.coerce_implicit(i, &ty)).collect();
                Ok(Expr::InList { expr: Box::new(probe), list, negated })
            }
            Err(_) => {
                // No common type: `x = a OR x = b …`, each resolved alone.
                let mut acc: Option<Expr> = None;
                for item in items {
                    let eq = self.binary(BinaryOp::Eq, probe.clone(), item)?;
                    acc = Some(match acc {
                        None => eq,
                        Some(a) => Expr::Binary {
                            op: BinaryOp::Or,
                            left: Box::new(a),
                            right: Box::new(eq),
                            ty: DataType::Bool,
                        },
                    });
                }
                let acc = acc.ok_or_else(|| sql_err!(SYNTAX_ERROR, "syntax error at or near \")\""))?;
                Ok(if negated {
                    Expr::Unary { op: UnaryOp::Not, expr: Box::new(acc), ty: DataType::Bool }
                } else {
                    acc
                })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_like(
        &mut self,
        cx: &mut Cx,
        any: bool,
        e: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        case_insensitive: bool,
        negated: bool,
    ) -> Result<Expr> {
        if any {
            return Err(Error::unsupported("LIKE ANY"));
        }
        let op = if case_insensitive { "~~*" } else { "~~" };
        let x = self.bind(cx, e)?;
        let p = self.bind(cx, pattern)?;
        let (xt, pt) = (x.ty(), p.ty());
        let string_like = |e: &Expr| e.ty().is_string() || is_untyped(e);
        if !string_like(&x) || !string_like(&p) {
            return Err(sql_err!(UNDEFINED_FUNCTION, "operator does not exist: {xt} {op} {pt}"));
        }
        let x = self.coerce_implicit(x, &DataType::Text);
        let p = self.coerce_implicit(p, &DataType::Text);
        let escape = match escape {
            None => None,
            Some(ast::Expr::Value(v)) => match string_value(&v.value) {
                Some(s) => {
                    let mut chars = s.chars();
                    match (chars.next(), chars.next()) {
                        // An empty ESCAPE turns escaping off: NUL never
                        // occurs in a text value, so it escapes nothing.
                        (None, _) => Some('\0'),
                        (Some(c), None) => Some(c),
                        _ => {
                            return Err(Error::new(SqlState::INVALID_ESCAPE_SEQUENCE, "invalid escape string"));
                        }
                    }
                }
                None => return Err(Error::unsupported("a non-literal ESCAPE")),
            },
            Some(_) => return Err(Error::unsupported("a non-literal ESCAPE")),
        };
        Ok(Expr::Like { expr: Box::new(x), pattern: Box::new(p), escape, case_insensitive, negated })
    }
}

/// The type an untyped operand takes opposite a typed operand of type
/// `other`: the same type, except `timestamp + '1 day'` (interval) and
/// `interval * '2'` (float8).
fn untyped_target(op: BinaryOp, other: &DataType) -> DataType {
    match (op, other) {
        (BinaryOp::Add, DataType::Date | DataType::Timestamp | DataType::TimestampTz) => DataType::Interval,
        (BinaryOp::Mul | BinaryOp::Div, DataType::Interval) => DataType::Float8,
        // pgvector's operators take `vector`: the literal keeps its own
        // dimension, so `v <-> '[1,2]'` is "different vector dimensions".
        (_, DataType::Vector(_)) => DataType::Vector(None),
        (_, t) => t.clone(),
    }
}
