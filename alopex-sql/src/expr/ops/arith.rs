//! Arithmetic on numbers, with PostgreSQL's overflow and rounding rules.
//!
//! * Integers are computed in `i128` and then checked against the width of
//!   the operator's result type, so `int4 + int4` overflowing 32 bits is
//!   22003 `integer out of range` even though values are carried as `i64`.
//!   Division truncates toward zero; `/` and `%` by zero are 22012;
//!   `x % -1` is 0 (PostgreSQL special-cases it to avoid the trap).
//! * NUMERIC is exact (`rust_decimal`, 28 significant digits); anything that
//!   does not fit is 22003 `value overflows numeric format`. Division uses
//!   PostgreSQL's `select_div_scale`: at least 16 significant digits and no
//!   fewer fraction digits than either input, so `1/3` is
//!   `0.33333333333333333333` and `6/3` is `2.0000000000000000`. `^` picks
//!   its scale as PostgreSQL 15's `power_var` does (16 fraction digits for
//!   an integral exponent, else 16 significant digits).
//! * Floats follow `float.h` of PostgreSQL: a finite operation that
//!   overflows to infinity is 22003 `value out of range: overflow`, one that
//!   underflows to zero is `value out of range: underflow`, division by zero
//!   is 22012 even for floats, and `^` reports 2201F for `0 ^ -1` and
//!   negative bases with fractional exponents. REAL results are rounded
//!   through `f32`.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, MathematicalOps, RoundingStrategy};

use super::BinaryOp;
use crate::error::{Error, Result, SqlState};
use crate::expr::cast::{input, numeric};
use crate::sql_err;
use crate::types::{DataType, Value};

/// 22012.
pub(crate) fn division_by_zero() -> Error {
    sql_err!(DIVISION_BY_ZERO, "division by zero")
}

/// 2201F, invalid argument for a power function.
pub(crate) fn invalid_power(message: &str) -> Error {
    Error::new(SqlState("2201F"), message)
}

/// 22003 for floats.
pub(crate) fn float_overflow() -> Error {
    sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
}

/// 22003 for floats.
pub(crate) fn float_underflow() -> Error {
    sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow")
}

/// Arithmetic on two non-NULL numbers; `ty` is the bound result type.
pub(crate) fn arith(op: BinaryOp, left: &Value, right: &Value, ty: &DataType) -> Result<Value> {
    match (left, right) {
        (Value::Int(a), Value::Int(b)) if ty.is_integer() || !ty.is_numeric() => {
            if op == BinaryOp::Pow {
                return float(op, *a as f64, *b as f64, ty).map(Value::Float);
            }
            integer(op, *a, *b, ty).map(Value::Int)
        }
        _ if matches!(ty, DataType::Float4 | DataType::Float8)
            || matches!(left, Value::Float(_))
            || matches!(right, Value::Float(_)) =>
        {
            float(op, to_f64(left)?, to_f64(right)?, ty).map(Value::Float)
        }
        _ => decimal(op, &to_decimal(left)?, &to_decimal(right)?).map(Value::Numeric),
    }
}

/// A number as `f64`.
pub(crate) fn to_f64(v: &Value) -> Result<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Numeric(d) => Ok(numeric::decimal_to_f64(d)),
        other => Err(Error::internal(format!("expected a number, got {other:?}"))),
    }
}

/// A number as NUMERIC (floats through `%.15g`).
pub(crate) fn to_decimal(v: &Value) -> Result<Decimal> {
    match v {
        Value::Int(i) => Ok(Decimal::from(*i)),
        Value::Numeric(d) => Ok(*d),
        Value::Float(f) => numeric::f64_to_decimal(*f, false),
        other => Err(Error::internal(format!("expected a number, got {other:?}"))),
    }
}

/// Integer `+ - * / %` checked against the width of `ty`.
pub(crate) fn integer(op: BinaryOp, a: i64, b: i64, ty: &DataType) -> Result<i64> {
    let (a, b) = (a as i128, b as i128);
    let r = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => {
            if b == 0 {
                return Err(division_by_zero());
            }
            a / b
        }
        BinaryOp::Mod => {
            if b == 0 {
                return Err(division_by_zero());
            }
            a % b
        }
        other => return Err(Error::internal(format!("{} is not an integer operator", other.symbol()))),
    };
    numeric::check_int(r, ty)
}

