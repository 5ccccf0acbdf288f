//! The row codec: how a row is stored as the value of its primary key.
//!
//! Rows are written once and read many times, and tables change shape:
//! `ADD COLUMN`, `DROP COLUMN` and `RENAME COLUMN` must be instant, not a
//! rewrite of every row. So a stored row does not depend on column
//! *positions* or *names*: each value is tagged with the column's stable id
//! (see [`crate::catalog::ColumnSchema::id`]), and decoding maps ids to the current
//! positions through the [`TableSchema`]:
//!
//! * an id the schema does not know (a dropped column) is skipped;
//! * a column the row does not mention (added after the row was written)
//!   reads as its [`crate::catalog::ColumnSchema::missing`] value, PostgreSQL's "missing
//!   value" (the `DEFAULT` evaluated when the column was added);
//! * NULL is stored explicitly, so a NULL written after `ADD COLUMN ...
//!   DEFAULT 5` stays NULL instead of reading as 5.
//!
//! Each value carries its own type tag, which keeps the format
//! self-describing (a value can be skipped without its column, and the same
//! value codec stores the catalog's `missing` values) and lets the decoder
//! reject a value that does not fit its column as corruption. Encoding is
//! strict in the same way: a value whose kind does not match its column's
//! type is an internal error (`XX000`), so a missing cast in the planner is
//! caught when the row is written rather than when it is read back.
//!
//! Values are compact: integers are zigzag varints, strings are length
//! prefixed, booleans live in the tag.
//!
//! ## Format
//!
//! A row is one format-version byte (`0x01`), then for each column of the
//! row, in schema order: the column id as an unsigned varint, then the value.
//!
//! A value is a tag byte and a payload (varints as in [`super::varint`]):
//!
//! | tag | type                  | payload                                        |
//! |-----|-----------------------|------------------------------------------------|
//! | 0   | NULL                  | none                                           |
//! | 1   | BOOLEAN false         | none                                           |
//! | 2   | BOOLEAN true          | none                                           |
//! | 3   | integer (any width)   | signed varint                                  |
//! | 4   | float (any width)     | the `f64` bits, 8 bytes little-endian          |
//! | 5   | NUMERIC               | scale byte (0..=28), mantissa as signed varint |
//! | 6   | TEXT / VARCHAR        | length varint, UTF-8 bytes                     |
//! | 7   | BYTEA                 | length varint, bytes                           |
//! | 8   | DATE                  | days from 0001-01-01 (CE) as signed varint     |
//! | 9   | TIMESTAMP             | microseconds since 1970-01-01 as signed varint |
//! | 10  | TIMESTAMPTZ           | microseconds since 1970-01-01 UTC, likewise    |
//! | 11  | INTERVAL              | months, days, microseconds: 3 signed varints   |
//! | 12  | JSONB                 | length varint, the JSON text                   |
//! | 13  | VECTOR                | dimension varint, then each `f32`'s bits, 4 bytes little-endian |
//!
//! Timestamps keep microseconds, PostgreSQL's precision.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::varint::{
    corrupt, get_bytes, get_i32_varint, get_ivarint, get_ivarint128, get_str, get_u8, get_u32_varint, get_uvarint,
    put_bytes, put_ivarint, put_ivarint128, put_uvarint, take, take_array,
};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::types::{DataType, Interval, Row, Value};

/// The row format version this code writes and reads.
const ROW_FORMAT_VERSION: u8 = 1;

const TAG_NULL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INT: u8 = 3;
const TAG_FLOAT: u8 = 4;
const TAG_NUMERIC: u8 = 5;
const TAG_TEXT: u8 = 6;
const TAG_BYTES: u8 = 7;
const TAG_DATE: u8 = 8;
const TAG_TIMESTAMP: u8 = 9;
const TAG_TIMESTAMPTZ: u8 = 10;
const TAG_INTERVAL: u8 = 11;
const TAG_JSON: u8 = 12;
const TAG_VECTOR: u8 = 13;
const TAG_ARRAY: u8 = 14;

