//! Engine options, with defaults sized for a server and knobs for tests.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{HybridClock, SystemClock, TimestampSource};
use crate::sstable::TableOptions;
use crate::wal::SyncMode;

/// How an [`Engine`](crate::Engine) is configured.
#[derive(Clone)]
pub struct Options {
    /// When a commit is acknowledged: after its own fsync (`Sync`, the
    /// default) or after being buffered (`Relaxed`).
    pub sync_mode: SyncMode,
    /// Bytes a memtable may hold before it is frozen and flushed.
    pub memtable_budget: usize,
    /// Frozen memtables allowed to wait for flush before writers stall.
    pub max_immutable_memtables: usize,
    /// L0 table count that triggers an L0 → L1 compaction.
    pub l0_compaction_trigger: usize,
    /// L0 table count at which writers stall until compaction catches up.
    pub l0_stop_writes: usize,
    /// Target size of level 1; each deeper level is `level_size_ratio` larger.
    pub level1_target_bytes: u64,
    /// Growth factor between levels.
    pub level_size_ratio: u64,
    /// Number of levels (L0 included).
    pub num_levels: usize,
    /// Target size of one compaction output table.
    pub target_table_bytes: u64,
    /// Byte budget of the block cache.
    pub block_cache_bytes: u64,
    /// SSTable layout knobs.
    pub table: TableOptions,
    /// Run flush and compaction threads. Tests may turn them off and drive
    /// [`Engine::flush`](crate::Engine::flush) and
    /// [`Engine::compact`](crate::Engine::compact) by hand.
    pub background_threads: bool,
    /// Where commit timestamps come from.
    pub clock: Arc<dyn TimestampSource>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("sync_mode", &self.sync_mode)
            .field("memtable_budget", &self.memtable_budget)
            .field("max_immutable_memtables", &self.max_immutable_memtables)
            .field("l0_compaction_trigger", &self.l0_compaction_trigger)
            .field("l0_stop_writes", &self.l0_stop_writes)
            .field("level1_target_bytes", &self.level1_target_bytes)
            .field("level_size_ratio", &self.level_size_ratio)
            .field("num_levels", &self.num_levels)
            .field("target_table_bytes", &self.target_table_bytes)
            .field("block_cache_bytes", &self.block_cache_bytes)
            .field("background_threads", &self.background_threads)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync_mode: SyncMode::Sync,
            memtable_budget: 64 << 20,
            max_immutable_memtables: 2,
            l0_compaction_trigger: 4,
            l0_stop_writes: 20,
            level1_target_bytes: 256 << 20,
            level_size_ratio: 10,
            num_levels: 7,
            target_table_bytes: 64 << 20,
            block_cache_bytes: 256 << 20,
            table: TableOptions::default(),
            background_threads: true,
            clock: Arc::new(HybridClock::<SystemClock>::default()),
        }
    }
}

impl Options {
    /// Small budgets that make flushes and compactions happen often; for tests.
    pub fn small_for_tests() -> Self {
        Options {
            memtable_budget: 64 << 10,
            level1_target_bytes: 256 << 10,
            target_table_bytes: 64 << 10,
            block_cache_bytes: 1 << 20,
            ..Options::default()
        }
    }

    /// Relaxed durability: commits are acknowledged once buffered and an
    /// fsync runs every `interval`.
    pub fn relaxed(mut self, interval: Duration) -> Self {
        self.sync_mode = SyncMode::Relaxed { interval };
        self
    }

    /// The target size of `level` (≥ 1).
    pub fn level_target_bytes(&self, level: usize) -> u64 {
        let mut target = self.level1_target_bytes;
        for _ in 1..level {
            target = target.saturating_mul(self.level_size_ratio);
        }
        target
    }
}
