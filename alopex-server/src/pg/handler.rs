//! One client connection: the simple and the extended query protocol over
//! one [`Session`].
//!
//! Every connection owns a session (its transaction, its settings) behind a
//! mutex, and every piece of SQL work (parsing and binding a prepared
//! statement, running a statement) is handed to the [`Workers`] pool with
//! the session, so the connection's task only moves bytes; except a
//! statement whose shape has proved short, which runs on the connection's
//! task to save two thread wake-ups (`placement.rs`).
//!
//! * **Simple protocol.** A query string may hold several statements; they
//!   run in order and stop at the first error, whose ErrorResponse follows
//!   the results of the statements before it, as in PostgreSQL.
//! * **Extended protocol.** Parse binds the statement against the catalog
//!   ([`Session::prepare`]) to learn its parameter and result types, which
//!   Describe reports. Bind's parameters are decoded per the statement's
//!   types (`types.rs`), Execute runs the statement; pgwire keeps the rows
//!   and answers `max_rows` with PortalSuspended.
//!
//! The transaction status in ReadyForQuery comes from the responses:
//! BEGIN starts a block, COMMIT and ROLLBACK end it, and an error inside a
//! block marks it failed, after which the session itself refuses all but
//! ROLLBACK with 25P02.
//!
//! A running statement can be stopped by a cancel request or by the client
//! hanging up (`cancel.rs`): each statement gets its own [`Interrupt`] and
//! its work is wrapped in [`cancellable`], which triggers it.
//!
//! Results are materialized on the worker before they are sent, within the
//! `max_result_bytes` limit (54000 beyond it), so a session is never held
//! across an await point on the network.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

use alopex_sql::copy::{CopyCommand, CopyDirection, parse_copy};
use alopex_sql::{Column, DataType, Error, Interrupt, Session, SqlState, StatementResult, TxnStatus, Value};
use async_trait::async_trait;
use bytes::BytesMut;
use futures::{Sink, SinkExt, stream};
use parking_lot::Mutex;
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::data::DataRow;
use pgwire::messages::response::TransactionStatus;

use super::cancel::{PeerWatch, RunningSlot, cancellable};
use super::copy::{self, CopyIn};
use super::deallocate::{self, Deallocate, parse_deallocate};
use super::error::{error_info, user_error};
use super::placement::{Placement, shape};
use super::types::{decode_param, encode_value, fields, pg_type, sql_type};
use crate::metrics::Metrics;
use crate::workers::Workers;

/// A statement parsed and bound by the extended protocol's Parse.
#[derive(Debug)]
pub struct PreparedStatement {
    sql: String,
    param_types: Vec<DataType>,
    columns: Vec<Column>,
    /// A COPY statement, run through the COPY sub-protocol.
    copy: Option<CopyCommand>,
}

/// Parses and binds statements for the extended protocol.
pub struct StatementParser {
    session: Arc<Mutex<Session>>,
    workers: Workers,
    placement: Arc<Placement>,
}

impl StatementParser {
    /// Prepares `sql` on this task if its shape proved short and the
    /// session is free; None: prepare it on a worker.
    fn prepare_inline(&self, key: u64, sql: &str, given: &[DataType]) -> Option<Result<alopex_sql::Prepared, Error>> {
        if !self.placement.inline(key) {
            return None;
        }
        let mut session = self.session.try_lock()?;
        let started = Instant::now();
        let prepared = session.prepare(sql, given);
        drop(session);
        self.placement.record(key, started.elapsed());
        Some(prepared)
    }
}

/// Tells the shapes of Parse's work apart from those of running the same
/// text.
const PARSE_SHAPE: u64 = 0x9e37_79b9_7f4a_7c15;

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Arc<PreparedStatement>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        if let Some(copy) = parse_copy(sql).map_err(user_error)? {
            let stmt =
                PreparedStatement { sql: sql.to_string(), param_types: vec![], columns: vec![], copy: Some(copy) };
            return Ok(Some(Arc::new(stmt)));
        }
        let given: Vec<DataType> = types.iter().map(|t| t.as_ref().map_or(DataType::Unknown, sql_type)).collect();
        let key = shape(sql) ^ PARSE_SHAPE;
        let prepared = match self.prepare_inline(key, sql, &given) {
            Some(prepared) => prepared,
            None => {
                let session = self.session.clone();
                let text = sql.to_string();
                let work = self.workers.run(move || {
                    let started = Instant::now();
                    let prepared = session.lock().prepare(&text, &given);
                    (prepared, started.elapsed())
                });
                work.await.and_then(|(prepared, took)| {
                    self.placement.record(key, took);
                    prepared
                })
            }
        };
        let prepared = prepared.map_err(user_error)?;
        Ok(Some(Arc::new(PreparedStatement {
            sql: sql.to_string(),
            param_types: prepared.param_types,
            columns: prepared.columns,
            copy: None,
        })))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.iter().map(pg_type).collect())
    }

    fn get_result_schema(&self, stmt: &Self::Statement, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        let format = format.cloned().unwrap_or_default();
        Ok(fields(&stmt.columns, |i| format.format_for(i)).to_vec())
    }
}

