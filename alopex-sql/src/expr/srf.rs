//! Set-returning functions: `generate_series`, `unnest` and
//! `generate_subscripts`.
//!
//! A set-returning function turns one call into zero or more values. It can
//! stand in FROM (`FROM generate_series(1, 3) AS g(i)`, a
//! `Node::TableFunction`) or in a select list (`SELECT unnest(a)`, a
//! `Node::ProjectSet`, which runs several such calls in lockstep as
//! PostgreSQL 10+ does). Both operators ask this module for a
//! [`SeriesIter`]: a lazy iterator over the call's values, so
//! `generate_series(1, 1e9) LIMIT 3` produces three values, not a billion.
//!
//! Resolution is by argument types, like PostgreSQL's overloads:
//! `generate_series` over `int4`, `int8`, `numeric`, `timestamp` and
//! `timestamptz` (the last two with an `interval` step); `unnest(anyarray)`
//! yields the element type; `generate_subscripts(anyarray, int4 [, bool])`
//! yields `int4`. A step of zero is 22023 `step size cannot equal zero`; a
//! NULL argument yields no rows (the functions are strict).

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::error::{Error, Result, SqlState};
use crate::expr::ops::{self, BinaryOp};
use crate::sql_err;
use crate::types::{DataType, Interval, Value};

/// A set-returning function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetFunc {
    /// `generate_series(start, stop [, step])` over integers and NUMERIC.
    GenerateSeries,
    /// `generate_series(start, stop, step interval)` over timestamps.
    GenerateSeriesTime,
    /// `unnest(array)`.
    Unnest,
    /// `generate_subscripts(array, dim [, reverse])`; the binder appends
    /// the array type's first subscript as a last argument.
    GenerateSubscripts,
}

impl SetFunc {
    /// The SQL name, for EXPLAIN and column names.
    pub fn name(&self) -> &'static str {
        match self {
            SetFunc::GenerateSeries | SetFunc::GenerateSeriesTime => "generate_series",
            SetFunc::Unnest => "unnest",
            SetFunc::GenerateSubscripts => "generate_subscripts",
        }
    }
}

/// True when `name` is a set-returning function.
pub fn is_set_function(name: &str) -> bool {
    matches!(name, "generate_series" | "unnest" | "generate_subscripts")
}

/// A resolved call: the function, the type each argument is cast to (None
/// = as it is), and the type of the values it yields.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSig {
    /// The function.
    pub func: SetFunc,
    /// Casts per argument.
    pub arg_casts: Vec<Option<DataType>>,
    /// The result type.
    pub result: DataType,
}

/// Resolves `name(args)`; 42883 when no overload fits.
pub fn resolve(name: &str, args: &[DataType]) -> Result<SetSig> {
    use DataType as T;
    let undefined = || {
        let list: Vec<String> = args.iter().map(|t| t.to_string()).collect();
        sql_err!(UNDEFINED_FUNCTION, "function {name}({}) does not exist", list.join(", "))
    };
    let sig = |func, casts: Vec<Option<DataType>>, result| Ok(SetSig { func, arg_casts: casts, result });
    match (name, args.len()) {
        ("generate_series", 2 | 3) => {
            let time_rank = |t: &T| match t {
                T::Date | T::Timestamp => Some(1),
                T::TimestampTz => Some(2),
                _ => None,
            };
            let bounds = &args[..2];
            if bounds.iter().any(|t| time_rank(t).is_some()) {
                let ty = if bounds.contains(&T::TimestampTz) { T::TimestampTz } else { T::Timestamp };
                let ok = bounds.iter().all(|t| time_rank(t).is_some() || *t == T::Unknown)
                    && args.get(2).is_some_and(|t| matches!(t, T::Interval | T::Unknown));
                if !ok {
                    return Err(undefined());
                }
                let casts = vec![Some(ty.clone()), Some(ty.clone()), Some(T::Interval)];
                return sig(SetFunc::GenerateSeriesTime, casts, ty);
            }
            let rank = |t: &T| match t {
                T::Int2 | T::Int4 | T::Unknown => Some(0),
                T::Int8 => Some(1),
                T::Numeric(_) => Some(2),
                _ => None,
            };
            let mut best = 0;
            for t in args {
                best = best.max(rank(t).ok_or_else(undefined)?);
            }
            let ty = [T::Int4, T::Int8, T::Numeric(None)][best].clone();
            sig(SetFunc::GenerateSeries, vec![Some(ty.clone()); args.len()], ty)
        }
        ("unnest", 1) => match args[0].element() {
            Some(elem) => sig(SetFunc::Unnest, vec![None], elem.clone()),
            None if args[0] == T::Unknown => {
                Err(Error::new(SqlState("42725"), "function unnest(unknown) is not unique"))
            }
            None => Err(undefined()),
        },
        ("generate_subscripts", 2 | 3) => {
            if !args[0].is_array() || !matches!(args[1], T::Int2 | T::Int4 | T::Int8 | T::Unknown) {
                return Err(undefined());
            }
            let mut casts = vec![None, Some(T::Int4)];
            if args.len() == 3 {
                if !matches!(args[2], T::Bool | T::Unknown) {
                    return Err(undefined());
                }
                casts.push(Some(T::Bool));
            }
            sig(SetFunc::GenerateSubscripts, casts, T::Int4)
        }
        _ => Err(undefined()),
    }
}

