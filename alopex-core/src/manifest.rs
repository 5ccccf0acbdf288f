//! The manifest: which SSTables are live, at which level, as an edit log.
//!
//! Every change to the set of SSTables (a flush adds an L0 table, a
//! compaction swaps inputs for outputs) is one [`Edit`] list appended to the
//! manifest as a single checksummed frame and fsynced *before* the change
//! takes effect in memory. A frame is all-or-nothing, so the set of tables
//! on disk always moves atomically from one consistent version to the next.
//! Opening the database replays the manifest to rebuild the version, and
//! only then replays the WAL above the recorded `wal_min_segment`.
//!
//! When the log grows past a threshold it is rewritten as a single snapshot
//! frame into a new manifest file, and `CURRENT` is switched to it by an
//! atomic rename (write temp, fsync, rename, fsync directory).
//!
//! ## Format
//!
//! `CURRENT` holds the manifest's file name and a newline.
//!
//! A manifest file `MANIFEST-{n:06}`:
//!
//! ```text
//! header: magic "ALXMANIF" (8 B) | format version u32 LE (= 1)
//! frame*: payload length u32 LE | xxh3-64 of payload u64 LE
//!         | xxh3-64 of the previous 12 bytes u64 LE (so a damaged length is
//!           caught, not mistaken for a torn tail) | payload
//! payload: edit count varint | edit*
//! edit:   tag u8 | fields (varints)
//!   1 AddTable      level, table id, file size
//!   2 RemoveTable   level, table id
//!   3 NextFileId    id
//!   4 WalMinSegment segment   (WAL segments below it are flushed)
//!   5 LastTimestamp ts        (a floor for the clock after recovery)
//!   6 CreateVectorIndex spec  (see crate::vector::spec for its encoding)
//!   7 DropVectorIndex   id
//! ```
//!
//! Vector indexes are registered here because the registry must change
//! atomically with respect to the set of tables (a table written after a
//! registration carries its segment) and survive a crash like any edit.
//! Creating an index whose id is registered with an identical spec is a
//! no-op for the engine, which never writes such an edit; replaying one
//! with a different spec, or dropping an unknown id, is corruption.
//!
//! ## Recovery rules
//!
//! The engine acts on an edit only after its frame is fsynced, so an
//! unfinished final frame was never acknowledged. These are torn tails,
//! truncated away with a warning:
//!
//! * fewer bytes left than a frame header;
//! * a header whose own checksum fails, when every byte from it to the end of
//!   the file is zero (a zero-filled unfinished write);
//! * a header that verifies but whose payload runs past the end of the file;
//! * the last frame, whose payload fails its checksum and ends in at least 16
//!   zero bytes (an unfinished write, zero-filled by the filesystem).
//!
//! Anything else — a header checksum failure with data after it, a complete
//! frame that fails its checksum or does not parse — is
//! [`Error::Corruption`]: an acknowledged edit may hide behind it, so it is
//! never skipped.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::coding::{checksum, get_u8, get_u32, get_u64, get_varint, put_varint};
use crate::error::{Error, Result};
use crate::key::Timestamp;
use crate::vector::VectorIndexSpec;

const MAGIC: &[u8; 8] = b"ALXMANIF";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 12;
const FRAME_HEADER_LEN: usize = 20;
/// A last frame whose payload ends in this many zero bytes is an unfinished
/// write the filesystem zero-filled, not damage.
const ZERO_TAIL: usize = 16;
/// Rewrite the manifest after this many frames.
const REWRITE_AFTER_FRAMES: u64 = 1000;

/// One change to the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// A table becomes live at `level`.
    AddTable {
        /// The level.
        level: u32,
        /// The table id (its file is `{id:06}.sst`).
        id: u64,
        /// Its size in bytes, checked when the table opens.
        size: u64,
    },
    /// A table stops being live.
    RemoveTable {
        /// The level it was at.
        level: u32,
        /// The table id.
        id: u64,
    },
    /// The next unused file id.
    NextFileId(u64),
    /// WAL segments below this one hold only flushed data.
    WalMinSegment(u64),
    /// A floor for the clock after recovery.
    LastTimestamp(Timestamp),
    /// A vector index is registered.
    CreateVectorIndex(VectorIndexSpec),
    /// A vector index is unregistered.
    DropVectorIndex(u64),
}

