//! # The placement control loop: observe → plan → execute, on the meta leader
//!
//! [`crate::placement::plan()`] decides moves from a snapshot of the
//! cluster; this loop builds that snapshot from the running cluster and
//! carries the moves out. **One node plans: the leader of the meta range.**
//! We chose that over "every leader acts for its own ranges" because the
//! plan needs the whole picture (replica and leader counts of every node)
//! to even things out, and two planners acting on the same counts at once
//! would pile replicas onto the same empty node or undo each other's
//! moves. The meta leader is unique per term, already reads every
//! descriptor, and when it fails the next meta leader takes over with no
//! hand-off (the loop keeps no state that matters beyond "since when has
//! this node been down", which it rebuilds from its own membership view).
//!
//! Each tick (every `Tuning::placement_period`), on every node:
//!
//! 1. **Refresh** the node's catalog (descriptors, the meta range's own
//!    record, decommission marks) from the meta range; `ClusterNode::nodes`
//!    answers from it without touching the network.
//! 2. Track **since when** each node has been suspect or down in this
//!    node's membership view (a node not in the view at all counts as down
//!    from the moment it was first missed).
//!
//! and, on the meta leader only, once the node has been up for
//! `Tuning::placement_grace` (so membership has found the others):
//!
//! 3. **Observe** every range: the meta range locally, each data range by a
//!    `RANGE_STATUS` call to its leader (voters, learners and whether they
//!    caught up, lagging members, span, generation). A range whose leader
//!    does not answer stays in the snapshot with its descriptor's replicas
//!    (so the counts stay right) but gets no moves.
//! 4. **Follow** the descriptors: a descriptor whose replicas or leader
//!    hint differ from the range's Raft membership is rewritten with a
//!    conditional write guarded by the descriptor read in step 3, so a
//!    concurrent split or an older planner never overwrites newer facts.
//!    The meta range's own membership is kept under `META_RANGE_RECORD`.
//!    The generation is left alone: it counts splits, and the splitter
//!    relies on that.
//! 5. **Repair**: a live member the leader has reported as lagging
//!    (nothing replicated, no heartbeat acknowledged) for `REPAIR_AFTER_PERIODS`
//!    ticks may not run the group at all, e.g. after it missed a split
//!    while down and caught up by snapshot. The range's leader is asked to
//!    repair it (`MoveRequest::Repair`): it snapshots and purges its log,
//!    so the member is seeded by a snapshot (the range's older data is in
//!    its parent's log), and sends it `HOST_REPLICA`, which starts the
//!    group if it is missing and does nothing otherwise.
//! 6. **Plan and execute**: each move goes to its range's leader as a
//!    `PLACE_MOVE` call (see `placement::executor::serve`), and the status
//!    it answers is used to rewrite the descriptor at once. Moves (and
//!    repairs) run in tasks of their own, so a slow one holds only its
//!    range: a range with one under way gets no other, the plan counts it
//!    as done, and at most `Policy::max_moves` are under way at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;

use super::config::Tuning;
use crate::ids::{NodeId, RangeId};
use crate::membership::{MemberState, MembershipView};
use crate::placement::executor;
use crate::placement::{ClusterState, Hold, Learner, Move, NodeState, NodeStatus, Policy, RangeState, plan_holding};
use crate::raft::{WriteOp, codec};
use crate::range::protocol::{KvReply, MoveRequest, RangeStatus, method};
use crate::range::{RangeDescriptor, RangeNode, keys};

/// The meta range's own record (its replicas and leader), in the meta span
/// but outside the descriptor keys.
pub const META_RANGE_RECORD: &[u8] = b"\xff\xff\xfemeta-range";
/// Decommission marks: `NODE_MARK_PREFIX` + node id (u64 BE).
pub const NODE_MARK_PREFIX: &[u8] = b"\xff\xff\xfenodes/";
const NODE_MARK_END: &[u8] = b"\xff\xff\xfenodes0";
const DECOMMISSIONING: &[u8] = b"decommissioning";

