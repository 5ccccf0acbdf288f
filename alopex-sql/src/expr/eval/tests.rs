//! Tests of the evaluator, with a small hand-written environment standing in
//! for the executor.

use std::sync::Arc;

use super::*;
use crate::expr::ops::UnaryOp;
use crate::plan::Node;
use DataType as T;

/// Parameters, one outer row, and canned subquery results keyed by id.
struct TestEnv {
    params: Vec<Value>,
    outer: Vec<Value>,
    scalar: Vec<Value>,
    sets: Vec<Vec<Value>>,
    calls: usize,
}

impl TestEnv {
    fn new() -> TestEnv {
        TestEnv { params: vec![], outer: vec![], scalar: vec![], sets: vec![], calls: 0 }
    }
}

impl EvalEnv for TestEnv {
    fn param(&self, index: usize) -> Result<Value> {
        self.params
            .get(index)
            .cloned()
            .ok_or_else(|| crate::sql_err!(UNDEFINED_PARAMETER, "there is no parameter ${}", index + 1))
    }
    fn outer(&self, depth: usize, index: usize) -> Result<Value> {
        assert_eq!(depth, 0);
        self.outer.get(index).cloned().ok_or_else(|| Error::internal("bad outer"))
    }
    fn now(&self) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH
    }
    fn scalar_subquery(&mut self, sub: &Subquery, _row: &[Value]) -> Result<Value> {
        self.calls += 1;
        Ok(self.scalar[sub.id].clone())
    }
    fn exists_subquery(&mut self, sub: &Subquery, _row: &[Value]) -> Result<bool> {
        self.calls += 1;
        Ok(!self.sets[sub.id].is_empty())
    }
    fn subquery_values(&mut self, sub: &Subquery, _row: &[Value]) -> Result<Arc<Vec<Value>>> {
        self.calls += 1;
        Ok(Arc::new(self.sets[sub.id].clone()))
    }
}

fn lit(v: Value) -> Expr {
    Expr::literal(v)
}

fn int(i: i64) -> Expr {
    Expr::Literal(Value::Int(i), T::Int4)
}

fn null() -> Expr {
    Expr::Literal(Value::Null, T::Unknown)
}

fn b(v: Option<bool>) -> Expr {
    Expr::Literal(v.map_or(Value::Null, Value::Bool), T::Bool)
}

fn bin(op: BinaryOp, l: Expr, r: Expr, ty: T) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty }
}

/// `1 / 0`: evaluating it is an error, so it proves laziness.
fn boom() -> Expr {
    bin(BinaryOp::Div, int(1), int(0), T::Int4)
}

fn boom_bool() -> Expr {
    bin(BinaryOp::Eq, boom(), int(1), T::Bool)
}

fn ev(e: &Expr) -> Result<Value> {
    eval(e, &[Value::Int(10), Value::Null, Value::text("abc")], &mut TestEnv::new())
}

fn val(e: &Expr) -> Value {
    ev(e).unwrap_or_else(|err| panic!("{e:?}: {err}"))
}

fn sub(id: usize, kind: SubqueryKind) -> Expr {
    Expr::Subquery(Arc::new(Subquery { id, plan: Node::Empty { width: 1 }, correlated: false, kind, ty: T::Int4 }))
}

#[test]
fn leaves() {
    assert_eq!(val(&Expr::Column(0, T::Int4)), Value::Int(10));
    assert_eq!(val(&Expr::Column(1, T::Int4)), Value::Null);
    let e = ev(&Expr::Column(3, T::Int4)).unwrap_err();
    assert_eq!(e.state.code(), "XX000");
    let mut env = TestEnv::new();
    env.params = vec![Value::text("42"), Value::Int(1)];
    env.outer = vec![Value::text("o")];
    assert_eq!(eval(&Expr::Param(0, T::Int4), &[], &mut env).unwrap(), Value::Int(42));
    assert_eq!(eval(&Expr::Param(1, T::Unknown), &[], &mut env).unwrap(), Value::Int(1));
    assert_eq!(eval(&Expr::Param(5, T::Int4), &[], &mut env).unwrap_err().state.code(), "42P02");
    let outer = Expr::Outer { depth: 0, index: 0, ty: T::Text };
    assert_eq!(eval(&outer, &[], &mut env).unwrap(), Value::text("o"));
}

