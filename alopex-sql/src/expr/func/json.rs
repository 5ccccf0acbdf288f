//! jsonb functions.
//!
//! `to_jsonb` and the builders convert SQL values the way PostgreSQL's
//! `datum_to_jsonb` does: numbers stay numbers (NaN and infinities become
//! strings), booleans booleans, dates and timestamps ISO 8601 strings
//! (`2024-01-02T03:04:05`), everything else its text output; SQL NULL is
//! JSON `null` inside a builder. Path extraction follows `->` semantics at
//! each step: a missing key, an out-of-range or non-integer index, or a
//! step into a scalar gives SQL NULL.

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use serde_json::Value as J;

use super::{ScalarFunc, arg};
use crate::error::{Error, Result};
use crate::expr::cast::{input, output, to_text};
use crate::expr::ops::json as ops_json;
use crate::sql_err;
use crate::types::Value;

/// Calls a jsonb function.
pub(super) fn call(func: ScalarFunc, args: &[Value]) -> Result<Value> {
    use ScalarFunc::*;
    Ok(match func {
        JsonbTypeof => Value::text(match json_arg(args, 0)? {
            J::Null => "null",
            J::Bool(_) => "boolean",
            J::Number(_) => "number",
            J::String(_) => "string",
            J::Array(_) => "array",
            J::Object(_) => "object",
        }),
        JsonbArrayLength => match json_arg(args, 0)? {
            J::Array(items) => Value::Int(items.len() as i64),
            J::Object(_) => return Err(sql_err!(INVALID_PARAMETER_VALUE, "cannot get array length of a non-array")),
            _ => return Err(sql_err!(INVALID_PARAMETER_VALUE, "cannot get array length of a scalar")),
        },
        JsonbExtractPath | JsonbExtractPathText => {
            let mut current = json_arg(args, 0)?;
            for step in &args[1..] {
                let Value::Text(key) = step else { return Err(Error::internal("jsonb path element is not text")) };
                let next = match current {
                    J::Object(map) => map.get(key.as_ref()),
                    J::Array(items) => key.trim().parse::<i64>().ok().and_then(|i| {
                        let i = if i < 0 { items.len() as i64 + i } else { i };
                        usize::try_from(i).ok().and_then(|i| items.get(i))
                    }),
                    _ => None,
                };
                match next {
                    Some(n) => current = n,
                    None => return Ok(Value::Null),
                }
            }
            if func == JsonbExtractPathText {
                ops_json::text_of(current)
            } else {
                Value::Json(Arc::new(current.clone()))
            }
        }
        ToJsonb => input::json_value(to_json(arg(args, 0)?)),
        JsonbBuildArray => input::json_value(J::Array(args.iter().map(to_json).collect())),
        JsonbBuildObject => {
            if !args.len().is_multiple_of(2) {
                return Err(sql_err!(INVALID_PARAMETER_VALUE, "argument list must have even number of elements"));
            }
            let mut map = serde_json::Map::new();
            for (i, pair) in args.chunks(2).enumerate() {
                let key = match &pair[0] {
                    Value::Null => {
                        return Err(Error::new(
                            crate::error::SqlState("22004"),
                            format!("argument {}: key must not be null", i * 2 + 1),
                        ));
                    }
                    k => to_text(k).unwrap_or_default(),
                };
                map.insert(key, to_json(&pair[1]));
            }
            input::json_value(J::Object(map))
        }
        other => return Err(Error::internal(format!("{} is not a jsonb function", other.name()))),
    })
}

fn json_arg(args: &[Value], i: usize) -> Result<&J> {
    match arg(args, i)? {
        Value::Json(j) => Ok(j),
        other => Err(Error::internal(format!("expected a jsonb argument, got {other:?}"))),
    }
}

