//! SQL types on the wire: type OIDs, result values in text and binary
//! format, and parameters decoded from either.
//!
//! Clients decide how to read a column from its type OID alone, so every
//! Alopex type maps to the PostgreSQL type it behaves like. Text format is
//! PostgreSQL's output syntax, which `alopex-sql` already produces for
//! `::text` casts ([`to_text_as`]), so both paths print a value the same way.
//! Binary format is PostgreSQL's `send`/`recv` representation of each type;
//! the common ones are written by hand (they are a few bytes of big-endian
//! integers), NUMERIC and the date/time types through `postgres-types`,
//! whose implementations follow the server's.
//!
//! Arrays (`int4[]`, `text[]`, `int2vector`…) carry PostgreSQL's array
//! OIDs. Their text form is `array_out`'s (`{1,2,NULL}`); their binary
//! form is `array_send`'s: a header (dimensions, a has-NULL flag, the
//! element OID, then length and lower bound) followed by each element as a
//! length-prefixed binary value, which is the encoding of the element type
//! applied per element. One-dimensional arrays are decoded from binary
//! parameters the same way.
//!
//! Parameters in text format are handed to the SQL layer as text values;
//! the statement's own parameter types then cast them with PostgreSQL's
//! input rules, so `'42'` for an integer parameter and `'2024-01-02'` for a
//! date behave exactly as in PostgreSQL, errors (22P02 …) included.

use std::sync::Arc;

use alopex_sql::expr::cast::to_text_as;
use alopex_sql::types::Interval;
use alopex_sql::{DataType, Error, SqlState, Value};
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use postgres_types::{FromSql, IsNull, ToSql};
use rust_decimal::Decimal;

/// The PostgreSQL type a column or parameter of `ty` is presented as.
pub fn pg_type(ty: &DataType) -> Type {
    match ty {
        DataType::Bool => Type::BOOL,
        DataType::Int2 => Type::INT2,
        DataType::Int4 => Type::INT4,
        DataType::Int8 => Type::INT8,
        DataType::Float4 => Type::FLOAT4,
        DataType::Float8 => Type::FLOAT8,
        DataType::Numeric(_) => Type::NUMERIC,
        DataType::Text => Type::TEXT,
        DataType::Varchar(_) => Type::VARCHAR,
        DataType::Bytea => Type::BYTEA,
        DataType::Date => Type::DATE,
        DataType::Timestamp => Type::TIMESTAMP,
        DataType::TimestampTz => Type::TIMESTAMPTZ,
        DataType::Interval => Type::INTERVAL,
        DataType::Jsonb => Type::JSONB,
        DataType::Array(_) | DataType::Int2Vector => Type::from_oid(ty.pg_oid()).unwrap_or(Type::TEXT_ARRAY),
        // A type nobody determined (`SELECT NULL`): text, as PostgreSQL
        // resolves an unknown output column.
        _ => Type::TEXT,
    }
}

/// The SQL type a client's parameter type OID asks for; `Unknown` lets the
/// statement decide.
pub fn sql_type(ty: &Type) -> DataType {
    match *ty {
        Type::BOOL => DataType::Bool,
        Type::INT2 => DataType::Int2,
        Type::INT4 => DataType::Int4,
        Type::INT8 => DataType::Int8,
        Type::FLOAT4 => DataType::Float4,
        Type::FLOAT8 => DataType::Float8,
        Type::NUMERIC => DataType::Numeric(None),
        Type::TEXT | Type::BPCHAR => DataType::Text,
        Type::VARCHAR => DataType::Varchar(None),
        Type::BYTEA => DataType::Bytea,
        Type::DATE => DataType::Date,
        Type::TIMESTAMP => DataType::Timestamp,
        Type::TIMESTAMPTZ => DataType::TimestampTz,
        Type::INTERVAL => DataType::Interval,
        Type::JSONB | Type::JSON => DataType::Jsonb,
        Type::INT2_VECTOR => DataType::Int2Vector,
        _ => match ty.kind() {
            postgres_types::Kind::Array(elem) => match sql_type(elem) {
                DataType::Unknown => DataType::Unknown,
                e => DataType::Array(Box::new(e)),
            },
            _ => DataType::Unknown,
        },
    }
}

