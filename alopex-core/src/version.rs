//! A version: the immutable set of live SSTables, level by level.
//!
//! Flushes and compactions never modify a version; they build a new one from
//! the old plus an edit and swap it in. Readers hold an `Arc<Version>` for as
//! long as they iterate, so a compaction that deletes a table never pulls it
//! out from under a reader (on Unix the open file stays readable after
//! unlink).
//!
//! Level 0 holds flushed memtables, which may overlap; it is ordered newest
//! table first. Every deeper level is one sorted run: its tables do not
//! overlap and are ordered by smallest key, so a point read consults at most
//! one table per level.

use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use crate::iter::BoxedIter;
use crate::sstable::Table;

/// A key range over user keys.
pub type KeyBounds = (Bound<Bytes>, Bound<Bytes>);

/// The live tables, per level.
#[derive(Debug, Clone)]
pub struct Version {
    /// `levels[0]` newest first; deeper levels sorted by smallest key.
    pub levels: Vec<Vec<Arc<Table>>>,
    /// Per level, the largest key of the last compaction that took input
    /// from it; the next compaction of that level starts after it.
    pub compact_cursor: Vec<Option<Bytes>>,
}

/// True when `[smallest, largest]` intersects `range`.
pub fn overlaps(smallest: &[u8], largest: &[u8], range: &KeyBounds) -> bool {
    let below_end = match &range.1 {
        Bound::Included(e) => smallest <= e.as_ref(),
        Bound::Excluded(e) => smallest < e.as_ref(),
        Bound::Unbounded => true,
    };
    let above_start = match &range.0 {
        Bound::Included(s) => largest >= s.as_ref(),
        Bound::Excluded(s) => largest > s.as_ref(),
        Bound::Unbounded => true,
    };
    below_end && above_start
}

fn table_overlaps(t: &Table, range: &KeyBounds) -> bool {
    let p = t.properties();
    overlaps(&p.smallest_key, &p.largest_key, range)
}

impl Version {
    /// An empty version with `num_levels` levels.
    pub fn new(num_levels: usize) -> Self {
        Version { levels: vec![Vec::new(); num_levels], compact_cursor: vec![None; num_levels] }
    }

    /// A new version: this one minus `remove` (table ids) plus `add`.
    pub fn with_changes(&self, remove: &[u64], add: &[(usize, Arc<Table>)]) -> Version {
        let mut next = self.clone();
        for level in &mut next.levels {
            level.retain(|t| !remove.contains(&t.id()));
        }
        for (level, table) in add {
            next.levels[*level].push(Arc::clone(table));
        }
        next.levels[0].sort_by_key(|t| std::cmp::Reverse(t.id()));
        for level in next.levels.iter_mut().skip(1) {
            level.sort_by(|a, b| a.properties().smallest_key.cmp(&b.properties().smallest_key));
        }
        next
    }

    /// Total file bytes at `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.properties().file_size).sum()
    }

    /// Every live table.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.levels.iter().flatten()
    }

    /// Tables at `level` whose key span intersects `range`, in level order.
    pub fn overlapping(&self, level: usize, range: &KeyBounds) -> Vec<Arc<Table>> {
        self.levels[level].iter().filter(|t| table_overlaps(t, range)).cloned().collect()
    }

    /// The one table at `level` (≥ 1) that may hold `key`.
    pub fn table_for_key(&self, level: usize, key: &[u8]) -> Option<&Arc<Table>> {
        let run = &self.levels[level];
        let idx = run.partition_point(|t| t.properties().largest_key.as_ref() < key);
        run.get(idx).filter(|t| t.properties().smallest_key.as_ref() <= key)
    }

    /// One iterator per source, newest first: each L0 table, then one lazy
    /// concatenation per deeper level.
    pub fn iterators(&self, range: &KeyBounds, reverse: bool) -> Vec<BoxedIter> {
        let mut out: Vec<BoxedIter> = Vec::new();
        for t in self.levels[0].iter().filter(|t| table_overlaps(t, range)) {
            out.push(Box::new(t.iter(range.clone(), reverse)));
        }
        for level in 1..self.levels.len() {
            let mut tables = self.overlapping(level, range);
            if tables.is_empty() {
                continue;
            }
            if reverse {
                tables.reverse();
            }
            out.push(level_iter(tables, range.clone(), reverse));
        }
        out
    }

    /// Checks the level invariants; used by tests and debug assertions.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (level, run) in self.levels.iter().enumerate().skip(1) {
            for pair in run.windows(2) {
                let (a, b) = (pair[0].properties(), pair[1].properties());
                if a.largest_key.cmp(&b.smallest_key) != Ordering::Less {
                    return Err(format!("level {level}: tables {} and {} overlap", pair[0].id(), pair[1].id()));
                }
            }
        }
        Ok(())
    }
}

/// Concatenates the iterators of non-overlapping tables, opening each lazily.
pub fn level_iter(tables: Vec<Arc<Table>>, range: KeyBounds, reverse: bool) -> BoxedIter {
    Box::new(tables.into_iter().flat_map(move |t| t.iter(range.clone(), reverse)))
}
