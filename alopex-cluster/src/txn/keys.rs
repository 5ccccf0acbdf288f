//! # Where intents and transaction records live in the engine
//!
//! Intents and records are state of a **range**: they must be replicated
//! with it, travel in its snapshots, and follow its keys when it splits.
//! They cannot sit among the user keys (every user key is someone's
//! data), so they live in the reserved span `FF FF FF`, which no range's
//! user span reaches, but **addressed by the user key they belong to**:
//!
//! ## Format
//!
//! ```text
//! FF FF FF "alopex/txn/lock/" key
//!     = postcard Intent                    (at most one intent per key)
//! FF FF FF "alopex/txn/rec/" escaped(anchor) id u128 BE
//!     = postcard TxnRecord
//! escaped(k) = k with every 00 byte written 00 FF, then 00 01
//! ```
//!
//! Because the prefix preserves order, the intents of a range `[start,
//! end)` are exactly the keys `[LOCK ‖ start, LOCK ‖ end)`. Records carry
//! a suffix (the id) after the anchor, so the anchor is escaped to keep
//! that property: `escaped` is prefix-free and order-preserving, so
//! `escaped(a) ‖ x < escaped(b)` whenever `a < b`, and the records of a
//! range are exactly `[REC ‖ escaped(start), REC ‖ escaped(end))`. A split
//! therefore moves nothing: each half finds its intents and records in the
//! spans derived from its new user span. The lock prefix sorts before the
//! record prefix, and both after every user key, so a snapshot can export
//! user span, intent span and record span in one ordered pass.

use std::ops::Bound;

use bytes::Bytes;

use alopex_core::KeyBounds;

use crate::raft::span::RangeSpan;

use super::meta::TxnId;

/// The prefix of intent keys.
pub const LOCK_PREFIX: &[u8] = b"\xff\xff\xffalopex/txn/lock/";
/// The prefix of transaction record keys.
pub const RECORD_PREFIX: &[u8] = b"\xff\xff\xffalopex/txn/rec/";

/// The key of `key`'s intent.
pub fn intent_key(key: &[u8]) -> Bytes {
    let mut k = Vec::with_capacity(LOCK_PREFIX.len() + key.len());
    k.extend_from_slice(LOCK_PREFIX);
    k.extend_from_slice(key);
    Bytes::from(k)
}

/// The user key of an intent key.
pub fn intent_user_key(intent_key: &[u8]) -> Option<&[u8]> {
    intent_key.strip_prefix(LOCK_PREFIX)
}

fn escape_into(out: &mut Vec<u8>, key: &[u8]) {
    for &b in key {
        out.push(b);
        if b == 0 {
            out.push(0xff);
        }
    }
    out.extend_from_slice(&[0, 1]);
}

/// The key of the record of transaction `id` anchored at `anchor`.
pub fn record_key(anchor: &[u8], id: TxnId) -> Bytes {
    let mut k = Vec::with_capacity(RECORD_PREFIX.len() + anchor.len() + 2 + 16);
    k.extend_from_slice(RECORD_PREFIX);
    escape_into(&mut k, anchor);
    k.extend_from_slice(&id.0.to_be_bytes());
    Bytes::from(k)
}

/// The engine bounds of the intents of `span`'s keys.
pub fn intent_bounds(span: &RangeSpan) -> KeyBounds {
    let (start, end) = (intent_key(&span.start), intent_key(span.end_key()));
    (Bound::Included(start), Bound::Excluded(end))
}

/// The engine bounds of the records anchored in `span`.
pub fn record_bounds(span: &RangeSpan) -> KeyBounds {
    let bound = |key: &[u8]| {
        let mut k = RECORD_PREFIX.to_vec();
        escape_into(&mut k, key);
        Bytes::from(k)
    };
    (Bound::Included(bound(&span.start)), Bound::Excluded(bound(span.end_key())))
}

/// Every range-addressed span of `span` beyond its user keys, in key order:
/// intents, then records. A snapshot carries them after the user span.
pub fn txn_bounds(span: &RangeSpan) -> Vec<KeyBounds> {
    vec![intent_bounds(span), record_bounds(span)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(bounds: &KeyBounds, key: &[u8]) -> bool {
        let lo = match &bounds.0 {
            Bound::Included(s) => key >= s.as_ref(),
            _ => unreachable!(),
        };
        let hi = match &bounds.1 {
            Bound::Excluded(e) => key < e.as_ref(),
            _ => unreachable!(),
        };
        lo && hi
    }

    #[test]
    fn intents_and_records_fall_in_their_ranges_spans() {
        let left = RangeSpan::new("", Some(Bytes::from_static(b"abc")));
        let right = RangeSpan::new("abc", None);
        // Anchors that are prefixes of the split key, contain zero bytes,
        // or sit at the edges of the spans.
        let anchors: [&[u8]; 8] = [b"", b"\x00", b"ab", b"ab\x00\xff", b"ab\xff\xff", b"abc", b"abc\x00", b"\xff\xfe"];
        for anchor in anchors {
            for id in [TxnId(0), TxnId(u128::MAX)] {
                let (l, r) = (left.contains(anchor), right.contains(anchor));
                assert!(l != r);
                assert_eq!(inside(&record_bounds(&left), &record_key(anchor, id)), l, "{anchor:?}");
                assert_eq!(inside(&record_bounds(&right), &record_key(anchor, id)), r, "{anchor:?}");
                assert_eq!(inside(&intent_bounds(&left), &intent_key(anchor)), l, "{anchor:?}");
                assert_eq!(inside(&intent_bounds(&right), &intent_key(anchor)), r, "{anchor:?}");
            }
        }
        assert_eq!(intent_user_key(&intent_key(b"k\x00")), Some(&b"k\x00"[..]));
    }

    #[test]
    fn spans_are_ordered_after_user_keys_intents_before_records() {
        let span = RangeSpan::all();
        let b = txn_bounds(&span);
        let end = |x: &KeyBounds| match &x.1 {
            Bound::Excluded(e) => e.clone(),
            _ => unreachable!(),
        };
        let start = |x: &KeyBounds| match &x.0 {
            Bound::Included(s) => s.clone(),
            _ => unreachable!(),
        };
        assert!(start(&b[0]).as_ref() >= span.end_key());
        assert!(end(&b[0]) <= start(&b[1]));
    }
}
