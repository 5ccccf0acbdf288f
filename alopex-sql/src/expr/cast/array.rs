//! Arrays in PostgreSQL's text form: `array_out` and `array_in` for
//! one-dimensional arrays, and casts between array types.
//!
//! The text form is what clients parse (psycopg turns `{1,2}` into a list,
//! psql prints it), so it follows `array_out` exactly: elements are
//! separated by commas, a NULL element is the bare word `NULL`, and an
//! element is double-quoted (with `"` and `\` backslash-escaped) when it is
//! empty, spells `NULL` in any case, or holds a brace, comma, quote,
//! backslash or white space. Each element prints with its type's own output
//! function (booleans as `t`/`f`). `int2vector` is the exception: its
//! output is the elements separated by single spaces, as `int2vectorout`
//! writes it.
//!
//! Input accepts the same syntax back, with white space around elements,
//! and parses each element with the element type's input function, so
//! `'{1,x}'::int[]` fails like `'x'::int` does (22P02). Nested braces
//! (multi-dimensional arrays) and explicit bounds (`[0:1]={…}`) are 0A000:
//! arrays here have one dimension.

use std::sync::Arc;

use super::{cast, from_text, to_text_as};
use crate::error::{Error, Result, SqlState};
use crate::types::{DataType, Value};

/// The text form of an array of element type `elem` (`{1,2,NULL}`).
pub(crate) fn output(items: &[Value], elem: &DataType) -> String {
    let mut out = String::from("{");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match to_text_as(v, elem) {
            None => out.push_str("NULL"),
            Some(s) => write_element(&mut out, &s),
        }
    }
    out.push('}');
    out
}

/// The text form of an `int2vector` (`1 2`).
pub(crate) fn int2vector_output(items: &[Value]) -> String {
    let parts: Vec<String> = items.iter().filter_map(|v| to_text_as(v, &DataType::Int2)).collect();
    parts.join(" ")
}

fn write_element(out: &mut String, s: &str) {
    let quote = s.is_empty()
        || s.eq_ignore_ascii_case("null")
        || s.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_ascii_whitespace());
    if !quote {
        out.push_str(s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Parses the text form of an array into its elements' texts (None for
/// NULL). 22P02 for malformed input, 0A000 for more than one dimension.
pub(crate) fn parse(text: &str) -> Result<Vec<Option<String>>> {
    let bad = |detail: &str| {
        Error::new(SqlState::INVALID_TEXT_REPRESENTATION, format!("malformed array literal: \"{text}\""))
            .with_detail(detail)
    };
    let trimmed = text.trim();
    if trimmed.starts_with('[') {
        return Err(Error::unsupported("array bounds in an array literal"));
    }
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| bad("Array value must start with \"{\" or dimension information."))?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'{') {
            return Err(Error::unsupported("multidimensional arrays"));
        }
        let mut item = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => item.extend(chars.next()),
                    Some('"') => break,
                    Some(c) => item.push(c),
                    None => return Err(bad("Unexpected end of input.")),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            chars.next();
            if quoted {
                if !c.is_ascii_whitespace() {
                    return Err(bad("Unexpected array element."));
                }
                continue;
            }
            match c {
                '{' | '}' | '"' => return Err(bad("Unexpected array element.")),
                '\\' => item.extend(chars.next()),
                c => item.push(c),
            }
        }
        let item = if quoted { item } else { item.trim_end().to_string() };
        if !quoted && item.is_empty() {
            return Err(bad("Unexpected \",\" character."));
        }
        out.push(if !quoted && item.eq_ignore_ascii_case("null") { None } else { Some(item) });
        if chars.next().is_none() {
            return Ok(out);
        }
    }
}

/// `array_in`: the text form to an array of element type `elem`.
pub(crate) fn input(text: &str, elem: &DataType) -> Result<Value> {
    let items = parse(text)?;
    let values = items
        .iter()
        .map(|i| match i {
            None => Ok(Value::Null),
            Some(s) => from_text(s, elem),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(Arc::from(values)))
}

/// `int2vectorin`: space-separated integers.
pub(crate) fn int2vector_input(text: &str) -> Result<Value> {
    let values = text.split_ascii_whitespace().map(|s| from_text(s, &DataType::Int2)).collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(Arc::from(values)))
}

/// Casts every element of an array to `elem` (with [`cast`]).
pub(crate) fn cast_elements(items: &[Value], elem: &DataType) -> Result<Value> {
    let values = items.iter().map(|v| cast(v, elem)).collect::<Result<Vec<_>>>()?;
    Ok(Value::Array(Arc::from(values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[Option<i64>]) -> Value {
        Value::Array(v.iter().map(|i| i.map_or(Value::Null, Value::Int)).collect())
    }

    #[test]
    fn output_quotes_like_array_out() {
        assert_eq!(output(&[Value::Int(1), Value::Null, Value::Int(3)], &DataType::Int4), "{1,NULL,3}");
        let texts = [Value::text("a b"), Value::text(""), Value::text("null"), Value::text("x\"y\\"), Value::text("z")];
        assert_eq!(output(&texts, &DataType::Text), r#"{"a b","","null","x\"y\\",z}"#);
        assert_eq!(output(&[Value::Bool(true)], &DataType::Bool), "{t}");
        assert_eq!(output(&[], &DataType::Int4), "{}");
        assert_eq!(int2vector_output(&[Value::Int(1), Value::Int(3)]), "1 3");
    }

    #[test]
    fn input_round_trips() {
        assert_eq!(input("{1, 2 ,NULL}", &DataType::Int4).unwrap(), ints(&[Some(1), Some(2), None]));
        assert_eq!(input("{}", &DataType::Int4).unwrap(), ints(&[]));
        let t = input(r#"{"a b","",NULL,"NULL",c\,d}"#, &DataType::Text).unwrap();
        let Value::Array(items) = &t else { panic!("{t:?}") };
        assert_eq!(output(items, &DataType::Text), r#"{"a b","",NULL,"NULL","c,d"}"#);
        assert_eq!(int2vector_input(" 1 2").unwrap(), ints(&[Some(1), Some(2)]));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(input("1,2", &DataType::Int4).unwrap_err().state, SqlState::INVALID_TEXT_REPRESENTATION);
        assert_eq!(input("{1,x}", &DataType::Int4).unwrap_err().state, SqlState::INVALID_TEXT_REPRESENTATION);
        assert_eq!(input("{1,,2}", &DataType::Int4).unwrap_err().state, SqlState::INVALID_TEXT_REPRESENTATION);
        assert_eq!(input("{\"a}", &DataType::Text).unwrap_err().state, SqlState::INVALID_TEXT_REPRESENTATION);
        assert_eq!(input("{{1},{2}}", &DataType::Int4).unwrap_err().state, SqlState::FEATURE_NOT_SUPPORTED);
    }
}
