//! The bytes of a WAL segment: the segment header and the record frame.
//!
//! This file only encodes and decodes; it never touches a file. Recovery
//! (`recovery.rs`) decides what a bad frame *means* (torn tail or corruption),
//! and the writer (`writer.rs`) decides when frames reach the disk. Keeping the
//! byte layout here, as pure functions over slices, lets both share one
//! definition and lets the tests poke at every failure without a filesystem.
//!
//! Every frame carries two checksums. The *header* checksum covers the magic
//! and the payload length, so a length field that was torn or flipped is
//! caught before we trust it to find the next frame; without it a garbage
//! length could make a valid-looking frame swallow the rest of the file. The
//! *payload* checksum covers the payload alone. Both are 64-bit xxh3
//! ([`crate::coding::checksum`]).
//!
//! ## Format
//!
//! A segment file is named `{segment:020}.wal` and starts with a 24-byte
//! header; frames follow back to back until the end of the file. All integers
//! are little-endian.
//!
//! ```text
//! segment header (24 bytes)
//! +-----------------+-----------------+------------------+----------------------+
//! | magic u32       | version u32     | segment u64      | xxh3(bytes 0..16) u64|
//! | "AWAL"          | 1               | = file number    |                      |
//! +-----------------+-----------------+------------------+----------------------+
//!
//! frame (24-byte header + payload)
//! +-----------------+-----------------+------------------+----------------------+-----------+
//! | magic u32       | length u32      | xxh3(bytes 0..8) | xxh3(payload) u64    | payload   |
//! | "AWRF"          | payload bytes   | u64 header sum   |                      | (length B)|
//! +-----------------+-----------------+------------------+----------------------+-----------+
//! ```
//!
//! The payload is opaque to the log (the engine stores one encoded write batch
//! per record). A payload may be empty.

use std::ops::Range;

use crate::coding::{checksum, get_u32, get_u64};

/// Magic number at the start of every segment file (`"AWAL"`).
pub(crate) const SEGMENT_MAGIC: u32 = u32::from_le_bytes(*b"AWAL");
/// Segment format version written by this code and the only one it reads.
pub(crate) const SEGMENT_VERSION: u32 = 1;
/// Length of the segment header.
pub(crate) const SEGMENT_HEADER_LEN: usize = 24;

/// Magic number at the start of every frame (`"AWRF"`).
pub(crate) const FRAME_MAGIC: u32 = u32::from_le_bytes(*b"AWRF");
/// Length of a frame header; the payload follows.
pub(crate) const FRAME_HEADER_LEN: usize = 24;
/// The largest payload a frame can hold (the length field is a `u32`).
pub(crate) const MAX_PAYLOAD_LEN: usize = u32::MAX as usize;

/// Encodes the header of segment number `segment`.
pub(crate) fn encode_segment_header(segment: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut buf = [0u8; SEGMENT_HEADER_LEN];
    buf[0..4].copy_from_slice(&SEGMENT_MAGIC.to_le_bytes());
    buf[4..8].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    buf[8..16].copy_from_slice(&segment.to_le_bytes());
    let sum = checksum(&buf[0..16]);
    buf[16..24].copy_from_slice(&sum.to_le_bytes());
    buf
}

/// Why a segment header could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// Fewer than [`SEGMENT_HEADER_LEN`] bytes: the file was cut short while
    /// being created.
    Incomplete { len: usize },
    /// The header checksum does not match: the header is torn or damaged.
    BadChecksum,
    /// A checksummed header that is not ours: wrong magic, an unknown
    /// version, or a segment number that differs from the file name.
    Mismatch(String),
}

