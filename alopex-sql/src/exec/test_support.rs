//! Helpers for the executor's unit tests: a real storage engine in a
//! temporary directory for the transaction, hand-built plans, and a
//! runner that drains a plan into rows.

use std::sync::atomic::{AtomicI64, Ordering};

use alopex_core::{Engine, IsolationLevel, Options};

use super::{ExecContext, build, drain};
use crate::catalog::TableSchema;
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::Node;
use crate::table::RowIdSource;
use crate::types::{DataType, Row, Value};

/// Row ids from a counter.
pub(crate) struct CountingRowIds(AtomicI64);

impl RowIdSource for CountingRowIds {
    fn next_row_id(&self, _table: &TableSchema) -> Result<i64> {
        Ok(self.0.fetch_add(1, Ordering::Relaxed) + 1)
    }
}

/// Runs `f` with a context over a fresh engine's transaction.
pub(crate) fn with_cx<T>(params: &[Value], f: impl FnOnce(&mut ExecContext<'_>) -> T) -> T {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options { background_threads: false, ..Options::small_for_tests() };
    let engine = Engine::open(dir.path(), opts).expect("open engine");
    let mut txn = engine.begin(IsolationLevel::default());
    let row_ids = CountingRowIds(AtomicI64::new(0));
    let mut cx = ExecContext::new(&mut txn, params, chrono::DateTime::UNIX_EPOCH, &row_ids);
    f(&mut cx)
}

/// Builds and drains `node`.
pub(crate) fn run(node: &Node) -> Result<Vec<Row>> {
    with_cx(&[], |cx| run_in(node, cx))
}

/// Builds and drains `node` in `cx`.
pub(crate) fn run_in(node: &Node, cx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
    let mut exec = build(node, None)?;
    drain(exec.as_mut(), cx)
}

/// An integer value.
pub(crate) fn int(i: i64) -> Value {
    Value::Int(i)
}

/// A literal expression.
pub(crate) fn lit(v: Value) -> Expr {
    Expr::literal(v)
}

/// A BIGINT column reference.
pub(crate) fn col(i: usize) -> Expr {
    Expr::Column(i, DataType::Int8)
}

/// A Values node of literal rows (width from the first row).
pub(crate) fn values(rows: Vec<Vec<Expr>>) -> Node {
    let width = rows.first().map_or(0, |r| r.len());
    Node::Values { rows, width }
}

/// A Values node of integer rows (None = NULL), `width` values each.
pub(crate) fn ints(width: usize, rows: &[&[Option<i64>]]) -> Node {
    let rows = rows.iter().map(|r| r.iter().map(|v| lit(v.map_or(Value::Null, Value::Int))).collect()).collect();
    Node::Values { rows, width }
}

/// Rows of optional integers, for comparing results.
pub(crate) fn rows(rows: &[&[Option<i64>]]) -> Vec<Row> {
    rows.iter().map(|r| r.iter().map(|v| v.map_or(Value::Null, Value::Int)).collect()).collect()
}

/// A table `name(a BIGINT, b BIGINT, …)`: `columns` BIGINT columns named
/// a, b, c…, the first NOT NULL; primary key on `pk`, or a hidden row id
/// when `pk` is empty.
pub(crate) fn table(name: &str, columns: usize, pk: &[usize]) -> std::sync::Arc<TableSchema> {
    use crate::catalog::{ColumnSchema, ROW_ID_COLUMN};
    let column = |id: usize, name: String, nullable: bool, hidden: bool| ColumnSchema {
        id: id as u32 + 1,
        name,
        ty: DataType::Int8,
        nullable,
        default: None,
        missing: Value::Null,
        hidden,
    };
    let mut cols: Vec<ColumnSchema> =
        (0..columns).map(|i| column(i, ((b'a' + i as u8) as char).to_string(), i != 0, false)).collect();
    let primary_key = if pk.is_empty() {
        cols.push(column(columns, ROW_ID_COLUMN.to_string(), false, true));
        vec![columns]
    } else {
        pk.to_vec()
    };
    let next_column_id = cols.len() as u32 + 1;
    std::sync::Arc::new(TableSchema {
        id: 1000,
        name: name.to_string(),
        columns: cols,
        primary_key,
        indexes: vec![],
        checks: vec![],
        next_column_id,
        next_index_id: 2,
    })
}

/// Builds `node`, drains it, and returns its rows and affected-row count.
pub(crate) fn run_dml(node: &Node, cx: &mut ExecContext<'_>) -> Result<(Vec<Row>, u64)> {
    let mut exec = build(node, None)?;
    let rows = drain(exec.as_mut(), cx)?;
    Ok((rows, exec.affected_rows()))
}

/// A full scan of `table`.
pub(crate) fn scan_all(table: &std::sync::Arc<TableSchema>) -> Node {
    Node::Scan {
        table: table.clone(),
        alias: table.name.clone(),
        range: crate::plan::ScanRange::Full,
        reverse: false,
        filter: None,
    }
}
