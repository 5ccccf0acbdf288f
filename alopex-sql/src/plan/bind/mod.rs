//! The binder: from `sqlparser`'s AST to a typed plan.
//!
//! OWNERS: `query.rs`, `expr.rs`, `scope.rs`, `types.rs` belong to the
//! query-binder helper; `mod.rs` (statement dispatch), `ddl.rs`, `alter.rs`,
//! `dml.rs`, `misc.rs` (transactions, SET/SHOW, SHOW TABLES), `views.rs`
//! (information_schema, pg_catalog), `names.rs` and `../explain.rs` to the
//! statement-binder helper.
//!
//! [`bind`] is a single `match` over `sqlparser`'s statement enum: every
//! statement Alopex runs is sent to the function that binds it, and every
//! other statement is a `0A000` error that names the statement, so a client
//! learns what is missing instead of seeing a generic failure. Statements are
//! bound against one immutable catalog snapshot; DDL produces the new
//! definitions as values ([`BoundStatement::CreateTable`], …) and leaves the
//! writing, and the final existence checks inside the transaction, to the
//! session.
//!
//! Query and DML binding share the expression machinery of the query binder
//! (`bind_expr`, `bind_predicate`, `coerce_to`); the statement binder only
//! decides which scope each expression sees and how the pieces fit into
//! plan nodes.

mod alter;
mod ddl;
mod dml;
mod expr;
mod hnsw;
mod maintenance;
mod misc;
mod names;
mod pg_catalog;
mod pg_functions;
mod query;
mod scope;
mod storage_params;
#[cfg(test)]
mod test_util;
mod types;
mod views;
// Query-binder internals (query-binder helper).
mod aggregate;
mod array;
mod call;
mod coerce;
mod from;
mod naming;
#[cfg(test)]
mod nested_tests;
#[cfg(test)]
mod query_tests;
mod row;
mod select;
mod srf;
mod subquery;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod vector_tests;
mod walk;

pub(crate) use names::quote_ident;
pub use scope::{Scope, ScopeColumn};

use alopex_core::IsolationLevel;
use sqlparser::ast::{ObjectType, Statement};

use crate::catalog::{Catalog, IndexSchema, TableSchema};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::types::DataType;

/// Binding state for one statement.
pub struct Binder<'a> {
    /// The catalog snapshot names resolve against.
    pub catalog: &'a Catalog,
    /// Parameter types, given or inferred so far (`$1` is index 0;
    /// `DataType::Unknown` until inferred).
    pub params: Vec<DataType>,
    /// Query-binder private state (outer scopes, CTEs, subquery ids).
    pub(crate) state: query::QueryState,
    /// The session's settings, for `current_setting` (see `pg_functions.rs`).
    pub(crate) settings: Option<&'a SettingLookup<'a>>,
    /// What the statement read and wrote of the settings.
    pub(crate) settings_use: SettingsUse,
    /// The live role list, for `pg_roles` and friends (`crate::users::roles`);
    /// `None`: the owner alone.
    pub(crate) roles: Option<&'a RoleLookup<'a>>,
}

/// Looks a session setting up by name (`current_setting`).
pub type SettingLookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Reads the roles `pg_catalog.pg_roles` lists, when a statement names it.
pub type RoleLookup<'a> = dyn Fn() -> Result<Vec<crate::users::Role>> + 'a;

/// How a bound statement depends on the session's settings: a statement
/// that calls `current_setting` or `set_config` is bound for one execution
/// and not cached, since its plan holds the values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsUse {
    /// The statement reads or writes a setting.
    pub used: bool,
    /// `set_config(name, value, …)` calls, to apply when it runs.
    pub set: Vec<(String, String)>,
}

