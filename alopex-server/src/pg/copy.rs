//! The COPY sub-protocol: `COPY … FROM STDIN` and `COPY … TO STDOUT`.
//!
//! [`alopex_sql::copy`] parses the statement and the text/CSV formats; this
//! file drives the messages. A `COPY FROM` answers CopyInResponse, decodes
//! CopyData chunks into rows as they arrive, and inserts each row through a
//! prepared `INSERT` on a worker, batch by batch, so memory holds one chunk
//! of rows at a time however large the load. The whole COPY is atomic: it
//! runs in the session's explicit transaction, or in one it opens and
//! commits at CopyDone (and rolls back on any error). A `COPY TO` runs the
//! `SELECT` and streams one CopyData per row.

use std::sync::Arc;

use alopex_sql::copy::{CopyCommand, CopyDecoder};
use alopex_sql::expr::cast::to_text_as;
use alopex_sql::{DataType, Error, Interrupt, Session, SqlState, StatementResult, TxnStatus, Value};
use bytes::Bytes;
use parking_lot::Mutex;
use pgwire::api::results::{CopyResponse, Response};
use pgwire::messages::copy::CopyData;

use crate::workers::Workers;

/// A COPY FROM in progress on a connection.
pub struct CopyIn {
    decoder: CopyDecoder,
    insert_sql: String,
    columns: usize,
    rows: u64,
    /// The COPY opened its own transaction (commit or roll back at the end).
    own_transaction: bool,
    /// The first error; later data is read and dropped.
    error: Option<Error>,
}

/// Starts a `COPY FROM STDIN`: checks the table, opens a transaction when
/// none is open, and returns the state to keep plus the CopyInResponse.
pub async fn start_in(
    cmd: CopyCommand,
    session: &Arc<Mutex<Session>>,
    workers: &Workers,
) -> Result<(CopyIn, Response), Error> {
    let session = session.clone();
    let decoder = cmd.decoder();
    let (insert_sql, columns, own_transaction) = workers
        .run(move || -> Result<_, Error> {
            let mut s = session.lock();
            // The table's columns, when the statement names none.
            let all = s.prepare(&cmd.select_sql(), &[])?;
            let names: Vec<String> = all.columns.iter().map(|c| c.name.clone()).collect();
            let insert_sql = cmd.insert_sql(&names)?;
            let prepared = s.prepare(&insert_sql, &[])?;
            let own = s.status() == TxnStatus::Idle;
            if own {
                s.execute("BEGIN", &[])?;
            }
            Ok((insert_sql, prepared.param_types.len(), own))
        })
        .await??;
    let state = CopyIn { decoder, insert_sql, columns, rows: 0, own_transaction, error: None };
    let response = Response::CopyIn(CopyResponse::new(0, columns, futures::stream::empty()));
    Ok((state, response))
}

impl CopyIn {
    /// Decodes and inserts the rows completed by `chunk`.
    pub async fn data(&mut self, chunk: &[u8], session: &Arc<Mutex<Session>>, workers: &Workers) {
        if self.error.is_some() {
            return;
        }
        match self.decoder.feed(chunk) {
            Ok(rows) => self.insert(rows, session, workers).await,
            Err(e) => self.error = Some(e),
        }
    }

    async fn insert(&mut self, rows: Vec<Vec<Option<String>>>, session: &Arc<Mutex<Session>>, workers: &Workers) {
        if rows.is_empty() || self.error.is_some() {
            return;
        }
        let (session, sql, columns, first_line) = (session.clone(), self.insert_sql.clone(), self.columns, self.rows);
        let done = workers
            .run(move || -> Result<u64, Error> {
                let mut s = session.lock();
                let mut n = 0u64;
                for row in rows {
                    if row.len() != columns {
                        return Err(Error::new(
                            SqlState::BAD_COPY_FILE_FORMAT,
                            format!("COPY row {} has {} columns, expected {columns}", first_line + n + 1, row.len()),
                        ));
                    }
                    let params: Vec<Value> = row.into_iter().map(|f| f.map_or(Value::Null, Value::text)).collect();
                    s.execute(&sql, &params)?;
                    n += 1;
                }
                Ok(n)
            })
            .await
            .and_then(|r| r);
        match done {
            Ok(n) => self.rows += n,
            Err(e) => self.error = Some(e),
        }
    }

    /// CopyDone: the last rows, then commit (or roll back on error) a
    /// transaction the COPY opened. The rows copied, or the first error.
    pub async fn done(mut self, session: &Arc<Mutex<Session>>, workers: &Workers) -> Result<u64, Error> {
        match self.decoder.finish() {
            Ok(rows) => self.insert(rows, session, workers).await,
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self.end(session, workers).await?;
        Ok(self.rows)
    }

    /// CopyFail or a lost client: roll back a transaction the COPY opened.
    pub async fn abort(mut self, session: &Arc<Mutex<Session>>, workers: &Workers, why: Error) {
        self.error.get_or_insert(why);
        let _ = self.end(session, workers).await;
    }

    async fn end(&mut self, session: &Arc<Mutex<Session>>, workers: &Workers) -> Result<(), Error> {
        let error = self.error.take();
        if self.own_transaction {
            let verb = if error.is_some() { "ROLLBACK" } else { "COMMIT" };
            let session = session.clone();
            let ended = workers.run(move || session.lock().execute(verb, &[])).await.and_then(|r| r);
            if let (None, Err(e)) = (&error, ended) {
                return Err(e);
            }
        }
        error.map_or(Ok(()), Err)
    }
}

/// Runs a `COPY TO STDOUT`: the CopyOutResponse with one CopyData per row.
/// The query stops when `interrupt` is triggered.
pub async fn run_out(
    cmd: CopyCommand,
    session: &Arc<Mutex<Session>>,
    workers: &Workers,
    limit: usize,
    interrupt: Interrupt,
) -> Result<Response, Error> {
    let session = session.clone();
    let sql = cmd.select_sql();
    let (mut results, error) = workers
        .run(move || {
            let mut session = session.lock();
            session.set_interrupt(interrupt);
            session.run_script_limited(&sql, &[], limit)
        })
        .await?;
    if let Some(e) = error {
        return Err(e);
    }
    let Some(StatementResult::Rows { columns, rows, .. }) = results.pop() else {
        return Err(Error::new(SqlState::SYNTAX_ERROR, "COPY TO needs a query that returns rows"));
    };
    let types: Vec<DataType> = columns.iter().map(|c| c.ty.clone()).collect();
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let mut lines: Vec<String> = Vec::with_capacity(rows.len() + 1);
    let header = cmd.header_line(&names);
    for row in &rows {
        let fields: Vec<Option<String>> = row.iter().zip(&types).map(|(v, ty)| to_text_as(v, ty)).collect();
        lines.push(cmd.encode_row(&fields));
    }
    // The header rides with the first row so the row count stays right.
    match (header, lines.first_mut()) {
        (Some(h), Some(first)) => first.insert_str(0, &h),
        (Some(h), None) => lines.push(h),
        (None, _) => {}
    }
    let stream = futures::stream::iter(lines.into_iter().map(|l| Ok(CopyData::new(Bytes::from(l)))));
    Ok(Response::CopyOut(CopyResponse::new(0, columns.len(), stream)))
}
