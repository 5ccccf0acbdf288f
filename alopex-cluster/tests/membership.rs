//! SWIM membership on real QUIC sockets on loopback: nodes learn each other
//! from one seed, a stopped node turns suspect then down within a bounded
//! time, comes back alive with a higher incarnation, and a graceful leave
//! is seen quickly. Timings are shrunk so the whole file runs in seconds.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alopex_cluster::NodeId;
use alopex_cluster::RangeId;
use alopex_cluster::membership::{MemberState, Membership, MembershipConfig, MembershipView};
use alopex_cluster::rpc::{RpcClient, RpcService};
use alopex_cluster::tls::{CertAuthority, NodeIdentity};
use alopex_cluster::transport::{Transport, TransportConfig};
use async_trait::async_trait;
use bytes::Bytes;

struct Pong;

#[async_trait]
impl RpcService for Pong {
    async fn handle(&self, _: NodeId, _: RangeId, _: u16, _: Bytes) -> Result<Bytes, String> {
        Ok(Bytes::from_static(b"pong"))
    }
}

const PROBE: Duration = Duration::from_millis(200);
const SUSPECT_TO_DOWN: Duration = Duration::from_millis(1000);

fn swim(seeds: Vec<SocketAddr>, incarnation: u64) -> MembershipConfig {
    MembershipConfig {
        seeds,
        incarnation: Some(incarnation),
        probe_period: PROBE,
        probe_rtt: Duration::from_millis(80),
        suspect_to_down_after: SUSPECT_TO_DOWN,
        gossip_period: Duration::from_millis(100),
        announce_period: Duration::from_millis(1000),
        join_retry: Duration::from_millis(200),
        ..MembershipConfig::default()
    }
}

struct Node {
    transport: Transport,
    membership: Membership,
}

fn start(identity: &NodeIdentity, listen: SocketAddr, seeds: Vec<SocketAddr>, incarnation: u64) -> Node {
    try_start(identity, listen, seeds, incarnation).unwrap()
}

fn try_start(
    identity: &NodeIdentity,
    listen: SocketAddr,
    seeds: Vec<SocketAddr>,
    incarnation: u64,
) -> Result<Node, alopex_cluster::transport::TransportError> {
    let mut config = TransportConfig::new(listen, identity.clone());
    config.connect_timeout = Duration::from_millis(500);
    config.idle_timeout = Duration::from_secs(2);
    config.keep_alive = Duration::from_millis(300);
    config.backoff_min = Duration::from_millis(50);
    config.backoff_max = Duration::from_millis(200);
    let transport = Transport::bind(config, Arc::new(Pong))?;
    let membership = Membership::start(transport.clone(), swim(seeds, incarnation)).unwrap();
    Ok(Node { transport, membership })
}

fn cluster(n: u64) -> (CertAuthority, Vec<NodeIdentity>, Vec<Node>) {
    let ca = CertAuthority::generate("test").unwrap();
    let ids: Vec<NodeIdentity> = (1..=n).map(|i| NodeIdentity::issue(&ca, NodeId(i), &[]).unwrap()).collect();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let seed = start(&ids[0], any, vec![], 1);
    let seed_addr = seed.transport.local_addr();
    let mut nodes = vec![seed];
    for identity in &ids[1..] {
        nodes.push(start(identity, any, vec![seed_addr], 1));
    }
    (ca, ids, nodes)
}

