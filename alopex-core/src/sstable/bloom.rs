//! The per-table bloom filter over *user keys*.
//!
//! Most point reads in an LSM tree ask tables that do not hold the key. A
//! bloom filter answers "definitely not here" from memory, so such a read
//! costs no block I/O. The filter is built over user keys, not internal keys:
//! a reader asks "is there any version of `k`?" without knowing which
//! timestamps exist, and several versions of one key add it only once.
//!
//! The filter is *blocked* (Putze, Sanders, Singler): the bit array is cut
//! into 512-bit blocks, one CPU cache line each, and all of a key's probes
//! fall in one block chosen by the high half of its hash. A lookup therefore
//! touches one cache line instead of `k`, which matters because most lookups
//! are for keys that are absent. Inside the block the `k` positions come from
//! double hashing (`h + i * delta`, Kirsch–Mitzenmacher) on the low half.
//! Each key is hashed once with xxh3-64; a reader that asks many tables for
//! one key hashes it once ([`key_hash`]) and reuses the hash. With
//! `bits_per_key = b` the probe count is `round(b * ln 2)`: 10 bits per key
//! gives 7 probes and about 1–1.5% false positives (blocking costs a little
//! accuracy for the one-cache-line lookups). The builder keeps one `u64` hash
//! per distinct key until `finish`, so the bit array is sized for the exact
//! key count.
//!
//! ## Format
//!
//! ```text
//! +----------------------------+-------------+
//! | bit array (m / 8 bytes)    | probes (u8) |
//! +----------------------------+-------------+
//! ```
//!
//! Bit `i` is `array[i / 8] >> (i % 8) & 1`; the array is a whole number of
//! 64-byte blocks (at least one). Key hash `h` (xxh3-64 of the user key)
//! selects block `((h >> 32) * blocks) >> 32` and sets, within it, bits
//! `(lo + i * delta) mod 512` for `i` in `0..probes`, where `lo` is the low 32
//! bits of `h` and `delta = (h.rotate_left(21) as u32) | 1`. `probes = 0` (with an empty array) means the filter is disabled
//! (`bloom_bits_per_key = 0`) and every key "may" be present. Probes above 30
//! are rejected as corruption. The payload is framed and checksummed like
//! every other block, under the metaindex name `alopex.bloom`.

use bytes::Bytes;

use super::frame::Malformed;
use xxhash_rust::xxh3::xxh3_64;

/// The largest probe count accepted when reading.
const MAX_PROBES: u8 = 30;

/// Collects key hashes and writes the filter.
#[derive(Debug)]
pub(crate) struct BloomBuilder {
    bits_per_key: usize,
    hashes: Vec<u64>,
}

impl BloomBuilder {
    /// A builder spending `bits_per_key` bits per distinct key (0 disables).
    pub(crate) fn new(bits_per_key: usize) -> Self {
        BloomBuilder { bits_per_key: bits_per_key.min(64), hashes: Vec::new() }
    }

    /// Adds one distinct user key. Adding a key twice only wastes space.
    pub(crate) fn add_key(&mut self, user_key: &[u8]) {
        if self.bits_per_key > 0 {
            self.hashes.push(xxh3_64(user_key));
        }
    }

    /// Encodes the filter payload.
    pub(crate) fn finish(&self) -> Vec<u8> {
        if self.bits_per_key == 0 {
            return vec![0];
        }
        let probes =
            ((self.bits_per_key as f64) * std::f64::consts::LN_2).round().clamp(1.0, f64::from(MAX_PROBES)) as u8;
        let bits = self.hashes.len().saturating_mul(self.bits_per_key).max(1);
        let blocks = bits.div_ceil(BLOCK_BITS);
        let bytes = blocks * BLOCK_BYTES;
        let mut out = vec![0u8; bytes + 1];
        for &h in &self.hashes {
            let base = block_of(h, blocks) * BLOCK_BYTES;
            for bit in probe_positions(h, probes) {
                out[base + bit / 8] |= 1 << (bit % 8);
            }
        }
        out[bytes] = probes;
        out
    }
}

/// A decoded filter; cheap to query, shares the block bytes.
#[derive(Debug, Clone)]
pub(crate) struct BloomFilter {
    bits: Bytes,
    probes: u8,
}

