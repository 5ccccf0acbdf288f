//! Order-preserving key encoding.
//!
//! The key-value store orders keys by their bytes, and every range scan the
//! SQL layer makes (primary-key ranges, index ranges, `ORDER BY` served by
//! an index, `MAX(pk)`) relies on that order matching SQL's. So each key
//! component is written in a form whose byte order *is* the value order
//! ([`Value::total_cmp`]), in the spirit of toydb's `keycode`:
//!
//! * it is decodable, so a key can be taken apart again (the hidden row id,
//!   the primary key inside an index entry);
//! * it is self-delimiting (no encoding is a prefix of another encoding of
//!   the same type), so the encoding of a *prefix* of the key columns is a
//!   byte prefix of every key that starts with those values, and a prefix
//!   scan is exactly "rows whose first k key columns equal these values";
//! * equal values encode identically (NUMERIC `1.0` and `1.00`, float `-0.0`
//!   and `0.0`, every NaN), so a unique index sees them as duplicates.
//!
//! The one exception to "equal encodes equal" is INTERVAL: PostgreSQL orders
//! intervals by their length with a month as 30 days, so `1 mon` and
//! `30 days` compare equal, but they are different values that must survive a
//! round trip. Intervals are ordered by that length first and then by their
//! fields, which keeps index order consistent with SQL order.
//!
//! Integers of every width are carried as `i64` and encoded in 8 bytes, so a
//! range bound outside a column's width (`smallint_col < 100000`) still
//! encodes. JSONB has no order PostgreSQL would index with a B-tree in the
//! same way, and is refused as a key (`0A000`).
//!
//! ## Format
//!
//! Table and index ids ([`encode_u64`], [`encode_u32`]) are a length byte
//! (0–8) followed by the id's significant big-endian bytes (no leading zero
//! byte; 0 is just `0x00`). Longer means larger, so the order is numeric, no
//! id's encoding is a prefix of another's, and a typical `/table/index`
//! prefix takes 4 bytes: a row key with an integer primary key fits in the
//! 16 key bytes the memtable keeps inline, so its skiplist comparisons
//! rarely touch the heap. A column value starts with a tag byte:
//!
//! | tag    | meaning                                                     |
//! |--------|-------------------------------------------------------------|
//! | `0x01` | a non-NULL value; the payload for the column type follows  |
//! | `0x02` | NULL, no payload; sorts after every value (`NULLS LAST`)    |
//!
//! Payloads by type:
//!
//! * BOOLEAN: one byte, `0` or `1`.
//! * SMALLINT / INTEGER / BIGINT: the `i64`, big-endian, sign bit flipped
//!   (8 bytes).
//! * REAL / DOUBLE PRECISION: the `f64` bits, big-endian, after mapping
//!   `-0.0` to `0.0` and every NaN to the canonical positive quiet NaN; then
//!   positive numbers get the sign bit flipped and negative numbers get every
//!   bit flipped (8 bytes). NaN sorts after `+Infinity`.
//! * NUMERIC: a sign byte `0x01` negative, `0x02` zero, `0x03` positive.
//!   Zero ends there. Otherwise the value is `0.d1d2d3… × 10^e` with `d1 ≠
//!   0` and no trailing zero digits; then comes one exponent byte `e + 128`
//!   and the digits in pairs, each pair one byte `(a + 1) * 11 + (b + 1)`
//!   (`b + 1 = 0` pads an odd last digit), and a `0x00` terminator. For
//!   negative numbers the exponent byte, the digit bytes and the terminator
//!   are all bit-inverted, so larger magnitudes sort first.
//! * TEXT / VARCHAR / BYTEA: the bytes with `0x00` escaped as `0x00 0xFF`,
//!   terminated by `0x00 0x00`.
//! * DATE: days from 0001-01-01 (CE) as `i32`, big-endian, sign bit flipped.
//! * TIMESTAMP / TIMESTAMPTZ: microseconds since 1970-01-01 00:00 (UTC) as
//!   `i64`, big-endian, sign bit flipped.
//! * INTERVAL: the total length in microseconds (a month = 30 days, a day =
//!   24 hours) as `i128` big-endian with the sign bit flipped, then months
//!   and days as `i32` big-endian with the sign bit flipped (24 bytes). The
//!   microsecond field is recomputed from the three on decoding.

use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::varint::{corrupt, get_u8, take, take_array};
use crate::error::Result;
use crate::sql_err;
use crate::types::{DataType, Interval, Value};

/// Tag of a non-NULL column value.
const TAG_VALUE: u8 = 0x01;
/// Tag of a NULL column value (greater than [`TAG_VALUE`]).
const TAG_NULL: u8 = 0x02;

