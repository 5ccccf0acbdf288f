//! The lookup join (index nested-loop join): each left row's matches are
//! fetched by key instead of scanning the other table.
//!
//! A hash join reads all of its build side; when the join keys give the
//! table's primary key (or a leading prefix of an index) and the left side
//! is small, reading only the matching keys is far cheaper. Left rows are
//! pulled in batches (growing from [`FIRST_BATCH`] to [`MAX_BATCH`] rows,
//! so a `LIMIT 1` above reads little and a large join makes few storage
//! calls). Each row's key expressions are evaluated and cast to the key
//! columns' types as a scan's bounds are (`scan_range.rs`): a NULL, or a
//! value no key can equal (out of the column type's range, truncated),
//! matches nothing, as `=` would have it. Then:
//!
//! - with the whole primary key, the batch's keys are fetched with one
//!   [`get_rows`] call (one `multi_get`), so the storage round trips are
//!   per batch, not per row;
//! - with a prefix (of the primary key or of a secondary index), each left
//!   row opens a [`RowScan`] over [`KeyRange::Prefix`] when its turn comes,
//!   streaming its matches.
//!
//! Fetched rows must pass the table filter (the pushed-down predicate of
//! the scan this join replaced) and then the residual over left ++ table
//! row. Output follows the left side's order, with the join kinds' usual
//! rules: Inner emits every match, Left also a NULL-padded row for a left
//! row without one, Semi the left row once at its first match, Anti the
//! left row when nothing matched.

use std::collections::VecDeque;
use std::sync::Arc;

use super::demand::Demand;
use super::scan_range::exact_key;
use super::{ExecContext, Executor, eval_expr, eval_pred};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::JoinKind;
use crate::table::{KeyRange, RowScan, get_rows_columns};
use crate::types::{DataType, Row, Value};

/// Left rows in the first batch.
const FIRST_BATCH: usize = 16;
/// The most left rows in one batch.
const MAX_BATCH: usize = 256;

/// What a pending left row will be matched against.
enum Matches {
    /// Nothing (a NULL or unrepresentable key, a missing row, or a fetched
    /// row that failed the filter).
    Nothing,
    /// The one row fetched by its full primary key (filter passed).
    Row(Row),
    /// The rows whose key starts with these values, not read yet.
    Prefix(Vec<Value>),
}

/// Where the current left row's candidates come from.
enum Source {
    /// At most one row.
    One(Option<Row>),
    /// A prefix scan.
    Scan(RowScan),
}

/// The left row being matched.
struct Probe {
    left: Row,
    source: Source,
    matched: bool,
}

/// Joins by key lookups into a table.
pub(super) struct LookupJoinExec {
    left: Box<dyn Executor>,
    table: Arc<TableSchema>,
    index: Option<usize>,
    keys: Vec<Expr>,
    key_types: Vec<DataType>,
    /// The keys are the whole primary key: fetch batches with `multi_get`.
    batched: bool,
    kind: JoinKind,
    filter: Option<Expr>,
    residual: Option<Expr>,
    left_width: usize,
    /// Left rows read and not yet joined.
    pending: VecDeque<(Row, Matches)>,
    batch_size: usize,
    current: Option<Probe>,
    left_done: bool,
    scratch: Row,
    /// The table columns to decode (None = all); see `demand.rs`.
    columns: Demand,
}

