//! # `ClusterStore`: `alopex_core::KvStore` over the ranges of a cluster
//!
//! The SQL engine runs on any [`KvStore`]. This is the one whose
//! transactions span the Raft-replicated ranges of a cluster: each
//! [`ClusterTxn`] reads through the node's gateway ([`ClusterKv`]) at its
//! read timestamp and commits with the protocol of `docs/transactions.md`
//! (the coordinator is `coordinator.rs`, the handling of other
//! transactions' intents `conflict.rs`).
//!
//! **Synchronous over asynchronous.** `KvTxn` is a synchronous trait (the
//! SQL executor is a synchronous Volcano pipeline), while the gateway is
//! async. The store holds a tokio [`Handle`] and every transaction call
//! `block_on`s its future on it (`StoreShared::block`). That is meant to
//! happen **off** the runtime's worker threads: alopex-sql runs statements
//! on its own worker threads, outside the runtime; tests use plain threads
//! or `spawn_blocking`. A call from a worker thread of a multi-threaded
//! runtime (the server runs some cheap statements inline in the
//! connection's task) goes through `block_in_place` instead of panicking.
//!
//! **Clock.** Transactions take their timestamps from the store's hybrid
//! clock ([`Hlc`]), updated from every timestamp a range answers (pushed
//! write timestamps, commit timestamps, uncertain versions), so a
//! transaction that begins after another committed through this store
//! always reads above its commit. The maximum clock offset here must equal
//! the leaders' ([`crate::txn::serve::LeaderTxnState::set_max_offset`]).
//!
//! **Isolation.** Snapshot isolation by default; serializable with a read
//! refresh at commit (`refresh.rs`).
//!
//! **Filtered scans** ([`alopex_core::KvTxn::scan_filtered`]) are
//! evaluated by the ranges' leaders (`docs/transactions.md`, "Filtered
//! scans"); [`ClusterStore::rows_received`] counts what scans shipped.
//!
//! **Vector indexes** are registered per node, on the node's own engine
//! (the `KvStore` registry methods): each replica builds the HNSW segments
//! of the ranges it hosts, and searches fan out to the ranges' leaders
//! (`vector.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use alopex_core::clock::{PhysicalClock, physical_ms};
use alopex_core::{KeyBounds, KvStore, RangePlacement, SystemClock, Timestamp, TxnOptions};

use super::coordinator::ClusterTxn;
use super::hlc::{DEFAULT_MAX_OFFSET, Hlc};
use super::meta::DEFAULT_LIVENESS_MS;
use crate::range::{ClusterKv, KvError, RangeNode};

/// Tuning of a [`ClusterStore`].
#[derive(Clone, Debug)]
pub struct ClusterStoreOptions {
    /// The maximum offset between two nodes' clocks (uncertainty intervals).
    pub max_offset: Duration,
    /// How long a transaction record lives past its last heartbeat.
    pub liveness: Duration,
    /// How long a writer waits for a conflicting transaction to finish
    /// before it pushes (wound-wait).
    pub conflict_wait: Duration,
    /// Rows a scan asks one range for at a time.
    pub scan_page: usize,
}

impl Default for ClusterStoreOptions {
    fn default() -> Self {
        ClusterStoreOptions {
            max_offset: DEFAULT_MAX_OFFSET,
            liveness: Duration::from_millis(DEFAULT_LIVENESS_MS),
            conflict_wait: Duration::from_millis(50),
            scan_page: 1024,
        }
    }
}

/// What every transaction of a store shares.
pub(crate) struct StoreShared {
    pub node: Arc<RangeNode>,
    pub handle: Handle,
    pub clock: Hlc,
    pub opts: ClusterStoreOptions,
    /// Rows the scans of this store's transactions received from ranges.
    pub rows_received: std::sync::atomic::AtomicU64,
}

impl StoreShared {
    /// The node's gateway.
    pub fn kv(&self) -> &ClusterKv {
        self.node.kv()
    }

    /// The commit wait: returns once the wall clock is past `commit_ts`
    /// minus the maximum offset. A commit timestamp pushed ahead of the
    /// clocks (a new leader's timestamp cache starts at its wall clock plus
    /// the offset) would otherwise fall beyond the uncertainty interval of
    /// a transaction that begins, on another gateway, right after this one
    /// was acknowledged, and that transaction would not see it. Usually the
    /// commit timestamp is near the wall clock and this returns at once; a
    /// pushed one waits at most about a millisecond.
    pub async fn commit_wait(&self, commit_ts: Timestamp) {
        let offset_ms = self.opts.max_offset.as_millis() as u64;
        let target_ms = physical_ms(commit_ts).saturating_sub(offset_ms).saturating_add(1);
        loop {
            let wall_ms = PhysicalClock::now_ms(&SystemClock);
            if wall_ms >= target_ms {
                return;
            }
            tokio::time::sleep(Duration::from_millis(target_ms - wall_ms)).await;
        }
    }

