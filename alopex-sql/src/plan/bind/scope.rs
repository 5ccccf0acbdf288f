//! Name scopes: which columns an expression can see.
//!
//! OWNER: query-binder helper.

use crate::catalog::TableSchema;
use crate::types::DataType;

/// The columns of an operator's input row, in row order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// One entry per value of the input row.
    pub columns: Vec<ScopeColumn>,
}

/// One column of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    /// The table alias it can be qualified with.
    pub table: Option<String>,
    /// The column name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
    /// Not expanded by `*` and not nameable (the hidden row id).
    pub hidden: bool,
}

impl Scope {
    /// The columns of a table row, qualified by `alias`.
    pub fn for_table(table: &TableSchema, alias: &str) -> Scope {
        Scope {
            columns: table
                .columns
                .iter()
                .map(|c| ScopeColumn {
                    table: Some(alias.to_string()),
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    hidden: c.hidden,
                })
                .collect(),
        }
    }

    /// This scope's columns followed by `other`'s (a join's input row).
    pub fn join(mut self, other: Scope) -> Scope {
        self.columns.extend(other.columns);
        self
    }
}
