//! The catalog codec: a [`TableSchema`] as bytes.
//!
//! Table definitions live in the key-value store (see
//! [`crate::catalog::store`]), so they need a stable binary form. It is a
//! hand-written, versioned encoding rather than a serialization framework:
//! the format is part of the on-disk contract, it must be documented and
//! kept readable across releases, and a framework's derive output changes
//! whenever a struct does. A leading version byte lets a future release
//! add fields while still reading this one.
//!
//! Decoding checks the structure, not just the bytes: every column position
//! named by the primary key or an index must exist, so code downstream can
//! index `columns` without re-checking. Anything malformed is `XX001`.
//!
//! ## Format
//!
//! Varints, strings and values as in [`super::varint`] and [`super::row`]:
//!
//! ```text
//! table      := version:u8 (=1) id:uvarint name:string
//!               ncolumns:uvarint column*
//!               npk:uvarint position:uvarint*
//!               nindexes:uvarint index*
//!               nchecks:uvarint check*
//!               next_column_id:uvarint next_index_id:uvarint
//! column     := id:uvarint name:string type nullable:u8(0|1)
//!               has_default:u8(0|1) [default:string] missing:value hidden:u8(0|1)
//! type       := tag:u8 [typmod]
//!               0 unknown, 1 boolean, 2 smallint, 3 integer, 4 bigint, 5 real,
//!               6 double precision, 7 numeric, 8 text, 9 varchar, 10 bytea,
//!               11 date, 12 timestamp, 13 timestamptz, 14 interval, 15 jsonb,
//!               16 vector
//!               numeric typmod: has:u8 [precision:uvarint scale:uvarint]
//!               varchar typmod: has:u8 [length:uvarint]
//!               vector typmod:  has:u8 [dimension:uvarint]
//! index      := id:uvarint name:string ncols:uvarint position:uvarint*
//!               unique:u8(0|1) kind
//! kind       := 0 (btree)
//!             | 1 (hnsw) metric:u8 (0 l2, 1 cosine, 2 inner product)
//!               m:uvarint ef_construction:uvarint dimension:uvarint
//! check      := name:string expr:string
//! ```

use super::row;
use super::varint::{corrupt, get_str, get_u8, get_u32_varint, get_uvarint, put_bytes, put_uvarint};
use crate::catalog::{CheckConstraint, ColumnSchema, HnswOptions, IndexKind, IndexSchema, TableSchema};
use crate::error::Result;
use crate::types::DataType;

/// The catalog format version this code writes and reads.
const SCHEMA_FORMAT_VERSION: u8 = 1;

/// Encodes a table definition.
pub fn encode_table(table: &TableSchema) -> Vec<u8> {
    let mut out = vec![SCHEMA_FORMAT_VERSION];
    put_uvarint(&mut out, table.id);
    put_bytes(&mut out, table.name.as_bytes());
    put_uvarint(&mut out, table.columns.len() as u64);
    for column in &table.columns {
        put_uvarint(&mut out, column.id as u64);
        put_bytes(&mut out, column.name.as_bytes());
        encode_type(&column.ty, &mut out);
        out.push(column.nullable as u8);
        match &column.default {
            None => out.push(0),
            Some(text) => {
                out.push(1);
                put_bytes(&mut out, text.as_bytes());
            }
        }
        row::encode_value(&column.missing, &mut out);
        out.push(column.hidden as u8);
    }
    put_positions(&mut out, &table.primary_key);
    put_uvarint(&mut out, table.indexes.len() as u64);
    for index in &table.indexes {
        put_uvarint(&mut out, index.id as u64);
        put_bytes(&mut out, index.name.as_bytes());
        put_positions(&mut out, &index.columns);
        out.push(index.unique as u8);
        match index.kind {
            IndexKind::BTree => out.push(0),
            IndexKind::Hnsw(h) => {
                out.push(1);
                out.push(h.metric.to_byte());
                put_uvarint(&mut out, u64::from(h.m));
                put_uvarint(&mut out, u64::from(h.ef_construction));
                put_uvarint(&mut out, u64::from(h.dim));
            }
        }
    }
    put_uvarint(&mut out, table.checks.len() as u64);
    for check in &table.checks {
        put_bytes(&mut out, check.name.as_bytes());
        put_bytes(&mut out, check.expr.as_bytes());
    }
    put_uvarint(&mut out, table.next_column_id as u64);
    put_uvarint(&mut out, table.next_index_id as u64);
    out
}

