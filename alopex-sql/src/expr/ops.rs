//! Operators: their type rules and their evaluation on values.
//!
//! OWNER: expressions helper. Keep the enums' variant names stable: the
//! binder and optimizer match on them.

use crate::error::Result;
use crate::types::{DataType, Value};

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
    let _ = (op, left, right);
    todo!("expressions helper")
}

/// Resolves a unary operator: the result type (42883 when it does not apply).
pub fn resolve_unary(op: UnaryOp, operand: &DataType) -> Result<DataType> {
    let _ = (op, operand);
    todo!("expressions helper")
}

/// Evaluates `left op right` (operands already evaluated; AND/OR are
/// short-circuited by `eval`, but this must still give the three-valued
/// answer when called). `ty` is the bound result type, whose width decides
/// integer overflow (22003).
pub fn binary(op: BinaryOp, left: &Value, right: &Value, ty: &DataType) -> Result<Value> {
    let _ = (op, left, right, ty);
    todo!("expressions helper")
}

/// Evaluates a unary operator.
pub fn unary(op: UnaryOp, operand: &Value, ty: &DataType) -> Result<Value> {
    let _ = (op, operand, ty);
    todo!("expressions helper")
}

/// SQL comparison with three-valued logic: None when either side is NULL.
pub fn compare(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    if left.is_null() || right.is_null() {
        return None;
    }
    Some(left.total_cmp(right))
}
