//! A bank over SQL on three real processes, under partitions and crashes.
//!
//! Three `alopex serve` processes, each behind the fault-injecting UDP
//! proxy it advertises (`common/udp_proxy.rs`), with ranges split at 2 KiB
//! so the 40 accounts (padded rows) spread over several ranges and almost
//! every transfer is a distributed transaction. Six clients, two per node,
//! move money between random accounts over the Postgres wire protocol:
//! each transfer is one explicit transaction of two `UPDATE`s and an
//! `INSERT` into a transfer log. A reader checks the total at its snapshot
//! all along. Meanwhile the test cuts node 3 off from the others and heals
//! the partition, then SIGKILLs node 1 and restarts it.
//!
//! At the end, through every node:
//! - the total is what it was (no transfer half applied, none applied twice);
//! - every transfer a client saw acknowledged is in the log, and every
//!   account's balance is its opening balance plus what the log says it
//!   received minus what it sent (the log and the balances agree, so no
//!   committed transaction lost a write);
//! - every account can be written again within a bounded time (no lock of
//!   an abandoned transaction is left behind: an intent whose coordinator
//!   died is resolved by the next writer once its record expires).
//!
//! A transfer whose `COMMIT` failed with anything but a serialization
//! failure has an unknown outcome (the node may have died after the commit
//! applied): it is not counted as acknowledged, and the balance check
//! decides it from the log.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/udp_proxy.rs"]
mod udp_proxy;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Cluster, wait_for};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use udp_proxy::Net;

const ACCOUNTS: i64 = 40;
const OPENING: i64 = 100;
/// How long one statement may take before the client gives up on it.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Each node's connection string, updated when a node restarts.
type Conns = Arc<Mutex<Vec<String>>>;

