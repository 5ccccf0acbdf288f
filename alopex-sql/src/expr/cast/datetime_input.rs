//! Text input for DATE, TIMESTAMP and TIMESTAMPTZ.
//!
//! PostgreSQL's `DecodeDateTime` accepts an enormous variety of spellings.
//! This parser accepts the ones applications actually send, with
//! PostgreSQL's default `DateStyle = ISO, MDY` reading:
//!
//! * dates: `2024-01-02`, `2024/01/02`, `20240102`, `01/02/2024` and
//!   `01-02-2024` (month first), two-digit years (`01/02/24`, 70–99 are the
//!   1900s), month names (`Jan 2, 2024`, `2 January 2024`, `2024-Jan-02`),
//!   an optional trailing `BC`/`AD`;
//! * a time after a space or `T`: `HH:MM[:SS[.fraction]]`, fractions rounded
//!   to microseconds, `24:00:00` meaning the next midnight, `:60` seconds
//!   rolling over;
//! * `AM`/`PM` after the time;
//! * a zone after the time: `Z`, `UTC`, `GMT`, `+HH`, `+HH:MM`, `+HHMM`
//!   (and `-`), or a common abbreviation (`PST`, `CET`, `JST`, …). TIMESTAMP ignores it, as PostgreSQL does; TIMESTAMPTZ
//!   converts to UTC, and a missing zone means the session zone, UTC;
//! * the special words `epoch`, `now`, `today`, `tomorrow`, `yesterday`.
//!   `infinity` has no representation here and is 0A000.
//!
//! Syntax errors are 22007 `invalid input syntax for type date: "…"`, field
//! values out of range are 22008, as in PostgreSQL.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta};

use crate::error::{Error, Result};
use crate::sql_err;

/// A parsed date and time, before the target type is chosen.
struct Parsed {
    date: NaiveDate,
    /// Microseconds after midnight; may be a full day (24:00:00).
    time_micros: i64,
    /// Seconds east of UTC, when the text named a zone.
    offset_secs: Option<i64>,
}

/// `date_in`.
pub(crate) fn date(text: &str) -> Result<NaiveDate> {
    Ok(parse(text, "date")?.date)
}

/// `timestamp_in`: a zone in the text is ignored.
pub(crate) fn timestamp(text: &str) -> Result<NaiveDateTime> {
    let p = parse(text, "timestamp")?;
    combine(text, p.date, p.time_micros, 0)
}

/// `timestamptz_in`, as UTC.
pub(crate) fn timestamptz(text: &str) -> Result<NaiveDateTime> {
    let p = parse(text, "timestamp with time zone")?;
    combine(text, p.date, p.time_micros, p.offset_secs.unwrap_or(0))
}

fn combine(text: &str, date: NaiveDate, micros: i64, offset_secs: i64) -> Result<NaiveDateTime> {
    date.and_time(chrono::NaiveTime::MIN)
        .checked_add_signed(TimeDelta::microseconds(micros - offset_secs * 1_000_000))
        .ok_or_else(|| sql_err!(DATETIME_FIELD_OVERFLOW, "timestamp out of range: \"{text}\""))
}

fn parse(text: &str, type_name: &str) -> Result<Parsed> {
    let syntax = || sql_err!(INVALID_DATETIME_FORMAT, "invalid input syntax for type {type_name}: \"{text}\"");
    let range = || sql_err!(DATETIME_FIELD_OVERFLOW, "date/time field value out of range: \"{text}\"");
    let lower = text.trim().to_ascii_lowercase();
    if let Some(p) = special(&lower, text)? {
        return Ok(p);
    }
    let mut s = lower.as_str();
    let mut bc = false;
    if let Some(rest) = s.strip_suffix(" bc") {
        bc = true;
        s = rest.trim_end();
    } else if let Some(rest) = s.strip_suffix(" ad") {
        s = rest.trim_end();
    }
    let mut cur = Cursor { s, pos: 0 };
    let (mut year, month, day, two_digit_year) = date_fields(&mut cur).ok_or_else(syntax)?;
    if two_digit_year {
        year += if year < 70 { 2000 } else { 1900 };
    }
    if bc {
        if year < 1 {
            return Err(range());
        }
        year = 1 - year;
    }
    let date = i32::try_from(year)
        .ok()
        .zip(u32::try_from(month).ok())
        .zip(u32::try_from(day).ok())
        .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(range)?;
    // Time of day.
    let mut time_micros = 0;
    let mut offset_secs = None;
    let had_t = cur.eat('t');
    cur.skip_spaces();
    if cur.peek().is_some_and(|c| c.is_ascii_digit()) {
        time_micros = time_of_day(&mut cur, &range)?.ok_or_else(syntax)?;
    } else if had_t {
        return Err(syntax());
    }
    cur.skip_spaces();
    // `3:04 PM`.
    let rest = &cur.s[cur.pos..];
    let meridiem = ["am", "pm"]
        .into_iter()
        .find(|m| rest.strip_prefix(m).is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_alphabetic())));
    if let Some(m) = meridiem {
        let hour = time_micros / 3_600_000_000;
        if !(1..=12).contains(&hour) {
            return Err(range());
        }
        let base = if hour == 12 { time_micros - 12 * 3_600_000_000 } else { time_micros };
        time_micros = if m == "pm" { base + 12 * 3_600_000_000 } else { base };
        cur.pos += 2;
        cur.skip_spaces();
    }
    if !cur.done() {
        offset_secs = Some(zone(&mut cur, text)?.ok_or_else(syntax)?);
        cur.skip_spaces();
    }
    if !cur.done() {
        return Err(syntax());
    }
    Ok(Parsed { date, time_micros, offset_secs })
}