/// Float arithmetic with PostgreSQL's overflow/underflow checks.
pub(crate) fn float(op: BinaryOp, a: f64, b: f64, ty: &DataType) -> Result<f64> {
    let finite = a.is_finite() && b.is_finite();
    let r = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => {
            let r = a * b;
            if r == 0.0 && a != 0.0 && b != 0.0 && finite {
                return Err(float_underflow());
            }
            r
        }
        BinaryOp::Div => {
            if b == 0.0 && !a.is_nan() {
                return Err(division_by_zero());
            }
            let r = a / b;
            if r.is_infinite() && !a.is_infinite() {
                return Err(float_overflow());
            }
            if r == 0.0 && a != 0.0 && !b.is_infinite() {
                return Err(float_underflow());
            }
            r
        }
        BinaryOp::Pow => return float_pow(a, b).and_then(|r| finish_float(r, ty)),
        other => {
            return Err(sql_err!(
                UNDEFINED_FUNCTION,
                "operator does not exist: double precision {} double precision",
                other.symbol()
            ));
        }
    };
    if r.is_infinite() && finite {
        return Err(float_overflow());
    }
    finish_float(r, ty)
}

fn finish_float(r: f64, ty: &DataType) -> Result<f64> {
    if *ty == DataType::Float4 { numeric::to_float4(r) } else { Ok(r) }
}

/// `float8 ^ float8` (PostgreSQL's `dpow`).
pub(crate) fn float_pow(a: f64, b: f64) -> Result<f64> {
    if a.is_nan() {
        return Ok(if b == 0.0 { 1.0 } else { f64::NAN });
    }
    if b.is_nan() {
        return Ok(if a == 1.0 { 1.0 } else { f64::NAN });
    }
    if a == 0.0 && b < 0.0 {
        return Err(invalid_power("zero raised to a negative power is undefined"));
    }
    if a < 0.0 && b.is_finite() && b.floor() != b {
        return Err(invalid_power("a negative number raised to a non-integer power yields a complex result"));
    }
    let r = a.powf(b);
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err(float_overflow());
    }
    if r == 0.0 && a != 0.0 && a.is_finite() && b.is_finite() {
        return Err(float_underflow());
    }
    Ok(r)
}

/// NUMERIC arithmetic.
pub(crate) fn decimal(op: BinaryOp, a: &Decimal, b: &Decimal) -> Result<Decimal> {
    let r = match op {
        BinaryOp::Add => a.checked_add(*b),
        BinaryOp::Sub => a.checked_sub(*b),
        BinaryOp::Mul => a.checked_mul(*b),
        BinaryOp::Div => return decimal_div(a, b),
        BinaryOp::Mod => {
            if b.is_zero() {
                return Err(division_by_zero());
            }
            a.checked_rem(*b)
        }
        BinaryOp::Pow => return decimal_pow(a, b),
        other => return Err(Error::internal(format!("{} is not a numeric operator", other.symbol()))),
    };
    r.ok_or_else(input::overflow)
}

/// The weight (position of the leading base-10000 digit, 0 for the units
/// group) and the leading base-10000 digit of a nonzero NUMERIC, as
/// PostgreSQL's digit arrays have them.
pub(crate) fn nbase_lead(d: &Decimal) -> (i32, u32) {
    let scale = d.scale() as i32;
    let pad = (4 - scale % 4) % 4;
    let mut m = d.mantissa().unsigned_abs() * 10u128.pow(pad as u32);
    let frac_groups = (scale + pad) / 4;
    let mut groups = 0;
    let mut lead = 0;
    while m > 0 {
        lead = (m % 10_000) as u32;
        m /= 10_000;
        groups += 1;
    }
    (groups - 1 - frac_groups, lead)
}

/// Rounds (and pads) `r` to `rscale` fraction digits, as far as 28 allow.
pub(crate) fn with_scale(r: Decimal, rscale: i64) -> Decimal {
    let rscale = rscale.clamp(0, 28) as u32;
    let mut out = r.round_dp_with_strategy(rscale, RoundingStrategy::MidpointAwayFromZero);
    if out.scale() < rscale {
        out.rescale(rscale);
    }
    out
}

