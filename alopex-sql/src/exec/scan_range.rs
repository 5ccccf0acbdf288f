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

use super::{ExecContext, eval_expr, has_exact_type};
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::expr::cast::cast;
use crate::plan::ScanRange;
use crate::table::KeyRange;
use crate::types::{DataType, Value};

/// What a scan reads.
#[derive(Debug, PartialEq)]
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
    cast_key(eval_expr(expr, &[], cx)?, ty)
}

/// The value of a key column of type `ty` equal to `original` under `=`,
/// or None when no key can equal it (NULL, or not representable exactly).
pub(super) fn exact_key(original: Value, ty: &DataType) -> Result<Option<Value>> {
    Ok(match cast_key(original, ty)? {
        KeyValue::Exact(v) => Some(v),
        KeyValue::Inexact(..) | KeyValue::OutOfRange(_) | KeyValue::Null => None,
    })
}

/// Casts `original` to the key column type `ty`.
fn cast_key(original: Value, ty: &DataType) -> Result<KeyValue> {
    if original.is_null() {
        return Ok(KeyValue::Null);
    }
    if has_exact_type(&original, ty) {
        return Ok(KeyValue::Exact(original));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::test_support::{int, lit, with_cx};
    use rust_decimal::Decimal;

    fn points(points: &[&[Value]]) -> ScanRange {
        ScanRange::Points(points.iter().map(|p| p.iter().cloned().map(lit).collect()).collect())
    }

    fn resolve_with(range: &ScanRange, key: &[DataType], reverse: bool, batch: bool) -> Resolved {
        with_cx(&[], |cx| resolve(range, key, reverse, batch, cx)).unwrap()
    }

    fn range(lower: Bound<Vec<Value>>, upper: Bound<Vec<Value>>) -> ScanRange {
        let exprs = |b: Bound<Vec<Value>>| match b {
            Bound::Included(v) => Bound::Included(v.into_iter().map(lit).collect()),
            Bound::Excluded(v) => Bound::Excluded(v.into_iter().map(lit).collect()),
            Bound::Unbounded => Bound::Unbounded,
        };
        ScanRange::Range { lower: exprs(lower), upper: exprs(upper) }
    }

    #[test]
    fn full_key_points_are_sorted_deduplicated_batches() {
        let key = [DataType::Int8];
        let p = points(&[&[int(3)], &[int(1)], &[int(3)], &[Value::Null]]);
        assert_eq!(resolve_with(&p, &key, false, true), Resolved::Keys(vec![vec![int(1)], vec![int(3)]]));
        assert_eq!(resolve_with(&p, &key, true, true), Resolved::Keys(vec![vec![int(3)], vec![int(1)]]));
        // Through an index: prefixes, not batched.
        let want = Resolved::Ranges(vec![KeyRange::Prefix(vec![int(1)]), KeyRange::Prefix(vec![int(3)])]);
        assert_eq!(resolve_with(&p, &key, false, false), want);
    }

    #[test]
    fn prefix_points_cover_longer_points() {
        let key = [DataType::Int8, DataType::Text];
        let p = points(&[&[int(1), Value::text("b")], &[int(1)], &[int(2), Value::text("a")]]);
        let want =
            Resolved::Ranges(vec![KeyRange::Prefix(vec![int(1)]), KeyRange::Prefix(vec![int(2), Value::text("a")])]);
        assert_eq!(resolve_with(&p, &key, false, true), want);
    }

    #[test]
    fn null_points_and_bounds_match_nothing() {
        let key = [DataType::Int8];
        assert_eq!(resolve_with(&points(&[&[Value::Null]]), &key, false, true), Resolved::Nothing);
        assert_eq!(resolve_with(&points(&[]), &key, false, true), Resolved::Nothing);
        let r = range(Bound::Included(vec![Value::Null]), Bound::Unbounded);
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Nothing);
    }

    #[test]
    fn exact_ranges_pass_through() {
        let key = [DataType::Int8];
        let r = range(Bound::Excluded(vec![int(1)]), Bound::Included(vec![int(5)]));
        let want = KeyRange::Between { lower: Bound::Excluded(vec![int(1)]), upper: Bound::Included(vec![int(5)]) };
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Ranges(vec![want]));
        let r = range(Bound::Unbounded, Bound::Unbounded);
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Ranges(vec![KeyRange::Full]));
        assert_eq!(resolve_with(&ScanRange::Full, &key, false, true), Resolved::Ranges(vec![KeyRange::Full]));
    }

    #[test]
    fn too_wide_bounds_are_internal_errors() {
        let r = points(&[&[int(1), int(2)]]);
        let err = with_cx(&[], |cx| resolve(&r, &[DataType::Int8], false, true, cx)).unwrap_err();
        assert_eq!(err.state.code(), "XX000");
    }

    #[test]
    fn inexact_values_tighten_the_bounds() {
        let key = [DataType::Int8];
        let dec = |tenths: i64| vec![Value::Numeric(Decimal::new(tenths, 1))];
        let between = |lower, upper| Resolved::Ranges(vec![KeyRange::Between { lower, upper }]);
        // a > 1.4 → a > 1; a <= 3.4 → a <= 3.
        let r = range(Bound::Excluded(dec(14)), Bound::Included(dec(34)));
        assert_eq!(
            resolve_with(&r, &key, false, true),
            between(Bound::Excluded(vec![int(1)]), Bound::Included(vec![int(3)]))
        );
        // a >= 1.6 → a >= 2; a < 3.6 → a < 4.
        let r = range(Bound::Included(dec(16)), Bound::Excluded(dec(36)));
        assert_eq!(
            resolve_with(&r, &key, false, true),
            between(Bound::Included(vec![int(2)]), Bound::Excluded(vec![int(4)]))
        );
        // An inexact first column of a two-column bound decides it alone:
        // (a, b) >= (1.6, 7) → a >= 2.
        let r = range(Bound::Included(vec![Value::Numeric(Decimal::new(16, 1)), int(7)]), Bound::Unbounded);
        let two = [DataType::Int8, DataType::Int8];
        assert_eq!(resolve_with(&r, &two, false, true), between(Bound::Included(vec![int(2)]), Bound::Unbounded));
        // a = 1.5 matches nothing.
        assert_eq!(resolve_with(&points(&[&dec(15)]), &key, false, true), Resolved::Nothing);
    }

    #[test]
    fn out_of_range_values_open_or_close_the_bounds() {
        let key = [DataType::Int2];
        let big = int(100_000);
        let r = range(Bound::Excluded(vec![big.clone()]), Bound::Unbounded);
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Nothing);
        let r = range(Bound::Unbounded, Bound::Excluded(vec![big.clone()]));
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Ranges(vec![KeyRange::Full]));
        let r = range(Bound::Included(vec![int(-100_000)]), Bound::Included(vec![int(5)]));
        let want = KeyRange::Between { lower: Bound::Unbounded, upper: Bound::Included(vec![int(5)]) };
        assert_eq!(resolve_with(&r, &key, false, true), Resolved::Ranges(vec![want]));
        assert_eq!(resolve_with(&points(&[&[big], &[int(5)]]), &key, false, true), Resolved::Keys(vec![vec![int(5)]]));
    }
}
