//! Tests of function resolution.

use super::*;
use DataType as T;
use ScalarFunc as F;

fn sig(name: &str, args: &[T]) -> FuncSig {
    resolve(name, args).unwrap_or_else(|e| panic!("{name}{args:?}: {e}"))
}

fn err(name: &str, args: &[T]) -> (String, String) {
    let e = resolve(name, args).unwrap_err();
    (e.state.code().to_string(), e.message)
}

#[test]
fn math_overloads() {
    assert_eq!(sig("abs", &[T::Int2]), FuncSig { func: F::Abs, result: T::Int2, arg_casts: vec![None] });
    assert_eq!(sig("abs", &[T::Numeric(Some((5, 2)))]).result, T::Numeric(None));
    assert_eq!(sig("abs", &[T::Unknown]).arg_casts, vec![Some(T::Float8)]);
    let s = sig("ceil", &[T::Int4]);
    assert_eq!((s.func, s.result, s.arg_casts), (F::Ceil, T::Float8, vec![Some(T::Float8)]));
    assert_eq!(sig("ceiling", &[T::Numeric(None)]).result, T::Numeric(None));
    assert_eq!(sig("round", &[T::Float4]).result, T::Float8);
    let s = sig("round", &[T::Int4, T::Int4]);
    assert_eq!((s.func, s.result, s.arg_casts), (F::RoundTo, T::Numeric(None), vec![Some(T::Numeric(None)), None]));
    assert_eq!(err("round", &[T::Float8, T::Int4]).0, "42883");
    assert_eq!(sig("power", &[T::Int4, T::Int4]).result, T::Float8);
    assert_eq!(sig("pow", &[T::Numeric(None), T::Int4]).result, T::Numeric(None));
    assert_eq!(sig("mod", &[T::Int2, T::Int8]).result, T::Int8);
    assert_eq!(err("mod", &[T::Float8, T::Int4]).0, "42883");
    assert_eq!(sig("log", &[T::Int4, T::Int4]).func, F::Log);
    assert_eq!(sig("log", &[T::Float8]).func, F::Log10);
    assert_eq!(sig("random", &[]).result, T::Float8);
    assert_eq!(err("random", &[T::Int4]).0, "42883");
}

#[test]
fn conditional_functions() {
    let s = sig("coalesce", &[T::Int4, T::Unknown, T::Int8]);
    assert_eq!((s.func, s.result.clone()), (F::Coalesce, T::Int8));
    assert_eq!(s.arg_casts, vec![Some(T::Int8), Some(T::Int8), None]);
    assert_eq!(sig("greatest", &[T::Int4, T::Numeric(None)]).result, T::Numeric(None));
    assert_eq!(err("least", &[T::Int4, T::Bool]).0, "42804");
    let s = sig("nullif", &[T::Int4, T::Unknown]);
    assert_eq!((s.result, s.arg_casts), (T::Int4, vec![None, Some(T::Int4)]));
    assert_eq!(sig("nullif", &[T::Unknown, T::Int4]).result, T::Int4);
}

#[test]
fn string_overloads() {
    assert_eq!(
        sig("length", &[T::Varchar(Some(3))]),
        FuncSig { func: F::Length, result: T::Int4, arg_casts: vec![None] }
    );
    assert_eq!(sig("char_length", &[T::Unknown]).arg_casts, vec![Some(T::Text)]);
    assert_eq!(sig("length", &[T::Bytea]).func, F::OctetLength);
    assert_eq!(err("length", &[T::Int4]), ("42883".to_string(), "function length(integer) does not exist".to_string()));
    assert_eq!(sig("substring", &[T::Text, T::Int4, T::Int4]).func, F::Substr);
    assert_eq!(sig("substr", &[T::Bytea, T::Int4]).result, T::Bytea);
    assert_eq!(sig("trim", &[T::Text, T::Unknown]).func, F::Btrim);
    assert_eq!(sig("concat", &[T::Int4, T::Unknown, T::Bool]).arg_casts, vec![None, Some(T::Text), None]);
    assert_eq!(sig("concat_ws", &[T::Unknown, T::Int4]).arg_casts, vec![Some(T::Text), None]);
    assert_eq!(err("concat_ws", &[T::Int4, T::Int4]).0, "42883");
    assert_eq!(sig("lpad", &[T::Text, T::Int4, T::Text]).func, F::Lpad);
    assert_eq!(sig("to_hex", &[T::Int8]).func, F::ToHex64);
    assert_eq!(sig("to_hex", &[T::Int4]).func, F::ToHex32);
    assert_eq!(sig("starts_with", &[T::Text, T::Text]).result, T::Bool);
    assert_eq!(
        err("no_such_fn", &[T::Int4, T::Text]),
        ("42883".to_string(), "function no_such_fn(integer, text) does not exist".to_string())
    );
}

