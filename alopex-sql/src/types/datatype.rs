//! The SQL type system.

use std::fmt;

/// The type OID reported for `vector` (PostgreSQL's `FirstNormalObjectId`,
/// where an extension's first type would land).
pub const VECTOR_OID: u32 = 16385;

/// A SQL data type.
///
/// The enum is open to extension; `Vector(dim)` is pgvector's `vector(n)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// The type of a bare `NULL` or an untyped parameter before inference.
    Unknown,
    /// BOOLEAN.
    Bool,
    /// SMALLINT (16-bit).
    Int2,
    /// INTEGER (32-bit).
    Int4,
    /// BIGINT (64-bit).
    Int8,
    /// REAL (32-bit float).
    Float4,
    /// DOUBLE PRECISION.
    Float8,
    /// NUMERIC(precision, scale); `None` means unconstrained.
    Numeric(Option<(u32, u32)>),
    /// TEXT.
    Text,
    /// VARCHAR(n) / CHARACTER VARYING(n); `None` means no limit.
    Varchar(Option<u32>),
    /// BYTEA.
    Bytea,
    /// DATE.
    Date,
    /// TIMESTAMP WITHOUT TIME ZONE.
    Timestamp,
    /// TIMESTAMP WITH TIME ZONE (stored as UTC).
    TimestampTz,
    /// INTERVAL.
    Interval,
    /// JSONB.
    Jsonb,
    /// pgvector's `vector(n)`: `n` single-precision floats. `None` is a
    /// vector of any dimension (`vector` without a modifier).
    Vector(Option<u32>),
    /// A one-dimensional array of the element type (`int4[]`, `text[]`),
    /// subscripts from 1. Arrays of arrays are not a type here: PostgreSQL's
    /// multi-dimensional arrays are one type per element type too, and
    /// Alopex keeps to one dimension (see `types/mod.rs`).
    Array(Box<DataType>),
    /// `int2vector`, the catalog's array of column numbers
    /// (`pg_index.indkey`): an `int2[]` whose subscripts start at 0 and
    /// whose text form is space-separated (`1 2`).
    Int2Vector,
}

impl DataType {
    /// True for the integer types.
    pub fn is_integer(&self) -> bool {
        matches!(self, DataType::Int2 | DataType::Int4 | DataType::Int8)
    }

    /// True for every numeric type.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            DataType::Int2
                | DataType::Int4
                | DataType::Int8
                | DataType::Float4
                | DataType::Float8
                | DataType::Numeric(_)
        )
    }

    /// True for `vector` of any dimension.
    pub fn is_vector(&self) -> bool {
        matches!(self, DataType::Vector(_))
    }

    /// True for arrays (and `int2vector`).
    pub fn is_array(&self) -> bool {
        matches!(self, DataType::Array(_) | DataType::Int2Vector)
    }

    /// The element type of an array type (`int2` for `int2vector`).
    pub fn element(&self) -> Option<&DataType> {
        match self {
            DataType::Array(e) => Some(e),
            DataType::Int2Vector => Some(&DataType::Int2),
            _ => None,
        }
    }

    /// The first subscript of an array of this type: 0 for `int2vector`,
    /// 1 for every other array.
    pub fn lower_bound(&self) -> i64 {
        if *self == DataType::Int2Vector { 0 } else { 1 }
    }

    /// The array type whose elements are of this type.
    pub fn array_of(self) -> DataType {
        DataType::Array(Box::new(self))
    }

    /// True for TEXT and VARCHAR.
    pub fn is_string(&self) -> bool {
        matches!(self, DataType::Text | DataType::Varchar(_))
    }

    /// The PostgreSQL type OID, for the wire protocol and `information_schema`.
    pub fn pg_oid(&self) -> u32 {
        match self {
            DataType::Unknown => 705,
            DataType::Bool => 16,
            DataType::Int2 => 21,
            DataType::Int4 => 23,
            DataType::Int8 => 20,
            DataType::Float4 => 700,
            DataType::Float8 => 701,
            DataType::Numeric(_) => 1700,
            DataType::Text => 25,
            DataType::Varchar(_) => 1043,
            DataType::Bytea => 17,
            DataType::Date => 1082,
            DataType::Timestamp => 1114,
            DataType::TimestampTz => 1184,
            DataType::Interval => 1186,
            DataType::Jsonb => 3802,
            // pgvector's OID is assigned at CREATE EXTENSION time; Alopex has
            // the type built in and reports PostgreSQL's first user OID.
            DataType::Vector(_) => VECTOR_OID,
            DataType::Int2Vector => 22,
            DataType::Array(elem) => array_oid(elem),
        }
    }

    /// The type's name in messages, and what
    /// `information_schema.columns.data_type` reports (except for `vector`,
    /// a user-defined type in PostgreSQL, reported as `USER-DEFINED`).
    pub fn sql_name(&self) -> &'static str {
        match self {
            DataType::Unknown => "unknown",
            DataType::Bool => "boolean",
            DataType::Int2 => "smallint",
            DataType::Int4 => "integer",
            DataType::Int8 => "bigint",
            DataType::Float4 => "real",
            DataType::Float8 => "double precision",
            DataType::Numeric(_) => "numeric",
            DataType::Text => "text",
            DataType::Varchar(_) => "character varying",
            DataType::Bytea => "bytea",
            DataType::Date => "date",
            DataType::Timestamp => "timestamp without time zone",
            DataType::TimestampTz => "timestamp with time zone",
            DataType::Interval => "interval",
            DataType::Jsonb => "jsonb",
            DataType::Vector(_) => "vector",
            DataType::Int2Vector => "int2vector",
            DataType::Array(_) => "ARRAY",
        }
    }
}

/// The OID of the array type over `elem` (PostgreSQL's `typarray`).
pub fn array_oid(elem: &DataType) -> u32 {
    match elem {
        DataType::Bool => 1000,
        DataType::Bytea => 1001,
        DataType::Int2 => 1005,
        DataType::Int2Vector => 1006,
        DataType::Int4 => 1007,
        DataType::Text | DataType::Unknown => 1009,
        DataType::Varchar(_) => 1015,
        DataType::Int8 => 1016,
        DataType::Float4 => 1021,
        DataType::Float8 => 1022,
        DataType::Timestamp => 1115,
        DataType::Date => 1182,
        DataType::TimestampTz => 1185,
        DataType::Interval => 1187,
        DataType::Numeric(_) => 1231,
        DataType::Jsonb => 3807,
        // pgvector's `_vector`, one past the element type's OID.
        DataType::Vector(_) => VECTOR_OID + 1,
        // No arrays of arrays: the type of a multi-dimensional array is
        // that of its elements' array.
        DataType::Array(inner) => array_oid(inner),
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Numeric(Some((p, s))) => write!(f, "numeric({p},{s})"),
            DataType::Varchar(Some(n)) => write!(f, "character varying({n})"),
            DataType::Vector(Some(n)) => write!(f, "vector({n})"),
            DataType::Array(elem) => write!(f, "{elem}[]"),
            other => f.write_str(other.sql_name()),
        }
    }
}
