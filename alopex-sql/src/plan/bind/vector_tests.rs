//! Binding pgvector's SQL: the operators sqlparser parses in three
//! different ways, untyped operands read as `vector` (without the column's
//! dimension, so the operator reports a dimension mismatch), parameters
//! inferred as vectors, and vector columns refused as keys.

use super::BoundStatement;
use super::test_util::{bind_sql, bind_sql_err, catalog, col};
use crate::catalog::{Catalog, TableSchema};
use crate::error::SqlState;
use crate::expr::{BinaryOp, Expr};
use crate::plan::Node;
use crate::types::DataType;

/// `items (id INT PRIMARY KEY, e VECTOR(3))`.
fn items() -> Catalog {
    catalog(vec![TableSchema {
        id: 30,
        name: "items".into(),
        columns: vec![col(1, "id", DataType::Int4, false), col(2, "e", DataType::Vector(Some(3)), true)],
        primary_key: vec![0],
        indexes: vec![],
        checks: vec![],
        next_column_id: 3,
        next_index_id: 2,
    }])
}

/// The first projected expression of a bound SELECT.
fn first_expr(sql: &str) -> (Expr, Vec<DataType>) {
    let BoundStatement::Query(plan) = bind_sql(&items(), sql) else { panic!("{sql}") };
    let mut node = &plan.root;
    loop {
        match node {
            Node::Project { exprs, .. } => return (exprs[0].clone(), plan.param_types.clone()),
            other => node = other.children().first().copied().unwrap_or_else(|| panic!("{sql}: no projection")),
        }
    }
}

#[test]
fn operators_map_and_read_literals_as_vectors() {
    for (sql, op) in [
        ("SELECT e <-> '[1,2,3]' FROM items", BinaryOp::L2Distance),
        ("SELECT e <=> '[1,2,3]' FROM items", BinaryOp::CosineDistance),
        ("SELECT e <#> '[1,2,3]' FROM items", BinaryOp::NegInnerProduct),
    ] {
        let (e, _) = first_expr(sql);
        let Expr::Binary { op: got, right, ty, .. } = e else { panic!("{sql}: {e:?}") };
        assert_eq!((got, ty), (op, DataType::Float8), "{sql}");
        // The literal is a `vector` of its own length, not a `vector(3)`.
        assert_eq!(right.ty(), DataType::Vector(None), "{sql}");
    }
    // A wrong-length literal binds; the operator reports it when it runs.
    let (e, _) = first_expr("SELECT e <-> '[1,2]' FROM items");
    assert!(matches!(e, Expr::Binary { op: BinaryOp::L2Distance, .. }));
    let (e, _) = first_expr("SELECT e + '[1,2,3]' FROM items");
    assert_eq!(e.ty(), DataType::Vector(None));
}

#[test]
fn parameters_are_inferred_as_vectors() {
    let (_, params) = first_expr("SELECT e <-> $1 FROM items");
    assert_eq!(params, vec![DataType::Vector(None)]);
    let (_, params) = first_expr("SELECT l2_distance($1, e) FROM items");
    assert_eq!(params, vec![DataType::Vector(None)]);
    let BoundStatement::Query(plan) = bind_sql(&items(), "INSERT INTO items VALUES (1, $1)") else { panic!() };
    assert_eq!(plan.param_types, vec![DataType::Vector(Some(3))]);
}

#[test]
fn type_errors() {
    let state = |sql: &str| bind_sql_err(&items(), sql).state;
    assert_eq!(state("SELECT e <-> 1 FROM items"), SqlState::UNDEFINED_FUNCTION);
    assert_eq!(state("SELECT e <-> 'x'::text FROM items"), SqlState::UNDEFINED_FUNCTION);
    assert_eq!(state("SELECT e + 1 FROM items"), SqlState::UNDEFINED_FUNCTION);
    assert_eq!(state("SELECT vector_dims(1)"), SqlState::UNDEFINED_FUNCTION);
    assert_eq!(state("SELECT CAST(1 AS vector)"), SqlState::CANNOT_COERCE);
    assert_eq!(state("SELECT 'x' <#> 'y'"), SqlState::UNDEFINED_FUNCTION);
}
