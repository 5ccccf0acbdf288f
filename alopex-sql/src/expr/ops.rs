//! Operators: their type rules and their evaluation on values.
//!
//! Resolution ([`resolve_binary`], [`resolve_unary`], [`common_type`]) runs
//! once in the binder and decides the result type and the implicit casts,
//! following PostgreSQL's operator table (see the `resolve` submodule).
//! Evaluation ([`binary`], [`unary`]) then works on values that already have
//! the right tags; it still accepts mixed numeric tags (an `Int` with a
//! `Numeric`) by promoting, so a missing cast costs precision at worst, never
//! a wrong comparison.
//!
//! Everything except AND, OR and IS \[NOT\] DISTINCT FROM is strict: a NULL
//! operand gives NULL. The arithmetic itself lives in `arith` (numbers),
//! `datetime` (dates, timestamps, intervals) and `json`; comparison
//! semantics in `compare`; pgvector's operators (`<->`, `<=>`, `<#>` and
//! elementwise `+ - *`) with the vector functions in `expr::func::vector`.
//!
//! Keep the enums' variant names stable: the binder and optimizer match on
//! them.

pub(crate) mod arith;
pub(crate) mod compare;
pub(crate) mod datetime;
pub(crate) mod json;
mod resolve;

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::expr::cast;
use crate::expr::func::vector;
use crate::types::{DataType, Value};

pub use resolve::common_type;
pub(crate) use resolve::{base as base_type, comparison as comparison_casts};

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
    /// `NOT x` (three-valued).
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/` (integer division truncates; 22012 on zero).
    Div,
    /// `%`.
    Mod,
    /// `^` (power).
    Pow,
    /// `=`.
    Eq,
    /// `<>` / `!=`.
    NotEq,
    /// `<`.
    Lt,
    /// `<=`.
    LtEq,
    /// `>`.
    Gt,
    /// `>=`.
    GtEq,
    /// `AND` (three-valued).
    And,
    /// `OR` (three-valued).
    Or,
    /// `||` string (and bytea, jsonb) concatenation.
    Concat,
    /// `IS DISTINCT FROM` (never NULL).
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM` (never NULL).
    IsNotDistinctFrom,
    /// jsonb `->` (object field by text, array element by int).
    JsonGet,
    /// jsonb `->>` (as text).
    JsonGetText,
    /// `&` bitwise and.
    BitAnd,
    /// `|` bitwise or.
    BitOr,
    /// `#` bitwise xor.
    BitXor,
    /// `<<`.
    ShiftLeft,
    /// `>>`.
    ShiftRight,
    /// pgvector `<->`: L2 distance.
    L2Distance,
    /// pgvector `<=>`: cosine distance.
    CosineDistance,
    /// pgvector `<#>`: negative inner product.
    NegInnerProduct,
}

