//! Tests of aggregate resolution and accumulation.

use super::*;
use crate::expr::cast::{cast, to_text};
use DataType as T;

fn agg(func: AggFunc, distinct: bool, ty: &T, rows: &[Vec<Value>]) -> Result<Value> {
    let mut acc = accumulator(func, distinct, ty);
    for row in rows {
        acc.update(row)?;
    }
    acc.finish()
}

fn run(func: AggFunc, distinct: bool, ty: &T, rows: &[Vec<Value>]) -> String {
    to_text(&agg(func, distinct, ty, rows).unwrap()).unwrap_or_else(|| "NULL".into())
}

fn ints(vals: &[Option<i64>]) -> Vec<Vec<Value>> {
    vals.iter().map(|v| vec![v.map_or(Value::Null, Value::Int)]).collect()
}

fn resolved(name: &str, args: &[T]) -> (AggFunc, T) {
    resolve(name, args, false).unwrap().unwrap()
}

#[test]
fn resolution() {
    assert_eq!(resolve("count", &[], true).unwrap(), Some((AggFunc::CountStar, T::Int8)));
    assert_eq!(resolved("count", &[T::Text]), (AggFunc::Count, T::Int8));
    assert_eq!(resolved("sum", &[T::Int4]), (AggFunc::Sum, T::Int8));
    assert_eq!(resolved("sum", &[T::Int2]).1, T::Int8);
    assert_eq!(resolved("sum", &[T::Int8]).1, T::Numeric(None));
    assert_eq!(resolved("sum", &[T::Numeric(Some((5, 2)))]).1, T::Numeric(None));
    assert_eq!(resolved("sum", &[T::Float4]).1, T::Float4);
    assert_eq!(resolved("sum", &[T::Interval]).1, T::Interval);
    assert_eq!(resolved("avg", &[T::Int4]).1, T::Numeric(None));
    assert_eq!(resolved("avg", &[T::Float4]).1, T::Float8);
    assert_eq!(resolved("min", &[T::Varchar(Some(3))]).1, T::Text);
    assert_eq!(resolved("max", &[T::Date]).1, T::Date);
    assert_eq!(resolved("every", &[T::Bool]).0, AggFunc::BoolAnd);
    assert_eq!(resolved("string_agg", &[T::Text, T::Unknown]).1, T::Text);
    assert_eq!(resolved("string_agg", &[T::Bytea, T::Bytea]).1, T::Bytea);
    assert_eq!(resolve("lower", &[T::Text], false).unwrap(), None);
    let code = |name: &str, args: &[T], star: bool| resolve(name, args, star).unwrap_err().state.code();
    assert_eq!(code("sum", &[T::Text], false), "42883");
    assert_eq!(code("sum", &[T::Unknown], false), "42725");
    assert_eq!(code("max", &[T::Bool], false), "42883");
    assert_eq!(code("min", &[T::Jsonb], false), "42883");
    assert_eq!(code("sum", &[], true), "42883");
    assert_eq!(code("count", &[T::Int4, T::Int4], false), "42883");
    assert_eq!(code("string_agg", &[T::Text, T::Int4], false), "42883");
    assert_eq!(resolve("sum", &[T::Text], false).unwrap_err().message, "function sum(text) does not exist");
}

#[test]
fn counts() {
    let rows = ints(&[Some(1), None, Some(1), Some(2)]);
    assert_eq!(run(AggFunc::CountStar, false, &T::Int8, &[vec![], vec![], vec![]]), "3");
    assert_eq!(run(AggFunc::Count, false, &T::Int8, &rows), "3");
    assert_eq!(run(AggFunc::Count, true, &T::Int8, &rows), "2");
    assert_eq!(run(AggFunc::Count, false, &T::Int8, &[]), "0");
    assert_eq!(run(AggFunc::CountStar, false, &T::Int8, &[]), "0");
}

