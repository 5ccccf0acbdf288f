//! Join ordering.
//!
//! `FROM t1, t2, …, t8 WHERE a1 = b2 AND a2 = b3 …` binds to a left-deep
//! chain of cross joins in FROM order, and pushdown attaches each equality
//! to the lowest join that has both its columns — which, when the FROM
//! order does not follow the join graph, is near the top: everything below
//! is a cross product (10^8 rows for eight tables of ten). This rule
//! rebuilds every maximal tree of inner joins in a better order.
//!
//! **Flatten.** A tree of inner joins (nested-loop or hash, and filters
//! directly above them) becomes a list of *relations* (the maximal subtrees
//! that are not inner joins, themselves reordered recursively) and a list
//! of conjuncts over the concatenation of the relations' rows.
//!
//! **Order greedily.** Start with the relation of smallest estimated size
//! ([`estimate`]: the table's row count from [`super::Statistics`], 1000
//! when unknown, ×0.1 per `column = constant` conjunct of its filter and
//! ×0.3 per other conjunct). Then repeatedly add the relation that is
//! connected to the joined set by an equi-join conjunct and gives the
//! smallest estimated result; only when none is connected by an equality
//! take one connected by any conjunct, and only when none is connected at
//! all a cross product. Ties go to the earlier relation in FROM order, so
//! the result is deterministic. Finally the first two are swapped if that
//! puts the smaller one on the right, which is the side a hash join builds.
//!
//! **Rebuild.** A left-deep tree of nested-loop joins in the new order;
//! each conjunct goes to the lowest join where all its columns are
//! available (conjuncts over one relation into that relation's filter), its
//! columns remapped to the new layout. A projection on top permutes the
//! columns back into the original layout, so nothing above notices. A
//! conjunct holding a correlated subquery cannot be remapped (see
//! `layout`); it is evaluated in a filter above that projection, in the
//! layout it was written for. Correlated conjuncts on joins not at the left
//! edge of the tree (whose layout is not a prefix of the whole) make that
//! join a relation of its own instead.
//!
//! `hash_join` runs after this rule and turns the equi-joins into hash
//! joins.

use std::collections::BTreeSet;

use crate::error::Result;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node, ScanRange};

use super::Ctx;
use super::layout::{
    and, and_all, columns, conjuncts, has_correlated_subquery, output_types, remap_columns, shift_columns,
};
use super::walk::map_inputs;

/// The row count assumed for a table without statistics.
const DEFAULT_ROWS: f64 = 1000.0;

/// The join-ordering rule.
pub(super) fn join_order(node: Node, cx: &Ctx<'_>) -> Result<Node> {
    if is_inner_join(&node, 0) {
        let mut rels = Vec::new();
        let mut conjs = Vec::new();
        let mut top = Vec::new();
        flatten(node, 0, &mut rels, &mut conjs, &mut top, cx)?;
        return Ok(rebuild(rels, conjs, top, cx));
    }
    map_inputs(node, &mut |n| join_order(n, cx))
}

/// True when `node` is an inner join (or a filter over one) that can be
/// flattened at row offset `offset` of the enclosing join tree.
fn is_inner_join(node: &Node, offset: usize) -> bool {
    let movable = |p: &Option<Expr>| offset == 0 || !p.as_ref().is_some_and(has_correlated_subquery);
    match node {
        Node::NestedLoopJoin { kind: JoinKind::Inner, predicate, .. } => movable(predicate),
        Node::HashJoin { kind: JoinKind::Inner, residual, left_keys, right_keys, .. } => {
            movable(residual) && !left_keys.iter().chain(right_keys).any(has_correlated_subquery)
        }
        Node::Filter { input, predicate } => {
            (offset == 0 || !has_correlated_subquery(predicate)) && is_inner_join(input, offset)
        }
        _ => false,
    }
}

/// One input of the flattened join.
struct Relation {
    node: Node,
    /// First column in the original layout.
    offset: usize,
    width: usize,
    estimate: f64,
}

/// One conjunct of the flattened join, over the original layout.
struct Conjunct {
    expr: Expr,
    /// The relations whose columns it reads.
    rels: BTreeSet<usize>,
    /// `l = r` with `l` and `r` reading disjoint, non-empty relation sets.
    equi: bool,
    placed: bool,
}

