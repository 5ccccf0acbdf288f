//! Date, timestamp and interval arithmetic, as PostgreSQL's `date.c`,
//! `timestamp.c` define it.
//!
//! * `timestamp + interval` adds the months first (clamping the day to the
//!   end of a shorter month: Jan 31 + 1 month is Feb 29 in a leap year),
//!   then the days, then the microseconds (`timestamp_pl_interval`);
//!   subtracting an interval adds its negation.
//! * `timestamp - timestamp` is an interval of days and time, never months
//!   (`timestamp_mi` with `interval_justify_hours`).
//! * `interval * float8` spreads fractional months into 30-day days and
//!   fractional days into 24-hour time (`interval_mul`).
//! * `age` subtracts field by field, borrowing from the month lengths of the
//!   earlier timestamp (`timestamp_age`).
//!
//! Results outside the representable range are 22008: `date out of range`,
//! `timestamp out of range`, `interval out of range`.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, TimeDelta, Timelike};

use super::BinaryOp;
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::{Interval, Value};

const USECS_PER_DAY: i64 = 86_400_000_000;

/// 22008 `timestamp out of range`.
pub(crate) fn timestamp_out_of_range() -> Error {
    sql_err!(DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

/// 22008 `interval out of range`.
pub(crate) fn interval_out_of_range() -> Error {
    sql_err!(DATETIME_FIELD_OVERFLOW, "interval out of range")
}

fn date_out_of_range() -> Error {
    sql_err!(DATETIME_FIELD_OVERFLOW, "date out of range")
}

/// Date/time arithmetic on two non-NULL values (operands already cast by
/// the binder's resolution).
pub(crate) fn arith(op: BinaryOp, left: &Value, right: &Value) -> Result<Option<Value>> {
    use BinaryOp::*;
    use Value as V;
    Ok(Some(match (op, left, right) {
        (Add, V::Date(d), V::Int(n)) | (Add, V::Int(n), V::Date(d)) => V::Date(add_days(d, *n)?),
        (Sub, V::Date(d), V::Int(n)) => V::Date(add_days(d, n.checked_neg().ok_or_else(date_out_of_range)?)?),
        (Sub, V::Date(a), V::Date(b)) => V::Int(a.signed_duration_since(*b).num_days()),
        (Add, V::Timestamp(t), V::Interval(i)) | (Add, V::Interval(i), V::Timestamp(t)) => {
            V::Timestamp(add_interval(t, i)?)
        }
        (Sub, V::Timestamp(t), V::Interval(i)) => V::Timestamp(add_interval(t, &negate(i)?)?),
        (Add, V::TimestampTz(t), V::Interval(i)) | (Add, V::Interval(i), V::TimestampTz(t)) => {
            V::TimestampTz(add_interval(&t.naive_utc(), i)?.and_utc())
        }
        (Sub, V::TimestampTz(t), V::Interval(i)) => {
            V::TimestampTz(add_interval(&t.naive_utc(), &negate(i)?)?.and_utc())
        }
        (Add | Sub, V::Date(d), V::Interval(i)) => {
            let i = if op == Sub { negate(i)? } else { *i };
            V::Timestamp(add_interval(&d.and_time(chrono::NaiveTime::MIN), &i)?)
        }
        (Sub, V::Timestamp(a), V::Timestamp(b)) => V::Interval(difference(a, b)?),
        (Sub, V::TimestampTz(a), V::TimestampTz(b)) => V::Interval(difference(&a.naive_utc(), &b.naive_utc())?),
        (Add, V::Interval(a), V::Interval(b)) => V::Interval(add(a, b)?),
        (Sub, V::Interval(a), V::Interval(b)) => V::Interval(add(a, &negate(b)?)?),
        (Mul, V::Interval(i), n) | (Mul, n, V::Interval(i)) => V::Interval(multiply(i, super::arith::to_f64(n)?)?),
        (Div, V::Interval(i), n) => V::Interval(divide(i, super::arith::to_f64(n)?)?),
        _ => return Ok(None),
    }))
}

/// `date + n` days.
pub(crate) fn add_days(d: &NaiveDate, n: i64) -> Result<NaiveDate> {
    let r =
        if n >= 0 { d.checked_add_days(Days::new(n as u64)) } else { d.checked_sub_days(Days::new(n.unsigned_abs())) };
    r.ok_or_else(date_out_of_range)
}

/// `timestamp + interval`: months, then days, then time.
pub(crate) fn add_interval(t: &NaiveDateTime, i: &Interval) -> Result<NaiveDateTime> {
    let mut r = *t;
    if i.months != 0 {
        let m = Months::new(i.months.unsigned_abs());
        r = if i.months > 0 { r.checked_add_months(m) } else { r.checked_sub_months(m) }
            .ok_or_else(timestamp_out_of_range)?;
    }
    if i.days != 0 {
        let d = Days::new(i.days.unsigned_abs() as u64);
        r = if i.days > 0 { r.checked_add_days(d) } else { r.checked_sub_days(d) }
            .ok_or_else(timestamp_out_of_range)?;
    }
    r.checked_add_signed(TimeDelta::microseconds(i.micros)).ok_or_else(timestamp_out_of_range)
}

/// `timestamp - timestamp`: days and time, with the sign on both.
pub(crate) fn difference(a: &NaiveDateTime, b: &NaiveDateTime) -> Result<Interval> {
    let micros = a.signed_duration_since(*b).num_microseconds().ok_or_else(interval_out_of_range)?;
    let days = micros / USECS_PER_DAY;
    Ok(Interval {
        months: 0,
        days: i32::try_from(days).map_err(|_| interval_out_of_range())?,
        micros: micros % USECS_PER_DAY,
    })
}

/// `-interval`.
pub(crate) fn negate(i: &Interval) -> Result<Interval> {
    Ok(Interval {
        months: i.months.checked_neg().ok_or_else(interval_out_of_range)?,
        days: i.days.checked_neg().ok_or_else(interval_out_of_range)?,
        micros: i.micros.checked_neg().ok_or_else(interval_out_of_range)?,
    })
}

/// `interval + interval`, field by field.
pub(crate) fn add(a: &Interval, b: &Interval) -> Result<Interval> {
    Ok(Interval {
        months: a.months.checked_add(b.months).ok_or_else(interval_out_of_range)?,
        days: a.days.checked_add(b.days).ok_or_else(interval_out_of_range)?,
        micros: a.micros.checked_add(b.micros).ok_or_else(interval_out_of_range)?,
    })
}

/// `interval * factor` (PostgreSQL's `interval_mul`).
pub(crate) fn multiply(i: &Interval, factor: f64) -> Result<Interval> {
    let months_f = i.months as f64 * factor;
    let days_f = i.days as f64 * factor;
    if !months_f.is_finite() || !days_f.is_finite() || months_f.abs() >= 2147483648.0 || days_f.abs() >= 2147483648.0 {
        return Err(interval_out_of_range());
    }
    let months = months_f.trunc();
    let days = days_f.trunc();
    // Fractional months become 30-day days, fractional days become time.
    let month_remainder_days = tsround((months_f - months) * 30.0);
    let mut sec_remainder = tsround((days_f - days + month_remainder_days.fract()) * 86_400.0);
    let mut days = days as i64;
    if sec_remainder.abs() >= 86_400.0 {
        let whole = (sec_remainder / 86_400.0).trunc();
        days += whole as i64;
        sec_remainder -= whole * 86_400.0;
    }
    days += month_remainder_days.trunc() as i64;
    let micros_f = (i.micros as f64 * factor + sec_remainder * 1_000_000.0).round_ties_even();
    if !micros_f.is_finite() || micros_f.abs() >= 9.2e18 {
        return Err(interval_out_of_range());
    }
    Ok(Interval {
        months: months as i32,
        days: i32::try_from(days).map_err(|_| interval_out_of_range())?,
        micros: micros_f as i64,
    })
}

/// Rounds to microsecond precision (PostgreSQL's `TSROUND`).
fn tsround(x: f64) -> f64 {
    (x * 1e6).round_ties_even() / 1e6
}

/// `interval / divisor` (22012 for zero).
pub(crate) fn divide(i: &Interval, divisor: f64) -> Result<Interval> {
    if divisor == 0.0 {
        return Err(super::arith::division_by_zero());
    }
    multiply(i, 1.0 / divisor)
}

/// `age(a, b)`: the symbolic difference in years, months, days and time.
pub(crate) fn age(a: &NaiveDateTime, b: &NaiveDateTime) -> Result<Interval> {
    let (t1, t2) = (a, b);
    let fields = |t: &NaiveDateTime| {
        [
            t.year() as i64,
            t.month() as i64,
            t.day() as i64,
            t.hour() as i64,
            t.minute() as i64,
            t.second() as i64,
            (t.nanosecond() / 1000) as i64,
        ]
    };
    let (f1, f2) = (fields(t1), fields(t2));
    let mut d: Vec<i64> = f1.iter().zip(f2.iter()).map(|(x, y)| x - y).collect();
    let before = t1 < t2;
    if before {
        d.iter_mut().for_each(|x| *x = -*x);
    }
    let [mut year, mut mon, mut mday, mut hour, mut min, mut sec, mut usec] =
        [d[0], d[1], d[2], d[3], d[4], d[5], d[6]];
    while usec < 0 {
        usec += 1_000_000;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        mday -= 1;
    }
    while mday < 0 {
        // Borrow the length of the month of the earlier timestamp.
        let earlier = if before { t1 } else { t2 };
        mday += days_in_month(earlier.year(), earlier.month()) as i64;
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    let sign = if before { -1 } else { 1 };
    let months = sign * (year * 12 + mon);
    let micros = sign * (((hour * 60 + min) * 60 + sec) * 1_000_000 + usec);
    Ok(Interval {
        months: i32::try_from(months).map_err(|_| interval_out_of_range())?,
        days: (sign * mday) as i32,
        micros,
    })
}

/// The number of days in a month.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    match (NaiveDate::from_ymd_opt(year, month, 1), NaiveDate::from_ymd_opt(ny, nm, 1)) {
        (Some(a), Some(b)) => b.signed_duration_since(a).num_days() as u32,
        _ => 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::cast::output;

    fn ts(s: &str) -> NaiveDateTime {
        crate::expr::cast::datetime_input::timestamp(s).unwrap()
    }

    fn iv(s: &str) -> Interval {
        crate::expr::cast::interval_input::interval(s).unwrap()
    }

    #[test]
    fn timestamp_plus_interval_clamps_months() {
        let r = add_interval(&ts("2024-01-31"), &iv("1 month")).unwrap();
        assert_eq!(output::timestamp(&r), "2024-02-29 00:00:00");
        let r = add_interval(&ts("2024-01-31 10:00"), &iv("1 month 1 day 02:00")).unwrap();
        assert_eq!(output::timestamp(&r), "2024-03-01 12:00:00");
        let r = add_interval(&ts("2024-03-31"), &negate(&iv("1 month")).unwrap()).unwrap();
        assert_eq!(output::timestamp(&r), "2024-02-29 00:00:00");
    }

    #[test]
    fn differences() {
        let r = difference(&ts("2024-01-02 03:00"), &ts("2024-01-01")).unwrap();
        assert_eq!(output::interval(&r), "1 day 03:00:00");
        let r = difference(&ts("2024-01-01"), &ts("2024-01-02 03:00")).unwrap();
        assert_eq!(output::interval(&r), "-1 days -03:00:00");
        let r = arith(BinaryOp::Sub, &Value::Date(ts("2024-03-01").date()), &Value::Date(ts("2024-02-01").date()));
        assert_eq!(r.unwrap(), Some(Value::Int(29)));
    }

    #[test]
    fn interval_multiplication_cascades() {
        assert_eq!(output::interval(&multiply(&iv("1 month"), 1.5).unwrap()), "1 mon 15 days");
        assert_eq!(output::interval(&multiply(&iv("1 day"), 1.5).unwrap()), "1 day 12:00:00");
        assert_eq!(output::interval(&multiply(&iv("1 hour"), 2.5).unwrap()), "02:30:00");
        assert_eq!(output::interval(&divide(&iv("3 days"), 2.0).unwrap()), "1 day 12:00:00");
        assert_eq!(divide(&iv("1 day"), 0.0).unwrap_err().state.code(), "22012");
        assert_eq!(multiply(&iv("1000000 years"), 1e6).unwrap_err().state.code(), "22008");
    }

    #[test]
    fn interval_sums_overflow() {
        let max = Interval { months: i32::MAX, days: 0, micros: 0 };
        assert_eq!(add(&max, &iv("1 month")).unwrap_err().message, "interval out of range");
        assert_eq!(negate(&Interval { months: i32::MIN, days: 0, micros: 0 }).unwrap_err().state.code(), "22008");
    }

    #[test]
    fn ages() {
        // PostgreSQL borrows the length of the earlier timestamp's month
        // (January here, 31 days), not the month before the later one.
        let a = age(&ts("2024-03-15"), &ts("2023-01-20")).unwrap();
        assert_eq!(output::interval(&a), "1 year 1 mon 26 days");
        let a = age(&ts("2023-01-20"), &ts("2024-03-15")).unwrap();
        assert_eq!(output::interval(&a), "-1 years -1 mons -26 days");
        let a = age(&ts("2024-01-01 10:00"), &ts("2024-01-01 12:30")).unwrap();
        assert_eq!(output::interval(&a), "-02:30:00");
    }

    #[test]
    fn date_overflow() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(add_days(&d, i64::MAX).unwrap_err().message, "date out of range");
        assert_eq!(add_days(&d, -1).unwrap(), NaiveDate::from_ymd_opt(2023, 12, 31).unwrap());
    }
}
