//! The select list: computes each output row from one input row.
//!
//! Most select lists over a scan only pick columns (`SELECT id, v FROM t`).
//! Such a projection needs no evaluation and no new row: when the picked
//! columns are distinct and in ascending input order, the output row is the
//! input row with the picked values swapped to the front and the rest cut
//! off, which moves values instead of cloning them (a text value clone is an
//! atomic reference count update) and reuses the row's allocation. Any other
//! select list is evaluated expression by expression.

use super::{ExecContext, Executor, eval_row};
use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::types::Row;

/// Computes expressions over its input.
pub(super) struct ProjectExec {
    input: Box<dyn Executor>,
    exprs: Vec<Expr>,
    /// For a pure selection of distinct columns in ascending order, their
    /// input positions.
    picks: Option<Vec<usize>>,
}

impl ProjectExec {
    /// One output value per expression of `exprs`, over the rows of `input`.
    pub(super) fn new(input: Box<dyn Executor>, exprs: Vec<Expr>) -> ProjectExec {
        let picks = picked_columns(&exprs);
        ProjectExec { input, exprs, picks }
    }
}

/// The input positions of `exprs` when they are all column references in
/// strictly ascending order.
fn picked_columns(exprs: &[Expr]) -> Option<Vec<usize>> {
    let mut picks = Vec::with_capacity(exprs.len());
    for e in exprs {
        let Expr::Column(i, _) = e else { return None };
        if picks.last().is_some_and(|last| last >= i) {
            return None;
        }
        picks.push(*i);
    }
    Some(picks)
}

/// `row` reduced to the columns at `picks` (strictly ascending positions):
/// position `j` of the output takes the value at `picks[j] >= j`, which
/// earlier swaps have not moved, since they only touched positions below
/// `picks[j]`.
fn select_in_place(mut row: Row, picks: &[usize]) -> Result<Row> {
    if let Some(&last) = picks.last()
        && last >= row.len()
    {
        return Err(Error::internal(format!("column {last} out of range of a {}-column row", row.len())));
    }
    for (j, &i) in picks.iter().enumerate() {
        if i != j {
            row.swap(j, i);
        }
    }
    row.truncate(picks.len());
    Ok(row)
}

impl Executor for ProjectExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        match self.input.next(cx)? {
            Some(row) => match &self.picks {
                Some(picks) => select_in_place(row, picks).map(Some),
                None => eval_row(&self.exprs, &row, cx).map(Some),
            },
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, int, ints, lit, rows, run};
    use crate::plan::Node;

    #[test]
    fn reorders_duplicates_and_adds_constants() {
        let input = ints(2, &[&[Some(1), Some(2)], &[Some(3), None]]);
        let node = Node::Project { input: Box::new(input), exprs: vec![col(1), col(0), col(1), lit(int(9))] };
        let want = rows(&[&[Some(2), Some(1), Some(2), Some(9)], &[None, Some(3), None, Some(9)]]);
        assert_eq!(run(&node).unwrap(), want);
    }

    #[test]
    fn ascending_column_picks_move_values() {
        let input = ints(4, &[&[Some(1), Some(2), Some(3), Some(4)], &[None, Some(6), None, Some(8)]]);
        let node = Node::Project { input: Box::new(input.clone()), exprs: vec![col(0), col(2), col(3)] };
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(1), Some(3), Some(4)], &[None, None, Some(8)]]));
        let node = Node::Project { input: Box::new(input.clone()), exprs: vec![col(1), col(3)] };
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(2), Some(4)], &[Some(6), Some(8)]]));
        let node = Node::Project { input: Box::new(input.clone()), exprs: vec![] };
        assert_eq!(run(&node).unwrap(), vec![vec![], vec![]]);
        let node = Node::Project { input: Box::new(input), exprs: vec![col(0), col(4)] };
        assert_eq!(run(&node).unwrap_err().state.code(), "XX000");
    }

    #[test]
    fn bad_column_is_an_internal_error() {
        let node = Node::Project { input: Box::new(ints(1, &[&[Some(1)]])), exprs: vec![col(1)] };
        assert_eq!(run(&node).unwrap_err().state.code(), "XX000");
    }
}
