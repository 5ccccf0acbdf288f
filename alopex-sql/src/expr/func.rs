//! Scalar functions: resolution by name and argument types, and evaluation.
//!
//! OWNER: expressions helper. Add variants freely; the binder only calls
//! [`resolve`] and the evaluator [`call`].

use crate::error::Result;
use crate::types::{DataType, Value};

/// A resolved scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScalarFunc {
    /// `abs(x)`.
    Abs,
    /// `coalesce(a, b, …)` (lazy: evaluated by `eval`, not [`call`]).
    Coalesce,
    /// `nullif(a, b)`.
    NullIf,
    /// `now()` / `current_timestamp`.
    Now,
}

impl ScalarFunc {
    /// True when two calls with the same arguments may differ (`now()` is
    /// stable within a statement but is not folded at plan time).
    pub fn is_volatile(&self) -> bool {
        matches!(self, ScalarFunc::Now)
    }

    /// The SQL name, for EXPLAIN.
    pub fn name(&self) -> &'static str {
        todo!("expressions helper")
    }
}

/// The resolution of a call: the function, its result type, and the type
/// each argument must be cast to (None = leave as is).
#[derive(Debug, Clone, PartialEq)]
pub struct FuncSig {
    /// The function.
    pub func: ScalarFunc,
    /// The result type.
    pub result: DataType,
    /// Casts per argument.
    pub arg_casts: Vec<Option<DataType>>,
}

/// Resolves `name(args…)` (name already lower-cased). 42883 when no such
/// function or no overload fits.
pub fn resolve(name: &str, args: &[DataType]) -> Result<FuncSig> {
    let _ = (name, args);
    todo!("expressions helper")
}

/// Calls a (non-lazy) function on evaluated arguments. `now` is the
/// statement timestamp supplied by the environment.
pub fn call(func: ScalarFunc, args: &[Value], ty: &DataType, now: chrono::DateTime<chrono::Utc>) -> Result<Value> {
    let _ = (func, args, ty, now);
    todo!("expressions helper")
}
