//! Tests of the query binder, part two: subqueries and correlation, set
//! operations, VALUES, CTEs, and the entry points the statement binder uses.
//!
//! OWNER: query-binder helper.
//!
//! Tests that need the operator, function or aggregate resolvers of

use sqlparser::ast;

use super::test_support::*;
use super::{Binder, Scope};
use crate::error::SqlState;
use crate::expr::{BinaryOp, Expr, SubqueryKind};
use crate::plan::{Node, SetOpKind};
use crate::types::{DataType, Value};

// ---------------------------------------------------------------- subqueries

fn subquery(e: &Expr) -> &crate::expr::Subquery {
    match e {
        Expr::Subquery(s) => s,
        other => panic!("expected a subquery, got {other:?}"),
    }
}

#[test]
fn scalar_and_exists_subqueries() {
    let (plan, cols) = bind("SELECT (SELECT y FROM u LIMIT 1), EXISTS (SELECT * FROM u) FROM t");
    assert_eq!(types(&cols), [DataType::Text, DataType::Bool]);
    let (exprs, _) = project(&plan);
    let s = subquery(&exprs[0]);
    assert!(!s.correlated);
    assert_eq!((s.kind.clone(), s.ty.clone()), (SubqueryKind::Scalar, DataType::Text));
    let e = subquery(&exprs[1]);
    assert_eq!(e.kind, SubqueryKind::Exists { negated: false });
    assert_ne!(s.id, e.id);
    assert_eq!(state("SELECT (SELECT id, x FROM u) FROM t"), "42601");
}

#[test]
fn correlated_references_have_depths() {
    let (plan, _) = bind("SELECT (SELECT t.b FROM u LIMIT 1) FROM t");
    let s = subquery(&project(&plan).0[0]);
    assert!(s.correlated);
    let Node::Limit { input, .. } = &s.plan else { panic!() };
    assert_eq!(project(input).0, [Expr::Outer { depth: 0, index: 2, ty: DataType::Text }]);
    // Two levels out from the innermost query.
    let (plan, _) = bind("SELECT (SELECT (SELECT t.b FROM d) FROM u) FROM t");
    let outer = subquery(&project(&plan).0[0]);
    assert!(outer.correlated);
    let inner = subquery(&project(&outer.plan).0[0]);
    assert!(inner.correlated);
    assert_eq!(project(&inner.plan).0, [Expr::Outer { depth: 1, index: 2, ty: DataType::Text }]);
    // A subquery that only reaches its own parent leaves the outer one alone.
    let (plan, _) = bind("SELECT (SELECT (SELECT u.y FROM d) FROM u) FROM t");
    let outer = subquery(&project(&plan).0[0]);
    assert!(!outer.correlated);
    assert!(subquery(&project(&outer.plan).0[0]).correlated);
    // Unqualified outer names too, and the inner scope wins.
    let (plan, _) = bind("SELECT (SELECT b FROM u) , (SELECT id FROM u) FROM t");
    let (exprs, _) = project(&plan);
    assert!(subquery(&exprs[0]).correlated);
    assert!(!subquery(&exprs[1]).correlated);
    assert_eq!(state("SELECT (SELECT zz FROM u) FROM t"), "42703");
}

#[test]
fn aggregates_of_outer_columns_are_refused() {
    assert_eq!(state("SELECT (SELECT sum(t.a) FROM u) FROM t"), "0A000");
    bind("SELECT (SELECT count(*) FROM u WHERE u.x = t.a) FROM t");
    bind("SELECT (SELECT sum(u.x) FROM u) FROM t");
}

#[test]
fn correlated_exists_in_where() {
    let (plan, _) = bind("SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.x = t.a)");
    let Node::Filter { predicate, .. } = project(&plan).1 else { panic!() };
    let s = subquery(predicate);
    assert!(s.correlated);
    let Node::Filter { predicate: Expr::Binary { right, .. }, .. } = project(&s.plan).1 else { panic!() };
    assert_eq!(**right, Expr::Outer { depth: 0, index: 1, ty: DataType::Int4 });
}