/// Checks the header at the start of `file`, which is named `segment`.
pub(crate) fn decode_segment_header(file: &[u8], segment: u64) -> Result<(), HeaderError> {
    let Some(header) = file.get(..SEGMENT_HEADER_LEN) else {
        return Err(HeaderError::Incomplete { len: file.len() });
    };
    let mut cur = header;
    let (Some(magic), Some(version), Some(number), Some(sum)) =
        (get_u32(&mut cur), get_u32(&mut cur), get_u64(&mut cur), get_u64(&mut cur))
    else {
        return Err(HeaderError::Incomplete { len: file.len() });
    };
    if checksum(&header[0..16]) != sum {
        return Err(HeaderError::BadChecksum);
    }
    if magic != SEGMENT_MAGIC {
        return Err(HeaderError::Mismatch(format!("bad magic {magic:#010x}")));
    }
    if version != SEGMENT_VERSION {
        return Err(HeaderError::Mismatch(format!(
            "unsupported format version {version} (this build reads {SEGMENT_VERSION})"
        )));
    }
    if number != segment {
        return Err(HeaderError::Mismatch(format!("header names segment {number}, file name says {segment}")));
    }
    Ok(())
}

/// Appends one frame holding `payload` to `buf`.
///
/// The caller has checked `payload.len() <= MAX_PAYLOAD_LEN`.
pub(crate) fn encode_frame(buf: &mut Vec<u8>, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_LEN);
    let len = payload.len() as u32;
    let mut head = [0u8; 8];
    head[0..4].copy_from_slice(&FRAME_MAGIC.to_le_bytes());
    head[4..8].copy_from_slice(&len.to_le_bytes());
    buf.reserve(FRAME_HEADER_LEN + payload.len());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(&checksum(&head).to_le_bytes());
    buf.extend_from_slice(&checksum(payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// The size on disk of a frame holding `payload_len` bytes.
pub(crate) fn frame_len(payload_len: usize) -> usize {
    FRAME_HEADER_LEN.saturating_add(payload_len)
}

/// A frame that decoded cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Where the payload lies, relative to the start of the frame.
    pub payload: Range<usize>,
    /// The whole frame's length: header plus payload.
    pub len: usize,
}

/// Why the bytes at some offset are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// Fewer than [`FRAME_HEADER_LEN`] bytes remain.
    IncompleteHeader { available: usize },
    /// The magic number is wrong.
    BadMagic { found: u32 },
    /// The header checksum does not cover the magic and length we read.
    BadHeaderChecksum,
    /// The header verified, but its payload runs past the end of the file.
    PayloadPastEof { length: usize, available: usize },
    /// The header verified, but the payload does not match its checksum.
    BadPayloadChecksum { length: usize },
}

