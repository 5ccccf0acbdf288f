//! Table scans, by primary key or through a secondary index.
//!
//! Both read through `table`'s [`RowScan`]s: the scan's range is resolved
//! when the scan opens (`scan_range.rs`: bound expressions evaluated and
//! cast to the key types) into key ranges that are read one after another,
//! or, for `=`/`IN` on the whole primary key, into keys fetched in one
//! [`get_rows`] batch. The pushed-down filter is applied to each row as it
//! is read, so rows that fail it never travel up the tree. On a store that
//! evaluates filters where the rows live (the cluster), its simple part is
//! also handed to primary-key scans as a program (`crate::pushed_filter`),
//! so rows that fail it never leave their range; the filter here still
//! applies to what arrives.
//!
//! Output rows are the table's full rows in schema order, hidden row id
//! included, in key order (reversed for a reverse scan).

use std::sync::Arc;
use std::vec::IntoIter;

use super::demand::Demand;
use super::scan_range::{Resolved, resolve};
use super::{ExecContext, Executor, eval_pred};
use crate::catalog::TableSchema;
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::plan::ScanRange;
use crate::table::{KeyRange, RowScan, get_rows_columns};
use crate::types::{DataType, Row};

/// Where an open scan's rows come from.
enum Source {
    /// Rows already fetched by key.
    Rows(IntoIter<Row>),
    /// Key ranges read one after the other.
    Scans {
        /// Ranges not started yet.
        pending: IntoIter<KeyRange>,
        /// The range being read.
        current: Option<RowScan>,
    },
}

/// Reads a table.
pub(super) struct ScanExec {
    table: Arc<TableSchema>,
    /// The secondary index read through, or None for the primary key.
    index: Option<usize>,
    range: ScanRange,
    reverse: bool,
    filter: Option<Expr>,
    /// The consumer reads every row: start with large pages.
    eager: bool,
    /// The columns to decode (None = all); see `demand.rs`.
    columns: Demand,
    /// Set when the scan opens.
    source: Option<Source>,
    /// The part of `filter` a store may evaluate where the rows live
    /// (`crate::pushed_filter`); `filter` still applies to every row.
    pushed: Option<Arc<alopex_core::ScanFilter>>,
}

impl ScanExec {
    /// A scan of `table` by primary key.
    pub(super) fn primary(table: Arc<TableSchema>, range: ScanRange, reverse: bool, filter: Option<Expr>) -> ScanExec {
        let pushed = pushed_program(&table, filter.as_ref());
        ScanExec { table, index: None, range, reverse, filter, eager: false, columns: None, source: None, pushed }
    }

    /// A scan of `table` through its secondary index at position `index`.
    pub(super) fn index(
        table: Arc<TableSchema>,
        index: usize,
        range: ScanRange,
        reverse: bool,
        filter: Option<Expr>,
    ) -> Result<ScanExec> {
        if index >= table.indexes.len() {
            return Err(Error::internal(format!("index scan of index {index} of table \"{}\"", table.name)));
        }
        Ok(ScanExec {
            table,
            index: Some(index),
            range,
            reverse,
            filter,
            eager: false,
            columns: None,
            source: None,
            pushed: None,
        })
    }

    /// Marks the scan as read to the end by its consumer (larger pages).
    pub(super) fn eager(mut self, eager: bool) -> ScanExec {
        self.eager = eager;
        self
    }

    /// Decodes only these columns; the others read as NULL.
    pub(super) fn columns(mut self, columns: Demand) -> ScanExec {
        self.columns = columns;
        self
    }

    /// The types of the key columns.
    fn key_types(&self) -> Result<Vec<DataType>> {
        let positions = match self.index {
            Some(i) => &self.table.indexes[i].columns,
            None => &self.table.primary_key,
        };
        positions
            .iter()
            .map(|&p| {
                self.table.columns.get(p).map(|c| c.ty.clone()).ok_or_else(|| {
                    Error::internal(format!("key column {p} out of range in table \"{}\"", self.table.name))
                })
            })
            .collect()
    }

