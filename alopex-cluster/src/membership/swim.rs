//! # The membership task: foca on tokio, packets on QUIC datagrams
//!
//! foca is a pure state machine: it is handed packets and timer events and
//! hands back packets to send, timers to set and notifications. One tokio
//! task owns it and feeds it from three queues:
//!
//! ```text
//!   transport datagrams (kind 1) ──┐
//!   timer events (sleep tasks)  ───┼──> foca ──> send_datagram(peer, packet)
//!   commands (announce, leave)  ───┘        ├──> spawn sleep(d) -> timer queue
//!                                           └──> rebuild view -> watch channel
//! ```
//!
//! - **Identity from the certificate.** Before a packet reaches foca its
//!   header is decoded and the sender identity's node id compared with the
//!   node id the transport read from the sending connection's certificate;
//!   a packet in which a node speaks as another is dropped. (What a member
//!   *reports about others* is gossip by nature and is not checked.)
//! - **Joining.** A seed is dialed by address; its certificate tells its
//!   node id, and an announce is sent to it (foca accepts an announce
//!   addressed to any identity of the right node, so the seed's
//!   incarnation need not be known). Seeds are retried every `join_retry`
//!   until another member is known.
//! - **Leaving.** [`Membership::leave`] gossips this node's own departure
//!   and gives the datagrams a moment to leave before the task stops.
//! - **Telling a suspect it is suspected** (Lifeguard's "buddy system",
//!   which foca does not have). foca spreads a suspicion only as gossip that
//!   each member repeats `max_transmissions` times. A member cut off for a
//!   few seconds misses all of it: when it is back, nobody tells it, it
//!   cannot refute, and it is declared down when the suspicion times out,
//!   although it has been answering for seconds (found by the simulation,
//!   `tests/sim_membership.rs`). So when a datagram arrives from a member
//!   this node holds as suspect, the task answers with a suspicion hint
//!   (datagram kind 2, at most one per member per probe round trip); the
//!   suspect feeds it to foca as an update about itself, which raises its
//!   SWIM incarnation and gossips the refutation. A hint can only make a
//!   member refute, never make anyone think worse of it.
//! - **The view.** After every event the task rebuilds a
//!   [`MembershipView`] from foca's member list and publishes it if it
//!   changed; it also keeps the transport's address book current so that
//!   RPCs reach every member foca knows.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::collections::HashMap;

use foca::{AccumulatingRuntime, Codec, Foca, Member, OwnedNotification, PostcardCodec, State, Timer};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, trace, warn};

use super::config::MembershipConfig;
use super::identity::MemberId;
use super::link::DatagramLink;
use super::view::{MemberState, MembershipView};
use crate::ids::NodeId;
use crate::transport::frame::{DATAGRAM_MEMBERSHIP, DATAGRAM_SUSPICION};
use crate::transport::{Datagram, Transport};

/// How long [`Membership::leave`] lets the goodbye datagrams drain.
const LEAVE_DRAIN: Duration = Duration::from_millis(200);

type Swim = Foca<MemberId, PostcardCodec, SmallRng, foca::NoCustomBroadcast>;

/// Why membership could not start.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// A setting is out of range.
    #[error("invalid membership setting: {0}")]
    Config(String),
    /// Another task already consumes the transport's datagrams.
    #[error("the transport's datagrams are already taken")]
    DatagramsTaken,
}

enum Command {
    Announce(MemberId),
    Leave(oneshot::Sender<()>),
}

/// A running membership task; dropping it stops the task without saying
/// goodbye (as a crash would).
pub struct Membership {
    local: MemberId,
    commands: mpsc::UnboundedSender<Command>,
    view: watch::Receiver<MembershipView>,
    task: JoinHandle<()>,
    joiner: JoinHandle<()>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.task.abort();
        self.joiner.abort();
    }
}

impl Membership {
    /// Starts SWIM over `transport`'s datagrams and joins through
    /// `config.seeds`.
    pub fn start(transport: Transport, config: MembershipConfig) -> Result<Self, MembershipError> {
        Self::start_on(Arc::new(transport), config)
    }

