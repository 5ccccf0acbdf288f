//! Binding the statements that are not queries or DDL: transactions,
//! SET / RESET / SHOW, SHOW TABLES, EXPLAIN options, and the entry point to
//! the virtual `information_schema` and `pg_catalog` tables.
//!
//! Drivers and `psql` send a stream of session chatter when they connect
//! (`SET client_encoding`, `SET datestyle`, `SHOW server_version`,
//! `SET SESSION CHARACTERISTICS …`). None of it may fail, so every SET of a
//! plain name becomes [`BoundStatement::SetVariable`] with the value as
//! text, and every SHOW a [`BoundStatement::ShowVariable`]; the session
//! decides which names mean something.
//!
//! Isolation levels map onto the two that `alopex-core` has. PostgreSQL's
//! REPEATABLE READ *is* snapshot isolation; READ COMMITTED and READ
//! UNCOMMITTED are weaker than snapshot isolation, so running them as
//! snapshot isolation only removes anomalies the application allowed.

use alopex_core::IsolationLevel;
use sqlparser::ast::{self, Statement, TransactionIsolationLevel, TransactionMode};

use super::names::{ident, name_parts};
use super::{Binder, BoundStatement, Scope, statement_kind, views};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Node, OutputColumn, Plan};
use crate::sql_err;
use crate::types::{DataType, Value};

/// The table a schema-qualified name refers to, when it is one of the
/// virtual tables of `information_schema` or `pg_catalog`: rows computed
/// from the binder's catalog snapshot, and a scope qualified by the table's
/// name. `Ok(None)` for every other name (schema and name already folded).
// Called by the query binder (query.rs) for schema-qualified names.
pub(crate) fn virtual_table(binder: &mut Binder<'_>, schema: &str, name: &str) -> Result<Option<(Node, Scope)>> {
    if schema == "pg_catalog" && super::pg_catalog::is_role_view(name) {
        // Live rows: never cached (see `crate::users::roles`).
        binder.settings_use.used = true;
        let roles = match binder.roles {
            Some(read) => read()?,
            None => crate::users::owner_only(),
        };
        return Ok(super::pg_catalog::role_view(name, &roles).map(|v| v.finish(name)));
    }
    Ok(views::build(binder.catalog, schema, name))
}

/// BEGIN, COMMIT, ROLLBACK and the savepoint statements.
pub(super) fn transaction(stmt: &Statement) -> Result<BoundStatement> {
    match stmt {
        Statement::StartTransaction { modes, statements, exception, modifier, .. } => {
            if !statements.is_empty() || exception.is_some() || modifier.is_some() {
                return Err(Error::unsupported("procedural BEGIN … END blocks"));
            }
            Ok(BoundStatement::Begin { isolation: isolation(modes)? })
        }
        Statement::Commit { chain, modifier, .. } => {
            if *chain || modifier.is_some() {
                return Err(Error::unsupported("COMMIT AND CHAIN"));
            }
            Ok(BoundStatement::Commit)
        }
        Statement::Rollback { chain, savepoint } => {
            if *chain {
                return Err(Error::unsupported("ROLLBACK AND CHAIN"));
            }
            match savepoint {
                Some(name) => Ok(BoundStatement::RollbackTo { name: ident(name) }),
                None => Ok(BoundStatement::Rollback),
            }
        }
        Statement::Savepoint { name } => Ok(BoundStatement::Savepoint { name: ident(name) }),
        Statement::ReleaseSavepoint { name } => Ok(BoundStatement::Release { name: ident(name) }),
        other => Err(Error::unsupported(statement_kind(other))),
    }
}

/// The isolation level among transaction modes (the last one wins, as in
/// PostgreSQL); READ WRITE is the default and READ ONLY is refused.
fn isolation(modes: &[TransactionMode]) -> Result<Option<IsolationLevel>> {
    let mut level = None;
    for mode in modes {
        match mode {
            TransactionMode::IsolationLevel(l) => {
                level = Some(match l {
                    TransactionIsolationLevel::Serializable => IsolationLevel::Serializable,
                    TransactionIsolationLevel::RepeatableRead
                    | TransactionIsolationLevel::ReadCommitted
                    | TransactionIsolationLevel::ReadUncommitted
                    | TransactionIsolationLevel::Snapshot => IsolationLevel::Snapshot,
                })
            }
            TransactionMode::AccessMode(ast::TransactionAccessMode::ReadWrite) => {}
            TransactionMode::AccessMode(ast::TransactionAccessMode::ReadOnly) => {
                return Err(Error::unsupported("READ ONLY transactions"));
            }
        }
    }
    Ok(level)
}

