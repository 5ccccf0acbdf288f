//! Tests of [`cast`](super::cast), [`assign`](super::assign) and the text
//! round trip across types.

use super::*;
use chrono::NaiveDate;

fn num(s: &str) -> Value {
    Value::Numeric(s.parse().unwrap())
}

fn text(v: &Value) -> String {
    to_text(v).unwrap()
}

fn code(r: Result<Value>) -> &'static str {
    r.unwrap_err().state.code()
}

#[test]
fn text_to_everything_and_back() {
    let cases: &[(&str, DataType, &str)] = &[
        ("t", DataType::Bool, "t"),
        ("yes", DataType::Bool, "t"),
        (" 42 ", DataType::Int4, "42"),
        ("-32768", DataType::Int2, "-32768"),
        ("1.50", DataType::Numeric(None), "1.50"),
        ("1.005", DataType::Numeric(Some((5, 2))), "1.01"),
        ("1e20", DataType::Float8, "1e+20"),
        ("0.1", DataType::Float4, "0.1"),
        ("-Infinity", DataType::Float8, "-Infinity"),
        ("2024-01-02", DataType::Date, "2024-01-02"),
        ("2024-01-02T03:04:05.5", DataType::Timestamp, "2024-01-02 03:04:05.5"),
        ("2024-01-02 03:04:05+01", DataType::TimestampTz, "2024-01-02 02:04:05+00"),
        ("1 year 2 months 3 days 04:05:06", DataType::Interval, "1 year 2 mons 3 days 04:05:06"),
        ("\\x0A0b", DataType::Bytea, "\\x0a0b"),
        (r#"{"b":[1,2],"a":1}"#, DataType::Jsonb, r#"{"a": 1, "b": [1, 2]}"#),
        ("abc", DataType::Text, "abc"),
    ];
    for (input, ty, want) in cases {
        let v = cast(&Value::text(input), ty).unwrap_or_else(|e| panic!("{input} as {ty}: {e}"));
        assert_eq!(text(&v), *want, "{input} as {ty}");
        let back = cast(&v, &DataType::Text).unwrap();
        if *ty != DataType::Bool {
            assert_eq!(back, Value::text(want), "{input} as {ty} back to text");
        }
    }
}

#[test]
fn text_input_errors_have_postgres_codes() {
    assert_eq!(code(cast(&Value::text("1e3"), &DataType::Int4)), "22P02");
    assert_eq!(code(cast(&Value::text("abc"), &DataType::Numeric(None))), "22P02");
    assert_eq!(code(cast(&Value::text("99999"), &DataType::Int2)), "22003");
    assert_eq!(code(cast(&Value::text("nope"), &DataType::Date)), "22007");
    assert_eq!(code(cast(&Value::text("2024-02-30"), &DataType::Date)), "22008");
    assert_eq!(code(cast(&Value::text("{"), &DataType::Jsonb)), "22P02");
    assert_eq!(code(cast(&Value::text("maybe"), &DataType::Bool)), "22P02");
}

#[test]
fn booleans_cast_to_text_as_words_but_print_as_letters() {
    assert_eq!(cast(&Value::Bool(true), &DataType::Text).unwrap(), Value::text("true"));
    assert_eq!(cast(&Value::Bool(false), &DataType::Varchar(None)).unwrap(), Value::text("false"));
    assert_eq!(text(&Value::Bool(true)), "t");
    assert_eq!(assign(&Value::Bool(true), &DataType::Text).unwrap(), Value::text("true"));
}

#[test]
fn numeric_conversions() {
    assert_eq!(cast(&num("2.5"), &DataType::Int4).unwrap(), Value::Int(3));
    assert_eq!(cast(&num("-2.5"), &DataType::Int4).unwrap(), Value::Int(-3));
    assert_eq!(cast(&Value::Float(2.5), &DataType::Int4).unwrap(), Value::Int(2));
    assert_eq!(cast(&Value::Float(-3.5), &DataType::Int8).unwrap(), Value::Int(-4));
    assert_eq!(code(cast(&Value::Int(40000), &DataType::Int2)), "22003");
    assert_eq!(cast(&Value::Int(40000), &DataType::Int2).unwrap_err().message, "smallint out of range");
    assert_eq!(code(cast(&Value::Float(f64::NAN), &DataType::Int4)), "22003");
    assert_eq!(text(&cast(&Value::Int(7), &DataType::Numeric(Some((5, 2)))).unwrap()), "7.00");
    assert_eq!(code(cast(&Value::Int(1000), &DataType::Numeric(Some((5, 2))))), "22003");
    assert_eq!(text(&cast(&Value::Float(0.1), &DataType::Numeric(None)).unwrap()), "0.1");
    assert_eq!(cast(&num("0.1"), &DataType::Float8).unwrap(), Value::Float(0.1));
    assert_eq!(text(&cast(&Value::Float(0.1), &DataType::Float4).unwrap()), "0.1");
    assert_eq!(code(cast(&Value::Float(1e300), &DataType::Float4)), "22003");
    assert_eq!(cast(&Value::Int(3), &DataType::Float8).unwrap(), Value::Float(3.0));
}

#[test]
fn booleans_and_integers() {
    assert_eq!(cast(&Value::Int(5), &DataType::Bool).unwrap(), Value::Bool(true));
    assert_eq!(cast(&Value::Int(0), &DataType::Bool).unwrap(), Value::Bool(false));
    assert_eq!(cast(&Value::Bool(true), &DataType::Int4).unwrap(), Value::Int(1));
    assert_eq!(code(cast(&Value::Bool(true), &DataType::Date)), "42846");
    assert_eq!(code(cast(&Value::Int(1), &DataType::Date)), "42846");
    assert_eq!(cast(&Value::Int(1), &DataType::Date).unwrap_err().message, "cannot cast type integer to date");
}

#[test]
fn varchar_explicit_truncates_assignment_errors() {
    let v = Value::text("abcdef");
    assert_eq!(cast(&v, &DataType::Varchar(Some(3))).unwrap(), Value::text("abc"));
    assert_eq!(code(assign(&v, &DataType::Varchar(Some(3)))), "22001");
    assert_eq!(assign(&Value::text("abc   "), &DataType::Varchar(Some(3))).unwrap(), Value::text("abc"));
    assert_eq!(code(from_text("abcd", &DataType::Varchar(Some(3)))), "22001");
    assert_eq!(assign(&Value::Int(12345), &DataType::Varchar(Some(5))).unwrap(), Value::text("12345"));
    assert_eq!(code(assign(&Value::Int(123456), &DataType::Varchar(Some(5)))), "22001");
}

#[test]
fn datetime_conversions() {
    let d = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
    let ts = d.and_hms_opt(3, 4, 5).unwrap();
    assert_eq!(text(&cast(&Value::Date(d), &DataType::Timestamp).unwrap()), "2024-01-02 00:00:00");
    assert_eq!(text(&cast(&Value::Date(d), &DataType::TimestampTz).unwrap()), "2024-01-02 00:00:00+00");
    assert_eq!(cast(&Value::Timestamp(ts), &DataType::Date).unwrap(), Value::Date(d));
    assert_eq!(text(&cast(&Value::Timestamp(ts), &DataType::TimestampTz).unwrap()), "2024-01-02 03:04:05+00");
    assert_eq!(cast(&Value::TimestampTz(ts.and_utc()), &DataType::Timestamp).unwrap(), Value::Timestamp(ts));
    assert_eq!(assign(&Value::Timestamp(ts), &DataType::Date).unwrap(), Value::Date(d));
}

#[test]
fn jsonb_scalars() {
    let j = |s: &str| cast(&Value::text(s), &DataType::Jsonb).unwrap();
    assert_eq!(cast(&j("12"), &DataType::Int4).unwrap(), Value::Int(12));
    assert_eq!(cast(&j("1.5"), &DataType::Int4).unwrap(), Value::Int(2));
    assert_eq!(text(&cast(&j("1.5"), &DataType::Numeric(None)).unwrap()), "1.5");
    assert_eq!(cast(&j("true"), &DataType::Bool).unwrap(), Value::Bool(true));
    let e = cast(&j("\"x\""), &DataType::Int4).unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("22023", "cannot cast jsonb string to type integer"));
    assert_eq!(cast(&j("[1, 2]"), &DataType::Text).unwrap(), Value::text("[1, 2]"));
}

