//! Distance kernels: the three pgvector metrics, written so LLVM vectorizes
//! them.
//!
//! Every vector search spends nearly all its time here: a graph walk at
//! `ef_search = 40` over a 10,000-vector segment evaluates a few hundred
//! distances, an exact search over a memtable one per row. So the kernels
//! must run at the speed of the memory bus, not of one scalar add per cycle.
//!
//! A plain `iter().zip().map().sum()` does not vectorize: floating-point
//! addition is not associative, so LLVM may not reorder a single running
//! sum into SIMD lanes. The kernels here keep [`LANES`] independent
//! accumulators over chunks of that many elements and add them up at the
//! end. That *is* a different summation order, stated in the source, so
//! LLVM is free to map the accumulators onto SIMD registers (two 8-wide or
//! four 4-wide registers on the x86-64 baseline), and the independent
//! chains also hide the latency of the adds. The tail (`len % LANES`) is
//! summed scalar. The results differ from a naive loop only by rounding
//! (the tests check agreement to a relative 1e-5).
//!
//! No SIMD crate is used: the portable form reaches most of what explicit
//! intrinsics would on the baseline target, and it keeps the build simple.
//!
//! ## Semantics (pgvector)
//!
//! | metric | operator | distance |
//! |---|---|---|
//! | [`Metric::L2`] | `<->` | `sqrt(Σ (aᵢ - bᵢ)²)` |
//! | [`Metric::Cosine`] | `<=>` | `1 - a·b / (‖a‖ ‖b‖)`, NaN when either norm is 0 |
//! | [`Metric::InnerProduct`] | `<#>` | `-(a·b)` |
//!
//! Smaller is closer for all three. The graph walk compares *ranking*
//! distances ([`Metric::rank_distance`]) that order candidates the same way
//! but skip work: squared L2 (no square root), and for cosine `1 - a·b` over
//! vectors normalised once (see `segment::builder`).
//!
//! ## Measured
//!
//! 384 dimensions (the MiniLM data), release build, x86-64 baseline target,
//! one core of this 2-core machine while another job used the other
//! (`cargo test --release -p alopex-core --lib kernel_timing -- --ignored
//! --nocapture`; nanoseconds per pair, two runs):
//!
//! | kernel | naive loop | these kernels |
//! |---|---|---|
//! | dot product | 286–355 ns | 58 ns |
//! | squared L2 | 297–306 ns | 67–74 ns |
//! | cosine (three sums) | 885–1009 ns | 253–259 ns |
//!
//! About 5× faster than the naive loops; see `docs/vector.md`.

use crate::error::{Error, Result};

/// Independent accumulators per kernel; also the chunk length.
pub const LANES: usize = 16;

/// How distance is measured between two vectors of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Euclidean distance (pgvector `<->`, `vector_l2_ops`).
    L2,
    /// Cosine distance, `1 - cos` (pgvector `<=>`, `vector_cosine_ops`).
    Cosine,
    /// Negative inner product (pgvector `<#>`, `vector_ip_ops`).
    InnerProduct,
}

impl Metric {
    /// The byte that stands for this metric in the manifest and in segments.
    pub fn to_byte(self) -> u8 {
        match self {
            Metric::L2 => 0,
            Metric::Cosine => 1,
            Metric::InnerProduct => 2,
        }
    }

    /// The metric a byte stands for; `None` for an unknown byte.
    pub fn from_byte(b: u8) -> Option<Metric> {
        match b {
            0 => Some(Metric::L2),
            1 => Some(Metric::Cosine),
            2 => Some(Metric::InnerProduct),
            _ => None,
        }
    }

    /// The pgvector distance between `a` and `b` (same length; a longer
    /// one is cut to the shorter).
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared(a, b).sqrt(),
            Metric::Cosine => cosine_distance(a, b),
            Metric::InnerProduct => -dot(a, b),
        }
    }

    /// A distance that orders candidates like [`Metric::distance`], cheaper
    /// to compute: squared L2; for cosine, `1 - a·b`, which equals the
    /// cosine distance when both vectors are already unit length (segments
    /// and queries are normalised for it); the negative inner product.
    pub fn rank_distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared(a, b),
            Metric::Cosine => 1.0 - dot(a, b),
            Metric::InnerProduct => -dot(a, b),
        }
    }

    /// The operator pgvector writes for this metric.
    pub fn operator(self) -> &'static str {
        match self {
            Metric::L2 => "<->",
            Metric::Cosine => "<=>",
            Metric::InnerProduct => "<#>",
        }
    }
}

/// Adds the accumulators in a fixed tree, so the result does not depend on
/// how LLVM vectorized the loop.
#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    let mut half = [0f32; LANES / 2];
    for i in 0..LANES / 2 {
        half[i] = acc[i] + acc[i + LANES / 2];
    }
    let mut quarter = [0f32; LANES / 4];
    for i in 0..LANES / 4 {
        quarter[i] = half[i] + half[i + LANES / 4];
    }
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

/// The inner product `a·b`.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum = reduce(acc);
    for (x, y) in ta.iter().zip(tb) {
        sum += x * y;
    }
    sum
}

/// The squared Euclidean distance `Σ (aᵢ - bᵢ)²`.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut sum = reduce(acc);
    for (x, y) in ta.iter().zip(tb) {
        let d = x - y;
        sum += d * d;
    }
    sum
}

/// The squared norm `a·a`.
#[inline]
pub fn norm_squared(a: &[f32]) -> f32 {
    dot(a, a)
}

