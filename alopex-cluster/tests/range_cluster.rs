//! Three in-process nodes over the in-memory transport, with the range
//! layer on top: a fresh cluster bootstraps the meta range and one data
//! range; 10k keys written through one gateway split it into many ranges
//! while the writers keep going; every key reads back through every node
//! (whose caches went stale meanwhile); scans cross range boundaries in
//! order; conditional puts decide at apply time; and after the leader of a
//! range is shut down, writes to it resume (the time is printed).

mod range_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::RangeId;
use alopex_cluster::raft::Command;
use alopex_cluster::range::keys::{self, USER_END};
use alopex_cluster::range::{KvError, RangeDescriptor, RangeNode};
use bytes::Bytes;
use range_support::{Cluster, NODES, range_options};

const KEYS: usize = 10_000;
const WRITERS: usize = 32;

fn key(i: usize) -> Bytes {
    Bytes::from(format!("key{i:05}"))
}

fn value(i: usize, round: u32) -> Bytes {
    Bytes::from(format!("value-{round}-{i:05}-{}", "x".repeat(24)))
}

/// Writes every key of `ids` through `node`'s gateway with concurrent writers.
async fn write_all(node: &Arc<RangeNode>, ids: Vec<usize>, round: u32) {
    let ids = Arc::new(ids);
    let tasks = (0..WRITERS).map(|w| {
        let node = Arc::clone(node);
        let ids = Arc::clone(&ids);
        tokio::spawn(async move {
            for i in ids.iter().skip(w).step_by(WRITERS) {
                node.kv().put(key(*i), value(*i, round)).await.unwrap_or_else(|e| panic!("put {i}: {e}"));
            }
        })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap();
    }
}

/// Reads every key of `ids` through `node`'s gateway and checks it.
async fn read_all(node: &Arc<RangeNode>, ids: Vec<usize>, round: u32) {
    let ids = Arc::new(ids);
    let tasks = (0..WRITERS).map(|w| {
        let node = Arc::clone(node);
        let ids = Arc::clone(&ids);
        tokio::spawn(async move {
            for i in ids.iter().skip(w).step_by(WRITERS) {
                let got = node.kv().get(key(*i)).await.unwrap_or_else(|e| panic!("get {i}: {e}"));
                assert_eq!(got, Some(value(*i, round)), "key {i} through {}", node.id());
            }
        })
    });
    for t in futures_util::future::join_all(tasks).await {
        t.unwrap();
    }
}

/// The descriptors tile the user key space: no gap, no overlap.
fn assert_tiles(descs: &[RangeDescriptor]) {
    let mut expect_start = Bytes::new();
    for d in descs {
        assert_eq!(d.span.start, expect_start, "gap or overlap at {d:?}");
        expect_start = Bytes::copy_from_slice(keys::span_end(&d.span));
    }
    assert_eq!(expect_start.as_ref(), USER_END, "the last range must reach the end of the user keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ranges_split_route_and_fail_over() {
    let mut c = Cluster::start().await;
    let descs = c.node(1).kv().descriptors().await.unwrap();
    assert_eq!(descs.len(), 1, "a fresh cluster has one data range: {descs:?}");
    assert_eq!(descs[0].range, RangeId(2));

    // Every gateway caches the single range before it splits.
    for n in c.live() {
        n.kv().put("warm", "up").await.unwrap();
        assert_eq!(n.kv().get("warm").await.unwrap().as_deref(), Some(&b"up"[..]));
    }

    // 10k keys through one gateway; the range splits while writers run.
    let t = Instant::now();
    write_all(c.node(1), (0..KEYS).collect(), 1).await;
    println!("wrote {KEYS} keys through n1 in {:?}", t.elapsed());

    // Splits settle: several ranges, tiling the key space.
    let deadline = Instant::now() + Duration::from_secs(30);
    let descs = loop {
        let d = c.node(2).kv().descriptors().await.unwrap();
        assert_tiles(&d);
        if d.len() >= 4 || Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("{} ranges after the writes", descs.len());
    assert!(descs.len() >= 4, "expected several ranges, got {descs:?}");

    // Every key reads back through every node; stale caches are corrected.
    for n in c.live() {
        let t = Instant::now();
        read_all(n, (0..KEYS).collect(), 1).await;
        println!("read {KEYS} keys through {} in {:?}", n.id(), t.elapsed());
        assert!(n.kv().cache().all().len() >= 4, "{}'s cache should have learned the splits", n.id());
        let rows = n.kv().scan("key", Some(Bytes::from("kez")), KEYS + 10).await.unwrap();
        assert_eq!(rows.len(), KEYS, "scan through {}", n.id());
        assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "scan out of order");
        assert_eq!(rows[1234], (key(1234), value(1234, 1)));
    }
    // A limited scan that starts in one range and stops in another.
    let first_end = keys::span_end(&descs[0].span).to_vec();
    let rows = c.node(3).kv().scan("key", None, 3000).await.unwrap();
    assert_eq!(rows.len(), 3000);
    assert_eq!(rows[2999].0, key(2999));
    assert!(rows.iter().any(|(k, _)| k.as_ref() >= first_end.as_slice()) || first_end.as_slice() > &b"key02999"[..]);

    // Conditional puts decide on the value at apply time.
    let kv = c.node(2).kv();
    let o = kv.conditional_put("cas", None, Some(Bytes::from("a"))).await.unwrap();
    assert!(o.applied);
    let o = kv.conditional_put("cas", None, Some(Bytes::from("b"))).await.unwrap();
    assert!(!o.applied);
    assert_eq!(o.current.as_deref(), Some(&b"a"[..]));
    let o = kv.conditional_put("cas", Some(Bytes::from("a")), Some(Bytes::from("b"))).await.unwrap();
    assert!(o.applied);
    assert_eq!(c.node(3).kv().get("cas").await.unwrap().as_deref(), Some(&b"b"[..]));
    let o = kv.conditional_put("cas", Some(Bytes::from("b")), None).await.unwrap();
    assert!(o.applied);
    assert_eq!(c.node(1).kv().get("cas").await.unwrap(), None);
    c.node(1).kv().delete(key(7)).await.unwrap();
    assert_eq!(c.node(3).kv().get(key(7)).await.unwrap(), None);
    c.node(1).kv().put(key(7), value(7, 1)).await.unwrap();

    // Reserved keys are refused with a clear error.
    let err = kv.put(Bytes::from_static(b"\xff\xff\xfemeta/x"), "v").await.unwrap_err();
    assert!(matches!(err, KvError::InvalidArgument(_)), "{err:?}");

    // Shut down the leader of the range holding key05000: writes resume.
    let target = c.node(1).kv().lookup(&key(5000)).await.unwrap();
    let leader = loop {
        if let Some(n) = c.live().find(|n| n.is_leader(target.range)) {
            break n.id();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let survivor = (1..=NODES).find(|i| *i != leader.0).unwrap();
    c.kill(leader.0).await;
    let t = Instant::now();
    if let Err(e) = c.node(survivor).kv().put(key(5000), value(5000, 2)).await {
        for n in c.live() {
            for r in n.raft().ranges() {
                let m = n.raft().metrics(r).unwrap();
                eprintln!(
                    "{} {r}: {:?} leader {:?} last_applied {:?}",
                    n.id(),
                    m.state,
                    m.current_leader,
                    m.last_applied
                );
            }
            eprintln!("{} cache {:?}", n.id(), n.kv().cache().get(&key(5000)));
        }
        panic!("{e}");
    }
    let failover = t.elapsed();
    println!("leader {leader} of {} shut down: a write to it committed after {failover:?}", target.range);
    assert!(failover < Duration::from_secs(20));

    // The survivors hold every acknowledged write and take new ones.
    let ids: Vec<usize> = (0..KEYS).step_by(7).collect();
    write_all(c.node(survivor), ids.clone(), 2).await;
    for n in c.live() {
        read_all(n, ids.clone(), 2).await;
        read_all(n, (1..KEYS).step_by(7).collect(), 1).await;
    }
    assert_tiles(&c.node(survivor).kv().descriptors().await.unwrap());
    for n in c.live() {
        n.stop().await;
    }
}

/// A split whose meta update never happened (as after a crash between the
/// two): gateways get "key not in range" from the left half and retry, the
/// splitter of the left half's leader publishes the split from the range's
/// own record, and every key stays readable and writable throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unpublished_split_is_repaired_from_the_range() {
    let c = Cluster::start().await;
    let kv = c.node(1).kv();
    for i in 0..200 {
        kv.put(key(i), value(i, 1)).await.unwrap();
    }
    // Split range 2 by hand, through its log only, as if the splitter
    // crashed before publishing; 1000 is an id the counter never hands out.
    let leader = loop {
        if let Some(n) = c.live().find(|n| n.is_leader(RangeId(2))) {
            break Arc::clone(n);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cmd = Command::Split { ts: leader.raft().now(), split_key: key(100), new_range: 1000 };
    let r = leader.raft().propose(RangeId(2), cmd).await.unwrap();
    assert!(matches!(r, alopex_cluster::raft::CommandResponse::Applied { .. }), "{r:?}");

    // Gateways with the stale descriptor still reach every key.
    for n in c.live() {
        assert_eq!(n.kv().get(key(150)).await.unwrap(), Some(value(150, 1)));
        n.kv().put(key(160), value(160, 2)).await.unwrap();
        assert_eq!(n.kv().get(key(160)).await.unwrap(), Some(value(160, 2)));
        assert_eq!(n.kv().get(key(50)).await.unwrap(), Some(value(50, 1)));
    }
    let descs = c.node(3).kv().descriptors().await.unwrap();
    assert_tiles(&descs);
    let ranges: Vec<RangeId> = descs.iter().map(|d| d.range).collect();
    assert_eq!(ranges, vec![RangeId(2), RangeId(1000)], "{descs:?}");
    assert_eq!(descs[0].generation, 2);
    assert_eq!(descs[1].span.start, key(100));
    // The right half is its own group on every replica.
    for n in c.live() {
        assert!(n.raft().group(RangeId(1000)).is_some(), "{} hosts r1000", n.id());
        assert_eq!(n.shape(RangeId(2)).unwrap().span.end, Some(key(100)));
    }
    let rows = c.node(2).kv().scan("", None, 1000).await.unwrap();
    assert_eq!(rows.len(), 200);
    for n in c.live() {
        n.stop().await;
    }
}

/// A replica that was away during a split catches up through a snapshot
/// taken after it: the snapshot's narrower span is adopted, and installing
/// it leaves the right half's keys in the engine alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_snapshot_after_a_split_narrows_a_lagging_replica() {
    let mut raft = range_support::raft_options();
    raft.raft.snapshot_policy = openraft::SnapshotPolicy::LogsSinceLast(20);
    raft.raft.max_in_snapshot_log_to_keep = 0;
    let mut opts = range_options();
    opts.split_threshold_bytes = u64::MAX;
    let mut c = Cluster::start_with(raft.clone(), opts.clone()).await;
    for i in 0..100 {
        c.node(1).kv().put(key(i), value(i, 1)).await.unwrap();
    }
    let away = 3;
    // Wait until the node that goes away has every key, then stop it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.node(away).raft().engine().get(&key(99)).unwrap().is_none() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    c.kill(away).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let leader = loop {
        if let Some(n) = c.live().find(|n| n.is_leader(RangeId(2))) {
            break Arc::clone(n);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cmd = Command::Split { ts: leader.raft().now(), split_key: key(50), new_range: 1000 };
    leader.raft().propose(RangeId(2), cmd).await.unwrap();
    // Enough writes to the left half that its log is purged behind a snapshot.
    for round in 2..6 {
        for i in 0..50 {
            c.node(1).kv().put(key(i), value(i, round)).await.unwrap();
        }
    }
    c.restart(away, raft, opts).await;
    let n = Arc::clone(c.node(away));
    let deadline = Instant::now() + Duration::from_secs(30);
    while n.raft().engine().get(&key(0)).unwrap() != Some(value(0, 5)) {
        assert!(Instant::now() < deadline, "the lagging replica never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(n.shape(RangeId(2)).unwrap().span.end, Some(key(50)), "the snapshot's span is adopted");
    for i in 50..100 {
        assert_eq!(n.raft().engine().get(&key(i)).unwrap(), Some(value(i, 1)), "right-half key {i} survived");
    }
    assert_eq!(n.kv().get(key(10)).await.unwrap(), Some(value(10, 5)));
    assert_eq!(n.kv().get(key(70)).await.unwrap(), Some(value(70, 1)));
    for n in c.live() {
        n.stop().await;
    }
}
