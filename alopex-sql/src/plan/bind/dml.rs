//! Binding INSERT, UPDATE, DELETE (and TRUNCATE).
//!
//! The write nodes take their rows from an ordinary plan, so everything the
//! optimizer and executor do for queries applies to the rows being written:
//!
//! - INSERT's input is a Project over the bound source (VALUES or a query)
//!   that yields *full* table rows in schema order: each target column gets
//!   its source value cast to the column type (an assignment cast), every
//!   other column its DEFAULT (bound from the stored text) or NULL, and the
//!   hidden row id a NULL that the executor replaces with a fresh id.
//! - UPDATE's and DELETE's input is a scan of the target with the WHERE
//!   clause as a Filter; the optimizer turns that into a key range or index
//!   scan like any query.
//!
//! Everything that runs per written row is bound against a scope that
//! spells out the row it sees: assignments and WHERE against the old row,
//! CHECK constraints and RETURNING against the new row, ON CONFLICT DO
//! UPDATE against the existing row followed by `excluded`.
//!
//! The `DEFAULT` keyword in a VALUES row reaches us from `sqlparser` as the
//! unquoted identifier `DEFAULT`; it is replaced by the column's default
//! expression (or NULL) before the source is bound, so VALUES typing sees
//! the real expression.

use std::sync::Arc;

use sqlparser::ast::{self, AssignmentTarget, SelectItem};

use super::names::{ident, lookup_table, name_parts, output_name, parse_stored_expr, target_column, user_relation};
use super::{Binder, Scope};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::{Node, OnConflict, OnConflictAction, OutputColumn, Plan};
use crate::sql_err;
use crate::types::{DataType, Value};

/// Binds INSERT.
pub(super) fn insert(b: &mut Binder<'_>, ins: &ast::Insert) -> Result<Plan> {
    refuse_insert_features(ins)?;
    let table_name = match &ins.table {
        ast::TableObject::TableName(n) => user_relation(n)?,
        other => return Err(Error::unsupported(format!("INSERT INTO {other}"))),
    };
    let table = Arc::clone(lookup_table(b.catalog, &table_name)?);
    let alias = ins.table_alias.as_ref().map_or_else(|| table.name.clone(), |a| ident(&a.alias));

    // Target columns: the list given, or every visible column in order.
    let explicit = !ins.columns.is_empty();
    let mut targets: Vec<usize> = Vec::new();
    if explicit {
        for c in &ins.columns {
            let parts = name_parts(c)?;
            let name = parts.last().cloned().unwrap_or_default();
            let pos = target_column(&table, &name)?;
            if targets.contains(&pos) {
                return Err(sql_err!(DUPLICATE_COLUMN, "column \"{name}\" specified more than once"));
            }
            targets.push(pos);
        }
    } else {
        targets = (0..table.columns.len()).filter(|&i| !table.columns[i].hidden).collect();
    }

    // The source, with DEFAULT in VALUES replaced by the column defaults.
    // Without a column list the source may be narrower than the table (the
    // rest get defaults), so the targets are cut to the source's width:
    // counted for VALUES, which is typed against its targets; found by
    // binding for a query, whose columns the Project below casts.
    let (source, source_cols) = match &ins.source {
        None => (Node::Values { rows: vec![vec![]], width: 0 }, vec![]),
        Some(query) => {
            let query = substitute_defaults(query, &table, &targets)?;
            let values_width = match query.body.as_ref() {
                ast::SetExpr::Values(v) => Some(v.rows.first().map_or(0, |r| r.len())),
                _ => None,
            };
            match values_width {
                None if !explicit => b.bind_query(&query)?,
                _ => {
                    if !explicit && let Some(w) = values_width {
                        targets.truncate(w);
                    }
                    let target_types: Vec<DataType> = targets.iter().map(|&p| table.columns[p].ty.clone()).collect();
                    b.bind_insert_source(&query, &target_types)?
                }
            }
        }
    };
    if source_cols.len() > targets.len() {
        return Err(sql_err!(SYNTAX_ERROR, "INSERT has more expressions than target columns"));
    }
    if explicit && source_cols.len() < targets.len() {
        return Err(sql_err!(SYNTAX_ERROR, "INSERT has more target columns than expressions"));
    }
    targets.truncate(source_cols.len());

    let mut exprs = Vec::with_capacity(table.columns.len());
    for (pos, column) in table.columns.iter().enumerate() {
        let expr = match targets.iter().position(|&t| t == pos) {
            Some(src) => b.coerce_to(Expr::Column(src, source_cols[src].ty.clone()), &column.ty)?,
            None if column.hidden => Expr::Literal(Value::Null, column.ty.clone()),
            None => default_value(b, &table, pos)?,
        };
        exprs.push(expr);
    }
    let input = Node::Project { input: Box::new(source), exprs };

    let on_conflict = match &ins.on {
        None => None,
        Some(ast::OnInsert::OnConflict(oc)) => Some(bind_on_conflict(b, &table, &alias, oc)?),
        Some(other) => return Err(Error::unsupported(format!("INSERT … {other}"))),
    };
    let checks = bind_checks(b, &table)?;
    let scope = Scope::for_table(&table, &alias);
    let (returning, columns) = bind_returning(b, ins.returning.as_deref(), &scope, &alias)?;
    let root = Node::Insert { table, input: Box::new(input), on_conflict, checks, returning };
    Ok(Plan { root, columns, param_types: b.params.clone() })
}

