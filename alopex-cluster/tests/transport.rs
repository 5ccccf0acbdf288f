//! The QUIC transport on real loopback sockets: calls over mutual TLS with
//! node ids read from certificates, one connection per peer, isolation of
//! slow handlers and slow peers, refusal of foreign certificates, frame
//! limits, reconnection after a restart, and datagrams.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alopex_cluster::rpc::{RpcClient, RpcError, RpcService};
use alopex_cluster::tls::{CertAuthority, NodeIdentity};
use alopex_cluster::transport::{Transport, TransportConfig};
use alopex_cluster::{NodeId, RangeId};
use async_trait::async_trait;
use bytes::Bytes;

/// Answers `from:range:method:` + body; sleeps 3 s on range 1; answers
/// 5000 bytes on method 99; counts calls.
#[derive(Default)]
struct Echo {
    calls: AtomicUsize,
}

#[async_trait]
impl RpcService for Echo {
    async fn handle(&self, from: NodeId, range: RangeId, method: u16, body: Bytes) -> Result<Bytes, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if range == RangeId(1) {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        if method == 99 {
            return Ok(Bytes::from(vec![7u8; 5000]));
        }
        if method == 13 {
            return Err("unlucky method".into());
        }
        let mut out = format!("{from}:{range}:{method}:").into_bytes();
        out.extend_from_slice(&body);
        Ok(Bytes::from(out))
    }
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn config(identity: NodeIdentity) -> TransportConfig {
    let mut c = TransportConfig::new(loopback(), identity);
    c.call_timeout = Duration::from_secs(2);
    c.connect_timeout = Duration::from_secs(1);
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(200);
    c
}

fn node(ca: &CertAuthority, id: u64) -> (Transport, Arc<Echo>) {
    let identity = NodeIdentity::issue(ca, NodeId(id), &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let echo = Arc::new(Echo::default());
    (Transport::bind(config(identity), echo.clone()).unwrap(), echo)
}

fn introduce(a: &Transport, b: &Transport) {
    a.set_peer_addr(b.node_id(), b.local_addr());
    b.set_peer_addr(a.node_id(), a.local_addr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_carry_the_node_id_proven_by_the_certificate() {
    let ca = CertAuthority::generate("test").unwrap();
    let (a, _) = node(&ca, 1);
    let (b, echo_b) = node(&ca, 2);
    introduce(&a, &b);
    let answer = a.call(NodeId(2), RangeId(7), 3, Bytes::from_static(b"hi")).await.unwrap();
    assert_eq!(&answer[..], b"n1:r7:3:hi");
    let answer = b.call(NodeId(1), RangeId(8), 4, Bytes::new()).await.unwrap();
    assert_eq!(&answer[..], b"n2:r8:4:");
    let err = a.call(NodeId(2), RangeId(7), 13, Bytes::new()).await.unwrap_err();
    assert_eq!(err, RpcError::Remote { node: NodeId(2), message: "unlucky method".into() });
    assert_eq!(echo_b.calls.load(Ordering::SeqCst), 2);
    // Calls to oneself are served locally.
    assert_eq!(&a.call(NodeId(1), RangeId(2), 5, Bytes::new()).await.unwrap()[..], b"n1:r2:5:");
    // A node with no known address is unreachable, clearly.
    let err = a.call(NodeId(42), RangeId(7), 3, Bytes::new()).await.unwrap_err();
    assert!(matches!(&err, RpcError::Unreachable(NodeId(42), m) if m.contains("no known address")), "{err}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dials_settle_on_one_connection_dialed_by_the_lower_id() {
    let ca = CertAuthority::generate("test").unwrap();
    for _ in 0..3 {
        let (a, _) = node(&ca, 1);
        let (b, _) = node(&ca, 2);
        introduce(&a, &b);
        let (x, y) = tokio::join!(
            a.call(NodeId(2), RangeId(11), 1, Bytes::new()),
            b.call(NodeId(1), RangeId(11), 1, Bytes::new())
        );
        x.unwrap();
        y.unwrap();
        // Whatever happened, both ends use the same link: the one n1 dialed
        // if both dialed, otherwise the only one.
        let (da, db) = (a.link_dialed_by_us(NodeId(2)), b.link_dialed_by_us(NodeId(1)));
        assert!(da.is_some() && db.is_some());
        assert_ne!(da, db, "both ends must agree on one link (one dialed it, the other accepted it)");
        for _ in 0..20 {
            a.call(NodeId(2), RangeId(5), 1, Bytes::new()).await.unwrap();
            b.call(NodeId(1), RangeId(5), 1, Bytes::new()).await.unwrap();
        }
        assert_eq!(a.connected_peers(), vec![NodeId(2)]);
        assert_eq!(b.connected_peers(), vec![NodeId(1)]);
        a.shutdown().await;
        b.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handler_or_a_dead_peer_blocks_nobody_else() {
    let ca = CertAuthority::generate("test").unwrap();
    let mut a_config = config(NodeIdentity::issue(&ca, NodeId(1), &[]).unwrap());
    a_config.backoff_min = Duration::from_secs(5);
    let a = Transport::bind(a_config, Arc::new(Echo::default())).unwrap();
    let (b, _) = node(&ca, 2);
    let (c, _) = node(&ca, 3);
    introduce(&a, &b);
    introduce(&a, &c);
    // A "peer" that never answers: a bound UDP socket nobody reads.
    let black_hole = UdpSocket::bind("127.0.0.1:0").unwrap();
    a.set_peer_addr(NodeId(4), black_hole.local_addr().unwrap());
    a.call(NodeId(2), RangeId(2), 1, Bytes::new()).await.unwrap(); // connect first

    let slow = {
        let a = a.clone();
        tokio::spawn(async move { a.call(NodeId(2), RangeId(1), 1, Bytes::new()).await })
    };
    let dead = {
        let a = a.clone();
        tokio::spawn(async move { a.call(NodeId(4), RangeId(2), 1, Bytes::new()).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    for i in 0..50u32 {
        let body = Bytes::from(i.to_be_bytes().to_vec());
        a.call(NodeId(2), RangeId(2), 1, body.clone()).await.unwrap();
        a.call(NodeId(3), RangeId(2), 1, body).await.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_millis(900), "other calls waited {elapsed:?}");
    // The slow call itself runs into the 2 s call timeout, the dead peer's
    // into the 1 s connect timeout; and neither blocked the 100 calls above.
    assert!(matches!(dead.await.unwrap(), Err(RpcError::Unreachable(NodeId(4), _))));
    // A dead peer is not redialed on every call: the next one fails fast.
    let start = Instant::now();
    let err = a.call(NodeId(4), RangeId(2), 1, Bytes::new()).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_millis(100), "{err}");
    assert!(err.to_string().contains("backing off"), "{err}");
    assert_eq!(slow.await.unwrap(), Err(RpcError::Timeout(NodeId(2))));
    for t in [a, b, c] {
        t.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_outside_the_cluster_ca_or_without_a_node_id_are_refused() {
    let ca = CertAuthority::generate("cluster").unwrap();
    let other = CertAuthority::generate("another cluster").unwrap();
    let (a, echo_a) = node(&ca, 1);

    // Signed by another CA, but trusting ours: a's verifier must refuse it.
    let mut foreign = NodeIdentity::issue(&other, NodeId(5), &[]).unwrap();
    foreign.ca = NodeIdentity::issue(&ca, NodeId(6), &[]).unwrap().ca;
    let x = Transport::bind(config(foreign), Arc::new(Echo::default())).unwrap();
    x.set_peer_addr(NodeId(1), a.local_addr());
    let err = x.call(NodeId(1), RangeId(2), 1, Bytes::new()).await.unwrap_err();
    assert!(matches!(err, RpcError::Unreachable(NodeId(1), _)), "{err}");

    // Signed by our CA but naming no node: refused too.
    let mut anonymous = NodeIdentity::issue(&ca, NodeId(7), &[]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let ca_dir = tempfile::tempdir().unwrap();
    ca.write(ca_dir.path()).unwrap();
    let ca_key = rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca_dir.path().join("ca.key")).unwrap()).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(ca.cert_pem(), ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages =
        vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    anonymous.cert = params.signed_by(&key, &issuer).unwrap().der().clone();
    anonymous.key = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let y = Transport::bind(config(anonymous), Arc::new(Echo::default())).unwrap();
    y.set_peer_addr(NodeId(1), a.local_addr());
    let err = y.call(NodeId(1), RangeId(2), 1, Bytes::new()).await.unwrap_err();
    assert!(matches!(err, RpcError::Unreachable(NodeId(1), _)), "{err}");

    // And a, dialing x (foreign server certificate), refuses it as well.
    a.set_peer_addr(NodeId(5), x.local_addr());
    let err = a.call(NodeId(5), RangeId(2), 1, Bytes::new()).await.unwrap_err();
    assert!(matches!(err, RpcError::Unreachable(NodeId(5), _)), "{err}");

    assert_eq!(echo_a.calls.load(Ordering::SeqCst), 0, "no refused peer reached the service");
    assert!(a.connected_peers().is_empty());
    for t in [a, x, y] {
        t.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_the_wrong_address_is_not_taken_for_another() {
    let ca = CertAuthority::generate("test").unwrap();
    let (a, _) = node(&ca, 1);
    let (b, echo_b) = node(&ca, 2);
    a.set_peer_addr(NodeId(3), b.local_addr());
    let err = a.call(NodeId(3), RangeId(2), 1, Bytes::new()).await.unwrap_err();
    assert!(matches!(&err, RpcError::Unreachable(NodeId(3), m) if m.contains("is node n2")), "{err}");
    assert_eq!(echo_b.calls.load(Ordering::SeqCst), 0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_the_limit_get_a_clear_error() {
    let ca = CertAuthority::generate("test").unwrap();
    let small = |id: u64, max: u32| {
        let identity = NodeIdentity::issue(&ca, NodeId(id), &[]).unwrap();
        let mut c = config(identity);
        c.max_frame = max;
        Transport::bind(c, Arc::new(Echo::default())).unwrap()
    };
    let a = small(1, 4096);
    let b = small(2, 512);
    introduce(&a, &b);
    // Over our own limit: refused before sending.
    let err = a.call(NodeId(2), RangeId(2), 1, Bytes::from(vec![0u8; 5000])).await.unwrap_err();
    assert_eq!(err, RpcError::FrameTooLarge { node: NodeId(2), size: 5000, max: 4096 });
    // Over the peer's limit: refused by the peer, which says its limit.
    let err = a.call(NodeId(2), RangeId(2), 1, Bytes::from(vec![0u8; 1000])).await.unwrap_err();
    assert_eq!(err, RpcError::FrameTooLarge { node: NodeId(2), size: 1000, max: 512 });
    assert!(err.to_string().contains("exceeds the limit of 512 bytes"), "{err}");
    // An answer over the answering side's limit is refused there.
    let err = a.call(NodeId(2), RangeId(2), 99, Bytes::new()).await.unwrap_err();
    assert!(matches!(&err, RpcError::Remote { message, .. } if message.contains("exceeds the limit of 512")), "{err}");
    // An answer over the caller's limit is refused by the caller.
    let err = b.call(NodeId(1), RangeId(2), 99, Bytes::new()).await.unwrap_err();
    assert!(matches!(&err, RpcError::Remote { .. } | RpcError::FrameTooLarge { .. }), "{err}");
    // The connection survives all of it.
    assert_eq!(&a.call(NodeId(2), RangeId(3), 1, Bytes::from_static(b"ok")).await.unwrap()[..], b"n1:r3:1:ok");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_reconnected_after_backoff() {
    let ca = CertAuthority::generate("test").unwrap();
    let (a, _) = node(&ca, 1);
    let b_identity = NodeIdentity::issue(&ca, NodeId(2), &[]).unwrap();
    let b = Transport::bind(config(b_identity.clone()), Arc::new(Echo::default())).unwrap();
    let b_addr = b.local_addr();
    introduce(&a, &b);
    a.call(NodeId(2), RangeId(3), 1, Bytes::new()).await.unwrap();
    b.shutdown().await;
    drop(b);
    assert!(a.call(NodeId(2), RangeId(3), 1, Bytes::new()).await.is_err());

    let mut c = config(b_identity);
    c.listen = b_addr;
    let b2 = Transport::bind(c, Arc::new(Echo::default())).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match a.call(NodeId(2), RangeId(3), 1, Bytes::from_static(b"again")).await {
            Ok(answer) => {
                assert_eq!(&answer[..], b"n1:r3:1:again");
                break;
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("never reconnected: {e}"),
        }
    }
    // And the restarted node can call back over the same single link.
    b2.call(NodeId(1), RangeId(3), 1, Bytes::new()).await.unwrap();
    assert_eq!(a.connected_peers(), vec![NodeId(2)]);
    a.shutdown().await;
    b2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagrams_arrive_tagged_with_the_certified_sender() {
    let ca = CertAuthority::generate("test").unwrap();
    let (a, _) = node(&ca, 1);
    let (b, _) = node(&ca, 2);
    introduce(&a, &b);
    let mut inbox = b.take_datagrams().unwrap();
    assert!(b.take_datagrams().is_none());
    // No connection yet: the first datagram dials in the background.
    let deadline = Instant::now() + Duration::from_secs(3);
    let got = loop {
        a.send_datagram(NodeId(2), 1, b"ping");
        if let Ok(Some(d)) = tokio::time::timeout(Duration::from_millis(100), inbox.recv()).await {
            break d;
        }
        assert!(Instant::now() < deadline, "no datagram arrived");
    };
    assert_eq!(got.from, NodeId(1));
    assert_eq!(got.kind, 1);
    assert_eq!(&got.payload[..], b"ping");
    let room = a.max_datagram_payload(NodeId(2)).unwrap();
    assert!(room >= 1100, "datagram room {room} cannot carry a SWIM packet");
    a.shutdown().await;
    b.shutdown().await;
}
