//! Reading a table: everything but the data blocks is loaded at open.
//!
//! [`Table::open`] reads the footer, then the index, metaindex, bloom filter
//! and properties blocks, verifying every checksum and cross-checking the
//! pieces (handles inside the file, index keys ascending, index and
//! properties agreeing on the largest key). A table that opens is therefore
//! structurally sound apart from its data blocks, whose checksums are
//! verified each time one is read from disk, before it enters the
//! [`BlockCache`]. Reading a bad block is an [`Error::Corruption`] naming the
//! file and the block offset; nothing is skipped.
//!
//! The index is small (one entry per ~4 KiB block) and is decoded into a
//! `Vec` at open, so finding the block for a key is a binary search in
//! memory, run first over a contiguous array of 16-byte key prefixes
//! (`Table::block_for`). Blocks are read with positional reads (`read_at`)
//! on one shared file handle, so a `Table` is `Send + Sync` and many threads
//! read it at once without a lock.
//!
//! A point read ([`Table::get`]) asks the bloom filter first, then seeks to
//! the internal key `(user_key, read_ts)`: because timestamps sort
//! descending, the first entry at or after it is the newest version visible
//! at `read_ts`, if it has the same user key.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fs::File;
use std::ops::Bound;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::block::{Block, BlockIter};
use super::bloom::{BloomFilter, key_hash};
use super::cache::BlockCache;
use super::footer::{FOOTER_LEN, Footer};
use super::frame::{BlockHandle, Malformed, TRAILER_LEN, unseal};
use super::iter::TableIter;
use super::key_arena::KeyArena;
use super::metaindex;
use super::properties::TableProperties;
use crate::key::{Entry, Timestamp, ValueKind, compare_internal, decode_internal_key, encode_internal_key};
use crate::{Error, Result};

/// One index entry: the last internal key of a data block and its handle.
#[derive(Debug, Clone)]
pub(crate) struct IndexEntry {
    pub(crate) last_key: Bytes,
    pub(crate) handle: BlockHandle,
}

/// An open, immutable table file. See the module docs.
#[derive(Debug)]
pub struct Table {
    id: u64,
    path: PathBuf,
    file: File,
    cache: Arc<BlockCache>,
    index: Vec<IndexEntry>,
    /// The first 16 bytes of each index entry's user key (see
    /// [`Table::block_for`]), one contiguous array.
    index_prefixes: Vec<[u64; 2]>,
    bloom: BloomFilter,
    properties: TableProperties,
    /// Every metaindex entry, built-in blocks included.
    sections: BTreeMap<String, BlockHandle>,
    footer: Footer,
    /// Sections already parsed by [`Table::parsed_section`].
    parsed: ParsedSections,
}

/// Parsed forms of sections, by name, kept for the table's lifetime.
#[derive(Default)]
struct ParsedSections(parking_lot::Mutex<BTreeMap<String, Arc<dyn std::any::Any + Send + Sync>>>);

impl std::fmt::Debug for ParsedSections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.lock().keys()).finish()
    }
}

