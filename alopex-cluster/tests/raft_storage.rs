//! openraft's own storage test suite, run against the shared log store and
//! the engine-backed state machine: log state, truncation, purge, votes,
//! membership tracking, applying, building and installing snapshots.

use std::sync::Arc;

use alopex_cluster::raft::types::{RangeConfig, StorageError};
use alopex_cluster::raft::{RangeLogStore, RangeSpan, RangeStateMachine, SharedLog, SharedLogOptions};
use alopex_core::{Engine, HybridClock, Options, SystemClock};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;

struct Builder;

impl StoreBuilder<RangeConfig, RangeLogStore, RangeStateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, RangeLogStore, RangeStateMachine), StorageError> {
        let io = |e: std::io::Error| StorageError::read(RangeConfig::err_from_string(e));
        let dir = tempfile::tempdir().map_err(io)?;
        let engine = Engine::open(dir.path().join("engine"), Options::small_for_tests())
            .map_err(|e| io(std::io::Error::other(e.to_string())))?;
        let log = SharedLog::open(dir.path().join("raft-log"), SharedLogOptions::default()).map_err(io)?;
        let sm = RangeStateMachine::open(
            7,
            RangeSpan::all(),
            Arc::new(engine),
            Arc::new(HybridClock::new(SystemClock)),
            &dir.path().join("raft-snapshots"),
        )
        .map_err(io)?;
        Ok((dir, RangeLogStore::new(7, log), sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_storage_suite() {
    Suite::test_all(Builder).await.unwrap();
}
