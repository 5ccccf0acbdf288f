//! Writing a table: one sequential pass, then a footer.
//!
//! [`TableBuilder`] receives versions already sorted in internal order (the
//! memtable flush and compaction both produce sorted streams), so it never
//! buffers more than one data block: each block is framed and appended as soon
//! as it reaches `block_size`, and only the index entries (one per block),
//! the bloom hashes (8 bytes per distinct key) and the running properties are
//! kept until [`TableBuilder::finish`].
//!
//! The builder refuses unsorted input with [`Error::InvalidArgument`] instead
//! of writing a table that readers would search wrongly. Named sections are
//! written to the file as soon as they are added, between data blocks, so a
//! large section never sits in memory twice. `finish` then appends the bloom
//! filter, the properties, the metaindex, the index and the footer, in that
//! order, and fsyncs the file. Making the new file's *name* durable (fsync of
//! the directory) is the caller's job, because the caller decides when the
//! table becomes part of the tree.
//!
//! A builder that is dropped without `finish` (or whose `finish` fails)
//! deletes its partial file, so an error path cannot leave a file that looks
//! like a table. After an I/O error every further call fails with
//! [`Error::Poisoned`]: the bytes on disk are unknown.
//!
//! ```text
//! [data block]... [section]... [bloom] [properties] [metaindex] [index] [footer]
//!  (data blocks and sections may interleave)
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::block::BlockBuilder;
use super::bloom::BloomBuilder;
use super::footer::Footer;
use super::frame::{BlockHandle, trailer};
use super::metaindex;
use super::properties::TableProperties;
use crate::key::{SUFFIX_LEN, Timestamp, ValueKind, cmp_version, encode_internal_key};
use crate::{Error, Result};

/// Largest accepted `block_size`; keeps every block far below 4 GiB.
const MAX_BLOCK_SIZE: usize = 256 << 20;

/// Largest accepted key + value of one version.
const MAX_ENTRY_SIZE: usize = 1 << 30;

/// How a table is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// Target payload size of a data block; a block is cut once it reaches
    /// this size (so it may exceed it by one entry). Capped at 256 MiB.
    pub block_size: usize,
    /// A full key is stored every this many entries (0 is treated as 1).
    pub restart_interval: usize,
    /// Bloom filter bits per distinct user key; 0 disables the filter.
    /// Capped at 64.
    pub bloom_bits_per_key: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { block_size: 4096, restart_interval: 16, bloom_bits_per_key: 10 }
    }
}

/// Writes one table file. See the module docs.
#[derive(Debug)]
pub struct TableBuilder {
    path: PathBuf,
    file: BufWriter<File>,
    block_size: usize,
    /// Bytes handed to `file` so far (the offset of the next block).
    offset: u64,
    data_block: BlockBuilder,
    index_block: BlockBuilder,
    bloom: BloomBuilder,
    sections: BTreeMap<String, BlockHandle>,
    /// The last `(user key, ts)` added, for the order check.
    last: Option<(Vec<u8>, Timestamp)>,
    key_buf: Vec<u8>,
    props: TableProperties,
    /// Set after an I/O error; the file's contents are then unknown.
    failed: bool,
    /// Set once the footer is durable; stops `Drop` from deleting the file.
    finished: bool,
}

