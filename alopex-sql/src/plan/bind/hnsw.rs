//! Binding `CREATE INDEX … USING hnsw`, pgvector's syntax for a vector
//! index.
//!
//! ```sql
//! CREATE INDEX items_embedding_idx ON items
//!     USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
//! ```
//!
//! The operator class picks the metric, and with it which ORDER BY operator
//! the index serves (`vector_l2_ops` `<->`, `vector_cosine_ops` `<=>`,
//! `vector_ip_ops` `<#>`). As in pgvector it is required: a vector has no
//! default operator class, because guessing the metric would silently give
//! an index that no query uses. The column must be a `VECTOR(n)` with a
//! fixed dimension, since every graph is built over vectors of one length.
//! The error codes follow PostgreSQL and pgvector, so tools that handle
//! their errors handle ours.
//!
//! Binding checks everything a user can get wrong; the index entries
//! themselves (`/table/index/pk → vector`) are written by `table::write`
//! and the graphs are built by the storage engine (`docs/vector.md`).

use sqlparser::ast;

use super::BoundStatement;
use super::names::ident;
use crate::catalog::{HnswOptions, IndexKind, IndexSchema, TableSchema};
use crate::error::{Error, Result};
use crate::sql_err;
use crate::types::DataType;
use alopex_core::Metric;
use alopex_core::vector::spec::{MAX_DIM, MAX_EF_CONSTRUCTION, MAX_M};

/// pgvector's defaults.
const DEFAULT_M: u32 = 16;
const DEFAULT_EF_CONSTRUCTION: u32 = 64;

/// The metric an operator class names.
pub(crate) fn metric_of_opclass(name: &str) -> Option<Metric> {
    match name {
        "vector_l2_ops" => Some(Metric::L2),
        "vector_cosine_ops" => Some(Metric::Cosine),
        "vector_ip_ops" => Some(Metric::InnerProduct),
        _ => None,
    }
}

/// Binds `CREATE INDEX … USING hnsw` on `table`; `name` was chosen by the
/// caller (given, or generated).
pub(super) fn create_hnsw_index(
    ci: &ast::CreateIndex,
    table: &TableSchema,
    name: impl FnOnce(&[usize]) -> Result<String>,
) -> Result<BoundStatement> {
    if ci.unique {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "access method \"hnsw\" does not support unique indexes"));
    }
    let refused = [
        (!ci.include.is_empty(), "INCLUDE columns in an hnsw index"),
        (ci.predicate.is_some(), "partial hnsw indexes (CREATE INDEX … WHERE)"),
        (!ci.index_options.is_empty() || !ci.alter_options.is_empty(), "these index options"),
    ];
    if let Some((_, what)) = refused.iter().find(|(on, _)| *on) {
        return Err(Error::unsupported(what));
    }
    let [column] = ci.columns.as_slice() else {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "access method \"hnsw\" does not support multicolumn indexes"));
    };
    let ast::Expr::Identifier(id) = &column.column.expr else {
        return Err(Error::unsupported(format!("the index expression {}", column.column.expr)));
    };
    let n = ident(id);
    let position = table
        .column_index(&n)
        .filter(|&p| !table.columns[p].hidden)
        .ok_or_else(|| sql_err!(UNDEFINED_COLUMN, "column \"{n}\" does not exist"))?;
    let ty = &table.columns[position].ty;
    let Some(opclass) = &column.operator_class else {
        return Err(sql_err!(
            UNDEFINED_OBJECT,
            "data type {} has no default operator class for access method \"hnsw\"",
            ty.sql_name()
        ));
    };
    let opclass_name = opclass.0.last().map(|p| p.to_string().to_lowercase()).unwrap_or_default();
    let metric = metric_of_opclass(&opclass_name).ok_or_else(|| {
        sql_err!(UNDEFINED_OBJECT, "operator class \"{opclass_name}\" does not exist for access method \"hnsw\"")
    })?;
    let dim = match ty {
        DataType::Vector(Some(dim)) => *dim,
        DataType::Vector(None) => {
            return Err(sql_err!(INVALID_PARAMETER_VALUE, "column \"{n}\" does not have dimensions"));
        }
        other => {
            return Err(sql_err!(
                DATATYPE_MISMATCH,
                "operator class \"{opclass_name}\" does not accept data type {}",
                other.sql_name()
            ));
        }
    };
    if dim > MAX_DIM {
        return Err(sql_err!(
            PROGRAM_LIMIT_EXCEEDED,
            "column cannot have more than {MAX_DIM} dimensions for hnsw index"
        ));
    }
    let (m, ef_construction) = options(&ci.with)?;
    let columns = vec![position];
    let name = name(&columns)?;
    let kind = IndexKind::Hnsw(HnswOptions { metric, m, ef_construction, dim });
    Ok(BoundStatement::CreateIndex {
        table: table.name.clone(),
        index: IndexSchema { id: 0, name, columns, unique: false, kind },
        if_not_exists: ci.if_not_exists,
    })
}

/// `WITH (m = …, ef_construction = …)`: pgvector's names, limits and
/// messages.
fn options(with: &[ast::Expr]) -> Result<(u32, u32)> {
    let (mut m, mut ef_construction) = (DEFAULT_M, DEFAULT_EF_CONSTRUCTION);
    for option in with {
        let ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, right } = option else {
            return Err(sql_err!(SYNTAX_ERROR, "expected name = value in WITH, found {option}"));
        };
        let ast::Expr::Identifier(key) = left.as_ref() else {
            return Err(sql_err!(SYNTAX_ERROR, "expected an option name in WITH, found {left}"));
        };
        let key = ident(key);
        let (slot, range) = match key.as_str() {
            "m" => (&mut m, 2..=MAX_M),
            "ef_construction" => (&mut ef_construction, 4..=MAX_EF_CONSTRUCTION),
            _ => return Err(sql_err!(INVALID_PARAMETER_VALUE, "unrecognized parameter \"{key}\"")),
        };
        let text = match right.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => n.clone(),
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        let value: u32 = text
            .trim()
            .parse()
            .map_err(|_| sql_err!(INVALID_PARAMETER_VALUE, "invalid value for integer option \"{key}\": {text}"))?;
        if !range.contains(&value) {
            return Err(sql_err!(INVALID_PARAMETER_VALUE, "value {value} out of bounds for option \"{key}\"")
                .with_detail(format!("Valid values are between \"{}\" and \"{}\".", range.start(), range.end())));
        }
        *slot = value;
    }
    if ef_construction < 2 * m {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "ef_construction must be greater than or equal to 2 * m"));
    }
    Ok((m, ef_construction))
}
