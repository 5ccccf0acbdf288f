//! The embedded API: open/reopen, in-memory databases, parameters, typed
//! getters, streaming, transactions and the catalog cache.

use alopex_sql::{Database, SqlState, Value};

#[test]
fn data_and_schema_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT)", &[]).unwrap();
        db.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')", &[]).unwrap();
        db.execute("CREATE INDEX t_name ON t (name)", &[]).unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let names: Vec<String> = db
        .query("SELECT name FROM t WHERE name >= $1 ORDER BY name", &[Value::text("o")])
        .unwrap()
        .map(|r| r.unwrap().get(0).unwrap())
        .collect();
    assert_eq!(names, ["one", "two"]);
    let err = db.execute("CREATE TABLE t (x INT)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::DUPLICATE_TABLE);
}

#[test]
fn in_memory_database_runs_sql() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE kv (k INT PRIMARY KEY, v TEXT NOT NULL)", &[]).unwrap();
    for i in 0..100 {
        db.execute("INSERT INTO kv VALUES ($1, $2)", &[Value::Int(i), Value::text(format!("v{i}"))]).unwrap();
    }
    let row =
        db.query("SELECT count(*), max(v) FROM kv WHERE k < $1", &[Value::Int(50)]).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<i64>(0).unwrap(), 50);
    assert_eq!(row.get::<String>(1).unwrap(), "v9", "text order: v9 > v49");
    assert_eq!(row.columns()[0].name, "count");
}

#[test]
fn rows_stream_and_typed_getters_refuse_wrong_types() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE n (i INT, f DOUBLE PRECISION, s TEXT)", &[]).unwrap();
    db.execute("INSERT INTO n VALUES (1, 1.5, NULL)", &[]).unwrap();
    let row = db.query("SELECT i, f, s FROM n", &[]).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<i32>("i").unwrap(), 1);
    assert_eq!(row.get::<f64>("f").unwrap(), 1.5);
    assert_eq!(row.get::<Option<String>>("s").unwrap(), None);
    assert!(row.get::<String>("s").is_err(), "NULL only reads into Option");
    assert!(row.get::<bool>("i").is_err());
    assert!(row.get::<i64>("nope").is_err());
}

#[test]
fn transactions_commit_roll_back_and_refuse_after_errors() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE a (id INT PRIMARY KEY, bal INT)", &[]).unwrap();
    db.execute("INSERT INTO a VALUES (1, 10)", &[]).unwrap();
    {
        let mut tx = db.begin().unwrap();
        tx.execute("UPDATE a SET bal = 0", &[]).unwrap();
        // dropped without commit
    }
    let bal = |db: &Database| -> i64 {
        db.query("SELECT bal FROM a", &[]).unwrap().next().unwrap().unwrap().get::<Option<i64>>(0).unwrap().unwrap()
    };
    assert_eq!(bal(&db), 10);
    let mut tx = db.begin().unwrap();
    tx.execute("UPDATE a SET bal = 20", &[]).unwrap();
    tx.commit().unwrap();
    assert_eq!(bal(&db), 20);

    let mut tx = db.begin().unwrap();
    let err = tx.execute("INSERT INTO a VALUES (1, 1)", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNIQUE_VIOLATION);
    assert_eq!(err.message, "duplicate key value violates unique constraint \"a_pkey\"");
    assert_eq!(err.detail.as_deref(), Some("Key (id)=(1) already exists."));
    let err = tx.execute("SELECT 1", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::IN_FAILED_SQL_TRANSACTION);
    assert_eq!(tx.commit().unwrap_err().state, SqlState::IN_FAILED_SQL_TRANSACTION);
}

#[test]
fn write_conflicts_are_retryable_40001() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE c (id INT PRIMARY KEY, n INT)", &[]).unwrap();
    db.execute("INSERT INTO c VALUES (1, 0)", &[]).unwrap();
    let mut t1 = db.begin().unwrap();
    let mut t2 = db.begin().unwrap();
    t1.execute("UPDATE c SET n = n + 1 WHERE id = 1", &[]).unwrap();
    t2.execute("UPDATE c SET n = n + 1 WHERE id = 1", &[]).unwrap();
    t1.commit().unwrap();
    let err = t2.commit().unwrap_err();
    assert_eq!(err.state, SqlState::SERIALIZATION_FAILURE);
    assert!(err.is_retryable());
}

