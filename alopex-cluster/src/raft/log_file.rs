//! # The shared log: one on-disk Raft log for every group of a node
//!
//! A node may host hundreds of range groups. Giving each its own log file
//! would cost one fsync per group per append; instead every group of the
//! node appends to **one** log (format in [`super::log_format`]), and one
//! writer thread makes everything queued durable with a single `write` and
//! a single `fsync`:
//!
//! ```text
//!  group r1 append ─┐                       ┌─ r1 callback (IOFlushed)
//!  group r7 append ─┼─► queue ─► writer ─► write + fsync ─┼─ r7 callback
//!  group r9 vote   ─┘   (under the state lock)            └─ r9 vote waiter
//! ```
//!
//! While the writer is in an fsync, new appends pile up in the queue, and
//! the next round takes all of them: the more groups are busy, the more each
//! fsync carries (group commit). A caller's completion runs only after the
//! fsync that covers its record.
//!
//! **Memory.** Each group's entries are kept decoded in memory (reads are a
//! map lookup); the log on disk is for crash recovery. openraft purges a
//! group's log behind each snapshot, so a group holds at most a snapshot
//! interval's worth of entries.
//!
//! **Order.** The in-memory state changes and the record is queued under
//! the same lock, so the order of records on disk is the order in which
//! the state changed, and replaying the records rebuilds exactly that state.
//!
//! **Segments.** The log rolls over to a new segment past a size limit; the
//! new segment starts with a checkpoint of every group's vote, committed id
//! and purge point. A prefix of old segments whose entries are all purged is
//! deleted after the fsync that made the purge durable.
//!
//! **Failure.** A failed write or fsync poisons the log: every waiting and
//! later caller gets an error (what reached the disk is unknown; reopening
//! recovers from what is there).

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use super::codec;
use super::log_format::{self as fmt, FrameError, RecordKind};
use super::types::{Entry, LogId, Vote};

/// Tuning of the shared log.
#[derive(Clone, Debug)]
pub struct SharedLogOptions {
    /// Roll over to a new segment once the active one passes this size.
    pub segment_bytes: u64,
    /// Write and fsync on the caller's thread, inside each append, instead
    /// of on the writer thread (no group commit). For the deterministic
    /// simulation, where a completion arriving from another thread at an
    /// arbitrary moment would make runs unreplayable.
    pub inline: bool,
}

impl Default for SharedLogOptions {
    fn default() -> Self {
        SharedLogOptions { segment_bytes: 64 << 20, inline: false }
    }
}

/// The log of one group, as rebuilt from the records.
#[derive(Debug, Default, Clone)]
pub struct GroupLog {
    /// Entries by index, none at or below the purge point.
    pub entries: BTreeMap<u64, Entry>,
    /// The persisted vote.
    pub vote: Option<Vote>,
    /// The persisted committed log id.
    pub committed: Option<LogId>,
    /// The last purged log id.
    pub purged: Option<LogId>,
}

impl GroupLog {
    /// The last log id: of the last entry, or the purge point.
    pub fn last_log_id(&self) -> Option<LogId> {
        self.entries.last_key_value().map(|(_, e)| e.log_id).or(self.purged)
    }

    fn append(&mut self, entry: Entry) {
        let index = entry.log_id.index;
        if self.purged.is_some_and(|p| index <= p.index) {
            return;
        }
        if self.entries.last_key_value().is_some_and(|(&last, _)| last >= index) {
            self.entries.split_off(&index);
        }
        self.entries.insert(index, entry);
    }

    fn truncate_after(&mut self, after: Option<u64>) {
        match after {
            Some(a) => drop(self.entries.split_off(&(a.saturating_add(1)))),
            None => self.entries.clear(),
        }
    }

    fn purge(&mut self, upto: LogId) {
        if self.purged.is_some_and(|p| p.index >= upto.index) {
            return;
        }
        self.purged = Some(upto);
        self.entries = self.entries.split_off(&(upto.index.saturating_add(1)));
    }
}

/// Runs once the records it was queued with are durable (or failed).
pub type Completion = Box<dyn FnOnce(io::Result<()>) + Send>;