/// Row descriptions for result columns, each in the format asked for.
pub fn fields(columns: &[alopex_sql::Column], format: impl Fn(usize) -> FieldFormat) -> Arc<Vec<FieldInfo>> {
    Arc::new(
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| FieldInfo::new(c.name.clone(), None, None, pg_type(&c.ty), format(i)))
            .collect(),
    )
}

/// Appends one value of a DataRow: its length (-1 for NULL) and bytes.
pub fn encode_value(out: &mut BytesMut, value: &Value, ty: &DataType, format: FieldFormat) -> Result<(), Error> {
    if value.is_null() {
        out.put_i32(-1);
        return Ok(());
    }
    let at = out.len();
    out.put_i32(0);
    match format {
        FieldFormat::Text => {
            let text = to_text_as(value, ty).unwrap_or_default();
            out.put_slice(text.as_bytes());
        }
        FieldFormat::Binary => encode_binary(out, value, ty)?,
    }
    let len = i32::try_from(out.len() - at - 4)
        .map_err(|_| Error::new(SqlState::PROGRAM_LIMIT_EXCEEDED, "value too large for the wire"))?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn encode_binary(out: &mut BytesMut, value: &Value, ty: &DataType) -> Result<(), Error> {
    let unsupported = || {
        Error::new(
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("binary output of a {} value as {}", value.data_type(), pg_type(ty).name()),
        )
    };
    match (value, ty) {
        (Value::Bool(b), _) => out.put_u8(u8::from(*b)),
        (Value::Int(i), DataType::Int2) => out.put_i16(i16::try_from(*i).map_err(|_| unsupported())?),
        (Value::Int(i), DataType::Int4) => out.put_i32(i32::try_from(*i).map_err(|_| unsupported())?),
        (Value::Int(i), _) => out.put_i64(*i),
        (Value::Float(f), DataType::Float4) => out.put_f32(*f as f32),
        (Value::Float(f), _) => out.put_f64(*f),
        (Value::Text(s), _) => out.put_slice(s.as_bytes()),
        // Vectors travel as text (their column is described as text), so
        // the binary form of a text value is their text.
        (v @ Value::Vector(_), _) => out.put_slice(to_text_as(v, ty).unwrap_or_default().as_bytes()),
        (Value::Bytes(b), _) => out.put_slice(b),
        (Value::Json(j), _) => {
            out.put_u8(1); // jsonb binary format version
            out.put_slice(j.to_string().as_bytes());
        }
        (Value::Interval(Interval { months, days, micros }), _) => {
            out.put_i64(*micros);
            out.put_i32(*days);
            out.put_i32(*months);
        }
        (Value::Array(items), t) if t.is_array() => {
            let elem = t.element().cloned().unwrap_or(DataType::Text);
            out.put_i32(i32::from(!items.is_empty()));
            out.put_i32(i32::from(items.iter().any(Value::is_null)));
            out.put_u32(elem.pg_oid());
            if !items.is_empty() {
                out.put_i32(i32::try_from(items.len()).map_err(|_| unsupported())?);
                out.put_i32(if *t == DataType::Int2Vector { 0 } else { 1 });
            }
            for v in items.iter() {
                encode_value(out, v, &elem, FieldFormat::Binary)?;
            }
        }
        (Value::Numeric(d), _) => to_sql(out, d, &Type::NUMERIC)?,
        (Value::Date(d), _) => to_sql(out, d, &Type::DATE)?,
        (Value::Timestamp(t), _) => to_sql(out, t, &Type::TIMESTAMP)?,
        (Value::TimestampTz(t), _) => to_sql(out, t, &Type::TIMESTAMPTZ)?,
        _ => return Err(unsupported()),
    }
    Ok(())
}

fn to_sql(out: &mut BytesMut, value: &dyn ToSql, ty: &Type) -> Result<(), Error> {
    match value.to_sql_checked(ty, out) {
        Ok(IsNull::No) => Ok(()),
        Ok(IsNull::Yes) => Err(Error::internal("a non-NULL value encoded as NULL")),
        Err(e) => Err(Error::new(SqlState::DATA_EXCEPTION, format!("cannot encode a {} value: {e}", ty.name()))),
    }
}

/// A parameter value from its wire bytes (None = NULL) in text or binary
/// format, for a parameter the statement types as `ty`.
pub fn decode_param(bytes: Option<&[u8]>, binary: bool, ty: &DataType) -> Result<Value, Error> {
    let Some(bytes) = bytes else { return Ok(Value::Null) };
    if !binary {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::new(SqlState::CHARACTER_NOT_IN_REPERTOIRE, "invalid byte sequence for encoding \"UTF8\"")
        })?;
        return Ok(Value::text(text));
    }
    let bad = |what: &str| {
        Error::new(SqlState::INVALID_BINARY_REPRESENTATION, format!("incorrect binary data format in {what} parameter"))
    };
    let fixed = |n: usize, what: &str| if bytes.len() == n { Ok(bytes) } else { Err(bad(what)) };
    Ok(match ty {
        DataType::Bool => Value::Bool(fixed(1, "boolean")?[0] != 0),
        DataType::Int2 => Value::Int(i16::from_be_bytes(arr(fixed(2, "smallint")?)) as i64),
        DataType::Int4 => Value::Int(i32::from_be_bytes(arr(fixed(4, "integer")?)) as i64),
        DataType::Int8 => Value::Int(i64::from_be_bytes(arr(fixed(8, "bigint")?))),
        DataType::Float4 => Value::Float(f32::from_be_bytes(arr(fixed(4, "real")?)) as f64),
        DataType::Float8 => Value::Float(f64::from_be_bytes(arr(fixed(8, "double precision")?))),
        DataType::Bytea => Value::Bytes(Arc::from(bytes)),
        DataType::Numeric(_) => {
            Value::Numeric(from_sql::<Decimal>(bytes, &Type::NUMERIC).ok_or_else(|| bad("numeric"))?)
        }
        DataType::Date => Value::Date(from_sql::<NaiveDate>(bytes, &Type::DATE).ok_or_else(|| bad("date"))?),
        DataType::Timestamp => {
            Value::Timestamp(from_sql::<NaiveDateTime>(bytes, &Type::TIMESTAMP).ok_or_else(|| bad("timestamp"))?)
        }
        DataType::TimestampTz => Value::TimestampTz(
            from_sql::<DateTime<Utc>>(bytes, &Type::TIMESTAMPTZ).ok_or_else(|| bad("timestamp with time zone"))?,
        ),
        DataType::Interval => {
            let b = fixed(16, "interval")?;
            Value::Interval(Interval {
                micros: i64::from_be_bytes(arr(&b[..8])),
                days: i32::from_be_bytes(arr(&b[8..12])),
                months: i32::from_be_bytes(arr(&b[12..16])),
            })
        }
        DataType::Jsonb => match bytes.split_first() {
            Some((1, text)) => Value::text(std::str::from_utf8(text).map_err(|_| bad("jsonb"))?),
            _ => return Err(bad("jsonb")),
        },
        DataType::Array(_) | DataType::Int2Vector => decode_array(bytes, ty).ok_or_else(|| bad("array"))??,
        // Text, varchar, and a parameter whose type the client left open
        // and sent in binary anyway: its bytes as text.
        _ => Value::text(std::str::from_utf8(bytes).map_err(|_| bad("text"))?),
    })
}

