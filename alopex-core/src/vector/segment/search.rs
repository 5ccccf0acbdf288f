//! Searching a segment: the standard HNSW walk over our own layout.
//!
//! 1. **Greedy descent.** From the entry point, on each layer above 0, move
//!    to whichever neighbour is closer to the query until none is; that
//!    node starts the next layer down.
//! 2. **Beam search on layer 0.** Keep a min-heap of candidates to expand
//!    and a max-heap of the best `ef` results; expand the closest candidate
//!    until it is farther than the worst result while the results are full.
//!
//! A filter (on user keys, and on timestamps to skip versions newer than
//! the snapshot) is applied *during* the walk: every node is
//! traversed (so the graph stays connected through rows the filter
//! rejects), but only accepted nodes enter the results, and the walk does
//! not stop while fewer than `ef` accepted nodes were found. A selective
//! filter therefore widens the walk towards an exhaustive one rather than
//! returning too few rows.
//!
//! A segment without a graph is searched exactly.
//!
//! Distances here are ranking distances
//! ([`Metric::rank_distance`](crate::vector::Metric::rank_distance)); the
//! query must already be normalised for cosine. The caller re-ranks the
//! final candidates by the exact distance of the version it returns.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::reader::Segment;

/// A node and its ranking distance, ordered by distance (then node).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The ranking distance to the query.
    pub distance: f32,
    /// The node index in the segment.
    pub node: u32,
}

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.distance.total_cmp(&other.distance).then(self.node.cmp(&other.node))
    }
}

/// One bit per node.
struct Visited(Vec<u64>);

impl Visited {
    fn new(n: usize) -> Self {
        Visited(vec![0; n.div_ceil(64)])
    }

    /// Marks `node`; true if it was not marked before.
    fn insert(&mut self, node: u32) -> bool {
        let (word, bit) = ((node / 64) as usize, node % 64);
        let fresh = self.0[word] & (1 << bit) == 0;
        self.0[word] |= 1 << bit;
        fresh
    }
}

impl Segment {
    fn rank(&self, query: &[f32], node: u32) -> f32 {
        self.metric.rank_distance(query, self.vector(node))
    }

    /// The up to `ef.max(k)` nodes closest to `query` that `accepts` takes,
    /// closest first, with their ranking distances. `query` must have the
    /// segment's dimension (normalised for cosine). `accepts` sees node
    /// indexes, so a caller can filter on [`Segment::key`] and
    /// [`Segment::ts`] alike.
    pub fn search(&self, query: &[f32], k: usize, ef: usize, accepts: &dyn Fn(u32) -> bool) -> Vec<Scored> {
        let ef = ef.max(k).max(1);
        let Some((entry, max_level)) = self.entry else {
            return self.search_exact(query, ef, accepts);
        };
        let mut current = Scored { distance: self.rank(query, entry), node: entry };
        for layer in (1..=max_level).rev() {
            loop {
                let mut improved = false;
                for &nb in self.neighbours(current.node, layer) {
                    let d = self.rank(query, nb);
                    if d < current.distance {
                        current = Scored { distance: d, node: nb };
                        improved = true;
                    }
                }
                if !improved {
                    break;
                }
            }
        }

        let mut visited = Visited::new(self.len());
        visited.insert(current.node);
        let mut candidates = BinaryHeap::new();
        let mut results: BinaryHeap<Scored> = BinaryHeap::new();
        candidates.push(Reverse(current));
        if accepts(current.node) {
            results.push(current);
        }
        while let Some(Reverse(closest)) = candidates.pop() {
            if results.len() >= ef && results.peek().is_some_and(|worst| closest.distance > worst.distance) {
                break;
            }
            for &nb in self.neighbours(closest.node, 0) {
                if !visited.insert(nb) {
                    continue;
                }
                let d = self.rank(query, nb);
                let full = results.len() >= ef;
                if !full || results.peek().is_some_and(|worst| d < worst.distance) {
                    let scored = Scored { distance: d, node: nb };
                    candidates.push(Reverse(scored));
                    if accepts(nb) {
                        results.push(scored);
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        results.into_sorted_vec()
    }

    /// Every accepted node scored, the best `ef` kept.
    fn search_exact(&self, query: &[f32], ef: usize, accepts: &dyn Fn(u32) -> bool) -> Vec<Scored> {
        let mut results: BinaryHeap<Scored> = BinaryHeap::new();
        for node in 0..self.len() as u32 {
            if !accepts(node) {
                continue;
            }
            let scored = Scored { distance: self.rank(query, node), node };
            if results.len() < ef {
                results.push(scored);
            } else if results.peek().is_some_and(|worst| scored < *worst) {
                results.pop();
                results.push(scored);
            }
        }
        results.into_sorted_vec()
    }
}