const NUMERIC_NEGATIVE: u8 = 0x01;
const NUMERIC_ZERO: u8 = 0x02;
const NUMERIC_POSITIVE: u8 = 0x03;
/// The most decimal digits a `Decimal` mantissa holds.
const NUMERIC_MAX_DIGITS: usize = 29;

const MICROS_PER_DAY: i128 = 86_400_000_000;

/// Appends a `u64` (a table id) in big-endian order.
pub fn encode_u64(n: u64, out: &mut Vec<u8>) {
    let bytes = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8) as usize;
    out.push((8 - skip) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends a `u32` (an index id), like [`encode_u64`].
pub fn encode_u32(n: u32, out: &mut Vec<u8>) {
    encode_u64(u64::from(n), out)
}

/// Reads an id written by [`encode_u64`]; a length over 8 or a leading
/// zero byte (a non-minimal form) is corruption.
pub fn decode_u64(input: &mut &[u8]) -> Result<u64> {
    let len = get_u8(input)? as usize;
    if len > 8 {
        return Err(corrupt(format!("key id of {len} bytes")));
    }
    let bytes = take(input, len)?;
    if bytes.first() == Some(&0) {
        return Err(corrupt("key id with a leading zero byte"));
    }
    Ok(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

/// Reads an id written by [`encode_u32`].
pub fn decode_u32(input: &mut &[u8]) -> Result<u32> {
    let n = decode_u64(input)?;
    u32::try_from(n).map_err(|_| corrupt(format!("index id {n} out of range")))
}

/// The encoded length of an id: one length byte plus its significant bytes.
pub fn encoded_id_len(n: u64) -> usize {
    1 + 8 - (n.leading_zeros() / 8) as usize
}

/// Fails with `0A000` when values of `ty` cannot be part of a key (a
/// primary key or an index). The binder can call this at DDL time.
pub fn check_key_type(ty: &DataType) -> Result<()> {
    match ty {
        DataType::Jsonb => Err(sql_err!(FEATURE_NOT_SUPPORTED, "{ty} cannot be used in a key")),
        DataType::Vector(_) => Err(sql_err!(
            FEATURE_NOT_SUPPORTED,
            "vector cannot be used in a key (a primary key or a B-tree index); use an hnsw index for vector search"
        )),
        DataType::Unknown => Err(sql_err!(FEATURE_NOT_SUPPORTED, "a column of unknown type cannot be used in a key")),
        DataType::Array(_) | DataType::Int2Vector => {
            Err(sql_err!(FEATURE_NOT_SUPPORTED, "arrays cannot be used in a key (a primary key or a B-tree index)"))
        }
        _ => Ok(()),
    }
}

/// Appends one key component: `value`, a value of a column of type `ty`.
///
/// NULL is accepted for every type. An integer is accepted for a float or
/// NUMERIC column (converted); any other mismatch is an internal error, as
/// the executor casts key values to the column types.
pub fn encode_value(value: &Value, ty: &DataType, out: &mut Vec<u8>) -> Result<()> {
    check_key_type(ty)?;
    if value.is_null() {
        out.push(TAG_NULL);
        return Ok(());
    }
    out.push(TAG_VALUE);
    match (ty, value) {
        (DataType::Bool, Value::Bool(b)) => out.push(*b as u8),
        (DataType::Int2 | DataType::Int4 | DataType::Int8, Value::Int(i)) => encode_i64(*i, out),
        (DataType::Float4 | DataType::Float8, Value::Float(f)) => encode_f64(*f, out),
        (DataType::Float4 | DataType::Float8, Value::Int(i)) => encode_f64(*i as f64, out),
        (DataType::Numeric(_), Value::Numeric(d)) => encode_decimal(d, out),
        (DataType::Numeric(_), Value::Int(i)) => encode_decimal(&Decimal::from(*i), out),
        (DataType::Text | DataType::Varchar(_), Value::Text(s)) => encode_bytes(s.as_bytes(), out),
        (DataType::Bytea, Value::Bytes(b)) => encode_bytes(b, out),
        (DataType::Date, Value::Date(d)) => encode_i32(d.num_days_from_ce(), out),
        (DataType::Timestamp, Value::Timestamp(t)) => encode_i64(t.and_utc().timestamp_micros(), out),
        (DataType::TimestampTz, Value::TimestampTz(t)) => encode_i64(t.timestamp_micros(), out),
        (DataType::Interval, Value::Interval(iv)) => encode_interval(iv, out),
        (ty, value) => {
            return Err(crate::error::Error::internal(format!(
                "cannot encode a {} value as a key of type {ty}",
                value.data_type()
            )));
        }
    }
    Ok(())
}

/// Appends several key components, one per `(value, type)` pair.
pub fn encode_values<'a>(
    values: impl IntoIterator<Item = &'a Value>,
    types: impl IntoIterator<Item = &'a DataType>,
    out: &mut Vec<u8>,
) -> Result<()> {
    for (value, ty) in values.into_iter().zip(types) {
        encode_value(value, ty, out)?;
    }
    Ok(())
}

/// Reads one key component of type `ty`, advancing `input`. Malformed bytes
/// are `XX001`.
pub fn decode_value(input: &mut &[u8], ty: &DataType) -> Result<Value> {
    check_key_type(ty)?;
    match get_u8(input)? {
        TAG_NULL => return Ok(Value::Null),
        TAG_VALUE => {}
        tag => return Err(corrupt(format!("unknown key tag {tag:#04x}"))),
    }
    Ok(match ty {
        DataType::Bool => match get_u8(input)? {
            0 => Value::Bool(false),
            1 => Value::Bool(true),
            b => return Err(corrupt(format!("invalid boolean key byte {b:#04x}"))),
        },
        DataType::Int2 | DataType::Int4 | DataType::Int8 => Value::Int(decode_i64(input)?),
        DataType::Float4 | DataType::Float8 => Value::Float(decode_f64(input)?),
        DataType::Numeric(_) => Value::Numeric(decode_decimal(input)?),
        DataType::Text | DataType::Varchar(_) => {
            let bytes = decode_bytes(input)?;
            Value::text(String::from_utf8(bytes).map_err(|_| corrupt("text key is not valid UTF-8"))?)
        }
        DataType::Bytea => Value::Bytes(decode_bytes(input)?.into()),
        DataType::Date => {
            let days = decode_i32(input)?;
            Value::Date(NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| corrupt("date key out of range"))?)
        }
        DataType::Timestamp => Value::Timestamp(decode_timestamp(input)?.naive_utc()),
        DataType::TimestampTz => Value::TimestampTz(decode_timestamp(input)?),
        DataType::Interval => Value::Interval(decode_interval(input)?),
        DataType::Jsonb | DataType::Vector(_) | DataType::Unknown | DataType::Array(_) | DataType::Int2Vector => {
            unreachable_key_type()?
        }
    })
}

/// Skips one key component of type `ty` without building the value.
pub fn skip_value(input: &mut &[u8], ty: &DataType) -> Result<()> {
    check_key_type(ty)?;
    match get_u8(input)? {
        TAG_NULL => return Ok(()),
        TAG_VALUE => {}
        tag => return Err(corrupt(format!("unknown key tag {tag:#04x}"))),
    }
    match ty {
        DataType::Bool => take(input, 1).map(drop),
        DataType::Int2 | DataType::Int4 | DataType::Int8 => take(input, 8).map(drop),
        DataType::Float4 | DataType::Float8 | DataType::Timestamp | DataType::TimestampTz => take(input, 8).map(drop),
        DataType::Date => take(input, 4).map(drop),
        DataType::Interval => take(input, 24).map(drop),
        DataType::Numeric(_) => decode_decimal(input).map(drop),
        DataType::Text | DataType::Varchar(_) | DataType::Bytea => decode_bytes(input).map(drop),
        DataType::Jsonb | DataType::Vector(_) | DataType::Unknown | DataType::Array(_) | DataType::Int2Vector => {
            unreachable_key_type()
        }
    }
}

fn unreachable_key_type<T>() -> Result<T> {
    Err(crate::error::Error::internal("key type was checked"))
}

fn encode_i64(n: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&((n as u64) ^ (1 << 63)).to_be_bytes());
}