#[test]
fn subqueries_in_grouped_queries_see_group_values() {
    let (plan, _) = bind("SELECT a, (SELECT t.a FROM u LIMIT 1) FROM t GROUP BY a");
    let s = subquery(&project(&plan).0[1]);
    let Node::Limit { input, .. } = &s.plan else { panic!() };
    assert_eq!(project(input).0, [Expr::Outer { depth: 0, index: 0, ty: DataType::Int4 }]);
    let e = fails("SELECT a, (SELECT t.b FROM u LIMIT 1) FROM t GROUP BY a");
    assert_eq!((e.state.0, e.message.as_str()), ("42803", "subquery uses ungrouped column \"t.b\" from outer query"));
}

#[test]
fn in_and_quantified_subqueries() {
    let (plan, _) = bind("SELECT a IN (SELECT c FROM t), a > ALL (SELECT x FROM u), b = ANY (SELECT 'z') FROM t");
    let (exprs, _) = project(&plan);
    let s = subquery(&exprs[0]);
    let SubqueryKind::In { probe, negated: false } = &s.kind else { panic!() };
    // int4 = int8 compares without a cast, as PostgreSQL's cross-type operators do.
    assert_eq!(**probe, col(1, DataType::Int4));
    assert_eq!(s.ty, DataType::Int8);
    assert!(matches!(subquery(&exprs[1]).kind, SubqueryKind::Quantified { op: BinaryOp::Gt, all: true, .. }));
    assert_eq!(subquery(&exprs[2]).ty, DataType::Text);
    assert_eq!(state("SELECT a IN (SELECT id, x FROM u) FROM t"), "42601");
}

// ---------------------------------------------------------------- set operations, VALUES, CTEs

#[test]
fn set_operations_unify_types() {
    let (plan, cols) = bind("SELECT a FROM t UNION SELECT x FROM u");
    assert_eq!(names(&cols), ["a"]);
    assert!(matches!(plan, Node::SetOp { op: SetOpKind::Union, all: false, .. }));
    let (plan, cols) = bind("SELECT a FROM t INTERSECT ALL SELECT c FROM t");
    assert_eq!(types(&cols), [DataType::Int8]);
    let Node::SetOp { op: SetOpKind::Intersect, all: true, left, .. } = &plan else { panic!() };
    assert_eq!(project(left).0, [Expr::Cast { expr: Box::new(col(0, DataType::Int4)), ty: DataType::Int8 }]);
    let (plan, cols) = bind("SELECT 1 UNION SELECT '2' EXCEPT SELECT NULL");
    assert_eq!(types(&cols), [DataType::Int4]);
    let Node::SetOp { op: SetOpKind::Except, left, .. } = &plan else { panic!() };
    let Node::SetOp { right, .. } = &**left else { panic!() };
    assert_eq!(project(right).0, [Expr::Cast { expr: Box::new(col(0, DataType::Text)), ty: DataType::Int4 }]);
    let e = fails("SELECT a FROM t UNION SELECT b FROM t");
    assert_eq!((e.state.0, e.message.as_str()), ("42804", "UNION types integer and text cannot be matched"));
    assert_eq!(state("SELECT a, b FROM t UNION SELECT a FROM t"), "42601");
}

#[test]
fn set_operation_order_by_and_limit() {
    let (plan, _) =
        bind("(SELECT a, b FROM t) UNION ALL (SELECT x, y FROM u ORDER BY 1 LIMIT 2) ORDER BY b DESC, 1 LIMIT 5");
    let Node::Limit { input, .. } = &plan else { panic!() };
    let Node::Sort { keys, input } = &**input else { panic!() };
    assert_eq!(keys[0].expr, col(1, DataType::Text));
    assert_eq!(keys[1].expr, col(0, DataType::Int4));
    let Node::SetOp { right, .. } = &**input else { panic!() };
    assert!(matches!(**right, Node::Limit { .. }));
    assert_eq!(state("SELECT a FROM t UNION SELECT x FROM u ORDER BY a + 1"), "0A000");
    assert_eq!(state("SELECT a FROM t UNION SELECT x FROM u ORDER BY 3"), "42P10");
}

#[test]
fn values_bodies_unify_per_column() {
    let (plan, cols) = bind("VALUES (1, 'a'), (2.5, NULL)");
    assert_eq!(names(&cols), ["column1", "column2"]);
    assert_eq!(types(&cols), [DataType::Numeric(None), DataType::Text]);
    let Node::Values { rows, width: 2 } = &plan else { panic!() };
    assert_eq!(
        rows[0][0],
        Expr::Cast { expr: Box::new(Expr::Literal(Value::Int(1), DataType::Int4)), ty: DataType::Numeric(None) }
    );
    assert_eq!(state("VALUES (1), (1, 2)"), "42601");
    assert_eq!(state("VALUES (1), ('x'::text)"), "42804");
}