/// The state a manifest describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestState {
    /// Live tables: id → (level, size).
    pub tables: BTreeMap<u64, (u32, u64)>,
    /// The next unused file id.
    pub next_file_id: u64,
    /// WAL segments below this are obsolete.
    pub wal_min_segment: u64,
    /// The greatest timestamp known to be persisted in tables.
    pub last_ts: Timestamp,
    /// Registered vector indexes by id.
    pub vector_indexes: BTreeMap<u64, VectorIndexSpec>,
}

impl ManifestState {
    fn apply(&mut self, edit: &Edit, path: &Path) -> Result<()> {
        match edit {
            Edit::CreateVectorIndex(spec) => {
                if let Err(e) = spec.validate() {
                    return Err(Error::corruption(path, format!("invalid vector index: {e}")));
                }
                if let Some(old) = self.vector_indexes.insert(spec.id, spec.clone())
                    && old != *spec
                {
                    return Err(Error::corruption(path, format!("vector index {} registered twice", spec.id)));
                }
                return Ok(());
            }
            Edit::DropVectorIndex(id) => {
                if self.vector_indexes.remove(id).is_none() {
                    return Err(Error::corruption(path, format!("drop of vector index {id}, not registered")));
                }
                return Ok(());
            }
            _ => {}
        }
        match *edit {
            Edit::AddTable { level, id, size } => {
                if self.tables.insert(id, (level, size)).is_some() {
                    return Err(Error::corruption(path, format!("table {id} added twice")));
                }
            }
            Edit::RemoveTable { level, id } => match self.tables.remove(&id) {
                Some((l, _)) if l == level => {}
                _ => return Err(Error::corruption(path, format!("removal of table {id} not live at level {level}"))),
            },
            Edit::NextFileId(id) => self.next_file_id = self.next_file_id.max(id),
            Edit::WalMinSegment(s) => self.wal_min_segment = self.wal_min_segment.max(s),
            Edit::LastTimestamp(ts) => self.last_ts = self.last_ts.max(ts),
            Edit::CreateVectorIndex(_) | Edit::DropVectorIndex(_) => {}
        }
        Ok(())
    }

    /// The edits that recreate this state from nothing.
    pub fn snapshot_edits(&self) -> Vec<Edit> {
        let mut edits: Vec<Edit> =
            self.tables.iter().map(|(&id, &(level, size))| Edit::AddTable { level, id, size }).collect();
        edits.push(Edit::NextFileId(self.next_file_id));
        edits.push(Edit::WalMinSegment(self.wal_min_segment));
        edits.push(Edit::LastTimestamp(self.last_ts));
        edits.extend(self.vector_indexes.values().cloned().map(Edit::CreateVectorIndex));
        edits
    }
}

fn encode_edits(edits: &[Edit]) -> Vec<u8> {
    let mut buf = Vec::new();
    put_varint(&mut buf, edits.len() as u64);
    for edit in edits {
        match edit {
            Edit::CreateVectorIndex(spec) => {
                buf.push(6);
                spec.encode_to(&mut buf);
                continue;
            }
            Edit::DropVectorIndex(id) => {
                buf.push(7);
                put_varint(&mut buf, *id);
                continue;
            }
            _ => {}
        }
        match *edit {
            Edit::AddTable { level, id, size } => {
                buf.push(1);
                put_varint(&mut buf, u64::from(level));
                put_varint(&mut buf, id);
                put_varint(&mut buf, size);
            }
            Edit::RemoveTable { level, id } => {
                buf.push(2);
                put_varint(&mut buf, u64::from(level));
                put_varint(&mut buf, id);
            }
            Edit::NextFileId(v) => {
                buf.push(3);
                put_varint(&mut buf, v);
            }
            Edit::WalMinSegment(v) => {
                buf.push(4);
                put_varint(&mut buf, v);
            }
            Edit::LastTimestamp(v) => {
                buf.push(5);
                put_varint(&mut buf, v);
            }
            Edit::CreateVectorIndex(_) | Edit::DropVectorIndex(_) => {}
        }
    }
    buf
}