/// SET.
pub(super) fn set(set: &ast::Set) -> Result<BoundStatement> {
    match set {
        ast::Set::SetTransaction { modes, snapshot, session } => {
            if snapshot.is_some() {
                return Err(Error::unsupported("SET TRANSACTION SNAPSHOT"));
            }
            match isolation(modes)? {
                Some(isolation) => Ok(BoundStatement::SetIsolation { isolation, session: *session }),
                // Only an access mode (READ WRITE): nothing changes.
                None => Ok(BoundStatement::SetVariable { name: "transaction_read_only".into(), value: "off".into() }),
            }
        }
        // LOCAL (until the end of the transaction) is treated like SESSION.
        ast::Set::SingleAssignment { variable, values, hivevar: false, .. } => {
            let name = name_parts(variable)?.join(".");
            let value = values.iter().map(value_text).collect::<Result<Vec<_>>>()?.join(", ");
            Ok(BoundStatement::SetVariable { name, value })
        }
        ast::Set::SetTimeZone { value, .. } => {
            Ok(BoundStatement::SetVariable { name: "timezone".into(), value: value_text(value)? })
        }
        ast::Set::SetNames { charset_name, .. } => {
            Ok(BoundStatement::SetVariable { name: "client_encoding".into(), value: charset_name.value.clone() })
        }
        ast::Set::SetNamesDefault {} => {
            Ok(BoundStatement::SetVariable { name: "client_encoding".into(), value: "DEFAULT".into() })
        }
        other => Err(Error::unsupported(format!("{other}"))),
    }
}

/// A SET value as text: strings unquoted, numbers as written, unquoted
/// words folded to lower case (the keyword DEFAULT stays `DEFAULT`).
fn value_text(e: &ast::Expr) -> Result<String> {
    Ok(match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s)
            | ast::Value::DoubleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::Number(s, _) => s.clone(),
            ast::Value::Boolean(b) => if *b { "on" } else { "off" }.into(),
            other => other.to_string(),
        },
        ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") => {
            "DEFAULT".into()
        }
        ast::Expr::Identifier(id) => ident(id),
        ast::Expr::CompoundIdentifier(ids) => ids.iter().map(ident).collect::<Vec<_>>().join("."),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => format!("-{}", value_text(expr)?),
        other => return Err(Error::unsupported(format!("the SET value {other}"))),
    })
}

/// RESET name / RESET ALL: SET name TO DEFAULT.
pub(super) fn reset(reset: &ast::ResetStatement) -> Result<BoundStatement> {
    let name = match &reset.reset {
        ast::Reset::ALL => "all".to_string(),
        ast::Reset::ConfigurationParameter(n) => name_parts(n)?.join("."),
        ast::Reset::SessionAuthorization => return Err(Error::unsupported("RESET SESSION AUTHORIZATION")),
    };
    Ok(BoundStatement::SetVariable { name, value: "DEFAULT".into() })
}

/// SHOW name. The multi-word names PostgreSQL accepts map to their
/// parameter names (`SHOW TRANSACTION ISOLATION LEVEL` is
/// `transaction_isolation`, `SHOW TIME ZONE` is `timezone`).
pub(super) fn show(variable: &[ast::Ident]) -> Result<BoundStatement> {
    let words: Vec<String> = variable.iter().map(ident).collect();
    let name = match words.join(" ").as_str() {
        "transaction isolation level" => "transaction_isolation".to_string(),
        "time zone" => "timezone".to_string(),
        "session authorization" => "session_authorization".to_string(),
        "" => return Err(sql_err!(SYNTAX_ERROR, "SHOW needs a parameter name")),
        _ if words.len() == 1 => words[0].clone(),
        _ => words.join("."),
    };
    Ok(BoundStatement::ShowVariable { name })
}

