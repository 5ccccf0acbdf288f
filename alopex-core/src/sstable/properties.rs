//! Table properties: the summary the engine reads without touching data.
//!
//! Compaction picks tables by key range and size, garbage collection of old
//! versions needs the timestamp range, and statistics want entry and
//! tombstone counts. All of that is computed once by the builder and stored
//! in a small checksummed block, so opening a table answers these questions
//! from memory.
//!
//! The file size is not stored: it is whatever the file's length is, and the
//! reader fills it in from the file system (the footer check already proves
//! the file ends where the writer ended it).
//!
//! For a table with zero entries every key and timestamp field is empty or 0.
//!
//! ## Format
//!
//! ```text
//! format version   u32 LE   (must equal the footer's)
//! entries          varint
//! tombstones       varint
//! smallest key     varint length ++ bytes   (user key)
//! smallest ts      u64 LE
//! largest key      varint length ++ bytes   (user key)
//! largest ts       u64 LE
//! min ts           u64 LE
//! max ts           u64 LE
//! data size        varint   (bytes of data blocks, trailers included)
//! ```
//!
//! Trailing bytes are corruption: new fields come with a new format version.
//! The payload is framed like every block and named `alopex.properties` in
//! the metaindex.

use bytes::Bytes;

use super::footer::FORMAT_VERSION;
use super::frame::Malformed;
use crate::coding::{get_bytes, get_u32, get_u64, get_varint, put_bytes, put_varint};
use crate::key::Timestamp;

/// What a finished table holds, as recorded by its builder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableProperties {
    /// Number of versions (values and tombstones).
    pub entries: u64,
    /// Number of tombstone versions.
    pub tombstones: u64,
    /// User key of the first version (empty for an empty table).
    pub smallest_key: Bytes,
    /// Timestamp of the first version (the newest version of `smallest_key`).
    pub smallest_ts: Timestamp,
    /// User key of the last version (empty for an empty table).
    pub largest_key: Bytes,
    /// Timestamp of the last version (the oldest version of `largest_key`).
    pub largest_ts: Timestamp,
    /// Smallest timestamp of any version (0 for an empty table).
    pub min_ts: Timestamp,
    /// Largest timestamp of any version (0 for an empty table).
    pub max_ts: Timestamp,
    /// Size of the whole file in bytes.
    pub file_size: u64,
    /// Bytes of data blocks, trailers included.
    pub data_size: u64,
}

impl TableProperties {
    /// Encodes the properties block payload (without `file_size`).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.smallest_key.len() + self.largest_key.len());
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        put_varint(&mut out, self.entries);
        put_varint(&mut out, self.tombstones);
        put_bytes(&mut out, &self.smallest_key);
        out.extend_from_slice(&self.smallest_ts.to_le_bytes());
        put_bytes(&mut out, &self.largest_key);
        out.extend_from_slice(&self.largest_ts.to_le_bytes());
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        put_varint(&mut out, self.data_size);
        out
    }

    /// Decodes a verified properties payload; `file_size` is set by the caller.
    pub(crate) fn decode(payload: &[u8]) -> Result<Self, Malformed> {
        let mut cur = payload;
        let at = |cur: &[u8]| payload.len() - cur.len();
        let version = get_u32(&mut cur).ok_or_else(|| Malformed::new(0, "properties truncated before version"))?;
        if version != FORMAT_VERSION {
            return Err(Malformed::new(
                0,
                format!("properties have format version {version}, expected {FORMAT_VERSION}"),
            ));
        }
        let short = |cur: &[u8], field: &str| Malformed::new(at(cur), format!("properties truncated in {field}"));
        let entries = get_varint(&mut cur).ok_or_else(|| short(cur, "entries"))?;
        let tombstones = get_varint(&mut cur).ok_or_else(|| short(cur, "tombstones"))?;
        let smallest_key = get_bytes(&mut cur).ok_or_else(|| short(cur, "smallest key"))?;
        let smallest_ts = get_u64(&mut cur).ok_or_else(|| short(cur, "smallest ts"))?;
        let largest_key = get_bytes(&mut cur).ok_or_else(|| short(cur, "largest key"))?;
        let largest_ts = get_u64(&mut cur).ok_or_else(|| short(cur, "largest ts"))?;
        let min_ts = get_u64(&mut cur).ok_or_else(|| short(cur, "min ts"))?;
        let max_ts = get_u64(&mut cur).ok_or_else(|| short(cur, "max ts"))?;
        let data_size = get_varint(&mut cur).ok_or_else(|| short(cur, "data size"))?;
        if !cur.is_empty() {
            return Err(Malformed::new(at(cur), format!("{} unexpected bytes after properties", cur.len())));
        }
        if tombstones > entries || min_ts > max_ts {
            return Err(Malformed::new(
                0,
                format!(
                    "inconsistent properties: {tombstones} tombstones of {entries} entries, ts range {min_ts}..={max_ts}"
                ),
            ));
        }
        Ok(TableProperties {
            entries,
            tombstones,
            smallest_key: Bytes::copy_from_slice(smallest_key),
            smallest_ts,
            largest_key: Bytes::copy_from_slice(largest_key),
            largest_ts,
            min_ts,
            max_ts,
            file_size: 0,
            data_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TableProperties {
        TableProperties {
            entries: 20_000,
            tombstones: 17,
            smallest_key: Bytes::from_static(b"a"),
            smallest_ts: 99,
            largest_key: Bytes::from_static(b"zz"),
            largest_ts: 3,
            min_ts: 1,
            max_ts: u64::MAX,
            file_size: 0,
            data_size: 123_456,
        }
    }

    #[test]
    fn roundtrip() {
        let p = sample();
        assert_eq!(TableProperties::decode(&p.encode()), Ok(p));
        let empty = TableProperties::default();
        assert_eq!(TableProperties::decode(&empty.encode()), Ok(empty));
    }

    #[test]
    fn truncated_or_padded_payloads_are_rejected() {
        let bytes = sample().encode();
        for cut in 0..bytes.len() {
            assert!(TableProperties::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes;
        padded.push(0);
        assert!(TableProperties::decode(&padded).is_err());
    }
}
