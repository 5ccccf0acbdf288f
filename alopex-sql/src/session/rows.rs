//! Query results: streamed rows with column metadata and typed getters.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{Session, StatementResult};
use crate::database::RowIdAllocator;
use crate::error::{Error, Result, SqlState};
use crate::exec::{ExecContext, ExecState, Executor, StatsHandle};
use crate::plan::Node;
use crate::sql_err;
use crate::types::{DataType, Row, Value};

/// A result column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
}

/// One row of a result, with typed access by position or column name.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    columns: Arc<[Column]>,
    values: Row,
}

impl ResultRow {
    /// The raw values.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Consumes the row into its values.
    pub fn into_values(self) -> Row {
        self.values
    }

    /// The columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The value of column `idx` (a position or a name) as `T`.
    pub fn get<T: FromValue>(&self, idx: impl ColumnIndex) -> Result<T> {
        let i = idx.position(&self.columns)?;
        let v = self.values.get(i).ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "no column at position {i}"))?;
        T::from_value(v)
    }
}

/// A column position or name.
pub trait ColumnIndex {
    /// The position among `columns`.
    fn position(&self, columns: &[Column]) -> Result<usize>;
}

impl ColumnIndex for usize {
    fn position(&self, columns: &[Column]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(sql_err!(UNDEFINED_COLUMN, "column index {} out of range (0..{})", self, columns.len()))
        }
    }
}

impl ColumnIndex for &str {
    fn position(&self, columns: &[Column]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c.name == *self)
            .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{}\" does not exist in the result", self))
    }
}

/// Conversion from a SQL value to a Rust type (NULL only into `Option`).
pub trait FromValue: Sized {
    /// Converts, or fails with 22023 / 22004-like errors.
    fn from_value(v: &Value) -> Result<Self>;
}

fn mismatch(v: &Value, want: &str) -> Error {
    if v.is_null() {
        Error::new(SqlState("22004"), format!("NULL cannot be read as {want}; use Option"))
    } else {
        Error::new(SqlState::DATATYPE_MISMATCH, format!("a {} value cannot be read as {want}", v.data_type()))
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self> {
        if v.is_null() { Ok(None) } else { T::from_value(v).map(Some) }
    }
}

impl FromValue for Value {
    fn from_value(v: &Value) -> Result<Self> {
        Ok(v.clone())
    }
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(mismatch(v, "i64")),
        }
    }
}

impl FromValue for i32 {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Int(i) => {
                i32::try_from(*i).map_err(|_| sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "{i} does not fit i32"))
            }
            _ => Err(mismatch(v, "i32")),
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Numeric(d) => Ok(crate::types::value::decimal_to_f64(d)),
            _ => Err(mismatch(v, "f64")),
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(*b),
            _ => Err(mismatch(v, "bool")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Text(s) => Ok(s.to_string()),
            Value::Null => Err(mismatch(v, "String")),
            other => crate::expr::cast::to_text(other).ok_or_else(|| mismatch(v, "String")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Bytes(b) => Ok(b.to_vec()),
            _ => Err(mismatch(v, "Vec<u8>")),
        }
    }
}

impl FromValue for Vec<f32> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Vector(x) => Ok(x.to_vec()),
            _ => Err(mismatch(v, "Vec<f32>")),
        }
    }
}

impl FromValue for Arc<[f32]> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Vector(x) => Ok(x.clone()),
            _ => Err(mismatch(v, "Arc<[f32]>")),
        }
    }
}

impl FromValue for Decimal {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Numeric(d) => Ok(*d),
            Value::Int(i) => Ok(Decimal::from(*i)),
            _ => Err(mismatch(v, "Decimal")),
        }
    }
}

impl FromValue for NaiveDate {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Date(d) => Ok(*d),
            _ => Err(mismatch(v, "NaiveDate")),
        }
    }
}

impl FromValue for NaiveDateTime {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::Timestamp(t) => Ok(*t),
            _ => Err(mismatch(v, "NaiveDateTime")),
        }
    }
}

