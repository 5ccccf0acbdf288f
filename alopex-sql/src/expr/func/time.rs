//! Date and time functions.
//!
//! `extract` returns NUMERIC and `date_part` DOUBLE PRECISION, as in
//! PostgreSQL 14+: seconds carry 6 fraction digits (`5.500000`),
//! milliseconds 3, `epoch` of a timestamp 6, everything else is integral.
//! Field names accept PostgreSQL's plurals and abbreviations (`years`,
//! `mon`, `hr`, …). Years are PostgreSQL's: there is no year 0, so
//! astronomical year 0 is reported as -1 (1 BC), and decades, centuries and
//! millennia follow `timestamp.c`'s formulas (the 21st century starts in
//! 2001). A field that exists but does not apply to the type (the hour of a
//! date, the day of week of an interval) is 0A000; an unknown field 22023.
//!
//! The session time zone is UTC, so TIMESTAMPTZ behaves like TIMESTAMP here
//! and its `timezone` field is 0.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use rust_decimal::Decimal;

use super::math::int_arg;
use super::{ScalarFunc, arg};
use crate::error::{Error, Result};
use crate::expr::ops::{arith, datetime};
use crate::sql_err;
use crate::types::{Interval, Value};

/// Calls a date/time function (NULLs already handled).
pub(super) fn call(func: ScalarFunc, args: &[Value], now: DateTime<Utc>) -> Result<Value> {
    use ScalarFunc::*;
    Ok(match func {
        Now => Value::TimestampTz(now),
        CurrentDate => Value::Date(now.date_naive()),
        LocalTimestamp => Value::Timestamp(now.naive_utc()),
        DateTrunc => {
            let unit = field(args)?;
            match arg(args, 1)? {
                Value::Timestamp(t) => Value::Timestamp(trunc_timestamp(&unit, t, "timestamp without time zone")?),
                Value::TimestampTz(t) => {
                    Value::TimestampTz(trunc_timestamp(&unit, &t.naive_utc(), "timestamp with time zone")?.and_utc())
                }
                Value::Interval(i) => Value::Interval(trunc_interval(&unit, i)?),
                other => return Err(bad_arg(other)),
            }
        }
        Extract | DatePart => {
            let unit = field(args)?;
            let d = match arg(args, 1)? {
                Value::Date(d) => extract_date(&unit, d)?,
                Value::Timestamp(t) => extract_timestamp(&unit, t, false)?,
                Value::TimestampTz(t) => extract_timestamp(&unit, &t.naive_utc(), true)?,
                Value::Interval(i) => extract_interval(&unit, i)?,
                other => return Err(bad_arg(other)),
            };
            if func == Extract {
                Value::Numeric(d)
            } else {
                Value::Float(crate::expr::cast::numeric::decimal_to_f64(&d))
            }
        }
        Age => match (arg(args, 0)?, arg(args, 1)?) {
            (Value::Timestamp(a), Value::Timestamp(b)) => Value::Interval(datetime::age(a, b)?),
            (Value::TimestampTz(a), Value::TimestampTz(b)) => {
                Value::Interval(datetime::age(&a.naive_utc(), &b.naive_utc())?)
            }
            (other, _) => return Err(bad_arg(other)),
        },
        AgeFromToday => {
            let today = now.date_naive().and_time(NaiveTime::MIN);
            match arg(args, 0)? {
                Value::Timestamp(t) => Value::Interval(datetime::age(&today, t)?),
                Value::TimestampTz(t) => Value::Interval(datetime::age(&today, &t.naive_utc())?),
                other => return Err(bad_arg(other)),
            }
        }
        MakeDate => Value::Date(make_date(int_arg(args, 0)?, int_arg(args, 1)?, int_arg(args, 2)?)?),
        MakeTimestamp => {
            let date = make_date(int_arg(args, 0)?, int_arg(args, 1)?, int_arg(args, 2)?)?;
            let (h, mi) = (int_arg(args, 3)?, int_arg(args, 4)?);
            let sec = arith::to_f64(arg(args, 5)?)?;
            if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0.0..=60.0).contains(&sec) {
                return Err(sql_err!(DATETIME_FIELD_OVERFLOW, "time field value out of range: {h}:{mi:02}:{sec}"));
            }
            let micros = (h * 3600 + mi * 60) * 1_000_000 + (sec * 1e6).round_ties_even() as i64;
            Value::Timestamp(
                date.and_time(NaiveTime::MIN)
                    .checked_add_signed(TimeDelta::microseconds(micros))
                    .ok_or_else(datetime::timestamp_out_of_range)?,
            )
        }
        MakeInterval => Value::Interval(make_interval(args)?),
        ToTimestamp => {
            let secs = arith::to_f64(arg(args, 0)?)?;
            if secs.is_nan() {
                return Err(sql_err!(DATETIME_FIELD_OVERFLOW, "timestamp cannot be NaN"));
            }
            let micros = (secs * 1e6).round_ties_even();
            if !micros.is_finite() || micros.abs() > 9.2e18 {
                return Err(datetime::timestamp_out_of_range());
            }
            Value::TimestampTz(
                DateTime::from_timestamp_micros(micros as i64).ok_or_else(datetime::timestamp_out_of_range)?,
            )
        }
        other => return Err(Error::internal(format!("{} is not a date/time function", other.name()))),
    })
}