impl<'a> Binder<'a> {
    /// A binder over `catalog` with the parameter types known so far.
    pub fn new(catalog: &'a Catalog, param_types: &[DataType]) -> Binder<'a> {
        Binder {
            catalog,
            params: param_types.to_vec(),
            state: query::QueryState::default(),
            settings: None,
            settings_use: SettingsUse::default(),
            roles: None,
        }
    }
}

/// [`bind`] in a session whose settings `settings` looks up: also says how
/// the statement uses them.
pub fn bind_in_session(
    stmt: &Statement,
    catalog: &Catalog,
    param_types: &[DataType],
    settings: &SettingLookup<'_>,
) -> Result<(BoundStatement, SettingsUse)> {
    let mut binder = Binder::new(catalog, param_types);
    binder.settings = Some(settings);
    let bound = bind_statement(&mut binder, stmt)?;
    Ok((bound, binder.settings_use))
}

/// [`bind_in_session`] with the live role list for the `pg_catalog` role
/// views (a statement reading them is marked as using the settings, so it
/// is never plan-cached).
pub fn bind_in_session_with_roles(
    stmt: &Statement,
    catalog: &Catalog,
    param_types: &[DataType],
    settings: &SettingLookup<'_>,
    roles: &RoleLookup<'_>,
) -> Result<(BoundStatement, SettingsUse)> {
    let mut binder = Binder::new(catalog, param_types);
    binder.settings = Some(settings);
    binder.roles = Some(roles);
    let bound = bind_statement(&mut binder, stmt)?;
    Ok((bound, binder.settings_use))
}

/// A statement ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundStatement {
    /// SELECT, VALUES, INSERT, UPDATE, DELETE, SHOW TABLES, and queries over
    /// `information_schema`: run the plan.
    Query(Plan),
    /// EXPLAIN \[ANALYZE\].
    Explain {
        /// The plan (unoptimized: the session optimizes it like any query).
        plan: Plan,
        /// Run it and report per-operator counts and times.
        analyze: bool,
    },
    /// CREATE TABLE. `table.id` is 0: the session allocates it.
    CreateTable {
        /// The new table.
        table: TableSchema,
        /// IF NOT EXISTS.
        if_not_exists: bool,
        /// SERIAL columns: the column name and the sequence's value width;
        /// each gets an owned sequence `<table>_<column>_seq`.
        serials: Vec<(String, u8)>,
    },
    /// DROP TABLE.
    DropTable {
        /// Tables (that exist; missing ones were already errors unless IF EXISTS).
        names: Vec<String>,
    },
    /// CREATE INDEX (UNIQUE): `index.id` is 0, the session allocates it.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: IndexSchema,
        /// IF NOT EXISTS.
        if_not_exists: bool,
    },
    /// DROP INDEX.
    DropIndex {
        /// Index names that exist.
        names: Vec<String>,
    },
    /// ALTER TABLE: the table's definition after the change. The session
    /// writes it (and for RENAME removes the old name).
    AlterTable {
        /// The definition before.
        old: TableSchema,
        /// The definition after.
        new: TableSchema,
        /// For ADD COLUMN … DEFAULT with a volatile default, or NOT NULL
        /// without default on a non-empty table, existing rows must be
        /// checked; the session validates this.
        added_column: Option<usize>,
    },
    /// TRUNCATE: the session deletes each table's key span (rows and
    /// indexes) in the statement's transaction.
    Truncate {
        /// Tables that exist, each once.
        tables: Vec<String>,
    },
    /// VACUUM and ANALYZE (see `maintenance.rs`): VACUUM has nothing to do;
    /// ANALYZE recounts the rows of its tables for the optimizer.
    Maintenance {
        /// The command tag: `VACUUM` (also for VACUUM ANALYZE) or `ANALYZE`.
        tag: &'static str,
        /// Tables whose statistics to refresh.
        analyze: Vec<String>,
    },
    /// BEGIN / START TRANSACTION [ISOLATION LEVEL …].
    Begin {
        /// The requested isolation level.
        isolation: Option<IsolationLevel>,
    },
    /// COMMIT / END.
    Commit,
    /// ROLLBACK / ABORT.
    Rollback,
    /// SAVEPOINT name.
    Savepoint {
        /// The savepoint's name (folded like an identifier).
        name: String,
    },
    /// ROLLBACK TO \[SAVEPOINT\] name.
    RollbackTo {
        /// The savepoint's name.
        name: String,
    },
    /// RELEASE \[SAVEPOINT\] name.
    Release {
        /// The savepoint's name.
        name: String,
    },
    /// SET TRANSACTION ISOLATION LEVEL … (or SET SESSION CHARACTERISTICS).
    SetIsolation {
        /// The level.
        isolation: IsolationLevel,
        /// For the session (true) or the current transaction.
        session: bool,
    },
    /// SET name = value (session variables such as `hnsw.ef_search`,
    /// `search_path`, `client_encoding`). `SET TIME ZONE x` sets `timezone`,
    /// `SET NAMES x` sets `client_encoding`; `SET name TO DEFAULT` and
    /// `RESET name` (`RESET ALL`: name `all`) have the value `DEFAULT`.
    SetVariable {
        /// Lower-cased name.
        name: String,
        /// Value as text: string literals unquoted, numbers as written,
        /// unquoted words lower-cased, list elements joined by `, `.
        value: String,
    },
    /// SHOW name.
    ShowVariable {
        /// Lower-cased name.
        name: String,
    },
    /// CREATE/ALTER/DROP USER or ROLE (see `crate::users`).
    User(crate::users::UserCommand),
    /// CREATE / DROP SEQUENCE.
    Sequence(crate::sequence::SeqCommand),
}

