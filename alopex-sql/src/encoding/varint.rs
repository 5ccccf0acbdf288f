//! Variable-length integers and a checked byte reader, shared by the row
//! codec and the catalog codec.
//!
//! Values (rows, catalog entries) are not compared byte-wise, so they use the
//! most compact integer form: LEB128 varints, with zigzag for signed
//! numbers so that small negative numbers stay small. Keys never use these;
//! they need the fixed-width, order-preserving forms in [`super::keycode`].
//!
//! Every reader here takes `&mut &[u8]` and advances it, and every malformed
//! input (truncation, an overlong varint) is an `XX001 data_corrupted` error
//! rather than a panic: these bytes come from disk.
//!
//! ## Format
//!
//! * unsigned varint: 7 bits per byte, least significant group first, the
//!   high bit set on every byte but the last (LEB128). At most 10 bytes for
//!   a `u64`, 19 for a `u128`.
//! * signed varint: zigzag (`(n << 1) ^ (n >> 63)`) then unsigned varint.
//! * string / byte string: unsigned varint length, then the bytes (UTF-8 for
//!   strings).

use crate::error::{Error, SqlState};

/// An `XX001 data_corrupted` error: stored bytes that cannot be decoded.
pub fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(SqlState::DATA_CORRUPTED, format!("invalid stored data: {what}"))
}

/// Appends `n` as an unsigned varint.
pub fn put_uvarint(out: &mut Vec<u8>, n: u64) {
    put_uvarint128(out, n as u128)
}

/// Appends a `u128` as an unsigned varint.
pub fn put_uvarint128(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends `n` as a zigzag signed varint.
pub fn put_ivarint(out: &mut Vec<u8>, n: i64) {
    put_uvarint(out, ((n << 1) ^ (n >> 63)) as u64)
}

/// Appends an `i128` as a zigzag signed varint.
pub fn put_ivarint128(out: &mut Vec<u8>, n: i128) {
    put_uvarint128(out, ((n << 1) ^ (n >> 127)) as u128)
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads an unsigned varint of at most `max_bits` significant bits.
fn get_uvarint_bits(input: &mut &[u8], max_bits: u32) -> Result<u128, Error> {
    let mut n: u128 = 0;
    let mut shift = 0u32;
    loop {
        let byte = get_u8(input)?;
        let group = (byte & 0x7f) as u128;
        if shift >= max_bits || (shift > 0 && group >> (max_bits - shift).min(127) != 0) {
            return Err(corrupt("varint too long"));
        }
        n |= group << shift;
        if byte & 0x80 == 0 {
            return Ok(n);
        }
        shift += 7;
    }
}

/// Reads an unsigned varint.
pub fn get_uvarint(input: &mut &[u8]) -> Result<u64, Error> {
    get_uvarint_bits(input, 64).map(|n| n as u64)
}

/// Reads an unsigned `u128` varint.
pub fn get_uvarint128(input: &mut &[u8]) -> Result<u128, Error> {
    get_uvarint_bits(input, 128)
}

/// Reads a zigzag signed varint.
pub fn get_ivarint(input: &mut &[u8]) -> Result<i64, Error> {
    let z = get_uvarint(input)?;
    Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
}

/// Reads a zigzag signed `i128` varint.
pub fn get_ivarint128(input: &mut &[u8]) -> Result<i128, Error> {
    let z = get_uvarint128(input)?;
    Ok(((z >> 1) as i128) ^ -((z & 1) as i128))
}

/// Reads an unsigned varint that must fit a `u32`.
pub fn get_u32_varint(input: &mut &[u8]) -> Result<u32, Error> {
    u32::try_from(get_uvarint(input)?).map_err(|_| corrupt("integer out of range"))
}

/// Reads a signed varint that must fit an `i32`.
pub fn get_i32_varint(input: &mut &[u8]) -> Result<i32, Error> {
    i32::try_from(get_ivarint(input)?).map_err(|_| corrupt("integer out of range"))
}

/// Reads one byte.
pub fn get_u8(input: &mut &[u8]) -> Result<u8, Error> {
    let (&first, rest) = input.split_first().ok_or_else(|| corrupt("unexpected end of data"))?;
    *input = rest;
    Ok(first)
}

/// Reads exactly `n` bytes.
pub fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
    if input.len() < n {
        return Err(corrupt("unexpected end of data"));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// Reads exactly `N` bytes into an array.
pub fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    out.copy_from_slice(take(input, N)?);
    Ok(out)
}

/// Reads a length-prefixed byte string.
pub fn get_bytes<'a>(input: &mut &'a [u8]) -> Result<&'a [u8], Error> {
    let len = usize::try_from(get_uvarint(input)?).map_err(|_| corrupt("length out of range"))?;
    take(input, len)
}

/// Reads a length-prefixed UTF-8 string.
pub fn get_str<'a>(input: &mut &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(get_bytes(input)?).map_err(|_| corrupt("string is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for n in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, n);
            let mut input = &buf[..];
            assert_eq!(get_uvarint(&mut input).unwrap(), n);
            assert!(input.is_empty());
        }
        for n in [0i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            let mut buf = Vec::new();
            put_ivarint(&mut buf, n);
            assert_eq!(get_ivarint(&mut &buf[..]).unwrap(), n);
        }
        for n in [0i128, -1, i128::MAX, i128::MIN, 79_228_162_514_264_337_593_543_950_335] {
            let mut buf = Vec::new();
            put_ivarint128(&mut buf, n);
            assert_eq!(get_ivarint128(&mut &buf[..]).unwrap(), n);
        }
    }

    #[test]
    fn bad_varints_are_corruption_not_panics() {
        // Truncated.
        assert_eq!(get_uvarint(&mut &[0x80u8][..]).unwrap_err().state, SqlState::DATA_CORRUPTED);
        // Eleven bytes never fit a u64.
        let long = [0xffu8; 11];
        assert_eq!(get_uvarint(&mut &long[..]).unwrap_err().state, SqlState::DATA_CORRUPTED);
        // Ten bytes whose last group overflows 64 bits.
        let mut over = vec![0xffu8; 9];
        over.push(0x02);
        assert!(get_uvarint(&mut &over[..]).is_err());
        assert!(get_u32_varint(&mut &[0xff, 0xff, 0xff, 0xff, 0x1f][..]).is_err());
        assert!(get_str(&mut &[2u8, 0xff, 0xfe][..]).is_err());
        assert!(get_bytes(&mut &[5u8, 1][..]).is_err());
    }
}
