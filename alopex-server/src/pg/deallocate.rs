//! `DEALLOCATE [PREPARE] { name | ALL }`: forgetting prepared statements.
//!
//! In PostgreSQL, statements prepared with the protocol's Parse message and
//! with SQL `PREPARE` share one namespace per connection, and `DEALLOCATE`
//! removes from it. Drivers rely on that: psycopg sends `DEALLOCATE ALL`
//! after DDL or a rollback to drop the statements it prepared
//! automatically, and fails the application's call if the server refuses.
//! The statements live in pgwire's per-connection store, which the SQL
//! engine never sees, so the connection answers `DEALLOCATE` itself; it
//! keeps the names of the statements it holds (the store cannot list
//! them) for `ALL`.
//!
//! An unknown name is 26000 (`prepared statement "x" does not exist`), as
//! in PostgreSQL.

use alopex_sql::{Error, SqlState};

/// What a `DEALLOCATE` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Deallocate {
    /// Every prepared statement of the connection.
    All,
    /// One statement, by name.
    Named(String),
}

/// Recognises one `DEALLOCATE` statement (an optional `;` at the end);
/// None for any other SQL.
pub(super) fn parse_deallocate(sql: &str) -> Option<Deallocate> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let (word, rest) = split_word(sql)?;
    if !word.eq_ignore_ascii_case("deallocate") {
        return None;
    }
    let rest = rest.trim_start();
    let rest = match split_word(rest) {
        Some((w, after)) if w.eq_ignore_ascii_case("prepare") => after.trim_start(),
        _ => rest,
    };
    if rest.eq_ignore_ascii_case("all") {
        return Some(Deallocate::All);
    }
    name(rest).map(Deallocate::Named)
}

/// The first word (letters, digits, `_`) and the rest.
fn split_word(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// An identifier: `"Quoted ""name"""` as written, a bare one folded to
/// lower case; None if anything follows it.
fn name(s: &str) -> Option<String> {
    if let Some(body) = s.strip_prefix('"') {
        let body = body.strip_suffix('"')?;
        if body.replace("\"\"", "").contains('"') {
            return None;
        }
        return Some(body.replace("\"\"", "\""));
    }
    let (word, rest) = split_word(s)?;
    rest.is_empty().then(|| word.to_lowercase())
}

/// The error for a name the connection does not hold.
pub(super) fn unknown(name: &str) -> Error {
    Error::new(SqlState::UNDEFINED_PREPARED_STATEMENT, format!("prepared statement \"{name}\" does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_postgres_accepts() {
        assert_eq!(parse_deallocate("DEALLOCATE ALL"), Some(Deallocate::All));
        assert_eq!(parse_deallocate("  deallocate prepare all ; "), Some(Deallocate::All));
        assert_eq!(parse_deallocate("DEALLOCATE _pg3_0"), Some(Deallocate::Named("_pg3_0".into())));
        assert_eq!(parse_deallocate("DEALLOCATE PREPARE Stmt1;"), Some(Deallocate::Named("stmt1".into())));
        assert_eq!(parse_deallocate("DEALLOCATE \"My \"\"S\"\"\""), Some(Deallocate::Named("My \"S\"".into())));
        assert_eq!(parse_deallocate("DEALLOCATE a b"), None);
        assert_eq!(parse_deallocate("SELECT 1"), None);
        assert_eq!(parse_deallocate("DEALLOCATED x"), None);
        assert_eq!(parse_deallocate("DEALLOCATE"), None);
    }
}