/// Decodes a table definition written by [`encode_table`].
pub fn decode_table(bytes: &[u8]) -> Result<TableSchema> {
    let mut input = bytes;
    let input = &mut input;
    let version = get_u8(input)?;
    if version != SCHEMA_FORMAT_VERSION {
        return Err(corrupt(format!("unknown catalog format version {version}")));
    }
    let id = get_uvarint(input)?;
    let name = get_str(input)?.to_string();
    let ncolumns = get_count(input)?;
    let mut columns = Vec::with_capacity(ncolumns);
    for _ in 0..ncolumns {
        let id = get_u32_varint(input)?;
        let name = get_str(input)?.to_string();
        let ty = decode_type(input)?;
        let nullable = get_bool(input)?;
        let default = if get_bool(input)? { Some(get_str(input)?.to_string()) } else { None };
        let missing = row::decode_value(input)?;
        let hidden = get_bool(input)?;
        columns.push(ColumnSchema { id, name, ty, nullable, default, missing, hidden });
    }
    let primary_key = get_positions(input, columns.len())?;
    if primary_key.is_empty() {
        return Err(corrupt(format!("table \"{name}\" has an empty primary key")));
    }
    let nindexes = get_count(input)?;
    let mut indexes = Vec::with_capacity(nindexes);
    for _ in 0..nindexes {
        let id = get_u32_varint(input)?;
        let name = get_str(input)?.to_string();
        let index_columns = get_positions(input, columns.len())?;
        let unique = get_bool(input)?;
        let kind = match get_u8(input)? {
            0 => IndexKind::BTree,
            1 => {
                let metric = get_u8(input)?;
                let metric = alopex_core::Metric::from_byte(metric)
                    .ok_or_else(|| corrupt(format!("index \"{name}\": unknown vector metric {metric}")))?;
                let m = get_u32_varint(input)?;
                let ef_construction = get_u32_varint(input)?;
                let dim = get_u32_varint(input)?;
                IndexKind::Hnsw(HnswOptions { metric, m, ef_construction, dim })
            }
            k => return Err(corrupt(format!("unknown index kind {k}"))),
        };
        indexes.push(IndexSchema { id, name, columns: index_columns, unique, kind });
    }
    let nchecks = get_count(input)?;
    let mut checks = Vec::with_capacity(nchecks);
    for _ in 0..nchecks {
        let name = get_str(input)?.to_string();
        let expr = get_str(input)?.to_string();
        checks.push(CheckConstraint { name, expr });
    }
    let next_column_id = get_u32_varint(input)?;
    let next_index_id = get_u32_varint(input)?;
    if !input.is_empty() {
        return Err(corrupt(format!("{} trailing bytes after table \"{name}\"", input.len())));
    }
    Ok(TableSchema { id, name, columns, primary_key, indexes, checks, next_column_id, next_index_id })
}

pub(crate) fn encode_type(ty: &DataType, out: &mut Vec<u8>) {
    let tag = match ty {
        DataType::Unknown => 0,
        DataType::Bool => 1,
        DataType::Int2 => 2,
        DataType::Int4 => 3,
        DataType::Int8 => 4,
        DataType::Float4 => 5,
        DataType::Float8 => 6,
        DataType::Numeric(_) => 7,
        DataType::Text => 8,
        DataType::Varchar(_) => 9,
        DataType::Bytea => 10,
        DataType::Date => 11,
        DataType::Timestamp => 12,
        DataType::TimestampTz => 13,
        DataType::Interval => 14,
        DataType::Jsonb => 15,
        DataType::Vector(_) => 16,
        DataType::Array(_) => 17,
        DataType::Int2Vector => 18,
    };
    out.push(tag);
    match ty {
        DataType::Numeric(None) | DataType::Varchar(None) | DataType::Vector(None) => out.push(0),
        DataType::Numeric(Some((precision, scale))) => {
            out.push(1);
            put_uvarint(out, *precision as u64);
            put_uvarint(out, *scale as u64);
        }
        DataType::Varchar(Some(length)) | DataType::Vector(Some(length)) => {
            out.push(1);
            put_uvarint(out, *length as u64);
        }
        DataType::Array(elem) => encode_type(elem, out),
        _ => {}
    }
}

pub(crate) fn decode_type(input: &mut &[u8]) -> Result<DataType> {
    Ok(match get_u8(input)? {
        0 => DataType::Unknown,
        1 => DataType::Bool,
        2 => DataType::Int2,
        3 => DataType::Int4,
        4 => DataType::Int8,
        5 => DataType::Float4,
        6 => DataType::Float8,
        7 => DataType::Numeric(if get_bool(input)? {
            Some((get_u32_varint(input)?, get_u32_varint(input)?))
        } else {
            None
        }),
        8 => DataType::Text,
        9 => DataType::Varchar(if get_bool(input)? { Some(get_u32_varint(input)?) } else { None }),
        10 => DataType::Bytea,
        11 => DataType::Date,
        12 => DataType::Timestamp,
        13 => DataType::TimestampTz,
        14 => DataType::Interval,
        15 => DataType::Jsonb,
        16 => DataType::Vector(if get_bool(input)? { Some(get_u32_varint(input)?) } else { None }),
        17 => match decode_type(input)? {
            DataType::Array(_) => return Err(corrupt("array of arrays")),
            elem => DataType::Array(Box::new(elem)),
        },
        18 => DataType::Int2Vector,
        tag => return Err(corrupt(format!("unknown type tag {tag}"))),
    })
}

fn get_bool(input: &mut &[u8]) -> Result<bool> {
    match get_u8(input)? {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(corrupt(format!("invalid boolean byte {b}"))),
    }
}

