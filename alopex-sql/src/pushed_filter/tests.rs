//! The pushed program evaluates exactly like the executor, on random rows
//! of every pushable type (NULLs included); what is not pushable is not
//! pushed; a damaged program is an error, never a silent mismatch.

use super::*;
use crate::catalog::ColumnSchema;
use crate::encoding::row::encode_row;
use crate::encoding::testgen::Gen;

const TYPES: [DataType; 10] = [
    DataType::Int4,
    DataType::Int8,
    DataType::Float8,
    DataType::Numeric(None),
    DataType::Text,
    DataType::Varchar(Some(40)),
    DataType::Bool,
    DataType::Bytea,
    DataType::Date,
    DataType::TimestampTz,
];

fn table() -> TableSchema {
    let columns = TYPES
        .iter()
        .enumerate()
        .map(|(i, ty)| ColumnSchema {
            id: i as u32 + 1,
            name: format!("c{i}"),
            ty: ty.clone(),
            nullable: true,
            default: None,
            missing: Value::Null,
            hidden: false,
        })
        .collect();
    TableSchema {
        id: 1 << 20,
        name: "t".into(),
        primary_key: vec![0],
        columns,
        indexes: vec![],
        checks: vec![],
        next_column_id: TYPES.len() as u32 + 1,
        next_index_id: 1,
    }
}

fn col(i: usize) -> Expr {
    Expr::Column(i, TYPES[i].clone())
}

fn lit(v: Value, i: usize) -> Expr {
    Expr::Literal(v, TYPES[i].clone())
}

fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r), ty: DataType::Bool }
}

fn not(e: Expr) -> Expr {
    Expr::Unary { op: UnaryOp::Not, expr: Box::new(e), ty: DataType::Bool }
}

/// Predicates over the pushable columns, with constants taken from `rows`.
fn predicates(rows: &[Vec<Value>]) -> Vec<Expr> {
    let pick = |i: usize, n: usize| rows[n % rows.len()][i].clone();
    let mut out = Vec::new();
    for i in 0..TYPES.len() - 1 {
        for op in [BinaryOp::Eq, BinaryOp::NotEq, BinaryOp::Lt, BinaryOp::LtEq, BinaryOp::Gt, BinaryOp::GtEq] {
            out.push(bin(op, col(i), lit(pick(i, 7 + i), i)));
            out.push(bin(op, lit(pick(i, 11 + i), i), col(i)));
        }
        out.push(Expr::IsNull { expr: Box::new(col(i)), negated: false });
        out.push(Expr::IsNull { expr: Box::new(col(i)), negated: true });
        out.push(bin(BinaryOp::Eq, col(i), lit(Value::Null, i)));
        let list = vec![lit(pick(i, 1), i), lit(pick(i, 2), i), lit(Value::Null, i)];
        out.push(Expr::InList { expr: Box::new(col(i)), list: list.clone(), negated: false });
        out.push(Expr::InList { expr: Box::new(col(i)), list, negated: true });
    }
    // BETWEEN as the binder binds it, three-valued AND/OR/NOT, LIKE, casts.
    let between = bin(
        BinaryOp::And,
        bin(BinaryOp::GtEq, col(0), lit(pick(0, 3), 0)),
        bin(BinaryOp::LtEq, col(0), lit(pick(0, 4), 0)),
    );
    out.push(between.clone());
    out.push(not(between.clone()));
    out.push(bin(BinaryOp::Or, between, Expr::IsNull { expr: Box::new(col(4)), negated: false }));
    out.push(bin(BinaryOp::And, bin(BinaryOp::Lt, col(1), lit(pick(1, 5), 1)), not(col(6))));
    out.push(bin(BinaryOp::Or, col(6), bin(BinaryOp::Gt, col(2), lit(Value::Null, 2))));
    out.push(not(bin(BinaryOp::Or, col(6), bin(BinaryOp::Eq, col(8), lit(pick(8, 9), 8)))));
    for (pattern, negated) in [("%a%", false), ("a%", true), ("_", false), ("%", false)] {
        out.push(Expr::Like {
            expr: Box::new(col(4)),
            pattern: Box::new(Expr::Literal(Value::Text(pattern.into()), DataType::Text)),
            escape: None,
            case_insensitive: false,
            negated,
        });
    }
    let int_as_numeric = Expr::Cast { expr: Box::new(col(0)), ty: DataType::Numeric(None) };
    out.push(bin(BinaryOp::Lt, int_as_numeric, col(3)));
    out
}

