//! PostgreSQL's own benchmark client, `pgbench`, unmodified against
//! `alopex serve`.
//!
//! pgbench is a demanding client: its initialization drops and creates
//! tables `WITH (fillfactor=100)`, truncates them in a transaction, loads
//! accounts with `COPY … FROM STDIN` (or `INSERT … SELECT generate_series`),
//! runs `VACUUM ANALYZE`, and adds primary keys to tables that already hold
//! rows. Its builtin scripts then run in all three protocol modes (`-M
//! simple` sends the values in the SQL text, `extended` sends unnamed
//! Parse/Bind/Execute, `prepared` names each statement once), several
//! clients at a time.
//!
//! The TPC-B-like script is also a correctness check. Every transaction adds
//! the same `delta` to one account, one teller and one branch, and records
//! it in `pgbench_history`; with scale 1 every transaction updates the one
//! branch, so concurrent clients conflict all the time and pgbench retries
//! the ones that fail with 40001 (`--max-tries 0`: as often as it takes
//! until the run's time is up). If commits were not atomic
//! or a lost update slipped through, the three balance sums would drift from
//! the sum of the deltas. After each run they must all be equal.
//!
//! pgbench ships with PostgreSQL's server package on Debian; `.ci/run`
//! installs it and sets `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a missing
//! pgbench fails the test. Elsewhere the test says so and passes.

mod common;

use std::process::{Command, Output};

use common::Server;

/// True when a working pgbench is installed (Debian's `/usr/bin/pgbench`
/// is a wrapper that exists even without the binary behind it).
fn pgbench_available() -> bool {
    common::client_available("pgbench")
}

/// Runs pgbench with `args` against `server`.
fn pgbench(server: &Server, args: &[&str]) -> Output {
    let out = Command::new("pgbench")
        .args(["-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex"])
        .args(args)
        .arg("alopex")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("run pgbench");
    eprintln!(
        "pgbench {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs pgbench and requires exit status 0; returns its standard output.
fn pgbench_ok(server: &Server, args: &[&str]) -> String {
    let out = pgbench(server, args);
    assert!(out.status.success(), "pgbench {args:?} exited with {}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number after `label` in pgbench's report (`number of failed
/// transactions: 0 (0.000%)`; with `-t`, `… processed: 100/100`).
fn reported(report: &str, label: &str) -> Option<u64> {
    let line = report.lines().find(|l| l.starts_with(label))?;
    line[label.len()..].split_whitespace().next()?.split('/').next()?.parse().ok()
}

/// One integer from a query.
async fn scalar(client: &tokio_postgres::Client, sql: &str) -> i64 {
    let row = client.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.get::<_, Option<i64>>(0).unwrap_or(0)
}

async fn connect(server: &Server) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&server.conn_str(), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// The balance sums of accounts, tellers and branches, and the sum of the
/// deltas in the history, which must all be equal.
async fn check_balances(server: &Server, after: &str) -> i64 {
    let client = connect(server).await;
    let deltas = scalar(&client, "SELECT sum(delta)::bigint FROM pgbench_history").await;
    for table in ["accounts", "tellers", "branches"] {
        let column = &table[..1];
        let sum = scalar(&client, &format!("SELECT sum({column}balance)::bigint FROM pgbench_{table}")).await;
        assert_eq!(sum, deltas, "after {after}: sum of pgbench_{table} balances != sum of history deltas");
    }
    scalar(&client, "SELECT count(*) FROM pgbench_history").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_initializes_and_runs_its_builtin_scripts_in_every_protocol() {
    if !pgbench_available() {
        return;
    }
    let server = Server::start();

    // Default initialization: drop, create, client-side COPY, vacuum,
    // primary keys.
    pgbench_ok(&server, &["-i", "-s", "1"]);
    let client = connect(&server).await;
    assert_eq!(scalar(&client, "SELECT count(*) FROM pgbench_accounts").await, 100_000);
    assert_eq!(scalar(&client, "SELECT count(*) FROM pgbench_tellers").await, 10);
    assert_eq!(scalar(&client, "SELECT count(*) FROM pgbench_branches").await, 1);
    // The primary key is the storage key: a point lookup, not a scan.
    let plan =
        client.simple_query("EXPLAIN SELECT abalance FROM pgbench_accounts WHERE aid = 7").await.expect("explain");
    let plan: Vec<String> = plan
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    assert!(plan.iter().any(|l| l.contains("Scan pgbench_accounts (points: [7])")), "{plan:?}");

    // TPC-B-like in each protocol mode, two clients conflicting on the one
    // branch and retrying on 40001. The first run also vacuums and
    // truncates the history, as pgbench does by default.
    let mut transactions = 0;
    for (i, mode) in ["simple", "extended", "prepared"].into_iter().enumerate() {
        let mut args = vec!["-M", mode, "-c", "2", "-j", "2", "-T", "2", "--max-tries", "0"];
        if i > 0 {
            args.push("-n");
        }
        let report = pgbench_ok(&server, &args);
        assert_eq!(reported(&report, "number of failed transactions:"), Some(0), "{report}");
        let processed = reported(&report, "number of transactions actually processed:").expect("processed");
        assert!(processed > 0, "{report}");
        transactions += processed as i64;
        let history = check_balances(&server, mode).await;
        assert_eq!(history, transactions, "every committed transaction is in the history once");
    }

    // The read-only and the simple-update scripts.
    for (script, mode) in [("select-only", "prepared"), ("select-only", "simple"), ("simple-update", "extended")] {
        let report = pgbench_ok(&server, &["-n", "-b", script, "-M", mode, "-c", "2", "-t", "50"]);
        assert_eq!(reported(&report, "number of transactions actually processed:"), Some(100), "{report}");
    }

    // Server-side data generation (`G`: INSERT … SELECT … FROM
    // generate_series(1, n) AS aid), which starts over from empty tables.
    let out = pgbench(&server, &["-i", "-s", "1", "-I", "dtGvp"]);
    assert!(
        out.status.success(),
        "pgbench -i -I dtGvp exited with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let plan = client
        .simple_query("EXPLAIN SELECT aid FROM generate_series(1, 100000) AS aid")
        .await
        .expect("explain generate_series");
    assert!(
        plan.iter().any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r)
            if r.get(0).is_some_and(|l| l.contains("FunctionScan generate_series(1, 100000)")))),
        "EXPLAIN shows the function scan"
    );
    assert_eq!(scalar(&client, "SELECT count(*) FROM pgbench_accounts").await, 100_000);
    assert_eq!(scalar(&client, "SELECT count(*) FROM pgbench_history").await, 0);
    assert_eq!(scalar(&client, "SELECT sum(abalance)::bigint FROM pgbench_accounts").await, 0);
}
