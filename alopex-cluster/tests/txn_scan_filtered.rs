//! Filtered scans (`KvTxn::scan_filtered`) through `ClusterStore` on three
//! in-process nodes whose ranges split small, with a test codec (a real
//! implementation of the seam: "the value's number is a multiple of n"):
//!
//! - across several ranges a filtered scan returns exactly what an
//!   unfiltered scan filtered at the gateway returns, forward and reverse,
//!   with and without limits (pages resume across range boundaries and
//!   across splits made while the transaction reads), and ships far fewer
//!   rows (`ClusterStore::rows_received`);
//! - the transaction's own writes are evaluated at the gateway;
//! - an intent on a key the filter rejects is still reported and settled;
//! - a serializable transaction whose filtered scan rejected a key
//!   conflicts with a concurrent write that makes the key match, and the
//!   leader's timestamp cache pushes that write above the scan.

mod range_support;

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::raft::RangeSpan;
use alopex_cluster::range::{ClusterKvOptions, RangeNodeOptions};
use alopex_cluster::txn::{ClusterStore, ClusterStoreOptions, keys as txn_keys};
use alopex_core::scan_filter::{RowPredicate, ScanFilter, register_codec};
use alopex_core::{Error, IsolationLevel, KeyBounds, KvStore, KvTxn, TxnOptions};
use bytes::Bytes;
use range_support::{Cluster, raft_options};

const ROWS: usize = 300;
const CODEC: u32 = 0x7E57_0C1F;

/// Matches values `"<number>:<padding>"` whose number is a multiple of n.
struct MultipleOf(u64);

fn number(value: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(value).ok()?;
    s.split(':').next()?.parse().ok()
}

impl RowPredicate for MultipleOf {
    fn matches(&self, _key: &[u8], value: &[u8]) -> alopex_core::Result<bool> {
        Ok(number(value).is_some_and(|n| n.is_multiple_of(self.0)))
    }
}

fn decode(program: &[u8]) -> alopex_core::Result<Arc<dyn RowPredicate>> {
    match program {
        [n] if *n > 0 => Ok(Arc::new(MultipleOf(u64::from(*n)))),
        _ => Err(Error::InvalidArgument("program: one non-zero byte".into())),
    }
}

