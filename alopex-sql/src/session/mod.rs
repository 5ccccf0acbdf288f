//! Sessions: statement dispatch, transactions and results.
//!
//! A [`Session`] is what a client connection holds: an optional open
//! transaction, the session's default isolation level and its settings.
//! Every statement runs inside a transaction. Outside `BEGIN … COMMIT` each
//! statement gets its own (autocommit); inside one, an error marks the
//! transaction failed and every later statement is refused with `25P02`
//! until `ROLLBACK`, as in PostgreSQL.
//!
//! A statement goes: plan cache (parse once per SQL text) → catalog snapshot
//! for this transaction (cached per catalog version) → bind → optimize
//! (cached per SQL text and catalog version) → execute. Queries stream:
//! [`Rows`] pulls from the executor as the caller iterates. Statements that
//! write are run to completion before their results are returned, so a
//! caller that stops reading cannot leave half an UPDATE behind.

mod bulk;
mod ddl;
mod plan_cache;
mod rows;
mod transaction;
mod vacuum_syntax;

use std::collections::BTreeMap;
use std::sync::Arc;

use alopex_core::{IsolationLevel, KvTxn, TxnOptions};
use sqlparser::ast::Statement;

use crate::catalog::Catalog;
use crate::database::{Database, RowIdAllocator};
use crate::error::{Error, Result, SqlState};
use crate::exec::{self, ExecContext, ExecState, Executor, StatsHandle};
use crate::interrupt::Interrupt;
use crate::plan::{self, BoundStatement, OutputColumn, Plan};
use crate::types::{DataType, Row, Value};
use crate::{expr, sql_err};

pub use bulk::BatchError;
pub(crate) use plan_cache::char_offset;
pub use plan_cache::parse;
pub(crate) use plan_cache::{Parsed, PlanCache};
pub use rows::{Column, ColumnIndex, FromValue, ResultRow, Rows};
use rows::{SessionRef, Source};
pub use transaction::Transaction;

/// Where a session's transaction stands (for the wire protocol's
/// ReadyForQuery status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    /// No explicit transaction.
    Idle,
    /// Inside BEGIN … COMMIT.
    InTransaction,
    /// Inside a transaction that failed; only ROLLBACK is accepted.
    Failed,
}

/// The result of one statement, fully materialized (for the simple query
/// protocol and tests).
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// A statement that returns rows.
    Rows {
        /// Column names and types.
        columns: Vec<Column>,
        /// The rows.
        rows: Vec<Row>,
        /// The command tag (`SELECT 3`, `INSERT 0 2` with RETURNING, …).
        tag: String,
    },
    /// A statement that returns no rows.
    Command {
        /// The command tag (`INSERT 0 1`, `CREATE TABLE`, `BEGIN`, …).
        tag: String,
        /// Rows affected (0 when not applicable).
        affected: u64,
    },
}

pub(crate) struct OpenTxn {
    pub(crate) txn: Box<dyn KvTxn>,
    pub(crate) explicit: bool,
    pub(crate) failed: bool,
    pub(crate) own_ddl: bool,
    /// Row-count changes to apply to the statistics at commit.
    pub(crate) row_deltas: BTreeMap<u64, i64>,
    /// Open savepoints, oldest first (see `transaction.rs`).
    pub(crate) savepoints: Vec<transaction::SavepointEntry>,
    /// Tables this transaction truncated: their row counts restart from 0
    /// at commit (then `row_deltas` applies).
    pub(crate) truncated: std::collections::BTreeSet<u64>,
}

/// A connection's state. See the module documentation.
pub struct Session {
    pub(crate) db: Database,
    pub(crate) txn: Option<OpenTxn>,
    isolation: IsolationLevel,
    next_isolation: Option<IsolationLevel>,
    vars: BTreeMap<String, String>,
    /// Stops the running statement when triggered (see [`Interrupt`]).
    interrupt: Interrupt,
    /// Who the session is logged in as (`crate::users`); `None`: the default user.
    user: Option<String>,
    /// `currval`/`lastval` memory (`crate::sequence`).
    sequences: Arc<parking_lot::Mutex<crate::sequence::SessionSequences>>,
}

