//! SQL type names to [`DataType`].
//!
//! OWNER: query-binder helper.

use sqlparser::ast;

use crate::error::Result;
use crate::types::DataType;

/// Resolves a type name (`int`, `integer`, `int4`, `varchar(10)`,
/// `numeric(10,2)`, `timestamptz`, …). 42704 for an unknown type.
pub fn data_type(ty: &ast::DataType) -> Result<DataType> {
    let _ = ty;
    todo!("query-binder helper")
}
