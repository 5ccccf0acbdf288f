//! The engine: ties the WAL, memtables, SSTables, manifest and oracle into
//! one crash-safe, multi-version key-value store.
//!
//! ```text
//!  commit ──► WAL append ──► group fsync ──► memtable insert ──► visible
//!                                               │ full
//!                                               ▼
//!                                   immutable memtable ──flush──► L0 table
//!                                                                   │
//!                                          leveled compaction ◄─────┘
//! ```
//!
//! * `write`: the commit path. Ordering (timestamp
//!   allocation, WAL append, memtable switch) happens under one short commit
//!   lock; the fsync and the memtable insert happen outside it, so
//!   concurrent committers share fsyncs (group commit).
//! * `read`: point reads and scans at a snapshot timestamp,
//!   over a *super-version* (memtables + SSTable version) captured atomically.
//! * `background`: the flush and compaction threads.
//! * `transfer`: export of a key span at a snapshot, and
//!   ingest of such an export (Raft snapshots use these).
//! * `recovery`: opening a directory: manifest, then WAL.
//!
//! ## Directory layout
//!
//! ```text
//! LOCK              advisory lock: one process per directory
//! CURRENT           names the live manifest
//! MANIFEST-000001   the version edit log (see crate::manifest)
//! 000042.sst        SSTables, named by file id (see crate::sstable)
//! wal/00000000000000000007.wal   WAL segments (see crate::wal)
//! ```

mod background;
mod read;
mod recovery;
mod snapshot_vector;
mod transfer;
mod vector;
mod vector_search;
mod versions;
mod write;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::manifest::{Edit, Manifest};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::oracle::Oracle;
use crate::sstable::BlockCache;
use crate::version::Version;
use crate::wal::Wal;

pub(crate) use read::ReadGuard;
pub use read::{ScanIter, Snapshot, prefix_end, prefix_range};
pub use transfer::{EXPORT_SECTION, ExportStats};
pub(crate) use vector_search::VectorQuery;
pub use versions::VersionIter;
pub(crate) use write::CommitRequest;

/// Memtables plus SSTables: everything a read needs, captured at once.
#[derive(Debug, Clone)]
pub(crate) struct SuperVersion {
    pub mem: Arc<Memtable>,
    /// Frozen memtables waiting for flush, newest first.
    pub imm: Vec<Arc<Memtable>>,
    pub version: Arc<Version>,
}

impl SuperVersion {
    /// The same memtables over another version.
    pub fn with_version(&self, version: Version) -> SuperVersion {
        SuperVersion { mem: Arc::clone(&self.mem), imm: self.imm.clone(), version: Arc::new(version) }
    }
}

/// Background thread coordination.
#[derive(Debug, Default)]
pub(crate) struct BgState {
    pub shutdown: bool,
    /// Bumped whenever there may be new background work.
    pub work_epoch: u64,
    /// The last background error, if the last attempt failed.
    pub last_error: Option<String>,
}

/// Counters exposed through [`Engine::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub flushes: AtomicU64,
    pub compactions: AtomicU64,
    pub trivial_moves: AtomicU64,
    pub stalls: AtomicU64,
    pub commits: AtomicU64,
    pub conflicts: AtomicU64,
}