fn decode_i64(input: &mut &[u8]) -> Result<i64> {
    Ok((u64::from_be_bytes(take_array(input)?) ^ (1 << 63)) as i64)
}

fn encode_i32(n: i32, out: &mut Vec<u8>) {
    out.extend_from_slice(&((n as u32) ^ (1 << 31)).to_be_bytes());
}

fn decode_i32(input: &mut &[u8]) -> Result<i32> {
    Ok((u32::from_be_bytes(take_array(input)?) ^ (1 << 31)) as i32)
}

fn encode_i128(n: i128, out: &mut Vec<u8>) {
    out.extend_from_slice(&((n as u128) ^ (1 << 127)).to_be_bytes());
}

fn decode_i128(input: &mut &[u8]) -> Result<i128> {
    Ok((u128::from_be_bytes(take_array(input)?) ^ (1 << 127)) as i128)
}

fn encode_f64(f: f64, out: &mut Vec<u8>) {
    let f = if f.is_nan() {
        f64::NAN
    } else if f == 0.0 {
        0.0
    } else {
        f
    };
    let bits = f.to_bits();
    let bits = if bits >> 63 == 0 { bits ^ (1 << 63) } else { !bits };
    out.extend_from_slice(&bits.to_be_bytes());
}

fn decode_f64(input: &mut &[u8]) -> Result<f64> {
    let bits = u64::from_be_bytes(take_array(input)?);
    let bits = if bits >> 63 == 1 { bits ^ (1 << 63) } else { !bits };
    Ok(f64::from_bits(bits))
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn decode_bytes(input: &mut &[u8]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    loop {
        match get_u8(input)? {
            0 => match get_u8(input)? {
                0 => return Ok(bytes),
                0xff => bytes.push(0),
                b => return Err(corrupt(format!("invalid escape {b:#04x} in a string key"))),
            },
            b => bytes.push(b),
        }
    }
}

fn decode_timestamp(input: &mut &[u8]) -> Result<DateTime<chrono::Utc>> {
    DateTime::from_timestamp_micros(decode_i64(input)?).ok_or_else(|| corrupt("timestamp key out of range"))
}

fn encode_interval(iv: &Interval, out: &mut Vec<u8>) {
    encode_i128(iv.total_micros(), out);
    encode_i32(iv.months, out);
    encode_i32(iv.days, out);
}

fn decode_interval(input: &mut &[u8]) -> Result<Interval> {
    let total = decode_i128(input)?;
    let months = decode_i32(input)?;
    let days = decode_i32(input)?;
    let micros = total - (months as i128 * 30 + days as i128) * MICROS_PER_DAY;
    let micros = i64::try_from(micros).map_err(|_| corrupt("interval key out of range"))?;
    Ok(Interval { months, days, micros })
}

fn encode_decimal(d: &Decimal, out: &mut Vec<u8>) {
    if d.is_zero() {
        out.push(NUMERIC_ZERO);
        return;
    }
    let negative = d.is_sign_negative();
    let normalized = d.normalize();
    // The mantissa's digits without trailing zeros (normalize removed them).
    let digits = normalized.mantissa().unsigned_abs().to_string();
    // value = 0.digits × 10^e, where value = mantissa × 10^-scale.
    let exponent = digits.len() as i32 - normalized.scale() as i32;
    let invert = |b: u8| if negative { !b } else { b };
    out.push(if negative { NUMERIC_NEGATIVE } else { NUMERIC_POSITIVE });
    // |exponent| <= 29, well inside a byte once offset.
    out.push(invert((exponent + 128) as u8));
    for pair in digits.as_bytes().chunks(2) {
        let a = pair[0] - b'0';
        let b = pair.get(1).map_or(0, |c| c - b'0' + 1);
        out.push(invert((a + 1) * 11 + b));
    }
    out.push(invert(0));
}

fn decode_decimal(input: &mut &[u8]) -> Result<Decimal> {
    let negative = match get_u8(input)? {
        NUMERIC_ZERO => return Ok(Decimal::ZERO),
        NUMERIC_NEGATIVE => true,
        NUMERIC_POSITIVE => false,
        b => return Err(corrupt(format!("invalid numeric key sign {b:#04x}"))),
    };
    let invert = |b: u8| if negative { !b } else { b };
    let exponent = invert(get_u8(input)?) as i32 - 128;
    let mut mantissa: i128 = 0;
    let mut count = 0usize;
    loop {
        let byte = invert(get_u8(input)?);
        if byte == 0 {
            break;
        }
        let (a, b) = (byte / 11, byte % 11);
        if !(1..=10).contains(&a) {
            return Err(corrupt("invalid numeric key digits"));
        }
        let mut push = |digit: u8| -> Result<()> {
            count += 1;
            if count > NUMERIC_MAX_DIGITS {
                return Err(corrupt("numeric key has too many digits"));
            }
            mantissa = mantissa * 10 + digit as i128;
            Ok(())
        };
        push(a - 1)?;
        if b > 0 {
            push(b - 1)?;
        }
    }
    if count == 0 {
        return Err(corrupt("numeric key has no digits"));
    }
    // value = 0.digits × 10^exponent = mantissa × 10^(exponent - count).
    let mut scale = count as i32 - exponent;
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or_else(|| corrupt("numeric key out of range"))?;
        scale += 1;
    }
    if negative {
        mantissa = -mantissa;
    }
    let d =
        Decimal::try_from_i128_with_scale(mantissa, scale as u32).map_err(|_| corrupt("numeric key out of range"))?;
    Ok(d.normalize())
}

#[cfg(test)]
mod tests;
