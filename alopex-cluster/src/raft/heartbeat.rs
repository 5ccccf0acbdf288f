//! # Heartbeat coalescing: one call per peer for the heartbeats of many groups
//!
//! Every range is its own Raft group, and every group's leader heartbeats
//! each follower on its own timer. With hundreds of ranges per node that
//! is hundreds of calls (QUIC streams) per heartbeat interval to every
//! peer, each carrying a few dozen bytes. The calls cost far more than the
//! bytes: a stream open and close, a task on each end, a frame header.
//!
//! openraft (0.10.0-alpha.37) sends heartbeats through a client of their
//! own: `RaftNetworkFactory::new_heartbeat_client`, driven by one
//! heartbeat worker per follower that sends one `AppendEntries` with no
//! entries at a time and waits at most `heartbeat_interval` for it. That
//! is the seam where openraft lets us coalesce: [`super::network`] hands
//! the heartbeat client's empty `AppendEntries` to the node's one
//! [`HeartbeatBatcher`], and everything else (entries, votes, snapshots,
//! leader transfers) goes out as before, never waiting on a batch.
//!
//! ## Sending
//!
//! The batcher keeps one queue per peer. A heartbeat joins its peer's
//! queue; the queue is flushed as **one** call
//! ([`super::network::method::HEARTBEATS`]) carrying
//! `Vec<(RangeId, encoded AppendEntriesRequest)>`. Flushing is paced, not
//! timed: a queue may flush once per `window` at most, and a heartbeat
//! that arrives when the peer's last flush is older than `window` goes out
//! at once. So an idle peer link adds no delay, and a busy one carries at
//! most one heartbeat call per window however many groups there are (the
//! default window is a tenth of the heartbeat interval, see
//! [`default_window`]). A flush of a single heartbeat is sent as the
//! ordinary `APPEND_ENTRIES` call.
//!
//! Slow or dead peers: every peer has its own queue and every flush its
//! own task, so a peer whose call hangs never holds another peer's
//! heartbeats; a later flush to the same peer does not wait for the
//! earlier one either. Timeouts stay per heartbeat: each caller waits for
//! its own answer under its own deadline (openraft's `hard_ttl`) from the
//! moment it handed the heartbeat over, and maps a late answer to
//! `Timeout`, exactly as a direct call would; the batch call itself runs
//! until the latest deadline among its members. Heartbeats whose callers
//! already gave up are dropped before a flush.
//!
//! **Heartbeats someone waits for.** openraft also sends a heartbeat round
//! when a linearizable read (read-index) or a leadership check needs a
//! fresh quorum. Held for a window, a run of sequential reads would pay up
//! to a window each (the first version did: `tests/node_cluster.rs` spent
//! three times as long reading keys back). A group's periodic heartbeats
//! come one heartbeat interval apart (openraft's `hard_ttl` for them is
//! that interval), so a heartbeat that follows its group's previous one to
//! the same peer within half an interval is taken as asked for and sent at
//! once, outside the batch. The first read after a quiet spell may still
//! wait one window.
//!
//! Safety: the leader credits a heartbeat's acknowledgement to the time
//! openraft created the heartbeat, before it waited in the queue, so the
//! wait can only make the leader's lease and read-index bookkeeping more
//! conservative, never wrong. What it costs is latency on what waits for a
//! fresh quorum round (a read-index read on an idle range): at most one
//! window.
//!
//! ## Receiving
//!
//! [`serve`] decodes the batch and hands each member to the node's
//! [`RpcService`] as an ordinary `APPEND_ENTRIES` call of its range, all
//! concurrently, and answers `Vec<Result<encoded AppendEntriesResponse,
//! String>>` in the same order: a range the node does not host answers its
//! own error, and the others are unaffected.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::codec;
use super::network::method;
use crate::ids::{NodeId, RangeId};
use crate::rpc::{RpcClient, RpcError, RpcService};

/// The range id a batch call is addressed to (no range has it: the meta
/// range is 1); the members name their ranges inside the body.
pub const BATCH_RANGE: RangeId = RangeId(0);

/// The most heartbeats one batch carries; more wait for the next flush.
pub const MAX_BATCH: usize = 4096;

/// The default pacing window for a heartbeat interval: a tenth of it,
/// between 1 and 50 ms.
pub fn default_window(heartbeat_interval: Duration) -> Duration {
    (heartbeat_interval / 10).clamp(Duration::from_millis(1), Duration::from_millis(50))
}

