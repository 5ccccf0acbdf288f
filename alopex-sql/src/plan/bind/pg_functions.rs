//! PostgreSQL's catalog functions and `reg*` casts, bound against the
//! catalog snapshot.
//!
//! `pg_get_indexdef(oid)`, `pg_get_constraintdef(oid)`, `to_regclass(name)`
//! and casts such as `'users'::regclass` or `c.oid::regclass` ask the
//! catalog about an object. Their argument is usually a column of a
//! `pg_catalog` view, so they are evaluated per row; but the catalog they
//! consult is the statement's snapshot, which is fixed when the statement
//! is bound (and a bound plan is only reused with the same catalog
//! version). So each call binds to a lookup table over that snapshot: a
//! simple `CASE arg WHEN oid₁ THEN def₁ WHEN oid₂ THEN def₂ … END`. It runs
//! through the ordinary evaluator, needs no access to the catalog at
//! execution time, and is as large as the catalog, which for the clients
//! that call these functions (psql, ORMs) is small.
//!
//! Casts to `regclass`, `regtype` and `regnamespace` follow what clients
//! do with them rather than PostgreSQL's type system, since Alopex has no
//! `reg*` types: from a string they give the OID (a BIGINT, which compares
//! with the `oid` columns: `classoid = 'pg_constraint'::regclass`), from an
//! integer the name as TEXT (what `c.oid::regclass` prints). A string that
//! names no relation is 42P01, as in PostgreSQL.
//!
//! `current_setting(name)` and `set_config(name, value, local)` read and
//! change the session's settings; their name must be a constant. The value
//! is bound into the plan and the binder reports the use (`SettingsUse`),
//! so the session binds such a statement for each execution instead of
//! caching it, and applies `set_config` only when the statement runs.
//!
//! Functions about things Alopex does not have answer as PostgreSQL does
//! for an object without them: no comment (`obj_description` is NULL), no
//! owned sequence, every object visible and every privilege granted.

use sqlparser::ast;

use super::Binder;
use super::expr::Cx;
use super::pg_catalog::{self, PG_CATALOG_OID, PUBLIC_OID};
use crate::error::{Result, SqlState};
use crate::expr::{Expr, UnaryOp, func};
use crate::sql_err;
use crate::types::{DataType, Value};

/// OIDs of the `pg_catalog` tables clients name in `classoid = '…'::regclass`.
const CATALOG_TABLES: [(&str, i64); 8] = [
    ("pg_class", 1259),
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_constraint", 2606),
    ("pg_namespace", 2615),
    ("pg_index", 2610),
    ("pg_database", 1262),
    ("pg_proc", 1255),
];

/// The `reg*` pseudo-types a cast may name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RegType {
    Class,
    Type,
    Namespace,
}

/// The `reg*` type a cast names, if it names one.
pub(crate) fn reg_type(dt: &ast::DataType) -> Option<RegType> {
    if matches!(dt, ast::DataType::Regclass) {
        return Some(RegType::Class);
    }
    let ast::DataType::Custom(name, modifiers) = dt else { return None };
    if !modifiers.is_empty() {
        return None;
    }
    let parts: Vec<String> = name.0.iter().map(|p| p.to_string().to_lowercase()).collect();
    match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["regclass"] | ["pg_catalog", "regclass"] => Some(RegType::Class),
        ["regtype"] | ["pg_catalog", "regtype"] => Some(RegType::Type),
        ["regnamespace"] | ["pg_catalog", "regnamespace"] => Some(RegType::Namespace),
        _ => None,
    }
}

/// The regular-expression function an operator stands for, and whether
/// the result is negated: `~`, `!~`, `~*`, `!~*`, and psql's spelling
/// `OPERATOR(pg_catalog.~)`.
pub(crate) fn regex_operator(op: &ast::BinaryOperator) -> Option<(&'static str, bool)> {
    use ast::BinaryOperator as A;
    let symbol = match op {
        A::PGRegexMatch => "~",
        A::PGRegexNotMatch => "!~",
        A::PGRegexIMatch => "~*",
        A::PGRegexNotIMatch => "!~*",
        A::PGCustomBinaryOperator(parts) => match parts.as_slice() {
            [s] | [_, s] => s.as_str(),
            _ => return None,
        },
        _ => return None,
    };
    Some(match symbol {
        "~" => ("textregexeq", false),
        "!~" => ("textregexeq", true),
        "~*" => ("texticregexeq", false),
        "!~*" => ("texticregexeq", true),
        _ => return None,
    })
}

fn text(s: impl AsRef<str>) -> Expr {
    Expr::Literal(Value::text(s), DataType::Text)
}

