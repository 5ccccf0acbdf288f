//! Generic traversal of plan trees: a node's inputs and a node's own
//! expressions.
//!
//! Every rule needs to "do X to every node" or "do Y to every expression a
//! node holds", and [`Node`] has many variants with expressions in different
//! places (scan ranges, sort keys, aggregate arguments and filters, ON
//! CONFLICT assignments, CHECK predicates, RETURNING lists). Spelling the
//! match out once here means a rule cannot forget a place: the rules call
//! [`map_inputs`] to recurse and [`map_exprs`] / [`for_each_expr`] to touch
//! expressions, and only match on the variants they actually rewrite.
//!
//! Expressions are visited *as held by the node*, i.e. over that node's input
//! row; the walkers never descend into subquery plans (a rule that wants to
//! does so explicitly, see `super::optimize`).

use std::ops::Bound;

use crate::error::Result;
use crate::expr::Expr;
use crate::plan::{Node, OnConflictAction, ScanRange};

/// Rebuilds `node` with every direct input replaced by `f(input)`.
pub(crate) fn map_inputs(node: Node, f: &mut dyn FnMut(Node) -> Result<Node>) -> Result<Node> {
    let mut bx = |n: Box<Node>| -> Result<Box<Node>> { Ok(Box::new(f(*n)?)) };
    Ok(match node {
        n @ (Node::Values { .. }
        | Node::Empty { .. }
        | Node::Scan { .. }
        | Node::IndexScan { .. }
        | Node::TableFunction { .. }
        | Node::VectorSearch { .. }) => n,
        Node::ProjectSet { input, calls } => Node::ProjectSet { input: bx(input)?, calls },
        Node::Filter { input, predicate } => Node::Filter { input: bx(input)?, predicate },
        Node::Project { input, exprs } => Node::Project { input: bx(input)?, exprs },
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            Node::NestedLoopJoin { left: bx(left)?, right: bx(right)?, kind, predicate }
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            Node::HashJoin { left: bx(left)?, right: bx(right)?, kind, left_keys, right_keys, residual }
        }
        Node::LookupJoin { left, table, alias, index, keys, kind, filter, residual } => {
            Node::LookupJoin { left: bx(left)?, table, alias, index, keys, kind, filter, residual }
        }
        Node::Aggregate { input, group_by, aggregates } => Node::Aggregate { input: bx(input)?, group_by, aggregates },
        Node::Sort { input, keys } => Node::Sort { input: bx(input)?, keys },
        Node::TopN { input, keys, limit, offset } => Node::TopN { input: bx(input)?, keys, limit, offset },
        Node::Limit { input, limit, offset } => Node::Limit { input: bx(input)?, limit, offset },
        Node::Distinct { input } => Node::Distinct { input: bx(input)? },
        Node::SetOp { op, all, left, right } => Node::SetOp { op, all, left: bx(left)?, right: bx(right)? },
        Node::Insert { table, input, on_conflict, checks, returning } => {
            Node::Insert { table, input: bx(input)?, on_conflict, checks, returning }
        }
        Node::Update { table, input, assignments, checks, returning } => {
            Node::Update { table, input: bx(input)?, assignments, checks, returning }
        }
        Node::Delete { table, input, returning } => Node::Delete { table, input: bx(input)?, returning },
    })
}

/// Applies `f` bottom-up to every node of the tree: inputs first, then the
/// node itself with its rewritten inputs.
pub(crate) fn transform_up(node: Node, f: &mut dyn FnMut(Node) -> Result<Node>) -> Result<Node> {
    let node = map_inputs(node, &mut |n| transform_up(n, f))?;
    f(node)
}

