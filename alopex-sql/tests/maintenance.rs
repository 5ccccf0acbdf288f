//! Storage-level statements through the embedded API: TRUNCATE, ALTER TABLE
//! … ADD PRIMARY KEY on a table with rows, VACUUM, ANALYZE and table
//! storage parameters: what pgbench's initialization sends.

use alopex_sql::{Database, SqlState};

fn count(db: &Database, sql: &str) -> i64 {
    db.query(sql, &[]).unwrap().next().unwrap().unwrap().get::<i64>(0).unwrap()
}

/// `INSERT INTO <into> VALUES …` with one row per `g` in `1..=n`.
fn insert_rows(db: &Database, into: &str, n: i64, row: impl Fn(i64) -> String) {
    let values: Vec<String> = (1..=n).map(|g| format!("({})", row(g))).collect();
    db.execute(&format!("INSERT INTO {into} VALUES {}", values.join(", ")), &[]).unwrap();
}

fn explain(db: &Database, sql: &str) -> String {
    db.query(&format!("EXPLAIN {sql}"), &[])
        .unwrap()
        .map(|r| r.unwrap().get::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn truncate_empties_tables_and_indexes_transactionally() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE a (id INT PRIMARY KEY, v TEXT UNIQUE)", &[]).unwrap();
    db.execute("CREATE TABLE h (x INT, y INT)", &[]).unwrap();
    db.execute("CREATE INDEX h_y ON h (y)", &[]).unwrap();
    insert_rows(&db, "a", 500, |g| format!("{g}, 'v{g}'"));
    insert_rows(&db, "h", 300, |g| format!("{g}, {}", g % 7));

    // Rolled back: everything is still there.
    let mut s = db.session();
    s.execute("BEGIN", &[]).unwrap();
    s.execute("TRUNCATE TABLE a, h", &[]).unwrap();
    assert_eq!(s.query("SELECT count(*) FROM a", &[]).unwrap().next().unwrap().unwrap().get::<i64>(0).unwrap(), 0);
    s.execute("ROLLBACK", &[]).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM a"), 500);
    assert_eq!(count(&db, "SELECT count(*) FROM h WHERE y = 3"), 43);

    // Committed, with rows written after it in the same transaction (as
    // pgbench's init does): only those remain, in the rows and the indexes.
    let results = db
        .session()
        .run("BEGIN; TRUNCATE a, h; INSERT INTO a VALUES (1, 'v1'); INSERT INTO h VALUES (1, 3); COMMIT", &[])
        .unwrap();
    assert!(matches!(&results[1], alopex_sql::StatementResult::Command { tag, .. } if tag == "TRUNCATE TABLE"));
    assert_eq!(count(&db, "SELECT count(*) FROM a"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM h WHERE y = 3"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM a WHERE v = 'v2'"), 0);
    // The unique index was emptied too: 'v2' is free again.
    db.execute("INSERT INTO a VALUES (2, 'v2')", &[]).unwrap();
    let err = db.execute("TRUNCATE a, nope", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNDEFINED_TABLE);
    assert_eq!(count(&db, "SELECT count(*) FROM a"), 2, "a failed TRUNCATE truncates nothing");
}

#[test]
fn add_primary_key_moves_rows_to_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute(
            "CREATE TABLE acc (aid INT NOT NULL, bid INT, abalance INT, filler CHAR(84)) WITH (fillfactor=100)",
            &[],
        )
        .unwrap();
        db.execute("CREATE INDEX acc_bid ON acc (bid)", &[]).unwrap();
        // Inserted in reverse, so row-id order is not key order.
        insert_rows(&db, "acc (aid, bid, abalance)", 1000, |g| format!("{}, {}, 0", 1001 - g, g % 10));
        assert!(explain(&db, "SELECT abalance FROM acc WHERE aid = 5").contains("filter"), "no key yet");

        db.execute("ALTER TABLE acc ADD PRIMARY KEY (aid)", &[]).unwrap();
        assert!(explain(&db, "SELECT abalance FROM acc WHERE aid = 5").contains("Scan acc (points: [5])"));
        assert_eq!(count(&db, "SELECT count(*) FROM acc"), 1000);
        assert_eq!(count(&db, "SELECT bid FROM acc WHERE aid = 991"), 0);
        // The secondary index points at the new keys.
        assert_eq!(count(&db, "SELECT count(*) FROM acc WHERE bid = 3"), 100);
        assert_eq!(
            count(&db, "SELECT sum(aid)::bigint FROM acc WHERE bid = 0"),
            (1..=100).map(|i| 1001 - 10 * i).sum::<i64>()
        );
        // It is a real key now.
        let err = db.execute("INSERT INTO acc (aid) VALUES (7)", &[]).unwrap_err();
        assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
        let err = db.execute("INSERT INTO acc (aid) VALUES (NULL)", &[]).unwrap_err();
        assert_eq!(err.state, SqlState::NOT_NULL_VIOLATION);
        let err = db.execute("ALTER TABLE acc ADD PRIMARY KEY (bid)", &[]).unwrap_err();
        assert_eq!(err.state, SqlState::INVALID_TABLE_DEFINITION);
        db.execute("UPDATE acc SET abalance = abalance + 5 WHERE aid = 10", &[]).unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    assert_eq!(count(&db, "SELECT abalance FROM acc WHERE aid = 10"), 5);
    assert_eq!(count(&db, "SELECT count(*) FROM acc"), 1000);
}