impl Table {
    /// Opens and validates the table at `path`. `id` must be unique among the
    /// tables sharing `cache`.
    pub fn open(path: &Path, id: u64, cache: Arc<BlockCache>) -> Result<Arc<Table>> {
        let file = File::open(path)?;
        let file_size = file.metadata()?.len();
        let corrupt = |detail: String| Error::corruption(path, detail);
        let body_end = file_size
            .checked_sub(FOOTER_LEN as u64)
            .ok_or_else(|| corrupt(format!("file is {file_size} bytes, shorter than the {FOOTER_LEN}-byte footer")))?;
        let mut footer_bytes = [0u8; FOOTER_LEN];
        read_exact(&file, path, &mut footer_bytes, body_end)?;
        let footer = Footer::decode(&footer_bytes)
            .map_err(|m| corrupt(format!("footer at offset {body_end}: {} (footer byte {})", m.detail, m.at)))?;

        let in_body = |what: &str, h: BlockHandle| {
            if h.end().is_some_and(|end| end <= body_end) {
                Ok(())
            } else {
                Err(corrupt(format!(
                    "{what} handle (offset {}, size {}) lies outside the {body_end} bytes before the footer",
                    h.offset, h.size
                )))
            }
        };
        in_body("index block", footer.index)?;
        in_body("metaindex block", footer.metaindex)?;

        let mut table = Table {
            id,
            path: path.to_path_buf(),
            file,
            cache,
            index: Vec::new(),
            index_prefixes: Vec::new(),
            bloom: BloomFilter::disabled(),
            properties: TableProperties::default(),
            sections: BTreeMap::new(),
            footer,
            parsed: ParsedSections::default(),
        };

        let meta_payload = table.read_verified("metaindex block", footer.metaindex)?;
        table.sections =
            metaindex::decode(&meta_payload).map_err(|m| table.malformed("metaindex block", footer.metaindex, m))?;
        for (name, &h) in &table.sections {
            in_body(&format!("section {name:?}"), h)?;
        }
        let builtin = |name: &str| {
            table.sections.get(name).copied().ok_or_else(|| corrupt(format!("metaindex has no {name:?} entry")))
        };
        let (bloom_h, props_h) = (builtin(metaindex::BLOOM)?, builtin(metaindex::PROPERTIES)?);

        let bloom = table.read_verified("bloom block", bloom_h)?;
        table.bloom = BloomFilter::decode(bloom).map_err(|m| table.malformed("bloom block", bloom_h, m))?;
        let props = table.read_verified("properties block", props_h)?;
        table.properties =
            TableProperties::decode(&props).map_err(|m| table.malformed("properties block", props_h, m))?;
        table.properties.file_size = file_size;

        table.index = table.load_index(body_end)?;
        // Every index key decoded as an internal key in `load_index`.
        table.index_prefixes = table
            .index
            .iter()
            .map(|e| padded_prefix(decode_internal_key(&e.last_key).map_or(&[][..], |(user, _, _)| user)))
            .collect();
        tracing::debug!(path = %path.display(), id, blocks = table.index.len(), "sstable opened");
        Ok(Arc::new(table))
    }

    /// The id this table was opened with (its cache namespace).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The file this table reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The properties recorded by the builder (`file_size` from the file).
    pub fn properties(&self) -> &TableProperties {
        &self.properties
    }

    /// Roughly how many versions of this table lie in `range`: the entries
    /// of the data blocks whose key span overlaps it (blocks assumed equally
    /// full), from the in-memory block index; no I/O.
    pub fn approximate_entries(&self, range: &crate::version::KeyBounds) -> u64 {
        let blocks = self.index.len() as u64;
        if blocks == 0 {
            return 0;
        }
        let user = |e: &IndexEntry| decode_internal_key(&e.last_key).map(|(k, _, _)| Bytes::copy_from_slice(k));
        let mut first = self.properties.smallest_key.clone();
        let mut overlapping = 0u64;
        for entry in &self.index {
            let Some(last) = user(entry) else { continue };
            if crate::version::overlaps(&first, &last, range) {
                overlapping += 1;
            }
            first = last;
        }
        self.properties.entries * overlapping / blocks
    }

    /// False only if no version of `user_key` is in this table (bloom filter).
    pub fn may_contain(&self, user_key: &[u8]) -> bool {
        self.bloom.may_contain_hash(key_hash(user_key))
    }

    /// [`may_contain`](Self::may_contain) for a key already hashed with
    /// [`key_hash`], so a read that asks many tables hashes once.
    pub fn may_contain_hash(&self, hash: u64) -> bool {
        self.bloom.may_contain_hash(hash)
    }

    /// The newest version of `user_key` with ts <= read_ts (a tombstone is
    /// returned as `Entry { value: None }`); `None` if no such version. Uses
    /// the bloom filter first.
    pub fn get(&self, user_key: &[u8], read_ts: Timestamp) -> Result<Option<Entry>> {
        self.get_hashed(user_key, key_hash(user_key), read_ts)
    }

