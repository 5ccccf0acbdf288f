//! PostgreSQL's system functions that depend on nothing but their
//! arguments: `format_type`, `pg_encoding_to_char`, `array_to_string` over
//! the text form of arrays, and POSIX regular-expression matching (`~`,
//! `~*`, and `OPERATOR(pg_catalog.~)` as psql writes it).
//!
//! Clients such as psql, SQLAlchemy and pgJDBC discover tables by querying
//! `pg_catalog` with these functions in the select list and the WHERE
//! clause, evaluated row by row, so they are ordinary scalar functions. The
//! functions that need the catalog itself (`pg_get_indexdef`,
//! `pg_get_constraintdef`, `to_regclass`, casts to `regclass`) are bound
//! against the binder's catalog snapshot instead (`plan/bind/pg_functions.rs`).
//!
//! Regular expressions use the `regex` crate, whose syntax covers what
//! clients send (psql turns `\d name*` into `^(name.*)$`); PostgreSQL's
//! Advanced Regular Expressions have a few extensions it lacks (back
//! references, `\m`/`\M`), which give 2201B like an invalid pattern.
//! Compiled patterns are cached per thread, since a pattern is usually a
//! constant matched against every row.

use std::cell::RefCell;

use regex::{Regex, RegexBuilder};

use super::{ScalarFunc, arg};
use crate::error::{Error, Result, SqlState};
use crate::types::{DataType, Value};

/// PostgreSQL's encoding number for UTF8 (the only server encoding).
pub(crate) const UTF8_ENCODING: i64 = 6;

/// How many compiled patterns a thread keeps.
const CACHE_SIZE: usize = 32;

thread_local! {
    static PATTERNS: RefCell<Vec<(String, bool, Regex)>> = const { RefCell::new(Vec::new()) };
}

fn int_arg(args: &[Value], i: usize) -> Result<i64> {
    match arg(args, i)? {
        Value::Int(n) => Ok(*n),
        other => Err(Error::internal(format!("expected an integer argument, got {other:?}"))),
    }
}

fn text_arg(args: &[Value], i: usize) -> Result<&str> {
    match arg(args, i)? {
        Value::Text(s) => Ok(s),
        other => Err(Error::internal(format!("expected a text argument, got {other:?}"))),
    }
}

pub(super) fn call(func: ScalarFunc, args: &[Value]) -> Result<Value> {
    use ScalarFunc::*;
    match func {
        FormatType => {
            let oid = int_arg(args, 0)?;
            let typmod = if arg(args, 1)?.is_null() { -1 } else { int_arg(args, 1)? };
            Ok(format_type(oid, typmod).map_or(Value::Null, Value::text))
        }
        PgEncodingToChar => {
            let n = int_arg(args, 0)?;
            Ok(Value::text(if n == UTF8_ENCODING { "UTF8" } else { "" }))
        }
        ArrayToString if matches!(arg(args, 0)?, Value::Array(_)) => {
            let Value::Array(items) = arg(args, 0)? else { return Err(Error::internal("array_to_string")) };
            let sep = text_arg(args, 1)?;
            let null = if args.get(2).is_some_and(|v| !v.is_null()) { Some(text_arg(args, 2)?) } else { None };
            let elem = items.iter().find(|v| !v.is_null()).map_or(DataType::Text, Value::data_type);
            Ok(Value::text(super::array::array_to_string(items, sep, null, &elem)))
        }
        ArrayToString => {
            let items = parse_text_array(text_arg(args, 0)?)?;
            let sep = text_arg(args, 1)?;
            let null = if args.get(2).is_some_and(|v| !v.is_null()) { Some(text_arg(args, 2)?) } else { None };
            let parts: Vec<&str> = items.iter().filter_map(|i| i.as_deref().or(null)).collect();
            Ok(Value::text(parts.join(sep)))
        }
        TextArrayContains => {
            let items = parse_text_array(text_arg(args, 0)?)?;
            let probe = text_arg(args, 1)?;
            Ok(if items.iter().any(|i| i.as_deref() == Some(probe)) {
                Value::Bool(true)
            } else if items.iter().any(Option::is_none) {
                Value::Null
            } else {
                Value::Bool(false)
            })
        }
        RegexMatch | RegexIMatch => {
            let s = text_arg(args, 0)?;
            let pattern = text_arg(args, 1)?;
            Ok(Value::Bool(regex_match(s, pattern, func == RegexIMatch)?))
        }
        other => Err(Error::internal(format!("{} is not a catalog function", other.name()))),
    }
}

/// `format_type(type_oid, typmod)`: the SQL name of a type with its
/// modifier (`character varying(40)`, `numeric(8,2)`); NULL for an OID
/// that names no type Alopex has.
pub(crate) fn format_type(oid: i64, typmod: i64) -> Option<String> {
    let ty = type_of_oid(oid)?;
    let with_mod = |base: &str| {
        if typmod >= 0 { format!("{base}({})", typmod - 4) } else { base.to_string() }
    };
    Some(match ty {
        DataType::Varchar(_) => with_mod("character varying"),
        DataType::Numeric(_) if typmod >= 4 => {
            let m = typmod - 4;
            format!("numeric({},{})", (m >> 16) & 0xffff, m & 0xffff)
        }
        DataType::Vector(_) if typmod > 0 => format!("vector({typmod})"),
        DataType::Vector(_) => "vector".to_string(),
        other => other.sql_name().to_string(),
    })
}