/// What the batcher has sent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeartbeatCounts {
    /// Heartbeats handed to the batcher.
    pub heartbeats: u64,
    /// Calls it made for them (batches and single heartbeats).
    pub calls: u64,
}

struct Pending {
    range: RangeId,
    body: Bytes,
    deadline: Instant,
    tx: oneshot::Sender<Result<Bytes, RpcError>>,
}

#[derive(Default)]
struct PeerQueue {
    pending: Vec<Pending>,
    /// A flush task is scheduled for this queue.
    scheduled: bool,
    last_flush: Option<Instant>,
    /// When each range last handed this peer a heartbeat.
    last_by_range: HashMap<RangeId, Instant>,
}

struct Inner {
    client: Arc<dyn RpcClient>,
    window: Duration,
    peers: Mutex<HashMap<NodeId, PeerQueue>>,
    heartbeats: AtomicU64,
    calls: AtomicU64,
}

/// Coalesces the heartbeats of all of a node's groups per peer (see the
/// module documentation). Cheap to clone; clones share the queues.
#[derive(Clone)]
pub struct HeartbeatBatcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HeartbeatBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeartbeatBatcher").field("window", &self.inner.window).finish_non_exhaustive()
    }
}

impl HeartbeatBatcher {
    /// A batcher sending through `client`, flushing each peer's queue at
    /// most once per `window`. A zero window turns coalescing off: every
    /// heartbeat is its own call.
    pub fn new(client: Arc<dyn RpcClient>, window: Duration) -> Self {
        HeartbeatBatcher {
            inner: Arc::new(Inner {
                client,
                window,
                peers: Mutex::new(HashMap::new()),
                heartbeats: AtomicU64::new(0),
                calls: AtomicU64::new(0),
            }),
        }
    }

    /// The pacing window.
    pub fn window(&self) -> Duration {
        self.inner.window
    }

    /// Heartbeats and calls so far.
    pub fn counts(&self) -> HeartbeatCounts {
        HeartbeatCounts {
            heartbeats: self.inner.heartbeats.load(Ordering::Relaxed),
            calls: self.inner.calls.load(Ordering::Relaxed),
        }
    }

    /// Sends the encoded empty `AppendEntriesRequest` `body` of `range` to
    /// `to` and waits, at most `ttl` from now, for the group's answer.
    pub async fn call(&self, to: NodeId, range: RangeId, body: Bytes, ttl: Duration) -> Result<Bytes, RpcError> {
        let inner = &self.inner;
        inner.heartbeats.fetch_add(1, Ordering::Relaxed);
        // A group's periodic heartbeats come one interval (`ttl`) apart;
        // one that follows the last sooner was asked for by something
        // waiting on it (a read-index read, a leadership check) and goes
        // out at once.
        let now = Instant::now();
        let urgent = {
            let mut peers = inner.peers.lock();
            let last = peers.entry(to).or_default().last_by_range.insert(range, now);
            last.is_some_and(|t| now.saturating_duration_since(t) < ttl / 2)
        };
        if inner.window.is_zero() || urgent {
            inner.calls.fetch_add(1, Ordering::Relaxed);
            let call = inner.client.call(to, range, method::APPEND_ENTRIES, body);
            return tokio::time::timeout(ttl, call).await.unwrap_or(Err(RpcError::Timeout(to)));
        }
        let (tx, rx) = oneshot::channel();
        let delay = {
            let mut peers = inner.peers.lock();
            let q = peers.entry(to).or_default();
            q.pending.push(Pending { range, body, deadline: now + ttl, tx });
            if q.scheduled {
                None
            } else {
                q.scheduled = true;
                Some(q.last_flush.map_or(Duration::ZERO, |t| (t + inner.window).saturating_duration_since(now)))
            }
        };
        if let Some(delay) = delay {
            tokio::spawn(Arc::clone(inner).flusher(to, delay));
        }
        match tokio::time::timeout(ttl, rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(RpcError::Unreachable(to, "heartbeat batch was dropped".into())),
            Err(_) => Err(RpcError::Timeout(to)),
        }
    }
}