fn bad_arg(v: &Value) -> Error {
    Error::internal(format!("unexpected date/time argument {v:?}"))
}

/// A field name, lower-cased.
fn field(args: &[Value]) -> Result<String> {
    match arg(args, 0)? {
        Value::Text(s) => Ok(s.trim().to_ascii_lowercase()),
        other => Err(bad_arg(other)),
    }
}

/// The fields `extract`, `date_part` and `date_trunc` know.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Dow,
    IsoDow,
    Doy,
    Epoch,
    IsoYear,
    Julian,
    Timezone,
    TimezoneHour,
    TimezoneMinute,
}

fn unit(name: &str, type_name: &str) -> Result<Unit> {
    use Unit::*;
    Ok(match name {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => Microseconds,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => Milliseconds,
        "second" | "seconds" | "s" | "sec" | "secs" => Second,
        "minute" | "minutes" | "m" | "min" | "mins" => Minute,
        "hour" | "hours" | "h" | "hr" | "hrs" => Hour,
        "day" | "days" | "d" => Day,
        "week" | "weeks" | "w" => Week,
        "month" | "months" | "mon" | "mons" => Month,
        "quarter" | "qtr" => Quarter,
        "year" | "years" | "y" | "yr" | "yrs" => Year,
        "decade" | "decades" | "dec" | "decs" => Decade,
        "century" | "centuries" | "c" | "cent" => Century,
        "millennium" | "millennia" | "mil" | "mils" => Millennium,
        "dow" => Dow,
        "isodow" => IsoDow,
        "doy" => Doy,
        "epoch" => Epoch,
        "isoyear" => IsoYear,
        "julian" | "j" | "jd" => Julian,
        "timezone" => Timezone,
        "timezone_hour" | "timezone_h" => TimezoneHour,
        "timezone_minute" | "timezone_m" => TimezoneMinute,
        _ => return Err(sql_err!(INVALID_PARAMETER_VALUE, "unit \"{name}\" not recognized for type {type_name}")),
    })
}

fn unsupported(name: &str, type_name: &str) -> Error {
    sql_err!(FEATURE_NOT_SUPPORTED, "unit \"{name}\" not supported for type {type_name}")
}

/// PostgreSQL's year (no year 0) from an astronomical one.
fn sql_year(y: i64) -> i64 {
    if y > 0 { y } else { y - 1 }
}

fn decade(y: i64) -> i64 {
    if y >= 0 { y / 10 } else { -((8 - (y - 1)) / 10) }
}

fn century(y: i64) -> i64 {
    if y > 0 { (y + 99) / 100 } else { -((99 - (y - 1)) / 100) }
}

fn millennium(y: i64) -> i64 {
    if y > 0 { (y + 999) / 1000 } else { -((999 - (y - 1)) / 1000) }
}

/// The Julian day number of a date.
fn julian_day(d: &NaiveDate) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    d.signed_duration_since(epoch).num_days() + 2_440_588
}

