//! # Key spans of ranges, and the node-local reserved span
//!
//! A range owns a contiguous span of user keys, `[start, end)`. All ranges
//! of a node share one engine, so the state machine of each range also
//! needs somewhere to keep its own bookkeeping (the last applied log id and
//! the membership) **in the same engine**, where it can be written in the
//! same atomic batch as the data it describes.
//!
//! That place is the **reserved span**: every key starting with
//! `0xFF 0xFF 0xFF` is node-local and belongs to no range. A range whose
//! span is open-ended stops there; a command that writes into it is
//! rejected. Inside it, each range keeps one key per applied entry:
//!
//! ```text
//! FF FF FF "alopex/raft/" range u64 BE "/applied/" log index u64 BE
//!     = postcard (last applied log id, membership)
//! ```
//!
//! The newest of these keys (the greatest index) is the range's applied
//! state. One key per index rather than one fixed key because commands
//! commit at their own timestamps, which need not grow with the log index:
//! a fixed key rewritten at a smaller timestamp would be shadowed by its
//! own older version. Older keys are deleted as soon as a later batch's
//! timestamp is above theirs, so a range keeps one or a few.

use std::ops::Bound;

use bytes::Bytes;

use alopex_core::KeyBounds;

/// The first key of the node-local reserved span.
pub const RESERVED_START: &[u8] = b"\xff\xff\xff";

const RAFT_PREFIX: &[u8] = b"\xff\xff\xffalopex/raft/";

/// The span of user keys a range owns: `[start, end)`, with `end: None`
/// reaching up to the reserved span.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RangeSpan {
    /// Inclusive start.
    pub start: Bytes,
    /// Exclusive end; `None` for the last range.
    pub end: Option<Bytes>,
}

impl RangeSpan {
    /// The whole user key space.
    pub fn all() -> Self {
        RangeSpan { start: Bytes::new(), end: None }
    }

    /// `[start, end)`.
    pub fn new(start: impl Into<Bytes>, end: Option<Bytes>) -> Self {
        RangeSpan { start: start.into(), end }
    }

    /// The exclusive end as a key: `end`, or the start of the reserved span.
    pub fn end_key(&self) -> &[u8] {
        match &self.end {
            Some(e) if e.as_ref() < RESERVED_START => e,
            _ => RESERVED_START,
        }
    }

    /// Engine bounds of the span (never reaching into the reserved span).
    pub fn bounds(&self) -> KeyBounds {
        (Bound::Included(self.start.clone()), Bound::Excluded(Bytes::copy_from_slice(self.end_key())))
    }

    /// Whether `key` is in the span.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_ref() && key < self.end_key()
    }

    /// Whether `[start, end)` lies within the span.
    pub fn covers(&self, start: &[u8], end: &[u8]) -> bool {
        start >= self.start.as_ref() && end <= self.end_key() && start <= end
    }
}

/// The prefix of `range`'s applied-state keys.
pub fn applied_prefix(range: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(RAFT_PREFIX.len() + 17 + 8);
    k.extend_from_slice(RAFT_PREFIX);
    k.extend_from_slice(&range.to_be_bytes());
    k.extend_from_slice(b"/applied/");
    k
}

/// The applied-state key of `range` for log `index`.
pub fn applied_key(range: u64, index: u64) -> Bytes {
    let mut k = applied_prefix(range);
    k.extend_from_slice(&index.to_be_bytes());
    Bytes::from(k)
}

/// The log index of an applied-state key of `range`.
pub fn applied_index(range: u64, key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(applied_prefix(range).as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_stop_at_the_reserved_span() {
        let all = RangeSpan::all();
        assert!(all.contains(b"anything"));
        assert!(all.contains(b"\xff\xfe"));
        assert!(!all.contains(&applied_key(1, 5)));
        let s = RangeSpan::new("b", Some(Bytes::from("d")));
        assert!(s.contains(b"b") && s.contains(b"c\xff") && !s.contains(b"d") && !s.contains(b"a"));
        assert!(s.covers(b"b", b"d") && !s.covers(b"a", b"c") && !s.covers(b"c", b"e"));
    }

    #[test]
    fn applied_keys_sort_by_index() {
        assert!(applied_key(3, 9) < applied_key(3, 10));
        assert_eq!(applied_index(3, &applied_key(3, 77)), Some(77));
        assert_eq!(applied_index(4, &applied_key(3, 77)), None);
    }
}