enum Op {
    Bytes(Vec<u8>),
    Rotate(u64),
    Delete(u64),
    Done(Completion),
}

struct State {
    groups: HashMap<u64, GroupLog>,
    queue: Vec<Op>,
    /// The segment records are currently queued into.
    active: u64,
    active_bytes: u64,
    /// Per segment, per range: the greatest entry index written there.
    segments: BTreeMap<u64, HashMap<u64, u64>>,
    failed: Option<String>,
    shutdown: bool,
}

struct Inner {
    dir: PathBuf,
    opts: SharedLogOptions,
    state: Mutex<State>,
    work: Condvar,
    fsyncs: AtomicU64,
}

struct Handle {
    inner: Arc<Inner>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The active segment in inline mode (no writer thread).
    inline_file: Mutex<Option<File>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.close();
    }
}

impl Handle {
    fn close(&self) {
        {
            let mut s = self.inner.state.lock();
            s.shutdown = true;
            self.inner.work.notify_all();
        }
        self.inline_file.lock().take();
        if let Some(t) = self.writer.lock().take() {
            let _ = t.join();
        }
    }
}

/// The node's shared Raft log. Cheap to clone; closes when the last clone
/// drops (after making everything queued durable).
#[derive(Clone)]
pub struct SharedLog(Arc<Handle>);

impl std::fmt::Debug for SharedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLog").field("dir", &self.0.inner.dir).finish_non_exhaustive()
    }
}