#[test]
fn assignment_rules() {
    assert_eq!(assign(&Value::Int(5), &DataType::Int2).unwrap(), Value::Int(5));
    assert_eq!(code(assign(&Value::Int(1 << 40), &DataType::Int4)), "22003");
    assert_eq!(assign(&num("2.5"), &DataType::Int4).unwrap(), Value::Int(3));
    assert_eq!(assign(&Value::Float(2.5), &DataType::Int4).unwrap(), Value::Int(2));
    assert_eq!(text(&assign(&num("1.234"), &DataType::Numeric(Some((4, 2)))).unwrap()), "1.23");
    assert_eq!(code(assign(&num("123.4"), &DataType::Numeric(Some((4, 2))))), "22003");
    assert_eq!(assign(&Value::text("17"), &DataType::Int4).unwrap(), Value::Int(17));
    assert_eq!(code(assign(&Value::text("x"), &DataType::Int4)), "22P02");
    assert_eq!(code(assign(&Value::Bool(true), &DataType::Int4)), "42804");
    assert_eq!(code(assign(&Value::Int(1), &DataType::Bool)), "42804");
    assert_eq!(assign(&Value::Null, &DataType::Int4).unwrap(), Value::Null);
    assert_eq!(assign(&Value::Float(0.1), &DataType::Float4).unwrap(), Value::Float(0.1f32 as f64));
}