/// Binds one parsed statement against a catalog snapshot. `param_types`
/// gives types for `$n` parameters already known (from the client); the
/// binder infers the rest and records them in [`Plan::param_types`].
pub fn bind(stmt: &Statement, catalog: &Catalog, param_types: &[DataType]) -> Result<BoundStatement> {
    let mut binder = Binder::new(catalog, param_types);
    bind_statement(&mut binder, stmt)
}

/// Dispatches one statement (EXPLAIN recurses here).
fn bind_statement(b: &mut Binder<'_>, stmt: &Statement) -> Result<BoundStatement> {
    match stmt {
        Statement::Query(query) => {
            let (root, columns) = b.bind_query(query)?;
            Ok(BoundStatement::Query(Plan { root, columns, param_types: b.params.clone() }))
        }
        Statement::Insert(insert) => dml::insert(b, insert).map(BoundStatement::Query),
        Statement::Update(update) => dml::update(b, update).map(BoundStatement::Query),
        Statement::Delete(delete) => dml::delete(b, delete).map(BoundStatement::Query),
        Statement::Truncate(truncate) => maintenance::truncate(b, truncate),
        Statement::Vacuum(vacuum) => maintenance::vacuum(b, vacuum),
        Statement::Analyze(analyze) => maintenance::analyze(b, analyze),
        Statement::CreateTable(create) => ddl::create_table(b, create),
        Statement::CreateIndex(create) => ddl::create_index(b, create),
        Statement::CreateRole(role) => crate::users::bind_create(role).map(BoundStatement::User),
        Statement::AlterRole { name, operation } => crate::users::bind_alter(name, operation).map(BoundStatement::User),
        Statement::CreateSequence {
            temporary: false,
            if_not_exists,
            name,
            data_type,
            sequence_options,
            owned_by: None,
        } => {
            let name = names::user_relation(name)?;
            let width = crate::sequence::width_of(data_type.as_ref())?;
            let def = crate::sequence::define(name, width, sequence_options)?;
            Ok(BoundStatement::Sequence(crate::sequence::SeqCommand::Create { def, if_not_exists: *if_not_exists }))
        }
        Statement::Drop { object_type: ObjectType::Sequence, if_exists, names: list, .. } => {
            let names = list.iter().map(names::user_relation).collect::<Result<Vec<_>>>()?;
            Ok(BoundStatement::Sequence(crate::sequence::SeqCommand::Drop { names, if_exists: *if_exists }))
        }
        Statement::Drop { object_type: ObjectType::Role | ObjectType::User, if_exists, names, .. } => {
            crate::users::bind_drop(names, *if_exists).map(BoundStatement::User)
        }
        Statement::Drop { object_type, if_exists, names, table, .. } => {
            ddl::drop(b, *object_type, *if_exists, names, table.as_ref())
        }
        Statement::AlterTable(alter) => alter::alter_table(b, alter),
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => misc::transaction(stmt),
        Statement::Set(set) => misc::set(set),
        Statement::Reset(reset) => misc::reset(reset),
        Statement::ShowVariable { variable } => misc::show(variable),
        Statement::ShowTables { .. } => misc::show_tables(b, stmt),
        Statement::Explain { analyze, statement, format, options, query_plan, estimate, .. } => {
            if *query_plan || *estimate {
                return Err(Error::unsupported("EXPLAIN QUERY PLAN / ESTIMATE"));
            }
            let analyze = misc::explain_options(*analyze, format.as_ref(), options.as_deref())?;
            match bind_statement(b, statement)? {
                BoundStatement::Query(plan) => Ok(BoundStatement::Explain { plan, analyze }),
                _ => Err(Error::unsupported(format!("EXPLAIN of {}", statement_kind(statement)))),
            }
        }
        other => Err(Error::unsupported(statement_kind(other))),
    }
}

/// The statement's kind as SQL keywords (`CREATE VIEW`), for errors: the
/// variant name of the AST node, split at capitals.
pub(crate) fn statement_kind(stmt: &Statement) -> String {
    let debug = format!("{stmt:?}");
    let variant: String = debug.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let mut words = String::new();
    for (i, c) in variant.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            words.push(' ');
        }
        words.push(c.to_ascii_uppercase());
    }
    if words.is_empty() { "this statement".into() } else { words }
}