/// The date-only fields, shared by dates and timestamps.
fn date_field(u: Unit, d: &NaiveDate) -> Option<i64> {
    use Unit::*;
    let y = d.year() as i64;
    Some(match u {
        Day => d.day() as i64,
        Month => d.month() as i64,
        Quarter => (d.month() as i64 - 1) / 3 + 1,
        Week => d.iso_week().week() as i64,
        Year => sql_year(y),
        Decade => decade(y),
        Century => century(y),
        Millennium => millennium(y),
        Dow => d.weekday().num_days_from_sunday() as i64,
        IsoDow => d.weekday().number_from_monday() as i64,
        Doy => d.ordinal() as i64,
        IsoYear => sql_year(d.iso_week().year() as i64),
        Julian => julian_day(d),
        _ => return None,
    })
}

/// `extract(field FROM date)`.
fn extract_date(name: &str, d: &NaiveDate) -> Result<Decimal> {
    let u = unit(name, "date")?;
    if u == Unit::Epoch {
        return Ok(Decimal::from(date_epoch_days(d) * 86_400));
    }
    date_field(u, d).map(Decimal::from).ok_or_else(|| unsupported(name, "date"))
}

fn date_epoch_days(d: &NaiveDate) -> i64 {
    julian_day(d) - 2_440_588
}

/// `extract(field FROM timestamp[tz])`.
fn extract_timestamp(name: &str, t: &NaiveDateTime, tz: bool) -> Result<Decimal> {
    use Unit::*;
    let type_name = if tz { "timestamp with time zone" } else { "timestamp without time zone" };
    let u = unit(name, type_name)?;
    let sec_micros = t.second() as i64 * 1_000_000 + (t.nanosecond() / 1000) as i64;
    Ok(match u {
        Microseconds => Decimal::from(sec_micros),
        Milliseconds => Decimal::new(sec_micros, 3),
        Second => Decimal::new(sec_micros, 6),
        Minute => Decimal::from(t.minute()),
        Hour => Decimal::from(t.hour()),
        Epoch => Decimal::new(t.and_utc().timestamp_micros(), 6),
        Julian => {
            let day_micros = t.num_seconds_from_midnight() as i64 * 1_000_000 + (t.nanosecond() / 1000) as i64;
            let frac = arith::decimal_div(&Decimal::from(day_micros), &Decimal::from(86_400_000_000i64))?;
            Decimal::from(julian_day(&t.date())).checked_add(frac).unwrap_or_default()
        }
        Timezone | TimezoneHour | TimezoneMinute if tz => Decimal::ZERO,
        Timezone | TimezoneHour | TimezoneMinute => return Err(unsupported(name, type_name)),
        other => Decimal::from(date_field(other, &t.date()).ok_or_else(|| unsupported(name, type_name))?),
    })
}

/// `extract(field FROM interval)`.
fn extract_interval(name: &str, i: &Interval) -> Result<Decimal> {
    use Unit::*;
    let u = unit(name, "interval")?;
    let years = (i.months / 12) as i64;
    let sec_micros = i.micros % 60_000_000;
    Ok(match u {
        Microseconds => Decimal::from(sec_micros),
        Milliseconds => Decimal::new(sec_micros, 3),
        Second => Decimal::new(sec_micros, 6),
        Minute => Decimal::from((i.micros / 60_000_000) % 60),
        Hour => Decimal::from(i.micros / 3_600_000_000),
        Day => Decimal::from(i.days),
        Month => Decimal::from(i.months % 12),
        Quarter => Decimal::from((i.months % 12) / 3 + 1),
        Year => Decimal::from(years),
        Decade => Decimal::from(years / 10),
        Century => Decimal::from(years / 100),
        Millennium => Decimal::from(years / 1000),
        Epoch => {
            let secs = 31_557_600i128 * (i.months / 12) as i128
                + 2_592_000i128 * (i.months % 12) as i128
                + 86_400i128 * i.days as i128;
            Decimal::try_from_i128_with_scale(secs * 1_000_000 + i.micros as i128, 6)
                .map_err(|_| datetime::interval_out_of_range())?
        }
        _ => return Err(unsupported(name, "interval")),
    })
}

