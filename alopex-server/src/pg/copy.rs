//! The COPY sub-protocol: `COPY … FROM STDIN` and `COPY … TO STDOUT`.
//!
//! [`alopex_sql::copy`] parses the statement and the text/CSV formats; this
//! file drives the messages. A `COPY FROM` answers CopyInResponse and
//! decodes CopyData chunks into rows as they arrive. Clients send anything
//! from one row per message (pgbench, psycopg's `write_row`) to 64 KiB
//! chunks (psql), so rows are not written as they come: they queue until a
//! batch is full (`BATCH_ROWS` rows or `BATCH_BYTES` of field text),
//! and then the whole batch goes to a worker in one hop and is written by
//! `Session::insert_batch`, which plans the `INSERT … VALUES ($1, …)` once
//! and writes each row straight into the transaction (no per-row
//! statement, plan lookup or executor). Decoding the next rows and writing
//! a batch do not overlap; one worker hop per few thousand rows is cheap.
//!
//! The whole COPY is atomic: it runs in the session's explicit transaction
//! (which a failure aborts, as in PostgreSQL), or in one it opens and
//! commits at CopyDone and rolls back on any error. The first error wins,
//! later data is read and dropped, and the error names its input line
//! (`… (COPY t, line 9000)`: PostgreSQL's CONTEXT, in the message since
//! that is what every client shows). Memory: the input side holds at most
//! one batch of decoded rows; the transaction holds every row written so
//! far until it commits, as any large transaction does in Alopex (its
//! writes are buffered until commit), so a load is bounded by memory and
//! very large files belong in several COPYs (`alopex import
//! --commit-each-batch` does that). A `COPY TO` runs the `SELECT` and
//! streams one CopyData per row.

use std::sync::Arc;

use alopex_sql::copy::{CopyCommand, CopyDecoder, CopySubject};
use alopex_sql::expr::cast::to_text_as;
use alopex_sql::{BatchError, DataType, Error, Interrupt, Session, SqlState, StatementResult, TxnStatus, Value};
use bytes::Bytes;
use parking_lot::Mutex;
use pgwire::api::results::{CopyResponse, Response};
use pgwire::messages::copy::CopyData;

use crate::workers::Workers;

/// Rows a COPY FROM hands to one insert batch, at most.
const BATCH_ROWS: usize = 4096;
/// Field bytes a COPY FROM hands to one insert batch, at most (a batch of
/// wide rows ends early).
const BATCH_BYTES: usize = 4 << 20;

/// A COPY FROM in progress on a connection.
pub struct CopyIn {
    decoder: CopyDecoder,
    insert_sql: Arc<str>,
    /// The table as the statement named it, for error messages.
    table: String,
    columns: usize,
    /// Input lines before the first row (the CSV header).
    header_lines: u64,
    /// Rows decoded so far (written, or waiting in `pending`).
    rows: u64,
    /// Decoded rows not yet handed to a batch.
    pending: Vec<Vec<Value>>,
    pending_bytes: usize,
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
    let table = match &cmd.subject {
        CopySubject::Table { name, .. } => name.clone(),
        CopySubject::Query(_) => String::new(),
    };
    let header_lines = u64::from(cmd.header);
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
    let state = CopyIn {
        decoder,
        insert_sql: Arc::from(insert_sql),
        table,
        columns,
        header_lines,
        rows: 0,
        pending: Vec::new(),
        pending_bytes: 0,
        own_transaction,
        error: None,
    };
    let response = Response::CopyIn(CopyResponse::new(0, columns, futures::stream::empty()));
    Ok((state, response))
}

impl CopyIn {
    /// Decodes the rows completed by `chunk`, and inserts a batch once
    /// enough rows are waiting.
    pub async fn data(&mut self, chunk: &[u8], session: &Arc<Mutex<Session>>, workers: &Workers) {
        if self.error.is_some() {
            return;
        }
        match self.decoder.feed(chunk) {
            Ok(rows) => {
                self.queue(rows);
                if self.pending.len() >= BATCH_ROWS || self.pending_bytes >= BATCH_BYTES {
                    self.flush(session, workers).await;
                }
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The input line of row `row` (0-based over the whole COPY).
    fn line(&self, row: u64) -> u64 {
        self.header_lines + row + 1
    }

    /// `e`, naming where in the input it happened (PostgreSQL says this
    /// in the CONTEXT field: `COPY t, line 3`).
    fn at_line(&self, mut e: Error, row: u64) -> Error {
        e.message = format!("{} (COPY {}, line {})", e.message, self.table, self.line(row));
        e
    }

    /// Checks and converts decoded rows into the pending batch.
    fn queue(&mut self, rows: Vec<Vec<Option<String>>>) {
        for row in rows {
            if self.error.is_some() {
                return;
            }
            if row.len() != self.columns {
                let what = if row.len() > self.columns {
                    "extra data after last expected column"
                } else {
                    "missing data for a column"
                };
                let e = Error::new(
                    SqlState::BAD_COPY_FILE_FORMAT,
                    format!("{what}: the row has {} columns, expected {}", row.len(), self.columns),
                );
                self.error = Some(self.at_line(e, self.rows));
                return;
            }
            self.pending_bytes += row.iter().map(|f| f.as_ref().map_or(0, String::len)).sum::<usize>();
            self.pending.push(row.into_iter().map(|f| f.map_or(Value::Null, Value::text)).collect());
            self.rows += 1;
        }
    }

    /// Inserts the pending rows as one batch on a worker.
    async fn flush(&mut self, session: &Arc<Mutex<Session>>, workers: &Workers) {
        if self.pending.is_empty() || self.error.is_some() {
            return;
        }
        let batch = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let first = self.rows - batch.len() as u64;
        let (session, sql) = (session.clone(), self.insert_sql.clone());
        match workers.run(move || session.lock().insert_batch(&sql, batch)).await {
            Ok(Ok(_)) => {}
            Ok(Err(BatchError { row: Some(i), error })) => self.error = Some(self.at_line(error, first + i as u64)),
            Ok(Err(BatchError { row: None, error })) | Err(error) => self.error = Some(error),
        }
    }

    /// CopyDone: the last rows, then commit (or roll back on error) a
    /// transaction the COPY opened. The rows copied, or the first error.
    pub async fn done(mut self, session: &Arc<Mutex<Session>>, workers: &Workers) -> Result<u64, Error> {
        if self.error.is_none() {
            match self.decoder.finish() {
                Ok(rows) => self.queue(rows),
                Err(e) => self.error = Some(e),
            }
            self.flush(session, workers).await;
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
        if error.is_some() && !self.own_transaction {
            // A failed COPY aborts the client's transaction, whichever
            // part failed (a row's INSERT already did).
            session.lock().fail_transaction();
        }
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
