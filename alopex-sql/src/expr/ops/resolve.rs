//! Operator type resolution: which operator a pair of operand types means,
//! its result type, and which operand needs an implicit cast first.
//!
//! This is PostgreSQL's operator resolution (`oper_select_candidate`)
//! specialized to the built-in operators, written as rules rather than a
//! search over `pg_operator`:
//!
//! * numbers: integers of different widths combine without casts into the
//!   wider width (`int2 + int4` is `int4`, as `int24pl` is); an integer with
//!   NUMERIC is NUMERIC; REAL with REAL stays REAL; any other float mix is
//!   DOUBLE PRECISION. `^` exists only for DOUBLE PRECISION and NUMERIC, `%`
//!   only for integers and NUMERIC;
//! * an `Unknown` operand (NULL literal, untyped parameter, untyped string
//!   literal) is assumed to have the other operand's type; two unknowns
//!   compare and concatenate as text and are ambiguous (42725) for
//!   arithmetic;
//! * comparisons between numbers need no casts (values compare across
//!   numeric tags exactly as PostgreSQL's cross-type operators do, which also
//!   keeps an indexed column bare); text compared with a non-text type is
//!   read as that type (the way PostgreSQL reads a quoted literal);
//!   date < timestamp < timestamptz are widened to the larger;
//! * `||` concatenates text with anything (the other side cast to text,
//!   as PostgreSQL's `anynonarray || text` does), bytea with bytea, jsonb
//!   with jsonb;
//! * pgvector's `<->`, `<=>`, `<#>` take two vectors (an unknown operand
//!   is read as `vector`) and give DOUBLE PRECISION; `+ - *` on vectors
//!   are elementwise; vectors compare with `= < …` in pgvector's btree
//!   order whatever their dimensions;
//! * date and time arithmetic follows the PostgreSQL operator table
//!   (`date + int4`, `date - date`, `timestamp ± interval`, `date + interval`
//!   is a timestamp, `interval * float8`, …).
//!
//! Anything else is 42883 `operator does not exist: text + integer`.

use super::{BinaryOp, BinarySig, UnaryOp};
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::DataType;

use DataType as T;

/// The numeric promotion rank: int2 < int4 < int8 < numeric < float4 < float8.
pub(crate) fn numeric_rank(t: &DataType) -> Option<u8> {
    Some(match t {
        T::Int2 => 0,
        T::Int4 => 1,
        T::Int8 => 2,
        T::Numeric(_) => 3,
        T::Float4 => 4,
        T::Float8 => 5,
        _ => return None,
    })
}

/// The rank of the date/time types that widen into each other.
fn datetime_rank(t: &DataType) -> Option<u8> {
    Some(match t {
        T::Date => 0,
        T::Timestamp => 1,
        T::TimestampTz => 2,
        _ => return None,
    })
}

/// A type without its modifiers (what an unknown operand is cast to).
pub(crate) fn base(t: &DataType) -> DataType {
    match t {
        T::Varchar(_) => T::Text,
        T::Numeric(_) => T::Numeric(None),
        T::Vector(_) => T::Vector(None),
        other => other.clone(),
    }
}

/// `Some(to)` when `from` differs from `to`.
fn cast_to(from: &DataType, to: &DataType) -> Option<DataType> {
    (from != to).then(|| to.clone())
}

/// 42883 `operator does not exist: integer + text`.
pub(crate) fn no_operator(op: &str, left: &DataType, right: &DataType) -> Error {
    sql_err!(UNDEFINED_FUNCTION, "operator does not exist: {} {op} {}", left.sql_name(), right.sql_name())
}

fn not_unique(op: &str, left: &DataType, right: &DataType) -> Error {
    Error::new(
        crate::error::SqlState("42725"),
        format!("operator is not unique: {} {op} {}", left.sql_name(), right.sql_name()),
    )
}

fn sig(result: DataType, left_cast: Option<DataType>, right_cast: Option<DataType>) -> BinarySig {
    BinarySig { result, left_cast, right_cast }
}

/// See [`super::resolve_binary`].
pub(crate) fn binary(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    use BinaryOp::*;
    match op {
        And | Or => {
            for side in [left, right] {
                if !matches!(side, T::Bool | T::Unknown) {
                    return Err(sql_err!(
                        DATATYPE_MISMATCH,
                        "argument of {} must be type boolean, not type {}",
                        op.symbol(),
                        side.sql_name()
                    ));
                }
            }
            Ok(sig(T::Bool, cast_to(left, &T::Bool), cast_to(right, &T::Bool)))
        }
        Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom => {
            let (l, r) = comparison(op, left, right)?;
            Ok(sig(T::Bool, l, r))
        }
        Concat => concat(left, right),
        JsonGet | JsonGetText => json_access(op, left, right),
        BitAnd | BitOr | BitXor | ShiftLeft | ShiftRight => bitwise(op, left, right),
        L2Distance | CosineDistance | NegInnerProduct => vector_operands(op, left, right, T::Float8),
        Add | Sub | Mul | Div | Mod | Pow => arithmetic_with_unknown(op, left, right),
    }
}