#[test]
fn the_pushed_program_evaluates_like_the_executor() {
    register().unwrap();
    let table = table();
    let mut g = Gen::new(7);
    let rows: Vec<Vec<Value>> = (0..400).map(|_| TYPES.iter().map(|ty| g.value(ty)).collect()).collect();
    let stored: Vec<Vec<u8>> = rows.iter().map(|r| encode_row(&table, r).unwrap()).collect();
    let mut matched_some = 0;
    for p in predicates(&rows) {
        assert!(pushable(&p, &table), "pushable: {p:?}");
        let filter = encode(&table, &p).unwrap();
        let compiled = alopex_core::scan_filter::compile(&filter).unwrap();
        let mut matches = 0;
        for (row, bytes) in rows.iter().zip(&stored) {
            let want = eval_predicate(&p, row, &mut DetachedEnv).unwrap();
            assert_eq!(compiled.matches(b"k", bytes).unwrap(), want, "{p:?} on {row:?}");
            matches += usize::from(want);
        }
        matched_some += usize::from(matches > 0 && matches < rows.len());
    }
    assert!(matched_some > 40, "the predicates are selective ({matched_some})");
}

#[test]
fn only_the_simple_part_is_pushed() {
    let table = table();
    let simple = bin(BinaryOp::Lt, col(0), lit(Value::Int(10), 0));
    let tz = bin(BinaryOp::Lt, col(9), Expr::Literal(Value::Null, DataType::TimestampTz));
    let param = bin(BinaryOp::Lt, col(0), Expr::Param(0, DataType::Int4));
    let ilike = Expr::Like {
        expr: Box::new(col(4)),
        pattern: Box::new(Expr::Literal(Value::Text("a%".into()), DataType::Text)),
        escape: None,
        case_insensitive: true,
        negated: false,
    };
    for p in [&tz, &param, &ilike] {
        assert!(!pushable(p, &table), "{p:?}");
        assert!(encode(&table, p).is_err());
    }
    let all = bin(BinaryOp::And, bin(BinaryOp::And, tz.clone(), simple.clone()), param.clone());
    assert_eq!(pushable_part(&all, &table), Some(simple.clone()));
    assert_eq!(pushable_part(&bin(BinaryOp::Or, tz, simple), &table), None, "an OR pushes whole or not at all");
    assert_eq!(pushable_part(&param, &table), None);
    // A column of the wrong type (a plan bound against another schema).
    assert!(!pushable(&Expr::Column(0, DataType::Int8), &table));
    // Casts that may fail are not pushed; widening ones are.
    let narrowing = Expr::Cast { expr: Box::new(col(1)), ty: DataType::Int4 };
    assert!(!pushable(&bin(BinaryOp::Lt, narrowing, lit(Value::Int(1), 0)), &table));
    let to_scaled = Expr::Cast { expr: Box::new(col(0)), ty: DataType::Numeric(Some((3, 1))) };
    assert!(!pushable(
        &bin(BinaryOp::Lt, to_scaled, Expr::Literal(Value::Null, DataType::Numeric(Some((3, 1))))),
        &table
    ));
    let widening = Expr::Cast { expr: Box::new(col(0)), ty: DataType::Int8 };
    assert!(pushable(&bin(BinaryOp::Lt, widening, lit(Value::Int(1), 1)), &table));
}

#[test]
fn a_damaged_program_is_refused_not_evaluated() {
    register().unwrap();
    let table = table();
    let p = bin(BinaryOp::And, bin(BinaryOp::Lt, col(0), lit(Value::Int(10), 0)), not(col(6)));
    let good = encode(&table, &p).unwrap();
    assert!(decode_program(&good.program).is_ok());
    for cut in 0..good.program.len() {
        assert!(decode_program(&good.program[..cut]).is_err(), "truncated at {cut}");
    }
    let mut trailing = good.program.to_vec();
    trailing.push(0);
    assert!(decode_program(&trailing).is_err());
    for i in 0..good.program.len() {
        let mut flipped = good.program.to_vec();
        flipped[i] ^= 0xFF;
        // Either refused or a valid program: never a panic.
        let _ = decode_program(&flipped);
    }
    // Deep nesting is refused, not a stack overflow.
    let mut nested = Vec::new();
    let head_len = good.program.len() - {
        let mut e = Vec::new();
        encode_expr(&p, &mut e).unwrap();
        e.len()
    };
    nested.extend_from_slice(&good.program[..head_len]);
    nested.extend(std::iter::repeat_n(0x03u8, 100_000));
    assert!(decode_program(&nested).is_err());
    // A row the program cannot evaluate is kept (the scan's own filter
    // then decides, and raises the error where the executor would).
    let compiled = decode_program(&good.program).unwrap();
    assert!(compiled.matches(b"k", b"\xff\xff").unwrap());
}
