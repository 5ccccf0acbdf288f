//! Tests of the query binder, part one: names, literals, FROM and joins,
//! grouping, ORDER BY and LIMIT. SQL text in; plan shapes, output columns,
//! types and SQLSTATEs out.
//!
//! OWNER: query-binder helper.
//!
//! Tests that need the operator, function or aggregate resolvers of

use super::test_support::*;
use crate::error::SqlState;
use crate::expr::{BinaryOp, Expr};
use crate::plan::{JoinKind, Node};
use crate::types::{DataType, Value};

// ---------------------------------------------------------------- names

#[test]
fn star_skips_the_hidden_row_id() {
    let (plan, cols) = bind("SELECT * FROM u");
    assert_eq!(names(&cols), ["id", "x", "y"]);
    assert_eq!(types(&cols), [DataType::Int4, DataType::Int4, DataType::Text]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4), col(1, DataType::Int4), col(2, DataType::Text)]);
    assert!(matches!(input, Node::Scan { range: crate::plan::ScanRange::Full, reverse: false, filter: None, .. }));
    assert_eq!(state("SELECT _alopex_rowid FROM u"), "42703");
}

#[test]
fn identifiers_fold_to_lower_case_unless_quoted() {
    let (_, cols) = bind("SELECT A, T.b, \"c\" AS \"Big\" FROM T");
    assert_eq!(names(&cols), ["a", "b", "Big"]);
    let e = fails("SELECT \"A\" FROM t");
    assert_eq!(e.state, SqlState::UNDEFINED_COLUMN);
    assert_eq!(e.message, "column \"A\" does not exist");
}

#[test]
fn undefined_and_ambiguous_names() {
    let e = fails("SELECT * FROM nope");
    assert_eq!((e.state.0, e.message.as_str()), ("42P01", "relation \"nope\" does not exist"));
    let e = fails("SELECT id FROM t, u");
    assert_eq!((e.state.0, e.message.as_str()), ("42702", "column reference \"id\" is ambiguous"));
    let e = fails("SELECT z.a FROM t");
    assert_eq!((e.state.0, e.message.as_str()), ("42P01", "missing FROM-clause entry for table \"z\""));
    let e = fails("SELECT t.zz FROM t");
    assert_eq!((e.state.0, e.message.as_str()), ("42703", "column t.zz does not exist"));
    assert_eq!(state("SELECT t.a FROM t AS x"), "42P01");
    assert_eq!(state("SELECT 1 FROM t, t"), "42712");
    assert_eq!(state("SELECT 1 FROM t JOIN u AS t ON true"), "42712");
    assert_eq!(state("SELECT 1 FROM other.t"), "42P01");
    bind("SELECT t.a FROM public.t");
    assert_eq!(state("SELECT * FROM information_schema.no_such_view"), "42P01");
}

#[test]
fn aliases_and_column_alias_lists() {
    let (_, cols) = bind("SELECT x.p, x.b, q FROM t AS x(p, q)");
    assert_eq!(names(&cols), ["p", "b", "q"]);
    assert_eq!(state("SELECT x.a FROM t AS x(p, q)"), "42703");
    assert_eq!(state("SELECT * FROM t AS x(a, b, c, d, e)"), "42P10");
    let (plan, _) = bind("SELECT x.a FROM t x");
    assert_eq!(scan_name(project(&plan).1), "x");
}

#[test]
fn qualified_star() {
    let (plan, cols) = bind("SELECT u.*, t.a FROM t, u");
    assert_eq!(names(&cols), ["id", "x", "y", "a"]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs[0], col(4, DataType::Int4));
    assert_eq!(exprs[3], col(1, DataType::Int4));
    assert!(matches!(input, Node::NestedLoopJoin { kind: JoinKind::Inner, predicate: None, .. }));
    assert_eq!(state("SELECT v.* FROM t"), "42P01");
    assert_eq!(state("SELECT *"), "42601");
}