fn flatten(
    node: Node,
    offset: usize,
    rels: &mut Vec<Relation>,
    conjs: &mut Vec<Expr>,
    top: &mut Vec<Expr>,
    cx: &Ctx<'_>,
) -> Result<()> {
    if !is_inner_join(&node, offset) {
        let node = join_order(node, cx)?;
        let width = node.width();
        let estimate = estimate(&node, cx);
        rels.push(Relation { node, offset, width, estimate });
        return Ok(());
    }
    // Correlated conjuncts are only reachable at offset 0, where the layout
    // is a prefix of the whole join's, which the final projection restores.
    let add = |p: Expr, conjs: &mut Vec<Expr>, top: &mut Vec<Expr>| {
        if has_correlated_subquery(&p) { top.push(p) } else { conjs.push(shift_columns(p, offset as isize)) }
    };
    match node {
        Node::NestedLoopJoin { left, right, predicate, .. } => {
            let lw = left.width();
            flatten(*left, offset, rels, conjs, top, cx)?;
            flatten(*right, offset + lw, rels, conjs, top, cx)?;
            predicate.into_iter().flat_map(conjuncts).for_each(|p| add(p, conjs, top));
        }
        Node::HashJoin { left, right, left_keys, right_keys, residual, .. } => {
            let lw = left.width();
            flatten(*left, offset, rels, conjs, top, cx)?;
            flatten(*right, offset + lw, rels, conjs, top, cx)?;
            for (l, r) in left_keys.into_iter().zip(right_keys) {
                let r = shift_columns(r, lw as isize);
                add(
                    Expr::Binary { op: BinaryOp::Eq, left: Box::new(l), right: Box::new(r), ty: crate::DataType::Bool },
                    conjs,
                    top,
                );
            }
            residual.into_iter().flat_map(conjuncts).for_each(|p| add(p, conjs, top));
        }
        Node::Filter { input, predicate } => {
            flatten(*input, offset, rels, conjs, top, cx)?;
            conjuncts(predicate).into_iter().for_each(|p| add(p, conjs, top));
        }
        _ => return Err(crate::error::Error::internal("join_order: flattening a node that is not an inner join")),
    }
    Ok(())
}

/// The relation holding original column `col`.
fn relation_of(rels: &[Relation], col: usize) -> Option<usize> {
    rels.iter().position(|r| col >= r.offset && col < r.offset + r.width)
}