/// The DEFAULT of column `pos`, bound and cast, or a typed NULL.
fn default_value(b: &mut Binder<'_>, table: &TableSchema, pos: usize) -> Result<Expr> {
    let column = &table.columns[pos];
    match &column.default {
        None => Ok(Expr::Literal(Value::Null, column.ty.clone())),
        Some(text) => {
            let expr = parse_stored_expr(text)?;
            let bound = b.bind_expr(&expr, &Scope::default())?;
            b.coerce_to(bound, &column.ty)
        }
    }
}

/// True for the `DEFAULT` keyword in a VALUES row.
fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// The query with each DEFAULT of a top-level VALUES list replaced by the
/// target column's default expression (NULL when it has none).
fn substitute_defaults(query: &ast::Query, table: &TableSchema, targets: &[usize]) -> Result<ast::Query> {
    let ast::SetExpr::Values(values) = query.body.as_ref() else { return Ok(query.clone()) };
    if !values.rows.iter().flat_map(|r| r.iter()).any(is_default_keyword) {
        return Ok(query.clone());
    }
    let mut values = values.clone();
    for row in &mut values.rows {
        for (i, e) in row.iter_mut().enumerate() {
            if !is_default_keyword(e) {
                continue;
            }
            let Some(&pos) = targets.get(i) else { continue };
            *e = match &table.columns[pos].default {
                Some(text) => parse_stored_expr(text)?,
                None => ast::Expr::Value(ast::Value::Null.into()),
            };
        }
    }
    let mut query = query.clone();
    query.body = Box::new(ast::SetExpr::Values(values));
    Ok(query)
}

/// ON CONFLICT: the arbiter columns and the action.
fn bind_on_conflict(
    b: &mut Binder<'_>,
    table: &Arc<TableSchema>,
    alias: &str,
    oc: &ast::OnConflict,
) -> Result<OnConflict> {
    let target = match &oc.conflict_target {
        None => None,
        Some(ast::ConflictTarget::Columns(idents)) => {
            let mut cols = Vec::with_capacity(idents.len());
            for id in idents {
                let name = ident(id);
                let pos = table
                    .column_index(&name)
                    .filter(|&p| !table.columns[p].hidden)
                    .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{name}\" does not exist"))?;
                cols.push(pos);
            }
            Some(arbiter(table, &cols)?)
        }
        Some(ast::ConflictTarget::OnConstraint(name)) => {
            let name = name_parts(name)?.pop().unwrap_or_default();
            if name == table.pkey_name() {
                Some(table.primary_key.clone())
            } else if let Some(ix) = table.indexes.iter().find(|i| i.unique && i.name == name) {
                Some(ix.columns.clone())
            } else {
                return Err(sql_err!(
                    UNDEFINED_OBJECT,
                    "constraint \"{name}\" for table \"{}\" does not exist",
                    table.name
                ));
            }
        }
    };
    let action = match &oc.action {
        ast::OnConflictAction::DoNothing => OnConflictAction::Nothing,
        ast::OnConflictAction::DoUpdate(update) => {
            if target.is_none() {
                return Err(sql_err!(
                    SYNTAX_ERROR,
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name"
                ));
            }
            let scope = Scope::for_table(table, alias).join(Scope::for_table(table, "excluded"));
            let assignments = bind_assignments(b, table, &update.assignments, &scope)?;
            let predicate = match &update.selection {
                Some(p) => Some(b.bind_predicate(p, &scope)?),
                None => None,
            };
            OnConflictAction::Update { assignments, predicate }
        }
    };
    Ok(OnConflict { target, action })
}

