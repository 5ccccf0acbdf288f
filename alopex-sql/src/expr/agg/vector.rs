//! pgvector's `sum(vector)` and `avg(vector)`.
//!
//! They follow pgvector's definitions, which differ on purpose: `sum` is
//! `vector_add` folded over the inputs, so it adds in `f32` and two inputs
//! of different lengths are `22000 different vector dimensions 3 and 2`;
//! `avg` (`vector_accum` + `vector_avg`) adds in `f64` and divides once at
//! the end, and an input of another length than the first is `22000
//! expected 3 dimensions, not 2`. A result element that overflows `f32` is
//! `22003 value out of range: overflow`. NULL inputs are skipped; no input
//! gives NULL.

use std::sync::Arc;

use super::{Accumulator, first};
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::Value;

/// The accumulator of `sum(vector)` (`avg == false`) or `avg(vector)`.
pub(super) struct VectorSum {
    /// `avg` rather than `sum`.
    pub avg: bool,
    /// Running sums (in `f64` for `avg`; `sum` rounds them to `f32` at each
    /// step, as `vector_add` does).
    pub acc: Vec<f64>,
    /// Non-NULL inputs seen.
    pub n: u64,
}

impl Accumulator for VectorSum {
    fn update(&mut self, args: &[Value]) -> Result<()> {
        let v = match first(args)? {
            Value::Null => return Ok(()),
            Value::Vector(v) => v,
            other => return Err(Error::internal(format!("vector aggregate applied to {other:?}"))),
        };
        if self.n == 0 {
            self.acc = vec![0.0; v.len()];
        } else if v.len() != self.acc.len() {
            return Err(if self.avg {
                sql_err!(DATA_EXCEPTION, "expected {} dimensions, not {}", self.acc.len(), v.len())
            } else {
                sql_err!(DATA_EXCEPTION, "different vector dimensions {} and {}", self.acc.len(), v.len())
            });
        }
        for (a, x) in self.acc.iter_mut().zip(v.iter()) {
            if self.avg {
                *a += *x as f64;
            } else {
                let s = *a as f32 + *x;
                if s.is_infinite() {
                    return Err(overflow());
                }
                *a = s as f64;
            }
        }
        self.n += 1;
        Ok(())
    }

    fn finish(&self) -> Result<Value> {
        if self.n == 0 {
            return Ok(Value::Null);
        }
        let n = if self.avg { self.n as f64 } else { 1.0 };
        let out: Vec<f32> = self.acc.iter().map(|s| (s / n) as f32).collect();
        if out.iter().any(|x| x.is_infinite()) {
            return Err(overflow());
        }
        Ok(Value::Vector(Arc::from(out)))
    }
}

fn overflow() -> Error {
    sql_err!(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(avg: bool, inputs: &[Value]) -> Result<Value> {
        let mut acc = VectorSum { avg, acc: Vec::new(), n: 0 };
        for v in inputs {
            acc.update(std::slice::from_ref(v))?;
        }
        acc.finish()
    }

    #[test]
    fn sum_and_avg_match_pgvector() {
        let v = |x: &[f32]| Value::from(x);
        let inputs = [v(&[1.0, 2.0, 3.0]), Value::Null, v(&[4.0, 5.0, 6.0])];
        assert_eq!(run(false, &inputs).unwrap(), v(&[5.0, 7.0, 9.0]));
        assert_eq!(run(true, &inputs).unwrap(), v(&[2.5, 3.5, 4.5]));
        assert_eq!(run(true, &[Value::Null]).unwrap(), Value::Null);
        assert_eq!(run(false, &[]).unwrap(), Value::Null);
        let mixed = [v(&[1.0, 2.0, 3.0]), v(&[1.0, 2.0])];
        assert_eq!(run(false, &mixed).unwrap_err().message, "different vector dimensions 3 and 2");
        assert_eq!(run(true, &mixed).unwrap_err().message, "expected 3 dimensions, not 2");
        let big = [v(&[3e38]), v(&[3e38])];
        assert_eq!(run(false, &big).unwrap_err().state.code(), "22003");
        assert_eq!(run(true, &big).unwrap(), v(&[3e38]));
    }
}
