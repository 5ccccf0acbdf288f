//! Binding ALTER TABLE.
//!
//! ALTER TABLE is bound to a pair of definitions, before and after; each
//! operation of the statement edits the "after" copy in turn, so
//! `ALTER TABLE t ADD COLUMN c INT, RENAME COLUMN a TO b` composes like two
//! statements. The session writes the result and, when
//! [`BoundStatement::AlterTable::added_column`] is set, first checks the
//! existing rows against that column's NOT NULL and CHECK constraints
//! (for a new NOT NULL column without a default, that means the table must
//! be empty).
//!
//! Positions versus ids: rows are stored by column *id*, so adding and
//! dropping columns never rewrites data. Plans, the primary key and the
//! indexes refer to column *positions*, which this module keeps consistent:
//! the hidden row id stays the last column (a new column goes before it),
//! and dropping a column shifts the positions after it.
//!
//! ADD COLUMN does not rewrite old rows either: they read the column's
//! `missing` value, the DEFAULT evaluated once, now, when it is constant
//! (PostgreSQL's "fast default"). A volatile default cannot be captured in
//! one value, so it is accepted only on an empty table.
//!
//! ADD PRIMARY KEY is the one operation that rewrites rows: a table created
//! without a key is keyed by its hidden row id, and the key decides where a
//! row lives. The binder drops the hidden column and marks the key columns
//! NOT NULL; the session moves every row to its new key and rebuilds the
//! indexes (`table/rekey.rs`), failing with 23502/23505 on NULL or
//! duplicate keys. A table that has a primary key cannot get another.
//!
//! CHECK constraints are stored as SQL text naming columns, so RENAME COLUMN
//! and RENAME TO rewrite the names inside that text, token by token, leaving
//! everything else byte for byte as it was.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use sqlparser::ast::{self, AlterColumnOperation, AlterTableOperation, ColumnOption, TableConstraint};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use super::ddl::{CheckDraft, add_check, bind_default, foreign_keys_unsupported, index_column_idents};
use super::names::{ident, quote_ident, relation_taken, target_column, user_relation};
use super::{Binder, BoundStatement, types};
use crate::catalog::{ColumnSchema, ROW_ID_COLUMN, TableSchema};
use crate::error::{Error, Result};
use crate::expr::cast::assign;
use crate::expr::{EvalEnv, Subquery, eval};
use crate::sql_err;
use crate::types::{DataType, Value};

