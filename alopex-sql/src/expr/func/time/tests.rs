//! Tests of the date/time functions.

use super::super::{ScalarFunc as F, call as call_fn};
use crate::expr::cast::{cast, to_text};
use crate::types::{DataType as T, Value};
use chrono::{DateTime, Utc};

fn now() -> DateTime<Utc> {
    crate::expr::cast::datetime_input::timestamptz("2024-05-06 07:08:09.5").unwrap().and_utc()
}

fn v(text: &str, ty: T) -> Value {
    cast(&Value::text(text), &ty).unwrap()
}

fn run(func: F, args: &[Value]) -> String {
    let r = call_fn(func, args, &T::Unknown, now()).unwrap_or_else(|e| panic!("{func:?} {args:?}: {e}"));
    to_text(&r).unwrap_or_else(|| "NULL".into())
}

fn code(func: F, args: &[Value]) -> &'static str {
    call_fn(func, args, &T::Unknown, now()).unwrap_err().state.code()
}

#[test]
fn clock_functions() {
    assert_eq!(run(F::Now, &[]), "2024-05-06 07:08:09.5+00");
    assert_eq!(run(F::CurrentDate, &[]), "2024-05-06");
    assert_eq!(run(F::LocalTimestamp, &[]), "2024-05-06 07:08:09.5");
}

#[test]
fn extract_from_timestamps() {
    let ts = v("2024-02-29 13:14:05.5", T::Timestamp);
    let ex = |f: &str| run(F::Extract, &[Value::text(f), ts.clone()]);
    assert_eq!(ex("year"), "2024");
    assert_eq!(ex("MONTH"), "2");
    assert_eq!(ex("day"), "29");
    assert_eq!(ex("hour"), "13");
    assert_eq!(ex("minute"), "14");
    assert_eq!(ex("second"), "5.500000");
    assert_eq!(ex("milliseconds"), "5500.000");
    assert_eq!(ex("microseconds"), "5500000");
    assert_eq!(ex("quarter"), "1");
    assert_eq!(ex("dow"), "4");
    assert_eq!(ex("isodow"), "4");
    assert_eq!(ex("doy"), "60");
    assert_eq!(ex("week"), "9");
    assert_eq!(ex("decade"), "202");
    assert_eq!(ex("century"), "21");
    assert_eq!(ex("millennium"), "3");
    assert_eq!(ex("epoch"), "1709212445.500000");
    assert_eq!(run(F::DatePart, &[Value::text("second"), ts.clone()]), "5.5");
    assert_eq!(run(F::DatePart, &[Value::text("epoch"), ts.clone()]), "1709212445.5");
    assert_eq!(code(F::Extract, &[Value::text("fortnight"), ts.clone()]), "22023");
    assert_eq!(code(F::Extract, &[Value::text("timezone"), ts]), "0A000");
    let tz = v("2024-02-29 13:14:05+00", T::TimestampTz);
    assert_eq!(run(F::Extract, &[Value::text("timezone"), tz]), "0");
    let bc = v("0001-01-01 BC", T::Timestamp);
    assert_eq!(run(F::Extract, &[Value::text("year"), bc.clone()]), "-1");
    assert_eq!(run(F::Extract, &[Value::text("century"), bc]), "-1");
    let y2000 = v("2000-06-01", T::Timestamp);
    assert_eq!(run(F::Extract, &[Value::text("century"), y2000.clone()]), "20");
    assert_eq!(run(F::Extract, &[Value::text("millennium"), y2000]), "2");
}

#[test]
fn extract_from_dates_and_intervals() {
    let d = v("1970-01-02", T::Date);
    assert_eq!(run(F::Extract, &[Value::text("epoch"), d.clone()]), "86400");
    assert_eq!(run(F::Extract, &[Value::text("julian"), d.clone()]), "2440589");
    assert_eq!(run(F::Extract, &[Value::text("year"), d.clone()]), "1970");
    let e = call_fn(F::Extract, &[Value::text("hour"), d], &T::Unknown, now()).unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("0A000", "unit \"hour\" not supported for type date"));
    let iv = v("1 year 2 months 3 days 04:05:06.5", T::Interval);
    let ex = |f: &str| run(F::Extract, &[Value::text(f), iv.clone()]);
    assert_eq!(ex("year"), "1");
    assert_eq!(ex("month"), "2");
    assert_eq!(ex("day"), "3");
    assert_eq!(ex("hour"), "4");
    assert_eq!(ex("minute"), "5");
    assert_eq!(ex("second"), "6.500000");
    assert_eq!(ex("epoch"), "37015506.500000");
    assert_eq!(code(F::Extract, &[Value::text("dow"), iv]), "0A000");
}