    /// [`get`](Self::get) for a key already hashed with [`key_hash`].
    pub fn get_hashed(&self, user_key: &[u8], hash: u64, read_ts: Timestamp) -> Result<Option<Entry>> {
        if !self.bloom.may_contain_hash(hash) {
            return Ok(None);
        }
        let mut target = Vec::with_capacity(user_key.len() + crate::key::SUFFIX_LEN);
        encode_internal_key(&mut target, user_key, read_ts, ValueKind::Value);
        let i = self.block_for(user_key, &target);
        if i == self.index.len() {
            return Ok(None);
        }
        let block = self.data_block(i)?;
        let mut it = block.iter();
        it.seek(&target).map_err(|m| self.data_malformed(i, m))?;
        if !it.valid() {
            return Err(self.data_malformed(i, Malformed::new(0, "block ends before the key its index entry promises")));
        }
        let entry = self.decode_entry(i, &it, None)?;
        Ok((entry.key.as_ref() == user_key).then_some(entry))
    }

    /// Iterates every version whose user key is in `range`, in internal order
    /// (key asc, ts desc); with `reverse`, exactly the reverse order. Blocks
    /// are loaded lazily as the iterator advances.
    pub fn iter(self: &Arc<Self>, range: (Bound<Bytes>, Bound<Bytes>), reverse: bool) -> TableIter {
        TableIter::new(Arc::clone(self), range, reverse)
    }

    /// Reads the named extra section, verified; `None` if the table has none.
    pub fn section(&self, name: &str) -> Result<Option<Bytes>> {
        if metaindex::is_reserved(name) {
            return Ok(None);
        }
        match self.sections.get(name) {
            None => Ok(None),
            Some(&h) => self.read_verified(&format!("section {name:?}"), h).map(Some),
        }
    }

    /// The named section parsed by `parse` (given the verified bytes and
    /// this table's path), parsed once and kept as long as the table is
    /// open; `None` if the table has no such section. Each name must always
    /// be parsed to the same type `T`; a different one is an
    /// [`Error::InvalidArgument`]. Parsed sections are not counted in the
    /// block cache's budget.
    pub fn parsed_section<T: std::any::Any + Send + Sync>(
        &self,
        name: &str,
        parse: impl FnOnce(&Bytes, &Path) -> Result<T>,
    ) -> Result<Option<Arc<T>>> {
        let cached = self.parsed.0.lock().get(name).cloned();
        let any = match cached {
            Some(any) => any,
            None => {
                let Some(bytes) = self.section(name)? else { return Ok(None) };
                let parsed: Arc<dyn std::any::Any + Send + Sync> = Arc::new(parse(&bytes, &self.path)?);
                Arc::clone(self.parsed.0.lock().entry(name.to_owned()).or_insert(parsed))
            }
        };
        any.downcast::<T>()
            .map(Some)
            .map_err(|_| Error::InvalidArgument(format!("section {name:?} was parsed as another type")))
    }

    /// Reads every block from disk (bypassing the cache), verifies every
    /// checksum, and checks that entries are well-formed, strictly ordered,
    /// agree with the index, and add up to the recorded properties.
    pub fn verify(&self) -> Result<()> {
        self.read_verified("index block", self.footer.index)?;
        self.read_verified("metaindex block", self.footer.metaindex)?;
        for (name, &h) in &self.sections {
            self.read_verified(&format!("section {name:?}"), h)?;
        }
        let (mut entries, mut tombstones) = (0u64, 0u64);
        let mut prev: Option<Vec<u8>> = None;
        for (i, ie) in self.index.iter().enumerate() {
            let block = self.load_data_block(i)?;
            let mut it = block.iter();
            it.seek_to_first().map_err(|m| self.data_malformed(i, m))?;
            while it.valid() {
                let e = self.decode_entry(i, &it, None)?;
                if prev.as_deref().is_some_and(|p| compare_internal(p, it.key()) != Ordering::Less) {
                    return Err(self.data_malformed(i, Malformed::new(0, "keys are not strictly ascending")));
                }
                if !self.bloom.may_contain_hash(key_hash(&e.key)) {
                    return Err(self.corrupt(format!("bloom filter misses key {:?}", e.key.escape_ascii().to_string())));
                }
                entries += 1;
                tombstones += u64::from(e.value.is_none());
                prev = Some(it.key().to_vec());
                it.advance().map_err(|m| self.data_malformed(i, m))?;
            }
            if prev.as_deref() != Some(ie.last_key.as_ref()) {
                return Err(self.data_malformed(i, Malformed::new(0, "last key differs from its index entry")));
            }
        }
        let p = &self.properties;
        if (entries, tombstones) != (p.entries, p.tombstones) {
            return Err(self.corrupt(format!(
                "blocks hold {entries} entries / {tombstones} tombstones, properties say {} / {}",
                p.entries, p.tombstones
            )));
        }
        Ok(())
    }

