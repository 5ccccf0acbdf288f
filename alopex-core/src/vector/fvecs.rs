//! Reading `.fvecs` and `.ivecs` files, the format of the standard
//! approximate-nearest-neighbour benchmark sets (SIFT, GIST, and our
//! `tests/data/minilm-10k`), for tests, benchmarks and loading tools.
//!
//! ## Format
//!
//! A sequence of rows, each a little-endian `i32` count `d` followed by `d`
//! little-endian 4-byte values: `f32` in `.fvecs`, `i32` in `.ivecs`
//! (ground truth: row numbers of the nearest base vectors). Rows may differ
//! in length. A negative count or a row cut short is an error, never a
//! panic.

use std::io;
use std::path::Path;

/// A benchmark set in the usual layout: `base.fvecs` (the vectors),
/// `query.fvecs`, and exact top-100 ground truth per query for cosine and
/// L2 (`groundtruth-cosine.ivecs`, `groundtruth-l2.ivecs`), as in
/// `tests/data/minilm-10k`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The vectors to index; row numbers are their ids.
    pub base: Vec<Vec<f32>>,
    /// The query vectors.
    pub queries: Vec<Vec<f32>>,
    /// Per query, the base rows nearest by cosine distance, nearest first.
    pub truth_cosine: Vec<Vec<u32>>,
    /// Per query, the base rows nearest by L2 distance, nearest first.
    pub truth_l2: Vec<Vec<u32>>,
}

impl Dataset {
    /// Reads the four files from `dir`.
    pub fn load(dir: impl AsRef<Path>) -> io::Result<Dataset> {
        let dir = dir.as_ref();
        Ok(Dataset {
            base: read_fvecs(dir.join("base.fvecs"))?,
            queries: read_fvecs(dir.join("query.fvecs"))?,
            truth_cosine: read_ivecs(dir.join("groundtruth-cosine.ivecs"))?,
            truth_l2: read_ivecs(dir.join("groundtruth-l2.ivecs"))?,
        })
    }
}

/// The rows of an `.fvecs` file.
pub fn read_fvecs(path: impl AsRef<Path>) -> io::Result<Vec<Vec<f32>>> {
    read_rows(path.as_ref(), f32::from_le_bytes)
}

/// The rows of an `.ivecs` file (values as `u32`: row numbers).
pub fn read_ivecs(path: impl AsRef<Path>) -> io::Result<Vec<Vec<u32>>> {
    read_rows(path.as_ref(), u32::from_le_bytes)
}

fn read_rows<T>(path: &Path, value: fn([u8; 4]) -> T) -> io::Result<Vec<Vec<T>>> {
    parse_rows(&std::fs::read(path)?, value)
        .map_err(|what| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display())))
}

fn parse_rows<T>(bytes: &[u8], value: fn([u8; 4]) -> T) -> Result<Vec<Vec<T>>, String> {
    let word = |b: &[u8]| -> [u8; 4] { [b[0], b[1], b[2], b[3]] };
    let mut rows = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(format!("row {} is cut short", rows.len()));
        }
        let count = i32::from_le_bytes(word(rest));
        let count = usize::try_from(count).map_err(|_| format!("row {} has a negative length", rows.len()))?;
        let body = rest.get(4..4 + count * 4).ok_or_else(|| format!("row {} is cut short", rows.len()))?;
        rows.push(body.chunks_exact(4).map(|c| value(word(c))).collect());
        rest = &rest[4 + count * 4..];
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_damage_is_an_error() {
        let mut bytes = Vec::new();
        for row in [&[1.5f32, -2.0][..], &[3.0]] {
            bytes.extend_from_slice(&(row.len() as i32).to_le_bytes());
            row.iter().for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
        }
        assert_eq!(parse_rows(&bytes, f32::from_le_bytes).unwrap(), vec![vec![1.5, -2.0], vec![3.0]]);
        assert!(parse_rows(&bytes[..bytes.len() - 1], f32::from_le_bytes).is_err());
        assert!(parse_rows(&(-1i32).to_le_bytes(), f32::from_le_bytes).is_err());
        assert!(parse_rows(&[1, 0], f32::from_le_bytes).is_err());
    }
}
