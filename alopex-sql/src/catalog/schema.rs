//! Schema definitions.

use crate::types::{DataType, Value};

/// The name of the hidden row-id column of a table without a primary key.
pub const ROW_ID_COLUMN: &str = "_alopex_rowid";

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// The table id: the first component of every key of the table.
    pub id: u64,
    /// The name (lower case unless created quoted).
    pub name: String,
    /// Columns in declaration order. A table without a primary key has a
    /// last, hidden BIGINT column [`ROW_ID_COLUMN`].
    pub columns: Vec<ColumnSchema>,
    /// Positions of the primary-key columns, in key order (the hidden row id
    /// when the table declared none). Never empty.
    pub primary_key: Vec<usize>,
    /// Secondary indexes (unique constraints are unique indexes).
    pub indexes: Vec<IndexSchema>,
    /// CHECK constraints.
    pub checks: Vec<CheckConstraint>,
    /// The next column id to hand out (ids are never reused).
    pub next_column_id: u32,
    /// The next index id to hand out (1 is the primary key).
    pub next_index_id: u32,
}

impl TableSchema {
    /// The position of the column called `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// True when the primary key is the hidden row id.
    pub fn has_row_id(&self) -> bool {
        self.columns.last().is_some_and(|c| c.hidden)
    }

    /// The name of the primary-key constraint, for error messages.
    pub fn pkey_name(&self) -> String {
        format!("{}_pkey", self.name)
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// A stable id, used by the row codec (renames and drops keep old rows
    /// readable).
    pub id: u32,
    /// The name.
    pub name: String,
    /// The type.
    pub ty: DataType,
    /// NULL allowed.
    pub nullable: bool,
    /// The DEFAULT expression as SQL text, bound when a statement uses it.
    pub default: Option<String>,
    /// The value rows written before this column was added read as
    /// (PostgreSQL's "missing value"); NULL for original columns.
    pub missing: Value,
    /// The hidden row-id column.
    pub hidden: bool,
}

/// What kind of index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// An ordered index in the key space.
    BTree,
    /// An HNSW vector index over one `VECTOR(n)` column (`USING hnsw`).
    Hnsw(HnswOptions),
}

impl IndexKind {
    /// True for an ordered (B-tree) index: one that key ranges, unique
    /// checks and lookups can use.
    pub fn is_btree(&self) -> bool {
        matches!(self, IndexKind::BTree)
    }
}

/// How an HNSW index compares and builds (pgvector's operator class and
/// `WITH` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HnswOptions {
    /// The operator class: `vector_l2_ops` (`<->`), `vector_cosine_ops`
    /// (`<=>`) or `vector_ip_ops` (`<#>`).
    pub metric: alopex_core::Metric,
    /// Neighbours per node (`m`, default 16).
    pub m: u32,
    /// Build-time candidate list (`ef_construction`, default 64).
    pub ef_construction: u32,
    /// The indexed column's dimension.
    pub dim: u32,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSchema {
    /// The index id within the table (2, 3, …; 1 is the primary key).
    pub id: u32,
    /// The name (unique in the database).
    pub name: String,
    /// Positions of the indexed columns, in key order.
    pub columns: Vec<usize>,
    /// UNIQUE (NULLs are distinct, as in PostgreSQL).
    pub unique: bool,
    /// The kind.
    pub kind: IndexKind,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConstraint {
    /// The name (`<table>_<column>_check` or `<table>_check` when unnamed).
    pub name: String,
    /// The predicate as SQL text over the table's columns.
    pub expr: String,
}
