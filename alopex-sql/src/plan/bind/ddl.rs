//! Binding CREATE TABLE, DROP TABLE, CREATE INDEX and DROP INDEX.
//!
//! DDL binding turns a statement into the *new* catalog definition, fully
//! formed: column ids, NOT NULL flags, the primary key, unique constraints as
//! unique indexes, CHECK constraints with PostgreSQL's generated names. The
//! session only allocates ids that must come from storage (the table id, an
//! index id for CREATE INDEX) and writes the result.
//!
//! Expressions in DDL are stored as SQL text, not as bound trees, because a
//! bound tree holds column *positions*, which ALTER TABLE shifts. The text
//! is the expression's `Display` form from `sqlparser`, so it re-parses to
//! the same tree; it is bound once here, to report errors at CREATE time
//! rather than at the first INSERT, and again by every statement that uses
//! it.
//!
//! A table without a declared primary key gets a last, hidden BIGINT column
//! ([`ROW_ID_COLUMN`]) as its key, so every row has a stable key without
//! imposing one on the user; `*` never shows it and no statement can name
//! it.
//!
//! Existence checks here run against the binder's snapshot, which is what a
//! user's error message should reflect; the session repeats the decisive
//! checks inside the transaction that writes the catalog.

use sqlparser::ast::{self, ColumnOption, Ident, IndexType, ObjectType, TableConstraint};

use super::names::{WRONG_OBJECT_TYPE, choose_name, ident, lookup_table, name_parts, relation_taken, user_relation};
use super::{Binder, BoundStatement, Scope, types};
use crate::catalog::{CheckConstraint, ColumnSchema, IndexKind, IndexSchema, ROW_ID_COLUMN, TableSchema};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::sql_err;
use crate::types::{DataType, Value};

/// A column with the options still to be resolved against the whole table.
struct ColumnDraft {
    schema: ColumnSchema,
    default: Option<ast::Expr>,
    explicit_null: bool,
}

/// A CHECK constraint before naming and binding.
pub(super) struct CheckDraft {
    /// `CONSTRAINT name`, if given.
    pub(super) name: Option<String>,
    /// The column a column constraint is attached to.
    pub(super) column: Option<String>,
    /// The predicate.
    pub(super) expr: ast::Expr,
}

