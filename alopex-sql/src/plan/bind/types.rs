//! SQL type names to [`DataType`], and PostgreSQL's rules for choosing a
//! common type and for which casts exist.
//!
//! OWNER: query-binder helper.
//!
//! `sqlparser` parses type names into a large dialect-neutral enum; only the
//! PostgreSQL spellings map to a [`DataType`], everything else is 42704
//! `type "x" does not exist` (or 0A000 for real PostgreSQL types Alopex does
//! not have, such as `time`). `char(n)` becomes `varchar(n)`: Alopex has no
//! blank-padded type, and the difference only shows in trailing spaces.
//!
//! [`common_type`] follows PostgreSQL's `select_common_type` (UNION, CASE,
//! IN, VALUES, COALESCE): inputs of unknown type (NULL, string literals)
//! take the others' type; all others must be of one category (numeric,
//! string, datetime, …) and the result is the widest type in it. Mixing
//! categories is 42804 `UNION types integer and text cannot be matched`.
//!
//! [`assignable`] and [`castable`] are the assignment and explicit cast
//! tables of `pg_cast`, reduced to Alopex's types.

use sqlparser::ast;

use crate::error::{Error, Result, SqlState};
use crate::sql_err;
use crate::types::DataType;

/// Resolves a type name (`int`, `integer`, `int4`, `varchar(10)`,
/// `numeric(10,2)`, `timestamptz`, …). 42704 for an unknown type.
pub fn data_type(ty: &ast::DataType) -> Result<DataType> {
    use ast::DataType as A;
    Ok(match ty {
        A::Bool | A::Boolean => DataType::Bool,
        A::Int2(None) | A::SmallInt(None) => DataType::Int2,
        A::Int(None) | A::Int4(None) | A::Integer(None) => DataType::Int4,
        A::Int8(None) | A::BigInt(None) => DataType::Int8,
        A::Real | A::Float4 => DataType::Float4,
        A::Float8 | A::DoublePrecision | A::Double(ast::ExactNumberInfo::None) => DataType::Float8,
        A::Float(info) => match info {
            ast::ExactNumberInfo::None => DataType::Float8,
            ast::ExactNumberInfo::Precision(p) if (1..=24).contains(p) => DataType::Float4,
            ast::ExactNumberInfo::Precision(p) if (25..=53).contains(p) => DataType::Float8,
            ast::ExactNumberInfo::Precision(p) => {
                return Err(sql_err!(
                    INVALID_PARAMETER_VALUE,
                    "precision for type float must be between 1 and 53, not {p}"
                ));
            }
            _ => return Err(sql_err!(SYNTAX_ERROR, "syntax error at or near \",\"")),
        },
        A::Numeric(info) | A::Decimal(info) | A::Dec(info) => DataType::Numeric(numeric_typmod(info)?),
        A::Text => DataType::Text,
        A::Varchar(len) | A::CharacterVarying(len) | A::CharVarying(len) => DataType::Varchar(char_length(len)?),
        A::Char(len) | A::Character(len) => DataType::Varchar(Some(char_length(len)?.unwrap_or(1))),
        A::Bytea => DataType::Bytea,
        A::Date => DataType::Date,
        A::Timestamp(_, tz) => match tz {
            ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone => DataType::Timestamp,
            ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => DataType::TimestampTz,
        },
        A::Interval { fields: None, .. } => DataType::Interval,
        A::JSON | A::JSONB => DataType::Jsonb,
        A::Custom(name, modifiers) => {
            let name = name.to_string().to_lowercase();
            // `pg_catalog.text`, as psql writes it.
            let name = name.strip_prefix("pg_catalog.").map(str::to_string).unwrap_or(name);
            let plain = modifiers.is_empty();
            match name.as_str() {
                "int2" | "smallint" if plain => DataType::Int2,
                "int" | "int4" | "integer" if plain => DataType::Int4,
                "int8" | "bigint" if plain => DataType::Int8,
                "float4" | "real" if plain => DataType::Float4,
                "float8" if plain => DataType::Float8,
                "bool" | "boolean" if plain => DataType::Bool,
                "text" if plain => DataType::Text,
                "bpchar" if plain => DataType::Varchar(None),
                "timestamptz" if plain => DataType::TimestampTz,
                // Catalog types: OIDs are BIGINT, names and vectors text.
                "oid" | "regproc" | "xid" if plain => DataType::Int8,
                "int2vector" if plain => DataType::Int2Vector,
                "_int2" if plain => DataType::Array(Box::new(DataType::Int2)),
                "_int4" if plain => DataType::Array(Box::new(DataType::Int4)),
                "_int8" | "_oid" if plain => DataType::Array(Box::new(DataType::Int8)),
                "_text" | "_name" if plain => DataType::Array(Box::new(DataType::Text)),
                "name" | "oidvector" | "pg_node_tree" if plain => DataType::Text,
                "jsonb" | "json" if plain => DataType::Jsonb,
                "vector" => DataType::Vector(vector_typmod(modifiers)?),
                "time" | "timetz" | "uuid" | "money" | "inet" | "cidr" | "xml" | "point" => {
                    return Err(Error::unsupported(format!("type {name}")));
                }
                _ => return Err(sql_err!(UNDEFINED_OBJECT, "type \"{name}\" does not exist")),
            }
        }
        A::Array(def) => match def {
            ast::ArrayElemTypeDef::AngleBracket(t)
            | ast::ArrayElemTypeDef::SquareBracket(t, _)
            | ast::ArrayElemTypeDef::Parenthesis(t)
            | ast::ArrayElemTypeDef::Qualified(t, _) => match data_type(t)? {
                // `int[][]` is the same type as `int[]` in PostgreSQL.
                DataType::Array(inner) => DataType::Array(inner),
                DataType::Int2Vector => DataType::Array(Box::new(DataType::Int2)),
                elem => DataType::Array(Box::new(elem)),
            },
            ast::ArrayElemTypeDef::None => return Err(Error::unsupported("ARRAY without an element type")),
        },
        A::Time(..) | A::Uuid | A::Interval { .. } | A::Bit(_) | A::BitVarying(_) => {
            return Err(Error::unsupported(format!("type {ty}")));
        }
        other => {
            return Err(sql_err!(UNDEFINED_OBJECT, "type \"{}\" does not exist", other.to_string().to_lowercase()));
        }
    })
}