/// The special input words.
fn special(lower: &str, text: &str) -> Result<Option<Parsed>> {
    let today = || {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        DateTime::from_timestamp(now.as_secs() as i64, now.subsec_nanos()).map(|d| d.naive_utc())
    };
    let at = |date: Option<NaiveDate>, micros: i64| {
        date.map(|date| Parsed { date, time_micros: micros, offset_secs: None })
            .ok_or_else(|| sql_err!(DATETIME_FIELD_OVERFLOW, "date out of range: \"{text}\""))
    };
    let midnight = |days: i64| {
        let d = today().map(|t| t.date());
        at(
            if days >= 0 {
                d.and_then(|d| d.checked_add_days(Days::new(days as u64)))
            } else {
                d.and_then(|d| d.checked_sub_days(Days::new(1)))
            },
            0,
        )
    };
    Ok(Some(match lower {
        "epoch" => at(NaiveDate::from_ymd_opt(1970, 1, 1), 0)?,
        "now" => {
            let t = today();
            let micros = t.map(|t| t.and_utc().timestamp_micros().rem_euclid(86_400_000_000)).unwrap_or(0);
            at(t.map(|t| t.date()), micros)?
        }
        "today" => midnight(0)?,
        "tomorrow" => midnight(1)?,
        "yesterday" => midnight(-1)?,
        "infinity" | "+infinity" | "-infinity" => {
            return Err(sql_err!(FEATURE_NOT_SUPPORTED, "infinite dates and timestamps are not supported"));
        }
        _ => return Ok(None),
    }))
}

/// A byte cursor over ASCII-lowered input.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }
    fn done(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.pos += 1;
        }
    }
    /// A run of ASCII digits (may be empty).
    fn digits(&mut self) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
    /// A run of ASCII letters (may be empty).
    fn word(&mut self) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }
}

/// The number of a month name or its three-letter abbreviation.
fn month_number(word: &str) -> Option<i64> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    let word = if word == "sept" { "sep" } else { word };
    NAMES.iter().position(|n| n.starts_with(word)).map(|i| i as i64 + 1)
}

/// Year, month, day, and whether the year was written with two digits.
fn date_fields(cur: &mut Cursor<'_>) -> Option<(i64, i64, i64, bool)> {
    let num = |s: &str| s.parse::<i64>().ok();
    if cur.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
        // `Jan 2, 2024` / `January 2 2024`.
        let month = month_number(cur.word())?;
        cur.skip_spaces();
        let day = num(cur.digits())?;
        cur.eat(',');
        cur.skip_spaces();
        let y = cur.digits();
        return Some((num(y)?, month, day, y.len() <= 2));
    }
    let first = cur.digits().to_string();
    if first.is_empty() {
        return None;
    }
    let sep = cur.peek();
    match sep {
        Some(sep @ ('-' | '/' | '.')) => {
            cur.eat(sep);
            let (second, second_is_month_name) = if cur.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                (month_number(cur.word())?, true)
            } else {
                (num(cur.digits())?, false)
            };
            if !cur.eat(sep) {
                return None;
            }
            let third = cur.digits().to_string();
            let (a, c) = (num(&first)?, num(&third)?);
            if first.len() >= 3 {
                Some((a, second, c, false)) // Y-M-D
            } else if second_is_month_name {
                Some((c, second, a, third.len() <= 2)) // D-Mon-Y
            } else {
                Some((c, a, second, third.len() <= 2)) // M-D-Y
            }
        }
        Some(' ') if first.len() <= 2 => {
            // `2 January 2024`.
            cur.skip_spaces();
            let month = month_number(cur.word())?;
            cur.skip_spaces();
            let y = cur.digits();
            Some((num(y)?, month, num(&first)?, y.len() <= 2))
        }
        _ if first.len() == 8 => Some((num(&first[..4])?, num(&first[4..6])?, num(&first[6..])?, false)),
        _ => None,
    }
}

