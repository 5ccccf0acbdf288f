//! SQL values as protobuf `Value`s, both ways.
//!
//! Each SQL type has its own field of the `Value` oneof, so a client gets
//! typed values without parsing text: integers as `int64`, NUMERIC as exact
//! decimal text, dates as days and timestamps as microseconds since the
//! Unix epoch, intervals as their three fields. An unset oneof (or `null`)
//! is NULL. Parameters arrive the same way; the statement's parameter
//! types then cast them as they would any value.

use std::sync::Arc;

use alopex_proto::v1 as pb;
use alopex_proto::v1::value::Kind;
use alopex_sql::types::Interval;
use alopex_sql::{Error, SqlState, Value};
use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;

const UNIX_EPOCH_DAYS_CE: i32 = 719_163;

/// The protobuf form of `value`.
pub fn to_proto(value: &Value) -> pb::Value {
    let kind = match value {
        Value::Null => None,
        Value::Bool(b) => Some(Kind::BoolValue(*b)),
        Value::Int(i) => Some(Kind::IntValue(*i)),
        Value::Float(f) => Some(Kind::FloatValue(*f)),
        Value::Numeric(d) => Some(Kind::NumericValue(d.to_string())),
        Value::Text(s) => Some(Kind::TextValue(s.to_string())),
        Value::Bytes(b) => Some(Kind::BytesValue(b.to_vec())),
        Value::Date(d) => Some(Kind::DateValue(d.num_days_from_ce() - UNIX_EPOCH_DAYS_CE)),
        Value::Timestamp(t) => Some(Kind::TimestampValue(t.and_utc().timestamp_micros())),
        Value::TimestampTz(t) => Some(Kind::TimestamptzValue(t.timestamp_micros())),
        Value::Interval(iv) => {
            Some(Kind::IntervalValue(pb::Interval { months: iv.months, days: iv.days, micros: iv.micros }))
        }
        Value::Json(j) => Some(Kind::JsonValue(j.to_string())),
        Value::Vector(v) => Some(Kind::VectorValue(pb::Vector { values: v.to_vec() })),
        // Arrays travel in their text form (`{1,2,NULL}`) until the protocol
        // has an array kind.
        Value::Array(_) => alopex_sql::expr::cast::to_text(value).map(Kind::TextValue),
    };
    pb::Value { kind }
}

/// A SQL value from its protobuf form.
pub fn from_proto(value: &pb::Value) -> Result<Value, Error> {
    let bad = |what: &str| Error::new(SqlState::INVALID_PARAMETER_VALUE, format!("invalid {what} parameter"));
    Ok(match &value.kind {
        None | Some(Kind::Null(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::IntValue(i)) => Value::Int(*i),
        Some(Kind::FloatValue(f)) => Value::Float(*f),
        Some(Kind::NumericValue(s)) => Value::Numeric(s.parse::<Decimal>().map_err(|_| bad("numeric"))?),
        Some(Kind::TextValue(s)) => Value::text(s),
        Some(Kind::BytesValue(b)) => Value::Bytes(Arc::from(b.as_slice())),
        Some(Kind::DateValue(d)) => Value::Date(
            d.checked_add(UNIX_EPOCH_DAYS_CE)
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| bad("date"))?,
        ),
        Some(Kind::TimestampValue(us)) => {
            Value::Timestamp(DateTime::from_timestamp_micros(*us).ok_or_else(|| bad("timestamp"))?.naive_utc())
        }
        Some(Kind::TimestamptzValue(us)) => {
            Value::TimestampTz(DateTime::from_timestamp_micros(*us).ok_or_else(|| bad("timestamptz"))?)
        }
        Some(Kind::IntervalValue(iv)) => {
            Value::Interval(Interval { months: iv.months, days: iv.days, micros: iv.micros })
        }
        Some(Kind::JsonValue(s)) => Value::Json(Arc::new(serde_json::from_str(s).map_err(|_| bad("json"))?)),
        Some(Kind::VectorValue(v)) => Value::Vector(Arc::from(v.values.as_slice())),
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;

    use super::*;

    #[test]
    fn values_round_trip() {
        let ts: NaiveDateTime = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(1, 2, 3, 4).unwrap();
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Float(2.5),
            Value::Numeric(Decimal::new(1250, 2)),
            Value::text("x"),
            Value::Bytes(Arc::from(&b"\x00\x01"[..])),
            Value::Date(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()),
            Value::Timestamp(ts),
            Value::TimestampTz(ts.and_utc()),
            Value::Interval(Interval { months: 1, days: 2, micros: 3 }),
            Value::Json(Arc::new(serde_json::json!({"a": [1, 2]}))),
            Value::Vector(Arc::from(&[1.0f32, -2.5, 3e-3][..])),
        ];
        for v in values {
            assert_eq!(from_proto(&to_proto(&v)).unwrap(), v);
        }
        assert_eq!(to_proto(&Value::Date(NaiveDate::from_ymd_opt(1970, 1, 2).unwrap())).kind, Some(Kind::DateValue(1)));
        assert!(from_proto(&pb::Value { kind: Some(Kind::NumericValue("x".into())) }).is_err());
    }
}