/// Binds CREATE TABLE.
pub(super) fn create_table(b: &mut Binder<'_>, ct: &ast::CreateTable) -> Result<BoundStatement> {
    refuse_create_table_features(ct)?;
    super::storage_params::check_table_options(&ct.table_options)?;
    let name = user_relation(&ct.name)?;
    if relation_taken(b.catalog, &name) && !(ct.if_not_exists && b.catalog.table(&name).is_some()) {
        return Err(sql_err!(DUPLICATE_TABLE, "relation \"{name}\" already exists"));
    }

    let mut drafts: Vec<ColumnDraft> = Vec::new();
    let mut primary_key: Option<Vec<usize>> = None;
    let mut uniques: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    let mut checks: Vec<CheckDraft> = Vec::new();
    let mut serials: Vec<(String, u8)> = Vec::new();

    for (pos, def) in ct.columns.iter().enumerate() {
        let col_name = ident(&def.name);
        if drafts.iter().any(|d| d.schema.name == col_name) {
            return Err(sql_err!(DUPLICATE_COLUMN, "column \"{col_name}\" specified more than once"));
        }
        if col_name == ROW_ID_COLUMN {
            return Err(sql_err!(DUPLICATE_COLUMN, "column name \"{col_name}\" conflicts with a system column name"));
        }
        let serial = crate::sequence::serial_width(&def.data_type);
        let ty = match serial {
            Some(2) => crate::types::DataType::Int2,
            Some(4) => crate::types::DataType::Int4,
            Some(_) => crate::types::DataType::Int8,
            None => types::data_type(&def.data_type)?,
        };
        let mut draft = ColumnDraft {
            schema: ColumnSchema {
                id: pos as u32 + 1,
                name: col_name.clone(),
                ty,
                nullable: true,
                default: None,
                missing: Value::Null,
                hidden: false,
            },
            default: None,
            explicit_null: false,
        };
        let mut not_null = false;
        for opt in &def.options {
            let constraint_name = opt.name.as_ref().map(ident);
            match &opt.option {
                ColumnOption::Null => draft.explicit_null = true,
                ColumnOption::NotNull => not_null = true,
                ColumnOption::Default(e) => {
                    if draft.default.is_some() {
                        return Err(sql_err!(
                            SYNTAX_ERROR,
                            "multiple default values specified for column \"{col_name}\" of table \"{name}\""
                        ));
                    }
                    draft.default = Some(e.clone());
                }
                ColumnOption::PrimaryKey(_) => {
                    if primary_key.is_some() {
                        return Err(multiple_primary_keys(&name));
                    }
                    primary_key = Some(vec![pos]);
                }
                ColumnOption::Unique(u) => {
                    uniques.push((constraint_name.or_else(|| u.name.as_ref().map(ident)), vec![pos]))
                }
                ColumnOption::Check(c) => checks.push(CheckDraft {
                    name: constraint_name.or_else(|| c.name.as_ref().map(ident)),
                    column: Some(col_name.clone()),
                    expr: (*c.expr).clone(),
                }),
                ColumnOption::ForeignKey(_) => return Err(foreign_keys_unsupported()),
                other => return Err(Error::unsupported(format!("the column option {other}"))),
            }
        }
        if let Some(width) = serial {
            if draft.default.is_some() {
                return Err(sql_err!(
                    SYNTAX_ERROR,
                    "multiple default values specified for column \"{col_name}\" of table \"{name}\""
                ));
            }
            draft.default = Some(crate::sequence::serial_default(&name, &col_name)?);
            not_null = true;
            serials.push((col_name.clone(), width));
        }
        if not_null && draft.explicit_null {
            return Err(conflicting_null(&col_name, &name));
        }
        draft.schema.nullable = !not_null;
        drafts.push(draft);
    }

    let column_position = |id: &Ident, what: &str| -> Result<usize> {
        let n = ident(id);
        drafts
            .iter()
            .position(|d| d.schema.name == n)
            .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{n}\" named in {what} does not exist"))
    };
    for constraint in &ct.constraints {
        match constraint {
            TableConstraint::PrimaryKey(pk) => {
                if primary_key.is_some() {
                    return Err(multiple_primary_keys(&name));
                }
                let idents = index_column_idents(&pk.columns)?;
                primary_key = Some(key_positions(&idents, "primary key constraint", &column_position)?);
            }
            TableConstraint::Unique(u) => {
                if u.nulls_distinct == ast::NullsDistinctOption::NotDistinct {
                    return Err(Error::unsupported("UNIQUE NULLS NOT DISTINCT"));
                }
                let idents = index_column_idents(&u.columns)?;
                uniques
                    .push((u.name.as_ref().map(ident), key_positions(&idents, "unique constraint", &column_position)?));
            }
            TableConstraint::Check(c) => {
                checks.push(CheckDraft { name: c.name.as_ref().map(ident), column: None, expr: (*c.expr).clone() })
            }
            TableConstraint::ForeignKey(_) => return Err(foreign_keys_unsupported()),
            other => return Err(Error::unsupported(format!("the table constraint {other}"))),
        }
    }

    if let Some(pk) = &primary_key {
        for &p in pk {
            if drafts[p].explicit_null {
                return Err(conflicting_null(&drafts[p].schema.name, &name));
            }
            drafts[p].schema.nullable = false;
        }
    }

    let mut defaults = Vec::new();
    let mut columns = Vec::with_capacity(drafts.len() + 1);
    for d in drafts {
        defaults.push(d.default);
        columns.push(d.schema);
    }
    let primary_key = match primary_key {
        Some(pk) => pk,
        None => {
            columns.push(row_id_column(columns.len() as u32 + 1));
            vec![columns.len() - 1]
        }
    };
    let next_column_id = columns.len() as u32 + 1;
    let mut table = TableSchema {
        id: 0,
        name: name.clone(),
        columns,
        primary_key,
        indexes: Vec::new(),
        checks: Vec::new(),
        next_column_id,
        next_index_id: 2,
    };

    for (pos, default) in defaults.into_iter().enumerate() {
        if let Some(expr) = default {
            bind_default(b, &expr, &table.columns[pos])?;
            table.columns[pos].default = Some(expr.to_string());
        }
    }
    for draft in checks {
        add_check(b, &mut table, draft)?;
    }
    for (constraint_name, cols) in uniques {
        if cols == table.primary_key || table.indexes.iter().any(|i| i.unique && i.columns == cols) {
            continue; // PostgreSQL drops a unique constraint that repeats another.
        }
        let index_name = match constraint_name {
            Some(n) => {
                if relation_taken(b.catalog, &n) || n == name || table.indexes.iter().any(|i| i.name == n) {
                    return Err(sql_err!(DUPLICATE_TABLE, "relation \"{n}\" already exists"));
                }
                n
            }
            None => {
                let base = generated_index_name(&table, &cols, "key");
                choose_name(&base, &|n| {
                    relation_taken(b.catalog, n) || n == name || table.indexes.iter().any(|i| i.name == n)
                })
            }
        };
        let id = table.next_index_id;
        table.next_index_id += 1;
        table.indexes.push(IndexSchema { id, name: index_name, columns: cols, unique: true, kind: IndexKind::BTree });
    }
    Ok(BoundStatement::CreateTable { table, if_not_exists: ct.if_not_exists, serials })
}