/// SHOW TABLES: the table names, sorted, as one TEXT column `table_name`.
pub(super) fn show_tables(b: &mut Binder<'_>, stmt: &Statement) -> Result<BoundStatement> {
    if let Statement::ShowTables { show_options, .. } = stmt {
        let o = show_options;
        if o.show_in.is_some() || o.starts_with.is_some() || o.limit.is_some() || o.filter_position.is_some() {
            return Err(Error::unsupported("SHOW TABLES with options"));
        }
    }
    let rows: Vec<Vec<Expr>> =
        b.catalog.tables().map(|t| vec![Expr::Literal(Value::text(&t.name), DataType::Text)]).collect();
    let root = Node::Values { rows, width: 1 };
    let columns = vec![OutputColumn { name: "table_name".into(), ty: DataType::Text }];
    Ok(BoundStatement::Query(Plan { root, columns, param_types: b.params.clone() }))
}

/// EXPLAIN options: whether to ANALYZE. `FORMAT TEXT` is the only format;
/// VERBOSE, COSTS, BUFFERS, TIMING, SUMMARY, SETTINGS and WAL are accepted
/// and ignored (the output has no costs to hide).
pub(super) fn explain_options(
    analyze: bool,
    format: Option<&ast::AnalyzeFormatKind>,
    options: Option<&[ast::UtilityOption]>,
) -> Result<bool> {
    if let Some(ast::AnalyzeFormatKind::Keyword(f) | ast::AnalyzeFormatKind::Assignment(f)) = format
        && *f != ast::AnalyzeFormat::TEXT
    {
        return Err(Error::unsupported(format!("EXPLAIN (FORMAT {f})")));
    }
    let mut analyze = analyze;
    for opt in options.unwrap_or_default() {
        let name = ident(&opt.name);
        let arg = opt.arg.as_ref().map(value_text).transpose()?;
        if name == "format" {
            if arg.as_deref() != Some("text") {
                return Err(Error::unsupported("EXPLAIN formats other than TEXT"));
            }
            continue;
        }
        let on = match arg.as_deref() {
            None | Some("on" | "true" | "1" | "yes") => true,
            Some("off" | "false" | "0" | "no") => false,
            Some(other) => {
                return Err(sql_err!(SYNTAX_ERROR, "unrecognized value for EXPLAIN option \"{name}\": \"{other}\""));
            }
        };
        match name.as_str() {
            "analyze" => analyze = on,
            "verbose" | "costs" | "buffers" | "timing" | "summary" | "settings" | "wal" | "generic_plan" | "memory" => {
            }
            other => return Err(sql_err!(SYNTAX_ERROR, "unrecognized EXPLAIN option \"{other}\"")),
        }
    }
    Ok(analyze)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{bind_sql, bind_sql_err, catalog, events, users};
    use super::*;
    use crate::error::SqlState;

    fn set_var(name: &str, value: &str) -> BoundStatement {
        BoundStatement::SetVariable { name: name.into(), value: value.into() }
    }

    #[test]
    fn transactions() {
        let cat = catalog(vec![]);
        let s = |sql: &str| bind_sql(&cat, sql);
        assert_eq!(s("BEGIN"), BoundStatement::Begin { isolation: None });
        assert_eq!(s("START TRANSACTION"), BoundStatement::Begin { isolation: None });
        assert_eq!(
            s("BEGIN ISOLATION LEVEL SERIALIZABLE"),
            BoundStatement::Begin { isolation: Some(IsolationLevel::Serializable) }
        );
        for level in ["REPEATABLE READ", "READ COMMITTED", "READ UNCOMMITTED"] {
            assert_eq!(
                s(&format!("START TRANSACTION ISOLATION LEVEL {level}, READ WRITE")),
                BoundStatement::Begin { isolation: Some(IsolationLevel::Snapshot) }
            );
        }
        assert_eq!(s("COMMIT"), BoundStatement::Commit);
        assert_eq!(s("END"), BoundStatement::Commit);
        assert_eq!(s("ROLLBACK"), BoundStatement::Rollback);
        assert_eq!(s("ABORT"), BoundStatement::Rollback);
        assert_eq!(
            s("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            BoundStatement::SetIsolation { isolation: IsolationLevel::Serializable, session: false }
        );
        assert_eq!(
            s("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            BoundStatement::SetIsolation { isolation: IsolationLevel::Snapshot, session: true }
        );
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("BEGIN READ ONLY"), SqlState::FEATURE_NOT_SUPPORTED);
        let name = |n: &str| n.to_string();
        assert_eq!(s("SAVEPOINT A"), BoundStatement::Savepoint { name: name("a") });
        assert_eq!(s("SAVEPOINT \"_pg3_1\""), BoundStatement::Savepoint { name: name("_pg3_1") });
        assert_eq!(s("ROLLBACK TO SAVEPOINT a"), BoundStatement::RollbackTo { name: name("a") });
        assert_eq!(s("ROLLBACK TO a"), BoundStatement::RollbackTo { name: name("a") });
        assert_eq!(s("RELEASE SAVEPOINT a"), BoundStatement::Release { name: name("a") });
        assert_eq!(s("RELEASE \"B\""), BoundStatement::Release { name: name("B") });
        assert_eq!(err("COMMIT AND CHAIN"), SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn set_and_show() {
        let cat = catalog(vec![]);
        let s = |sql: &str| bind_sql(&cat, sql);
        assert_eq!(s("SET hnsw.ef_search = 40"), set_var("hnsw.ef_search", "40"));
        assert_eq!(s("SET Search_Path TO Public, \"$user\""), set_var("search_path", "public, $user"));
        assert_eq!(s("SET client_encoding = 'UTF8'"), set_var("client_encoding", "UTF8"));
        assert_eq!(s("SET datestyle TO ISO, MDY"), set_var("datestyle", "iso, mdy"));
        assert_eq!(s("SET SESSION statement_timeout = 0"), set_var("statement_timeout", "0"));
        assert_eq!(s("SET LOCAL extra_float_digits = -3"), set_var("extra_float_digits", "-3"));
        assert_eq!(s("SET x = DEFAULT"), set_var("x", "DEFAULT"));
        assert_eq!(s("SET TIME ZONE 'UTC'"), set_var("timezone", "UTC"));
        assert_eq!(s("SET NAMES 'UTF8'"), set_var("client_encoding", "UTF8"));
        assert_eq!(s("SET standard_conforming_strings = on"), set_var("standard_conforming_strings", "on"));
        assert_eq!(s("RESET ALL"), set_var("all", "DEFAULT"));
        assert_eq!(s("RESET search_path"), set_var("search_path", "DEFAULT"));
        let show = |n: &str| BoundStatement::ShowVariable { name: n.into() };
        assert_eq!(s("SHOW server_version"), show("server_version"));
        assert_eq!(s("SHOW Hnsw.Ef_Search"), show("hnsw.ef_search"));
        assert_eq!(s("SHOW TRANSACTION ISOLATION LEVEL"), show("transaction_isolation"));
        assert_eq!(s("SHOW ALL"), show("all"));
        assert_eq!(bind_sql_err(&cat, "SET ROLE admin").state, SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn show_tables_lists_sorted_names() {
        let cat = catalog(vec![users(), events()]);
        let BoundStatement::Query(plan) = bind_sql(&cat, "SHOW TABLES") else { panic!() };
        assert_eq!(plan.columns, [OutputColumn { name: "table_name".into(), ty: DataType::Text }]);
        let text = |s: &str| vec![Expr::Literal(Value::text(s), DataType::Text)];
        assert_eq!(plan.root, Node::Values { rows: vec![text("events"), text("users")], width: 1 });
        assert!(plan.param_types.is_empty());
    }

    #[test]
    fn explain_wraps_plans_and_reads_options() {
        let cat = catalog(vec![users()]);
        let BoundStatement::Explain { plan, analyze: false } = bind_sql(&cat, "EXPLAIN SHOW TABLES") else { panic!() };
        assert!(matches!(plan.root, Node::Values { .. }));
        for (sql, want) in [
            ("EXPLAIN ANALYZE DELETE FROM users", true),
            ("EXPLAIN (ANALYZE, COSTS OFF) DELETE FROM users", true),
            ("EXPLAIN (ANALYZE false, FORMAT TEXT) DELETE FROM users", false),
        ] {
            match bind_sql(&cat, sql) {
                BoundStatement::Explain { analyze, .. } => assert_eq!(analyze, want, "{sql}"),
                other => panic!("{other:?}"),
            }
        }
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("EXPLAIN (FORMAT JSON) SHOW TABLES"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("EXPLAIN (FROB) SHOW TABLES"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("EXPLAIN DROP TABLE users"), SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn unsupported_statements_are_named() {
        let cat = catalog(vec![users()]);
        let e = bind_sql_err(&cat, "CREATE VIEW v AS SELECT 1");
        assert_eq!(e.state, SqlState::FEATURE_NOT_SUPPORTED);
        assert!(e.message.contains("CREATE VIEW"), "{}", e.message);
        assert!(bind_sql_err(&cat, "GRANT SELECT ON users TO bob").message.contains("GRANT"));
    }
}