/// The handlers of one connection.
pub struct PgConnection {
    session: Arc<Mutex<Session>>,
    workers: Workers,
    metrics: Arc<Metrics>,
    max_result_bytes: usize,
    parser: Arc<StatementParser>,
    /// A COPY FROM STDIN in progress.
    copy_in: tokio::sync::Mutex<Option<CopyIn>>,
    /// Sees the client hang up while a statement runs.
    peer: Option<PeerWatch>,
    /// Names of the statements this connection prepared with Parse (for
    /// `DEALLOCATE ALL`; see `deallocate.rs`).
    prepared: Mutex<std::collections::BTreeSet<String>>,
    /// Which statement shapes have proved short enough to run here.
    placement: Arc<Placement>,
    /// The interrupt of the running statement, for cancel requests.
    running: RunningSlot,
}

impl PgConnection {
    /// A connection running statements in `session` on `workers`.
    pub fn new(session: Session, workers: Workers, metrics: Arc<Metrics>, max_result_bytes: usize) -> PgConnection {
        let session = Arc::new(Mutex::new(session));
        let placement = Arc::new(Placement::default());
        let parser = Arc::new(StatementParser {
            session: session.clone(),
            workers: workers.clone(),
            placement: placement.clone(),
        });
        PgConnection {
            session,
            workers,
            metrics,
            max_result_bytes,
            parser,
            copy_in: tokio::sync::Mutex::new(None),
            peer: None,
            prepared: Mutex::new(std::collections::BTreeSet::new()),
            placement,
            running: Arc::new(Mutex::new(None)),
        }
    }

    /// Where this connection publishes its running statement's interrupt.
    pub fn running(&self) -> &RunningSlot {
        &self.running
    }

    /// Tells the session who it is logged in as (after authentication).
    pub fn set_user(&self, user: &str) {
        self.session.lock().set_user(user);
    }

    /// Interrupts running statements when `watch` sees the client go away.
    pub fn with_peer_watch(mut self, watch: Option<PeerWatch>) -> PgConnection {
        self.peer = watch;
        self
    }

    /// Starts a COPY: the response that switches the client into the COPY
    /// sub-protocol, or the error.
    async fn copy(&self, cmd: CopyCommand) -> Response {
        let started = match cmd.direction {
            CopyDirection::In => match copy::start_in(cmd, &self.session, &self.workers).await {
                Ok((state, response)) => {
                    *self.copy_in.lock().await = Some(state);
                    Ok(response)
                }
                Err(e) => Err(e),
            },
            CopyDirection::Out => {
                let interrupt = Interrupt::new();
                let work = copy::run_out(cmd, &self.session, &self.workers, self.max_result_bytes, interrupt.clone());
                cancellable(work, self.peer.as_ref(), &interrupt).await
            }
        };
        started.unwrap_or_else(|e| Response::Error(Box::new(error_info(&e))))
    }

    /// Runs `sql` with `params`, on a worker or, for a shape that proved
    /// short, right here: the results of the statements that ran and the
    /// error that stopped them, if any.
    async fn run(&self, sql: String, params: Vec<Value>) -> (Vec<StatementResult>, Option<Error>) {
        let limit = self.max_result_bytes;
        let started = Instant::now();
        let interrupt = Interrupt::new();
        *self.running.lock() = Some(interrupt.clone());
        let key = shape(&sql);
        if self.placement.inline(key) {
            // Let this runtime thread run what is already waiting on it
            // first: a task tokio woke into this worker's LIFO slot cannot
            // be stolen by the other workers while the statement runs.
            tokio::task::yield_now().await;
        }
        let out = match self.run_inline(key, &interrupt, &sql, &params) {
            Some(out) => out,
            None => {
                let session = self.session.clone();
                let flag = interrupt.clone();
                let work = self.workers.run(move || {
                    let started = Instant::now();
                    let mut session = session.lock();
                    session.set_interrupt(flag);
                    let out = session.run_script_limited(&sql, &params, limit);
                    (out, started.elapsed())
                });
                match cancellable(work, self.peer.as_ref(), &interrupt).await {
                    Ok((out, took)) => {
                        self.placement.record(key, took);
                        out
                    }
                    Err(e) => (Vec::new(), Some(e)),
                }
            }
        };
        *self.running.lock() = None;
        self.metrics.statement("pg", out.1.is_none(), started.elapsed());
        out
    }
}