/// `vector(n)`'s modifier: none, or one dimension in 1..=16000 (pgvector's
/// `vector_typmod_in` messages).
fn vector_typmod(modifiers: &[String]) -> Result<Option<u32>> {
    match modifiers {
        [] => Ok(None),
        [n] => {
            let n: i64 = n.trim().parse().map_err(|_| {
                sql_err!(INVALID_PARAMETER_VALUE, "type modifiers must be simple constants or identifiers")
            })?;
            Ok(Some(crate::expr::cast::vector::check_typmod(n)?))
        }
        _ => Err(sql_err!(INVALID_PARAMETER_VALUE, "invalid number of type modifiers")),
    }
}

fn numeric_typmod(info: &ast::ExactNumberInfo) -> Result<Option<(u32, u32)>> {
    let (p, s) = match info {
        ast::ExactNumberInfo::None => return Ok(None),
        ast::ExactNumberInfo::Precision(p) => (*p, 0i64),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if !(1..=1000).contains(&p) {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "NUMERIC precision {p} must be between 1 and 1000"));
    }
    if s < 0 || s as u64 > p {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "NUMERIC scale {s} must be between 0 and precision {p}"));
    }
    Ok(Some((p as u32, s as u32)))
}

fn char_length(len: &Option<ast::CharacterLength>) -> Result<Option<u32>> {
    match len {
        None | Some(ast::CharacterLength::Max) => Ok(None),
        Some(ast::CharacterLength::IntegerLength { length, .. }) => {
            if *length == 0 || *length > 10_485_760 {
                return Err(sql_err!(
                    INVALID_PARAMETER_VALUE,
                    "length for type varchar must be between 1 and 10485760"
                ));
            }
            Ok(Some(*length as u32))
        }
    }
}

/// PostgreSQL's internal type name (`int4`, `timestamptz`): the output
/// column name of a cast such as `'1'::integer`.
pub(crate) fn pg_type_name(ty: &DataType) -> &'static str {
    match ty {
        DataType::Unknown => "unknown",
        DataType::Bool => "bool",
        DataType::Int2 => "int2",
        DataType::Int4 => "int4",
        DataType::Int8 => "int8",
        DataType::Float4 => "float4",
        DataType::Float8 => "float8",
        DataType::Numeric(_) => "numeric",
        DataType::Text => "text",
        DataType::Varchar(_) => "varchar",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
        DataType::TimestampTz => "timestamptz",
        DataType::Interval => "interval",
        DataType::Jsonb => "jsonb",
        DataType::Vector(_) => "vector",
        DataType::Int2Vector => "int2vector",
        DataType::Array(elem) => match elem.as_ref() {
            DataType::Bool => "_bool",
            DataType::Int2 => "_int2",
            DataType::Int4 => "_int4",
            DataType::Int8 => "_int8",
            DataType::Float4 => "_float4",
            DataType::Float8 => "_float8",
            DataType::Numeric(_) => "_numeric",
            DataType::Varchar(_) => "_varchar",
            DataType::Date => "_date",
            DataType::Timestamp => "_timestamp",
            DataType::TimestampTz => "_timestamptz",
            _ => "_text",
        },
    }
}

