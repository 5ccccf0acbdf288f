//! Casts between types, and the PostgreSQL text format of values.
//!
//! PostgreSQL has three strengths of conversion, and this module keeps them
//! apart because they disagree on purpose:
//!
//! * **explicit** (`CAST(x AS t)`, `x::t`, [`cast`]): everything the other
//!   two allow, plus text to any type, `int4` ↔ `boolean`, jsonb scalars to
//!   numbers and booleans; a too-long `varchar(n)` is *truncated*;
//! * **assignment** (INSERT/UPDATE into a column, [`assign`]): numeric
//!   narrowing with range checks (`22003`), anything to text, timestamps to
//!   dates; a too-long `varchar(n)` is `22001` unless only spaces are cut;
//! * **implicit** (operator and function arguments): only widening, as
//!   [`can_cast`] with [`CastContext::Implicit`] reports to the binder.
//!
//! Text is the pivot: [`from_text`] is every type's input function and
//! [`to_text`] its output function, each following the PostgreSQL routine of
//! the same type (see the `input`, `datetime_input`, `interval_input`,
//! `output` and `vector` submodules). A `vector` cast to `vector(n)` checks
//! its dimension (and that its elements are finite) at every strength. Note that casting a boolean to text gives
//! `true`/`false` (PostgreSQL's `booltext`) while its output format is
//! `t`/`f`.
//!
//! Values carry no integer width or REAL-ness ([`Value::Int`] holds every
//! integer, [`Value::Float`] both float widths), so widths come from the
//! target type. [`to_text`] prints a float that is exactly a REAL value
//! with REAL's shorter digits (`0.1` rather than `0.10000000149011612`);
//! [`to_text_as`] takes the static type and is exact.

pub(crate) mod array;
pub(crate) mod datetime_input;
pub(crate) mod input;
pub(crate) mod interval_input;
pub(crate) mod numeric;
pub(crate) mod output;
pub(crate) mod vector;

use std::sync::Arc;

use chrono::NaiveTime;
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::{DataType, Value};

/// The part every cast and assignment starts with: NULL stays NULL, and
/// text into a non-string type is parsed with the type's input rules.
fn null_or_parsed(value: &Value, ty: &DataType) -> Option<Result<Value>> {
    match value {
        Value::Null => Some(Ok(Value::Null)),
        Value::Text(s) if !ty.is_string() && *ty != DataType::Unknown => Some(from_text(s, ty)),
        _ => None,
    }
}

/// `CAST(value AS ty)` with PostgreSQL's rules and errors (22P02 invalid
/// text representation, 22003 out of range, 22001 for an explicit cast to a
/// too-short varchar truncates instead, as PostgreSQL does).
pub fn cast(value: &Value, ty: &DataType) -> Result<Value> {
    if let Some(done) = null_or_parsed(value, ty) {
        return done;
    }
    match ty {
        DataType::Unknown => Ok(value.clone()),
        DataType::Text | DataType::Varchar(None) => Ok(text_value(value)),
        DataType::Varchar(Some(n)) => {
            let s = cast_text(value);
            Ok(match s.char_indices().nth(*n as usize) {
                Some((cut, _)) => Value::text(&s[..cut]),
                None => Value::text(s),
            })
        }
        DataType::Bool => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::Int(i) => Ok(Value::Bool(*i != 0)),
            Value::Json(j) => match j.as_ref() {
                serde_json::Value::Bool(b) => Ok(Value::Bool(*b)),
                other => Err(json_scalar_error(other, ty)),
            },
            _ => Err(cannot_cast(value, ty)),
        },
        DataType::Int2 | DataType::Int4 | DataType::Int8 => match value {
            Value::Bool(b) => Ok(Value::Int(*b as i64)),
            Value::Json(j) => cast(&json_number(j, ty)?, ty),
            _ => numeric_value(value, ty),
        },
        DataType::Float4 | DataType::Float8 | DataType::Numeric(_) => match value {
            Value::Json(j) => cast(&json_number(j, ty)?, ty),
            _ => numeric_value(value, ty),
        },
        DataType::Vector(dim) => match value {
            Value::Vector(v) => vector::typed(v, *dim),
            // A JSON array of numbers, as a JSON API (REST, gRPC) passes a
            // vector parameter, reads as the vector's text form.
            Value::Json(j) if j.is_array() => cast(&Value::text(j.to_string()), ty),
            _ => Err(cannot_cast(value, ty)),
        },
        DataType::Array(_) | DataType::Int2Vector => match (value, ty.element()) {
            (Value::Array(items), Some(elem)) => array::cast_elements(items, elem),
            _ => Err(cannot_cast(value, ty)),
        },
        _ => temporal_or_same(value, ty).ok_or_else(|| cannot_cast(value, ty))?,
    }
}