fn multiple_of(n: u8) -> ScanFilter {
    register_codec(CODEC, "test:multiple-of", decode).unwrap();
    ScanFilter { codec: CODEC, program: Bytes::copy_from_slice(&[n]) }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn key(i: usize) -> Bytes {
    b(&format!("t/{i:04}"))
}

fn value(n: u64) -> Bytes {
    b(&format!("{n}:{}", "p".repeat(100)))
}

fn span() -> KeyBounds {
    (Bound::Included(b("t/")), Bound::Excluded(b("t0")))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Three nodes whose ranges split at 4 KiB, holding `ROWS` rows `t/NNNN`
/// = `N:padding` spread over at least three ranges.
async fn cluster() -> Cluster {
    let opts = RangeNodeOptions {
        split_threshold_bytes: 4 << 10,
        maintenance_interval: Duration::from_millis(100),
        gateway: ClusterKvOptions { deadline: Duration::from_secs(20), ..Default::default() },
    };
    let c = Cluster::start_with(raft_options(), opts).await;
    let kv = c.node(1).kv();
    for i in 0..ROWS {
        kv.put(key(i), value(i as u64)).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let descs = kv.descriptors().await.unwrap();
        let spanned: BTreeSet<_> =
            (0..ROWS).filter_map(|i| descs.iter().find(|d| d.span.contains(&key(i))).map(|d| d.range)).collect();
        if spanned.len() >= 3 {
            println!("the rows span {} ranges", spanned.len());
            break;
        }
        assert!(Instant::now() < deadline, "the rows span only {} ranges", spanned.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c
}

fn stores(c: &Cluster, opts: ClusterStoreOptions) -> Vec<ClusterStore> {
    c.live().map(|n| ClusterStore::new(Arc::clone(n), tokio::runtime::Handle::current(), opts.clone())).collect()
}

/// Every page of a filtered scan of `range`.
fn drain(t: &mut impl KvTxn, range: KeyBounds, reverse: bool, limit: usize, f: &ScanFilter) -> Vec<(Bytes, Bytes)> {
    let mut range = range;
    let mut rows = Vec::new();
    loop {
        let page = t.scan_filtered(range.clone(), reverse, limit, f).unwrap();
        if limit > 0 {
            assert!(page.rows.len() <= limit, "a page holds at most its limit");
        }
        rows.extend(page.rows);
        match page.resume {
            Some(rest) => range = rest,
            None => return rows,
        }
    }
}

/// The unfiltered scan filtered here.
fn expected(t: &mut impl KvTxn, n: u64) -> Vec<(Bytes, Bytes)> {
    let p = MultipleOf(n);
    t.scan(span(), false, 0).unwrap().into_iter().filter(|(k, v)| p.matches(k, v).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filtered_scans_return_exactly_the_matches_and_ship_only_them() {
    let c = cluster().await;
    let s = stores(&c, ClusterStoreOptions { scan_page: 16, ..Default::default() });
    let (store, writer) = (s[0].clone(), s[1].clone());
    blocking(move || {
        let f = multiple_of(7);
        let mut t = store.begin(TxnOptions::default()).unwrap();
        let want = expected(&mut t, 7);
        assert_eq!(want.len(), ROWS.div_ceil(7));
        for limit in [0, 1, 3, 100] {
            assert_eq!(drain(&mut t, span(), false, limit, &f), want, "forward, limit {limit}");
            let mut back = drain(&mut t, span(), true, limit, &f);
            back.reverse();
            assert_eq!(back, want, "reverse, limit {limit}");
        }

        // A limit is honoured, and the next page resumes past it.
        let page = t.scan_filtered(span(), false, 5, &f).unwrap();
        assert_eq!(page.rows, want[..5]);
        let next = t.scan_filtered(page.resume.clone().unwrap(), false, 5, &f).unwrap();
        assert_eq!(next.rows, want[5..10]);

        // Rows shipped: a selective filter ships its matches, a plain scan
        // everything (a fresh transaction: nothing cached).
        let mut fresh = store.begin(TxnOptions::default()).unwrap();
        let before = store.rows_received();
        let sparse = drain(&mut fresh, span(), false, 0, &multiple_of(50));
        let filtered = store.rows_received() - before;
        let before = store.rows_received();
        let all = fresh.scan(span(), false, 0).unwrap();
        let plain = store.rows_received() - before;
        println!("rows received: filtered {filtered} (matches {}), unfiltered {plain}", sparse.len());
        assert_eq!(filtered as usize, sparse.len());
        assert_eq!(plain as usize, all.len());
        assert!(filtered * 20 < plain, "a selective filter ships far fewer rows");

        // Pages resume across splits made while the transaction reads: the
        // writer fills the span with rows the snapshot does not see (after
        // the clock uncertainty of the snapshot, so that they are plainly
        // later, not uncertain).
        let mut paged = store.begin(TxnOptions::default()).unwrap();
        let first = paged.scan_filtered(span(), false, 3, &f).unwrap();
        std::thread::sleep(Duration::from_millis(600));
        for i in 0..ROWS {
            let mut w = writer.begin(TxnOptions::default()).unwrap();
            w.put(b(&format!("t/{i:04}/x")), value(7)).unwrap();
            w.commit().unwrap();
        }
        let mut rows = first.rows;
        rows.extend(drain(&mut paged, first.resume.unwrap(), false, 3, &f));
        assert_eq!(rows, want, "the snapshot's matches, whatever split meanwhile");
        let mut after = store.begin(TxnOptions::default()).unwrap();
        assert_eq!(drain(&mut after, span(), false, 0, &f), expected(&mut after, 7));
        assert_eq!(drain(&mut after, span(), false, 0, &f).len(), want.len() + ROWS);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn own_writes_are_evaluated_at_the_gateway_and_intents_are_settled() {
    let c = cluster().await;
    let opts = ClusterStoreOptions { liveness: Duration::from_millis(1_000), ..Default::default() };
    let s = stores(&c, opts);
    let (s1, s2) = (s[0].clone(), s[1].clone());
    blocking(move || {
        let f = multiple_of(10);
        let mut t = s1.begin(TxnOptions::default()).unwrap();
        t.put(key(1), value(10)).unwrap(); // now matches
        t.put(key(20), value(21)).unwrap(); // no longer matches
        t.delete(key(30)).unwrap(); // matched, gone
        t.put(b("t/0040/new"), value(40)).unwrap(); // a new match
        t.put(b("t/0050/new"), value(41)).unwrap(); // a new non-match
        let got = drain(&mut t, span(), false, 0, &f);
        assert_eq!(got, expected(&mut t, 10));
        let keys: Vec<Bytes> = got.iter().map(|(k, _)| k.clone()).collect();
        assert!(keys.contains(&key(1)) && keys.contains(&b("t/0040/new")));
        assert!(!keys.contains(&key(20)) && !keys.contains(&key(30)) && !keys.contains(&b("t/0050/new")));
        assert_eq!(drain(&mut t, span(), false, 2, &f), got, "limited pages with own writes");
        let mut back = drain(&mut t, span(), true, 2, &f);
        back.reverse();
        assert_eq!(back, got);
        t.rollback().unwrap();
    })
    .await;

    // A vanished coordinator's intent on a key whose committed value the
    // filter rejects: the filtered scan still meets it, and once the
    // record expired it aborts the record and resolves the intent.
    blocking(move || {
        let mut t = s2.begin(TxnOptions::default()).unwrap();
        t.put(key(3), value(30)).unwrap();
        t.put(key(ROWS - 3), value(30)).unwrap();
        t.crash_after_laying_intents().unwrap();
    })
    .await;
    let intents_left = |c: &Cluster| -> usize {
        let bounds = txn_keys::intent_bounds(&RangeSpan::new("", None));
        c.live().map(|n| n.raft().engine().scan(bounds.clone(), false).count()).sum()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while intents_left(&c) == 0 {
        assert!(Instant::now() < deadline, "no intent was laid");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let reader = s[2].clone();
    blocking(move || {
        let mut t = reader.begin(TxnOptions::default()).unwrap();
        let got = drain(&mut t, span(), false, 0, &multiple_of(10));
        assert_eq!(got.len(), ROWS.div_ceil(10), "the aborted writes are not seen");
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while intents_left(&c) > 0 {
        assert!(Instant::now() < deadline, "the filtered scan left the intents: {}", intents_left(&c));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_key_is_still_read_for_serializability() {
    let c = cluster().await;
    let s = stores(&c, ClusterStoreOptions::default());
    let store = s[0].clone();
    blocking(move || {
        let f = multiple_of(100);
        let serializable = TxnOptions { isolation: IsolationLevel::Serializable };
        // The leader records the whole span scanned, not only the matches:
        // a write of a rejected key by an older transaction is pushed above
        // the scan.
        let mut older = store.begin(TxnOptions::default()).unwrap();
        let mut scanner = store.begin(serializable).unwrap();
        let got = drain(&mut scanner, span(), false, 0, &f);
        assert_eq!(got.len(), ROWS.div_ceil(100));
        older.put(key(150), value(1500)).unwrap();
        let committed = older.commit().unwrap();
        assert!(committed > scanner.read_ts(), "pushed above the filtered scan");

        // The scanner's commit is pushed above the write (a later reader of
        // the key it writes), so its refresh scans again with the filter,
        // and finds key 150 matching now: a conflict.
        scanner.put(b("u/x"), b("1")).unwrap();
        let mut later = store.begin(TxnOptions::default()).unwrap();
        later.get(b"u/x").unwrap();
        later.commit().unwrap();
        match scanner.commit() {
            Err(Error::Conflict(m)) => println!("refused: {m}"),
            other => panic!("the filtered scan's phantom must fail the refresh: {other:?}"),
        }

        // The same with a write that stays rejected: it commits.
        let mut older = store.begin(TxnOptions::default()).unwrap();
        let mut scanner = store.begin(serializable).unwrap();
        drain(&mut scanner, span(), false, 0, &f);
        older.put(key(160), value(1601)).unwrap();
        older.commit().unwrap();
        scanner.put(b("u/y"), b("1")).unwrap();
        let mut later = store.begin(TxnOptions::default()).unwrap();
        later.get(b"u/y").unwrap();
        later.commit().unwrap();
        scanner.commit().unwrap();
    })
    .await;
}
