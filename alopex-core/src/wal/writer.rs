//! The log writer: appends, group commit, rotation, and poisoning.
//!
//! ## Why group commit
//!
//! A commit is durable only once its record is fsynced, and an fsync costs
//! from tens of microseconds to many milliseconds whatever it carries. If
//! every committer paid for its own fsync, throughput would be one commit per
//! fsync. Instead committers *share* fsyncs:
//!
//! ```text
//!  append(r1) append(r2) append(r3)          append(r4) append(r5)
//!      |          |          |                   |          |
//!      v          v          v                   v          v
//!   pending: [r1 r2 r3]                       pending: [r4 r5]
//!      |  sync_to(1): leader takes r1..r3        |  sync_to(5): next leader
//!      |  write + fdatasync, durable = 3         |  takes r4..r5
//!      |  sync_to(2), sync_to(3): wait, then     |
//!      |  return at once (already covered)       |
//! ```
//!
//! [`Wal::append`] only encodes the record into an in-memory *pending*
//! buffer and hands back its [`Lsn`]. [`Wal::sync_to`] is where durability
//! happens: the first caller that finds its Lsn not yet durable and no sync
//! in progress becomes the *leader*. It takes the whole pending buffer,
//! releases the lock, writes the buffer with one `write` and one
//! `fdatasync`, then publishes the new durable Lsn and wakes everyone. The
//! other callers (*followers*) sleep on a condition variable; when they
//! wake they either find their Lsn covered and return, or one of them leads
//! the next batch. While a leader is in `fdatasync`, the lock is free, so
//! appends keep filling the next batch; the slower the disk, the bigger the
//! batches, which is exactly when sharing matters most.
//!
//! One invariant makes this simple: **only the leader touches the file**.
//! Leadership is a flag under the state lock, and everything that writes
//! (a syncing committer, an append whose buffer grew past
//! [`WRITE_OUT_BYTES`], the background syncer, rotation, close) first waits
//! for the flag to be free and then takes it. Because the batch is taken
//! under the same lock that appends use, batches reach the file in Lsn order.
//!
//! ## Poisoning
//!
//! If a write or fsync fails we cannot know which bytes reached the disk,
//! and on Linux a failed fsync may have already dropped the dirty pages, so
//! retrying it can "succeed" without writing them ("fsyncgate"). The writer
//! therefore *poisons* itself: the failing call and every later append,
//! sync or rotation returns [`Error::Poisoned`]. Followers waiting on that
//! leader are woken and get the same error; none is left hanging. The only
//! way out is to reopen the engine and recover from what is on disk.
//!
//! ## Modes
//!
//! In [`SyncMode::Sync`] a commit returns only once durable. In
//! [`SyncMode::Relaxed`] [`Wal::sync_to`] returns at once and a background
//! thread writes and fsyncs the pending buffer every `interval`; a crash can
//! lose the records of the last interval, never leave a hole in the middle.
//!
//! Dropping a [`Wal`] without [`Wal::close`] stops the background thread but
//! does not flush the pending buffer: records that were never synced are
//! lost exactly as in a crash. Close the log to keep them.

use std::fs::File;
use std::io::Write;
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::format::{MAX_PAYLOAD_LEN, encode_frame};
use super::recovery::{self, RecoveryReport};
use super::segment::{self, create_segment, segment_path, sync_dir};
use crate::{Error, Result};

/// Once the pending buffer holds this many bytes, [`Wal::append`] writes it
/// to the file (without fsync) if no leader is busy, to bound memory.
const WRITE_OUT_BYTES: usize = 4 << 20;
/// Past this many pending bytes, [`Wal::append`] waits for a busy leader and
/// then writes the buffer itself: back-pressure instead of unbounded memory.
const MAX_PENDING_BYTES: usize = 64 << 20;

/// When a commit's record is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// A commit returns only after its record is fsynced; concurrent
    /// committers share one fsync. The default.
    #[default]
    Sync,
    /// Records are buffered, then written and fsynced by a background thread
    /// every `interval`; a crash may lose the records of the last interval.
    Relaxed {
        /// How often the background thread syncs. Must not be zero.
        interval: Duration,
    },
}

