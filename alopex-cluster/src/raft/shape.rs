//! # A range's shape after splits, and the ranges a node hosts
//!
//! A range's span is not fixed: a `Split` command in its log shrinks it to
//! the left half and hands the right half to a new range. Every replica
//! applies the split at the same log index, so the span must be state of
//! the state machine, recorded in the **same atomic batch** as the split,
//! in the node-local reserved span next to the applied state:
//!
//! ```text
//! FF FF FF "alopex/raft/" range u64 BE "/shape/" log index u64 BE
//!     = postcard RangeShape (span, generation, the split that made it)
//! FF FF FF "alopex/hosted/" range u64 BE
//!     = postcard HostedRange (initial span, first voters)
//! ```
//!
//! - The **shape** record with the greatest index is the range's current
//!   shape; a range that never split has none and keeps the span it was
//!   started with, at generation 1. One key per index for the same reason
//!   as the applied state: commands commit at their own timestamps, so a
//!   fixed key could be shadowed by its own older version.
//! - The **hosted** record says "this node is a replica of that range":
//!   the split writes one for the right half in the same batch, so the
//!   node starts the new group after the split is applied, and again after
//!   a restart, even if it crashed right after applying. The bootstrap
//!   writes the records of the first two ranges.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::span::RangeSpan;

/// The node-local prefix of hosted-range records.
pub const HOSTED_PREFIX: &[u8] = b"\xff\xff\xffalopex/hosted/";

const RAFT_PREFIX: &[u8] = b"\xff\xff\xffalopex/raft/";

/// The last split of a range, as its left half records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// The first key of the right half.
    pub split_key: Bytes,
    /// The right half's range id.
    pub new_range: u64,
    /// The end of the span before the split (the right half's end).
    pub right_end: Option<Bytes>,
}

/// A range's current span and generation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeShape {
    /// The keys the range owns now.
    pub span: RangeSpan,
    /// Bumped by every split of this range.
    pub generation: u64,
    /// The split that produced this shape, if any.
    pub split: Option<SplitRecord>,
}

/// A range this node is a replica of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedRange {
    /// The span the range was created with (its shape record, if any, is newer).
    pub span: RangeSpan,
    /// The range's first voters: node ids and addresses.
    pub members: Vec<(u64, String)>,
}

/// The prefix of `range`'s shape records.
pub fn shape_prefix(range: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(RAFT_PREFIX.len() + 8 + 7 + 8);
    k.extend_from_slice(RAFT_PREFIX);
    k.extend_from_slice(&range.to_be_bytes());
    k.extend_from_slice(b"/shape/");
    k
}

/// The shape record of `range` written at log `index`.
pub fn shape_key(range: u64, index: u64) -> Bytes {
    let mut k = shape_prefix(range);
    k.extend_from_slice(&index.to_be_bytes());
    Bytes::from(k)
}

/// The hosted-range record of `range`.
pub fn hosted_key(range: u64) -> Bytes {
    let mut k = HOSTED_PREFIX.to_vec();
    k.extend_from_slice(&range.to_be_bytes());
    Bytes::from(k)
}

/// The range id of a hosted-range record's key.
pub fn hosted_range(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.strip_prefix(HOSTED_PREFIX)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_and_parse() {
        assert!(shape_key(2, 9) < shape_key(2, 10));
        assert!(shape_key(2, u64::MAX) < shape_key(3, 0));
        assert_eq!(hosted_range(&hosted_key(42)), Some(42));
        assert_eq!(hosted_range(b"\xff\xff\xffalopex/hosted/x"), None);
    }
}
