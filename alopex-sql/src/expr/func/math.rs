//! Math functions and the NULL-aware value pickers (GREATEST, LEAST,
//! COALESCE, NULLIF).
//!
//! Each function has a DOUBLE PRECISION and (most) a NUMERIC body, chosen by
//! the argument's tag. The float bodies follow `float.c` (`rint` rounding,
//! overflow and underflow are 22003, logarithms of zero or negatives are
//! 2201E, square roots of negatives 2201F); the NUMERIC bodies are exact
//! where the operation is (`round`, `trunc`, `ceil`, `floor`, `abs`) and
//! otherwise keep at least 16 significant digits the way `numeric.c` picks
//! its result scale.

use std::cell::Cell;

use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

use super::{ScalarFunc, arg};
use crate::error::{Error, Result, SqlState};
use crate::expr::cast::{input, numeric};
use crate::expr::ops::{self, BinaryOp, arith, compare};
use crate::types::{DataType, Value};

/// Calls a math function (NULLs already handled for strict ones).
pub(super) fn call(func: ScalarFunc, args: &[Value], ty: &DataType) -> Result<Value> {
    use ScalarFunc::*;
    let x = || arg(args, 0);
    Ok(match func {
        Abs => match x()? {
            Value::Int(i) => Value::Int(numeric::check_int((*i as i128).abs(), ty)?),
            Value::Float(f) => Value::Float(f.abs()),
            Value::Numeric(d) => Value::Numeric(d.abs()),
            other => return Err(not_a_number(other)),
        },
        Ceil => unary(x()?, f64::ceil, |d| Ok(d.ceil()))?,
        Floor => unary(x()?, f64::floor, |d| Ok(d.floor()))?,
        Round => unary(x()?, f64::round_ties_even, |d| round(d, 0, RoundingStrategy::MidpointAwayFromZero))?,
        Trunc => unary(x()?, f64::trunc, |d| round(d, 0, RoundingStrategy::ToZero))?,
        RoundTo | TruncTo => {
            let d = arith::to_decimal(x()?)?;
            let digits = int_arg(args, 1)?;
            let strategy =
                if func == RoundTo { RoundingStrategy::MidpointAwayFromZero } else { RoundingStrategy::ToZero };
            Value::Numeric(round(&d, digits, strategy)?)
        }
        Sign => unary(
            x()?,
            |f| {
                if f > 0.0 {
                    1.0
                } else if f < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            },
            |d| {
                Ok(if d.is_zero() {
                    Decimal::ZERO
                } else if d.is_sign_negative() {
                    -Decimal::ONE
                } else {
                    Decimal::ONE
                })
            },
        )?,
        Sqrt => match x()? {
            Value::Numeric(d) => Value::Numeric(numeric_sqrt(d)?),
            v => {
                let f = arith::to_f64(v)?;
                if f < 0.0 {
                    return Err(Error::new(SqlState("2201F"), "cannot take square root of a negative number"));
                }
                Value::Float(f.sqrt())
            }
        },
        Cbrt => Value::Float(arith::to_f64(x()?)?.cbrt()),
        Exp => match x()? {
            Value::Numeric(d) => {
                let r = d.checked_exp().ok_or_else(input::overflow)?;
                Value::Numeric(arith::with_scale(r, arith::significant_scale(&r, &[d.scale()])))
            }
            v => Value::Float(float_exp(arith::to_f64(v)?)?),
        },
        Ln | Log10 => match x()? {
            Value::Numeric(d) => {
                log_domain(numeric::decimal_to_f64(d))?;
                let r = if func == Ln { d.checked_ln() } else { d.checked_log10() }.ok_or_else(input::overflow)?;
                Value::Numeric(arith::with_scale(r, arith::significant_scale(&r, &[d.scale()])))
            }
            v => {
                let f = arith::to_f64(v)?;
                log_domain(f)?;
                Value::Float(if func == Ln { f.ln() } else { f.log10() })
            }
        },
        Log => {
            let (b, v) = (arith::to_decimal(x()?)?, arith::to_decimal(arg(args, 1)?)?);
            log_domain(numeric::decimal_to_f64(&b))?;
            log_domain(numeric::decimal_to_f64(&v))?;
            let ln_b = b.checked_ln().ok_or_else(input::overflow)?;
            let ln_v = v.checked_ln().ok_or_else(input::overflow)?;
            if ln_b.is_zero() {
                return Err(arith::division_by_zero());
            }
            let r = ln_v.checked_div(ln_b).ok_or_else(input::overflow)?;
            Value::Numeric(arith::with_scale(r, arith::significant_scale(&r, &[b.scale(), v.scale()])))
        }
        Power => ops::binary(BinaryOp::Pow, x()?, arg(args, 1)?, ty)?,
        Mod => ops::binary(BinaryOp::Mod, x()?, arg(args, 1)?, ty)?,
        Pi => Value::Float(std::f64::consts::PI),
        Random => Value::Float(random()),
        Degrees => Value::Float(arith::to_f64(x()?)? / RADIANS_PER_DEGREE),
        Radians => Value::Float(arith::to_f64(x()?)? * RADIANS_PER_DEGREE),
        Greatest | Least => {
            let mut best: Option<&Value> = None;
            for v in args.iter().filter(|v| !v.is_null()) {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let ord = compare::sql_cmp(v, b)?;
                        if func == Greatest { ord.is_gt() } else { ord.is_lt() }
                    }
                };
                if better {
                    best = Some(v);
                }
            }
            best.cloned().unwrap_or(Value::Null)
        }
        Coalesce => args.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null),
        NullIf => {
            let (a, b) = (x()?, arg(args, 1)?);
            if !a.is_null() && !b.is_null() && compare::sql_eq(a, b)? { Value::Null } else { a.clone() }
        }
        other => return Err(Error::internal(format!("{} is not a math function", other.name()))),
    })
}

