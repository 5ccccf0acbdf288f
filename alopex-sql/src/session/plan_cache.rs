//! The plan cache: parsed statements by SQL text, each with its bound and
//! optimized plan and the catalog version that plan was bound against.
//!
//! Parsing and binding cost more than a point lookup, so a prepared
//! statement that runs many times must do neither again. Plans depend on the
//! catalog, so a cached plan is keyed by the catalog version it was bound
//! against; DDL bumps the version and old plans simply stop matching (and
//! age out of the LRU).

use std::sync::Arc;

use parking_lot::Mutex;
use quick_cache::sync::Cache;
use sqlparser::ast::Statement;

use crate::error::{Error, Result, SqlState};
use crate::plan::BoundStatement;

/// Parsed statements and their bound plans, shared by every session, keyed
/// by SQL text (looked up by `&str`, so a hit allocates nothing).
pub(crate) struct PlanCache {
    parsed: Cache<Arc<str>, Arc<Parsed>>,
}

/// A statement's plan and the catalog version it was bound against.
type BoundSlot = Option<(u64, Arc<BoundStatement>)>;

/// The statements of one SQL text, with a bound plan per statement and the
/// catalog version it was bound against.
pub(crate) struct Parsed {
    /// The SQL text (error positions are computed from it).
    pub(crate) sql: Arc<str>,
    statements: Vec<Statement>,
    bound: Mutex<Vec<BoundSlot>>,
}

impl std::ops::Deref for Parsed {
    type Target = [Statement];
    fn deref(&self) -> &[Statement] {
        &self.statements
    }
}

impl Parsed {
    /// The plan of statement `index` bound against catalog `version`.
    pub(crate) fn bound(&self, index: usize, version: u64) -> Option<Arc<BoundStatement>> {
        match self.bound.lock().get(index) {
            Some(Some((v, b))) if *v == version => Some(b.clone()),
            _ => None,
        }
    }

    /// Remembers the plan of statement `index` for catalog `version`.
    pub(crate) fn set_bound(&self, index: usize, version: u64, stmt: Arc<BoundStatement>) {
        if let Some(slot) = self.bound.lock().get_mut(index) {
            *slot = Some((version, stmt));
        }
    }
}

impl PlanCache {
    pub(crate) fn new(entries: usize) -> PlanCache {
        PlanCache { parsed: Cache::new(entries.max(16)) }
    }

    /// The parsed statements of `sql`.
    pub(crate) fn parse(&self, sql: &str) -> Result<Arc<Parsed>> {
        if let Some(p) = self.parsed.get(sql) {
            return Ok(p);
        }
        let statements = parse(sql)?;
        let bound = Mutex::new(vec![None; statements.len()]);
        let text: Arc<str> = Arc::from(sql);
        let parsed = Arc::new(Parsed { sql: text.clone(), statements, bound });
        self.parsed.insert(text, parsed.clone());
        Ok(parsed)
    }
}

/// Parses SQL text with the PostgreSQL dialect (VACUUM and ANALYZE with
/// PostgreSQL's grammar, see `vacuum_syntax.rs`). Syntax errors are 42601 with
/// the 1-based character position of the offending token.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    use sqlparser::parser::ParserError;
    super::vacuum_syntax::parse_statements(sql).map_err(|e| {
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
    let line: u64 = line.trim().parse().ok()?;
    let col: u64 = rest.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()?;
    char_offset(sql, line, col)
}

/// The 1-based character position of (line, column) in `sql`.
pub(crate) fn char_offset(sql: &str, line: u64, column: u64) -> Option<u32> {
    let mut offset = 0usize;
    for (i, l) in sql.split('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = usize::try_from(column).ok()?;
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
