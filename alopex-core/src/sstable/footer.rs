//! The fixed-size footer: the one place a reader can find without a map.
//!
//! A table is written front to back in one pass, so the locations of the
//! index and metaindex blocks are only known at the end. The footer records
//! them at a fixed distance from the end of the file, which is the entry point
//! for [`super::Table::open`]. Everything else is reached from here.
//!
//! The footer is validated in the order that gives the clearest error: the
//! magic first (is this a table at all, or was the file truncated?), then the
//! checksum (is the footer intact?), and only then the version (is it a
//! format this build can read?). A version mismatch with a good checksum is a
//! file from a different build, but it is still reported as corruption
//! because nothing else can read it.
//!
//! ## Format
//!
//! ```text
//! offset  size  field
//!      0     8  metaindex handle: offset (u64 LE)
//!      8     8  metaindex handle: payload size (u64 LE)
//!     16     8  index handle: offset (u64 LE)
//!     24     8  index handle: payload size (u64 LE)
//!     32     4  format version (u32 LE), currently 1
//!     36     8  xxh3-64 of bytes 0..36 (u64 LE)
//!     44     8  magic "ALPXSST\0"
//! ```
//!
//! [`FOOTER_LEN`] = 52 bytes, always the last 52 bytes of the file.

use super::frame::{BlockHandle, Malformed};
use crate::coding::{checksum, get_u32, get_u64};

/// Size of the footer in bytes.
pub(crate) const FOOTER_LEN: usize = 52;

/// The last eight bytes of every table file.
pub(crate) const MAGIC: [u8; 8] = *b"ALPXSST\0";

/// The on-disk format version this code writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// Bytes covered by the footer checksum.
const CHECKSUMMED_LEN: usize = 36;

/// Decoded footer fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    pub(crate) metaindex: BlockHandle,
    pub(crate) index: BlockHandle,
}

impl Footer {
    /// Encodes the footer with the current format version.
    pub(crate) fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0u8; FOOTER_LEN];
        out[0..8].copy_from_slice(&self.metaindex.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.metaindex.size.to_le_bytes());
        out[16..24].copy_from_slice(&self.index.offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.index.size.to_le_bytes());
        out[32..36].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        let sum = checksum(&out[..CHECKSUMMED_LEN]);
        out[36..44].copy_from_slice(&sum.to_le_bytes());
        out[44..52].copy_from_slice(&MAGIC);
        out
    }

    /// Decodes and validates the last [`FOOTER_LEN`] bytes of a file.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        if bytes.len() != FOOTER_LEN {
            return Err(Malformed::new(0, format!("footer is {} bytes, expected {FOOTER_LEN}", bytes.len())));
        }
        if bytes[44..52] != MAGIC {
            return Err(Malformed::new(
                44,
                format!(
                    "bad magic {:?}, expected {:?}",
                    bytes[44..52].escape_ascii().to_string(),
                    MAGIC.escape_ascii().to_string()
                ),
            ));
        }
        let mut cur = bytes;
        let fields = (
            get_u64(&mut cur),
            get_u64(&mut cur),
            get_u64(&mut cur),
            get_u64(&mut cur),
            get_u32(&mut cur),
            get_u64(&mut cur),
        );
        let (Some(mo), Some(ms), Some(io), Some(is), Some(version), Some(stored)) = fields else {
            return Err(Malformed::new(0, "footer too short"));
        };
        let actual = checksum(&bytes[..CHECKSUMMED_LEN]);
        if stored != actual {
            return Err(Malformed::new(
                CHECKSUMMED_LEN,
                format!("footer checksum mismatch: stored {stored:#018x}, computed {actual:#018x}"),
            ));
        }
        if version != FORMAT_VERSION {
            return Err(Malformed::new(
                32,
                format!("unsupported format version {version} (this build reads {FORMAT_VERSION})"),
            ));
        }
        Ok(Footer { metaindex: BlockHandle { offset: mo, size: ms }, index: BlockHandle { offset: io, size: is } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Footer {
        Footer { metaindex: BlockHandle { offset: 1000, size: 77 }, index: BlockHandle { offset: 1086, size: 4000 } }
    }

    #[test]
    fn roundtrip() {
        let f = sample();
        assert_eq!(Footer::decode(&f.encode()), Ok(f));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let good = sample().encode();
        for i in 0..FOOTER_LEN {
            let mut bad = good;
            bad[i] ^= 1;
            assert!(Footer::decode(&bad).is_err(), "flip at {i} undetected");
        }
        assert!(Footer::decode(&good[1..]).is_err());
    }

    #[test]
    fn other_version_is_rejected() {
        let mut bytes = sample().encode();
        bytes[32..36].copy_from_slice(&2u32.to_le_bytes());
        let sum = checksum(&bytes[..CHECKSUMMED_LEN]);
        bytes[36..44].copy_from_slice(&sum.to_le_bytes());
        let err = Footer::decode(&bytes).expect_err("version 2");
        assert!(err.detail.contains("version"), "{err:?}");
    }
}