/// Casts making `left` and `right` comparable.
pub(crate) fn comparison(
    op: BinaryOp,
    left: &DataType,
    right: &DataType,
) -> Result<(Option<DataType>, Option<DataType>)> {
    let both = |t: DataType| (cast_to(left, &t), cast_to(right, &t));
    Ok(match (left, right) {
        (T::Unknown, T::Unknown) => both(T::Text),
        (T::Unknown, other) => (Some(base(other)), None),
        (other, T::Unknown) => (None, Some(base(other))),
        (a, b) if numeric_rank(a).is_some() && numeric_rank(b).is_some() => (None, None),
        (a, b) if a.is_string() && b.is_string() => (None, None),
        (a, b) if a.is_string() => (Some(base(b)), None),
        (a, b) if b.is_string() => (None, Some(base(a))),
        (a, b) if datetime_rank(a).is_some() && datetime_rank(b).is_some() => {
            if datetime_rank(a) >= datetime_rank(b) {
                (None, cast_to(b, a))
            } else {
                (cast_to(a, b), None)
            }
        }
        (a, b) if a == b && matches!(a, T::Bool | T::Bytea | T::Interval | T::Jsonb) => (None, None),
        (a, b) if a.is_vector() && b.is_vector() => (None, None),
        (a, b) if a.is_array() && b.is_array() => match (a.element(), b.element()) {
            (Some(x), Some(y)) if x == y => (None, None),
            (Some(x), Some(y)) => {
                let (l, r) = comparison(op, x, y)?;
                (l.map(DataType::array_of), r.map(DataType::array_of))
            }
            _ => (None, None),
        },
        (a, b) => return Err(no_operator(op.symbol(), a, b)),
    })
}

fn concat(left: &DataType, right: &DataType) -> Result<BinarySig> {
    Ok(match (left, right) {
        (T::Bytea, T::Bytea) => sig(T::Bytea, None, None),
        (T::Bytea, T::Unknown) => sig(T::Bytea, None, Some(T::Bytea)),
        (T::Unknown, T::Bytea) => sig(T::Bytea, Some(T::Bytea), None),
        (T::Jsonb, T::Jsonb) => sig(T::Jsonb, None, None),
        (T::Jsonb, T::Unknown) => sig(T::Jsonb, None, Some(T::Jsonb)),
        (T::Unknown, T::Jsonb) => sig(T::Jsonb, Some(T::Jsonb), None),
        (T::Unknown, T::Unknown) => sig(T::Text, Some(T::Text), Some(T::Text)),
        (a, b) if a.is_array() || b.is_array() => {
            // `anyarray || anyarray` (`array_cat`); an unknown side is an
            // array of the other's type.
            let arr = |t: &DataType| match t {
                T::Int2Vector => T::Array(Box::new(T::Int2)),
                t => t.clone(),
            };
            let ty = match (a, b) {
                (T::Unknown, b) => arr(b),
                (a, T::Unknown) => arr(a),
                (a, b) if arr(a) == arr(b) => arr(a),
                (a, b) if a.is_array() && b.is_array() => {
                    let (l, r) = comparison(BinaryOp::Eq, a, b)?;
                    l.or(r).unwrap_or_else(|| arr(a))
                }
                (a, b) => return Err(no_operator("||", a, b)),
            };
            let cast = |t: &DataType| (*t != ty).then(|| ty.clone());
            sig(ty.clone(), cast(a), cast(b))
        }
        (a, b) if a.is_string() || b.is_string() || *a == T::Unknown || *b == T::Unknown => {
            // `anytextcat`/`textanycat` are `$1::text || $2`: a real cast,
            // so a boolean becomes `true`, not its output form `t`.
            let to_text = |t: &DataType| (!t.is_string()).then_some(T::Text);
            sig(T::Text, to_text(a), to_text(b))
        }
        (a, b) => return Err(no_operator("||", a, b)),
    })
}