#[test]
fn and_or_truth_tables_and_short_circuit() {
    let vals = [Some(true), Some(false), None];
    for l in vals {
        for r in vals {
            let and = val(&bin(BinaryOp::And, b(l), b(r), T::Bool));
            let or = val(&bin(BinaryOp::Or, b(l), b(r), T::Bool));
            assert_eq!(and, bool_value(and3(l, r)), "{l:?} AND {r:?}");
            assert_eq!(or, bool_value(or3(l, r)), "{l:?} OR {r:?}");
        }
    }
    assert_eq!(val(&bin(BinaryOp::And, b(None), b(Some(false)), T::Bool)), Value::Bool(false));
    assert_eq!(val(&bin(BinaryOp::Or, b(None), b(Some(true)), T::Bool)), Value::Bool(true));
    // FALSE AND x and TRUE OR x never evaluate x.
    assert_eq!(val(&bin(BinaryOp::And, b(Some(false)), boom_bool(), T::Bool)), Value::Bool(false));
    assert_eq!(val(&bin(BinaryOp::Or, b(Some(true)), boom_bool(), T::Bool)), Value::Bool(true));
    assert_eq!(ev(&bin(BinaryOp::And, b(Some(true)), boom_bool(), T::Bool)).unwrap_err().state.code(), "22012");
    let not = |e: Expr| Expr::Unary { op: UnaryOp::Not, expr: Box::new(e), ty: T::Bool };
    assert_eq!(val(&not(b(None))), Value::Null);
    assert_eq!(val(&not(b(Some(false)))), Value::Bool(true));
}

#[test]
fn null_and_boolean_tests() {
    let is_null = |e: Expr, negated| Expr::IsNull { expr: Box::new(e), negated };
    assert_eq!(val(&is_null(Expr::Column(1, T::Int4), false)), Value::Bool(true));
    assert_eq!(val(&is_null(Expr::Column(0, T::Int4), true)), Value::Bool(true));
    let is =
        |v: Option<bool>, value: Option<bool>, negated| val(&Expr::IsBool { expr: Box::new(b(v)), value, negated });
    assert_eq!(is(Some(true), Some(true), false), Value::Bool(true));
    assert_eq!(is(None, Some(true), false), Value::Bool(false));
    assert_eq!(is(None, Some(false), true), Value::Bool(true));
    assert_eq!(is(None, None, false), Value::Bool(true));
    assert_eq!(is(Some(false), None, false), Value::Bool(false));
    assert_eq!(is(Some(false), None, true), Value::Bool(true));
}

#[test]
fn like_expressions() {
    let like = |s: Expr, p: &str, escape: Option<char>, ci: bool, negated: bool| Expr::Like {
        expr: Box::new(s),
        pattern: Box::new(lit(Value::text(p))),
        escape,
        case_insensitive: ci,
        negated,
    };
    assert_eq!(val(&like(Expr::Column(2, T::Text), "a%", None, false, false)), Value::Bool(true));
    assert_eq!(val(&like(Expr::Column(2, T::Text), "A%", None, false, false)), Value::Bool(false));
    assert_eq!(val(&like(Expr::Column(2, T::Text), "A%", None, true, false)), Value::Bool(true));
    assert_eq!(val(&like(Expr::Column(2, T::Text), "a_c", None, false, true)), Value::Bool(false));
    assert_eq!(val(&like(Expr::Column(1, T::Text), "%", None, false, false)), Value::Null);
    assert_eq!(val(&like(lit(Value::text("5%")), "5!%", Some('!'), false, false)), Value::Bool(true));
    assert_eq!(val(&like(lit(Value::text("5%")), "5\\%", None, false, false)), Value::Bool(true));
    assert_eq!(ev(&like(lit(Value::text("x")), "x\\", None, false, false)).unwrap_err().state.code(), "22025");
}