async fn connect(conn: &str) -> Option<Client> {
    let (client, connection) =
        tokio::time::timeout(Duration::from_secs(2), tokio_postgres::connect(conn, NoTls)).await.ok()?.ok()?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Some(client)
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

/// What the clients saw.
#[derive(Default)]
struct Outcomes {
    acknowledged: Mutex<HashSet<(i64, i64)>>,
    conflicts: AtomicU64,
    unknown: AtomicU64,
}

/// One client on node `node`: transfers until `stop`.
async fn client(id: i64, node: usize, conns: Conns, out: Arc<Outcomes>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ (id as u64 + 1));
    let mut seq = 0i64;
    let mut db: Option<(String, Client)> = None;
    while !stop.load(Ordering::Relaxed) {
        let conn = conns.lock().unwrap()[node].clone();
        if db.as_ref().is_none_or(|(c, _)| *c != conn) {
            db = connect(&conn).await.map(|c| (conn.clone(), c));
        }
        let Some((_, c)) = db.as_ref() else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        seq += 1;
        let from = (rng.next() % ACCOUNTS as u64) as i64;
        let to = (from + 1 + (rng.next() % (ACCOUNTS as u64 - 1)) as i64) % ACCOUNTS;
        let amount = (rng.next() % 10) as i64 + 1;
        let body = format!(
            "UPDATE accounts SET balance = balance - {amount} WHERE id = {from}; \
             UPDATE accounts SET balance = balance + {amount} WHERE id = {to}; \
             INSERT INTO transfers VALUES ({id}, {seq}, {from}, {to}, {amount})"
        );
        let step = async {
            c.batch_execute("BEGIN").await?;
            c.batch_execute(&body).await?;
            c.batch_execute("COMMIT").await
        };
        match tokio::time::timeout(STATEMENT_TIMEOUT * 3, step).await {
            Ok(Ok(())) => {
                out.acknowledged.lock().unwrap().insert((id, seq));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(Err(e)) if e.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE) => {
                out.conflicts.fetch_add(1, Ordering::Relaxed);
                let _ = c.batch_execute("ROLLBACK").await;
            }
            _ => {
                // Unknown outcome: the connection or the node failed.
                out.unknown.fetch_add(1, Ordering::Relaxed);
                let _ = tokio::time::timeout(Duration::from_secs(1), c.batch_execute("ROLLBACK")).await;
                db = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Reads the total at one snapshot until `stop`; any total but the opening
/// one is returned.
async fn auditor(conns: Conns, stop: Arc<AtomicBool>) -> (u64, Vec<i64>) {
    let (mut checks, mut wrong) = (0, Vec::new());
    let mut db: Option<Client> = None;
    while !stop.load(Ordering::Relaxed) {
        if db.is_none() {
            let conn = conns.lock().unwrap()[1].clone();
            db = connect(&conn).await;
        }
        if let Some(c) = &db {
            match tokio::time::timeout(STATEMENT_TIMEOUT, c.query_one("SELECT sum(balance)::bigint FROM accounts", &[]))
                .await
            {
                Ok(Ok(row)) => {
                    checks += 1;
                    let total: i64 = row.get(0);
                    if total != ACCOUNTS * OPENING {
                        wrong.push(total);
                    }
                }
                _ => db = None,
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (checks, wrong)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_over_sql_survives_partitions_and_crashes() {
    let started = Instant::now();
    let net = Net::new();
    let mut cluster =
        Cluster::new(&["--down-timeout", "60s", "--split-threshold", "2KiB", "--replication-factor", "3"]);
    udp_proxy::start_behind_proxies(&mut cluster, &net, 3).await;
    cluster::wait_replicated(&cluster.nodes[0], 3, Duration::from_secs(60)).await;

    let setup = connect(&cluster.nodes[0].conn_str()).await.expect("connect");
    setup
        .batch_execute(&format!(
            "CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad TEXT); \
             CREATE TABLE transfers (client INT, seq INT, src INT, dst INT, amount INT, PRIMARY KEY (client, seq)); \
             INSERT INTO accounts SELECT g, {OPENING}, repeat('x', 200) FROM generate_series(0, {}) g",
            ACCOUNTS - 1
        ))
        .await
        .expect("setup");
    let spread = wait_for("the accounts spread over several ranges", Duration::from_secs(60), || async {
        let n = cluster.nodes[0]
            .ranges()
            .await
            .iter()
            .filter(|r| r["start"].as_str().is_some_and(|s| s.starts_with("01")))
            .count();
        if n >= 3 { Ok(n) } else { Err(format!("{n} ranges")) }
    })
    .await;
    eprintln!("bank of {ACCOUNTS} accounts over {spread}+ ranges after {:?}", started.elapsed());

    let conns: Conns = Arc::new(Mutex::new(cluster.nodes.iter().map(|n| n.conn_str()).collect()));
    let out = Arc::new(Outcomes::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..6i64)
        .map(|id| tokio::spawn(client(id, (id % 3) as usize, conns.clone(), out.clone(), stop.clone())))
        .collect();
    let audit = tokio::spawn(auditor(conns.clone(), stop.clone()));

    tokio::time::sleep(Duration::from_secs(3)).await;
    net.partition(&[2], &[0, 1]);
    eprintln!("PARTITION: node 3 cut off at {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(5)).await;
    net.heal();
    eprintln!("HEAL at {:?} ({} datagrams dropped)", started.elapsed(), net.dropped());
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.nodes[0].kill();
    eprintln!("KILL: node 1 at {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.restart(0);
    conns.lock().unwrap()[0] = cluster.nodes[0].conn_str();
    eprintln!("RESTART: node 1 at {:?}", started.elapsed());
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let (checks, wrong) = audit.await.expect("auditor");
    let acknowledged = out.acknowledged.lock().unwrap().clone();
    eprintln!(
        "WORKLOAD: {} acknowledged, {} conflicts, {} unknown; {checks} audits",
        acknowledged.len(),
        out.conflicts.load(Ordering::Relaxed),
        out.unknown.load(Ordering::Relaxed)
    );
    assert!(wrong.is_empty(), "the auditor saw totals {wrong:?} instead of {}", ACCOUNTS * OPENING);
    assert!(acknowledged.len() >= 50, "too little progress: {} transfers", acknowledged.len());
    assert!(checks > 10, "the auditor barely ran: {checks} audits");

    // No lock left behind: every account can be written, through node 3.
    let c3 = wait_for("a connection to node 3", Duration::from_secs(10), || {
        let conn = cluster.nodes[2].conn_str();
        async move { connect(&conn).await.ok_or_else(|| "cannot connect".to_string()) }
    })
    .await;
    let recovered = Instant::now();
    wait_for("every account writable again", Duration::from_secs(60), || {
        let c3 = &c3;
        async move {
            tokio::time::timeout(STATEMENT_TIMEOUT * 2, c3.execute("UPDATE accounts SET balance = balance + 0", &[]))
                .await
                .map_err(|_| "timed out".to_string())?
                .map_err(|e| format!("{e:?}"))
        }
    })
    .await;
    eprintln!("RECOVERY: every account writable {:?} after the workload", recovered.elapsed());

    for (i, node) in cluster.nodes.iter().enumerate() {
        let c = wait_for("a connection", Duration::from_secs(10), || {
            let conn = node.conn_str();
            async move { connect(&conn).await.ok_or_else(|| "cannot connect".to_string()) }
        })
        .await;
        let total: i64 = c.query_one("SELECT sum(balance)::bigint FROM accounts", &[]).await.expect("total").get(0);
        assert_eq!(total, ACCOUNTS * OPENING, "the total through node {}", i + 1);
        let logged: HashSet<(i64, i64)> = c
            .query("SELECT client::bigint, seq::bigint FROM transfers", &[])
            .await
            .expect("log")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let lost: Vec<_> = acknowledged.difference(&logged).collect();
        assert!(lost.is_empty(), "acknowledged transfers missing through node {}: {lost:?}", i + 1);
        let disagree: Vec<(i64, i64, i64)> = c
            .query(
                "SELECT a.id::bigint, a.balance::bigint, \
                   (100 + coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0) \
                        - coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0))::bigint \
                 FROM accounts a",
                &[],
            )
            .await
            .expect("balances")
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .filter(|(_, balance, expected)| balance != expected)
            .collect();
        assert!(disagree.is_empty(), "balances disagree with the log through node {}: {disagree:?}", i + 1);
    }
    for i in cluster.running() {
        assert_eq!(cluster.nodes[i].stop(), Some(0), "node {} exits cleanly", i + 1);
    }
    eprintln!("total {:?}", started.elapsed());
}
