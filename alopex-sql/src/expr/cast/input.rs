//! PostgreSQL's text input for the non-temporal types.
//!
//! Each parser accepts what the matching PostgreSQL input function accepts
//! and fails with the same SQLSTATE and message shape, because text input is
//! reached from user data (string literals cast to a column type, parameters
//! sent in text format, `CAST('…' AS …)`):
//!
//! * integers (`int2in`/`int4in`/`int8in`): surrounding whitespace, a sign,
//!   decimal digits only (`1e3` and `1.5` are 22P02), range errors are 22003
//!   `value "…" is out of range for type integer`;
//! * booleans (`boolin`): any unambiguous prefix of `true`/`false`/`yes`/`no`,
//!   `on`/`off`, `1`/`0`, case-insensitive;
//! * NUMERIC (`numeric_in`): digits with an optional point and exponent; the
//!   display scale is the number of fraction digits written, so `1.50` stays
//!   `1.50`;
//! * floats (`float8in`): anything `strtod` takes plus `Infinity`/`NaN`
//!   spellings; values that overflow or underflow to zero are 22003;
//! * BYTEA (`byteain`): the hex format `\x…` and the escape format;
//! * JSONB (`jsonb_in`): strict JSON, objects normalized to jsonb's stored
//!   form (duplicate keys keep the last value, keys ordered by length then
//!   bytes).

use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::error::Result;
use crate::sql_err;
use crate::types::{DataType, Value};

/// `boolin`.
pub(crate) fn boolean(text: &str) -> Result<bool> {
    let t = text.trim().to_ascii_lowercase();
    let is_prefix = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    let parsed = match t.as_bytes().first() {
        Some(b't') if is_prefix("true", 1) => Some(true),
        Some(b'f') if is_prefix("false", 1) => Some(false),
        Some(b'y') if is_prefix("yes", 1) => Some(true),
        Some(b'n') if is_prefix("no", 1) => Some(false),
        Some(b'o') if is_prefix("on", 2) => Some(true),
        Some(b'o') if is_prefix("off", 2) => Some(false),
        Some(b'1') if t == "1" => Some(true),
        Some(b'0') if t == "0" => Some(false),
        _ => None,
    };
    parsed.ok_or_else(|| sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type boolean: \"{text}\""))
}

/// `int2in`/`int4in`/`int8in`: `ty` is the integer type.
pub(crate) fn integer(text: &str, ty: &DataType) -> Result<i64> {
    let name = ty.sql_name();
    let t = text.trim_matches(is_pg_space);
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type {name}: \"{text}\""));
    }
    let out_of_range = || sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value \"{text}\" is out of range for type {name}");
    let v: i64 = t.parse().map_err(|_| out_of_range())?;
    let (lo, hi) = int_bounds(ty);
    if v < lo || v > hi {
        return Err(out_of_range());
    }
    Ok(v)
}

/// The range of an integer type (BIGINT for anything else).
pub(crate) fn int_bounds(ty: &DataType) -> (i64, i64) {
    match ty {
        DataType::Int2 => (i16::MIN as i64, i16::MAX as i64),
        DataType::Int4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The whitespace PostgreSQL's input functions skip (`isspace` in C).
pub(crate) fn is_pg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// `numeric_in`.
pub(crate) fn numeric(text: &str) -> Result<Decimal> {
    let invalid = || sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type numeric: \"{text}\"");
    let t = text.trim_matches(is_pg_space);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.trim_start_matches(['+', '-']), "nan" | "infinity" | "inf") {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "numeric value \"{text}\" is not supported"));
    }
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty()) || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(invalid());
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(invalid());
            }
            e.parse().map_err(|_| overflow())?
        }
    };
    // Shift the decimal point by the exponent, textually, so the display
    // scale comes out as PostgreSQL computes it.
    let digits: String = format!("{int_part}{frac_part}");
    let scale = frac_part.len() as i64 - exp;
    if scale.abs() > 1000 {
        return if digits.bytes().all(|b| b == b'0') { Ok(Decimal::ZERO) } else { Err(overflow()) };
    }
    let plain = if scale <= 0 {
        format!("{digits}{}", "0".repeat((-scale) as usize))
    } else {
        let scale = scale as usize;
        if digits.len() > scale {
            format!("{}.{}", &digits[..digits.len() - scale], &digits[digits.len() - scale..])
        } else {
            format!("0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    };
    let mut d = parse_plain_decimal(&plain)?;
    if negative && !d.is_zero() {
        d.set_sign_negative(true);
    }
    Ok(d)
}

/// Parses `digits[.digits]`, rounding fraction digits that do not fit in
/// 28 significant digits; an integer part that does not fit is 22003.
fn parse_plain_decimal(plain: &str) -> Result<Decimal> {
    let (int_part, frac_part) = plain.split_once('.').unwrap_or((plain, ""));
    let int_part = int_part.trim_start_matches('0');
    if int_part.len() > 29 {
        return Err(overflow());
    }
    // rust_decimal keeps at most 28 fraction digits and rounds the rest.
    let text = if frac_part.is_empty() {
        if int_part.is_empty() { "0".to_string() } else { int_part.to_string() }
    } else {
        format!("{}.{}", if int_part.is_empty() { "0" } else { int_part }, frac_part)
    };
    Decimal::from_str(&text).map_err(|_| overflow())
}

/// 22003 for a NUMERIC that does not fit.
pub(crate) fn overflow() -> crate::error::Error {
    sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format")
}

/// `float8in` (and `float4in` when `single`).
pub(crate) fn float(text: &str, single: bool) -> Result<f64> {
    let name = if single { "real" } else { "double precision" };
    let t = text.trim_matches(is_pg_space);
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let negative = lower.starts_with('-');
    match unsigned {
        "infinity" | "inf" if lower.len() - unsigned.len() <= 1 => {
            return Ok(if negative { f64::NEG_INFINITY } else { f64::INFINITY });
        }
        "nan" if lower.len() == 3 => return Ok(f64::NAN),
        _ => {}
    }
    let valid = !unsigned.is_empty()
        && lower.len() - unsigned.len() <= 1
        && unsigned.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        && unsigned.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    let v: f64 = if valid { t.parse().ok() } else { None }
        .ok_or_else(|| sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type {name}: \"{text}\""))?;
    let out_of_range = || sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "\"{text}\" is out of range for type {name}");
    let mantissa_nonzero = unsigned.split(['e']).next().is_some_and(|m| m.bytes().any(|b| matches!(b, b'1'..=b'9')));
    if single {
        let f = v as f32;
        if f.is_infinite() || (f == 0.0 && mantissa_nonzero) {
            return Err(out_of_range());
        }
        return Ok(f as f64);
    }
    if v.is_infinite() || (v == 0.0 && mantissa_nonzero) {
        return Err(out_of_range());
    }
    Ok(v)
}

