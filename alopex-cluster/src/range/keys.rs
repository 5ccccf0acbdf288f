//! # The key layout of the cluster: user keys, the meta span, the meta range
//!
//! The engine's key space is cut in three, top down:
//!
//! ```text
//! FF FF FF …          node-local bookkeeping (raft applied state, shapes); no range
//! FF FF FE …          the meta span: range 1, the meta range
//!   FF FF FE "meta/" end-key   = postcard RangeDescriptor of the range ending at end-key
//!   FF FF FE "next-range-id"   = u64 BE, the next unused range id
//! [00 …, FF FF FE)    user keys: the data ranges
//! ```
//!
//! A descriptor is stored under its range's **exclusive end key**. The
//! range holding user key `k` is the one with the smallest end greater than
//! `k`, so a lookup is one seek: the first meta key strictly after
//! `"meta/" k`. The last data range ends at `FF FF FE` (the end of the user
//! key space), so its meta key is `FF FF FE "meta/" FF FF FE`. A split of
//! `[a, z)` at `m` rewrites the key of `z` (now the right half) and adds
//! the key of `m` (the left half) in **one** atomic meta command, so no
//! lookup ever sees a gap or an overlap.
//!
//! Range 1 (the meta range) and range 2 (the first data range, all user
//! keys) are created at bootstrap; later ids come from the counter.

use bytes::Bytes;

use crate::ids::RangeId;
use crate::raft::RangeSpan;

/// The meta range's id.
pub const META_RANGE: RangeId = RangeId(1);
/// The first data range's id (the whole user key space at bootstrap).
pub const FIRST_DATA_RANGE: RangeId = RangeId(2);
/// The first id the counter hands out.
pub const FIRST_ALLOCATED_RANGE: u64 = 3;
/// The end of the user key space and the start of the meta span.
pub const USER_END: &[u8] = b"\xff\xff\xfe";
/// The prefix of descriptor keys.
pub const META_PREFIX: &[u8] = b"\xff\xff\xfemeta/";
/// The first key after every descriptor key.
pub const META_PREFIX_END: &[u8] = b"\xff\xff\xfemeta0";
/// The range-id counter.
pub const NEXT_RANGE_ID_KEY: &[u8] = b"\xff\xff\xfenext-range-id";

/// The meta range's span: the meta span, up to the node-local keys.
pub fn meta_span() -> RangeSpan {
    RangeSpan::new(Bytes::from_static(USER_END), None)
}

/// The whole user key space, the first data range's span.
pub fn user_span() -> RangeSpan {
    RangeSpan::new(Bytes::new(), Some(Bytes::from_static(USER_END)))
}

/// Whether `key` is a user key (below the meta span).
pub fn is_user_key(key: &[u8]) -> bool {
    key < USER_END
}

/// The exclusive end of a data range's span as a key.
pub fn span_end(span: &RangeSpan) -> &[u8] {
    match &span.end {
        Some(e) if e.as_ref() < USER_END => e,
        _ => USER_END,
    }
}

/// The meta key of the descriptor of a range ending at `end`.
pub fn meta_key(end: &[u8]) -> Bytes {
    let mut k = Vec::with_capacity(META_PREFIX.len() + end.len());
    k.extend_from_slice(META_PREFIX);
    k.extend_from_slice(end);
    Bytes::from(k)
}

/// Where a lookup of `key` starts: the smallest meta key after `"meta/" key`.
pub fn lookup_start(key: &[u8]) -> Bytes {
    let mut k = meta_key(key).to_vec();
    k.push(0);
    Bytes::from(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lookup_seek_finds_the_range_holding_a_key() {
        // Ranges ["", "g"), ["g", "p"), ["p", USER_END).
        let ends = [meta_key(b"g"), meta_key(b"p"), meta_key(USER_END)];
        let find = |k: &[u8]| ends.iter().position(|e| e.as_ref() >= lookup_start(k).as_ref());
        assert_eq!(find(b""), Some(0));
        assert_eq!(find(b"f\xff"), Some(0));
        assert_eq!(find(b"g"), Some(1));
        assert_eq!(find(b"o"), Some(1));
        assert_eq!(find(b"p"), Some(2));
        assert_eq!(find(b"\xff\xff\xfd\xff"), Some(2));
        assert!(ends.iter().all(|e| e.as_ref() < META_PREFIX_END && e.as_ref() > META_PREFIX));
        assert!(!is_user_key(NEXT_RANGE_ID_KEY) && is_user_key(b"\xff\xff\xfd"));
        assert!(meta_span().contains(&meta_key(b"x")) && !user_span().contains(&meta_key(b"x")));
    }
}
