//! LIMIT and OFFSET.
//!
//! The counts are expressions without column references (constants,
//! parameters, outer references, subqueries), evaluated once when the
//! operator opens. A NULL LIMIT means no limit and a NULL OFFSET means
//! none, as in PostgreSQL; negative counts are errors (2201W, 2201X). The
//! operator stops pulling its input as soon as the limit is reached, so
//! `LIMIT 1` over a scan reads one page.

use super::{ExecContext, Executor, eval_expr};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::expr::cast::cast;
use crate::types::{DataType, Row, Value};

/// Which count is being evaluated, for its error.
#[derive(Clone, Copy)]
pub(super) enum CountKind {
    /// LIMIT.
    Limit,
    /// OFFSET.
    Offset,
}

/// Evaluates a LIMIT or OFFSET count: None for NULL.
pub(super) fn eval_count(expr: &Expr, kind: CountKind, cx: &mut ExecContext<'_>) -> Result<Option<u64>> {
    let value = match eval_expr(expr, &[], cx)? {
        Value::Null => return Ok(None),
        v @ Value::Int(_) => v,
        v => cast(&v, &DataType::Int8)?,
    };
    let Value::Int(n) = value else {
        return Err(Error::internal(format!("LIMIT/OFFSET count evaluated to {value:?}")));
    };
    u64::try_from(n).map(Some).map_err(|_| match kind {
        CountKind::Limit => Error::new(SqlState("2201W"), "LIMIT must not be negative"),
        CountKind::Offset => Error::new(SqlState("2201X"), "OFFSET must not be negative"),
    })
}

/// Skips and limits its input.
pub(super) struct LimitExec {
    input: Box<dyn Executor>,
    limit: Option<Expr>,
    offset: Option<Expr>,
    /// (rows still to skip, rows still to return), once open.
    counts: Option<(u64, Option<u64>)>,
}

impl LimitExec {
    /// At most `limit` rows of `input` after skipping `offset`.
    pub(super) fn new(input: Box<dyn Executor>, limit: Option<Expr>, offset: Option<Expr>) -> LimitExec {
        LimitExec { input, limit, offset, counts: None }
    }
}

impl Executor for LimitExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let (skip, remaining) = match &mut self.counts {
            Some(counts) => counts,
            None => {
                let limit = match &self.limit {
                    Some(e) => eval_count(e, CountKind::Limit, cx)?,
                    None => None,
                };
                let offset = match &self.offset {
                    Some(e) => eval_count(e, CountKind::Offset, cx)?.unwrap_or(0),
                    None => 0,
                };
                self.counts.insert((offset, limit))
            }
        };
        if *remaining == Some(0) {
            return Ok(None);
        }
        while *skip > 0 {
            if self.input.next(cx)?.is_none() {
                *remaining = Some(0);
                return Ok(None);
            }
            *skip -= 1;
        }
        let row = self.input.next(cx)?;
        match (&row, remaining.as_mut()) {
            (Some(_), Some(n)) => *n -= 1,
            (None, _) => *remaining = Some(0),
            (Some(_), None) => {}
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::test_support::{int, ints, lit, rows, run, with_cx};
    use crate::plan::Node;

    fn five() -> Node {
        ints(1, &[&[Some(1)], &[Some(2)], &[Some(3)], &[Some(4)], &[Some(5)]])
    }

    fn limit(limit: Option<Value>, offset: Option<Value>) -> Result<Vec<Row>> {
        run(&Node::Limit { input: Box::new(five()), limit: limit.map(lit), offset: offset.map(lit) })
    }

    #[test]
    fn limit_and_offset() {
        assert_eq!(limit(Some(int(2)), None).unwrap(), rows(&[&[Some(1)], &[Some(2)]]));
        assert_eq!(limit(Some(int(2)), Some(int(2))).unwrap(), rows(&[&[Some(3)], &[Some(4)]]));
        assert_eq!(limit(None, Some(int(3))).unwrap(), rows(&[&[Some(4)], &[Some(5)]]));
        assert_eq!(limit(Some(int(10)), Some(int(4))).unwrap(), rows(&[&[Some(5)]]));
        assert!(limit(Some(int(0)), None).unwrap().is_empty());
        assert!(limit(Some(int(2)), Some(int(9))).unwrap().is_empty());
    }

    #[test]
    fn null_means_all_and_none() {
        assert_eq!(limit(Some(Value::Null), Some(Value::Null)).unwrap().len(), 5);
    }

    #[test]
    fn negative_counts_are_errors() {
        let e = limit(Some(int(-1)), None).unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("2201W", "LIMIT must not be negative"));
        let e = limit(None, Some(int(-1))).unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("2201X", "OFFSET must not be negative"));
    }

    #[test]
    fn parameters_as_counts() {
        let node = Node::Limit {
            input: Box::new(five()),
            limit: Some(Expr::Param(0, DataType::Int8)),
            offset: Some(Expr::Param(1, DataType::Int8)),
        };
        let got = with_cx(&[int(1), int(1)], |cx| crate::exec::test_support::run_in(&node, cx)).unwrap();
        assert_eq!(got, rows(&[&[Some(2)]]));
    }

    /// Counts the rows pulled from it.
    struct Counting(u64);

    impl Executor for Counting {
        fn next(&mut self, _cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
            self.0 += 1;
            Ok(Some(vec![int(self.0 as i64)]))
        }
    }

    #[test]
    fn stops_pulling_at_the_limit() {
        with_cx(&[], |cx| {
            let mut exec = LimitExec::new(Box::new(Counting(0)), Some(lit(int(2))), Some(lit(int(1))));
            assert_eq!(exec.next(cx).unwrap(), Some(vec![int(2)]));
            assert_eq!(exec.next(cx).unwrap(), Some(vec![int(3)]));
            assert_eq!(exec.next(cx).unwrap(), None);
            assert_eq!(exec.next(cx).unwrap(), None);
        });
    }
}