#[test]
fn output_column_names_follow_postgres() {
    let (_, cols) = bind(
        "SELECT a, t.b, 1, a::text, CAST(1 AS bigint), '1'::integer, CASE WHEN true THEN 1 END, TRUE, \
         DATE '2024-01-01', NULL, (SELECT y FROM u LIMIT 1), EXISTS (SELECT 1) FROM t",
    );
    assert_eq!(
        names(&cols),
        ["a", "b", "?column?", "a", "int8", "int4", "case", "bool", "date", "?column?", "y", "exists"]
    );
    assert_eq!(cols[9].ty, DataType::Text, "an untyped NULL column reports text");
}

// ---------------------------------------------------------------- literals

#[test]
fn literal_types() {
    let (plan, cols) = bind("SELECT 1, 2147483648, 1.50, -2147483648, 'abc', 1e3, 99999999999999999999");
    use DataType::*;
    assert_eq!(types(&cols), [Int4, Int8, Numeric(None), Int4, Text, Numeric(None), Numeric(None)]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs[3], Expr::Literal(Value::Int(-2147483648), Int4));
    assert_eq!(exprs[2], Expr::Literal(Value::Numeric("1.50".parse().unwrap()), Numeric(None)));
    assert_eq!(input, &Node::Values { rows: vec![vec![]], width: 0 });
}

#[test]
fn typed_literals_are_casts_of_text() {
    let (plan, cols) =
        bind("SELECT DATE '2024-01-01', INTERVAL '1 day', INTERVAL '2' HOUR, TIMESTAMPTZ '2024-01-01 00:00'");
    use DataType::*;
    assert_eq!(types(&cols), [Date, Interval, Interval, TimestampTz]);
    let (exprs, _) = project(&plan);
    assert_eq!(exprs[0], Expr::Cast { expr: Box::new(Expr::Literal(Value::text("2024-01-01"), Text)), ty: Date });
    assert_eq!(exprs[2], Expr::Cast { expr: Box::new(Expr::Literal(Value::text("2 hour"), Text)), ty: Interval });
}

#[test]
fn parameters_default_to_text_and_limit_makes_them_bigint() {
    let (r, params) = bind_with("SELECT $1 FROM t LIMIT $2", &[]);
    let (plan, cols) = r.unwrap();
    assert_eq!(params, [DataType::Text, DataType::Int8]);
    assert_eq!(types(&cols), [DataType::Text]);
    let Node::Limit { limit: Some(l), offset: None, input } = &plan else { panic!("{plan:?}") };
    assert_eq!(*l, Expr::Param(1, DataType::Int8));
    assert_eq!(project(input).0, [Expr::Param(0, DataType::Text)]);
    // A type the client gave is kept.
    let (r, params) = bind_with("SELECT $1", &[DataType::Int4]);
    assert_eq!(types(&r.unwrap().1), [DataType::Int4]);
    assert_eq!(params, [DataType::Int4]);
    // A cast types the parameter.
    let (_, params) = bind_with("SELECT $1::date", &[]);
    assert_eq!(params, [DataType::Date]);
}

// ---------------------------------------------------------------- WHERE, joins

#[test]
fn where_must_be_boolean() {
    let (plan, _) = bind("SELECT t.a FROM t, d WHERE f");
    let (_, input) = project(&plan);
    let Node::Filter { predicate, input } = input else { panic!() };
    assert_eq!(*predicate, col(8, DataType::Bool));
    assert!(matches!(**input, Node::NestedLoopJoin { .. }));
    let e = fails("SELECT a FROM t WHERE a");
    assert_eq!((e.state.0, e.message.as_str()), ("42804", "argument of WHERE must be type boolean, not type integer"));
    assert_eq!(state("SELECT a FROM t WHERE b AND true"), "42804");
    assert_eq!(state("SELECT a FROM t WHERE NOT a"), "42804");
    // An untyped literal or NULL becomes boolean.
    bind("SELECT a FROM t WHERE NULL");
    bind("SELECT a FROM t WHERE 'true'");
}

