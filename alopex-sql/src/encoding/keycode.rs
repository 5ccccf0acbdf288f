//! Order-preserving key encoding.
//!
//! OWNER: storage-mapping helper. `## Format` goes here.
