//! A cluster of real `alopex serve` processes on loopback, driven the way an
//! operator and an application would: certificates from `alopex cert`,
//! nodes started with `--listen-addr`/`--join`, the KV API over gRPC
//! (`alopex.v1.Kv` with the Rust client from `alopex-proto`), membership
//! and ranges over REST, `alopex node list`.
//!
//! The main test runs one cluster through the scenario in order,
//! because each step starts from the state the last one left (bringing a
//! cluster up costs seconds): three nodes come up and see each other; 10k
//! keys are written and read back from every node; the leader of the
//! busiest range is killed with SIGKILL and the time until writes to that
//! range resume is measured and printed; the killed node restarts and must
//! catch up, which is proved by stopping another node so that no quorum
//! exists without the restarted one; a fourth node joins and receives
//! replicas until the counts even out; a node stays down past the down
//! timeout and its replicas are re-created elsewhere. After every fault
//! every acknowledged write is read back: nothing acknowledged may be lost.
//!
//! The small tests check what a node outside a cluster says, and that bad
//! cluster settings stop startup with a clear message.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alopex_proto::v1::kv_client::KvClient;
use alopex_proto::v1::{KvGetRequest, KvPutRequest, KvScanRequest};
use cluster::{Cluster, alive, in_range, wait_for};
use common::Server;
use futures::StreamExt;
use tonic::transport::Channel;

const KEYS: usize = 10_000;
/// Flags every node of the main test gets: small ranges, a short down timeout.
const FLAGS: &[&str] = &["--split-threshold", "128KiB", "--down-timeout", "8s", "--replication-factor", "3"];

fn key(i: usize) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

fn value(i: usize, version: u32) -> Vec<u8> {
    format!("v{i:05}-{version}-{}", "x".repeat(90)).into_bytes()
}

async fn put(kv: &mut KvClient<Channel>, key: Vec<u8>, value: Vec<u8>, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, kv.put(KvPutRequest { key, value })).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(s)) => Err(format!("{:?}: {}", s.code(), s.message())),
        Err(_) => Err("timed out".into()),
    }
}

/// Every pair in the `k` keys, through `kv`.
async fn scan_all(kv: &mut KvClient<Channel>) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
    let request = KvScanRequest { start: b"k".to_vec(), end: Some(b"l".to_vec()), limit: 100_000 };
    let pairs = tokio::time::timeout(Duration::from_secs(30), kv.scan(request))
        .await
        .map_err(|_| "scan timed out".to_string())?
        .map_err(|s| format!("scan: {:?}: {}", s.code(), s.message()))?
        .into_inner()
        .pairs;
    Ok(pairs.into_iter().map(|p| (p.key, p.value)).collect())
}

/// Reads every expected pair back through node `i` (a scan, and gets of a
/// sample): what differs, if anything.
async fn check(cluster: &Cluster, i: usize, expected: &BTreeMap<Vec<u8>, Vec<u8>>) -> Result<(), String> {
    let mut kv = cluster.nodes[i].kv().await;
    let got = wait_for("a full scan", Duration::from_secs(30), || {
        let mut kv = kv.clone();
        async move { scan_all(&mut kv).await }
    })
    .await;
    let missing: Vec<&Vec<u8>> = expected.iter().filter(|(k, v)| got.get(*k) != Some(*v)).map(|(k, _)| k).collect();
    if !missing.is_empty() || got.len() != expected.len() {
        // Say whether the keys are gone or only the scan missed them.
        let mut gets = Vec::new();
        for k in missing.iter().take(3) {
            let r = kv.get(KvGetRequest { key: k.to_vec() }).await.map(|r| r.into_inner().value.is_some());
            gets.push(format!("{}: get found {r:?}", String::from_utf8_lossy(k)));
        }
        let ranges: Vec<String> = cluster.nodes[i]
            .ranges()
            .await
            .iter()
            .map(|r| format!("r{} [{}, {}) v{} l{}", r["range_id"], r["start"], r["end"], r["voters"], r["leader"]))
            .collect();
        return Err(format!(
            "node {} scans {} keys, expected {}; {} missing or different, e.g. {gets:?}; ranges: {ranges:?}",
            i + 1,
            got.len(),
            expected.len(),
            missing.len()
        ));
    }
    for k in expected.keys().step_by(97) {
        let r = kv.get(KvGetRequest { key: k.clone() }).await.map_err(|e| format!("get: {e}"))?.into_inner();
        if r.value.as_ref() != expected.get(k) {
            return Err(format!("get {} on node {} differs", String::from_utf8_lossy(k), i + 1));
        }
    }
    Ok(())
}