/// Binds ALTER TABLE.
pub(super) fn alter_table(b: &mut Binder<'_>, at: &ast::AlterTable) -> Result<BoundStatement> {
    if at.only || at.table_type.is_some() || at.location.is_some() || at.on_cluster.is_some() {
        return Err(Error::unsupported("this form of ALTER TABLE"));
    }
    let name = user_relation(&at.name)?;
    let Some(old) = b.catalog.table(&name) else {
        if at.if_exists {
            // Nothing to do; an empty DROP TABLE is the statement that does nothing.
            return Ok(BoundStatement::DropTable { names: vec![] });
        }
        return Err(sql_err!(UNDEFINED_TABLE, "relation \"{name}\" does not exist"));
    };
    let old = TableSchema::clone(old);
    let mut new = old.clone();
    // The column (by id) whose constraints existing rows must satisfy.
    let mut validate: Option<u32> = None;
    for op in &at.operations {
        match op {
            AlterTableOperation::AddColumn { if_not_exists, column_def, column_position, .. } => {
                if column_position.is_some() {
                    return Err(Error::unsupported("ADD COLUMN … FIRST/AFTER"));
                }
                if let Some(id) = add_column(b, &mut new, column_def, *if_not_exists)? {
                    validate = Some(id);
                }
            }
            AlterTableOperation::DropColumn { column_names, if_exists, .. } => {
                for column in column_names {
                    drop_column(&mut new, &ident(column), *if_exists)?;
                }
            }
            AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                rename_column(&mut new, &ident(old_column_name), &ident(new_column_name))?;
            }
            AlterTableOperation::RenameTable { table_name } => {
                let target = match table_name {
                    ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => user_relation(n)?,
                };
                if target != new.name && relation_taken(b.catalog, &target) {
                    return Err(sql_err!(DUPLICATE_TABLE, "relation \"{target}\" already exists"));
                }
                for check in &mut new.checks {
                    check.expr = rename_in_expr(&check.expr, &new.name, &target, Reference::TableQualifier)?;
                }
                new.name = target;
            }
            AlterTableOperation::AlterColumn { column_name, op } => {
                let pos = target_column(&new, &ident(column_name))?;
                match op {
                    AlterColumnOperation::SetDefault { value } => {
                        bind_default(b, value, &new.columns[pos])?;
                        new.columns[pos].default = Some(value.to_string());
                    }
                    AlterColumnOperation::DropDefault => new.columns[pos].default = None,
                    AlterColumnOperation::DropNotNull => {
                        if new.primary_key.contains(&pos) {
                            return Err(sql_err!(
                                INVALID_TABLE_DEFINITION,
                                "column \"{}\" is in a primary key",
                                new.columns[pos].name
                            ));
                        }
                        new.columns[pos].nullable = true;
                    }
                    AlterColumnOperation::SetNotNull => {
                        if new.columns[pos].nullable {
                            new.columns[pos].nullable = false;
                            validate = Some(new.columns[pos].id);
                        }
                    }
                    other => return Err(Error::unsupported(format!("ALTER TABLE … ALTER COLUMN … {other}"))),
                }
            }
            AlterTableOperation::AddConstraint { constraint: TableConstraint::Check(c), not_valid: true } => {
                // NOT VALID: existing rows are not checked, as in PostgreSQL.
                let draft = CheckDraft { name: c.name.as_ref().map(ident), column: None, expr: (*c.expr).clone() };
                add_check(b, &mut new, draft)?;
            }
            AlterTableOperation::AddConstraint { constraint: TableConstraint::PrimaryKey(pk), .. } => {
                add_primary_key(&mut new, pk)?;
            }
            AlterTableOperation::AddConstraint { constraint, .. } => {
                return Err(match constraint {
                    TableConstraint::ForeignKey(_) => foreign_keys_unsupported(),
                    TableConstraint::Unique(_) => Error::unsupported(
                        "ALTER TABLE … ADD UNIQUE (use CREATE UNIQUE INDEX, which checks the existing rows)",
                    ),
                    TableConstraint::Check(_) => {
                        Error::unsupported("ALTER TABLE … ADD CHECK on existing rows (add it NOT VALID)")
                    }
                    other => Error::unsupported(format!("ALTER TABLE … ADD {other}")),
                });
            }
            AlterTableOperation::DropConstraint { if_exists, name: constraint, .. } => {
                drop_constraint(&mut new, &ident(constraint), *if_exists)?;
            }
            other => return Err(Error::unsupported(format!("ALTER TABLE … {other}"))),
        }
    }
    let added_column = validate.and_then(|id| new.columns.iter().position(|c| c.id == id));
    Ok(BoundStatement::AlterTable { old, new, added_column })
}

