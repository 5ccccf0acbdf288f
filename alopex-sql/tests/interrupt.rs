//! A session's [`Interrupt`](alopex_sql::Interrupt) stops its running
//! statement with 57014, from another thread, and leaves the session usable:
//! an autocommit statement is rolled back, an explicit transaction is marked
//! failed until ROLLBACK, as in PostgreSQL.

use std::time::{Duration, Instant};

use alopex_sql::{Database, TxnStatus};

/// A database with `t(x)` holding 0..n.
fn with_rows(n: i64) -> Database {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE t (x BIGINT PRIMARY KEY)", &[]).unwrap();
    let values: Vec<String> = (0..n).map(|i| format!("({i})")).collect();
    db.execute(&format!("INSERT INTO t VALUES {}", values.join(",")), &[]).unwrap();
    db
}

#[test]
fn a_triggered_flag_fails_the_next_statement_until_reset() {
    let db = with_rows(10);
    let mut s = db.session();
    let interrupt = s.interrupt();
    interrupt.trigger();
    let err = s.run("SELECT count(*) FROM t", &[]).unwrap_err();
    assert_eq!(err.state.code(), "57014");
    assert_eq!(err.message, "canceling statement due to user request");
    assert_eq!(s.status(), TxnStatus::Idle);
    interrupt.reset();
    assert_eq!(s.execute("SELECT * FROM t", &[]).unwrap(), 10);
}

#[test]
fn a_long_statement_stops_soon_after_the_trigger_from_another_thread() {
    let db = with_rows(300);
    let mut s = db.session();
    s.execute("BEGIN", &[]).unwrap();
    let interrupt = s.interrupt();
    let trigger = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        interrupt.trigger();
        Instant::now()
    });
    // 300^4 = 8.1e9 rows: hours without the interrupt.
    let err = s.run("SELECT count(*) FROM t a, t b, t c, t d", &[]).unwrap_err();
    let stopped = Instant::now();
    let triggered = trigger.join().unwrap();
    assert_eq!(err.state.code(), "57014");
    assert!(stopped.duration_since(triggered) < Duration::from_secs(2), "took {:?}", stopped - triggered);
    // Inside a block the transaction is now failed, as after any error.
    assert_eq!(s.status(), TxnStatus::Failed);
    s.interrupt().reset();
    s.execute("ROLLBACK", &[]).unwrap();
    assert_eq!(s.execute("SELECT * FROM t", &[]).unwrap(), 300);
}
