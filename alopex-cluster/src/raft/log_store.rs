//! # One group's view of the shared log
//!
//! openraft wants one [`RaftLogStorage`] per group. [`RangeLogStore`] is a
//! thin handle: the range id plus the node's [`SharedLog`]. Reads are
//! answered from the shared log's in-memory state; writes queue a record and
//! either return at once (appends: openraft is told through its `IOFlushed`
//! callback when the fsync covering them is done) or wait for that fsync
//! (votes, truncation, purge: rare, and a vote must be durable before it is
//! acted on).

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{OptionalSend, RaftTypeConfig};

use super::log_file::{Completion, SharedLog};
use super::types::{Entry, LogId, RangeConfig, Vote};

/// The log storage of one range group on one node.
#[derive(Clone, Debug)]
pub struct RangeLogStore {
    range: u64,
    log: SharedLog,
}

impl RangeLogStore {
    /// The log of `range` inside the node's shared log.
    pub fn new(range: u64, log: SharedLog) -> Self {
        RangeLogStore { range, log }
    }

    async fn durable(&self, submit: impl FnOnce(Completion) -> io::Result<()>) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        submit(Box::new(move |r| {
            let _ = tx.send(r);
        }))?;
        rx.await.map_err(|_| io::Error::other("raft log writer stopped"))?
    }
}

impl RaftLogReader<RangeConfig> for RangeLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let lo = range.start_bound().cloned();
        let hi = range.end_bound().cloned();
        if let (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) = (lo, hi)
            && a > b
        {
            return Ok(Vec::new());
        }
        Ok(self.log.read(self.range, |g| {
            g.map(|g| g.entries.range((lo, hi)).map(|(_, e)| e.clone()).collect()).unwrap_or_default()
        }))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(self.log.read(self.range, |g| g.and_then(|g| g.vote)))
    }
}

impl RaftLogStorage<RangeConfig> for RangeLogStore {
    type LogReader = RangeLogStore;

    async fn get_log_state(&mut self) -> Result<LogState<RangeConfig>, io::Error> {
        Ok(self.log.read(self.range, |g| match g {
            None => LogState { last_purged_log_id: None, last_log_id: None },
            Some(g) => LogState { last_purged_log_id: g.purged, last_log_id: g.last_log_id() },
        }))
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let vote = *vote;
        self.durable(|done| self.log.save_vote(self.range, vote, done)).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Not waited for: a lost committed id only means re-applying a few
        // entries after a crash, and the record is ordered after the
        // entries it names.
        self.log.save_committed(self.range, committed, Box::new(|_| {}))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.log.read(self.range, |g| g.and_then(|g| g.committed)))
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<RangeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = <RangeConfig as RaftTypeConfig>::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        self.log.append(self.range, entries, Box::new(move |r| callback.io_completed(r)))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let after = last_log_id.map(|l| l.index);
        self.durable(|done| self.log.truncate_after(self.range, after, done)).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        self.durable(|done| self.log.purge(self.range, log_id, done)).await
    }
}