#[test]
fn output_formats() {
    assert_eq!(to_text(&Value::Null), None);
    assert_eq!(text(&Value::Float(0.1f32 as f64)), "0.1");
    assert_eq!(to_text_as(&Value::Float(0.1f32 as f64), &DataType::Float8).unwrap(), "0.10000000149011612");
    assert_eq!(text(&Value::Float(0.1)), "0.1");
    assert_eq!(text(&Value::Float(1.0 / 3.0)), "0.3333333333333333");
    assert_eq!(text(&num("1.50")), "1.50");
    assert_eq!(text(&Value::Int(-7)), "-7");
}

#[test]
fn cast_table() {
    use CastContext::*;
    assert!(can_cast(&DataType::Int4, &DataType::Int8, Implicit));
    assert!(!can_cast(&DataType::Int8, &DataType::Int4, Implicit));
    assert!(can_cast(&DataType::Int8, &DataType::Int4, Assignment));
    assert!(can_cast(&DataType::Float8, &DataType::Numeric(None), Assignment));
    assert!(!can_cast(&DataType::Float8, &DataType::Numeric(None), Implicit));
    assert!(can_cast(&DataType::Int4, &DataType::Text, Assignment));
    assert!(!can_cast(&DataType::Text, &DataType::Int4, Assignment));
    assert!(can_cast(&DataType::Text, &DataType::Int4, Explicit));
    assert!(can_cast(&DataType::Date, &DataType::TimestampTz, Implicit));
    assert!(can_cast(&DataType::Int4, &DataType::Bool, Explicit));
    assert!(!can_cast(&DataType::Int8, &DataType::Bool, Explicit));
    assert!(!can_cast(&DataType::Int4, &DataType::Date, Explicit));
    assert!(can_cast(&DataType::Unknown, &DataType::Date, Implicit));
    assert!(can_cast(&DataType::Varchar(Some(3)), &DataType::Varchar(Some(5)), Implicit));
}

#[test]
fn a_json_array_parameter_reads_as_a_vector() {
    let json = |s: &str| Value::Json(std::sync::Arc::new(serde_json::from_str(s).unwrap()));
    assert_eq!(
        cast(&json("[1, 2.5, -3]"), &DataType::Vector(Some(3))).unwrap(),
        cast(&Value::text("[1,2.5,-3]"), &DataType::Vector(Some(3))).unwrap()
    );
    assert_eq!(cast(&json("[1, 2]"), &DataType::Vector(Some(3))).unwrap_err().message, "expected 3 dimensions, not 2");
    assert_eq!(cast(&json("[1, \"a\"]"), &DataType::Vector(Some(2))).unwrap_err().state.code(), "22P02");
    assert_eq!(cast(&json("{\"a\": 1}"), &DataType::Vector(Some(1))).unwrap_err().state.code(), "42846");
}