    /// Runs `f` to completion for synchronous code (the `KvTxn` methods).
    ///
    /// Off the runtime (alopex-sql's statement workers, plain threads) it
    /// blocks on the store's handle. On a worker thread of a multi-threaded
    /// runtime (a server that runs a cheap statement inline in its
    /// connection task) blocking on a handle would panic, so it first tells
    /// tokio that this thread is about to block (`block_in_place`), and the
    /// runtime hands its other tasks to another worker meanwhile. A
    /// current-thread runtime cannot do that: calling from inside one
    /// panics, as `block_on` does.
    pub fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.handle.block_on(f))
            }
            _ => self.handle.block_on(f),
        }
    }

    /// Counts rows a scan received from a range.
    pub fn count_rows(&self, n: usize) {
        self.rows_received.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Moves the clock past a timestamp a range answered.
    pub fn observe(&self, ts: Timestamp) {
        if let Err(e) = self.clock.update(ts) {
            tracing::warn!(error = %e, "a range answered a timestamp beyond the maximum clock offset");
        }
    }
}

/// Transactions over a cluster's ranges, through one node's gateway. See
/// the module documentation.
#[derive(Clone)]
pub struct ClusterStore {
    shared: Arc<StoreShared>,
}

impl std::fmt::Debug for ClusterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterStore").field("node", &self.shared.node.id()).finish_non_exhaustive()
    }
}

impl ClusterStore {
    /// A store whose transactions go through `node`'s gateway and block on
    /// `handle` (call its methods off the runtime's worker threads).
    pub fn new(node: Arc<RangeNode>, handle: Handle, opts: ClusterStoreOptions) -> Self {
        node.txn_state().set_max_offset(opts.max_offset);
        let clock = Hlc::system(opts.max_offset);
        let _ = clock.update(node.raft().now());
        ClusterStore { shared: Arc::new(StoreShared { node, handle, clock, opts, rows_received: Default::default() }) }
    }

    /// The node whose gateway the store uses.
    pub fn node(&self) -> &Arc<RangeNode> {
        &self.shared.node
    }

    /// How many rows the scans of this store's transactions have received
    /// from the ranges so far (refreshes included): what a pushed filter
    /// saves shows here.
    pub fn rows_received(&self) -> u64 {
        self.shared.rows_received.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A fresh timestamp of the store's clock.
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }
}

impl KvStore for ClusterStore {
    type Txn = ClusterTxn;

    fn begin(&self, opts: TxnOptions) -> alopex_core::Result<ClusterTxn> {
        Ok(ClusterTxn::begin(Arc::clone(&self.shared), opts.isolation))
    }

    /// Yes: a range's leader evaluates the filter, and only matches cross
    /// the network.
    fn pushes_filters(&self) -> bool {
        true
    }

    /// The ranges overlapping `span`, read from the meta range (call it off
    /// the runtime's worker threads, like a transaction). The leader is the
    /// gateway's latest knowledge. None when the meta range cannot be read.
    fn placement(&self, span: &KeyBounds) -> Option<Vec<RangePlacement>> {
        let start = super::serve::start_of(&span.0);
        let end = super::serve::end_of(&span.1);
        let shared = &self.shared;
        let mut descriptors = shared.block(shared.kv().descriptors()).ok()?;
        descriptors.retain(|d| d.span.start.as_ref() < end.as_ref() && d.span.end_key() > start.as_ref());
        descriptors.sort_by(|a, b| a.span.start.cmp(&b.span.start));
        Some(
            descriptors
                .into_iter()
                .map(|d| {
                    let cached = shared.kv().cache().get(&d.span.start).filter(|c| c.range == d.range);
                    RangePlacement {
                        range: d.range.0,
                        replicas: d.replicas.iter().map(|n| n.0).collect(),
                        leader: cached.and_then(|c| c.leader_hint).or(d.leader_hint).map(|n| n.0),
                    }
                })
                .collect(),
        )
    }

    /// Registers the index on this node's own engine (durably), so that
    /// every SSTable it writes for the ranges it hosts carries an HNSW
    /// segment for it, and its range leaders answer vector searches from
    /// them (`serve_vector.rs`). Each node registers for itself: the
    /// server's catalog sync calls this on every node.
    fn create_vector_index(&self, spec: &alopex_core::VectorIndexSpec) -> alopex_core::Result<()> {
        self.shared.node.raft().engine().create_vector_index(spec.clone())
    }

    /// Unregisters the index on this node's engine (see
    /// [`Self::create_vector_index`]).
    fn drop_vector_index(&self, id: u64) -> alopex_core::Result<bool> {
        self.shared.node.raft().engine().drop_vector_index(id)
    }

    /// The indexes registered on this node's engine.
    fn vector_indexes(&self) -> Vec<alopex_core::VectorIndexSpec> {
        self.shared.node.raft().engine().vector_indexes()
    }
}

/// A gateway error as the storage error the SQL engine understands.
pub(crate) fn kv_err(e: KvError) -> alopex_core::Error {
    match e {
        KvError::InvalidArgument(m) => alopex_core::Error::InvalidArgument(m),
        KvError::DeadlineExceeded(m) => {
            alopex_core::Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("cluster: {m}")))
        }
        KvError::Failed(m) => alopex_core::Error::Io(std::io::Error::other(format!("cluster: {m}"))),
    }
}
