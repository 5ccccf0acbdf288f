//! The registry entry of one vector index: which key span holds its vectors
//! and how they are compared.
//!
//! The engine stores keys and values; it does not know SQL tables. What it
//! needs to build a graph when it writes an SSTable is exactly this: the
//! key span whose values are vectors, their dimension and metric, and the
//! HNSW parameters. The SQL layer registers one [`VectorIndexSpec`] per
//! `CREATE INDEX … USING hnsw` with [`crate::Engine::create_vector_index`];
//! the engine persists it in the manifest (so it survives reopen and
//! changes atomically with the set of tables) and builds a segment for it
//! into every table written afterwards.
//!
//! Limits follow pgvector: `m` in 2..=100, `ef_construction` in 4..=1000
//! and at least `2 × m`, and a dimension in 1..=16000.
//!
//! ## Format
//!
//! Inside a manifest edit (see `crate::manifest`):
//!
//! ```text
//! id varint | start (varint length ++ bytes) | end (varint length ++ bytes)
//! | dim varint | metric u8 (0 L2, 1 cosine, 2 inner product)
//! | m varint | ef_construction varint
//! ```
//!
//! The xxh3-64 of this encoding is the spec's [`fingerprint`]; each segment
//! records the fingerprint of the spec it was built for, so a segment left
//! from a dropped index whose id was reused is never taken for the new one.
//!
//! [`fingerprint`]: VectorIndexSpec::fingerprint

use std::ops::Bound;

use bytes::Bytes;

use super::distance::Metric;
use crate::coding::{checksum, get_bytes, get_u8, get_varint, put_bytes, put_varint};
use crate::error::{Error, Result};
use crate::version::KeyBounds;

/// Largest accepted dimension (pgvector's limit for `vector`).
pub const MAX_DIM: u32 = 16_000;
/// Largest accepted `m`.
pub const MAX_M: u32 = 100;
/// Largest accepted `ef_construction`.
pub const MAX_EF_CONSTRUCTION: u32 = 1000;

/// One registered vector index. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorIndexSpec {
    /// Chosen by the caller; unique among the registered indexes.
    pub id: u64,
    /// The first key of the span (inclusive).
    pub start: Bytes,
    /// The end of the span (exclusive).
    pub end: Bytes,
    /// Elements per vector.
    pub dim: u32,
    /// How vectors are compared.
    pub metric: Metric,
    /// HNSW: neighbours per node on the upper layers (twice that on layer 0).
    pub m: u32,
    /// HNSW: the candidate list length while building.
    pub ef_construction: u32,
}

impl VectorIndexSpec {
    /// A spec with pgvector's defaults (`m = 16`, `ef_construction = 64`).
    pub fn new(id: u64, start: impl Into<Bytes>, end: impl Into<Bytes>, dim: u32, metric: Metric) -> Self {
        VectorIndexSpec { id, start: start.into(), end: end.into(), dim, metric, m: 16, ef_construction: 64 }
    }

    /// The span as key bounds: `[start, end)`.
    pub fn span(&self) -> KeyBounds {
        (Bound::Included(self.start.clone()), Bound::Excluded(self.end.clone()))
    }

    /// True when `key` lies in the span.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_ref() && key < self.end.as_ref()
    }

    /// Checks the limits; [`Error::InvalidArgument`] says which one failed.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidArgument(format!("vector index {}: {what}", self.id)));
        if self.start >= self.end {
            return bad("the span's start must sort before its end".into());
        }
        if self.dim == 0 || self.dim > MAX_DIM {
            return bad(format!("dimension {} outside 1..={MAX_DIM}", self.dim));
        }
        if !(2..=MAX_M).contains(&self.m) {
            return bad(format!("m = {} outside 2..={MAX_M}", self.m));
        }
        if !(4..=MAX_EF_CONSTRUCTION).contains(&self.ef_construction) || self.ef_construction < 2 * self.m {
            return bad(format!(
                "ef_construction = {} outside 4..={MAX_EF_CONSTRUCTION} or below 2 × m",
                self.ef_construction
            ));
        }
        Ok(())
    }

    /// Appends the encoding (see `## Format`).
    pub fn encode_to(&self, buf: &mut Vec<u8>) {
        put_varint(buf, self.id);
        put_bytes(buf, &self.start);
        put_bytes(buf, &self.end);
        put_varint(buf, u64::from(self.dim));
        buf.push(self.metric.to_byte());
        put_varint(buf, u64::from(self.m));
        put_varint(buf, u64::from(self.ef_construction));
    }

    /// Decodes one spec from the front of `input`; `None` if malformed.
    pub fn decode_from(input: &mut &[u8]) -> Option<VectorIndexSpec> {
        let u32_field = |input: &mut &[u8]| get_varint(input).and_then(|v| u32::try_from(v).ok());
        let id = get_varint(input)?;
        let start = Bytes::copy_from_slice(get_bytes(input)?);
        let end = Bytes::copy_from_slice(get_bytes(input)?);
        let dim = u32_field(input)?;
        let metric = Metric::from_byte(get_u8(input)?)?;
        let m = u32_field(input)?;
        let ef_construction = u32_field(input)?;
        Some(VectorIndexSpec { id, start, end, dim, metric, m, ef_construction })
    }

    /// The xxh3-64 of the encoding: two specs with the same fingerprint
    /// index the same span the same way.
    pub fn fingerprint(&self) -> u64 {
        let mut buf = Vec::new();
        self.encode_to(&mut buf);
        checksum(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fingerprint() {
        let spec = VectorIndexSpec::new(7, &b"/t/i/"[..], &b"/t/i0"[..], 384, Metric::Cosine);
        let mut buf = Vec::new();
        spec.encode_to(&mut buf);
        let mut input = &buf[..];
        assert_eq!(VectorIndexSpec::decode_from(&mut input), Some(spec.clone()));
        assert!(input.is_empty());
        assert!(VectorIndexSpec::decode_from(&mut &buf[..buf.len() - 1]).is_none());
        let other = VectorIndexSpec { metric: Metric::L2, ..spec.clone() };
        assert_ne!(spec.fingerprint(), other.fingerprint());
        assert!(spec.contains(b"/t/i/1") && !spec.contains(b"/t/i0") && !spec.contains(b"/t/h"));
    }

    #[test]
    fn limits() {
        let ok = VectorIndexSpec::new(1, &b"a"[..], &b"b"[..], 3, Metric::L2);
        assert!(ok.validate().is_ok());
        for bad in [
            VectorIndexSpec { end: Bytes::from_static(b"a"), ..ok.clone() },
            VectorIndexSpec { dim: 0, ..ok.clone() },
            VectorIndexSpec { dim: MAX_DIM + 1, ..ok.clone() },
            VectorIndexSpec { m: 1, ..ok.clone() },
            VectorIndexSpec { m: 40, ..ok.clone() },
            VectorIndexSpec { ef_construction: 2000, ..ok.clone() },
        ] {
            assert!(matches!(bad.validate(), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }
}