impl TableBuilder {
    /// Creates `path` (failing if it exists) and prepares to write a table.
    pub fn create(path: &Path, opts: TableOptions) -> Result<Self> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(TableBuilder {
            path: path.to_path_buf(),
            file: BufWriter::with_capacity(64 * 1024, file),
            block_size: opts.block_size.min(MAX_BLOCK_SIZE),
            offset: 0,
            data_block: BlockBuilder::new(opts.restart_interval),
            index_block: BlockBuilder::new(opts.restart_interval),
            bloom: BloomBuilder::new(opts.bloom_bits_per_key),
            sections: BTreeMap::new(),
            last: None,
            key_buf: Vec::new(),
            props: TableProperties::default(),
            failed: false,
            finished: false,
        })
    }

    /// Adds one version. Calls must be strictly increasing in internal order
    /// (user key asc, ts desc); an out-of-order or duplicate `(key, ts)`
    /// returns [`Error::InvalidArgument`]. `value` `None` = tombstone.
    pub fn add(&mut self, user_key: &[u8], ts: Timestamp, value: Option<&[u8]>) -> Result<()> {
        self.check_usable()?;
        let value_len = value.map_or(0, <[u8]>::len);
        if user_key.len().saturating_add(value_len) > MAX_ENTRY_SIZE {
            return Err(Error::InvalidArgument(format!(
                "version of {} key bytes and {value_len} value bytes exceeds the {MAX_ENTRY_SIZE}-byte limit",
                user_key.len()
            )));
        }
        let new_user_key = match &self.last {
            None => true,
            Some((last_key, last_ts)) => {
                if cmp_version(user_key, ts, last_key, *last_ts) != std::cmp::Ordering::Greater {
                    return Err(Error::InvalidArgument(format!(
                        "table {}: version ({:?}, {ts}) does not sort after ({:?}, {last_ts})",
                        self.path.display(),
                        user_key.escape_ascii().to_string(),
                        last_key.escape_ascii().to_string()
                    )));
                }
                user_key != last_key.as_slice()
            }
        };

        let kind = if value.is_some() { ValueKind::Value } else { ValueKind::Tombstone };
        self.key_buf.clear();
        self.key_buf.reserve(user_key.len() + SUFFIX_LEN);
        encode_internal_key(&mut self.key_buf, user_key, ts, kind);
        self.data_block.add(&self.key_buf, value.unwrap_or_default());
        if new_user_key {
            self.bloom.add_key(user_key);
        }

        let p = &mut self.props;
        if p.entries == 0 {
            p.smallest_key = Bytes::copy_from_slice(user_key);
            p.smallest_ts = ts;
            p.min_ts = ts;
            p.max_ts = ts;
        }
        p.entries += 1;
        p.tombstones += u64::from(value.is_none());
        p.min_ts = p.min_ts.min(ts);
        p.max_ts = p.max_ts.max(ts);
        match &mut self.last {
            Some((k, t)) => {
                k.clear();
                k.extend_from_slice(user_key);
                *t = ts;
            }
            None => self.last = Some((user_key.to_vec(), ts)),
        }

        if self.data_block.estimated_size() >= self.block_size {
            self.flush_data_block()?;
        }
        Ok(())
    }

    /// Stores `bytes` as a checksummed section named `name`, readable with
    /// [`super::Table::section`]. Names must be unique, non-empty, and not one
    /// of the builder's own (`alopex.bloom`, `alopex.properties`).
    pub fn add_section(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.check_usable()?;
        if name.is_empty() || metaindex::is_reserved(name) || self.sections.contains_key(name) {
            return Err(Error::InvalidArgument(format!(
                "table {}: section name {name:?} is empty, reserved or already used",
                self.path.display()
            )));
        }
        let handle = self.write_framed(bytes)?;
        self.sections.insert(name.to_owned(), handle);
        Ok(())
    }

    /// Bytes written so far plus the pending data block.
    pub fn estimated_size(&self) -> u64 {
        self.offset + self.data_block.estimated_size() as u64
    }

    /// Versions added so far.
    pub fn entries(&self) -> u64 {
        self.props.entries
    }

    /// Writes the remaining blocks and the footer and fsyncs the file (not
    /// its directory). On error the partial file is deleted.
    pub fn finish(mut self) -> Result<TableProperties> {
        let props = self.write_tail()?;
        self.finished = true;
        tracing::debug!(
            path = %self.path.display(),
            entries = props.entries,
            file_size = props.file_size,
            "sstable written"
        );
        Ok(props)
    }

    /// Deletes the partial file, ignoring errors.
    pub fn abandon(self) {
        // Dropping an unfinished builder deletes its file.
        drop(self);
    }

    fn write_tail(&mut self) -> Result<TableProperties> {
        self.check_usable()?;
        if !self.data_block.is_empty() {
            self.flush_data_block()?;
        }
        if let Some((k, t)) = &self.last {
            self.props.largest_key = Bytes::copy_from_slice(k);
            self.props.largest_ts = *t;
        }
        let bloom = self.bloom.finish();
        let bloom = self.write_framed(&bloom)?;
        let props = self.props.encode();
        let props = self.write_framed(&props)?;
        let mut meta = std::mem::take(&mut self.sections);
        meta.insert(metaindex::BLOOM.to_owned(), bloom);
        meta.insert(metaindex::PROPERTIES.to_owned(), props);
        let metaindex = self.write_framed(&metaindex::encode(&meta))?;
        let index = self.index_block.finish();
        let index = self.write_framed(&index)?;
        let footer = Footer { metaindex, index }.encode();
        self.write_raw(&footer)?;
        let synced = self.file.flush().and_then(|()| self.file.get_ref().sync_all());
        if let Err(e) = synced {
            self.failed = true;
            return Err(e.into());
        }
        self.props.file_size = self.offset;
        Ok(self.props.clone())
    }

    fn flush_data_block(&mut self) -> Result<()> {
        let last_key = self.data_block.last_key().to_vec();
        let payload = self.data_block.finish();
        let handle = self.write_framed(&payload)?;
        self.props.data_size += handle.framed_len();
        let mut encoded = Vec::with_capacity(20);
        handle.encode_to(&mut encoded);
        self.index_block.add(&last_key, &encoded);
        Ok(())
    }

    /// Appends `payload` and its trailer; returns the block's handle.
    fn write_framed(&mut self, payload: &[u8]) -> Result<BlockHandle> {
        let handle = BlockHandle { offset: self.offset, size: payload.len() as u64 };
        self.write_raw(payload)?;
        self.write_raw(&trailer(payload))?;
        Ok(handle)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            self.failed = true;
            return Err(e.into());
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::Poisoned(format!("table builder for {} failed earlier", self.path.display())));
        }
        Ok(())
    }
}

impl Drop for TableBuilder {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: a leftover partial file is not a table (no valid
            // footer) and recovery deletes unknown files anyway.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