/// A one-dimensional array in `array_send`'s format; None when the bytes
/// are malformed.
fn decode_array(bytes: &[u8], ty: &DataType) -> Option<Result<Value, Error>> {
    let elem = ty.element()?;
    let mut rest = bytes;
    let int = |rest: &mut &[u8]| -> Option<i32> {
        let (head, tail) = rest.split_at_checked(4)?;
        *rest = tail;
        Some(i32::from_be_bytes(arr(head)))
    };
    let ndim = int(&mut rest)?;
    let _has_null = int(&mut rest)?;
    let _elem_oid = int(&mut rest)?;
    let len = match ndim {
        0 => 0,
        1 => {
            let n = int(&mut rest)?;
            let _lower = int(&mut rest)?;
            usize::try_from(n).ok()?
        }
        _ => {
            return Some(Err(Error::new(SqlState::FEATURE_NOT_SUPPORTED, "multidimensional array parameters")));
        }
    };
    let mut items = Vec::with_capacity(len.min(rest.len() / 4));
    for _ in 0..len {
        let n = int(&mut rest)?;
        if n < 0 {
            items.push(Value::Null);
            continue;
        }
        let (value, tail) = rest.split_at_checked(usize::try_from(n).ok()?)?;
        rest = tail;
        match decode_param(Some(value), true, elem) {
            Ok(v) => items.push(v),
            Err(e) => return Some(Err(e)),
        }
    }
    if !rest.is_empty() {
        return None;
    }
    Some(Ok(Value::Array(items.into())))
}

