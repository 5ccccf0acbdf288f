//! The virtual tables of `information_schema`, and the machinery that
//! `pg_catalog`'s (in `pg_catalog.rs`) share with them.
//!
//! Tools, ORMs and drivers discover a database through these views, so a
//! small, faithful subset goes a long way. Each is computed from the
//! binder's catalog snapshot as a [`Node::Values`] of literal rows: the
//! statement sees exactly the catalog it was bound against, the rows flow
//! through the ordinary operators (filters, joins, sorts), and there is no
//! storage behind them to keep in sync.
//!
//! Column names, their order and their values follow PostgreSQL where the
//! view exists there; PostgreSQL's domain types (`sql_identifier`,
//! `cardinal_number`, `yes_or_no`) are TEXT and INTEGER here, and OIDs are
//! BIGINT. `information_schema.columns` stops at `udt_name` (PostgreSQL has
//! more columns between `numeric_scale` and it). Hidden row-id columns are
//! invisible, as everywhere. Rows come in
//! a fixed order (table name, then column position), so unordered queries
//! over the views are deterministic too.

use crate::catalog::{Catalog, TableSchema};
use crate::expr::Expr;
use crate::plan::Node;
use crate::types::{DataType, Value};

use super::names::quote_ident;
use super::{Scope, ScopeColumn};

/// The database (catalog) name the views report.
pub(super) const DATABASE: &str = "alopex";
/// The one user schema.
pub(super) const SCHEMA: &str = "public";

/// A view's column: name and type.
type ColumnDef = (&'static str, DataType);

/// A view under construction.
pub(super) struct View {
    columns: Vec<ColumnDef>,
    rows: Vec<Vec<Expr>>,
}

impl View {
    pub(super) fn new(columns: Vec<ColumnDef>) -> View {
        View { columns, rows: Vec::new() }
    }

    /// Adds a row; each value is typed by its column (NULLs included).
    pub(super) fn row(&mut self, values: Vec<Value>) {
        debug_assert_eq!(values.len(), self.columns.len());
        self.rows
            .push(values.into_iter().zip(&self.columns).map(|(v, (_, ty))| Expr::Literal(v, ty.clone())).collect());
    }

    pub(super) fn finish(self, table: &str) -> (Node, Scope) {
        let width = self.columns.len();
        let scope = Scope {
            columns: self
                .columns
                .into_iter()
                .map(|(name, ty)| ScopeColumn {
                    table: Some(table.to_string()),
                    name: name.to_string(),
                    ty,
                    hidden: false,
                })
                .collect(),
        };
        (Node::Values { rows: self.rows, width }, scope)
    }
}

pub(super) fn text(s: impl AsRef<str>) -> Value {
    Value::text(s)
}

pub(super) fn int(i: impl Into<i64>) -> Value {
    Value::Int(i.into())
}

/// The rows and scope of `schema.name`, or None when it is not a view.
pub(super) fn build(catalog: &Catalog, schema: &str, name: &str) -> Option<(Node, Scope)> {
    let view = match (schema, name) {
        ("information_schema", "tables") => tables(catalog),
        ("information_schema", "columns") => columns(catalog),
        ("information_schema", "schemata") => schemata(),
        ("information_schema", "table_constraints") => table_constraints(catalog),
        ("information_schema", "key_column_usage") => key_column_usage(catalog),
        ("pg_catalog", name) => super::pg_catalog::build(catalog, name)?,
        _ => return None,
    };
    Some(view.finish(name))
}

fn tables(catalog: &Catalog) -> View {
    use DataType::Text;
    let mut v =
        View::new(vec![("table_catalog", Text), ("table_schema", Text), ("table_name", Text), ("table_type", Text)]);
    for t in catalog.tables() {
        v.row(vec![text(DATABASE), text(SCHEMA), text(&t.name), text("BASE TABLE")]);
    }
    v
}

fn columns(catalog: &Catalog) -> View {
    use DataType::{Int4, Text};
    let mut v = View::new(vec![
        ("table_catalog", Text),
        ("table_schema", Text),
        ("table_name", Text),
        ("column_name", Text),
        ("ordinal_position", Int4),
        ("column_default", Text),
        ("is_nullable", Text),
        ("data_type", Text),
        ("character_maximum_length", Int4),
        ("numeric_precision", Int4),
        ("numeric_precision_radix", Int4),
        ("numeric_scale", Int4),
        ("udt_name", Text),
    ]);
    for t in catalog.tables() {
        for (i, c) in t.columns.iter().filter(|c| !c.hidden).enumerate() {
            let (precision, radix, scale) = numeric_facts(&c.ty);
            let max_len = match c.ty {
                DataType::Varchar(Some(n)) => int(n),
                _ => Value::Null,
            };
            v.row(vec![
                text(DATABASE),
                text(SCHEMA),
                text(&t.name),
                text(&c.name),
                int(i as i64 + 1),
                c.default.as_ref().map_or(Value::Null, text),
                text(if c.nullable { "YES" } else { "NO" }),
                text(column_data_type(&c.ty)),
                max_len,
                precision,
                radix,
                scale,
                text(super::types::pg_type_name(&c.ty)),
            ]);
        }
    }
    v
}

/// `information_schema.columns.data_type`: the SQL name, or `USER-DEFINED`
/// for `vector` (an extension's type in PostgreSQL; `udt_name` says
/// `vector`).
fn column_data_type(ty: &DataType) -> &'static str {
    match ty {
        DataType::Vector(_) => "USER-DEFINED",
        other => other.sql_name(),
    }
}

