//! Tests of operator resolution and evaluation.

use super::*;
use rust_decimal::Decimal;

use DataType as T;

fn sig(op: BinaryOp, l: T, r: T) -> BinarySig {
    resolve_binary(op, &l, &r).unwrap_or_else(|e| panic!("{l} {} {r}: {e}", op.symbol()))
}

fn err(op: BinaryOp, l: T, r: T) -> (String, String) {
    let e = resolve_binary(op, &l, &r).unwrap_err();
    (e.state.code().to_string(), e.message)
}

fn num(s: &str) -> Value {
    Value::Numeric(s.parse::<Decimal>().unwrap())
}

fn text(v: &Value) -> String {
    cast::to_text(v).unwrap_or_else(|| "NULL".into())
}

#[test]
fn arithmetic_types() {
    use BinaryOp::*;
    assert_eq!(sig(Add, T::Int2, T::Int2).result, T::Int2);
    assert_eq!(sig(Add, T::Int2, T::Int4), BinarySig { result: T::Int4, left_cast: None, right_cast: None });
    assert_eq!(sig(Mul, T::Int4, T::Int8).result, T::Int8);
    let s = sig(Add, T::Int4, T::Numeric(Some((5, 2))));
    assert_eq!(s, BinarySig { result: T::Numeric(None), left_cast: Some(T::Numeric(None)), right_cast: None });
    let s = sig(Add, T::Int4, T::Float8);
    assert_eq!((s.result, s.left_cast, s.right_cast), (T::Float8, Some(T::Float8), None));
    assert_eq!(sig(Add, T::Float4, T::Float4).result, T::Float4);
    assert_eq!(sig(Add, T::Float4, T::Int4).result, T::Float8);
    assert_eq!(sig(Add, T::Numeric(None), T::Float4).result, T::Float8);
    assert_eq!(sig(Pow, T::Int4, T::Int4).result, T::Float8);
    assert_eq!(sig(Pow, T::Numeric(None), T::Int4).result, T::Numeric(None));
    assert_eq!(sig(Mod, T::Int8, T::Int2).result, T::Int8);
    assert_eq!(err(Mod, T::Float8, T::Int4).0, "42883");
    let s = sig(Add, T::Unknown, T::Int4);
    assert_eq!((s.result, s.left_cast), (T::Int4, Some(T::Int4)));
    assert_eq!(err(Add, T::Unknown, T::Unknown).0, "42725");
    assert_eq!(
        err(Add, T::Text, T::Int4),
        ("42883".to_string(), "operator does not exist: text + integer".to_string())
    );
    assert_eq!(err(Add, T::Bool, T::Bool).0, "42883");
}

#[test]
fn datetime_types() {
    use BinaryOp::*;
    assert_eq!(sig(Add, T::Date, T::Int4).result, T::Date);
    assert_eq!(sig(Add, T::Int4, T::Date).result, T::Date);
    assert_eq!(sig(Sub, T::Date, T::Date).result, T::Int4);
    let s = sig(Add, T::Date, T::Interval);
    assert_eq!((s.result, s.left_cast), (T::Timestamp, Some(T::Timestamp)));
    assert_eq!(sig(Sub, T::TimestampTz, T::Interval).result, T::TimestampTz);
    let s = sig(Sub, T::Timestamp, T::TimestampTz);
    assert_eq!((s.result, s.left_cast), (T::Interval, Some(T::TimestampTz)));
    assert_eq!(sig(Mul, T::Interval, T::Int4).right_cast, Some(T::Float8));
    assert_eq!(sig(Div, T::Interval, T::Float8).result, T::Interval);
    let s = sig(Add, T::Timestamp, T::Unknown);
    assert_eq!((s.result, s.right_cast), (T::Timestamp, Some(T::Interval)));
    let s = sig(Sub, T::Date, T::Unknown);
    assert_eq!((s.result, s.right_cast), (T::Int4, Some(T::Date)));
    assert_eq!(err(Add, T::Date, T::Date).0, "42883");
    assert_eq!(err(Mul, T::Interval, T::Interval).0, "42883");
}