/// The cosine distance `1 - a·b / (‖a‖ ‖b‖)`, with the similarity clamped
/// to `[-1, 1]` as pgvector does; NaN when either vector is all zeros.
///
/// Three passes of [`dot`] measured as fast as one pass keeping three sets
/// of accumulators (about 255 ns at 384 dimensions either way), and are
/// simpler. Searches avoid this function where they can: segments and
/// queries are normalised once, so the graph walk needs one dot product.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ab, aa, bb) = (dot(a, b), dot(a, a), dot(b, b));
    let denominator = (f64::from(aa) * f64::from(bb)).sqrt();
    if denominator == 0.0 {
        return f32::NAN;
    }
    let similarity = (f64::from(ab) / denominator).clamp(-1.0, 1.0);
    (1.0 - similarity) as f32
}

/// `v` scaled to unit length in place; an all-zero vector stays zero.
pub fn normalize(v: &mut [f32]) {
    let norm = norm_squared(v).sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        for x in v {
            *x *= inv;
        }
    }
}

/// Checks a caller's query vector against an index's dimension: the right
/// length and finite values, or [`Error::InvalidArgument`].
pub fn check_query(query: &[f32], dim: u32) -> Result<()> {
    if query.len() != dim as usize {
        return Err(Error::InvalidArgument(format!(
            "query vector has {} dimensions, the index has {dim}",
            query.len()
        )));
    }
    if let Some(i) = query.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument(format!("query vector element {i} is not finite ({})", query[i])));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn naive_l2_squared(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }

    /// Deterministic pseudo-random vectors (no RNG dependency needed).
    fn vectors(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
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

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-5 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn kernels_agree_with_naive_loops() {
        for dim in [0, 1, 3, 15, 16, 17, 31, 33, 100, 384, 1000] {
            let v = vectors(2, dim, dim as u64 + 7);
            let (a, b) = (&v[0], &v[1]);
            assert!(close(dot(a, b), naive_dot(a, b)), "dot dim {dim}");
            assert!(close(l2_squared(a, b), naive_l2_squared(a, b)), "l2 dim {dim}");
            assert!(close(Metric::L2.distance(a, b), naive_l2_squared(a, b).sqrt()), "L2 dim {dim}");
            assert!(close(Metric::InnerProduct.distance(a, b), -naive_dot(a, b)), "ip dim {dim}");
            if dim > 0 {
                let cos = 1.0 - naive_dot(a, b) / (naive_dot(a, a).sqrt() * naive_dot(b, b).sqrt());
                assert!(close(Metric::Cosine.distance(a, b), cos), "cosine dim {dim}");
            }
        }
    }

    #[test]
    fn pgvector_semantics() {
        let a = [1.0, 2.0, 3.0];
        let b = [4.0, 5.0, 6.0];
        assert!(close(Metric::L2.distance(&a, &b), 27f32.sqrt()));
        assert!(close(Metric::InnerProduct.distance(&a, &b), -32.0));
        assert!(close(Metric::Cosine.distance(&a, &a), 0.0));
        assert!(close(Metric::Cosine.distance(&[1.0, 0.0], &[-1.0, 0.0]), 2.0));
        assert!(Metric::Cosine.distance(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
        let mut n = [3.0, 4.0];
        normalize(&mut n);
        assert!(close(n[0], 0.6) && close(n[1], 0.8));
        let (mut x, y) = (a, b);
        normalize(&mut x);
        let mut y = y;
        normalize(&mut y);
        assert!(close(Metric::Cosine.rank_distance(&x, &y), Metric::Cosine.distance(&a, &b)));
        for m in [Metric::L2, Metric::Cosine, Metric::InnerProduct] {
            assert_eq!(Metric::from_byte(m.to_byte()), Some(m));
        }
        assert_eq!(Metric::from_byte(3), None);
    }

    #[test]
    fn query_checks() {
        assert!(check_query(&[1.0, 2.0], 2).is_ok());
        assert!(matches!(check_query(&[1.0], 2), Err(Error::InvalidArgument(_))));
        assert!(matches!(check_query(&[1.0, f32::NAN], 2), Err(Error::InvalidArgument(_))));
        assert!(matches!(check_query(&[f32::INFINITY, 1.0], 2), Err(Error::InvalidArgument(_))));
    }

    /// Times the kernels against the naive loops. Run in release:
    /// `cargo test --release -p alopex-core --lib kernel_timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn kernel_timing() {
        let v = vectors(1000, 384, 1);
        let rounds = 200;
        let time = |f: &dyn Fn(&[f32], &[f32]) -> f32| {
            let start = std::time::Instant::now();
            let mut sink = 0f32;
            for _ in 0..rounds {
                for pair in v.windows(2) {
                    sink += f(std::hint::black_box(&pair[0]), std::hint::black_box(&pair[1]));
                }
            }
            std::hint::black_box(sink);
            start.elapsed().as_nanos() as f64 / (rounds * (v.len() - 1)) as f64
        };
        println!("dim 384: naive dot {:.1} ns, dot {:.1} ns", time(&naive_dot), time(&dot));
        println!("dim 384: naive l2² {:.1} ns, l2² {:.1} ns", time(&naive_l2_squared), time(&l2_squared));
        let naive_cosine = |a: &[f32], b: &[f32]| 1.0 - naive_dot(a, b) / (naive_dot(a, a) * naive_dot(b, b)).sqrt();
        println!("dim 384: naive cosine {:.1} ns, cosine {:.1} ns", time(&naive_cosine), time(&cosine_distance));
    }
}