/// `numeric_precision`, `numeric_precision_radix`, `numeric_scale` as
/// PostgreSQL reports them (bits for binary types, digits for NUMERIC).
fn numeric_facts(ty: &DataType) -> (Value, Value, Value) {
    match ty {
        DataType::Int2 => (int(16), int(2), int(0)),
        DataType::Int4 => (int(32), int(2), int(0)),
        DataType::Int8 => (int(64), int(2), int(0)),
        DataType::Float4 => (int(24), int(2), Value::Null),
        DataType::Float8 => (int(53), int(2), Value::Null),
        DataType::Numeric(Some((p, s))) => (int(*p), int(10), int(*s)),
        DataType::Numeric(None) => (Value::Null, int(10), Value::Null),
        _ => (Value::Null, Value::Null, Value::Null),
    }
}

fn schemata() -> View {
    use DataType::Text;
    let mut v = View::new(vec![("catalog_name", Text), ("schema_name", Text), ("schema_owner", Text)]);
    for s in ["information_schema", "pg_catalog", SCHEMA] {
        v.row(vec![text(DATABASE), text(s), text(DATABASE)]);
    }
    v
}

/// The named constraints of a table, in a fixed order: primary key,
/// unique indexes, checks. `(name, type, columns)`.
fn constraints(t: &TableSchema) -> Vec<(String, &'static str, Vec<usize>)> {
    let mut out = Vec::new();
    if !t.has_row_id() {
        out.push((t.pkey_name(), "PRIMARY KEY", t.primary_key.clone()));
    }
    for ix in t.indexes.iter().filter(|i| i.unique) {
        out.push((ix.name.clone(), "UNIQUE", ix.columns.clone()));
    }
    for ck in &t.checks {
        out.push((ck.name.clone(), "CHECK", vec![]));
    }
    out
}

fn table_constraints(catalog: &Catalog) -> View {
    use DataType::Text;
    let mut v = View::new(vec![
        ("constraint_catalog", Text),
        ("constraint_schema", Text),
        ("constraint_name", Text),
        ("table_catalog", Text),
        ("table_schema", Text),
        ("table_name", Text),
        ("constraint_type", Text),
        ("is_deferrable", Text),
        ("initially_deferred", Text),
    ]);
    for t in catalog.tables() {
        for (name, kind, _) in constraints(t) {
            v.row(vec![
                text(DATABASE),
                text(SCHEMA),
                text(name),
                text(DATABASE),
                text(SCHEMA),
                text(&t.name),
                text(kind),
                text("NO"),
                text("NO"),
            ]);
        }
    }
    v
}

fn key_column_usage(catalog: &Catalog) -> View {
    use DataType::{Int4, Text};
    let mut v = View::new(vec![
        ("constraint_catalog", Text),
        ("constraint_schema", Text),
        ("constraint_name", Text),
        ("table_catalog", Text),
        ("table_schema", Text),
        ("table_name", Text),
        ("column_name", Text),
        ("ordinal_position", Int4),
    ]);
    for t in catalog.tables() {
        for (name, _, cols) in constraints(t) {
            for (i, &c) in cols.iter().enumerate() {
                v.row(vec![
                    text(DATABASE),
                    text(SCHEMA),
                    text(&name),
                    text(DATABASE),
                    text(SCHEMA),
                    text(&t.name),
                    text(&t.columns[c].name),
                    int(i as i64 + 1),
                ]);
            }
        }
    }
    v
}

