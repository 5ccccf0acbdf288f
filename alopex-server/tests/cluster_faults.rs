//! Partitions and crashes under a recorded workload, checked for
//! linearizability.
//!
//! Three real `alopex serve` processes, each advertising the port of its
//! own fault-injecting UDP proxy (`common/udp_proxy.rs`), so every datagram
//! between two nodes crosses a hop the test controls. While clients on
//! every node run a register workload (get, put and conditional put on a
//! few keys, each call recorded with its invocation and completion time),
//! the test cuts one node off from the other two: writes through the
//! isolated node must stop being acknowledged while the majority carries
//! on; then it heals the partition and checks the isolated node accepts
//! writes again; then it kills a node with SIGKILL and restarts it. At the
//! end every key is read through every node, and the whole history must be
//! linearizable (`alopex_cluster::sim::linearizability`): in particular no
//! acknowledged write may be lost. A call that timed out or failed is
//! recorded as indeterminate (it may or may not have taken effect), which
//! is exactly what a client knows.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/udp_proxy.rs"]
mod udp_proxy;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alopex_cluster::sim::linearizability::{Op, Operation, check_detail};
use alopex_proto::v1::kv_client::KvClient;
use alopex_proto::v1::{KvConditionalPutRequest, KvGetRequest, KvPutRequest};
use cluster::{Cluster, alive, wait_for};
use tonic::transport::Channel;
use udp_proxy::Net;

/// Registers in the workload.
const REGISTERS: u64 = 5;
/// How long a client waits for one call.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

fn register_key(k: u64) -> Vec<u8> {
    format!("reg{k}").into_bytes()
}

fn decode(v: &[u8]) -> Option<u64> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The history so far and the time origin.
struct Recorder {
    origin: Instant,
    ops: Mutex<Vec<Operation>>,
}

impl Recorder {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }
}

/// A small deterministic generator (xorshift), one per client.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The gRPC URL of each node, updated when a node restarts on new ports.
type Urls = Arc<Mutex<Vec<String>>>;

async fn connect(url: &str) -> Option<KvClient<Channel>> {
    let channel =
        Channel::from_shared(url.to_string()).ok()?.connect_timeout(Duration::from_secs(1)).connect().await.ok()?;
    Some(KvClient::new(channel))
}

