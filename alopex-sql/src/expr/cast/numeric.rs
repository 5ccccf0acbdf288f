//! Conversions between the numeric representations, with PostgreSQL's
//! rounding and range rules.
//!
//! * NUMERIC → integer rounds half away from zero (`numeric_int4`);
//!   float → integer rounds half to even (`rint`), NaN is out of range.
//! * float → NUMERIC goes through `%.15g` (`%.6g` for REAL), exactly as
//!   `float8_numeric` does, so `0.1::float8::numeric` is `0.1`, not the
//!   binary expansion.
//! * NUMERIC → float parses the decimal text, which rounds correctly.
//! * `numeric(p, s)` rounds to `s` fraction digits and then requires fewer
//!   than `p - s` integer digits (22003 `numeric field overflow`).
//! * Integer results are checked against the width of their SQL type:
//!   22003 `smallint out of range` / `integer out of range` /
//!   `bigint out of range`.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::input;
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::DataType;

/// 22003 `integer out of range` in the words of `ty`.
pub(crate) fn int_out_of_range(ty: &DataType) -> Error {
    let name = match ty {
        DataType::Int2 => "smallint",
        DataType::Int4 => "integer",
        _ => "bigint",
    };
    sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "{name} out of range")
}

/// `v` if it fits `ty` (an integer type; BIGINT otherwise).
pub(crate) fn check_int(v: i128, ty: &DataType) -> Result<i64> {
    let (lo, hi) = input::int_bounds(ty);
    if v < lo as i128 || v > hi as i128 { Err(int_out_of_range(ty)) } else { Ok(v as i64) }
}

/// NUMERIC → integer, rounding half away from zero.
pub(crate) fn decimal_to_int(d: &Decimal, ty: &DataType) -> Result<i64> {
    let r = d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let v = r.to_i128().ok_or_else(|| int_out_of_range(ty))?;
    check_int(v, ty)
}

/// float → integer, rounding half to even like C's `rint`.
pub(crate) fn float_to_int(f: f64, ty: &DataType) -> Result<i64> {
    let r = f.round_ties_even();
    if r.is_nan() || !(-1.8e19..=1.8e19).contains(&r) {
        return Err(int_out_of_range(ty));
    }
    check_int(r as i128, ty)
}

/// NUMERIC → DOUBLE PRECISION, correctly rounded.
pub(crate) fn decimal_to_f64(d: &Decimal) -> f64 {
    d.to_string().parse().unwrap_or_else(|_| d.to_f64().unwrap_or(f64::NAN))
}

/// float → NUMERIC through `%.15g` (`%.6g` when `single`).
pub(crate) fn f64_to_decimal(f: f64, single: bool) -> Result<Decimal> {
    if f.is_nan() {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "cannot convert NaN to numeric"));
    }
    if f.is_infinite() {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "cannot convert infinity to numeric"));
    }
    let sci = if single { format!("{:.5e}", f as f32) } else { format!("{f:.14e}") };
    // `%g` drops trailing zeros of the significand; the scale is whatever
    // fraction digits remain once the exponent is applied.
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let (int_digits, frac_digits) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let frac_digits = frac_digits.trim_end_matches('0');
    input::numeric(&format!("{int_digits}.{frac_digits}e{exp}").replace(".e", "e"))
}

/// Rounds a REAL result through single precision; overflow to infinity or
/// underflow to zero of a finite, nonzero value is 22003.
pub(crate) fn to_float4(f: f64) -> Result<f64> {
    let r = f as f32;
    if r.is_infinite() && f.is_finite() {
        return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    if r == 0.0 && f != 0.0 {
        return Err(sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow"));
    }
    Ok(r as f64)
}

/// Enforces `numeric(precision, scale)`.
pub(crate) fn apply_typmod(d: &Decimal, precision: u32, scale: u32) -> Result<Decimal> {
    let mut r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    if r.scale() < scale {
        r.rescale(scale);
    }
    let int_digits = precision.saturating_sub(scale);
    if int_digits < 29 && !r.is_zero() {
        let limit = Decimal::from_i128_with_scale(10i128.pow(int_digits), 0);
        if r.abs() >= limit {
            return Err(sql_err!(
                NUMERIC_VALUE_OUT_OF_RANGE,
                "numeric field overflow (a field with precision {precision}, scale {scale} must round to an absolute value less than 10^{int_digits})"
            ));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_to_int_rounds_half_away() {
        assert_eq!(decimal_to_int(&Decimal::new(25, 1), &DataType::Int4).unwrap(), 3);
        assert_eq!(decimal_to_int(&Decimal::new(-25, 1), &DataType::Int4).unwrap(), -3);
        assert_eq!(decimal_to_int(&Decimal::new(24, 1), &DataType::Int4).unwrap(), 2);
        let e = decimal_to_int(&Decimal::new(40000, 0), &DataType::Int2).unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("22003", "smallint out of range"));
    }

    #[test]
    fn float_to_int_rounds_half_even() {
        assert_eq!(float_to_int(2.5, &DataType::Int4).unwrap(), 2);
        assert_eq!(float_to_int(3.5, &DataType::Int4).unwrap(), 4);
        assert_eq!(float_to_int(-2.5, &DataType::Int4).unwrap(), -2);
        assert_eq!(float_to_int(f64::NAN, &DataType::Int4).unwrap_err().state.code(), "22003");
        assert_eq!(float_to_int(3e9, &DataType::Int4).unwrap_err().message, "integer out of range");
        assert_eq!(float_to_int(1e19, &DataType::Int8).unwrap_err().message, "bigint out of range");
    }

    #[test]
    fn float_to_numeric_uses_15_digits() {
        assert_eq!(f64_to_decimal(0.1, false).unwrap().to_string(), "0.1");
        assert_eq!(f64_to_decimal(0.1 + 0.2, false).unwrap().to_string(), "0.3");
        assert_eq!(f64_to_decimal(1e20, false).unwrap().to_string(), "100000000000000000000");
        assert_eq!(f64_to_decimal(1.5e-5, false).unwrap().to_string(), "0.000015");
        assert_eq!(f64_to_decimal(-2.0, false).unwrap().to_string(), "-2");
        assert_eq!(f64_to_decimal(0.1f32 as f64, true).unwrap().to_string(), "0.1");
        assert_eq!(f64_to_decimal(f64::NAN, false).unwrap_err().state.code(), "0A000");
    }

    #[test]
    fn typmod_rounds_and_checks_precision() {
        let d = |s: &str| input::numeric(s).unwrap();
        assert_eq!(apply_typmod(&d("1.005"), 5, 2).unwrap().to_string(), "1.01");
        assert_eq!(apply_typmod(&d("1"), 5, 2).unwrap().to_string(), "1.00");
        assert_eq!(apply_typmod(&d("999.994"), 5, 2).unwrap().to_string(), "999.99");
        let e = apply_typmod(&d("999.995"), 5, 2).unwrap_err();
        assert_eq!(e.state.code(), "22003");
        assert!(e.message.starts_with("numeric field overflow"));
        assert_eq!(apply_typmod(&d("0.001"), 2, 2).unwrap().to_string(), "0.00");
    }

    #[test]
    fn float4_rounding() {
        assert_eq!(to_float4(0.1).unwrap(), 0.1f32 as f64);
        assert_eq!(to_float4(1e300).unwrap_err().message, "value out of range: overflow");
        assert_eq!(to_float4(1e-300).unwrap_err().message, "value out of range: underflow");
        assert!(to_float4(f64::INFINITY).unwrap().is_infinite());
    }
}
