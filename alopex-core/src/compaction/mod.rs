//! Leveled compaction: deciding is pure, doing is separate.
//!
//! [`picker::choose`] looks at a [`Version`](crate::version::Version) and the
//! options and returns what to compact, or nothing; it performs no I/O and is
//! tested as a plain function. [`worker::run`] merges the chosen tables into
//! new ones, dropping versions that no live snapshot can see. The engine's
//! compaction thread glues the two together and installs the result through
//! the manifest.
//!
//! The policy is classic leveled compaction:
//!
//! * L0 is compacted into L1 when it holds `l0_compaction_trigger` tables
//!   (all of L0 plus every overlapping L1 table is merged).
//! * Level `i ≥ 1` is compacted when its size exceeds its target
//!   (`level1_target_bytes × level_size_ratio^(i-1)`): one table, chosen
//!   round-robin after the level's cursor, is merged with the tables it
//!   overlaps in level `i+1`. If it overlaps nothing there, it is moved down
//!   without rewriting (a trivial move).
//! * The level with the highest score (size / target, or L0 count / trigger)
//!   goes first.
//!
//! Garbage collection happens during the merge: for each key, every version
//! newer than the GC watermark (the oldest live snapshot) is kept, plus the
//! newest version at or below it; older ones are invisible to everyone and
//! dropped. That newest version is dropped too if it is a tombstone and the
//! output is the bottommost data for the key range.

pub mod picker;
pub mod worker;

pub use picker::{CompactionTask, choose};