/// A statement ready to execute in this session: what it returns and what
/// parameters it takes.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The SQL text.
    pub sql: Arc<str>,
    /// Parameter types (`$1` first).
    pub param_types: Vec<DataType>,
    /// Result columns (empty for commands).
    pub columns: Vec<Column>,
}

impl Session {
    pub(crate) fn new(db: Database) -> Session {
        Session {
            db,
            txn: None,
            isolation: IsolationLevel::Snapshot,
            next_isolation: None,
            vars: BTreeMap::new(),
            interrupt: Interrupt::new(),
            user: None,
            sequences: Default::default(),
        }
    }

    /// The transaction status.
    pub fn status(&self) -> TxnStatus {
        match &self.txn {
            Some(t) if t.explicit && t.failed => TxnStatus::Failed,
            Some(t) if t.explicit => TxnStatus::InTransaction,
            _ => TxnStatus::Idle,
        }
    }

    /// This session's cancellation flag: triggering a clone (from any
    /// thread, without the session) fails its running statement with 57014.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Replaces the cancellation flag for the statements started from now
    /// on (a server gives each statement its own, so a late cancel can never
    /// hit the next one).
    pub fn set_interrupt(&mut self, interrupt: Interrupt) {
        self.interrupt = interrupt;
    }

    /// The database this session belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Sets who the session is logged in as (a server does, after
    /// authentication): what `current_user`, `session_user` and `SHOW
    /// session_authorization` report.
    pub fn set_user(&mut self, user: &str) {
        self.user = Some(user.to_string());
    }

    /// Who the session is logged in as.
    pub fn user(&self) -> &str {
        self.user.as_deref().unwrap_or(crate::users::DEFAULT_USER)
    }

    /// A session setting (`SHOW name`).
    pub fn variable(&self, name: &str) -> Option<&str> {
        if name == "session_authorization" {
            return Some(self.user());
        }
        match self.vars.get(name) {
            Some(v) => Some(v.as_str()),
            None => DEFAULT_VARS.iter().find(|(k, _)| *k == name).map(|(_, v)| *v),
        }
    }

    /// The session's `hnsw.ef_search` (checked when it was set).
    /// What the executor needs for `nextval` and friends.
    fn seq_access(&self) -> crate::sequence::SeqAccess {
        crate::sequence::SeqAccess { db: self.db.clone(), session: self.sequences.clone() }
    }

    fn ef_search(&self) -> usize {
        self.variable("hnsw.ef_search").and_then(|v| v.parse().ok()).unwrap_or(40)
    }

    /// A setting as `current_setting(name)` reads it (`SHOW name`, plus
    /// the isolation level of the transaction).
    fn setting(&self, name: &str) -> Option<String> {
        match name {
            "transaction_isolation" => Some(self.isolation_name().to_string()),
            _ => self.variable(name).map(str::to_string),
        }
    }

