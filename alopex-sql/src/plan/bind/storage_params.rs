//! Storage parameters: `CREATE TABLE … WITH (fillfactor = 100)`.
//!
//! PostgreSQL's table storage parameters tune its heap: how full to pack a
//! page (`fillfactor`), when autovacuum runs, when to TOAST. Alopex has no
//! heap pages: rows live in an LSM tree whose SSTable blocks are always
//! written full and whose garbage is dropped by compaction. So these
//! parameters have nothing to tune, but scripts and tools set them (pgbench
//! creates its tables `WITH (fillfactor=100)`), and refusing them would
//! break those tools for no gain.
//!
//! They are therefore *validated and ignored*: a known parameter must have a
//! value PostgreSQL would accept (`fillfactor` between 10 and 100, booleans
//! as booleans), and an unknown one is PostgreSQL's error, `22023
//! unrecognized parameter "x"`, so a typo is never silently accepted.
//! Other dialects' table options (`ENGINE=…`, `OPTIONS(…)`) are 0A000.

use sqlparser::ast::{CreateTableOptions, Expr, SqlOption, UnaryOperator, Value as AstValue};

use crate::error::{Error, Result};
use crate::sql_err;

/// What a parameter's value must be.
enum Kind {
    /// An integer in a range.
    Int(i64, i64),
    /// A boolean.
    Bool,
    /// A real number in a range.
    Real(f64, f64),
}

/// PostgreSQL 15's table storage parameters (heap and TOAST).
const PARAMETERS: &[(&str, Kind)] = &[
    ("fillfactor", Kind::Int(10, 100)),
    ("toast_tuple_target", Kind::Int(128, 8160)),
    ("parallel_workers", Kind::Int(0, 1024)),
    ("autovacuum_enabled", Kind::Bool),
    ("toast.autovacuum_enabled", Kind::Bool),
    ("vacuum_index_cleanup", Kind::Bool),
    ("vacuum_truncate", Kind::Bool),
    ("user_catalog_table", Kind::Bool),
    ("autovacuum_vacuum_threshold", Kind::Int(0, i32::MAX as i64)),
    ("autovacuum_vacuum_insert_threshold", Kind::Int(-1, i32::MAX as i64)),
    ("autovacuum_analyze_threshold", Kind::Int(0, i32::MAX as i64)),
    ("autovacuum_vacuum_cost_limit", Kind::Int(1, 10000)),
    ("autovacuum_freeze_min_age", Kind::Int(0, 1_000_000_000)),
    ("autovacuum_freeze_max_age", Kind::Int(100_000, 2_000_000_000)),
    ("autovacuum_freeze_table_age", Kind::Int(0, 2_000_000_000)),
    ("log_autovacuum_min_duration", Kind::Int(-1, i32::MAX as i64)),
    ("autovacuum_vacuum_scale_factor", Kind::Real(0.0, 100.0)),
    ("autovacuum_vacuum_insert_scale_factor", Kind::Real(0.0, 100.0)),
    ("autovacuum_analyze_scale_factor", Kind::Real(0.0, 100.0)),
    ("autovacuum_vacuum_cost_delay", Kind::Real(0.0, 100.0)),
];

/// Checks the storage parameters of CREATE TABLE (see the module
/// documentation); nothing is stored.
pub(super) fn check_table_options(options: &CreateTableOptions) -> Result<()> {
    let list = match options {
        CreateTableOptions::None => return Ok(()),
        CreateTableOptions::With(list) => list,
        other => return Err(Error::unsupported(format!("the table options {other}"))),
    };
    for option in list {
        let SqlOption::KeyValue { key, value } = option else {
            return Err(Error::unsupported(format!("the table option {option}")));
        };
        check_parameter(&key.value.to_ascii_lowercase(), value)?;
    }
    Ok(())
}

fn check_parameter(name: &str, value: &Expr) -> Result<()> {
    let Some((_, kind)) = PARAMETERS.iter().find(|(n, _)| *n == name) else {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "unrecognized parameter \"{name}\""));
    };
    let text = value_text(value);
    match kind {
        Kind::Bool => match text.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "on" | "yes" | "1" | "false" | "off" | "no" | "0") => Ok(()),
            _ => Err(sql_err!(INVALID_PARAMETER_VALUE, "invalid value for boolean option \"{name}\": {value}")),
        },
        Kind::Int(lo, hi) => match text.as_deref().map(str::parse::<i64>) {
            Some(Ok(v)) if (*lo..=*hi).contains(&v) => Ok(()),
            Some(Ok(v)) => Err(out_of_bounds(name, &v.to_string(), &lo.to_string(), &hi.to_string())),
            _ => Err(sql_err!(INVALID_PARAMETER_VALUE, "invalid value for integer option \"{name}\": {value}")),
        },
        Kind::Real(lo, hi) => match text.as_deref().map(str::parse::<f64>) {
            Some(Ok(v)) if (*lo..=*hi).contains(&v) => Ok(()),
            Some(Ok(v)) => Err(out_of_bounds(name, &v.to_string(), &lo.to_string(), &hi.to_string())),
            _ => Err(sql_err!(INVALID_PARAMETER_VALUE, "invalid value for floating point option \"{name}\": {value}")),
        },
    }
}

fn out_of_bounds(name: &str, value: &str, lo: &str, hi: &str) -> Error {
    sql_err!(INVALID_PARAMETER_VALUE, "value {value} out of bounds for option \"{name}\"")
        .with_detail(format!("Valid values are between \"{lo}\" and \"{hi}\"."))
}

/// The value as PostgreSQL reads a reloption: a number, a word or a string.
fn value_text(value: &Expr) -> Option<String> {
    match value {
        Expr::Value(v) => match &v.value {
            AstValue::Number(n, _) => Some(n.clone()),
            AstValue::SingleQuotedString(s) => Some(s.clone()),
            AstValue::Boolean(b) => Some(b.to_string()),
            _ => None,
        },
        Expr::Identifier(id) => Some(id.value.clone()),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => value_text(expr).map(|t| format!("-{t}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use crate::error::SqlState;

    #[test]
    fn known_parameters_are_checked_and_accepted() {
        let cat = catalog(vec![]);
        bind_sql(&cat, "CREATE TABLE a (x INT NOT NULL, y INT) WITH (fillfactor=100)");
        bind_sql(&cat, "CREATE TABLE a (x INT) WITH (fillfactor = 10, autovacuum_enabled = off)");
        bind_sql(&cat, "CREATE TABLE a (x INT) WITH (autovacuum_vacuum_scale_factor = 0.05)");
        let err = |sql: &str| bind_sql_err(&cat, sql);
        let e = err("CREATE TABLE a (x INT) WITH (fillfactor = 5)");
        assert_eq!(e.state, SqlState::INVALID_PARAMETER_VALUE);
        assert!(e.to_string().contains("value 5 out of bounds for option \"fillfactor\""), "{e}");
        let e = err("CREATE TABLE a (x INT) WITH (fillfactr = 90)");
        assert_eq!(e.state, SqlState::INVALID_PARAMETER_VALUE);
        assert!(e.to_string().contains("unrecognized parameter \"fillfactr\""), "{e}");
        assert_eq!(
            err("CREATE TABLE a (x INT) WITH (autovacuum_enabled = 7)").state,
            SqlState::INVALID_PARAMETER_VALUE
        );
        assert_eq!(err("CREATE TABLE a (x INT) WITH (fillfactor = 'lots')").state, SqlState::INVALID_PARAMETER_VALUE);
    }
}
