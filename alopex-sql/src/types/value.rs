//! Runtime values.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{DataType, Interval};

/// A row: one value per column.
pub type Row = Vec<Value>;

/// A SQL value.
///
/// `Eq` and `Hash` are *grouping* equality: `NULL` equals `NULL`, `-0.0`
/// equals `0.0` and every NaN equals every NaN, as GROUP BY, DISTINCT and
/// hash joins need (hash joins skip NULL keys themselves). SQL's
/// three-valued `=` lives in the evaluator. Values of different numeric tags
/// compare by numeric value, so `Int(1) == Float(1.0)` and both hash alike.
#[derive(Debug, Clone)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// SMALLINT, INTEGER and BIGINT.
    Int(i64),
    /// REAL and DOUBLE PRECISION.
    Float(f64),
    /// NUMERIC.
    Numeric(Decimal),
    /// TEXT and VARCHAR.
    Text(Arc<str>),
    /// BYTEA.
    Bytes(Arc<[u8]>),
    /// DATE.
    Date(NaiveDate),
    /// TIMESTAMP.
    Timestamp(NaiveDateTime),
    /// TIMESTAMPTZ, held in UTC.
    TimestampTz(DateTime<Utc>),
    /// INTERVAL.
    Interval(Interval),
    /// JSONB.
    Json(Arc<serde_json::Value>),
    /// `vector`: finite single-precision floats (at least one; checked where
    /// a vector is made from text or cast to a vector type).
    Vector(Arc<[f32]>),
    /// An array (`int4[]`, `text[]`, `int2vector`): its elements in order,
    /// NULLs included. Where subscripts start is the type's business
    /// ([`DataType::lower_bound`]).
    Array(Arc<[Value]>),
}

impl Value {
    /// A TEXT value.
    pub fn text(s: impl AsRef<str>) -> Value {
        Value::Text(Arc::from(s.as_ref()))
    }

    /// A `vector` value (`Value::vector([1.0, 2.0])`). Its elements are
    /// checked (finite, 1..=16000 of them) when it is cast or stored.
    pub fn vector(v: impl Into<Arc<[f32]>>) -> Value {
        Value::Vector(v.into())
    }

    /// About how many bytes of memory the value takes (for limits, not
    /// accounting).
    pub fn approximate_size(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Text(s) => s.len(),
                Value::Bytes(b) => b.len(),
                Value::Json(_) => 64,
                Value::Vector(v) => v.len() * 4,
                Value::Array(a) => a.iter().map(Value::approximate_size).sum(),
                _ => 0,
            }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The natural type of this value (integers report BIGINT).
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Null => DataType::Unknown,
            Value::Bool(_) => DataType::Bool,
            Value::Int(_) => DataType::Int8,
            Value::Float(_) => DataType::Float8,
            Value::Numeric(_) => DataType::Numeric(None),
            Value::Text(_) => DataType::Text,
            Value::Bytes(_) => DataType::Bytea,
            Value::Date(_) => DataType::Date,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::TimestampTz(_) => DataType::TimestampTz,
            Value::Interval(_) => DataType::Interval,
            Value::Json(_) => DataType::Jsonb,
            Value::Vector(_) => DataType::Vector(None),
            Value::Array(a) => {
                DataType::Array(Box::new(a.iter().find(|v| !v.is_null()).map_or(DataType::Unknown, Value::data_type)))
            }
        }
    }

    /// The total order used by ORDER BY, MIN/MAX, merge steps and index keys:
    /// NULL sorts after everything (PostgreSQL's default `NULLS LAST` for
    /// ascending order); numbers compare by value across tags; NaN sorts
    /// after every other float, as in PostgreSQL. Values of unrelated types
    /// order by a fixed type rank (the binder never lets that happen in SQL).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Null, _) => Ordering::Greater,
            (_, Null) => Ordering::Less,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => float_cmp(*a, *b),
            (Numeric(a), Numeric(b)) => a.cmp(b),
            (Int(a), Float(b)) => float_cmp(*a as f64, *b),
            (Float(a), Int(b)) => float_cmp(*a, *b as f64),
            (Int(a), Numeric(b)) => Decimal::from(*a).cmp(b),
            (Numeric(a), Int(b)) => a.cmp(&Decimal::from(*b)),
            (Float(a), Numeric(b)) => float_cmp(*a, decimal_to_f64(b)),
            (Numeric(a), Float(b)) => float_cmp(decimal_to_f64(a), *b),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (Date(a), Date(b)) => a.cmp(b),
            (Timestamp(a), Timestamp(b)) => a.cmp(b),
            (TimestampTz(a), TimestampTz(b)) => a.cmp(b),
            (Date(a), Timestamp(b)) => date_to_ts(a).cmp(b),
            (Timestamp(a), Date(b)) => a.cmp(&date_to_ts(b)),
            (Interval(a), Interval(b)) => a.total_micros().cmp(&b.total_micros()),
            (Json(a), Json(b)) => a.to_string().cmp(&b.to_string()),
            (Vector(a), Vector(b)) => vector_cmp(a, b),
            (Array(a), Array(b)) => array_cmp(a, b),
            (a, b) => a.type_rank().cmp(&b.type_rank()),
        }
    }

    fn type_rank(&self) -> u8 {
        match self {
            Value::Bool(_) => 0,
            Value::Int(_) | Value::Float(_) | Value::Numeric(_) => 1,
            Value::Text(_) => 2,
            Value::Bytes(_) => 3,
            Value::Date(_) | Value::Timestamp(_) => 4,
            Value::TimestampTz(_) => 5,
            Value::Interval(_) => 6,
            Value::Json(_) => 7,
            Value::Vector(_) => 8,
            Value::Array(_) => 9,
            Value::Null => 10,
        }
    }
}