/// [`check`], failing the test on any difference.
async fn check_all(cluster: &Cluster, i: usize, expected: &BTreeMap<Vec<u8>, Vec<u8>>) {
    if let Err(e) = check(cluster, i, expected).await {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_kv_failover_catch_up_rebalance_and_rereplication() {
    let started = Instant::now();
    // Lost writes (and a re-replication that never finishes) are collected
    // and reported at the end, so one run shows every step that fails
    // rather than only the first.
    let mut problems: Vec<String> = Vec::new();
    let mut cluster = Cluster::new(FLAGS);
    cluster.add(&[]);
    cluster.add(&[0]);
    cluster.add(&[0]);

    // Every node sees three alive members.
    for i in 0..3 {
        let node = &cluster.nodes[i];
        wait_for("3 alive nodes", Duration::from_secs(30), || async move {
            let nodes = node.nodes().await;
            if alive(&nodes) == 3 { Ok(()) } else { Err(format!("{nodes:?}")) }
        })
        .await;
    }
    let listing = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .args(["node", "list", "--http-addr", &cluster.nodes[0].http_url()])
        .output()
        .expect("alopex node list");
    let listing_out = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
    assert!(listing_out.contains("(3 rows)") && listing_out.contains("alive"), "{listing_out}");
    eprintln!("3 nodes up after {:?}\n{listing_out}", started.elapsed());
    // The same membership as a SQL system table.
    let conn_str = cluster.nodes[1].server.as_ref().unwrap().conn_str();
    let (client, conn) = tokio_postgres::connect(&conn_str, tokio_postgres::NoTls).await.expect("connect pg");
    tokio::spawn(conn);
    let rows = client
        .query("SELECT node_id, state, is_self FROM system.cluster_nodes WHERE state = 'alive' ORDER BY node_id", &[])
        .await
        .expect("system.cluster_nodes");
    assert_eq!(rows.len(), 3);
    let selves: Vec<i64> = rows.iter().filter(|r| r.get::<_, bool>(2)).map(|r| r.get(0)).collect();
    assert_eq!(selves, vec![2], "node 2 answers as itself");
    drop(client);

    // Placement first spreads the bootstrap node's ranges over the others
    // (writes during that phase: `writes_while_the_first_replicas_are_placed_are_kept`).
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;

    // 10k keys, written through all three nodes, 32 at a time.
    let t = Instant::now();
    let mut expected = write_keys(&cluster, KEYS).await;
    eprintln!("wrote {KEYS} keys in {:?} ({:.0}/s)", t.elapsed(), KEYS as f64 / t.elapsed().as_secs_f64());
    for i in 0..3 {
        problems.extend(check(&cluster, i, &expected).await.err());
    }
    eprintln!("read back from every node after {:?}", started.elapsed());

    // The splits settle: every range has its voters and a leader.
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;
    // The busiest range (most of our keys) and its leader.
    let (busiest, leader) = wait_for("ranges with leaders", Duration::from_secs(30), || {
        let node = &cluster.nodes[0];
        async move {
            let ranges = node.ranges().await;
            let best = ranges
                .iter()
                .max_by_key(|r| (0..KEYS).step_by(10).filter(|&i| in_range(r, &key(i))).count())
                .ok_or("no ranges")?;
            let leader = best["leader"].as_u64().ok_or_else(|| format!("no leader: {best}"))?;
            Ok((best.clone(), leader))
        }
    })
    .await;
    let leader_index = (leader - 1) as usize;
    let range_keys: Vec<usize> = (0..KEYS).filter(|&i| in_range(&busiest, &key(i))).collect();
    assert!(!range_keys.is_empty(), "the busiest range holds none of the keys: {busiest}");
    eprintln!("busiest range {} ({} keys), leader n{leader}", busiest["range_id"], range_keys.len());

    // kill -9 the leader; write to its range through a survivor until it works.
    let survivor = (leader_index + 1) % 3;
    let mut kv = cluster.nodes[survivor].kv().await;
    let killed_at = Instant::now();
    cluster.nodes[leader_index].kill();
    let mut version = 1;
    let probe = range_keys[0];
    loop {
        // Each attempt waits long enough for the gateway to give up on the
        // dead leader (its call timeout) and find the new one.
        let last = match put(&mut kv, key(probe), value(probe, version), Duration::from_secs(10)).await {
            Ok(()) => {
                expected.insert(key(probe), value(probe, version));
                break;
            }
            Err(e) => e,
        };
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "writes did not resume within 60 s of the leader kill; last error: {last}; ranges: {:?}",
            cluster.nodes[survivor].ranges().await
        );
        version += 1;
    }
    let failover = killed_at.elapsed();
    eprintln!(
        "FAILOVER: writes to range {} resumed {failover:?} after kill -9 of its leader n{leader}",
        busiest["range_id"]
    );
    // More writes while the node is down, to be caught up on.
    for &i in range_keys.iter().take(200) {
        put(&mut kv, key(i), value(i, 100), Duration::from_secs(10)).await.expect("write with a node down");
        expected.insert(key(i), value(i, 100));
    }

    // Restart it; then stop another node: no quorum exists without the
    // restarted one, so writes succeed only once it has caught up.
    cluster.restart(leader_index);
    let node = &cluster.nodes[leader_index];
    wait_for("the restarted node to see 3 alive", Duration::from_secs(30), || async move {
        let nodes = node.nodes().await;
        if alive(&nodes) == 3 { Ok(()) } else { Err(format!("{nodes:?}")) }
    })
    .await;
    let other = (leader_index + 2) % 3;
    cluster.nodes[other].kill();
    let t = Instant::now();
    let kv = cluster.nodes[leader_index].kv().await;
    for &i in range_keys.iter().step_by(range_keys.len().div_ceil(20).max(1)) {
        wait_for("a write needing the restarted node", Duration::from_secs(60), || {
            let mut kv = kv.clone();
            async move { put(&mut kv, key(i), value(i, 200), Duration::from_secs(10)).await }
        })
        .await;
        expected.insert(key(i), value(i, 200));
    }
    eprintln!("restarted n{leader} caught up: writes needing it committed after {:?}", t.elapsed());
    problems.extend(check(&cluster, leader_index, &expected).await.err());
    cluster.restart(other);

    // A fourth node: replicas rebalance onto it.
    let t = Instant::now();
    cluster.add(&[0, 1]);
    let node = &cluster.nodes[0];
    let counts = wait_for("replicas to even out over 4 nodes", Duration::from_secs(90), || async move {
        let nodes = node.nodes().await;
        let counts: Vec<u64> = nodes.iter().map(|n| n["replicas"].as_u64().unwrap_or(0)).collect();
        let (min, max) = (counts.iter().min().copied().unwrap_or(0), counts.iter().max().copied().unwrap_or(0));
        if alive(&nodes) == 4 && min > 0 && max - min <= 2 { Ok(counts) } else { Err(format!("{counts:?}")) }
    })
    .await;
    eprintln!("REBALANCE: replicas per node {counts:?} after {:?}", t.elapsed());
    problems.extend(check(&cluster, 3, &expected).await.err());

    // A node down past the down timeout: its replicas are re-created.
    let victim = 1;
    let victim_id = cluster.nodes[victim].id;
    cluster.nodes[victim].kill();
    let t = Instant::now();
    let node = &cluster.nodes[0];
    let rereplicated =
        cluster::try_wait_for("the down node's replicas to be re-created", Duration::from_secs(60), || async move {
            let ranges = node.ranges().await;
            let bad: Vec<String> = ranges
                .iter()
                .filter(|r| {
                    let voters: Vec<u64> = r["voters"]
                        .as_array()
                        .map(|v| v.iter().filter_map(|x| x.as_u64()).collect())
                        .unwrap_or_default();
                    voters.contains(&victim_id) || voters.len() != 3
                })
                .map(|r| r.to_string())
                .collect();
            if !ranges.is_empty() && bad.is_empty() {
                Ok(())
            } else {
                Err(format!("{} ranges not moved: {bad:?}", bad.len()))
            }
        })
        .await;
    match rereplicated {
        Ok(()) => eprintln!(
            "RE-REPLICATION: n{victim_id}'s replicas re-created {:?} after its kill (down timeout 8s)",
            t.elapsed()
        ),
        Err(e) => problems.push(e),
    }
    problems.extend(check(&cluster, 0, &expected).await.err());

    assert!(problems.is_empty(), "the cluster lost acknowledged writes or got stuck:\n{}", problems.join("\n"));
    // Graceful shutdown of the rest: exit 0.
    for i in cluster.running() {
        assert_eq!(cluster.nodes[i].stop(), Some(0), "node {} did not shut down cleanly", i + 1);
    }
    eprintln!("total {:?}", started.elapsed());
}

/// Writes `keys` keys through the nodes, 32 at a time; failing the test on
/// any error. The pairs written.
async fn write_keys(cluster: &Cluster, keys: usize) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let running = cluster.running();
    let clients: Vec<KvClient<Channel>> =
        futures::future::join_all(running.iter().map(|&i| cluster.nodes[i].kv())).await;
    let results: Vec<Result<(), String>> = futures::stream::iter(0..keys)
        .map(|i| {
            let mut kv = clients[i % clients.len()].clone();
            async move { put(&mut kv, key(i), value(i, 0), Duration::from_secs(20)).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} puts failed, first: {}", failed.len(), failed[0]);
    (0..keys).map(|i| (key(i), value(i, 0))).collect()
}

/// Writes made while placement is still spreading the bootstrap node's
/// ranges over the joining nodes (and the ranges split under them) must be
/// kept like any other acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_while_the_first_replicas_are_placed_are_kept() {
    let mut cluster = Cluster::new(FLAGS);
    cluster.add(&[]);
    cluster.add(&[0]);
    cluster.add(&[0]);
    let expected = write_keys(&cluster, KEYS).await;
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;
    for i in 0..3 {
        check_all(&cluster, i, &expected).await;
    }
}

/// `alopex node decommission` drains a node of a four-node cluster: its
/// replica count falls to 0 while every range keeps three voters, then it
/// stops cleanly; unknown and malformed ids are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decommission_drains_a_node() {
    let mut cluster = Cluster::new(FLAGS);
    cluster.add(&[]);
    for _ in 0..3 {
        cluster.add(&[0]);
    }
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;
    let expected = write_keys(&cluster, 1000).await;
    let node = &cluster.nodes[0];
    wait_for("node 4 to hold replicas", Duration::from_secs(60), || async move {
        let nodes = node.nodes().await;
        let n4 = nodes.iter().find(|n| n["node_id"] == 4).map(|n| n["replicas"].as_u64().unwrap_or(0));
        if n4.unwrap_or(0) > 0 { Ok(()) } else { Err(format!("{nodes:?}")) }
    })
    .await;

    let http = format!("127.0.0.1:{}", cluster.nodes[1].server.as_ref().unwrap().http_port);
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_alopex")).args(args).args(["--http-addr", &http]).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, out) = cli(&["node", "decommission", "99"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("unknown_node"), "{out}");
    let (code, out) = cli(&["node", "decommission", "n4"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("node 4 is being decommissioned"), "{out}");

    let t = Instant::now();
    wait_for("node 4 to drain", Duration::from_secs(90), || async move {
        let nodes = node.nodes().await;
        let n4 = nodes.iter().find(|n| n["node_id"] == 4).cloned().unwrap_or_default();
        let ranges = node.ranges().await;
        let drained = n4["decommissioning"] == true
            && n4["replicas"] == 0
            && !ranges.is_empty()
            && ranges.iter().all(|r| {
                let v = r["voters"].as_array().cloned().unwrap_or_default();
                v.len() == 3 && !v.contains(&serde_json::json!(4))
            });
        if drained { Ok(()) } else { Err(format!("n4 {n4}; ranges {ranges:?}")) }
    })
    .await;
    eprintln!("DECOMMISSION: node 4 drained in {:?}", t.elapsed());
    assert_eq!(cluster.nodes[3].stop(), Some(0));
    for i in 0..3 {
        check_all(&cluster, i, &expected).await;
    }
}

/// A standalone node: the cluster routes answer 404 `not_a_cluster_node`,
/// the Kv service UNAVAILABLE, and `alopex node list` says so.
#[tokio::test]
async fn a_standalone_node_says_it_is_not_in_a_cluster() {
    let server = Server::start();
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::GET, "/v1/cluster/nodes"),
        (reqwest::Method::GET, "/v1/cluster/ranges"),
        (reqwest::Method::POST, "/v1/cluster/nodes/2/decommission"),
    ] {
        let r = http.request(method, format!("{}{path}", server.http_url())).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_a_cluster_node", "{path}: {body}");
    }
    let doc: serde_json::Value =
        http.get(format!("{}/v1/openapi.json", server.http_url())).send().await.unwrap().json().await.unwrap();
    for path in ["/v1/cluster/nodes", "/v1/cluster/ranges", "/v1/cluster/nodes/{id}/decommission"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }

    let mut kv = KvClient::connect(server.grpc_url()).await.unwrap();
    let err = kv.put(KvPutRequest { key: b"a".to_vec(), value: b"b".to_vec() }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert!(err.message().contains("not a cluster node"), "{}", err.message());

    let out = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .args(["node", "list", "--http-addr", &format!("127.0.0.1:{}", server.http_port)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_a_cluster_node"));
    let out = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .args(["node", "decommission", "../x", "--http-addr", &format!("127.0.0.1:{}", server.http_port)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a node id"));

    // No system tables outside a cluster: an undefined table.
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let err = client.query("SELECT * FROM system.cluster_nodes", &[]).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42P01"), "{err}");
}

/// Runs `alopex serve` with `flags` over a fresh directory until it exits,
/// its log shows `until`, or 20 s pass: (exit code if it exited, its log).
fn serve_until(flags: &[&str], until: &str) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = || format!("127.0.0.1:{}", common::free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("d"))
        .args(["--pg-addr", &port(), "--http-addr", &port(), "--grpc-addr", &port()])
        .args(flags)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut code = None;
    while Instant::now() < deadline {
        while let Ok(line) = rx.try_recv() {
            log.push_str(&line);
            log.push('\n');
        }
        if !until.is_empty() && log.contains(until) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            code = status.code();
            std::thread::sleep(Duration::from_millis(100));
            while let Ok(line) = rx.try_recv() {
                log.push_str(&line);
                log.push('\n');
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    (code, log)
}

fn serve_until_exit(flags: &[&str]) -> (Option<i32>, String) {
    serve_until(flags, "")
}

#[test]
fn bad_cluster_settings_stop_startup_with_a_clear_message() {
    let listen = format!("127.0.0.1:{}", cluster::free_udp_port());
    let (code, err) = serve_until_exit(&["--listen-addr", &listen]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--cluster-cert-dir") && err.contains("--cluster-insecure"), "{err}");
    let (code, err) = serve_until_exit(&["--join", "127.0.0.1:1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--listen-addr"), "{err}");
    let (code, err) = serve_until_exit(&["--listen-addr", &listen, "--cluster-cert-dir", "/nonexistent"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("node.crt") && err.contains("alopex cert create-node"), "{err}");
    let (code, err) = serve_until_exit(&["--listen-addr", &listen, "--cluster-insecure", "--down-timeout", "soon"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("down_timeout"), "{err}");
    let (code, err) = serve_until_exit(&["--listen-addr", "nonsense", "--cluster-insecure"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("listen_addr"), "{err}");
    // Insecure mode warns, whether or not the node then starts.
    let (_, err) =
        serve_until(&["--listen-addr", &listen, "--cluster-insecure", "--cluster-tuning", "fast"], "tests only");
    assert!(err.contains("--cluster-insecure") && err.contains("tests only"), "{err}");
}