/// A position in the log: the ordinal of a record appended through one
/// [`Wal`], starting at 1 and increasing across segments. `Lsn(0)` is before
/// every record. Lsns are not stored on disk; they only order this process's
/// appends against [`Wal::sync_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// Counters of what the writer has done since it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalStats {
    /// `fdatasync` calls that made records durable (group commits,
    /// background syncs, and the sync of the old segment at rotation).
    pub fsyncs: u64,
    /// Records appended.
    pub records: u64,
    /// Frame bytes written to segment files (headers of segments excluded).
    pub bytes: u64,
}

/// The write-ahead log writer. `Send + Sync`: share it behind an `Arc`.
///
/// [`Wal::append`] buffers a record in memory; [`Wal::sync_to`] makes it
/// durable by group commit: the first waiter becomes the leader, writes and
/// fdatasyncs *every* buffered record at once, and wakes the others, whose
/// records that one fsync covered. After any failed write or fsync the log
/// is poisoned: every later call returns [`Error::Poisoned`].
pub struct Wal {
    shared: Arc<Shared>,
    /// The background syncer of [`SyncMode::Relaxed`], until stopped.
    syncer: Mutex<Option<JoinHandle<()>>>,
}

/// What the writer's callers and its background thread share.
struct Shared {
    dir: PathBuf,
    mode: SyncMode,
    state: Mutex<State>,
    /// Signalled whenever a leader finishes, successfully or not.
    turn: Condvar,
    /// Wakes the background syncer early, at close.
    wake_syncer: Condvar,
}

/// Everything behind the state lock.
struct State {
    /// The segment being appended to, and its open file.
    segment: u64,
    file: Arc<File>,
    /// Encoded frames not yet handed to `write`.
    pending: Vec<u8>,
    /// An empty buffer kept from the last batch, to reuse its allocation.
    spare: Vec<u8>,
    /// The Lsn of the newest appended record.
    last_lsn: u64,
    /// Every record up to this Lsn is fsynced.
    durable_lsn: u64,
    /// A leader holds the file (see the module docs).
    leading: bool,
    /// Why the log refuses writes, after a failed write or fsync.
    poisoned: Option<String>,
    closed: bool,
    /// [`Wal::request_sync`] asked the background syncer for an fsync.
    sync_requested: bool,
    stats: WalStats,
}

/// What a leader took from the pending buffer.
struct Batch {
    bytes: Vec<u8>,
    file: Arc<File>,
    /// The newest Lsn the batch covers (with everything written before it).
    upto: u64,
    /// Whether to fdatasync after writing.
    sync: bool,
}