    /// The decoded index.
    pub(crate) fn index(&self) -> &[IndexEntry] {
        &self.index
    }

    /// The index of the first block whose last key is `>= target`, the
    /// internal key of `user_key` at some timestamp (the number of blocks if
    /// none).
    ///
    /// The search runs over the contiguous array of 16-byte user-key
    /// prefixes first, and compares whole internal keys only among the
    /// entries whose prefix equals the target's. A step of a search over the
    /// entries themselves reads an `IndexEntry` and then its key in the key
    /// buffer, two cache misses; in the `vs_sqlite` join profile that search
    /// was a third of every SSTable point read. Zero-padded prefixes order
    /// like the keys wherever they differ (a difference inside both keys is
    /// the first real difference; past the end of one key, that key is a
    /// prefix of the other and sorts first, as its padding does), and keys
    /// with equal prefixes are contiguous, so both searches are exact.
    pub(crate) fn block_for(&self, user_key: &[u8], target: &[u8]) -> usize {
        let prefix = padded_prefix(user_key);
        let lo = self.index_prefixes.partition_point(|p| *p < prefix);
        let hi = lo + self.index_prefixes[lo..].partition_point(|p| *p == prefix);
        lo + self.index[lo..hi].partition_point(|e| compare_internal(&e.last_key, target) == Ordering::Less)
    }

    /// Data block `i` of the index, through the cache.
    pub(crate) fn data_block(&self, i: usize) -> Result<Block> {
        let offset = self.index[i].handle.offset;
        self.cache.get_or_load(self.id, offset, || self.load_data_block(i))
    }

    /// Turns an encoded entry of data block `i` into an [`Entry`].
    /// Its key is copied into `arena` when one is given (scans), or into an
    /// allocation of its own (point reads).
    pub(crate) fn decode_entry(&self, i: usize, it: &BlockIter, arena: Option<&mut KeyArena>) -> Result<Entry> {
        let (key, at) = (it.key(), it.entry_offset());
        let Some((user_key, ts, kind)) = decode_internal_key(key) else {
            let detail = format!("invalid internal key {:?}", key.escape_ascii().to_string());
            return Err(self.data_malformed(i, Malformed::new(at, detail)));
        };
        let value = match kind {
            ValueKind::Value => Some(it.value()),
            ValueKind::Tombstone if it.value_slice().is_empty() => None,
            ValueKind::Tombstone => {
                return Err(self.data_malformed(i, Malformed::new(at, "tombstone carries a value")));
            }
        };
        let key = match arena {
            Some(arena) => arena.copy(user_key),
            None => Bytes::copy_from_slice(user_key),
        };
        Ok(Entry { key, ts, value })
    }

    /// A corruption error for data block `i`.
    pub(crate) fn data_malformed(&self, i: usize, m: Malformed) -> Error {
        self.malformed("data block", self.index[i].handle, m)
    }

    fn load_data_block(&self, i: usize) -> Result<Block> {
        let handle = self.index[i].handle;
        let payload = self.read_verified("data block", handle)?;
        Block::parse(payload).map_err(|m| self.malformed("data block", handle, m))
    }

