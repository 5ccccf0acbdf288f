//! Choosing a compaction: a pure function of the current version.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use crate::options::Options;
use crate::sstable::Table;
use crate::version::{KeyBounds, Version};

/// One unit of compaction work.
#[derive(Debug, Clone)]
pub struct CompactionTask {
    /// The level the inputs come from.
    pub input_level: usize,
    /// The level the outputs go to.
    pub output_level: usize,
    /// Tables taken from `input_level` (L0: newest first).
    pub inputs: Vec<Arc<Table>>,
    /// Tables of `output_level` that overlap the inputs.
    pub overlapping: Vec<Arc<Table>>,
    /// No deeper level holds data in this key span: tombstones may go.
    pub bottommost: bool,
    /// A single input overlaps nothing below: move it without rewriting.
    pub trivial_move: bool,
}

impl CompactionTask {
    /// Every table this task consumes.
    pub fn all_inputs(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.inputs.iter().chain(self.overlapping.iter())
    }
}

fn span(tables: &[Arc<Table>]) -> Option<(Bytes, Bytes)> {
    let smallest = tables.iter().map(|t| t.properties().smallest_key.clone()).min()?;
    let largest = tables.iter().map(|t| t.properties().largest_key.clone()).max()?;
    Some((smallest, largest))
}

/// Picks the most urgent compaction, or `None` when every level is within
/// its budget.
pub fn choose(version: &Version, opts: &Options) -> Option<CompactionTask> {
    let last = version.levels.len().checked_sub(1)?;
    let mut best: Option<(f64, usize)> = None;
    let l0_score = version.levels[0].len() as f64 / opts.l0_compaction_trigger.max(1) as f64;
    if l0_score >= 1.0 {
        best = Some((l0_score, 0));
    }
    for level in 1..last {
        let score = version.level_bytes(level) as f64 / opts.level_target_bytes(level).max(1) as f64;
        if score > 1.0 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, level));
        }
    }
    let (_, level) = best?;
    let inputs: Vec<Arc<Table>> = if level == 0 {
        version.levels[0].clone()
    } else {
        let run = &version.levels[level];
        let cursor = version.compact_cursor[level].as_ref();
        let pick =
            run.iter().find(|t| cursor.is_none_or(|c| t.properties().smallest_key > *c)).or_else(|| run.first())?;
        vec![Arc::clone(pick)]
    };
    Some(task(version, level, inputs, true))
}

/// Builds the task that merges `inputs` (from `input_level`) into the next
/// level: the overlapping tables there, whether the output is bottommost,
/// and whether a single input can simply move down (`allow_move`).
///
/// Bottommost is judged over the span of *everything* the merge rewrites,
/// inputs and overlapping tables alike: a tombstone from an overlapping
/// table may shadow a version in a deeper level even where the inputs do
/// not reach.
pub fn task(version: &Version, input_level: usize, inputs: Vec<Arc<Table>>, allow_move: bool) -> CompactionTask {
    let output_level = input_level + 1;
    let overlapping = match span(&inputs) {
        Some((smallest, largest)) => {
            version.overlapping(output_level, &(Bound::Included(smallest), Bound::Included(largest)))
        }
        None => Vec::new(),
    };
    let all: Vec<Arc<Table>> = inputs.iter().chain(overlapping.iter()).cloned().collect();
    let bottommost = match span(&all) {
        Some((smallest, largest)) => {
            let merged: KeyBounds = (Bound::Included(smallest), Bound::Included(largest));
            ((output_level + 1)..version.levels.len()).all(|l| version.overlapping(l, &merged).is_empty())
        }
        None => true,
    };
    let trivial_move = allow_move && inputs.len() == 1 && overlapping.is_empty();
    CompactionTask { input_level, output_level, inputs, overlapping, bottommost, trivial_move }
}

/// The key span `[smallest, largest]` of the task's tables.
pub fn task_span(task: &CompactionTask) -> Option<KeyBounds> {
    let all: Vec<Arc<Table>> = task.all_inputs().cloned().collect();
    span(&all).map(|(s, l)| (Bound::Included(s), Bound::Included(l)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sstable::{BlockCache, TableBuilder, TableOptions};

    fn table(dir: &std::path::Path, id: u64, keys: &[&str], cache: &Arc<BlockCache>) -> Arc<Table> {
        let path = dir.join(format!("{id}.sst"));
        let mut b = TableBuilder::create(&path, TableOptions::default()).expect("create");
        for k in keys {
            b.add(k.as_bytes(), 1, Some(b"v")).expect("add");
        }
        b.finish().expect("finish");
        Table::open(&path, id, Arc::clone(cache)).expect("open")
    }

    #[test]
    fn bottommost_covers_the_overlapping_tables_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = Arc::new(BlockCache::new(1 << 20));
        // L1 input [d, f]; L2 [a, z] overlaps it; L3 holds b, outside the
        // input's span but inside the L2 table the merge rewrites.
        let l1 = table(dir.path(), 1, &["d", "f"], &cache);
        let l2 = table(dir.path(), 2, &["a", "z"], &cache);
        let l3 = table(dir.path(), 3, &["b"], &cache);
        let v = Version::new(5).with_changes(&[], &[(1, Arc::clone(&l1)), (2, l2), (3, l3)]);
        let t = task(&v, 1, vec![l1], true);
        assert_eq!(t.overlapping.len(), 1);
        assert!(!t.bottommost, "L3 holds data inside the merged span");
        assert!(!t.trivial_move);
    }
}
