//! Internal keys: a user key plus its MVCC version.
//!
//! Every write is stored under an *internal key* made of the user key, the
//! commit timestamp of the write, and its kind (a value or a tombstone).
//! Internal keys sort by user key ascending, then by timestamp **descending**,
//! so a forward scan meets the newest version of a key first and a reader at
//! snapshot `ts` can stop at the first version whose timestamp is `<= ts`.
//!
//! ## Format
//!
//! ```text
//! +-----------------+-------------------------+--------+
//! | user key (n B)  | !timestamp (u64, BE)    | kind   |
//! +-----------------+-------------------------+--------+
//! ```
//!
//! The timestamp is stored bitwise-inverted and big-endian, so that comparing
//! the 8 bytes lexicographically orders timestamps descending. The kind byte
//! is `0` for a tombstone and `1` for a value. The encoding alone does not
//! sort correctly when one user key is a prefix of another, so encoded keys
//! are always compared with [`compare_internal`], which splits off the
//! 9-byte suffix first.

use std::cmp::Ordering;

use bytes::Bytes;

/// A commit timestamp. See [`crate::clock`] for its hybrid-logical layout.
pub type Timestamp = u64;

/// Length of the version suffix appended to a user key.
pub const SUFFIX_LEN: usize = 9;

/// Whether a version holds a value or deletes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// The key is deleted as of this version.
    Tombstone = 0,
    /// The key holds a value as of this version.
    Value = 1,
}

impl ValueKind {
    /// Decodes a kind byte; `None` for anything else.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(ValueKind::Tombstone),
            1 => Some(ValueKind::Value),
            _ => None,
        }
    }
}

/// One version of one key, as produced by every internal iterator.
///
/// `value` is `None` for a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The user key.
    pub key: Bytes,
    /// The commit timestamp of this version.
    pub ts: Timestamp,
    /// The value, or `None` for a tombstone.
    pub value: Option<Bytes>,
}

impl Entry {
    /// The kind of this version.
    pub fn kind(&self) -> ValueKind {
        if self.value.is_some() { ValueKind::Value } else { ValueKind::Tombstone }
    }

    /// Orders two entries as internal keys (user key asc, timestamp desc).
    pub fn cmp_internal(&self, other: &Entry) -> Ordering {
        cmp_version(&self.key, self.ts, &other.key, other.ts)
    }
}

/// Orders `(key, ts)` pairs as internal keys: key ascending, ts descending.
#[inline]
pub fn cmp_version(a: &[u8], a_ts: Timestamp, b: &[u8], b_ts: Timestamp) -> Ordering {
    a.cmp(b).then_with(|| b_ts.cmp(&a_ts))
}

/// Appends the encoded internal key for `(user_key, ts, kind)` to `buf`.
pub fn encode_internal_key(buf: &mut Vec<u8>, user_key: &[u8], ts: Timestamp, kind: ValueKind) {
    buf.reserve(user_key.len() + SUFFIX_LEN);
    buf.extend_from_slice(user_key);
    buf.extend_from_slice(&(!ts).to_be_bytes());
    buf.push(kind as u8);
}

/// Splits an encoded internal key into `(user_key, ts, kind)`.
///
/// Returns `None` when the key is too short or the kind byte is unknown; the
/// caller turns that into a [`crate::Error::Corruption`] naming the file.
pub fn decode_internal_key(key: &[u8]) -> Option<(&[u8], Timestamp, ValueKind)> {
    if key.len() < SUFFIX_LEN {
        return None;
    }
    let (user, suffix) = key.split_at(key.len() - SUFFIX_LEN);
    let mut ts_bytes = [0u8; 8];
    ts_bytes.copy_from_slice(&suffix[..8]);
    let ts = !u64::from_be_bytes(ts_bytes);
    let kind = ValueKind::from_byte(suffix[8])?;
    Some((user, ts, kind))
}

/// Compares two encoded internal keys: user key ascending, timestamp
/// descending. Keys shorter than the suffix sort by raw bytes (they are
/// rejected as corrupt before they get here).
pub fn compare_internal(a: &[u8], b: &[u8]) -> Ordering {
    if a.len() < SUFFIX_LEN || b.len() < SUFFIX_LEN {
        return a.cmp(b);
    }
    let (au, asuf) = a.split_at(a.len() - SUFFIX_LEN);
    let (bu, bsuf) = b.split_at(b.len() - SUFFIX_LEN);
    au.cmp(bu).then_with(|| asuf[..8].cmp(&bsuf[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(k: &[u8], ts: u64) -> Vec<u8> {
        let mut v = Vec::new();
        encode_internal_key(&mut v, k, ts, ValueKind::Value);
        v
    }

    #[test]
    fn roundtrip() {
        let k = enc(b"hello", 42);
        assert_eq!(decode_internal_key(&k), Some((&b"hello"[..], 42, ValueKind::Value)));
        assert_eq!(decode_internal_key(b"short"), None);
    }

    #[test]
    fn ordering_is_key_asc_ts_desc_even_for_prefixes() {
        let mut keys = [enc(b"a", 1), enc(b"ab", 7), enc(b"a", 9), enc(b"", 3), enc(b"b", 0)];
        keys.sort_by(|x, y| compare_internal(x, y));
        let decoded: Vec<_> = keys
            .iter()
            .map(|k| decode_internal_key(k).map(|(u, t, _)| (u.to_vec(), t)))
            .collect::<Option<Vec<_>>>()
            .expect("valid keys");
        assert_eq!(
            decoded,
            vec![(b"".to_vec(), 3), (b"a".to_vec(), 9), (b"a".to_vec(), 1), (b"ab".to_vec(), 7), (b"b".to_vec(), 0)]
        );
    }
}
