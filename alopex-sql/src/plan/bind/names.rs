//! Names as the statement binder sees them: identifier folding, schema
//! qualification, the shared relation namespace, and generated names.
//!
//! PostgreSQL folds unquoted identifiers to lower case and keeps quoted ones
//! exactly; every name the catalog stores went through [`ident`] once, so a
//! lookup is a plain string comparison afterwards.
//!
//! Tables and indexes share one namespace (PostgreSQL's `pg_class`): an index
//! may not take a table's name, nor the implicit `<table>_pkey` name of a
//! primary key. [`relation_taken`] is the one place that knows this, and
//! [`choose_relation_name`] picks PostgreSQL's generated names
//! (`t_a_key`, `t_a_key1`, …) against it.
//!
//! Only the `public` schema holds user tables. `information_schema` and
//! `pg_catalog` are read-only virtual schemas (see `misc.rs`); naming any
//! other schema is 3F000, as in PostgreSQL.

use sqlparser::ast::{self, Ident, ObjectName, ObjectNamePart};

use crate::catalog::{Catalog, TableSchema};
use crate::error::{Error, Result, SqlState};
use crate::sql_err;
use std::sync::Arc;

/// `3F000 invalid_schema_name` (not among the named constants).
pub(crate) const INVALID_SCHEMA_NAME: SqlState = SqlState("3F000");

/// `42809 wrong_object_type` (not among the named constants).
pub(crate) const WRONG_OBJECT_TYPE: SqlState = SqlState("42809");

/// The schemas whose tables are computed from the catalog.
pub(crate) const VIRTUAL_SCHEMAS: [&str; 2] = ["information_schema", "pg_catalog"];

/// An identifier as the catalog stores it: lower case unless quoted.
pub(crate) fn ident(id: &Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

/// The parts of an object name, folded; a function part is 0A000.
pub(crate) fn name_parts(name: &ObjectName) -> Result<Vec<String>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(id) => Ok(ident(id)),
            ObjectNamePart::Function(_) => Err(Error::unsupported(format!("the object name {name}"))),
        })
        .collect()
}

/// `(schema, name)` of a possibly qualified name (`t`, `public.t`).
pub(crate) fn qualified(name: &ObjectName) -> Result<(Option<String>, String)> {
    let mut parts = name_parts(name)?;
    match parts.len() {
        1 => Ok((None, parts.remove(0))),
        2 => {
            let table = parts.remove(1);
            Ok((Some(parts.remove(0)), table))
        }
        0 => Err(sql_err!(SYNTAX_ERROR, "empty name")),
        _ => Err(sql_err!(FEATURE_NOT_SUPPORTED, "cross-database references are not implemented: {name}")),
    }
}

/// The name of a user table (or index) as written in DDL or DML: unqualified
/// or in `public`. A virtual schema is read-only (42809), any other schema
/// does not exist (3F000).
pub(crate) fn user_relation(name: &ObjectName) -> Result<String> {
    let (schema, rel) = qualified(name)?;
    match schema.as_deref() {
        None | Some("public") => Ok(rel),
        Some(s) if VIRTUAL_SCHEMAS.contains(&s) => {
            Err(Error::new(WRONG_OBJECT_TYPE, format!("\"{s}.{rel}\" is a read-only system view")))
        }
        Some(s) => Err(Error::new(INVALID_SCHEMA_NAME, format!("schema \"{s}\" does not exist"))),
    }
}

/// The user table called `name`, or 42P01.
pub(crate) fn lookup_table<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c Arc<TableSchema>> {
    catalog.table(name).ok_or_else(|| sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"))
}

/// True when a table, an index or a primary key's implicit index already
/// uses `name`.
pub(crate) fn relation_taken(catalog: &Catalog, name: &str) -> bool {
    catalog.table(name).is_some() || catalog.index(name).is_some() || catalog.tables().any(|t| t.pkey_name() == name)
}

/// PostgreSQL's `ChooseRelationName`: `base`, else `base1`, `base2`, … —
/// the first that `taken` does not claim.
pub(crate) fn choose_name(base: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (1u64..).map(|n| format!("{base}{n}")).find(|n| !taken(n)).unwrap_or_else(|| base.to_string())
}

/// The position of the visible column `name` of `table`, or 42703 naming
/// the relation (`column "x" of relation "t" does not exist`).
pub(crate) fn target_column(table: &TableSchema, name: &str) -> Result<usize> {
    table
        .column_index(name)
        .filter(|&i| !table.columns[i].hidden)
        .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{name}\" of relation \"{}\" does not exist", table.name))
}

