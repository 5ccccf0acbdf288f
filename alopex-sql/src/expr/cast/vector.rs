//! The `vector` type's input and output functions and its checks, after
//! pgvector's `vector_in`, `vector_out` and `vector_typmod_in`.
//!
//! pgvector's rules are small and strict, and users switching from it
//! expect the same messages, so they are followed closely:
//!
//! * text input is `[x, y, …]`: optional whitespace around the brackets,
//!   the elements and the commas; each element is what C's `strtof` reads
//!   (decimal with an optional exponent; `inf` and `nan` are read and then
//!   refused). Anything else is `22P02 invalid input syntax for type
//!   vector: "…"`, an element too large for `f32` is `22003 "1e39" is out
//!   of range for type vector`;
//! * every vector has 1..=16000 elements, all finite: `22000 vector must
//!   have at least 1 dimension`, `54000 vector cannot have more than 16000
//!   dimensions`, `22000 NaN not allowed in vector`, `22000 infinite value
//!   not allowed in vector`;
//! * a value stored in or cast to `vector(n)` must have `n` elements:
//!   `22000 expected 3 dimensions, not 2`;
//! * output is `[1,2.5,-0.03]`: each element in its shortest round-trip
//!   form, as PostgreSQL prints a `real` (pgvector calls the same
//!   `float_to_shortest_decimal` routine).
//!
//! Elements are parsed straight to `f32` (Rust's parser is correctly
//! rounded, like `strtof`), never through `f64`, which could round twice.
//! Hexadecimal floats, which `strtof` also reads, are not accepted.

use std::sync::Arc;

use super::output;
use crate::error::Result;
use crate::sql_err;
use crate::types::Value;

/// pgvector's `VECTOR_MAX_DIM`.
pub const MAX_DIM: u32 = 16000;

/// `vector_in` for a column or cast of dimension `dim` (None: any).
pub(crate) fn input(text: &str, dim: Option<u32>) -> Result<Value> {
    let v = parse(text)?;
    check_dim(&v, dim)?;
    Ok(Value::Vector(v.into()))
}

/// `vector_out`.
pub(crate) fn output(v: &[f32]) -> String {
    let mut out = String::with_capacity(v.len() * 8 + 2);
    out.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&output::float4(*x));
    }
    out.push(']');
    out
}

/// A vector value checked for `vector(dim)`: dimension, count and finite
/// elements. A vector built in Rust (a parameter) is checked here the first
/// time it is cast or stored.
pub(crate) fn typed(v: &Arc<[f32]>, dim: Option<u32>) -> Result<Value> {
    check_elements(v)?;
    check_dim(v, dim)?;
    Ok(Value::Vector(v.clone()))
}

/// `vector_typmod_in`: the `n` of `vector(n)` in DDL and casts.
pub(crate) fn check_typmod(n: i64) -> Result<u32> {
    if n < 1 {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "dimensions for type vector must be at least 1"));
    }
    if n > MAX_DIM as i64 {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "dimensions for type vector cannot exceed {MAX_DIM}"));
    }
    Ok(n as u32)
}

/// pgvector's `CheckDim` and `CheckExpectedDim`.
fn check_dim(v: &[f32], dim: Option<u32>) -> Result<()> {
    if v.is_empty() {
        return Err(sql_err!(DATA_EXCEPTION, "vector must have at least 1 dimension"));
    }
    if v.len() > MAX_DIM as usize {
        return Err(too_many());
    }
    match dim {
        Some(n) if n as usize != v.len() => Err(sql_err!(DATA_EXCEPTION, "expected {n} dimensions, not {}", v.len())),
        _ => Ok(()),
    }
}

fn too_many() -> crate::error::Error {
    sql_err!(PROGRAM_LIMIT_EXCEEDED, "vector cannot have more than {MAX_DIM} dimensions")
}

/// pgvector's `CheckElement` over every element.
pub(crate) fn check_elements(v: &[f32]) -> Result<()> {
    v.iter().try_for_each(|x| check_element(*x))
}

fn check_element(x: f32) -> Result<()> {
    if x.is_nan() {
        return Err(sql_err!(DATA_EXCEPTION, "NaN not allowed in vector"));
    }
    if x.is_infinite() {
        return Err(sql_err!(DATA_EXCEPTION, "infinite value not allowed in vector"));
    }
    Ok(())
}

/// pgvector's whitespace (`vector_isspace`).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Parses `[x, y, …]` into its elements (see the module comment).
fn parse(text: &str) -> Result<Vec<f32>> {
    let invalid = || sql_err!(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type vector: \"{text}\"");
    let bytes = text.as_bytes();
    let mut pos = 0;
    let skip_space = |pos: &mut usize| {
        while *pos < bytes.len() && is_space(bytes[*pos]) {
            *pos += 1;
        }
    };
    skip_space(&mut pos);
    if bytes.get(pos) != Some(&b'[') {
        return Err(invalid());
    }
    pos += 1;
    skip_space(&mut pos);
    if bytes.get(pos) == Some(&b']') {
        return Err(sql_err!(DATA_EXCEPTION, "vector must have at least 1 dimension"));
    }
    let mut out = Vec::new();
    loop {
        if out.len() == MAX_DIM as usize {
            return Err(too_many());
        }
        skip_space(&mut pos);
        let len = float_prefix(&bytes[pos..]);
        if len == 0 {
            return Err(invalid());
        }
        let literal = &text[pos..pos + len];
        let x = parse_element(literal).ok_or_else(invalid)?;
        if x.is_infinite() && !is_named_special(literal) {
            return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "\"{literal}\" is out of range for type vector"));
        }
        check_element(x)?;
        out.push(x);
        pos += len;
        skip_space(&mut pos);
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b']') => {
                pos += 1;
                break;
            }
            _ => return Err(invalid()),
        }
    }
    skip_space(&mut pos);
    if pos != bytes.len() {
        return Err(invalid());
    }
    Ok(out)
}