impl PgConnection {
    /// Runs `sql` on this task if its shape proved short, the session is
    /// free (one still held by an abandoned, cancelled statement on a
    /// worker must not block this thread) and not inside a transaction
    /// block; None: run it on a worker.
    fn run_inline(
        &self,
        key: u64,
        interrupt: &Interrupt,
        sql: &str,
        params: &[Value],
    ) -> Option<(Vec<StatementResult>, Option<Error>)> {
        if !self.placement.inline(key) {
            return None;
        }
        let mut session = self.session.try_lock()?;
        // Inside a transaction block, statements wait for a worker: the
        // pool also bounds how many blocks are mid-flight, and optimistic
        // commits on hot rows fail more often the more there are.
        if session.status() != TxnStatus::Idle {
            return None;
        }
        let started = Instant::now();
        session.set_interrupt(interrupt.clone());
        let out = session.run_script_limited(sql, params, self.max_result_bytes);
        drop(session);
        self.placement.record(key, started.elapsed());
        Some(out)
    }
}

/// The wire response of one statement's result, rows in `format`.
fn response(result: StatementResult, format: &Format) -> Response {
    match result {
        StatementResult::Command { tag, .. } => command_response(&tag),
        StatementResult::Rows { columns, rows, tag } => {
            let schema = fields(&columns, |i| format.format_for(i));
            let types: Vec<DataType> = columns.iter().map(|c| c.ty.clone()).collect();
            let encoded: Vec<PgWireResult<DataRow>> = rows
                .iter()
                .map(|row| {
                    let mut buf = BytesMut::with_capacity(16 * row.len());
                    for (i, value) in row.iter().enumerate() {
                        let ty = types.get(i).unwrap_or(&DataType::Unknown);
                        encode_value(&mut buf, value, ty, format.format_for(i)).map_err(user_error)?;
                    }
                    Ok(DataRow::new(buf, row.len() as i16))
                })
                .collect();
            let mut q = QueryResponse::new(schema, stream::iter(encoded));
            if let Some(command) = tag.split_whitespace().next() {
                q.set_command_tag(command);
            }
            Response::Query(q)
        }
    }
}

/// A command tag (`INSERT 0 3`, `BEGIN`, `CREATE TABLE`) as a response that
/// also moves the transaction status.
fn command_response(tag: &str) -> Response {
    let words: Vec<&str> = tag.split_whitespace().collect();
    let t = match words.as_slice() {
        [cmd, oid, rows] if oid.parse::<u32>().is_ok() && rows.parse::<usize>().is_ok() => {
            Tag::new(cmd).with_oid(oid.parse().unwrap_or(0)).with_rows(rows.parse().unwrap_or(0))
        }
        [cmd, rows] if rows.parse::<usize>().is_ok() => Tag::new(cmd).with_rows(rows.parse().unwrap_or(0)),
        _ => Tag::new(tag),
    };
    match tag {
        "BEGIN" | "START TRANSACTION" => Response::TransactionStart(t),
        "COMMIT" | "ROLLBACK" => Response::TransactionEnd(t),
        _ => Response::Execution(t),
    }
}

/// A `ROLLBACK` tag that did not end the block (`ROLLBACK TO SAVEPOINT`)
/// does not move the transaction status.
fn keep_block(r: Response, in_block: bool) -> Response {
    match r {
        Response::TransactionEnd(tag) if in_block => Response::Execution(tag),
        other => other,
    }
}

/// Whether a simple query is a lone `ROLLBACK [WORK | TRANSACTION] TO …`.
fn is_rollback_to(sql: &str) -> bool {
    let words: Vec<String> =
        sql.split_whitespace().take(3).map(|w| w.trim_end_matches(';').to_ascii_lowercase()).collect();
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["rollback", "to", ..] | ["rollback", "work" | "transaction", "to"] => {
            !sql.trim_end().trim_end_matches(';').contains(';')
        }
        _ => false,
    }
}