/// `CREATE [UNIQUE] INDEX name ON public.t USING btree (a, b)`.
pub(super) fn index_def(t: &TableSchema, name: &str, unique: bool, cols: &[usize]) -> String {
    let cols: Vec<String> = cols.iter().map(|&c| quote_ident(&t.columns[c].name)).collect();
    format!(
        "CREATE {}INDEX {} ON {SCHEMA}.{} USING btree ({})",
        if unique { "UNIQUE " } else { "" },
        quote_ident(name),
        quote_ident(&t.name),
        cols.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::super::Binder;
    use super::super::misc::virtual_table;
    use super::super::test_util::{catalog, events, users};
    use super::*;

    fn rows(node: &Node) -> Vec<Vec<Value>> {
        let Node::Values { rows, width } = node else { panic!("{node:?}") };
        rows.iter()
            .map(|r| {
                assert_eq!(r.len(), *width);
                r.iter()
                    .map(|e| match e {
                        Expr::Literal(v, _) => v.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            })
            .collect()
    }

    fn view(schema: &str, name: &str) -> (Node, Scope) {
        let cat = catalog(vec![users(), events()]);
        let mut b = Binder::new(&cat, &[]);
        virtual_table(&mut b, schema, name).unwrap().unwrap_or_else(|| panic!("{schema}.{name}"))
    }

    #[test]
    fn information_schema_tables() {
        let (node, scope) = view("information_schema", "tables");
        let names: Vec<_> = scope.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["table_catalog", "table_schema", "table_name", "table_type"]);
        assert!(scope.columns.iter().all(|c| c.table.as_deref() == Some("tables")));
        assert_eq!(
            rows(&node),
            [
                vec![text("alopex"), text("public"), text("events"), text("BASE TABLE")],
                vec![text("alopex"), text("public"), text("users"), text("BASE TABLE")],
            ]
        );
    }

    #[test]
    fn information_schema_columns() {
        let (node, scope) = view("information_schema", "columns");
        assert_eq!(scope.columns[4].ty, DataType::Int4);
        let rows = rows(&node);
        // events has two visible columns (the row id is hidden), users four.
        assert_eq!(rows.len(), 6);
        let score = rows.iter().find(|r| r[3] == text("score")).unwrap();
        assert_eq!(score[2], text("users"));
        assert_eq!(score[4], int(4));
        assert_eq!(score[5], text("0"));
        assert_eq!(score[6], text("YES"));
        assert_eq!(score[7], text("integer"));
        assert_eq!(score[12], text("int4"));
        assert_eq!((score[8].clone(), score[9].clone(), score[11].clone()), (Value::Null, int(32), int(0)));
        let name = rows.iter().find(|r| r[3] == text("name")).unwrap();
        assert_eq!((name[5].clone(), name[6].clone(), name[7].clone()), (Value::Null, text("NO"), text("text")));
        let Node::Values { rows: exprs, .. } = &node else { unreachable!() };
        // A NULL default is a NULL of the column's type.
        assert_eq!(exprs[0][5], Expr::Literal(Value::Null, DataType::Text));
    }

    #[test]
    fn constraints_and_pg_catalog() {
        let (node, _) = view("information_schema", "table_constraints");
        let kinds: Vec<_> = rows(&node).into_iter().map(|r| (r[2].clone(), r[6].clone())).collect();
        assert_eq!(
            kinds,
            [
                (text("users_pkey"), text("PRIMARY KEY")),
                (text("users_email_key"), text("UNIQUE")),
                (text("users_score_check"), text("CHECK"))
            ]
        );
        let (node, _) = view("information_schema", "key_column_usage");
        assert_eq!(rows(&node).len(), 2);
        let (node, _) = view("pg_catalog", "pg_indexes");
        let defs: Vec<_> = rows(&node).into_iter().map(|r| r[4].clone()).collect();
        assert_eq!(
            defs,
            [
                text("CREATE INDEX events_at_idx ON public.events USING btree (at)"),
                text("CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id)"),
                text("CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)"),
            ]
        );
        let (node, _) = view("pg_catalog", "pg_tables");
        assert_eq!(rows(&node).len(), 2);
        let (node, _) = view("pg_catalog", "pg_type");
        assert!(rows(&node).iter().any(|r| r[..3] == [int(23), text("int4"), int(11)]));
        view("pg_catalog", "pg_namespace");
        view("information_schema", "schemata");
    }

    #[test]
    fn other_names_are_not_views() {
        let cat = catalog(vec![users()]);
        let mut b = Binder::new(&cat, &[]);
        assert!(virtual_table(&mut b, "information_schema", "nope").unwrap().is_none());
        assert!(virtual_table(&mut b, "public", "users").unwrap().is_none());
    }
}