impl FromValue for DateTime<Utc> {
    fn from_value(v: &Value) -> Result<Self> {
        match v {
            Value::TimestampTz(t) => Ok(*t),
            _ => Err(mismatch(v, "DateTime<Utc>")),
        }
    }
}

pub(crate) enum SessionRef<'a> {
    Borrowed(&'a mut Session),
    Owned(Box<Session>),
}

impl SessionRef<'_> {
    fn get(&mut self) -> &mut Session {
        match self {
            SessionRef::Borrowed(s) => s,
            SessionRef::Owned(s) => s,
        }
    }
}

/// Where a result's rows come from.
pub(crate) enum Source {
    /// A running executor.
    Exec {
        plan: super::PlanRef,
        exec: Box<dyn Executor>,
        params: Vec<Value>,
        /// The executor's private state between rows; None only while a
        /// row is being pulled (it lives in the context then).
        state: Option<ExecState>,
        autocommit: bool,
        produced: u64,
        /// The statement timestamp, read once when the statement starts.
        now: DateTime<Utc>,
        _stats: Option<StatsHandle>,
    },
    /// Rows already computed (DML results, SHOW, EXPLAIN).
    Buffered { rows: std::vec::IntoIter<Row>, tag: String, affected: u64 },
    /// Finished.
    Done { tag: String, affected: u64 },
}

/// The rows of a statement, pulled from the executor as you iterate.
///
/// Iterating to the end commits an autocommit statement's transaction (and
/// reports a failed commit as the last item). Dropping early simply ends the
/// read-only transaction.
pub struct Rows<'a> {
    session: SessionRef<'a>,
    columns: Arc<[Column]>,
    source: Source,
}

impl<'a> Rows<'a> {
    pub(crate) fn from_source(session: SessionRef<'a>, columns: Vec<Column>, source: Source) -> Rows<'a> {
        Rows { session, columns: columns.into(), source }
    }

    /// The result's columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The command tag once the rows are consumed (`SELECT 3`, `INSERT 0 1`).
    pub fn tag(&self) -> String {
        match &self.source {
            Source::Exec { plan, produced, .. } => tag_for(&plan.root, *produced),
            Source::Buffered { tag, .. } | Source::Done { tag, .. } => tag.clone(),
        }
    }

    /// Rows affected by a command (or returned by a query) so far.
    pub fn affected(&self) -> u64 {
        match &self.source {
            Source::Exec { produced, .. } => *produced,
            Source::Buffered { affected, .. } | Source::Done { affected, .. } => *affected,
        }
    }

    /// The next row. When the executor is exhausted, the statement's effect
    /// is recorded (rows affected, row-count deltas for the statistics) and
    /// an autocommit transaction commits; an error fails the transaction.
    pub fn next_row(&mut self) -> Result<Option<Row>> {
        let Source::Exec { exec, params, state, autocommit, produced, plan, now, .. } = &mut self.source else {
            return Ok(match &mut self.source {
                Source::Buffered { rows, .. } => rows.next(),
                _ => None,
            });
        };
        let session = self.session.get();
        match pull(session, exec, params, state, *now, "result read after its transaction ended")? {
            Ok(Some(row)) => {
                *produced += 1;
                Ok(Some(row))
            }
            Ok(None) => {
                let affected = if is_dml(&plan.root) { exec.affected_rows() } else { *produced };
                let tag = tag_for(&plan.root, affected);
                if let Some((table, sign)) = dml_table(&plan.root)
                    && let Some(t) = session.txn.as_mut()
                {
                    *t.row_deltas.entry(table).or_default() += sign * affected as i64;
                }
                let autocommit = *autocommit;
                self.source = Source::Done { tag, affected };
                if autocommit && let Some(t) = session.txn.take() {
                    session.finish(t)?;
                }
                Ok(None)
            }
            Err(e) => {
                let autocommit = *autocommit;
                self.source = Source::Done { tag: String::new(), affected: 0 };
                session.fail(autocommit);
                Err(e)
            }
        }
    }

    /// Runs a writing statement to completion and commits it (autocommit),
    /// keeping any RETURNING rows. Reading statements are left streaming.
    pub(crate) fn finish_writes(mut self) -> Result<Rows<'a>> {
        if !matches!(&self.source, Source::Exec { plan, .. } if is_dml(&plan.root)) {
            return Ok(self);
        }
        let mut rows = Vec::new();
        while let Some(row) = self.next_row()? {
            rows.push(row);
        }
        let (tag, affected) = match &self.source {
            Source::Done { tag, affected } => (tag.clone(), *affected),
            _ => (String::new(), 0),
        };
        self.source = Source::Buffered { rows: rows.into_iter(), tag, affected };
        Ok(self)
    }