/// The hidden row-id column with column id `id`.
pub(super) fn row_id_column(id: u32) -> ColumnSchema {
    ColumnSchema {
        id,
        name: ROW_ID_COLUMN.to_string(),
        ty: DataType::Int8,
        nullable: false,
        default: None,
        missing: Value::Null,
        hidden: true,
    }
}

/// Binds a DEFAULT expression for `column` (no column references, no
/// subqueries, no parameters) and coerces it to the column type.
pub(super) fn bind_default(b: &mut Binder<'_>, expr: &ast::Expr, column: &ColumnSchema) -> Result<Expr> {
    let bound = b.bind_expr(expr, &Scope::default())?;
    refuse_in_constraint(&bound, "DEFAULT expression")?;
    b.coerce_to(bound, &column.ty)
}

/// Names, binds (to validate) and appends a CHECK constraint.
pub(super) fn add_check(b: &mut Binder<'_>, table: &mut TableSchema, draft: CheckDraft) -> Result<()> {
    let scope = Scope::for_table(table, &table.name);
    let bound = b.bind_predicate(&draft.expr, &scope)?;
    refuse_in_constraint(&bound, "check constraint")?;
    let name = match draft.name {
        Some(n) => {
            if table.checks.iter().any(|c| c.name == n) {
                return Err(sql_err!(
                    DUPLICATE_OBJECT,
                    "constraint \"{n}\" for relation \"{}\" already exists",
                    table.name
                ));
            }
            n
        }
        None => {
            let base = match &draft.column {
                Some(c) => format!("{}_{c}_check", table.name),
                None => format!("{}_check", table.name),
            };
            choose_name(&base, &|n| table.checks.iter().any(|c| c.name == n))
        }
    };
    table.checks.push(CheckConstraint { name, expr: draft.expr.to_string() });
    Ok(())
}

/// Subqueries, parameters and outer references cannot appear in stored
/// expressions.
fn refuse_in_constraint(expr: &Expr, what: &str) -> Result<()> {
    let mut found: Option<Error> = None;
    visit(expr, &mut |e| {
        if found.is_some() {
            return;
        }
        found = match e {
            Expr::Subquery(_) => Some(Error::unsupported(format!("a subquery in a {what}"))),
            Expr::Param(i, _) => Some(sql_err!(UNDEFINED_PARAMETER, "there is no parameter ${}", i + 1)),
            Expr::Outer { .. } => Some(Error::unsupported(format!("an outer reference in a {what}"))),
            _ => None,
        };
    });
    found.map_or(Ok(()), Err)
}

/// Calls `f` on `expr` and every expression below it.
pub(super) fn visit(expr: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(expr);
    expr.for_each_child(&mut |c| visit(c, f));
}