/// `HH:MM[:SS[.fraction]]` as microseconds after midnight; Ok(None) on a
/// syntax error, 22008 when a field is out of range.
fn time_of_day(cur: &mut Cursor<'_>, range: &dyn Fn() -> Error) -> Result<Option<i64>> {
    let num = |s: &str| s.parse::<i64>().ok();
    let Some(hour) = num(cur.digits()) else { return Ok(None) };
    if !cur.eat(':') {
        return Ok(None);
    }
    let Some(minute) = num(cur.digits()) else { return Ok(None) };
    let mut second = 0;
    let mut micros = 0;
    if cur.eat(':') {
        let Some(s) = num(cur.digits()) else { return Ok(None) };
        second = s;
        if cur.eat('.') {
            let frac = cur.digits();
            if !frac.is_empty() {
                let f: f64 = format!("0.{frac}").parse().unwrap_or(0.0);
                micros = (f * 1_000_000.0).round() as i64;
            }
        }
    }
    if hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute > 0 || second > 0 || micros > 0)) {
        return Err(range());
    }
    Ok(Some(((hour * 60 + minute) * 60 + second) * 1_000_000 + micros))
}

/// The fixed offsets of the common zone abbreviations PostgreSQL's
/// `Default` abbreviation set knows, in seconds east of UTC.
fn zone_abbreviation(name: &str) -> Option<i64> {
    let hours = match name {
        "pst" => -8.0,
        "pdt" | "mst" => -7.0,
        "mdt" | "cst" => -6.0,
        "cdt" | "est" => -5.0,
        "edt" => -4.0,
        "akst" => -9.0,
        "hst" => -10.0,
        "wet" => 0.0,
        "bst" | "cet" | "met" | "west" => 1.0,
        "cest" | "eet" | "mest" => 2.0,
        "eest" | "msk" => 3.0,
        "ist" => 5.5,
        "jst" | "kst" => 9.0,
        "aest" => 10.0,
        "nzst" => 12.0,
        _ => return None,
    };
    Some((hours * 3600.0) as i64)
}

