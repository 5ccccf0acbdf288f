//! # Compacting the logs of idle ranges
//!
//! openraft snapshots a group once its log has grown by
//! `SnapshotPolicy::LogsSinceLast` entries (10,000) and only then purges
//! the log behind the snapshot. A range that stops being written short of
//! that keeps its whole log for good: in memory, because the shared log
//! keeps every group's entries decoded, and on disk, because a log segment
//! is deleted only once every entry in it is purged. Ranges born by splits
//! under a bulk load are exactly that: the 1 GB run of
//! `benches/cluster_nodes.rs` left 113 ranges each holding about 4,000
//! entries of 4 KiB, about 1 GB of log per node in memory and on disk
//! (the process grew to 5.5 GB).
//!
//! So each node compacts, on its own, the groups it runs whose log has not
//! grown for a while and still holds many entries: it asks openraft for a
//! snapshot, and once that snapshot covers everything applied, purges the
//! log behind it. A leader waits until every member that runs the group
//! has replicated everything (a member that matched nothing needs a
//! snapshot anyway), so compaction never forces a slow follower onto a
//! snapshot: openraft itself purges up to 1,000 entries behind any
//! snapshot it builds. At most one
//! snapshot is built per pass, so a node that just finished a load does
//! not export all of its ranges at once.
//!
//! A lower entry count in `LogsSinceLast` would not do: a range that is
//! written steadily would export its whole span every few thousand writes.
//! Waiting for idleness costs one export per range after it goes quiet.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use openraft::ServerState;

use crate::ids::RangeId;
use crate::raft::RaftNode;

/// A group's log is compacted once idle if it holds at least this many
/// entries...
const MIN_HELD: u64 = 256;

/// ...or any entry at all once idle this many times as long: log segments
/// are deleted oldest first and only once every entry in them is purged,
/// so a group that keeps a few old entries (the meta range, a small range)
/// would hold every later segment on disk.
const LONG_IDLE: u32 = 10;

/// What the compactor remembers per group: the last log index it saw and
/// since when it has not moved.
#[derive(Default)]
pub(crate) struct Compactor {
    seen: HashMap<RangeId, (u64, Instant)>,
}

impl Compactor {
    /// One pass over `raft`'s groups: compacts those idle for `idle_after`.
    /// Returns the ranges it asked to snapshot or purge.
    pub(crate) async fn pass(&mut self, raft: &RaftNode, idle_after: Duration) -> Vec<RangeId> {
        let now = Instant::now();
        let ranges = raft.ranges();
        self.seen.retain(|r, _| ranges.contains(r));
        let mut built = false;
        let mut touched = Vec::new();
        for range in ranges {
            let Some(m) = raft.metrics(range) else { continue };
            let last = m.last_log_index.unwrap_or(0);
            let e = self.seen.entry(range).or_insert((last, now));
            if e.0 != last {
                *e = (last, now);
                continue;
            }
            if now.duration_since(e.1) < idle_after {
                continue;
            }
            let purged = m.purged.map(|p| p.index);
            let held = purged.map_or(last + 1, |p| last.saturating_sub(p));
            let applied = m.last_applied.map_or(0, |l| l.index);
            let long_idle = now.duration_since(e.1) >= idle_after * LONG_IDLE;
            if (held < MIN_HELD && !(long_idle && held > 0)) || applied < last {
                continue;
            }
            // A leader waits until every member that runs the group has
            // everything: openraft purges up to 1,000 entries behind any
            // snapshot it builds, so a snapshot while a follower trails by
            // more would make that follower catch up by snapshot (and skip
            // a split it has not applied yet).
            let trailing = m.state == ServerState::Leader
                && m.replication.as_ref().is_some_and(|rep| {
                    rep.iter().any(|(id, l)| *id != raft.id().0 && l.as_ref().is_some_and(|l| l.index < last))
                });
            if trailing {
                continue;
            }
            let Some(group) = raft.group(range) else { continue };
            let snapshot = m.snapshot.map_or(0, |s| s.index);
            if snapshot < applied {
                if !built {
                    built = true;
                    tracing::debug!(node = %raft.id(), %range, held, "snapshot of an idle range");
                    if group.raft.trigger().snapshot().await.is_ok() {
                        touched.push(range);
                    }
                }
                continue;
            }
            let mut upto = snapshot;
            if m.state == ServerState::Leader
                && let Some(rep) = &m.replication
            {
                let others = rep.iter().filter(|(id, _)| **id != raft.id().0);
                if let Some(min) = others.filter_map(|(_, l)| l.as_ref().map(|l| l.index)).min() {
                    upto = upto.min(min);
                }
            }
            if purged.is_none_or(|p| p < upto) && upto > 0 {
                tracing::debug!(node = %raft.id(), %range, upto, "purging an idle range's log");
                if group.raft.trigger().purge_log(upto).await.is_ok() {
                    touched.push(range);
                }
            }
        }
        touched
    }
}