    /// Decodes and validates the index block.
    fn load_index(&self, body_end: u64) -> Result<Vec<IndexEntry>> {
        let h = self.footer.index;
        let bad = |m: Malformed| self.malformed("index block", h, m);
        let block = Block::parse(self.read_verified("index block", h)?).map_err(bad)?;
        let mut it = block.iter();
        it.seek_to_first().map_err(bad)?;
        let mut index: Vec<IndexEntry> = Vec::new();
        while it.valid() {
            let n = index.len();
            let key = it.key();
            let mut value = it.value_slice();
            let handle = BlockHandle::decode_from(&mut value)
                .filter(|_| value.is_empty())
                .ok_or_else(|| bad(Malformed::new(0, format!("entry {n}: malformed block handle"))))?;
            let prev = index.last();
            let ordered = prev.is_none_or(|p| compare_internal(&p.last_key, key) == Ordering::Less);
            let after_prev = prev.and_then(|p| p.handle.end()).unwrap_or(0) <= handle.offset;
            let inside = handle.end().is_some_and(|end| end <= body_end);
            if decode_internal_key(key).is_none() || !ordered || !after_prev || !inside {
                return Err(bad(Malformed::new(
                    0,
                    format!(
                        "entry {n} (block offset {}, size {}) is out of order or out of bounds",
                        handle.offset, handle.size
                    ),
                )));
            }
            index.push(IndexEntry { last_key: Bytes::copy_from_slice(key), handle });
            it.advance().map_err(bad)?;
        }
        // Re-home every key in one buffer, so that the binary search of a
        // point read walks one contiguous allocation, not one per key.
        let mut arena = Vec::with_capacity(index.iter().map(|e| e.last_key.len()).sum());
        for e in &index {
            arena.extend_from_slice(&e.last_key);
        }
        let arena = Bytes::from(arena);
        let mut at = 0;
        for e in &mut index {
            let len = e.last_key.len();
            e.last_key = arena.slice(at..at + len);
            at += len;
        }

        let p = &self.properties;
        let last = index.last().and_then(|e| decode_internal_key(&e.last_key));
        let consistent = match last {
            None => p.entries == 0,
            Some((k, ts, _)) => p.entries > 0 && k == p.largest_key.as_ref() && ts == p.largest_ts,
        };
        if !consistent {
            return Err(self.corrupt(format!(
                "index ({} blocks) disagrees with properties ({} entries, largest key {:?}@{})",
                index.len(),
                p.entries,
                p.largest_key.escape_ascii().to_string(),
                p.largest_ts
            )));
        }
        Ok(index)
    }

    /// Reads a framed block from disk and verifies its trailer.
    fn read_verified(&self, what: &str, h: BlockHandle) -> Result<Bytes> {
        let len = usize::try_from(h.size)
            .ok()
            .and_then(|s| s.checked_add(TRAILER_LEN))
            .ok_or_else(|| self.corrupt(format!("{what} at offset {}: size {} too large", h.offset, h.size)))?;
        let mut buf = vec![0u8; len];
        read_exact(&self.file, &self.path, &mut buf, h.offset)?;
        unseal(Bytes::from(buf)).map_err(|m| self.malformed(what, h, m))
    }

    fn malformed(&self, what: &str, h: BlockHandle, m: Malformed) -> Error {
        self.corrupt(format!("{what} at offset {} (size {}): {} (block byte {})", h.offset, h.size, m.detail, m.at))
    }

    fn corrupt(&self, detail: String) -> Error {
        Error::corruption(&self.path, detail)
    }
}

/// `read_exact_at` that reports a short file as corruption.
fn read_exact(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::corruption(path, format!("file ends inside the {} bytes at offset {offset}", buf.len()))
        } else {
            Error::Io(e)
        }
    })
}

/// The first 16 bytes of `key`, zero-padded, as big-endian halves.
fn padded_prefix(key: &[u8]) -> [u64; 2] {
    let mut buf = [0u8; 16];
    let n = key.len().min(16);
    buf[..n].copy_from_slice(&key[..n]);
    let (hi, lo) = buf.split_at(8);
    let half = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
    [half(hi), half(lo)]
}
