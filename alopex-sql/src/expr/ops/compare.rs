//! SQL comparison of two non-NULL values, and jsonb's sort order.
//!
//! [`Value::total_cmp`] already orders numbers across tags, text by bytes
//! (the C collation) and NaN above every other float, which is exactly how
//! PostgreSQL's comparison operators behave; this module adds what the
//! total order does not know:
//!
//! * TIMESTAMPTZ against DATE or TIMESTAMP (the session zone is UTC);
//! * JSONB's btree order: object > array > boolean > number > string >
//!   null; containers with more members sort higher, then members compare
//!   in stored order;
//! * text against another type, which the binder normally prevents by
//!   casting; here the text is read as the other type rather than guessed
//!   at;
//! * pairs that are not comparable at all are an internal error (XX000):
//!   the binder should have rejected them with 42883.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::expr::cast;
use crate::types::{DataType, Value};

/// Compares two non-NULL values with SQL semantics.
pub(crate) fn sql_cmp(a: &Value, b: &Value) -> Result<Ordering> {
    use Value as V;
    Ok(match (a, b) {
        (V::Int(_) | V::Float(_) | V::Numeric(_), V::Int(_) | V::Float(_) | V::Numeric(_))
        | (V::Text(_), V::Text(_))
        | (V::Bool(_), V::Bool(_))
        | (V::Bytes(_), V::Bytes(_))
        | (V::Date(_) | V::Timestamp(_), V::Date(_) | V::Timestamp(_))
        | (V::TimestampTz(_), V::TimestampTz(_))
        | (V::Interval(_), V::Interval(_))
        | (V::Vector(_), V::Vector(_))
        | (V::Array(_), V::Array(_)) => a.total_cmp(b),
        (V::TimestampTz(_), V::Date(_) | V::Timestamp(_)) => a.total_cmp(&cast::cast(b, &DataType::TimestampTz)?),
        (V::Date(_) | V::Timestamp(_), V::TimestampTz(_)) => cast::cast(a, &DataType::TimestampTz)?.total_cmp(b),
        (V::Json(x), V::Json(y)) => json_cmp(x, y),
        (V::Text(s), other) if !matches!(other, V::Null) => {
            sql_cmp(&cast::cast(&V::Text(s.clone()), &other.data_type())?, other)?
        }
        (other, V::Text(s)) if !matches!(other, V::Null) => {
            sql_cmp(other, &cast::cast(&V::Text(s.clone()), &other.data_type())?)?
        }
        _ => {
            return Err(Error::internal(format!(
                "cannot compare {} with {}",
                cast::value_type_name(a),
                cast::value_type_name(b)
            )));
        }
    })
}

/// SQL `=` on two non-NULL values.
pub(crate) fn sql_eq(a: &Value, b: &Value) -> Result<bool> {
    Ok(sql_cmp(a, b)? == Ordering::Equal)
}

/// jsonb's btree order (PostgreSQL's `compareJsonbContainers`).
pub(crate) fn json_cmp(a: &serde_json::Value, b: &serde_json::Value) -> Ordering {
    use serde_json::Value as J;
    let rank = |v: &J| match v {
        J::Null => 0,
        J::String(_) => 1,
        J::Number(_) => 2,
        J::Bool(_) => 3,
        J::Array(_) => 4,
        J::Object(_) => 5,
    };
    match (a, b) {
        (J::Null, J::Null) => Ordering::Equal,
        (J::String(x), J::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (J::Number(x), J::Number(y)) => json_number_cmp(x, y),
        (J::Bool(x), J::Bool(y)) => x.cmp(y),
        (J::Array(x), J::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter().zip(y.iter()).map(|(p, q)| json_cmp(p, q)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
        }),
        (J::Object(x), J::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y.iter())
                .map(|((k1, v1), (k2, v2))| {
                    k1.len()
                        .cmp(&k2.len())
                        .then_with(|| k1.as_bytes().cmp(k2.as_bytes()))
                        .then_with(|| json_cmp(v1, v2))
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn json_number_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Ordering {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a.cmp(&b);
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a.cmp(&b);
    }
    let (a, b) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn j(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn cross_type_comparisons() {
        assert_eq!(sql_cmp(&Value::Int(1), &Value::Float(1.5)).unwrap(), Ordering::Less);
        assert_eq!(sql_cmp(&Value::Float(f64::NAN), &Value::Float(f64::NAN)).unwrap(), Ordering::Equal);
        assert_eq!(sql_cmp(&Value::Float(f64::NAN), &Value::Float(f64::INFINITY)).unwrap(), Ordering::Greater);
        let d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        let tz = d.and_hms_opt(0, 0, 0).unwrap().and_utc();
        assert_eq!(sql_cmp(&Value::Date(d), &Value::TimestampTz(tz)).unwrap(), Ordering::Equal);
        assert_eq!(sql_cmp(&Value::text("5"), &Value::Int(5)).unwrap(), Ordering::Equal);
        assert_eq!(sql_cmp(&Value::text("x"), &Value::Int(5)).unwrap_err().state.code(), "22P02");
        assert_eq!(sql_cmp(&Value::Bool(true), &Value::Int(5)).unwrap_err().state.code(), "XX000");
        assert_eq!(sql_cmp(&Value::text("B"), &Value::text("a")).unwrap(), Ordering::Less);
    }

    #[test]
    fn jsonb_order() {
        let order = ["null", "\"a\"", "\"b\"", "1", "2.5", "false", "true", "[]", "[1]", "[1, 2]", "{}", "{\"a\": 1}"];
        for w in order.windows(2) {
            assert_eq!(json_cmp(&j(w[0]), &j(w[1])), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(json_cmp(&j("[2]"), &j("[1, 1]")), Ordering::Less);
        assert_eq!(json_cmp(&j("1"), &j("1.0")), Ordering::Equal);
    }
}