/// ADD COLUMN. Returns the new column's id when existing rows must be
/// checked against it.
fn add_column(
    b: &mut Binder<'_>,
    table: &mut TableSchema,
    def: &ast::ColumnDef,
    if_not_exists: bool,
) -> Result<Option<u32>> {
    let name = ident(&def.name);
    if name == ROW_ID_COLUMN {
        return Err(sql_err!(DUPLICATE_COLUMN, "column name \"{name}\" conflicts with a system column name"));
    }
    if table.column_index(&name).is_some() {
        if if_not_exists {
            return Ok(None);
        }
        return Err(sql_err!(DUPLICATE_COLUMN, "column \"{name}\" of relation \"{}\" already exists", table.name));
    }
    let mut column = ColumnSchema {
        id: table.next_column_id,
        name: name.clone(),
        ty: DataType::Unknown,
        nullable: true,
        default: None,
        missing: Value::Null,
        hidden: false,
    };
    let mut not_null = false;
    let mut explicit_null = false;
    let mut default: Option<&ast::Expr> = None;
    let mut checks = Vec::new();
    for opt in &def.options {
        match &opt.option {
            ColumnOption::Null => explicit_null = true,
            ColumnOption::NotNull => not_null = true,
            ColumnOption::Default(e) => {
                if default.replace(e).is_some() {
                    return Err(sql_err!(
                        SYNTAX_ERROR,
                        "multiple default values specified for column \"{name}\" of table \"{}\"",
                        table.name
                    ));
                }
            }
            ColumnOption::Check(c) => checks.push(CheckDraft {
                name: opt.name.as_ref().or(c.name.as_ref()).map(ident),
                column: Some(name.clone()),
                expr: (*c.expr).clone(),
            }),
            ColumnOption::PrimaryKey(_) => return Err(Error::unsupported("adding a PRIMARY KEY column")),
            ColumnOption::Unique(_) => {
                return Err(Error::unsupported(
                    "ADD COLUMN … UNIQUE (add the column, then CREATE UNIQUE INDEX, which checks the rows)",
                ));
            }
            ColumnOption::ForeignKey(_) => return Err(foreign_keys_unsupported()),
            other => return Err(Error::unsupported(format!("the column option {other}"))),
        }
    }
    if not_null && explicit_null {
        return Err(sql_err!(
            SYNTAX_ERROR,
            "conflicting NULL/NOT NULL declarations for column \"{name}\" of table \"{}\"",
            table.name
        ));
    }
    column.nullable = !not_null;
    column.ty = types::data_type(&def.data_type)?;
    let mut must_validate = false;
    if let Some(expr) = default {
        let bound = bind_default(b, expr, &column)?;
        if bound.is_constant() {
            // The value an INSERT would store: assignment-cast to the column.
            column.missing = assign(&eval(&bound, &[], &mut ConstantEnv)?, &column.ty)?;
        } else {
            must_validate = true;
        }
        column.default = Some(expr.to_string());
    }
    must_validate |= !column.nullable && column.missing.is_null();
    must_validate |= !checks.is_empty();
    let id = column.id;
    table.next_column_id += 1;
    insert_column(table, column);
    for draft in checks {
        add_check(b, table, draft)?;
    }
    Ok(must_validate.then_some(id))
}

/// ADD PRIMARY KEY on a table keyed by its hidden row id: the hidden
/// column goes (it is last, so no position moves), the key columns become
/// NOT NULL, and the session moves every row to its new key (see
/// `table/rekey.rs`), checking NULLs and duplicates as it goes. The
/// constraint is named `<table>_pkey`, as in CREATE TABLE.
fn add_primary_key(table: &mut TableSchema, pk: &ast::PrimaryKeyConstraint) -> Result<()> {
    if !table.has_row_id() {
        return Err(sql_err!(
            INVALID_TABLE_DEFINITION,
            "multiple primary keys for table \"{}\" are not allowed",
            table.name
        ));
    }
    if pk.index_type.is_some() || !pk.index_options.is_empty() || !pk.include.is_empty() {
        return Err(Error::unsupported("ADD PRIMARY KEY with index options"));
    }
    if pk.characteristics.is_some() {
        return Err(Error::unsupported("a DEFERRABLE primary key"));
    }
    let mut positions = Vec::with_capacity(pk.columns.len());
    for id in index_column_idents(&pk.columns)? {
        let name = ident(&id);
        let pos = target_column(table, &name)?;
        if positions.contains(&pos) {
            return Err(sql_err!(DUPLICATE_COLUMN, "column \"{name}\" appears twice in primary key constraint"));
        }
        crate::encoding::keycode::check_key_type(&table.columns[pos].ty)?;
        positions.push(pos);
    }
    table.columns.pop();
    for &p in &positions {
        table.columns[p].nullable = false;
    }
    table.primary_key = positions;
    Ok(())
}