#[async_trait]
impl SimpleQueryHandler for PgConnection {
    /// Starts each query from the session's own transaction status, so
    /// that the status pgwire derives from the command tags ends right.
    /// `ROLLBACK TO SAVEPOINT` (tag `ROLLBACK`) leaves a failed block open
    /// and usable: from a failed block it starts as in-transaction, so it
    /// ends there, or failed again if it fails (3B001).
    async fn on_query<C>(&self, client: &mut C, query: pgwire::messages::simplequery::Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let status = match self.session.lock().status() {
            TxnStatus::Idle => TransactionStatus::Idle,
            TxnStatus::InTransaction => TransactionStatus::Transaction,
            TxnStatus::Failed if is_rollback_to(&query.query) => TransactionStatus::Transaction,
            TxnStatus::Failed => TransactionStatus::Error,
        };
        client.set_transaction_status(status);
        self._on_query(client, query).await
    }

    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(target) = parse_deallocate(query) {
            let store = client.portal_store();
            let tag = match target {
                Deallocate::All => {
                    for name in std::mem::take(&mut *self.prepared.lock()) {
                        store.rm_statement(&name);
                    }
                    "DEALLOCATE ALL"
                }
                Deallocate::Named(name) => {
                    if !self.prepared.lock().remove(&name) {
                        return Ok(vec![Response::Error(Box::new(error_info(&deallocate::unknown(&name))))]);
                    }
                    store.rm_statement(&name);
                    "DEALLOCATE"
                }
            };
            return Ok(vec![Response::Execution(Tag::new(tag))]);
        }
        match parse_copy(query) {
            Ok(Some(cmd)) => return Ok(vec![self.copy(cmd).await]),
            Ok(None) => {}
            Err(e) => return Ok(vec![Response::Error(Box::new(error_info(&e)))]),
        }
        let (results, error) = self.run(query.to_string(), Vec::new()).await;
        let in_block = self.session.lock().status() != TxnStatus::Idle;
        let mut out: Vec<Response> =
            results.into_iter().map(|r| keep_block(response(r, &Format::UnifiedText), in_block)).collect();
        if let Some(e) = error {
            out.push(Response::Error(Box::new(error_info(&e))));
        }
        Ok(out)
    }
}

#[async_trait]
impl ExtendedQueryHandler for PgConnection {
    type Statement = Arc<PreparedStatement>;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    /// Parse, remembering the statement's name for `DEALLOCATE ALL`.
    async fn on_parse<C>(&self, client: &mut C, message: pgwire::messages::extendedquery::Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.clone().unwrap_or_else(|| pgwire::api::DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(&name),
        }
        if message.name.as_deref().is_some_and(|n| !n.is_empty()) {
            self.prepared.lock().insert(name);
        }
        client.send(PgWireBackendMessage::ParseComplete(pgwire::messages::extendedquery::ParseComplete::new())).await?;
        Ok(())
    }