/// `date_trunc(field, timestamp)`.
fn trunc_timestamp(name: &str, t: &NaiveDateTime, type_name: &str) -> Result<NaiveDateTime> {
    use Unit::*;
    let u = unit(name, type_name)?;
    let date = t.date();
    let at = |y: i64, m: u32| {
        i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, m, 1))
            .map(|d| d.and_time(NaiveTime::MIN))
            .ok_or_else(datetime::timestamp_out_of_range)
    };
    let y = t.year() as i64;
    let micros = (t.nanosecond() / 1000) as i64;
    let time = |h: u32, m: u32, s: u32, us: i64| {
        let base = date.and_hms_opt(h, m, s).unwrap_or(date.and_time(NaiveTime::MIN));
        base.checked_add_signed(TimeDelta::microseconds(us)).unwrap_or(base)
    };
    Ok(match u {
        Microseconds => *t,
        Milliseconds => time(t.hour(), t.minute(), t.second(), micros / 1000 * 1000),
        Second => time(t.hour(), t.minute(), t.second(), 0),
        Minute => time(t.hour(), t.minute(), 0, 0),
        Hour => time(t.hour(), 0, 0, 0),
        Day => date.and_time(NaiveTime::MIN),
        Week => {
            let back = date.weekday().num_days_from_monday() as i64;
            datetime::add_days(&date, -back)?.and_time(NaiveTime::MIN)
        }
        Month => at(y, t.month())?,
        Quarter => at(y, (t.month() - 1) / 3 * 3 + 1)?,
        Year => at(y, 1)?,
        Decade => at(if y > 0 { y / 10 * 10 } else { -((8 - (y - 1)) / 10) * 10 }, 1)?,
        Century => at(if y > 0 { (y + 99) / 100 * 100 - 99 } else { -((99 - (y - 1)) / 100) * 100 + 1 }, 1)?,
        Millennium => at(if y > 0 { (y + 999) / 1000 * 1000 - 999 } else { -((999 - (y - 1)) / 1000) * 1000 + 1 }, 1)?,
        _ => return Err(unsupported(name, type_name)),
    })
}

/// `date_trunc(field, interval)`.
fn trunc_interval(name: &str, i: &Interval) -> Result<Interval> {
    use Unit::*;
    let u = unit(name, "interval")?;
    let keep_time =
        |unit_micros: i64| Interval { months: i.months, days: i.days, micros: i.micros / unit_micros * unit_micros };
    let months = |m: i32| Interval { months: m, days: 0, micros: 0 };
    let years = i.months / 12;
    Ok(match u {
        Microseconds => *i,
        Milliseconds => keep_time(1000),
        Second => keep_time(1_000_000),
        Minute => keep_time(60_000_000),
        Hour => keep_time(3_600_000_000),
        Day => Interval { months: i.months, days: i.days, micros: 0 },
        Month => months(i.months),
        Quarter => months(years * 12 + (i.months % 12) / 3 * 3),
        Year => months(years * 12),
        Decade => months(years / 10 * 120),
        Century => months(years / 100 * 1200),
        Millennium => months(years / 1000 * 12000),
        _ => return Err(unsupported(name, "interval")),
    })
}

/// `make_date`: negative years are BC; year 0 does not exist.
fn make_date(y: i64, m: i64, d: i64) -> Result<NaiveDate> {
    let err = || sql_err!(DATETIME_FIELD_OVERFLOW, "date field value out of range: {y}-{m:02}-{d:02}");
    if y == 0 {
        return Err(err());
    }
    let astronomical = if y < 0 { y + 1 } else { y };
    i32::try_from(astronomical)
        .ok()
        .zip(u32::try_from(m).ok())
        .zip(u32::try_from(d).ok())
        .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(err)
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`, missing
/// trailing arguments being 0.
fn make_interval(args: &[Value]) -> Result<Interval> {
    let int = |i: usize| if i < args.len() && i < 6 { int_arg(args, i) } else { Ok(0) };
    let (years, months, weeks, days, hours, mins) = (int(0)?, int(1)?, int(2)?, int(3)?, int(4)?, int(5)?);
    let secs = if args.len() > 6 { arith::to_f64(arg(args, 6)?)? } else { 0.0 };
    let overflow = datetime::interval_out_of_range;
    let months = i32::try_from(years as i128 * 12 + months as i128).map_err(|_| overflow())?;
    let days = i32::try_from(weeks as i128 * 7 + days as i128).map_err(|_| overflow())?;
    let micros_f = (hours as f64 * 3600.0 + mins as f64 * 60.0 + secs) * 1e6;
    if !micros_f.is_finite() || micros_f.abs() > 9.2e18 {
        return Err(overflow());
    }
    Ok(Interval { months, days, micros: micros_f.round_ties_even() as i64 })
}

#[cfg(test)]
mod tests;