/// The key of `node`'s decommission mark.
pub fn node_mark_key(node: NodeId) -> Bytes {
    let mut k = NODE_MARK_PREFIX.to_vec();
    k.extend_from_slice(&node.0.to_be_bytes());
    Bytes::from(k)
}

/// What a node last read from the meta range.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// The data ranges' descriptors, in key order.
    pub descriptors: Vec<RangeDescriptor>,
    /// The meta range's record, once the meta leader wrote one.
    pub meta: Option<RangeDescriptor>,
    /// Nodes marked for decommissioning.
    pub draining: BTreeSet<NodeId>,
}

impl Catalog {
    /// Every range, the meta range last.
    pub fn all(&self) -> impl Iterator<Item = &RangeDescriptor> {
        self.descriptors.iter().chain(self.meta.iter())
    }
}

/// The loop's state. See the module documentation.
pub struct Control {
    range: Arc<RangeNode>,
    view: watch::Receiver<MembershipView>,
    policy: Policy,
    tuning: Tuning,
    started: Instant,
    since: Mutex<HashMap<NodeId, (Option<MemberState>, u64)>>,
    catalog: RwLock<Catalog>,
    /// When (ms) each range's leadership was last moved by this planner.
    transfers: Mutex<HashMap<RangeId, u64>>,
    /// Since when (ms) each member has been reported lagging.
    lagging: Mutex<HashMap<(RangeId, NodeId), u64>>,
    /// Since when (ms) this node has led the meta range (a new planner
    /// waits a cooldown before moving leaderships, so leadership of the
    /// meta range itself does not bounce between planners).
    planner_since: Mutex<Option<u64>>,
    /// Moves and repairs sent and not answered yet, by range (see
    /// `Control::spawn`).
    inflight: Mutex<HashMap<RangeId, Pending>>,
}

/// A move or repair under way: its range gets no other until it ends, and
/// the plan counts it as done already.
#[derive(Clone, Copy, Debug)]
enum Pending {
    Move(Move),
    Repair,
}

/// How many placement periods a member may lag before it is repaired: a
/// restarted node normally starts the ranges born while it was away by
/// replaying their parents' logs; only one that never does (it caught up
/// by a snapshot taken after a split) needs the repair. Repairing too early
/// would seed it from a snapshot while its parent's replay is still to
/// come, which could bring back keys deleted meanwhile.
const REPAIR_AFTER_PERIODS: u32 = 25;

/// How many repairs may be under way at once.
const MAX_REPAIRS: usize = 2;

/// How many placement periods a range waits between leadership moves: a
/// transfer takes an election round to show in the leader's status, and
/// planning again on the old picture would bounce leadership around.
const TRANSFER_COOLDOWN_PERIODS: u32 = 10;

fn enc<T: serde::Serialize>(v: &T) -> Option<Bytes> {
    codec::encode(v).ok().map(Bytes::from)
}

impl Control {
    /// The loop of `range`'s node, watching `view`.
    pub fn new(range: Arc<RangeNode>, view: watch::Receiver<MembershipView>, policy: Policy, tuning: Tuning) -> Self {
        Control {
            range,
            view,
            policy,
            tuning,
            started: Instant::now(),
            since: Mutex::new(HashMap::new()),
            catalog: RwLock::new(Catalog::default()),
            transfers: Mutex::new(HashMap::new()),
            lagging: Mutex::new(HashMap::new()),
            planner_since: Mutex::new(None),
            inflight: Mutex::new(HashMap::new()),
        }
    }

    /// The latest catalog.
    pub fn catalog(&self) -> Catalog {
        self.catalog.read().clone()
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(self.tuning.placement_call_timeout(), f).await.ok()
    }

    /// One tick (see the module documentation).
    pub async fn tick(self: &Arc<Self>) {
        self.refresh().await;
        let view = self.view.borrow().clone();
        let known: BTreeSet<NodeId> = self.catalog.read().all().flat_map(|d| d.replicas.iter().copied()).collect();
        self.track(&view, &known);
        let meta_leader = self.range.is_leader(keys::META_RANGE);
        {
            let mut since = self.planner_since.lock();
            match (meta_leader, *since) {
                (true, None) => *since = Some(self.now_ms()),
                (false, Some(_)) => *since = None,
                _ => {}
            }
        }
        if meta_leader && self.started.elapsed() >= self.tuning.placement_grace() {
            self.step(&view).await;
        }
    }