#[test]
fn join_kinds_and_on() {
    let (plan, _) = bind("SELECT t.a FROM t LEFT JOIN d ON d.f");
    let Node::NestedLoopJoin { kind, predicate, left, right } = project(&plan).1 else { panic!() };
    assert_eq!(*kind, JoinKind::Left);
    assert_eq!(*predicate, Some(col(8, DataType::Bool)));
    assert_eq!((scan_name(left), scan_name(right)), ("t", "d"));
    for (sql, want) in [
        ("SELECT 1 FROM t JOIN d ON f", JoinKind::Inner),
        ("SELECT 1 FROM t RIGHT JOIN d ON f", JoinKind::Right),
        ("SELECT 1 FROM t FULL JOIN d ON f", JoinKind::Full),
        ("SELECT 1 FROM t CROSS JOIN d", JoinKind::Inner),
    ] {
        let (plan, _) = bind(sql);
        let Node::NestedLoopJoin { kind, .. } = project(&plan).1 else { panic!() };
        assert_eq!(*kind, want, "{sql}");
    }
    // ON sees only the join's own tables.
    assert_eq!(state("SELECT 1 FROM t JOIN u ON d.f, d"), "42P01");
    assert_eq!(state("SELECT 1 FROM t JOIN u ON t.a"), "42804");
}

#[test]
fn nested_joins_keep_written_order() {
    let (plan, cols) = bind("SELECT * FROM t JOIN (u CROSS JOIN d) ON f");
    assert_eq!(cols.len(), 4 + 3 + 5);
    let Node::NestedLoopJoin { right, .. } = project(&plan).1 else { panic!() };
    assert!(matches!(**right, Node::NestedLoopJoin { .. }));
}

#[test]
fn using_and_natural_joins_merge_columns() {
    let (plan, cols) = bind("SELECT * FROM t JOIN u USING (id)");
    assert_eq!(names(&cols), ["id", "a", "b", "c", "x", "y"]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs[0], col(0, DataType::Int4));
    let Node::NestedLoopJoin { predicate: Some(Expr::Binary { op, left, right, .. }), .. } = input else { panic!() };
    assert_eq!((*op, &**left, &**right), (BinaryOp::Eq, &col(0, DataType::Int4), &col(4, DataType::Int4)));
    // Both originals stay reachable qualified; the merged one unqualified.
    let (_, cols) = bind("SELECT id, t.id, u.id, t.* FROM t JOIN u USING (id)");
    assert_eq!(names(&cols), ["id", "id", "id", "id", "a", "b", "c"]);
    let (plan, _) = bind("SELECT id FROM t RIGHT JOIN u USING (id)");
    assert_eq!(project(&plan).0, [col(4, DataType::Int4)]);
    let (_, cols) = bind("SELECT * FROM t NATURAL JOIN u");
    assert_eq!(names(&cols), ["id", "a", "b", "c", "x", "y"]);
    assert_eq!(state("SELECT * FROM t JOIN u USING (zz)"), "42703");
    assert_eq!(state("SELECT * FROM t JOIN u USING (id, id)"), "42701");
    // FULL JOIN merges with COALESCE.
    let (plan, _) = bind("SELECT id FROM t FULL JOIN u USING (id)");
    assert!(matches!(&project(&plan).0[0], Expr::Function { func: crate::expr::ScalarFunc::Coalesce, .. }));
    // NATURAL with nothing in common is a cross join.
    let (plan, _) = bind("SELECT * FROM t NATURAL JOIN d");
    assert!(matches!(project(&plan).1, Node::NestedLoopJoin { predicate: None, .. }));
}

#[test]
fn derived_tables_and_values_in_from() {
    let (plan, cols) = bind("SELECT s.k, v.n FROM (SELECT a AS k FROM t) s, (VALUES (1, 'x'), (2, 'y')) AS v(n, m)");
    assert_eq!(names(&cols), ["k", "n"]);
    let Node::NestedLoopJoin { left, right, .. } = project(&plan).1 else { panic!() };
    assert!(matches!(**left, Node::Project { .. }));
    let Node::Values { rows, width: 2 } = &**right else { panic!() };
    assert_eq!(rows.len(), 2);
    // Without an alias the columns are still reachable unqualified.
    bind("SELECT k FROM (SELECT a AS k FROM t)");
    assert_eq!(state("SELECT a FROM (SELECT a AS k FROM t) s"), "42703");
}

// ---------------------------------------------------------------- grouping