#[test]
fn comparison_types() {
    use BinaryOp::*;
    assert_eq!(sig(Eq, T::Int4, T::Numeric(None)), BinarySig { result: T::Bool, left_cast: None, right_cast: None });
    assert_eq!(sig(Lt, T::Text, T::Date).left_cast, Some(T::Date));
    assert_eq!(sig(Lt, T::Int4, T::Varchar(Some(3))).right_cast, Some(T::Int4));
    assert_eq!(sig(Eq, T::Unknown, T::Varchar(Some(3))).left_cast, Some(T::Text));
    assert_eq!(sig(Eq, T::Unknown, T::Unknown).left_cast, Some(T::Text));
    assert_eq!(sig(Eq, T::Date, T::TimestampTz).left_cast, Some(T::TimestampTz));
    assert_eq!(sig(Eq, T::Varchar(None), T::Text).left_cast, None);
    assert_eq!(sig(IsDistinctFrom, T::Bool, T::Bool).result, T::Bool);
    assert_eq!(
        err(Eq, T::Int4, T::Bool),
        ("42883".to_string(), "operator does not exist: integer = boolean".to_string())
    );
    assert_eq!(err(And, T::Int4, T::Bool).0, "42804");
    assert_eq!(sig(And, T::Unknown, T::Bool).left_cast, Some(T::Bool));
}

#[test]
fn other_operator_types() {
    use BinaryOp::*;
    assert_eq!(
        sig(Concat, T::Text, T::Int4),
        BinarySig { result: T::Text, left_cast: None, right_cast: Some(T::Text) }
    );
    assert_eq!(sig(Concat, T::Varchar(Some(2)), T::Text).right_cast, None);
    assert_eq!(sig(Concat, T::Unknown, T::Text).left_cast, Some(T::Text));
    assert_eq!(sig(Concat, T::Bytea, T::Bytea).result, T::Bytea);
    assert_eq!(sig(Concat, T::Jsonb, T::Unknown).right_cast, Some(T::Jsonb));
    assert_eq!(err(Concat, T::Int4, T::Int4).0, "42883");
    assert_eq!(
        sig(JsonGet, T::Jsonb, T::Unknown),
        BinarySig { result: T::Jsonb, left_cast: None, right_cast: Some(T::Text) }
    );
    assert_eq!(sig(JsonGetText, T::Jsonb, T::Int4).result, T::Text);
    assert_eq!(err(JsonGet, T::Text, T::Text).0, "42883");
    assert_eq!(sig(BitAnd, T::Int2, T::Int8).result, T::Int8);
    assert_eq!(
        sig(ShiftLeft, T::Int8, T::Int2),
        BinarySig { result: T::Int8, left_cast: None, right_cast: Some(T::Int4) }
    );
    assert_eq!(err(BitOr, T::Float8, T::Int4).0, "42883");
}

#[test]
fn unary_types() {
    assert_eq!(resolve_unary(UnaryOp::Neg, &T::Int2).unwrap(), T::Int2);
    assert_eq!(resolve_unary(UnaryOp::Neg, &T::Interval).unwrap(), T::Interval);
    assert_eq!(resolve_unary(UnaryOp::Not, &T::Unknown).unwrap(), T::Bool);
    assert_eq!(resolve_unary(UnaryOp::Not, &T::Int4).unwrap_err().state.code(), "42804");
    assert_eq!(resolve_unary(UnaryOp::Neg, &T::Text).unwrap_err().state.code(), "42883");
    assert_eq!(resolve_unary(UnaryOp::Neg, &T::Unknown).unwrap_err().state.code(), "42725");
}

#[test]
fn common_types() {
    assert_eq!(common_type(&[T::Int4, T::Unknown, T::Int8], "CASE").unwrap(), T::Int8);
    assert_eq!(common_type(&[T::Int4, T::Numeric(Some((5, 2)))], "CASE").unwrap(), T::Numeric(None));
    assert_eq!(common_type(&[T::Numeric(None), T::Float4], "CASE").unwrap(), T::Float4);
    assert_eq!(common_type(&[T::Unknown, T::Unknown], "CASE").unwrap(), T::Text);
    assert_eq!(common_type(&[T::Varchar(Some(2)), T::Varchar(Some(5))], "CASE").unwrap(), T::Varchar(None));
    assert_eq!(common_type(&[T::Varchar(Some(2)), T::Text], "CASE").unwrap(), T::Text);
    assert_eq!(common_type(&[T::Date, T::Timestamp], "CASE").unwrap(), T::Timestamp);
    let e = common_type(&[T::Int4, T::Bool], "CASE").unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("42804", "CASE types integer and boolean cannot be matched"));
}