/// Adds a column last, or just before the hidden row id.
pub(super) fn insert_column(table: &mut TableSchema, column: ColumnSchema) {
    if !table.has_row_id() {
        table.columns.push(column);
        return;
    }
    let at = table.columns.len() - 1;
    table.columns.insert(at, column);
    let shift = |p: &mut usize| {
        if *p >= at {
            *p += 1
        }
    };
    table.primary_key.iter_mut().for_each(shift);
    table.indexes.iter_mut().flat_map(|i| i.columns.iter_mut()).for_each(shift);
}

/// DROP COLUMN: indexes and CHECK constraints that use the column go with
/// it, as in PostgreSQL; a primary-key column cannot be dropped.
fn drop_column(table: &mut TableSchema, name: &str, if_exists: bool) -> Result<()> {
    let pos = match target_column(table, name) {
        Ok(p) => p,
        Err(_) if if_exists => return Ok(()),
        Err(e) => return Err(e),
    };
    if table.primary_key.contains(&pos) {
        return Err(sql_err!(
            FEATURE_NOT_SUPPORTED,
            "cannot drop column \"{name}\" because it is part of the primary key of table \"{}\"",
            table.name
        ));
    }
    let mut kept_checks = Vec::with_capacity(table.checks.len());
    for check in std::mem::take(&mut table.checks) {
        if !references_column(&check.expr, name)? {
            kept_checks.push(check);
        }
    }
    table.checks = kept_checks;
    table.columns.remove(pos);
    table.indexes.retain(|i| !i.columns.contains(&pos));
    let shift = |p: &mut usize| {
        if *p > pos {
            *p -= 1
        }
    };
    table.primary_key.iter_mut().for_each(shift);
    table.indexes.iter_mut().flat_map(|i| i.columns.iter_mut()).for_each(shift);
    Ok(())
}

/// RENAME COLUMN, rewriting CHECK constraints that name it.
fn rename_column(table: &mut TableSchema, from: &str, to: &str) -> Result<()> {
    let pos = target_column(table, from)?;
    if to == ROW_ID_COLUMN {
        return Err(sql_err!(DUPLICATE_COLUMN, "column name \"{to}\" conflicts with a system column name"));
    }
    if table.column_index(to).is_some() {
        return Err(sql_err!(DUPLICATE_COLUMN, "column \"{to}\" of relation \"{}\" already exists", table.name));
    }
    for check in &mut table.checks {
        check.expr = rename_in_expr(&check.expr, from, to, Reference::Column)?;
    }
    table.columns[pos].name = to.to_string();
    Ok(())
}

/// DROP CONSTRAINT: a CHECK, or a unique constraint (its index).
fn drop_constraint(table: &mut TableSchema, name: &str, if_exists: bool) -> Result<()> {
    if let Some(i) = table.checks.iter().position(|c| c.name == name) {
        table.checks.remove(i);
    } else if let Some(i) = table.indexes.iter().position(|ix| ix.unique && ix.name == name) {
        table.indexes.remove(i);
    } else if name == table.pkey_name() {
        return Err(Error::unsupported("dropping a primary key"));
    } else if !if_exists {
        return Err(sql_err!(UNDEFINED_OBJECT, "constraint \"{name}\" of relation \"{}\" does not exist", table.name));
    }
    Ok(())
}

/// Which words of an expression's text a rename applies to.
#[derive(Clone, Copy, PartialEq)]
enum Reference {
    /// Column names: words not followed by `(` (a call) or `.` (a qualifier).
    Column,
    /// Table qualifiers: words followed by `.`.
    TableQualifier,
}