/// Encodes a full row of `table` (one value per column, already of the
/// column types).
pub fn encode_row(table: &TableSchema, row: &[Value]) -> Result<Vec<u8>> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!(
            "row of {} values for table \"{}\" of {} columns",
            row.len(),
            table.name,
            table.columns.len()
        )));
    }
    let mut out = Vec::with_capacity(1 + row.len() * 4);
    out.push(ROW_FORMAT_VERSION);
    for (column, value) in table.columns.iter().zip(row) {
        if !fits(value, &column.ty) {
            return Err(Error::internal(format!(
                "a {} value cannot be stored in column \"{}\" of type {}",
                value.data_type(),
                column.name,
                column.ty
            )));
        }
        put_uvarint(&mut out, column.id as u64);
        encode_value(value, &mut out);
    }
    Ok(out)
}

/// Decodes a stored row into the current shape of `table`: values of
/// dropped columns are skipped, columns the row predates read as their
/// `missing` value. Malformed bytes are `XX001`.
///
/// Rows are written in schema order, so almost every row holds exactly the
/// table's columns in order: those decode straight into the output vector,
/// one id compare per column. At the first column that is not the expected
/// one (a dropped or added column, or corruption) decoding continues in
/// `decode_row_general` from where it stopped.
pub fn decode_row(table: &TableSchema, bytes: &[u8]) -> Result<Row> {
    decode_row_wanted(table, bytes, None)
}

/// Like [`decode_row`], but only the columns marked in `wanted` are decoded;
/// the others read as NULL. A scan whose consumer needs a few columns skips
/// the rest without building their values (no allocation for an unread
/// text column). Skipped values are still walked and bounds-checked, so a
/// malformed row is reported as it would be by [`decode_row`].
pub fn decode_row_columns(table: &TableSchema, bytes: &[u8], wanted: &[bool]) -> Result<Row> {
    decode_row_wanted(table, bytes, Some(wanted))
}

/// The decoder behind both: every column, or those `wanted` marks.
fn decode_row_wanted(table: &TableSchema, bytes: &[u8], wanted: Option<&[bool]>) -> Result<Row> {
    let mut input = bytes;
    let version = get_u8(&mut input)?;
    if version != ROW_FORMAT_VERSION {
        return Err(corrupt(format!("unknown row format version {version}")));
    }
    let columns = &table.columns;
    let mut row: Row = Vec::with_capacity(columns.len());
    while let Some(column) = columns.get(row.len()) {
        if input.is_empty() {
            break;
        }
        let mut rest = input;
        if get_u32_varint_fast(&mut rest)? != column.id {
            break;
        }
        if wanted.is_none_or(|w| w.get(row.len()).copied().unwrap_or(true)) {
            let value = decode_value(&mut rest)?;
            if !fits(&value, &column.ty) {
                return Err(misfit(&value, column));
            }
            row.push(value);
        } else {
            skip_value(&mut rest)?;
            row.push(Value::Null);
        }
        input = rest;
    }
    if input.is_empty() && row.len() == columns.len() {
        return Ok(row);
    }
    // A row written under another schema: decode it whole, then drop what
    // is not wanted.
    let mut row = decode_row_general(table, row, input)?;
    for (value, &keep) in row.iter_mut().zip(wanted.unwrap_or(&[])) {
        if !keep {
            *value = Value::Null;
        }
    }
    Ok(row)
}

/// Steps over one self-describing value without building it.
fn skip_value(input: &mut &[u8]) -> Result<()> {
    match get_u8(input)? {
        TAG_NULL | TAG_FALSE | TAG_TRUE => {}
        TAG_INT => {
            get_ivarint_fast(input)?;
        }
        TAG_FLOAT => {
            take_array::<8>(input)?;
        }
        TAG_NUMERIC => {
            get_u8(input)?;
            get_ivarint128(input)?;
        }
        TAG_TEXT | TAG_JSON => {
            get_str_fast(input)?;
        }
        TAG_BYTES => {
            get_bytes(input)?;
        }
        TAG_DATE => {
            get_i32_varint(input)?;
        }
        TAG_TIMESTAMP | TAG_TIMESTAMPTZ => {
            get_ivarint(input)?;
        }
        TAG_INTERVAL => {
            get_i32_varint(input)?;
            get_i32_varint(input)?;
            get_ivarint(input)?;
        }
        TAG_VECTOR => {
            vector_bytes(input)?;
        }
        TAG_ARRAY => {
            array(input)?;
        }
        tag => return Err(corrupt(format!("unknown value tag {tag}"))),
    }
    Ok(())
}

