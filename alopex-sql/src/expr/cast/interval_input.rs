//! Text input for INTERVAL.
//!
//! PostgreSQL reads intervals field by field (`DecodeInterval`). The forms
//! handled here are the ones PostgreSQL documents as common:
//!
//! * the verbose form `[@] 1 year 2 months 3 days 4 hours [ago]`, units
//!   abbreviated or not (`1 yr 2 mons 3 d 4 h 5 min 6 s`, `1day`), signed and
//!   fractional quantities (`-1.5 days`);
//! * clock times `[-]HH:MM[:SS[.fraction]]`, hours unbounded;
//! * the SQL-standard forms `1-2` (years-months) and `3 4:05:06` (a bare
//!   number before a clock time is days); a bare number alone is seconds;
//! * ISO 8601 durations `P1Y2M3DT4H5M6.5S` and `P2W`.
//!
//! Fractions cascade exactly as PostgreSQL cascades them: a fraction of a
//! year becomes whole months (rounded), of a month 30-day days and then
//! time, of a day 24-hour time, all rounded to the microsecond.
//!
//! ## Errors
//!
//! Unreadable text is 22007 `invalid input syntax for type interval: "…"`;
//! a month or day count that does not fit in 32 bits is 22008
//! `interval field value out of range: "…"`.

use crate::error::Result;
use crate::sql_err;
use crate::types::Interval;

/// The three fields being accumulated, wide enough to detect overflow.
#[derive(Default)]
struct Acc {
    months: i128,
    days: i128,
    micros: i128,
}

impl Acc {
    /// Adds `value` of a unit, cascading the fraction downwards.
    fn add(&mut self, value: f64, unit: Unit) {
        let whole = value.trunc();
        let frac = value - whole;
        let w = whole as i128;
        match unit {
            Unit::Years(n) => {
                self.months += w * 12 * n as i128 + (frac * 12.0 * n as f64).round_ties_even() as i128;
            }
            Unit::Months => {
                self.months += w;
                self.fract_days(frac * 30.0);
            }
            Unit::Weeks => {
                self.days += w * 7;
                self.fract_days(frac * 7.0);
            }
            Unit::Days => {
                self.days += w;
                self.fract_seconds(frac * 86_400.0);
            }
            Unit::Micros(per) => {
                // Seconds and smaller go straight to microseconds.
                self.micros += (value * per as f64).round_ties_even() as i128;
            }
            Unit::Seconds(per) => {
                self.micros += w * per as i128 * 1_000_000;
                self.fract_seconds(frac * per as f64);
            }
        }
    }

    /// PostgreSQL's `AdjustFractDays`: whole days, the rest as time.
    fn fract_days(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole as i128;
        self.fract_seconds((days - whole) * 86_400.0);
    }

    /// PostgreSQL's `AdjustFractSeconds`.
    fn fract_seconds(&mut self, secs: f64) {
        self.micros += (secs * 1_000_000.0).round_ties_even() as i128;
    }
}

#[derive(Clone, Copy)]
enum Unit {
    /// Years times n (decades, centuries, millennia).
    Years(u32),
    Months,
    Weeks,
    Days,
    /// Hours, minutes, seconds: this many seconds per unit.
    Seconds(u32),
    /// Milliseconds, microseconds: this many microseconds per unit.
    Micros(u32),
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "usecond" | "useconds" => Unit::Micros(1),
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds" => Unit::Micros(1000),
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Seconds(1),
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Seconds(60),
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Seconds(3600),
        "day" | "days" | "d" => Unit::Days,
        "week" | "weeks" | "w" => Unit::Weeks,
        "month" | "months" | "mon" | "mons" => Unit::Months,
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Years(1),
        "decade" | "decades" | "dec" | "decs" => Unit::Years(10),
        "century" | "centuries" | "c" | "cent" => Unit::Years(100),
        "millennium" | "millennia" | "mil" | "mils" => Unit::Years(1000),
        _ => return None,
    })
}

