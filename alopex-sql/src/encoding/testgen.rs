//! Random values for the encoding property tests.
//!
//! A small deterministic generator (splitmix64) instead of a property-test
//! crate: the tests need only "many values of each type, biased towards the
//! edges", and a fixed seed makes every failure reproducible. Edge values
//! (extremes, zero, `-0.0`, NaN, infinities, embedded `0x00` and `0xFF`
//! bytes, string prefixes of each other) are drawn often on purpose, since
//! that is where order-preserving encodings break.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;

use crate::types::{DataType, Interval, Value};

/// A seeded pseudo-random generator.
pub struct Gen(u64);

impl Gen {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of `items`.
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }

    fn small_i64(&mut self) -> i64 {
        self.below(2001) as i64 - 1000
    }

    fn int(&mut self) -> i64 {
        match self.below(4) {
            0 => self.pick(&[i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX]),
            1 => self.small_i64(),
            _ => self.next_u64() as i64 >> self.below(64),
        }
    }

    fn float(&mut self) -> f64 {
        match self.below(5) {
            0 => self.pick(&[
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                5e-324,
                -5e-324,
                f64::MAX,
                f64::MIN,
            ]),
            1 => self.small_i64() as f64 / 8.0,
            _ => {
                let f = f64::from_bits(self.next_u64());
                if f.is_nan() { f64::NAN } else { f }
            }
        }
    }

    fn decimal(&mut self) -> Decimal {
        let scale = self.below(29) as u32;
        let mantissa: i128 = match self.below(4) {
            0 => self.small_i64() as i128,
            1 => self.pick(&[0i128, 1, -1, 10, -10, 100, 79_228_162_514_264_337_593_543_950_335]),
            _ => {
                let bits = (self.next_u64() as u128) << 32 | self.next_u64() as u128 & 0xffff_ffff;
                let magnitude = (bits >> self.below(96)) as i128;
                if self.below(2) == 0 { magnitude } else { -magnitude }
            }
        };
        Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or(Decimal::ONE)
    }

    fn bytes(&mut self, alphabet: &[u8]) -> Vec<u8> {
        let len = self.below(6);
        (0..len).map(|_| self.pick(alphabet)).collect()
    }

    fn text(&mut self) -> String {
        let len = self.below(5);
        (0..len).map(|_| self.pick(&['\0', '\u{1}', 'a', 'b', 'z', 'é', '\u{10ffff}', '\u{7f}'])).collect()
    }

    fn date(&mut self) -> NaiveDate {
        let min = NaiveDate::MIN.num_days_from_ce() as i64;
        let max = NaiveDate::MAX.num_days_from_ce() as i64;
        let days = match self.below(3) {
            0 => self.pick(&[min, max, 719_163, 0, 1]),
            _ => min + self.below((max - min + 1) as u64) as i64,
        };
        NaiveDate::from_num_days_from_ce_opt(days as i32).unwrap_or_default()
    }

    fn micros(&mut self) -> i64 {
        let min = DateTime::<chrono::Utc>::MIN_UTC.timestamp_micros();
        let max = DateTime::<chrono::Utc>::MAX_UTC.timestamp_micros();
        match self.below(3) {
            0 => self.pick(&[min, max, 0, -1, 1]),
            _ => (min as i128 + (self.next_u64() % (max as i128 - min as i128) as u64) as i128) as i64,
        }
    }

    fn interval(&mut self) -> Interval {
        match self.below(3) {
            0 => Interval {
                months: self.pick(&[i32::MIN, -1, 0, 1, i32::MAX]),
                days: self.pick(&[i32::MIN, -30, 0, 30, i32::MAX]),
                micros: self.pick(&[i64::MIN, -86_400_000_000, 0, 86_400_000_000, i64::MAX]),
            },
            1 => Interval {
                months: self.below(5) as i32 - 2,
                days: self.below(121) as i32 - 60,
                micros: (self.below(5) as i64 - 2) * 86_400_000_000,
            },
            _ => Interval { months: self.next_u64() as i32, days: self.next_u64() as i32, micros: self.int() },
        }
    }

    /// A value of type `ty` (NULL about one time in ten).
    pub fn value(&mut self, ty: &DataType) -> Value {
        if self.below(10) == 0 {
            return Value::Null;
        }
        self.non_null(ty)
    }

    /// A non-NULL value of type `ty`.
    pub fn non_null(&mut self, ty: &DataType) -> Value {
        match ty {
            DataType::Bool => Value::Bool(self.below(2) == 1),
            DataType::Int2 => Value::Int(self.int() as i16 as i64),
            DataType::Int4 => Value::Int(self.int() as i32 as i64),
            DataType::Int8 => Value::Int(self.int()),
            DataType::Float4 | DataType::Float8 => Value::Float(self.float()),
            DataType::Numeric(_) => Value::Numeric(self.decimal()),
            DataType::Text | DataType::Varchar(_) => Value::text(self.text()),
            DataType::Bytea => Value::Bytes(Arc::from(self.bytes(&[0x00, 0x01, 0x61, 0xfe, 0xff]))),
            DataType::Date => Value::Date(self.date()),
            DataType::Timestamp => {
                Value::Timestamp(DateTime::from_timestamp_micros(self.micros()).unwrap_or_default().naive_utc())
            }
            DataType::TimestampTz => {
                Value::TimestampTz(DateTime::from_timestamp_micros(self.micros()).unwrap_or_default())
            }
            DataType::Interval => Value::Interval(self.interval()),
            DataType::Jsonb => {
                Value::Json(Arc::new(serde_json::json!({"k": self.small_i64(), "s": self.text(), "a": [1, null]})))
            }
            DataType::Vector(dim) => {
                let n = dim.map_or(1 + self.below(8) as usize, |n| n as usize);
                Value::vector(
                    (0..n)
                        .map(|_| self.float() as f32)
                        .map(|x| if x.is_finite() { x } else { 0.0 })
                        .collect::<Vec<_>>(),
                )
            }
            DataType::Array(elem) => {
                let n = self.below(4) as usize;
                Value::Array((0..n).map(|_| self.value(elem)).collect())
            }
            DataType::Int2Vector => Value::Array((0..self.below(4)).map(|_| Value::Int(self.small_i64())).collect()),
            DataType::Unknown => Value::Null,
        }
    }
}

/// Every key type, with typmods where they exist.
pub fn key_types() -> Vec<DataType> {
    vec![
        DataType::Bool,
        DataType::Int2,
        DataType::Int4,
        DataType::Int8,
        DataType::Float4,
        DataType::Float8,
        DataType::Numeric(None),
        DataType::Numeric(Some((10, 2))),
        DataType::Text,
        DataType::Varchar(Some(5)),
        DataType::Bytea,
        DataType::Date,
        DataType::Timestamp,
        DataType::TimestampTz,
        DataType::Interval,
    ]
}

/// True when `a` and `b` are the same value as far as storage must keep
/// it: like `==`, but INTERVAL fields must match exactly and text/bytes
/// byte for byte.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Interval(x), Value::Interval(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.is_nan() && y.is_nan() || x == y,
        (Value::Null, Value::Null) => true,
        _ => std::mem::discriminant(a) == std::mem::discriminant(b) && a == b,
    }
}