/// The tokens of stored expression text with their byte ranges.
fn tokens(text: &str) -> Result<Vec<(Token, std::ops::Range<usize>)>> {
    let toks = Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize_with_location()
        .map_err(|e| Error::internal(format!("stored expression {text:?} does not tokenize: {e}")))?;
    // Locations are 1-based (line, character); map them to byte offsets.
    let mut line_starts = vec![0usize];
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(_, c)) in chars.iter().enumerate() {
        if c == '\n' {
            line_starts.push(i + 1);
        }
    }
    let byte_at = |loc: Location| -> usize {
        let line = (loc.line as usize).saturating_sub(1);
        let char_index =
            line_starts.get(line).copied().unwrap_or(chars.len()) + (loc.column as usize).saturating_sub(1);
        chars.get(char_index).map_or(text.len(), |&(b, _)| b)
    };
    Ok(toks.into_iter().map(|TokenWithSpan { token, span }| (token, byte_at(span.start)..byte_at(span.end))).collect())
}

/// Indices of the words in `toks` that are references of `kind` to `name`.
fn matching_words(toks: &[(Token, std::ops::Range<usize>)], name: &str, kind: Reference) -> Vec<usize> {
    let next_significant = |i: usize| toks[i + 1..].iter().map(|(t, _)| t).find(|t| !matches!(t, Token::Whitespace(_)));
    let mut out = Vec::new();
    for (i, (tok, _)) in toks.iter().enumerate() {
        let Token::Word(w) = tok else { continue };
        let folded = if w.quote_style.is_some() { w.value.clone() } else { w.value.to_lowercase() };
        if folded != name {
            continue;
        }
        let next = next_significant(i);
        let is_ref = match kind {
            Reference::Column => !matches!(next, Some(Token::LParen | Token::Period)),
            Reference::TableQualifier => matches!(next, Some(Token::Period)),
        };
        if is_ref {
            out.push(i);
        }
    }
    out
}

/// True when the expression text names the column.
fn references_column(text: &str, column: &str) -> Result<bool> {
    Ok(!matching_words(&tokens(text)?, column, Reference::Column).is_empty())
}