/// Reads a count, refusing one larger than the bytes left could hold (each
/// element takes at least one byte), so garbage cannot make us allocate.
fn get_count(input: &mut &[u8]) -> Result<usize> {
    let n = get_uvarint(input)?;
    if n > input.len() as u64 {
        return Err(corrupt("count larger than the data"));
    }
    Ok(n as usize)
}

fn put_positions(out: &mut Vec<u8>, positions: &[usize]) {
    put_uvarint(out, positions.len() as u64);
    for &p in positions {
        put_uvarint(out, p as u64);
    }
}

fn get_positions(input: &mut &[u8], ncolumns: usize) -> Result<Vec<usize>> {
    let n = get_count(input)?;
    (0..n)
        .map(|_| {
            let p = get_uvarint(input)?;
            if p >= ncolumns as u64 {
                return Err(corrupt(format!("column position {p} of {ncolumns} columns")));
            }
            Ok(p as usize)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ROW_ID_COLUMN;
    use crate::encoding::testgen::Gen;
    use crate::error::SqlState;
    use crate::types::Value;

    /// A table using every field, every type and every typmod.
    pub(crate) fn sample_table() -> TableSchema {
        let types = [
            DataType::Unknown,
            DataType::Bool,
            DataType::Int2,
            DataType::Int4,
            DataType::Int8,
            DataType::Float4,
            DataType::Float8,
            DataType::Numeric(None),
            DataType::Numeric(Some((10, 2))),
            DataType::Text,
            DataType::Varchar(None),
            DataType::Varchar(Some(40)),
            DataType::Bytea,
            DataType::Date,
            DataType::Timestamp,
            DataType::TimestampTz,
            DataType::Interval,
            DataType::Jsonb,
            DataType::Vector(None),
            DataType::Vector(Some(3)),
        ];
        let mut g = Gen::new(1);
        let mut columns: Vec<ColumnSchema> = types
            .iter()
            .enumerate()
            .map(|(i, ty)| ColumnSchema {
                id: i as u32 * 3 + 1,
                name: format!("col_{i}_é"),
                ty: ty.clone(),
                nullable: i % 2 == 0,
                default: (i % 3 == 0).then(|| format!("{i} + 1")),
                missing: g.value(ty),
                hidden: false,
            })
            .collect();
        columns.push(ColumnSchema {
            id: 99,
            name: ROW_ID_COLUMN.into(),
            ty: DataType::Int8,
            nullable: false,
            default: None,
            missing: Value::Null,
            hidden: true,
        });
        TableSchema {
            id: 1 << 40,
            name: "Mixed Case".into(),
            primary_key: vec![columns.len() - 1],
            columns,
            indexes: vec![
                IndexSchema { id: 2, name: "i_a".into(), columns: vec![3, 9], unique: true, kind: IndexKind::BTree },
                IndexSchema { id: 5, name: "i_b".into(), columns: vec![2], unique: false, kind: IndexKind::BTree },
                IndexSchema {
                    id: 6,
                    name: "i_v".into(),
                    columns: vec![1],
                    unique: false,
                    kind: IndexKind::Hnsw(HnswOptions {
                        metric: alopex_core::Metric::Cosine,
                        m: 12,
                        ef_construction: 80,
                        dim: 384,
                    }),
                },
            ],
            checks: vec![CheckConstraint { name: "t_check".into(), expr: "a > 0 AND b <> 'x'".into() }],
            next_column_id: 100,
            next_index_id: 6,
        }
    }

    #[test]
    fn every_field_round_trips() {
        let t = sample_table();
        let back = decode_table(&encode_table(&t)).unwrap();
        // Field by field first, so a failure names the field.
        for (a, b) in t.columns.iter().zip(&back.columns) {
            assert_eq!(
                (a.id, &a.name, &a.ty, a.nullable, &a.default, a.hidden),
                (b.id, &b.name, &b.ty, b.nullable, &b.default, b.hidden)
            );
            assert!(crate::encoding::testgen::same_value(&a.missing, &b.missing));
        }
        assert_eq!(back, t);
    }

    #[test]
    fn malformed_definitions_are_corruption() {
        let bytes = encode_table(&sample_table());
        for cut in 0..bytes.len() {
            let err = decode_table(&bytes[..cut]).unwrap_err();
            assert_eq!(err.state, SqlState::DATA_CORRUPTED);
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode_table(&trailing).is_err());
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(decode_table(&version).unwrap_err().message.contains("version 2"));

        // A primary key naming a column that does not exist.
        let mut t = sample_table();
        t.primary_key = vec![t.columns.len()];
        assert!(decode_table(&encode_table(&t)).is_err());
        let mut t = sample_table();
        t.indexes[0].columns.push(500);
        assert!(decode_table(&encode_table(&t)).is_err());
        let mut t = sample_table();
        t.primary_key.clear();
        assert!(decode_table(&encode_table(&t)).is_err());

        let mut g = Gen::new(8);
        for _ in 0..3000 {
            let mut b = bytes.clone();
            let at = g.below(b.len() as u64) as usize;
            b[at] = g.next_u64() as u8;
            let _ = decode_table(&b);
        }
    }
}