fn int(i: i64) -> Expr {
    Expr::Literal(Value::Int(i), DataType::Int8)
}

fn null(ty: DataType) -> Expr {
    Expr::Literal(Value::Null, ty)
}

impl Binder<'_> {
    /// `left ~ right` and its variants.
    pub(crate) fn bind_regex(
        &mut self,
        cx: &mut Cx,
        left: &ast::Expr,
        right: &ast::Expr,
        name: &str,
        negated: bool,
    ) -> Result<Expr> {
        let l = self.bind(cx, left)?;
        let r = self.bind(cx, right)?;
        let call = self.call_scalar(name, vec![l, r])?;
        Ok(if negated { Expr::Unary { op: UnaryOp::Not, expr: Box::new(call), ty: DataType::Bool } } else { call })
    }

    /// `ARRAY(subquery)`: the subquery's column as an array, in the
    /// subquery's order. Bound as the scalar subquery
    /// `SELECT array_agg(x) FROM (q) _array(x)`, made `'{}'` when the
    /// subquery has no rows.
    pub(crate) fn bind_array_subquery(&mut self, cx: &mut Cx, query: &ast::Query) -> Result<Expr> {
        use sqlparser::dialect::PostgreSqlDialect;
        use sqlparser::parser::Parser;
        let sql = format!("SELECT coalesce(array_agg(_array.x), '{{}}') FROM ({query}) AS _array(x)");
        let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
            .map_err(|e| crate::error::Error::internal(format!("ARRAY(subquery) rewrite: {e}")))?;
        let Some(ast::Statement::Query(q)) = parsed.first() else {
            return Err(crate::error::Error::internal("ARRAY(subquery) rewrite is not a query"));
        };
        self.bind_scalar_subquery(cx, q)
    }

    /// `probe = ANY (array)` over an array in text form.
    pub(crate) fn bind_any_text_array(&mut self, probe: Expr, array: Expr) -> Result<Expr> {
        let probe = self.bind_cast(probe, &DataType::Text)?;
        let array = self.bind_cast(array, &DataType::Text)?;
        self.call_scalar("pg_text_array_contains", vec![array, probe])
    }

    /// A catalog function of the snapshot, or `Err(args)` back when `name`
    /// is not one.
    pub(crate) fn catalog_function(
        &mut self,
        name: &str,
        args: Vec<Expr>,
    ) -> Result<std::result::Result<Expr, Vec<Expr>>> {
        let n = args.len();
        Ok(Ok(match (name, n) {
            (
                "pg_table_is_visible" | "pg_type_is_visible" | "pg_function_is_visible" | "pg_collation_is_visible",
                1,
            ) => Expr::Literal(Value::Bool(true), DataType::Bool),
            ("has_table_privilege" | "has_schema_privilege" | "has_database_privilege" | "pg_has_role", 2 | 3) => {
                Expr::Literal(Value::Bool(true), DataType::Bool)
            }
            ("pg_relation_is_publishable", 1) => Expr::Literal(Value::Bool(false), DataType::Bool),
            ("pg_get_userbyid", 1) => text(super::views::DATABASE),
            ("obj_description" | "col_description" | "shobj_description", 1 | 2)
            | ("pg_get_statisticsobjdef_columns", 1)
            | ("pg_get_partkeydef", 1) => null(DataType::Text),
            ("pg_get_serial_sequence", 2) => self.serial_sequence(&args)?,
            ("pg_get_expr", 2 | 3) => {
                let mut args = args;
                let e = args.swap_remove(0);
                self.bind_cast(e, &DataType::Text)?
            }
            ("pg_get_indexdef", 1 | 3) => {
                let mut args = args.into_iter();
                let oid = args.next().map(|e| self.bind_cast(e, &DataType::Int8)).transpose()?;
                let col = args.next();
                self.index_def_lookup(oid.unwrap_or(null(DataType::Int8)), col)?
            }
            ("pg_get_constraintdef", 1 | 2) => {
                let oid = self.bind_cast(args.into_iter().next().unwrap_or(null(DataType::Int8)), &DataType::Int8)?;
                let mut branches = Vec::new();
                for t in self.catalog.tables() {
                    for c in pg_catalog::constraints(t) {
                        branches.push((int(c.oid), text(c.definition)));
                    }
                }
                case(oid, branches, DataType::Text)
            }
            ("to_regclass", 1) => {
                let e = args.into_iter().next().unwrap_or(null(DataType::Text));
                let e = self.bind_cast(e, &DataType::Text)?;
                case(e, self.relation_names(), DataType::Int8)
            }
            ("to_regtype", 1) => {
                let e = args.into_iter().next().unwrap_or(null(DataType::Text));
                let e = self.bind_cast(e, &DataType::Text)?;
                case(e, type_names(), DataType::Int8)
            }
            ("current_setting", 1 | 2) => self.current_setting(args)?,
            ("set_config", 3) => self.set_config(args)?,
            ("json_build_object", _) => return Ok(Ok(self.call_scalar("jsonb_build_object", args)?)),
            _ => return Ok(Err(args)),
        }))
    }

    /// `pg_get_serial_sequence('table', 'column')` for constant arguments:
    /// the sequence a SERIAL column owns (`public.<table>_<column>_seq`),
    /// recognized by the column's `nextval` default; NULL otherwise.
    fn serial_sequence(&mut self, args: &[Expr]) -> Result<Expr> {
        let (Some(Expr::Literal(Value::Text(t), _)), Some(Expr::Literal(Value::Text(c), _))) =
            (args.first(), args.get(1))
        else {
            return Ok(null(DataType::Text));
        };
        let table = crate::sequence::name_from_text(t);
        let column = crate::sequence::name_from_text(c);
        let Some(schema) = self.catalog.table(&table) else {
            return Err(sql_err!(UNDEFINED_TABLE, "relation \"{table}\" does not exist"));
        };
        let Some(col) = schema.columns.iter().find(|col| col.name == column && !col.hidden) else {
            return Err(sql_err!(UNDEFINED_COLUMN, "column \"{column}\" of relation \"{table}\" does not exist"));
        };
        let serial = crate::sequence::serial_default(&table, &column)?.to_string();
        Ok(if col.default.as_deref() == Some(serial.as_str()) {
            text(format!("public.{}", crate::sequence::serial_name(&table, &column)))
        } else {
            null(DataType::Text)
        })
    }

    /// `current_setting(name [, missing_ok])`: the session's value, bound
    /// into the plan (which is then not cached).
    fn current_setting(&mut self, args: Vec<Expr>) -> Result<Expr> {
        let name = setting_name(args.first())?;
        let missing_ok = matches!(args.get(1), Some(Expr::Literal(Value::Bool(true), _)));
        self.settings_use.used = true;
        let value = self.settings.and_then(|lookup| lookup(&name));
        match value {
            Some(v) => Ok(text(v)),
            None if missing_ok => Ok(null(DataType::Text)),
            None => Err(sql_err!(UNDEFINED_OBJECT, "unrecognized configuration parameter \"{name}\"")),
        }
    }

    /// `set_config(name, value, is_local)`: recorded for the session to
    /// apply when the statement runs; returns the new value.
    fn set_config(&mut self, args: Vec<Expr>) -> Result<Expr> {
        let name = setting_name(args.first())?;
        let value = match args.get(1) {
            Some(Expr::Literal(Value::Text(v), _)) => v.to_string(),
            Some(Expr::Literal(Value::Null, _)) => String::new(),
            _ => return Err(crate::error::Error::unsupported("set_config with a value that is not a constant")),
        };
        self.settings_use.used = true;
        self.settings_use.set.push((name, value.clone()));
        Ok(text(value))
    }

    /// `pg_get_indexdef(oid [, column, pretty])`: the CREATE INDEX
    /// statement, or with a column number other than 0 that column's name.
    fn index_def_lookup(&mut self, oid: Expr, col: Option<Expr>) -> Result<Expr> {
        let whole = match &col {
            None => true,
            Some(Expr::Literal(Value::Int(0), _)) => true,
            Some(_) => false,
        };
        let mut branches = Vec::new();
        let mut columns = Vec::new();
        for t in self.catalog.tables() {
            for ix in pg_catalog::indexes(t) {
                branches.push((int(ix.oid), text(pg_catalog::index_definition(t, &ix))));
                for (k, &c) in ix.columns.iter().enumerate() {
                    columns.push((ix.oid, k as i64 + 1, t.columns[c].name.clone()));
                }
            }
        }
        if whole {
            return Ok(case(oid, branches, DataType::Text));
        }
        let col = self.bind_cast(col.unwrap_or(null(DataType::Int8)), &DataType::Int8)?;
        let mut whens = Vec::new();
        for (ix, k, name) in columns {
            let cond = self.binary_eq(oid.clone(), int(ix))?;
            let cond2 = self.binary_eq(col.clone(), int(k))?;
            whens.push((self.binary(crate::expr::ops::BinaryOp::And, cond, cond2)?, text(name)));
        }
        Ok(Expr::Case { operand: None, branches: whens, else_result: None, ty: DataType::Text })
    }

    fn binary_eq(&mut self, l: Expr, r: Expr) -> Result<Expr> {
        self.binary(crate::expr::ops::BinaryOp::Eq, l, r)
    }

    /// `(name, oid)` of every relation: tables and indexes, bare and
    /// schema-qualified, and the `pg_catalog` tables clients name.
    fn relation_names(&self) -> Vec<(Expr, Expr)> {
        let mut out = Vec::new();
        for t in self.catalog.tables() {
            let oid = pg_catalog::table_oid(t);
            out.push((text(&t.name), int(oid)));
            out.push((text(format!("public.{}", t.name)), int(oid)));
            for ix in pg_catalog::indexes(t) {
                out.push((text(&ix.name), int(ix.oid)));
            }
        }
        for (name, oid) in CATALOG_TABLES {
            out.push((text(name), int(oid)));
            out.push((text(format!("pg_catalog.{name}")), int(oid)));
        }
        out
    }

    /// `CAST(e AS regclass | regtype | regnamespace)` (see the module docs).
    pub(crate) fn bind_reg_cast(&mut self, e: Expr, to: RegType) -> Result<Expr> {
        let ty = e.ty();
        if ty.is_integer() {
            let e = self.bind_cast(e, &DataType::Int8)?;
            let branches = match to {
                RegType::Class => {
                    self.relation_names().into_iter().filter(|(n, _)| !is_qualified(n)).map(swap).collect()
                }
                RegType::Type => type_names().into_iter().map(swap).collect(),
                RegType::Namespace => namespaces().into_iter().map(swap).collect(),
            };
            // An OID that names nothing prints as the number, as in PostgreSQL.
            let number = self.bind_cast(e.clone(), &DataType::Text)?;
            return Ok(Expr::Case {
                operand: Some(Box::new(e)),
                branches,
                else_result: Some(Box::new(number)),
                ty: DataType::Text,
            });
        }
        let e = self.bind_cast(e, &DataType::Text)?;
        let names = match to {
            RegType::Class => self.relation_names(),
            RegType::Type => type_names(),
            RegType::Namespace => namespaces(),
        };
        if let Expr::Literal(Value::Text(s), _) = &e {
            let folded = fold_name(s);
            let found = names.iter().find(|(n, _)| matches!(n, Expr::Literal(Value::Text(n), _) if **n == *folded));
            return match found {
                Some((_, oid)) => Ok(oid.clone()),
                None => Err(match to {
                    RegType::Class => sql_err!(UNDEFINED_TABLE, "relation \"{s}\" does not exist"),
                    RegType::Type => sql_err!(UNDEFINED_OBJECT, "type \"{s}\" does not exist"),
                    RegType::Namespace => {
                        crate::error::Error::new(SqlState("3F000"), format!("schema \"{s}\" does not exist"))
                    }
                }),
            };
        }
        Ok(case(e, names, DataType::Int8))
    }
}