impl BloomFilter {
    /// Decodes and validates a verified filter payload.
    pub(crate) fn decode(payload: Bytes) -> Result<Self, Malformed> {
        let Some((&probes, _)) = payload.split_last() else {
            return Err(Malformed::new(0, "empty bloom filter block"));
        };
        let bits = payload.slice(..payload.len() - 1);
        if probes > MAX_PROBES {
            return Err(Malformed::new(bits.len(), format!("bloom filter has {probes} probes (max {MAX_PROBES})")));
        }
        if !bits.len().is_multiple_of(BLOCK_BYTES) {
            return Err(Malformed::new(
                bits.len(),
                format!("bloom filter of {} bytes is not whole blocks", bits.len()),
            ));
        }
        if (probes == 0) != bits.is_empty() {
            return Err(Malformed::new(
                bits.len(),
                format!("bloom filter has {probes} probes over {} bytes of bits", bits.len()),
            ));
        }
        Ok(BloomFilter { bits, probes })
    }

    /// A filter that answers "maybe" for every key.
    pub(crate) fn disabled() -> Self {
        BloomFilter { bits: Bytes::new(), probes: 0 }
    }

    /// False only if `user_key` was certainly not added.
    #[cfg(test)]
    pub(crate) fn may_contain(&self, user_key: &[u8]) -> bool {
        self.may_contain_hash(key_hash(user_key))
    }

    /// False only if no key with hash `h` ([`key_hash`]) was added.
    pub(crate) fn may_contain_hash(&self, h: u64) -> bool {
        if self.probes == 0 {
            return true;
        }
        let block = &self.bits[block_of(h, self.bits.len() / BLOCK_BYTES) * BLOCK_BYTES..][..BLOCK_BYTES];
        probe_positions(h, self.probes).all(|bit| block[bit / 8] & (1 << (bit % 8)) != 0)
    }
}

/// Bits per block: one 64-byte cache line.
const BLOCK_BITS: usize = 512;
/// Bytes per block.
const BLOCK_BYTES: usize = BLOCK_BITS / 8;

/// The hash the filter uses for a user key.
pub fn key_hash(user_key: &[u8]) -> u64 {
    xxh3_64(user_key)
}

/// The block for hash `h` among `blocks` (≥ 1): a multiply-shift of the high
/// half, which is uniform without a division.
fn block_of(h: u64, blocks: usize) -> usize {
    (((h >> 32) * blocks as u64) >> 32) as usize
}

/// The `probes` bit positions inside the block for hash `h`.
fn probe_positions(h: u64, probes: u8) -> impl Iterator<Item = usize> {
    let lo = h as u32;
    let delta = (h.rotate_left(21) as u32) | 1;
    (0..u32::from(probes)).map(move |i| (lo.wrapping_add(i.wrapping_mul(delta)) as usize) % BLOCK_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(keys: impl Iterator<Item = Vec<u8>>, bits_per_key: usize) -> BloomFilter {
        let mut b = BloomBuilder::new(bits_per_key);
        for k in keys {
            b.add_key(&k);
        }
        BloomFilter::decode(Bytes::from(b.finish())).expect("valid filter")
    }

    #[test]
    fn no_false_negatives_and_about_one_percent_false_positives() {
        let n = 20_000u32;
        let f = filter((0..n).map(|i| format!("key-{i}").into_bytes()), 10);
        for i in 0..n {
            assert!(f.may_contain(format!("key-{i}").as_bytes()), "false negative for {i}");
        }
        let trials = 100_000u32;
        let fps = (0..trials).filter(|i| f.may_contain(format!("other-{i}").as_bytes())).count();
        let rate = fps as f64 / f64::from(trials);
        assert!(rate < 0.015, "false-positive rate {rate}");
        assert!(rate > 0.003, "suspiciously low false-positive rate {rate}");
    }

    #[test]
    fn empty_and_disabled_filters() {
        let empty = filter(std::iter::empty(), 10);
        assert!(!empty.may_contain(b"anything"));
        let disabled = filter((0..10u8).map(|i| vec![i]), 0);
        assert!(disabled.may_contain(b"anything"));
        let one = filter(std::iter::once(Vec::new()), 10);
        assert!(one.may_contain(b""));
    }

    #[test]
    fn bad_payloads_are_rejected() {
        assert!(BloomFilter::decode(Bytes::new()).is_err());
        assert!(BloomFilter::decode(Bytes::from_static(&[0xff; 9])).is_err());
        assert!(BloomFilter::decode(Bytes::from_static(&[0x01; 65])).is_ok());
        assert!(BloomFilter::decode(Bytes::from_static(&[0x01; 66])).is_err(), "not whole blocks");
        assert!(BloomFilter::decode(Bytes::from_static(&[7])).is_err());
        assert!(BloomFilter::decode(Bytes::from_static(&[1, 0])).is_err());
    }
}