/// pgvector's btree order (`vector_cmp_internal`): elements compare in
/// order, then the shorter vector sorts first.
fn vector_cmp(a: &[f32], b: &[f32]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.partial_cmp(y) {
            Some(Ordering::Equal) | None => {}
            Some(o) => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// PostgreSQL's `array_cmp`: elements in order (NULL elements equal each
/// other and sort after the rest), then the shorter array first.
fn array_cmp(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.total_cmp(y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

impl From<Vec<f32>> for Value {
    fn from(v: Vec<f32>) -> Value {
        Value::Vector(v.into())
    }
}

impl From<&[f32]> for Value {
    fn from(v: &[f32]) -> Value {
        Value::Vector(v.into())
    }
}

fn date_to_ts(d: &NaiveDate) -> NaiveDateTime {
    d.and_time(chrono::NaiveTime::MIN)
}

/// A NUMERIC as the nearest `f64`.
pub fn decimal_to_f64(d: &Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(f64::NAN)
}

fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // -0.0 == 0.0 here, unlike f64::total_cmp.
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        self.total_cmp(other)
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Value::Null => 0u8.hash(state),
            Value::Bool(b) => b.hash(state),
            // Numbers that compare equal must hash alike: hash integral
            // values as i64, everything else by its normalized f64 bits.
            Value::Int(i) => i.hash(state),
            Value::Float(f) => hash_number(*f, state),
            Value::Numeric(d) => {
                if d.fract().is_zero()
                    && let Ok(i) = i64::try_from(*d)
                {
                    return i.hash(state);
                }
                hash_number(decimal_to_f64(d), state)
            }
            Value::Text(s) => s.hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Date(d) => date_to_ts(d).hash(state),
            Value::Timestamp(t) => t.hash(state),
            Value::TimestampTz(t) => t.hash(state),
            Value::Interval(i) => i.total_micros().hash(state),
            Value::Json(j) => j.to_string().hash(state),
            Value::Vector(v) => {
                v.len().hash(state);
                for x in v.iter() {
                    // -0.0 equals 0.0 (vectors hold no NaN).
                    (if *x == 0.0 { 0.0f32 } else { *x }).to_bits().hash(state);
                }
            }
            Value::Array(a) => {
                a.len().hash(state);
                a.iter().for_each(|v| v.hash(state));
            }
        }
    }
}

fn hash_number<H: Hasher>(f: f64, state: &mut H) {
    if f.is_nan() {
        u64::MAX.hash(state)
    } else if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
        (f as i64).hash(state)
    } else {
        f.to_bits().hash(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn h(v: &Value) -> u64 {
        let mut s = DefaultHasher::new();
        v.hash(&mut s);
        s.finish()
    }

    #[test]
    fn numbers_compare_and_hash_across_tags() {
        let d = Value::Numeric(Decimal::from(3));
        assert_eq!(Value::Int(3), Value::Float(3.0));
        assert_eq!(Value::Int(3), d);
        assert_eq!(h(&Value::Int(3)), h(&Value::Float(3.0)));
        assert_eq!(h(&Value::Int(3)), h(&d));
        assert_eq!(h(&Value::Float(-0.0)), h(&Value::Float(0.0)));
        assert!(Value::Int(2) < Value::Float(2.5));
        assert!(Value::Null > Value::Int(i64::MAX));
        assert!(Value::Float(f64::NAN) > Value::Float(f64::INFINITY));
    }

    #[test]
    fn vectors_order_like_pgvector_btree() {
        let v = |x: &[f32]| Value::from(x);
        assert!(v(&[1.0, 2.0]) < v(&[1.0, 3.0]));
        assert!(v(&[1.0, 2.0]) < v(&[1.0, 2.0, 0.0]));
        assert!(v(&[2.0]) > v(&[1.0, 9.0]));
        assert_eq!(v(&[-0.0, 1.0]), v(&[0.0, 1.0]));
        assert_eq!(h(&v(&[-0.0, 1.0])), h(&v(&[0.0, 1.0])));
        assert_eq!(Value::vector(vec![1.0f32]), v(&[1.0]));
    }
}
