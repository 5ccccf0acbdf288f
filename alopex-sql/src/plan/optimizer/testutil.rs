//! Builders for hand-made schemas, expressions and plan trees in the
//! optimizer's unit tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{ColumnSchema, IndexKind, IndexSchema, ROW_ID_COLUMN, TableSchema};
use crate::expr::{BinaryOp, Expr, Subquery, SubqueryKind};
use crate::plan::{JoinKind, Node, ScanRange};
use crate::types::{DataType, Value};

use super::Statistics;

/// Statistics from a map; tables not in it are unknown.
#[derive(Default)]
pub struct MapStats(pub BTreeMap<u64, u64>);

impl Statistics for MapStats {
    fn row_count(&self, table_id: u64) -> Option<u64> {
        self.0.get(&table_id).copied()
    }
}

/// A table with these columns; `pk` empty means a hidden row id.
pub fn table(
    id: u64,
    name: &str,
    cols: &[(&str, DataType)],
    pk: &[usize],
    indexes: &[(&[usize], bool)],
) -> Arc<TableSchema> {
    let mut columns: Vec<ColumnSchema> = cols
        .iter()
        .enumerate()
        .map(|(i, (n, ty))| ColumnSchema {
            id: i as u32 + 1,
            name: n.to_string(),
            ty: ty.clone(),
            nullable: !pk.contains(&i),
            default: None,
            missing: Value::Null,
            hidden: false,
        })
        .collect();
    let primary_key = if pk.is_empty() {
        columns.push(ColumnSchema {
            id: columns.len() as u32 + 1,
            name: ROW_ID_COLUMN.into(),
            ty: DataType::Int8,
            nullable: false,
            default: None,
            missing: Value::Null,
            hidden: true,
        });
        vec![columns.len() - 1]
    } else {
        pk.to_vec()
    };
    let indexes = indexes
        .iter()
        .enumerate()
        .map(|(i, (c, unique))| IndexSchema {
            id: i as u32 + 2,
            name: format!("{name}_idx{i}"),
            columns: c.to_vec(),
            unique: *unique,
            kind: IndexKind::BTree,
        })
        .collect();
    Arc::new(TableSchema {
        id,
        name: name.into(),
        next_column_id: columns.len() as u32 + 1,
        columns,
        primary_key,
        indexes,
        checks: vec![],
        next_index_id: 10,
    })
}

/// Three INT columns `a` (pk), `b`, `c`.
pub fn abc(id: u64, name: &str) -> Arc<TableSchema> {
    table(id, name, &[("a", DataType::Int4), ("b", DataType::Int4), ("c", DataType::Int4)], &[0], &[])
}

pub fn scan(t: &Arc<TableSchema>) -> Node {
    Node::Scan { table: t.clone(), alias: t.name.clone(), range: ScanRange::Full, reverse: false, filter: None }
}

pub fn scan_f(t: &Arc<TableSchema>, f: Expr) -> Node {
    Node::Scan { table: t.clone(), alias: t.name.clone(), range: ScanRange::Full, reverse: false, filter: Some(f) }
}

pub fn filter(input: Node, predicate: Expr) -> Node {
    Node::Filter { input: Box::new(input), predicate }
}

pub fn project(input: Node, exprs: Vec<Expr>) -> Node {
    Node::Project { input: Box::new(input), exprs }
}

pub fn join(left: Node, right: Node, kind: JoinKind, predicate: Option<Expr>) -> Node {
    Node::NestedLoopJoin { left: Box::new(left), right: Box::new(right), kind, predicate }
}

pub fn cross(left: Node, right: Node) -> Node {
    join(left, right, JoinKind::Inner, None)
}

pub fn values_one() -> Node {
    Node::Values { rows: vec![vec![]], width: 0 }
}

pub fn col(i: usize) -> Expr {
    Expr::Column(i, DataType::Int4)
}

pub fn colt(i: usize, ty: DataType) -> Expr {
    Expr::Column(i, ty)
}

pub fn int(v: i64) -> Expr {
    Expr::Literal(Value::Int(v), DataType::Int4)
}

pub fn text(s: &str) -> Expr {
    Expr::Literal(Value::text(s), DataType::Text)
}

pub fn boolean(b: bool) -> Expr {
    Expr::Literal(Value::Bool(b), DataType::Bool)
}

pub fn null_bool() -> Expr {
    Expr::Literal(Value::Null, DataType::Bool)
}

pub fn param(i: usize) -> Expr {
    Expr::Param(i, DataType::Int4)
}

pub fn outer(depth: usize, index: usize) -> Expr {
    Expr::Outer { depth, index, ty: DataType::Int4 }
}

fn bin(op: BinaryOp, l: Expr, r: Expr, ty: DataType) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty }
}