/// One piece of the input.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Number(&'a str),
    Word(&'a str),
    /// `[-]H:M[:S[.f]]`.
    Clock(&'a str),
    /// `[-]Y-M`.
    YearMonth(&'a str),
}

/// Splits on whitespace and at digit/letter boundaries (`1day`).
fn tokens(s: &str) -> Option<Vec<Token<'_>>> {
    let mut out = Vec::new();
    for chunk in s.split_whitespace() {
        let mut rest = chunk;
        while !rest.is_empty() {
            let first = rest.as_bytes()[0];
            if first.is_ascii_alphabetic() {
                let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
                out.push(Token::Word(&rest[..end]));
                rest = &rest[end..];
                continue;
            }
            let end = rest.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(rest.len());
            let piece = &rest[..end];
            let body = piece.strip_prefix(['+', '-']).unwrap_or(piece);
            let ok_chars = |extra: &[u8]| body.bytes().all(|b| b.is_ascii_digit() || extra.contains(&b));
            if body.is_empty() || !body.as_bytes()[0].is_ascii_digit() && body.as_bytes()[0] != b'.' {
                return None;
            }
            if body.contains(':') && ok_chars(b":.") {
                out.push(Token::Clock(piece));
            } else if body.contains('-') && ok_chars(b"-") {
                out.push(Token::YearMonth(piece));
            } else if ok_chars(b".") && body.bytes().filter(|b| *b == b'.').count() <= 1 {
                out.push(Token::Number(piece));
            } else {
                return None;
            }
            rest = &rest[end..];
        }
    }
    Some(out)
}

/// `interval_in`.
pub(crate) fn interval(text: &str) -> Result<Interval> {
    let syntax = || sql_err!(INVALID_DATETIME_FORMAT, "invalid input syntax for type interval: \"{text}\"");
    let range = || sql_err!(DATETIME_FIELD_OVERFLOW, "interval field value out of range: \"{text}\"");
    let lower = text.trim().to_ascii_lowercase();
    let s = lower.strip_prefix('@').unwrap_or(&lower).trim();
    let acc = if let Some(iso) = s.strip_prefix('p') {
        iso_8601(iso).ok_or_else(syntax)?
    } else {
        let toks = tokens(s).ok_or_else(syntax)?;
        if toks.is_empty() {
            return Err(syntax());
        }
        verbose(&toks).ok_or_else(syntax)?
    };
    let months = i32::try_from(acc.months).map_err(|_| range())?;
    let days = i32::try_from(acc.days).map_err(|_| range())?;
    let micros = i64::try_from(acc.micros).map_err(|_| range())?;
    Ok(Interval { months, days, micros })
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The verbose and SQL-standard forms.
fn verbose(toks: &[Token<'_>]) -> Option<Acc> {
    let mut acc = Acc::default();
    let mut i = 0;
    let mut ago = false;
    while i < toks.len() {
        match &toks[i] {
            Token::Number(n) => {
                let v = number(n)?;
                match toks.get(i + 1) {
                    Some(Token::Word(w)) if unit(w).is_some() => {
                        acc.add(v, unit(w)?);
                        i += 2;
                    }
                    // A bare number before a clock time is days.
                    Some(Token::Clock(_)) => {
                        acc.add(v, Unit::Days);
                        i += 1;
                    }
                    // A bare number at the end is seconds.
                    None => {
                        acc.add(v, Unit::Seconds(1));
                        i += 1;
                    }
                    _ => return None,
                }
            }
            Token::Clock(c) => {
                clock(&mut acc, c)?;
                i += 1;
            }
            Token::YearMonth(ym) => {
                let (negative, body) = match ym.strip_prefix('-') {
                    Some(b) => (true, b),
                    None => (false, ym.strip_prefix('+').unwrap_or(ym)),
                };
                let (y, m) = body.split_once('-')?;
                let months = y.parse::<i128>().ok()? * 12 + m.parse::<i128>().ok()?;
                acc.months += if negative { -months } else { months };
                i += 1;
            }
            Token::Word("ago") if i + 1 == toks.len() => {
                ago = true;
                i += 1;
            }
            Token::Word(_) => return None,
        }
    }
    if ago {
        acc = Acc { months: -acc.months, days: -acc.days, micros: -acc.micros };
    }
    Some(acc)
}

/// `[-]H:M[:S[.f]]` (also `H:M:S` with a leading `+`).
fn clock(acc: &mut Acc, c: &str) -> Option<()> {
    let (negative, body) = match c.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, c.strip_prefix('+').unwrap_or(c)),
    };
    let mut parts = body.split(':');
    let hours: i128 = parts.next()?.parse().ok()?;
    let minutes: i128 = parts.next()?.parse().ok()?;
    let seconds: f64 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0.0,
    };
    if parts.next().is_some() || minutes > 59 || seconds >= 61.0 {
        return None;
    }
    let micros = (hours * 3600 + minutes * 60) * 1_000_000 + (seconds * 1_000_000.0).round_ties_even() as i128;
    acc.micros += if negative { -micros } else { micros };
    Some(())
}

