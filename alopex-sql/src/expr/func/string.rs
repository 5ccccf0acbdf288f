//! String functions, with PostgreSQL's edge cases.
//!
//! Positions and lengths count characters, not bytes (`octet_length` and
//! the bytea forms count bytes). The edge cases follow `varlena.c`:
//! `substr` with a start before 1 still ends at `start + count`, a negative
//! count is 22011; `left`/`right` with a negative count drop characters from
//! the other end; `split_part` counts from the end for negative positions
//! (PostgreSQL 14+) and rejects 0 (22023); `lpad`/`rpad` truncate a string
//! longer than the target; `chr(0)` is 54000; results that would exceed
//! 1 GB are 54000 `requested length too large`.
//!
//! `concat` and `concat_ws` write each non-NULL argument in its output
//! format (a boolean is `t`), skipping NULLs.

use super::math::int_arg;
use super::{ScalarFunc, arg};
use crate::error::{Error, Result, SqlState};
use crate::expr::cast::to_text;
use crate::sql_err;
use crate::types::Value;

/// PostgreSQL's largest field (`MaxAllocSize`, 1 GB).
const MAX_LEN: usize = (1 << 30) - 1;

fn too_large() -> Error {
    sql_err!(PROGRAM_LIMIT_EXCEEDED, "requested length too large")
}

fn text_arg(args: &[Value], i: usize) -> Result<&str> {
    match arg(args, i)? {
        Value::Text(s) => Ok(s),
        other => Err(Error::internal(format!("expected a text argument, got {other:?}"))),
    }
}

/// Calls a string function (NULLs already handled for strict ones).
pub(super) fn call(func: ScalarFunc, args: &[Value]) -> Result<Value> {
    use ScalarFunc::*;
    let s = || text_arg(args, 0);
    Ok(match func {
        Length => Value::Int(s()?.chars().count() as i64),
        OctetLength => Value::Int(match arg(args, 0)? {
            Value::Bytes(b) => b.len(),
            _ => s()?.len(),
        } as i64),
        Lower => Value::text(s()?.to_lowercase()),
        Upper => Value::text(s()?.to_uppercase()),
        Initcap => Value::text(initcap(s()?)),
        Reverse => Value::text(s()?.chars().rev().collect::<String>()),
        Substr => {
            let start = int_arg(args, 1)?;
            let count = if args.len() > 2 { Some(int_arg(args, 2)?) } else { None };
            match arg(args, 0)? {
                Value::Bytes(b) => {
                    let (from, to) = substr_range(start, count, b.len())?;
                    Value::Bytes(b[from..to].into())
                }
                _ => {
                    let text = s()?;
                    let (from, to) = substr_range(start, count, text.chars().count())?;
                    Value::text(text.chars().skip(from).take(to - from).collect::<String>())
                }
            }
        }
        Position => Value::Int(strpos(text_arg(args, 1)?, s()?)),
        Strpos => Value::Int(strpos(s()?, text_arg(args, 1)?)),
        Btrim | Ltrim | Rtrim => {
            let chars: Vec<char> = if args.len() > 1 { text_arg(args, 1)?.chars().collect() } else { vec![' '] };
            let set = |c: char| chars.contains(&c);
            let text = s()?;
            Value::text(match func {
                Ltrim => text.trim_start_matches(set),
                Rtrim => text.trim_end_matches(set),
                _ => text.trim_matches(set),
            })
        }
        Replace => {
            let (text, from, to) = (s()?, text_arg(args, 1)?, text_arg(args, 2)?);
            if from.is_empty() { Value::text(text) } else { Value::text(text.replace(from, to)) }
        }
        Concat => Value::text(args.iter().filter_map(to_text).collect::<String>()),
        ConcatWs => match arg(args, 0)? {
            Value::Null => Value::Null,
            sep => {
                let sep = to_text(sep).unwrap_or_default();
                Value::text(args[1..].iter().filter_map(to_text).collect::<Vec<_>>().join(&sep))
            }
        },
        Left | Right => {
            let text = s()?;
            let n = int_arg(args, 1)?;
            let len = text.chars().count() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) };
            let out: String = if func == Left {
                text.chars().take(keep as usize).collect()
            } else {
                text.chars().skip((len - keep) as usize).collect()
            };
            Value::text(out)
        }
        Lpad | Rpad => {
            let fill = if args.len() > 2 { text_arg(args, 2)? } else { " " };
            Value::text(pad(s()?, int_arg(args, 1)?, fill, func == Lpad)?)
        }
        Repeat => {
            let (text, n) = (s()?, int_arg(args, 1)?);
            let n = n.max(0) as usize;
            if text.len().checked_mul(n).is_none_or(|total| total > MAX_LEN) {
                return Err(too_large());
            }
            Value::text(text.repeat(n))
        }
        SplitPart => split_part(s()?, text_arg(args, 1)?, int_arg(args, 2)?)?,
        StartsWith => Value::Bool(s()?.starts_with(text_arg(args, 1)?)),
        Ascii => Value::Int(s()?.chars().next().map_or(0, |c| c as i64)),
        Chr => Value::text(chr(int_arg(args, 0)?)?.to_string()),
        ToHex32 => Value::text(format!("{:x}", int_arg(args, 0)? as i32 as u32)),
        ToHex64 => Value::text(format!("{:x}", int_arg(args, 0)? as u64)),
        other => return Err(Error::internal(format!("{} is not a string function", other.name()))),
    })
}