/// The rest of [`decode_row`] for a row whose columns differ from the
/// schema's: `done` holds the values of the first columns, in order, and
/// `input` the entries after them.
fn decode_row_general(table: &TableSchema, done: Row, mut input: &[u8]) -> Result<Row> {
    // Rows are written in schema order, so the next column is almost always
    // the one after the last match.
    let mut hint = done.len();
    let mut slots: Vec<Option<Value>> = done.into_iter().map(Some).collect();
    slots.resize(table.columns.len(), None);
    while !input.is_empty() {
        let id = get_u32_varint_fast(&mut input)?;
        let value = decode_value(&mut input)?;
        let position = if table.columns.get(hint).is_some_and(|c| c.id == id) {
            Some(hint)
        } else {
            table.columns.iter().position(|c| c.id == id)
        };
        let Some(position) = position else {
            continue; // A dropped column.
        };
        hint = position + 1;
        let column = &table.columns[position];
        if !fits(&value, &column.ty) {
            return Err(misfit(&value, column));
        }
        if slots[position].replace(value).is_some() {
            return Err(corrupt(format!("column \"{}\" stored twice in a row", column.name)));
        }
    }
    Ok(slots
        .into_iter()
        .zip(&table.columns)
        .map(|(slot, column)| slot.unwrap_or_else(|| column.missing.clone()))
        .collect())
}

/// The corruption error for a stored value that does not fit its column.
fn misfit(value: &Value, column: &crate::catalog::ColumnSchema) -> Error {
    corrupt(format!("a {} value stored in column \"{}\" of type {}", value.data_type(), column.name, column.ty))
}

/// [`get_u32_varint`] with the one-byte case (ids below 128) inline.
#[inline]
fn get_u32_varint_fast(input: &mut &[u8]) -> Result<u32> {
    match input.first() {
        Some(&b) if b < 0x80 => {
            *input = &input[1..];
            Ok(b as u32)
        }
        _ => get_u32_varint(input),
    }
}

/// [`get_str`] with a one-byte length (strings below 128 bytes) inline.
#[inline]
fn get_str_fast<'a>(input: &mut &'a [u8]) -> Result<&'a str> {
    match input.split_first() {
        Some((&len, rest)) if len < 0x80 && rest.len() >= len as usize => {
            let (bytes, rest) = rest.split_at(len as usize);
            *input = rest;
            std::str::from_utf8(bytes).map_err(|_| corrupt("string is not valid UTF-8"))
        }
        _ => get_str(input),
    }
}

/// [`get_ivarint`] with the one-byte case (-64..=63) inline.
#[inline]
fn get_ivarint_fast(input: &mut &[u8]) -> Result<i64> {
    match input.first() {
        Some(&b) if b < 0x80 => {
            *input = &input[1..];
            let z = b as i64;
            Ok((z >> 1) ^ -(z & 1))
        }
        _ => get_ivarint(input),
    }
}

/// True when `value` may be stored in a column of type `ty`.
fn fits(value: &Value, ty: &DataType) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(_) => *ty == DataType::Bool,
        Value::Int(_) => ty.is_integer(),
        Value::Float(_) => matches!(ty, DataType::Float4 | DataType::Float8),
        Value::Numeric(_) => matches!(ty, DataType::Numeric(_)),
        Value::Text(_) => ty.is_string(),
        Value::Bytes(_) => *ty == DataType::Bytea,
        Value::Date(_) => *ty == DataType::Date,
        Value::Timestamp(_) => *ty == DataType::Timestamp,
        Value::TimestampTz(_) => *ty == DataType::TimestampTz,
        Value::Interval(_) => *ty == DataType::Interval,
        Value::Json(_) => *ty == DataType::Jsonb,
        Value::Vector(v) => match ty {
            DataType::Vector(None) => true,
            DataType::Vector(Some(n)) => v.len() == *n as usize,
            _ => false,
        },
        Value::Array(items) => match ty.element() {
            Some(elem) => items.iter().all(|v| fits(v, elem)),
            None => false,
        },
    }
}

