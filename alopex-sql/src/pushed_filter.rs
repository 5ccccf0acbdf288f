//! # SQL predicates as programs a store evaluates where the rows live
//!
//! A distributed store (`KvStore::pushes_filters`) can evaluate a filter in
//! its ranges and ship only the matching rows
//! (`alopex_core::scan_filter`, `docs/transactions.md`, "Filtered scans").
//! The store does not know SQL, so this module turns the simple part of a
//! SQL predicate into an opaque program of codec [`SQL_FILTER_CODEC`], and
//! registers ([`register`]) the decoder that turns such a program back into
//! an evaluator. The evaluator decodes the stored row with the table's
//! schema carried in the program and runs the **executor's own**
//! expression evaluator ([`eval_predicate`]) on it, so a pushed predicate
//! cannot disagree with the `Filter` operator: only TRUE passes, NULL and
//! FALSE reject (three-valued logic).
//!
//! **What is pushed** ([`pushable`]): column references, constants, `= <> <
//! <= > >=`, AND/OR/NOT, IS \[NOT\] NULL, BETWEEN (bound to comparisons),
//! IN (list of constants), LIKE on text (case-sensitive), and numeric casts
//! that cannot fail (widening),
//! over types that evaluate without session context: bool, the integers,
//! the floats, numeric, text/varchar, bytea, date. Not timestamptz (its
//! text form depends on the session's time zone), jsonb, vectors, arrays,
//! functions or subqueries. [`pushable_part`] keeps the conjuncts of a
//! predicate that qualify; the rest stay only in the `Filter`, which stays
//! above the scan in any case: pushing only ever removes rows the `Filter`
//! would remove.
//!
//! ## Format
//!
//! ```text
//! program := "APF" version:u8(=1) schema:bytes expr
//! schema  := uvarint length, encoding::schema::encode_table bytes
//! expr    := 0x01 column:uvarint type                 (Column)
//!          | 0x02 type 0x00                           (NULL literal)
//!          | 0x02 type 0x01 value:keycode             (literal)
//!          | 0x03 expr                                (NOT)
//!          | 0x04 op:u8 type left:expr right:expr     (op: 0 = 1 <> 2 < 3 <= 4 > 5 >= 6 AND 7 OR)
//!          | 0x05 negated:u8 expr                     (IS [NOT] NULL)
//!          | 0x06 negated:u8 escape expr pattern:expr (LIKE; escape: 0x00 | 0x01 uvarint char)
//!          | 0x07 negated:u8 n:uvarint expr list:expr*n (IN)
//!          | 0x08 type expr                           (CAST)
//! type    := encoding::schema's type encoding
//! ```
//!
//! Nesting is limited to [`MAX_DEPTH`] levels; a program that does not
//! decode, or names a column the schema lacks, is refused with an error
//! (never evaluated as "no match").

use std::sync::Arc;

use alopex_core::scan_filter::{RowPredicate, ScanFilter, register_codec};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::catalog::TableSchema;
use crate::encoding::keycode;
use crate::encoding::row::decode_row;
use crate::encoding::schema::{decode_table, decode_type, encode_table, encode_type};
use crate::encoding::varint::{corrupt, get_uvarint, put_uvarint};
use crate::error::{Error, Result};
use crate::expr::eval::{EvalEnv, eval_predicate};
use crate::expr::{BinaryOp, Expr, Subquery, UnaryOp};
use crate::types::{DataType, Value};

/// The codec number of SQL filter programs ("SQL1").
pub const SQL_FILTER_CODEC: u32 = 0x5351_4C31;

/// The deepest expression a program may nest.
pub const MAX_DEPTH: usize = 128;

const MAGIC: &[u8; 3] = b"APF";
const VERSION: u8 = 1;

/// Registers the SQL codec in this process (idempotent).
pub fn register() -> alopex_core::Result<()> {
    register_codec(SQL_FILTER_CODEC, "alopex-sql/1", decode_program)
}

fn pushable_type(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Bool
            | DataType::Int2
            | DataType::Int4
            | DataType::Int8
            | DataType::Float4
            | DataType::Float8
            | DataType::Numeric(_)
            | DataType::Text
            | DataType::Varchar(_)
            | DataType::Bytea
            | DataType::Date
    )
}