#[test]
fn old_snapshots_see_the_catalog_of_their_time() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE before (x INT)", &[]).unwrap();
    let mut old = db.begin().unwrap();
    old.execute("SELECT * FROM before", &[]).unwrap();
    db.execute("CREATE TABLE after (x INT)", &[]).unwrap();
    // A new statement sees the new table at once…
    db.execute("INSERT INTO after VALUES (1)", &[]).unwrap();
    // …but the old snapshot does not, even though the database's cached
    // catalog already has it.
    let err = old.execute("SELECT * FROM after", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNDEFINED_TABLE);
}

#[test]
fn parameters_are_typed_by_context_and_cast() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE p (id BIGINT PRIMARY KEY, d DATE, amount NUMERIC(8,2))", &[]).unwrap();
    db.execute("INSERT INTO p VALUES ($1, $2, $3)", &[Value::Int(1), Value::text("2024-02-29"), Value::text("12.345")])
        .unwrap();
    let row = db.query("SELECT d, amount FROM p WHERE id = $1", &[Value::Int(1)]).unwrap().next().unwrap().unwrap();
    assert_eq!(row.get::<String>(0).unwrap(), "2024-02-29");
    assert_eq!(row.get::<String>(1).unwrap(), "12.35");
    let err = db.execute("INSERT INTO p VALUES ($1, $2, 1)", &[Value::Int(2), Value::text("not a date")]).unwrap_err();
    assert_eq!(err.state.code(), "22007");
    let err = db.execute("SELECT * FROM p WHERE id = $1", &[]).unwrap_err();
    assert_eq!(err.state, SqlState::PROTOCOL_VIOLATION);
}

#[test]
fn binder_errors_point_at_the_offending_name() {
    let db = Database::open_in_memory();
    db.execute("CREATE TABLE pos (a INT)", &[]).unwrap();
    let sql = "SELECT a,\n       nope FROM pos";
    let err = db.execute(sql, &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNDEFINED_COLUMN);
    let at = err.position.expect("a position") as usize;
    assert_eq!(sql.chars().skip(at - 1).take(4).collect::<String>(), "nope");
    let sql = "SELECT * FROM missing_table";
    let err = db.execute(sql, &[]).unwrap_err();
    assert_eq!(err.state, SqlState::UNDEFINED_TABLE);
    assert_eq!(err.position, Some(15));
}

#[test]
fn handles_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Database>();
    send::<alopex_sql::Session>();
    send::<alopex_sql::Transaction>();
    send::<alopex_sql::Rows<'static>>();
}

#[test]
fn a_reopened_database_plans_with_table_sizes_from_storage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE TABLE big (id INT PRIMARY KEY, s INT)", &[]).unwrap();
        db.execute("CREATE TABLE small (id INT PRIMARY KEY, name TEXT)", &[]).unwrap();
        let mut tx = db.begin().unwrap();
        for i in 0..2000 {
            tx.execute("INSERT INTO big VALUES ($1, $2)", &[Value::Int(i), Value::Int(i % 5)]).unwrap();
        }
        for i in 0..5 {
            tx.execute("INSERT INTO small VALUES ($1, 'x')", &[Value::Int(i)]).unwrap();
        }
        tx.commit().unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    // Written with the big table second: the optimizer must still build the
    // hash table on the small one (the right input) from the sizes it reads
    // from storage, not from defaults.
    let plan: Vec<String> = db
        .query("EXPLAIN SELECT count(*) FROM small, big WHERE big.s = small.id", &[])
        .unwrap()
        .map(|r| r.unwrap().get::<String>(0).unwrap())
        .collect();
    let pos = |name: &str| plan.iter().position(|l| l.contains(&format!("Scan {name}"))).unwrap();
    assert!(pos("big") < pos("small"), "small should be the build (right) side:\n{}", plan.join("\n"));
}
