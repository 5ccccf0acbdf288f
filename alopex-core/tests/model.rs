//! Model-based test: random operations against the engine and a `BTreeMap`
//! model, asserting identical results.
//!
//! Operations: puts, deletes, range deletes, point reads, forward and
//! reverse scans over random ranges, snapshots (checked later against a copy
//! of the model taken when they were opened), flushes, compactions, and
//! reopens. Keys come from a small space with prefix relationships
//! (`k1`, `k10`, `k100`) so versions pile up and prefix ordering is tested.
//!
//! `ALOPEX_MODEL_OPS` (default 100 000) and `ALOPEX_MODEL_SEED` make longer
//! or different runs: `ALOPEX_MODEL_OPS=2000000 cargo test --release --test model`.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Duration;

use alopex_core::{Engine, Options, Snapshot, WriteBatch};
use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

type Model = BTreeMap<Bytes, Bytes>;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn key(rng: &mut SmallRng) -> Bytes {
    let n: u32 = rng.random_range(0..600);
    // Variable width so that keys prefix each other: k1, k10, k100.
    Bytes::from(format!("k{n}"))
}

fn value(rng: &mut SmallRng, step: u64) -> Bytes {
    let len = if rng.random_bool(0.05) { rng.random_range(200..2000) } else { rng.random_range(0..40) };
    let mut v = format!("v{step}-").into_bytes();
    v.resize(v.len() + len, b'x');
    Bytes::from(v)
}

fn bound(rng: &mut SmallRng) -> Bound<Bytes> {
    match rng.random_range(0..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(key(rng)),
        _ => Bound::Excluded(key(rng)),
    }
}

fn model_scan(model: &Model, range: &(Bound<Bytes>, Bound<Bytes>), reverse: bool) -> Vec<(Bytes, Bytes)> {
    // BTreeMap::range panics on inverted ranges; the engine returns nothing.
    let empty = match (&range.0, &range.1) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e))
        | (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
        _ => false,
    };
    if empty {
        return Vec::new();
    }
    let it = model.range::<Bytes, _>((range.0.as_ref(), range.1.as_ref())).map(|(k, v)| (k.clone(), v.clone()));
    if reverse { it.rev().collect() } else { it.collect() }
}

fn collect(iter: alopex_core::ScanIter) -> Vec<(Bytes, Bytes)> {
    iter.collect::<Result<_, _>>().expect("scan succeeds")
}

fn options() -> Options {
    Options {
        memtable_budget: 32 << 10,
        level1_target_bytes: 128 << 10,
        target_table_bytes: 32 << 10,
        l0_compaction_trigger: 3,
        ..Options::small_for_tests().relaxed(Duration::from_millis(50))
    }
}

#[test]
fn engine_matches_btreemap_model() {
    let ops = env_u64("ALOPEX_MODEL_OPS", 100_000);
    let seed = env_u64("ALOPEX_MODEL_SEED", 0xA10E);
    let mut rng = SmallRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut engine = Some(Engine::open(dir.path(), options()).expect("open"));
    let mut model = Model::new();
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    let mut counts = BTreeMap::<&str, u64>::new();

    for step in 0..ops {
        let e = engine.as_ref().expect("engine is open");
        let roll = rng.random_range(0..1000);
        let op = match roll {
            0..350 => {
                let (k, v) = (key(&mut rng), value(&mut rng, step));
                e.put(k.clone(), v.clone()).expect("put");
                model.insert(k, v);
                "put"
            }
            350..450 => {
                // A multi-key atomic batch.
                let mut batch = WriteBatch::new();
                for _ in 0..rng.random_range(1..6) {
                    let k = key(&mut rng);
                    if rng.random_bool(0.7) {
                        let v = value(&mut rng, step);
                        batch.put(k.clone(), v.clone());
                        model.insert(k, v);
                    } else {
                        batch.delete(k.clone());
                        model.remove(&k);
                    }
                }
                e.write(batch).expect("batch");
                "batch"
            }
            450..550 => {
                let k = key(&mut rng);
                e.delete(k.clone()).expect("delete");
                model.remove(&k);
                "delete"
            }
            550..565 => {
                let (mut a, mut b) = (key(&mut rng), key(&mut rng));
                if a > b {
                    std::mem::swap(&mut a, &mut b);
                }
                e.delete_range(a.clone(), b.clone()).expect("delete_range");
                let doomed: Vec<Bytes> = model.range(a..b).map(|(k, _)| k.clone()).collect();
                for k in doomed {
                    model.remove(&k);
                }
                "delete_range"
            }
            565..800 => {
                let k = key(&mut rng);
                assert_eq!(e.get(&k).expect("get"), model.get(&k).cloned(), "get {k:?} at step {step}");
                "get"
            }
            800..900 => {
                let range = (bound(&mut rng), bound(&mut rng));
                let reverse = rng.random_bool(0.5);
                assert_eq!(
                    collect(e.scan(range.clone(), reverse)),
                    model_scan(&model, &range, reverse),
                    "scan {range:?} reverse={reverse} at step {step}"
                );
                "scan"
            }
            900..930 => {
                if snapshots.len() < 4 {
                    snapshots.push((e.snapshot(), model.clone()));
                }
                "snapshot"
            }
            930..970 => {
                if !snapshots.is_empty() {
                    let i = rng.random_range(0..snapshots.len());
                    let (snap, frozen) = &snapshots[i];
                    let range = (bound(&mut rng), bound(&mut rng));
                    let reverse = rng.random_bool(0.5);
                    assert_eq!(
                        collect(snap.scan(range.clone(), reverse)),
                        model_scan(frozen, &range, reverse),
                        "snapshot scan at step {step}"
                    );
                    let k = key(&mut rng);
                    assert_eq!(snap.get(&k).expect("get"), frozen.get(&k).cloned(), "snapshot get at step {step}");
                    if rng.random_bool(0.3) {
                        snapshots.swap_remove(i);
                    }
                }
                "check_snapshot"
            }
            970..985 => {
                e.flush().expect("flush");
                "flush"
            }
            985..995 => {
                e.compact().expect("compact");
                "compact"
            }
            _ => {
                snapshots.clear();
                engine.take().expect("open").close().expect("close");
                engine = Some(Engine::open(dir.path(), options()).expect("reopen"));
                "reopen"
            }
        };
        *counts.entry(op).or_default() += 1;
    }
    // A final full comparison, after a full compaction too.
    let e = engine.take().expect("open");
    assert_eq!(
        collect(e.scan((Bound::Unbounded, Bound::Unbounded), false)),
        model_scan(&model, &(Bound::Unbounded, Bound::Unbounded), false)
    );
    drop(snapshots);
    e.compact_all().expect("compact all");
    assert_eq!(
        collect(e.scan((Bound::Unbounded, Bound::Unbounded), true)),
        model_scan(&model, &(Bound::Unbounded, Bound::Unbounded), true)
    );
    let stats = e.stats();
    eprintln!("model test: {ops} ops (seed {seed:#x}): {counts:?}; engine: {stats:?}");
}
