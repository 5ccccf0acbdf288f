//! Opening a segment: every byte checked before anything is trusted.
//!
//! [`Segment::parse`] verifies the checksum first, then walks the layout of
//! `format.rs` and checks every count, offset and index against what
//! the segment can hold: node counts against the bytes left (before
//! anything is allocated for them), levels against `max_level`, neighbour
//! indexes against the node count and the neighbour's own level, list
//! lengths against `m`, vectors for finiteness, nodes for internal key
//! order, and that the bytes are consumed exactly. Anything off is an
//! [`Error::Corruption`] naming the file and what is wrong; nothing panics,
//! and a segment that parses can be searched without further checks (the
//! search indexes with values validated here).
//!
//! The parsed form keeps the keys as slices of the section's bytes, the
//! vectors as one contiguous `Vec<f32>`, and the adjacency lists flattened
//! into one `Vec<u32>` with per-node and per-list offsets, so a search
//! touches a handful of allocations.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::format::{CHECKSUM_LEN, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_LEVEL, NO_ENTRY_POINT};
use crate::coding::{checksum, get_bytes, get_u8, get_u32, get_u64, get_varint};
use crate::error::{Error, Result};
use crate::key::{Timestamp, cmp_version};
use crate::vector::Metric;
use crate::vector::spec::{MAX_DIM, MAX_M};

/// A parsed, validated segment. See the module documentation.
#[derive(Debug)]
pub struct Segment {
    pub(super) path: PathBuf,
    pub(super) fingerprint: u64,
    pub(super) metric: Metric,
    pub(super) dim: usize,
    pub(super) m: u32,
    pub(super) keys: Vec<Bytes>,
    pub(super) timestamps: Vec<Timestamp>,
    pub(super) levels: Vec<u8>,
    pub(super) vectors: Vec<f32>,
    /// `Some((entry point, max level))` when the segment has a graph.
    pub(super) entry: Option<(u32, u8)>,
    /// `first_list[node]`: the index in `list_end` of the node's layer-0
    /// list; the node's layer `l` list is `first_list[node] + l`.
    pub(super) first_list: Vec<u32>,
    /// `list_end[i]`: the end of list `i` in `neighbours` (list `i` starts
    /// where list `i - 1` ends).
    pub(super) list_end: Vec<u32>,
    pub(super) neighbours: Vec<u32>,
}

/// Reads the front of a segment, reporting short input as corruption.
struct Cursor<'a> {
    input: &'a [u8],
    path: &'a Path,
}

impl Cursor<'_> {
    fn fail(&self, what: &str) -> Error {
        Error::corruption(self.path, format!("vector segment: {what}"))
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        get_u8(&mut self.input).ok_or_else(|| self.fail(&format!("ends inside {what}")))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        get_u32(&mut self.input).ok_or_else(|| self.fail(&format!("ends inside {what}")))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        get_u64(&mut self.input).ok_or_else(|| self.fail(&format!("ends inside {what}")))
    }

    fn varint(&mut self, what: &str) -> Result<u64> {
        get_varint(&mut self.input).ok_or_else(|| self.fail(&format!("ends inside {what}")))
    }
}

impl Segment {
    /// Validates and parses `bytes`, a segment read from the table at
    /// `path` (named in errors).
    pub fn parse(bytes: &Bytes, path: &Path) -> Result<Segment> {
        let corrupt = |what: String| Error::corruption(path, format!("vector segment: {what}"));
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(corrupt(format!("{} bytes, shorter than header and checksum", bytes.len())));
        }
        let body_len = bytes.len() - CHECKSUM_LEN;
        let (body, trailer) = bytes.split_at(body_len);
        let stored = get_u64(&mut &trailer[..]).unwrap_or_default();
        let actual = checksum(body);
        if stored != actual {
            return Err(corrupt(format!("checksum mismatch (stored {stored:#018x}, computed {actual:#018x})")));
        }
        let mut cur = Cursor { input: body, path };
        if cur.input.get(..8) != Some(&MAGIC[..]) {
            return Err(corrupt("bad magic".into()));
        }
        cur.input = &cur.input[8..];
        let version = cur.u32("the version")?;
        if version != FORMAT_VERSION {
            return Err(corrupt(format!("unsupported format version {version}")));
        }
        let metric_byte = cur.u8("the metric")?;
        let metric = Metric::from_byte(metric_byte).ok_or_else(|| corrupt(format!("unknown metric {metric_byte}")))?;
        let has_graph = match cur.u8("the graph flag")? {
            0 => false,
            1 => true,
            other => return Err(corrupt(format!("graph flag {other} is neither 0 nor 1"))),
        };
        let max_level = cur.u8("the max level")?;
        if cur.u8("the reserved byte")? != 0 {
            return Err(corrupt("reserved header byte is not 0".into()));
        }
        let dim = cur.u32("the dimension")?;
        if dim == 0 || dim > MAX_DIM {
            return Err(corrupt(format!("dimension {dim} outside 1..={MAX_DIM}")));
        }
        let m = cur.u32("m")?;
        let node_count = cur.u32("the node count")?;
        let entry_point = cur.u32("the entry point")?;
        let fingerprint = cur.u64("the fingerprint")?;
        if has_graph {
            if !(2..=MAX_M).contains(&m) {
                return Err(corrupt(format!("m = {m} outside 2..={MAX_M}")));
            }
            if max_level > MAX_LEVEL {
                return Err(corrupt(format!("max level {max_level} above {MAX_LEVEL}")));
            }
            if entry_point >= node_count {
                return Err(corrupt(format!("entry point {entry_point} not below the node count {node_count}")));
            }
        } else if max_level != 0 || entry_point != NO_ENTRY_POINT {
            return Err(corrupt("a segment without a graph has a max level or an entry point".into()));
        }
        let n = node_count as usize;
        // Each node takes at least 10 bytes (key length, ts, level): refuse a
        // count the bytes cannot hold before allocating for it.
        if n > cur.input.len() / 10 {
            return Err(corrupt(format!("node count {n} exceeds what {} bytes can hold", cur.input.len())));
        }