impl BinaryOp {
    /// True for `= <> < <= > >=`.
    pub fn is_comparison(&self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::NotEq | BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq)
    }

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`), for
    /// comparisons.
    pub fn flip(&self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => *other,
        }
    }

    /// The SQL spelling, for EXPLAIN.
    pub fn symbol(&self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Concat => "||",
            BinaryOp::IsDistinctFrom => "IS DISTINCT FROM",
            BinaryOp::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
            BinaryOp::JsonGet => "->",
            BinaryOp::JsonGetText => "->>",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "#",
            BinaryOp::ShiftLeft => "<<",
            BinaryOp::ShiftRight => ">>",
            BinaryOp::L2Distance => "<->",
            BinaryOp::CosineDistance => "<=>",
            BinaryOp::NegInnerProduct => "<#>",
        }
    }
}

/// The resolved signature of a binary operator: the result type and the
/// types each operand must be cast to first (None = already right).
#[derive(Debug, Clone, PartialEq)]
pub struct BinarySig {
    /// The result type.
    pub result: DataType,
    /// Cast for the left operand.
    pub left_cast: Option<DataType>,
    /// Cast for the right operand.
    pub right_cast: Option<DataType>,
}

/// Resolves `left op right` for the binder, following PostgreSQL's implicit
/// coercions (int2 < int4 < int8 < numeric < float8; an `Unknown` operand,
/// i.e. a NULL literal or an untyped parameter, takes the other side's
/// type; text literals compared with dates/timestamps are cast to them).
/// 42883 `operator does not exist: text + integer` when no rule applies.
pub fn resolve_binary(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    resolve::binary(op, left, right)
}

/// Resolves a unary operator: the result type (42883 when it does not apply).
pub fn resolve_unary(op: UnaryOp, operand: &DataType) -> Result<DataType> {
    resolve::unary(op, operand)
}

/// Evaluates `left op right` (operands already evaluated; AND/OR are
/// short-circuited by `eval`, but this must still give the three-valued
/// answer when called). `ty` is the bound result type, whose width decides
/// integer overflow (22003).
pub fn binary(op: BinaryOp, left: &Value, right: &Value, ty: &DataType) -> Result<Value> {
    use BinaryOp::*;
    match op {
        And => return Ok(bool_value(and3(truth(left)?, truth(right)?))),
        Or => return Ok(bool_value(or3(truth(left)?, truth(right)?))),
        IsDistinctFrom | IsNotDistinctFrom => {
            let same = match (left.is_null(), right.is_null()) {
                (true, true) => true,
                (false, false) => compare::sql_eq(left, right)?,
                _ => false,
            };
            return Ok(Value::Bool(same == (op == IsNotDistinctFrom)));
        }
        _ => {}
    }
    if left.is_null() || right.is_null() {
        return Ok(Value::Null);
    }
    Ok(match op {
        Eq | NotEq | Lt | LtEq | Gt | GtEq => {
            let ord = compare::sql_cmp(left, right)?;
            Value::Bool(match op {
                Eq => ord == Ordering::Equal,
                NotEq => ord != Ordering::Equal,
                Lt => ord == Ordering::Less,
                LtEq => ord != Ordering::Greater,
                Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        Concat => concat(left, right, ty)?,
        JsonGet | JsonGetText => match left {
            Value::Json(j) => json::get(j, right, op == JsonGetText)?,
            other => return Err(Error::internal(format!("{} applied to {other:?}", op.symbol()))),
        },
        BitAnd | BitOr | BitXor | ShiftLeft | ShiftRight => match (left, right) {
            (Value::Int(a), Value::Int(b)) => Value::Int(bitwise(op, *a, *b, ty)),
            _ => return Err(Error::internal(format!("{} applied to non-integers", op.symbol()))),
        },
        L2Distance | CosineDistance | NegInnerProduct => vector::distance(op, left, right)?,
        Add | Sub | Mul if matches!(left, Value::Vector(_)) => vector::arith(op, left, right)?,
        Add | Sub | Mul | Div | Mod | Pow => {
            let is_number = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_) | Value::Numeric(_));
            if is_number(left) && is_number(right) {
                arith::arith(op, left, right, ty)?
            } else {
                match datetime::arith(op, left, right)? {
                    Some(v) => v,
                    None => {
                        return Err(resolve::no_operator(op.symbol(), &left.data_type(), &right.data_type()));
                    }
                }
            }
        }
        And | Or | IsDistinctFrom | IsNotDistinctFrom => {
            return Err(Error::internal("logical operator fell through"));
        }
    })
}

/// Evaluates a unary operator.
pub fn unary(op: UnaryOp, operand: &Value, ty: &DataType) -> Result<Value> {
    Ok(match (op, operand) {
        (UnaryOp::Not, v) => bool_value(truth(v)?.map(|b| !b)),
        (_, Value::Null) => Value::Null,
        (UnaryOp::Plus, v) => v.clone(),
        (UnaryOp::Neg, Value::Int(i)) => Value::Int(cast::numeric::check_int(-(*i as i128), ty)?),
        (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
        (UnaryOp::Neg, Value::Numeric(d)) => Value::Numeric(-*d),
        (UnaryOp::Neg, Value::Interval(i)) => Value::Interval(datetime::negate(i)?),
        (UnaryOp::Neg, other) => {
            return Err(resolve::no_operator("-", &DataType::Unknown, &other.data_type()));
        }
    })
}

/// A boolean operand: None for NULL.
pub(crate) fn truth(v: &Value) -> Result<Option<bool>> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(Error::internal(format!("expected a boolean, got {other:?}"))),
    }
}

/// Three-valued AND.
pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// Three-valued OR.
pub(crate) fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// A three-valued boolean as a value.
pub(crate) fn bool_value(b: Option<bool>) -> Value {
    b.map_or(Value::Null, Value::Bool)
}

/// `||`: bytea and jsonb concatenate as themselves, everything else as text
/// (each side cast to text, so a boolean reads `true`).
fn concat(left: &Value, right: &Value, ty: &DataType) -> Result<Value> {
    Ok(match (left, right, ty) {
        (Value::Bytes(a), Value::Bytes(b), _) => Value::Bytes([a.as_ref(), b.as_ref()].concat().into()),
        (Value::Json(a), Value::Json(b), _) => json::concat(a, b),
        (Value::Array(a), Value::Array(b), _) => Value::Array([a.as_ref(), b.as_ref()].concat().into()),
        (_, _, DataType::Jsonb | DataType::Bytea) => {
            return concat(&cast::cast(left, ty)?, &cast::cast(right, ty)?, &DataType::Text);
        }
        _ => {
            let mut s = cast::cast_text(left);
            s.push_str(&cast::cast_text(right));
            Value::text(s)
        }
    })
}

/// Bitwise operators at the width of `ty`. Shifts behave like C's on
/// x86-64 (the count is taken modulo the width), as PostgreSQL's do.
fn bitwise(op: BinaryOp, a: i64, b: i64, ty: &DataType) -> i64 {
    let count = b as u32;
    match (op, ty) {
        (BinaryOp::BitAnd, _) => a & b,
        (BinaryOp::BitOr, _) => a | b,
        (BinaryOp::BitXor, _) => a ^ b,
        (BinaryOp::ShiftLeft, DataType::Int2) => (a as i32).wrapping_shl(count) as i16 as i64,
        (BinaryOp::ShiftRight, DataType::Int2) => (a as i32).wrapping_shr(count) as i16 as i64,
        (BinaryOp::ShiftLeft, DataType::Int4) => (a as i32).wrapping_shl(count) as i64,
        (BinaryOp::ShiftRight, DataType::Int4) => (a as i32).wrapping_shr(count) as i64,
        (BinaryOp::ShiftLeft, _) => a.wrapping_shl(count),
        _ => a.wrapping_shr(count),
    }
}

/// SQL comparison with three-valued logic: None when either side is NULL.
pub fn compare(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    if left.is_null() || right.is_null() {
        return None;
    }
    Some(left.total_cmp(right))
}

#[cfg(test)]
mod tests;