/// PostgreSQL's `RADIANS_PER_DEGREE`.
const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

fn not_a_number(v: &Value) -> Error {
    Error::internal(format!("expected a number, got {v:?}"))
}

/// An integer argument.
pub(super) fn int_arg(args: &[Value], i: usize) -> Result<i64> {
    match arg(args, i)? {
        Value::Int(n) => Ok(*n),
        other => Err(Error::internal(format!("expected an integer argument, got {other:?}"))),
    }
}

/// Applies the float or the NUMERIC body by tag.
fn unary(v: &Value, float: impl Fn(f64) -> f64, decimal: impl Fn(&Decimal) -> Result<Decimal>) -> Result<Value> {
    Ok(match v {
        Value::Numeric(d) => Value::Numeric(decimal(d)?),
        Value::Int(_) | Value::Float(_) => Value::Float(float(arith::to_f64(v)?)),
        other => return Err(not_a_number(other)),
    })
}

/// `round`/`trunc` to `digits` fraction digits; negative digits round to
/// tens, hundreds, …; the result's scale is `max(digits, 0)`.
fn round(d: &Decimal, digits: i64, strategy: RoundingStrategy) -> Result<Decimal> {
    if digits >= 0 {
        let digits = digits.min(28) as u32;
        let mut r = d.round_dp_with_strategy(digits, strategy);
        if r.scale() < digits {
            r.rescale(digits);
        }
        return Ok(r);
    }
    let k = digits.unsigned_abs();
    if k > 28 {
        return Ok(Decimal::ZERO);
    }
    let factor = Decimal::from_i128_with_scale(10i128.pow(k as u32), 0);
    let scaled = d.checked_div(factor).ok_or_else(input::overflow)?.round_dp_with_strategy(0, strategy);
    let mut r = scaled.checked_mul(factor).ok_or_else(input::overflow)?;
    r.rescale(0);
    Ok(r)
}

