//! Transactions across two Raft-replicated ranges, on three in-process
//! nodes over the in-memory transport: intents laid through each range's
//! log, a conflicting transaction refused with the holder's id, the record
//! committed in the anchor's range, resolution at exactly the commit
//! timestamp on every replica; an abandoned transaction aborted by a pusher
//! once its record expires; and a node that was down while intents were
//! laid receiving them in a snapshot.
//!
//! The coordinator does not exist yet (next session), so the test drives
//! the commands itself, as the coordinator will.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::raft::command::{Command, CommandResponse, Resolution, WriteOp};
use alopex_cluster::raft::{LocalNetwork, RaftNode, RaftNodeError, RaftNodeOptions, RangeSpan};
use alopex_cluster::rpc::RpcService;
use alopex_cluster::txn::{TxnId, TxnMeta, TxnRead, TxnStatus, read_key};
use alopex_cluster::{NodeId, RangeId};
use alopex_core::{Engine, Options, Timestamp};
use bytes::Bytes;

const PATIENCE: Duration = Duration::from_secs(30);

fn ranges() -> Vec<(RangeId, RangeSpan)> {
    vec![(RangeId(1), RangeSpan::new("", Some(Bytes::from("n")))), (RangeId(2), RangeSpan::new("n", None))]
}