fn decode_edits(mut input: &[u8]) -> Option<Vec<Edit>> {
    let count = get_varint(&mut input)?;
    let mut edits = Vec::new();
    for _ in 0..count {
        let level = |input: &mut &[u8]| get_varint(input).and_then(|l| u32::try_from(l).ok());
        let edit = match get_u8(&mut input)? {
            1 => {
                Edit::AddTable { level: level(&mut input)?, id: get_varint(&mut input)?, size: get_varint(&mut input)? }
            }
            2 => Edit::RemoveTable { level: level(&mut input)?, id: get_varint(&mut input)? },
            3 => Edit::NextFileId(get_varint(&mut input)?),
            4 => Edit::WalMinSegment(get_varint(&mut input)?),
            5 => Edit::LastTimestamp(get_varint(&mut input)?),
            6 => Edit::CreateVectorIndex(VectorIndexSpec::decode_from(&mut input)?),
            7 => Edit::DropVectorIndex(get_varint(&mut input)?),
            _ => return None,
        };
        edits.push(edit);
    }
    input.is_empty().then_some(edits)
}

/// The fixed part of a frame; see the format above.
struct FrameHeader {
    len: u32,
    payload_sum: u64,
    header_ok: bool,
}

impl FrameHeader {
    /// Parses a frame header from the front of `input`; `None` if too short.
    fn parse(input: &[u8]) -> Option<FrameHeader> {
        let head = input.get(..FRAME_HEADER_LEN)?;
        let mut cur = head;
        let len = get_u32(&mut cur)?;
        let payload_sum = get_u64(&mut cur)?;
        let header_sum = get_u64(&mut cur)?;
        Some(FrameHeader { len, payload_sum, header_ok: checksum(&head[..12]) == header_sum })
    }
}

/// Appends one frame holding `payload`.
fn encode_frame(buf: &mut Vec<u8>, payload: &[u8]) {
    let start = buf.len();
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&checksum(payload).to_le_bytes());
    let header_sum = checksum(&buf[start..start + 12]);
    buf.extend_from_slice(&header_sum.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Fsyncs a directory, so that a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// An open manifest, appending edits.
#[derive(Debug)]
pub struct Manifest {
    dir: PathBuf,
    file: File,
    number: u64,
    frames: u64,
    state: ManifestState,
    /// Set after a failed write: what reached the file is unknown, so no
    /// further edit may be appended (the engine is poisoned with it).
    poisoned: Option<String>,
}

/// The first table file or WAL segment in `dir`, if any.
fn existing_data(dir: &Path) -> Result<Option<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    if let Ok(wal) = fs::read_dir(dir.join("wal")) {
        entries.extend(wal.filter_map(|e| e.ok().map(|e| e.path())));
    }
    entries.sort();
    Ok(entries.into_iter().find(|p| p.extension().is_some_and(|e| e == "sst" || e == "wal")))
}