fn rebuild(mut rels: Vec<Relation>, exprs: Vec<Expr>, top: Vec<Expr>, cx: &Ctx<'_>) -> Node {
    let mut conjs: Vec<Conjunct> = exprs
        .into_iter()
        .map(|expr| {
            let rels_of =
                |e: &Expr| columns(e).into_iter().filter_map(|c| relation_of(&rels, c)).collect::<BTreeSet<_>>();
            let set = rels_of(&expr);
            let equi = match &expr {
                Expr::Binary { op: BinaryOp::Eq, left, right, .. } => {
                    let (l, r) = (rels_of(left), rels_of(right));
                    !l.is_empty() && !r.is_empty() && l.is_disjoint(&r)
                }
                _ => false,
            };
            Conjunct { expr, rels: set, equi, placed: false }
        })
        .collect();

    // Conjuncts over a single relation become part of it.
    for (i, rel) in rels.iter_mut().enumerate() {
        let own: Vec<Expr> = conjs
            .iter_mut()
            .filter(|c| !c.placed && c.rels.len() == 1 && c.rels.contains(&i))
            .map(|c| {
                c.placed = true;
                shift_columns(c.expr.clone(), -(rel.offset as isize))
            })
            .collect();
        if !own.is_empty() {
            let node = std::mem::replace(&mut rel.node, Node::Empty { width: 0 });
            rel.node = add_filter(node, own);
            rel.estimate = estimate(&rel.node, cx);
        }
    }

    let order = greedy_order(&rels, &conjs);
    let types: Vec<_> = rels.iter().map(|r| output_types(&r.node)).collect();
    let total: usize = rels.iter().map(|r| r.width).sum();

    // Old column → new column.
    let mut new_pos = vec![0usize; total];
    let mut next = 0;
    for &r in &order {
        for k in 0..rels[r].width {
            new_pos[rels[r].offset + k] = next + k;
        }
        next += rels[r].width;
    }
    let remap = |e: Expr| remap_columns(e, &|c| new_pos.get(c).copied().unwrap_or(c));

    let mut slots: Vec<Option<Node>> =
        rels.iter_mut().map(|r| Some(std::mem::replace(&mut r.node, Node::Empty { width: 0 }))).collect();
    let mut available = BTreeSet::new();
    let mut tree: Option<Node> = None;
    for &r in &order {
        available.insert(r);
        let node = slots[r].take().unwrap_or(Node::Empty { width: 0 });
        let preds: Vec<Expr> = conjs
            .iter_mut()
            .filter(|c| !c.placed && c.rels.is_subset(&available))
            .map(|c| {
                c.placed = true;
                remap(c.expr.clone())
            })
            .collect();
        tree = Some(match tree {
            // Column-free conjuncts land on the first relation.
            None => add_filter(node, preds),
            Some(left) => Node::NestedLoopJoin {
                left: Box::new(left),
                right: Box::new(node),
                kind: JoinKind::Inner,
                predicate: and_all(preds),
            },
        });
    }
    let mut tree = tree.unwrap_or(Node::Empty { width: 0 });

    let identity = order.iter().enumerate().all(|(i, &r)| i == r);
    if !identity {
        let mut exprs = Vec::with_capacity(total);
        for (r, rel) in rels.iter().enumerate() {
            for (k, ty) in types[r].iter().enumerate() {
                exprs.push(Expr::Column(new_pos[rel.offset + k], ty.clone()));
            }
        }
        tree = Node::Project { input: Box::new(tree), exprs };
    }
    match and_all(top) {
        Some(predicate) => Node::Filter { input: Box::new(tree), predicate },
        None => tree,
    }
}

/// `node` with `preds` (over its output) applied: merged into a scan's
/// filter, or as a filter above.
fn add_filter(node: Node, preds: Vec<Expr>) -> Node {
    let Some(pred) = and_all(preds) else { return node };
    match node {
        Node::Scan { table, alias, range, reverse, filter } => {
            Node::Scan { table, alias, range, reverse, filter: Some(filter.map_or(pred.clone(), |f| and(f, pred))) }
        }
        Node::IndexScan { table, alias, index, range, reverse, filter } => Node::IndexScan {
            table,
            alias,
            index,
            range,
            reverse,
            filter: Some(filter.map_or(pred.clone(), |f| and(f, pred))),
        },
        n => Node::Filter { input: Box::new(n), predicate: pred },
    }
}

/// The greedy join order: indices into `rels`.
fn greedy_order(rels: &[Relation], conjs: &[Conjunct]) -> Vec<usize> {
    let n = rels.len();
    let mut order = Vec::with_capacity(n);
    let mut joined = BTreeSet::new();
    let Some(start) = (0..n).min_by(|&a, &b| rels[a].estimate.total_cmp(&rels[b].estimate)) else { return order };
    order.push(start);
    joined.insert(start);
    let mut size = rels[start].estimate;
    let mut applied: Vec<bool> = conjs.iter().map(|c| c.placed || c.rels.len() <= 1).collect();

    while order.len() < n {
        // (connection class, estimated result size, relation)
        let mut best: Option<(u8, f64, usize)> = None;
        for r in (0..n).filter(|r| !joined.contains(r)) {
            let mut with = joined.clone();
            with.insert(r);
            let mut class = 2u8;
            let mut result = size * rels[r].estimate;
            let mut first_equi = true;
            for (c, done) in conjs.iter().zip(&applied) {
                if *done || !c.rels.contains(&r) || !c.rels.is_subset(&with) {
                    continue;
                }
                if c.equi {
                    class = 0;
                    result *= if first_equi { 1.0 / size.max(rels[r].estimate).max(1.0) } else { 0.5 };
                    first_equi = false;
                } else {
                    class = class.min(1);
                    result *= 0.3;
                }
            }
            if best.is_none_or(|(bc, bs, _)| (class, result).partial_cmp(&(bc, bs)) == Some(std::cmp::Ordering::Less)) {
                best = Some((class, result, r));
            }
        }
        let Some((_, result, r)) = best else { break };
        order.push(r);
        joined.insert(r);
        size = result;
        for (c, done) in conjs.iter().zip(applied.iter_mut()) {
            if c.rels.is_subset(&joined) {
                *done = true;
            }
        }
    }
    // The right input of the first join is a hash join's build side: make
    // it the smaller of the two.
    if order.len() >= 2 && rels[order[1]].estimate > rels[order[0]].estimate {
        order.swap(0, 1);
    }
    order
}

