//! The metaindex: a table of contents for everything that is not data.
//!
//! The footer has room for exactly two handles. Everything else a table
//! carries (the bloom filter, the properties, and named extra sections that
//! later features add, such as a vector-index segment) is found by name
//! through this one block. A new kind of section therefore needs no footer or
//! version change: old readers simply never ask for the new name, and new
//! readers get `None` from old tables.
//!
//! Names starting with `alopex.` that this module defines are written by the
//! table builder itself; callers cannot add sections under those names.
//!
//! ## Format
//!
//! ```text
//! count (varint)
//! count × { name (varint length ++ UTF-8 bytes)  offset (varint)  size (varint) }
//! ```
//!
//! Names are unique and strictly ascending (byte order). Each handle points
//! at a framed, checksummed block. The payload is itself framed like every
//! block and its handle is stored in the footer.

use std::collections::BTreeMap;

use super::frame::{BlockHandle, Malformed};
use crate::coding::{get_bytes, get_varint, put_bytes, put_varint};

/// Metaindex name of the bloom filter block.
pub(crate) const BLOOM: &str = "alopex.bloom";

/// Metaindex name of the properties block.
pub(crate) const PROPERTIES: &str = "alopex.properties";

/// True for names the builder writes itself.
pub(crate) fn is_reserved(name: &str) -> bool {
    name == BLOOM || name == PROPERTIES
}

/// Encodes the name → handle map (a `BTreeMap` iterates in name order).
pub(crate) fn encode(entries: &BTreeMap<String, BlockHandle>) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, entries.len() as u64);
    for (name, handle) in entries {
        put_bytes(&mut out, name.as_bytes());
        handle.encode_to(&mut out);
    }
    out
}

/// Decodes and validates a verified metaindex payload.
pub(crate) fn decode(payload: &[u8]) -> Result<BTreeMap<String, BlockHandle>, Malformed> {
    let mut cur = payload;
    let at = |cur: &[u8]| payload.len() - cur.len();
    let count = get_varint(&mut cur).ok_or_else(|| Malformed::new(0, "metaindex truncated before count"))?;
    let mut out = BTreeMap::new();
    let mut last: Option<&[u8]> = None;
    for i in 0..count {
        let entry_at = at(cur);
        let name = get_bytes(&mut cur)
            .ok_or_else(|| Malformed::new(entry_at, format!("metaindex entry {i}: truncated name")))?;
        let handle = BlockHandle::decode_from(&mut cur)
            .ok_or_else(|| Malformed::new(entry_at, format!("metaindex entry {i}: truncated handle")))?;
        if last.is_some_and(|l| l >= name) {
            return Err(Malformed::new(entry_at, format!("metaindex entry {i}: names not strictly ascending")));
        }
        last = Some(name);
        let name = std::str::from_utf8(name)
            .map_err(|_| Malformed::new(entry_at, format!("metaindex entry {i}: name is not UTF-8")))?;
        out.insert(name.to_owned(), handle);
    }
    if !cur.is_empty() {
        return Err(Malformed::new(at(cur), format!("{} unexpected bytes after metaindex", cur.len())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_validation() {
        let mut m = BTreeMap::new();
        m.insert(BLOOM.to_owned(), BlockHandle { offset: 10, size: 20 });
        m.insert(PROPERTIES.to_owned(), BlockHandle { offset: 39, size: 50 });
        m.insert("vector.segment".to_owned(), BlockHandle { offset: 0, size: 0 });
        let bytes = encode(&m);
        assert_eq!(decode(&bytes), Ok(m));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes;
        padded.push(0);
        assert!(decode(&padded).is_err());

        // Duplicate names are rejected.
        let mut dup = Vec::new();
        put_varint(&mut dup, 2);
        for _ in 0..2 {
            put_bytes(&mut dup, b"x");
            BlockHandle { offset: 1, size: 1 }.encode_to(&mut dup);
        }
        assert!(decode(&dup).is_err());
    }
}