/// Runs compaction passes over `raft` every `period` until `stopped`.
pub(crate) async fn run(raft: Arc<RaftNode>, period: Duration, idle_after: Duration, stopped: Arc<AtomicBool>) {
    let mut c = Compactor::default();
    loop {
        tokio::time::sleep(period).await;
        if stopped.load(Ordering::Relaxed) {
            return;
        }
        c.pass(&raft, idle_after).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use alopex_core::{Engine, Options};
    use bytes::Bytes;

    use super::{Compactor, MIN_HELD};
    use crate::ids::{NodeId, RangeId};
    use crate::raft::{LocalNetwork, RaftNode, RaftNodeOptions, RangeSpan, WriteOp};
    use crate::rpc::RpcService;

    /// Three in-process nodes, one range: after a burst of writes goes
    /// quiet, every node snapshots the range and purges its log, and the
    /// range still takes writes that every node applies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_idle_range_is_snapshotted_and_its_log_purged_on_every_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let net = LocalNetwork::new();
        let range = RangeId(2);
        let mut nodes = Vec::new();
        for id in 1..=3u64 {
            let d = dir.path().join(format!("n{id}"));
            let engine = Arc::new(Engine::open(d.join("engine"), Options::small_for_tests()).expect("engine"));
            let node = RaftNode::open(NodeId(id), &d, engine, net.client(NodeId(id)), RaftNodeOptions::default())
                .expect("node");
            net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
            node.start_group(range, RangeSpan::all()).await.expect("group");
            nodes.push(node);
        }
        let members: Vec<(NodeId, String)> = (1..=3).map(|i| (NodeId(i), format!("node-{i}"))).collect();
        nodes[0].bootstrap_group(range, RangeSpan::all(), &members).await.expect("bootstrap");
        let leader = loop {
            if let Some(l) = nodes[0].leader(range).await {
                break l;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let leader = Arc::clone(&nodes[(leader.0 - 1) as usize]);
        let writes = MIN_HELD + 100;
        for i in 0..writes {
            let op = WriteOp::Put { key: Bytes::from(format!("k{i:05}")), value: Bytes::from(vec![b'v'; 512]) };
            leader.write(range, vec![op]).await.expect("write");
        }
        let last = leader.metrics(range).and_then(|m| m.last_log_index).unwrap_or(0);
        // Every follower has everything before compaction starts.
        for _ in 0..500 {
            if nodes.iter().all(|n| n.metrics(range).and_then(|m| m.last_applied).is_some_and(|l| l.index >= last)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut compactors: Vec<Compactor> = (0..3).map(|_| Compactor::default()).collect();
        let compacted = |n: &RaftNode| n.metrics(range).and_then(|m| m.purged).is_some_and(|p| p.index >= last);
        for _ in 0..200 {
            if nodes.iter().all(|n| compacted(n)) {
                break;
            }
            for (c, n) in compactors.iter_mut().zip(&nodes) {
                c.pass(n, Duration::ZERO).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for n in &nodes {
            let m = n.metrics(range).expect("metrics");
            assert!(compacted(n), "{}: purged {:?}, snapshot {:?}, last {last}", n.id(), m.purged, m.snapshot);
            let held = n.log().read(range.0, |g| g.map_or(0, |g| g.entries.len()));
            assert!(held < 10, "{} still holds {held} entries", n.id());
        }
        // The range goes on.
        let op = WriteOp::Put { key: Bytes::from_static(b"after"), value: Bytes::from_static(b"1") };
        leader.write(range, vec![op]).await.expect("write after compaction");
        for n in &nodes {
            n.shutdown().await;
        }
    }
}
