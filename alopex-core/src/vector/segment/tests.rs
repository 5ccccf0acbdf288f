//! Segment round trips, corruption cases and search quality.

use std::path::Path;

use bytes::Bytes;

use super::format::{CHECKSUM_LEN, HEADER_LEN};
use super::*;
use crate::coding::checksum;
use crate::error::Error;
use crate::vector::distance::Metric;
use crate::vector::spec::VectorIndexSpec;
use crate::vector::value;

/// Deterministic pseudo-random vectors in [-1, 1).
pub(crate) fn random_vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            (0..dim)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
                })
                .collect()
        })
        .collect()
}

fn spec(metric: Metric, dim: u32) -> VectorIndexSpec {
    VectorIndexSpec::new(3, &b"v/"[..], &b"v0"[..], dim, metric)
}

fn key(i: usize) -> Vec<u8> {
    format!("v/{i:06}").into_bytes()
}

fn build(spec: &VectorIndexSpec, vectors: &[Vec<f32>]) -> Bytes {
    let mut builder = SegmentBuilder::new(spec.clone());
    for (i, v) in vectors.iter().enumerate() {
        let value = value::encode(v).expect("finite");
        builder.add(&key(i), 10, Some(&value));
    }
    Bytes::from(builder.finish())
}

fn parse(bytes: &[u8]) -> crate::Result<Segment> {
    Segment::parse(&Bytes::copy_from_slice(bytes), Path::new("/test/000001.sst"))
}

/// Rewrites the checksum so a structural change is checked past it.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - CHECKSUM_LEN;
    let sum = checksum(&bytes[..body]);
    bytes[body..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

fn exact_top(metric: Metric, vectors: &[Vec<f32>], query: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> =
        vectors.iter().enumerate().map(|(i, v)| (metric.distance(query, v), i)).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored.into_iter().take(k).map(|(_, i)| i).collect()
}

#[test]
fn small_segment_round_trips_without_graph() {
    let spec = spec(Metric::L2, 4);
    let vectors = random_vectors(10, 4, 1);
    let mut builder = SegmentBuilder::new(spec.clone());
    builder.add(b"a", 5, Some(&value::encode(&vectors[0]).expect("enc"))); // outside the span
    builder.add(b"v/0", 5, None); // tombstone
    builder.add(b"v/1", 5, Some(b"bad")); // wrong length
    for (i, v) in vectors.iter().enumerate() {
        builder.add(&key(i), 7, Some(&value::encode(v).expect("enc")));
    }
    assert_eq!((builder.len(), builder.skipped()), (10, 1));
    let seg = parse(&builder.finish()).expect("parse");
    assert!(!seg.has_graph());
    assert_eq!(seg.len(), 10);
    assert_eq!(seg.fingerprint(), spec.fingerprint());
    assert_eq!(seg.key(3).as_ref(), key(3).as_slice());
    assert_eq!(seg.ts(3), 7);
    assert_eq!(seg.vector(3), vectors[3].as_slice());
    let hits = seg.search(&vectors[4], 3, 3, &|_| true);
    assert_eq!(hits.first().map(|s| s.node), Some(4));
    let hits = seg.search(&vectors[4], 3, 3, &|n| n % 2 == 1);
    assert!(hits.iter().all(|s| s.node % 2 == 1) && hits.len() == 3);
}

#[test]
fn empty_segment_parses() {
    let seg = parse(&SegmentBuilder::new(spec(Metric::L2, 2)).finish()).expect("parse");
    assert!(seg.is_empty());
    assert!(seg.search(&[0.0, 0.0], 5, 5, &|_| true).is_empty());
}

#[test]
fn graph_search_finds_near_neighbours() {
    let dim = 16;
    let vectors = random_vectors(2000, dim, 42);
    let queries = random_vectors(20, dim, 43);
    for metric in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
        let spec = spec(metric, dim as u32);
        let seg = parse(&build(&spec, &vectors)).expect("parse");
        assert!(seg.has_graph());
        let mut found = 0;
        for q in &queries {
            let mut query = q.clone();
            if metric == Metric::Cosine {
                crate::vector::distance::normalize(&mut query);
            }
            let truth = exact_top(metric, &vectors, q, 10);
            let hits = seg.search(&query, 10, 64, &|_| true);
            found += hits.iter().take(10).filter(|s| truth.contains(&(s.node as usize))).count();
        }
        let recall = found as f64 / (queries.len() * 10) as f64;
        assert!(recall >= 0.9, "{metric:?} recall {recall}");
        // A filter keeps only accepted nodes, and still finds them.
        let hits = seg.search(&queries[0], 10, 40, &|n| n % 10 == 0);
        assert_eq!(hits.len(), 40);
        assert!(hits.iter().all(|s| s.node % 10 == 0));
    }
}

