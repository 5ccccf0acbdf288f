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
pub fn table(id: u64, name: &str, cols: &[(&str, DataType)], pk: &[usize], indexes: &[(&[usize], bool)]) -> Arc<TableSchema> {
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