/// NUMERIC `sqrt` with PostgreSQL's result scale.
fn numeric_sqrt(d: &Decimal) -> Result<Decimal> {
    if d.is_sign_negative() && !d.is_zero() {
        return Err(Error::new(SqlState("2201F"), "cannot take square root of a negative number"));
    }
    let weight = if d.is_zero() { 0 } else { arith::nbase_lead(d).0 as i64 };
    let sweight = (weight + 1) * 4 / 2 - 1;
    let rscale = (16 - sweight).max(d.scale() as i64);
    let r = d.sqrt().ok_or_else(input::overflow)?;
    Ok(arith::with_scale(r, rscale))
}

/// 2201E for the logarithm of zero or a negative number.
fn log_domain(f: f64) -> Result<()> {
    if f == 0.0 {
        return Err(Error::new(SqlState("2201E"), "cannot take logarithm of zero"));
    }
    if f < 0.0 {
        return Err(Error::new(SqlState("2201E"), "cannot take logarithm of a negative number"));
    }
    Ok(())
}

/// `exp(float8)` with overflow and underflow errors.
fn float_exp(f: f64) -> Result<f64> {
    if f.is_nan() || f.is_infinite() {
        return Ok(if f == f64::NEG_INFINITY { 0.0 } else { f });
    }
    let r = f.exp();
    if r.is_infinite() {
        return Err(arith::float_overflow());
    }
    if r == 0.0 {
        return Err(arith::float_underflow());
    }
    Ok(r)
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
    h.finish() | 1
}