/// Features of CREATE TABLE Alopex does not have.
fn refuse_create_table_features(ct: &ast::CreateTable) -> Result<()> {
    let refused = [
        (ct.or_replace, "CREATE OR REPLACE TABLE"),
        (ct.temporary, "CREATE TEMPORARY TABLE"),
        (ct.external, "CREATE EXTERNAL TABLE"),
        (ct.query.is_some(), "CREATE TABLE … AS"),
        (ct.like.is_some(), "CREATE TABLE … LIKE"),
        (ct.clone.is_some(), "CREATE TABLE … CLONE"),
        (ct.inherits.is_some(), "CREATE TABLE … INHERITS"),
        (ct.partition_of.is_some(), "CREATE TABLE … PARTITION OF"),
    ];
    match refused.iter().find(|(on, _)| *on) {
        Some((_, what)) => Err(Error::unsupported(what)),
        None => Ok(()),
    }
}

/// The plain column names of a key column list (expressions are 0A000).
pub(super) fn index_column_idents(cols: &[ast::IndexColumn]) -> Result<Vec<Ident>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => Ok(id.clone()),
            other => Err(Error::unsupported(format!("the key expression {other}"))),
        })
        .collect()
}

/// Positions of key columns, with PostgreSQL's "appears twice" error.
fn key_positions(idents: &[Ident], what: &str, position: &dyn Fn(&Ident, &str) -> Result<usize>) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(idents.len());
    for id in idents {
        let p = position(id, "key")?;
        if out.contains(&p) {
            return Err(sql_err!(DUPLICATE_COLUMN, "column \"{}\" appears twice in {what}", ident(id)));
        }
        out.push(p);
    }
    Ok(out)
}

/// `<table>_<col>_<col>_<suffix>`, PostgreSQL's generated index name.
fn generated_index_name(table: &TableSchema, cols: &[usize], suffix: &str) -> String {
    let mut name = table.name.clone();
    for &c in cols {
        name.push('_');
        name.push_str(&table.columns[c].name);
    }
    name.push('_');
    name.push_str(suffix);
    name
}

fn multiple_primary_keys(table: &str) -> Error {
    sql_err!(INVALID_TABLE_DEFINITION, "multiple primary keys for table \"{table}\" are not allowed")
}

fn conflicting_null(column: &str, table: &str) -> Error {
    sql_err!(SYNTAX_ERROR, "conflicting NULL/NOT NULL declarations for column \"{column}\" of table \"{table}\"")
}

pub(super) fn foreign_keys_unsupported() -> Error {
    Error::new(SqlState::FEATURE_NOT_SUPPORTED, "foreign keys are not supported yet")
}

/// Binds DROP TABLE and DROP INDEX.
pub(super) fn drop(
    b: &mut Binder<'_>,
    object_type: ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
    on_table: Option<&ast::ObjectName>,
) -> Result<BoundStatement> {
    if on_table.is_some() {
        return Err(Error::unsupported("DROP INDEX … ON"));
    }
    let mut found: Vec<String> = Vec::new();
    for object in names {
        let name = user_relation(object)?;
        let exists = match object_type {
            ObjectType::Table => b.catalog.table(&name).is_some(),
            ObjectType::Index => b.catalog.index(&name).is_some(),
            other => return Err(Error::unsupported(format!("DROP {other}"))),
        };
        if !exists {
            if if_exists {
                continue;
            }
            return Err(match object_type {
                ObjectType::Table if b.catalog.index(&name).is_some() => Error::new(
                    WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not a table; use DROP INDEX to remove an index"),
                ),
                ObjectType::Table => sql_err!(UNDEFINED_TABLE, "table \"{name}\" does not exist"),
                _ if b.catalog.table(&name).is_some() => Error::new(
                    WRONG_OBJECT_TYPE,
                    format!("\"{name}\" is not an index; use DROP TABLE to remove a table"),
                ),
                _ => sql_err!(UNDEFINED_OBJECT, "index \"{name}\" does not exist"),
            });
        }
        if !found.contains(&name) {
            found.push(name);
        }
    }
    Ok(match object_type {
        ObjectType::Index => BoundStatement::DropIndex { names: found },
        _ => BoundStatement::DropTable { names: found },
    })
}