impl Batch {
    /// Writes the batch and, if asked, fsyncs. Runs without the state lock.
    fn write(&self) -> Result<()> {
        if !self.bytes.is_empty() {
            (&*self.file).write_all(&self.bytes)?;
        }
        if self.sync {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

impl State {
    /// Fails if the log is poisoned.
    fn check_poison(&self) -> Result<()> {
        match &self.poisoned {
            Some(reason) => Err(Error::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    /// Fails if the log can take no more records.
    fn check_writable(&self) -> Result<()> {
        self.check_poison()?;
        if self.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Becomes the leader and takes every pending record. `sync` asks for an
    /// fsync, which is skipped when everything written is already durable.
    fn take_batch(&mut self, sync: bool) -> Batch {
        debug_assert!(!self.leading, "only one leader at a time");
        self.leading = true;
        let fresh = mem::take(&mut self.spare);
        Batch {
            bytes: mem::replace(&mut self.pending, fresh),
            file: Arc::clone(&self.file),
            upto: self.last_lsn,
            sync: sync && self.durable_lsn < self.last_lsn,
        }
    }

    /// Ends leadership: publishes what `batch` achieved, or poisons the log.
    fn finish_batch<T>(&mut self, mut batch: Batch, outcome: Result<T>) -> Result<T> {
        self.leading = false;
        let value = match outcome {
            Ok(value) => value,
            Err(e) => {
                let reason = format!("WAL write or fsync in segment {} failed: {e}", self.segment);
                tracing::error!(segment = self.segment, error = %e, "WAL poisoned");
                self.poisoned = Some(reason.clone());
                return Err(Error::Poisoned(reason));
            }
        };
        self.stats.bytes += batch.bytes.len() as u64;
        if batch.sync {
            self.stats.fsyncs += 1;
            self.durable_lsn = self.durable_lsn.max(batch.upto);
        }
        batch.bytes.clear();
        if batch.bytes.capacity() <= 2 * WRITE_OUT_BYTES {
            self.spare = batch.bytes;
        }
        Ok(value)
    }
}

impl Shared {
    /// Waits until no leader holds the file. Fails if the log is poisoned.
    fn await_turn(&self, st: &mut MutexGuard<'_, State>) -> Result<()> {
        loop {
            st.check_poison()?;
            if !st.leading {
                return Ok(());
            }
            self.turn.wait(st);
        }
    }

    /// Leads one batch: takes the pending records, writes them (and fsyncs
    /// when `sync`) with the lock released, then runs `then`, still as the
    /// leader and still unlocked. Any failure poisons the log. The caller
    /// has checked that no leader is active.
    fn lead<T>(&self, st: &mut MutexGuard<'_, State>, sync: bool, then: impl FnOnce() -> Result<T>) -> Result<T> {
        let batch = st.take_batch(sync);
        let outcome = MutexGuard::unlocked(st, || batch.write().and_then(|()| then()));
        let result = st.finish_batch(batch, outcome);
        self.turn.notify_all();
        result
    }

    /// Blocks until every record up to `lsn` is fsynced, leading a group
    /// commit if no one else is.
    fn sync_through(&self, lsn: u64) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            st.check_poison()?;
            if st.durable_lsn >= lsn {
                return Ok(());
            }
            if lsn > st.last_lsn {
                return Err(Error::InvalidArgument(format!("Lsn {lsn} was never appended (last is {})", st.last_lsn)));
            }
            if st.leading {
                self.turn.wait(&mut st);
                continue;
            }
            self.lead(&mut st, true, || Ok(()))?;
        }
    }

    /// The body of the background syncer. In [`SyncMode::Relaxed`] it syncs
    /// every `interval`; in [`SyncMode::Sync`] (`interval = None`) it syncs
    /// whenever [`Wal::request_sync`] wakes it, so a committer can do other
    /// work (its memtable insert) while the fsync runs.
    fn run_syncer(&self, interval: Option<Duration>) {
        let mut st = self.state.lock();
        loop {
            if st.closed || st.poisoned.is_some() {
                return;
            }
            // In Sync mode it acts only when asked (the flag is set under
            // this lock, so no request is lost).
            match interval {
                Some(interval) => {
                    self.wake_syncer.wait_for(&mut st, interval);
                }
                None => {
                    while !st.sync_requested && !st.closed {
                        self.wake_syncer.wait(&mut st);
                    }
                    st.sync_requested = false;
                }
            }
            if st.closed || st.poisoned.is_some() || st.durable_lsn >= st.last_lsn {
                continue; // the checks above decide whether to stop
            }
            if interval.is_none() && st.leading {
                continue; // a committer is already syncing; it will cover these
            }
            let synced = self.await_turn(&mut st).and_then(|()| self.lead(&mut st, true, || Ok(())));
            if let Err(e) = synced {
                tracing::error!(error = %e, "WAL background sync failed; stopping");
                return;
            }
        }
    }
}

impl Wal {
    /// Replays segments `>= min_segment` of `dir`, calling
    /// `apply(segment, payload)` for each record in log order, and repairs a
    /// torn tail. See `recovery.rs` for the rules; any other damage is
    /// [`Error::Corruption`]. An error from `apply` stops recovery and is
    /// returned as is.
    pub fn recover(
        dir: &Path,
        min_segment: u64,
        apply: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<RecoveryReport> {
        recovery::recover(dir, min_segment, apply)
    }

    /// Opens the log for writing in a **new** segment numbered `segment`
    /// (after recovery: `last_segment + 1`), creating `dir` if needed. The
    /// segment file and the directory are fsynced. In
    /// Starts the background syncer: in [`SyncMode::Relaxed`] it syncs on an
    /// interval, in [`SyncMode::Sync`] on [`Wal::request_sync`].
    ///
    /// Fails with [`Error::InvalidArgument`] if a segment numbered
    /// `segment` or higher already exists: appending below existing records
    /// would reorder the log.
    pub fn open(dir: &Path, segment: u64, mode: SyncMode) -> Result<Wal> {
        if let SyncMode::Relaxed { interval } = mode
            && interval.is_zero()
        {
            return Err(Error::InvalidArgument("relaxed WAL sync interval must not be zero".to_string()));
        }
        if !dir.is_dir() {
            std::fs::create_dir_all(dir)?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        if let Some(&newest) = segment::list_segments(dir)?.last()
            && newest >= segment
        {
            return Err(Error::InvalidArgument(format!(
                "cannot open WAL segment {segment}: segment {newest} already exists in {}",
                dir.display()
            )));
        }
        let file = create_segment(dir, segment)?;
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            mode,
            state: Mutex::new(State {
                segment,
                file: Arc::new(file),
                pending: Vec::new(),
                spare: Vec::new(),
                last_lsn: 0,
                durable_lsn: 0,
                leading: false,
                poisoned: None,
                closed: false,
                sync_requested: false,
                stats: WalStats::default(),
            }),
            turn: Condvar::new(),
            wake_syncer: Condvar::new(),
        });
        let interval = match mode {
            SyncMode::Sync => None,
            SyncMode::Relaxed { interval } => Some(interval),
        };
        let syncer = {
            let shared = Arc::clone(&shared);
            Some(
                std::thread::Builder::new()
                    .name("alopex-wal-sync".to_string())
                    .spawn(move || shared.run_syncer(interval))?,
            )
        };
        Ok(Wal { shared, syncer: Mutex::new(syncer) })
    }

    /// Appends `payload` as one record and returns its [`Lsn`]. The record
    /// is only buffered; call [`Wal::sync_to`] to make it durable.
    ///
    /// Callers that need record order to match commit order must serialize
    /// their appends (the engine appends under its commit lock). When the
    /// buffer exceeds a few MiB it is written out here, without fsync.
    pub fn append(&self, payload: &[u8]) -> Result<Lsn> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(Error::InvalidArgument(format!(
                "WAL record of {} bytes exceeds the {MAX_PAYLOAD_LEN}-byte limit",
                payload.len()
            )));
        }
        let shared = &*self.shared;
        let mut st = shared.state.lock();
        st.check_writable()?;
        encode_frame(&mut st.pending, payload);
        st.last_lsn += 1;
        st.stats.records += 1;
        let lsn = Lsn(st.last_lsn);
        if st.pending.len() >= WRITE_OUT_BYTES && (!st.leading || st.pending.len() >= MAX_PENDING_BYTES) {
            shared.await_turn(&mut st)?;
            shared.lead(&mut st, false, || Ok(()))?;
        }
        Ok(lsn)
    }

    /// Blocks until every record up to `lsn` is durable, sharing the fsync
    /// with concurrent callers (group commit). Returns at once when `lsn` is
    /// already durable, and always in [`SyncMode::Relaxed`]. Fails with
    /// [`Error::Poisoned`] once any write or fsync has failed.
    pub fn sync_to(&self, lsn: Lsn) -> Result<()> {
        match self.shared.mode {
            SyncMode::Sync => self.shared.sync_through(lsn.0),
            SyncMode::Relaxed { .. } => self.shared.state.lock().check_poison(),
        }
    }

    /// Makes every record appended so far durable, in either mode: a barrier
    /// for relaxed-mode callers, and the last step of [`Wal::close`].
    pub fn sync_all(&self) -> Result<()> {
        let last = self.shared.state.lock().last_lsn;
        self.shared.sync_through(last)
    }

    /// Starts segment `current + 1`: writes and fsyncs everything pending to
    /// the current segment, creates the new one (fsyncing it and the
    /// directory), and returns its number. Records appended afterwards go to
    /// the new segment. A failure poisons the log.
    pub fn rotate(&self) -> Result<u64> {
        let shared = &*self.shared;
        let mut st = shared.state.lock();
        st.check_writable()?;
        shared.await_turn(&mut st)?;
        let next = st
            .segment
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("WAL segment numbers are exhausted".to_string()))?;
        let file = shared.lead(&mut st, true, || create_segment(&shared.dir, next))?;
        st.file = Arc::new(file);
        st.segment = next;
        Ok(next)
    }

    /// The number of the segment being appended to.
    pub fn current_segment(&self) -> u64 {
        self.shared.state.lock().segment
    }

    /// Deletes every segment file numbered below `segment`, whose records
    /// the engine has flushed to SSTables, and fsyncs the directory.
    /// Refuses to delete the current segment.
    pub fn delete_segments_below(&self, segment: u64) -> Result<()> {
        let current = self.current_segment();
        if segment > current {
            return Err(Error::InvalidArgument(format!(
                "cannot delete WAL segments below {segment}: segment {current} is in use"
            )));
        }
        let dir = &self.shared.dir;
        let doomed: Vec<u64> = segment::list_segments(dir)?.into_iter().filter(|&s| s < segment).collect();
        for &s in &doomed {
            match std::fs::remove_file(segment_path(dir, s)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        if !doomed.is_empty() {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Lists the segment numbers present in `dir`, sorted ascending.
    pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
        segment::list_segments(dir)
    }

    /// In [`SyncMode::Sync`], asks the background syncer to start making
    /// everything appended so far durable, without waiting. A committer calls
    /// this, does other work, then calls [`sync_to`](Self::sync_to), which
    /// by then often only has to wait for an fsync already under way.
    pub fn request_sync(&self) {
        if self.shared.mode == SyncMode::Sync {
            self.shared.state.lock().sync_requested = true;
            self.shared.wake_syncer.notify_one();
        }
    }

    /// What the writer has done since it was opened.
    pub fn stats(&self) -> WalStats {
        self.shared.state.lock().stats
    }

    /// Refuses further appends and rotations with [`Error::Closed`], syncs
    /// everything appended before, and stops the background syncer. Closing
    /// twice is harmless. The syncer is stopped even when the final sync
    /// fails.
    pub fn close(&self) -> Result<()> {
        self.shared.state.lock().closed = true;
        let synced = self.sync_all();
        self.stop_syncer();
        synced
    }

    /// Marks the log closed and joins the background syncer, if any.
    fn stop_syncer(&self) {
        self.shared.state.lock().closed = true;
        self.shared.wake_syncer.notify_all();
        if let Some(handle) = self.syncer.lock().take()
            && handle.join().is_err()
        {
            tracing::error!("WAL background syncer panicked");
        }
    }

    /// Test hook: swaps the segment file for a read-only handle, so that the
    /// next write fails as a full or failing disk would.
    #[cfg(test)]
    pub(super) fn break_file_for_test(&self) -> Result<()> {
        let mut st = self.shared.state.lock();
        let path = segment_path(&self.shared.dir, st.segment);
        st.file = Arc::new(File::open(path)?);
        Ok(())
    }
}

impl Drop for Wal {
    /// Stops the background syncer (best effort) without flushing: records
    /// never synced are lost as in a crash. Use [`Wal::close`] to keep them.
    fn drop(&mut self) {
        self.stop_syncer();
    }
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("Wal")
            .field("dir", &self.shared.dir)
            .field("mode", &self.shared.mode)
            .field("segment", &st.segment)
            .field("last_lsn", &st.last_lsn)
            .field("durable_lsn", &st.durable_lsn)
            .field("poisoned", &st.poisoned)
            .finish_non_exhaustive()
    }
}