/// ISO 8601 durations after the `P`.
fn iso_8601(s: &str) -> Option<Acc> {
    let mut acc = Acc::default();
    let mut in_time = false;
    let mut rest = s;
    let mut fields = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('t') {
            if in_time {
                return None;
            }
            in_time = true;
            rest = r;
            continue;
        }
        let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
        let v = number(&rest[..end])?;
        let designator = rest[end..].chars().next()?;
        let u = match (in_time, designator) {
            (false, 'y') => Unit::Years(1),
            (false, 'm') => Unit::Months,
            (false, 'w') => Unit::Weeks,
            (false, 'd') => Unit::Days,
            (true, 'h') => Unit::Seconds(3600),
            (true, 'm') => Unit::Seconds(60),
            (true, 's') => Unit::Seconds(1),
            _ => return None,
        };
        acc.add(v, u);
        fields += 1;
        rest = &rest[end + 1..];
    }
    (fields > 0).then_some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: &str) -> String {
        super::super::output::interval(&interval(s).unwrap())
    }

    #[test]
    fn verbose_forms() {
        assert_eq!(iv("1 day"), "1 day");
        assert_eq!(iv("2 hours 3 minutes"), "02:03:00");
        assert_eq!(iv("1 year 2 months 3 days 4 hours 5 minutes 6 seconds"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(iv("@ 1 yr 2 mons"), "1 year 2 mons");
        assert_eq!(iv("1day"), "1 day");
        assert_eq!(iv("-1 days"), "-1 days");
        assert_eq!(iv("1 day ago"), "-1 days");
        assert_eq!(iv("1.5 days"), "1 day 12:00:00");
        assert_eq!(iv("1.5 months"), "1 mon 15 days");
        assert_eq!(iv("1.5 years"), "1 year 6 mons");
        assert_eq!(iv("2 weeks"), "14 days");
        assert_eq!(iv("1 century"), "100 years");
        assert_eq!(iv("500 ms"), "00:00:00.5");
        assert_eq!(iv("10 us"), "00:00:00.00001");
    }

    #[test]
    fn clock_and_sql_standard_forms() {
        assert_eq!(iv("04:05:06"), "04:05:06");
        assert_eq!(iv("-04:05:06"), "-04:05:06");
        assert_eq!(iv("3 days 04:05:06"), "3 days 04:05:06");
        assert_eq!(iv("3 04:05:06"), "3 days 04:05:06");
        assert_eq!(iv("1-2"), "1 year 2 mons");
        assert_eq!(iv("1-2 3 4:05:06"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(iv("5"), "00:00:05");
        assert_eq!(iv("100:00"), "100:00:00");
        assert_eq!(iv("00:00:01.25"), "00:00:01.25");
    }

    #[test]
    fn iso_8601_forms() {
        assert_eq!(iv("P1D"), "1 day");
        assert_eq!(iv("P1Y2M3DT4H5M6S"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(iv("PT1.5S"), "00:00:01.5");
        assert_eq!(iv("P2W"), "14 days");
    }

    #[test]
    fn errors() {
        for bad in ["", "abc", "1 fortnight", "1 day 2 3", "P", "PT", "P1H", "1:75", "day"] {
            let e = interval(bad).unwrap_err();
            assert_eq!(e.state.code(), "22007", "{bad:?}");
        }
        assert_eq!(interval("3000000000 days").unwrap_err().state.code(), "22008");
        assert_eq!(interval("abc").unwrap_err().message, "invalid input syntax for type interval: \"abc\"");
    }
}
