//! # Splits: a range past its size threshold becomes two
//!
//! The leader of each data range checks, every maintenance interval, its
//! range's live size (keys + values). Past the threshold it splits:
//!
//! 1. **Allocate** the right half's id from the meta range's counter, by a
//!    conditional write (ids lost to a crash are simply never used).
//! 2. **Split** through the range's own log: `Command::Split { split_key,
//!    new_range }` at the key where half of the bytes lie below. Every
//!    replica applies it at the same index, in one engine batch: its span
//!    shrinks to the left half, its generation grows, and the right half is
//!    recorded as a range hosted on this node (`raft::shape`). Each
//!    replica's maintenance task then starts the right half's group (on the
//!    **same replicas**) and initializes it with the same first membership,
//!    so whichever replica gets there first, the group is the same. The
//!    right half's data is already in every replica's engine, where the
//!    parent wrote it.
//! 3. **Publish** both halves in the meta range in one conditional write,
//!    guarded by the parent's old descriptor: it puts the left half under
//!    its new end key and replaces the parent's descriptor (under the old
//!    end key) with the right half's. Lookups see the old parent or the two
//!    halves, never a gap or an overlap.
//!
//! **A crash between 2 and 3** leaves the meta range one generation behind
//! the range. That state is detected and repaired by whichever node leads
//! the left half next: before anything else, the splitter compares the
//! range's shape with its descriptor in the meta range and, if the meta
//! range is behind, publishes step 3 again from the split record the shape
//! keeps. The write is conditional on the old descriptor, so running it
//! twice, or by a deposed leader, changes nothing. Meanwhile, requests for
//! keys of the right half reach the left half (the stale descriptor),
//! which answers "key not in range"; gateways back off and retry until the
//! meta range catches up. A range does not split again until the meta
//! range shows its current generation, and the right half does not split
//! until its descriptor is published.
//!
//! **Measuring** a range's size reads the whole range (keys and values), so
//! it is done only when the range has applied something since it was last
//! measured, and at most every `SCAN_EVERY` maintenance intervals. The
//! first version measured every range it led every interval (100 ms on the
//! fast profile): loading 1 GB into 3 nodes, each leader re-read some
//! thirty 10 MB ranges ten times a second whether or not they changed, the
//! load slowed from 40 splits a minute to 3 as ranges accumulated, and
//! the process stayed near 180 % CPU long after the writes had stopped.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;

use super::client::KvError;
use super::descriptor::RangeDescriptor;
use super::keys::{self, FIRST_ALLOCATED_RANGE, META_RANGE};
use super::node::{RangeNode, right_half};
use crate::ids::RangeId;
use crate::raft::shape::RangeShape;
use crate::raft::{Command, CommandResponse, RangeSpan, WriteOp, codec};

/// A range is measured at most once per this many maintenance intervals.
const SCAN_EVERY: u32 = 5;

/// When each (node, range) was last measured, and at which applied index.
/// Keyed by node too: tests and benchmarks run several nodes per process.
static MEASURED: LazyLock<Mutex<Measured>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// (node, range) -> (applied index, when) of the last measurement.
type Measured = HashMap<(u64, u64), (u64, Instant)>;

fn applied_index(node: &RangeNode, range: RangeId) -> u64 {
    node.raft().metrics(range).and_then(|m| m.last_applied).map_or(0, |l| l.index)
}

/// Whether `range` is due for a size measurement on `node` (see the module
/// documentation).
fn due(node: &RangeNode, range: RangeId) -> bool {
    let every = node.options().maintenance_interval * SCAN_EVERY;
    match MEASURED.lock().get(&(node.id().0, range.0)) {
        Some((index, at)) => *index != applied_index(node, range) && at.elapsed() >= every,
        None => true,
    }
}

/// Records that `range` was measured at `applied` and did not need a split
/// (a range that needs one is measured again until its split is done).
fn measured(node: &RangeNode, range: RangeId, applied: u64) {
    MEASURED.lock().insert((node.id().0, range.0), (applied, Instant::now()));
}

/// One pass of the splitter over the ranges this node leads.
pub(crate) async fn run_once(node: &RangeNode) {
    let ranges = node.raft().ranges();
    MEASURED.lock().retain(|(n, r), _| *n != node.id().0 || ranges.contains(&RangeId(*r)));
    for range in ranges {
        if range == META_RANGE || node.is_stopped() || !node.is_leader(range) {
            continue;
        }
        if let Err(e) = maintain(node, range).await {
            tracing::debug!(node = %node.id(), %range, error = %e, "split maintenance did not finish");
        }
    }
}