impl Manifest {
    /// Opens the manifest in `dir`, or creates an empty one if `CURRENT` is
    /// missing. Returns the replayed state.
    pub fn open(dir: &Path) -> Result<Manifest> {
        let current = dir.join("CURRENT");
        if !current.exists() {
            // A new database, unless the directory already holds data: then
            // CURRENT was lost, and starting empty would delete every table.
            if let Some(existing) = existing_data(dir)? {
                return Err(Error::corruption(
                    &current,
                    format!("missing, but the directory holds {}", existing.display()),
                ));
            }
            let state = ManifestState { next_file_id: 1, wal_min_segment: 1, ..Default::default() };
            return Self::write_new(dir, 1, state);
        }
        let name = fs::read_to_string(&current)?;
        let name = name.trim_end();
        let number = name
            .strip_prefix("MANIFEST-")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| Error::corruption(&current, format!("unexpected content {name:?}")))?;
        let path = dir.join(name);
        let mut bytes = Vec::new();
        File::open(&path)
            .map_err(|e| Error::corruption(&path, format!("CURRENT names it but it cannot be opened: {e}")))?
            .read_to_end(&mut bytes)?;
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return Err(Error::corruption(&path, "bad manifest header"));
        }
        let mut hdr = &bytes[8..HEADER_LEN];
        let version = get_u32(&mut hdr).unwrap_or(0);
        if version != VERSION {
            return Err(Error::corruption(&path, format!("unsupported manifest version {version}")));
        }
        let mut state = ManifestState::default();
        let mut pos = HEADER_LEN;
        let mut frames = 0;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            let Some(frame) = FrameHeader::parse(rest) else {
                break; // incomplete frame header: torn tail
            };
            if !frame.header_ok {
                if rest.iter().all(|&b| b == 0) {
                    break; // zero-filled tail of an unfinished write
                }
                return Err(Error::corruption(&path, format!("frame header at offset {pos} fails its checksum")));
            }
            let start = pos + FRAME_HEADER_LEN;
            let end = start.saturating_add(frame.len as usize);
            if end > bytes.len() {
                break; // incomplete payload: torn tail
            }
            let payload = &bytes[start..end];
            if checksum(payload) != frame.payload_sum {
                let zero_tail =
                    payload.len() >= ZERO_TAIL && payload[payload.len() - ZERO_TAIL..].iter().all(|&b| b == 0);
                if end == bytes.len() && zero_tail {
                    break; // the last write stopped part-way and was zero-filled
                }
                return Err(Error::corruption(&path, format!("frame at offset {pos} fails its checksum")));
            }
            let edits = decode_edits(payload)
                .ok_or_else(|| Error::corruption(&path, format!("frame at offset {pos} does not parse")))?;
            for edit in &edits {
                state.apply(edit, &path)?;
            }
            frames += 1;
            pos = end;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), offset = pos, dropped = bytes.len() - pos,
                "truncating an incomplete manifest frame (never acknowledged)");
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(pos as u64)?;
            f.sync_all()?;
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Manifest { dir: dir.to_path_buf(), file, number, frames, state, poisoned: None })
    }

    /// Writes a fresh manifest numbered `number` holding `state`, and points
    /// `CURRENT` at it.
    fn write_new(dir: &Path, number: u64, state: ManifestState) -> Result<Manifest> {
        let name = format!("MANIFEST-{number:06}");
        let path = dir.join(&name);
        let mut file = OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        encode_frame(&mut buf, &encode_edits(&state.snapshot_edits()));
        file.write_all(&buf)?;
        file.sync_all()?;
        let tmp = dir.join("CURRENT.tmp");
        {
            let mut t = File::create(&tmp)?;
            t.write_all(format!("{name}\n").as_bytes())?;
            t.sync_all()?;
        }
        fs::rename(&tmp, dir.join("CURRENT"))?;
        sync_dir(dir)?;
        if number > 1 {
            // CURRENT already names the new file: failing to remove the old
            // one must not fail the switch.
            let old = dir.join(format!("MANIFEST-{:06}", number - 1));
            if old.exists()
                && let Err(e) = fs::remove_file(&old)
            {
                tracing::warn!(path = %old.display(), error = %e, "could not remove the previous manifest");
            }
        }
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Manifest { dir: dir.to_path_buf(), file, number, frames: 1, state, poisoned: None })
    }

    /// The state after every edit so far.
    pub fn state(&self) -> &ManifestState {
        &self.state
    }

    /// Appends `edits` as one atomic frame and fsyncs it. The in-memory state
    /// changes only after the frame is durable.
    pub fn apply(&mut self, edits: &[Edit]) -> Result<()> {
        let mut next = self.state.clone();
        let path = self.dir.join(format!("MANIFEST-{:06}", self.number));
        for edit in edits {
            next.apply(edit, &path).map_err(|e| {
                Error::InvalidArgument(format!(
                    "bad manifest edit: {e} (edits {edits:?}; live {:?})",
                    self.state.tables
                ))
            })?;
        }
        if let Some(reason) = &self.poisoned {
            return Err(Error::Poisoned(reason.clone()));
        }
        let written = if self.frames >= REWRITE_AFTER_FRAMES {
            Self::write_new(&self.dir, self.number + 1, next.clone()).map(|m| *self = m)
        } else {
            let payload = encode_edits(edits);
            let mut buf = Vec::with_capacity(payload.len() + FRAME_HEADER_LEN);
            encode_frame(&mut buf, &payload);
            self.file.write_all(&buf).and_then(|()| self.file.sync_all()).map_err(Error::Io)
        };
        if let Err(e) = written {
            // The frame (or the new manifest) may or may not be on disk.
            // Appending after a partial frame would make the log unreadable,
            // so refuse every later edit; reopening replays what is there.
            let reason = format!("manifest write failed: {e}");
            tracing::error!(%reason, "manifest poisoned");
            self.poisoned = Some(reason.clone());
            return Err(Error::Poisoned(reason));
        }
        self.frames += 1;
        self.state = next;
        Ok(())
    }

    /// Allocates a file id, without persisting it. The id is persisted by
    /// the edit that adds the table (always paired with a `NextFileId`).
    pub fn next_file_id(&mut self) -> u64 {
        let id = self.state.next_file_id;
        self.state.next_file_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_edits_and_rewrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut m = Manifest::open(dir.path()).expect("create");
            for i in 0..(REWRITE_AFTER_FRAMES + 5) {
                let id = m.next_file_id();
                m.apply(&[Edit::AddTable { level: 0, id, size: i }, Edit::NextFileId(id + 1)]).expect("apply");
                if i % 2 == 1 {
                    m.apply(&[Edit::RemoveTable { level: 0, id }]).expect("remove");
                }
            }
            m.apply(&[Edit::WalMinSegment(7), Edit::LastTimestamp(99)]).expect("apply");
        }
        let m = Manifest::open(dir.path()).expect("reopen");
        assert_eq!(m.state().tables.len(), (REWRITE_AFTER_FRAMES as usize + 5).div_ceil(2));
        assert_eq!(m.state().wal_min_segment, 7);
        assert_eq!(m.state().last_ts, 99);
        assert_eq!(m.state().next_file_id, REWRITE_AFTER_FRAMES + 6);
        let manifests = fs::read_dir(dir.path())
            .expect("ls")
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("MANIFEST-")))
            .count();
        assert_eq!(manifests, 1, "old manifest removed after rewrite");
    }

    #[test]
    fn vector_indexes_survive_replay_and_rewrite() {
        use crate::vector::Metric;
        let dir = tempfile::tempdir().expect("tempdir");
        let a = VectorIndexSpec::new(1, &b"a/"[..], &b"a0"[..], 3, Metric::Cosine);
        let b = VectorIndexSpec::new(2, &b"b/"[..], &b"b0"[..], 8, Metric::L2);
        {
            let mut m = Manifest::open(dir.path()).expect("create");
            m.apply(&[Edit::CreateVectorIndex(a.clone())]).expect("create a");
            m.apply(&[Edit::CreateVectorIndex(b.clone())]).expect("create b");
            m.apply(&[Edit::CreateVectorIndex(a.clone())]).expect("same spec again is a no-op");
            let changed = VectorIndexSpec { dim: 4, ..a.clone() };
            assert!(m.apply(&[Edit::CreateVectorIndex(changed)]).is_err());
            m.apply(&[Edit::DropVectorIndex(2)]).expect("drop b");
            assert!(m.apply(&[Edit::DropVectorIndex(2)]).is_err());
        }
        let m = Manifest::open(dir.path()).expect("reopen");
        assert_eq!(m.state().vector_indexes.values().cloned().collect::<Vec<_>>(), vec![a.clone()]);
        // A rewrite (snapshot frame) keeps them too.
        let state = m.state().clone();
        drop(m);
        let m = Manifest::write_new(dir.path(), 2, state).expect("rewrite");
        drop(m);
        let m = Manifest::open(dir.path()).expect("reopen rewritten");
        assert_eq!(m.state().vector_indexes.get(&1), Some(&a));
    }

    fn current_path(dir: &Path) -> PathBuf {
        let name = fs::read_to_string(dir.join("CURRENT")).expect("current");
        dir.join(name.trim_end())
    }

    #[test]
    fn torn_tail_is_truncated_but_bad_checksum_is_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut m = Manifest::open(dir.path()).expect("create");
            m.apply(&[Edit::AddTable { level: 0, id: 5, size: 10 }]).expect("apply");
            m.apply(&[Edit::AddTable { level: 1, id: 6, size: 10 }]).expect("apply");
        }
        let path = current_path(dir.path());
        let len = fs::metadata(&path).expect("meta").len();
        // Torn: cut the last frame short.
        let f = OpenOptions::new().write(true).open(&path).expect("open");
        f.set_len(len - 3).expect("truncate");
        drop(f);
        let m = Manifest::open(dir.path()).expect("torn tail is repaired");
        assert!(m.state().tables.contains_key(&5));
        assert!(!m.state().tables.contains_key(&6));
        drop(m);
        // Corrupt: flip a payload byte in a complete frame.
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        fs::write(&path, &bytes).expect("write");
        match Manifest::open(dir.path()) {
            Err(Error::Corruption { .. }) => {}
            other => panic!("expected corruption, got {other:?}"),
        }
    }
}