/// NUMERIC division with PostgreSQL's result scale (`select_div_scale`).
pub(crate) fn decimal_div(a: &Decimal, b: &Decimal) -> Result<Decimal> {
    if b.is_zero() {
        return Err(division_by_zero());
    }
    let (w1, d1) = if a.is_zero() { (0, 0) } else { nbase_lead(a) };
    let (w2, d2) = nbase_lead(b);
    let mut qweight = w1 - w2;
    if d1 <= d2 {
        qweight -= 1;
    }
    let rscale = (16 - qweight as i64 * 4).max(a.scale() as i64).max(b.scale() as i64).max(0);
    let q = a.checked_div(*b).ok_or_else(input::overflow)?;
    Ok(with_scale(q, rscale))
}

/// PostgreSQL's scale for transcendental NUMERIC results (`power_var`,
/// `ln`, `exp`, `log`): at least 16 significant digits, and no fewer fraction
/// digits than the inputs.
pub(crate) fn significant_scale(r: &Decimal, input_scales: &[u32]) -> i64 {
    let approx = numeric::decimal_to_f64(r).abs();
    let dweight = if approx > 0.0 { approx.log10().trunc() as i64 } else { 0 };
    input_scales.iter().fold(16 - dweight, |acc, s| acc.max(*s as i64))
}