/// The setting named by a constant argument (names are case-insensitive).
fn setting_name(arg: Option<&Expr>) -> Result<String> {
    match arg {
        Some(Expr::Literal(Value::Text(n), _)) => Ok(n.to_lowercase()),
        _ => Err(crate::error::Error::unsupported("a setting name that is not a constant")),
    }
}

/// A name as `regclass` input reads it: folded to lower case unless
/// double-quoted.
fn fold_name(s: &str) -> String {
    s.split('.')
        .map(|p| match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(q) => q.to_string(),
            None => p.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn is_qualified(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Text(s), _) if s.contains('.'))
}

fn swap((a, b): (Expr, Expr)) -> (Expr, Expr) {
    (b, a)
}

/// `(name, oid)` of every type, by its internal and its SQL name.
fn type_names() -> Vec<(Expr, Expr)> {
    let mut out = Vec::new();
    for ty in func::PG_TYPES {
        let oid = i64::from(ty.pg_oid());
        out.push((text(func::format_type(oid, -1).unwrap_or_default()), int(oid)));
        out.push((text(super::types::pg_type_name(&ty)), int(oid)));
    }
    out
}

/// `(name, oid)` of every schema.
fn namespaces() -> Vec<(Expr, Expr)> {
    vec![(text("pg_catalog"), int(PG_CATALOG_OID)), (text("public"), int(PUBLIC_OID))]
}

/// `CASE operand WHEN k THEN v … END` (NULL when nothing matches).
fn case(operand: Expr, branches: Vec<(Expr, Expr)>, ty: DataType) -> Expr {
    if branches.is_empty() {
        return null(ty);
    }
    Expr::Case { operand: Some(Box::new(operand)), branches, else_result: None, ty }
}