#[test]
fn grouping_without_aggregates() {
    let (plan, cols) = bind("SELECT a FROM t GROUP BY a");
    assert_eq!(names(&cols), ["a"]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4)]);
    let Node::Aggregate { group_by, aggregates, .. } = input else { panic!() };
    assert_eq!(group_by, &vec![col(1, DataType::Int4)]);
    assert!(aggregates.is_empty());
    let e = fails("SELECT b FROM t GROUP BY a");
    assert_eq!(
        (e.state.0, e.message.as_str()),
        ("42803", "column \"t.b\" must appear in the GROUP BY clause or be used in an aggregate function")
    );
    assert_eq!(state("SELECT * FROM u GROUP BY x"), "42803");
}

#[test]
fn grouping_by_position_alias_and_primary_key() {
    let (plan, _) = bind("SELECT b AS k FROM t GROUP BY k");
    let Node::Aggregate { group_by, .. } = project(&plan).1 else { panic!() };
    assert_eq!(group_by, &vec![col(2, DataType::Text)]);
    let (plan, _) = bind("SELECT c, b FROM t GROUP BY 2, 1");
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(1, DataType::Int8), col(0, DataType::Text)]);
    let Node::Aggregate { group_by, .. } = input else { panic!() };
    assert_eq!(group_by, &vec![col(2, DataType::Text), col(3, DataType::Int8)]);
    assert_eq!(state("SELECT a FROM t GROUP BY 3"), "42P10");
    // An input column wins over an output alias.
    let (plan, _) = bind("SELECT a AS b FROM t GROUP BY b, a");
    let Node::Aggregate { group_by, .. } = project(&plan).1 else { panic!() };
    assert_eq!(group_by[0], col(2, DataType::Text));
    // Grouping by the primary key makes the other columns usable.
    let (plan, _) = bind("SELECT id, b, t.c FROM t GROUP BY id");
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4), col(1, DataType::Text), col(2, DataType::Int8)]);
    let Node::Aggregate { group_by, .. } = input else { panic!() };
    assert_eq!(group_by, &vec![col(0, DataType::Int4), col(2, DataType::Text), col(3, DataType::Int8)]);
    // Not for a table without a declared key.
    assert_eq!(state("SELECT id, x FROM u GROUP BY id"), "42803");
}

#[test]
fn aggregates_without_group_by_give_one_row() {
    let (plan, cols) = bind("SELECT count(*), sum(a), max(b) FROM t");
    assert_eq!(names(&cols), ["count", "sum", "max"]);
    assert_eq!(types(&cols), [DataType::Int8, DataType::Int8, DataType::Text]);
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int8), col(1, DataType::Int8), col(2, DataType::Text)]);
    let Node::Aggregate { group_by, aggregates, .. } = input else { panic!() };
    assert!(group_by.is_empty());
    assert_eq!(aggregates.len(), 3);
    assert_eq!(aggregates[0].func, crate::expr::AggFunc::CountStar);
    assert_eq!(aggregates[1].args, vec![col(1, DataType::Int4)]);
}

#[test]
fn aggregates_with_groups_distinct_and_filter() {
    let (plan, _) = bind("SELECT a, count(DISTINCT b) FILTER (WHERE d.f), count(DISTINCT b) FROM t, d GROUP BY a");
    let (exprs, input) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4), col(1, DataType::Int8), col(2, DataType::Int8)]);
    let Node::Aggregate { group_by, aggregates, .. } = input else { panic!() };
    assert_eq!(group_by, &vec![col(1, DataType::Int4)]);
    assert!(aggregates[0].distinct);
    assert_eq!(aggregates[0].filter, Some(col(8, DataType::Bool)));
    assert_eq!(aggregates[1].filter, None);
    // The same call twice is computed once.
    let (plan, _) = bind("SELECT count(*), count(*) FROM t");
    let Node::Aggregate { aggregates, .. } = project(&plan).1 else { panic!() };
    assert_eq!(aggregates.len(), 1);
    let e = fails("SELECT a FROM t WHERE count(*) > 1");
    assert_eq!((e.state.0, e.message.as_str()), ("42803", "aggregate functions are not allowed in WHERE"));
    assert_eq!(fails("SELECT sum(count(*)) FROM t").message, "aggregate function calls cannot be nested");
    assert_eq!(state("SELECT count(*) FROM t GROUP BY 1"), "42803");
    assert_eq!(state("SELECT a, count(*) FROM t"), "42803");
}