/// State shared by the engine handle, transactions and background threads.
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub opts: Options,
    pub cache: Arc<BlockCache>,
    pub wal: Wal,
    pub oracle: Oracle,
    /// Serializes commit ordering (timestamp, WAL append, memtable switch).
    pub commit_lock: Mutex<()>,
    pub current: RwLock<Arc<SuperVersion>>,
    /// Serializes version changes; held across the manifest write and the
    /// install so that disk and memory change in the same order.
    pub manifest: Mutex<Manifest>,
    /// Only one flush at a time (background thread or [`Engine::flush`]).
    pub flush_lock: Mutex<()>,
    /// Only one compaction at a time.
    pub compaction_lock: Mutex<()>,
    pub bg: Mutex<BgState>,
    /// Wakes background threads (new work) and stalled writers (work done).
    pub bg_cv: Condvar,
    pub poisoned: Mutex<Option<String>>,
    /// Mirrors `poisoned.is_some()`, so the commit path checks without a lock.
    pub is_poisoned: AtomicBool,
    pub counters: Counters,
    /// Set by [`Engine::close`]: transactions and snapshots that outlive the
    /// engine get [`Error::Closed`] on commit.
    pub closed: AtomicBool,
    /// Holds the directory lock until the engine closes.
    pub lock_file: Mutex<Option<File>>,
    /// Unique per opened engine in this process (see `write::OWN_COMMIT`).
    pub instance: u64,
    /// The registered vector indexes (see `vector`); changed only under
    /// the manifest lock, after the manifest edit is durable.
    pub vector_indexes: RwLock<Arc<Vec<crate::vector::VectorIndexSpec>>>,
}

/// Hands out [`Shared::instance`] numbers.
pub(crate) static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

impl Shared {
    pub fn super_version(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.current.read())
    }

    pub fn check_poisoned(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if !self.is_poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        match &*self.poisoned.lock() {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    pub fn poison(&self, reason: String) {
        tracing::error!(%reason, "engine poisoned: refusing further writes");
        self.poisoned.lock().get_or_insert(reason);
        self.is_poisoned.store(true, Ordering::Release);
        self.oracle.poison();
    }

    /// Appends `edits` to the manifest (held locked by the caller). A failed
    /// write poisons the manifest, and with it the engine: what reached the
    /// disk is unknown, and reopening is the way to find out.
    fn apply_edits(&self, manifest: &mut Manifest, edits: &[Edit]) -> Result<()> {
        manifest.apply(edits).inspect_err(|e| {
            if matches!(e, Error::Poisoned(_) | Error::Io(_)) {
                self.poison(e.to_string());
            }
        })
    }

    /// Changes the set of tables: appends `edits` to the manifest (durably)
    /// and then, still under the manifest lock so that disk and memory change
    /// in the same order, installs the super-version `change` derives from
    /// the current one. The only way flush, compaction, ingest and recovery
    /// change the version.
    pub fn install(&self, edits: &[Edit], change: impl FnOnce(&SuperVersion) -> SuperVersion) -> Result<()> {
        let mut manifest = self.manifest.lock();
        self.apply_edits(&mut manifest, edits)?;
        let mut current = self.current.write();
        *current = Arc::new(change(&current));
        Ok(())
    }

    /// Wakes the background threads.
    pub fn signal_work(&self) {
        let mut bg = self.bg.lock();
        bg.work_epoch += 1;
        self.bg_cv.notify_all();
    }
}

/// An open database directory. See the module documentation.
///
/// `Engine` is `Send + Sync`; share it behind an `Arc`. Dropping it stops the
/// background threads and syncs the WAL.
pub struct Engine {
    pub(crate) shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("dir", &self.shared.dir).finish_non_exhaustive()
    }
}

/// A summary of the engine's state, for operators and tests.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    /// Tables per level.
    pub level_tables: Vec<usize>,
    /// Bytes per level.
    pub level_bytes: Vec<u64>,
    /// Bytes in the active memtable.
    pub memtable_bytes: usize,
    /// Frozen memtables waiting for flush.
    pub immutable_memtables: usize,
    /// Block cache usage.
    pub block_cache_bytes: u64,
    /// Block reads answered by the cache.
    pub block_cache_hits: u64,
    /// Block reads that went to disk.
    pub block_cache_misses: u64,
    /// Completed flushes.
    pub flushes: u64,
    /// Completed (rewriting) compactions.
    pub compactions: u64,
    /// Compactions done as trivial moves.
    pub trivial_moves: u64,
    /// Times a writer stalled.
    pub stalls: u64,
    /// Committed write batches and transactions.
    pub commits: u64,
    /// Transactions refused for conflicts.
    pub conflicts: u64,
    /// WAL fsyncs performed.
    pub wal_fsyncs: u64,
    /// WAL segment files on disk.
    pub wal_segments: usize,
    /// The visible timestamp.
    pub visible_ts: u64,
    /// The last error of a background flush or compaction, if the last
    /// attempt failed (it is retried, or the engine is poisoned).
    pub last_background_error: Option<String>,
}