/// The values of one call, produced lazily.
pub type SeriesIter = Box<dyn Iterator<Item = Result<Value>> + Send>;

/// Starts a call on evaluated arguments. `ty` is the bound result type.
pub fn start(func: SetFunc, args: &[Value], ty: &DataType) -> Result<SeriesIter> {
    let empty = || -> SeriesIter { Box::new(std::iter::empty()) };
    let strict_args = match func {
        SetFunc::GenerateSubscripts => &args[..args.len().min(2)],
        _ => args,
    };
    if strict_args.iter().any(Value::is_null) {
        return Ok(empty());
    }
    match func {
        SetFunc::GenerateSeries => match (args.first(), args.get(1)) {
            (Some(Value::Int(a)), Some(Value::Int(b))) => {
                let step = match args.get(2) {
                    Some(Value::Int(s)) => *s,
                    _ => 1,
                };
                if step == 0 {
                    return Err(zero_step());
                }
                Ok(Box::new(IntSeries { next: Some(*a), stop: *b, step, ty: ty.clone() }))
            }
            (Some(Value::Numeric(a)), Some(Value::Numeric(b))) => {
                let step = match args.get(2) {
                    Some(Value::Numeric(s)) => *s,
                    _ => Decimal::ONE,
                };
                if step.is_zero() {
                    return Err(zero_step());
                }
                Ok(Box::new(NumericSeries { next: Some(*a), stop: *b, step }))
            }
            _ => Err(Error::internal(format!("generate_series over {args:?}"))),
        },
        SetFunc::GenerateSeriesTime => {
            let (Some(start), Some(stop), Some(Value::Interval(step))) = (args.first(), args.get(1), args.get(2))
            else {
                return Err(Error::internal(format!("generate_series over {args:?}")));
            };
            if *step == Interval::default() {
                return Err(zero_step());
            }
            // The direction of an interval with mixed signs is that of its
            // total length, as PostgreSQL compares intervals.
            let forward = step.total_micros() > 0;
            Ok(Box::new(TimeSeries {
                next: Some(start.clone()),
                stop: stop.clone(),
                step: Value::Interval(*step),
                forward,
                ty: ty.clone(),
            }))
        }
        SetFunc::Unnest => match args.first() {
            Some(Value::Array(items)) => Ok(Box::new(ArrayItems { items: items.clone(), at: 0 })),
            other => Err(Error::internal(format!("unnest over {other:?}"))),
        },
        SetFunc::GenerateSubscripts => {
            let (Some(Value::Array(items)), Some(Value::Int(dim))) = (args.first(), args.get(1)) else {
                return Err(Error::internal(format!("generate_subscripts over {args:?}")));
            };
            let reverse = matches!(args.get(2), Some(Value::Bool(true)));
            let lower = match args.last() {
                Some(Value::Int(l)) if args.len() >= 3 => *l,
                _ => 1,
            };
            if *dim != 1 || items.is_empty() {
                return Ok(empty());
            }
            let n = items.len() as i64;
            let range: Vec<Value> = if reverse {
                (lower..lower + n).rev().map(Value::Int).collect()
            } else {
                (lower..lower + n).map(Value::Int).collect()
            };
            Ok(Box::new(range.into_iter().map(Ok)))
        }
    }
}

