//! Byte encodings: order-preserving keys, the row format and the catalog
//! format.
//!
//! Keys and values have opposite needs, so they get different encodings:
//!
//! * [`keycode`] writes key components so that byte order is SQL order and
//!   every encoding is self-delimiting; it spends bytes on fixed widths and
//!   escapes to get there.
//! * [`row`] writes row values as compactly as it can, tagged by column id
//!   so that `ALTER TABLE` never has to rewrite existing rows.
//! * [`schema`] writes table definitions for the catalog.
//!
//! [`varint`] holds the integer and byte-reading primitives the two value
//! formats share. Every decoder treats its input as untrusted: malformed
//! bytes are `XX001 data_corrupted` errors, never panics.

pub mod keycode;
pub mod row;
pub mod schema;
pub mod varint;

#[cfg(test)]
pub(crate) mod testgen;
