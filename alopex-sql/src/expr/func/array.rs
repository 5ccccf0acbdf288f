//! Array functions: `ARRAY[…]`, subscripts, `array_length`, `cardinality`,
//! `array_lower`/`array_upper`, `array_position`, `array_append`,
//! `array_cat` and `x op ANY/ALL (array)`.
//!
//! The binder resolves these itself (`plan/bind/array.rs`) because their
//! signatures are polymorphic (`anyarray`, `anyelement`), which the
//! fixed-signature table of `resolve` does not express. The binder also
//! passes what only the static type knows as a trailing literal argument:
//! the array's first subscript (0 for `int2vector`, 1 otherwise) for
//! subscripts and bounds, and the comparison operator for ANY/ALL. That
//! keeps a bound call a plain [`ScalarFunc`] tag with arguments, like every
//! other function.
//!
//! Arrays have one dimension, so `array_length(a, 2)` and the like are
//! NULL, as PostgreSQL answers for a dimension an array does not have; an
//! empty array has no dimensions at all (`array_length('{}', 1)` is NULL,
//! `cardinality('{}')` is 0).

use std::sync::Arc;

use super::{ScalarFunc, arg};
use crate::error::{Error, Result};
use crate::expr::ops::{self, BinaryOp};
use crate::types::{DataType, Value};

fn items(v: &Value) -> Result<&[Value]> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(Error::internal(format!("expected an array, got {other:?}"))),
    }
}

fn int(v: &Value) -> Result<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(Error::internal(format!("expected an integer, got {other:?}"))),
    }
}

/// The comparison operators ANY/ALL take, by the code the binder passes.
pub(crate) const COMPARISONS: [BinaryOp; 6] =
    [BinaryOp::Eq, BinaryOp::NotEq, BinaryOp::Lt, BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq];

pub(super) fn call(func: ScalarFunc, args: &[Value]) -> Result<Value> {
    use ScalarFunc::*;
    match func {
        MakeArray => Ok(Value::Array(Arc::from(args.to_vec()))),
        ArraySubscript => {
            let a = items(arg(args, 0)?)?;
            let (i, lower) = (int(arg(args, 1)?)?, int(arg(args, 2)?)?);
            Ok(i.checked_sub(lower)
                .and_then(|k| usize::try_from(k).ok())
                .and_then(|k| a.get(k))
                .cloned()
                .unwrap_or(Value::Null))
        }
        ArrayLength | ArrayLower | ArrayUpper => {
            let a = items(arg(args, 0)?)?;
            let dim = int(arg(args, 1)?)?;
            if dim != 1 || a.is_empty() {
                return Ok(Value::Null);
            }
            let lower = int(arg(args, 2)?)?;
            let n = a.len() as i64;
            Ok(Value::Int(match func {
                ArrayLength => n,
                ArrayLower => lower,
                _ => lower + n - 1,
            }))
        }
        Cardinality => Ok(Value::Int(items(arg(args, 0)?)?.len() as i64)),
        ArrayPosition => {
            let a = items(arg(args, 0)?)?;
            let probe = arg(args, 1)?;
            let lower = int(arg(args, 2)?)?;
            Ok(a.iter().position(|v| v == probe).map_or(Value::Null, |k| Value::Int(lower + k as i64)))
        }
        ArrayAppend => {
            let mut out = match arg(args, 0)? {
                Value::Null => Vec::new(),
                a => items(a)?.to_vec(),
            };
            out.push(arg(args, 1)?.clone());
            Ok(Value::Array(Arc::from(out)))
        }
        ArrayCat => {
            let mut out = Vec::new();
            for a in args {
                if !a.is_null() {
                    out.extend_from_slice(items(a)?);
                }
            }
            Ok(Value::Array(Arc::from(out)))
        }
        ArrayAny | ArrayAll => quantified(func == ArrayAll, args),
        other => Err(Error::internal(format!("{} is not an array function", other.name()))),
    }
}

