//! Column demand: which columns of its output each operator's consumer
//! reads, so that scans decode only those.
//!
//! Plans pass full table rows between operators: a scan yields every
//! column, in schema order, and expressions above it address columns by
//! position. That keeps the plan simple, but decoding a column nobody reads
//! is pure waste: `SELECT g, count(*) FROM t GROUP BY g` over a table with a
//! text column spent a quarter of its time building strings it then
//! dropped. So while the executor tree is built, each operator works out
//! from what its consumer needs (its *demand*) which of its input columns
//! it needs in turn, down to the scans. A scan decodes the demanded columns
//! and leaves the others NULL; row width and positions do not change, so
//! nothing above has to know.
//!
//! The analysis is conservative: an operator whose semantics depend on
//! whole rows (DISTINCT, set operations, writes) or that evaluates a
//! subquery (which may read the evaluating row through outer references)
//! demands every input column. A missed column would be a wrong answer, a
//! spare one only a little work, so every doubt resolves to "all".

use std::sync::Arc;

use crate::expr::Expr;
use crate::plan::{AggCall, JoinKind, Node, SortKey};

/// The columns of a row that are read: `None` means all of them.
pub(super) type Demand = Option<Arc<[bool]>>;

/// A growing set of demanded column positions.
struct Needed(Vec<bool>);

impl Needed {
    fn none(width: usize) -> Needed {
        Needed(vec![false; width])
    }

    /// The columns `demand` marks, as a set over `width` columns.
    fn from_demand(demand: &Demand, width: usize) -> Needed {
        match demand {
            None => Needed(vec![true; width]),
            Some(d) => Needed((0..width).map(|i| d.get(i).copied().unwrap_or(true)).collect()),
        }
    }

    /// Adds the columns `expr` reads, shifted by `-offset` and kept only
    /// when they fall in `[0, width)`. False when `expr` holds a subquery:
    /// then every column is needed.
    fn add(&mut self, expr: &Expr, offset: usize) -> bool {
        if has_subquery(expr) {
            return false;
        }
        let width = self.0.len();
        expr.columns_used(&mut |c| {
            if let Some(i) = c.checked_sub(offset)
                && i < width
            {
                self.0[i] = true;
            }
        });
        true
    }

    fn add_all<'a>(&mut self, exprs: impl IntoIterator<Item = &'a Expr>, offset: usize) -> bool {
        exprs.into_iter().all(|e| self.add(e, offset))
    }

    fn into_demand(self) -> Demand {
        if self.0.iter().all(|&b| b) { None } else { Some(self.0.into()) }
    }
}

fn has_subquery(expr: &Expr) -> bool {
    let mut found = matches!(expr, Expr::Subquery(_));
    if !found {
        expr.for_each_child(&mut |c| found |= has_subquery(c));
    }
    found
}

/// The demand on each child of `node` (in the order the executor builds
/// them: input, or left then right), given the demand on `node`'s output.
pub(super) fn child_demands(node: &Node, demand: &Demand) -> Vec<Demand> {
    let all = |n: &Node| vec![None; n.children().len()];
    match node {
        Node::Project { input, exprs } => {
            let mut needed = Needed::none(input.width());
            let out = Needed::from_demand(demand, exprs.len());
            let read = exprs.iter().zip(&out.0).filter(|(_, used)| **used).map(|(e, _)| e);
            if needed.add_all(read, 0) { vec![needed.into_demand()] } else { all(node) }
        }
        Node::Filter { input, predicate } => {
            let mut needed = Needed::from_demand(demand, input.width());
            if needed.add(predicate, 0) { vec![needed.into_demand()] } else { all(node) }
        }
        Node::Sort { input, keys } | Node::TopN { input, keys, .. } => {
            let mut needed = Needed::from_demand(demand, input.width());
            if needed.add_all(keys.iter().map(|k: &SortKey| &k.expr), 0) {
                vec![needed.into_demand()]
            } else {
                all(node)
            }
        }
        Node::Limit { .. } => vec![demand.clone()],
        Node::Aggregate { input, group_by, aggregates } => {
            let mut needed = Needed::none(input.width());
            let args = aggregates.iter().flat_map(|a: &AggCall| a.args.iter().chain(a.filter.as_ref()));
            if needed.add_all(group_by.iter().chain(args), 0) { vec![needed.into_demand()] } else { all(node) }
        }
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            join_demands(demand, left, right, *kind, predicate.iter().collect(), (&[], &[]))
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            join_demands(demand, left, right, *kind, residual.iter().collect(), (left_keys, right_keys))
        }
        Node::LookupJoin { left, keys, residual, .. } => {
            let lw = left.width();
            let mut needed = Needed::from_demand(demand, lw);
            if needed.add_all(keys.iter().chain(residual), 0) { vec![needed.into_demand()] } else { all(node) }
        }
        // Whole rows matter (DISTINCT, set operations), or the node writes
        // or has no children.
        _ => all(node),
    }
}