#[test]
fn having_and_order_by_aggregates() {
    let (plan, _) = bind("SELECT a FROM t GROUP BY a HAVING count(*) > 1 ORDER BY sum(c) DESC");
    // Project(drop hidden) <- Sort <- Project(a, sum) <- Filter <- Aggregate
    let (exprs, sort) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4)]);
    let Node::Sort { keys, input } = sort else { panic!("{sort:?}") };
    // sum(bigint) is numeric, as in PostgreSQL.
    assert_eq!(keys[0].expr, col(1, DataType::Numeric(None)));
    assert!(keys[0].desc && keys[0].nulls_first);
    let (exprs, filter) = project(input);
    assert_eq!(exprs, [col(0, DataType::Int4), col(2, DataType::Numeric(None))]);
    let Node::Filter { predicate: Expr::Binary { op: BinaryOp::Gt, left, .. }, input } = filter else { panic!() };
    assert_eq!(**left, col(1, DataType::Int8));
    let Node::Aggregate { aggregates, .. } = &**input else { panic!() };
    assert_eq!(aggregates.len(), 2);
    // A grouped expression matches as a whole.
    bind("SELECT a + 1, count(*) FROM t GROUP BY a + 1 ORDER BY a + 1");
    assert_eq!(state("SELECT a + 2 FROM t GROUP BY a + 1"), "42803");
}

// ---------------------------------------------------------------- ORDER BY, LIMIT, DISTINCT

#[test]
fn order_by_position_alias_and_hidden_columns() {
    let (plan, _) = bind("SELECT a, b FROM t ORDER BY 2 DESC, a NULLS FIRST");
    let Node::Sort { keys, .. } = &plan else { panic!() };
    assert_eq!(keys[0].expr, col(1, DataType::Text));
    assert!(keys[0].desc && keys[0].nulls_first);
    assert_eq!(keys[1].expr, col(0, DataType::Int4));
    assert!(!keys[1].desc && keys[1].nulls_first);
    let (plan, _) = bind("SELECT a AS z FROM t ORDER BY z ASC");
    let Node::Sort { keys, .. } = &plan else { panic!() };
    assert!(!keys[0].nulls_first);
    // An input column not selected: hidden, then projected away after LIMIT.
    let (plan, cols) = bind("SELECT a FROM t ORDER BY b LIMIT 3 OFFSET 1");
    assert_eq!(names(&cols), ["a"]);
    let (exprs, limit) = project(&plan);
    assert_eq!(exprs, [col(0, DataType::Int4)]);
    let Node::Limit { input, limit: Some(l), offset: Some(o) } = limit else { panic!() };
    assert_eq!((l, o), (&Expr::Literal(Value::Int(3), DataType::Int8), &Expr::Literal(Value::Int(1), DataType::Int8)));
    let Node::Sort { keys, input } = &**input else { panic!() };
    assert_eq!(keys[0].expr, col(1, DataType::Text));
    assert_eq!(project(input).0, [col(1, DataType::Int4), col(2, DataType::Text)]);
    // Output names win over input names.
    let (plan, _) = bind("SELECT b AS a FROM t ORDER BY a");
    let Node::Sort { keys, .. } = &plan else { panic!() };
    assert_eq!(keys[0].expr, col(0, DataType::Text));
    assert_eq!(state("SELECT a FROM t ORDER BY 2"), "42P10");
    assert_eq!(state("SELECT a FROM t ORDER BY 'x'"), "42601");
    assert_eq!(state("SELECT a AS k, b AS k FROM t ORDER BY k"), "42702");
}

#[test]
fn distinct_and_limit_all() {
    let (plan, _) = bind("SELECT DISTINCT a FROM t ORDER BY a LIMIT ALL");
    let Node::Sort { input, .. } = &plan else { panic!("{plan:?}") };
    assert!(matches!(**input, Node::Distinct { .. }));
    let e = fails("SELECT DISTINCT a FROM t ORDER BY b");
    assert_eq!(e.state, SqlState::INVALID_COLUMN_REFERENCE);
    assert_eq!(state("SELECT DISTINCT ON (a) a FROM t"), "0A000");
    assert_eq!(state("SELECT a FROM t LIMIT true"), "42804");
    bind("SELECT a FROM t LIMIT '3'");
    let (plan, _) = bind("SELECT a FROM t FETCH FIRST 5 ROWS ONLY");
    assert!(matches!(plan, Node::Limit { limit: Some(_), offset: None, .. }));
}

