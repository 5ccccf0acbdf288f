//! Packing a commit's keys and values into shared chunks.
//!
//! A committed write reaches the memtable as the `Bytes` its writer built:
//! usually one heap buffer for the key and one for the value, each with its
//! own reference-count block when it came from a `Vec` with spare capacity.
//! Those buffers live as long as the memtable, so dropping a flushed
//! memtable of a million rows frees several million small chunks at once,
//! on the flush thread. With glibc's allocator that is worse than it
//! sounds: the chunks belong to the arena of the thread that allocated them
//! (the committer), land in its fast bins, and the committer's next large
//! allocation stops to consolidate them all (`malloc_consolidate`, about
//! half of a join's time when it overlapped a memtable drop; see
//! `docs/benchmarks.md`).
//!
//! The skiplist's own nodes cannot be pooled (the map allocates them), but
//! the keys and values around them can: at commit, a [`Packer`] copies them
//! into chunks sized to the batch and hands out slices, so a memtable holds
//! one allocation per entry (its node) plus one per chunk, and the writer's
//! buffers are freed right away by the thread that made them. Large values
//! keep their own buffers (copying them would cost more than it saves),
//! and chunks are capped so that a reader holding one old value pins little
//! memory.

use bytes::{Bytes, BytesMut};

/// The largest chunk.
const CHUNK_MAX: usize = 256 * 1024;
/// Keys and values longer than this keep their own buffer.
const ITEM_MAX: usize = 4 * 1024;

/// Copies a batch's keys and values into shared chunks (see the module docs).
#[derive(Debug)]
pub(crate) struct Packer {
    chunk: BytesMut,
    /// Bytes of the batch still to pack (sizes the next chunk).
    remaining: usize,
}

impl Packer {
    /// A packer for `writes`.
    pub(crate) fn for_batch(writes: &[(Bytes, Option<Bytes>)]) -> Packer {
        let packed = |b: &Bytes| if b.len() <= ITEM_MAX { b.len() } else { 0 };
        let remaining = writes.iter().map(|(k, v)| packed(k) + v.as_ref().map_or(0, packed)).sum();
        Packer { chunk: BytesMut::new(), remaining }
    }

    /// `bytes`, usually as a slice of a shared chunk.
    pub(crate) fn pack(&mut self, bytes: Bytes) -> Bytes {
        let len = bytes.len();
        if len == 0 || len > ITEM_MAX {
            return bytes;
        }
        if self.chunk.capacity() - self.chunk.len() < len {
            self.chunk = BytesMut::with_capacity(self.remaining.min(CHUNK_MAX).max(len));
        }
        self.remaining = self.remaining.saturating_sub(len);
        self.chunk.extend_from_slice(&bytes);
        self.chunk.split_to(len).freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_bytes_equal_the_originals() {
        let big = Bytes::from(vec![7u8; ITEM_MAX + 1]);
        let mut writes: Vec<(Bytes, Option<Bytes>)> = (0..20_000)
            .map(|i| (Bytes::from(format!("key-{i:06}")), (i % 3 != 0).then(|| Bytes::from(format!("value {i}")))))
            .collect();
        writes.push((Bytes::from_static(b"big"), Some(big.clone())));
        writes.push((Bytes::new(), Some(Bytes::new())));
        let mut packer = Packer::for_batch(&writes);
        let packed: Vec<(Bytes, Option<Bytes>)> =
            writes.iter().cloned().map(|(k, v)| (packer.pack(k), v.map(|v| packer.pack(v)))).collect();
        drop(packer);
        assert_eq!(packed, writes);
        let (_, Some(v)) = &packed[20_000] else { panic!("big value") };
        assert_eq!(v.as_ptr(), big.as_ptr(), "a large value keeps its buffer");
        // Neighbours share a chunk.
        let (a, b) = (&packed[0].0, &packed[1].0);
        assert_eq!(distance(a, b), a.len() + packed[0].1.as_ref().map_or(0, Bytes::len));
    }

    /// How far `b` starts after `a` in memory.
    fn distance(a: &Bytes, b: &Bytes) -> usize {
        (b.as_ptr() as usize).wrapping_sub(a.as_ptr() as usize)
    }
}