/// The name of a new index: the one given (free unless IF NOT EXISTS), or
/// `<table>_<columns>_<suffix>` made unique.
fn index_name(
    b: &Binder<'_>,
    ci: &ast::CreateIndex,
    table: &TableSchema,
    columns: &[usize],
    suffix: &str,
) -> Result<String> {
    Ok(match &ci.name {
        Some(object) => {
            let parts = name_parts(object)?;
            let n = parts.last().cloned().unwrap_or_default();
            if parts.len() > 1 {
                user_relation(object)?;
            }
            if relation_taken(b.catalog, &n) && !ci.if_not_exists {
                return Err(sql_err!(DUPLICATE_TABLE, "relation \"{n}\" already exists"));
            }
            n
        }
        None => choose_name(&generated_index_name(table, columns, suffix), &|n| relation_taken(b.catalog, n)),
    })
}

/// Binds CREATE [UNIQUE] INDEX.
pub(super) fn create_index(b: &mut Binder<'_>, ci: &ast::CreateIndex) -> Result<BoundStatement> {
    let table = lookup_table(b.catalog, &user_relation(&ci.table_name)?)?;
    match &ci.using {
        None | Some(IndexType::BTree) => {}
        Some(IndexType::Custom(m)) if ident(m) == "btree" => {}
        Some(IndexType::Custom(m)) if ident(m) == "hnsw" => {
            return super::hnsw::create_hnsw_index(ci, table, |columns| index_name(b, ci, table, columns, "idx"));
        }
        Some(other) => {
            let method = match other {
                IndexType::Custom(m) => ident(m),
                o => o.to_string().to_lowercase(),
            };
            return Err(Error::unsupported(format!("index access method \"{method}\"")));
        }
    }
    let refused = [
        (!ci.include.is_empty(), "INCLUDE columns in an index"),
        (ci.predicate.is_some(), "partial indexes (CREATE INDEX … WHERE)"),
        (ci.nulls_distinct == Some(false), "NULLS NOT DISTINCT"),
        (!ci.with.is_empty(), "index storage parameters (WITH …)"),
        (!ci.index_options.is_empty() || !ci.alter_options.is_empty(), "these index options"),
    ];
    if let Some((_, what)) = refused.iter().find(|(on, _)| *on) {
        return Err(Error::unsupported(what));
    }
    // Key order (ASC/DESC, NULLS FIRST/LAST) does not change what an index
    // finds; Alopex indexes are ascending and scanned in either direction.
    let mut columns = Vec::with_capacity(ci.columns.len());
    for c in &ci.columns {
        if c.operator_class.is_some() {
            return Err(Error::unsupported("operator classes in an index"));
        }
        let id = match &c.column.expr {
            ast::Expr::Identifier(id) => id,
            other => return Err(Error::unsupported(format!("the index expression {other}"))),
        };
        let n = ident(id);
        let p = table
            .column_index(&n)
            .filter(|&p| !table.columns[p].hidden)
            .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{n}\" does not exist"))?;
        columns.push(p);
    }
    let name = index_name(b, ci, table, &columns, "idx")?;
    Ok(BoundStatement::CreateIndex {
        table: table.name.clone(),
        index: IndexSchema { id: 0, name, columns, unique: ci.unique, kind: IndexKind::BTree },
        if_not_exists: ci.if_not_exists,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{bind_sql, bind_sql_err, catalog, users};
    use super::*;
    use crate::catalog::Catalog;

    fn created(sql: &str) -> TableSchema {
        match bind_sql(&Catalog::default(), sql) {
            BoundStatement::CreateTable { table, .. } => table,
            other => panic!("not CREATE TABLE: {other:?}"),
        }
    }

    #[test]
    fn create_table_with_column_constraints() {
        let t = created(
            "CREATE TABLE Items (id INT PRIMARY KEY, \"Name\" TEXT NOT NULL DEFAULT 'x', \
             qty BIGINT UNIQUE CHECK (qty >= 0), note TEXT NULL)",
        );
        assert_eq!(t.id, 0);
        assert_eq!(t.name, "items");
        let names: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "Name", "qty", "note"]);
        assert_eq!(t.columns.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(t.next_column_id, 5);
        assert_eq!(t.primary_key, [0]);
        assert!(!t.columns[0].nullable && !t.columns[1].nullable && t.columns[2].nullable);
        assert_eq!(t.columns[1].default.as_deref(), Some("'x'"));
        assert_eq!(t.columns[0].ty, DataType::Int4);
        assert_eq!(t.columns[2].ty, DataType::Int8);
        assert!(!t.has_row_id());
        assert_eq!(
            t.indexes,
            [IndexSchema {
                id: 2,
                name: "items_qty_key".into(),
                columns: vec![2],
                unique: true,
                kind: IndexKind::BTree
            }]
        );
        assert_eq!(t.next_index_id, 3);
        assert_eq!(t.checks, [CheckConstraint { name: "items_qty_check".into(), expr: "qty >= 0".into() }]);
    }

    #[test]
    fn composite_primary_key_and_table_constraints() {
        let t = created(
            "CREATE TABLE t (a INT, b INT, c INT, PRIMARY KEY (b, a), UNIQUE (a, c), UNIQUE (b, a), \
             CHECK (a > 0), CHECK (b > 0), CONSTRAINT c_pos CHECK (c > 0), CONSTRAINT ac UNIQUE (c))",
        );
        assert_eq!(t.primary_key, [1, 0]);
        assert!(!t.columns[0].nullable && !t.columns[1].nullable && t.columns[2].nullable);
        // UNIQUE (b, a) repeats the primary key and is dropped, as in PostgreSQL.
        let idx: Vec<_> = t.indexes.iter().map(|i| (i.id, i.name.as_str(), i.columns.clone())).collect();
        assert_eq!(idx, [(2, "t_a_c_key", vec![0, 2]), (3, "ac", vec![2])]);
        let checks: Vec<_> = t.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(checks, ["t_check", "t_check1", "c_pos"]);
    }

    #[test]
    fn table_without_primary_key_gets_a_hidden_row_id() {
        let t = created("CREATE TABLE t (a INT, b TEXT)");
        assert_eq!(t.columns.len(), 3);
        let rowid = &t.columns[2];
        assert_eq!((rowid.name.as_str(), rowid.id, rowid.hidden, rowid.nullable), (ROW_ID_COLUMN, 3, true, false));
        assert_eq!(rowid.ty, DataType::Int8);
        assert_eq!(t.primary_key, [2]);
        assert_eq!(t.next_column_id, 4);
        assert!(t.has_row_id());
    }

    #[test]
    fn create_table_errors() {
        let cat = catalog(vec![users()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("CREATE TABLE t (a INT, A INT)"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("CREATE TABLE t (a INT PRIMARY KEY, b INT PRIMARY KEY)"), SqlState::INVALID_TABLE_DEFINITION);
        assert_eq!(
            err("CREATE TABLE t (a INT PRIMARY KEY, b INT, PRIMARY KEY (b))"),
            SqlState::INVALID_TABLE_DEFINITION
        );
        assert_eq!(err("CREATE TABLE users (a INT)"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("CREATE TABLE users_email_key (a INT)"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("CREATE TABLE t (a INT, PRIMARY KEY (b))"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("CREATE TABLE t (a INT, PRIMARY KEY (a, a))"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("CREATE TABLE t (a INT NULL NOT NULL)"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("CREATE TABLE t (a INT NULL PRIMARY KEY)"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("CREATE TABLE t (a INT REFERENCES users (id))"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(
            err("CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES users (id))"),
            SqlState::FEATURE_NOT_SUPPORTED
        );
        assert_eq!(err("CREATE TABLE t AS SELECT 1"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("CREATE TABLE t (_alopex_rowid INT)"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("CREATE TABLE t (a INT CHECK (b > 0))"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(
            err("CREATE TABLE t (a INT CONSTRAINT x CHECK (a > 0), CONSTRAINT x CHECK (a < 9))"),
            SqlState::DUPLICATE_OBJECT
        );
        assert_eq!(err("CREATE TABLE t (a INT DEFAULT 1 DEFAULT 2)"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("CREATE TABLE t (a INT, CONSTRAINT users UNIQUE (a))"), SqlState::DUPLICATE_TABLE);
        assert!(bind_sql_err(&cat, "CREATE TABLE t (a INT REFERENCES users (id))").message.contains("foreign keys"));
    }

    #[test]
    fn create_table_if_not_exists_is_left_to_the_session() {
        let cat = catalog(vec![users()]);
        match bind_sql(&cat, "CREATE TABLE IF NOT EXISTS users (a INT)") {
            BoundStatement::CreateTable { if_not_exists: true, table, .. } => assert_eq!(table.name, "users"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn drop_table_and_index() {
        let cat = catalog(vec![users()]);
        assert_eq!(
            bind_sql(&cat, "DROP TABLE Users CASCADE"),
            BoundStatement::DropTable { names: vec!["users".into()] }
        );
        assert_eq!(
            bind_sql(&cat, "DROP TABLE IF EXISTS nope, users, users"),
            BoundStatement::DropTable { names: vec!["users".into()] }
        );
        assert_eq!(bind_sql_err(&cat, "DROP TABLE nope").state, SqlState::UNDEFINED_TABLE);
        assert_eq!(bind_sql_err(&cat, "DROP TABLE users_email_key").state, WRONG_OBJECT_TYPE);
        assert_eq!(bind_sql_err(&cat, "DROP INDEX users").state, WRONG_OBJECT_TYPE);
        assert_eq!(
            bind_sql(&cat, "DROP INDEX users_email_key"),
            BoundStatement::DropIndex { names: vec!["users_email_key".into()] }
        );
        assert_eq!(bind_sql(&cat, "DROP INDEX IF EXISTS nope"), BoundStatement::DropIndex { names: vec![] });
        assert_eq!(bind_sql_err(&cat, "DROP INDEX nope").state, SqlState::UNDEFINED_OBJECT);
        assert_eq!(bind_sql_err(&cat, "DROP VIEW v").state, SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(bind_sql_err(&cat, "DROP TABLE other.t").state, super::super::names::INVALID_SCHEMA_NAME);
    }

    #[test]
    fn create_index_names_and_methods() {
        let cat = catalog(vec![users()]);
        match bind_sql(&cat, "CREATE UNIQUE INDEX IF NOT EXISTS by_name ON users USING btree (name, id DESC)") {
            BoundStatement::CreateIndex { table, index, if_not_exists } => {
                assert_eq!(table, "users");
                assert!(if_not_exists);
                assert_eq!(
                    index,
                    IndexSchema {
                        id: 0,
                        name: "by_name".into(),
                        columns: vec![1, 0],
                        unique: true,
                        kind: IndexKind::BTree
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        match bind_sql(&cat, "CREATE INDEX ON users (name, email)") {
            BoundStatement::CreateIndex { index, if_not_exists: false, .. } => {
                assert_eq!(index.name, "users_name_email_idx");
                assert!(!index.unique);
            }
            other => panic!("{other:?}"),
        }
        // The generated name skips names in use (here: an existing index).
        match bind_sql(&cat, "CREATE INDEX ON users (email)") {
            BoundStatement::CreateIndex { index, .. } => assert_eq!(index.name, "users_email_idx"),
            other => panic!("{other:?}"),
        }
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("CREATE INDEX users_email_key ON users (name)"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("CREATE INDEX users ON users (name)"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("CREATE INDEX users_pkey ON users (name)"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("CREATE INDEX i ON nope (name)"), SqlState::UNDEFINED_TABLE);
        assert_eq!(err("CREATE INDEX i ON users (nope)"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("CREATE INDEX i ON users USING hnsw (name)"), SqlState::UNDEFINED_OBJECT);
        assert_eq!(err("CREATE INDEX i ON users USING hnsw (name vector_l2_ops)"), SqlState::DATATYPE_MISMATCH);
        assert_eq!(err("CREATE INDEX i ON users USING gin (name)"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("CREATE INDEX i ON users ((lower(name)))"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("CREATE INDEX i ON users (name) WHERE id > 0"), SqlState::FEATURE_NOT_SUPPORTED);
        assert!(bind_sql_err(&cat, "CREATE INDEX i ON users USING hnsw (name)").message.contains("hnsw"));
    }

    #[test]
    fn create_index_collision_with_taken_generated_name() {
        let mut t = users();
        t.indexes.push(IndexSchema {
            id: 3,
            name: "users_name_idx".into(),
            columns: vec![1],
            unique: false,
            kind: IndexKind::BTree,
        });
        let cat = catalog(vec![t]);
        match bind_sql(&cat, "CREATE INDEX ON users (name)") {
            BoundStatement::CreateIndex { index, .. } => assert_eq!(index.name, "users_name_idx1"),
            other => panic!("{other:?}"),
        }
    }
}
