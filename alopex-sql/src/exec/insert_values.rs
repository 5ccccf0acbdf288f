//! `INSERT … VALUES` straight from the cached plan.
//!
//! A prepared single-row INSERT is the most common statement of a bulk
//! load, and building its operator tree the general way ([`super::build`])
//! copies the plan into the operators: the `VALUES` rows (a vector of
//! expression vectors), the CHECK list, the ON CONFLICT clause, plus the
//! column-demand vectors computed on the way down. For a statement that
//! writes one row that copying was about a tenth of the statement's time
//! (`perf` on the `vs_sqlite` insert workload).
//!
//! So a statement whose plan is `Insert` over `Values` runs through this
//! operator, which holds a shared handle on the cached plan (the session's
//! `Arc` of the bound statement) and reads the rows from it in place.
//! It does exactly what `Values` under [`super::dml::DmlRun`] does, in the
//! same order: every row is evaluated first (expressions may read the
//! table through a subquery, which must not see the statement's own
//! writes), then each is written by the ordinary [`super::insert`] writer,
//! and RETURNING rows are computed as they are written and streamed after.

use std::ops::Deref;
use std::vec::IntoIter;

use super::{ExecContext, Executor, eval_row, insert};
use crate::error::{Error, Result};
use crate::plan::{Node, Plan};
use crate::types::Row;

/// True when `plan` is an INSERT whose input is a `VALUES` list, the shape
/// [`InsertValuesExec`] runs.
pub(super) fn applies(plan: &Plan) -> bool {
    matches!(&plan.root, Node::Insert { input, .. } if matches!(**input, Node::Values { .. }))
}

/// Runs `INSERT … VALUES` from a shared plan `P` (see the module docs).
pub(super) struct InsertValuesExec<P> {
    /// The plan, until the first `next` runs it.
    plan: Option<P>,
    output: IntoIter<Row>,
    affected: u64,
}

impl<P: Deref<Target = Plan>> InsertValuesExec<P> {
    /// The operator for `plan`, which [`applies`] must accept.
    pub(super) fn new(plan: P) -> InsertValuesExec<P> {
        InsertValuesExec { plan: Some(plan), output: Vec::new().into_iter(), affected: 0 }
    }

    fn run(&mut self, plan: &Plan, cx: &mut ExecContext<'_>) -> Result<Vec<Row>> {
        let Node::Insert { table, input, on_conflict, checks, returning } = &plan.root else {
            return Err(Error::internal("INSERT … VALUES operator over another plan"));
        };
        let Node::Values { rows, width } = &**input else {
            return Err(Error::internal("INSERT … VALUES operator over another input"));
        };
        let mut values = Vec::with_capacity(rows.len());
        for exprs in rows {
            if exprs.len() != *width {
                return Err(Error::internal(format!("VALUES row of {} values in a {width}-wide list", exprs.len())));
            }
            values.push(eval_row(exprs, &[], cx)?);
        }
        let mut writer = insert::writer(table.clone(), on_conflict.clone(), checks.clone());
        let mut output = Vec::new();
        for row in values {
            let Some(written) = super::dml::DmlWrite::write(&mut writer, row, cx)? else { continue };
            self.affected += 1;
            if let Some(returning) = returning {
                output.push(eval_row(returning, &written, cx)?);
            }
        }
        Ok(output)
    }
}

impl<P: Deref<Target = Plan> + Send> Executor for InsertValuesExec<P> {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(plan) = self.plan.take() {
            self.output = self.run(&plan, cx)?.into_iter();
        }
        Ok(self.output.next())
    }

    fn affected_rows(&self) -> u64 {
        self.affected
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::exec::test_support::{col, ints, rows, run_in, scan_all, table, with_cx};

    fn plan(root: Node) -> Arc<Plan> {
        Arc::new(Plan { root, columns: vec![], param_types: vec![] })
    }

    /// The shared-plan operator writes what the general tree writes, and
    /// fails the same way on a duplicate key.
    #[test]
    fn inserts_like_the_general_operator() {
        let t = table("t", 2, &[0]);
        let insert = |input: Node, returning| Node::Insert {
            table: t.clone(),
            input: Box::new(input),
            on_conflict: None,
            checks: vec![],
            returning,
        };
        with_cx(&[], |cx| {
            let p = plan(insert(ints(2, &[&[Some(2), None], &[Some(1), Some(10)]]), Some(vec![col(1)])));
            assert!(applies(&p));
            let mut exec = InsertValuesExec::new(p);
            assert_eq!(exec.next(cx).unwrap(), Some(vec![crate::types::Value::Null]));
            assert_eq!(exec.next(cx).unwrap(), Some(vec![crate::types::Value::Int(10)]));
            assert_eq!(exec.next(cx).unwrap(), None);
            assert_eq!(exec.affected_rows(), 2);
            assert_eq!(run_in(&scan_all(&t), cx).unwrap(), rows(&[&[Some(1), Some(10)], &[Some(2), None]]));
            let mut dup = InsertValuesExec::new(plan(insert(ints(2, &[&[Some(1), Some(3)]]), None)));
            assert_eq!(dup.next(cx).unwrap_err().state.code(), "23505");
        });
        assert!(!applies(&plan(scan_all(&t))));
    }
}