/// The type with PostgreSQL OID `oid` (modifiers unset).
pub(crate) fn type_of_oid(oid: i64) -> Option<DataType> {
    TYPES.iter().find(|t| i64::from(t.pg_oid()) == oid).cloned()
}

/// Every type Alopex has, in `pg_type` order.
pub(crate) const TYPES: [DataType; 17] = [
    DataType::Bool,
    DataType::Bytea,
    DataType::Int8,
    DataType::Int2,
    DataType::Int4,
    DataType::Text,
    DataType::Float4,
    DataType::Float8,
    DataType::Unknown,
    DataType::Varchar(None),
    DataType::Date,
    DataType::Timestamp,
    DataType::TimestampTz,
    DataType::Interval,
    DataType::Numeric(None),
    DataType::Jsonb,
    DataType::Vector(None),
];

/// `atttypmod` of a column type: PostgreSQL's encoding of the modifier
/// (`n + 4` for `varchar(n)`, `((p << 16) | s) + 4` for `numeric(p,s)`,
/// the dimension for `vector(n)`), -1 without one.
pub(crate) fn typmod(ty: &DataType) -> i64 {
    match ty {
        DataType::Varchar(Some(n)) => i64::from(*n) + 4,
        DataType::Numeric(Some((p, s))) => ((i64::from(*p) << 16) | i64::from(*s)) + 4,
        DataType::Vector(Some(n)) => i64::from(*n),
        _ => -1,
    }
}

/// The elements of an array in PostgreSQL's text form (`{a,"b c",NULL}`);
/// catalog columns that are arrays in PostgreSQL hold this form here.
pub(crate) fn parse_text_array(s: &str) -> Result<Vec<Option<String>>> {
    crate::expr::cast::array::parse(s)
}

/// Whether `s` matches the POSIX regular expression `pattern` anywhere.
fn regex_match(s: &str, pattern: &str, case_insensitive: bool) -> Result<bool> {
    PATTERNS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, _, re)) = cache.iter().find(|(p, ci, _)| p == pattern && *ci == case_insensitive) {
            return Ok(re.is_match(s));
        }
        let re = RegexBuilder::new(pattern).case_insensitive(case_insensitive).build().map_err(|e| {
            Error::new(SqlState("2201B"), format!("invalid regular expression: {}", first_line(&e.to_string())))
        })?;
        let matched = re.is_match(s);
        if cache.len() >= CACHE_SIZE {
            cache.remove(0);
        }
        cache.push((pattern.to_string(), case_insensitive, re));
        Ok(matched)
    })
}

fn first_line(s: &str) -> &str {
    s.lines().last().unwrap_or(s).trim_start_matches("error: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_type_names_types_with_modifiers() {
        assert_eq!(format_type(23, -1).as_deref(), Some("integer"));
        assert_eq!(format_type(1043, 44).as_deref(), Some("character varying(40)"));
        assert_eq!(format_type(1043, -1).as_deref(), Some("character varying"));
        assert_eq!(format_type(1700, typmod(&DataType::Numeric(Some((8, 2))))).as_deref(), Some("numeric(8,2)"));
        assert_eq!(format_type(1700, -1).as_deref(), Some("numeric"));
        assert_eq!(format_type(25, -1).as_deref(), Some("text"));
        assert_eq!(format_type(1184, -1).as_deref(), Some("timestamp with time zone"));
        assert_eq!(format_type(16385, 3).as_deref(), Some("vector(3)"));
        assert_eq!(format_type(999_999, -1), None);
    }

    #[test]
    fn text_arrays_parse() {
        assert_eq!(parse_text_array("{}").unwrap(), Vec::<Option<String>>::new());
        assert_eq!(
            parse_text_array("{a, \"b,c\",NULL,\"NULL\"}").unwrap(),
            vec![Some("a".into()), Some("b,c".into()), None, Some("NULL".into())]
        );
        assert!(parse_text_array("a,b").is_err());
        assert!(parse_text_array("{\"a}").is_err());
        let v = call(ScalarFunc::ArrayToString, &[Value::text("{1,NULL,3}"), Value::text("-"), Value::text("*")]);
        assert_eq!(v.unwrap(), Value::text("1-*-3"));
    }

    #[test]
    fn regular_expressions() {
        assert!(regex_match("users", "^(users)$", false).unwrap());
        assert!(!regex_match("pg_toast", "^public", false).unwrap());
        assert!(regex_match("USERS", "^us", true).unwrap());
        let e = regex_match("x", "(", false).unwrap_err();
        assert_eq!(e.state, SqlState("2201B"));
    }
}
