//! How every block sits in a table file: a payload, a trailer, and a handle.
//!
//! A table file is a sequence of independently checksummed *blocks* (data,
//! index, bloom, properties, metaindex, and any named extra section) followed
//! by a fixed-size footer. Every block, whatever its contents, is framed the
//! same way so that one function verifies all of them and the reader never
//! interprets a byte it has not checksummed first.
//!
//! A block is found through a [`BlockHandle`]: the offset of its first byte
//! and the size of its payload. The trailer is *not* counted in `size`; the
//! reader always reads `size + TRAILER_LEN` bytes. Handles are written as two
//! varints inside blocks (index entries, metaindex entries) and as two fixed
//! `u64`s in the footer, which must have a fixed size to be found at all.
//!
//! ## Format
//!
//! ```text
//! +--------------------+------------------+--------------------------+
//! | payload (size B)   | compression (u8) | xxh3-64 (u64 LE)         |
//! +--------------------+------------------+--------------------------+
//!                      \________ trailer, TRAILER_LEN = 9 B _________/
//! ```
//!
//! The checksum is `crate::coding::checksum(payload ++ compression)`, so a
//! flipped compression byte is caught like any other. Compression type `0`
//! means "stored as is"; it is the only type implemented, and any other value
//! is reported as corruption rather than guessed at.
//!
//! Decoding failures inside this module tree are reported as [`Malformed`]
//! (an offset inside the block plus a description); the [`super::Table`]
//! turns that into [`crate::Error::Corruption`] naming the file and the
//! block's file offset, so block decoding stays free of paths and I/O.

use bytes::Bytes;
use xxhash_rust::xxh3::Xxh3Default;

use crate::coding::{checksum, get_varint, put_varint};

/// Bytes after every block payload: the compression byte and the checksum.
pub(crate) const TRAILER_LEN: usize = 9;

/// The only compression type implemented: the payload is stored as is.
pub(crate) const COMPRESSION_NONE: u8 = 0;

/// A structural problem found while decoding a block: where and what.
///
/// `at` is a byte offset inside the block payload (or inside the footer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) at: usize,
    pub(crate) detail: String,
}

impl Malformed {
    /// A problem at byte `at` of the payload.
    pub(crate) fn new(at: usize, detail: impl Into<String>) -> Self {
        Malformed { at, detail: detail.into() }
    }
}

/// Where a block lives in the file: offset of the payload and its length
/// (without the trailer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

impl BlockHandle {
    /// Appends the handle as two varints (offset, size).
    pub(crate) fn encode_to(&self, buf: &mut Vec<u8>) {
        put_varint(buf, self.offset);
        put_varint(buf, self.size);
    }

    /// Reads a handle written by [`BlockHandle::encode_to`].
    pub(crate) fn decode_from(input: &mut &[u8]) -> Option<Self> {
        let offset = get_varint(input)?;
        let size = get_varint(input)?;
        Some(BlockHandle { offset, size })
    }

    /// The file offset just past the block's trailer; `None` on overflow.
    pub(crate) fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size)?.checked_add(TRAILER_LEN as u64)
    }

    /// How many bytes the block occupies in the file, trailer included.
    pub(crate) fn framed_len(&self) -> u64 {
        self.size.saturating_add(TRAILER_LEN as u64)
    }
}

/// Computes the trailer for `payload` without copying the payload, so a large
/// named section is checksummed in place.
pub(crate) fn trailer(payload: &[u8]) -> [u8; TRAILER_LEN] {
    let mut hasher = Xxh3Default::new();
    hasher.update(payload);
    hasher.update(&[COMPRESSION_NONE]);
    let mut out = [0u8; TRAILER_LEN];
    out[0] = COMPRESSION_NONE;
    out[1..].copy_from_slice(&hasher.digest().to_le_bytes());
    out
}

/// Verifies the trailer at the end of `framed` (payload ++ trailer) and
/// returns the payload as a zero-copy slice.
pub(crate) fn unseal(framed: Bytes) -> Result<Bytes, Malformed> {
    if framed.len() < TRAILER_LEN {
        return Err(Malformed::new(
            0,
            format!("{} bytes cannot hold a {TRAILER_LEN}-byte block trailer", framed.len()),
        ));
    }
    let payload_len = framed.len() - TRAILER_LEN;
    let (covered, stored) = framed.split_at(payload_len + 1);
    let mut stored_bytes = [0u8; 8];
    stored_bytes.copy_from_slice(stored);
    let stored = u64::from_le_bytes(stored_bytes);
    let actual = checksum(covered);
    if stored != actual {
        return Err(Malformed::new(
            payload_len,
            format!("block checksum mismatch: stored {stored:#018x}, computed {actual:#018x}"),
        ));
    }
    let compression = framed[payload_len];
    if compression != COMPRESSION_NONE {
        return Err(Malformed::new(payload_len, format!("unsupported block compression type {compression}")));
    }
    Ok(framed.slice(..payload_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &[u8]) -> Bytes {
        let mut v = payload.to_vec();
        v.extend_from_slice(&trailer(payload));
        Bytes::from(v)
    }

    #[test]
    fn streaming_trailer_matches_coding_checksum() {
        for len in [0usize, 1, 63, 64, 240, 241, 1024, 5000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let t = trailer(&payload);
            let mut covered = payload.clone();
            covered.push(COMPRESSION_NONE);
            assert_eq!(t[1..], checksum(&covered).to_le_bytes());
            assert_eq!(unseal(framed(&payload)).expect("valid"), Bytes::from(payload));
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let good = framed(b"some block payload");
        for i in 0..good.len() {
            let mut bad = good.to_vec();
            bad[i] ^= 0x40;
            assert!(unseal(Bytes::from(bad)).is_err(), "flip at {i} undetected");
        }
        assert!(unseal(Bytes::from_static(b"short")).is_err());
    }

    #[test]
    fn unknown_compression_is_rejected_even_with_valid_checksum() {
        let mut v = b"abc".to_vec();
        v.push(7);
        let c = checksum(&v);
        v.extend_from_slice(&c.to_le_bytes());
        let err = unseal(Bytes::from(v)).expect_err("type 7 unsupported");
        assert!(err.detail.contains("compression"), "{err:?}");
    }

    #[test]
    fn handle_roundtrip() {
        let h = BlockHandle { offset: 123_456_789, size: 4096 };
        let mut buf = Vec::new();
        h.encode_to(&mut buf);
        let mut cur = &buf[..];
        assert_eq!(BlockHandle::decode_from(&mut cur), Some(h));
        assert!(cur.is_empty());
        assert_eq!(h.end(), Some(123_456_789 + 4096 + 9));
        assert_eq!(BlockHandle { offset: u64::MAX, size: 1 }.end(), None);
    }
}