pub fn eq(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Eq, l, r, DataType::Bool)
}

pub fn lt(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Lt, l, r, DataType::Bool)
}

pub fn le(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::LtEq, l, r, DataType::Bool)
}

pub fn gt(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Gt, l, r, DataType::Bool)
}

pub fn ge(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::GtEq, l, r, DataType::Bool)
}

pub fn or(l: Expr, r: Expr) -> Expr {
    bin(BinaryOp::Or, l, r, DataType::Bool)
}

pub fn add(l: Expr, r: Expr) -> Expr {
    let ty = l.ty();
    bin(BinaryOp::Add, l, r, ty)
}

pub fn in_list(e: Expr, list: Vec<Expr>) -> Expr {
    Expr::InList { expr: Box::new(e), list, negated: false }
}

pub fn and(l: Expr, r: Expr) -> Expr {
    super::layout::and(l, r)
}

pub fn exists(plan: Node, correlated: bool) -> Expr {
    Expr::Subquery(Arc::new(Subquery {
        id: 1,
        plan,
        correlated,
        kind: SubqueryKind::Exists { negated: false },
        ty: DataType::Bool,
    }))
}

/// Literal rows as a `Values` node of INT columns.
pub fn values(rows: &[&[i64]]) -> Node {
    let width = rows.first().map_or(0, |r| r.len());
    Node::Values { rows: rows.iter().map(|r| r.iter().map(|v| int(*v)).collect()).collect(), width }
}

/// A tiny reference interpreter for the node and expression kinds the
/// rewrite tests use (literal rows only, no tables): lets a test check that
/// a rewritten plan returns the same rows as the original.
pub fn run_plan(node: &Node) -> Vec<Vec<Value>> {
    match node {
        Node::Values { rows, .. } => rows.iter().map(|r| r.iter().map(|e| eval_test(e, &[])).collect()).collect(),
        Node::Empty { .. } => vec![],
        Node::Filter { input, predicate } => {
            run_plan(input).into_iter().filter(|r| matches!(eval_test(predicate, r), Value::Bool(true))).collect()
        }
        Node::Project { input, exprs } => {
            run_plan(input).into_iter().map(|r| exprs.iter().map(|e| eval_test(e, &r)).collect()).collect()
        }
        Node::NestedLoopJoin { left, right, kind, predicate } => {
            let (l, r) = (run_plan(left), run_plan(right));
            let (lw, rw) = (left.width(), right.width());
            join_rows(l, r, lw, rw, *kind, |row| {
                predicate.as_ref().is_none_or(|p| matches!(eval_test(p, row), Value::Bool(true)))
            })
        }
        Node::HashJoin { left, right, kind, left_keys, right_keys, residual } => {
            let (l, r) = (run_plan(left), run_plan(right));
            let (lw, rw) = (left.width(), right.width());
            join_rows(l, r, lw, rw, *kind, |row| {
                let keys_match = left_keys.iter().zip(right_keys).all(|(lk, rk)| {
                    let a = eval_test(lk, &row[..lw]);
                    let b = eval_test(rk, &row[lw..]);
                    !a.is_null() && !b.is_null() && a == b
                });
                keys_match && residual.as_ref().is_none_or(|p| matches!(eval_test(p, row), Value::Bool(true)))
            })
        }
        Node::Sort { input, keys } => sort_rows(run_plan(input), keys),
        Node::TopN { input, keys, limit, offset } => {
            limit_rows(sort_rows(run_plan(input), keys), Some(limit), offset.as_ref())
        }
        Node::Limit { input, limit, offset } => limit_rows(run_plan(input), limit.as_ref(), offset.as_ref()),
        Node::Distinct { input } => {
            let mut out: Vec<Vec<Value>> = Vec::new();
            for r in run_plan(input) {
                if !out.contains(&r) {
                    out.push(r)
                }
            }
            out
        }
        Node::Aggregate { input, group_by, aggregates } => {
            assert!(aggregates.iter().all(|a| a.func == crate::expr::AggFunc::CountStar), "run_plan: count(*) only");
            let mut groups: Vec<(Vec<Value>, i64)> = Vec::new();
            if group_by.is_empty() {
                groups.push((vec![], 0));
            }
            for r in run_plan(input) {
                let key: Vec<Value> = group_by.iter().map(|e| eval_test(e, &r)).collect();
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, n)) => *n += 1,
                    None => groups.push((key, 1)),
                }
            }
            groups
                .into_iter()
                .map(|(mut k, n)| {
                    k.extend(aggregates.iter().map(|_| Value::Int(n)));
                    k
                })
                .collect()
        }
        other => panic!("run_plan: unsupported node {other:?}"),
    }
}

