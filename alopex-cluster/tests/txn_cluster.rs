//! Distributed transactions through `ClusterStore`/`ClusterTxn` (the
//! `alopex_core::KvTxn` the SQL engine runs on) on three in-process nodes
//! over the in-memory transport, with real Raft groups and real engine
//! files, and ranges split small so that the keys below span several
//! ranges:
//!
//! - a transaction across ranges commits atomically and every node reads it;
//! - a bank: concurrent transfers between accounts in several ranges (half
//!   of them serializable), while
//!   a reader checks the total at every snapshot; at the end the total is
//!   unchanged, every acknowledged transfer is present, and no intent is
//!   left anywhere;
//! - a coordinator that vanishes after laying its intents leaves them to a
//!   reader, who aborts the expired record and resolves them;
//! - conflicting transactions: the later committer fails with a conflict,
//!   and an older writer wounds a younger transaction holding its key;
//! - snapshot isolation: a repeated read (and scan) returns the same value
//!   while another transaction commits;
//! - a transaction whose range splits between its keys while it is open
//!   commits (in two phases instead of one);
//! - write skew: snapshot isolation lets both transactions commit,
//!   serializable fails the second one's read refresh.
//!
//! The transactions are synchronous (`KvTxn`), so they run on plain
//! threads (`spawn_blocking`), as alopex-sql's worker threads will.

mod range_support;

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alopex_cluster::raft::RangeSpan;
use alopex_cluster::range::{ClusterKvOptions, RangeNodeOptions};
use alopex_cluster::txn::{ClusterStore, ClusterStoreOptions, keys as txn_keys};
use alopex_core::{Error, IsolationLevel, KvStore, KvTxn, TxnOptions};
use bytes::Bytes;
use range_support::{Cluster, raft_options};

