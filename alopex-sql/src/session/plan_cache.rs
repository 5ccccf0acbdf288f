//! The plan cache: parsed statements by SQL text, bound and optimized plans
//! by (SQL text, statement index, catalog version).
//!
//! Parsing and binding cost more than a point lookup, so a prepared
//! statement that runs many times must do neither again. Plans depend on the
//! catalog, so a cached plan is keyed by the catalog version it was bound
//! against; DDL bumps the version and old plans simply stop matching (and
//! age out of the LRU).

use std::sync::Arc;

use quick_cache::sync::Cache;
use sqlparser::ast::Statement;

use crate::error::{Error, Result, SqlState};
use crate::plan::BoundStatement;

/// Parsed statements and bound plans, shared by every session.
pub(crate) struct PlanCache {
    parsed: Cache<Arc<str>, Arc<Vec<Statement>>>,
    bound: Cache<(Arc<str>, usize, u64), Arc<BoundStatement>>,
}

impl PlanCache {
    pub(crate) fn new(entries: usize) -> PlanCache {
        let entries = entries.max(16);
        PlanCache { parsed: Cache::new(entries), bound: Cache::new(entries) }
    }

    /// The parsed statements of `sql`.
    pub(crate) fn parse(&self, sql: &str) -> Result<Arc<Vec<Statement>>> {
        if let Some(p) = self.parsed.get(sql) {
            return Ok(p);
        }
        let parsed = Arc::new(parse(sql)?);
        self.parsed.insert(Arc::from(sql), parsed.clone());
        Ok(parsed)
    }

    pub(crate) fn bound(&self, sql: &str, index: usize, version: u64) -> Option<Arc<BoundStatement>> {
        self.bound.get(&(Arc::from(sql), index, version))
    }

    pub(crate) fn insert_bound(&self, sql: &str, index: usize, version: u64, stmt: Arc<BoundStatement>) {
        self.bound.insert((Arc::from(sql), index, version), stmt);
    }
}

/// Parses SQL text with the PostgreSQL dialect. Syntax errors are 42601 with
/// the 1-based character position of the offending token.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::{Parser, ParserError};
    Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| {
        let msg = match &e {
            ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
            ParserError::RecursionLimitExceeded => "statement is nested too deeply".to_string(),
        };
        let mut err = Error::new(SqlState::SYNTAX_ERROR, format!("syntax error: {msg}"));
        if let Some(pos) = position_of(sql, &msg) {
            err = err.at(pos);
        }
        err
    })
}

/// sqlparser reports "… at Line: L, Column: C"; turn that into a 1-based
/// character offset into `sql`.
fn position_of(sql: &str, msg: &str) -> Option<u32> {
    let at = msg.rfind("Line: ")?;
    let rest = &msg[at + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let line: usize = line.trim().parse().ok()?;
    let col: usize = rest.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()?;
    let mut offset = 0usize;
    for (i, l) in sql.split('\n').enumerate() {
        if i + 1 == line {
            return u32::try_from(offset + col.min(l.chars().count() + 1)).ok();
        }
        offset += l.chars().count() + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_have_sqlstate_and_position() {
        let err = parse("SELECT 1;\nSELEC x").unwrap_err();
        assert_eq!(err.state, SqlState::SYNTAX_ERROR);
        assert!(err.position.is_some(), "{err}");
    }
}