/// PostgreSQL's type categories, for common-type resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Bool,
    Numeric,
    String,
    DateTime,
    Timespan,
    Bytes,
    Json,
    Vector,
    Array,
    Unknown,
}

fn category(ty: &DataType) -> Category {
    match ty {
        DataType::Unknown => Category::Unknown,
        DataType::Bool => Category::Bool,
        t if t.is_numeric() => Category::Numeric,
        DataType::Text | DataType::Varchar(_) => Category::String,
        DataType::Date | DataType::Timestamp | DataType::TimestampTz => Category::DateTime,
        DataType::Interval => Category::Timespan,
        DataType::Bytea => Category::Bytes,
        DataType::Vector(_) => Category::Vector,
        DataType::Array(_) | DataType::Int2Vector => Category::Array,
        _ => Category::Json,
    }
}

/// The rank of a type inside its category: the common type is the highest.
fn rank(ty: &DataType) -> u8 {
    match ty {
        DataType::Int2 => 1,
        DataType::Int4 => 2,
        DataType::Int8 => 3,
        DataType::Numeric(_) => 4,
        DataType::Float4 => 5,
        DataType::Float8 => 6,
        DataType::Varchar(_) => 1,
        DataType::Text => 2,
        DataType::Date => 1,
        DataType::Timestamp => 2,
        DataType::TimestampTz => 3,
        _ => 0,
    }
}

/// The common type of a set of inputs (PostgreSQL's `select_common_type`).
/// `None` entries are untyped (NULL, string literals, parameters) and take
/// the type of the others; when every input is untyped the result is TEXT.
/// `context` names the construct for the error (`UNION`, `CASE`, …).
pub(crate) fn common_type(types: &[Option<DataType>], context: &str) -> Result<DataType> {
    let mut best: Option<DataType> = None;
    for ty in types.iter().flatten() {
        if *ty == DataType::Unknown {
            continue;
        }
        best = Some(match best {
            None => ty.clone(),
            Some(b) => {
                if category(&b) != category(ty) {
                    return Err(Error::new(
                        SqlState::DATATYPE_MISMATCH,
                        format!("{context} types {b} and {ty} cannot be matched"),
                    ));
                }
                if b == *ty {
                    b
                } else if let (Some(x), Some(y)) = (b.element(), ty.element()) {
                    let elem = common_type(&[Some(x.clone()), Some(y.clone())], context)?;
                    DataType::Array(Box::new(elem))
                } else if rank(ty) > rank(&b) {
                    unconstrained(ty)
                } else if rank(ty) < rank(&b) {
                    unconstrained(&b)
                } else {
                    // Same base type with different modifiers.
                    unconstrained(&b)
                }
            }
        });
    }
    Ok(best.unwrap_or(DataType::Text))
}

/// The type without length or precision modifiers.
pub(crate) fn unconstrained(ty: &DataType) -> DataType {
    match ty {
        DataType::Numeric(_) => DataType::Numeric(None),
        DataType::Varchar(_) => DataType::Varchar(None),
        DataType::Vector(_) => DataType::Vector(None),
        t => t.clone(),
    }
}

/// True when two types share a representation, so one can stand for the
/// other without a cast (modifiers are checked where values are stored).
pub(crate) fn same_base(a: &DataType, b: &DataType) -> bool {
    unconstrained(a) == unconstrained(b) || (a.is_string() && b.is_string())
}

/// True when PostgreSQL converts `from` to `to` in an assignment (INSERT,
/// UPDATE): between numeric types either way, anything to a string type,
/// and among dates and timestamps.
pub(crate) fn assignable(from: &DataType, to: &DataType) -> bool {
    if let (Some(a), Some(b)) = (from.element(), to.element()) {
        return assignable(a, b);
    }
    let (f, t) = (category(from), category(to));
    f == Category::Unknown || t == Category::String || f == t
}