#[test]
fn truncation() {
    let ts = v("2024-05-15 13:14:15.123456", T::Timestamp);
    let tr = |f: &str| run(F::DateTrunc, &[Value::text(f), ts.clone()]);
    assert_eq!(tr("year"), "2024-01-01 00:00:00");
    assert_eq!(tr("quarter"), "2024-04-01 00:00:00");
    assert_eq!(tr("month"), "2024-05-01 00:00:00");
    assert_eq!(tr("week"), "2024-05-13 00:00:00");
    assert_eq!(tr("day"), "2024-05-15 00:00:00");
    assert_eq!(tr("hour"), "2024-05-15 13:00:00");
    assert_eq!(tr("minute"), "2024-05-15 13:14:00");
    assert_eq!(tr("second"), "2024-05-15 13:14:15");
    assert_eq!(tr("milliseconds"), "2024-05-15 13:14:15.123");
    assert_eq!(tr("decade"), "2020-01-01 00:00:00");
    assert_eq!(tr("century"), "2001-01-01 00:00:00");
    assert_eq!(tr("millennium"), "2001-01-01 00:00:00");
    assert_eq!(code(F::DateTrunc, &[Value::text("dow"), ts]), "0A000");
    let tz = v("2024-05-15 13:14:15+00", T::TimestampTz);
    assert_eq!(run(F::DateTrunc, &[Value::text("day"), tz]), "2024-05-15 00:00:00+00");
    let iv = v("1 year 5 months 3 days 04:05:06", T::Interval);
    assert_eq!(run(F::DateTrunc, &[Value::text("hour"), iv.clone()]), "1 year 5 mons 3 days 04:00:00");
    assert_eq!(run(F::DateTrunc, &[Value::text("quarter"), iv.clone()]), "1 year 3 mons");
    assert_eq!(run(F::DateTrunc, &[Value::text("year"), iv]), "1 year");
}

#[test]
fn ages_and_constructors() {
    let a = v("2024-03-15", T::Timestamp);
    let b = v("2023-01-20", T::Timestamp);
    assert_eq!(run(F::Age, &[a, b.clone()]), "1 year 1 mon 26 days");
    assert_eq!(run(F::AgeFromToday, &[b]), "1 year 3 mons 17 days");
    assert_eq!(run(F::MakeDate, &[Value::Int(2024), Value::Int(2), Value::Int(29)]), "2024-02-29");
    assert_eq!(run(F::MakeDate, &[Value::Int(-44), Value::Int(3), Value::Int(15)]), "0044-03-15 BC");
    let e = call_fn(F::MakeDate, &[Value::Int(2023), Value::Int(2), Value::Int(29)], &T::Date, now()).unwrap_err();
    assert_eq!((e.state.code(), e.message.as_str()), ("22008", "date field value out of range: 2023-02-29"));
    assert_eq!(code(F::MakeDate, &[Value::Int(0), Value::Int(1), Value::Int(1)]), "22008");
    let mt = [2024, 1, 2, 3, 4].map(Value::Int);
    let mut args = mt.to_vec();
    args.push(Value::Float(5.25));
    assert_eq!(run(F::MakeTimestamp, &args), "2024-01-02 03:04:05.25");
    args[3] = Value::Int(24);
    assert_eq!(code(F::MakeTimestamp, &args), "22008");
    assert_eq!(
        run(F::MakeInterval, &[Value::Int(1), Value::Int(2), Value::Int(1), Value::Int(3)]),
        "1 year 2 mons 10 days"
    );
    let all = [0, 0, 0, 0, 4, 5].map(Value::Int);
    let mut args = all.to_vec();
    args.push(Value::Float(6.5));
    assert_eq!(run(F::MakeInterval, &args), "04:05:06.5");
    assert_eq!(run(F::MakeInterval, &[]), "00:00:00");
    assert_eq!(run(F::ToTimestamp, &[Value::Float(1.5)]), "1970-01-01 00:00:01.5+00");
    assert_eq!(code(F::ToTimestamp, &[Value::Float(f64::NAN)]), "22008");
    assert_eq!(code(F::ToTimestamp, &[Value::Float(f64::INFINITY)]), "22008");
    assert_eq!(run(F::Age, &[Value::Null, Value::Null]), "NULL");
}
