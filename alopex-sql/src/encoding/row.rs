//! The row codec.
//!
//! OWNER: storage-mapping helper. `## Format` goes here.
