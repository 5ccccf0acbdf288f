//! Iterator adapters that turn many sorted sources into one consistent view.
//!
//! A read at snapshot `ts` sees a stack of sources: the active memtable, the
//! immutable memtables waiting to flush, the L0 SSTables (which overlap), and
//! one sorted run per deeper level. Each source yields versions in internal
//! order (user key ascending, timestamp descending), or in exactly the reverse
//! order for a reverse scan.
//!
//! ```text
//!   memtable ─┐
//!   imm[0..] ─┤
//!   L0 tables ┼─► MergeIter ──► VisibleIter(ts) ──► (key, value) at ts
//!   L1 run  ──┤   (heap)        (newest version <= ts,
//!   L2 run  ──┘                  tombstones hidden)
//! ```
//!
//! [`MergeIter`] is a k-way heap merge; when two sources hold the same
//! `(key, ts)` the newer source wins. [`VisibleIter`] applies MVCC visibility.
//! Both work in either direction, so reverse scans need no separate read path.

mod merge;
mod visible;

pub use merge::MergeIter;
pub use visible::VisibleIter;

use crate::error::Result;
use crate::key::Entry;

/// A boxed source of versions in internal order (or its reverse).
pub type BoxedIter = Box<dyn Iterator<Item = Result<Entry>> + Send>;
