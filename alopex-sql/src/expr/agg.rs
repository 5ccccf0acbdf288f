//! Aggregate functions and their accumulators.
//!
//! Result types are PostgreSQL's: `sum` of SMALLINT/INTEGER is BIGINT, of
//! BIGINT and NUMERIC is NUMERIC, of REAL is REAL and of DOUBLE PRECISION
//! DOUBLE PRECISION; `avg` of integers and NUMERIC is NUMERIC (divided with
//! NUMERIC's division scale, so `avg` of 1 and 2 is `1.5000000000000000`),
//! of floats DOUBLE PRECISION; both also take INTERVAL, and pgvector's
//! `vector` (elementwise, see the `vector` submodule). `min`/`max` take any
//! type with a btree order (not boolean or jsonb, as in PostgreSQL).
//!
//! NULL inputs are ignored; over no (non-NULL) input every aggregate is
//! NULL except `count`, which is 0. Integer sums accumulate in 128 bits and
//! are range-checked when finished (22003 `bigint out of range`); NUMERIC
//! sums that leave the 28-digit range and float sums that overflow to
//! infinity are 22003 at once. `agg(DISTINCT …)` wraps any accumulator in a
//! set of the argument tuples already seen, using grouping equality (NULLs
//! equal, `1.0 = 1.00`), which is what PostgreSQL's sort-based DISTINCT
//! does.

mod vector;

use std::collections::HashSet;

use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::expr::cast::{input, numeric};
use crate::expr::ops::{arith, compare, datetime};
use crate::sql_err;
use crate::types::{DataType, Interval, Value};

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `count(*)`.
    CountStar,
    /// `count(x)`: non-NULL inputs.
    Count,
    /// `sum(x)`: int → bigint (int8 sums → numeric), numeric → numeric, float → float8.
    Sum,
    /// `avg(x)`: ints and numeric → numeric, floats → float8.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `bool_and(x)`.
    BoolAnd,
    /// `bool_or(x)`.
    BoolOr,
    /// `string_agg(x, sep)`.
    StringAgg,
    /// `array_agg(x)`: the inputs, NULLs included, as an array.
    ArrayAgg,
}

impl AggFunc {
    /// The SQL name, for EXPLAIN.
    pub fn name(&self) -> &'static str {
        match self {
            AggFunc::CountStar | AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::BoolAnd => "bool_and",
            AggFunc::BoolOr => "bool_or",
            AggFunc::StringAgg => "string_agg",
            AggFunc::ArrayAgg => "array_agg",
        }
    }
}

/// Resolves an aggregate by lower-cased name (`count` with zero args and the
/// star flag is `CountStar`): the function and its result type. None when
/// `name` is not an aggregate (the binder then tries scalar functions).
pub fn resolve(name: &str, args: &[DataType], star: bool) -> Result<Option<(AggFunc, DataType)>> {
    use DataType as T;
    let func = match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "string_agg" => AggFunc::StringAgg,
        "array_agg" => AggFunc::ArrayAgg,
        _ => return Ok(None),
    };
    let undefined = || {
        let list: Vec<&str> = args.iter().map(|t| t.sql_name()).collect();
        let list = if star { "*".to_string() } else { list.join(", ") };
        sql_err!(UNDEFINED_FUNCTION, "function {name}({list}) does not exist")
    };
    if star {
        return if func == AggFunc::Count && args.is_empty() {
            Ok(Some((AggFunc::CountStar, T::Int8)))
        } else {
            Err(undefined())
        };
    }
    let arity = if func == AggFunc::StringAgg { 2 } else { 1 };
    if args.len() != arity {
        return Err(undefined());
    }
    let arg = &args[0];
    let not_unique = || Error::new(crate::error::SqlState("42725"), format!("function {name}(unknown) is not unique"));
    let result = match (func, arg) {
        (AggFunc::Count, _) => T::Int8,
        (AggFunc::Sum | AggFunc::Avg, T::Unknown) => return Err(not_unique()),
        (AggFunc::Sum, T::Int2 | T::Int4) => T::Int8,
        (AggFunc::Sum, T::Int8 | T::Numeric(_)) => T::Numeric(None),
        (AggFunc::Sum, T::Float4 | T::Float8 | T::Interval) => arg.clone(),
        (AggFunc::Avg, t) if t.is_integer() || matches!(t, T::Numeric(_)) => T::Numeric(None),
        (AggFunc::Avg, T::Float4 | T::Float8) => T::Float8,
        (AggFunc::Avg, T::Interval) => T::Interval,
        (AggFunc::Sum | AggFunc::Avg, T::Vector(_)) => T::Vector(None),
        (AggFunc::Min | AggFunc::Max, T::Unknown) => T::Text,
        (AggFunc::Min | AggFunc::Max, t) if t.is_numeric() => crate::expr::ops::base_type(t),
        (AggFunc::Min | AggFunc::Max, t) if t.is_string() => T::Text,
        (AggFunc::Min | AggFunc::Max, T::Date | T::Timestamp | T::TimestampTz | T::Interval) => arg.clone(),
        (AggFunc::BoolAnd | AggFunc::BoolOr, T::Bool | T::Unknown) => T::Bool,
        (AggFunc::ArrayAgg, T::Unknown) => T::Array(Box::new(T::Text)),
        (AggFunc::ArrayAgg, t) if t.is_array() => {
            return Err(Error::unsupported("array_agg over arrays (multidimensional arrays)"));
        }
        (AggFunc::ArrayAgg, t) => T::Array(Box::new(t.clone())),
        (AggFunc::StringAgg, a) => {
            let text = |t: &DataType| t.is_string() || *t == T::Unknown;
            match (a, &args[1]) {
                (a, b) if text(a) && text(b) => T::Text,
                (T::Bytea | T::Unknown, T::Bytea | T::Unknown) => T::Bytea,
                _ => return Err(undefined()),
            }
        }
        _ => return Err(undefined()),
    };
    Ok(Some((func, result)))
}