/// The half-open 0-based range `substr(x, start, count)` selects from a
/// string of `len` units.
fn substr_range(start: i64, count: Option<i64>, len: usize) -> Result<(usize, usize)> {
    let end = match count {
        Some(c) if c < 0 => return Err(Error::new(SqlState("22011"), "negative substring length not allowed")),
        Some(c) => start.saturating_add(c),
        None => i64::MAX,
    };
    let from = start.max(1) - 1;
    let to = (end - 1).clamp(0, len as i64);
    let from = (from.min(len as i64)).min(to);
    Ok((from as usize, to as usize))
}

/// 1-based character position of `needle` in `haystack`, 0 if absent.
fn strpos(haystack: &str, needle: &str) -> i64 {
    match haystack.find(needle) {
        Some(byte) => haystack[..byte].chars().count() as i64 + 1,
        None => 0,
    }
}

fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

fn pad(s: &str, len: i64, fill: &str, left: bool) -> Result<String> {
    let len = len.max(0) as usize;
    if len.checked_mul(4).is_none_or(|bytes| bytes > MAX_LEN) {
        return Err(too_large());
    }
    let chars = s.chars().count();
    if chars >= len || fill.is_empty() {
        return Ok(s.chars().take(len).collect());
    }
    let padding: String = fill.chars().cycle().take(len - chars).collect();
    Ok(if left { padding + s } else { s.to_string() + &padding })
}

fn split_part(s: &str, delimiter: &str, n: i64) -> Result<Value> {
    if n == 0 {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "field position must not be zero"));
    }
    if delimiter.is_empty() {
        return Ok(Value::text(if n == 1 || n == -1 { s } else { "" }));
    }
    let parts: Vec<&str> = s.split(delimiter).collect();
    let index = if n > 0 { n - 1 } else { parts.len() as i64 + n };
    Ok(Value::text(usize::try_from(index).ok().and_then(|i| parts.get(i)).copied().unwrap_or("")))
}

