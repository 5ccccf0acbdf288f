//! Vector functions and operators (pgvector's), and the distance kernels
//! behind them.
//!
//! The SQL surface follows pgvector exactly, because pgvector users switch
//! by pointing their queries at Alopex:
//!
//! | SQL                                  | result             | computed as                          |
//! |--------------------------------------|--------------------|--------------------------------------|
//! | `a <-> b`, `l2_distance(a, b)`       | double precision   | `sqrt(Σ (aᵢ-bᵢ)²)`, sum in `f32`     |
//! | `a <#> b`                            | double precision   | `-Σ aᵢbᵢ`, sum in `f32`              |
//! | `inner_product(a, b)`                | double precision   | `Σ aᵢbᵢ`, sum in `f32`               |
//! | `a <=> b`, `cosine_distance(a, b)`   | double precision   | `1 - ab / sqrt(aa · bb)`, clamped    |
//! | `l1_distance(a, b)`                  | double precision   | `Σ abs(aᵢ-bᵢ)`, sum in `f32`         |
//! | `vector_dims(a)`                     | integer            | the element count                    |
//! | `vector_norm(a)`                     | double precision   | `sqrt(Σ aᵢ²)`, sum in `f64`          |
//! | `l2_normalize(a)`                    | vector             | `a / norm`; a zero vector stays zero |
//! | `a + b`, `a - b`, `a * b`            | vector             | elementwise, 22003 on overflow       |
//!
//! Two vectors of different lengths are `22000 different vector dimensions
//! 3 and 2`. The cosine distance to a zero vector is NaN (0/0), as in
//! pgvector. NULL in gives NULL out (all are strict).
//!
//! The kernels sum in `f32` like pgvector (whose C loops GCC vectorizes
//! with reassociation allowed), over eight independent accumulators: the
//! fixed-width arrays let LLVM keep them in SIMD registers without
//! `-ffast-math`, and the pairwise order gives results as accurate as a
//! sequential sum. They may differ from pgvector's in the last bits of a
//! large sum, never in the visible digits of ordinary data.
//!
//! The sums are the storage engine's kernels (`alopex_core::vector::distance`,
//! which the HNSW search uses too), so SQL and the index agree on every
//! distance; only `l1`, which the engine has no use for, lives here.

use std::sync::Arc;

pub use alopex_core::vector::distance::{dot, l2_squared};

use super::{ScalarFunc, arg};
use crate::error::{Error, Result};
use crate::expr::ops::BinaryOp;
use crate::sql_err;
use crate::types::Value;

/// Number of independent accumulators (one 256-bit register of `f32`).
const LANES: usize = 8;

/// `Σ abs(aᵢ-bᵢ)`.
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..LANES {
            acc[i] += (x[i] - y[i]).abs();
        }
    }
    fold(acc) + ar.iter().zip(br).map(|(x, y)| (x - y).abs()).sum::<f32>()
}

/// Pairwise sum of the accumulators.
fn fold(acc: [f32; LANES]) -> f32 {
    let [a, b, c, d, e, f, g, h] = acc;
    ((a + e) + (c + g)) + ((b + f) + (d + h))
}

/// The L2 distance, as pgvector computes it (`sqrt` in double).
pub fn l2_distance(a: &[f32], b: &[f32]) -> f64 {
    (l2_squared(a, b) as f64).sqrt()
}

/// The cosine distance `1 - cos`, with the cosine clamped to [-1, 1]; NaN
/// when either vector is zero.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let (ab, aa, bb) = (dot(a, b), dot(a, a), dot(b, b));
    // pgvector: sqrt(a * b) rather than sqrt(a) * sqrt(b).
    let similarity = ab as f64 / (aa as f64 * bb as f64).sqrt();
    1.0 - similarity.clamp(-1.0, 1.0)
}

