//! # alopex-sql: the SQL engine and the embedded database
//!
//! The life of a statement:
//!
//! 1. [`Database::open`] opens the storage engine; a session (a
//!    [`Database`] call or a [`Transaction`]) receives SQL text.
//! 2. `sqlparser` parses it with the PostgreSQL dialect.
//! 3. The binder ([`plan::bind()`]) resolves names against a [`catalog::Catalog`]
//!    snapshot read in the statement's transaction, types every expression,
//!    and builds a plain [`plan::Node`] tree.
//! 4. The optimizer ([`plan::optimizer`]) rewrites the tree with an ordered
//!    list of pure rules.
//! 5. The executor ([`exec`]) runs the tree as pull-based iterators, reading
//!    and writing rows through [`table`], which maps rows and indexes to keys
//!    ([`encoding`]) in the transactional KV seam of `alopex-core`.
//! 6. Commit goes through the same seam; a serialization failure surfaces
//!    as SQLSTATE 40001.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod catalog;
pub mod copy;
mod database;
pub mod encoding;
pub mod error;
pub mod exec;
pub mod expr;
pub mod interrupt;
pub mod plan;
pub mod pushed_filter;
mod search;
pub mod sequence;
pub mod session;
pub mod system;
pub mod table;
pub mod types;
pub mod users;

pub use database::{Database, DatabaseOptions, StoreAdapter, TxnSource};
pub use error::{Error, Result, SqlState};
pub use interrupt::Interrupt;
pub use session::{
    BatchError, Column, FromValue, Prepared, ResultRow, Rows, Session, StatementResult, Transaction, TxnStatus,
};
pub use types::{DataType, Row, Value};