#[test]
fn add_primary_key_checks_nulls_and_duplicates_and_rolls_back() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE t (k INT, v TEXT)", &[]).unwrap();
    db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (2, 'c')", &[]).unwrap();
    let err = db.execute("ALTER TABLE t ADD PRIMARY KEY (k)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.message, "could not create unique index \"t_pkey\"");
    assert_eq!(err.detail.as_deref(), Some("Key (k)=(2) is duplicated."));
    assert_eq!(count(&db, "SELECT count(*) FROM t"), 3, "nothing moved");

    db.execute("UPDATE t SET k = NULL WHERE v = 'c'", &[]).unwrap();
    let err = db.execute("ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY (k)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::NOT_NULL_VIOLATION);
    assert_eq!(err.message, "column \"k\" of relation \"t\" contains null values");

    let err = db.execute("ALTER TABLE t ADD PRIMARY KEY (nope)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNDEFINED_COLUMN);
    let err = db.execute("ALTER TABLE t ADD PRIMARY KEY (k, k)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::DUPLICATE_COLUMN);

    // In a transaction that rolls back, the table keeps its row ids.
    db.execute("DELETE FROM t WHERE k IS NULL", &[]).unwrap();
    let mut s = db.session();
    s.execute("BEGIN", &[]).unwrap();
    s.execute("ALTER TABLE t ADD PRIMARY KEY (k, v)", &[]).unwrap();
    s.execute("ROLLBACK", &[]).unwrap();
    db.execute("INSERT INTO t VALUES (1, 'a')", &[]).unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM t WHERE k = 1"), 2, "still no key");

    // A composite key over text works, and the column stays readable.
    db.execute("DELETE FROM t WHERE v = 'a' AND k = 1", &[]).unwrap();
    db.execute("INSERT INTO t VALUES (1, 'z')", &[]).unwrap();
    db.execute("ALTER TABLE t ADD PRIMARY KEY (k, v)", &[]).unwrap();
    let rows: Vec<(i64, String)> = db
        .query("SELECT k, v FROM t ORDER BY k, v", &[])
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.get::<i64>(0).unwrap(), r.get::<String>(1).unwrap())
        })
        .collect();
    assert_eq!(rows, [(1, "z".to_string()), (2, "b".to_string())]);
}

#[test]
fn vacuum_and_analyze_are_accepted_where_postgres_accepts_them() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE t (k INT PRIMARY KEY)", &[]).unwrap();
    insert_rows(&db, "t", 100, |g| g.to_string());
    let tags: Vec<String> = db
        .session()
        .run("VACUUM t; VACUUM ANALYZE t; ANALYZE t; ANALYZE; VACUUM (VERBOSE, ANALYZE) t (k)", &[])
        .unwrap()
        .into_iter()
        .map(|r| match r {
            alopex_sql::StatementResult::Command { tag, .. } => tag,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, ["VACUUM", "VACUUM", "ANALYZE", "ANALYZE", "VACUUM"]);
    assert_eq!(db.execute("VACUUM nope", &[]).unwrap_err().state, SqlState::UNDEFINED_TABLE);
    assert_eq!(db.execute("VACUUM (FROB) t", &[]).unwrap_err().state, SqlState::SYNTAX_ERROR);
    let mut s = db.session();
    s.execute("BEGIN", &[]).unwrap();
    assert_eq!(s.execute("VACUUM t", &[]).unwrap_err().state, SqlState::ACTIVE_SQL_TRANSACTION);
    s.execute("ROLLBACK", &[]).unwrap();
    s.execute("BEGIN; ANALYZE t; COMMIT", &[]).unwrap();
}

#[test]
fn storage_parameters_are_validated() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE t (k INT) WITH (fillfactor=100)", &[]).unwrap();
    let err = db.execute("CREATE TABLE u (k INT) WITH (fillfactor=101)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::INVALID_PARAMETER_VALUE);
    let err = db.execute("CREATE TABLE u (k INT) WITH (heap_pages=3)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::INVALID_PARAMETER_VALUE);
    assert_eq!(err.message, "unrecognized parameter \"heap_pages\"");
}
