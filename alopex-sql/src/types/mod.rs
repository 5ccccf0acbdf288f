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

mod datatype;
mod interval;
pub mod value;

pub use datatype::DataType;
pub use interval::Interval;
pub use value::{Row, Value};
