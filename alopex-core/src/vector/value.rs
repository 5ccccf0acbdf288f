//! What a value in a vector-index span holds: the vector itself.
//!
//! The SQL layer stores each indexed vector under its own key in the
//! index's span (for example `/table/index/pk → vector`). The engine reads
//! these values when it builds a segment at flush or compaction, when it
//! searches memtables exactly, and when it re-ranks candidates, so the
//! encoding is the cheapest one to decode: raw little-endian `f32`s.
//!
//! Nothing is prefixed. The dimension is a property of the index
//! ([`super::VectorIndexSpec::dim`]), so the length alone says whether a
//! value is well-formed, and a value decodes with one bounds check and
//! a copy. A version byte would buy nothing: a different encoding would be
//! a different index.
//!
//! ## Format
//!
//! ```text
//! dim × f32 little-endian   (4 × dim bytes; every value finite)
//! ```
//!
//! [`encode`] rejects NaN and infinities ([`Error::InvalidArgument`]): they
//! have no place in a distance order. [`decode`] reports what is wrong as a
//! [`ValueError`], which the caller turns into the error its path calls for:
//! [`Error::Corruption`] for bytes the engine itself wrote and checksummed,
//! [`Error::InvalidArgument`] for bytes a caller handed in.

use bytes::Bytes;

use crate::error::{Error, Result};

/// Why bytes are not a vector of the expected dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// The byte length is not `4 × dim`.
    WrongLength {
        /// The index's dimension.
        dim: u32,
        /// The bytes found.
        bytes: usize,
    },
    /// Element `index` is NaN or infinite.
    NotFinite {
        /// The element's position.
        index: usize,
    },
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueError::WrongLength { dim, bytes } => {
                write!(f, "vector value of {bytes} bytes, expected {} ({dim} dimensions × 4)", *dim as usize * 4)
            }
            ValueError::NotFinite { index } => write!(f, "vector element {index} is NaN or infinite"),
        }
    }
}

impl ValueError {
    /// As [`Error::InvalidArgument`]: the bytes came from a caller.
    pub fn invalid_argument(&self) -> Error {
        Error::InvalidArgument(self.to_string())
    }

    /// As [`Error::Corruption`] in `path`: the bytes came from the disk.
    pub fn corruption(&self, path: impl Into<std::path::PathBuf>, context: &str) -> Error {
        Error::corruption(path, format!("{context}: {self}"))
    }
}

/// Encodes `vector` as an index value; NaN or infinite elements are
/// [`Error::InvalidArgument`].
pub fn encode(vector: &[f32]) -> Result<Bytes> {
    if let Some(index) = vector.iter().position(|x| !x.is_finite()) {
        return Err(ValueError::NotFinite { index }.invalid_argument());
    }
    let mut out = Vec::with_capacity(vector.len() * 4);
    for x in vector {
        out.extend_from_slice(&x.to_le_bytes());
    }
    Ok(Bytes::from(out))
}

/// Decodes a value of an index of dimension `dim`, appending the elements
/// to `out` (which is left as it was on error).
pub fn decode_into(bytes: &[u8], dim: u32, out: &mut Vec<f32>) -> Result<(), ValueError> {
    if bytes.len() != dim as usize * 4 {
        return Err(ValueError::WrongLength { dim, bytes: bytes.len() });
    }
    let start = out.len();
    out.reserve(dim as usize);
    for chunk in bytes.chunks_exact(4) {
        let x = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        if !x.is_finite() {
            let index = out.len() - start;
            out.truncate(start);
            return Err(ValueError::NotFinite { index });
        }
        out.push(x);
    }
    Ok(())
}

/// Decodes a value of an index of dimension `dim`.
pub fn decode(bytes: &[u8], dim: u32) -> Result<Vec<f32>, ValueError> {
    let mut out = Vec::new();
    decode_into(bytes, dim, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = [1.0f32, -2.5, 0.0, 3.25e-7];
        let bytes = encode(&v).expect("encode");
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[..4], &1.0f32.to_le_bytes());
        assert_eq!(decode(&bytes, 4).expect("decode"), v);
        assert_eq!(decode(&encode(&[]).expect("empty"), 0).expect("empty"), Vec::<f32>::new());
    }

    #[test]
    fn errors() {
        assert!(matches!(encode(&[1.0, f32::NAN]), Err(Error::InvalidArgument(_))));
        assert!(matches!(encode(&[f32::NEG_INFINITY]), Err(Error::InvalidArgument(_))));
        let bytes = encode(&[1.0, 2.0]).expect("encode");
        assert_eq!(decode(&bytes, 3), Err(ValueError::WrongLength { dim: 3, bytes: 8 }));
        assert_eq!(decode(&bytes[..7], 2), Err(ValueError::WrongLength { dim: 2, bytes: 7 }));
        let mut bad = bytes.to_vec();
        bad[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        let mut out = vec![9.0];
        assert_eq!(decode_into(&bad, 2, &mut out), Err(ValueError::NotFinite { index: 1 }));
        assert_eq!(out, vec![9.0], "left as it was");
        assert!(matches!(ValueError::NotFinite { index: 0 }.corruption("/x", "segment"), Error::Corruption { .. }));
    }
}
