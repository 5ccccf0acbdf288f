//! Building a segment: `hnsw_rs` makes the graph, we keep only its edges.
//!
//! `hnsw_rs` (pinned at 0.3.5) builds HNSW graphs well and in parallel, but
//! its persistence is unusable for us: it dumps only to files, in a
//! native-endian raw format, and its loader calls `process::exit` on some
//! bad input. So we use it purely as an in-memory graph builder:
//!
//! 1. Insert every vector with `parallel_insert_slice` (rayon), using the
//!    index's `m` and `ef_construction`, with each node's position as its
//!    `hnsw_rs` id.
//! 2. Walk its `PointIndexation`: each point's level is its `PointId.0`,
//!    and `get_neighborhood_id` gives its neighbours per layer (by our ids).
//!    The entry point is any node on the top layer.
//! 3. Write our own format (`format.rs`) and drop the `hnsw_rs` structure.
//!
//! The distance handed to `hnsw_rs` is our own kernel
//! ([`Metric::rank_distance`]). `hnsw_rs` asserts that distances are
//! non-negative and panics on NaN, so:
//!
//! * **cosine** vectors are normalised to unit length *at build time* and
//!   stored normalised: the graph and every later search use `1 - a·b`,
//!   one dot product instead of three, clamped at 0 against rounding. All-zero
//!   vectors (cosine distance undefined, NaN in pgvector) stay zero, at
//!   distance 1 from everything.
//! * **inner product** uses `max‖v‖² - a·b`, shifted by the segment's
//!   largest squared norm so that it is non-negative for every pair of
//!   indexed vectors and ranks exactly like `-a·b`.
//! * a NaN (only possible from overflow) becomes `f32::MAX`.
//!
//! As a last line of defence the build runs under `catch_unwind`: if
//! `hnsw_rs` panics anyway, the segment is written without a graph (searched
//! exactly, still correct) and a warning is logged, instead of taking the
//! flush thread down.
//!
//! Fewer than [`GRAPH_MIN_NODES`] vectors get no graph at all.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::hnsw::Hnsw;

use super::format::{GRAPH_MIN_NODES, MAX_LEVEL, SegmentGraph, SegmentNode, SegmentParts};
use super::reader::Segment;
use crate::key::Timestamp;
use crate::vector::distance::{self, Metric};
use crate::vector::spec::VectorIndexSpec;

/// The build-time distance handed to `hnsw_rs`; see the module docs.
struct BuildDistance {
    metric: Metric,
    /// The inner-product shift: the largest squared norm.
    shift: f32,
}

impl Distance<f32> for BuildDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = match self.metric {
            Metric::L2 => distance::l2_squared(a, b),
            Metric::Cosine => 1.0 - distance::dot(a, b),
            Metric::InnerProduct => self.shift - distance::dot(a, b),
        };
        if d.is_nan() { f32::MAX } else { d.max(0.0) }
    }
}

/// Collects the versions of one index's span while a table is written.
#[derive(Debug)]
pub struct SegmentBuilder {
    spec: VectorIndexSpec,
    nodes: Vec<SegmentNode>,
    vectors: Vec<f32>,
    /// Values in the span that are not a vector of the index's dimension.
    skipped: u64,
}

impl SegmentBuilder {
    /// A builder for `spec`.
    pub fn new(spec: VectorIndexSpec) -> Self {
        SegmentBuilder { spec, nodes: Vec::new(), vectors: Vec::new(), skipped: 0 }
    }

    /// The spec being built for.
    pub fn spec(&self) -> &VectorIndexSpec {
        &self.spec
    }

    /// Versions collected so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Values skipped because they were not vectors of the right dimension.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Offers one version, in internal key order. Versions outside the span
    /// and tombstones are ignored; a value that is not a finite vector of
    /// the index's dimension is counted in [`skipped`](Self::skipped) and
    /// left out (it can never be returned by a search either).
    pub fn add(&mut self, key: &[u8], ts: Timestamp, value: Option<&[u8]>) {
        let Some(value) = value else { return };
        if !self.spec.contains(key) {
            return;
        }
        let start = self.vectors.len();
        if crate::vector::value::decode_into(value, self.spec.dim, &mut self.vectors).is_err() {
            self.skipped += 1;
            return;
        }
        if self.spec.metric == Metric::Cosine {
            distance::normalize(&mut self.vectors[start..]);
        }
        self.nodes.push(SegmentNode { key: Bytes::copy_from_slice(key), ts, level: 0 });
    }

