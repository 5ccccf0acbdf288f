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
//! `block_on`s its future on it. That must happen **off** the runtime's
//! worker threads: calling it from inside an async task panics (tokio
//! refuses to block a worker). alopex-sql runs statements on its own worker
//! threads, outside the runtime, which is what this needs; tests use plain
//! threads or `spawn_blocking`.
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

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use alopex_core::clock::{PhysicalClock, physical_ms};
use alopex_core::{KvStore, SystemClock, Timestamp, TxnOptions};

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
        ClusterStore { shared: Arc::new(StoreShared { node, handle, clock, opts }) }
    }

    /// The node whose gateway the store uses.
    pub fn node(&self) -> &Arc<RangeNode> {
        &self.shared.node
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