/// A numeric cast that cannot fail: to a wider integer, to a float or to
/// an unconstrained numeric.
fn widening(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    match to {
        Int4 => matches!(from, Int2 | Int4),
        Int8 => matches!(from, Int2 | Int4 | Int8),
        Float8 => matches!(from, Int2 | Int4 | Int8 | Float4 | Float8),
        Numeric(None) => matches!(from, Int2 | Int4 | Int8 | Numeric(_)),
        _ => false,
    }
}

fn text_type(ty: &DataType) -> bool {
    matches!(ty, DataType::Text | DataType::Varchar(_))
}

fn is_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(_, ty) if pushable_type(ty) || *ty == DataType::Unknown)
}

/// Whether `expr`, over rows of `table`, can be pushed (see the module
/// documentation).
pub fn pushable(expr: &Expr, table: &TableSchema) -> bool {
    pushable_at(expr, table, 0)
}

fn pushable_at(expr: &Expr, table: &TableSchema, depth: usize) -> bool {
    if depth >= MAX_DEPTH {
        return false;
    }
    let sub = |e: &Expr| pushable_at(e, table, depth + 1);
    match expr {
        Expr::Literal(_, ty) => pushable_type(ty) || *ty == DataType::Unknown,
        Expr::Column(i, ty) => pushable_type(ty) && table.columns.get(*i).is_some_and(|c| c.ty == *ty),
        Expr::Unary { op: UnaryOp::Not, expr, .. } => sub(expr),
        Expr::Binary { op, left, right, ty } => {
            binary_tag(*op).is_some() && *ty == DataType::Bool && sub(left) && sub(right)
        }
        Expr::IsNull { expr, .. } => sub(expr),
        Expr::Like { expr, pattern, case_insensitive: false, .. } => {
            is_literal(pattern) && sub(expr) && matches!(&**expr, Expr::Column(_, ty) if text_type(ty))
        }
        Expr::InList { expr, list, .. } => sub(expr) && list.iter().all(is_literal),
        Expr::Cast { expr, ty } => expr_type(expr).is_some_and(|from| widening(&from, ty)) && sub(expr),
        _ => false,
    }
}

fn expr_type(e: &Expr) -> Option<DataType> {
    match e {
        Expr::Literal(_, ty) | Expr::Column(_, ty) | Expr::Cast { ty, .. } | Expr::Binary { ty, .. } => {
            Some(ty.clone())
        }
        _ => None,
    }
}

/// The AND of the conjuncts of `predicate` that can be pushed, if any.
pub fn pushable_part(predicate: &Expr, table: &TableSchema) -> Option<Expr> {
    let mut parts = Vec::new();
    conjuncts(predicate, &mut parts);
    parts.into_iter().filter(|c| pushable(c, table)).cloned().reduce(|a, b| Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(a),
        right: Box::new(b),
        ty: DataType::Bool,
    })
}

fn conjuncts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::Binary { op: BinaryOp::And, left, right, .. } => {
            conjuncts(left, out);
            conjuncts(right, out);
        }
        other => out.push(other),
    }
}

fn binary_tag(op: BinaryOp) -> Option<u8> {
    Some(match op {
        BinaryOp::Eq => 0,
        BinaryOp::NotEq => 1,
        BinaryOp::Lt => 2,
        BinaryOp::LtEq => 3,
        BinaryOp::Gt => 4,
        BinaryOp::GtEq => 5,
        BinaryOp::And => 6,
        BinaryOp::Or => 7,
        _ => return None,
    })
}

fn binary_op(tag: u8) -> Result<BinaryOp> {
    Ok(match tag {
        0 => BinaryOp::Eq,
        1 => BinaryOp::NotEq,
        2 => BinaryOp::Lt,
        3 => BinaryOp::LtEq,
        4 => BinaryOp::Gt,
        5 => BinaryOp::GtEq,
        6 => BinaryOp::And,
        7 => BinaryOp::Or,
        other => return Err(corrupt(format!("pushed filter: unknown operator {other}"))),
    })
}