/// A SQL value as JSON (`datum_to_jsonb`).
pub(crate) fn to_json(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or_else(|| J::String(output::float8(*f)), J::Number),
        Value::Numeric(d) => {
            if d.fract().is_zero()
                && let Some(i) = d.to_i64()
            {
                return J::from(i);
            }
            let f = crate::expr::cast::numeric::decimal_to_f64(d);
            serde_json::Number::from_f64(f).map_or_else(|| J::String(output::numeric(d)), J::Number)
        }
        Value::Json(j) => j.as_ref().clone(),
        Value::Date(d) => J::String(output::date(d)),
        Value::Timestamp(t) => J::String(output::timestamp(t).replacen(' ', "T", 1)),
        Value::TimestampTz(t) => J::String(format!("{}:00", output::timestamptz(&t.naive_utc()).replacen(' ', "T", 1))),
        other => J::String(to_text(other).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::cast::cast;
    use crate::types::DataType;
    use ScalarFunc as F;

    fn j(s: &str) -> Value {
        cast(&Value::text(s), &DataType::Jsonb).unwrap()
    }

    fn run(func: F, args: &[Value]) -> String {
        let v = super::super::call(func, args, &DataType::Jsonb, chrono::DateTime::UNIX_EPOCH).unwrap();
        to_text(&v).unwrap_or_else(|| "NULL".into())
    }

    fn code(func: F, args: &[Value]) -> &'static str {
        super::super::call(func, args, &DataType::Jsonb, chrono::DateTime::UNIX_EPOCH).unwrap_err().state.code()
    }

    #[test]
    fn inspection() {
        assert_eq!(run(F::JsonbTypeof, &[j(r#"{"a": 1}"#)]), "object");
        assert_eq!(run(F::JsonbTypeof, &[j("null")]), "null");
        assert_eq!(run(F::JsonbTypeof, &[j("1.5")]), "number");
        assert_eq!(run(F::JsonbArrayLength, &[j("[1, 2, 3]")]), "3");
        assert_eq!(code(F::JsonbArrayLength, &[j("5")]), "22023");
        assert_eq!(code(F::JsonbArrayLength, &[j("{}")]), "22023");
    }

    #[test]
    fn paths() {
        let doc = j(r#"{"a": {"b": [10, {"c": "x"}]}}"#);
        let t = Value::text;
        assert_eq!(run(F::JsonbExtractPath, &[doc.clone(), t("a"), t("b"), t("1")]), r#"{"c": "x"}"#);
        assert_eq!(run(F::JsonbExtractPathText, &[doc.clone(), t("a"), t("b"), t("1"), t("c")]), "x");
        assert_eq!(run(F::JsonbExtractPathText, &[doc.clone(), t("a"), t("b"), t("-2")]), "10");
        assert_eq!(run(F::JsonbExtractPath, &[doc.clone(), t("a"), t("zz")]), "NULL");
        assert_eq!(run(F::JsonbExtractPath, &[doc.clone(), t("a"), t("b"), t("x")]), "NULL");
        assert_eq!(run(F::JsonbExtractPath, &[doc, t("a"), Value::Null]), "NULL");
    }

    #[test]
    fn conversions_and_builders() {
        let d = cast(&Value::text("2024-01-02 03:04:05"), &DataType::Timestamp).unwrap();
        assert_eq!(run(F::ToJsonb, &[d]), r#""2024-01-02T03:04:05""#);
        let tz = cast(&Value::text("2024-01-02 03:04:05+00"), &DataType::TimestampTz).unwrap();
        assert_eq!(run(F::ToJsonb, &[tz]), r#""2024-01-02T03:04:05+00:00""#);
        assert_eq!(run(F::ToJsonb, &[Value::text("a\"b")]), r#""a\"b""#);
        assert_eq!(run(F::ToJsonb, &[Value::Numeric("2.50".parse().unwrap())]), "2.5");
        assert_eq!(run(F::ToJsonb, &[Value::Float(f64::NAN)]), r#""NaN""#);
        assert_eq!(run(F::ToJsonb, &[Value::Null]), "NULL");
        assert_eq!(run(F::JsonbBuildArray, &[Value::Int(1), Value::Null, Value::text("x")]), r#"[1, null, "x"]"#);
        assert_eq!(run(F::JsonbBuildArray, &[]), "[]");
        assert_eq!(
            run(F::JsonbBuildObject, &[Value::text("b"), Value::Int(1), Value::Int(7), Value::Bool(true)]),
            r#"{"7": true, "b": 1}"#
        );
        assert_eq!(code(F::JsonbBuildObject, &[Value::text("a")]), "22023");
        assert_eq!(code(F::JsonbBuildObject, &[Value::Null, Value::Int(1)]), "22004");
    }
}
