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
    let (smallest, largest) = span(&inputs)?;
    let range: KeyBounds = (Bound::Included(smallest), Bound::Included(largest));
    let output_level = level + 1;
    let overlapping = version.overlapping(output_level, &range);
    let bottommost = ((output_level + 1)..version.levels.len()).all(|l| version.overlapping(l, &range).is_empty());
    let trivial_move = inputs.len() == 1 && overlapping.is_empty();
    Some(CompactionTask { input_level: level, output_level, inputs, overlapping, bottommost, trivial_move })
}
