//! The block cache: one memory budget shared by every open table.
//!
//! Reads touch the same hot blocks over and over (the top of an index range,
//! a popular key), so decoded data blocks are kept in memory, keyed by
//! `(table id, block offset)`. The cache is shared by all tables of an engine
//! so that one byte budget bounds memory no matter how many tables are open.
//!
//! It wraps [`quick_cache::sync::Cache`], a sharded S3-FIFO cache: lookups take
//! a shard read lock, the policy resists scans (a long range scan does not
//! flush the hot set), and entries are weighted by their size in bytes so the
//! capacity is a byte budget rather than a block count. A block larger than a
//! shard's share of the budget is simply not cached.
//!
//! Only blocks whose checksum has just been verified enter the cache; a hit
//! is trusted without re-checking. Concurrent misses on the same block wait
//! for one reader instead of all reading the disk.
//!
//! Table ids must be unique for the life of the cache (the engine uses file
//! numbers, which are never reused); a reused id could serve another table's
//! blocks. [`BlockCache::remove_table`] drops a deleted table's blocks early,
//! but eviction would reclaim them anyway.

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::block::Block;
use crate::Result;

/// Cache key: `(table id, block offset)`.
type BlockKey = (u64, u64);

/// Weighs a cached block by its payload size (at least 1, since zero-weight
/// entries are never evicted).
#[derive(Debug, Clone, Copy)]
struct BlockWeighter;

impl Weighter<BlockKey, Block> for BlockWeighter {
    fn weight(&self, _key: &BlockKey, block: &Block) -> u64 {
        (block.size() as u64).max(1)
    }
}

/// A byte-budgeted cache of verified data blocks, shared by all tables.
pub struct BlockCache {
    cache: Cache<BlockKey, Block, BlockWeighter>,
}

impl BlockCache {
    /// A cache holding at most about `capacity_bytes` of block payloads.
    /// A capacity of 0 disables caching (every read goes to disk).
    pub fn new(capacity_bytes: u64) -> Self {
        let estimated_items = usize::try_from(capacity_bytes / 4096).unwrap_or(usize::MAX).clamp(16, 1 << 24);
        BlockCache { cache: Cache::with_weighter(estimated_items, capacity_bytes, BlockWeighter) }
    }

    /// Bytes of block payloads currently cached.
    pub fn usage_bytes(&self) -> u64 {
        self.cache.weight()
    }

    /// Lookups answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.cache.hits()
    }

    /// Lookups that had to read from disk so far.
    pub fn misses(&self) -> u64 {
        self.cache.misses()
    }

    /// The configured byte budget.
    pub fn capacity_bytes(&self) -> u64 {
        self.cache.capacity()
    }

    /// Drops every cached block of `table_id`, e.g. after its file is deleted.
    ///
    /// This walks every shard under its write lock, so it costs time
    /// proportional to the number of cached blocks; call it once per deleted
    /// table, not on a hot path. It is an optimisation only: eviction would
    /// reclaim the blocks eventually.
    pub fn remove_table(&self, table_id: u64) {
        self.cache.retain(|&(id, _), _| id != table_id);
    }

    /// Returns the cached block, or runs `load` (which must verify the block)
    /// and caches its result. A failed load caches nothing.
    pub(crate) fn get_or_load(
        &self,
        table_id: u64,
        offset: u64,
        load: impl FnOnce() -> Result<Block>,
    ) -> Result<Block> {
        self.cache.get_or_insert_with(&(table_id, offset), load)
    }
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity_bytes", &self.capacity_bytes())
            .field("usage_bytes", &self.usage_bytes())
            .field("blocks", &self.cache.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::sstable::block::BlockBuilder;

    fn block(len: usize) -> Block {
        let mut b = BlockBuilder::new(16);
        b.add(&[0u8; 9], &vec![7u8; len]);
        Block::parse(Bytes::from(b.finish())).expect("valid")
    }

    #[test]
    fn caches_until_the_budget_and_removes_by_table() {
        let cache = BlockCache::new(1 << 20);
        let mut loads = 0;
        for table in 0..4u64 {
            for off in 0..8u64 {
                cache
                    .get_or_load(table, off * 4096, || {
                        loads += 1;
                        Ok(block(4000))
                    })
                    .expect("load");
            }
        }
        assert_eq!(loads, 32);
        assert!(cache.usage_bytes() >= 32 * 4000, "{cache:?}");
        let hit = cache.get_or_load(2, 0, || panic!("should be cached")).expect("hit");
        assert_eq!(hit.size(), block(4000).size());

        cache.remove_table(2);
        let before = cache.usage_bytes();
        let mut reloaded = false;
        cache
            .get_or_load(2, 0, || {
                reloaded = true;
                Ok(block(4000))
            })
            .expect("reload");
        assert!(reloaded);
        assert!(cache.usage_bytes() > before);
        assert!(cache.get_or_load(1, 0, || panic!("table 1 untouched")).is_ok());
    }

    #[test]
    fn usage_stays_within_capacity() {
        let cache = BlockCache::new(64 * 1024);
        for off in 0..1000u64 {
            cache.get_or_load(1, off, || Ok(block(1000))).expect("load");
        }
        assert!(cache.usage_bytes() <= 64 * 1024, "{cache:?}");
    }

    #[test]
    fn zero_capacity_still_serves_reads() {
        let cache = BlockCache::new(0);
        for _ in 0..3 {
            let b = cache.get_or_load(1, 0, || Ok(block(100))).expect("load");
            assert_eq!(b.size(), block(100).size());
        }
        assert_eq!(cache.usage_bytes(), 0);
    }

    #[test]
    fn failed_loads_are_not_cached() {
        let cache = BlockCache::new(1 << 20);
        let err = cache.get_or_load(1, 0, || Err(crate::Error::corruption("t.sst", "bad")));
        assert!(err.is_err());
        let ok = cache.get_or_load(1, 0, || Ok(block(10)));
        assert!(ok.is_ok());
    }
}