    /// Drains the rows into a [`StatementResult`].
    pub fn into_result(self) -> Result<StatementResult> {
        self.into_result_limited(usize::MAX)
    }

    /// Drains the rows into a [`StatementResult`], failing with 54000 once
    /// the rows held would take more than about `max_bytes` of memory: a
    /// server's guard against one statement exhausting it.
    pub fn into_result_limited(mut self, max_bytes: usize) -> Result<StatementResult> {
        let mut rows = Vec::new();
        let mut bytes = 0usize;
        while let Some(r) = self.next_row()? {
            bytes = bytes.saturating_add(r.iter().map(Value::approximate_size).sum::<usize>());
            if bytes > max_bytes {
                return Err(crate::sql_err!(
                    PROGRAM_LIMIT_EXCEEDED,
                    "statement result exceeds the memory limit of {max_bytes} bytes"
                ));
            }
            rows.push(r);
        }
        let tag = self.tag();
        let affected = self.affected();
        if self.columns.is_empty() {
            Ok(StatementResult::Command { tag, affected })
        } else {
            Ok(StatementResult::Rows { columns: self.columns.to_vec(), rows, tag })
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<ResultRow>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_row() {
            Ok(Some(values)) => Some(Ok(ResultRow { columns: self.columns.clone(), values })),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl Drop for Rows<'_> {
    fn drop(&mut self) {
        if let Source::Exec { autocommit: true, .. } = &self.source {
            // Stopped early: the statement only read (writers are
            // materialized), so ending the transaction loses nothing.
            let session = self.session.get();
            if let Some(mut t) = session.txn.take() {
                let _ = t.txn.rollback();
            }
        }
    }
}

/// Pulls one row from `exec` in the session's transaction. The context is
/// built per row (it borrows the transaction, which the session owns), so
/// it is kept cheap: the executor state moves in and out without being
/// rebuilt, and the row-id allocator borrows the database. The outer
/// `Result` is a missing transaction (`gone` says why), the inner one the
/// executor's.
fn pull(
    session: &mut Session,
    exec: &mut Box<dyn Executor>,
    params: &[Value],
    state: &mut Option<ExecState>,
    now: DateTime<Utc>,
    gone: &str,
) -> Result<Result<Option<Row>>> {
    let row_ids = RowIdAllocator { db: &session.db.shared };
    let Some(t) = session.txn.as_mut() else {
        return Err(Error::internal(gone));
    };
    let mut cx =
        ExecContext { txn: &mut *t.txn, params, now, row_ids: &row_ids, state: state.take().unwrap_or_default() };
    let result = exec.next(&mut cx);
    *state = Some(cx.state);
    Ok(result)
}

/// INSERT, UPDATE or DELETE.
fn is_dml(root: &Node) -> bool {
    matches!(root, Node::Insert { .. } | Node::Update { .. } | Node::Delete { .. })
}

/// The table a DML plan changes and the sign of its row-count change.
fn dml_table(root: &Node) -> Option<(u64, i64)> {
    match root {
        Node::Insert { table, .. } => Some((table.id, 1)),
        Node::Delete { table, .. } => Some((table.id, -1)),
        _ => None,
    }
}

fn tag_for(root: &Node, n: u64) -> String {
    match root {
        Node::Insert { .. } => format!("INSERT 0 {n}"),
        Node::Update { .. } => format!("UPDATE {n}"),
        Node::Delete { .. } => format!("DELETE {n}"),
        _ => format!("SELECT {n}"),
    }
}