    /// Close, forgetting a closed statement's name.
    async fn on_close<C>(&self, client: &mut C, message: pgwire::messages::extendedquery::Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        use pgwire::messages::extendedquery::{CloseComplete, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT};
        let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                self.prepared.lock().remove(name);
                client.portal_store().rm_statement(name);
            }
            TARGET_TYPE_BYTE_PORTAL => client.portal_store().rm_portal(name),
            _ => {}
        }
        client.send(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
        Ok(())
    }

    /// Describe, with NoData for a statement that returns no rows (see
    /// `describe.rs`); everything else as pgwire does it.
    async fn on_describe<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Describe,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == pgwire::messages::extendedquery::TARGET_TYPE_BYTE_STATEMENT {
            let name = message.name.as_deref().unwrap_or(pgwire::api::DEFAULT_NAME);
            if let Some(pgwire::api::store::Entry::Value(stmt)) = client.portal_store().get_statement(name)
                && stmt.statement.columns.is_empty()
            {
                let response = self.do_describe_statement(client, &stmt).await?;
                return super::describe::send_parameters_and_no_data(client, &response.parameters).await;
            }
        }
        self._on_describe(client, message).await
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &portal.statement.statement;
        if let Some(cmd) = &stmt.copy {
            return Ok(self.copy(cmd.clone()).await);
        }
        let mut params = Vec::with_capacity(portal.parameters.len());
        for (i, bytes) in portal.parameters.iter().enumerate() {
            // The client's declared type wins; else the one we inferred.
            let declared = portal.statement.parameter_types.get(i).cloned().flatten().map(|t| sql_type(&t));
            let ty = match declared {
                Some(t) if t != DataType::Unknown => t,
                _ => stmt.param_types.get(i).cloned().unwrap_or(DataType::Unknown),
            };
            match decode_param(bytes.as_deref(), portal.parameter_format.is_binary(i), &ty) {
                Ok(v) => params.push(v),
                Err(e) => return Ok(Response::Error(Box::new(error_info(&e)))),
            }
        }
        let (mut results, error) = self.run(stmt.sql.clone(), params).await;
        if let Some(e) = error {
            return Ok(Response::Error(Box::new(error_info(&e))));
        }
        let in_block = self.session.lock().status() != TxnStatus::Idle;
        Ok(match results.pop() {
            Some(r) => keep_block(response(r, &portal.result_column_format), in_block),
            None => Response::EmptyQuery,
        })
    }

    /// ReadyForQuery carries the session's own transaction status: a
    /// command tag alone cannot tell `ROLLBACK TO SAVEPOINT` (tag
    /// `ROLLBACK`, the block stays open and is no longer failed) from
    /// `ROLLBACK`.
    async fn on_sync<C>(&self, client: &mut C, _message: pgwire::messages::extendedquery::Sync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(pgwire::api::DEFAULT_NAME);
        let status = match self.session.lock().status() {
            TxnStatus::Idle => TransactionStatus::Idle,
            TxnStatus::InTransaction => TransactionStatus::Transaction,
            TxnStatus::Failed => TransactionStatus::Error,
        };
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(pgwire::messages::response::ReadyForQuery::new(status)))
            .await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &target.statement;
        let params = (0..stmt.param_types.len().max(target.parameter_types.len()))
            .map(|i| {
                target
                    .parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| stmt.param_types.get(i).map(pg_type))
                    .unwrap_or(Type::UNKNOWN)
            })
            .collect();
        let columns = fields(&stmt.columns, |_| pgwire::api::results::FieldFormat::Text).to_vec();
        Ok(DescribeStatementResponse::new(params, columns))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let format = &portal.result_column_format;
        Ok(DescribePortalResponse::new(fields(&portal.statement.statement.columns, |i| format.format_for(i)).to_vec()))
    }
}

#[async_trait]
impl CopyHandler for PgConnection {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(state) = self.copy_in.lock().await.as_mut() {
            state.data(&copy_data.data, &self.session, &self.workers).await;
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some(state) = self.copy_in.lock().await.take() else {
            return Err(user_error(Error::new(SqlState::PROTOCOL_VIOLATION, "CopyDone without a COPY in progress")));
        };
        match state.done(&self.session, &self.workers).await {
            Ok(rows) => {
                let tag = Tag::new("COPY").with_rows(rows as usize);
                client.send(PgWireBackendMessage::CommandComplete(tag.into())).await?;
                Ok(())
            }
            Err(e) => {
                if self.session.lock().status() == TxnStatus::Failed {
                    client.set_transaction_status(TransactionStatus::Error);
                }
                Err(user_error(e))
            }
        }
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let e = Error::new(SqlState::QUERY_CANCELED, format!("COPY from stdin failed: {}", fail.message));
        if let Some(state) = self.copy_in.lock().await.take() {
            state.abort(&self.session, &self.workers, e.clone()).await;
        }
        if self.session.lock().status() == TxnStatus::Failed {
            client.set_transaction_status(TransactionStatus::Error);
        }
        user_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_tags_move_the_transaction_status() {
        assert!(matches!(command_response("BEGIN"), Response::TransactionStart(_)));
        assert!(matches!(command_response("COMMIT"), Response::TransactionEnd(_)));
        assert!(matches!(command_response("ROLLBACK"), Response::TransactionEnd(_)));
        assert!(matches!(command_response("INSERT 0 3"), Response::Execution(_)));
        assert!(matches!(command_response("CREATE TABLE"), Response::Execution(_)));
        assert!(matches!(keep_block(command_response("ROLLBACK"), true), Response::Execution(_)));
        assert!(matches!(keep_block(command_response("ROLLBACK"), false), Response::TransactionEnd(_)));
        assert!(is_rollback_to("ROLLBACK TO SAVEPOINT s"));
        assert!(is_rollback_to("rollback work to s;"));
        assert!(!is_rollback_to("ROLLBACK"));
        assert!(!is_rollback_to("ROLLBACK TO s; SELECT 1"));
    }
}