    /// Reads the catalog from the meta range.
    pub async fn refresh(&self) {
        let kv = self.range.kv();
        let Some(Ok(descriptors)) = self.timed(kv.descriptors()).await else { return };
        let meta = match self.timed(kv.meta_get(Bytes::from_static(META_RANGE_RECORD))).await {
            Some(Ok(Some(v))) => codec::decode::<RangeDescriptor>(&v).ok(),
            _ => self.catalog.read().meta.clone(),
        };
        let marks = kv.meta_scan(Bytes::from_static(NODE_MARK_PREFIX), Bytes::from_static(NODE_MARK_END), 10_000);
        let draining = match self.timed(marks).await {
            Some(Ok(rows)) => rows
                .iter()
                .filter(|(_, v)| v.as_ref() == DECOMMISSIONING)
                .filter_map(|(k, _)| {
                    Some(NodeId(u64::from_be_bytes(k.strip_prefix(NODE_MARK_PREFIX)?.try_into().ok()?)))
                })
                .collect(),
            _ => self.catalog.read().draining.clone(),
        };
        *self.catalog.write() = Catalog { descriptors, meta, draining };
    }

    fn track(&self, view: &MembershipView, known: &BTreeSet<NodeId>) {
        let now = self.now_ms();
        let mut since = self.since.lock();
        for id in view.members.keys().chain(known.iter()) {
            let state = view.state(*id);
            let e = since.entry(*id).or_insert((state, now));
            if e.0 != state {
                *e = (state, now);
            }
        }
    }

    fn node_status(&self, view: &MembershipView, id: NodeId) -> NodeStatus {
        let since = self.since.lock().get(&id).map_or(self.now_ms(), |e| e.1);
        match view.state(id) {
            Some(MemberState::Alive) => NodeStatus::Alive,
            Some(MemberState::Suspect) => NodeStatus::Suspect { since },
            Some(MemberState::Down) | None => NodeStatus::Down { since },
        }
    }

    async fn status_of(&self, desc: &RangeDescriptor) -> Option<RangeStatus> {
        let call = self.range.kv().leader_call(Some(desc.span.start.clone()), method::RANGE_STATUS, &());
        // A range without a leader would hold every step for the whole
        // call timeout; its status is only needed by the next tick.
        match tokio::time::timeout(self.tuning.placement_status_timeout(), call).await.ok() {
            // A range's start key never changes (a split keeps the left
            // half), so a status with another start came from another range.
            Some(Ok(KvReply::Status(s))) if s.span.start == desc.span.start => Some(s),
            Some(Ok(KvReply::Status(s))) => {
                tracing::debug!(range = %desc.range, answered = ?s.span, "a status call reached another range");
                self.range.kv().cache().evict(desc.range);
                None
            }
            _ => None,
        }
    }