/// One client of the register workload, on node `node`, until `stop`.
async fn client(id: u64, node: usize, urls: Urls, rec: Arc<Recorder>, stop: Arc<AtomicBool>) -> (u64, u64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1));
    let mut counter = 0u64;
    let mut seen: Vec<Option<u64>> = vec![None; REGISTERS as usize];
    let (mut ok, mut unknown) = (0u64, 0u64);
    let mut kv: Option<(String, KvClient<Channel>)> = None;
    while !stop.load(Ordering::Relaxed) {
        let url = urls.lock().unwrap()[node].clone();
        if kv.as_ref().is_none_or(|(u, _)| *u != url) {
            kv = connect(&url).await.map(|c| (url.clone(), c));
        }
        let Some((_, c)) = kv.as_mut() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let k = rng.next() % REGISTERS;
        let key = register_key(k);
        let call = rec.now();
        let (op, done) = match rng.next() % 10 {
            0..=3 => {
                let r = tokio::time::timeout(CALL_TIMEOUT, c.get(KvGetRequest { key })).await;
                match r {
                    Ok(Ok(r)) => {
                        let v = r.into_inner().value.as_deref().and_then(decode);
                        seen[k as usize] = v;
                        (Op::Read(Some(v)), true)
                    }
                    _ => (Op::Read(None), false),
                }
            }
            4..=6 => {
                counter += 1;
                let v = id * 1_000_000 + counter;
                let r =
                    tokio::time::timeout(CALL_TIMEOUT, c.put(KvPutRequest { key, value: v.to_string().into_bytes() }))
                        .await;
                (Op::Write(v), matches!(r, Ok(Ok(_))))
            }
            _ => {
                counter += 1;
                let new = id * 1_000_000 + counter;
                let expect = seen[k as usize];
                let request = KvConditionalPutRequest {
                    key,
                    expected: expect.map(|e| e.to_string().into_bytes()),
                    value: Some(new.to_string().into_bytes()),
                };
                match tokio::time::timeout(CALL_TIMEOUT, c.conditional_put(request)).await {
                    Ok(Ok(r)) => {
                        let r = r.into_inner();
                        seen[k as usize] = if r.applied { Some(new) } else { r.current.as_deref().and_then(decode) };
                        (Op::Cas { expect, new, ok: Some(r.applied) }, true)
                    }
                    _ => (Op::Cas { expect, new, ok: None }, false),
                }
            }
        };
        let ret = done.then(|| rec.now());
        rec.ops.lock().unwrap().push(Operation { key: k, op, call, ret });
        if done {
            ok += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
        } else {
            unknown += 1;
            kv = None;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    (ok, unknown)
}

async fn put_via(url: &str, key: &[u8], timeout: Duration) -> Result<(), String> {
    let mut c = connect(url).await.ok_or("cannot connect")?;
    match tokio::time::timeout(timeout, c.put(KvPutRequest { key: key.to_vec(), value: b"x".to_vec() })).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => Err(format!("{:?}: {}", s.code(), s.message())),
        Err(_) => Err("timed out".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_and_crash_under_a_register_workload_stay_linearizable() {
    let started = Instant::now();
    let net = Net::new();
    let mut cluster = Cluster::new(&["--down-timeout", "60s"]);
    udp_proxy::start_behind_proxies(&mut cluster, &net, 3).await;
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;
    eprintln!("3 nodes up behind proxies, every range on all three, after {:?}", started.elapsed());

    let urls: Urls =
        Arc::new(Mutex::new(cluster.nodes.iter().map(|n| n.server.as_ref().unwrap().grpc_url()).collect()));
    let rec = Arc::new(Recorder { origin: Instant::now(), ops: Mutex::new(Vec::new()) });
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6u64)
        .map(|id| tokio::spawn(client(id, (id % 3) as usize, urls.clone(), rec.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Partition node 3 from nodes 1 and 2.
    let url = |i: usize| urls.lock().unwrap()[i].clone();
    net.partition(&[2], &[0, 1]);
    let cut = Instant::now();
    wait_for("the majority to accept writes", Duration::from_secs(30), || {
        let u = url(0);
        async move { put_via(&u, b"majority", Duration::from_secs(10)).await }
    })
    .await;
    eprintln!("PARTITION: the majority accepts writes {:?} after the cut", cut.elapsed());
    // Give the isolated node time to lose any lease it held, then expect
    // every write through it to go unacknowledged.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for n in 0..5 {
        let r = put_via(&url(2), format!("minority{n}").as_bytes(), Duration::from_secs(2)).await;
        assert!(r.is_err(), "the isolated node acknowledged a write during the partition");
    }
    put_via(&url(1), b"majority2", Duration::from_secs(10)).await.expect("the majority stopped accepting writes");
    eprintln!("PARTITION: the minority refused every write; {} datagrams dropped", net.dropped());

    net.heal();
    let healed = Instant::now();
    wait_for("the healed node to accept writes", Duration::from_secs(30), || {
        let u = url(2);
        async move { put_via(&u, b"healed", Duration::from_secs(10)).await }
    })
    .await;
    eprintln!("HEAL: the formerly isolated node accepts writes {:?} after the heal", healed.elapsed());
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Crash node 1 (the bootstrap node) under the workload, then restart it.
    cluster.nodes[0].kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart(0);
    urls.lock().unwrap()[0] = cluster.nodes[0].server.as_ref().unwrap().grpc_url();
    let node = &cluster.nodes[0];
    wait_for("the restarted node to see 3 alive", Duration::from_secs(30), || async move {
        let nodes = node.nodes().await;
        if alive(&nodes) == 3 { Ok(()) } else { Err(format!("{nodes:?}")) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    stop.store(true, Ordering::Relaxed);
    let mut ok = 0;
    let mut unknown = 0;
    for c in clients {
        let (o, u) = c.await.unwrap();
        ok += o;
        unknown += u;
    }
    // Final reads of every register through every node.
    for i in 0..3 {
        let mut c = wait_for("a client connection", Duration::from_secs(10), || {
            let u = url(i);
            async move { connect(&u).await.ok_or_else(|| "cannot connect".to_string()) }
        })
        .await;
        for k in 0..REGISTERS {
            let call = rec.now();
            let v = c.get(KvGetRequest { key: register_key(k) }).await.expect("final read").into_inner().value;
            let ret = rec.now();
            rec.ops.lock().unwrap().push(Operation {
                key: k,
                op: Op::Read(Some(v.as_deref().and_then(decode))),
                call,
                ret: Some(ret),
            });
        }
    }
    let history = rec.ops.lock().unwrap().clone();
    let t = Instant::now();
    let verdict = check_detail(&history);
    eprintln!(
        "LINEARIZABILITY: {} operations ({ok} completed, {unknown} indeterminate) checked in {:?}: {verdict:?}",
        history.len(),
        t.elapsed()
    );
    if let Err(key) = verdict {
        let mut ops: Vec<&Operation> = history.iter().filter(|o| o.key == key).collect();
        ops.sort_by_key(|o| o.call);
        for o in ops {
            eprintln!("  {o:?}");
        }
        panic!("the history of register {key} is not linearizable");
    }
    assert!(ok > 100, "the workload made too little progress: {ok} operations");
    for i in cluster.running() {
        assert_eq!(cluster.nodes[i].stop(), Some(0));
    }
    eprintln!("total {:?}", started.elapsed());
}
