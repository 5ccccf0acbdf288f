//! GROUP BY and aggregates: hash aggregation.
//!
//! The first `next` drains the input. Each row's group-by values are the
//! key of a hash map to the group's accumulators (one per aggregate, from
//! [`accumulator`]); a `FILTER (WHERE …)` clause decides per aggregate
//! whether the row is fed to it, and the arguments are only evaluated for
//! rows that are. Keys use [`Value`]'s grouping equality, so NULLs form one
//! group, as SQL requires.
//!
//! Groups are returned in the order they first appeared in the input: the
//! groups live in a vector and the map only points into it, which makes
//! the output deterministic without sorting. Without GROUP BY the single
//! group exists from the start, so an empty input still yields one row
//! (`count(*)` = 0, `sum` = NULL); with GROUP BY an empty input yields no
//! rows.

use std::collections::HashMap;
use std::vec::IntoIter;

use super::{ExecContext, Executor, eval_expr, eval_pred};
use crate::error::{Error, Result};
use crate::expr::Accumulator;
use crate::expr::Expr;
use crate::expr::agg::ordered_accumulator;
use crate::plan::AggCall;
use crate::types::{Row, Value};

/// One group: its key values and an accumulator per aggregate.
struct Group {
    key: Vec<Value>,
    accumulators: Vec<Box<dyn Accumulator>>,
}

/// Groups and aggregates its input.
pub(super) struct AggregateExec {
    input: Option<Box<dyn Executor>>,
    group_by: Vec<Expr>,
    aggregates: Vec<AggCall>,
    output: IntoIter<Group>,
}

impl AggregateExec {
    /// `aggregates` over `input` grouped by `group_by`.
    pub(super) fn new(input: Box<dyn Executor>, group_by: Vec<Expr>, aggregates: Vec<AggCall>) -> AggregateExec {
        AggregateExec { input: Some(input), group_by, aggregates, output: Vec::new().into_iter() }
    }

    fn new_group(&self, key: Vec<Value>) -> Group {
        let accumulators =
            self.aggregates.iter().map(|a| ordered_accumulator(a.func, a.distinct, &a.ty, &a.order_by)).collect();
        Group { key, accumulators }
    }

    /// Reads the whole input into groups, in first-appearance order.
    ///
    /// Per row this allocates nothing once the group exists: the key is
    /// evaluated into a reused buffer and looked up as a slice (cloned into
    /// the map only for a new group), and arguments go to the accumulators
    /// as a slice of the row itself when they are a single column, else
    /// through a reused buffer.
    fn aggregate(&self, mut input: Box<dyn Executor>, cx: &mut ExecContext<'_>) -> Result<Vec<Group>> {
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<Vec<Value>, usize> = HashMap::new();
        if self.group_by.is_empty() {
            groups.push(self.new_group(Vec::new()));
        }
        let args: Vec<Args> = self.aggregates.iter().map(|a| Args::of(&a.args)).collect();
        let mut key: Vec<Value> = Vec::with_capacity(self.group_by.len());
        let mut buffer: Vec<Value> = Vec::new();
        while let Some(row) = input.next(cx)? {
            let position = if self.group_by.is_empty() {
                0
            } else {
                key.clear();
                for e in &self.group_by {
                    key.push(eval_expr(e, &row, cx)?);
                }
                match index.get(key.as_slice()) {
                    Some(p) => *p,
                    None => {
                        groups.push(self.new_group(key.clone()));
                        index.insert(key.clone(), groups.len() - 1);
                        groups.len() - 1
                    }
                }
            };
            let group = &mut groups[position];
            for ((call, args), acc) in self.aggregates.iter().zip(&args).zip(group.accumulators.iter_mut()) {
                if let Some(filter) = &call.filter
                    && !eval_pred(filter, &row, cx)?
                {
                    continue;
                }
                match args {
                    Args::None => acc.update(&[])?,
                    Args::Column(i) => acc.update(std::slice::from_ref(row.get(*i).ok_or_else(|| {
                        Error::internal(format!("column {i} out of range of a {}-column row", row.len()))
                    })?))?,
                    Args::Exprs => {
                        buffer.clear();
                        for e in &call.args {
                            buffer.push(eval_expr(e, &row, cx)?);
                        }
                        acc.update(&buffer)?;
                    }
                }
            }
        }
        Ok(groups)
    }
}