#[test]
fn time_and_json_overloads() {
    assert_eq!(sig("now", &[]).result, T::TimestampTz);
    assert_eq!(sig("current_timestamp", &[]).func, F::Now);
    assert_eq!(sig("current_date", &[]).result, T::Date);
    assert_eq!(sig("date_trunc", &[T::Unknown, T::Timestamp]).result, T::Timestamp);
    let s = sig("date_trunc", &[T::Text, T::Date]);
    assert_eq!((s.result, s.arg_casts), (T::TimestampTz, vec![None, Some(T::TimestampTz)]));
    assert_eq!(sig("date_trunc", &[T::Text, T::Interval]).result, T::Interval);
    assert_eq!(sig("extract", &[T::Text, T::Date]).arg_casts, vec![None, None]);
    assert_eq!(sig("extract", &[T::Text, T::Timestamp]).result, T::Numeric(None));
    assert_eq!(sig("date_part", &[T::Text, T::Date]).arg_casts, vec![None, Some(T::Timestamp)]);
    assert_eq!(sig("date_part", &[T::Text, T::Interval]).result, T::Float8);
    assert_eq!(err("extract", &[T::Text, T::Int4]).0, "42883");
    assert_eq!(sig("age", &[T::Timestamp, T::Timestamp]).arg_casts, vec![None, None]);
    assert_eq!(sig("age", &[T::Date, T::Timestamp]).arg_casts, vec![Some(T::TimestampTz), Some(T::TimestampTz)]);
    assert_eq!(sig("age", &[T::TimestampTz]).func, F::AgeFromToday);
    assert_eq!(sig("make_interval", &[T::Int4, T::Int4]).arg_casts, vec![None, None]);
    assert_eq!(sig("make_interval", &vec![T::Int4; 7]).arg_casts[6], Some(T::Float8));
    assert_eq!(sig("to_timestamp", &[T::Int4]).arg_casts, vec![Some(T::Float8)]);
    assert_eq!(sig("jsonb_typeof", &[T::Unknown]).arg_casts, vec![Some(T::Jsonb)]);
    let s = sig("jsonb_extract_path_text", &[T::Jsonb, T::Unknown, T::Text]);
    assert_eq!((s.result, s.arg_casts), (T::Text, vec![None, Some(T::Text), None]));
    assert_eq!(sig("jsonb_build_object", &[]).result, T::Jsonb);
    assert_eq!(err("jsonb_typeof", &[T::Text]).0, "42883");
}

#[test]
fn volatility_and_strictness() {
    assert!(F::Now.is_volatile() && F::Random.is_volatile() && !F::Abs.is_volatile());
    assert!(F::Abs.is_strict() && !F::Concat.is_strict() && !F::Coalesce.is_strict());
    assert_eq!(F::RoundTo.name(), "round");
    assert_eq!(
        call(F::Concat, &[Value::Null, Value::text("x")], &T::Text, chrono::DateTime::UNIX_EPOCH).unwrap(),
        Value::text("x")
    );
    assert_eq!(call(F::Upper, &[Value::Null], &T::Text, chrono::DateTime::UNIX_EPOCH).unwrap(), Value::Null);
}