/// Appends one self-describing value (tag and payload).
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Int(i) => {
            out.push(TAG_INT);
            put_ivarint(out, *i);
        }
        Value::Float(f) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::Numeric(d) => {
            out.push(TAG_NUMERIC);
            out.push(d.scale() as u8);
            put_ivarint128(out, d.mantissa());
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            put_bytes(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(TAG_BYTES);
            put_bytes(out, b);
        }
        Value::Date(d) => {
            out.push(TAG_DATE);
            put_ivarint(out, d.num_days_from_ce() as i64);
        }
        Value::Timestamp(t) => {
            out.push(TAG_TIMESTAMP);
            put_ivarint(out, t.and_utc().timestamp_micros());
        }
        Value::TimestampTz(t) => {
            out.push(TAG_TIMESTAMPTZ);
            put_ivarint(out, t.timestamp_micros());
        }
        Value::Interval(iv) => {
            out.push(TAG_INTERVAL);
            put_ivarint(out, iv.months as i64);
            put_ivarint(out, iv.days as i64);
            put_ivarint(out, iv.micros);
        }
        Value::Json(j) => {
            out.push(TAG_JSON);
            put_bytes(out, j.to_string().as_bytes());
        }
        Value::Vector(v) => {
            out.push(TAG_VECTOR);
            put_uvarint(out, v.len() as u64);
            out.reserve(v.len() * 4);
            for x in v.iter() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        Value::Array(items) => {
            out.push(TAG_ARRAY);
            put_uvarint(out, items.len() as u64);
            for v in items.iter() {
                encode_value(v, out);
            }
        }
    }
}

/// A stored array's elements (tag 14's payload: a count, then each element
/// as a self-describing value).
fn array(input: &mut &[u8]) -> Result<Arc<[Value]>> {
    let n = get_uvarint(input)?;
    if n > input.len() as u64 {
        return Err(corrupt("array count larger than the data"));
    }
    let mut items = Vec::with_capacity(n as usize);
    for _ in 0..n {
        items.push(decode_value(input)?);
    }
    Ok(items.into())
}

/// Reads one self-describing value, advancing `input`. Malformed bytes are
/// `XX001`.
pub fn decode_value(input: &mut &[u8]) -> Result<Value> {
    Ok(match get_u8(input)? {
        TAG_NULL => Value::Null,
        TAG_FALSE => Value::Bool(false),
        TAG_TRUE => Value::Bool(true),
        TAG_INT => Value::Int(get_ivarint_fast(input)?),
        TAG_FLOAT => Value::Float(f64::from_bits(u64::from_le_bytes(take_array(input)?))),
        TAG_NUMERIC => {
            let scale = get_u8(input)? as u32;
            let mantissa = get_ivarint128(input)?;
            Value::Numeric(
                Decimal::try_from_i128_with_scale(mantissa, scale)
                    .map_err(|_| corrupt("numeric value out of range"))?,
            )
        }
        TAG_TEXT => Value::Text(Arc::from(get_str_fast(input)?)),
        TAG_BYTES => Value::Bytes(Arc::from(get_bytes(input)?)),
        TAG_DATE => {
            let days = get_i32_varint(input)?;
            Value::Date(NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| corrupt("date out of range"))?)
        }
        TAG_TIMESTAMP => Value::Timestamp(timestamp(get_ivarint(input)?)?.naive_utc()),
        TAG_TIMESTAMPTZ => Value::TimestampTz(timestamp(get_ivarint(input)?)?),
        TAG_INTERVAL => Value::Interval(Interval {
            months: get_i32_varint(input)?,
            days: get_i32_varint(input)?,
            micros: get_ivarint(input)?,
        }),
        TAG_JSON => {
            let text = get_str(input)?;
            Value::Json(Arc::new(serde_json::from_str(text).map_err(|_| corrupt("invalid stored json"))?))
        }
        TAG_VECTOR => Value::Vector(vector(input)?),
        TAG_ARRAY => Value::Array(array(input)?),
        tag => return Err(corrupt(format!("unknown value tag {tag}"))),
    })
}

