//! Byte encodings: order-preserving keys and the row format.
//!
//! OWNER: storage-mapping helper.

pub mod keycode;
pub mod row;
