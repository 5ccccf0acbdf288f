//! From a plan's [`ScanRange`] (expressions) to the storage layer's
//! [`KeyRange`]s (values of the key columns' types).
//!
//! The bound expressions are constants, parameters or outer references,
//! evaluated when the scan opens. Each value is then cast to its key
//! column's type, because the key encoding orders values of one type. A
//! cast can lose information (`int_col > 1.5` cast naively would read
//! `> 2` and miss 2), so every cast value is compared with the original,
//! and the bound is corrected when they differ: no key can equal the
//! original value, so the comparison at that position is decided by which
//! side of the original the key lies, and the bound becomes the cast value
//! inclusive or exclusive, truncated there. Lexicographic prefix bounds make
//! this exact at any position:
//!
//! | bound | original vs cast   | becomes                      |
//! |-------|--------------------|------------------------------|
//! | lower | original < cast    | `Included(prefix ++ [cast])` |
//! | lower | original > cast    | `Excluded(prefix ++ [cast])` |
//! | upper | original < cast    | `Excluded(prefix ++ [cast])` |
//! | upper | original > cast    | `Included(prefix ++ [cast])` |
//!
//! A value outside the column type's range (22003 from the cast) lies above
//! or below every key, and the bound becomes `Excluded(prefix)` or
//! `Included(prefix)` accordingly (an empty prefix meaning "nothing" or
//! "everything"). Points (`=` and `IN`) are simpler: a point with a NULL,
//! an inexact or an out-of-range value can match no key and is dropped, and
//! so is a NULL anywhere in a range bound, since `=`, `<` and `>` with NULL
//! are never true.
//!
//! Points are returned sorted in key order (reversed for a reverse scan),
//! without duplicates and without points that a shorter point already
//! covers, so a scan over an `IN` list returns each row once, in key order.

use std::cmp::Ordering;
use std::ops::Bound;

use super::{ExecContext, eval_expr};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::expr::cast::cast;
use crate::plan::ScanRange;
use crate::table::KeyRange;
use crate::types::{DataType, Value};

/// What a scan reads.
pub(super) enum Resolved {
    /// Nothing can match.
    Nothing,
    /// These key ranges, one after the other.
    Ranges(Vec<KeyRange>),
    /// These full primary keys (a batch of point reads).
    Keys(Vec<Vec<Value>>),
}

/// One bound value cast to its key column's type.
enum KeyValue {
    /// Represented exactly.
    Exact(Value),
    /// The nearest value of the column type, and whether the original lies
    /// above it.
    Inexact(Value, bool),
    /// Beyond every value of the column type: above (true) or below.
    OutOfRange(bool),
    /// NULL.
    Null,
}

/// Evaluates `expr` and casts it to `ty`.
fn key_value(expr: &Expr, ty: &DataType, cx: &mut ExecContext<'_>) -> Result<KeyValue> {
    let original = eval_expr(expr, &[], cx)?;
    if original.is_null() {
        return Ok(KeyValue::Null);
    }
    let cast_value = match cast(&original, ty) {
        Ok(v) => v,
        Err(e) if e.state == SqlState::NUMERIC_VALUE_OUT_OF_RANGE && is_number(&original) => {
            return Ok(KeyValue::OutOfRange(original.total_cmp(&Value::Int(0)) == Ordering::Greater));
        }
        Err(e) => return Err(e),
    };
    if !comparable(&original, &cast_value) {
        return Ok(KeyValue::Exact(cast_value));
    }
    Ok(match original.total_cmp(&cast_value) {
        Ordering::Equal => KeyValue::Exact(cast_value),
        o => KeyValue::Inexact(cast_value, o == Ordering::Greater),
    })
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_) | Value::Numeric(_))
}

/// True when the two values are of one family, so that `total_cmp` says
/// which is larger (not just which type ranks first).
fn comparable(a: &Value, b: &Value) -> bool {
    use Value::*;
    matches!(
        (a, b),
        (Int(_) | Float(_) | Numeric(_), Int(_) | Float(_) | Numeric(_))
            | (Text(_), Text(_))
            | (Bytes(_), Bytes(_))
            | (Date(_) | Timestamp(_), Date(_) | Timestamp(_))
            | (TimestampTz(_), TimestampTz(_))
            | (Interval(_), Interval(_))
    )
}