/// `probe op ANY (array)` / `probe op ALL (array)` with SQL's NULL rules:
/// ANY is true if some element compares true, else NULL if some comparison
/// was NULL, else false (ALL the other way round); an empty array gives
/// false for ANY and true for ALL even when the probe is NULL.
fn quantified(all: bool, args: &[Value]) -> Result<Value> {
    let probe = arg(args, 0)?;
    let array = arg(args, 1)?;
    if array.is_null() {
        return Ok(Value::Null);
    }
    let a = items(array)?;
    let code = usize::try_from(int(arg(args, 2)?)?).unwrap_or(usize::MAX);
    let op = *COMPARISONS.get(code).ok_or_else(|| Error::internal("bad ANY/ALL operator"))?;
    let mut unknown = false;
    for v in a {
        match ops::truth(&ops::binary(op, probe, v, &DataType::Bool)?)? {
            Some(b) if b != all => return Ok(Value::Bool(!all)),
            Some(_) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown { Value::Null } else { Value::Bool(all) })
}

/// `array_to_string(array, sep [, null_string])` over a real array.
pub(crate) fn array_to_string(items: &[Value], sep: &str, null: Option<&str>, elem: &DataType) -> String {
    let parts: Vec<String> = items
        .iter()
        .filter_map(|v| crate::expr::cast::to_text_as(v, elem).or_else(|| null.map(str::to_string)))
        .collect();
    parts.join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(v: &[i64]) -> Value {
        Value::Array(v.iter().map(|i| Value::Int(*i)).collect())
    }

    #[test]
    fn subscripts_and_bounds() {
        let a = arr(&[10, 20, 30]);
        let sub = |i: i64, lower: i64| call(ScalarFunc::ArraySubscript, &[a.clone(), Value::Int(i), Value::Int(lower)]);
        assert_eq!(sub(1, 1).unwrap(), Value::Int(10));
        assert_eq!(sub(0, 0).unwrap(), Value::Int(10));
        assert_eq!(sub(4, 1).unwrap(), Value::Null);
        assert_eq!(sub(-1, 1).unwrap(), Value::Null);
        assert_eq!(sub(i64::MIN, 1).unwrap(), Value::Null);
        let len = |a: Value, d: i64| call(ScalarFunc::ArrayLength, &[a, Value::Int(d), Value::Int(1)]).unwrap();
        assert_eq!(len(a.clone(), 1), Value::Int(3));
        assert_eq!(len(a.clone(), 2), Value::Null);
        assert_eq!(len(arr(&[]), 1), Value::Null);
        assert_eq!(call(ScalarFunc::Cardinality, &[arr(&[])]).unwrap(), Value::Int(0));
        let upper = call(ScalarFunc::ArrayUpper, &[a.clone(), Value::Int(1), Value::Int(0)]).unwrap();
        assert_eq!(upper, Value::Int(2));
    }

    #[test]
    fn any_and_all_follow_null_rules() {
        let q = |all: bool, probe: Value, a: Value| {
            call(if all { ScalarFunc::ArrayAll } else { ScalarFunc::ArrayAny }, &[probe, a, Value::Int(0)]).unwrap()
        };
        assert_eq!(q(false, Value::Int(2), arr(&[1, 2])), Value::Bool(true));
        assert_eq!(q(false, Value::Int(3), arr(&[1, 2])), Value::Bool(false));
        let with_null = Value::Array(Arc::from(vec![Value::Int(1), Value::Null]));
        assert_eq!(q(false, Value::Int(3), with_null.clone()), Value::Null);
        assert_eq!(q(false, Value::Int(1), with_null), Value::Bool(true));
        assert_eq!(q(true, Value::Int(1), arr(&[1, 1])), Value::Bool(true));
        assert_eq!(q(true, Value::Null, arr(&[])), Value::Bool(true));
        assert_eq!(q(false, Value::Null, arr(&[1])), Value::Null);
    }
}