const ACCOUNTS: usize = 24;
const START_BALANCE: u64 = 100;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn account(i: usize) -> Bytes {
    b(&format!("acct/{i:03}"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Three nodes whose ranges split at 4 KiB; filler rows between the
/// accounts make the accounts span at least `ranges` ranges.
async fn cluster(ranges: usize) -> Cluster {
    let opts = RangeNodeOptions {
        split_threshold_bytes: 4 << 10,
        maintenance_interval: Duration::from_millis(100),
        gateway: ClusterKvOptions { deadline: Duration::from_secs(20), ..Default::default() },
    };
    let c = Cluster::start_with(raft_options(), opts).await;
    let kv = c.node(1).kv();
    for i in 0..ACCOUNTS {
        for j in 0..4 {
            kv.put(format!("acct/{i:03}/fill{j}"), "f".repeat(200)).await.unwrap();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let descs = kv.descriptors().await.unwrap();
        let spanned: BTreeSet<_> = (0..ACCOUNTS)
            .filter_map(|i| descs.iter().find(|d| d.span.contains(&account(i))).map(|d| d.range))
            .collect();
        if spanned.len() >= ranges {
            println!("accounts span {} ranges", spanned.len());
            break;
        }
        assert!(Instant::now() < deadline, "the accounts span only {} ranges", spanned.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c
}

fn stores(c: &Cluster, opts: ClusterStoreOptions) -> Vec<ClusterStore> {
    c.live().map(|n| ClusterStore::new(Arc::clone(n), tokio::runtime::Handle::current(), opts.clone())).collect()
}

/// The number of intents on any user key, per live node.
fn intents_left(c: &Cluster) -> Vec<usize> {
    let bounds = txn_keys::intent_bounds(&RangeSpan::new("", None));
    c.live().map(|n| n.raft().engine().scan(bounds.clone(), false).count()).collect()
}

/// Waits until no node holds an intent.
async fn no_intents_left(c: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while intents_left(c).iter().any(|n| *n > 0) {
        assert!(Instant::now() < deadline, "intents left behind: {:?}", intents_left(c));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn balance(v: &Option<Bytes>) -> u64 {
    v.as_ref().map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_across_ranges_commits_atomically_and_every_node_sees_it() {
    let c = cluster(3).await;
    let s = stores(&c, ClusterStoreOptions::default());
    let keys: Vec<Bytes> = (0..ACCOUNTS).map(account).collect();
    let (s1, k) = (s[0].clone(), keys.clone());
    let ts = blocking(move || {
        let mut t = s1.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.get(&k[0]).unwrap(), None);
        for key in &k {
            t.put(key.clone(), b("100")).unwrap();
        }
        assert_eq!(t.get(&k[5]).unwrap(), Some(b("100")), "a transaction reads its own writes");
        t.commit().unwrap()
    })
    .await;
    assert!(ts > 0);
    for store in s.clone() {
        let k = keys.clone();
        blocking(move || {
            let mut t = store.begin(TxnOptions::default()).unwrap();
            let got = t.multi_get(&k).unwrap_or_else(|e| panic!("reading through {:?}: {e}", store.node().id()));
            assert!(got.iter().all(|v| v.as_deref() == Some(&b"100"[..])), "through {:?}: {got:?}", store.node().id());
            let rows = t.scan((Bound::Included(b("acct/")), Bound::Excluded(b("acct0"))), false, 0).unwrap();
            let accounts: Vec<_> = rows.iter().filter(|(k, _)| k.len() == 8).collect();
            assert_eq!(accounts.len(), ACCOUNTS);
            let rev = t.scan((Bound::Included(b("acct/")), Bound::Excluded(b("acct0"))), true, 3).unwrap();
            assert_eq!(rev.len(), 3);
            assert!(rev[0].0 > rev[1].0 && rev[1].0 > rev[2].0);
            t.commit().unwrap();
        })
        .await;
    }
    no_intents_left(&c).await;
    // The committed versions are on every replica (the resolution replicated).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.live().all(|n| keys.iter().all(|k| n.raft().engine().get(k).unwrap().is_some())) {
        assert!(Instant::now() < deadline, "the commit did not reach every replica");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bank_keeps_its_total_under_concurrent_transfers() {
    let c = cluster(3).await;
    let s = stores(&c, ClusterStoreOptions::default());
    let init = s[0].clone();
    blocking(move || {
        let mut t = init.begin(TxnOptions::default()).unwrap();
        for i in 0..ACCOUNTS {
            t.put(account(i), b(&START_BALANCE.to_string())).unwrap();
        }
        t.commit().unwrap();
    })
    .await;
    let total = ACCOUNTS as u64 * START_BALANCE;
    let stop = Arc::new(AtomicBool::new(false));
    let conflicts = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..6usize {
        let store = s[w % s.len()].clone();
        let (stop, conflicts) = (Arc::clone(&stop), Arc::clone(&conflicts));
        workers.push(tokio::task::spawn_blocking(move || {
            let mut acked = Vec::new();
            let mut ambiguous = 0;
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let from = (n as usize * 7 + w * 5) % ACCOUNTS;
                let to = (from + 1 + (n as usize + w) % (ACCOUNTS - 1)) % ACCOUNTS;
                let id = format!("xfer/{w}/{n:06}");
                // Half the workers run serializable transactions.
                let isolation = if w % 2 == 1 { IsolationLevel::Serializable } else { IsolationLevel::Snapshot };
                let mut t = store.begin(TxnOptions { isolation }).unwrap();
                let result = (|| {
                    let v = t.multi_get(&[account(from), account(to)])?;
                    let (a, bal) = (balance(&v[0]), balance(&v[1]));
                    let amount = 1 + n % 5;
                    if a < amount {
                        return Ok(false);
                    }
                    t.put(account(from), b(&(a - amount).to_string()))?;
                    t.put(account(to), b(&(bal + amount).to_string()))?;
                    t.put(b(&id), b(&amount.to_string()))?;
                    t.commit().map(|_| true)
                })();
                match result {
                    Ok(true) => acked.push(id),
                    Ok(false) => {
                        let _ = t.rollback();
                    }
                    Err(Error::Conflict(_)) => {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        println!("transfer {id}: {e}");
                        ambiguous += 1;
                    }
                }
            }
            (acked, ambiguous)
        }));
    }
    let (reader_store, reader_stop) = (s[1].clone(), Arc::clone(&stop));
    let reader = tokio::task::spawn_blocking(move || {
        let (mut snapshots, mut restarts, mut slowest) = (0, 0, Duration::ZERO);
        while !reader_stop.load(Ordering::Relaxed) {
            let mut t = reader_store.begin(TxnOptions::default()).unwrap();
            let keys: Vec<Bytes> = (0..ACCOUNTS).map(account).collect();
            let started = Instant::now();
            let got = t.multi_get(&keys);
            slowest = slowest.max(started.elapsed());
            match got {
                Ok(v) => {
                    let sum: u64 = v.iter().map(balance).sum();
                    assert_eq!(
                        sum,
                        total,
                        "a snapshot at {} saw a total of {sum}: {:?}",
                        t.read_ts(),
                        v.iter().map(balance).collect::<Vec<_>>()
                    );
                    snapshots += 1;
                }
                Err(Error::Conflict(_)) => restarts += 1,
                Err(e) => panic!("snapshot read: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("the reader restarted {restarts} times; the slowest snapshot took {slowest:?}");
        snapshots
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut ambiguous = 0;
    for w in workers {
        let (a, m) = w.await.unwrap();
        acked.extend(a);
        ambiguous += m;
    }
    let snapshots = reader.await.unwrap();
    println!(
        "{} transfers acknowledged, {} conflicts retried, {ambiguous} ambiguous, {snapshots} snapshots checked",
        acked.len(),
        conflicts.load(Ordering::Relaxed)
    );
    assert!(acked.len() >= 20, "too few transfers committed: {}", acked.len());
    assert!(snapshots >= 5, "too few snapshots: {snapshots}");
    for store in s {
        let acked = acked.clone();
        blocking(move || {
            let mut t = store.begin(TxnOptions::default()).unwrap();
            let v = t.multi_get(&(0..ACCOUNTS).map(account).collect::<Vec<_>>()).unwrap();
            assert_eq!(v.iter().map(balance).sum::<u64>(), total, "the final total");
            let rows = t.scan((Bound::Included(b("xfer/")), Bound::Excluded(b("xfer0"))), false, 0).unwrap();
            let present: BTreeSet<Bytes> = rows.into_iter().map(|(k, _)| k).collect();
            let missing: Vec<_> = acked.iter().filter(|id| !present.contains(&b(id))).collect();
            assert!(missing.is_empty(), "acknowledged transfers missing: {missing:?}");
            assert!(present.len() <= acked.len() + ambiguous, "transfers present that were never acknowledged");
        })
        .await;
    }
    no_intents_left(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn intents_of_a_vanished_coordinator_are_resolved_by_a_reader() {
    let c = cluster(2).await;
    let opts = ClusterStoreOptions { liveness: Duration::from_millis(1_000), ..Default::default() };
    let s = stores(&c, opts);
    let (first, last) = (account(0), account(ACCOUNTS - 1));
    let (s1, k0, k1) = (s[0].clone(), first.clone(), last.clone());
    blocking(move || {
        let mut t = s1.begin(TxnOptions::default()).unwrap();
        t.put(k0, b("lost")).unwrap();
        t.put(k1, b("lost")).unwrap();
        t.crash_after_laying_intents().unwrap();
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while intents_left(&c).iter().any(|n| *n != 2) {
        assert!(Instant::now() < deadline, "the intents were not laid everywhere: {:?}", intents_left(&c));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A reader right away: the holder is alive; it is pushed, and the reader
    // sees the value below its intent without waiting.
    let (s2, k0, k1) = (s[1].clone(), first.clone(), last.clone());
    blocking(move || {
        let mut t = s2.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.multi_get(&[k0, k1]).unwrap(), vec![None, None]);
    })
    .await;
    // After the liveness period, a reader aborts the record and resolves.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let (s3, k0, k1) = (s[2].clone(), first.clone(), last.clone());
    blocking(move || {
        let mut t = s3.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.multi_get(&[k0.clone(), k1]).unwrap(), vec![None, None]);
        // And the key is writable again.
        t.put(k0, b("mine")).unwrap();
        t.commit().unwrap();
    })
    .await;
    no_intents_left(&c).await;
    let (s1, k0) = (s[0].clone(), first.clone());
    blocking(move || {
        let mut t = s1.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.get(&k0).unwrap(), Some(b("mine")));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conflicting_transactions_one_commits_the_other_fails() {
    let c = cluster(2).await;
    let s = stores(&c, ClusterStoreOptions { liveness: Duration::from_secs(10), ..Default::default() });
    let (x, y) = (account(0), account(ACCOUNTS - 1));
    let (s1, s2) = (s[0].clone(), s[1].clone());
    let (x2, y2) = (x.clone(), y.clone());
    blocking(move || {
        // Two transactions read and write the same keys, in two ranges.
        let mut t1 = s1.begin(TxnOptions::default()).unwrap();
        let mut t2 = s2.begin(TxnOptions::default()).unwrap();
        for (t, v) in [(&mut t1, "one"), (&mut t2, "two")] {
            assert_eq!(t.multi_get(&[x2.clone(), y2.clone()]).unwrap(), vec![None, None]);
            t.put(x2.clone(), b(v)).unwrap();
            t.put(y2.clone(), b(v)).unwrap();
        }
        t1.commit().unwrap();
        match t2.commit() {
            Err(Error::Conflict(m)) => println!("the second committer: {m}"),
            other => panic!("the second committer must fail with a conflict: {other:?}"),
        }
        let mut t = s2.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.multi_get(&[x2.clone(), y2.clone()]).unwrap(), vec![Some(b("one")), Some(b("one"))]);

        // Wound-wait: an older writer meets the intents of a younger
        // transaction whose coordinator is alive but stuck (liveness 10 s):
        // it aborts the younger one instead of waiting for it.
        // (Both from one store: age is the read timestamp, and two stores'
        // clocks need not agree on which began first.)
        let mut older = s1.begin(TxnOptions::default()).unwrap();
        let mut younger = s1.begin(TxnOptions::default()).unwrap();
        younger.put(x2.clone(), b("younger")).unwrap();
        younger.put(y2.clone(), b("younger")).unwrap();
        younger.crash_after_laying_intents().unwrap();
        older.put(x2.clone(), b("older")).unwrap();
        older.put(y2.clone(), b("older")).unwrap();
        let started = Instant::now();
        older.commit().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "the older writer waited {:?}", started.elapsed());

        // A younger writer meeting an older live transaction's intent yields.
        let holder = s1.begin(TxnOptions::default()).unwrap();
        let mut late = s1.begin(TxnOptions::default()).unwrap();
        let mut holder = holder;
        holder.put(x2.clone(), b("held")).unwrap();
        holder.put(y2.clone(), b("held")).unwrap();
        holder.crash_after_laying_intents().unwrap();
        late.put(x2.clone(), b("late")).unwrap();
        late.put(y2.clone(), b("late")).unwrap();
        match late.commit() {
            Err(Error::Conflict(m)) => println!("the younger writer: {m}"),
            other => panic!("the younger writer must yield: {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_snapshot_does_not_change_while_others_commit() {
    let c = cluster(2).await;
    let s = stores(&c, ClusterStoreOptions::default());
    let (x, y) = (account(1), account(ACCOUNTS - 2));
    let (s1, s2) = (s[0].clone(), s[2].clone());
    blocking(move || {
        let mut setup = s1.begin(TxnOptions::default()).unwrap();
        setup.put(x.clone(), b("v0")).unwrap();
        setup.put(y.clone(), b("v0")).unwrap();
        setup.commit().unwrap();

        let mut reader = s1.begin(TxnOptions::default()).unwrap();
        assert_eq!(reader.get(&x).unwrap(), Some(b("v0")));
        let span = (Bound::Included(b("acct/")), Bound::Excluded(b("acct0")));
        let before = reader.scan(span.clone(), false, 0).unwrap();

        let mut writer = s2.begin(TxnOptions::default()).unwrap();
        writer.put(x.clone(), b("v1")).unwrap();
        writer.put(y.clone(), b("v1")).unwrap();
        let wts = writer.commit().unwrap();
        println!("reader at {}, writer committed at {wts}", reader.read_ts());

        assert_eq!(reader.get(&x).unwrap(), Some(b("v0")), "a repeated read");
        assert_eq!(reader.get(&y).unwrap(), Some(b("v0")), "a key first read after the other commit (scanned before)");
        assert_eq!(reader.scan(span, false, 0).unwrap(), before, "a repeated scan");
        reader.commit().unwrap();

        let mut later = s1.begin(TxnOptions::default()).unwrap();
        let got = later.multi_get(&[x.clone(), y.clone()]).unwrap();
        println!("later at {}", later.read_ts());
        assert_eq!(got, vec![Some(b("v1")), Some(b("v1"))]);

        // A key first read after another transaction committed it within
        // this one's clock uncertainty: the reader checks that what it read
        // before is unchanged and moves its snapshot past the new value...
        let mut r2 = s1.begin(TxnOptions::default()).unwrap();
        assert_eq!(r2.get(&x).unwrap(), Some(b("v1")));
        let mut w2 = s2.begin(TxnOptions::default()).unwrap();
        w2.put(y.clone(), b("v2")).unwrap();
        w2.commit().unwrap();
        assert_eq!(r2.get(&y).unwrap(), Some(b("v2")));
        assert_eq!(r2.get(&x).unwrap(), Some(b("v1")));
        // ...but when what it read changed too, it cannot, and conflicts.
        let mut r3 = s1.begin(TxnOptions::default()).unwrap();
        assert_eq!(r3.get(&x).unwrap(), Some(b("v1")));
        let mut w3 = s2.begin(TxnOptions::default()).unwrap();
        w3.put(x.clone(), b("v3")).unwrap();
        w3.put(y.clone(), b("v3")).unwrap();
        w3.commit().unwrap();
        match r3.get(&y) {
            Err(Error::Conflict(m)) => println!("the reader of a changed key: {m}"),
            other => panic!("the reader of a changed key must conflict: {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_survives_a_split_of_its_range() {
    let c = cluster(2).await;
    let s = stores(&c, ClusterStoreOptions::default());
    let (a, z) = (b("split/a"), b("split/z"));
    let kv = c.node(1).kv();
    let same_range = |descs: &[alopex_cluster::range::RangeDescriptor]| {
        descs.iter().find(|d| d.span.contains(&a)).map(|d| d.range)
            == descs.iter().find(|d| d.span.contains(&z)).map(|d| d.range)
    };
    assert!(same_range(&kv.descriptors().await.unwrap()), "both keys start in one range");
    // The transaction reads (caching the range) and buffers its writes...
    let store = s[0].clone();
    let (ka, kz) = (a.clone(), z.clone());
    let mut t = blocking(move || {
        let mut t = store.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.get(&ka).unwrap(), None);
        t.put(ka, b("A")).unwrap();
        t.put(kz, b("Z")).unwrap();
        t
    })
    .await;
    // ...while the range splits between its keys.
    for i in 0..300 {
        kv.put(format!("split/m{i:04}"), "m".repeat(100)).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while same_range(&kv.descriptors().await.unwrap()) {
        assert!(Instant::now() < deadline, "the range did not split");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The commit finds the one-phase path gone and commits in two phases.
    blocking(move || t.commit().unwrap()).await;
    let (store, ka, kz) = (s[1].clone(), a.clone(), z.clone());
    blocking(move || {
        let mut t = store.begin(TxnOptions::default()).unwrap();
        assert_eq!(t.multi_get(&[ka, kz]).unwrap(), vec![Some(b("A")), Some(b("Z"))]);
    })
    .await;
    no_intents_left(&c).await;
}

/// Write skew: two transactions each read both keys and clear one. Under
/// snapshot isolation both commit (and both keys end cleared); under
/// serializable isolation the read refresh fails the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serializable_refuses_write_skew_that_snapshot_isolation_allows() {
    let c = cluster(2).await;
    let s = stores(&c, ClusterStoreOptions::default());
    let (x, y) = (account(2), account(ACCOUNTS - 3));
    let store = s[0].clone();
    blocking(move || {
        let skew = |isolation: IsolationLevel| {
            let mut setup = store.begin(TxnOptions::default()).unwrap();
            setup.put(x.clone(), b("1")).unwrap();
            setup.put(y.clone(), b("1")).unwrap();
            setup.commit().unwrap();
            let opts = TxnOptions { isolation };
            let mut t1 = store.begin(opts).unwrap();
            let mut t2 = store.begin(opts).unwrap();
            for t in [&mut t1, &mut t2] {
                assert_eq!(t.multi_get(&[x.clone(), y.clone()]).unwrap(), vec![Some(b("1")), Some(b("1"))]);
            }
            t1.put(x.clone(), b("0")).unwrap();
            t2.put(y.clone(), b("0")).unwrap();
            let outcomes = (t1.commit(), t2.commit());
            let mut after = store.begin(TxnOptions::default()).unwrap();
            (outcomes, after.multi_get(&[x.clone(), y.clone()]).unwrap())
        };
        let ((a, b2), state) = skew(IsolationLevel::Snapshot);
        assert!(a.is_ok() && b2.is_ok(), "snapshot isolation commits both: {a:?} {b2:?}");
        assert_eq!(state, vec![Some(b("0")), Some(b("0"))]);
        let ((a, b2), state) = skew(IsolationLevel::Serializable);
        assert!(a.is_ok(), "the first serializable commit: {a:?}");
        match b2 {
            Err(Error::Conflict(m)) => println!("the second: {m}"),
            other => panic!("the second serializable commit must fail: {other:?}"),
        }
        assert_eq!(state, vec![Some(b("0")), Some(b("1"))]);
    })
    .await;
}
