//! Shared helpers of the query-binder tests: a hand-built catalog, SQL in,
//! bound plans out, and a checker that every column reference of a plan
//! stays inside the row its operator sees.
//!
//! OWNER: query-binder helper.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::Binder;
use crate::catalog::{Catalog, ColumnSchema, ROW_ID_COLUMN, TableSchema};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::{Node, OutputColumn};
use crate::types::{DataType, Value};

pub(super) fn column(id: u32, name: &str, ty: DataType) -> ColumnSchema {
    ColumnSchema { id, name: name.into(), ty, nullable: true, default: None, missing: Value::Null, hidden: false }
}

pub(super) fn table(id: u64, name: &str, cols: Vec<(&str, DataType)>, pk: Option<usize>) -> TableSchema {
    let mut columns: Vec<ColumnSchema> =
        cols.into_iter().enumerate().map(|(i, (n, ty))| column(i as u32 + 1, n, ty)).collect();
    let primary_key = match pk {
        Some(p) => vec![p],
        None => {
            let mut c = column(99, ROW_ID_COLUMN, DataType::Int8);
            c.hidden = true;
            columns.push(c);
            vec![columns.len() - 1]
        }
    };
    TableSchema {
        id,
        name: name.into(),
        columns,
        primary_key,
        indexes: vec![],
        checks: vec![],
        next_column_id: 100,
        next_index_id: 2,
    }
}

/// t(id int PK, a int, b text, c bigint); u(id int, x int, y text, hidden
/// row id); d(day date, ts timestamp, j jsonb, n numeric(10,2), f bool).
pub(super) fn catalog() -> Catalog {
    use DataType::*;
    Catalog::new(
        1,
        vec![
            table(20, "t", vec![("id", Int4), ("a", Int4), ("b", Text), ("c", Int8)], Some(0)),
            table(21, "u", vec![("id", Int4), ("x", Int4), ("y", Text)], None),
            table(
                22,
                "d",
                vec![("day", Date), ("ts", Timestamp), ("j", Jsonb), ("n", Numeric(Some((10, 2)))), ("f", Bool)],
                Some(0),
            ),
        ],
    )
}

pub(super) fn parse_query(sql: &str) -> ast::Query {
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).expect("parses").remove(0) {
        ast::Statement::Query(q) => *q,
        other => panic!("not a query: {other}"),
    }
}

pub(super) fn bind_with(sql: &str, params: &[DataType]) -> (Result<(Node, Vec<OutputColumn>)>, Vec<DataType>) {
    let cat = catalog();
    let mut b = Binder::new(&cat, params);
    let r = b.bind_query(&parse_query(sql));
    (r, b.params)
}

pub(super) fn bind(sql: &str) -> (Node, Vec<OutputColumn>) {
    match bind_with(sql, &[]).0 {
        Ok(r) => {
            validate(&r.0, &mut vec![]);
            assert_eq!(r.0.width(), r.1.len(), "{sql}: plan width");
            r
        }
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Checks that every column reference is inside the row its operator
/// evaluates over, and every outer reference inside the row of the query
/// it reaches (`outer` holds the widths of the enclosing rows).
pub(super) fn validate(node: &Node, outer: &mut Vec<usize>) {
    fn check(e: &Expr, width: usize, outer: &mut Vec<usize>) {
        match e {
            Expr::Column(i, _) => assert!(*i < width, "column {i} outside a row of {width}: {e:?}"),
            Expr::Outer { depth, index, .. } => {
                assert!(*depth < outer.len(), "outer reference beyond the outermost query: {e:?}");
                let w = outer[outer.len() - 1 - depth];
                assert!(*index < w, "outer index {index} outside a row of {w}");
            }
            Expr::Subquery(s) => {
                outer.push(width);
                validate(&s.plan, outer);
                outer.pop();
            }
            _ => {}
        }
        e.for_each_child(&mut |c| check(c, width, outer));
    }
    let input_width = |n: &Node| n.children().first().map_or(0, |c| c.width());
    let w = input_width(node);
    match node {
        Node::Values { rows, width } => rows.iter().for_each(|r| {
            assert_eq!(r.len(), *width);
            r.iter().for_each(|e| check(e, 0, outer))
        }),
        Node::Scan { filter, table, .. } => filter.iter().for_each(|e| check(e, table.columns.len(), outer)),
        Node::Filter { predicate, .. } => check(predicate, w, outer),
        Node::Project { exprs, .. } => exprs.iter().for_each(|e| check(e, w, outer)),
        Node::NestedLoopJoin { left, right, predicate, .. } => {
            predicate.iter().for_each(|e| check(e, left.width() + right.width(), outer))
        }
        Node::Aggregate { group_by, aggregates, .. } => {
            group_by.iter().for_each(|e| check(e, w, outer));
            for a in aggregates {
                a.args.iter().chain(a.filter.iter()).for_each(|e| check(e, w, outer));
            }
        }
        Node::Sort { keys, .. } => keys.iter().for_each(|k| check(&k.expr, w, outer)),
        Node::Limit { limit, offset, .. } => limit.iter().chain(offset.iter()).for_each(|e| check(e, 0, outer)),
        Node::SetOp { left, right, .. } => assert_eq!(left.width(), right.width()),
        _ => {}
    }
    for c in node.children() {
        validate(c, outer);
    }
}

pub(super) fn fails(sql: &str) -> crate::error::Error {
    match bind_with(sql, &[]).0 {
        Ok((n, _)) => panic!("{sql} bound to {n:?}"),
        Err(e) => e,
    }
}

pub(super) fn state(sql: &str) -> &'static str {
    fails(sql).state.0
}

pub(super) fn names(cols: &[OutputColumn]) -> Vec<&str> {
    cols.iter().map(|c| c.name.as_str()).collect()
}

pub(super) fn types(cols: &[OutputColumn]) -> Vec<DataType> {
    cols.iter().map(|c| c.ty.clone()).collect()
}

pub(super) fn col(i: usize, ty: DataType) -> Expr {
    Expr::Column(i, ty)
}

/// The projection at the root and its input.
pub(super) fn project(n: &Node) -> (&[Expr], &Node) {
    match n {
        Node::Project { input, exprs } => (exprs, input),
        other => panic!("expected Project, got {other:?}"),
    }
}

pub(super) fn scan_name(n: &Node) -> &str {
    match n {
        Node::Scan { alias, .. } => alias,
        other => panic!("expected Scan, got {other:?}"),
    }
}