    /// True when `segment` indexes exactly the versions collected here
    /// (same keys and timestamps in the same order, same spec): its bytes
    /// can then be reused instead of building a new graph.
    pub fn same_nodes(&self, segment: &Segment) -> bool {
        segment.fingerprint() == self.spec.fingerprint()
            && segment.len() == self.nodes.len()
            && self
                .nodes
                .iter()
                .enumerate()
                .all(|(i, n)| segment.ts(i as u32) == n.ts && *segment.key(i as u32) == n.key)
    }

    /// Builds the graph (if there are enough nodes) and encodes the segment.
    pub fn finish(self) -> Vec<u8> {
        if self.skipped > 0 {
            tracing::warn!(
                index = self.spec.id,
                skipped = self.skipped,
                "values in a vector index span are not vectors of its dimension; they are not indexed"
            );
        }
        let mut parts = SegmentParts {
            fingerprint: self.spec.fingerprint(),
            metric: self.spec.metric,
            dim: self.spec.dim,
            m: self.spec.m,
            nodes: self.nodes,
            vectors: self.vectors,
            graph: None,
        };
        if parts.nodes.len() >= GRAPH_MIN_NODES {
            let built = catch_unwind(AssertUnwindSafe(|| build_graph(&self.spec, &parts.vectors, parts.nodes.len())));
            match built {
                Ok((levels, graph)) => {
                    for (node, level) in parts.nodes.iter_mut().zip(levels) {
                        node.level = level;
                    }
                    parts.graph = Some(graph);
                }
                Err(_) => tracing::warn!(
                    index = self.spec.id,
                    nodes = parts.nodes.len(),
                    "hnsw_rs panicked while building a graph; the segment will be searched exactly"
                ),
            }
        }
        parts.encode()
    }
}

/// Builds the HNSW graph over `count` vectors with `hnsw_rs` and extracts
/// each node's level and per-layer neighbours.
fn build_graph(spec: &VectorIndexSpec, vectors: &[f32], count: usize) -> (Vec<u8>, SegmentGraph) {
    let dim = spec.dim as usize;
    let shift = vectors.chunks_exact(dim).map(distance::norm_squared).fold(0f32, f32::max);
    let metric = BuildDistance { metric: spec.metric, shift };
    let m = spec.m as usize;
    let hnsw =
        Hnsw::<f32, BuildDistance>::new(m, count, usize::from(MAX_LEVEL) + 1, spec.ef_construction as usize, metric);
    let data: Vec<(&[f32], usize)> = vectors.chunks_exact(dim).enumerate().map(|(i, v)| (v, i)).collect();
    hnsw.parallel_insert_slice(&data);

    let indexation = hnsw.get_point_indexation();
    let mut levels = vec![0u8; count];
    let mut adjacency: Vec<Vec<Vec<u32>>> = vec![Vec::new(); count];
    for point in indexation {
        let id = point.get_origin_id();
        let Some(slot) = adjacency.get_mut(id) else { continue };
        let level = point.get_point_id().0.min(MAX_LEVEL);
        levels[id] = level;
        let neighbourhood = point.get_neighborhood_id();
        *slot = (0..=level)
            .map(|layer| {
                let cap = if layer == 0 { 2 * m } else { m };
                let mut list: Vec<u32> = Vec::with_capacity(cap);
                for nb in neighbourhood.get(usize::from(layer)).into_iter().flatten() {
                    let nb_id = nb.get_origin_id();
                    if nb_id != id && nb_id < count && !list.contains(&(nb_id as u32)) && list.len() < cap {
                        list.push(nb_id as u32);
                    }
                }
                list
            })
            .collect();
    }
    // A neighbour must reach the layer it is listed on.
    for layers in &mut adjacency {
        for (layer, list) in layers.iter_mut().enumerate() {
            list.retain(|&nb| usize::from(levels[nb as usize]) >= layer);
        }
    }
    let max_level = levels.iter().copied().max().unwrap_or(0);
    let entry_point = levels.iter().position(|&l| l == max_level).unwrap_or(0) as u32;
    (levels, SegmentGraph { entry_point, max_level, adjacency })
}