/// How an aggregate's arguments are passed to its accumulator.
enum Args {
    /// No arguments (`count(*)`).
    None,
    /// One column of the input row, passed in place.
    Column(usize),
    /// Anything else: evaluated into a buffer.
    Exprs,
}

impl Args {
    fn of(args: &[Expr]) -> Args {
        match args {
            [] => Args::None,
            [Expr::Column(i, _)] => Args::Column(*i),
            _ => Args::Exprs,
        }
    }
}

impl Executor for AggregateExec {
    fn next(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        if let Some(input) = self.input.take() {
            self.output = self.aggregate(input, cx)?.into_iter();
        }
        let Some(group) = self.output.next() else { return Ok(None) };
        let mut row = group.key;
        row.reserve(group.accumulators.len());
        for acc in &group.accumulators {
            row.push(acc.finish()?);
        }
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::test_support::{col, ints, rows, run};
    use crate::expr::{AggFunc, Expr};
    use crate::plan::{AggCall, Node};
    use crate::types::{DataType, Value};

    fn call(func: AggFunc, args: Vec<Expr>, distinct: bool, filter: Option<Expr>) -> AggCall {
        AggCall { func, args, distinct, filter, order_by: vec![], ty: DataType::Int8 }
    }

    fn input() -> Node {
        // (group, value, flag as 0/1)
        ints(
            3,
            &[
                &[Some(2), Some(10), Some(1)],
                &[None, Some(1), Some(0)],
                &[Some(1), Some(5), Some(1)],
                &[Some(2), None, Some(0)],
                &[Some(2), Some(10), Some(1)],
                &[None, Some(3), Some(1)],
            ],
        )
    }

    #[test]
    fn group_by_without_aggregates_needs_no_accumulator() {
        let node = Node::Aggregate { input: Box::new(input()), group_by: vec![col(0)], aggregates: vec![] };
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(2)], &[None], &[Some(1)]]));
        let empty =
            Node::Aggregate { input: Box::new(Node::Empty { width: 1 }), group_by: vec![col(0)], aggregates: vec![] };
        assert!(run(&empty).unwrap().is_empty());
    }

    #[test]
    fn groups_in_first_appearance_order() {
        let aggs = vec![
            call(AggFunc::CountStar, vec![], false, None),
            call(AggFunc::Count, vec![col(1)], false, None),
            call(AggFunc::Count, vec![col(1)], true, None),
            call(AggFunc::Max, vec![col(1)], false, None),
        ];
        let node = Node::Aggregate { input: Box::new(input()), group_by: vec![col(0)], aggregates: aggs };
        let want = rows(&[
            &[Some(2), Some(3), Some(2), Some(1), Some(10)],
            &[None, Some(2), Some(2), Some(2), Some(3)],
            &[Some(1), Some(1), Some(1), Some(1), Some(5)],
        ]);
        assert_eq!(run(&node).unwrap(), want);
    }

    #[test]
    fn filter_clause() {
        let flag = Expr::Binary {
            op: crate::expr::BinaryOp::Eq,
            left: Box::new(col(2)),
            right: Box::new(Expr::literal(Value::Int(1))),
            ty: DataType::Bool,
        };
        let aggs = vec![call(AggFunc::CountStar, vec![], false, Some(flag))];
        let node = Node::Aggregate { input: Box::new(input()), group_by: vec![], aggregates: aggs };
        assert_eq!(run(&node).unwrap(), rows(&[&[Some(4)]]));
    }

    #[test]
    fn no_group_by_on_empty_input_is_one_row() {
        let aggs = vec![call(AggFunc::CountStar, vec![], false, None), call(AggFunc::Sum, vec![col(0)], false, None)];
        let node = Node::Aggregate { input: Box::new(Node::Empty { width: 1 }), group_by: vec![], aggregates: aggs };
        assert_eq!(run(&node).unwrap(), vec![vec![Value::Int(0), Value::Null]]);
    }

    #[test]
    fn no_group_by_and_no_aggregates_is_one_empty_row() {
        let node = Node::Aggregate { input: Box::new(Node::Empty { width: 1 }), group_by: vec![], aggregates: vec![] };
        assert_eq!(run(&node).unwrap(), vec![Vec::<Value>::new()]);
    }
}