#[test]
fn ctes_are_inlined() {
    let (plan, cols) = bind("WITH w AS (SELECT a, b FROM t), v(p) AS (SELECT b FROM w) SELECT p, w.a FROM v, w");
    assert_eq!(names(&cols), ["p", "a"]);
    let Node::NestedLoopJoin { left, right, .. } = project(&plan).1 else { panic!() };
    assert_eq!(scan_name(project(project(left).1).1), "t");
    assert_eq!(scan_name(project(right).1), "t");
    // A CTE shadows a table and is visible in subqueries.
    let (plan, _) = bind("WITH t AS (SELECT 1 AS one) SELECT one, (SELECT one FROM t) FROM t");
    assert!(matches!(project(&plan).1, Node::Project { .. }));
    assert_eq!(state("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r"), "0A000");
    assert_eq!(state("WITH w AS (SELECT 1), w AS (SELECT 2) SELECT * FROM w"), "42712");
    // An inner WITH may reuse a name.
    bind("WITH w AS (SELECT 1 AS z) SELECT * FROM (WITH w AS (SELECT 2 AS z) SELECT z FROM w) s, w AS w2");
    // Not visible outside its query.
    assert_eq!(state("SELECT (WITH w AS (SELECT 1 AS z) SELECT z FROM w), z FROM w"), "42P01");
}

#[test]
fn a_cte_used_deeper_than_its_with_is_shifted() {
    let (plan, _) = bind("SELECT (WITH w AS (SELECT t.b AS z) SELECT (SELECT z FROM w)) FROM t");
    let outer = subquery(&project(&plan).0[0]);
    assert!(outer.correlated);
    let inner = subquery(&project(&outer.plan).0[0]);
    assert!(inner.correlated);
    // w's body references t one level out of the WITH; inlined one level
    // deeper, that is two levels out.
    let (_, w) = project(&inner.plan);
    assert_eq!(project(w).0, [Expr::Outer { depth: 1, index: 2, ty: DataType::Text }]);
}

// ---------------------------------------------------------------- entry points for DML

#[test]
fn insert_sources_are_typed_by_their_targets() {
    let cat = catalog();
    let mut b = Binder::new(&cat, &[]);
    let q = parse_query("VALUES (1, '2024-01-01', $1), (NULL, NULL, 'x')");
    let (plan, cols) = b.bind_insert_source(&q, &[DataType::Int8, DataType::Date, DataType::Varchar(Some(3))]).unwrap();
    assert_eq!(types(&cols), [DataType::Int8, DataType::Date, DataType::Varchar(Some(3))]);
    assert_eq!(b.params, [DataType::Varchar(Some(3))]);
    let Node::Values { rows, .. } = &plan else { panic!() };
    assert_eq!(
        rows[0][0],
        Expr::Cast { expr: Box::new(Expr::Literal(Value::Int(1), DataType::Int4)), ty: DataType::Int8 }
    );
    assert_eq!(rows[1][1], Expr::Literal(Value::Null, DataType::Date));
    assert_eq!(rows[1][2], Expr::Literal(Value::text("x"), DataType::Text));
    let q = parse_query("SELECT a, b FROM t");
    let (plan, _) = b.bind_insert_source(&q, &[DataType::Int8, DataType::Text]).unwrap();
    assert_eq!(project(&plan).0[0], Expr::Cast { expr: Box::new(col(0, DataType::Int4)), ty: DataType::Int8 });
    let e = b.bind_insert_source(&parse_query("VALUES (1, 2)"), &[DataType::Int4]).unwrap_err();
    assert_eq!(e.message, "INSERT has more expressions than target columns");
    let e = b.bind_insert_source(&parse_query("SELECT b FROM t"), &[DataType::Int4]).unwrap_err();
    assert_eq!(e.state, SqlState::DATATYPE_MISMATCH);
}