    async fn step(self: &Arc<Self>, view: &MembershipView) {
        let began = Instant::now();
        let catalog = self.catalog();
        // Status calls and moves are routed by each range's start key
        // through the gateway's cache. Seed it with the descriptors just
        // read from the meta range: a cache still holding a parent from
        // before a split would send a call meant for the right half to the
        // parent, whose status then stood in for the half's (and whose
        // group would have carried out the half's moves).
        for d in &catalog.descriptors {
            self.range.kv().cache().insert(d.clone());
        }
        let meta_status = executor::status(&self.range, keys::META_RANGE);
        let statuses: Vec<Option<RangeStatus>> =
            futures_util::future::join_all(catalog.descriptors.iter().map(|d| self.status_of(d))).await;

        // Follow the descriptors, repair missing groups.
        if let Some(st) = &meta_status {
            self.sync_meta_record(catalog.meta.as_ref(), st).await;
        }
        let mut syncs = Vec::new();
        let mut repairs = Vec::new();
        for (d, st) in catalog.descriptors.iter().zip(&statuses) {
            if let Some(st) = st {
                syncs.push(self.sync_descriptor(d, st));
                repairs.push((d.range, st.clone()));
            }
        }
        let observed = began.elapsed();
        futures_util::future::join_all(syncs).await;
        if let Some(st) = &meta_status {
            repairs.push((keys::META_RANGE, st.clone()));
        }
        let now = self.now_ms();
        let patience = (self.tuning.placement_period() * REPAIR_AFTER_PERIODS).as_millis() as u64;
        let mut due = Vec::new();
        {
            let mut lagging = self.lagging.lock();
            let current: BTreeSet<(RangeId, NodeId)> = repairs
                .iter()
                .flat_map(|(r, st)| st.lagging.iter().map(move |n| (*r, NodeId(*n))))
                .filter(|(_, n)| view.state(*n) == Some(MemberState::Alive))
                .collect();
            lagging.retain(|k, _| current.contains(k));
            for k in current {
                let since = *lagging.entry(k).or_insert(now);
                if now.saturating_sub(since) >= patience {
                    lagging.insert(k, now); // next attempt after another wait
                    due.push(k);
                }
            }
        }
        for (range, node) in due {
            let key = catalog.descriptors.iter().find(|d| d.range == range).map(|d| d.span.start.clone());
            if range != keys::META_RANGE && key.is_none() {
                continue;
            }
            {
                // Each repair builds a snapshot on its leader: a few at a
                // time. (When many come due at once, it is usually a storm
                // of leader changes on a starved machine, not many nodes
                // missing groups.)
                let inflight = self.inflight.lock();
                let repairing = inflight.values().filter(|p| matches!(p, Pending::Repair)).count();
                if inflight.contains_key(&range) || repairing >= MAX_REPAIRS {
                    continue;
                }
            }
            tracing::info!(%node, %range, "repairing a member that does not run its group");
            self.spawn(range, Pending::Repair, async move |c: Arc<Control>| {
                let req = MoveRequest::Repair(node.0);
                let call = c.range.kv().leader_call(key, method::PLACE_MOVE, &req);
                match c.timed(call).await {
                    Some(Ok(KvReply::Status(_))) => {}
                    other => tracing::debug!(%node, %range, ?other, "repair not done"),
                }
            });
        }

        // Plan.
        let mut ranges = Vec::new();
        let mut unknown = BTreeSet::new();
        let mut descs: BTreeMap<RangeId, Option<RangeDescriptor>> = BTreeMap::new();
        if let Some(st) = &meta_status {
            ranges.push(state_of(keys::META_RANGE, st));
            descs.insert(keys::META_RANGE, None);
        }
        for (d, st) in catalog.descriptors.iter().zip(&statuses) {
            descs.insert(d.range, Some(d.clone()));
            match st {
                Some(st) => ranges.push(state_of(d.range, st)),
                None => {
                    unknown.insert(d.range);
                    ranges.push(RangeState {
                        id: d.range,
                        voters: d.replicas.clone(),
                        learners: Vec::new(),
                        leader: None,
                        size: 0,
                    });
                }
            }
        }
        let mut ids: BTreeSet<NodeId> = view.members.keys().copied().collect();
        for r in &ranges {
            ids.extend(r.voters.iter().copied());
            ids.extend(r.learners.iter().map(|l| l.node));
        }
        let nodes = ids
            .iter()
            .map(|id| NodeState {
                id: *id,
                status: self.node_status(view, *id),
                decommissioning: catalog.draining.contains(id),
            })
            .collect();
        // Moves under way count as done (so loads and the snapshots a node
        // is receiving include them), and their ranges get no other move.
        let pending: Vec<(RangeId, Pending)> = self.inflight.lock().iter().map(|(r, p)| (*r, *p)).collect();
        for (range, p) in &pending {
            if let (Pending::Move(m), Some(r)) = (p, ranges.iter_mut().find(|r| r.id == *range)) {
                project_move(r, m);
            }
            unknown.insert(*range);
        }
        let state = ClusterState { now: self.now_ms(), nodes, ranges };
        let now = self.now_ms();
        let cooldown = (self.tuning.placement_period() * TRANSFER_COOLDOWN_PERIODS).as_millis() as u64;
        // Leadership moves wait until this planner has planned for a
        // cooldown; then one per range per cooldown. Held ranges are left
        // out while planning, so they never take another range's slot.
        let transfers_off = self.planner_since.lock().is_none_or(|t| now.saturating_sub(t) < cooldown);
        let no_transfer =
            self.transfers.lock().iter().filter(|(_, t)| now.saturating_sub(**t) < cooldown).map(|(r, _)| *r).collect();
        let hold = Hold { frozen: unknown.clone(), no_transfer, transfers_off };
        // At most `max_moves` under way at once, counting those still
        // running from earlier steps.
        let budget = self.policy.max_moves.saturating_sub(pending.len());
        let policy = Policy { max_moves: budget, ..self.policy.clone() };
        let moves = if budget == 0 { Vec::new() } else { plan_holding(&state, &policy, &hold) };
        {
            let mut transfers = self.transfers.lock();
            transfers.retain(|_, t| now.saturating_sub(*t) < cooldown);
            for m in &moves {
                if let Move::TransferLeader { range, .. } = m {
                    transfers.insert(*range, now);
                }
            }
        }
        tracing::debug!(
            node = %self.range.id(),
            moves = moves.len(),
            unknown = unknown.len(),
            nodes = ?state.nodes.iter().map(|n| (n.id.0, n.status)).collect::<Vec<_>>(),
            ranges = ?state.ranges.iter().map(|r| (r.id.0, r.voters.iter().map(|v| v.0).collect::<Vec<_>>(), r.learners.len())).collect::<Vec<_>>(),
            "placement step"
        );
        if moves.is_empty() {
            return;
        }
        // Moves run on their own: a slow one (a membership change waiting
        // for a busy node, a snapshot being built) delays its own range, not
        // the next step. The first version waited for every move of a step
        // before the next; re-replicating 512 MB then went at about one
        // range per second, each step waiting for its slowest move.
        for m in &moves {
            let desc = descs.get(&m.range()).cloned().flatten();
            let mv = *m;
            self.spawn(m.range(), Pending::Move(mv), async move |c: Arc<Control>| c.execute(mv, desc).await);
        }
        // A slow step delays every range's next move: say where it went.
        if began.elapsed() > self.tuning.placement_period() * 5 {
            tracing::info!(
                node = %self.range.id(),
                took = ?began.elapsed(),
                ?observed,
                moves = moves.len(),
                unknown = unknown.len(),
                "slow placement step"
            );
        }
    }