        let mut keys: Vec<Bytes> = Vec::with_capacity(n);
        let mut timestamps = Vec::with_capacity(n);
        let mut levels = Vec::with_capacity(n);
        for i in 0..n {
            let key = get_bytes(&mut cur.input).ok_or_else(|| corrupt(format!("ends inside the key of node {i}")))?;
            let key = bytes.slice_ref(key);
            let ts = cur.u64("a node timestamp")?;
            let level = cur.u8("a node level")?;
            if level > max_level {
                return Err(corrupt(format!("node {i} has level {level}, above the max level {max_level}")));
            }
            if let (Some(prev), Some(&prev_ts)) = (keys.last(), timestamps.last())
                && cmp_version(prev, prev_ts, &key, ts) != std::cmp::Ordering::Less
            {
                return Err(corrupt(format!("node {i} is not in key order")));
            }
            keys.push(key);
            timestamps.push(ts);
            levels.push(level);
        }
        if has_graph && levels[entry_point as usize] != max_level {
            return Err(corrupt(format!("entry point {entry_point} is not at the max level {max_level}")));
        }

        let d = dim as usize;
        let vector_bytes = n.checked_mul(d).and_then(|e| e.checked_mul(4));
        let Some(vector_bytes) = vector_bytes.filter(|&b| b <= cur.input.len()) else {
            return Err(corrupt(format!("{n} vectors of {dim} dimensions do not fit in the bytes left")));
        };
        let (raw, rest) = cur.input.split_at(vector_bytes);
        cur.input = rest;
        let mut vectors = Vec::with_capacity(n * d);
        for chunk in raw.chunks_exact(4) {
            let x = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if !x.is_finite() {
                return Err(corrupt(format!(
                    "element {} of node {} is not finite",
                    vectors.len() % d,
                    vectors.len() / d
                )));
            }
            vectors.push(x);
        }

        let mut first_list = Vec::new();
        let mut list_end = Vec::new();
        let mut neighbours = Vec::new();
        if has_graph {
            first_list.reserve(n);
            for (i, &level) in levels.iter().enumerate() {
                first_list.push(list_end.len() as u32);
                for layer in 0..=level {
                    let cap = if layer == 0 { 2 * m } else { m };
                    let count = cur.varint("a neighbour count")?;
                    if count > u64::from(cap) {
                        return Err(corrupt(format!("node {i} has {count} neighbours on layer {layer}, limit {cap}")));
                    }
                    for _ in 0..count {
                        let nb = cur.u32("a neighbour")?;
                        if nb >= node_count || nb as usize == i || levels[nb as usize] < layer {
                            return Err(corrupt(format!("node {i} layer {layer}: bad neighbour {nb}")));
                        }
                        neighbours.push(nb);
                    }
                    list_end.push(neighbours.len() as u32);
                }
            }
        }
        if !cur.input.is_empty() {
            return Err(corrupt(format!("{} unexpected bytes before the checksum", cur.input.len())));
        }
        Ok(Segment {
            path: path.to_path_buf(),
            fingerprint,
            metric,
            dim: d,
            m,
            keys,
            timestamps,
            levels,
            vectors,
            entry: has_graph.then_some((entry_point, max_level)),
            first_list,
            list_end,
            neighbours,
        })
    }

    /// The fingerprint of the spec the segment was built for.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// How the segment's vectors are compared.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Elements per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The HNSW `m` the graph was built with.
    pub fn m(&self) -> u32 {
        self.m
    }

    /// Number of nodes (indexed versions).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the segment indexes nothing.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when the segment has HNSW layers (otherwise it is searched
    /// exactly).
    pub fn has_graph(&self) -> bool {
        self.entry.is_some()
    }

    /// The user key of `node`.
    pub fn key(&self, node: u32) -> &Bytes {
        &self.keys[node as usize]
    }

    /// The timestamp of the version `node` indexes.
    pub fn ts(&self, node: u32) -> Timestamp {
        self.timestamps[node as usize]
    }

    /// The vector of `node` as stored (unit length for cosine).
    pub fn vector(&self, node: u32) -> &[f32] {
        let start = node as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    /// The neighbours of `node` on `layer` (empty above its level or
    /// without a graph).
    pub fn neighbours(&self, node: u32, layer: u8) -> &[u32] {
        let node = node as usize;
        if self.first_list.is_empty() || layer > self.levels[node] {
            return &[];
        }
        let list = self.first_list[node] as usize + layer as usize;
        let start = if list == 0 { 0 } else { self.list_end[list - 1] as usize };
        &self.neighbours[start..self.list_end[list] as usize]
    }

    /// The table file the segment came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
