//! Bank transfers through SQL from many threads: the total never changes.
//!
//! Under snapshot isolation a transfer reads both balances and writes both,
//! so two transfers touching the same account conflict on write and one is
//! refused with 40001; under serializable the read set is validated too.
//! Either way every failed transfer is retried, and at the end the sum of
//! balances equals the starting sum and the number of committed transfers
//! matches the log table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alopex_sql::{Database, DatabaseOptions, Value};

const ACCOUNTS: i64 = 10;
const THREADS: usize = 4;
const TRANSFERS: usize = 60;

fn run(serializable: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db =
        Database::open_with(dir.path(), DatabaseOptions::default().relaxed(Duration::from_millis(20))).expect("open");
    db.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal BIGINT NOT NULL)", &[]).expect("create");
    db.execute("CREATE TABLE xfer (id BIGINT, src INTEGER, dst INTEGER, amount BIGINT)", &[]).expect("create");
    for id in 0..ACCOUNTS {
        db.execute("INSERT INTO acct VALUES ($1, 1000)", &[Value::Int(id)]).expect("insert");
    }
    let retries = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            let retries = retries.clone();
            std::thread::spawn(move || {
                for i in 0..TRANSFERS {
                    let src = ((t * 7 + i * 3) as i64) % ACCOUNTS;
                    let dst = ((t * 5 + i * 11 + 1) as i64) % ACCOUNTS;
                    if src == dst {
                        continue;
                    }
                    loop {
                        let mut tx = if serializable { db.begin_serializable() } else { db.begin() }.expect("begin");
                        let attempt = (|| {
                            let bal: i64 = tx
                                .query("SELECT bal FROM acct WHERE id = $1", &[Value::Int(src)])?
                                .next()
                                .expect("one row")?
                                .get(0)?;
                            let amount = (bal / 10).max(1);
                            tx.execute(
                                "UPDATE acct SET bal = bal - $1 WHERE id = $2",
                                &[Value::Int(amount), Value::Int(src)],
                            )?;
                            tx.execute(
                                "UPDATE acct SET bal = bal + $1 WHERE id = $2",
                                &[Value::Int(amount), Value::Int(dst)],
                            )?;
                            tx.execute(
                                "INSERT INTO xfer VALUES ($1, $2, $3, $4)",
                                &[
                                    Value::Int((t * 1000 + i) as i64),
                                    Value::Int(src),
                                    Value::Int(dst),
                                    Value::Int(amount),
                                ],
                            )?;
                            Ok::<_, alopex_sql::Error>(())
                        })();
                        let result = attempt.and_then(|()| tx.commit());
                        match result {
                            Ok(()) => break,
                            Err(e) if e.is_retryable() => {
                                retries.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => panic!("transfer failed: {e}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let total: i64 = db
        .query("SELECT sum(bal)::bigint FROM acct", &[])
        .expect("sum")
        .next()
        .expect("row")
        .expect("row")
        .get(0)
        .expect("int");
    assert_eq!(total, ACCOUNTS * 1000, "money was created or destroyed");
    let moved: i64 = db
        .query("SELECT count(*) FROM xfer", &[])
        .expect("count")
        .next()
        .expect("row")
        .expect("row")
        .get(0)
        .expect("int");
    let expected = (0..THREADS)
        .flat_map(|t| (0..TRANSFERS).map(move |i| (t, i)))
        .filter(|&(t, i)| ((t * 7 + i * 3) as i64) % ACCOUNTS != ((t * 5 + i * 11 + 1) as i64) % ACCOUNTS)
        .count() as i64;
    assert_eq!(moved, expected, "every committed transfer is logged exactly once");
    println!("serializable={serializable}: {expected} transfers, {} retries", retries.load(Ordering::Relaxed));
}

#[test]
fn bank_transfers_under_snapshot_isolation() {
    run(false);
}

#[test]
fn bank_transfers_under_serializable() {
    run(true);
}
