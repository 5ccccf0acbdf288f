//! Sorted key/value blocks: the unit of I/O, caching and checksumming.
//!
//! Data blocks and the index block share one layout, built by
//! [`BlockBuilder`] and read by [`Block`] / [`BlockIter`]. Keys inside a
//! block are *encoded internal keys* (user key ++ `!ts` BE ++ kind), sorted
//! with [`compare_internal`]. Plain byte order would be wrong: `"a"@5` encodes
//! as `61 ff..fa 01` and `"ab"@9` as `61 62 ..`, and `0xff > 0x62` would put
//! the longer key first.
//!
//! Neighbouring keys in a sorted run share long prefixes, so each entry stores
//! only the bytes that differ from the previous key. That makes a key
//! undecodable without its predecessors; to keep seeks logarithmic, every
//! `restart_interval`-th entry stores its key in full (a *restart point*)
//! and the block ends with the offsets of all restart points. A seek binary
//! searches the restart points and then scans at most one interval.
//!
//! Values are returned as zero-copy slices of the block's [`Bytes`], so a
//! value read through the block cache shares the cached allocation.
//!
//! ## Format
//!
//! ```text
//! entry*  restart_offset (u32 LE) * n  n (u32 LE)
//!
//! entry := shared (varint) unshared (varint) value_len (varint)
//!          key[shared..] (unshared B) value (value_len B)
//! ```
//!
//! `shared` is the length of the prefix shared with the previous key and is
//! `0` at every restart point. The first restart offset is `0`; offsets are
//! strictly ascending and point inside the entry area. An empty block is
//! just `n = 0`. On disk the payload is followed by the common block trailer
//! (see `frame.rs`).

use std::cmp::Ordering;

use bytes::Bytes;

use super::frame::Malformed;
use crate::coding::{get_varint, put_varint};
use crate::key::compare_internal;

/// Builds one block in memory. Keys must be added in internal-key order; the
/// table builder checks that before calling [`BlockBuilder::add`].
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    /// A builder that writes a restart point every `restart_interval` entries
    /// (at least 1).
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            last_key: Vec::new(),
        }
    }

    /// Appends one entry.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.restarts.is_empty() || self.since_restart >= self.restart_interval {
            let offset =
                u32::try_from(self.buf.len()).expect("blocks stay under 4 GiB: block_size and entry sizes are capped");
            self.restarts.push(offset);
            self.since_restart = 0;
            0
        } else {
            self.last_key.iter().zip(key).take_while(|(a, b)| a == b).count()
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(&key[shared..]);
        self.since_restart += 1;
    }

    /// The payload size if the block were finished now.
    pub(crate) fn estimated_size(&self) -> usize {
        self.buf.len() + 4 * self.restarts.len() + 4
    }

    /// True when no entry has been added since the last finish.
    pub(crate) fn is_empty(&self) -> bool {
        self.restarts.is_empty()
    }

    /// The last key added (empty if none).
    pub(crate) fn last_key(&self) -> &[u8] {
        &self.last_key
    }

    /// Returns the finished payload and resets the builder for the next block.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        for r in &self.restarts {
            out.extend_from_slice(&r.to_le_bytes());
        }
        let count = u32::try_from(self.restarts.len()).expect("restart count is below block size");
        out.extend_from_slice(&count.to_le_bytes());
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
        out
    }
}

/// A parsed, immutable block payload. Cheap to clone (shares the bytes).
#[derive(Debug, Clone)]
pub(crate) struct Block {
    data: Bytes,
    /// Where the restart array begins; entries live in `data[..restarts_at]`.
    restarts_at: usize,
    num_restarts: usize,
}

impl Block {
    /// Validates the restart array of `data` (a verified payload).
    pub(crate) fn parse(data: Bytes) -> Result<Self, Malformed> {
        let len = data.len();
        if len < 4 {
            return Err(Malformed::new(0, format!("{len}-byte block cannot hold a restart count")));
        }
        let mut count = [0u8; 4];
        count.copy_from_slice(&data[len - 4..]);
        let num_restarts = u32::from_le_bytes(count) as usize;
        let array_len = num_restarts.checked_mul(4).filter(|a| a + 4 <= len).ok_or_else(|| {
            Malformed::new(len - 4, format!("{num_restarts} restart points do not fit in a {len}-byte block"))
        })?;
        let restarts_at = len - 4 - array_len;
        let block = Block { data, restarts_at, num_restarts };
        if num_restarts == 0 && restarts_at != 0 {
            return Err(Malformed::new(len - 4, "block has entries but no restart points"));
        }
        let mut prev = None;
        for i in 0..num_restarts {
            let r = block.restart(i);
            let ascending = prev.map_or(r == 0, |p| r > p);
            if !ascending || r >= restarts_at {
                return Err(Malformed::new(
                    restarts_at + 4 * i,
                    format!("restart point {i} has bad offset {r} (entries end at {restarts_at})"),
                ));
            }
            prev = Some(r);
        }
        Ok(block)
    }