/// The primary key or unique index whose columns are exactly `cols` (in
/// any order), in the constraint's own column order; 42P10 otherwise.
fn arbiter(table: &TableSchema, cols: &[usize]) -> Result<Vec<usize>> {
    let same = |key: &[usize]| key.len() == cols.len() && key.iter().all(|c| cols.contains(c));
    if same(&table.primary_key) {
        return Ok(table.primary_key.clone());
    }
    table.indexes.iter().find(|i| i.unique && same(&i.columns)).map(|i| i.columns.clone()).ok_or_else(|| {
        sql_err!(
            INVALID_COLUMN_REFERENCE,
            "there is no unique or exclusion constraint matching the ON CONFLICT specification"
        )
    })
}

/// SET assignments (`c = e`, `(a, b) = (e1, e2)`), values bound over
/// `scope` and cast to the column types.
fn bind_assignments(
    b: &mut Binder<'_>,
    table: &TableSchema,
    assignments: &[ast::Assignment],
    scope: &Scope,
) -> Result<Vec<(usize, Expr)>> {
    let mut out: Vec<(usize, Expr)> = Vec::new();
    for a in assignments {
        let pairs: Vec<(&ast::ObjectName, &ast::Expr)> = match &a.target {
            AssignmentTarget::ColumnName(name) => vec![(name, &a.value)],
            AssignmentTarget::Tuple(names) => {
                let values = match &a.value {
                    ast::Expr::Tuple(values) => values,
                    ast::Expr::Nested(inner) if names.len() == 1 => std::slice::from_ref(inner.as_ref()),
                    ast::Expr::Subquery(_) => {
                        return Err(Error::unsupported("assigning a subquery to a column list"));
                    }
                    _ => {
                        return Err(sql_err!(
                            SYNTAX_ERROR,
                            "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression"
                        ));
                    }
                };
                if values.len() != names.len() {
                    return Err(sql_err!(SYNTAX_ERROR, "number of columns does not match number of values"));
                }
                names.iter().zip(values).collect()
            }
        };
        for (name, value) in pairs {
            let pos = assignment_column(table, scope, name)?;
            if out.iter().any(|(p, _)| *p == pos) {
                return Err(sql_err!(
                    SYNTAX_ERROR,
                    "multiple assignments to same column \"{}\"",
                    table.columns[pos].name
                ));
            }
            let expr = if is_default_keyword(value) {
                default_value(b, table, pos)?
            } else {
                let bound = b.bind_expr(value, scope)?;
                b.coerce_to(bound, &table.columns[pos].ty)?
            };
            out.push((pos, expr));
        }
    }
    Ok(out)
}

/// The column an assignment names: `c`, or `alias.c` for the target's own
/// alias (PostgreSQL rejects the qualified form; accepting it is harmless).
fn assignment_column(table: &TableSchema, scope: &Scope, name: &ast::ObjectName) -> Result<usize> {
    let parts = name_parts(name)?;
    match parts.as_slice() {
        [column] => target_column(table, column),
        [qualifier, column] if scope.columns.first().and_then(|c| c.table.as_deref()) == Some(qualifier.as_str()) => {
            target_column(table, column)
        }
        _ => Err(sql_err!(
            UNDEFINED_COLUMN,
            "column \"{}\" of relation \"{}\" does not exist",
            parts.first().cloned().unwrap_or_default(),
            table.name
        )),
    }
}

/// The table's CHECK constraints bound over a table row.
fn bind_checks(b: &mut Binder<'_>, table: &TableSchema) -> Result<Vec<(String, Expr)>> {
    let scope = Scope::for_table(table, &table.name);
    table
        .checks
        .iter()
        .map(|c| {
            let expr = parse_stored_expr(&c.expr)?;
            Ok((c.name.clone(), b.bind_predicate(&expr, &scope)?))
        })
        .collect()
}