fn range_of(key: &str) -> RangeId {
    ranges().into_iter().find(|(_, s)| s.contains(key.as_bytes())).map(|(r, _)| r).unwrap()
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn options() -> RaftNodeOptions {
    let mut o = RaftNodeOptions::default();
    o.raft.heartbeat_interval = 50;
    o.raft.election_timeout_min = 200;
    o.raft.election_timeout_max = 400;
    // Snapshot and purge often, so a node that was away must be sent one.
    o.raft.snapshot_policy = openraft::SnapshotPolicy::LogsSinceLast(10);
    o.raft.max_in_snapshot_log_to_keep = 0;
    o
}

struct Cluster {
    dir: tempfile::TempDir,
    net: Arc<LocalNetwork>,
    nodes: Vec<Option<Arc<RaftNode>>>,
}

impl Cluster {
    fn node_dir(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("n{id}"))
    }

    async fn start(&mut self, id: u64) {
        let dir = self.node_dir(id);
        let engine = Arc::new(Engine::open(dir.join("engine"), Options::small_for_tests()).unwrap());
        let node = RaftNode::open(NodeId(id), &dir, engine, self.net.client(NodeId(id)), options()).unwrap();
        self.net.register(NodeId(id), Arc::clone(&node) as Arc<dyn RpcService>);
        for (range, span) in ranges() {
            node.start_group(range, span).await.unwrap();
        }
        self.nodes[id as usize] = Some(node);
    }

    async fn kill(&mut self, id: u64) {
        self.net.set_down(NodeId(id), true);
        self.net.unregister(NodeId(id));
        let node = self.nodes[id as usize].take().unwrap();
        node.shutdown().await;
        drop(node);
        self.net.set_down(NodeId(id), false);
    }

    fn live(&self) -> impl Iterator<Item = &Arc<RaftNode>> {
        self.nodes.iter().flatten()
    }

    async fn leader(&self, range: RangeId) -> Arc<RaftNode> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            for n in self.live() {
                if let Some(m) = n.metrics(range)
                    && m.current_leader == Some(n.id().0)
                    && m.state == openraft::ServerState::Leader
                {
                    return Arc::clone(n);
                }
            }
            assert!(Instant::now() < deadline, "no leader for {range}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Proposes through whoever leads the range, retrying across elections.
    async fn propose(&self, range: RangeId, make: impl Fn(Timestamp) -> Command) -> CommandResponse {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let leader = self.leader(range).await;
            match leader.propose(range, make(leader.now())).await {
                Ok(r) => return r,
                Err(RaftNodeError::NotLeader { .. } | RaftNodeError::Raft(_)) => {}
                Err(e) => panic!("proposal failed: {e}"),
            }
            assert!(Instant::now() < deadline, "could not propose to {range}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn lay(&self, txn: &TxnMeta, key: &str, value: &str) -> CommandResponse {
        let op = WriteOp::Put { key: b(key), value: b(value) };
        self.propose(range_of(key), |ts| Command::LayIntents { ts, txn: txn.clone(), ops: vec![op.clone()] }).await
    }

    async fn resolve(&self, txn: &TxnMeta, keys: &[&str], resolution: Resolution) {
        for key in keys {
            let keys = vec![b(key)];
            let r = self
                .propose(range_of(key), |ts| Command::ResolveIntents {
                    ts,
                    txn: txn.id,
                    keys: keys.clone(),
                    resolution,
                })
                .await;
            assert!(matches!(r, CommandResponse::Applied { .. }), "{r:?}");
        }
    }

    /// Waits until `check` holds on every live node's engine.
    async fn converge(&self, what: &str, check: impl Fn(&Engine) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !self.live().all(|n| check(n.engine().as_ref())) {
            assert!(Instant::now() < deadline, "replicas did not converge: {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn three_nodes() -> Cluster {
    let mut c = Cluster { dir: tempfile::tempdir().unwrap(), net: LocalNetwork::new(), nodes: vec![None; 4] };
    for id in 1..=3 {
        c.start(id).await;
    }
    let members: Vec<(NodeId, String)> = (1..=3).map(|i| (NodeId(i), format!("127.0.0.1:{}", 7000 + i))).collect();
    let first = c.nodes[1].clone().unwrap();
    for (range, span) in ranges() {
        first.bootstrap_group(range, span, &members).await.unwrap();
    }
    c
}

fn intent_of(engine: &Engine, key: &str) -> Option<TxnId> {
    match read_key(engine, key.as_bytes(), Timestamp::MAX >> 1, Timestamp::MAX >> 1, None).unwrap() {
        TxnRead::Intent { txn, .. } => Some(txn.id),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_commits_across_ranges_and_an_abandoned_one_is_cleaned_up() {
    let mut c = three_nodes().await;
    let now = c.leader(RangeId(1)).await.now();

    // T writes "a" (range 1, its anchor) and "x" (range 2).
    let t = TxnMeta::new(TxnId::random(), b("a"), now);
    for (k, v) in [("a", "ta"), ("x", "tx")] {
        let r = c.lay(&t, k, v).await;
        assert_eq!(r, CommandResponse::Applied { ts: Some(t.write_ts) });
    }
    // U, concurrent, is refused on "x" and told who holds it.
    let u = TxnMeta::new(TxnId::random(), b("x"), now + 1);
    assert_eq!(c.lay(&u, "x", "ux").await, CommandResponse::WriteConflict { key: b("x"), txn: t.clone() });
    // Every replica holds T's intents, invisible to plain reads.
    c.converge("T's intents everywhere", |e| intent_of(e, "a") == Some(t.id) && intent_of(e, "x") == Some(t.id)).await;
    assert!(c.live().all(|n| n.engine().get(b"x").unwrap().is_none()));

    // The record decides; resolution lands at exactly the commit timestamp.
    let commit_ts = c.leader(RangeId(1)).await.now();
    let intents = vec![b("a"), b("x")];
    let r = c
        .propose(RangeId(1), |ts| Command::CommitTxn { ts, txn: t.clone(), commit_ts, intents: intents.clone() })
        .await;
    let CommandResponse::TxnRecord { record } = r else { panic!("{r:?}") };
    assert_eq!(record.status, TxnStatus::Committed { commit_ts });
    // Ranges move on before resolution; the commit timestamp does not.
    for i in 0..5 {
        c.propose(RangeId(2), |ts| Command::Write {
            ts,
            ops: vec![WriteOp::Put { key: b(&format!("y{i}")), value: b("v") }],
        })
        .await;
    }
    c.resolve(&t, &["a", "x"], Resolution::Commit { commit_ts }).await;
    c.converge("T committed at commit_ts everywhere", |e| {
        ["a", "x"].iter().all(|k| {
            intent_of(e, k).is_none()
                && e.get_version(k.as_bytes(), Timestamp::MAX).unwrap().is_some_and(|v| v.ts == commit_ts)
        })
    })
    .await;
    assert_eq!(c.lay(&u, "x", "ux").await, CommandResponse::WriteTooOld { key: b("x"), existing_ts: commit_ts });

    // Node 3 goes away; V lays intents and its coordinator "crashes".
    let applied: Vec<_> = ranges()
        .into_iter()
        .map(|(r, _)| c.nodes[3].as_ref().unwrap().metrics(r).unwrap().last_applied.map_or(0, |l| l.index))
        .collect();
    c.kill(3).await;
    let mut v = TxnMeta::new(TxnId::random(), b("b"), c.leader(RangeId(1)).await.now());
    v.liveness_ms = 200;
    for k in ["b", "z"] {
        assert!(matches!(c.lay(&v, k, "vv").await, CommandResponse::Applied { .. }));
    }
    // Enough traffic for both ranges to snapshot and purge their logs.
    for i in 0..25 {
        for k in [format!("c{i}"), format!("w{i}")] {
            let op = WriteOp::Put { key: b(&k), value: b("fill") };
            c.propose(range_of(&k), |ts| Command::Write { ts, ops: vec![op.clone()] }).await;
        }
    }
    // The leaders purged what node 3 missed: it must be sent snapshots.
    // Snapshots are built in the background and the purge follows: wait.
    for ((r, _), seen) in ranges().into_iter().zip(applied.iter().copied()) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let leader = c.leader(r).await;
            let purged = leader.log().read(r.0, |g| g.and_then(|g| g.purged).map_or(0, |p| p.index));
            if purged > seen {
                break;
            }
            assert!(Instant::now() < deadline, "{r}: purged {purged}, node 3 had applied {seen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Back, node 3 catches up, and gets V's intents from the snapshots.
    c.start(3).await;
    c.converge("V's intents reach node 3", |e| intent_of(e, "b") == Some(v.id) && intent_of(e, "z") == Some(v.id))
        .await;
    for ((r, _), seen) in ranges().into_iter().zip(applied) {
        let m = c.nodes[3].as_ref().unwrap().metrics(r).unwrap();
        assert!(m.snapshot.map_or(0, |s| s.index) > seen, "node 3 installed a snapshot of {r}: {m:?}");
    }

    // A reader that meets V's intent finds the record absent but expired,
    // aborts it and resolves; a late commit by V's coordinator fails.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = c.propose(RangeId(1), |ts| Command::AbortTxn { ts, txn: v.clone(), if_expired: true }).await;
    let CommandResponse::TxnRecord { record } = r else { panic!("{r:?}") };
    assert_eq!(record.status, TxnStatus::Aborted);
    let r = c.propose(RangeId(1), |ts| Command::CommitTxn { ts, txn: v.clone(), commit_ts: ts, intents: vec![] }).await;
    assert!(matches!(r, CommandResponse::TxnRecord { record } if record.status == TxnStatus::Aborted));
    c.resolve(&v, &["b", "z"], Resolution::Abort).await;
    c.converge("V's intents gone, its values never written", |e| {
        ["b", "z"].iter().all(|k| intent_of(e, k).is_none() && e.get(k.as_bytes()).unwrap().is_none())
            && e.get(b"a").unwrap().as_deref() == Some(&b"ta"[..])
    })
    .await;
    for n in c.live() {
        n.shutdown().await;
    }
}