fn chr(n: i64) -> Result<char> {
    if n == 0 {
        return Err(sql_err!(PROGRAM_LIMIT_EXCEEDED, "null character not permitted"));
    }
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| sql_err!(PROGRAM_LIMIT_EXCEEDED, "requested character not valid for encoding: {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarFunc as F;

    fn t(s: &str) -> Value {
        Value::text(s)
    }

    fn run(func: F, args: &[Value]) -> Value {
        super::super::call(func, args, &crate::types::DataType::Text, chrono::DateTime::UNIX_EPOCH).unwrap()
    }

    fn code(func: F, args: &[Value]) -> &'static str {
        super::super::call(func, args, &crate::types::DataType::Text, chrono::DateTime::UNIX_EPOCH)
            .unwrap_err()
            .state
            .code()
    }

    #[test]
    fn lengths_and_case() {
        assert_eq!(run(F::Length, &[t("héllo")]), Value::Int(5));
        assert_eq!(run(F::OctetLength, &[t("héllo")]), Value::Int(6));
        assert_eq!(run(F::OctetLength, &[Value::Bytes([1u8, 2].as_slice().into())]), Value::Int(2));
        assert_eq!(run(F::Length, &[Value::Null]), Value::Null);
        assert_eq!(run(F::Upper, &[t("abc")]), t("ABC"));
        assert_eq!(run(F::Lower, &[t("ÄBC")]), t("äbc"));
        assert_eq!(run(F::Initcap, &[t("hello wORLD foo-bar 1st")]), t("Hello World Foo-Bar 1st"));
        assert_eq!(run(F::Reverse, &[t("abc")]), t("cba"));
    }

    #[test]
    fn substrings() {
        let sub = |s: &str, a: i64, b: Option<i64>| {
            let mut args = vec![t(s), Value::Int(a)];
            args.extend(b.map(Value::Int));
            run(F::Substr, &args)
        };
        assert_eq!(sub("hello", 2, Some(3)), t("ell"));
        assert_eq!(sub("hello", 2, None), t("ello"));
        assert_eq!(sub("hello", 0, Some(3)), t("he"));
        assert_eq!(sub("hello", -5, Some(3)), t(""));
        assert_eq!(sub("hello", 10, Some(3)), t(""));
        assert_eq!(sub("hello", 4, Some(100)), t("lo"));
        assert_eq!(code(F::Substr, &[t("hello"), Value::Int(1), Value::Int(-1)]), "22011");
        assert_eq!(run(F::Position, &[t("lo"), t("hello")]), Value::Int(4));
        assert_eq!(run(F::Strpos, &[t("héllo"), t("l")]), Value::Int(3));
        assert_eq!(run(F::Strpos, &[t("hello"), t("z")]), Value::Int(0));
        assert_eq!(run(F::Strpos, &[t("hello"), t("")]), Value::Int(1));
        assert_eq!(run(F::Left, &[t("hello"), Value::Int(2)]), t("he"));
        assert_eq!(run(F::Left, &[t("hello"), Value::Int(-2)]), t("hel"));
        assert_eq!(run(F::Right, &[t("hello"), Value::Int(2)]), t("lo"));
        assert_eq!(run(F::Right, &[t("hello"), Value::Int(-2)]), t("llo"));
        assert_eq!(run(F::Right, &[t("hi"), Value::Int(5)]), t("hi"));
    }

    #[test]
    fn trims_pads_and_replacements() {
        assert_eq!(run(F::Btrim, &[t("  hi  ")]), t("hi"));
        assert_eq!(run(F::Ltrim, &[t("xxhixx"), t("x")]), t("hixx"));
        assert_eq!(run(F::Rtrim, &[t("xyhiyx"), t("xy")]), t("xyhi"));
        assert_eq!(run(F::Lpad, &[t("hi"), Value::Int(5)]), t("   hi"));
        assert_eq!(run(F::Lpad, &[t("hi"), Value::Int(5), t("ab")]), t("abahi"));
        assert_eq!(run(F::Rpad, &[t("hello"), Value::Int(3)]), t("hel"));
        assert_eq!(run(F::Rpad, &[t("hi"), Value::Int(4), t("")]), t("hi"));
        assert_eq!(run(F::Lpad, &[t("hi"), Value::Int(-1)]), t(""));
        assert_eq!(code(F::Lpad, &[t("hi"), Value::Int(i64::MAX)]), "54000");
        assert_eq!(run(F::Repeat, &[t("ab"), Value::Int(3)]), t("ababab"));
        assert_eq!(run(F::Repeat, &[t("ab"), Value::Int(-1)]), t(""));
        assert_eq!(code(F::Repeat, &[t("ab"), Value::Int(1 << 40)]), "54000");
        assert_eq!(run(F::Replace, &[t("abcabc"), t("b"), t("XY")]), t("aXYcaXYc"));
        assert_eq!(run(F::Replace, &[t("abc"), t(""), t("X")]), t("abc"));
    }

    #[test]
    fn concatenation_and_parts() {
        assert_eq!(run(F::Concat, &[t("a"), Value::Null, Value::Int(1), Value::Bool(true)]), t("a1t"));
        assert_eq!(run(F::Concat, &[Value::Null]), t(""));
        assert_eq!(run(F::ConcatWs, &[t(","), t("a"), Value::Null, t("b")]), t("a,b"));
        assert_eq!(run(F::ConcatWs, &[Value::Null, t("a")]), Value::Null);
        assert_eq!(run(F::SplitPart, &[t("a,b,c"), t(","), Value::Int(2)]), t("b"));
        assert_eq!(run(F::SplitPart, &[t("a,b,c"), t(","), Value::Int(-1)]), t("c"));
        assert_eq!(run(F::SplitPart, &[t("a,b,c"), t(","), Value::Int(5)]), t(""));
        assert_eq!(run(F::SplitPart, &[t("abc"), t(""), Value::Int(1)]), t("abc"));
        assert_eq!(code(F::SplitPart, &[t("a"), t(","), Value::Int(0)]), "22023");
        assert_eq!(run(F::StartsWith, &[t("alopex"), t("alo")]), Value::Bool(true));
    }

    #[test]
    fn characters_and_hex() {
        assert_eq!(run(F::Ascii, &[t("A")]), Value::Int(65));
        assert_eq!(run(F::Ascii, &[t("")]), Value::Int(0));
        assert_eq!(run(F::Chr, &[Value::Int(65)]), t("A"));
        assert_eq!(run(F::Chr, &[Value::Int(0x263A)]), t("☺"));
        assert_eq!(code(F::Chr, &[Value::Int(0)]), "54000");
        assert_eq!(code(F::Chr, &[Value::Int(0xD800)]), "54000");
        assert_eq!(code(F::Chr, &[Value::Int(-1)]), "54000");
        assert_eq!(run(F::ToHex32, &[Value::Int(255)]), t("ff"));
        assert_eq!(run(F::ToHex32, &[Value::Int(-1)]), t("ffffffff"));
        assert_eq!(run(F::ToHex64, &[Value::Int(-1)]), t("ffffffffffffffff"));
    }
}