/// Accumulates one group's inputs.
pub trait Accumulator: Send {
    /// Adds one input row's argument values (empty for `count(*)`).
    fn update(&mut self, args: &[Value]) -> Result<()>;
    /// The aggregate's value for the inputs seen so far.
    fn finish(&self) -> Result<Value>;
}

/// A fresh accumulator. With `distinct`, duplicate inputs are counted once.
/// `ty` is the bound result type.
pub fn accumulator(func: AggFunc, distinct: bool, ty: &DataType) -> Box<dyn Accumulator> {
    let inner: Box<dyn Accumulator> = match func {
        AggFunc::CountStar => Box::new(Count { star: true, n: 0 }),
        AggFunc::Count => Box::new(Count { star: false, n: 0 }),
        AggFunc::Sum | AggFunc::Avg if ty.is_vector() => {
            Box::new(vector::VectorSum { avg: func == AggFunc::Avg, acc: Vec::new(), n: 0 })
        }
        AggFunc::Sum => Box::new(Sum { ty: ty.clone(), avg: false, acc: Total::default() }),
        AggFunc::Avg => Box::new(Sum { ty: ty.clone(), avg: true, acc: Total::default() }),
        AggFunc::Min => Box::new(Extreme { max: false, best: None }),
        AggFunc::Max => Box::new(Extreme { max: true, best: None }),
        AggFunc::BoolAnd => Box::new(BoolAgg { and: true, acc: None }),
        AggFunc::BoolOr => Box::new(BoolAgg { and: false, acc: None }),
        AggFunc::StringAgg => Box::new(StringAgg { bytes: *ty == DataType::Bytea, acc: None }),
        AggFunc::ArrayAgg => Box::new(ArrayAgg { acc: None }),
    };
    if distinct { Box::new(Distinct { seen: HashSet::new(), inner }) } else { inner }
}

/// An accumulator for `agg(args ORDER BY keys)`: the last `order.len()`
/// arguments are the sort keys, each `(descending, nulls_first)`. Inputs
/// are buffered and fed to the aggregate in key order when it finishes.
pub fn ordered_accumulator(
    func: AggFunc,
    distinct: bool,
    ty: &DataType,
    order: &[(bool, bool)],
) -> Box<dyn Accumulator> {
    if order.is_empty() {
        return accumulator(func, distinct, ty);
    }
    Box::new(Ordered { func, distinct, ty: ty.clone(), order: order.to_vec(), rows: Vec::new() })
}

struct Ordered {
    func: AggFunc,
    distinct: bool,
    ty: DataType,
    order: Vec<(bool, bool)>,
    rows: Vec<Vec<Value>>,
}

impl Accumulator for Ordered {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        self.rows.push(args.to_vec());
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        let nargs = self.rows.first().map_or(0, |r| r.len().saturating_sub(self.order.len()));
        let mut rows: Vec<&Vec<Value>> = self.rows.iter().collect();
        rows.sort_by(|a, b| {
            for (k, (desc, nulls_first)) in self.order.iter().enumerate() {
                let (x, y) = (&a[nargs + k], &b[nargs + k]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if *nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if *nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    _ => {
                        let o = x.total_cmp(y);
                        if *desc { o.reverse() } else { o }
                    }
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        let mut inner = accumulator(self.func, self.distinct, &self.ty);
        for r in rows {
            inner.update(&r[..nargs])?;
        }
        inner.finish()
    }
}

/// `array_agg(x)`.
struct ArrayAgg {
    acc: Option<Vec<Value>>,
}

impl Accumulator for ArrayAgg {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        self.acc.get_or_insert_with(Vec::new).push(first(args)?.clone());
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        Ok(self.acc.as_ref().map_or(Value::Null, |v| Value::Array(v.as_slice().into())))
    }
}

fn first(args: &[Value]) -> Result<&Value> {
    args.first().ok_or_else(|| Error::internal("aggregate called without an argument"))
}

/// `agg(DISTINCT …)`: passes each distinct argument tuple once.
struct Distinct {
    seen: HashSet<Vec<Value>>,
    inner: Box<dyn Accumulator>,
}

impl Accumulator for Distinct {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        if args.first().is_some_and(Value::is_null) || self.seen.contains(args) {
            return Ok(());
        }
        self.seen.insert(args.to_vec());
        self.inner.update(args)
    }

    fn finish(&self) -> Result<Value> {
        self.inner.finish()
    }
}

struct Count {
    star: bool,
    n: i64,
}

impl Accumulator for Count {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        if self.star || !first(args)?.is_null() {
            self.n += 1;
        }
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        Ok(Value::Int(self.n))
    }
}