/// pgvector's operators on `vector, vector`: an unknown operand (a
/// `'[1,2]'` literal, a parameter) is read as `vector`; both sides keep
/// their dimension, which is compared when the operator runs.
fn vector_operands(op: BinaryOp, left: &DataType, right: &DataType, result: DataType) -> Result<BinarySig> {
    let side = |t: &DataType| match t {
        T::Vector(_) => Some(None),
        T::Unknown => Some(Some(T::Vector(None))),
        _ => None,
    };
    match (side(left), side(right)) {
        (Some(l), Some(r)) if left.is_vector() || right.is_vector() => Ok(sig(result, l, r)),
        _ => Err(no_operator(op.symbol(), left, right)),
    }
}

fn json_access(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    let result = if op == BinaryOp::JsonGet { T::Jsonb } else { T::Text };
    let left_cast = match left {
        T::Jsonb => None,
        T::Unknown => Some(T::Jsonb),
        _ => return Err(no_operator(op.symbol(), left, right)),
    };
    let right_cast = match right {
        T::Unknown => Some(T::Text),
        t if t.is_string() || t.is_integer() => None,
        _ => return Err(no_operator(op.symbol(), left, right)),
    };
    Ok(sig(result, left_cast, right_cast))
}

fn bitwise(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    let shift = matches!(op, BinaryOp::ShiftLeft | BinaryOp::ShiftRight);
    let (l, r) = match (left, right) {
        (T::Unknown, T::Unknown) => return Err(not_unique(op.symbol(), left, right)),
        (T::Unknown, b) if b.is_integer() => (if shift { T::Int4 } else { b.clone() }, b.clone()),
        (a, T::Unknown) if a.is_integer() => (a.clone(), if shift { T::Int4 } else { a.clone() }),
        (a, b) => (a.clone(), b.clone()),
    };
    if !l.is_integer() || !r.is_integer() {
        return Err(no_operator(op.symbol(), left, right));
    }
    let result = if shift { l.clone() } else { wider_int(&l, &r) };
    Ok(sig(result, cast_to(left, &l), if shift { cast_to(right, &T::Int4) } else { cast_to(right, &r) }))
}

fn wider_int(a: &DataType, b: &DataType) -> DataType {
    if numeric_rank(a) >= numeric_rank(b) { a.clone() } else { b.clone() }
}

/// Arithmetic, trying the other operand's type for an unknown one (and,
/// next to dates and timestamps, an interval).
fn arithmetic_with_unknown(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    if matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul) && (left.is_vector() || right.is_vector()) {
        return vector_operands(op, left, right, T::Vector(None));
    }
    let candidates = |other: &DataType| {
        let mut c = vec![base(other)];
        if datetime_rank(other).is_some() {
            c.push(T::Interval);
        }
        c
    };
    match (left, right) {
        (T::Unknown, T::Unknown) => Err(not_unique(op.symbol(), left, right)),
        (T::Unknown, other) => {
            for c in candidates(other) {
                if let Ok(mut s) = arithmetic(op, &c, other) {
                    s.left_cast = Some(s.left_cast.unwrap_or(c));
                    return Ok(s);
                }
            }
            Err(no_operator(op.symbol(), left, right))
        }
        (other, T::Unknown) => {
            for c in candidates(other) {
                if let Ok(mut s) = arithmetic(op, other, &c) {
                    s.right_cast = Some(s.right_cast.unwrap_or(c));
                    return Ok(s);
                }
            }
            Err(no_operator(op.symbol(), left, right))
        }
        _ => arithmetic(op, left, right),
    }
}