/// Encodes `expr` (which must be [`pushable`]) over rows of `table`.
pub fn encode(table: &TableSchema, expr: &Expr) -> Result<ScanFilter> {
    if !pushable(expr, table) {
        return Err(Error::internal("encoding a predicate that cannot be pushed"));
    }
    let mut out = MAGIC.to_vec();
    out.push(VERSION);
    let schema = encode_table(table);
    put_uvarint(&mut out, schema.len() as u64);
    out.extend_from_slice(&schema);
    encode_expr(expr, &mut out)?;
    Ok(ScanFilter { codec: SQL_FILTER_CODEC, program: Bytes::from(out) })
}

fn encode_expr(expr: &Expr, out: &mut Vec<u8>) -> Result<()> {
    match expr {
        Expr::Column(i, ty) => {
            out.push(0x01);
            put_uvarint(out, *i as u64);
            encode_type(ty, out);
        }
        Expr::Literal(v, ty) => {
            out.push(0x02);
            encode_type(ty, out);
            if v.is_null() {
                out.push(0);
            } else {
                out.push(1);
                keycode::encode_value(v, ty, out)?;
            }
        }
        Expr::Unary { op: UnaryOp::Not, expr, .. } => {
            out.push(0x03);
            encode_expr(expr, out)?;
        }
        Expr::Binary { op, left, right, ty } => {
            let tag = binary_tag(*op).ok_or_else(|| Error::internal("operator cannot be pushed"))?;
            out.extend_from_slice(&[0x04, tag]);
            encode_type(ty, out);
            encode_expr(left, out)?;
            encode_expr(right, out)?;
        }
        Expr::IsNull { expr, negated } => {
            out.extend_from_slice(&[0x05, u8::from(*negated)]);
            encode_expr(expr, out)?;
        }
        Expr::Like { expr, pattern, escape, negated, .. } => {
            out.extend_from_slice(&[0x06, u8::from(*negated)]);
            match escape {
                None => out.push(0),
                Some(c) => {
                    out.push(1);
                    put_uvarint(out, u64::from(u32::from(*c)));
                }
            }
            encode_expr(expr, out)?;
            encode_expr(pattern, out)?;
        }
        Expr::InList { expr, list, negated } => {
            out.extend_from_slice(&[0x07, u8::from(*negated)]);
            put_uvarint(out, list.len() as u64);
            encode_expr(expr, out)?;
            for e in list {
                encode_expr(e, out)?;
            }
        }
        Expr::Cast { expr, ty } => {
            out.push(0x08);
            encode_type(ty, out);
            encode_expr(expr, out)?;
        }
        _ => return Err(Error::internal("expression cannot be pushed")),
    }
    Ok(())
}

fn get_u8(input: &mut &[u8]) -> Result<u8> {
    let (&b, rest) = input.split_first().ok_or_else(|| corrupt("pushed filter: truncated"))?;
    *input = rest;
    Ok(b)
}

fn get_flag(input: &mut &[u8]) -> Result<bool> {
    match get_u8(input)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(corrupt(format!("pushed filter: bad flag {other}"))),
    }
}

fn decode_expr(input: &mut &[u8], table: &TableSchema, depth: usize) -> Result<Expr> {
    if depth >= MAX_DEPTH {
        return Err(corrupt("pushed filter: nested too deeply"));
    }
    let sub = |input: &mut &[u8]| decode_expr(input, table, depth + 1).map(Box::new);
    Ok(match get_u8(input)? {
        0x01 => {
            let i = usize::try_from(get_uvarint(input)?).map_err(|_| corrupt("pushed filter: bad column"))?;
            let ty = decode_type(input)?;
            if table.columns.get(i).is_none_or(|c| c.ty != ty) {
                return Err(corrupt(format!("pushed filter: column {i} of type {ty} is not in the table")));
            }
            Expr::Column(i, ty)
        }
        0x02 => {
            let ty = decode_type(input)?;
            let v = if get_flag(input)? { keycode::decode_value(input, &ty)? } else { Value::Null };
            Expr::Literal(v, ty)
        }
        0x03 => Expr::Unary { op: UnaryOp::Not, expr: sub(input)?, ty: DataType::Bool },
        0x04 => {
            let op = binary_op(get_u8(input)?)?;
            let ty = decode_type(input)?;
            let left = sub(input)?;
            let right = sub(input)?;
            Expr::Binary { op, left, right, ty }
        }
        0x05 => {
            let negated = get_flag(input)?;
            Expr::IsNull { expr: sub(input)?, negated }
        }
        0x06 => {
            let negated = get_flag(input)?;
            let escape = if get_flag(input)? {
                let c = u32::try_from(get_uvarint(input)?).ok().and_then(char::from_u32);
                Some(c.ok_or_else(|| corrupt("pushed filter: bad escape character"))?)
            } else {
                None
            };
            let expr = sub(input)?;
            let pattern = sub(input)?;
            Expr::Like { expr, pattern, escape, case_insensitive: false, negated }
        }
        0x07 => {
            let negated = get_flag(input)?;
            let n = get_uvarint(input)?;
            if n > input.len() as u64 {
                return Err(corrupt("pushed filter: list longer than the program"));
            }
            let expr = sub(input)?;
            let mut list = Vec::with_capacity(n as usize);
            for _ in 0..n {
                list.push(decode_expr(input, table, depth + 1)?);
            }
            Expr::InList { expr, list, negated }
        }
        0x08 => {
            let ty = decode_type(input)?;
            Expr::Cast { expr: sub(input)?, ty }
        }
        other => return Err(corrupt(format!("pushed filter: unknown expression tag {other}"))),
    })
}

