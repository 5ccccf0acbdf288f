//! Binding queries: SELECT, set operations, VALUES, CTEs, subqueries.
//!
//! OWNER: query-binder helper.

use sqlparser::ast;

use super::{Binder, Scope};
use crate::error::Result;
use crate::plan::{Node, OutputColumn};

/// Query-binder state for one statement.
#[derive(Debug, Default)]
pub(crate) struct QueryState {
    _private: (),
}

impl Binder<'_> {
    /// Binds a full query (WITH, set operations, ORDER BY, LIMIT) into a
    /// node and its output columns. Inside a subquery, names not found in
    /// the query's own FROM resolve against the enclosing scopes as
    /// [`crate::expr::Expr::Outer`] references.
    pub fn bind_query(&mut self, query: &ast::Query) -> Result<(Node, Vec<OutputColumn>)> {
        let _ = query;
        todo!("query-binder helper")
    }

    /// Binds a FROM-less row source for INSERT … VALUES / SELECT: like
    /// [`Binder::bind_query`]; kept separate so INSERT can type VALUES rows
    /// against the target columns (`targets`).
    pub fn bind_insert_source(
        &mut self,
        query: &ast::Query,
        targets: &[crate::types::DataType],
    ) -> Result<(Node, Vec<OutputColumn>)> {
        let _ = (query, targets);
        todo!("query-binder helper")
    }

    /// Binds a table reference in FROM position for UPDATE/DELETE: a scan of
    /// the table with its scope.
    pub fn bind_table_scan(&mut self, table: &ast::TableFactor) -> Result<(Node, Scope)> {
        let _ = table;
        todo!("query-binder helper")
    }
}
