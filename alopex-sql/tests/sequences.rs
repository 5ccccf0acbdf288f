//! Sequences under concurrency and across restarts.
//!
//! The slt file checks the SQL surface; these tests check the two promises
//! that need threads and files: values are unique across concurrent
//! sessions (and no session ever sees a serialization failure from
//! `nextval`, even inside serializable transactions that roll back), and
//! a reopened database never hands out a value it handed out before.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use alopex_sql::{Database, DatabaseOptions, Value};

fn one_int(db: &Database, sql: &str) -> i64 {
    db.query(sql, &[]).expect("query").next().expect("a row").expect("row").get(0).expect("an integer")
}

#[test]
fn concurrent_nextval_is_unique() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db =
        Database::open_with(dir.path(), DatabaseOptions::default().relaxed(Duration::from_millis(20))).expect("open");
    db.execute("CREATE SEQUENCE s", &[]).expect("create sequence");
    db.execute("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, thread INTEGER)", &[]).expect("create table");
    const THREADS: i64 = 6;
    const EACH: i64 = 150;
    let db = Arc::new(db);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                for i in 0..EACH {
                    seen.push(one_int(&db, "SELECT nextval('s')"));
                    // Inserts in serializable transactions, every third one
                    // rolled back: the rolled-back values are consumed.
                    let mut tx = db.begin_serializable().expect("begin");
                    tx.execute("INSERT INTO t (thread) VALUES ($1)", &[Value::Int(t)]).expect("insert");
                    if i % 3 == 0 {
                        tx.rollback().expect("rollback");
                    } else {
                        tx.commit().expect("commit");
                    }
                }
                seen
            })
        })
        .collect();
    let mut all = HashSet::new();
    for h in handles {
        for v in h.join().expect("thread") {
            assert!(all.insert(v), "value {v} handed out twice");
        }
    }
    assert_eq!(all.len() as i64, THREADS * EACH);
    assert!(all.iter().all(|v| (1..=THREADS * EACH + 64).contains(v)));
    let committed = THREADS * (EACH - (EACH + 2) / 3);
    assert_eq!(one_int(&db, "SELECT count(*) FROM t"), committed);
    assert_eq!(one_int(&db, "SELECT count(DISTINCT id) FROM t"), committed);
    // Rolled-back inserts consumed their ids: the largest is past the count.
    assert!(one_int(&db, "SELECT max(id) FROM t") >= THREADS * EACH);
}

#[test]
fn values_survive_restart_and_are_never_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut before = HashSet::new();
    {
        let db = Database::open(dir.path()).expect("open");
        db.execute("CREATE SEQUENCE s", &[]).expect("create");
        db.execute("CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT)", &[]).expect("create");
        for _ in 0..5 {
            before.insert(one_int(&db, "SELECT nextval('s')"));
        }
        db.execute("INSERT INTO t (v) VALUES ('a'), ('b')", &[]).expect("insert");
        assert_eq!(one_int(&db, "SELECT setval('s', 40)"), 40);
        before.insert(40);
        db.close().expect("close");
    }
    let db = Database::open(dir.path()).expect("reopen");
    let next = one_int(&db, "SELECT nextval('s')");
    assert!(next > 40 && !before.contains(&next), "reused or went back: {next}");
    db.execute("INSERT INTO t (v) VALUES ('c')", &[]).expect("insert after restart");
    assert_eq!(one_int(&db, "SELECT count(DISTINCT id) FROM t"), 3);
    assert!(one_int(&db, "SELECT max(id) FROM t WHERE v = 'c'") > 2);
    db.execute("DROP TABLE t", &[]).expect("drop");
    let err = db
        .query("SELECT nextval('t_id_seq')", &[])
        .and_then(|mut rows| rows.next().transpose().map(|_| ()))
        .unwrap_err();
    assert_eq!(err.state.code(), "42P01");
}