/// Coerces a value into a column of type `ty` on INSERT/UPDATE (assignment
/// cast): integer width checks (22003), varchar length (22001 unless the
/// excess is spaces), NUMERIC(p,s) rounding and precision (22003), REAL
/// rounding through f32, text parsed into the column's type.
pub fn assign(value: &Value, ty: &DataType) -> Result<Value> {
    if let Some(done) = null_or_parsed(value, ty) {
        return done;
    }
    match ty {
        DataType::Unknown => Ok(value.clone()),
        DataType::Text | DataType::Varchar(None) => Ok(text_value(value)),
        DataType::Varchar(Some(n)) => {
            let s = cast_text(value);
            Ok(match input::varchar_limit(&s, *n)? {
                Some(cut) => Value::text(cut),
                None => Value::text(s),
            })
        }
        DataType::Bool => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(cannot_assign(value, ty)),
        },
        DataType::Int2
        | DataType::Int4
        | DataType::Int8
        | DataType::Float4
        | DataType::Float8
        | DataType::Numeric(_) => match value {
            Value::Int(_) | Value::Float(_) | Value::Numeric(_) => numeric_value(value, ty),
            _ => Err(cannot_assign(value, ty)),
        },
        DataType::Vector(dim) => match value {
            Value::Vector(v) => vector::typed(v, *dim),
            _ => Err(cannot_assign(value, ty)),
        },
        DataType::Array(_) | DataType::Int2Vector => match (value, ty.element()) {
            (Value::Array(items), Some(elem)) => {
                let values = items.iter().map(|v| assign(v, elem)).collect::<Result<Vec<_>>>()?;
                Ok(Value::Array(Arc::from(values)))
            }
            _ => Err(cannot_assign(value, ty)),
        },
        _ => temporal_or_same(value, ty).ok_or_else(|| cannot_assign(value, ty))?,
    }
}

/// The PostgreSQL text output of a value (`t`/`f`, `1.5`, `2024-01-02`,
/// `2024-01-02 03:04:05`, `\x0a0b`, `1 year 2 mons 3 days 04:05:06`, …).
/// NULL is None.
pub fn to_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => (if *b { "t" } else { "f" }).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if is_real_value(*f) {
                output::float4(*f as f32)
            } else {
                output::float8(*f)
            }
        }
        Value::Numeric(d) => output::numeric(d),
        Value::Text(s) => s.to_string(),
        Value::Bytes(b) => output::bytea(b),
        Value::Date(d) => output::date(d),
        Value::Timestamp(t) => output::timestamp(t),
        Value::TimestampTz(t) => output::timestamptz(&t.naive_utc()),
        Value::Interval(iv) => output::interval(iv),
        Value::Json(j) => output::json(j),
        Value::Vector(v) => vector::output(v),
        Value::Array(items) => {
            let elem = items.iter().find(|v| !v.is_null()).map_or(DataType::Unknown, Value::data_type);
            array::output(items, &elem)
        }
    })
}

/// [`to_text`] for a value of static type `ty`: REAL and DOUBLE PRECISION
/// are printed with their own precision rules instead of being guessed.
pub fn to_text_as(value: &Value, ty: &DataType) -> Option<String> {
    match (value, ty) {
        (Value::Float(f), DataType::Float4) => Some(output::float4(*f as f32)),
        (Value::Float(f), DataType::Float8) => Some(output::float8(*f)),
        (Value::Array(items), DataType::Int2Vector) => Some(array::int2vector_output(items)),
        (Value::Array(items), DataType::Array(elem)) => Some(array::output(items, elem)),
        _ => to_text(value),
    }
}