    /// Payload length in bytes (the block's weight in the cache).
    pub(crate) fn size(&self) -> usize {
        self.data.len()
    }

    /// An unpositioned iterator; call `seek_to_first` or `seek`.
    pub(crate) fn iter(&self) -> BlockIter {
        BlockIter { block: self.clone(), current: 0, next: 0, key: Vec::new(), value: 0..0, valid: false }
    }

    fn restart(&self, i: usize) -> usize {
        let at = self.restarts_at + 4 * i;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.data[at..at + 4]);
        u32::from_le_bytes(b) as usize
    }

    /// Decodes the entry header at `at`: `(shared, key range, value range)`.
    fn entry_at(&self, at: usize, prev_key_len: usize) -> Result<Entry, Malformed> {
        let area = &self.data[at..self.restarts_at];
        let mut cur = area;
        let (Some(shared), Some(unshared), Some(value_len)) =
            (get_varint(&mut cur), get_varint(&mut cur), get_varint(&mut cur))
        else {
            return Err(Malformed::new(at, "truncated entry header"));
        };
        let header = area.len() - cur.len();
        let shared = usize::try_from(shared).unwrap_or(usize::MAX);
        if shared > prev_key_len {
            return Err(Malformed::new(
                at,
                format!("entry shares {shared} bytes with a {prev_key_len}-byte previous key"),
            ));
        }
        let key_start = at + header;
        let end = usize::try_from(unshared)
            .ok()
            .and_then(|u| key_start.checked_add(u))
            .and_then(|key_end| Some((key_end, key_end.checked_add(usize::try_from(value_len).ok()?)?)))
            .filter(|&(_, value_end)| value_end <= self.restarts_at);
        let Some((key_end, value_end)) = end else {
            return Err(Malformed::new(
                at,
                format!("entry ({unshared} key bytes, {value_len} value bytes) overruns the block"),
            ));
        };
        Ok(Entry { shared, key: key_start..key_end, value: key_end..value_end })
    }
}

/// The decoded position of one entry inside a block.
struct Entry {
    shared: usize,
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

/// A cursor over one block. Either positioned on an entry (`valid()`) or
/// exhausted.
#[derive(Debug)]
pub(crate) struct BlockIter {
    block: Block,
    /// Offset of the current entry.
    current: usize,
    /// Offset of the entry after the current one.
    next: usize,
    key: Vec<u8>,
    /// Where the current value lies in the block. Kept as a range, not a
    /// `Bytes` slice: a slice costs an atomic increment (and its drop a
    /// decrement) for every entry stepped over, seeks included, while
    /// only the entries a reader keeps need one.
    value: std::ops::Range<usize>,
    valid: bool,
}

impl BlockIter {
    /// True when positioned on an entry.
    pub(crate) fn valid(&self) -> bool {
        self.valid
    }

    /// The current key (full, reassembled from the shared prefix).
    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }

    /// The current value, sharing the block's bytes.
    pub(crate) fn value(&self) -> Bytes {
        self.block.data.slice(self.value.clone())
    }

    /// The current value, borrowed from the block.
    pub(crate) fn value_slice(&self) -> &[u8] {
        &self.block.data[self.value.clone()]
    }

    /// Byte offset of the current entry in the block (for error reports).
    pub(crate) fn entry_offset(&self) -> usize {
        self.current
    }

    /// Positions on the first entry.
    pub(crate) fn seek_to_first(&mut self) -> Result<(), Malformed> {
        self.next = 0;
        self.key.clear();
        self.advance()
    }

    /// Positions on the first entry whose key is `>= target` (internal order),
    /// or exhausts the iterator if there is none.
    pub(crate) fn seek(&mut self, target: &[u8]) -> Result<(), Malformed> {
        // Find the first restart point whose key is >= target; the answer lies
        // between the restart point before it and that point.
        let (mut lo, mut hi) = (0, self.block.num_restarts);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if compare_internal(self.restart_key(mid)?, target) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if self.block.num_restarts == 0 {
            self.valid = false;
            return Ok(());
        }
        self.next = self.block.restart(lo.saturating_sub(1));
        self.key.clear();
        self.advance()?;
        while self.valid && compare_internal(&self.key, target) == Ordering::Less {
            self.advance()?;
        }
        Ok(())
    }