    /// Runs `work` for `range` in a task of its own, with `range` marked
    /// as having `what` under way until it ends.
    fn spawn<F>(self: &Arc<Self>, range: RangeId, what: Pending, work: impl FnOnce(Arc<Control>) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inflight.lock().insert(range, what);
        let me = Arc::clone(self);
        let fut = work(Arc::clone(self));
        tokio::spawn(async move {
            fut.await;
            me.inflight.lock().remove(&range);
        });
    }

    async fn execute(&self, mv: Move, desc: Option<RangeDescriptor>) {
        tracing::info!(node = %self.range.id(), ?mv, "placement move");
        let req = match mv {
            Move::AddLearner { node, .. } => MoveRequest::AddLearner(node.0),
            Move::Promote { node, .. } => MoveRequest::Promote(node.0),
            Move::RemoveReplica { node, .. } => MoveRequest::Remove(node.0),
            Move::TransferLeader { to, .. } => MoveRequest::TransferLeader(to.0),
        };
        let key = desc.as_ref().map(|d| d.span.start.clone());
        let reply = self.timed(self.range.kv().leader_call(key, method::PLACE_MOVE, &req)).await;
        match reply {
            Some(Ok(KvReply::Status(st))) => match &desc {
                Some(d) => self.sync_descriptor(d, &st).await,
                None => {
                    let current = self.catalog.read().meta.clone();
                    self.sync_meta_record(current.as_ref(), &st).await;
                }
            },
            Some(Ok(other)) => tracing::debug!(?mv, ?other, "placement move not done"),
            Some(Err(e)) => tracing::debug!(?mv, error = %e, "placement move failed"),
            None => tracing::debug!(?mv, "placement move timed out"),
        }
    }