/// True when `CAST(x AS to)` exists for an `x` of type `from` (42846
/// otherwise): assignment casts, plus every type from a string, and
/// `integer` to and from `boolean`.
pub(crate) fn castable(from: &DataType, to: &DataType) -> bool {
    if let (Some(a), Some(b)) = (from.element(), to.element()) {
        return castable(a, b);
    }
    assignable(from, to)
        || category(from) == Category::String
        || (*from == DataType::Int4 && *to == DataType::Bool)
        || (*from == DataType::Bool && *to == DataType::Int4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn parse(name: &str) -> Result<DataType> {
        let sql = format!("SELECT CAST(NULL AS {name})");
        let stmt = Parser::parse_sql(&PostgreSqlDialect {}, &sql).unwrap().remove(0);
        let ast::Statement::Query(q) = stmt else { panic!() };
        let ast::SetExpr::Select(s) = *q.body else { panic!() };
        let ast::SelectItem::UnnamedExpr(ast::Expr::Cast { data_type: dt, .. }) = &s.projection[0] else { panic!() };
        data_type(dt)
    }

    #[test]
    fn postgres_type_names() {
        let cases: &[(&str, DataType)] = &[
            ("int2", DataType::Int2),
            ("smallint", DataType::Int2),
            ("int", DataType::Int4),
            ("integer", DataType::Int4),
            ("int4", DataType::Int4),
            ("int8", DataType::Int8),
            ("bigint", DataType::Int8),
            ("real", DataType::Float4),
            ("float4", DataType::Float4),
            ("float(10)", DataType::Float4),
            ("float", DataType::Float8),
            ("float8", DataType::Float8),
            ("double precision", DataType::Float8),
            ("numeric", DataType::Numeric(None)),
            ("decimal(10,2)", DataType::Numeric(Some((10, 2)))),
            ("numeric(5)", DataType::Numeric(Some((5, 0)))),
            ("text", DataType::Text),
            ("varchar", DataType::Varchar(None)),
            ("varchar(10)", DataType::Varchar(Some(10))),
            ("character varying(3)", DataType::Varchar(Some(3))),
            ("char(4)", DataType::Varchar(Some(4))),
            ("char", DataType::Varchar(Some(1))),
            ("bytea", DataType::Bytea),
            ("date", DataType::Date),
            ("timestamp", DataType::Timestamp),
            ("timestamp without time zone", DataType::Timestamp),
            ("timestamptz", DataType::TimestampTz),
            ("timestamp with time zone", DataType::TimestampTz),
            ("interval", DataType::Interval),
            ("jsonb", DataType::Jsonb),
            ("json", DataType::Jsonb),
            ("boolean", DataType::Bool),
            ("bool", DataType::Bool),
            ("vector", DataType::Vector(None)),
            ("vector(3)", DataType::Vector(Some(3))),
            ("VECTOR(16000)", DataType::Vector(Some(16000))),
        ];
        for (name, want) in cases {
            assert_eq!(parse(name).unwrap(), *want, "{name}");
        }
        assert_eq!(parse("widget").unwrap_err().state, SqlState::UNDEFINED_OBJECT);
        assert_eq!(parse("numeric(0)").unwrap_err().state, SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(parse("time").unwrap_err().state, SqlState::FEATURE_NOT_SUPPORTED);
        assert_eq!(parse("vector(0)").unwrap_err().message, "dimensions for type vector must be at least 1");
        assert_eq!(parse("vector(16001)").unwrap_err().state, SqlState::INVALID_PARAMETER_VALUE);
        assert_eq!(parse("vector(1,2)").unwrap_err().state, SqlState::INVALID_PARAMETER_VALUE);
    }

    #[test]
    fn common_types_follow_postgres() {
        let t = |v: &[Option<DataType>]| common_type(v, "UNION");
        assert_eq!(t(&[Some(DataType::Int4), Some(DataType::Int8)]).unwrap(), DataType::Int8);
        assert_eq!(t(&[Some(DataType::Int4), Some(DataType::Numeric(Some((5, 2))))]).unwrap(), DataType::Numeric(None));
        assert_eq!(t(&[Some(DataType::Numeric(None)), Some(DataType::Float8)]).unwrap(), DataType::Float8);
        assert_eq!(t(&[None, Some(DataType::Int4)]).unwrap(), DataType::Int4);
        assert_eq!(t(&[Some(DataType::Unknown), None]).unwrap(), DataType::Text);
        assert_eq!(t(&[Some(DataType::Varchar(Some(3))), Some(DataType::Text)]).unwrap(), DataType::Text);
        assert_eq!(t(&[Some(DataType::Date), Some(DataType::TimestampTz)]).unwrap(), DataType::TimestampTz);
        let err = t(&[Some(DataType::Int4), Some(DataType::Text)]).unwrap_err();
        assert_eq!(err.state, SqlState::DATATYPE_MISMATCH);
        assert_eq!(err.message, "UNION types integer and text cannot be matched");
    }

    #[test]
    fn cast_tables() {
        assert!(assignable(&DataType::Int8, &DataType::Int2));
        assert!(assignable(&DataType::Int4, &DataType::Text));
        assert!(!assignable(&DataType::Text, &DataType::Int4));
        assert!(!assignable(&DataType::Bool, &DataType::Int4));
        assert!(castable(&DataType::Text, &DataType::Int4));
        assert!(castable(&DataType::Bool, &DataType::Int4));
        assert!(!castable(&DataType::Bool, &DataType::Date));
        assert!(!castable(&DataType::Int4, &DataType::Date));
    }
}