fn arr<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[..N]);
    out
}

fn from_sql<'a, T: FromSql<'a>>(bytes: &'a [u8], ty: &Type) -> Option<T> {
    T::from_sql(ty, bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &Value, ty: &DataType, format: FieldFormat) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_value(&mut out, value, ty, format).unwrap();
        out.to_vec()
    }

    #[test]
    fn text_and_binary_results() {
        assert_eq!(encoded(&Value::Null, &DataType::Int4, FieldFormat::Text), (-1i32).to_be_bytes());
        assert_eq!(encoded(&Value::Bool(true), &DataType::Bool, FieldFormat::Text), [0, 0, 0, 1, b't']);
        assert_eq!(encoded(&Value::Int(7), &DataType::Int4, FieldFormat::Binary), [0, 0, 0, 4, 0, 0, 0, 7]);
        let iv = Value::Interval(Interval { months: 1, days: 2, micros: 3 });
        let b = encoded(&iv, &DataType::Interval, FieldFormat::Binary);
        assert_eq!(b.len(), 20);
        // Every binary encoding decodes back as a parameter of its type.
        let values = [
            (Value::Int(-5), DataType::Int2),
            (Value::Int(1 << 40), DataType::Int8),
            (Value::Float(1.5), DataType::Float8),
            (Value::Numeric(Decimal::new(-12345, 2)), DataType::Numeric(None)),
            (Value::Date(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()), DataType::Date),
            (iv, DataType::Interval),
            (Value::text("héllo"), DataType::Text),
            (Value::Array(vec![Value::Int(1), Value::Null].into()), DataType::Array(Box::new(DataType::Int4))),
            (Value::Array(vec![].into()), DataType::Array(Box::new(DataType::Text))),
        ];
        for (v, ty) in values {
            let b = encoded(&v, &ty, FieldFormat::Binary);
            assert_eq!(decode_param(Some(&b[4..]), true, &ty).unwrap(), v, "{ty}");
        }
    }

    #[test]
    fn bad_binary_parameters_are_errors() {
        let err = decode_param(Some(&[1, 2, 3]), true, &DataType::Int4).unwrap_err();
        assert_eq!(err.state.code(), "22P03");
        let err = decode_param(Some(&[0xff]), false, &DataType::Text).unwrap_err();
        assert_eq!(err.state.code(), "22021");
        assert_eq!(decode_param(None, true, &DataType::Int4).unwrap(), Value::Null);
    }
}