/// The key values of one point; None when it can match nothing.
fn point(exprs: &[Expr], key_types: &[DataType], cx: &mut ExecContext<'_>) -> Result<Option<Vec<Value>>> {
    let mut values = Vec::with_capacity(exprs.len());
    for (expr, ty) in exprs.iter().zip(key_types) {
        match key_value(expr, ty, cx)? {
            KeyValue::Exact(v) => values.push(v),
            KeyValue::Inexact(..) | KeyValue::OutOfRange(_) | KeyValue::Null => return Ok(None),
        }
    }
    Ok(Some(values))
}

/// One bound of a range; None when the range is empty.
fn bound(
    bound: &Bound<Vec<Expr>>,
    upper: bool,
    key_types: &[DataType],
    cx: &mut ExecContext<'_>,
) -> Result<Option<Bound<Vec<Value>>>> {
    let (exprs, inclusive) = match bound {
        Bound::Unbounded => return Ok(Some(Bound::Unbounded)),
        Bound::Included(e) => (e, true),
        Bound::Excluded(e) => (e, false),
    };
    check_width(exprs.len(), key_types.len())?;
    let mut prefix = Vec::with_capacity(exprs.len());
    let mut result = None;
    for (expr, ty) in exprs.iter().zip(key_types) {
        match key_value(expr, ty, cx)? {
            KeyValue::Exact(v) => prefix.push(v),
            KeyValue::Null => return Ok(None),
            KeyValue::Inexact(v, original_above) => {
                prefix.push(v);
                // A key at this position is above the original exactly when
                // it is >= the cast value (original below it) or > it.
                result = Some(if upper == original_above { Bound::Included(()) } else { Bound::Excluded(()) });
                break;
            }
            KeyValue::OutOfRange(above) => {
                result = Some(if upper == above { Bound::Included(()) } else { Bound::Excluded(()) });
                break;
            }
        }
    }
    let kind = result.unwrap_or(if inclusive { Bound::Included(()) } else { Bound::Excluded(()) });
    Ok(match kind {
        // An empty prefix: every key starts with it.
        Bound::Included(()) if prefix.is_empty() => Some(Bound::Unbounded),
        Bound::Excluded(()) if prefix.is_empty() => None,
        Bound::Included(()) => Some(Bound::Included(prefix)),
        Bound::Excluded(()) => Some(Bound::Excluded(prefix)),
        Bound::Unbounded => Some(Bound::Unbounded),
    })
}

fn check_width(values: usize, keys: usize) -> Result<()> {
    if values > keys {
        return Err(Error::internal(format!("scan bound of {values} values over a {keys}-column key")));
    }
    Ok(())
}

/// Resolves `range` over a key of `key_types`. `batch_points` allows full
/// keys to be returned as [`Resolved::Keys`] (primary-key scans).
pub(super) fn resolve(
    range: &ScanRange,
    key_types: &[DataType],
    reverse: bool,
    batch_points: bool,
    cx: &mut ExecContext<'_>,
) -> Result<Resolved> {
    match range {
        ScanRange::Full => Ok(Resolved::Ranges(vec![KeyRange::Full])),
        ScanRange::Points(points) => {
            let mut keys = Vec::with_capacity(points.len());
            for exprs in points {
                check_width(exprs.len(), key_types.len())?;
                if let Some(values) = point(exprs, key_types, cx)? {
                    keys.push(values);
                }
            }
            keys.sort();
            // Drop duplicates and points a shorter point covers (sorted,
            // a prefix comes right before the points it covers).
            let mut kept: Vec<Vec<Value>> = Vec::with_capacity(keys.len());
            for key in keys {
                if kept.last().is_some_and(|last| key.starts_with(last)) {
                    continue;
                }
                kept.push(key);
            }
            if reverse {
                kept.reverse();
            }
            if kept.is_empty() {
                Ok(Resolved::Nothing)
            } else if batch_points && kept.iter().all(|k| k.len() == key_types.len()) {
                Ok(Resolved::Keys(kept))
            } else {
                let ranges =
                    kept.into_iter().map(|k| if k.is_empty() { KeyRange::Full } else { KeyRange::Prefix(k) }).collect();
                Ok(Resolved::Ranges(ranges))
            }
        }
        ScanRange::Range { lower, upper } => {
            let Some(lower) = bound(lower, false, key_types, cx)? else { return Ok(Resolved::Nothing) };
            let Some(upper) = bound(upper, true, key_types, cx)? else { return Ok(Resolved::Nothing) };
            let range = match (&lower, &upper) {
                (Bound::Unbounded, Bound::Unbounded) => KeyRange::Full,
                _ => KeyRange::Between { lower, upper },
            };
            Ok(Resolved::Ranges(vec![range]))
        }
    }
}