#[test]
fn sums_and_averages() {
    let rows = ints(&[Some(1), None, Some(2), Some(2)]);
    assert_eq!(run(AggFunc::Sum, false, &T::Int8, &rows), "5");
    assert_eq!(run(AggFunc::Sum, true, &T::Int8, &rows), "3");
    assert_eq!(run(AggFunc::Sum, false, &T::Int8, &ints(&[None, None])), "NULL");
    assert_eq!(run(AggFunc::Avg, false, &T::Numeric(None), &ints(&[Some(1), Some(2)])), "1.5000000000000000");
    assert_eq!(run(AggFunc::Avg, false, &T::Numeric(None), &ints(&[Some(1), Some(1), Some(2)])), "1.3333333333333333");
    assert_eq!(run(AggFunc::Avg, true, &T::Numeric(None), &ints(&[Some(1), Some(1), Some(2)])), "1.5000000000000000");
    assert_eq!(run(AggFunc::Avg, false, &T::Numeric(None), &ints(&[])), "NULL");
    let big = ints(&[Some(i64::MAX), Some(i64::MAX)]);
    assert_eq!(run(AggFunc::Sum, false, &T::Numeric(None), &big), "18446744073709551614");
    let e = agg(AggFunc::Sum, false, &T::Int8, &big).unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("22003", "bigint out of range"));
    let nums: Vec<Vec<Value>> = ["1.50", "2.25"].iter().map(|s| vec![Value::Numeric(s.parse().unwrap())]).collect();
    assert_eq!(run(AggFunc::Sum, false, &T::Numeric(None), &nums), "3.75");
    assert_eq!(run(AggFunc::Avg, false, &T::Numeric(None), &nums), "1.8750000000000000");
    let huge = vec![vec![Value::Numeric(Decimal::MAX)], vec![Value::Numeric(Decimal::MAX)]];
    assert_eq!(agg(AggFunc::Sum, false, &T::Numeric(None), &huge).unwrap_err().state.code(), "22003");
    let floats = vec![vec![Value::Float(0.5)], vec![Value::Float(1.0)], vec![Value::Null]];
    assert_eq!(run(AggFunc::Sum, false, &T::Float8, &floats), "1.5");
    assert_eq!(run(AggFunc::Avg, false, &T::Float8, &floats), "0.75");
    let overflow = vec![vec![Value::Float(1e308)], vec![Value::Float(1e308)]];
    assert_eq!(agg(AggFunc::Sum, false, &T::Float8, &overflow).unwrap_err().state.code(), "22003");
    let reals = vec![vec![Value::Float(0.1f32 as f64)], vec![Value::Float(0.2f32 as f64)]];
    assert_eq!(run(AggFunc::Sum, false, &T::Float4, &reals), "0.3");
}

#[test]
fn interval_sums() {
    let iv = |s: &str| vec![cast(&Value::text(s), &T::Interval).unwrap()];
    let rows = vec![iv("1 day"), iv("12 hours"), vec![Value::Null]];
    assert_eq!(run(AggFunc::Sum, false, &T::Interval, &rows), "1 day 12:00:00");
    assert_eq!(run(AggFunc::Avg, false, &T::Interval, &rows), "18:00:00");
}

#[test]
fn extremes_bools_and_strings() {
    let rows = ints(&[Some(3), None, Some(-1), Some(7)]);
    assert_eq!(run(AggFunc::Min, false, &T::Int4, &rows), "-1");
    assert_eq!(run(AggFunc::Max, false, &T::Int4, &rows), "7");
    assert_eq!(run(AggFunc::Max, false, &T::Int4, &ints(&[None])), "NULL");
    let texts: Vec<Vec<Value>> = ["b", "a", "c"].iter().map(|s| vec![Value::text(s)]).collect();
    assert_eq!(run(AggFunc::Min, false, &T::Text, &texts), "a");
    let floats = vec![vec![Value::Float(1.0)], vec![Value::Float(f64::NAN)]];
    assert_eq!(run(AggFunc::Max, false, &T::Float8, &floats), "NaN");
    let b = |v: Option<bool>| vec![v.map_or(Value::Null, Value::Bool)];
    let bools = vec![b(Some(true)), b(None), b(Some(false))];
    assert_eq!(run(AggFunc::BoolAnd, false, &T::Bool, &bools), "f");
    assert_eq!(run(AggFunc::BoolOr, false, &T::Bool, &bools), "t");
    assert_eq!(run(AggFunc::BoolAnd, false, &T::Bool, &[b(None)]), "NULL");
    let s = |v: Option<&str>, sep: Option<&str>| {
        vec![v.map_or(Value::Null, Value::text), sep.map_or(Value::Null, Value::text)]
    };
    let rows = vec![s(Some("a"), Some(",")), s(None, Some(",")), s(Some("b"), Some(";")), s(Some("a"), None)];
    assert_eq!(run(AggFunc::StringAgg, false, &T::Text, &rows), "a;ba");
    let rows = vec![s(Some("a"), Some(",")), s(Some("b"), Some(",")), s(Some("a"), Some(","))];
    assert_eq!(run(AggFunc::StringAgg, true, &T::Text, &rows), "a,b");
    assert_eq!(run(AggFunc::StringAgg, false, &T::Text, &[]), "NULL");
    let bytes = |b: &[u8]| Value::Bytes(b.into());
    let rows = vec![vec![bytes(&[1]), bytes(&[0])], vec![bytes(&[2]), bytes(&[0])]];
    assert_eq!(run(AggFunc::StringAgg, false, &T::Bytea, &rows), "\\x010002");
}

#[test]
fn names() {
    assert_eq!(AggFunc::CountStar.name(), "count");
    assert_eq!(AggFunc::StringAgg.name(), "string_agg");
}