/// RETURNING items over `scope` (a table row): the expressions and the
/// result columns; `(None, [])` without RETURNING.
fn bind_returning(
    b: &mut Binder<'_>,
    items: Option<&[SelectItem]>,
    scope: &Scope,
    alias: &str,
) -> Result<(Option<Vec<Expr>>, Vec<OutputColumn>)> {
    let Some(items) = items else { return Ok((None, vec![])) };
    let mut exprs = Vec::new();
    let mut columns = Vec::new();
    let star = |exprs: &mut Vec<Expr>, columns: &mut Vec<OutputColumn>| {
        for (i, c) in scope.columns.iter().enumerate().filter(|(_, c)| !c.hidden) {
            exprs.push(Expr::Column(i, c.ty.clone()));
            columns.push(OutputColumn { name: c.name.clone(), ty: c.ty.clone() });
        }
    };
    for item in items {
        match item {
            SelectItem::Wildcard(_) => star(&mut exprs, &mut columns),
            SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(name), _) => {
                let parts = name_parts(name)?;
                if parts.last().map(String::as_str) != Some(alias) {
                    return Err(sql_err!(
                        UNDEFINED_TABLE,
                        "missing FROM-clause entry for table \"{}\"",
                        parts.last().cloned().unwrap_or_default()
                    ));
                }
                star(&mut exprs, &mut columns)
            }
            SelectItem::UnnamedExpr(e) => {
                let bound = b.bind_expr(e, scope)?;
                columns.push(OutputColumn { name: output_name(e), ty: bound.ty() });
                exprs.push(bound);
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let bound = b.bind_expr(expr, scope)?;
                columns.push(OutputColumn { name: ident(alias), ty: bound.ty() });
                exprs.push(bound);
            }
            other => return Err(Error::unsupported(format!("RETURNING {other}"))),
        }
    }
    Ok((Some(exprs), columns))
}

/// The target of UPDATE/DELETE: the scan, its scope and the table.
fn target_scan(b: &mut Binder<'_>, twj: &ast::TableWithJoins, verb: &str) -> Result<(Node, Scope, Arc<TableSchema>)> {
    if !twj.joins.is_empty() {
        return Err(Error::unsupported(format!("{verb} with a join")));
    }
    if let ast::TableFactor::Table { name, .. } = &twj.relation {
        // A readable but not writable name (information_schema) is an error
        // here, not a scan.
        user_relation(name)?;
    }
    let (node, scope) = b.bind_table_scan(&twj.relation)?;
    let table = match &node {
        Node::Scan { table, .. } => Arc::clone(table),
        _ => return Err(Error::unsupported(format!("{verb} of {}", twj.relation))),
    };
    Ok((node, scope, table))
}

/// Binds UPDATE.
pub(super) fn update(b: &mut Binder<'_>, up: &ast::Update) -> Result<Plan> {
    if up.from.is_some() {
        return Err(Error::unsupported("UPDATE … FROM"));
    }
    if up.or.is_some() || !up.order_by.is_empty() || up.limit.is_some() || up.output.is_some() {
        return Err(Error::unsupported("this form of UPDATE"));
    }
    let (scan, scope, table) = target_scan(b, &up.table, "UPDATE")?;
    let input = filtered(b, scan, up.selection.as_ref(), &scope)?;
    let assignments = bind_assignments(b, &table, &up.assignments, &scope)?;
    let checks = bind_checks(b, &table)?;
    let alias = scope_alias(&scope, &table);
    let (returning, columns) = bind_returning(b, up.returning.as_deref(), &scope, &alias)?;
    let root = Node::Update { table, input: Box::new(input), assignments, checks, returning };
    Ok(Plan { root, columns, param_types: b.params.clone() })
}

/// Binds DELETE.
pub(super) fn delete(b: &mut Binder<'_>, del: &ast::Delete) -> Result<Plan> {
    if del.using.is_some() {
        return Err(Error::unsupported("DELETE … USING"));
    }
    if !del.tables.is_empty() || !del.order_by.is_empty() || del.limit.is_some() || del.output.is_some() {
        return Err(Error::unsupported("this form of DELETE"));
    }
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [twj] = from.as_slice() else {
        return Err(Error::unsupported("DELETE from several tables"));
    };
    let (scan, scope, table) = target_scan(b, twj, "DELETE")?;
    let input = filtered(b, scan, del.selection.as_ref(), &scope)?;
    let alias = scope_alias(&scope, &table);
    let (returning, columns) = bind_returning(b, del.returning.as_deref(), &scope, &alias)?;
    let root = Node::Delete { table, input: Box::new(input), returning };
    Ok(Plan { root, columns, param_types: b.params.clone() })
}

/// `input` filtered by the WHERE clause, if any.
fn filtered(b: &mut Binder<'_>, input: Node, selection: Option<&ast::Expr>, scope: &Scope) -> Result<Node> {
    Ok(match selection {
        Some(w) => Node::Filter { predicate: b.bind_predicate(w, scope)?, input: Box::new(input) },
        None => input,
    })
}