impl LookupJoinExec {
    /// A join of `left` (rows of `left_width` values) with the rows of
    /// `table` whose key (`index`, None for the primary key) starts with
    /// `keys` over the left row, passing `filter` (over the table row) and
    /// `residual` (over left ++ table row).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        left: Box<dyn Executor>,
        table: Arc<TableSchema>,
        index: Option<usize>,
        keys: Vec<Expr>,
        kind: JoinKind,
        filter: Option<Expr>,
        residual: Option<Expr>,
        left_width: usize,
    ) -> Result<LookupJoinExec> {
        if !matches!(kind, JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti) {
            return Err(Error::internal(format!("lookup join of kind {kind:?}")));
        }
        let key_columns = match index {
            None => &table.primary_key,
            Some(i) => match table.indexes.get(i) {
                Some(ix) => &ix.columns,
                None => {
                    return Err(Error::internal(format!("lookup join on index {i} of table \"{}\"", table.name)));
                }
            },
        };
        if keys.is_empty() || keys.len() > key_columns.len() {
            return Err(Error::internal(format!(
                "lookup join with {} key values for a {}-column key",
                keys.len(),
                key_columns.len()
            )));
        }
        let key_types =
            key_columns[..keys.len()]
                .iter()
                .map(|&p| {
                    table.columns.get(p).map(|c| c.ty.clone()).ok_or_else(|| {
                        Error::internal(format!("key column {p} out of range in table \"{}\"", table.name))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        let batched = index.is_none() && keys.len() == key_columns.len();
        let scratch = Vec::with_capacity(left_width + table.columns.len());
        Ok(LookupJoinExec {
            left,
            table,
            index,
            keys,
            key_types,
            batched,
            kind,
            filter,
            residual,
            left_width,
            pending: VecDeque::new(),
            batch_size: FIRST_BATCH,
            current: None,
            left_done: false,
            scratch,
            columns: None,
        })
    }

    /// Decodes only these columns of the table's rows; the others read as
    /// NULL.
    pub(super) fn columns(mut self, columns: Demand) -> LookupJoinExec {
        self.columns = columns;
        self
    }

    /// The key values of `row`, or None when no key can match.
    fn key_of(&self, row: &[Value], cx: &mut ExecContext<'_>) -> Result<Option<Vec<Value>>> {
        let mut key = Vec::with_capacity(self.keys.len());
        for (expr, ty) in self.keys.iter().zip(&self.key_types) {
            match exact_key(eval_expr(expr, row, cx)?, ty)? {
                Some(v) => key.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// Reads the next batch of left rows into `pending`, fetching their
    /// rows when the keys are whole primary keys.
    fn fill(&mut self, cx: &mut ExecContext<'_>) -> Result<()> {
        let mut rows = Vec::with_capacity(self.batch_size);
        let mut keys: Vec<Option<Vec<Value>>> = Vec::with_capacity(self.batch_size);
        while rows.len() < self.batch_size {
            let Some(row) = self.left.next(cx)? else {
                self.left_done = true;
                break;
            };
            if row.len() != self.left_width {
                return Err(Error::internal(format!(
                    "join expected {}-column left rows, got {}",
                    self.left_width,
                    row.len()
                )));
            }
            keys.push(self.key_of(&row, cx)?);
            rows.push(row);
        }
        self.batch_size = (self.batch_size * 2).min(MAX_BATCH);
        if !self.batched {
            for (row, key) in rows.into_iter().zip(keys) {
                self.pending.push_back((row, key.map_or(Matches::Nothing, Matches::Prefix)));
            }
            return Ok(());
        }
        let wanted: Vec<Vec<Value>> = keys.iter().flatten().cloned().collect();
        let mut fetched = if wanted.is_empty() {
            Vec::new().into_iter()
        } else {
            get_rows_columns(&mut *cx.txn, &self.table, &wanted, self.columns.as_deref())?.into_iter()
        };
        for (row, key) in rows.into_iter().zip(keys) {
            let matches = match key.and_then(|_| fetched.next().flatten()) {
                Some(found) if passes_filter(&self.table, self.filter.as_ref(), &found, cx)? => Matches::Row(found),
                _ => Matches::Nothing,
            };
            self.pending.push_back((row, matches));
        }
        Ok(())
    }

    /// The next candidate table row of the current probe (filter passed).
    fn next_candidate(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let Some(probe) = self.current.as_mut() else { return Ok(None) };
        match &mut probe.source {
            Source::One(row) => Ok(row.take()),
            Source::Scan(scan) => loop {
                let Some(row) = scan.next(&mut *cx.txn)? else { return Ok(None) };
                if passes_filter(&self.table, self.filter.as_ref(), &row, cx)? {
                    return Ok(Some(row));
                }
            },
        }
    }

    /// Tries the current probe's candidates. Returns a row to emit, or None
    /// once the probe is finished (and cleared).
    fn advance_probe(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        while let Some(candidate) = self.next_candidate(cx)? {
            let Some(probe) = self.current.as_mut() else { return Ok(None) };
            self.scratch.clear();
            self.scratch.extend_from_slice(&probe.left);
            self.scratch.extend(candidate);
            let matches = match &self.residual {
                Some(p) => eval_pred(p, &self.scratch, cx)?,
                None => true,
            };
            if !matches {
                continue;
            }
            let Some(probe) = self.current.as_mut() else { return Ok(None) };
            probe.matched = true;
            match self.kind {
                JoinKind::Semi => return Ok(self.current.take().map(|p| p.left)),
                JoinKind::Anti => {
                    self.current = None;
                    return Ok(None);
                }
                _ => return Ok(Some(self.scratch.clone())),
            }
        }
        let Some(probe) = self.current.take() else { return Ok(None) };
        if probe.matched {
            return Ok(None);
        }
        Ok(match self.kind {
            JoinKind::Left => {
                let mut row = probe.left;
                row.resize(self.left_width + self.table.columns.len(), Value::Null);
                Some(row)
            }
            JoinKind::Anti => Some(probe.left),
            _ => None,
        })
    }
}

/// Checks a row read from `table` and applies the table filter.
fn passes_filter(table: &TableSchema, filter: Option<&Expr>, row: &Row, cx: &mut ExecContext<'_>) -> Result<bool> {
    if row.len() != table.columns.len() {
        return Err(Error::internal(format!(
            "table \"{}\" returned a {}-column row for {} columns",
            table.name,
            row.len(),
            table.columns.len()
        )));
    }
    match filter {
        Some(f) => eval_pred(f, row, cx),
        None => Ok(true),
    }
}

impl Executor for LookupJoinExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        loop {
            if self.current.is_some() {
                if let Some(row) = self.advance_probe(cx)? {
                    return Ok(Some(row));
                }
                continue;
            }
            if let Some((left, matches)) = self.pending.pop_front() {
                let source = match matches {
                    Matches::Nothing => Source::One(None),
                    Matches::Row(row) => Source::One(Some(row)),
                    Matches::Prefix(key) => {
                        let range = KeyRange::Prefix(key);
                        let scan = match self.index {
                            Some(i) => RowScan::index(self.table.clone(), i, range, false),
                            None => RowScan::primary(self.table.clone(), range, false),
                        };
                        Source::Scan(scan.columns(self.columns.clone()))
                    }
                };
                self.current = Some(Probe { left, source, matched: false });
                continue;
            }
            if self.left_done {
                return Ok(None);
            }
            self.fill(cx)?;
        }
    }
}

#[cfg(test)]
#[path = "lookup_join_tests.rs"]
mod tests;