/// `+ - * / % ^` on known types.
fn arithmetic(op: BinaryOp, left: &DataType, right: &DataType) -> Result<BinarySig> {
    use BinaryOp::*;
    let err = || no_operator(op.symbol(), left, right);
    if let (Some(lr), Some(rr)) = (numeric_rank(left), numeric_rank(right)) {
        let any_float = lr >= 4 || rr >= 4;
        let any_numeric = lr == 3 || rr == 3;
        let target = match op {
            Pow if any_float || !any_numeric => T::Float8,
            Pow => T::Numeric(None),
            Mod if any_float => return Err(err()),
            _ if lr <= 2 && rr <= 2 => {
                return Ok(sig(wider_int(left, right), None, None));
            }
            _ if *left == T::Float4 && *right == T::Float4 => T::Float4,
            _ if any_float => T::Float8,
            _ => T::Numeric(None),
        };
        let as_target = |t: &DataType| if base(t) == target { None } else { Some(target.clone()) };
        return Ok(sig(target.clone(), as_target(left), as_target(right)));
    }
    let is_num = |t: &DataType| numeric_rank(t).is_some();
    let is_int = |t: &DataType| t.is_integer();
    let lower_dt = |t: &DataType| datetime_rank(t).is_some();
    Ok(match (op, left, right) {
        // Dates and integers count days.
        (Add, T::Date, i) if is_int(i) => sig(T::Date, None, None),
        (Add, i, T::Date) if is_int(i) => sig(T::Date, None, None),
        (Sub, T::Date, i) if is_int(i) => sig(T::Date, None, None),
        (Sub, T::Date, T::Date) => sig(T::Int4, None, None),
        // Date/time ± interval.
        (Add | Sub, T::Date, T::Interval) => sig(T::Timestamp, Some(T::Timestamp), None),
        (Add, T::Interval, T::Date) => sig(T::Timestamp, None, Some(T::Timestamp)),
        (Add | Sub, t @ (T::Timestamp | T::TimestampTz), T::Interval) => sig(t.clone(), None, None),
        (Add, T::Interval, t @ (T::Timestamp | T::TimestampTz)) => sig(t.clone(), None, None),
        // Differences of points in time.
        (Sub, a, b) if lower_dt(a) && lower_dt(b) => {
            let target = if datetime_rank(a) >= datetime_rank(b) { a.clone() } else { b.clone() };
            let target = if target == T::Date { T::Timestamp } else { target };
            sig(T::Interval, cast_to(a, &target), cast_to(b, &target))
        }
        // Interval arithmetic.
        (Add | Sub, T::Interval, T::Interval) => sig(T::Interval, None, None),
        (Mul, T::Interval, n) if is_num(n) => sig(T::Interval, None, cast_to(n, &T::Float8)),
        (Mul, n, T::Interval) if is_num(n) => sig(T::Interval, cast_to(n, &T::Float8), None),
        (Div, T::Interval, n) if is_num(n) => sig(T::Interval, None, cast_to(n, &T::Float8)),
        _ => return Err(err()),
    })
}

/// See [`super::resolve_unary`].
pub(crate) fn unary(op: UnaryOp, operand: &DataType) -> Result<DataType> {
    match op {
        UnaryOp::Not => match operand {
            T::Bool | T::Unknown => Ok(T::Bool),
            other => {
                Err(sql_err!(DATATYPE_MISMATCH, "argument of NOT must be type boolean, not type {}", other.sql_name()))
            }
        },
        UnaryOp::Neg | UnaryOp::Plus => {
            let symbol = if op == UnaryOp::Neg { "-" } else { "+" };
            match operand {
                T::Unknown => Err(Error::new(
                    crate::error::SqlState("42725"),
                    format!("operator is not unique: {symbol} unknown"),
                )),
                t if numeric_rank(t).is_some() => Ok(base(t)),
                T::Interval => Ok(T::Interval),
                other => Err(sql_err!(UNDEFINED_FUNCTION, "operator does not exist: {symbol} {}", other.sql_name())),
            }
        }
    }
}

/// The type CASE, COALESCE, GREATEST/LEAST, VALUES and UNION resolve their
/// branches to (PostgreSQL's `select_common_type`): unknowns are ignored
/// (all unknown is text), numbers widen along int2 < int4 < int8 < numeric
/// < real < double, text wins over varchar, date < timestamp < timestamptz;
/// anything else must match exactly. `context` names the construct in the
/// 42804 error (`CASE types integer and boolean cannot be matched`).
pub fn common_type(types: &[DataType], context: &str) -> Result<DataType> {
    let mut known = types.iter().filter(|t| **t != T::Unknown);
    let Some(first) = known.next() else { return Ok(T::Text) };
    let mut acc = first.clone();
    for t in known {
        acc = match (&acc, t) {
            (a, b) if a == b => a.clone(),
            (a, b) if a.is_vector() && b.is_vector() => T::Vector(None),
            (a, b) if numeric_rank(a).is_some() && numeric_rank(b).is_some() => {
                let wider = if numeric_rank(a) >= numeric_rank(b) { a } else { b };
                base(wider)
            }
            (a, b) if a.is_string() && b.is_string() => {
                if *a == T::Text || *b == T::Text {
                    T::Text
                } else {
                    T::Varchar(None)
                }
            }
            (a, b) if datetime_rank(a).is_some() && datetime_rank(b).is_some() => {
                if datetime_rank(a) >= datetime_rank(b) { a.clone() } else { b.clone() }
            }
            (a, b) => {
                return Err(sql_err!(
                    DATATYPE_MISMATCH,
                    "{context} types {} and {} cannot be matched",
                    a.sql_name(),
                    b.sql_name()
                ));
            }
        };
    }
    Ok(acc)
}