/// `numeric ^ numeric`.
pub(crate) fn decimal_pow(a: &Decimal, b: &Decimal) -> Result<Decimal> {
    if a.is_zero() && b.is_sign_negative() && !b.is_zero() {
        return Err(invalid_power("zero raised to a negative power is undefined"));
    }
    let integral = b.fract().is_zero();
    if a.is_sign_negative() && !a.is_zero() && !integral {
        return Err(invalid_power("a negative number raised to a non-integer power yields a complex result"));
    }
    let r = if integral {
        let e = b.to_i64().ok_or_else(input::overflow)?;
        a.checked_powi(e)
    } else {
        a.checked_powd(*b)
    };
    let r = r.ok_or_else(input::overflow)?;
    // PostgreSQL 15's `power_var` gives integral exponents a fixed scale of
    // 16 (or the base's), other exponents 16 significant digits.
    let rscale = if integral { (a.scale() as i64).max(16) } else { significant_scale(&r, &[a.scale(), b.scale()]) };
    Ok(with_scale(r, rscale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn integer_overflow_by_width() {
        let e = integer(BinaryOp::Add, i32::MAX as i64, 1, &DataType::Int4).unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("22003", "integer out of range"));
        let e = integer(BinaryOp::Mul, 200, 200, &DataType::Int2).unwrap_err();
        assert_eq!(e.message, "smallint out of range");
        let e = integer(BinaryOp::Sub, i64::MIN, 1, &DataType::Int8).unwrap_err();
        assert_eq!(e.message, "bigint out of range");
        assert_eq!(integer(BinaryOp::Add, i32::MAX as i64, 1, &DataType::Int8).unwrap(), 2147483648);
        let e = integer(BinaryOp::Div, i64::MIN, -1, &DataType::Int8).unwrap_err();
        assert_eq!(e.state.code(), "22003");
        let e = integer(BinaryOp::Div, i32::MIN as i64, -1, &DataType::Int4).unwrap_err();
        assert_eq!(e.state.code(), "22003");
        assert_eq!(integer(BinaryOp::Mod, i64::MIN, -1, &DataType::Int8).unwrap(), 0);
    }

    #[test]
    fn integer_division_truncates() {
        assert_eq!(integer(BinaryOp::Div, 7, 2, &DataType::Int4).unwrap(), 3);
        assert_eq!(integer(BinaryOp::Div, -7, 2, &DataType::Int4).unwrap(), -3);
        assert_eq!(integer(BinaryOp::Mod, -7, 2, &DataType::Int4).unwrap(), -1);
        assert_eq!(integer(BinaryOp::Mod, 7, -2, &DataType::Int4).unwrap(), 1);
        for op in [BinaryOp::Div, BinaryOp::Mod] {
            let e = integer(op, 1, 0, &DataType::Int4).unwrap_err();
            assert_eq!((e.state.code(), e.message.as_str()), ("22012", "division by zero"));
        }
    }

    #[test]
    fn numeric_division_scale() {
        assert_eq!(decimal_div(&d("1"), &d("3")).unwrap().to_string(), "0.33333333333333333333");
        assert_eq!(decimal_div(&d("6"), &d("3")).unwrap().to_string(), "2.0000000000000000");
        assert_eq!(decimal_div(&d("3"), &d("2")).unwrap().to_string(), "1.5000000000000000");
        assert_eq!(decimal_div(&d("7"), &d("2.0")).unwrap().to_string(), "3.5000000000000000");
        assert_eq!(decimal_div(&d("100000000000000000000"), &d("3")).unwrap().to_string(), "33333333333333333333");
        assert_eq!(decimal_div(&d("1.000000000000000000000"), &d("3")).unwrap().to_string(), "0.333333333333333333333");
        assert_eq!(decimal_div(&d("0"), &d("3")).unwrap().to_string(), "0.00000000000000000000");
        assert_eq!(decimal_div(&d("1"), &d("0")).unwrap_err().state.code(), "22012");
        assert_eq!(decimal(BinaryOp::Mod, &d("1"), &d("0")).unwrap_err().state.code(), "22012");
        assert_eq!(decimal(BinaryOp::Mod, &d("5.5"), &d("2")).unwrap().to_string(), "1.5");
    }

    #[test]
    fn numeric_overflow_and_pow() {
        let big = d("79228162514264337593543950335");
        assert_eq!(decimal(BinaryOp::Add, &big, &big).unwrap_err().state.code(), "22003");
        assert_eq!(decimal(BinaryOp::Mul, &big, &d("2")).unwrap_err().message, "value overflows numeric format");
        assert_eq!(decimal_pow(&d("2"), &d("3")).unwrap().to_string(), "8.0000000000000000");
        assert_eq!(decimal_pow(&d("2"), &d("0.5")).unwrap().to_string(), "1.4142135623730950");
        assert_eq!(decimal_pow(&d("2.0"), &d("10")).unwrap().to_string(), "1024.0000000000000000");
        assert_eq!(decimal_pow(&d("2"), &d("-2")).unwrap().to_string(), "0.2500000000000000");
        assert_eq!(decimal_pow(&d("0"), &d("-1")).unwrap_err().state.code(), "2201F");
        assert_eq!(decimal_pow(&d("-8"), &d("0.5")).unwrap_err().state.code(), "2201F");
        assert_eq!(decimal_pow(&d("2"), &d("200")).unwrap_err().state.code(), "22003");
    }

    #[test]
    fn float_rules() {
        assert_eq!(float(BinaryOp::Div, 1.0, 0.0, &DataType::Float8).unwrap_err().state.code(), "22012");
        assert_eq!(
            float(BinaryOp::Mul, 1e200, 1e200, &DataType::Float8).unwrap_err().message,
            "value out of range: overflow"
        );
        assert_eq!(
            float(BinaryOp::Mul, 1e-200, 1e-200, &DataType::Float8).unwrap_err().message,
            "value out of range: underflow"
        );
        assert_eq!(float(BinaryOp::Add, f64::INFINITY, 1.0, &DataType::Float8).unwrap(), f64::INFINITY);
        assert!(float(BinaryOp::Add, f64::NAN, 1.0, &DataType::Float8).unwrap().is_nan());
        assert_eq!(float(BinaryOp::Pow, 2.0, 10.0, &DataType::Float8).unwrap(), 1024.0);
        assert_eq!(float_pow(0.0, -1.0).unwrap_err().state.code(), "2201F");
        assert_eq!(float_pow(-8.0, 1.0 / 3.0).unwrap_err().state.code(), "2201F");
        assert_eq!(float_pow(-2.0, 3.0).unwrap(), -8.0);
        assert_eq!(float_pow(f64::NAN, 0.0).unwrap(), 1.0);
        assert_eq!(float_pow(10.0, 400.0).unwrap_err().state.code(), "22003");
        assert_eq!(float(BinaryOp::Add, 3e38, 3e38, &DataType::Float4).unwrap_err().state.code(), "22003");
        assert_eq!(float(BinaryOp::Add, 0.1, 0.2, &DataType::Float4).unwrap(), (0.1f64 + 0.2) as f32 as f64);
    }

    #[test]
    fn mixed_values() {
        let v = arith(BinaryOp::Add, &Value::Int(1), &Value::Numeric(d("1.5")), &DataType::Numeric(None)).unwrap();
        assert_eq!(v, Value::Numeric(d("2.5")));
        let v = arith(BinaryOp::Pow, &Value::Int(2), &Value::Int(3), &DataType::Float8).unwrap();
        assert_eq!(v, Value::Float(8.0));
        let v = arith(BinaryOp::Div, &Value::Int(7), &Value::Int(2), &DataType::Int4).unwrap();
        assert_eq!(v, Value::Int(3));
    }
}