#[test]
fn integer_evaluation() {
    use BinaryOp::*;
    assert_eq!(binary(Add, &Value::Int(2), &Value::Int(3), &T::Int4).unwrap(), Value::Int(5));
    let e = binary(Add, &Value::Int(i32::MAX as i64), &Value::Int(1), &T::Int4).unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("22003", "integer out of range"));
    assert_eq!(binary(Mul, &Value::Int(32767), &Value::Int(2), &T::Int2).unwrap_err().message, "smallint out of range");
    assert_eq!(
        binary(Sub, &Value::Int(i64::MIN), &Value::Int(1), &T::Int8).unwrap_err().message,
        "bigint out of range"
    );
    assert_eq!(binary(Div, &Value::Int(-7), &Value::Int(2), &T::Int4).unwrap(), Value::Int(-3));
    assert_eq!(binary(Div, &Value::Int(1), &Value::Int(0), &T::Int4).unwrap_err().state.code(), "22012");
    assert_eq!(binary(Mod, &Value::Int(1), &Value::Int(0), &T::Int4).unwrap_err().state.code(), "22012");
    assert_eq!(binary(Div, &Value::Int(i64::MIN), &Value::Int(-1), &T::Int8).unwrap_err().state.code(), "22003");
    assert_eq!(binary(Add, &Value::Null, &Value::Int(1), &T::Int4).unwrap(), Value::Null);
    assert_eq!(unary(UnaryOp::Neg, &Value::Int(i32::MIN as i64), &T::Int4).unwrap_err().state.code(), "22003");
    assert_eq!(unary(UnaryOp::Neg, &Value::Int(i32::MIN as i64), &T::Int8).unwrap(), Value::Int(2147483648));
    assert_eq!(unary(UnaryOp::Neg, &Value::Null, &T::Int4).unwrap(), Value::Null);
}

#[test]
fn numeric_and_float_evaluation() {
    use BinaryOp::*;
    let n = T::Numeric(None);
    assert_eq!(text(&binary(Div, &num("1"), &num("3"), &n).unwrap()), "0.33333333333333333333");
    assert_eq!(text(&binary(Div, &Value::Int(7), &num("2"), &n).unwrap()), "3.5000000000000000");
    assert_eq!(binary(Div, &num("1"), &num("0"), &n).unwrap_err().state.code(), "22012");
    assert_eq!(text(&binary(Mul, &num("1.5"), &num("2.25"), &n).unwrap()), "3.375");
    assert_eq!(binary(Div, &Value::Float(1.0), &Value::Float(0.0), &T::Float8).unwrap_err().state.code(), "22012");
    assert_eq!(text(&binary(Add, &Value::Float(0.1), &Value::Float(0.2), &T::Float8).unwrap()), "0.30000000000000004");
    assert_eq!(binary(Pow, &Value::Float(2.0), &Value::Float(0.5), &T::Float8).unwrap(), Value::Float(2f64.sqrt()));
    assert_eq!(text(&unary(UnaryOp::Neg, &num("1.50"), &n).unwrap()), "-1.50");
}