#[test]
fn in_lists() {
    let inl = |probe: Expr, list: Vec<Expr>, negated| Expr::InList { expr: Box::new(probe), list, negated };
    assert_eq!(val(&inl(int(1), vec![int(1), int(2)], false)), Value::Bool(true));
    assert_eq!(val(&inl(int(3), vec![int(1), int(2)], false)), Value::Bool(false));
    assert_eq!(val(&inl(int(3), vec![int(1), null()], false)), Value::Null);
    assert_eq!(val(&inl(int(1), vec![null(), int(1)], false)), Value::Bool(true));
    assert_eq!(val(&inl(null(), vec![int(1)], false)), Value::Null);
    assert_eq!(val(&inl(int(3), vec![int(1), int(2)], true)), Value::Bool(true));
    assert_eq!(val(&inl(int(3), vec![int(1), null()], true)), Value::Null);
    assert_eq!(val(&inl(int(1), vec![int(1), null()], true)), Value::Bool(false));
    // Stops at the first match.
    assert_eq!(val(&inl(int(1), vec![int(1), boom()], false)), Value::Bool(true));
    let numeric = lit(Value::Numeric("1.0".parse().unwrap()));
    assert_eq!(val(&inl(int(1), vec![numeric], false)), Value::Bool(true));
}

#[test]
fn case_expressions() {
    let case = |operand: Option<Expr>, branches: Vec<(Expr, Expr)>, else_result: Option<Expr>| Expr::Case {
        operand: operand.map(Box::new),
        branches,
        else_result: else_result.map(Box::new),
        ty: T::Int4,
    };
    let searched = case(None, vec![(b(Some(false)), boom()), (b(None), boom()), (b(Some(true)), int(7))], Some(boom()));
    assert_eq!(val(&searched), Value::Int(7));
    assert_eq!(val(&case(None, vec![(b(Some(false)), int(1))], None)), Value::Null);
    assert_eq!(val(&case(None, vec![(b(None), int(1))], Some(int(2)))), Value::Int(2));
    let simple = case(Some(Expr::Column(0, T::Int4)), vec![(int(5), int(1)), (int(10), int(2))], Some(int(3)));
    assert_eq!(val(&simple), Value::Int(2));
    let null_operand = case(Some(null()), vec![(null(), int(1))], Some(int(3)));
    assert_eq!(val(&null_operand), Value::Int(3));
}

#[test]
fn casts_functions_and_coalesce() {
    let cast = Expr::Cast { expr: Box::new(lit(Value::text("12"))), ty: T::Int4 };
    assert_eq!(val(&cast), Value::Int(12));
    let bad = Expr::Cast { expr: Box::new(lit(Value::text("x"))), ty: T::Int4 };
    assert_eq!(ev(&bad).unwrap_err().state.code(), "22P02");
    let coalesce = Expr::Function { func: ScalarFunc::Coalesce, args: vec![null(), int(2), boom()], ty: T::Int4 };
    assert_eq!(val(&coalesce), Value::Int(2));
    let abs = Expr::Function { func: ScalarFunc::Abs, args: vec![int(-3)], ty: T::Int4 };
    assert_eq!(val(&abs), Value::Int(3));
    let now = Expr::Function { func: ScalarFunc::Now, args: vec![], ty: T::TimestampTz };
    assert_eq!(cast::to_text(&val(&now)).unwrap(), "1970-01-01 00:00:00+00");
    let overflow = bin(BinaryOp::Mul, int(i32::MAX as i64), int(2), T::Int4);
    assert_eq!(ev(&overflow).unwrap_err().message, "integer out of range");
    assert!(eval_predicate(&b(Some(true)), &[], &mut TestEnv::new()).unwrap());
    assert!(!eval_predicate(&b(None), &[], &mut TestEnv::new()).unwrap());
    assert!(!eval_predicate(&b(Some(false)), &[], &mut TestEnv::new()).unwrap());
}