/// `byteain`: hex (`\x0a0b`, whitespace allowed between bytes) or escape
/// format (`\\` and `\ooo` octal, other bytes as they are).
pub(crate) fn bytea(text: &str) -> Result<Vec<u8>> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut chars = hex.chars().filter(|c| !is_pg_space(*c));
        while let Some(hi) = chars.next() {
            let digit = |c: char| {
                c.to_digit(16).ok_or_else(|| sql_err!(INVALID_PARAMETER_VALUE, "invalid hexadecimal digit: \"{c}\""))
            };
            let h = digit(hi)?;
            let lo = chars
                .next()
                .ok_or_else(|| sql_err!(INVALID_PARAMETER_VALUE, "invalid hexadecimal data: odd number of digits"))?;
            out.push((h * 16 + digit(lo)?) as u8);
        }
        return Ok(out);
    }
    let invalid = || sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type bytea");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
        } else if bytes.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let oct = bytes.get(i + 1..i + 4).ok_or_else(invalid)?;
            if !(b'0'..=b'3').contains(&oct[0]) || !oct[1..].iter().all(|b| (b'0'..=b'7').contains(b)) {
                return Err(invalid());
            }
            out.push((oct[0] - b'0') * 64 + (oct[1] - b'0') * 8 + (oct[2] - b'0'));
            i += 4;
        }
    }
    Ok(out)
}

/// `jsonb_in`: parses and normalizes.
pub(crate) fn json(text: &str) -> Result<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json"))?;
    Ok(normalize_json(v))
}

/// Puts a JSON value in jsonb's stored form: object keys ordered by length,
/// then bytes (the order `jsonb_out` prints them in), recursively.
pub(crate) fn normalize_json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Array(items) => J::Array(items.into_iter().map(normalize_json).collect()),
        J::Object(map) => {
            let mut entries: Vec<(String, J)> = map.into_iter().map(|(k, v)| (k, normalize_json(v))).collect();
            entries.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.as_bytes().cmp(b.0.as_bytes())));
            J::Object(entries.into_iter().collect())
        }
        other => other,
    }
}

/// A JSONB value.
pub(crate) fn json_value(v: serde_json::Value) -> Value {
    Value::Json(Arc::new(normalize_json(v)))
}