/// A uniform float in [0, 1) from a per-thread xorshift64* generator.
fn random() -> f64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::cast::to_text;

    fn num(s: &str) -> Value {
        Value::Numeric(s.parse().unwrap())
    }

    fn run(func: ScalarFunc, args: &[Value], ty: &DataType) -> String {
        let v = super::super::call(func, args, ty, chrono::DateTime::UNIX_EPOCH).unwrap();
        to_text(&v).unwrap_or_else(|| "NULL".into())
    }

    fn code(func: ScalarFunc, args: &[Value], ty: &DataType) -> &'static str {
        super::super::call(func, args, ty, chrono::DateTime::UNIX_EPOCH).unwrap_err().state.code()
    }

    use DataType as T;
    use ScalarFunc as F;

    #[test]
    fn abs_and_rounding() {
        let n = T::Numeric(None);
        assert_eq!(run(F::Abs, &[Value::Int(-5)], &T::Int4), "5");
        assert_eq!(code(F::Abs, &[Value::Int(i32::MIN as i64)], &T::Int4), "22003");
        assert_eq!(run(F::Abs, &[num("-1.50")], &n), "1.50");
        assert_eq!(run(F::Abs, &[Value::Null], &T::Int4), "NULL");
        assert_eq!(run(F::Round, &[num("2.5")], &n), "3");
        assert_eq!(run(F::Round, &[num("-2.5")], &n), "-3");
        assert_eq!(run(F::Round, &[Value::Float(2.5)], &T::Float8), "2");
        assert_eq!(run(F::Round, &[Value::Float(3.5)], &T::Float8), "4");
        assert_eq!(run(F::RoundTo, &[num("1.5"), Value::Int(2)], &n), "1.50");
        assert_eq!(run(F::RoundTo, &[num("3.14159"), Value::Int(2)], &n), "3.14");
        assert_eq!(run(F::RoundTo, &[num("1234.5678"), Value::Int(-2)], &n), "1200");
        assert_eq!(run(F::RoundTo, &[num("1250"), Value::Int(-2)], &n), "1300");
        assert_eq!(run(F::TruncTo, &[num("3.789"), Value::Int(1)], &n), "3.7");
        assert_eq!(run(F::Trunc, &[num("-3.7")], &n), "-3");
        assert_eq!(run(F::Ceil, &[num("1.2")], &n), "2");
        assert_eq!(run(F::Ceil, &[Value::Float(-0.5)], &T::Float8), "-0");
        assert_eq!(run(F::Floor, &[num("-1.2")], &n), "-2");
        assert_eq!(run(F::Sign, &[num("-4.2")], &n), "-1");
        assert_eq!(run(F::Sign, &[Value::Float(0.0)], &T::Float8), "0");
    }

    #[test]
    fn roots_logs_and_powers() {
        let n = T::Numeric(None);
        assert_eq!(run(F::Sqrt, &[num("2")], &n), "1.414213562373095");
        assert_eq!(run(F::Sqrt, &[num("100")], &n), "10.000000000000000");
        assert_eq!(run(F::Sqrt, &[Value::Float(16.0)], &T::Float8), "4");
        assert_eq!(code(F::Sqrt, &[Value::Float(-1.0)], &T::Float8), "2201F");
        assert_eq!(code(F::Sqrt, &[num("-1")], &n), "2201F");
        assert_eq!(run(F::Cbrt, &[Value::Float(27.0)], &T::Float8), "3");
        assert_eq!(run(F::Ln, &[num("2")], &n), "0.6931471805599453");
        assert_eq!(run(F::Log10, &[num("100")], &n), "2.0000000000000000");
        assert_eq!(run(F::Log10, &[Value::Float(1000.0)], &T::Float8), "3");
        assert_eq!(run(F::Log, &[num("2"), num("8")], &n), "3.0000000000000000");
        assert_eq!(code(F::Ln, &[Value::Float(0.0)], &T::Float8), "2201E");
        assert_eq!(code(F::Ln, &[num("-1")], &n), "2201E");
        assert_eq!(code(F::Log, &[num("1"), num("8")], &n), "22012");
        assert_eq!(run(F::Exp, &[num("1")], &n), "2.7182818284590452");
        assert_eq!(run(F::Exp, &[Value::Float(0.0)], &T::Float8), "1");
        assert_eq!(code(F::Exp, &[Value::Float(1000.0)], &T::Float8), "22003");
        assert_eq!(code(F::Exp, &[Value::Float(-1000.0)], &T::Float8), "22003");
        assert_eq!(run(F::Power, &[Value::Float(2.0), Value::Float(10.0)], &T::Float8), "1024");
        assert_eq!(run(F::Power, &[num("2"), num("3")], &n), "8.0000000000000000");
        assert_eq!(run(F::Mod, &[Value::Int(7), Value::Int(3)], &T::Int4), "1");
        assert_eq!(code(F::Mod, &[Value::Int(7), Value::Int(0)], &T::Int4), "22012");
        assert_eq!(run(F::Degrees, &[Value::Float(1.0)], &T::Float8), "57.29577951308232");
        assert_eq!(run(F::Pi, &[], &T::Float8), "3.141592653589793");
    }

    #[test]
    fn random_is_uniform_in_unit_interval() {
        let draws: Vec<f64> = (0..1000).map(|_| random()).collect();
        assert!(draws.iter().all(|f| (0.0..1.0).contains(f)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn pickers() {
        assert_eq!(run(F::Greatest, &[Value::Int(1), Value::Null, Value::Int(3)], &T::Int4), "3");
        assert_eq!(run(F::Least, &[Value::Int(1), Value::Null, Value::Int(3)], &T::Int4), "1");
        assert_eq!(run(F::Greatest, &[Value::Null, Value::Null], &T::Int4), "NULL");
        assert_eq!(run(F::Coalesce, &[Value::Null, Value::Int(2), Value::Int(3)], &T::Int4), "2");
        assert_eq!(run(F::NullIf, &[Value::Int(1), Value::Int(1)], &T::Int4), "NULL");
        assert_eq!(run(F::NullIf, &[Value::Int(1), Value::Int(2)], &T::Int4), "1");
        assert_eq!(run(F::NullIf, &[Value::Int(1), Value::Null], &T::Int4), "1");
        assert_eq!(run(F::NullIf, &[Value::Null, Value::Int(1)], &T::Int4), "NULL");
    }
}