/// A zone suffix as seconds east of UTC; Ok(None) when it is not one.
fn zone(cur: &mut Cursor<'_>, text: &str) -> Result<Option<i64>> {
    let sign = match cur.peek() {
        Some('+') => 1,
        Some('-') => -1,
        Some(c) if c.is_ascii_alphabetic() => {
            let name = cur.word().to_string();
            return match name.as_str() {
                "z" | "utc" | "gmt" | "zulu" | "ut" => {
                    if cur.peek().is_some_and(|c| c == '+' || c == '-') {
                        // `UTC+2` style POSIX offsets are rarely meant literally.
                        return Ok(None);
                    }
                    Ok(Some(0))
                }
                abbrev if zone_abbreviation(abbrev).is_some() => Ok(zone_abbreviation(abbrev)),
                // `Area/City` names: PostgreSQL knows them, this engine does not.
                _ if cur.peek() == Some('/') => {
                    Err(sql_err!(INVALID_PARAMETER_VALUE, "time zone \"{name}\" not recognized (in \"{text}\")"))
                }
                _ => Ok(None),
            };
        }
        _ => return Ok(None),
    };
    cur.pos += 1;
    let digits = cur.digits().to_string();
    let num = |s: &str| s.parse::<i64>().ok();
    let (hours, mut minutes) = match digits.len() {
        1 | 2 => (num(&digits), Some(0)),
        4 => (num(&digits[..2]), num(&digits[2..])),
        _ => return Ok(None),
    };
    if digits.len() <= 2 && cur.eat(':') {
        minutes = num(cur.digits());
    }
    let (Some(h), Some(m)) = (hours, minutes) else { return Ok(None) };
    if h > 15 || m > 59 {
        return Err(sql_err!(DATETIME_FIELD_OVERFLOW, "time zone displacement out of range: \"{text}\""));
    }
    Ok(Some(sign * (h * 3600 + m * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        super::super::output::timestamp(&timestamp(s).unwrap())
    }

    #[test]
    fn dates() {
        let d = |s: &str| super::super::output::date(&date(s).unwrap());
        assert_eq!(d("2024-01-02"), "2024-01-02");
        assert_eq!(d(" 2024-1-2 "), "2024-01-02");
        assert_eq!(d("2024/01/02"), "2024-01-02");
        assert_eq!(d("20240102"), "2024-01-02");
        assert_eq!(d("01/02/2024"), "2024-01-02");
        assert_eq!(d("01/02/24"), "2024-01-02");
        assert_eq!(d("12/31/99"), "1999-12-31");
        assert_eq!(d("Jan 2, 2024"), "2024-01-02");
        assert_eq!(d("2 January 2024"), "2024-01-02");
        assert_eq!(d("2024-Jan-02"), "2024-01-02");
        assert_eq!(d("02-Jan-2024"), "2024-01-02");
        assert_eq!(d("0044-03-15 BC"), "0044-03-15 BC");
        assert_eq!(d("2024-01-02 12:34:56"), "2024-01-02");
        assert_eq!(d("epoch"), "1970-01-01");
        assert_eq!(date("2024-02-30").unwrap_err().state.code(), "22008");
        assert_eq!(date("2024-13-01").unwrap_err().state.code(), "22008");
        let e = date("hello").unwrap_err();
        assert_eq!(e.state.code(), "22007");
        assert_eq!(e.message, "invalid input syntax for type date: \"hello\"");
        assert_eq!(date("2024-01-02x").unwrap_err().state.code(), "22007");
        assert_eq!(date("infinity").unwrap_err().state.code(), "0A000");
    }

    #[test]
    fn timestamps() {
        assert_eq!(ts("2024-01-02 03:04:05"), "2024-01-02 03:04:05");
        assert_eq!(ts("2024-01-02T03:04:05.123456"), "2024-01-02 03:04:05.123456");
        assert_eq!(ts("2024-01-02 03:04:05.1234567"), "2024-01-02 03:04:05.123457");
        assert_eq!(ts("2024-01-02 03:04"), "2024-01-02 03:04:00");
        assert_eq!(ts("2024-01-02"), "2024-01-02 00:00:00");
        assert_eq!(ts("2024-01-02 03:04:05+05"), "2024-01-02 03:04:05");
        assert_eq!(ts("2024-01-02 24:00:00"), "2024-01-03 00:00:00");
        assert_eq!(ts("2024-01-02 23:59:60"), "2024-01-03 00:00:00");
        assert_eq!(timestamp("2024-01-02 25:00").unwrap_err().state.code(), "22008");
        assert_eq!(timestamp("2024-01-02 03:60").unwrap_err().state.code(), "22008");
        assert_eq!(timestamp("2024-01-02T").unwrap_err().state.code(), "22007");
        assert_eq!(timestamp("2024-01-02 3").unwrap_err().state.code(), "22007");
    }

    #[test]
    fn timestamptz_offsets() {
        let tz = |s: &str| super::super::output::timestamptz(&timestamptz(s).unwrap());
        assert_eq!(tz("2024-01-02 03:04:05+02"), "2024-01-02 01:04:05+00");
        assert_eq!(tz("2024-01-02 03:04:05-05:30"), "2024-01-02 08:34:05+00");
        assert_eq!(tz("2024-01-02 03:04:05 +0100"), "2024-01-02 02:04:05+00");
        assert_eq!(tz("2024-01-02T03:04:05Z"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-02 03:04:05 UTC"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-02 03:04:05"), "2024-01-02 03:04:05+00");
        assert_eq!(tz("2024-01-01 01:00:00+02"), "2023-12-31 23:00:00+00");
        assert_eq!(timestamptz("2024-01-02 03:04:05 Mars/Base").unwrap_err().state.code(), "22023");
        assert_eq!(tz("2024-01-02 03:04:05 PST"), "2024-01-02 11:04:05+00");
        assert_eq!(tz("2024-01-02 3:04 PM EST"), "2024-01-02 20:04:00+00");
        assert_eq!(tz("2024-01-02 12:30 am"), "2024-01-02 00:30:00+00");
        assert_eq!(tz("2024-01-02 12:30 PM"), "2024-01-02 12:30:00+00");
        assert_eq!(timestamptz("2024-01-02 13:00 PM").unwrap_err().state.code(), "22008");
    }
}
