//! Write batches: a set of writes applied atomically at one timestamp.
//!
//! A batch is the unit of the write-ahead log: one batch is one WAL record,
//! so after a crash a batch is either wholly present or wholly absent.
//!
//! ## Format
//!
//! The WAL record payload of a batch:
//!
//! ```text
//! commit_ts: u64 LE | count: varint | count × op
//! op = kind: u8 (0 tombstone, 1 value) | key: varint len + bytes | [value: varint len + bytes, kind 1 only]
//! ```
//!
//! The WAL frame around it carries the checksum.

use std::ops::Bound;
use std::path::Path;

use bytes::Bytes;

use crate::coding::{get_bytes, get_u8, get_u64, get_varint, put_bytes, put_varint};
use crate::error::{Error, Result};
use crate::key::{Timestamp, ValueKind};

/// One write inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: Bytes,
        /// The new value.
        value: Bytes,
    },
    /// Deletes `key`.
    Delete {
        /// The key.
        key: Bytes,
    },
    /// Deletes every key in `[start, end)` that is visible when the batch is
    /// applied. The engine expands it into point tombstones under its commit
    /// lock, so the deletion is atomic with the rest of the batch. Point
    /// writes of the same batch win over its range deletes, whatever their
    /// order in the batch.
    DeleteRange {
        /// Inclusive start.
        start: Bytes,
        /// Exclusive end.
        end: Bytes,
    },
}

/// An ordered set of writes that commit together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub(crate) ops: Vec<BatchOp>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put.
    pub fn put(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> &mut Self {
        self.ops.push(BatchOp::Put { key: key.into(), value: value.into() });
        self
    }

    /// Adds a point delete.
    pub fn delete(&mut self, key: impl Into<Bytes>) -> &mut Self {
        self.ops.push(BatchOp::Delete { key: key.into() });
        self
    }

    /// Adds a range delete of `[start, end)`. Point writes of this batch win
    /// over it, whatever their order (see [`BatchOp::DeleteRange`]).
    pub fn delete_range(&mut self, start: impl Into<Bytes>, end: impl Into<Bytes>) -> &mut Self {
        self.ops.push(BatchOp::DeleteRange { start: start.into(), end: end.into() });
        self
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// True when the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The range deletes of this batch as key bounds.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = (Bound<Bytes>, Bound<Bytes>)> + '_ {
        self.ops.iter().filter_map(|op| match op {
            BatchOp::DeleteRange { start, end } => Some((Bound::Included(start.clone()), Bound::Excluded(end.clone()))),
            _ => None,
        })
    }
}

/// A batch whose range deletes have been expanded: only point writes, each
/// key at most once (the last write to a key in the batch wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedBatch {
    /// `(key, value)` pairs; `None` is a tombstone. Sorted by key.
    pub writes: Vec<(Bytes, Option<Bytes>)>,
}

impl ResolvedBatch {
    /// Encodes the batch as a WAL record at `ts`.
    pub fn encode(&self, ts: Timestamp) -> Vec<u8> {
        let mut buf = Vec::new();
        self.encode_into(ts, &mut buf);
        buf
    }

    /// Appends the WAL record of the batch at `ts` to `buf`.
    pub fn encode_into(&self, ts: Timestamp, buf: &mut Vec<u8>) {
        let size: usize = self.writes.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()) + 12).sum();
        buf.reserve(16 + size);
        buf.extend_from_slice(&ts.to_le_bytes());
        put_varint(buf, self.writes.len() as u64);
        for (key, value) in &self.writes {
            match value {
                Some(value) => {
                    buf.push(ValueKind::Value as u8);
                    put_bytes(buf, key);
                    put_bytes(buf, value);
                }
                None => {
                    buf.push(ValueKind::Tombstone as u8);
                    put_bytes(buf, key);
                }
            }
        }
    }

    /// Decodes a WAL record; `path` names the segment for error messages.
    pub fn decode(mut input: &[u8], path: &Path) -> Result<(Timestamp, ResolvedBatch)> {
        let bad = |what: &str| Error::corruption(path, format!("malformed write batch: {what}"));
        let ts = get_u64(&mut input).ok_or_else(|| bad("timestamp"))?;
        let count = get_varint(&mut input).ok_or_else(|| bad("count"))?;
        let mut writes = Vec::with_capacity(count.min(1 << 16) as usize);
        for _ in 0..count {
            let kind = get_u8(&mut input).and_then(ValueKind::from_byte).ok_or_else(|| bad("op kind"))?;
            let key = Bytes::copy_from_slice(get_bytes(&mut input).ok_or_else(|| bad("key"))?);
            let value = match kind {
                ValueKind::Value => Some(Bytes::copy_from_slice(get_bytes(&mut input).ok_or_else(|| bad("value"))?)),
                ValueKind::Tombstone => None,
            };
            writes.push((key, value));
        }
        if !input.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok((ts, ResolvedBatch { writes }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip_and_corruption() {
        let batch = ResolvedBatch {
            writes: vec![(Bytes::from_static(b"a"), Some(Bytes::from_static(b"1"))), (Bytes::from_static(b"b"), None)],
        };
        let enc = batch.encode(77);
        let (ts, back) = ResolvedBatch::decode(&enc, Path::new("x")).expect("decodes");
        assert_eq!(ts, 77);
        assert_eq!(back, batch);
        for cut in 0..enc.len() {
            assert!(ResolvedBatch::decode(&enc[..cut], Path::new("x")).is_err());
        }
    }
}