/// A stored vector's elements (tag 13's payload).
fn vector(input: &mut &[u8]) -> Result<Arc<[f32]>> {
    let bytes = vector_bytes(input)?;
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// The element bytes of a stored vector, advancing past them.
fn vector_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    let dim = get_uvarint(input)?;
    let len = usize::try_from(dim)
        .ok()
        .and_then(|d| d.checked_mul(4))
        .filter(|len| *len <= input.len())
        .ok_or_else(|| corrupt(format!("vector of {dim} elements longer than the data")))?;
    take(input, len)
}

fn timestamp(micros: i64) -> Result<DateTime<chrono::Utc>> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt("timestamp out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnSchema;
    use crate::encoding::testgen::{Gen, same_value};
    use crate::error::SqlState;

    fn column(id: u32, name: &str, ty: DataType) -> ColumnSchema {
        ColumnSchema { id, name: name.into(), ty, nullable: true, default: None, missing: Value::Null, hidden: false }
    }

    fn table(columns: Vec<ColumnSchema>) -> TableSchema {
        let next_column_id = columns.iter().map(|c| c.id + 1).max().unwrap_or(1);
        TableSchema {
            id: 20,
            name: "t".into(),
            columns,
            primary_key: vec![0],
            indexes: vec![],
            checks: vec![],
            next_column_id,
            next_index_id: 2,
        }
    }

    fn all_types() -> Vec<DataType> {
        let mut types = crate::encoding::testgen::key_types();
        types.push(DataType::Jsonb);
        types.push(DataType::Vector(None));
        types
    }

    #[test]
    fn values_of_every_type_round_trip() {
        let mut g = Gen::new(21);
        for ty in all_types() {
            for _ in 0..1000 {
                let v = g.value(&ty);
                let mut buf = Vec::new();
                encode_value(&v, &mut buf);
                let mut input = &buf[..];
                let back = decode_value(&mut input).unwrap();
                assert!(input.is_empty());
                assert!(same_value(&v, &back), "{ty}: {v:?} came back as {back:?}");
                if let (Value::Numeric(a), Value::Numeric(b)) = (&v, &back) {
                    assert_eq!(a.scale(), b.scale(), "the scale is kept: {a} vs {b}");
                }
                if let (Value::Float(a), Value::Float(b)) = (&v, &back) {
                    assert!(a.to_bits() == b.to_bits() || a.is_nan(), "float bits kept");
                }
            }
        }
    }

    #[test]
    fn decoding_some_columns_reads_the_rest_as_null() {
        let types = all_types();
        let columns: Vec<ColumnSchema> =
            types.iter().enumerate().map(|(i, ty)| column(i as u32 + 1, &format!("c{i}"), ty.clone())).collect();
        let t = table(columns);
        let mut g = Gen::new(5);
        let row: Row = types.iter().map(|ty| g.value(ty)).collect();
        let bytes = encode_row(&t, &row).unwrap();
        for skip_every in 1..4 {
            let wanted: Vec<bool> = (0..row.len()).map(|i| i % skip_every == 0).collect();
            let got = decode_row_columns(&t, &bytes, &wanted).unwrap();
            for (i, (got, full)) in got.iter().zip(&row).enumerate() {
                if wanted[i] {
                    assert!(same_value(got, full), "column {i}: {got:?} vs {full:?}");
                } else {
                    assert_eq!(got, &Value::Null, "column {i}");
                }
            }
        }
        // A truncated row is refused exactly when the full decoder refuses
        // it, even if the cut falls inside a skipped value.
        let none = vec![false; row.len()];
        for cut in 1..bytes.len() {
            let partial = decode_row_columns(&t, &bytes[..cut], &none);
            assert_eq!(partial.is_err(), decode_row(&t, &bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rows_round_trip() {
        let types = all_types();
        let t =
            table(types.iter().enumerate().map(|(i, ty)| column(i as u32 + 1, &format!("c{i}"), ty.clone())).collect());
        let mut g = Gen::new(4);
        for _ in 0..300 {
            let row: Row = types.iter().map(|ty| g.value(ty)).collect();
            let back = decode_row(&t, &encode_row(&t, &row).unwrap()).unwrap();
            assert_eq!(back.len(), row.len());
            for (a, b) in row.iter().zip(&back) {
                assert!(same_value(a, b), "{a:?} came back as {b:?}");
            }
        }
    }

    #[test]
    fn added_dropped_and_renamed_columns_read_without_rewrite() {
        let v1 = table(vec![column(1, "a", DataType::Int4), column(2, "b", DataType::Text)]);
        let old = encode_row(&v1, &[Value::Int(1), Value::text("x")]).unwrap();

        // ADD COLUMN c DEFAULT 5: old rows read 5, a NULL written later stays NULL.
        let mut v2 = v1.clone();
        let mut c = column(3, "c", DataType::Int8);
        c.missing = Value::Int(5);
        v2.columns.push(c);
        assert_eq!(decode_row(&v2, &old).unwrap(), vec![Value::Int(1), Value::text("x"), Value::Int(5)]);
        let new = encode_row(&v2, &[Value::Int(2), Value::text("y"), Value::Null]).unwrap();
        let back = decode_row(&v2, &new).unwrap();
        assert!(back[2].is_null());

        // DROP COLUMN b, RENAME a TO z: ids keep old and new rows readable.
        let mut v3 = v2.clone();
        v3.columns.remove(1);
        v3.columns[0].name = "z".into();
        assert_eq!(decode_row(&v3, &old).unwrap(), vec![Value::Int(1), Value::Int(5)]);
        assert_eq!(decode_row(&v3, &new).unwrap()[0], Value::Int(2));
        assert!(decode_row(&v3, &new).unwrap()[1].is_null());

        // Columns stored out of schema order still land in place.
        let reordered = table(vec![column(2, "b", DataType::Text), column(1, "a", DataType::Int4)]);
        assert_eq!(decode_row(&reordered, &old).unwrap(), vec![Value::text("x"), Value::Int(1)]);
    }

    #[test]
    fn mismatched_values_are_refused_when_written() {
        let t = table(vec![column(1, "a", DataType::Int4)]);
        let err = encode_row(&t, &[Value::text("1")]).unwrap_err();
        assert_eq!(err.state, SqlState::INTERNAL_ERROR);
        assert!(encode_row(&t, &[]).is_err());
        assert!(encode_row(&t, &[Value::Null]).is_ok());
    }

    #[test]
    fn corrupt_rows_are_errors_not_panics() {
        let t = table(vec![column(1, "a", DataType::Int4), column(2, "b", DataType::Text)]);
        let good = encode_row(&t, &[Value::Int(300), Value::text("hello")]).unwrap();
        let corrupted = |bytes: &[u8]| {
            let err = decode_row(&t, bytes).unwrap_err();
            assert_eq!(err.state, SqlState::DATA_CORRUPTED, "{bytes:?}: {err}");
        };
        // Every truncation past the version byte cuts a value in half, except
        // the cut right after a complete column.
        corrupted(&[]);
        corrupted(&good[..good.len() - 1]);
        corrupted(&good[..3]);
        corrupted(&[9]); // Unknown version.
        corrupted(&[1, 1, 0x63]); // Unknown tag.
        corrupted(&[1, 1, TAG_TEXT]); // Type mismatch: text in an int column.
        corrupted(&[1, 1, TAG_INT, 2, 1, TAG_INT, 4]); // Column stored twice.
        corrupted(&[1, 2, TAG_TEXT, 2, 0xff, 0xfe]); // Invalid UTF-8.
        corrupted(&[1, 3, TAG_NUMERIC, 29, 2]); // Scale beyond 28.
        corrupted(&[1, 3, TAG_JSON, 1, b'{']); // Invalid JSON.
        corrupted(&[1, 3, TAG_VECTOR, 2, 0, 0, 0x80, 0x3f]); // Vector shorter than its dimension.
        corrupted(&[1, 3, TAG_DATE, 0xff, 0xff, 0xff, 0xff, 0x0f]); // Date out of range.
        // Random garbage never panics.
        let mut g = Gen::new(77);
        for _ in 0..5000 {
            let len = g.below(16) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
            if g.below(2) == 0 && !bytes.is_empty() {
                bytes[0] = ROW_FORMAT_VERSION;
            }
            let _ = decode_row(&t, &bytes);
        }
    }
}
