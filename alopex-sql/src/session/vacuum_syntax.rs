//! Splitting SQL text into statements, with PostgreSQL's VACUUM and ANALYZE.
//!
//! sqlparser parses nearly everything a PostgreSQL client sends, but its
//! VACUUM is Redshift's (`VACUUM [FULL] [SORT ONLY] table`): PostgreSQL's
//! `VACUUM ANALYZE pgbench_accounts`, which pgbench sends while it
//! initializes, reads `ANALYZE` as the table name and then fails. Its
//! ANALYZE is Hive's, without `VERBOSE` or the parenthesized options.
//!
//! So statements are split here, with the same loop as
//! `Parser::parse_statements`: a statement that starts with VACUUM or
//! ANALYZE is parsed by the grammar below, every other one by sqlparser.
//! The result is still sqlparser's AST, so the rest of the engine sees one
//! statement type:
//!
//! ```text
//! VACUUM [ ( option [, …] ) ] [FULL] [FREEZE] [VERBOSE] [ANALYZE] [table [(column, …)]]
//! ANALYZE [ ( option [, …] ) ] [VERBOSE] [table [(column, …)]]
//! ```
//!
//! VACUUM without ANALYZE becomes [`VacuumStatement`]; with ANALYZE it
//! becomes [`Analyze`] with `compute_statistics` set, which the binder
//! (`plan/bind/maintenance.rs`) turns into an ANALYZE tagged VACUUM. One
//! table per statement: the AST holds one, and PostgreSQL's list form
//! (`VACUUM a, b`) is refused with a message that says so.

use sqlparser::ast::{Analyze, Ident, ObjectName, Statement, VacuumStatement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// `CREATE USER`, which sqlparser reads as Snowflake's; `users/syntax.rs`
/// parses it as PostgreSQL's.
fn is_create_user(p: &Parser<'_>) -> bool {
    matches!(&p.peek_nth_token_ref(1).token, Token::Word(w) if w.keyword == Keyword::USER)
}

/// Parses every statement of `sql` (see the module documentation).
pub(crate) fn parse_statements(sql: &str) -> Result<Vec<Statement>, ParserError> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(sql)?;
    let mut statements = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while p.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        let next = p.peek_token();
        match &next.token {
            Token::EOF => break,
            Token::Word(w) if expecting_delimiter && w.keyword == Keyword::END => break,
            _ => {}
        }
        if expecting_delimiter {
            return p.expected("end of statement", next);
        }
        let statement = match &next.token {
            Token::Word(w) if w.keyword == Keyword::VACUUM => maintenance(&mut p, Command::Vacuum)?,
            Token::Word(w) if w.keyword == Keyword::ANALYZE || w.value.eq_ignore_ascii_case("analyse") => {
                maintenance(&mut p, Command::Analyze)?
            }
            Token::Word(w) if w.keyword == Keyword::CREATE && is_create_user(&p) => {
                crate::users::parse_create_user(&mut p)?
            }
            _ => p.parse_statement()?,
        };
        statements.push(statement);
        expecting_delimiter = true;
    }
    Ok(statements)
}

#[derive(Clone, Copy, PartialEq)]
enum Command {
    Vacuum,
    Analyze,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Vacuum => "VACUUM",
            Command::Analyze => "ANALYZE",
        }
    }
}

/// One VACUUM or ANALYZE statement, from its first keyword.
fn maintenance(p: &mut Parser<'_>, command: Command) -> Result<Statement, ParserError> {
    p.next_token(); // VACUUM or ANALYZE
    let mut full = false;
    let mut analyze = command == Command::Analyze;
    if p.consume_token(&Token::LParen) {
        loop {
            let option = p.parse_identifier()?.value.to_ascii_lowercase();
            let value = option_value(p)?;
            match (command, option.as_str()) {
                (Command::Vacuum, "full") => full = boolean(&option, value.as_deref())?,
                (Command::Vacuum, "analyze" | "analyse") => analyze = boolean(&option, value.as_deref())?,
                (
                    Command::Vacuum,
                    "freeze" | "disable_page_skipping" | "process_toast" | "process_main" | "truncate",
                )
                | (_, "verbose" | "skip_locked") => {
                    boolean(&option, value.as_deref())?;
                }
                (Command::Vacuum, "index_cleanup") => match value.as_deref() {
                    None | Some("auto" | "on" | "off" | "true" | "false") => {}
                    Some(v) => return Err(bad_value(&option, v)),
                },
                (Command::Vacuum, "parallel") => match value.as_deref().map(str::parse::<u32>) {
                    Some(Ok(n)) if n <= 1024 => {}
                    _ => return Err(bad_value(&option, value.as_deref().unwrap_or(""))),
                },
                _ => {
                    return Err(ParserError::ParserError(format!(
                        "unrecognized {} option \"{option}\"",
                        command.name()
                    )));
                }
            }
            if !p.consume_token(&Token::Comma) {
                p.expect_token(&Token::RParen)?;
                break;
            }
        }
    } else {
        if command == Command::Vacuum {
            full = p.parse_keyword(Keyword::FULL);
            let _freeze = p.parse_keyword(Keyword::FREEZE);
        }
        let _verbose = p.parse_keyword(Keyword::VERBOSE);
        if command == Command::Vacuum && (p.parse_keyword(Keyword::ANALYZE) || parse_word(p, "analyse")) {
            analyze = true;
        }
    }
    let mut table_name: Option<ObjectName> = None;
    let mut columns: Vec<Ident> = Vec::new();
    if !matches!(p.peek_token().token, Token::EOF | Token::SemiColon) {
        table_name = Some(p.parse_object_name(false)?);
        if p.consume_token(&Token::LParen) {
            columns = p.parse_comma_separated(Parser::parse_identifier)?;
            p.expect_token(&Token::RParen)?;
        }
        if p.peek_token().token == Token::Comma {
            return Err(ParserError::ParserError(format!(
                "{} of several tables in one statement is not supported: run one {} per table",
                command.name(),
                command.name()
            )));
        }
    }
    if !analyze {
        if !columns.is_empty() {
            return Err(ParserError::ParserError(
                "ANALYZE option must be specified when a column list is provided".into(),
            ));
        }
        return Ok(Statement::Vacuum(VacuumStatement {
            full,
            sort_only: false,
            delete_only: false,
            reindex: false,
            recluster: false,
            table_name,
            threshold: None,
            boost: false,
        }));
    }
    Ok(Statement::Analyze(Analyze {
        table_name,
        partitions: None,
        for_columns: false,
        columns,
        cache_metadata: false,
        noscan: false,
        compute_statistics: command == Command::Vacuum,
        has_table_keyword: false,
    }))
}