/// The expression text with every reference of `kind` to `from` renamed.
fn rename_in_expr(text: &str, from: &str, to: &str, kind: Reference) -> Result<String> {
    let toks = tokens(text)?;
    let mut out = String::with_capacity(text.len() + to.len());
    let mut copied = 0;
    for i in matching_words(&toks, from, kind) {
        let range = toks[i].1.clone();
        out.push_str(&text[copied..range.start]);
        out.push_str(&quote_ident(to));
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// The environment for folding a constant DEFAULT: constant expressions
/// read no parameters, outer rows or subqueries.
struct ConstantEnv;

impl EvalEnv for ConstantEnv {
    fn param(&self, index: usize) -> Result<Value> {
        Err(sql_err!(UNDEFINED_PARAMETER, "there is no parameter ${}", index + 1))
    }

    fn outer(&self, _depth: usize, _index: usize) -> Result<Value> {
        Err(Error::internal("a constant DEFAULT read an outer row"))
    }

    fn now(&self) -> DateTime<Utc> {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        DateTime::from_timestamp(since.as_secs() as i64, since.subsec_nanos()).unwrap_or_default()
    }

    fn scalar_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<Value> {
        Err(Error::internal("a constant DEFAULT ran a subquery"))
    }

    fn exists_subquery(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<bool> {
        Err(Error::internal("a constant DEFAULT ran a subquery"))
    }

    fn subquery_values(&mut self, _sub: &Subquery, _row: &[Value]) -> Result<std::sync::Arc<Vec<Value>>> {
        Err(Error::internal("a constant DEFAULT ran a subquery"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{bind_sql, bind_sql_err, catalog, events, users};
    use super::*;
    use crate::catalog::{CheckConstraint, IndexKind, IndexSchema};
    use crate::error::SqlState;

    fn altered(tables: Vec<TableSchema>, sql: &str) -> (TableSchema, TableSchema, Option<usize>) {
        match bind_sql(&catalog(tables), sql) {
            BoundStatement::AlterTable { old, new, added_column } => (old, new, added_column),
            other => panic!("not ALTER TABLE: {other:?}"),
        }
    }

    #[test]
    fn rename_rewrites_only_references() {
        let text = "a > 0 AND \"A\" <> 'a' AND t.a = abs(a) AND a.x = 1";
        assert_eq!(
            rename_in_expr(text, "a", "New Col", Reference::Column).unwrap(),
            "\"New Col\" > 0 AND \"A\" <> 'a' AND t.\"New Col\" = abs(\"New Col\") AND a.x = 1"
        );
        assert_eq!(
            rename_in_expr("t.a > 0 AND a > 1", "t", "u", Reference::TableQualifier).unwrap(),
            "u.a > 0 AND a > 1"
        );
        assert_eq!(
            rename_in_expr("b = 'it''s'\n AND é = b", "b", "c", Reference::Column).unwrap(),
            "c = 'it''s'\n AND é = c"
        );
        assert!(references_column("x + 1 > 0", "x").unwrap());
        assert!(!references_column("abs(y) > 0", "abs").unwrap());
    }

    #[test]
    fn rename_column_and_table() {
        let (old, new, added) = altered(vec![users(), events()], "ALTER TABLE users RENAME COLUMN score TO points");
        assert_eq!(old, users());
        assert_eq!(added, None);
        assert_eq!(new.columns[3].name, "points");
        assert_eq!(new.columns[3].id, 4);
        assert_eq!(new.checks, [CheckConstraint { name: "users_score_check".into(), expr: "points >= 0".into() }]);

        let (_, new, _) = altered(vec![users()], "ALTER TABLE users RENAME TO people");
        assert_eq!(new.name, "people");
        assert_eq!(new.id, 20);

        let cat = catalog(vec![users(), events()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("ALTER TABLE users RENAME TO events"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("ALTER TABLE users RENAME TO events_at_idx"), SqlState::DUPLICATE_TABLE);
        assert_eq!(err("ALTER TABLE users RENAME COLUMN nope TO x"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("ALTER TABLE users RENAME COLUMN name TO email"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("ALTER TABLE users RENAME COLUMN name TO name"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("ALTER TABLE events RENAME COLUMN _alopex_rowid TO x"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("ALTER TABLE nope RENAME TO x"), SqlState::UNDEFINED_TABLE);
        assert_eq!(
            bind_sql(&cat, "ALTER TABLE IF EXISTS nope RENAME TO x"),
            BoundStatement::DropTable { names: vec![] }
        );
    }

    #[test]
    fn drop_column_shifts_positions_and_drops_dependents() {
        let mut t = users();
        t.indexes.push(IndexSchema {
            id: 3,
            name: "users_score_idx".into(),
            columns: vec![3],
            unique: false,
            kind: IndexKind::BTree,
        });
        let (_, new, added) = altered(vec![t], "ALTER TABLE users DROP COLUMN email");
        assert_eq!(added, None);
        assert_eq!(new.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "name", "score"]);
        // The index on email went with it; the index on score moved down.
        assert_eq!(new.indexes.len(), 1);
        assert_eq!((new.indexes[0].name.as_str(), new.indexes[0].columns.clone()), ("users_score_idx", vec![2]));
        assert_eq!(new.checks.len(), 1);
        assert_eq!(new.next_column_id, 5);

        let (_, new, _) = altered(vec![users()], "ALTER TABLE users DROP COLUMN score, DROP COLUMN IF EXISTS nope");
        assert!(new.checks.is_empty());

        let (_, new, _) = altered(vec![events()], "ALTER TABLE events DROP kind");
        assert_eq!(new.primary_key, [1]);
        assert_eq!(new.indexes[0].columns, [0]);

        let cat = catalog(vec![users()]);
        assert_eq!(bind_sql_err(&cat, "ALTER TABLE users DROP COLUMN id").state, SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(bind_sql_err(&cat, "ALTER TABLE users DROP COLUMN nope").state, SqlState::UNDEFINED_COLUMN);
    }

    #[test]
    fn constraints_and_column_options() {
        let (_, new, _) = altered(
            vec![users()],
            "ALTER TABLE users DROP CONSTRAINT users_score_check, DROP CONSTRAINT users_email_key",
        );
        assert!(new.checks.is_empty() && new.indexes.is_empty());
        let (_, new, _) = altered(
            vec![users()],
            "ALTER TABLE users ALTER COLUMN score DROP DEFAULT, ALTER COLUMN name DROP NOT NULL",
        );
        assert_eq!(new.columns[3].default, None);
        assert!(new.columns[1].nullable);
        let (_, new, added) = altered(vec![users()], "ALTER TABLE users ALTER COLUMN email SET NOT NULL");
        assert!(!new.columns[2].nullable);
        assert_eq!(added, Some(2));
        let cat = catalog(vec![users()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("ALTER TABLE users DROP CONSTRAINT nope"), SqlState::UNDEFINED_OBJECT);
        assert_eq!(err("ALTER TABLE users DROP CONSTRAINT users_pkey"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("ALTER TABLE users ALTER COLUMN id DROP NOT NULL"), SqlState::INVALID_TABLE_DEFINITION);
        assert_eq!(err("ALTER TABLE users ALTER COLUMN id TYPE BIGINT"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("ALTER TABLE users ADD CONSTRAINT u UNIQUE (name)"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(
            err("ALTER TABLE users ADD FOREIGN KEY (id) REFERENCES users (id)"),
            SqlState::FEATURE_NOT_SUPPORTED
        );
        assert_eq!(err("ALTER TABLE users ADD COLUMN id INT"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("ALTER TABLE users ADD COLUMN u INT UNIQUE"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("ALTER TABLE users ADD COLUMN _alopex_rowid INT"), SqlState::DUPLICATE_COLUMN);
        let (_, new, added) = altered(vec![users()], "ALTER TABLE users ADD COLUMN IF NOT EXISTS id INT");
        assert_eq!((new, added), (users(), None));
    }

    #[test]
    fn insert_column_keeps_the_row_id_last() {
        let mut t = events();
        let mut c = super::super::test_util::col(4, "n", DataType::Int4, true);
        c.missing = Value::Int(1);
        insert_column(&mut t, c);
        assert_eq!(t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["kind", "at", "n", ROW_ID_COLUMN]);
        assert_eq!(t.primary_key, [3]);
        assert_eq!(t.indexes[0].columns, [1]);
        assert!(t.has_row_id());
    }

    #[test]
    fn add_column_with_defaults() {
        // Constant default: folded into `missing`, no validation.
        let (_, new, added) = altered(vec![events()], "ALTER TABLE events ADD COLUMN n INT NOT NULL DEFAULT 5");
        assert_eq!(added, None);
        let c = &new.columns[2];
        assert_eq!((c.name.as_str(), c.id, c.nullable, c.default.as_deref()), ("n", 4, false, Some("5")));
        assert_eq!(c.missing, Value::Int(5));
        assert_eq!(new.next_column_id, 5);
        assert_eq!(new.primary_key, [3]);
        assert!(new.has_row_id());

        // NOT NULL without a default: the session must find the table empty.
        let (_, new, added) = altered(vec![users()], "ALTER TABLE users ADD COLUMN n TEXT NOT NULL");
        assert_eq!(added, Some(4));
        assert_eq!(new.columns[4].missing, Value::Null);

        // A CHECK is named after the column and must hold on existing rows.
        let (_, new, added) = altered(vec![users()], "ALTER TABLE users ADD COLUMN n INT CHECK (n > 0)");
        assert_eq!(added, Some(4));
        assert_eq!(new.checks[1].name, "users_n_check");
    }
}