impl FrameError {
    /// The whole frame's length when the header checksum verified: then the
    /// length field is the one the writer wrote, and the next frame can only
    /// start right after this frame's claimed payload. `None` when the header
    /// itself is bad.
    pub(crate) fn verified_frame_len(&self) -> Option<usize> {
        match self {
            FrameError::PayloadPastEof { length, .. } | FrameError::BadPayloadChecksum { length } => {
                Some(frame_len(*length))
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::IncompleteHeader { available } => {
                write!(f, "incomplete frame header: {available} of {FRAME_HEADER_LEN} bytes")
            }
            FrameError::BadMagic { found } => write!(f, "bad frame magic {found:#010x}"),
            FrameError::BadHeaderChecksum => write!(f, "frame header checksum mismatch"),
            FrameError::PayloadPastEof { length, available } => {
                write!(f, "payload of {length} bytes runs past end of file ({available} bytes remain)")
            }
            FrameError::BadPayloadChecksum { length } => {
                write!(f, "payload checksum mismatch ({length}-byte payload)")
            }
        }
    }
}

/// Decodes the frame at the start of `buf` (which runs to the end of the file).
pub(crate) fn decode_frame(buf: &[u8]) -> Result<Frame, FrameError> {
    let Some(header) = buf.get(..FRAME_HEADER_LEN) else {
        return Err(FrameError::IncompleteHeader { available: buf.len() });
    };
    let mut cur = header;
    let (Some(magic), Some(length), Some(header_sum), Some(payload_sum)) =
        (get_u32(&mut cur), get_u32(&mut cur), get_u64(&mut cur), get_u64(&mut cur))
    else {
        return Err(FrameError::IncompleteHeader { available: buf.len() });
    };
    if magic != FRAME_MAGIC {
        return Err(FrameError::BadMagic { found: magic });
    }
    if checksum(&header[0..8]) != header_sum {
        return Err(FrameError::BadHeaderChecksum);
    }
    let length = length as usize;
    let payload = FRAME_HEADER_LEN..FRAME_HEADER_LEN.saturating_add(length);
    let Some(bytes) = buf.get(payload.clone()) else {
        return Err(FrameError::PayloadPastEof { length, available: buf.len() - FRAME_HEADER_LEN });
    };
    if checksum(bytes) != payload_sum {
        return Err(FrameError::BadPayloadChecksum { length });
    }
    Ok(Frame { payload, len: frame_len(length) })
}

/// Finds the first offset `>= from` in `buf` where a whole valid frame starts
/// (magic, header checksum and payload checksum all verify).
///
/// This is the byte-by-byte scan that separates a torn tail (nothing valid
/// follows the damage) from corruption before the tail (something does).
/// The magic is compared first, so the scan costs little more than a
/// `memchr` over garbage.
pub(crate) fn find_valid_frame(buf: &[u8], from: usize) -> Option<usize> {
    let magic = FRAME_MAGIC.to_le_bytes();
    let last_start = buf.len().checked_sub(FRAME_HEADER_LEN)?;
    (from..=last_start).find(|&pos| buf[pos..pos + 4] == magic && decode_frame(&buf[pos..]).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        for p in payloads {
            encode_frame(&mut buf, p);
        }
        buf
    }

    #[test]
    fn segment_header_roundtrip_and_checks() {
        let h = encode_segment_header(42);
        assert_eq!(decode_segment_header(&h, 42), Ok(()));
        assert!(matches!(decode_segment_header(&h, 43), Err(HeaderError::Mismatch(_))));
        assert_eq!(decode_segment_header(&h[..10], 42), Err(HeaderError::Incomplete { len: 10 }));
        let mut bad = h;
        bad[9] ^= 1;
        assert_eq!(decode_segment_header(&bad, 42), Err(HeaderError::BadChecksum));
    }

    #[test]
    fn frame_roundtrip() {
        let buf = frames(&[b"hello", b"", b"world!"]);
        let mut pos = 0;
        let mut seen = Vec::new();
        while pos < buf.len() {
            let frame = decode_frame(&buf[pos..]).expect("valid frame");
            seen.push(buf[pos..][frame.payload.clone()].to_vec());
            pos += frame.len;
        }
        assert_eq!(seen, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
    }

    #[test]
    fn each_kind_of_damage_is_named() {
        let buf = frames(&[b"payload"]);
        assert_eq!(decode_frame(&buf[..10]), Err(FrameError::IncompleteHeader { available: 10 }));
        assert_eq!(decode_frame(&buf[..buf.len() - 1]), Err(FrameError::PayloadPastEof { length: 7, available: 6 }));
        let mut bad = buf.clone();
        bad[0] ^= 0xff;
        assert!(matches!(decode_frame(&bad), Err(FrameError::BadMagic { .. })));
        let mut bad = buf.clone();
        bad[5] ^= 0x01; // the length: caught by the header checksum
        assert_eq!(decode_frame(&bad), Err(FrameError::BadHeaderChecksum));
        let mut bad = buf.clone();
        *bad.last_mut().expect("non-empty") ^= 0x01;
        assert_eq!(decode_frame(&bad), Err(FrameError::BadPayloadChecksum { length: 7 }));
    }

    #[test]
    fn scan_finds_the_next_whole_frame_only() {
        let mut buf = vec![0u8; 5];
        let at = buf.len();
        buf.extend(frames(&[b"x"]));
        assert_eq!(find_valid_frame(&buf, 0), Some(at));
        assert_eq!(find_valid_frame(&buf, at + 1), None);
        assert_eq!(find_valid_frame(&buf[..buf.len() - 1], 0), None);
        assert_eq!(find_valid_frame(&[], 0), None);
    }
}
