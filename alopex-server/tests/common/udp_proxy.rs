//! A fault-injecting UDP proxy for partition tests.
//!
//! Node-to-node traffic is QUIC, so UDP: a partition is made by dropping
//! datagrams, not by closing sockets. Each node advertises the port of its
//! own proxy (`--advertise-addr`); the proxy forwards what arrives to the
//! node's real listen port and sends the answers back. It works like a NAT:
//! for each sender it opens an upstream socket, so the node sees the proxy
//! as the peer, and answers arriving on that socket go back to the sender.
//!
//! Every QUIC endpoint sends from its one bound socket, so the sender's
//! port names the sending node (its listen port), and the proxy's own node
//! is the receiver: each datagram belongs to a known (from, to) pair, in
//! either direction. [`Net::partition`] blocks chosen pairs (both
//! directions) and [`Net::heal`] lifts every block; a blocked datagram is
//! dropped silently, as a broken link would. Sockets are plain tokio UDP
//! sockets on loopback; the proxies run until the [`Net`] is dropped.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The largest datagram forwarded (QUIC keeps well below it).
const MAX_DATAGRAM: usize = 65_535;

#[derive(Default)]
struct Rules {
    /// Node listen port → node index.
    nodes: HashMap<u16, usize>,
    /// Blocked (from, to) pairs.
    blocked: HashSet<(usize, usize)>,
    /// Datagrams dropped so far.
    dropped: u64,
}

impl Rules {
    /// Whether a datagram from the node listening on `from_port` to node
    /// `to` passes.
    fn passes(&mut self, from_port: u16, to: usize) -> bool {
        let ok = match self.nodes.get(&from_port) {
            Some(&from) => !self.blocked.contains(&(from, to)),
            None => true,
        };
        if !ok {
            self.dropped += 1;
        }
        ok
    }
}

/// The proxies of a test cluster and their fault rules.
#[derive(Default)]
pub struct Net {
    rules: Arc<Mutex<Rules>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
    }
}

impl Net {
    /// No proxies yet.
    pub fn new() -> Net {
        Net::default()
    }

    /// Starts the proxy of node `index`, which listens on UDP `node_port`:
    /// returns the proxy's port (for the node's `--advertise-addr`).
    pub async fn proxy(&self, index: usize, node_port: u16) -> u16 {
        self.rules.lock().unwrap().nodes.insert(node_port, index);
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.expect("bind proxy"));
        let port = front.local_addr().expect("addr").port();
        let target: SocketAddr = ([127, 0, 0, 1], node_port).into();
        let rules = self.rules.clone();
        let tasks = self.tasks.clone();
        let task = tokio::spawn(async move {
            let mut upstreams: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let Ok((n, from)) = front.recv_from(&mut buf).await else { continue };
                if !rules.lock().unwrap().passes(from.port(), index) {
                    continue;
                }
                let up = match upstreams.get(&from) {
                    Some(up) => up.clone(),
                    None => {
                        let Ok(up) = UdpSocket::bind("127.0.0.1:0").await else { continue };
                        if up.connect(target).await.is_err() {
                            continue;
                        }
                        let up = Arc::new(up);
                        upstreams.insert(from, up.clone());
                        // Answers from the node go back to the sender.
                        let (up2, front2, rules2) = (up.clone(), front.clone(), rules.clone());
                        let back = tokio::spawn(async move {
                            let mut buf = vec![0u8; MAX_DATAGRAM];
                            loop {
                                let Ok(n) = up2.recv(&mut buf).await else { continue };
                                let pass = {
                                    let mut r = rules2.lock().unwrap();
                                    match r.nodes.get(&from.port()).copied() {
                                        Some(to) => {
                                            let ok = !r.blocked.contains(&(index, to));
                                            if !ok {
                                                r.dropped += 1;
                                            }
                                            ok
                                        }
                                        None => true,
                                    }
                                };
                                if pass {
                                    let _ = front2.send_to(&buf[..n], from).await;
                                }
                            }
                        });
                        tasks.lock().unwrap().push(back);
                        up
                    }
                };
                let _ = up.send(&buf[..n]).await;
            }
        });
        self.tasks.lock().unwrap().push(task);
        port
    }

    /// Cuts every link between a node of `a` and a node of `b`, both ways.
    pub fn partition(&self, a: &[usize], b: &[usize]) {
        let mut r = self.rules.lock().unwrap();
        for &x in a {
            for &y in b {
                r.blocked.insert((x, y));
                r.blocked.insert((y, x));
            }
        }
    }

    /// Lifts every block.
    pub fn heal(&self) {
        self.rules.lock().unwrap().blocked.clear();
    }

    /// Datagrams dropped so far.
    pub fn dropped(&self) -> u64 {
        self.rules.lock().unwrap().dropped
    }
}

/// Defines and starts `n` nodes of `cluster` (the first bootstraps, the
/// others join it), each advertising its own proxy of `net`, and waits
/// until every node sees all `n` alive.
pub async fn start_behind_proxies(cluster: &mut crate::cluster::Cluster, net: &Net, n: usize) {
    for i in 0..n {
        let join: Vec<usize> = if i == 0 { vec![] } else { vec![0] };
        let i = cluster.define(&join, None);
        let port = net.proxy(i, cluster.nodes[i].listen_port).await;
        cluster.nodes[i].advertise_port = port;
        cluster.nodes[i].start();
    }
    for node in &cluster.nodes {
        crate::cluster::wait_for(
            "every node alive through the proxies",
            std::time::Duration::from_secs(30),
            || async move {
                let nodes = node.nodes().await;
                if crate::cluster::alive(&nodes) == n { Ok(()) } else { Err(format!("{nodes:?}")) }
            },
        )
        .await;
    }
}