/// Parses PostgreSQL text input for `ty` (the inverse of [`to_text`]).
pub fn from_text(text: &str, ty: &DataType) -> Result<Value> {
    Ok(match ty {
        DataType::Unknown | DataType::Text | DataType::Varchar(None) => Value::text(text),
        DataType::Varchar(Some(n)) => match input::varchar_limit(text, *n)? {
            Some(cut) => Value::text(cut),
            None => Value::text(text),
        },
        DataType::Bool => Value::Bool(input::boolean(text)?),
        DataType::Int2 | DataType::Int4 | DataType::Int8 => Value::Int(input::integer(text, ty)?),
        DataType::Float4 => Value::Float(input::float(text, true)?),
        DataType::Float8 => Value::Float(input::float(text, false)?),
        DataType::Numeric(typmod) => {
            let d = input::numeric(text)?;
            Value::Numeric(match typmod {
                Some((p, s)) => numeric::apply_typmod(&d, *p, *s)?,
                None => d,
            })
        }
        DataType::Bytea => Value::Bytes(Arc::from(input::bytea(text)?)),
        DataType::Date => Value::Date(datetime_input::date(text)?),
        DataType::Timestamp => Value::Timestamp(datetime_input::timestamp(text)?),
        DataType::TimestampTz => Value::TimestampTz(datetime_input::timestamptz(text)?.and_utc()),
        DataType::Interval => Value::Interval(interval_input::interval(text)?),
        DataType::Jsonb => input::json_value(input::json(text)?),
        DataType::Vector(dim) => vector::input(text, *dim)?,
        DataType::Array(elem) => array::input(text, elem)?,
        DataType::Int2Vector => array::int2vector_input(text)?,
    })
}

/// How strong a conversion is (PostgreSQL's `pg_cast.castcontext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CastContext {
    /// Operator and function arguments, CASE/UNION branches: widening only.
    Implicit,
    /// INSERT/UPDATE into a column.
    Assignment,
    /// `CAST` and `::`.
    Explicit,
}

/// Whether PostgreSQL converts `from` to `to` in `context`. An `Unknown`
/// source (NULL literal, untyped parameter) converts to anything.
pub fn can_cast(from: &DataType, to: &DataType, context: CastContext) -> bool {
    use DataType::*;
    if *from == Unknown || *to == Unknown || same_base(from, to) {
        return true;
    }
    let rank = |t: &DataType| match t {
        Int2 => Some(0),
        Int4 => Some(1),
        Int8 => Some(2),
        Numeric(_) => Some(3),
        Float4 => Some(4),
        Float8 => Some(5),
        _ => None,
    };
    if let (Some(a), Some(b)) = (from.element(), to.element()) {
        // Arrays convert element by element (PostgreSQL's array coercion);
        // `int2vector` and `int2[]` are binary-coercible.
        return can_cast(a, b, context);
    }
    let implicit = match (from, to) {
        (a, b) if rank(a).is_some() && rank(b).is_some() => rank(a) < rank(b),
        (Text | Varchar(_), Text | Varchar(_)) => true,
        (Date, Timestamp | TimestampTz) | (Timestamp, TimestampTz) => true,
        _ => false,
    };
    let assignment = implicit
        || match (from, to) {
            (a, b) if rank(a).is_some() && rank(b).is_some() => true,
            (_, Text | Varchar(_)) => true,
            (Timestamp | TimestampTz, Date | Timestamp) => true,
            _ => false,
        };
    let explicit = assignment
        || match (from, to) {
            (Text | Varchar(_), _) => true,
            (Int4, Bool) | (Bool, Int4) => true,
            (Jsonb, b) => *b == Bool || rank(b).is_some(),
            _ => false,
        };
    match context {
        CastContext::Implicit => implicit,
        CastContext::Assignment => assignment,
        CastContext::Explicit => explicit,
    }
}

/// True when two types differ at most in their modifiers.
fn same_base(a: &DataType, b: &DataType) -> bool {
    if let (DataType::Array(x), DataType::Array(y)) = (a, b) {
        return same_base(x, y);
    }
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// The text a value becomes when *cast* to text: its output format, except
/// that booleans are `true`/`false`.
pub(crate) fn cast_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => (if *b { "true" } else { "false" }).to_string(),
        Value::Text(s) => s.to_string(),
        other => to_text(other).unwrap_or_default(),
    }
}

fn text_value(value: &Value) -> Value {
    match value {
        Value::Text(_) => value.clone(),
        other => Value::text(cast_text(other)),
    }
}

/// True when `f` is exactly a REAL value that REAL prints more briefly,
/// i.e. it almost certainly came from a REAL column or expression.
pub(crate) fn is_real_value(f: f64) -> bool {
    let single = f as f32;
    f.is_finite() && single as f64 == f && format!("{single:e}").len() < format!("{f:e}").len()
}