#[test]
fn table_scans_and_expressions_over_a_given_scope() {
    let cat = catalog();
    let mut b = Binder::new(&cat, &[]);
    let ast::SetExpr::Select(s) = *parse_query("SELECT 1 FROM u AS v").body else { panic!() };
    let (node, scope) = b.bind_table_scan(&s.from[0].relation).unwrap();
    assert_eq!(scan_name(&node), "v");
    assert_eq!(scope.columns.len(), 4);
    let ast::SetExpr::Select(s) = *parse_query("SELECT v.y, x IS NULL, (SELECT v.id) FROM u").body else { panic!() };
    let item = |i: usize| match &s.projection[i] {
        ast::SelectItem::UnnamedExpr(e) => e.clone(),
        _ => panic!(),
    };
    assert_eq!(b.bind_expr(&item(0), &scope).unwrap(), col(2, DataType::Text));
    assert!(matches!(b.bind_predicate(&item(1), &scope).unwrap(), Expr::IsNull { .. }));
    assert!(subquery(&b.bind_expr(&item(2), &scope).unwrap()).correlated);
    assert_eq!(b.bind_predicate(&item(0), &scope).unwrap_err().state, SqlState::DATATYPE_MISMATCH);
    let excluded = Scope::for_table(cat.table("u").unwrap(), "excluded");
    let both = scope.join(excluded);
    let ast::SetExpr::Select(s) = *parse_query("SELECT excluded.x").body else { panic!() };
    let ast::SelectItem::UnnamedExpr(e) = &s.projection[0] else { panic!() };
    assert_eq!(b.bind_expr(e, &both).unwrap(), col(5, DataType::Int4));
}

#[test]
fn returning_lists_expand_stars() {
    let cat = catalog();
    let mut b = Binder::new(&cat, &[]);
    let scope = Scope::for_table(cat.table("u").unwrap(), "u");
    let ast::SetExpr::Select(s) = *parse_query("SELECT *, y AS why, u.*, NULL").body else { panic!() };
    let (exprs, cols) = b.bind_returning(&s.projection, &scope).unwrap();
    assert_eq!(names(&cols), ["id", "x", "y", "why", "id", "x", "y", "?column?"]);
    assert_eq!(cols[7].ty, DataType::Text);
    assert_eq!(exprs[3], col(2, DataType::Text));
    let ast::SetExpr::Select(s) = *parse_query("SELECT zz").body else { panic!() };
    assert!(b.bind_returning(&s.projection, &scope).is_err());
}

#[test]
fn row_comparisons_expand_to_fields() {
    let (plan, _) = bind("SELECT (a, b) = (1, 'x'), (a, c) < (1, 2), (a, b) IN ((1, 'x'), (2, 'y')) FROM t");
    let (exprs, _) = project(&plan);
    let Expr::Binary { op: BinaryOp::And, left, right, .. } = &exprs[0] else { panic!() };
    assert!(matches!(**left, Expr::Binary { op: BinaryOp::Eq, .. }));
    assert!(matches!(**right, Expr::Binary { op: BinaryOp::Eq, .. }));
    let Expr::Binary { op: BinaryOp::Or, left, right, .. } = &exprs[1] else { panic!() };
    assert!(matches!(**left, Expr::Binary { op: BinaryOp::Lt, .. }));
    assert!(matches!(**right, Expr::Binary { op: BinaryOp::And, .. }));
    assert!(matches!(&exprs[2], Expr::Binary { op: BinaryOp::Or, .. }));
    assert_eq!(state("SELECT (a, b) = (1, 2, 3) FROM t"), "42601");
}

#[test]
fn finishing_parameters_of_a_dml_plan() {
    let cat = catalog();
    let mut b = Binder::new(&cat, &[]);
    let scope = Scope::for_table(cat.table("u").unwrap(), "u");
    let ast::SetExpr::Select(s) = *parse_query("SELECT $2, $1").body else { panic!() };
    let mut exprs = vec![];
    for item in &s.projection {
        let ast::SelectItem::UnnamedExpr(e) = item else { panic!() };
        exprs.push(b.bind_expr(e, &scope).unwrap());
    }
    let p1 = exprs.pop().unwrap();
    exprs.push(b.coerce_to(p1, &DataType::Int8).unwrap());
    let mut node = Node::Project { input: Box::new(Node::Values { rows: vec![vec![]], width: 0 }), exprs };
    b.finish_params(&mut node);
    assert_eq!(b.params, [DataType::Int8, DataType::Text]);
    assert_eq!(project(&node).0, [Expr::Param(1, DataType::Text), Expr::Param(0, DataType::Int8)]);
}