/// The estimated number of rows a node returns.
pub(super) fn estimate(node: &Node, cx: &Ctx<'_>) -> f64 {
    match node {
        Node::Scan { table, range, filter, .. } | Node::IndexScan { table, range, filter, .. } => {
            let base = cx.stats.row_count(table.id).map_or(DEFAULT_ROWS, |n| n as f64);
            let ranged = match range {
                ScanRange::Full => base,
                ScanRange::Points(p) => (p.len() as f64).min(base),
                ScanRange::Range { .. } => base * 0.3,
            };
            ranged * filter.as_ref().map_or(1.0, selectivity)
        }
        Node::VectorSearch { limit, offset, .. } => match (limit, offset) {
            (Expr::Literal(crate::Value::Int(n), _), None) => *n as f64,
            _ => DEFAULT_ROWS.min(100.0),
        },
        Node::Filter { input, predicate } => estimate(input, cx) * selectivity(predicate),
        Node::Values { rows, .. } => rows.len() as f64,
        Node::TableFunction { .. } => DEFAULT_ROWS,
        Node::ProjectSet { input, .. } => estimate(input, cx) * 10.0,
        Node::Empty { .. } => 0.0,
        Node::Project { input, .. } | Node::Sort { input, .. } | Node::Distinct { input } => estimate(input, cx),
        Node::Limit { input, limit, .. } => match limit {
            Some(Expr::Literal(crate::Value::Int(n), _)) => estimate(input, cx).min(*n as f64),
            _ => estimate(input, cx),
        },
        Node::TopN { input, limit, .. } => match limit {
            Expr::Literal(crate::Value::Int(n), _) => estimate(input, cx).min(*n as f64),
            _ => estimate(input, cx),
        },
        Node::Aggregate { input, group_by, .. } => {
            if group_by.is_empty() {
                1.0
            } else {
                (estimate(input, cx) * 0.1).max(1.0)
            }
        }
        Node::NestedLoopJoin { left, right, kind, .. } | Node::HashJoin { left, right, kind, .. } => {
            let (l, r) = (estimate(left, cx), estimate(right, cx));
            match kind {
                JoinKind::Semi | JoinKind::Anti => l * 0.5,
                JoinKind::Inner => l * r * 0.1,
                _ => l.max(r),
            }
        }
        Node::LookupJoin { left, table, kind, .. } => {
            let (l, r) = (estimate(left, cx), cx.stats.row_count(table.id).map_or(DEFAULT_ROWS, |n| n as f64));
            match kind {
                JoinKind::Semi | JoinKind::Anti => l * 0.5,
                JoinKind::Inner => l * r * 0.1,
                _ => l.max(r),
            }
        }
        Node::SetOp { left, right, .. } => estimate(left, cx) + estimate(right, cx),
        Node::Insert { .. } | Node::Update { .. } | Node::Delete { .. } => DEFAULT_ROWS,
    }
}

/// The fraction of rows a predicate keeps: 0.1 per `expr = constant`
/// conjunct, 0.3 per other conjunct.
pub(super) fn selectivity(pred: &Expr) -> f64 {
    conjuncts(pred.clone())
        .iter()
        .map(|c| match c {
            Expr::Binary { op: BinaryOp::Eq, left, right, .. }
                if columns(left).is_empty() != columns(right).is_empty() =>
            {
                0.1
            }
            _ => 0.3,
        })
        .product()
}

#[cfg(test)]
#[path = "join_order_tests.rs"]
mod tests;