/// Numeric tags to a numeric type, with PostgreSQL's rounding and range
/// rules.
fn numeric_value(value: &Value, ty: &DataType) -> Result<Value> {
    let typmod = |d: Decimal| match ty {
        DataType::Numeric(Some((p, s))) => numeric::apply_typmod(&d, *p, *s),
        _ => Ok(d),
    };
    Ok(match (value, ty) {
        (Value::Int(i), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
            Value::Int(numeric::check_int(*i as i128, ty)?)
        }
        (Value::Int(i), DataType::Float4) => Value::Float(numeric::to_float4(*i as f64)?),
        (Value::Int(i), DataType::Float8) => Value::Float(*i as f64),
        (Value::Int(i), DataType::Numeric(_)) => Value::Numeric(typmod(Decimal::from(*i))?),
        (Value::Float(f), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
            Value::Int(numeric::float_to_int(*f, ty)?)
        }
        (Value::Float(f), DataType::Float4) => Value::Float(numeric::to_float4(*f)?),
        (Value::Float(f), DataType::Float8) => Value::Float(*f),
        (Value::Float(f), DataType::Numeric(_)) => {
            Value::Numeric(typmod(numeric::f64_to_decimal(*f, is_real_value(*f))?)?)
        }
        (Value::Numeric(d), DataType::Int2 | DataType::Int4 | DataType::Int8) => {
            Value::Int(numeric::decimal_to_int(d, ty)?)
        }
        (Value::Numeric(d), DataType::Float4) => Value::Float(numeric::to_float4(numeric::decimal_to_f64(d))?),
        (Value::Numeric(d), DataType::Float8) => Value::Float(numeric::decimal_to_f64(d)),
        (Value::Numeric(d), DataType::Numeric(_)) => Value::Numeric(typmod(*d)?),
        _ => return Err(cannot_cast(value, ty)),
    })
}

/// Date/time conversions and same-type identities (the conversions every
/// strength allows). None when the pair does not convert.
fn temporal_or_same(value: &Value, ty: &DataType) -> Option<Result<Value>> {
    let midnight = |d: &chrono::NaiveDate| d.and_time(NaiveTime::MIN);
    let v = match (value, ty) {
        (Value::Date(d), DataType::Date) => Value::Date(*d),
        (Value::Date(d), DataType::Timestamp) => Value::Timestamp(midnight(d)),
        (Value::Date(d), DataType::TimestampTz) => Value::TimestampTz(midnight(d).and_utc()),
        (Value::Timestamp(t), DataType::Date) => Value::Date(t.date()),
        (Value::Timestamp(t), DataType::Timestamp) => Value::Timestamp(*t),
        (Value::Timestamp(t), DataType::TimestampTz) => Value::TimestampTz(t.and_utc()),
        (Value::TimestampTz(t), DataType::Date) => Value::Date(t.naive_utc().date()),
        (Value::TimestampTz(t), DataType::Timestamp) => Value::Timestamp(t.naive_utc()),
        (Value::TimestampTz(t), DataType::TimestampTz) => Value::TimestampTz(*t),
        (Value::Interval(i), DataType::Interval) => Value::Interval(*i),
        (Value::Bytes(b), DataType::Bytea) => Value::Bytes(b.clone()),
        (Value::Json(j), DataType::Jsonb) => Value::Json(j.clone()),
        _ => return None,
    };
    Some(Ok(v))
}

/// A jsonb number as a NUMERIC (or float) value, for `jsonb::numeric`.
fn json_number(j: &serde_json::Value, ty: &DataType) -> Result<Value> {
    match j {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Value::Numeric(Decimal::from(i)))
            } else if let Some(u) = n.as_u64() {
                Ok(Value::Numeric(Decimal::from(u)))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Ok(Value::Numeric(input::numeric(&output::plain_decimal(f))?))
            }
        }
        other => Err(json_scalar_error(other, ty)),
    }
}

fn json_scalar_error(j: &serde_json::Value, ty: &DataType) -> Error {
    let kind = match j {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "numeric",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    sql_err!(INVALID_PARAMETER_VALUE, "cannot cast jsonb {kind} to type {}", ty.sql_name())
}

/// The name of a value's type for messages.
pub(crate) fn value_type_name(value: &Value) -> &'static str {
    match value {
        Value::Int(_) => "integer",
        other => other.data_type().sql_name(),
    }
}

fn cannot_cast(value: &Value, ty: &DataType) -> Error {
    sql_err!(CANNOT_COERCE, "cannot cast type {} to {}", value_type_name(value), ty)
}

fn cannot_assign(value: &Value, ty: &DataType) -> Error {
    sql_err!(DATATYPE_MISMATCH, "value of type {} cannot be assigned to type {}", value_type_name(value), ty)
}

#[cfg(test)]
mod tests;