    /// Starts SWIM over any [`DatagramLink`] (the simulation's, in tests)
    /// and joins through `config.seeds`.
    pub fn start_on(transport: Arc<dyn DatagramLink>, config: MembershipConfig) -> Result<Self, MembershipError> {
        let foca_config = config.to_foca().map_err(MembershipError::Config)?;
        let addr = config.advertise.unwrap_or_else(|| transport.local_addr());
        if addr.ip().is_unspecified() {
            return Err(MembershipError::Config(format!(
                "cannot advertise the wildcard address {addr}; set the advertised address"
            )));
        }
        let incarnation = config
            .incarnation
            .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64);
        let local = MemberId { node: transport.node_id(), addr, incarnation };
        let datagrams = transport.take_datagrams().ok_or(MembershipError::DatagramsTaken)?;
        let seed = incarnation ^ local.node.0.rotate_left(32);
        let foca = Foca::new(local, foca_config, SmallRng::seed_from_u64(seed), PostcardCodec);
        let (view_tx, view) = watch::channel(MembershipView::build(&local, std::iter::empty()));
        let (commands, command_rx) = mpsc::unbounded_channel();
        let agent = Agent {
            foca,
            transport: Arc::clone(&transport),
            view_tx,
            timers: mpsc::unbounded_channel(),
            hinted: HashMap::new(),
            hint_every: config.probe_rtt,
        };
        let task = tokio::spawn(agent.run(datagrams, command_rx));
        let joiner = tokio::spawn(join(transport, config, commands.clone(), view.clone()));
        info!(node = %local.node, %addr, incarnation, "membership started");
        Ok(Self { local, commands, view, task, joiner })
    }

    /// This node's identity.
    pub fn local(&self) -> MemberId {
        self.local
    }

    /// The latest view.
    pub fn view(&self) -> MembershipView {
        self.view.borrow().clone()
    }

    /// A receiver that sees every new view.
    pub fn subscribe(&self) -> watch::Receiver<MembershipView> {
        self.view.clone()
    }

    /// Leaves the cluster gracefully: tells a few members this node is
    /// going, waits briefly for the packets to leave, and stops the task.
    pub async fn leave(self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Contacts the seeds until some other member is known.
async fn join(
    transport: Arc<dyn DatagramLink>,
    config: MembershipConfig,
    commands: mpsc::UnboundedSender<Command>,
    view: watch::Receiver<MembershipView>,
) {
    let me = transport.node_id();
    loop {
        if view.borrow().members.len() > 1 || config.seeds.is_empty() {
            return;
        }
        for &seed in &config.seeds {
            match transport.connect_addr(seed).await {
                Ok(node) if node == me => {}
                Ok(node) => {
                    let dst = MemberId { node, addr: seed, incarnation: 0 };
                    if commands.send(Command::Announce(dst)).is_err() {
                        return;
                    }
                }
                Err(e) => debug!(%seed, error = %e, "seed unreachable"),
            }
        }
        tokio::time::sleep(config.join_retry).await;
    }
}

struct Agent {
    foca: Swim,
    transport: Arc<dyn DatagramLink>,
    view_tx: watch::Sender<MembershipView>,
    timers: (mpsc::UnboundedSender<Timer<MemberId>>, mpsc::UnboundedReceiver<Timer<MemberId>>),
    /// When each suspect was last sent a suspicion hint.
    hinted: HashMap<NodeId, tokio::time::Instant>,
    /// The least time between two hints to one member.
    hint_every: Duration,
}

impl Agent {
    async fn run(mut self, mut datagrams: mpsc::Receiver<Datagram>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut runtime = AccumulatingRuntime::new();
        loop {
            // `biased`: the branches are polled in this order rather than at
            // random, so a simulated run replays from its seed; commands and
            // timers are finite, so the datagrams after them never starve.
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(Command::Announce(dst)) => {
                        if let Err(e) = self.foca.announce(dst, &mut runtime) {
                            debug!(error = %e, "announce");
                        }
                    }
                    Some(Command::Leave(done)) => {
                        if let Err(e) = self.foca.leave_cluster(&mut runtime) {
                            debug!(error = %e, "leave");
                        }
                        self.drain(&mut runtime);
                        tokio::time::sleep(LEAVE_DRAIN).await;
                        info!(node = %self.foca.identity().node, "left the cluster");
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
                Some(timer) = self.timers.1.recv() => {
                    if let Err(e) = self.foca.handle_timer(timer, &mut runtime) {
                        debug!(error = %e, "membership timer");
                    }
                }
                Some(datagram) = datagrams.recv() => self.receive(datagram, &mut runtime),
            }
            self.drain(&mut runtime);
        }
    }

    /// Hands a datagram to foca if its sender speaks as itself.
    fn receive(&mut self, datagram: Datagram, runtime: &mut AccumulatingRuntime<MemberId>) {
        if datagram.kind == DATAGRAM_SUSPICION {
            self.receive_hint(&datagram, runtime);
            return;
        }
        if datagram.kind != DATAGRAM_MEMBERSHIP {
            return;
        }
        let claimed = match Codec::<MemberId>::decode_header(&mut PostcardCodec, &datagram.payload[..]) {
            Ok(header) => header.src.node,
            Err(e) => {
                debug!(from = %datagram.from, error = %e, "undecodable membership packet");
                return;
            }
        };
        if claimed != datagram.from {
            warn!(from = %datagram.from, %claimed, "membership packet speaks for another node; dropped");
            return;
        }
        if let Err(e) = self.foca.handle_data(&datagram.payload, runtime) {
            trace!(from = %datagram.from, error = %e, "membership packet refused");
        }
        self.hint_if_suspect(datagram.from);
    }

    /// Tells `node` that this member suspects it, if it does (see the
    /// module documentation); the sender is still suspect after foca read
    /// its packet, so it has not refuted yet.
    fn hint_if_suspect(&mut self, node: NodeId) {
        let suspect = self
            .foca
            .iter_membership_state()
            .find(|m| m.id().node == node && m.state() == State::Suspect)
            .map(|m| (*m.id(), m.incarnation()));
        let Some((id, incarnation)) = suspect else {
            self.hinted.remove(&node);
            return;
        };
        let now = tokio::time::Instant::now();
        if self.hinted.get(&node).is_some_and(|at| now.duration_since(*at) < self.hint_every) {
            return;
        }
        match postcard::to_allocvec(&(id, incarnation)) {
            Ok(payload) => {
                self.hinted.insert(node, now);
                debug!(%node, incarnation, "telling a suspect it is suspected");
                self.transport.send_datagram(node, DATAGRAM_SUSPICION, &payload);
            }
            Err(e) => debug!(error = %e, "cannot encode a suspicion hint"),
        }
    }

    /// A hint that this node is suspected: foca refutes it (raises its SWIM
    /// incarnation and gossips) if it is about this very identity.
    fn receive_hint(&mut self, datagram: &Datagram, runtime: &mut AccumulatingRuntime<MemberId>) {
        let (id, incarnation): (MemberId, u16) = match postcard::from_bytes(&datagram.payload) {
            Ok(hint) => hint,
            Err(e) => {
                debug!(from = %datagram.from, error = %e, "undecodable suspicion hint");
                return;
            }
        };
        if id != *self.foca.identity() {
            return;
        }
        debug!(from = %datagram.from, incarnation, "suspected; refuting");
        let update = Member::new(id, incarnation, State::Suspect);
        if let Err(e) = self.foca.apply_many(std::iter::once(update), true, runtime) {
            debug!(error = %e, "refuting a suspicion");
        }
    }

    /// Carries out what foca asked for and publishes the view.
    fn drain(&mut self, runtime: &mut AccumulatingRuntime<MemberId>) {
        while let Some((to, packet)) = runtime.to_send() {
            self.transport.set_peer_addr(to.node, to.addr);
            self.transport.send_datagram(to.node, DATAGRAM_MEMBERSHIP, &packet);
        }
        while let Some((after, timer)) = runtime.to_schedule() {
            let tx = self.timers.0.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                let _ = tx.send(timer);
            });
        }
        while let Some(notification) = runtime.to_notify() {
            log_notification(self.foca.identity().node, &notification);
        }
        self.publish();
    }

    fn publish(&self) {
        let view = MembershipView::build(self.foca.identity(), self.foca.iter_membership_state());
        self.view_tx.send_if_modified(|current| {
            if *current == view {
                return false;
            }
            for m in view.members.values() {
                if m.state != MemberState::Down {
                    self.transport.set_peer_addr(m.node, m.addr);
                }
            }
            *current = view;
            true
        });
    }
}

fn log_notification(me: NodeId, n: &OwnedNotification<MemberId>) {
    match n {
        OwnedNotification::MemberUp(m) => info!(%me, node = %m.node, addr = %m.addr, "member up"),
        OwnedNotification::MemberDown(m) => info!(%me, node = %m.node, "member down"),
        OwnedNotification::Rename(a, b) => {
            info!(%me, node = %b.node, from = a.incarnation, to = b.incarnation, "member restarted")
        }
        OwnedNotification::Rejoin(m) => warn!(%me, incarnation = m.incarnation, "declared down; rejoined"),
        OwnedNotification::Defunct => warn!(%me, "declared down"),
        other => debug!(%me, notification = ?other, "membership"),
    }
}