async fn maintain(node: &RangeNode, range: RangeId) -> Result<(), KvError> {
    let Some(shape) = node.shape(range) else { return Ok(()) };
    let meta = node.kv().lookup(&shape.span.start).await?;
    if meta.range != range || meta.generation > shape.generation {
        // Not published yet (the parent's leader will), or we lag behind.
        return Ok(());
    }
    if meta.generation < shape.generation {
        return publish(node, range, &shape, &meta).await;
    }
    let threshold = node.options().split_threshold_bytes;
    if !due(node, range) {
        return Ok(());
    }
    let applied = applied_index(node, range);
    let Some(split_key) = split_point(node, &shape.span, threshold) else {
        measured(node, range, applied);
        return Ok(());
    };
    let new_range = allocate(node).await?;
    let cmd = Command::Split { ts: node.raft().now(), split_key, new_range };
    match node.raft().propose(range, cmd).await {
        Ok(CommandResponse::Applied { .. }) => {}
        Ok(other) => return Err(KvError::Failed(format!("split refused: {other:?}"))),
        Err(e) => return Err(KvError::Failed(e.to_string())),
    }
    let Some(shape) = node.shape(range) else { return Ok(()) };
    publish(node, range, &shape, &meta).await
}

/// Step 3: replaces `old` (the parent's descriptor) with both halves.
async fn publish(node: &RangeNode, range: RangeId, shape: &RangeShape, old: &RangeDescriptor) -> Result<(), KvError> {
    let Some((right_range, right_span)) = right_half(shape) else {
        return Err(KvError::Failed(format!("{range} is ahead of the meta range but keeps no split record")));
    };
    if old.generation + 1 != shape.generation {
        return Err(KvError::Failed(format!(
            "{range}: meta generation {} cannot be repaired to {}",
            old.generation, shape.generation
        )));
    }
    let left = RangeDescriptor {
        range,
        span: shape.span.clone(),
        replicas: old.replicas.clone(),
        generation: shape.generation,
        leader_hint: Some(node.id()),
    };
    let right = RangeDescriptor {
        range: right_range,
        span: right_span,
        replicas: old.replicas.clone(),
        generation: 1,
        leader_hint: None,
    };
    let enc = |d: &RangeDescriptor| codec::encode(d).map(Bytes::from).map_err(|e| KvError::Failed(e.to_string()));
    let guard = keys::meta_key(keys::span_end(&old.span));
    let ops = vec![
        WriteOp::Put { key: keys::meta_key(keys::span_end(&left.span)), value: enc(&left)? },
        WriteOp::Put { key: keys::meta_key(keys::span_end(&right.span)), value: enc(&right)? },
    ];
    let outcome = node.kv().meta_conditional(guard, Some(enc(old)?), ops).await?;
    if outcome.applied {
        tracing::info!(node = %node.id(), left = %range, right = %right_range, "split published in the meta range");
        node.kv().cache().insert(left);
        node.kv().cache().insert(right);
    }
    Ok(())
}

/// The key below which half of the span's bytes lie, if the span holds
/// more than `threshold` bytes.
fn split_point(node: &RangeNode, span: &RangeSpan, threshold: u64) -> Option<Bytes> {
    let engine = node.raft().engine();
    let mut sizes: Vec<(Bytes, u64)> = Vec::new();
    let mut total = 0u64;
    for item in crate::txn::read::newest_in(engine, span.bounds()) {
        let (k, v) = item.ok()?;
        total += (k.len() + v.len()) as u64;
        sizes.push((k, total));
    }
    if total <= threshold || sizes.len() < 2 {
        return None;
    }
    let half = total / 2;
    let i = sizes.iter().position(|(_, cum)| *cum >= half)?.max(1);
    let key = sizes.get(i)?.0.clone();
    (key.as_ref() > span.start.as_ref() && span.contains(&key)).then_some(key)
}

/// Takes the next range id from the meta range's counter.
async fn allocate(node: &RangeNode) -> Result<u64, KvError> {
    let key = Bytes::from_static(keys::NEXT_RANGE_ID_KEY);
    loop {
        let current = node.kv().meta_get(key.clone()).await?;
        let id = match &current {
            Some(v) => u64::from_be_bytes(
                v.as_ref().try_into().map_err(|_| KvError::Failed("corrupt range-id counter".into()))?,
            ),
            None => FIRST_ALLOCATED_RANGE,
        };
        let next = Bytes::copy_from_slice(&(id + 1).to_be_bytes());
        let outcome = node
            .kv()
            .meta_conditional(key.clone(), current, vec![WriteOp::Put { key: key.clone(), value: next }])
            .await?;
        if outcome.applied {
            return Ok(id);
        }
    }
}
