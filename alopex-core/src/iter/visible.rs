//! MVCC visibility: from all versions to the state at one snapshot.

use crate::error::Result;
use crate::key::{Entry, Timestamp};

use super::BoxedIter;

/// Yields, for each user key, the newest version with `ts <= read_ts`,
/// skipping keys whose visible version is a tombstone (unless built
/// [`VisibleIter::with_tombstones`]).
///
/// Forward input is ordered key ascending and timestamp descending, so the
/// first version `<= read_ts` of each key wins. Reverse input sees a key's
/// versions oldest first, so the adapter remembers the last version
/// `<= read_ts` until the key changes.
///
/// Generic over its input so that the engine's scans run the merge below
/// it without a dynamic call per version (the default, a boxed source,
/// serves everything else).
pub struct VisibleIter<I: Iterator<Item = Result<Entry>> = BoxedIter> {
    inner: std::iter::Peekable<I>,
    read_ts: Timestamp,
    reverse: bool,
    failed: bool,
    /// Yield a key's newest version even when it is a tombstone.
    tombstones: bool,
}

impl<I: Iterator<Item = Result<Entry>>> VisibleIter<I> {
    /// Applies visibility at `read_ts` to `inner`, ordered in `reverse` or not.
    pub fn new(inner: I, read_ts: Timestamp, reverse: bool) -> Self {
        VisibleIter { inner: inner.peekable(), read_ts, reverse, failed: false, tombstones: false }
    }

    /// Like [`VisibleIter::new`], but a key whose newest version at
    /// `read_ts` is a tombstone is yielded too (`value: None`): a layer
    /// that asks *when* each key last changed must see deletes as changes.
    pub fn with_tombstones(inner: I, read_ts: Timestamp, reverse: bool) -> Self {
        VisibleIter { tombstones: true, ..Self::new(inner, read_ts, reverse) }
    }

    fn step_forward(&mut self) -> Result<Option<Entry>> {
        while let Some(item) = self.inner.next() {
            let entry = item?;
            if entry.ts > self.read_ts {
                continue;
            }
            // The newest visible version decides the key: its older
            // versions follow it directly and are skipped here, by comparing
            // with the entry in hand instead of keeping a copy of its key.
            while let Some(Ok(next)) = self.inner.peek() {
                if next.key != entry.key {
                    break;
                }
                self.inner.next();
            }
            if entry.value.is_some() || self.tombstones {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    fn step_reverse(&mut self) -> Result<Option<Entry>> {
        loop {
            let Some(first) = self.inner.next() else { return Ok(None) };
            let first = first?;
            let key = first.key.clone();
            let mut best = (first.ts <= self.read_ts).then_some(first);
            loop {
                match self.inner.peek() {
                    Some(Ok(next)) if next.key == key => {}
                    Some(Err(_)) => {
                        if let Some(Err(e)) = self.inner.next() {
                            return Err(e);
                        }
                    }
                    _ => break,
                }
                if let Some(Ok(next)) = self.inner.next()
                    && next.ts <= self.read_ts
                {
                    best = Some(next);
                }
            }
            if let Some(best) = best
                && (best.value.is_some() || self.tombstones)
            {
                return Ok(Some(best));
            }
        }
    }
}

impl<I: Iterator<Item = Result<Entry>>> Iterator for VisibleIter<I> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let step = if self.reverse { self.step_reverse() } else { self.step_forward() };
        match step {
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

    fn e(k: &str, ts: u64, v: Option<&str>) -> Entry {
        Entry { key: Bytes::copy_from_slice(k.as_bytes()), ts, value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())) }
    }

    #[test]
    fn visibility_both_directions() {
        let versions = vec![
            e("a", 9, Some("a9")),
            e("a", 3, Some("a3")),
            e("b", 5, None),
            e("b", 2, Some("b2")),
            e("c", 7, Some("c7")),
            e("d", 4, None),
        ];
        let run = |ts: u64, reverse: bool| -> Vec<(String, String)> {
            let mut input = versions.clone();
            if reverse {
                input.reverse();
            }
            let mut out: Vec<(String, String)> = VisibleIter::new(Box::new(input.into_iter().map(Ok)), ts, reverse)
                .map(|r| r.expect("ok"))
                .map(|e| {
                    let v = e.value.expect("visible values only");
                    (String::from_utf8_lossy(&e.key).into_owned(), String::from_utf8_lossy(&v).into_owned())
                })
                .collect();
            if reverse {
                out.reverse();
            }
            out
        };
        for reverse in [false, true] {
            let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
                v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
            };
            assert_eq!(run(4, reverse), pairs(&[("a", "a3"), ("b", "b2")]));
            assert_eq!(run(6, reverse), pairs(&[("a", "a3")]));
            assert_eq!(run(10, reverse), pairs(&[("a", "a9"), ("c", "c7")]));
            assert_eq!(run(1, reverse), pairs(&[]));
        }
    }
}