    /// Resolves the range and fetches or starts reading.
    fn open(&self, cx: &mut ExecContext<'_>) -> Result<Source> {
        let key_types = self.key_types()?;
        let resolved = resolve(&self.range, &key_types, self.reverse, self.index.is_none(), cx)?;
        Ok(match resolved {
            Resolved::Nothing => Source::Rows(Vec::new().into_iter()),
            Resolved::Keys(keys) => {
                let rows = get_rows_columns(&mut *cx.txn, &self.table, &keys, self.columns.as_deref())?;
                Source::Rows(rows.into_iter().flatten().collect::<Vec<_>>().into_iter())
            }
            Resolved::Ranges(ranges) => Source::Scans { pending: ranges.into_iter(), current: None },
        })
    }

    /// The next row of the source, before filtering.
    fn next_unfiltered(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let Some(source) = self.source.as_mut() else { return Ok(None) };
        match source {
            Source::Rows(rows) => Ok(rows.next()),
            Source::Scans { pending, current } => loop {
                if let Some(scan) = current {
                    if let Some(row) = scan.next(&mut *cx.txn)? {
                        return Ok(Some(row));
                    }
                    *current = None;
                }
                let Some(range) = pending.next() else { return Ok(None) };
                let scan = match self.index {
                    Some(i) => RowScan::index(self.table.clone(), i, range, self.reverse),
                    None => RowScan::primary(self.table.clone(), range, self.reverse),
                };
                let scan = scan.columns(self.columns.clone()).pushed(self.pushed.clone());
                *current = Some(if self.eager { scan.eager() } else { scan });
            },
        }
    }
}

/// The program of the pushable part of a scan's filter, if any.
fn pushed_program(table: &TableSchema, filter: Option<&Expr>) -> Option<Arc<alopex_core::ScanFilter>> {
    let part = crate::pushed_filter::pushable_part(filter?, table)?;
    crate::pushed_filter::encode(table, &part).ok().map(Arc::new)
}