    /// Rewrites `desc` if its replicas or leader hint differ from `st`.
    ///
    /// Only the span has to match, not the generation: a replica that
    /// skipped splits by installing a snapshot counts one generation for
    /// all of them (the snapshot does not say how many), so while it leads,
    /// its status names a lower generation than the descriptor for the
    /// same span. The first version skipped such a range, and its
    /// descriptor kept replicas the range no longer had for as long as that
    /// replica led it: node counts per the descriptors stayed uneven while
    /// the planner's view (the statuses) was balanced. The write stays
    /// guarded by the descriptor read, so a split published meanwhile
    /// wins.
    async fn sync_descriptor(&self, desc: &RangeDescriptor, st: &RangeStatus) {
        let Some(want) = followed(desc, st) else { return };
        let key = keys::meta_key(keys::span_end(&desc.span));
        let (Some(old), Some(new)) = (enc(desc), enc(&want)) else { return };
        let ops = vec![WriteOp::Put { key: key.clone(), value: new }];
        let outcome = self.timed(self.range.kv().meta_conditional(key, Some(old), ops)).await;
        if !matches!(outcome, Some(Ok(ref o)) if o.applied) {
            tracing::debug!(range = %desc.range, want = ?want.replicas, have = ?desc.replicas, ?outcome, "descriptor update not applied");
        }
        if let Some(Ok(o)) = outcome
            && o.applied
        {
            tracing::debug!(range = %desc.range, replicas = ?want.replicas, "descriptor follows the membership");
            self.range.kv().cache().insert(want.clone());
            let mut cat = self.catalog.write();
            if let Some(d) = cat.descriptors.iter_mut().find(|d| d.range == want.range) {
                *d = want;
            }
        }
    }

    /// Rewrites the meta range's own record if it differs from `st`.
    async fn sync_meta_record(&self, current: Option<&RangeDescriptor>, st: &RangeStatus) {
        let want = described(keys::META_RANGE, keys::meta_span(), 1, st);
        if current == Some(&want) {
            return;
        }
        let key = Bytes::from_static(META_RANGE_RECORD);
        let Some(new) = enc(&want) else { return };
        let expected = match current {
            Some(c) => enc(c),
            None => None,
        };
        let ops = vec![WriteOp::Put { key: key.clone(), value: new }];
        match self.timed(self.range.kv().meta_conditional(key, expected, ops)).await {
            Some(Ok(o)) if o.applied => self.catalog.write().meta = Some(want),
            Some(Ok(o)) => {
                // Someone else wrote it: adopt theirs and retry next tick.
                self.catalog.write().meta = o.current.and_then(|v| codec::decode(&v).ok());
            }
            _ => {}
        }
    }
}

/// `r` as it will be once `m` (a move of `r`) is done.
fn project_move(r: &mut RangeState, m: &Move) {
    match *m {
        Move::AddLearner { node, .. } => {
            if !r.voters.contains(&node) && !r.learners.iter().any(|l| l.node == node) {
                r.learners.push(Learner { node, caught_up: false });
            }
        }
        Move::Promote { node, .. } => {
            if r.learners.iter().any(|l| l.node == node) {
                r.learners.retain(|l| l.node != node);
                r.voters.push(node);
            }
        }
        Move::RemoveReplica { node, .. } => {
            r.voters.retain(|v| *v != node);
            r.learners.retain(|l| l.node != node);
        }
        Move::TransferLeader { to, .. } => r.leader = Some(to),
    }
}

