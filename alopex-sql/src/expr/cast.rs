//! Casts between types, and the PostgreSQL text format of values.
//!
//! OWNER: expressions helper.

use crate::error::Result;
use crate::types::{DataType, Value};

/// `CAST(value AS ty)` with PostgreSQL's rules and errors (22P02 invalid
/// text representation, 22003 out of range, 22001 for an explicit cast to a
/// too-short varchar truncates instead, as PostgreSQL does).
pub fn cast(value: &Value, ty: &DataType) -> Result<Value> {
    let _ = (value, ty);
    todo!("expressions helper")
}

/// Coerces a value into a column of type `ty` on INSERT/UPDATE (assignment
/// cast): integer width checks (22003), varchar length (22001 unless the
/// excess is spaces), NUMERIC(p,s) rounding and precision (22003), REAL
/// rounding through f32, text parsed into the column's type.
pub fn assign(value: &Value, ty: &DataType) -> Result<Value> {
    let _ = (value, ty);
    todo!("expressions helper")
}

/// The PostgreSQL text output of a value (`t`/`f`, `1.5`, `2024-01-02`,
/// `2024-01-02 03:04:05`, `\x0a0b`, `1 year 2 mons 3 days 04:05:06`, …).
/// NULL is None.
pub fn to_text(value: &Value) -> Option<String> {
    let _ = value;
    todo!("expressions helper")
}

/// Parses PostgreSQL text input for `ty` (the inverse of [`to_text`]).
pub fn from_text(text: &str, ty: &DataType) -> Result<Value> {
    let _ = (text, ty);
    todo!("expressions helper")
}