/// The alias the target's columns carry in its scope.
fn scope_alias(scope: &Scope, table: &TableSchema) -> String {
    scope.columns.first().and_then(|c| c.table.clone()).unwrap_or_else(|| table.name.clone())
}

/// INSERT features of other dialects.
fn refuse_insert_features(ins: &ast::Insert) -> Result<()> {
    let refused = [
        (ins.or.is_some(), "INSERT OR …"),
        (ins.ignore, "INSERT IGNORE"),
        (ins.overwrite, "INSERT OVERWRITE"),
        (ins.partitioned.is_some() || !ins.after_columns.is_empty(), "INSERT … PARTITION"),
        (!ins.assignments.is_empty(), "INSERT … SET"),
        (ins.replace_into, "REPLACE INTO"),
        (ins.output.is_some(), "INSERT … OUTPUT"),
        (ins.insert_alias.is_some(), "INSERT … AS alias ON DUPLICATE KEY"),
        (ins.settings.is_some() || ins.format_clause.is_some(), "INSERT … SETTINGS/FORMAT"),
        (ins.multi_table_insert_type.is_some(), "multi-table INSERT"),
    ];
    match refused.iter().find(|(on, _)| *on) {
        Some((_, what)) => Err(Error::unsupported(what)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::BoundStatement;
    use super::super::test_util::{bind_sql, bind_sql_err, catalog, events, users};
    use super::*;
    use crate::error::SqlState;

    fn plan(tables: Vec<TableSchema>, sql: &str) -> Plan {
        match bind_sql(&catalog(tables), sql) {
            BoundStatement::Query(p) => p,
            other => panic!("not a plan: {other:?}"),
        }
    }

    #[test]
    fn insert_target_errors_come_before_the_source() {
        let cat = catalog(vec![users(), events()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("INSERT INTO nope VALUES (1)"), SqlState::UNDEFINED_TABLE);
        assert_eq!(err("INSERT INTO users (id, nope) VALUES (1, 2)"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("INSERT INTO users (id, ID) VALUES (1, 2)"), SqlState::DUPLICATE_COLUMN);
        assert_eq!(err("INSERT INTO events (_alopex_rowid) VALUES (1)"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("INSERT INTO information_schema.tables VALUES (1)"), super::super::names::WRONG_OBJECT_TYPE);
        assert_eq!(err("UPDATE users SET id = 1 FROM events"), SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(err("DELETE FROM users USING events"), SqlState::FEATURE_NOT_SUPPORTED);
    }

    #[test]
    fn arbiters_match_constraints_in_any_order() {
        let mut t = users();
        t.primary_key = vec![0, 1];
        assert_eq!(arbiter(&t, &[1, 0]).unwrap(), [0, 1]);
        assert_eq!(arbiter(&t, &[2]).unwrap(), [2]);
        assert_eq!(arbiter(&t, &[3]).unwrap_err().state, SqlState::INVALID_COLUMN_REFERENCE);
        assert_eq!(arbiter(&t, &[0]).unwrap_err().state, SqlState::INVALID_COLUMN_REFERENCE);
    }

    #[test]
    fn defaults_in_values_are_substituted() {
        let q = |sql: &str| match sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0)
        {
            ast::Statement::Query(q) => *q,
            _ => unreachable!(),
        };
        let t = users();
        let out = substitute_defaults(&q("VALUES (1, 'a', DEFAULT, default)"), &t, &[0, 1, 2, 3]).unwrap();
        assert_eq!(out.to_string(), "VALUES (1, 'a', NULL, 0)");
        let untouched = q("SELECT 1");
        assert_eq!(substitute_defaults(&untouched, &t, &[0]).unwrap(), untouched);
    }

    #[test]
    fn insert_fills_defaults_and_the_row_id() {
        let p = plan(vec![users(), events()], "INSERT INTO events (at) VALUES (1), (2)");
        let Node::Insert { table, input, on_conflict: None, checks, returning: None } = &p.root else {
            panic!("{:?}", p.root)
        };
        assert_eq!(table.name, "events");
        assert!(checks.is_empty());
        let Node::Project { exprs, .. } = input.as_ref() else { panic!("{input:?}") };
        assert_eq!(exprs.len(), 3);
        assert_eq!(exprs[0], Expr::Literal(Value::Null, DataType::Text));
        assert_eq!(exprs[2], Expr::Literal(Value::Null, DataType::Int8));
        assert_eq!(exprs[1].ty(), DataType::Int8);

        let p = plan(vec![users()], "INSERT INTO users VALUES (1, 'a') RETURNING *, id + 1 AS next");
        let Node::Insert { input, checks, returning: Some(r), .. } = &p.root else { panic!("{:?}", p.root) };
        let Node::Project { exprs, .. } = input.as_ref() else { panic!() };
        assert_eq!(exprs.len(), 4);
        assert_eq!(exprs[2], Expr::Literal(Value::Null, DataType::Text));
        assert_eq!(exprs[3].ty(), DataType::Int4); // DEFAULT 0 cast to the column type
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].0, "users_score_check");
        assert_eq!(r.len(), 5);
        let names: Vec<_> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "email", "score", "next"]);
    }

    #[test]
    fn insert_column_count_errors() {
        let cat = catalog(vec![users()]);
        let err = |sql: &str| bind_sql_err(&cat, sql);
        assert_eq!(err("INSERT INTO users VALUES (1, 'a', 'b', 2, 3)").state, SqlState::SYNTAX_ERROR);
        assert!(err("INSERT INTO users VALUES (1, 'a', 'b', 2, 3)").message.contains("more expressions"));
        assert!(err("INSERT INTO users (id, name) VALUES (1)").message.contains("more target columns"));
    }

    #[test]
    fn on_conflict_do_update_sees_existing_then_excluded() {
        let p = plan(
            vec![users()],
            "INSERT INTO users AS u VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             score = u.score + 1 WHERE u.score < 10",
        );
        let Node::Insert { on_conflict: Some(oc), .. } = &p.root else { panic!("{:?}", p.root) };
        assert_eq!(oc.target, Some(vec![0]));
        let OnConflictAction::Update { assignments, predicate: Some(_) } = &oc.action else { panic!("{oc:?}") };
        assert_eq!(assignments[0], (1, Expr::Column(5, DataType::Text)));
        assert_eq!(assignments[1].0, 3);
        let cat = catalog(vec![users()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(
            err("INSERT INTO users VALUES (1, 'a') ON CONFLICT DO UPDATE SET name = 'x'"),
            SqlState::SYNTAX_ERROR
        );
        assert_eq!(
            err("INSERT INTO users VALUES (1, 'a') ON CONFLICT (name) DO NOTHING"),
            SqlState::INVALID_COLUMN_REFERENCE
        );
        assert_eq!(
            err("INSERT INTO users VALUES (1, 'a') ON CONFLICT ON CONSTRAINT nope DO NOTHING"),
            SqlState::UNDEFINED_OBJECT
        );
        let p = plan(
            vec![users()],
            "INSERT INTO users VALUES (1, 'a') ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING",
        );
        let Node::Insert { on_conflict: Some(oc), .. } = &p.root else { panic!() };
        assert_eq!((oc.target.clone(), oc.action.clone()), (Some(vec![2]), OnConflictAction::Nothing));
    }

    #[test]
    fn update_and_delete() {
        let p = plan(
            vec![users()],
            "UPDATE users SET (name, email) = ('a', 'b'), score = DEFAULT WHERE id = 1 RETURNING id",
        );
        let Node::Update { input, assignments, checks, returning: Some(r), .. } = &p.root else {
            panic!("{:?}", p.root)
        };
        assert!(matches!(input.as_ref(), Node::Filter { .. }));
        assert_eq!(assignments.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(checks.len(), 1);
        assert_eq!(r.len(), 1);
        assert_eq!(p.columns, [OutputColumn { name: "id".into(), ty: DataType::Int4 }]);

        let cat = catalog(vec![users(), events()]);
        let err = |sql: &str| bind_sql_err(&cat, sql).state;
        assert_eq!(err("UPDATE users SET id = 1, id = 2"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("UPDATE users SET (id, name) = (1)"), SqlState::SYNTAX_ERROR);
        assert_eq!(err("UPDATE events SET _alopex_rowid = 1"), SqlState::UNDEFINED_COLUMN);
        assert_eq!(err("UPDATE users SET nope = 1"), SqlState::UNDEFINED_COLUMN);

        let p = plan(vec![users()], "DELETE FROM users WHERE id = 1");
        let Node::Delete { input, returning: None, .. } = &p.root else { panic!("{:?}", p.root) };
        assert!(matches!(input.as_ref(), Node::Filter { .. }));
    }
}