#[test]
fn every_flipped_byte_is_corruption() {
    let vectors = random_vectors(300, 4, 5);
    let bytes = build(&spec(Metric::L2, 4), &vectors);
    assert!(parse(&bytes).expect("parse").has_graph());
    // Flip each byte of the header and a sample of the rest.
    let positions = (0..HEADER_LEN + 40).chain((HEADER_LEN..bytes.len()).step_by(97)).chain([bytes.len() - 1]);
    for at in positions {
        let mut bad = bytes.to_vec();
        bad[at] ^= 0x10;
        assert!(matches!(parse(&bad), Err(Error::Corruption { .. })), "flip at {at}");
    }
    for len in [0, 10, HEADER_LEN + CHECKSUM_LEN - 1, bytes.len() - 1] {
        assert!(matches!(parse(&bytes[..len]), Err(Error::Corruption { .. })), "cut at {len}");
    }
}

/// Structural damage behind a valid checksum (as a buggy writer would
/// produce) is still caught, with a message naming it.
#[test]
fn structural_damage_is_named() {
    let dim = 2u32;
    let parts = |graph: Option<SegmentGraph>, levels: [u8; 3]| SegmentParts {
        fingerprint: 1,
        metric: Metric::L2,
        dim,
        m: 2,
        nodes: (0..3).map(|i| SegmentNode { key: Bytes::from(key(i)), ts: 1, level: levels[i] }).collect(),
        vectors: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        graph,
    };
    let graph = |entry_point, max_level, adjacency| Some(SegmentGraph { entry_point, max_level, adjacency });
    let good = parts(graph(0, 1, vec![vec![vec![1, 2], vec![]], vec![vec![0]], vec![vec![0, 1]]]), [1, 0, 0]);
    parse(&good.encode()).expect("good segment parses");
    let check = |p: SegmentParts, expect: &str| match parse(&p.encode()) {
        Err(Error::Corruption { detail, .. }) => assert!(detail.contains(expect), "{detail} lacks {expect:?}"),
        other => panic!("expected corruption naming {expect:?}, got {other:?}"),
    };
    check(parts(graph(0, 1, vec![vec![vec![7], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "bad neighbour 7");
    check(parts(graph(0, 1, vec![vec![vec![0], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "bad neighbour 0");
    check(parts(graph(0, 1, vec![vec![vec![], vec![1]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "bad neighbour 1");
    check(parts(graph(1, 1, vec![vec![vec![], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "entry point 1");
    check(parts(graph(5, 1, vec![vec![vec![], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "entry point 5");
    check(parts(graph(0, 0, vec![vec![vec![], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]), "above the max level");
    check(
        parts(graph(0, 1, vec![vec![vec![1, 2, 1, 2, 1], vec![]], vec![vec![]], vec![vec![]]]), [1, 0, 0]),
        "limit 4",
    );
    let mut unordered = good.clone();
    unordered.nodes.swap(0, 1);
    check(unordered, "not in key order");
    let mut nan = good.clone();
    nan.vectors[3] = f32::NAN;
    check(nan, "element 1 of node 1");
    // Trailing bytes, a bad version and a bad metric, resealed.
    let mut long = good.encode();
    long.insert(long.len() - CHECKSUM_LEN, 0);
    assert!(
        matches!(parse(&reseal(long)), Err(Error::Corruption { detail, .. }) if detail.contains("unexpected bytes"))
    );
    let mut version = good.encode();
    version[8] = 9;
    assert!(matches!(parse(&reseal(version)), Err(Error::Corruption { detail, .. }) if detail.contains("version 9")));
    let mut metric = good.encode();
    metric[12] = 7;
    assert!(matches!(parse(&reseal(metric)), Err(Error::Corruption { detail, .. }) if detail.contains("metric 7")));
    let mut count = good.encode();
    count[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse(&reseal(count)), Err(Error::Corruption { detail, .. }) if detail.contains("node count")));
}