/// Demands on the two sides of a join whose output is left ++ right (left
/// only for semi and anti joins), with `predicates` over left ++ right and
/// `keys` over each side.
fn join_demands(
    demand: &Demand,
    left: &Node,
    right: &Node,
    kind: JoinKind,
    predicates: Vec<&Expr>,
    keys: (&[Expr], &[Expr]),
) -> Vec<Demand> {
    let (lw, rw) = (left.width(), right.width());
    let out_width = match kind {
        JoinKind::Semi | JoinKind::Anti => lw,
        _ => lw + rw,
    };
    let out = Needed::from_demand(demand, out_width);
    let mut l = Needed(out.0[..lw].to_vec());
    let mut r = Needed(if out_width > lw { out.0[lw..].to_vec() } else { vec![false; rw] });
    let ok = l.add_all(predicates.iter().copied(), 0)
        && r.add_all(predicates.iter().copied(), lw)
        && l.add_all(keys.0, 0)
        && r.add_all(keys.1, 0);
    if ok { vec![l.into_demand(), r.into_demand()] } else { vec![None, None] }
}

/// The columns a scan with an optional pushed-down `filter` must decode to
/// serve `demand`.
pub(super) fn scan_columns(width: usize, demand: &Demand, filter: Option<&Expr>) -> Demand {
    let mut needed = Needed::from_demand(demand, width);
    match filter {
        Some(f) if !needed.add(f, 0) => None,
        _ => needed.into_demand(),
    }
}

/// The table-row columns a lookup join must decode: those of its output
/// demanded past the left row, and those its filter and residual read.
pub(super) fn lookup_columns(
    node_demand: &Demand,
    left_width: usize,
    table_width: usize,
    kind: JoinKind,
    filter: Option<&Expr>,
    residual: Option<&Expr>,
) -> Demand {
    let mut needed = match kind {
        JoinKind::Semi | JoinKind::Anti => Needed::none(table_width),
        _ => {
            let out = Needed::from_demand(node_demand, left_width + table_width);
            Needed(out.0[left_width..].to_vec())
        }
    };
    let ok = filter.is_none_or(|f| needed.add(f, 0)) && residual.is_none_or(|r| needed.add(r, left_width));
    if ok { needed.into_demand() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::test_support::{col, table};
    use crate::plan::ScanRange;
    use crate::types::DataType;

    fn scan(width: usize) -> Node {
        let t = table("t", width, &[0]);
        Node::Scan { table: t, alias: "t".into(), range: ScanRange::Full, reverse: false, filter: None }
    }

    fn marks(d: &Demand) -> Option<Vec<bool>> {
        d.as_ref().map(|d| d.to_vec())
    }

    #[test]
    fn projections_filters_and_aggregates_narrow_the_demand() {
        let input = scan(4);
        let project = Node::Project { input: Box::new(input.clone()), exprs: vec![col(2), col(0)] };
        // Only the first output column (input column 2) is read above.
        let d = child_demands(&project, &Some(vec![true, false].into()));
        assert_eq!(marks(&d[0]), Some(vec![false, false, true, false]));
        let filter = Node::Filter { input: Box::new(input.clone()), predicate: col(3) };
        let d = child_demands(&filter, &Some(vec![true, false, false, false].into()));
        assert_eq!(marks(&d[0]), Some(vec![true, false, false, true]));
        let agg = Node::Aggregate {
            input: Box::new(input.clone()),
            group_by: vec![col(1)],
            aggregates: vec![AggCall {
                func: crate::expr::AggFunc::Sum,
                args: vec![col(2)],
                distinct: false,
                filter: None,
                order_by: vec![],
                ty: DataType::Int8,
            }],
        };
        assert_eq!(marks(&child_demands(&agg, &None)[0]), Some(vec![false, true, true, false]));
        // Everything demanded collapses to None.
        let all = Node::Project { input: Box::new(input), exprs: (0..4).map(col).collect() };
        assert_eq!(marks(&child_demands(&all, &None)[0]), None);
    }

    #[test]
    fn joins_split_the_demand_and_add_their_keys() {
        let join = Node::HashJoin {
            left: Box::new(scan(2)),
            right: Box::new(scan(3)),
            kind: JoinKind::Inner,
            left_keys: vec![col(1)],
            right_keys: vec![col(0)],
            residual: None,
        };
        // Output column 4 is the right side's column 2.
        let d = child_demands(&join, &Some(vec![false, false, false, false, true].into()));
        assert_eq!(marks(&d[0]), Some(vec![false, true]));
        assert_eq!(marks(&d[1]), Some(vec![true, false, true]));
        assert_eq!(marks(&scan_columns(3, &d[1], Some(&col(1)))), None, "the filter adds the last column");
    }
}