/// Waits until `pred` holds for the view of every node in `nodes`.
async fn until(nodes: &[&Node], limit: Duration, what: &str, pred: impl Fn(&MembershipView) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if nodes.iter().all(|n| pred(&n.membership.view())) {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            let views: Vec<String> = nodes.iter().map(|n| describe(&n.membership.view())).collect();
            panic!("not within {limit:?}: {what}\n{}", views.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn describe(v: &MembershipView) -> String {
    let members: Vec<String> =
        v.members.values().map(|m| format!("{}={}@{}", m.node, m.state.as_str(), m.incarnation)).collect();
    format!("{}: {}", v.local, members.join(" "))
}

fn all_alive(v: &MembershipView, n: u64) -> bool {
    (1..=n).all(|i| v.state(NodeId(i)) == Some(MemberState::Alive))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_learn_each_other_from_one_seed() {
    let (_ca, _ids, nodes) = cluster(5);
    let refs: Vec<&Node> = nodes.iter().collect();
    let took = until(&refs, Duration::from_secs(10), "every node sees 5 alive", |v| all_alive(v, 5)).await;
    println!("5 nodes converged in {took:?}");
    // The transport learned every member's address from membership:
    // node 5 (which only knew the seed) can call node 4 directly.
    let answer = nodes[4].transport.call(NodeId(4), RangeId(1), 1, Bytes::new()).await.unwrap();
    assert_eq!(&answer[..], b"pong");
    let view = nodes[2].membership.view();
    assert_eq!(view.get(NodeId(4)).unwrap().addr, nodes[3].transport.local_addr());
    assert_eq!(view.live().count(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_node_turns_suspect_then_down_and_returns_with_a_higher_incarnation() {
    let (_ca, ids, mut nodes) = cluster(3);
    {
        let refs: Vec<&Node> = nodes.iter().collect();
        until(&refs, Duration::from_secs(10), "3 alive", |v| all_alive(v, 3)).await;
    }
    // Watch what node 1 and node 2 believe about node 3, event by event.
    let mut seen = Vec::new();
    for node in &nodes[..2] {
        let mut rx = node.membership.subscribe();
        let (tx, out) = tokio::sync::oneshot::channel::<BTreeSet<MemberState>>();
        tokio::spawn(async move {
            let mut states = BTreeSet::new();
            let deadline = tokio::time::sleep(Duration::from_secs(10));
            tokio::pin!(deadline);
            loop {
                if let Some(s) = rx.borrow_and_update().state(NodeId(3)) {
                    states.insert(s);
                    if s == MemberState::Down {
                        break;
                    }
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break },
                    _ = &mut deadline => break,
                }
            }
            let _ = tx.send(states);
        });
        seen.push(out);
    }

    // Crash node 3: no goodbye.
    let node3 = nodes.pop().unwrap();
    let addr3 = node3.transport.local_addr();
    let stopped = Instant::now();
    drop(node3.membership);
    node3.transport.shutdown().await;
    drop(node3.transport);

    let survivors: Vec<&Node> = nodes.iter().collect();
    let took = until(&survivors, Duration::from_secs(8), "n3 down on n1 and n2", |v| {
        v.state(NodeId(3)) == Some(MemberState::Down)
    })
    .await;
    let detection = stopped.elapsed();
    println!("n3 declared down on every survivor {detection:?} after it stopped ({took:?} of waiting)");
    // Bound: a probe round over 2 members, the probe itself, the suspicion
    // timeout, and a few gossip rounds.
    assert!(detection < 2 * PROBE * 2 + SUSPECT_TO_DOWN + Duration::from_secs(2), "{detection:?}");
    let mut any_suspect = false;
    for out in seen {
        let states = out.await.unwrap();
        assert!(states.contains(&MemberState::Down), "{states:?}");
        any_suspect |= states.contains(&MemberState::Suspect);
    }
    assert!(any_suspect, "n3 went down without first being suspected anywhere");
    assert!(nodes[0].membership.view().state(NodeId(1)) == Some(MemberState::Alive));

    // Node 3 comes back (same certificate, same address) with a higher
    // incarnation: alive again everywhere. Another process on the machine
    // may have taken the freed port meanwhile; then it comes back on a new
    // one, which the others learn from its announcement.
    let seed = nodes[0].transport.local_addr();
    let restarted = match try_start(&ids[2], addr3, vec![seed], 2) {
        Ok(node) => node,
        Err(e) => {
            println!("port {addr3} taken meanwhile ({e}): restarting n3 on a new port");
            start(&ids[2], "127.0.0.1:0".parse().unwrap(), vec![seed], 2)
        }
    };
    nodes.push(restarted);
    let refs: Vec<&Node> = nodes.iter().collect();
    let took = until(&refs, Duration::from_secs(10), "n3 alive again with incarnation 2", |v| {
        all_alive(v, 3) && v.get(NodeId(3)).is_some_and(|m| m.incarnation == 2)
    })
    .await;
    println!("restarted n3 alive everywhere after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_leave_is_seen_before_any_suspicion_could_expire() {
    let (_ca, _ids, mut nodes) = cluster(4);
    {
        let refs: Vec<&Node> = nodes.iter().collect();
        until(&refs, Duration::from_secs(10), "4 alive", |v| all_alive(v, 4)).await;
    }
    let leaving = nodes.pop().unwrap();
    let start = Instant::now();
    leaving.membership.leave().await;
    leaving.transport.shutdown().await;
    let refs: Vec<&Node> = nodes.iter().collect();
    until(&refs, Duration::from_secs(5), "n4 down after leaving", |v| v.state(NodeId(4)) == Some(MemberState::Down))
        .await;
    let took = start.elapsed();
    println!("leave seen everywhere after {took:?}");
    assert!(took < SUSPECT_TO_DOWN, "a leave must not wait for failure detection: {took:?}");
}
