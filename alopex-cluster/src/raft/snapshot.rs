//! # Range snapshots: an exported SSTable plus its Raft metadata
//!
//! A snapshot of a range is what `Engine::export` writes for the range's
//! span: a self-contained, checksummed SSTable holding the newest version of
//! every live key with its original commit timestamp. It travels between
//! nodes as a file and is installed with `Engine::ingest`; it never goes
//! through memory whole.
//!
//! Each range keeps its snapshots under `<root>/r<range>/`:
//!
//! ```text
//! current.meta            xxh3-64 u64 LE | postcard (file name, SnapshotMeta)
//! snap-<term>-<index>-<n>.sst   the current snapshot's SSTable
//! incoming/               snapshots being received from a leader
//! ```
//!
//! `current.meta` is replaced atomically (temporary file, fsync, rename,
//! fsync of the directory), and only after the SSTable it names is durable,
//! so after a crash it always names a complete snapshot. Installing a
//! received snapshot first makes it current and only then changes the
//! engine: if the node crashes in between, opening the state machine finds a
//! current snapshot newer than its applied state and installs it again.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use xxhash_rust::xxh3::xxh3_64;

use super::codec;
use super::types::SnapshotMeta;

/// The data of a snapshot: the path of its SSTable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The exported SSTable.
    pub path: PathBuf,
}

/// The snapshot directory of one range.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
}

static NEXT_FILE: AtomicU64 = AtomicU64::new(1);

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl SnapshotStore {
    /// The store of `range` under `root`, created if missing.
    pub fn open(root: &Path, range: u64) -> io::Result<Self> {
        let dir = root.join(format!("r{range}"));
        fs::create_dir_all(dir.join("incoming"))?;
        Ok(SnapshotStore { dir })
    }

    /// Where snapshots being received are written.
    pub fn incoming_dir(&self) -> PathBuf {
        self.dir.join("incoming")
    }

    /// A fresh path for a new snapshot file (which does not exist yet).
    pub fn new_path(&self, meta: &SnapshotMeta) -> PathBuf {
        let (term, index) = meta.last_log_id.map(|l| (l.leader_id.term, l.index)).unwrap_or((0, 0));
        let n = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        self.dir.join(format!("snap-{term}-{index}-{nanos}-{n}.sst"))
    }

    /// Whether `path` was received into this store's incoming directory.
    pub fn is_incoming(&self, path: &Path) -> bool {
        path.parent() == Some(self.incoming_dir().as_path())
    }

    /// The current snapshot, if any: its metadata and file.
    pub fn current(&self) -> io::Result<Option<(SnapshotMeta, PathBuf)>> {
        let data = match fs::read(self.dir.join("current.meta")) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", self.dir.display()));
        if data.len() < 8 {
            return Err(bad("current.meta is truncated"));
        }
        let mut sum = [0u8; 8];
        sum.copy_from_slice(&data[..8]);
        if u64::from_le_bytes(sum) != xxh3_64(&data[8..]) {
            return Err(bad("current.meta checksum mismatch"));
        }
        let (name, meta): (String, SnapshotMeta) = codec::decode(&data[8..])?;
        let path = self.dir.join(&name);
        if !path.exists() {
            return Err(bad(&format!("current snapshot file {name} is missing")));
        }
        Ok(Some((meta, path)))
    }

    /// Makes `file` (a durable file inside this store) the current snapshot
    /// and deletes the older snapshot files.
    pub fn set_current(&self, meta: &SnapshotMeta, file: &Path) -> io::Result<()> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|_| file.parent() == Some(self.dir.as_path()))
            .ok_or_else(|| {
                io::Error::other(format!("snapshot file {} is not in {}", file.display(), self.dir.display()))
            })?
            .to_string();
        let body = codec::encode(&(name.clone(), meta))?;
        let mut data = xxh3_64(&body).to_le_bytes().to_vec();
        data.extend_from_slice(&body);
        let tmp = self.dir.join("current.meta.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.dir.join("current.meta"))?;
        sync_dir(&self.dir)?;
        for item in fs::read_dir(&self.dir)? {
            let item = item?;
            let n = item.file_name();
            let n = n.to_string_lossy();
            if n.starts_with("snap-") && n.ends_with(".sst") && n != name.as_str() {
                let _ = fs::remove_file(item.path());
            }
        }
        Ok(())
    }

    /// Brings a received or foreign snapshot file into the store: renamed
    /// if it was received here, copied otherwise. Returns the durable path.
    pub fn adopt(&self, meta: &SnapshotMeta, src: &Path) -> io::Result<PathBuf> {
        let dst = self.new_path(meta);
        if self.is_incoming(src) {
            File::open(src)?.sync_all()?;
            fs::rename(src, &dst)?;
        } else {
            fs::copy(src, &dst)?;
            File::open(&dst)?.sync_all()?;
        }
        sync_dir(&self.dir)?;
        Ok(dst)
    }

    /// Makes a file just written in this store durable.
    pub fn sync_file(path: &Path) -> io::Result<()> {
        File::open(path)?.sync_all()
    }
}