    /// Moves to the next entry; exhausts the iterator after the last one.
    pub(crate) fn advance(&mut self) -> Result<(), Malformed> {
        if self.next >= self.block.restarts_at {
            self.valid = false;
            return Ok(());
        }
        let result = self.block.entry_at(self.next, self.key.len());
        let e = match result {
            Ok(e) => e,
            Err(m) => {
                self.valid = false;
                return Err(m);
            }
        };
        self.key.truncate(e.shared);
        self.key.extend_from_slice(&self.block.data[e.key.clone()]);
        self.value = e.value.clone();
        self.current = self.next;
        self.next = e.value.end;
        self.valid = true;
        Ok(())
    }

    /// The full key stored at restart point `i`.
    fn restart_key(&self, i: usize) -> Result<&[u8], Malformed> {
        let at = self.block.restart(i);
        let e = self.block.entry_at(at, 0)?;
        Ok(&self.block.data[e.key])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{ValueKind, decode_internal_key, encode_internal_key};

    fn ikey(user: &[u8], ts: u64) -> Vec<u8> {
        let mut v = Vec::new();
        encode_internal_key(&mut v, user, ts, ValueKind::Value);
        v
    }

    /// Sorted keys including prefixes of one another and several versions.
    fn sample() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut keys = Vec::new();
        for i in 0..300u32 {
            let user = format!("k{:03}", i / 3).into_bytes();
            let user = if i % 7 == 0 { user[..2].to_vec() } else { user };
            keys.push(ikey(&user, u64::from(i % 5) * 1000));
        }
        keys.sort_by(|a, b| compare_internal(a, b));
        keys.dedup();
        keys.into_iter().enumerate().map(|(i, k)| (k, format!("v{i}").repeat(i % 4).into_bytes())).collect()
    }

    fn build(entries: &[(Vec<u8>, Vec<u8>)], interval: usize) -> Block {
        let mut b = BlockBuilder::new(interval);
        for (k, v) in entries {
            b.add(k, v);
        }
        let payload = b.finish();
        assert!(b.is_empty());
        Block::parse(Bytes::from(payload)).expect("valid block")
    }

    fn collect(it: &mut BlockIter) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.value().to_vec()));
            it.advance().expect("valid entry");
        }
        out
    }

    #[test]
    fn roundtrip_and_seek() {
        let entries = sample();
        for interval in [1, 2, 16, 1000] {
            let block = build(&entries, interval);
            let mut it = block.iter();
            it.seek_to_first().expect("ok");
            assert_eq!(collect(&mut it), entries);
            for (i, (k, _)) in entries.iter().enumerate() {
                it.seek(k).expect("ok");
                assert_eq!(collect(&mut it), entries[i..], "seek to existing key {i}");
                // A target just after this key: same user key, one ts lower.
                let (user, ts, _) = decode_internal_key(k).expect("valid");
                if ts > 0 {
                    it.seek(&ikey(user, ts - 1)).expect("ok");
                    assert_eq!(collect(&mut it), entries[i + 1..]);
                }
            }
            it.seek(&ikey(b"zzz", 0)).expect("ok");
            assert!(!it.valid());
            it.seek(&ikey(b"", u64::MAX)).expect("ok");
            assert_eq!(collect(&mut it), entries);
        }
    }

    #[test]
    fn empty_block() {
        let block = build(&[], 16);
        let mut it = block.iter();
        it.seek_to_first().expect("ok");
        assert!(!it.valid());
        it.seek(&ikey(b"a", 1)).expect("ok");
        assert!(!it.valid());
    }

    #[test]
    fn malformed_blocks_are_errors_not_panics() {
        let entries = sample();
        let mut b = BlockBuilder::new(4);
        for (k, v) in &entries {
            b.add(k, v);
        }
        let good = b.finish();
        for cut in 0..good.len().min(64) {
            let _ = Block::parse(Bytes::copy_from_slice(&good[..cut]));
        }
        // Flip every byte in turn: parsing and iterating may fail, never panic.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] = bad[i].wrapping_add(0x55);
            if let Ok(block) = Block::parse(Bytes::from(bad)) {
                let mut it = block.iter();
                let mut r = it.seek_to_first();
                while r.is_ok() && it.valid() {
                    r = it.advance();
                }
                let _ = block.iter().seek(&ikey(b"k050", 2000));
            }
        }
        assert!(Block::parse(Bytes::from_static(&[0, 0, 0])).is_err());
        assert!(Block::parse(Bytes::from_static(&[1, 2, 3, 0, 0, 0, 0])).is_err());
        assert!(Block::parse(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff])).is_err());
    }
}