/// Decodes a program (the codec's registered decoder).
pub fn decode_program(program: &[u8]) -> alopex_core::Result<Arc<dyn RowPredicate>> {
    decode(program).map_err(|e| alopex_core::Error::InvalidArgument(format!("SQL scan filter: {e}")))
}

fn decode(program: &[u8]) -> Result<Arc<dyn RowPredicate>> {
    let mut input = program;
    if input.len() < 4 || &input[..3] != MAGIC {
        return Err(corrupt("pushed filter: bad magic"));
    }
    if input[3] != VERSION {
        return Err(corrupt(format!("pushed filter: unknown version {}", input[3])));
    }
    input = &input[4..];
    let len = usize::try_from(get_uvarint(&mut input)?).map_err(|_| corrupt("pushed filter: bad length"))?;
    let schema = input.get(..len).ok_or_else(|| corrupt("pushed filter: truncated schema"))?;
    let table = decode_table(schema)?;
    input = &input[len..];
    let expr = decode_expr(&mut input, &table, 0)?;
    if !input.is_empty() {
        return Err(corrupt("pushed filter: trailing bytes"));
    }
    if !pushable(&expr, &table) {
        return Err(corrupt("pushed filter: the program holds an expression that is not pushed"));
    }
    Ok(Arc::new(SqlPredicate { table, expr }))
}

/// A decoded program: the table's schema and the predicate over its rows.
struct SqlPredicate {
    table: TableSchema,
    expr: Expr,
}

impl RowPredicate for SqlPredicate {
    /// A row the predicate cannot evaluate (a cast that overflows, a row
    /// that does not decode) is **kept**: the scan's own filter evaluates
    /// the whole predicate on it and raises the error if, and only if, the
    /// executor would (it may never get there, e.g. behind a FALSE conjunct
    /// that was not pushed).
    fn matches(&self, _key: &[u8], value: &[u8]) -> alopex_core::Result<bool> {
        let eval = || -> Result<bool> {
            let row = decode_row(&self.table, value)?;
            eval_predicate(&self.expr, &row, &mut DetachedEnv)
        };
        Ok(eval().unwrap_or(true))
    }
}

/// The environment of a pushed predicate: no session, no parameters, no
/// subqueries (a pushed predicate never asks; asking is an error).
struct DetachedEnv;

impl EvalEnv for DetachedEnv {
    fn param(&self, _index: usize) -> Result<Value> {
        Err(Error::internal("parameter in a pushed filter"))
    }

    fn outer(&self, _depth: usize, _index: usize) -> Result<Value> {
        Err(Error::internal("outer reference in a pushed filter"))
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }

    fn scalar_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Value> {
        Err(Error::internal("subquery in a pushed filter"))
    }

    fn exists_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<bool> {
        Err(Error::internal("subquery in a pushed filter"))
    }

    fn subquery_values(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Arc<Vec<Value>>> {
        Err(Error::internal("subquery in a pushed filter"))
    }
}

#[cfg(test)]
mod tests;
