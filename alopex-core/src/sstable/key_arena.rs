//! One allocation for many decoded keys.
//!
//! Keys inside a data block are prefix-compressed, so every entry a scan
//! yields needs its user key rebuilt into memory it owns. Copying each into
//! its own `Bytes` costs a `malloc` and a `free` per entry; at a million
//! entries per second that was the largest single cost of an SSTable scan
//! (`perf` on the `vs_sqlite` range-scan workload). A [`KeyArena`] instead
//! appends keys into a shared chunk and hands out reference-counted slices
//! of it: one allocation per few hundred keys, and a slice costs an atomic
//! increment.
//!
//! A chunk lives until the last key sliced from it is dropped. Scan results
//! are short-lived, so that pins little; keys longer than a quarter chunk get
//! their own allocation so one large key cannot waste a chunk.

use bytes::{Bytes, BytesMut};

/// Bytes per chunk.
const CHUNK: usize = 8 * 1024;

/// Hands out keys as slices of shared chunks (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct KeyArena {
    chunk: BytesMut,
}

impl KeyArena {
    /// `key` as owned bytes, usually sharing a chunk with its neighbours.
    pub(crate) fn copy(&mut self, key: &[u8]) -> Bytes {
        if key.len() > CHUNK / 4 {
            return Bytes::copy_from_slice(key);
        }
        if self.chunk.capacity() - self.chunk.len() < key.len() {
            self.chunk = BytesMut::with_capacity(CHUNK);
        }
        self.chunk.extend_from_slice(key);
        self.chunk.split_to(key.len()).freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_survive_their_arena_and_each_other() {
        let mut arena = KeyArena::default();
        let keys: Vec<Bytes> = (0..5000).map(|i| arena.copy(format!("key-{i:06}").as_bytes())).collect();
        let big = arena.copy(&[7u8; CHUNK]);
        drop(arena);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(k.as_ref(), format!("key-{i:06}").as_bytes());
        }
        assert_eq!(big.len(), CHUNK);
        assert!(big.iter().all(|&b| b == 7));
    }
}