impl Inner {
    /// Flushes `to`'s queue after `delay`, and again every window while
    /// more than a batch was waiting. Each batch is sent by a task of its
    /// own, so a hanging call never holds the next flush.
    async fn flusher(self: Arc<Self>, to: NodeId, mut delay: Duration) {
        loop {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let now = Instant::now();
            let (batch, more) = {
                let mut peers = self.peers.lock();
                let q = peers.entry(to).or_default();
                q.last_flush = Some(now);
                let rest = if q.pending.len() > MAX_BATCH { q.pending.split_off(MAX_BATCH) } else { Vec::new() };
                let batch = std::mem::replace(&mut q.pending, rest);
                let more = !q.pending.is_empty();
                q.scheduled = more;
                (batch, more)
            };
            tokio::spawn(Arc::clone(&self).send(to, batch, now));
            if !more {
                return;
            }
            delay = self.window;
        }
    }

    /// Sends one batch to `to` and hands each member its answer.
    async fn send(self: Arc<Self>, to: NodeId, batch: Vec<Pending>, now: Instant) {
        let mut batch: Vec<Pending> = batch.into_iter().filter(|p| !p.tx.is_closed() && p.deadline > now).collect();
        let Some(deadline) = batch.iter().map(|p| p.deadline).max() else {
            return;
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        let ttl = deadline.saturating_duration_since(now);
        if batch.len() == 1
            && let Some(p) = batch.pop()
        {
            let call = self.client.call(to, p.range, method::APPEND_ENTRIES, p.body);
            let answer = tokio::time::timeout(ttl, call).await.unwrap_or(Err(RpcError::Timeout(to)));
            let _ = p.tx.send(answer);
            return;
        }
        let items: Vec<(RangeId, Bytes)> = batch.iter().map(|p| (p.range, p.body.clone())).collect();
        let answers = match codec::encode(&items) {
            Ok(body) => {
                let call = self.client.call(to, BATCH_RANGE, method::HEARTBEATS, Bytes::from(body));
                tokio::time::timeout(ttl, call).await.unwrap_or(Err(RpcError::Timeout(to)))
            }
            Err(e) => Err(RpcError::Unreachable(to, e.to_string())),
        };
        let answers = answers.and_then(|a| {
            let v: Vec<Result<Bytes, String>> =
                codec::decode(&a).map_err(|e| RpcError::Remote { node: to, message: e.to_string() })?;
            if v.len() == batch.len() {
                Ok(v)
            } else {
                let message = format!("heartbeat batch of {} answered with {}", batch.len(), v.len());
                Err(RpcError::Remote { node: to, message })
            }
        });
        match answers {
            Ok(answers) => {
                for (p, a) in batch.into_iter().zip(answers) {
                    let _ = p.tx.send(a.map_err(|message| RpcError::Remote { node: to, message }));
                }
            }
            Err(e) => {
                for p in batch {
                    let _ = p.tx.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Serves a [`method::HEARTBEATS`] call from `from`: every member goes to
/// `service` as an `APPEND_ENTRIES` call of its range, concurrently; the
/// answer lists each member's result in order (an unknown range gets its
/// own error, never fails the batch).
pub async fn serve<S: RpcService + ?Sized>(service: &S, from: NodeId, body: &[u8]) -> Result<Vec<u8>, String> {
    let items: Vec<(RangeId, Bytes)> = codec::decode(body).map_err(|e| e.to_string())?;
    if items.len() > MAX_BATCH {
        return Err(format!("heartbeat batch of {} is over the limit of {MAX_BATCH}", items.len()));
    }
    let calls = items.into_iter().map(|(range, body)| service.handle(from, range, method::APPEND_ENTRIES, body));
    let answers: Vec<Result<Bytes, String>> = futures_util::future::join_all(calls).await;
    codec::encode(&answers).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    /// Echoes `range:body`, refuses range 13, and records the methods it saw.
    #[derive(Default)]
    struct Echo {
        seen: Mutex<Vec<(RangeId, u16)>>,
    }

    #[async_trait]
    impl RpcService for Echo {
        async fn handle(&self, _from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
            self.seen.lock().push((range, method));
            if method == method::HEARTBEATS {
                return serve(self, NodeId(1), &body).await.map(Bytes::from);
            }
            if range == RangeId(13) {
                return Err("range 13 is not hosted".into());
            }
            Ok(Bytes::from(format!("{}:{}", range.0, String::from_utf8_lossy(&body))))
        }
    }

    /// Calls an [`Echo`] in-process, counting calls, optionally never
    /// answering one peer.
    struct Client {
        service: Arc<Echo>,
        calls: AtomicU64,
        dead: Option<NodeId>,
    }

    #[async_trait]
    impl RpcClient for Client {
        async fn call(&self, to: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, RpcError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if Some(to) == self.dead {
                std::future::pending::<()>().await;
            }
            self.service
                .handle(NodeId(1), range, method, body)
                .await
                .map_err(|message| RpcError::Remote { node: to, message })
        }
    }

    fn setup(dead: Option<NodeId>, window: Duration) -> (Arc<Client>, HeartbeatBatcher) {
        let client = Arc::new(Client { service: Arc::new(Echo::default()), calls: AtomicU64::new(0), dead });
        let batcher = HeartbeatBatcher::new(client.clone(), window);
        (client, batcher)
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_heartbeats_share_one_call_and_an_unknown_range_fails_alone() {
        let (client, b) = setup(None, Duration::from_millis(10));
        // Open the window with one heartbeat: an idle link sends at once.
        let first = b.call(NodeId(2), RangeId(1), Bytes::from("x"), Duration::from_millis(100)).await;
        assert_eq!(first.unwrap(), Bytes::from("1:x"));
        assert_eq!(client.calls.load(Ordering::Relaxed), 1);
        let calls = (2..=20u64).map(|r| {
            let b = b.clone();
            async move { b.call(NodeId(2), RangeId(r), Bytes::from("hb"), Duration::from_millis(100)).await }
        });
        let answers = futures_util::future::join_all(calls).await;
        for (r, a) in (2..=20u64).zip(answers) {
            if r == 13 {
                assert!(matches!(a, Err(RpcError::Remote { ref message, .. }) if message.contains("13")), "{a:?}");
            } else {
                assert_eq!(a.unwrap(), Bytes::from(format!("{r}:hb")));
            }
        }
        assert_eq!(client.calls.load(Ordering::Relaxed), 2, "19 heartbeats in one batch");
        assert_eq!(b.counts(), HeartbeatCounts { heartbeats: 20, calls: 2 });
        let seen = client.service.seen.lock().clone();
        assert_eq!(seen.iter().filter(|(_, m)| *m == method::HEARTBEATS).count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_peer_times_each_heartbeat_out_and_blocks_no_other_peer() {
        let (_client, b) = setup(Some(NodeId(3)), Duration::from_millis(10));
        let start = Instant::now();
        let dead = {
            let b = b.clone();
            tokio::spawn(async move { b.call(NodeId(3), RangeId(1), Bytes::new(), Duration::from_millis(50)).await })
        };
        tokio::task::yield_now().await;
        for r in 1..=3u64 {
            let a = b.call(NodeId(2), RangeId(r), Bytes::from("y"), Duration::from_millis(50)).await;
            assert_eq!(a.unwrap(), Bytes::from(format!("{r}:y")));
        }
        assert!(start.elapsed() < Duration::from_millis(50), "the live peer waited on the dead one");
        assert_eq!(dead.await.unwrap(), Err(RpcError::Timeout(NodeId(3))));
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(50) && waited < Duration::from_millis(60), "{waited:?}");
    }

    /// A group's heartbeat that follows its previous one within half an
    /// interval (a read waiting for a quorum round) does not wait for the
    /// window; a periodic one does.
    #[tokio::test(start_paused = true)]
    async fn an_early_heartbeat_of_a_group_skips_the_window() {
        let (client, b) = setup(None, Duration::from_millis(10));
        let ttl = Duration::from_millis(100);
        b.call(NodeId(2), RangeId(1), Bytes::from("a"), ttl).await.unwrap();
        let start = Instant::now();
        // Range 1 again at once: asked for, sent without waiting.
        b.call(NodeId(2), RangeId(1), Bytes::from("b"), ttl).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        // Range 2's first heartbeat inside the window waits for it.
        b.call(NodeId(2), RangeId(2), Bytes::from("c"), ttl).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(10), "{:?}", start.elapsed());
        assert_eq!(client.calls.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_window_sends_every_heartbeat_alone() {
        let (client, b) = setup(None, Duration::ZERO);
        let calls = (1..=5u64).map(|r| {
            let b = b.clone();
            async move { b.call(NodeId(2), RangeId(r), Bytes::new(), Duration::from_millis(100)).await }
        });
        for a in futures_util::future::join_all(calls).await {
            a.unwrap();
        }
        assert_eq!(client.calls.load(Ordering::Relaxed), 5);
    }
}