impl Engine {
    /// Opens (or creates) the database in `dir`, replaying the manifest and
    /// then the WAL.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Engine> {
        let shared = Arc::new(recovery::open(dir.as_ref(), opts)?);
        let mut threads = Vec::new();
        if shared.opts.background_threads {
            threads.push(background::spawn_flusher(Arc::clone(&shared))?);
            threads.push(background::spawn_compactor(Arc::clone(&shared))?);
        }
        Ok(Engine { shared, threads: Mutex::new(threads) })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The options the engine was opened with.
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    /// The current visible timestamp: a snapshot taken now reads at it.
    pub fn visible_ts(&self) -> u64 {
        self.shared.oracle.visible()
    }

    /// A rough count of the versions stored under `range`, for query
    /// planning: every version in the memtables (counted, up to a cap per
    /// memtable), plus, per SSTable, the entries of the data blocks that
    /// overlap the range (from the block index, no I/O). Versions, not keys:
    /// overwritten and deleted keys count until compaction drops them.
    pub fn approximate_count(&self, range: &crate::version::KeyBounds) -> u64 {
        const MEMTABLE_CAP: usize = 1 << 20;
        let sv = self.shared.super_version();
        let mut count = 0u64;
        for mem in std::iter::once(&sv.mem).chain(sv.imm.iter()) {
            count += mem.count_range(range.clone(), MEMTABLE_CAP) as u64;
        }
        for table in sv.version.levels.iter().flatten() {
            let p = table.properties();
            if !crate::version::overlaps(&p.smallest_key, &p.largest_key, range) {
                continue;
            }
            count += table.approximate_entries(range);
        }
        count
    }

    /// A summary of levels, memtables and counters.
    pub fn stats(&self) -> EngineStats {
        let sv = self.shared.super_version();
        let c = &self.shared.counters;
        EngineStats {
            level_tables: sv.version.levels.iter().map(Vec::len).collect(),
            level_bytes: (0..sv.version.levels.len()).map(|l| sv.version.level_bytes(l)).collect(),
            memtable_bytes: sv.mem.size(),
            immutable_memtables: sv.imm.len(),
            block_cache_bytes: self.shared.cache.usage_bytes(),
            block_cache_hits: self.shared.cache.hits(),
            block_cache_misses: self.shared.cache.misses(),
            flushes: c.flushes.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            trivial_moves: c.trivial_moves.load(Ordering::Relaxed),
            stalls: c.stalls.load(Ordering::Relaxed),
            commits: c.commits.load(Ordering::Relaxed),
            conflicts: c.conflicts.load(Ordering::Relaxed),
            wal_fsyncs: self.shared.wal.stats().fsyncs,
            wal_segments: Wal::list_segments(&self.shared.dir.join("wal")).map(|s| s.len()).unwrap_or(0),
            visible_ts: self.shared.oracle.visible(),
            last_background_error: self.shared.bg.lock().last_error.clone(),
        }
    }

    /// Stops background work and syncs the WAL. Dropping does the same, but
    /// `close` reports errors.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        {
            let mut bg = self.shared.bg.lock();
            bg.shutdown = true;
            self.shared.bg_cv.notify_all();
        }
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        // Commits that are under way finish; later ones see `closed`.
        let commit_guard = self.shared.commit_lock.lock();
        self.shared.closed.store(true, Ordering::Release);
        drop(commit_guard);
        let result = self.shared.wal.close();
        // Release the directory even if transactions or snapshots still hold
        // the shared state.
        self.shared.lock_file.lock().take();
        result
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::warn!(error = %e, "error while closing the engine");
        }
    }
}