// ---------------------------------------------------------------- expressions

#[test]
fn predicates_without_operators() {
    let (plan, _) = bind(
        "SELECT b LIKE 'x!%' ESCAPE '!', b NOT ILIKE 'q', a IN (1, '2'), f IS NOT TRUE, a IS NULL, \
         CASE WHEN f THEN a ELSE c END FROM t, d",
    );
    let (exprs, _) = project(&plan);
    let Expr::Like { escape, negated: false, case_insensitive: false, .. } = &exprs[0] else { panic!() };
    assert_eq!(*escape, Some('!'));
    assert!(matches!(&exprs[1], Expr::Like { negated: true, case_insensitive: true, escape: None, .. }));
    let Expr::InList { list, .. } = &exprs[2] else { panic!() };
    assert_eq!(
        list[1],
        Expr::Cast { expr: Box::new(Expr::Literal(Value::text("2"), DataType::Text)), ty: DataType::Int4 }
    );
    assert!(matches!(&exprs[3], Expr::IsBool { value: Some(true), negated: true, .. }));
    assert!(matches!(&exprs[4], Expr::IsNull { negated: false, .. }));
    let Expr::Case { ty, branches, .. } = &exprs[5] else { panic!() };
    assert_eq!(*ty, DataType::Int8);
    assert_eq!(branches[0].1, Expr::Cast { expr: Box::new(col(1, DataType::Int4)), ty: DataType::Int8 });
    assert_eq!(state("SELECT a LIKE 'x' FROM t"), "42883");
    assert_eq!(state("SELECT b LIKE 'x' ESCAPE 'ab' FROM t"), "22025");
    assert_eq!(state("SELECT CASE WHEN true THEN a ELSE b END FROM t"), "42804");
    assert_eq!(state("SELECT a IS TRUE FROM t"), "42804");
    assert_eq!(state("SELECT CAST(f AS date) FROM d"), "42846");
}

#[test]
fn operators_between_and_untyped_literals() {
    let (plan, _) = bind("SELECT a BETWEEN 1 AND c, a NOT BETWEEN 1 AND 2, day = '2024-01-01', a + 1 FROM t, d");
    let (exprs, _) = project(&plan);
    let Expr::Binary { op: BinaryOp::And, left, right, .. } = &exprs[0] else { panic!() };
    assert!(matches!(**left, Expr::Binary { op: BinaryOp::GtEq, .. }));
    let Expr::Binary { op: BinaryOp::LtEq, left: x, .. } = &**right else { panic!() };
    assert_eq!(**x, col(1, DataType::Int4));
    assert!(matches!(&exprs[1], Expr::Binary { op: BinaryOp::Or, .. }));
    let Expr::Binary { op: BinaryOp::Eq, right, .. } = &exprs[2] else { panic!() };
    assert_eq!(
        **right,
        Expr::Cast { expr: Box::new(Expr::Literal(Value::text("2024-01-01"), DataType::Text)), ty: DataType::Date }
    );
    assert_eq!(exprs[3].ty(), DataType::Int4);
    let (_, params) = bind_with("SELECT a FROM t WHERE a = $1 AND b = $2", &[]);
    assert_eq!(params, [DataType::Int4, DataType::Text]);
    assert_eq!(state("SELECT a + b FROM t"), "42883");
}

#[test]
fn functions_and_special_forms() {
    let (plan, cols) = bind("SELECT abs(a), coalesce(a, c), coalesce(b, 'x'), now(), current_timestamp FROM t");
    assert_eq!(names(&cols), ["abs", "coalesce", "coalesce", "now", "current_timestamp"]);
    let (exprs, _) = project(&plan);
    let Expr::Function { args, ty, .. } = &exprs[1] else { panic!() };
    assert_eq!(*ty, DataType::Int8);
    assert_eq!(args[0], Expr::Cast { expr: Box::new(col(1, DataType::Int4)), ty: DataType::Int8 });
    assert_eq!(state("SELECT nosuch(a) FROM t"), "42883");
    assert_eq!(state("SELECT abs(DISTINCT a) FROM t"), "42809");
}