    fn isolation_name(&self) -> &'static str {
        match self.isolation {
            IsolationLevel::Serializable => "serializable",
            _ => "repeatable read",
        }
    }

    /// Runs every statement in `sql`; returns the rows affected by the last.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut affected = 0;
        for r in self.run(sql, params)? {
            affected = match r {
                StatementResult::Rows { rows, .. } => rows.len() as u64,
                StatementResult::Command { affected, .. } => affected,
            };
        }
        Ok(affected)
    }

    /// Runs every statement in `sql` and materializes each result.
    pub fn run(&mut self, sql: &str, params: &[Value]) -> Result<Vec<StatementResult>> {
        let parsed = self.db.shared.plans.parse(sql)?;
        let mut out = Vec::with_capacity(parsed.len());
        for i in 0..parsed.len() {
            let rows = self.statement(&parsed, i, params)?;
            out.push(rows.into_result()?);
        }
        Ok(out)
    }

    /// Runs the statements of `sql` in order and stops at the first error:
    /// the results of the statements that ran, then that error. This is
    /// the simple query protocol's contract (a script stops where it fails,
    /// but what ran before stands).
    pub fn run_script(&mut self, sql: &str, params: &[Value]) -> (Vec<StatementResult>, Option<Error>) {
        self.run_script_limited(sql, params, usize::MAX)
    }

    /// [`Session::run_script`], failing a statement with 54000 once its
    /// result would hold more than about `max_result_bytes`.
    pub fn run_script_limited(
        &mut self,
        sql: &str,
        params: &[Value],
        max_result_bytes: usize,
    ) -> (Vec<StatementResult>, Option<Error>) {
        let parsed = match self.db.shared.plans.parse(sql) {
            Ok(p) => p,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut out = Vec::with_capacity(parsed.len());
        for i in 0..parsed.len() {
            match self.statement(&parsed, i, params).and_then(|rows| rows.into_result_limited(max_result_bytes)) {
                Ok(result) => out.push(result),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    /// Runs the single statement in `sql` and streams its rows.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows<'_>> {
        let parsed = self.db.shared.plans.parse(sql)?;
        if parsed.len() != 1 {
            return Err(sql_err!(SYNTAX_ERROR, "expected exactly one statement, got {}", parsed.len()));
        }
        self.statement(&parsed, 0, params)
    }

    pub(crate) fn into_query(mut self, sql: &str, params: &[Value]) -> Result<Rows<'static>> {
        let parsed = self.db.shared.plans.parse(sql)?;
        if parsed.len() != 1 {
            return Err(sql_err!(SYNTAX_ERROR, "expected exactly one statement, got {}", parsed.len()));
        }
        let (columns, source) = self.source(&parsed, 0, params)?;
        Rows::from_source(SessionRef::Owned(Box::new(self)), columns, source).finish_writes()
    }

    /// Parses and binds `sql` (one statement) without running it: its
    /// parameter and result types, for the extended query protocol.
    pub fn prepare(&mut self, sql: &str, param_types: &[DataType]) -> Result<Prepared> {
        let parsed = self.db.shared.plans.parse(sql)?;
        if parsed.len() > 1 {
            return Err(sql_err!(SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement"));
        }
        let Some(stmt) = parsed.first() else {
            return Ok(Prepared { sql: Arc::from(sql), param_types: vec![], columns: vec![] });
        };
        if let Some(t) = &self.txn
            && t.explicit
            && t.failed
            && !is_rollback(stmt)
        {
            return Err(sql_err!(
                IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block"
            ));
        }
        let autocommit = self.txn.is_none();
        if autocommit {
            self.begin_txn(false, None)?;
        }
        let result = (|| {
            let catalog = self.catalog()?;
            let db = self.db.clone();
            let (bound, _) =
                plan::bind_in_session_with_roles(stmt, &catalog, param_types, &|n| self.setting(n), &|| db.roles())?;
            Ok(match &bound {
                BoundStatement::Query(p) => Prepared {
                    sql: Arc::from(sql),
                    param_types: p.param_types.clone(),
                    columns: columns_of(&p.columns),
                },
                BoundStatement::Explain { plan, .. } => Prepared {
                    sql: Arc::from(sql),
                    param_types: plan.param_types.clone(),
                    columns: vec![Column { name: "QUERY PLAN".into(), ty: DataType::Text }],
                },
                BoundStatement::ShowVariable { name } => Prepared {
                    sql: Arc::from(sql),
                    param_types: vec![],
                    columns: vec![Column { name: name.clone(), ty: DataType::Text }],
                },
                _ => Prepared { sql: Arc::from(sql), param_types: vec![], columns: vec![] },
            })
        })();
        if autocommit && let Some(mut t) = self.txn.take() {
            let _ = t.txn.rollback();
        } else if result.is_err()
            && let Some(t) = &mut self.txn
        {
            // As in PostgreSQL, a statement that fails to parse or bind
            // inside a transaction block aborts the block.
            t.failed = true;
        }
        result.map_err(|e: Error| e.resolve_position(sql))
    }

    /// Runs statement `index` of `parsed`.
    pub(crate) fn statement(&mut self, parsed: &Arc<Parsed>, index: usize, params: &[Value]) -> Result<Rows<'_>> {
        let (columns, source) = self.source(parsed, index, params)?;
        Rows::from_source(SessionRef::Borrowed(self), columns, source).finish_writes()
    }

    /// Starts statement `index` of `parsed`: where its rows will come from.
    fn source(&mut self, parsed: &Arc<Parsed>, index: usize, params: &[Value]) -> Result<(Vec<Column>, Source)> {
        if let Some(t) = &self.txn
            && t.explicit
            && t.failed
            && !is_rollback(&parsed[index])
        {
            return Err(sql_err!(
                IN_FAILED_SQL_TRANSACTION,
                "current transaction is aborted, commands ignored until end of transaction block"
            ));
        }
        let autocommit = self.txn.is_none();
        if autocommit {
            self.begin_txn(false, None)?;
        }
        match self.statement_in_txn(parsed, index, params) {
            Ok(StatementOutcome::Rows(plan, exec, stats)) => {
                let params = match cast_params(&plan, params) {
                    Ok(p) => p,
                    Err(e) => {
                        self.fail(autocommit);
                        return Err(e);
                    }
                };
                let columns = columns_of(&plan.columns);
                let source = Source::Exec {
                    plan,
                    exec,
                    params,
                    state: Some(
                        ExecState::with_interrupt(self.interrupt.clone())
                            .with_ef_search(self.ef_search())
                            .with_sequences(self.seq_access()),
                    ),
                    autocommit,
                    produced: 0,
                    now: (self.db.shared.clock)(),
                    _stats: stats,
                };
                Ok((columns, source))
            }
            Ok(StatementOutcome::Done(result)) => {
                // BEGIN turns the statement's transaction into an explicit
                // one, which must stay open.
                if autocommit
                    && self.txn.as_ref().is_some_and(|t| !t.explicit)
                    && let Some(t) = self.txn.take()
                {
                    self.finish(t)?;
                }
                Ok(match result {
                    StatementResult::Rows { columns, rows, tag } => {
                        let affected = rows.len() as u64;
                        (columns, Source::Buffered { rows: rows.into_iter(), tag, affected })
                    }
                    StatementResult::Command { tag, affected } => (vec![], Source::Done { tag, affected }),
                })
            }
            Err(e) => {
                self.fail(autocommit);
                Err(e.resolve_position(&parsed.sql))
            }
        }
    }

    /// Marks the transaction failed after an error (explicit), or rolls it
    /// back (autocommit).
    pub(crate) fn fail(&mut self, autocommit: bool) {
        if autocommit {
            if let Some(mut t) = self.txn.take() {
                let _ = t.txn.rollback();
            }
        } else if let Some(t) = &mut self.txn {
            t.failed = true;
        }
    }

    /// Commits a transaction and publishes its statistics.
    pub(crate) fn finish(&mut self, mut t: OpenTxn) -> Result<()> {
        if t.own_ddl {
            self.db.shared.commit_ddl(&mut *t.txn)?;
        } else {
            t.txn.commit()?;
        }
        for table in t.truncated {
            self.db.shared.stats.set(table, 0);
        }
        for (table, delta) in t.row_deltas {
            self.db.shared.stats.adjust(table, delta);
        }
        Ok(())
    }

    pub(crate) fn begin_txn(&mut self, explicit: bool, isolation: Option<IsolationLevel>) -> Result<()> {
        let isolation = isolation.or(self.next_isolation.take()).unwrap_or(self.isolation);
        let txn = self.db.shared.store.begin_txn(TxnOptions { isolation })?;
        self.txn = Some(OpenTxn {
            txn,
            explicit,
            failed: false,
            own_ddl: false,
            row_deltas: BTreeMap::new(),
            savepoints: Vec::new(),
            truncated: Default::default(),
        });
        Ok(())
    }

    pub(crate) fn open(&mut self) -> Result<&mut OpenTxn> {
        self.txn.as_mut().ok_or_else(|| Error::internal("no open transaction"))
    }

    fn catalog(&mut self) -> Result<Arc<Catalog>> {
        let shared = self.db.shared.clone();
        let t = self.open()?;
        let own = t.own_ddl;
        shared.catalog_for(&mut *t.txn, own)
    }

    fn statement_in_txn(&mut self, parsed: &Arc<Parsed>, index: usize, params: &[Value]) -> Result<StatementOutcome> {
        let stmt = &parsed[index];
        let catalog = self.catalog()?;
        let own_ddl = self.txn.as_ref().is_some_and(|t| t.own_ddl);
        let cached = if own_ddl { None } else { parsed.bound(index, catalog.version) };
        let bound = match cached {
            Some(b) => b,
            None => {
                let given: Vec<DataType> = params.iter().map(|_| DataType::Unknown).collect();
                let db = self.db.clone();
                let (bound, settings) =
                    plan::bind_in_session_with_roles(stmt, &catalog, &given, &|n| self.setting(n), &|| db.roles())?;
                // set_config takes effect when its statement runs.
                for (name, value) in &settings.set {
                    self.vars.insert(name.clone(), value.clone());
                }
                let bound = match bound {
                    BoundStatement::Query(p) => BoundStatement::Query(self.optimize(p)?),
                    BoundStatement::Explain { plan, analyze } => {
                        BoundStatement::Explain { plan: self.optimize(plan)?, analyze }
                    }
                    other => other,
                };
                let bound = Arc::new(bound);
                if !own_ddl && !settings.used && is_cacheable(&bound) {
                    parsed.set_bound(index, catalog.version, bound.clone());
                }
                bound
            }
        };
        self.dispatch(&bound, params)
    }

    fn optimize(&self, mut plan: Plan) -> Result<Plan> {
        plan.root = plan::optimizer::optimize(plan.root, &crate::database::StatsView { db: &self.db.shared })?;
        Ok(plan)
    }

    fn dispatch(&mut self, bound: &Arc<BoundStatement>, params: &[Value]) -> Result<StatementOutcome> {
        use BoundStatement as B;
        let done = |tag: &str| Ok(StatementOutcome::Done(StatementResult::Command { tag: tag.into(), affected: 0 }));
        match &**bound {
            B::Query(plan) => {
                check_params(plan, params)?;
                let plan = PlanRef(bound.clone());
                let exec = exec::build_statement(plan.clone())?;
                Ok(StatementOutcome::Rows(plan, exec, None))
            }
            B::Explain { plan, analyze } => {
                if !analyze {
                    let mut lines = plan::explain::explain(plan, None);
                    lines.extend(self.db.shared.pushed_filter_lines(plan));
                    lines.extend(self.db.shared.range_lines(plan));
                    return Ok(StatementOutcome::Done(explain_result(lines)));
                }
                check_params(plan, params)?;
                let stats: StatsHandle = Default::default();
                let mut exec = exec::build(&plan.root, Some(stats.clone()))?;
                let params = cast_params(plan, params)?;
                let ef_search = self.ef_search();
                let seqs = self.seq_access();
                {
                    let shared = self.db.shared.clone();
                    let now = (shared.clock)();
                    let row_ids = RowIdAllocator { db: &shared };
                    let interrupt = self.interrupt.clone();
                    let t = self.open()?;
                    let mut cx = ExecContext::new(&mut *t.txn, &params, now, &row_ids);
                    cx.state = ExecState::with_interrupt(interrupt).with_ef_search(ef_search).with_sequences(seqs);
                    while exec.next(&mut cx)?.is_some() {}
                }
                let mut lines = plan::explain::explain(plan, Some(&stats.lock()));
                lines.extend(self.db.shared.pushed_filter_lines(plan));
                lines.extend(self.db.shared.range_lines(plan));
                Ok(StatementOutcome::Done(explain_result(lines)))
            }
            B::CreateTable { .. }
            | B::DropTable { .. }
            | B::CreateIndex { .. }
            | B::DropIndex { .. }
            | B::AlterTable { .. } => {
                let shared = self.db.shared.clone();
                let t = self.open()?;
                t.own_ddl = true;
                let catalog = shared.catalog_for(&mut *t.txn, true)?;
                let tag = ddl::execute(&mut *t.txn, &catalog, bound)?;
                done(tag)
            }
            B::Sequence(cmd) => {
                let shared = self.db.shared.clone();
                let t = self.open()?;
                let catalog = shared.catalog_for(&mut *t.txn, t.own_ddl)?;
                done(crate::sequence::execute(&mut *t.txn, &catalog, cmd)?)
            }
            B::User(cmd) => {
                let user = self.user().to_string();
                let tag = crate::users::execute(&mut *self.open()?.txn, cmd, &user)?;
                done(tag)
            }
            B::Truncate { tables } => {
                let shared = self.db.shared.clone();
                let t = self.open()?;
                let catalog = shared.catalog_for(&mut *t.txn, t.own_ddl)?;
                for id in ddl::truncate(&mut *t.txn, &catalog, tables)? {
                    t.truncated.insert(id);
                    t.row_deltas.remove(&id);
                }
                done("TRUNCATE TABLE")
            }
            B::Maintenance { tag, analyze } => {
                let shared = self.db.shared.clone();
                let t = self.open()?;
                if *tag == "VACUUM" && t.explicit {
                    return Err(sql_err!(ACTIVE_SQL_TRANSACTION, "VACUUM cannot run inside a transaction block"));
                }
                let catalog = shared.catalog_for(&mut *t.txn, t.own_ddl)?;
                for (id, rows) in ddl::count_rows(&mut *t.txn, &catalog, analyze)? {
                    shared.stats.set(id, rows);
                }
                done(tag)
            }
            B::Begin { isolation } => {
                let t = self.open()?;
                if t.explicit {
                    // PostgreSQL warns and carries on.
                    return done("BEGIN");
                }
                // The autocommit transaction opened for this statement
                // becomes the explicit one, at the requested level.
                let had_writes = false;
                debug_assert!(!had_writes);
                let mut old = self.txn.take().ok_or_else(|| Error::internal("no transaction"))?;
                let _ = old.txn.rollback();
                self.begin_txn(true, *isolation)?;
                done("BEGIN")
            }
            B::Commit => {
                let t = self.txn.take().ok_or_else(|| Error::internal("no transaction"))?;
                if !t.explicit {
                    // COMMIT outside a transaction: a warning in PostgreSQL.
                    self.finish(t)?;
                    return done("COMMIT");
                }
                if t.failed {
                    let mut t = t;
                    let _ = t.txn.rollback();
                    return done("ROLLBACK");
                }
                self.finish(t)?;
                done("COMMIT")
            }
            B::Rollback => {
                if let Some(mut t) = self.txn.take() {
                    t.txn.rollback()?;
                }
                done("ROLLBACK")
            }
            B::Savepoint { name } => {
                self.savepoint(name)?;
                done("SAVEPOINT")
            }
            B::RollbackTo { name } => {
                self.rollback_to_savepoint(name)?;
                done("ROLLBACK")
            }
            B::Release { name } => {
                self.release_savepoint(name)?;
                done("RELEASE")
            }
            B::SetIsolation { isolation, session } => {
                if *session {
                    self.isolation = *isolation;
                } else {
                    let t = self.open()?;
                    if !t.explicit {
                        return Err(sql_err!(
                            NO_ACTIVE_SQL_TRANSACTION,
                            "SET TRANSACTION can only be used in transaction blocks"
                        ));
                    }
                    // The snapshot is taken at BEGIN here, so the level can
                    // only change before the first statement; restart the
                    // (still empty) transaction at the new level.
                    let mut old = self.txn.take().ok_or_else(|| Error::internal("no transaction"))?;
                    let _ = old.txn.rollback();
                    self.begin_txn(true, Some(*isolation))?;
                }
                done("SET")
            }
            B::SetVariable { name, value } => {
                if name == "all" {
                    self.vars.clear(); // RESET ALL
                } else if value.eq_ignore_ascii_case("default") {
                    self.vars.remove(name); // SET x = DEFAULT, RESET x
                } else {
                    check_setting(name, value)?;
                    self.vars.insert(name.clone(), value.clone());
                }
                done("SET")
            }
            B::ShowVariable { name } => {
                let value = match name.as_str() {
                    "transaction_isolation" | "transaction isolation level" => {
                        let level = self.txn.as_ref().filter(|t| t.explicit).map(|_| self.isolation);
                        match level.unwrap_or(self.isolation) {
                            IsolationLevel::Serializable => "serializable".to_string(),
                            _ => "repeatable read".to_string(),
                        }
                    }
                    _ => self
                        .variable(name)
                        .map(str::to_string)
                        .ok_or_else(|| sql_err!(UNDEFINED_OBJECT, "unrecognized configuration parameter \"{name}\""))?,
                };
                Ok(StatementOutcome::Done(StatementResult::Rows {
                    columns: vec![Column { name: name.clone(), ty: DataType::Text }],
                    rows: vec![vec![Value::text(value)]],
                    tag: "SHOW".into(),
                }))
            }
        }
    }
}

/// A shared handle on the plan of a cached `BoundStatement::Query`, so
/// running a cached statement copies no plan.
#[derive(Clone)]
pub(crate) struct PlanRef(Arc<BoundStatement>);

impl std::ops::Deref for PlanRef {
    type Target = Plan;
    fn deref(&self) -> &Plan {
        match &*self.0 {
            BoundStatement::Query(plan) | BoundStatement::Explain { plan, .. } => plan,
            // Only built from a Query in `dispatch`.
            _ => unreachable!("PlanRef holds a query"),
        }
    }
}

pub(crate) enum StatementOutcome {
    Rows(PlanRef, Box<dyn Executor>, Option<StatsHandle>),
    Done(StatementResult),
}

/// Settings every session starts with (what PostgreSQL clients ask about).
/// A session stores only the ones it changes.
const DEFAULT_VARS: &[(&str, &str)] = &[
    ("server_version", "15.0"),
    ("server_version_num", "150000"),
    ("server_encoding", "UTF8"),
    ("client_encoding", "UTF8"),
    ("datestyle", "ISO, MDY"),
    ("timezone", "UTC"),
    ("intervalstyle", "postgres"),
    ("standard_conforming_strings", "on"),
    ("integer_datetimes", "on"),
    ("search_path", "public"),
    ("application_name", ""),
    ("is_superuser", "on"),
    ("hnsw.ef_search", "40"),
];

/// Rejects a bad value for a setting Alopex acts on (others are stored as
/// given, for clients that set and read them back).
fn check_setting(name: &str, value: &str) -> Result<()> {
    if name == "hnsw.ef_search" {
        let ok = value.trim().parse::<u32>().is_ok_and(|n| (1..=1000).contains(&n));
        if !ok {
            return Err(sql_err!(INVALID_PARAMETER_VALUE, "invalid value for parameter \"{name}\": \"{value}\"")
                .with_detail("Valid values are between \"1\" and \"1000\"."));
        }
    }
    Ok(())
}

fn is_rollback(stmt: &Statement) -> bool {
    matches!(stmt, Statement::Rollback { .. })
}

fn is_cacheable(b: &BoundStatement) -> bool {
    matches!(b, BoundStatement::Query(_) | BoundStatement::Explain { .. })
}

pub(crate) fn columns_of(cols: &[OutputColumn]) -> Vec<Column> {
    cols.iter().map(|c| Column { name: c.name.clone(), ty: c.ty.clone() }).collect()
}

fn explain_result(lines: Vec<String>) -> StatementResult {
    let n = lines.len();
    StatementResult::Rows {
        columns: vec![Column { name: "QUERY PLAN".into(), ty: DataType::Text }],
        rows: lines.into_iter().map(|l| vec![Value::text(l)]).collect(),
        tag: format!("EXPLAIN {n}"),
    }
}

fn check_params(plan: &Plan, params: &[Value]) -> Result<()> {
    if params.len() < plan.param_types.len() {
        return Err(Error::new(
            SqlState::PROTOCOL_VIOLATION,
            format!("statement needs {} parameters, {} given", plan.param_types.len(), params.len()),
        ));
    }
    Ok(())
}

/// Casts parameter values to the types the binder inferred for them.
/// Runs once per statement, so it sizes its output up front and skips
/// the cast of a value already of its type.
pub(crate) fn cast_params(plan: &Plan, params: &[Value]) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(params.len());
    for (i, v) in params.iter().enumerate() {
        out.push(match plan.param_types.get(i) {
            Some(ty) if *ty != DataType::Unknown && !v.is_null() && !exec::has_exact_type(v, ty) => {
                expr::cast::cast(v, ty)?
            }
            _ => v.clone(),
        });
    }
    Ok(out)
}
