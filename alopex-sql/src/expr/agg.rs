//! Aggregate functions and their accumulators.
//!
//! OWNER: expressions helper.

use crate::error::Result;
use crate::types::{DataType, Value};

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
}

impl AggFunc {
    /// The SQL name, for EXPLAIN.
    pub fn name(&self) -> &'static str {
        todo!("expressions helper")
    }
}

/// Resolves an aggregate by lower-cased name (`count` with zero args and the
/// star flag is `CountStar`): the function and its result type. None when
/// `name` is not an aggregate (the binder then tries scalar functions).
pub fn resolve(name: &str, args: &[DataType], star: bool) -> Result<Option<(AggFunc, DataType)>> {
    let _ = (name, args, star);
    todo!("expressions helper")
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
    let _ = (func, distinct, ty);
    todo!("expressions helper")
}