impl Executor for ScanExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if self.source.is_none() {
            self.source = Some(self.open(cx)?);
        }
        while let Some(row) = self.next_unfiltered(cx)? {
            cx.check_interrupt()?;
            if row.len() != self.table.columns.len() {
                return Err(Error::internal(format!(
                    "table \"{}\" returned a {}-column row for {} columns",
                    self.table.name,
                    row.len(),
                    self.table.columns.len()
                )));
            }
            match &self.filter {
                Some(filter) if !eval_pred(filter, &row, cx)? => continue,
                _ => return Ok(Some(row)),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;
    use std::sync::Arc;

    use crate::catalog::{IndexKind, IndexSchema, TableSchema};
    use crate::exec::test_support::{int, ints, lit, rows, run_dml, run_in, table, with_cx};
    use crate::expr::Expr;
    use crate::plan::{Node, ScanRange};
    use crate::types::{DataType, Value};

    /// t(a, b) with primary key a and an index on b, holding
    /// (1,30) (2,10) (3,20) (4,NULL) (5,10).
    fn filled(cx: &mut crate::exec::ExecContext<'_>) -> Arc<TableSchema> {
        let mut t = (*table("t", 2, &[0])).clone();
        t.indexes.push(IndexSchema {
            id: 2,
            name: "t_b_idx".into(),
            columns: vec![1],
            unique: false,
            kind: IndexKind::BTree,
        });
        let t = Arc::new(t);
        let input = ints(
            2,
            &[&[Some(1), Some(30)], &[Some(2), Some(10)], &[Some(3), Some(20)], &[Some(4), None], &[Some(5), Some(10)]],
        );
        let insert = Node::Insert {
            table: t.clone(),
            input: Box::new(input),
            on_conflict: None,
            checks: vec![],
            returning: None,
        };
        run_dml(&insert, cx).unwrap();
        t
    }

    fn scan(t: &Arc<TableSchema>, index: Option<usize>, range: ScanRange, reverse: bool, filter: Option<Expr>) -> Node {
        let (table, alias) = (t.clone(), t.name.clone());
        match index {
            Some(index) => Node::IndexScan { table, alias, index, range, reverse, filter },
            None => Node::Scan { table, alias, range, reverse, filter },
        }
    }

    fn points(p: &[i64]) -> ScanRange {
        ScanRange::Points(p.iter().map(|v| vec![lit(int(*v))]).collect())
    }

    #[test]
    fn primary_key_points_ranges_and_reverse() {
        with_cx(&[Value::Int(3)], |cx| {
            let t = filled(cx);
            let got = run_in(&scan(&t, None, points(&[5, 1, 9, 1]), false, None), cx).unwrap();
            assert_eq!(got, rows(&[&[Some(1), Some(30)], &[Some(5), Some(10)]]));
            let got = run_in(&scan(&t, None, points(&[5, 1]), true, None), cx).unwrap();
            assert_eq!(got, rows(&[&[Some(5), Some(10)], &[Some(1), Some(30)]]));
            let range = ScanRange::Range {
                lower: Bound::Excluded(vec![lit(int(1))]),
                upper: Bound::Included(vec![Expr::Param(0, DataType::Int8)]),
            };
            let got = run_in(&scan(&t, None, range.clone(), false, None), cx).unwrap();
            assert_eq!(got, rows(&[&[Some(2), Some(10)], &[Some(3), Some(20)]]));
            let got = run_in(&scan(&t, None, range, true, None), cx).unwrap();
            assert_eq!(got, rows(&[&[Some(3), Some(20)], &[Some(2), Some(10)]]));
        });
    }

    /// The optimizer drops `col = $1` and `col >= $1` from the filter once
    /// they are the scan's range; that relies on a NULL bound reading no
    /// rows, even through an index that holds a NULL key.
    #[test]
    fn null_parameter_bounds_read_nothing() {
        with_cx(&[Value::Null, Value::Int(3)], |cx| {
            let t = filled(cx);
            let p = |i| Expr::Param(i, DataType::Int8);
            for index in [None, Some(0)] {
                let got = run_in(&scan(&t, index, ScanRange::Points(vec![vec![p(0)]]), false, None), cx).unwrap();
                assert!(got.is_empty(), "{index:?}: {got:?}");
                for (lower, upper) in [
                    (Bound::Included(vec![p(0)]), Bound::Excluded(vec![p(1)])),
                    (Bound::Included(vec![p(1)]), Bound::Excluded(vec![p(0)])),
                    (Bound::Excluded(vec![p(0)]), Bound::Unbounded),
                    (Bound::Unbounded, Bound::Included(vec![p(0)])),
                ] {
                    let range = ScanRange::Range { lower, upper };
                    let got = run_in(&scan(&t, index, range.clone(), false, None), cx).unwrap();
                    assert!(got.is_empty(), "{index:?} {range:?}: {got:?}");
                }
            }
        });
    }

    #[test]
    fn index_points_and_filter() {
        with_cx(&[], |cx| {
            let t = filled(cx);
            let got = run_in(&scan(&t, Some(0), points(&[10]), false, None), cx).unwrap();
            assert_eq!(got, rows(&[&[Some(2), Some(10)], &[Some(5), Some(10)]]));
            let got = run_in(&scan(&t, Some(0), ScanRange::Full, false, None), cx).unwrap();
            assert_eq!(got.len(), 5);
            // Constant filters (a filter over columns needs the evaluator).
            let got = run_in(&scan(&t, Some(0), points(&[10, 30]), false, Some(lit(Value::Bool(false)))), cx).unwrap();
            assert!(got.is_empty());
            let got = run_in(&scan(&t, None, ScanRange::Full, false, Some(lit(Value::Bool(true)))), cx).unwrap();
            assert_eq!(got.len(), 5);
        });
    }
}
