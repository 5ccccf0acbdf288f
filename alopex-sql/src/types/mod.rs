//! SQL types and values.
//!
//! [`DataType`] is what the catalog and the binder know about a column or an
//! expression; [`Value`] is what the executor moves around. Values are
//! dynamically tagged: the binder checks types statically and inserts casts,
//! and evaluation still checks tags, so a planner bug becomes an `XX000` error
//! rather than wrong data.
//!
//! Integers of every width are carried as `i64` in [`Value::Int`]; the
//! declared width is enforced where a value is stored or an operator's
//! result type says so (`22003 numeric_value_out_of_range`). NUMERIC is exact
//! ([`rust_decimal::Decimal`], 28 significant digits), floats are IEEE `f64`
//! (REAL is rounded through `f32` when stored). `vector(n)` (pgvector's
//! type) is [`Value::Vector`], a shared slice of `f32`: built from Rust with
//! [`Value::vector`] or `From<Vec<f32>>`, and checked for its dimension and
//! finite elements where it is cast or stored.
//!
//! Arrays are [`DataType::Array`] over an element type and
//! [`Value::Array`], a shared slice of element values. They have one
//! dimension, subscripts from 1 (`int2vector`, the catalog's column lists,
//! from 0), and PostgreSQL's text form `{1,2,NULL}`. One dimension covers
//! what clients and the catalog use (`pg_index.indkey`, `array_agg`,
//! `unnest`, `= ANY($1)`) and keeps every array operation a loop over a
//! slice; `ARRAY[[1,2],[3,4]]` is 0A000 rather than a half-done matrix.

mod datatype;
mod interval;
pub mod value;

pub use datatype::{DataType, array_oid};
pub use interval::Interval;
pub use value::{Row, Value};
