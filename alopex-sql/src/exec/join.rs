//! What every join does once it knows which right rows may match a left
//! row: the six join kinds' output rules.
//!
//! Both joins materialize the right side once, when they open (the binder
//! never makes the right side depend on the left row, so one pass is
//! enough), then stream the left side. For each left row the join names its
//! *candidates*: every right row for a nested loop, the rows of one hash
//! bucket for a hash join. [`JoinCore`] tries the predicate on each
//! candidate and applies the kind's rules:
//!
//! - Inner: left ++ right for every match.
//! - Left: as Inner, plus left ++ NULLs when a left row matched nothing.
//! - Right: as Inner, marking matched right rows; after the left side is
//!   done, NULLs ++ right for every right row never matched.
//! - Full: both of the above.
//! - Semi: the left row once, at its first match (no more candidates tried).
//! - Anti: the left row when nothing matched (stops at the first match).
//!
//! The combined row is built in a reused scratch buffer and only copied out
//! when it is returned, so a nested loop whose predicate rejects most pairs
//! does not allocate per pair.

use super::{ExecContext, Executor, eval_pred};
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::JoinKind;
use crate::types::{Row, Value};

/// The right rows that may match one left row.
pub(super) enum Candidates {
    /// Every right row.
    All,
    /// The right rows of one bucket of [`JoinCore::buckets`].
    Bucket(usize),
    /// None (a NULL join key, or no bucket).
    Nothing,
}

/// A left row being matched.
struct Probe {
    left: Row,
    candidates: Candidates,
    /// The next candidate to try.
    pos: usize,
    matched: bool,
}

/// The join rules over a materialized right side.
pub(super) struct JoinCore {
    kind: JoinKind,
    predicate: Option<Expr>,
    left_width: usize,
    right_width: usize,
    /// The right side.
    right: Vec<Row>,
    /// Positions in `right`, grouped by key (hash joins only).
    buckets: Vec<Vec<usize>>,
    /// Which right rows matched (Right and Full joins only).
    right_matched: Vec<bool>,
    current: Option<Probe>,
    left_done: bool,
    /// The next right row to consider for the unmatched tail.
    tail: usize,
    scratch: Row,
}

impl JoinCore {
    /// The rules for `kind`; `predicate` is over left ++ right.
    pub(super) fn new(kind: JoinKind, predicate: Option<Expr>, left_width: usize, right_width: usize) -> JoinCore {
        JoinCore {
            kind,
            predicate,
            left_width,
            right_width,
            right: Vec::new(),
            buckets: Vec::new(),
            right_matched: Vec::new(),
            current: None,
            left_done: false,
            tail: 0,
            scratch: Vec::with_capacity(left_width + right_width),
        }
    }

    /// True when unmatched right rows are emitted (so right rows with NULL
    /// keys must be kept).
    pub(super) fn keeps_unmatched_right(&self) -> bool {
        matches!(self.kind, JoinKind::Right | JoinKind::Full)
    }

    /// Installs the materialized right side.
    pub(super) fn set_right(&mut self, right: Vec<Row>, buckets: Vec<Vec<usize>>) {
        if self.keeps_unmatched_right() {
            self.right_matched = vec![false; right.len()];
        }
        self.right = right;
        self.buckets = buckets;
    }

    /// The next joined row: pulls left rows from `left` and asks `probe`
    /// for each one's candidates.
    pub(super) fn next(
        &mut self,
        left: &mut dyn Executor,
        cx: &mut ExecContext<'_>,
        probe: &mut dyn FnMut(&Row, &mut ExecContext<'_>) -> Result<Candidates>,
    ) -> Result<Option<Row>> {
        loop {
            if let Some(out) = self.advance_probe(cx)? {
                return Ok(Some(out));
            }
            if self.current.is_some() {
                continue;
            }
            if !self.left_done {
                match left.next(cx)? {
                    Some(row) => {
                        if row.len() != self.left_width {
                            return Err(crate::error::Error::internal(format!(
                                "join expected {}-column left rows, got {}",
                                self.left_width,
                                row.len()
                            )));
                        }
                        let candidates = probe(&row, cx)?;
                        self.current = Some(Probe { left: row, candidates, pos: 0, matched: false });
                        continue;
                    }
                    None => self.left_done = true,
                }
            }
            return Ok(self.next_unmatched_right());
        }
    }

    /// Tries the current left row's remaining candidates. Returns a row to
    /// emit, or None with `current` still set (more to do) or cleared (the
    /// left row is finished, or there was none).
    fn advance_probe(&mut self, cx: &mut ExecContext<'_>) -> Result<Option<Row>> {
        let Some(probe) = self.current.as_mut() else { return Ok(None) };
        loop {
            let index = match probe.candidates {
                Candidates::All => (probe.pos < self.right.len()).then_some(probe.pos),
                Candidates::Bucket(b) => self.buckets.get(b).and_then(|bucket| bucket.get(probe.pos)).copied(),
                Candidates::Nothing => None,
            };
            let Some(index) = index else { break };
            probe.pos += 1;
            // Joins over materialized sides read no table per pair.
            cx.check_interrupt()?;
            let right = &self.right[index];
            self.scratch.clear();
            self.scratch.extend_from_slice(&probe.left);
            self.scratch.extend_from_slice(right);
            let matches = match &self.predicate {
                Some(p) => eval_pred(p, &self.scratch, cx)?,
                None => true,
            };
            if !matches {
                continue;
            }
            probe.matched = true;
            match self.kind {
                JoinKind::Semi => {
                    let probe = self.current.take();
                    return Ok(probe.map(|p| p.left));
                }
                JoinKind::Anti => {
                    self.current = None;
                    return Ok(None);
                }
                JoinKind::Right | JoinKind::Full => {
                    self.right_matched[index] = true;
                    return Ok(Some(self.scratch.clone()));
                }
                JoinKind::Inner | JoinKind::Left => return Ok(Some(self.scratch.clone())),
            }
        }
        // Candidates exhausted.
        let Some(probe) = self.current.take() else { return Ok(None) };
        if probe.matched {
            return Ok(None);
        }
        Ok(match self.kind {
            JoinKind::Left | JoinKind::Full => {
                let mut row = probe.left;
                row.resize(self.left_width + self.right_width, Value::Null);
                Some(row)
            }
            JoinKind::Anti => Some(probe.left),
            JoinKind::Inner | JoinKind::Right | JoinKind::Semi => None,
        })
    }

    /// For Right and Full joins, once the left side is done: the next right
    /// row that never matched, padded with NULLs on the left.
    fn next_unmatched_right(&mut self) -> Option<Row> {
        if !self.keeps_unmatched_right() {
            return None;
        }
        while self.tail < self.right.len() {
            let i = self.tail;
            self.tail += 1;
            if !self.right_matched[i] {
                let mut row = vec![Value::Null; self.left_width];
                row.extend(std::mem::take(&mut self.right[i]));
                return Some(row);
            }
        }
        None
    }
}
