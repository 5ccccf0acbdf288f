//! Set-returning functions as operators: [`TableFunctionExec`] for a call
//! in FROM and [`ProjectSetExec`] for calls in a select list.
//!
//! Both pull values from the lazy iterators of `crate::expr::srf`, so a
//! `LIMIT` above stops the series early. A call in FROM evaluates its
//! arguments once, when it is first pulled (they hold no column of a
//! sibling FROM item; outer references of a correlated subquery are read
//! from the context, and a correlated subquery's tree is rebuilt per outer
//! row). A select-list call evaluates its arguments per input row, and the
//! calls of one row run in lockstep, as PostgreSQL 10's `ProjectSet` does:
//! the row repeats until the longest call is exhausted, shorter calls give
//! NULL, and a row whose calls all yield nothing is dropped.

use super::{ExecContext, Executor, eval_row};
use crate::error::Result;
use crate::expr::Expr;
use crate::expr::srf::{self, SeriesIter, SetFunc};
use crate::plan::SetCall;
use crate::types::{DataType, Row, Value};

/// A set-returning function in FROM.
pub(super) struct TableFunctionExec {
    func: SetFunc,
    args: Vec<Expr>,
    ty: DataType,
    ordinality: bool,
    series: Option<SeriesIter>,
    n: i64,
}

impl TableFunctionExec {
    /// The rows of `func(args)`, with their ordinality when asked for.
    pub(super) fn new(func: SetFunc, args: Vec<Expr>, ty: DataType, ordinality: bool) -> TableFunctionExec {
        TableFunctionExec { func, args, ty, ordinality, series: None, n: 0 }
    }
}

impl Executor for TableFunctionExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if self.series.is_none() {
            let args = eval_row(&self.args, &[], cx)?;
            self.series = Some(srf::start(self.func, &args, &self.ty)?);
        }
        let Some(series) = self.series.as_mut() else { return Ok(None) };
        cx.check_interrupt()?;
        match series.next().transpose()? {
            None => Ok(None),
            Some(v) => {
                self.n += 1;
                Ok(Some(if self.ordinality { vec![v, Value::Int(self.n)] } else { vec![v] }))
            }
        }
    }
}

/// Set-returning calls in a select list.
pub(super) struct ProjectSetExec {
    input: Box<dyn Executor>,
    calls: Vec<SetCall>,
    /// The current input row and its calls' iterators (None = exhausted).
    current: Option<(Row, Vec<Option<SeriesIter>>)>,
}

impl ProjectSetExec {
    /// The input rows extended by the values of `calls`.
    pub(super) fn new(input: Box<dyn Executor>, calls: Vec<SetCall>) -> ProjectSetExec {
        ProjectSetExec { input, calls, current: None }
    }
}

impl Executor for ProjectSetExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        loop {
            if let Some((row, series)) = self.current.as_mut() {
                let mut values = Vec::with_capacity(series.len());
                let mut any = false;
                for s in series.iter_mut() {
                    let v = match s.as_mut() {
                        Some(it) => it.next().transpose()?,
                        None => None,
                    };
                    match v {
                        Some(v) => {
                            any = true;
                            values.push(v);
                        }
                        None => {
                            *s = None;
                            values.push(Value::Null);
                        }
                    }
                }
                if any {
                    let mut out = row.clone();
                    out.extend(values);
                    return Ok(Some(out));
                }
                self.current = None;
            }
            let Some(row) = self.input.next(cx)? else { return Ok(None) };
            cx.check_interrupt()?;
            let mut series = Vec::with_capacity(self.calls.len());
            for c in &self.calls {
                let args = eval_row(&c.args, &row, cx)?;
                series.push(Some(srf::start(c.func, &args, &c.ty)?));
            }
            self.current = Some((row, series));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{int, ints, lit, rows, run};
    use crate::expr::srf::SetFunc;
    use crate::plan::{Node, SetCall};
    use crate::types::DataType;

    #[test]
    fn series_in_from_with_ordinality() {
        let node = Node::TableFunction {
            func: SetFunc::GenerateSeries,
            args: vec![lit(int(1)), lit(int(5)), lit(int(2))],
            ty: DataType::Int4,
            ordinality: true,
        };
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(1), Some(1)], &[Some(3), Some(2)], &[Some(5), Some(3)]]));
    }

    #[test]
    fn select_list_calls_run_in_lockstep() {
        let input = ints(1, &[&[Some(2)], &[Some(0)]]);
        let call = |stop: i64| SetCall {
            func: SetFunc::GenerateSeries,
            args: vec![lit(int(1)), lit(int(stop))],
            ty: DataType::Int4,
        };
        let node = Node::ProjectSet { input: Box::new(input), calls: vec![call(1), call(2)] };
        let want = rows(&[
            &[Some(2), Some(1), Some(1)],
            &[Some(2), None, Some(2)],
            &[Some(0), Some(1), Some(1)],
            &[Some(0), None, Some(2)],
        ]);
        assert_eq!(run(&node).unwrap(), want);
    }
}