#[test]
fn comparisons_and_three_valued_logic() {
    use BinaryOp::*;
    let b = |v: Option<bool>| bool_value(v);
    let vals = [b(Some(true)), b(Some(false)), Value::Null];
    // AND/OR truth tables, row = left, column = right.
    let and = [["t", "f", "NULL"], ["f", "f", "f"], ["NULL", "f", "NULL"]];
    let or = [["t", "t", "t"], ["t", "f", "NULL"], ["t", "NULL", "NULL"]];
    for (i, l) in vals.iter().enumerate() {
        for (j, r) in vals.iter().enumerate() {
            assert_eq!(text(&binary(And, l, r, &T::Bool).unwrap()), and[i][j], "{l:?} AND {r:?}");
            assert_eq!(text(&binary(Or, l, r, &T::Bool).unwrap()), or[i][j], "{l:?} OR {r:?}");
        }
    }
    assert_eq!(unary(UnaryOp::Not, &Value::Null, &T::Bool).unwrap(), Value::Null);
    assert_eq!(unary(UnaryOp::Not, &Value::Bool(true), &T::Bool).unwrap(), Value::Bool(false));
    assert_eq!(binary(Eq, &Value::Int(1), &Value::Null, &T::Bool).unwrap(), Value::Null);
    assert_eq!(binary(Lt, &Value::Int(1), &num("1.5"), &T::Bool).unwrap(), Value::Bool(true));
    assert_eq!(binary(GtEq, &Value::text("b"), &Value::text("a"), &T::Bool).unwrap(), Value::Bool(true));
    assert_eq!(binary(NotEq, &Value::Bool(false), &Value::Bool(true), &T::Bool).unwrap(), Value::Bool(true));
    assert_eq!(binary(IsDistinctFrom, &Value::Null, &Value::Null, &T::Bool).unwrap(), Value::Bool(false));
    assert_eq!(binary(IsDistinctFrom, &Value::Int(1), &Value::Null, &T::Bool).unwrap(), Value::Bool(true));
    assert_eq!(binary(IsNotDistinctFrom, &Value::Null, &Value::Null, &T::Bool).unwrap(), Value::Bool(true));
    assert_eq!(binary(IsNotDistinctFrom, &Value::Int(1), &Value::Float(1.0), &T::Bool).unwrap(), Value::Bool(true));
}

#[test]
fn concat_json_bits_and_dates() {
    use BinaryOp::*;
    assert_eq!(binary(Concat, &Value::text("a"), &Value::Int(1), &T::Text).unwrap(), Value::text("a1"));
    assert_eq!(binary(Concat, &Value::text("a"), &Value::Bool(true), &T::Text).unwrap(), Value::text("atrue"));
    assert_eq!(binary(Concat, &Value::text("a"), &Value::Null, &T::Text).unwrap(), Value::Null);
    let bytes = |b: &[u8]| Value::Bytes(b.into());
    assert_eq!(binary(Concat, &bytes(&[1]), &bytes(&[2]), &T::Bytea).unwrap(), bytes(&[1, 2]));
    let j = cast::cast(&Value::text(r#"{"a": [1, 2]}"#), &T::Jsonb).unwrap();
    let a = binary(JsonGet, &j, &Value::text("a"), &T::Jsonb).unwrap();
    assert_eq!(text(&a), "[1, 2]");
    assert_eq!(binary(JsonGetText, &a, &Value::Int(1), &T::Text).unwrap(), Value::text("2"));
    assert_eq!(binary(BitAnd, &Value::Int(12), &Value::Int(10), &T::Int4).unwrap(), Value::Int(8));
    assert_eq!(binary(BitXor, &Value::Int(12), &Value::Int(10), &T::Int4).unwrap(), Value::Int(6));
    assert_eq!(binary(ShiftLeft, &Value::Int(1), &Value::Int(31), &T::Int4).unwrap(), Value::Int(i32::MIN as i64));
    assert_eq!(binary(ShiftLeft, &Value::Int(1), &Value::Int(33), &T::Int4).unwrap(), Value::Int(2));
    assert_eq!(binary(ShiftLeft, &Value::Int(1), &Value::Int(40), &T::Int8).unwrap(), Value::Int(1 << 40));
    assert_eq!(binary(ShiftRight, &Value::Int(-8), &Value::Int(1), &T::Int4).unwrap(), Value::Int(-4));
    let d = cast::cast(&Value::text("2024-02-28"), &T::Date).unwrap();
    assert_eq!(text(&binary(Add, &d, &Value::Int(2), &T::Date).unwrap()), "2024-03-01");
    let ts = cast::cast(&d, &T::Timestamp).unwrap();
    let iv = cast::cast(&Value::text("1 day 02:00"), &T::Interval).unwrap();
    assert_eq!(text(&binary(Add, &ts, &iv, &T::Timestamp).unwrap()), "2024-02-29 02:00:00");
    assert_eq!(text(&binary(Mul, &iv, &Value::Float(2.0), &T::Interval).unwrap()), "2 days 04:00:00");
    assert_eq!(text(&unary(UnaryOp::Neg, &iv, &T::Interval).unwrap()), "-1 days -02:00:00");
    assert_eq!(binary(Add, &Value::Bool(true), &Value::Int(1), &T::Int4).unwrap_err().state.code(), "42883");
}
