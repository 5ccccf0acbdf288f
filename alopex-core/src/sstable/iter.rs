//! Range iteration over one table, forward or reverse, loading blocks lazily.
//!
//! A [`TableIter`] owns an `Arc<Table>`, so it can outlive the borrow that
//! created it (the engine merges many of these). It does no I/O until the
//! first call to `next`, and then reads one data block at a time through the
//! block cache; a scan that stops early never touches the rest of the table.
//!
//! Bounds are on *user keys*, and an iterator yields every version of every
//! key in range:
//!
//! * **Forward** seeks to the internal key `(lower, ts = MAX)`, the first
//!   possible version of the lower bound, and walks blocks in order. For an
//!   excluded lower bound the versions of that key are skipped. The first
//!   entry past the upper bound ends the iteration.
//! * **Reverse** finds the block that holds `(upper, ts = 0)`, the last
//!   possible version of the upper bound, decodes that whole block into a
//!   `Vec` and pops from the back; then moves to the previous block. Entries
//!   past the upper bound are skipped until the first one in range; the first
//!   entry before the lower bound ends the iteration. Prefix compression makes
//!   walking a block backwards in place impractical, and a block is small.
//!
//! Corruption surfaces as one `Err` item (a [`crate::Error::Corruption`]
//! naming the file and block); after it the iterator yields `None`.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::block::BlockIter;
use super::key_arena::KeyArena;
use super::reader::Table;
use crate::Result;
use crate::key::{Entry, Timestamp, ValueKind, encode_internal_key};

/// Iterator over the versions of one table in a user-key range. Yields
/// `Result<Entry>`; see the module docs.
#[derive(Debug)]
pub struct TableIter {
    table: Arc<Table>,
    lower: Bound<Bytes>,
    upper: Bound<Bytes>,
    reverse: bool,
    started: bool,
    done: bool,
    /// Index (into the table index) of the block being read.
    block: usize,
    /// Forward: cursor in the current block.
    cursor: Option<BlockIter>,
    /// Forward: the cursor's entry was yielded; advance before reading.
    advance_first: bool,
    /// Reverse: the current block's remaining entries, popped from the back.
    decoded: Vec<Entry>,
    /// Forward: passed the lower bound. Reverse: passed the upper bound.
    in_range: bool,
    /// Where yielded keys are copied.
    arena: KeyArena,
}

impl TableIter {
    pub(crate) fn new(table: Arc<Table>, range: (Bound<Bytes>, Bound<Bytes>), reverse: bool) -> Self {
        TableIter {
            table,
            lower: range.0,
            upper: range.1,
            reverse,
            started: false,
            done: false,
            block: 0,
            cursor: None,
            advance_first: false,
            decoded: Vec::new(),
            in_range: false,
            arena: KeyArena::default(),
        }
    }

    /// Ends the iteration and releases the blocks it holds.
    fn stop(&mut self) {
        self.done = true;
        self.cursor = None;
        self.decoded = Vec::new();
    }

    fn below_lower(&self, key: &[u8]) -> bool {
        match &self.lower {
            Bound::Included(k) => key < k.as_ref(),
            Bound::Excluded(k) => key <= k.as_ref(),
            Bound::Unbounded => false,
        }
    }

    fn above_upper(&self, key: &[u8]) -> bool {
        match &self.upper {
            Bound::Included(k) => key > k.as_ref(),
            Bound::Excluded(k) => key >= k.as_ref(),
            Bound::Unbounded => false,
        }
    }

    /// The index of the first block whose last key is `>= (user_key, ts)`.
    fn block_for(&self, user_key: &[u8], ts: Timestamp) -> (usize, Vec<u8>) {
        let target = seek_key(user_key, ts);
        (self.table.block_for(user_key, &target), target)
    }

