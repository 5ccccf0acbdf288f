//! A k-way merge of sorted version streams.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::binary_heap::PeekMut;

use crate::error::Result;
use crate::key::Entry;

use super::BoxedIter;

/// One head-of-stream in the heap.
struct Head {
    entry: Entry,
    source: usize,
    reverse: bool,
}

impl Head {
    /// The order in which heads are yielded: `Less` = yielded first.
    fn yield_order(&self, other: &Head) -> Ordering {
        let by_key = self.entry.cmp_internal(&other.entry);
        let by_key = if self.reverse { by_key.reverse() } else { by_key };
        // Equal (key, ts) in two sources: the lower source index is newer.
        by_key.then(self.source.cmp(&other.source))
    }
}

impl Head {
    fn ts_and_key_eq(&self, other: &Entry) -> bool {
        self.entry.ts == other.ts && self.entry.key == other.key
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.yield_order(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: invert so the first-to-yield is on top.
        other.yield_order(self)
    }
}

/// Merges sources ordered newest first into one stream. Duplicate
/// `(key, ts)` versions are collapsed to the one from the newest source.
pub struct MergeIter {
    sources: Vec<BoxedIter>,
    heap: BinaryHeap<Head>,
    reverse: bool,
    started: bool,
    failed: bool,
}

impl MergeIter {
    /// Merges `sources` (index 0 is the newest) in the given direction. Every
    /// source must already be ordered in that direction.
    pub fn new(sources: Vec<BoxedIter>, reverse: bool) -> Self {
        MergeIter { sources, heap: BinaryHeap::new(), reverse, started: false, failed: false }
    }

    fn pull(&mut self, source: usize) -> Result<()> {
        if let Some(item) = self.sources[source].next() {
            self.heap.push(Head { entry: item?, source, reverse: self.reverse });
        }
        Ok(())
    }

    fn step(&mut self) -> Result<Option<Entry>> {
        if let [only] = &mut self.sources[..] {
            // One source: nothing to merge or shadow.
            return only.next().transpose();
        }
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.pull(i)?;
            }
        }
        if self.heap.len() == 1 {
            // One source left (the others, e.g. a memtable with nothing in
            // the range, are exhausted): nothing to order or shadow, so its
            // entries pass straight through, without the heap's sift and
            // the duplicate check (a memcmp per entry when, as after a bulk
            // load, neighbouring versions share a timestamp).
            return self.advance_top();
        }
        let Some(head) = self.advance_top()? else { return Ok(None) };
        // The same version in older sources is shadowed. Equal versions
        // come out of the heap one after the other (newest source first),
        // so they are dropped here while the winner is in hand, without
        // keeping a copy of its key.
        while let Some(next) = self.heap.peek()
            && next.ts_and_key_eq(&head)
        {
            self.advance_top()?;
        }
        Ok(Some(head))
    }

    /// Takes the top entry and refills its slot from the same source. The
    /// refill replaces the top in place, so the heap sifts once (usually a
    /// comparison or two: runs from one source tend to stay on top) instead
    /// of a pop and a push.
    fn advance_top(&mut self) -> Result<Option<Entry>> {
        let Some(mut top) = self.heap.peek_mut() else { return Ok(None) };
        match self.sources[top.source].next() {
            Some(Ok(next)) => Ok(Some(std::mem::replace(&mut top.entry, next))),
            Some(Err(e)) => Err(e),
            None => Ok(Some(PeekMut::pop(top).entry)),
        }
    }
}

impl Iterator for MergeIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(e) => e.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn e(k: &str, ts: u64, v: &str) -> Entry {
        Entry { key: Bytes::copy_from_slice(k.as_bytes()), ts, value: Some(Bytes::copy_from_slice(v.as_bytes())) }
    }

    fn src(mut v: Vec<Entry>, reverse: bool) -> BoxedIter {
        v.sort_by(|a, b| a.cmp_internal(b));
        if reverse {
            v.reverse();
        }
        Box::new(v.into_iter().map(Ok))
    }

    #[test]
    fn merges_and_newer_source_wins_on_duplicates() {
        for reverse in [false, true] {
            let newer = src(vec![e("a", 2, "new"), e("c", 1, "c1")], reverse);
            let older = src(vec![e("a", 2, "old"), e("a", 1, "a1"), e("b", 5, "b5")], reverse);
            let out: Vec<Entry> = MergeIter::new(vec![newer, older], reverse).collect::<Result<_>>().expect("ok");
            let mut expect = vec![e("a", 2, "new"), e("a", 1, "a1"), e("b", 5, "b5"), e("c", 1, "c1")];
            if reverse {
                expect.reverse();
            }
            assert_eq!(out, expect);
        }
    }

    #[test]
    fn one_source_passes_through_and_shadowing_spans_many_sources() {
        for reverse in [false, true] {
            let only = src(vec![e("a", 2, "a2"), e("a", 1, "a1"), e("b", 1, "b1")], reverse);
            let out: Vec<Entry> = MergeIter::new(vec![only], reverse).collect::<Result<_>>().expect("ok");
            let mut expect = vec![e("a", 2, "a2"), e("a", 1, "a1"), e("b", 1, "b1")];
            if reverse {
                expect.reverse();
            }
            assert_eq!(out, expect);

            let sources = vec![
                src(vec![e("b", 3, "new")], reverse),
                src(vec![e("a", 1, "a1"), e("b", 3, "mid"), e("c", 1, "c1")], reverse),
                src(vec![e("b", 3, "old"), e("b", 2, "b2")], reverse),
            ];
            let out: Vec<Entry> = MergeIter::new(sources, reverse).collect::<Result<_>>().expect("ok");
            let mut expect = vec![e("a", 1, "a1"), e("b", 3, "new"), e("b", 2, "b2"), e("c", 1, "c1")];
            if reverse {
                expect.reverse();
            }
            assert_eq!(out, expect);
        }
    }
}