/// The name PostgreSQL gives a result column computed by `expr`
/// (`FigureColname`): the column or function name, looking through casts,
/// `?column?` otherwise.
pub(crate) fn output_name(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Identifier(id) => ident(id),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(ident).unwrap_or_else(|| "?column?".into()),
        ast::Expr::Function(f) => match f.name.0.last() {
            Some(ObjectNamePart::Identifier(id)) => ident(id),
            _ => "?column?".into(),
        },
        ast::Expr::Cast { expr, .. } | ast::Expr::Nested(expr) => output_name(expr),
        ast::Expr::Case { .. } => "case".into(),
        _ => "?column?".into(),
    }
}

/// PostgreSQL's keywords that are not "unreserved": as identifiers they
/// must be quoted (`quote_ident`'s rule). Sorted, for binary search.
const RESERVED_WORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// An identifier as SQL text: bare when it reads back as itself (lower
/// case, not a reserved word), double-quoted otherwise.
pub(crate) fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && RESERVED_WORDS.binary_search(&name).is_err();
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// Parses stored SQL expression text (a DEFAULT or CHECK) back into an AST.
pub(crate) fn parse_stored_expr(text: &str) -> Result<ast::Expr> {
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| Error::internal(format!("stored expression {text:?} does not parse: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn expr(sql: &str) -> ast::Expr {
        Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).unwrap().parse_expr().unwrap()
    }

    #[test]
    fn identifiers_fold_unless_quoted() {
        assert_eq!(ident(&Ident::new("FooBar")), "foobar");
        assert_eq!(ident(&Ident::with_quote('"', "FooBar")), "FooBar");
    }

    #[test]
    fn schemas_other_than_public_are_refused() {
        let name = |s: &str| ObjectName::from(s.split('.').map(Ident::new).collect::<Vec<_>>());
        assert_eq!(user_relation(&name("T")).unwrap(), "t");
        assert_eq!(user_relation(&name("public.t")).unwrap(), "t");
        assert_eq!(user_relation(&name("other.t")).unwrap_err().state, INVALID_SCHEMA_NAME);
        assert_eq!(user_relation(&name("information_schema.tables")).unwrap_err().state, WRONG_OBJECT_TYPE);
        assert_eq!(user_relation(&name("a.b.c")).unwrap_err().state, SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn generated_names_count_up() {
        let taken = |n: &str| n == "t_a_key" || n == "t_a_key1";
        assert_eq!(choose_name("t_a_key", &taken), "t_a_key2");
        assert_eq!(choose_name("t_b_key", &taken), "t_b_key");
    }

    #[test]
    fn output_names_follow_postgres() {
        assert_eq!(output_name(&expr("t.A")), "a");
        assert_eq!(output_name(&expr("CAST(b AS int)")), "b");
        assert_eq!(output_name(&expr("b::int")), "b");
        assert_eq!(output_name(&expr("Lower(b)")), "lower");
        assert_eq!(output_name(&expr("a + 1")), "?column?");
    }

    #[test]
    fn reserved_words_are_sorted_and_quoted() {
        assert!(RESERVED_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("Mixed"), "\"Mixed\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("at"), "at");
        assert_eq!(quote_ident("ok_1"), "ok_1");
    }

    #[test]
    fn stored_expressions_round_trip() {
        let e = expr("a > 0 AND b <> 'x'");
        assert_eq!(parse_stored_expr(&e.to_string()).unwrap(), e);
        assert_eq!(parse_stored_expr("a >").unwrap_err().state, SqlState::INTERNAL_ERROR);
    }
}