/// A running total kept exactly per kind of input.
#[derive(Default)]
struct Total {
    count: i64,
    ints: i128,
    decimals: Decimal,
    floats: f64,
    interval: Option<Interval>,
}

/// `sum` and `avg`.
struct Sum {
    ty: DataType,
    avg: bool,
    acc: Total,
}

impl Accumulator for Sum {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        let acc = &mut self.acc;
        match first(args)? {
            Value::Null => return Ok(()),
            Value::Int(i) => acc.ints += *i as i128,
            Value::Numeric(d) => acc.decimals = acc.decimals.checked_add(*d).ok_or_else(input::overflow)?,
            Value::Float(f) => {
                let r = acc.floats + f;
                if r.is_infinite() && acc.floats.is_finite() && f.is_finite() {
                    return Err(arith::float_overflow());
                }
                acc.floats = if self.ty == DataType::Float4 && !self.avg { numeric::to_float4(r)? } else { r };
            }
            Value::Interval(i) => {
                acc.interval = Some(match &acc.interval {
                    None => *i,
                    Some(sum) => datetime::add(sum, i)?,
                })
            }
            other => return Err(Error::internal(format!("cannot sum {other:?}"))),
        }
        acc.count += 1;
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        let acc = &self.acc;
        if acc.count == 0 {
            return Ok(Value::Null);
        }
        if let Some(sum) = &acc.interval {
            return Ok(Value::Interval(if self.avg { datetime::divide(sum, acc.count as f64)? } else { *sum }));
        }
        Ok(match &self.ty {
            DataType::Float4 | DataType::Float8 => {
                let total = acc.floats + acc.ints as f64 + numeric::decimal_to_f64(&acc.decimals);
                Value::Float(if self.avg { total / acc.count as f64 } else { total })
            }
            DataType::Int2 | DataType::Int4 | DataType::Int8 if !self.avg => {
                Value::Int(numeric::check_int(acc.ints, &self.ty)?)
            }
            _ => {
                let ints = Decimal::try_from_i128_with_scale(acc.ints, 0).map_err(|_| input::overflow())?;
                let mut total = ints.checked_add(acc.decimals).ok_or_else(input::overflow)?;
                if acc.floats != 0.0 {
                    total =
                        total.checked_add(numeric::f64_to_decimal(acc.floats, false)?).ok_or_else(input::overflow)?;
                }
                Value::Numeric(if self.avg { arith::decimal_div(&total, &Decimal::from(acc.count))? } else { total })
            }
        })
    }
}

/// `min` and `max`.
struct Extreme {
    max: bool,
    best: Option<Value>,
}

impl Accumulator for Extreme {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        let v = first(args)?;
        if v.is_null() {
            return Ok(());
        }
        let better = match &self.best {
            None => true,
            Some(b) => {
                let ord = compare::sql_cmp(v, b)?;
                if self.max { ord.is_gt() } else { ord.is_lt() }
            }
        };
        if better {
            self.best = Some(v.clone());
        }
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        Ok(self.best.clone().unwrap_or(Value::Null))
    }
}

/// `bool_and` and `bool_or`.
struct BoolAgg {
    and: bool,
    acc: Option<bool>,
}

impl Accumulator for BoolAgg {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        match first(args)? {
            Value::Null => {}
            Value::Bool(b) => {
                self.acc = Some(match self.acc {
                    None => *b,
                    Some(a) if self.and => a && *b,
                    Some(a) => a || *b,
                })
            }
            other => return Err(Error::internal(format!("bool aggregate over {other:?}"))),
        }
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        Ok(self.acc.map_or(Value::Null, Value::Bool))
    }
}

/// `string_agg(value, separator)`: the separator goes before every value
/// but the first; a NULL separator is empty.
struct StringAgg {
    bytes: bool,
    acc: Option<Vec<u8>>,
}

impl Accumulator for StringAgg {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        let bytes_of = |v: &Value| -> Result<Vec<u8>> {
            Ok(match v {
                Value::Null => Vec::new(),
                Value::Text(s) => s.as_bytes().to_vec(),
                Value::Bytes(b) => b.to_vec(),
                other => crate::expr::cast::to_text(other).unwrap_or_default().into_bytes(),
            })
        };
        let v = first(args)?;
        if v.is_null() {
            return Ok(());
        }
        let value = bytes_of(v)?;
        match &mut self.acc {
            None => self.acc = Some(value),
            Some(acc) => {
                acc.extend(bytes_of(args.get(1).unwrap_or(&Value::Null))?);
                acc.extend(value);
            }
        }
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        Ok(match &self.acc {
            None => Value::Null,
            Some(b) if self.bytes => Value::Bytes(b.as_slice().into()),
            Some(b) => Value::text(String::from_utf8_lossy(b)),
        })
    }
}

#[cfg(test)]
mod tests;