fn map_range(range: ScanRange, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<ScanRange> {
    let mut list = |v: Vec<Expr>| v.into_iter().map(&mut *f).collect::<Result<Vec<_>>>();
    Ok(match range {
        ScanRange::Full => ScanRange::Full,
        ScanRange::Points(points) => ScanRange::Points(points.into_iter().map(&mut list).collect::<Result<_>>()?),
        ScanRange::Range { lower, upper } => {
            let mut bound = |b: Bound<Vec<Expr>>| -> Result<Bound<Vec<Expr>>> {
                Ok(match b {
                    Bound::Included(v) => Bound::Included(list(v)?),
                    Bound::Excluded(v) => Bound::Excluded(list(v)?),
                    Bound::Unbounded => Bound::Unbounded,
                })
            };
            let lower = bound(lower)?;
            let upper = bound(upper)?;
            ScanRange::Range { lower, upper }
        }
    })
}

/// Rebuilds `node` with every expression it holds (not its inputs'
/// expressions) replaced by `f(expr)`.
pub(crate) fn map_exprs(node: Node, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Node> {
    fn opt(e: Option<Expr>, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Option<Expr>> {
        e.map(f).transpose()
    }
    fn list(v: Vec<Expr>, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Vec<Expr>> {
        v.into_iter().map(f).collect()
    }
    fn named(v: Vec<(String, Expr)>, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Vec<(String, Expr)>> {
        v.into_iter().map(|(n, e)| Ok((n, f(e)?))).collect()
    }
    fn assigned(v: Vec<(usize, Expr)>, f: &mut dyn FnMut(Expr) -> Result<Expr>) -> Result<Vec<(usize, Expr)>> {
        v.into_iter().map(|(n, e)| Ok((n, f(e)?))).collect()
    }
    fn keys(
        v: Vec<crate::plan::SortKey>,
        f: &mut dyn FnMut(Expr) -> Result<Expr>,
    ) -> Result<Vec<crate::plan::SortKey>> {
        v.into_iter().map(|k| Ok(crate::plan::SortKey { expr: f(k.expr)?, ..k })).collect()
    }
    Ok(match node {
        Node::Values { rows, width } => {
            Node::Values { rows: rows.into_iter().map(|r| list(r, f)).collect::<Result<_>>()?, width }
        }
        n @ Node::Empty { .. } => n,
        Node::Scan { table, alias, range, reverse, filter } => {
            Node::Scan { table, alias, range: map_range(range, f)?, reverse, filter: opt(filter, f)? }
        }
        Node::IndexScan { table, alias, index, range, reverse, filter } => {
            Node::IndexScan { table, alias, index, range: map_range(range, f)?, reverse, filter: opt(filter, f)? }
        }
        Node::VectorSearch { table, alias, index, query, limit, offset, filter } => Node::VectorSearch {
            table,
            alias,
            index,
            query: f(query)?,
            limit: f(limit)?,
            offset: opt(offset, f)?,
            filter: opt(filter, f)?,
        },
        Node::TableFunction { func, args, ty, ordinality } => {
            Node::TableFunction { func, args: list(args, f)?, ty, ordinality }
        }
        Node::ProjectSet { input, calls } => Node::ProjectSet {
            input,
            calls: calls
                .into_iter()
                .map(|c| Ok(crate::plan::SetCall { args: list(c.args, f)?, ..c }))
                .collect::<Result<_>>()?,
        },
        Node::Filter { input, predicate } => Node::Filter { input, predicate: f(predicate)? },
        Node::Project { input, exprs } => Node::Project { input, exprs: list(exprs, f)? },
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            Node::NestedLoopJoin { left, right, kind, predicate: opt(predicate, f)? }
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => Node::HashJoin {
            left,
            right,
            kind,
            left_keys: list(left_keys, f)?,
            right_keys: list(right_keys, f)?,
            residual: opt(residual, f)?,
        },
        Node::LookupJoin { left, table, alias, index, keys, kind, filter, residual } => Node::LookupJoin {
            left,
            table,
            alias,
            index,
            keys: list(keys, f)?,
            kind,
            filter: opt(filter, f)?,
            residual: opt(residual, f)?,
        },
        Node::Aggregate { input, group_by, aggregates } => Node::Aggregate {
            input,
            group_by: list(group_by, f)?,
            aggregates: aggregates
                .into_iter()
                .map(|a| Ok(crate::plan::AggCall { args: list(a.args, f)?, filter: opt(a.filter, f)?, ..a }))
                .collect::<Result<_>>()?,
        },
        Node::Sort { input, keys: k } => Node::Sort { input, keys: keys(k, f)? },
        Node::TopN { input, keys: k, limit, offset } => {
            Node::TopN { input, keys: keys(k, f)?, limit: f(limit)?, offset: opt(offset, f)? }
        }
        Node::Limit { input, limit, offset } => Node::Limit { input, limit: opt(limit, f)?, offset: opt(offset, f)? },
        n @ (Node::Distinct { .. } | Node::SetOp { .. }) => n,
        Node::Insert { table, input, on_conflict, checks, returning } => {
            let on_conflict = match on_conflict {
                Some(mut oc) => {
                    oc.action = match oc.action {
                        OnConflictAction::Nothing => OnConflictAction::Nothing,
                        OnConflictAction::Update { assignments, predicate } => OnConflictAction::Update {
                            assignments: assigned(assignments, f)?,
                            predicate: opt(predicate, f)?,
                        },
                    };
                    Some(oc)
                }
                None => None,
            };
            Node::Insert {
                table,
                input,
                on_conflict,
                checks: named(checks, f)?,
                returning: returning.map(|r| list(r, f)).transpose()?,
            }
        }
        Node::Update { table, input, assignments, checks, returning } => Node::Update {
            table,
            input,
            assignments: assigned(assignments, f)?,
            checks: named(checks, f)?,
            returning: returning.map(|r| list(r, f)).transpose()?,
        },
        Node::Delete { table, input, returning } => {
            Node::Delete { table, input, returning: returning.map(|r| list(r, f)).transpose()? }
        }
    })
}

/// Calls `f` on every expression `node` holds (not its inputs').
pub(crate) fn for_each_expr(node: &Node, f: &mut dyn FnMut(&Expr)) {
    fn range(r: &ScanRange, f: &mut dyn FnMut(&Expr)) {
        match r {
            ScanRange::Full => {}
            ScanRange::Points(points) => points.iter().flatten().for_each(f),
            ScanRange::Range { lower, upper } => {
                for b in [lower, upper] {
                    if let Bound::Included(v) | Bound::Excluded(v) = b {
                        v.iter().for_each(&mut *f)
                    }
                }
            }
        }
    }
    match node {
        Node::Values { rows, .. } => rows.iter().flatten().for_each(f),
        Node::Empty { .. } | Node::Distinct { .. } | Node::SetOp { .. } => {}
        Node::Scan { range: r, filter, .. } | Node::IndexScan { range: r, filter, .. } => {
            range(r, f);
            filter.iter().for_each(f)
        }
        Node::VectorSearch { query, limit, offset, filter, .. } => {
            [query, limit].into_iter().chain(offset).chain(filter).for_each(f)
        }
        Node::TableFunction { args, .. } => args.iter().for_each(f),
        Node::ProjectSet { calls, .. } => calls.iter().flat_map(|c| &c.args).for_each(f),
        Node::Filter { predicate, .. } => f(predicate),
        Node::Project { exprs, .. } => exprs.iter().for_each(f),
        Node::NestedLoopJoin { predicate, .. } => predicate.iter().for_each(f),
        Node::HashJoin { left_keys, right_keys, residual, .. } => {
            left_keys.iter().chain(right_keys).chain(residual).for_each(f)
        }
        Node::LookupJoin { keys, filter, residual, .. } => keys.iter().chain(filter).chain(residual).for_each(f),
        Node::Aggregate { group_by, aggregates, .. } => {
            group_by.iter().for_each(&mut *f);
            for a in aggregates {
                a.args.iter().chain(&a.filter).for_each(&mut *f)
            }
        }
        Node::Sort { keys, .. } => keys.iter().for_each(|k| f(&k.expr)),
        Node::TopN { keys, limit, offset, .. } => {
            keys.iter().for_each(|k| f(&k.expr));
            f(limit);
            offset.iter().for_each(f)
        }
        Node::Limit { limit, offset, .. } => limit.iter().chain(offset).for_each(f),
        Node::Insert { on_conflict, checks, returning, .. } => {
            if let Some(oc) = on_conflict
                && let OnConflictAction::Update { assignments, predicate } = &oc.action
            {
                assignments.iter().map(|(_, e)| e).chain(predicate).for_each(&mut *f)
            }
            checks.iter().map(|(_, e)| e).for_each(&mut *f);
            returning.iter().flatten().for_each(f)
        }
        Node::Update { assignments, checks, returning, .. } => {
            assignments.iter().map(|(_, e)| e).for_each(&mut *f);
            checks.iter().map(|(_, e)| e).for_each(&mut *f);
            returning.iter().flatten().for_each(f)
        }
        Node::Delete { returning, .. } => returning.iter().flatten().for_each(f),
    }
}

/// Calls `f` on every node of the tree, parents before children.
pub(crate) fn for_each_node(node: &Node, f: &mut dyn FnMut(&Node)) {
    f(node);
    for c in node.children() {
        for_each_node(c, f)
    }
}