/// Applies a `varchar(n)` limit the way input and assignment do: too long
/// is 22001 unless every extra character is a space, which is cut off.
pub(crate) fn varchar_limit(s: &str, n: u32) -> Result<Option<String>> {
    match s.char_indices().nth(n as usize) {
        None => Ok(None),
        Some((cut, _)) => {
            if s[cut..].bytes().all(|b| b == b' ') {
                Ok(Some(s[..cut].to_string()))
            } else {
                Err(sql_err!(STRING_DATA_RIGHT_TRUNCATION, "value too long for type character varying({n})"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for t in ["t", "true", "TRUE", " yes ", "on", "1", "y", "tr"] {
            assert!(boolean(t).unwrap(), "{t}");
        }
        for t in ["f", "false", "no", "off", "of", "0", "n"] {
            assert!(!boolean(t).unwrap(), "{t}");
        }
        for t in ["o", "truex", "2", "", "yess"] {
            assert_eq!(boolean(t).unwrap_err().state.code(), "22P02", "{t}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(integer(" 42 ", &DataType::Int4).unwrap(), 42);
        assert_eq!(integer("-7", &DataType::Int2).unwrap(), -7);
        assert_eq!(integer("+7", &DataType::Int8).unwrap(), 7);
        let e = integer("1e3", &DataType::Int4).unwrap_err();
        assert_eq!(e.state.code(), "22P02");
        assert_eq!(e.message, "invalid input syntax for type integer: \"1e3\"");
        assert_eq!(integer("1.5", &DataType::Int4).unwrap_err().state.code(), "22P02");
        assert_eq!(integer("", &DataType::Int4).unwrap_err().state.code(), "22P02");
        let e = integer("40000", &DataType::Int2).unwrap_err();
        assert_eq!(e.state.code(), "22003");
        assert_eq!(e.message, "value \"40000\" is out of range for type smallint");
        assert_eq!(integer("9223372036854775808", &DataType::Int8).unwrap_err().state.code(), "22003");
        assert_eq!(integer("-9223372036854775808", &DataType::Int8).unwrap(), i64::MIN);
    }

    #[test]
    fn numerics() {
        let n = |s: &str| numeric(s).map(|d| d.to_string());
        assert_eq!(n("1.50").unwrap(), "1.50");
        assert_eq!(n(" -3 ").unwrap(), "-3");
        assert_eq!(n("1e3").unwrap(), "1000");
        assert_eq!(n("1.5e-3").unwrap(), "0.0015");
        assert_eq!(n("1.50e1").unwrap(), "15.0");
        assert_eq!(n(".5").unwrap(), "0.5");
        assert_eq!(n("5.").unwrap(), "5");
        assert_eq!(n("-0.00").unwrap(), "0.00");
        assert_eq!(n("0.333333333333333333333333333333333").unwrap(), "0.3333333333333333333333333333");
        assert_eq!(numeric("abc").unwrap_err().state.code(), "22P02");
        assert_eq!(numeric("1_000").unwrap_err().state.code(), "22P02");
        assert_eq!(numeric("1e").unwrap_err().state.code(), "22P02");
        assert_eq!(numeric("123456789012345678901234567890").unwrap_err().state.code(), "22003");
    }

    #[test]
    fn floats() {
        assert_eq!(float(" 1.5 ", false).unwrap(), 1.5);
        assert_eq!(float("1e3", false).unwrap(), 1000.0);
        assert_eq!(float("-Infinity", false).unwrap(), f64::NEG_INFINITY);
        assert_eq!(float("inf", false).unwrap(), f64::INFINITY);
        assert!(float("NaN", false).unwrap().is_nan());
        assert_eq!(float("1e400", false).unwrap_err().state.code(), "22003");
        assert_eq!(float("1e-400", false).unwrap_err().state.code(), "22003");
        assert_eq!(float("0.0", false).unwrap(), 0.0);
        assert_eq!(float("1e40", true).unwrap_err().state.code(), "22003");
        assert_eq!(float("abc", false).unwrap_err().state.code(), "22P02");
        assert_eq!(float("infinityx", false).unwrap_err().state.code(), "22P02");
    }

    #[test]
    fn byteas() {
        assert_eq!(bytea("\\x0a0B").unwrap(), vec![10, 11]);
        assert_eq!(bytea("\\x0a 0b").unwrap(), vec![10, 11]);
        assert_eq!(bytea("\\x0").unwrap_err().state.code(), "22023");
        assert_eq!(bytea("\\xzz").unwrap_err().state.code(), "22023");
        assert_eq!(bytea("ab\\\\c\\001").unwrap(), b"ab\\c\x01".to_vec());
        assert_eq!(bytea("a\\9").unwrap_err().state.code(), "22P02");
    }

    #[test]
    fn json_is_normalized() {
        let v = json(r#"{"bb": 1, "a": 2, "a": 3, "c": {"zz": 1, "y": 2}}"#).unwrap();
        assert_eq!(super::super::output::json(&v), r#"{"a": 3, "c": {"y": 2, "zz": 1}, "bb": 1}"#);
        let e = json("{").unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("22P02", "invalid input syntax for type json"));
    }

    #[test]
    fn varchar_limits() {
        assert_eq!(varchar_limit("abc", 3).unwrap(), None);
        assert_eq!(varchar_limit("abc  ", 3).unwrap(), Some("abc".into()));
        assert_eq!(varchar_limit("abcd", 3).unwrap_err().state.code(), "22001");
        assert_eq!(varchar_limit("äöüx", 3).unwrap_err().message, "value too long for type character varying(3)");
    }
}
