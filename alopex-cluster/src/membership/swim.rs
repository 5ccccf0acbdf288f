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
//! - **The view.** After every event the task rebuilds a
//!   [`MembershipView`] from foca's member list and publishes it if it
//!   changed; it also keeps the transport's address book current so that
//!   RPCs reach every member foca knows.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use foca::{AccumulatingRuntime, Codec, Foca, OwnedNotification, PostcardCodec, Timer};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, trace, warn};

use super::config::MembershipConfig;
use super::identity::MemberId;
use super::view::{MemberState, MembershipView};
use crate::ids::NodeId;
use crate::transport::frame::DATAGRAM_MEMBERSHIP;
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
        let task = tokio::spawn(
            Agent { foca, transport: transport.clone(), view_tx, timers: mpsc::unbounded_channel() }
                .run(datagrams, command_rx),
        );
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
    transport: Transport,
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
    transport: Transport,
    view_tx: watch::Sender<MembershipView>,
    timers: (mpsc::UnboundedSender<Timer<MemberId>>, mpsc::UnboundedReceiver<Timer<MemberId>>),
}

impl Agent {
    async fn run(mut self, mut datagrams: mpsc::Receiver<Datagram>, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut runtime = AccumulatingRuntime::new();
        loop {
            tokio::select! {
                Some(datagram) = datagrams.recv() => self.receive(datagram, &mut runtime),
                Some(timer) = self.timers.1.recv() => {
                    if let Err(e) = self.foca.handle_timer(timer, &mut runtime) {
                        debug!(error = %e, "membership timer");
                    }
                }
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
            }
            self.drain(&mut runtime);
        }
    }

    /// Hands a datagram to foca if its sender speaks as itself.
    fn receive(&mut self, datagram: Datagram, runtime: &mut AccumulatingRuntime<MemberId>) {
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
