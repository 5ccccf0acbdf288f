//! jsonb operators: `->`, `->>` and `||`.
//!
//! `->` takes an object field by text key or an array element by integer
//! index (negative indexes count from the end, as in PostgreSQL 9.5+);
//! anything that does not match (a key on an array, a missing field, an
//! index past the end, any access into a scalar) is SQL NULL, never an
//! error. `->>` is the same with the result as text: a JSON string yields
//! its contents, JSON `null` yields SQL NULL, anything else its jsonb text.
//!
//! `||` merges two objects (the right side wins on equal keys) and
//! otherwise concatenates arrays, wrapping a non-array operand into a
//! one-element array first (`jsonb_concat`).

use std::sync::Arc;

use serde_json::Value as J;

use crate::error::{Error, Result};
use crate::expr::cast::{input, output};
use crate::types::Value;

/// `json -> key` (`as_text` for `->>`).
pub(crate) fn get(json: &J, key: &Value, as_text: bool) -> Result<Value> {
    let found = match (json, key) {
        (J::Object(map), Value::Text(k)) => map.get(k.as_ref()),
        (J::Array(items), Value::Int(i)) => {
            let index = if *i < 0 { items.len() as i64 + i } else { *i };
            usize::try_from(index).ok().and_then(|i| items.get(i))
        }
        (_, Value::Text(_) | Value::Int(_)) => None,
        (_, other) => return Err(Error::internal(format!("bad jsonb subscript {other:?}"))),
    };
    Ok(match found {
        None => Value::Null,
        Some(v) if as_text => text_of(v),
        Some(v) => Value::Json(Arc::new(v.clone())),
    })
}

/// The `->>` text of a JSON value.
pub(crate) fn text_of(v: &J) -> Value {
    match v {
        J::Null => Value::Null,
        J::String(s) => Value::text(s),
        other => Value::text(output::json(other)),
    }
}

/// `jsonb || jsonb`.
pub(crate) fn concat(a: &J, b: &J) -> Value {
    let merged = match (a, b) {
        (J::Object(x), J::Object(y)) => {
            let mut m = x.clone();
            for (k, v) in y {
                m.insert(k.clone(), v.clone());
            }
            J::Object(m)
        }
        _ => {
            let as_items = |v: &J| match v {
                J::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let mut items = as_items(a);
            items.extend(as_items(b));
            J::Array(items)
        }
    };
    input::json_value(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> J {
        input::json(s).unwrap()
    }

    fn txt(v: &Value) -> Option<String> {
        crate::expr::cast::to_text(v)
    }

    #[test]
    fn field_and_index_access() {
        let doc = j(r#"{"a": {"b": [10, "x", null]}, "n": null}"#);
        let a = get(&doc, &Value::text("a"), false).unwrap();
        assert_eq!(txt(&a).unwrap(), r#"{"b": [10, "x", null]}"#);
        let Value::Json(a) = a else { panic!() };
        let b = get(&a, &Value::text("b"), false).unwrap();
        let Value::Json(b) = b else { panic!() };
        assert_eq!(txt(&get(&b, &Value::Int(0), false).unwrap()).unwrap(), "10");
        assert_eq!(get(&b, &Value::Int(1), true).unwrap(), Value::text("x"));
        assert_eq!(get(&b, &Value::Int(-3), true).unwrap(), Value::text("10"));
        assert_eq!(get(&b, &Value::Int(2), true).unwrap(), Value::Null);
        assert_eq!(txt(&get(&b, &Value::Int(2), false).unwrap()).unwrap(), "null");
        assert_eq!(get(&b, &Value::Int(3), false).unwrap(), Value::Null);
        assert_eq!(get(&b, &Value::Int(-4), false).unwrap(), Value::Null);
        assert_eq!(get(&b, &Value::text("0"), false).unwrap(), Value::Null);
        assert_eq!(get(&doc, &Value::text("missing"), true).unwrap(), Value::Null);
        assert_eq!(get(&doc, &Value::text("n"), true).unwrap(), Value::Null);
        assert_eq!(get(&j("5"), &Value::text("a"), true).unwrap(), Value::Null);
        assert_eq!(get(&doc, &Value::text("a"), true).unwrap(), Value::text(r#"{"b": [10, "x", null]}"#));
    }

    #[test]
    fn concatenation() {
        let c = |a: &str, b: &str| txt(&concat(&j(a), &j(b))).unwrap();
        assert_eq!(c(r#"{"a": 1, "b": 2}"#, r#"{"b": 3, "c": 4}"#), r#"{"a": 1, "b": 3, "c": 4}"#);
        assert_eq!(c("[1, 2]", "[3]"), "[1, 2, 3]");
        assert_eq!(c("[1]", "2"), "[1, 2]");
        assert_eq!(c("1", "[2]"), "[1, 2]");
        assert_eq!(c(r#"{"a": 1}"#, "[2]"), r#"[{"a": 1}, 2]"#);
        assert_eq!(c("1", "2"), "[1, 2]");
    }
}