fn zero_step() -> Error {
    Error::new(SqlState::INVALID_PARAMETER_VALUE, "step size cannot equal zero")
}

struct IntSeries {
    next: Option<i64>,
    stop: i64,
    step: i64,
    ty: DataType,
}

impl Iterator for IntSeries {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        let v = self.next?;
        let done = if self.step > 0 { v > self.stop } else { v < self.stop };
        if done {
            self.next = None;
            return None;
        }
        let (min, max) = crate::expr::cast::input::int_bounds(&self.ty);
        self.next = v.checked_add(self.step).filter(|n| (min..=max).contains(n));
        Some(Ok(Value::Int(v)))
    }
}

struct NumericSeries {
    next: Option<Decimal>,
    stop: Decimal,
    step: Decimal,
}

impl Iterator for NumericSeries {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        let v = self.next?;
        let done = if self.step.is_sign_positive() { v > self.stop } else { v < self.stop };
        if done {
            self.next = None;
            return None;
        }
        self.next = v.checked_add(self.step);
        Some(Ok(Value::Numeric(v)))
    }
}

struct TimeSeries {
    next: Option<Value>,
    stop: Value,
    step: Value,
    forward: bool,
    ty: DataType,
}

impl Iterator for TimeSeries {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        let v = self.next.take()?;
        let ord = match crate::expr::ops::compare::sql_cmp(&v, &self.stop) {
            Ok(o) => o,
            Err(e) => return Some(Err(e)),
        };
        if (self.forward && ord.is_gt()) || (!self.forward && ord.is_lt()) {
            return None;
        }
        match ops::binary(BinaryOp::Add, &v, &self.step, &self.ty) {
            Ok(n) => self.next = Some(n),
            // Past the end of the timestamp range: this was the last value.
            Err(e) if e.state == SqlState::DATETIME_FIELD_OVERFLOW => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(v))
    }
}

struct ArrayItems {
    items: Arc<[Value]>,
    at: usize,
}

impl Iterator for ArrayItems {
    type Item = Result<Value>;

    fn next(&mut self) -> Option<Result<Value>> {
        let v = self.items.get(self.at)?.clone();
        self.at += 1;
        Some(Ok(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(func: SetFunc, args: &[Value], ty: &DataType) -> Result<Vec<Value>> {
        start(func, args, ty)?.collect()
    }

    #[test]
    fn integer_series() {
        let t = DataType::Int4;
        let ints = |v: &[i64]| v.iter().map(|i| Value::Int(*i)).collect::<Vec<_>>();
        assert_eq!(collect(SetFunc::GenerateSeries, &ints(&[1, 3]), &t).unwrap(), ints(&[1, 2, 3]));
        assert_eq!(collect(SetFunc::GenerateSeries, &ints(&[5, 1, -2]), &t).unwrap(), ints(&[5, 3, 1]));
        assert_eq!(collect(SetFunc::GenerateSeries, &ints(&[3, 1]), &t).unwrap(), ints(&[]));
        let near_max = ints(&[2147483646, 2147483647]);
        assert_eq!(collect(SetFunc::GenerateSeries, &near_max, &t).unwrap(), near_max);
        let e = collect(SetFunc::GenerateSeries, &ints(&[1, 3, 0]), &t).unwrap_err();
        assert_eq!(e.state, SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(collect(SetFunc::GenerateSeries, &[Value::Null, Value::Int(1)], &t).unwrap(), vec![]);
    }

    #[test]
    fn resolution() {
        assert_eq!(resolve("generate_series", &[DataType::Int4, DataType::Int8]).unwrap().result, DataType::Int8);
        let ts = resolve("generate_series", &[DataType::Timestamp, DataType::Unknown, DataType::Interval]).unwrap();
        assert_eq!(ts.func, SetFunc::GenerateSeriesTime);
        let arr = DataType::Array(Box::new(DataType::Text));
        assert_eq!(resolve("unnest", &[arr]).unwrap().result, DataType::Text);
        assert_eq!(resolve("unnest", &[DataType::Int4]).unwrap_err().state, SqlState::UNDEFINED_FUNCTION);
        assert_eq!(resolve("generate_series", &[DataType::Text, DataType::Int4]).unwrap_err().state.0, "42883");
    }
}
