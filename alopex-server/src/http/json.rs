//! SQL values as JSON, both ways.
//!
//! JSON has numbers, strings, booleans, null, arrays and objects; SQL has
//! many more types, so the mapping must lose nothing a client relies on:
//!
//! | SQL | JSON |
//! |---|---|
//! | NULL | `null` |
//! | BOOLEAN | `true` / `false` |
//! | SMALLINT, INTEGER, BIGINT | number (integers are exact up to 2^53 in JavaScript; BIGINT beyond that is still an exact integer in the text) |
//! | REAL, DOUBLE PRECISION | number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings (JSON has no such numbers) |
//! | NUMERIC | string (`"12.50"`): a JSON number would round through a double and drop the scale |
//! | JSONB | the JSON value itself |
//! | VECTOR | an array of numbers (parameters take pgvector's text form, `"[1,2,3]"`) |
//! | everything else | string in PostgreSQL's text output (`"2024-01-02"`, `"\\x0a0b"`, `"1 day 02:00:00"`) |
//!
//! Parameters go the other way: integers become BIGINT values, other
//! numbers DOUBLE PRECISION, strings TEXT, arrays and objects JSONB; the
//! statement's parameter types then cast them with PostgreSQL's rules, so
//! `"2024-01-02"` for a DATE parameter or `"12.50"` for a NUMERIC one works.

use std::sync::Arc;

use alopex_sql::expr::cast::to_text_as;
use alopex_sql::{DataType, Value};
use serde_json::Value as Json;

/// The JSON form of a value of static type `ty`.
pub fn to_json(value: &Value, ty: &DataType) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) if f.is_finite() => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Json(j) => (**j).clone(),
        Value::Vector(v) => Json::Array(
            v.iter().map(|x| serde_json::Number::from_f64(f64::from(*x)).map_or(Json::Null, Json::Number)).collect(),
        ),
        Value::Array(items) => {
            let elem = ty.element().cloned().unwrap_or(DataType::Unknown);
            Json::Array(items.iter().map(|v| to_json(v, &elem)).collect())
        }
        other => to_text_as(other, ty).map_or(Json::Null, Json::String),
    }
}

/// A parameter value from its JSON form.
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n.as_f64().map_or(Value::text(n.to_string()), Value::Float),
        },
        Json::String(s) => Value::text(s),
        other => Value::Json(Arc::new(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;

    #[test]
    fn values_map_without_losing_precision() {
        assert_eq!(to_json(&Value::Int(i64::MAX), &DataType::Int8), json!(i64::MAX));
        assert_eq!(to_json(&Value::Numeric(Decimal::new(1250, 2)), &DataType::Numeric(None)), json!("12.50"));
        assert_eq!(to_json(&Value::Float(f64::NAN), &DataType::Float8), json!("NaN"));
        assert_eq!(to_json(&Value::Float(0.5), &DataType::Float8), json!(0.5));
        assert_eq!(to_json(&Value::Bool(true), &DataType::Bool), json!(true));
        assert_eq!(to_json(&Value::Null, &DataType::Text), Json::Null);
        assert_eq!(from_json(&json!(3)), Value::Int(3));
        assert_eq!(from_json(&json!("x")), Value::text("x"));
        assert_eq!(from_json(&json!({"a": 1})), Value::Json(Arc::new(json!({"a": 1}))));
    }
}