fn state_of(id: RangeId, st: &RangeStatus) -> RangeState {
    RangeState {
        id,
        voters: st.voters.iter().map(|n| NodeId(*n)).collect(),
        learners: st.learners.iter().map(|(n, c)| Learner { node: NodeId(*n), caught_up: *c }).collect(),
        leader: st.leader.map(NodeId),
        size: 0,
    }
}

/// The descriptor `desc` should become to follow `st` (its range's
/// status), or `None` when it already does or must not be followed: a
/// status of another span is a split not yet published (the splitter's
/// business). The generation stays the descriptor's (see
/// `Control::sync_descriptor`).
fn followed(desc: &RangeDescriptor, st: &RangeStatus) -> Option<RangeDescriptor> {
    if st.span != desc.span {
        tracing::debug!(
            range = %desc.range,
            status_generation = st.generation,
            descriptor_generation = desc.generation,
            "descriptor not followed: the range's shape differs (a split not yet published)"
        );
        return None;
    }
    if st.generation != desc.generation {
        tracing::debug!(
            range = %desc.range,
            status_generation = st.generation,
            descriptor_generation = desc.generation,
            "the leader counts another generation for the same span (it skipped splits by a snapshot)"
        );
    }
    let want = described(desc.range, desc.span.clone(), desc.generation, st);
    (want.replicas != desc.replicas || want.leader_hint != desc.leader_hint).then_some(want)
}

/// The descriptor a status calls for: voters first, then learners.
fn described(range: RangeId, span: crate::raft::RangeSpan, generation: u64, st: &RangeStatus) -> RangeDescriptor {
    let mut replicas: Vec<NodeId> = st.voters.iter().map(|n| NodeId(*n)).collect();
    replicas.extend(st.learners.iter().map(|(n, _)| NodeId(*n)));
    RangeDescriptor { range, span, replicas, generation, leader_hint: st.leader.map(NodeId) }
}

/// Runs `control` every `period` until `stopped` says so.
pub(crate) async fn run(control: Arc<Control>, period: Duration, stopped: Arc<std::sync::atomic::AtomicBool>) {
    loop {
        tokio::time::sleep(period).await;
        if stopped.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        control.tick().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::RangeSpan;

    fn desc(replicas: &[u64], generation: u64) -> RangeDescriptor {
        RangeDescriptor {
            range: RangeId(7),
            span: RangeSpan::new(Bytes::from_static(b"k"), Some(Bytes::from_static(b"m"))),
            replicas: replicas.iter().map(|n| NodeId(*n)).collect(),
            generation,
            leader_hint: Some(NodeId(replicas[0])),
        }
    }

    fn status(voters: &[u64], learners: &[u64], generation: u64, span: RangeSpan) -> RangeStatus {
        RangeStatus {
            voters: voters.to_vec(),
            learners: learners.iter().map(|n| (*n, false)).collect(),
            leader: Some(voters[0]),
            lagging: Vec::new(),
            span,
            generation,
        }
    }

    /// The residual placement stall of `node_cluster`: a leader that
    /// skipped splits by a snapshot counts a lower generation for the same
    /// span, and the descriptor must still follow its replicas (keeping
    /// the descriptor's generation); a status of another span must not.
    #[test]
    fn a_descriptor_follows_a_status_of_its_span_whatever_its_generation() {
        let d = desc(&[1, 2, 3], 4);
        let span = d.span.clone();
        let want = followed(&d, &status(&[1, 2, 4], &[5], 2, span.clone())).expect("followed");
        assert_eq!(want.replicas, vec![NodeId(1), NodeId(2), NodeId(4), NodeId(5)]);
        assert_eq!(want.generation, 4, "the generation stays the descriptor's");
        assert_eq!(want.span, span);
        assert!(followed(&d, &status(&[1, 2, 3], &[], 4, span.clone())).is_none(), "nothing to change");
        let narrower = RangeSpan::new(Bytes::from_static(b"k"), Some(Bytes::from_static(b"l")));
        assert!(followed(&d, &status(&[1, 2, 4], &[], 5, narrower)).is_none(), "an unpublished split");
    }
}