fn sort_rows(mut rows: Vec<Vec<Value>>, keys: &[crate::plan::SortKey]) -> Vec<Vec<Value>> {
    use std::cmp::Ordering;
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|k| {
                let (x, y) = (eval_test(&k.expr, a), eval_test(&k.expr, b));
                let null_first = if k.nulls_first { Ordering::Less } else { Ordering::Greater };
                match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => null_first,
                    (false, true) => null_first.reverse(),
                    (false, false) if k.desc => y.total_cmp(&x),
                    (false, false) => x.total_cmp(&y),
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    rows
}

fn limit_rows(rows: Vec<Vec<Value>>, limit: Option<&Expr>, offset: Option<&Expr>) -> Vec<Vec<Value>> {
    let count = |e: Option<&Expr>| match e.map(|e| eval_test(e, &[])) {
        Some(Value::Int(n)) => Some(n as usize),
        _ => None,
    };
    rows.into_iter().skip(count(offset).unwrap_or(0)).take(count(limit).unwrap_or(usize::MAX)).collect()
}

fn join_rows(
    l: Vec<Vec<Value>>,
    r: Vec<Vec<Value>>,
    lw: usize,
    rw: usize,
    kind: JoinKind,
    matches: impl Fn(&[Value]) -> bool,
) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut right_matched = vec![false; r.len()];
    for lr in &l {
        let mut any = false;
        for (ri, rr) in r.iter().enumerate() {
            let row: Vec<Value> = lr.iter().chain(rr).cloned().collect();
            if matches(&row) {
                any = true;
                right_matched[ri] = true;
                if !matches!(kind, JoinKind::Semi | JoinKind::Anti) {
                    out.push(row);
                }
            }
        }
        match kind {
            JoinKind::Left | JoinKind::Full if !any => {
                out.push(lr.iter().cloned().chain(std::iter::repeat_n(Value::Null, rw)).collect())
            }
            JoinKind::Semi if any => out.push(lr.clone()),
            JoinKind::Anti if !any => out.push(lr.clone()),
            _ => {}
        }
    }
    if matches!(kind, JoinKind::Right | JoinKind::Full) {
        for (rr, matched) in r.iter().zip(right_matched) {
            if !matched {
                out.push(std::iter::repeat_n(Value::Null, lw).chain(rr.iter().cloned()).collect());
            }
        }
    }
    out
}

/// Evaluates the few expression kinds the tests use, with SQL NULL rules.
pub fn eval_test(e: &Expr, row: &[Value]) -> Value {
    let truth = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    };
    let of = |b: Option<bool>| b.map_or(Value::Null, Value::Bool);
    match e {
        Expr::Literal(v, _) => v.clone(),
        Expr::Column(i, _) => row[*i].clone(),
        Expr::Binary { op, left, right, .. } => {
            let (a, b) = (eval_test(left, row), eval_test(right, row));
            match op {
                BinaryOp::And => of(match (truth(&a), truth(&b)) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }),
                BinaryOp::Or => of(match (truth(&a), truth(&b)) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }),
                BinaryOp::Add => match (a, b) {
                    (Value::Int(x), Value::Int(y)) => Value::Int(x + y),
                    _ => Value::Null,
                },
                op => match crate::expr::ops::compare(&a, &b) {
                    None => Value::Null,
                    Some(o) => Value::Bool(match op {
                        BinaryOp::Eq => o.is_eq(),
                        BinaryOp::NotEq => o.is_ne(),
                        BinaryOp::Lt => o.is_lt(),
                        BinaryOp::LtEq => o.is_le(),
                        BinaryOp::Gt => o.is_gt(),
                        BinaryOp::GtEq => o.is_ge(),
                        op => panic!("eval_test: unsupported operator {op:?}"),
                    }),
                },
            }
        }
        Expr::IsNull { expr, negated } => Value::Bool(eval_test(expr, row).is_null() != *negated),
        Expr::InList { expr, list, negated } => {
            let v = eval_test(expr, row);
            if v.is_null() {
                return Value::Null;
            }
            let mut saw_null = false;
            for item in list {
                let x = eval_test(item, row);
                if x.is_null() {
                    saw_null = true;
                } else if x == v {
                    return Value::Bool(!negated);
                }
            }
            if saw_null { Value::Null } else { Value::Bool(*negated) }
        }
        other => panic!("eval_test: unsupported expression {other:?}"),
    }
}

/// The rows of a plan as a sorted multiset, for order-insensitive equality.
pub fn sorted_rows(node: &Node) -> Vec<Vec<Value>> {
    let mut rows = run_plan(node);
    rows.sort_by(|a, b| {
        a.iter().zip(b).map(|(x, y)| x.total_cmp(y)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}