/// Consumes the word `word` (case-insensitive) if it comes next.
fn parse_word(p: &mut Parser<'_>, word: &str) -> bool {
    match p.peek_token().token {
        Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) => {
            p.next_token();
            true
        }
        _ => false,
    }
}

/// The value after an option name, if any, lower-cased: a word, a number
/// or a string.
fn option_value(p: &mut Parser<'_>) -> Result<Option<String>, ParserError> {
    let next = p.peek_token();
    let value = match &next.token {
        Token::Comma | Token::RParen => return Ok(None),
        Token::Word(w) => w.value.to_ascii_lowercase(),
        Token::Number(n, _) => n.clone(),
        Token::SingleQuotedString(s) => s.to_ascii_lowercase(),
        _ => return p.expected("an option value", next),
    };
    p.next_token();
    Ok(Some(value))
}

/// A boolean option value (none means true), as PostgreSQL spells them.
fn boolean(option: &str, value: Option<&str>) -> Result<bool, ParserError> {
    match value {
        None | Some("true" | "on" | "1" | "yes") => Ok(true),
        Some("false" | "off" | "0" | "no") => Ok(false),
        Some(v) => Err(bad_value(option, v)),
    }
}

fn bad_value(option: &str, value: &str) -> ParserError {
    ParserError::ParserError(format!("invalid value \"{value}\" for option \"{option}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(sql: &str) -> Statement {
        let mut s = parse_statements(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(s.len(), 1, "{sql}");
        s.remove(0)
    }

    fn table(s: &Statement) -> Option<String> {
        match s {
            Statement::Vacuum(v) => v.table_name.as_ref().map(|n| n.to_string()),
            Statement::Analyze(a) => a.table_name.as_ref().map(|n| n.to_string()),
            _ => None,
        }
    }

    #[test]
    fn pgbench_vacuum_forms() {
        let s = one("vacuum analyze pgbench_accounts");
        assert!(matches!(&s, Statement::Analyze(a) if a.compute_statistics), "{s:?}");
        assert_eq!(table(&s).as_deref(), Some("pgbench_accounts"));
        let s = one("vacuum pgbench_branches");
        assert!(matches!(&s, Statement::Vacuum(v) if !v.full), "{s:?}");
        assert_eq!(table(&s).as_deref(), Some("pgbench_branches"));
        assert!(matches!(one("VACUUM"), Statement::Vacuum(VacuumStatement { table_name: None, .. })));
        assert!(matches!(one("VACUUM FULL FREEZE VERBOSE t"), Statement::Vacuum(v) if v.full));
    }

    #[test]
    fn options_in_parentheses() {
        let s = one("VACUUM (VERBOSE, ANALYZE true, INDEX_CLEANUP off, PARALLEL 2) t (a, b)");
        let Statement::Analyze(a) = &s else { panic!("{s:?}") };
        assert_eq!(a.columns.len(), 2);
        assert!(matches!(one("VACUUM (ANALYZE off) t"), Statement::Vacuum(_)));
        let s = one("ANALYZE (VERBOSE) t");
        assert!(matches!(&s, Statement::Analyze(a) if !a.compute_statistics), "{s:?}");
        assert!(matches!(one("analyse verbose t (x)"), Statement::Analyze(a) if a.columns.len() == 1));
        assert!(matches!(one("ANALYZE"), Statement::Analyze(Analyze { table_name: None, .. })));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |sql: &str| parse_statements(sql).expect_err(sql).to_string();
        assert!(err("VACUUM (FROB) t").contains("unrecognized VACUUM option \"frob\""));
        assert!(err("ANALYZE (FULL) t").contains("unrecognized ANALYZE option \"full\""));
        assert!(err("VACUUM (FULL maybe) t").contains("invalid value \"maybe\""));
        assert!(err("VACUUM a, b").contains("several tables"));
        assert!(err("VACUUM t (a)").contains("ANALYZE option must be specified"));
        assert!(err("VACUUM t u").contains("end of statement"));
    }

    #[test]
    fn other_statements_still_split() {
        let s = parse_statements("SELECT 1; vacuum analyze t; ; UPDATE t SET a = 1").expect("parses");
        assert_eq!(s.len(), 3);
        assert!(matches!(s[0], Statement::Query(_)));
        assert!(matches!(s[1], Statement::Analyze(_)));
        assert!(matches!(s[2], Statement::Update { .. }));
        assert!(parse_statements("EXPLAIN ANALYZE SELECT 1").is_ok());
    }
}