    /// Opens block `i` with a cursor at the first entry `>= target` (or the
    /// first entry).
    fn open_cursor(&mut self, i: usize, target: Option<&[u8]>) -> Result<()> {
        let block = self.table.data_block(i)?;
        let mut it = block.iter();
        let positioned = match target {
            Some(t) => it.seek(t),
            None => it.seek_to_first(),
        };
        positioned.map_err(|m| self.table.data_malformed(i, m))?;
        self.block = i;
        self.cursor = Some(it);
        self.advance_first = false;
        Ok(())
    }

    fn step_forward(&mut self) -> Result<Option<Entry>> {
        let blocks = self.table.index().len();
        if !self.started {
            self.started = true;
            let (first, target) = match &self.lower {
                Bound::Included(k) | Bound::Excluded(k) => {
                    let (first, target) = self.block_for(k, Timestamp::MAX);
                    (first, Some(target))
                }
                Bound::Unbounded => (0, None),
            };
            if first >= blocks {
                return Ok(None);
            }
            self.open_cursor(first, target.as_deref())?;
        }
        loop {
            let Some(it) = self.cursor.as_mut() else {
                return Ok(None);
            };
            if self.advance_first {
                self.advance_first = false;
                if let Err(m) = it.advance() {
                    return Err(self.table.data_malformed(self.block, m));
                }
            }
            if !it.valid() {
                let next = self.block + 1;
                if next >= blocks {
                    return Ok(None);
                }
                self.open_cursor(next, None)?;
                continue;
            }
            let entry = self.table.decode_entry(self.block, it, Some(&mut self.arena))?;
            self.advance_first = true;
            if !self.in_range {
                if self.below_lower(&entry.key) {
                    continue;
                }
                self.in_range = true;
            }
            if self.above_upper(&entry.key) {
                return Ok(None);
            }
            return Ok(Some(entry));
        }
    }

    /// Decodes every entry of block `i`.
    fn decode_block(&mut self, i: usize) -> Result<Vec<Entry>> {
        let block = self.table.data_block(i)?;
        let mut it = block.iter();
        it.seek_to_first().map_err(|m| self.table.data_malformed(i, m))?;
        let mut out = Vec::new();
        while it.valid() {
            out.push(self.table.decode_entry(i, &it, Some(&mut self.arena))?);
            it.advance().map_err(|m| self.table.data_malformed(i, m))?;
        }
        Ok(out)
    }

    fn step_reverse(&mut self) -> Result<Option<Entry>> {
        if !self.started {
            self.started = true;
            let blocks = self.table.index().len();
            if blocks == 0 {
                return Ok(None);
            }
            let last = match &self.upper {
                Bound::Included(k) | Bound::Excluded(k) => self.block_for(k, 0).0.min(blocks - 1),
                Bound::Unbounded => blocks - 1,
            };
            self.decoded = self.decode_block(last)?;
            self.block = last;
        }
        loop {
            let Some(entry) = self.decoded.pop() else {
                if self.block == 0 {
                    return Ok(None);
                }
                self.block -= 1;
                self.decoded = self.decode_block(self.block)?;
                continue;
            };
            if !self.in_range {
                if self.above_upper(&entry.key) {
                    continue;
                }
                self.in_range = true;
            }
            if self.below_lower(&entry.key) {
                return Ok(None);
            }
            return Ok(Some(entry));
        }
    }
}

impl Iterator for TableIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.done {
            return None;
        }
        let step = if self.reverse { self.step_reverse() } else { self.step_forward() };
        match step {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.stop();
                None
            }
            Err(e) => {
                self.stop();
                Some(Err(e))
            }
        }
    }
}

/// The encoded internal key `(user_key, ts)`; the kind byte does not affect
/// ordering.
fn seek_key(user_key: &[u8], ts: Timestamp) -> Vec<u8> {
    let mut key = Vec::with_capacity(user_key.len() + crate::key::SUFFIX_LEN);
    encode_internal_key(&mut key, user_key, ts, ValueKind::Value);
    key
}