fn corrupt(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl SharedLog {
    /// Opens (or creates) the log in `dir`, replaying every segment.
    /// Fails on corruption anywhere but a torn tail of the last segment,
    /// which is cut off.
    pub fn open(dir: impl AsRef<Path>, opts: SharedLogOptions) -> io::Result<SharedLog> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        let mut numbers = Vec::new();
        for item in fs::read_dir(&dir)? {
            let item = item?;
            if let Some(n) = item.file_name().to_str().and_then(fmt::parse_segment_file_name) {
                numbers.push(n);
            }
        }
        numbers.sort_unstable();
        let mut groups: HashMap<u64, GroupLog> = HashMap::new();
        let mut segments = BTreeMap::new();
        for (i, &n) in numbers.iter().enumerate() {
            let last = i + 1 == numbers.len();
            let book = replay_segment(&dir.join(fmt::segment_file_name(n)), n, last, &mut groups)?;
            segments.insert(n, book);
        }
        let (active, file, active_bytes) = match numbers.last() {
            Some(&n) => {
                let mut file = OpenOptions::new().write(true).open(dir.join(fmt::segment_file_name(n)))?;
                let len = file.seek(SeekFrom::End(0))?;
                (n, file, len)
            }
            None => {
                let file = create_segment(&dir, 1)?;
                segments.insert(1, HashMap::new());
                (1, file, fmt::SEGMENT_HEADER_LEN as u64)
            }
        };
        let inner = Arc::new(Inner {
            dir,
            opts,
            state: Mutex::new(State {
                groups,
                queue: Vec::new(),
                active,
                active_bytes,
                segments,
                failed: None,
                shutdown: false,
            }),
            work: Condvar::new(),
            fsyncs: AtomicU64::new(0),
        });
        if inner.opts.inline {
            let handle = Handle { inner, writer: Mutex::new(None), inline_file: Mutex::new(Some(file)) };
            return Ok(SharedLog(Arc::new(handle)));
        }
        let writer_inner = Arc::clone(&inner);
        let writer = std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || writer_loop(&writer_inner, file))?;
        Ok(SharedLog(Arc::new(Handle { inner, writer: Mutex::new(Some(writer)), inline_file: Mutex::new(None) })))
    }

    /// Makes everything queued durable and stops the writer. Later calls fail.
    pub fn close(&self) {
        self.0.close();
    }

    /// fsyncs performed so far (each may cover many groups' records).
    pub fn fsyncs(&self) -> u64 {
        self.0.inner.fsyncs.load(Ordering::Relaxed)
    }

    /// Segment files currently kept.
    pub fn segment_count(&self) -> usize {
        self.0.inner.state.lock().segments.len()
    }

    /// The ranges that have anything in the log.
    pub fn ranges(&self) -> Vec<u64> {
        self.0.inner.state.lock().groups.keys().copied().collect()
    }

    /// Reads the state of `range`'s log.
    pub fn read<R>(&self, range: u64, f: impl FnOnce(Option<&GroupLog>) -> R) -> R {
        let s = self.0.inner.state.lock();
        f(s.groups.get(&range))
    }

    /// Appends `entries` to `range`'s log: readable at once, durable when
    /// `done` runs.
    pub fn append(&self, range: u64, entries: Vec<Entry>, done: Completion) -> io::Result<()> {
        let mut buf = Vec::with_capacity(entries.len() * 64);
        for e in &entries {
            fmt::put_record(&mut buf, RecordKind::Entry, range, |b| codec::encode_into(e, b))?;
        }
        let max = entries.last().map(|e| e.log_id.index);
        self.submit(buf, done, |s| {
            let g = s.groups.entry(range).or_default();
            for e in entries {
                g.append(e);
            }
            if let Some(max) = max {
                let active = s.active;
                let book = s.segments.entry(active).or_default().entry(range).or_insert(0);
                *book = (*book).max(max);
            }
        })
    }

    /// Persists `range`'s vote.
    pub fn save_vote(&self, range: u64, vote: Vote, done: Completion) -> io::Result<()> {
        let mut buf = Vec::new();
        fmt::put_record(&mut buf, RecordKind::Vote, range, |b| codec::encode_into(&vote, b))?;
        self.submit(buf, done, |s| s.groups.entry(range).or_default().vote = Some(vote))
    }

    /// Persists `range`'s committed log id.
    pub fn save_committed(&self, range: u64, committed: Option<LogId>, done: Completion) -> io::Result<()> {
        let mut buf = Vec::new();
        fmt::put_record(&mut buf, RecordKind::Committed, range, |b| codec::encode_into(&committed, b))?;
        self.submit(buf, done, |s| s.groups.entry(range).or_default().committed = committed)
    }

    /// Deletes `range`'s entries after index `after` (all with `None`).
    pub fn truncate_after(&self, range: u64, after: Option<u64>, done: Completion) -> io::Result<()> {
        let mut buf = Vec::new();
        fmt::put_record(&mut buf, RecordKind::Truncate, range, |b| codec::encode_into(&after, b))?;
        self.submit(buf, done, |s| s.groups.entry(range).or_default().truncate_after(after))
    }

    /// Deletes `range`'s entries up to `upto`, and old segments no longer
    /// needed by any group.
    pub fn purge(&self, range: u64, upto: LogId, done: Completion) -> io::Result<()> {
        let mut buf = Vec::new();
        fmt::put_record(&mut buf, RecordKind::Purge, range, |b| codec::encode_into(&upto, b))?;
        self.submit(buf, done, |s| {
            s.groups.entry(range).or_default().purge(upto);
            queue_deletable_segments(s);
        })
    }

    /// Forgets `range` entirely (entries, vote, committed id, purge
    /// point): its replica was removed from this node, and a later replica
    /// of the same range starts from an empty log.
    pub fn reset(&self, range: u64, done: Completion) -> io::Result<()> {
        let mut buf = Vec::new();
        fmt::put_record(&mut buf, RecordKind::Reset, range, |b| codec::encode_into(&(), b))?;
        self.submit(buf, done, |s| {
            s.groups.remove(&range);
            queue_deletable_segments(s);
        })
    }

    /// Under the lock: fail fast if poisoned, change the state, queue the
    /// record and the completion, roll the segment over if it is full.
    fn submit(&self, bytes: Vec<u8>, done: Completion, change: impl FnOnce(&mut State)) -> io::Result<()> {
        let inner = &self.0.inner;
        let mut s = inner.state.lock();
        if let Some(reason) = &s.failed {
            return Err(io::Error::other(format!("raft log failed: {reason}")));
        }
        if s.shutdown {
            return Err(io::Error::other("raft log is closed"));
        }
        change(&mut s);
        s.active_bytes += bytes.len() as u64;
        s.queue.push(Op::Bytes(bytes));
        s.queue.push(Op::Done(done));
        if s.active_bytes >= inner.opts.segment_bytes {
            rotate(&mut s)?;
        }
        if !inner.opts.inline {
            inner.work.notify_one();
            return Ok(());
        }
        // Inline mode: this caller is the writer. The file lock orders
        // rounds; the state lock is released before completions run.
        let mut file = self.0.inline_file.lock();
        let ops = std::mem::take(&mut s.queue);
        drop(s);
        let Some(f) = file.as_mut() else {
            return Err(io::Error::other("raft log is closed"));
        };
        let mut done = Vec::new();
        let result = write_round(inner, f, ops, &mut done);
        drop(file);
        if let Err(e) = &result {
            inner.state.lock().failed.get_or_insert_with(|| e.to_string());
        }
        for cb in done {
            cb(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
        Ok(())
    }
}

/// Queues a new segment that starts with a checkpoint of every group.
fn rotate(s: &mut State) -> io::Result<()> {
    let next = s.active + 1;
    let mut buf = Vec::new();
    for (&range, g) in &s.groups {
        if let Some(v) = &g.vote {
            fmt::put_record(&mut buf, RecordKind::Vote, range, |b| codec::encode_into(v, b))?;
        }
        if g.committed.is_some() {
            fmt::put_record(&mut buf, RecordKind::Committed, range, |b| codec::encode_into(&g.committed, b))?;
        }
        if let Some(p) = &g.purged {
            fmt::put_record(&mut buf, RecordKind::Purge, range, |b| codec::encode_into(p, b))?;
        }
    }
    s.queue.push(Op::Rotate(next));
    s.active = next;
    s.active_bytes = (fmt::SEGMENT_HEADER_LEN + buf.len()) as u64;
    s.segments.insert(next, HashMap::new());
    s.queue.push(Op::Bytes(buf));
    queue_deletable_segments(s);
    Ok(())
}

/// Queues the deletion of the oldest segments whose every entry is purged.
fn queue_deletable_segments(s: &mut State) {
    let mut gone = Vec::new();
    for (&n, book) in &s.segments {
        if n == s.active {
            break;
        }
        // A group no longer in the table was reset: none of its entries count.
        let all_purged = book
            .iter()
            .all(|(range, &max)| s.groups.get(range).is_none_or(|g| g.purged.is_some_and(|p| max <= p.index)));
        if !all_purged {
            break;
        }
        gone.push(n);
    }
    for n in gone {
        s.segments.remove(&n);
        s.queue.push(Op::Delete(n));
    }
}

fn create_segment(dir: &Path, n: u64) -> io::Result<File> {
    let path = dir.join(fmt::segment_file_name(n));
    let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
    file.write_all(&fmt::segment_header(n))?;
    file.sync_all()?;
    sync_dir(dir)?;
    Ok(file)
}

fn writer_loop(inner: &Inner, mut file: File) {
    loop {
        let ops = {
            let mut s = inner.state.lock();
            while s.queue.is_empty() && !s.shutdown {
                inner.work.wait(&mut s);
            }
            if s.queue.is_empty() {
                return; // shut down, nothing left
            }
            std::mem::take(&mut s.queue)
        };
        let mut done = Vec::new();
        let result = write_round(inner, &mut file, ops, &mut done);
        if let Err(e) = &result {
            tracing::error!(error = %e, "raft log write failed: refusing further appends");
            let mut s = inner.state.lock();
            s.failed.get_or_insert_with(|| e.to_string());
            // Nothing queued after a failure can be trusted either.
            for op in std::mem::take(&mut s.queue) {
                if let Op::Done(cb) = op {
                    done.push(cb);
                }
            }
        }
        for cb in done {
            cb(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
            });
        }
        if result.is_err() {
            return;
        }
    }
}