#[test]
fn subqueries() {
    let mut env = TestEnv::new();
    env.scalar = vec![Value::Int(5)];
    env.sets = vec![vec![Value::Int(1), Value::Int(2)], vec![Value::Int(1), Value::Null], vec![], vec![Value::Null]];
    let mut run = |e: Expr| eval(&e, &[], &mut env).unwrap();
    assert_eq!(run(sub(0, SubqueryKind::Scalar)), Value::Int(5));
    assert_eq!(run(sub(0, SubqueryKind::Exists { negated: false })), Value::Bool(true));
    assert_eq!(run(sub(2, SubqueryKind::Exists { negated: false })), Value::Bool(false));
    assert_eq!(run(sub(2, SubqueryKind::Exists { negated: true })), Value::Bool(true));
    let in_ = |id, probe: Expr, negated| sub(id, SubqueryKind::In { probe: Box::new(probe), negated });
    assert_eq!(run(in_(0, int(2), false)), Value::Bool(true));
    assert_eq!(run(in_(0, int(3), false)), Value::Bool(false));
    assert_eq!(run(in_(1, int(3), false)), Value::Null);
    assert_eq!(run(in_(1, int(3), true)), Value::Null);
    assert_eq!(run(in_(1, int(1), true)), Value::Bool(false));
    assert_eq!(run(in_(2, null(), false)), Value::Bool(false));
    assert_eq!(run(in_(2, null(), true)), Value::Bool(true));
    assert_eq!(run(in_(0, null(), false)), Value::Null);
    let q = |id, probe: Expr, op, all| sub(id, SubqueryKind::Quantified { probe: Box::new(probe), op, all });
    assert_eq!(run(q(0, int(2), BinaryOp::Gt, false)), Value::Bool(true));
    assert_eq!(run(q(0, int(2), BinaryOp::Gt, true)), Value::Bool(false));
    assert_eq!(run(q(0, int(3), BinaryOp::Gt, true)), Value::Bool(true));
    assert_eq!(run(q(1, int(3), BinaryOp::Gt, true)), Value::Null);
    assert_eq!(run(q(1, int(0), BinaryOp::Gt, true)), Value::Bool(false));
    assert_eq!(run(q(1, int(3), BinaryOp::Gt, false)), Value::Bool(true));
    assert_eq!(run(q(3, int(3), BinaryOp::Eq, false)), Value::Null);
    assert_eq!(run(q(2, null(), BinaryOp::Eq, false)), Value::Bool(false));
    assert_eq!(run(q(2, null(), BinaryOp::Eq, true)), Value::Bool(true));
}

#[test]
fn value_sets_follow_in_null_rules() {
    use crate::expr::ValueSet;
    let set = ValueSet::new([Value::Int(1), Value::Int(2)]);
    assert_eq!(set.contains(&Value::Int(2)), Some(true));
    assert_eq!(set.contains(&Value::Float(2.0)), Some(true), "numbers compare by value");
    assert_eq!(set.contains(&Value::Int(3)), Some(false));
    assert_eq!(set.contains(&Value::Null), None);
    let with_null = ValueSet::new([Value::Int(1), Value::Null]);
    assert_eq!(with_null.contains(&Value::Int(1)), Some(true));
    assert_eq!(with_null.contains(&Value::Int(3)), None);
    let empty = ValueSet::new([]);
    assert_eq!(empty.contains(&Value::Null), Some(false), "x IN (empty) is false even for NULL");
}
