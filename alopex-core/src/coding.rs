//! Small helpers for the on-disk formats: LEB128 varints, fixed-width
//! little-endian integers, and the xxh3 checksum used everywhere.
//!
//! Decoding never panics: every reader takes a `&mut &[u8]` cursor and returns
//! `None` when the input is short or malformed, and the caller reports that as
//! corruption of a named file.

/// The checksum of every on-disk frame, block and footer: 64-bit xxh3.
#[inline]
pub fn checksum(data: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(data)
}

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads an unsigned LEB128 varint from the front of `input`.
#[inline]
pub fn get_varint(input: &mut &[u8]) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = input.split_first()?;
        *input = rest;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    put_varint(buf, data.len() as u64);
    buf.extend_from_slice(data);
}

/// Reads a length-prefixed byte string.
pub fn get_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(get_varint(input)?).ok()?;
    if input.len() < len {
        return None;
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Some(head)
}

/// Reads a little-endian `u64`.
pub fn get_u64(input: &mut &[u8]) -> Option<u64> {
    let (head, rest) = input.split_first_chunk::<8>()?;
    *input = rest;
    Some(u64::from_le_bytes(*head))
}

/// Reads a little-endian `u32`.
pub fn get_u32(input: &mut &[u8]) -> Option<u32> {
    let (head, rest) = input.split_first_chunk::<4>()?;
    *input = rest;
    Some(u32::from_le_bytes(*head))
}

/// Reads one byte.
pub fn get_u8(input: &mut &[u8]) -> Option<u8> {
    let (&b, rest) = input.split_first()?;
    *input = rest;
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_roundtrip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut cur = &buf[..];
            assert_eq!(get_varint(&mut cur), Some(v));
            assert!(cur.is_empty());
        }
    }

    #[test]
    fn truncated_input_is_none() {
        let mut buf = Vec::new();
        put_varint(&mut buf, u64::MAX);
        let mut cur = &buf[..buf.len() - 1];
        assert_eq!(get_varint(&mut cur), None);
        let mut cur: &[u8] = &[0xff; 11];
        assert_eq!(get_varint(&mut cur), None);
        let mut cur: &[u8] = &[5, 1, 2];
        assert_eq!(get_bytes(&mut cur), None);
    }
}