/// The vector operators `<->`, `<=>`, `<#>` on two non-NULL values.
pub(crate) fn distance(op: BinaryOp, a: &Value, b: &Value) -> Result<Value> {
    let (a, b) = pair(a, b, op.symbol())?;
    Ok(Value::Float(match op {
        BinaryOp::L2Distance => l2_distance(a, b),
        BinaryOp::CosineDistance => cosine_distance(a, b),
        BinaryOp::NegInnerProduct => -(dot(a, b) as f64),
        other => return Err(Error::internal(format!("{} is not a vector distance", other.symbol()))),
    }))
}

/// Elementwise `+`, `-`, `*` on two non-NULL vectors.
pub(crate) fn arith(op: BinaryOp, a: &Value, b: &Value) -> Result<Value> {
    let (a, b) = pair(a, b, op.symbol())?;
    let out: Vec<f32> = match op {
        BinaryOp::Add => a.iter().zip(b).map(|(x, y)| x + y).collect(),
        BinaryOp::Sub => a.iter().zip(b).map(|(x, y)| x - y).collect(),
        BinaryOp::Mul => a.iter().zip(b).map(|(x, y)| x * y).collect(),
        other => return Err(Error::internal(format!("vector {} is not elementwise", other.symbol()))),
    };
    if out.iter().any(|x| x.is_infinite()) {
        return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    if op == BinaryOp::Mul && out.iter().zip(a.iter().zip(b)).any(|(r, (x, y))| *r == 0.0 && *x != 0.0 && *y != 0.0) {
        return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow"));
    }
    Ok(Value::Vector(Arc::from(out)))
}

/// Calls a vector function on non-NULL arguments.
pub(crate) fn call(func: ScalarFunc, args: &[Value]) -> Result<Value> {
    use ScalarFunc::*;
    Ok(match func {
        L2Distance => distance(BinaryOp::L2Distance, arg(args, 0)?, arg(args, 1)?)?,
        CosineDistance => distance(BinaryOp::CosineDistance, arg(args, 0)?, arg(args, 1)?)?,
        InnerProduct => {
            let (a, b) = pair(arg(args, 0)?, arg(args, 1)?, "inner_product")?;
            Value::Float(dot(a, b) as f64)
        }
        L1Distance => {
            let (a, b) = pair(arg(args, 0)?, arg(args, 1)?, "l1_distance")?;
            Value::Float(l1(a, b) as f64)
        }
        VectorDims => Value::Int(one(args)?.len() as i64),
        VectorNorm => Value::Float(norm(one(args)?)),
        L2Normalize => {
            let v = one(args)?;
            let n = norm(v);
            if n > 0.0 {
                let out: Vec<f32> = v.iter().map(|x| (*x as f64 / n) as f32).collect();
                if out.iter().any(|x| x.is_infinite()) {
                    return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
                }
                Value::Vector(Arc::from(out))
            } else {
                Value::Vector(Arc::from(vec![0f32; v.len()]))
            }
        }
        other => return Err(Error::internal(format!("{} is not a vector function", other.name()))),
    })
}

/// `sqrt(Σ aᵢ²)` summed in double, as pgvector's `vector_norm`.
fn norm(v: &[f32]) -> f64 {
    v.iter().map(|x| *x as f64 * *x as f64).sum::<f64>().sqrt()
}

fn one(args: &[Value]) -> Result<&[f32]> {
    match arg(args, 0)? {
        Value::Vector(v) => Ok(v),
        other => Err(Error::internal(format!("vector function applied to {other:?}"))),
    }
}

/// Two vectors of one dimension (22000 otherwise).
fn pair<'a>(a: &'a Value, b: &'a Value, what: &str) -> Result<(&'a [f32], &'a [f32])> {
    match (a, b) {
        (Value::Vector(a), Value::Vector(b)) => {
            if a.len() != b.len() {
                return Err(sql_err!(DATA_EXCEPTION, "different vector dimensions {} and {}", a.len(), b.len()));
            }
            Ok((a, b))
        }
        _ => Err(Error::internal(format!("{what} applied to {a:?} and {b:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[f32]) -> Value {
        Value::from(x)
    }

    fn float(r: Result<Value>) -> f64 {
        match r.unwrap() {
            Value::Float(f) => f,
            other => panic!("{other:?}"),
        }
    }

    /// Vectors of many lengths (below, at and past the lane count) with
    /// irregular values.
    fn samples() -> Vec<(Vec<f32>, Vec<f32>)> {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u64 << 24) as f32) * 4.0 - 2.0
        };
        [1, 3, 7, 8, 9, 15, 16, 17, 100, 384, 1000]
            .iter()
            .map(|&n| ((0..n).map(|_| next()).collect(), (0..n).map(|_| next()).collect()))
            .collect()
    }

    #[test]
    fn kernels_agree_with_naive_sums() {
        for (a, b) in samples() {
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-4 * (1.0 + y.abs());
            let naive_l2: f64 = a.iter().zip(&b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
            let naive_dot: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let naive_l1: f64 = a.iter().zip(&b).map(|(x, y)| ((x - y) as f64).abs()).sum();
            let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum();
            let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum();
            assert!(close(l2_squared(&a, &b) as f64, naive_l2), "{}", a.len());
            assert!(close(dot(&a, &b) as f64, naive_dot), "{}", a.len());
            assert!(close(l1(&a, &b) as f64, naive_l1), "{}", a.len());
            assert!(close(cosine_distance(&a, &b), 1.0 - naive_dot / (na * nb).sqrt()), "{}", a.len());
        }
    }

    #[test]
    fn operators_match_pgvector() {
        use BinaryOp::*;
        let (a, b) = (v(&[1.0, 2.0, 3.0]), v(&[3.0, 2.0, 1.0]));
        assert_eq!(float(distance(L2Distance, &a, &b)), 2.8284271247461903);
        assert_eq!(float(distance(NegInnerProduct, &a, &b)), -10.0);
        assert_eq!(float(distance(CosineDistance, &a, &b)), 0.2857142857142857);
        assert_eq!(float(distance(CosineDistance, &v(&[1.0, 1.0]), &v(&[-1.0, -1.0]))), 2.0);
        assert!(float(distance(CosineDistance, &v(&[0.0, 0.0]), &v(&[1.0, 1.0]))).is_nan());
        let err = distance(L2Distance, &a, &v(&[1.0, 2.0])).unwrap_err();
        assert_eq!((err.state.code(), err.message.as_str()), ("22000", "different vector dimensions 3 and 2"));
        assert_eq!(arith(Add, &a, &b).unwrap(), v(&[4.0, 4.0, 4.0]));
        assert_eq!(arith(Sub, &a, &b).unwrap(), v(&[-2.0, 0.0, 2.0]));
        assert_eq!(arith(Mul, &a, &b).unwrap(), v(&[3.0, 4.0, 3.0]));
        let big = v(&[3e38]);
        assert_eq!(arith(Add, &big, &big).unwrap_err().state.code(), "22003");
        assert_eq!(arith(Mul, &v(&[1e-30]), &v(&[1e-30])).unwrap_err().message, "value out of range: underflow");
    }

    #[test]
    fn functions_match_pgvector() {
        use ScalarFunc::*;
        let (a, b) = (v(&[1.0, 2.0, 3.0]), v(&[3.0, 2.0, 1.0]));
        assert_eq!(float(call(InnerProduct, &[a.clone(), b.clone()])), 10.0);
        assert_eq!(float(call(L1Distance, &[a.clone(), b.clone()])), 4.0);
        assert_eq!(float(call(L2Distance, &[a.clone(), b.clone()])), 2.8284271247461903);
        assert_eq!(call(VectorDims, std::slice::from_ref(&a)).unwrap(), Value::Int(3));
        assert_eq!(float(call(VectorNorm, &[v(&[3.0, 4.0])])), 5.0);
        assert_eq!(call(L2Normalize, &[v(&[3.0, 4.0])]).unwrap(), v(&[0.6, 0.8]));
        assert_eq!(call(L2Normalize, &[v(&[0.0, 0.0])]).unwrap(), v(&[0.0, 0.0]));
    }
}
