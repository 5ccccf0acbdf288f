//! Merging a transaction's buffered writes into a scan of its snapshot.
//!
//! Both transactional stores (the engine's [`super::Transaction`] and the
//! in-memory [`crate::MemStore`]) buffer writes in a [`WriteBuffer`] and answer a
//! scan by walking the stored pairs and the buffered writes side by side: an
//! own write shadows the stored value of its key, an own delete hides it.
//! The walk stops at `limit` pairs, so a paged scan reads no more than it
//! returns. Under serializable isolation the part of the range a page
//! actually covered ([`covered`]) is what must be validated at commit.

use std::ops::Bound;

use bytes::Bytes;

use super::write_buffer::WriteBuffer;
use crate::error::{Error, Result};
use crate::version::KeyBounds;

/// Pairs a page has room for before it first grows (see [`with_own_writes`]).
const INITIAL_PAGE_CAPACITY: usize = 16;

/// Up to `limit` pairs of `range`, in key order (reverse if asked): the
/// `stored` pairs (already in that order) merged with the buffered `writes`.
pub(crate) fn with_own_writes(
    stored: impl Iterator<Item = Result<(Bytes, Bytes)>>,
    writes: &WriteBuffer,
    range: &KeyBounds,
    reverse: bool,
    limit: usize,
) -> Result<Vec<(Bytes, Bytes)>> {
    let mut stored = stored.peekable();
    let mut own = writes.range(range, reverse);
    let mut own_next = own.next();
    // Grown as filled, not sized to `limit`: an eager page asks for 1,024
    // pairs, and 64 KiB taken and freed for an index lookup that finds one
    // entry went through glibc's large-request path (consolidation and a
    // trim of the heap top) on every lookup.
    let mut out = Vec::with_capacity(limit.min(INITIAL_PAGE_CAPACITY));
    if own_next.is_none() {
        // No own writes in the range (always so for a read-only
        // transaction): the stored pairs as they come.
        for item in stored.by_ref().take(limit) {
            out.push(item?);
        }
    }
    while out.len() < limit {
        let stored_key = match stored.peek() {
            Some(Ok((k, _))) => Some(k.clone()),
            Some(Err(_)) => return Err(stored.next().and_then(|r| r.err()).unwrap_or(Error::Closed)),
            None => None,
        };
        let take_own = match (&own_next, &stored_key) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((ok, _)), Some(sk)) => {
                let ord = ok.as_ref().cmp(sk.as_ref());
                let ord = if reverse { ord.reverse() } else { ord };
                if ord.is_eq() {
                    stored.next(); // own write shadows the stored value
                }
                ord.is_le()
            }
        };
        if take_own {
            if let Some((k, v)) = own_next {
                if let Some(v) = v {
                    out.push((k.clone(), v.clone()));
                }
                own_next = own.next();
            }
        } else if let Some(item) = stored.next() {
            out.push(item?);
        }
    }
    Ok(out)
}

/// The part of `range` a scan that returned `out` has seen: all of it, or up
/// to the last key when the page was cut at `limit`.
pub(crate) fn covered(range: KeyBounds, out: &[(Bytes, Bytes)], reverse: bool, limit: usize) -> KeyBounds {
    match out.last() {
        Some((last, _)) if out.len() >= limit => {
            if reverse {
                (Bound::Included(last.clone()), range.1)
            } else {
                (range.0, Bound::Included(last.clone()))
            }
        }
        _ => range,
    }
}