/// Writes one round of queued ops with as few writes and fsyncs as the
/// segment boundaries allow; deletes purged segments after the fsync.
fn write_round(inner: &Inner, file: &mut File, ops: Vec<Op>, done: &mut Vec<Completion>) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut deletes = Vec::new();
    let mut result: io::Result<()> = Ok(());
    for op in ops {
        match op {
            Op::Bytes(b) if buf.is_empty() => buf = b,
            Op::Bytes(b) => buf.extend_from_slice(&b),
            Op::Done(cb) => done.push(cb),
            Op::Delete(n) => deletes.push(n),
            Op::Rotate(n) if result.is_ok() => {
                result = (|| -> io::Result<()> {
                    file.write_all(&buf)?;
                    file.sync_data()?;
                    inner.fsyncs.fetch_add(1, Ordering::Relaxed);
                    buf.clear();
                    *file = create_segment(&inner.dir, n)?;
                    Ok(())
                })();
            }
            Op::Rotate(_) => {}
        }
    }
    result?;
    if !buf.is_empty() {
        file.write_all(&buf)?;
        file.sync_data()?;
        inner.fsyncs.fetch_add(1, Ordering::Relaxed);
    }
    if !deletes.is_empty() {
        for n in deletes {
            match fs::remove_file(inner.dir.join(fmt::segment_file_name(n))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        sync_dir(&inner.dir)?;
    }
    Ok(())
}

/// Replays one segment into `groups`; returns its per-range max entry index.
fn replay_segment(
    path: &Path,
    n: u64,
    last: bool,
    groups: &mut HashMap<u64, GroupLog>,
) -> io::Result<HashMap<u64, u64>> {
    let data = fs::read(path)?;
    let name = path.display();
    if data.len() < fmt::SEGMENT_HEADER_LEN {
        if last {
            // Created but its header never made it: an empty last segment.
            OpenOptions::new().write(true).open(path)?.set_len(0)?;
            let mut f = OpenOptions::new().write(true).open(path)?;
            f.write_all(&fmt::segment_header(n))?;
            f.sync_all()?;
            return Ok(HashMap::new());
        }
        return Err(corrupt(format!("raft log segment {name} is shorter than its header")));
    }
    if &data[..8] != fmt::SEGMENT_MAGIC || data[8..16] != n.to_le_bytes() {
        return Err(corrupt(format!("raft log segment {name} has a bad header")));
    }
    let mut book = HashMap::new();
    let mut at = fmt::SEGMENT_HEADER_LEN;
    while at < data.len() {
        match fmt::read_record(&data[at..]) {
            Ok((rec, size)) => {
                apply_record(groups, &mut book, &rec)
                    .map_err(|e| corrupt(format!("raft log segment {name}: undecodable record at offset {at}: {e}")))?;
                at += size;
            }
            Err(err) => {
                let why = match err {
                    FrameError::Short => "record runs past the end of the file",
                    FrameError::Bad(why) => why,
                };
                if !last || fmt::any_valid_record(&data[at + 1..]) {
                    return Err(corrupt(format!("raft log segment {name} is corrupt at offset {at}: {why}")));
                }
                tracing::warn!(segment = %name, offset = at, reason = why, "cutting off a torn tail of the raft log");
                let f = OpenOptions::new().write(true).open(path)?;
                f.set_len(at as u64)?;
                f.sync_all()?;
                break;
            }
        }
    }
    Ok(book)
}

fn apply_record(
    groups: &mut HashMap<u64, GroupLog>,
    book: &mut HashMap<u64, u64>,
    rec: &fmt::Record<'_>,
) -> io::Result<()> {
    if rec.kind == RecordKind::Reset {
        groups.remove(&rec.range);
        return Ok(());
    }
    let g = groups.entry(rec.range).or_default();
    match rec.kind {
        RecordKind::Entry => {
            let e: Entry = codec::decode(rec.body)?;
            let max = book.entry(rec.range).or_insert(0);
            *max = (*max).max(e.log_id.index);
            g.append(e);
        }
        RecordKind::Vote => g.vote = Some(codec::decode(rec.body)?),
        RecordKind::Committed => g.committed = codec::decode(rec.body)?,
        RecordKind::Truncate => g.truncate_after(codec::decode(rec.body)?),
        RecordKind::Purge => g.purge(codec::decode(rec.body)?),
        RecordKind::Reset => {}
    }
    Ok(())
}