/// True for `inf`, `infinity` and `nan` (any case, optional sign).
fn is_named_special(literal: &str) -> bool {
    let l = literal.trim_start_matches(['+', '-']).to_ascii_lowercase();
    matches!(l.as_str(), "inf" | "infinity" | "nan")
}

fn parse_element(literal: &str) -> Option<f32> {
    if is_named_special(literal) {
        let negative = literal.starts_with('-');
        let l = literal.trim_start_matches(['+', '-']).to_ascii_lowercase();
        return Some(match (l.as_str(), negative) {
            ("nan", _) => f32::NAN,
            (_, true) => f32::NEG_INFINITY,
            _ => f32::INFINITY,
        });
    }
    literal.parse::<f32>().ok()
}

/// The length of the longest prefix of `s` that `strtof` would read as a
/// decimal float (or `inf`/`infinity`/`nan`); 0 when there is none.
fn float_prefix(s: &[u8]) -> usize {
    let mut i = 0;
    if matches!(s.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let rest = &s[i..];
    for word in ["infinity", "inf", "nan"] {
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word.as_bytes()) {
            return i + word.len();
        }
    }
    let digits = |s: &[u8], mut i: usize| {
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let int_end = digits(s, i);
    let mut end = int_end;
    let mut mantissa_digits = int_end - i;
    if s.get(end) == Some(&b'.') {
        let frac_end = digits(s, end + 1);
        mantissa_digits += frac_end - end - 1;
        end = frac_end;
    }
    if mantissa_digits == 0 {
        return 0;
    }
    if matches!(s.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_end = digits(s, j);
        if exp_end > j {
            end = exp_end;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<f32> {
        match input(text, None).unwrap() {
            Value::Vector(v) => v.to_vec(),
            other => panic!("{other:?}"),
        }
    }

    fn code(text: &str, dim: Option<u32>) -> (String, String) {
        let e = input(text, dim).unwrap_err();
        (e.state.code().to_string(), e.message)
    }

    #[test]
    fn text_round_trips_in_pgvector_form() {
        assert_eq!(parsed("[1,2,3]"), vec![1.0, 2.0, 3.0]);
        assert_eq!(parsed(" [ 1 , 2.5 ,-3e-2 ] "), vec![1.0, 2.5, -0.03]);
        assert_eq!(parsed("[+1.,.5,1E2]"), vec![1.0, 0.5, 100.0]);
        assert_eq!(output(&parsed("[1, 2.5, -3e-2]")), "[1,2.5,-0.03]");
        assert_eq!(output(&parsed("[1.23,4.56]")), "[1.23,4.56]");
        assert_eq!(output(&parsed("[0.1,-0,1e20,1e-7]")), "[0.1,-0,1e+20,1e-07]");
        assert_eq!(output(&parsed("[3.4028235e38]")), "[3.4028235e+38]");
        for text in ["[1,2,3]", "[0.1,-0.25,123456.7]", "[1e-30,7]"] {
            assert_eq!(parsed(&output(&parsed(text))), parsed(text));
        }
    }

    #[test]
    fn bad_input_gets_pgvector_errors() {
        let syntax = |t: &str| (String::from("22P02"), format!("invalid input syntax for type vector: \"{t}\""));
        for t in ["", "1,2", "[1,2", "[1,,2]", "[1 2]", "[1,2]x", "[a]", "[1,]", "[,1]", "{1,2}", "[0x10]", "[1e]x"] {
            assert_eq!(code(t, None), syntax(t), "{t}");
        }
        assert_eq!(code("[]", None), ("22000".into(), "vector must have at least 1 dimension".into()));
        assert_eq!(code("[NaN]", None), ("22000".into(), "NaN not allowed in vector".into()));
        assert_eq!(code("[1,-Infinity]", None), ("22000".into(), "infinite value not allowed in vector".into()));
        assert_eq!(code("[1e39]", None), ("22003".into(), "\"1e39\" is out of range for type vector".into()));
        assert_eq!(code("[1,2]", Some(3)), ("22000".into(), "expected 3 dimensions, not 2".into()));
        let big = format!("[{}]", vec!["1"; 16001].join(","));
        assert_eq!(code(&big, None).0, "54000");
        let max = format!("[{}]", vec!["1"; 16000].join(","));
        assert_eq!(parsed(&max).len(), 16000);
    }

    #[test]
    fn typed_values_are_checked() {
        let v: Arc<[f32]> = Arc::from(vec![1.0f32, 2.0]);
        assert!(typed(&v, Some(2)).is_ok());
        assert_eq!(typed(&v, Some(3)).unwrap_err().message, "expected 3 dimensions, not 2");
        let nan: Arc<[f32]> = Arc::from(vec![f32::NAN]);
        assert_eq!(typed(&nan, None).unwrap_err().state.code(), "22000");
        let empty: Arc<[f32]> = Arc::from(Vec::<f32>::new());
        assert_eq!(typed(&empty, None).unwrap_err().state.code(), "22000");
        assert_eq!(check_typmod(0).unwrap_err().state.code(), "22023");
        assert_eq!(check_typmod(16001).unwrap_err().message, "dimensions for type vector cannot exceed 16000");
        assert_eq!(check_typmod(3).unwrap(), 3);
    }
}
