//! `COPY … FROM STDIN` through the bulk insert path, driven by real clients.
//!
//! The server decodes COPY data into batches of rows and writes each batch
//! through one planned INSERT (`alopex_sql::Session::insert_batch`). These
//! tests pin what that path must keep from the per-row INSERT it replaced:
//! the load is atomic however many batches it spans (an error in a late
//! batch commits nothing, in autocommit or in the client's transaction),
//! the error carries its SQLSTATE and the input line, constraints (NOT
//! NULL, CHECK, primary key, types) are checked, omitted columns get their
//! defaults, and text/CSV quoting and NULLs arrive intact. Performance is
//! measured (docs/benchmarks.md), not asserted here.
//!
//! psql and psycopg 3 are the clients (psql sends the data inline from a
//! script; psycopg writes rows with `copy.write_row`). Each test skips with
//! a note when its client is missing, unless `ALOPEX_REQUIRE_CLIENTS` is set.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Server;

/// Runs a psql script (statements and inline COPY data) on `server`;
/// returns (exit ok, stdout, stderr). Errors are verbose (with SQLSTATE).
fn psql_script(server: &Server, script: &str) -> (bool, String, String) {
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "VERBOSITY=verbose", "-h", "127.0.0.1"])
        .args(["-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql");
    let mut stdin = child.stdin.take().expect("stdin");
    let script = script.to_string();
    // Feed from a thread: a large script must not deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let out = child.wait_with_output().expect("psql");
    writer.join().expect("writer").expect("write script");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One query's output (unaligned, tuples only), failing on an error.
fn query(server: &Server, sql: &str) -> String {
    let (ok, out, err) = psql_script(server, &format!("{sql};\n"));
    assert!(ok && err.is_empty(), "{sql}: {err}");
    out.trim_end().to_string()
}

/// `n` text-format rows `i<TAB>name i<TAB>i*2` for i in `from..from+n`.
fn text_rows(from: u64, n: u64) -> String {
    (from..from + n).map(|i| format!("{i}\tname {i}\t{}\n", i * 2)).collect()
}

const TABLE: &str = "CREATE TABLE b (id INT PRIMARY KEY, name TEXT NOT NULL, n INT DEFAULT 7 CHECK (n >= 0), \
                     note TEXT DEFAULT 'none');\n";

#[test]
fn copy_loads_many_batches_with_defaults_and_nulls() {
    if !common::client_available("psql") {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql_script(&server, TABLE);
    assert!(ok, "{err}");
    // 20,000 rows: several batches of the bulk path.
    let script = format!("COPY b (id, name, n) FROM STDIN;\n{}\\.\n", text_rows(1, 20_000));
    let (ok, _, err) = psql_script(&server, &script);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(
        query(&server, "SELECT count(*), sum(id), sum(n), min(note), max(note) FROM b"),
        "20000|200010000|400020000|none|none"
    );
    assert_eq!(query(&server, "SELECT name FROM b WHERE id = 12345"), "name 12345");

    // Omitted columns get their defaults, \N is NULL, escapes decode.
    let script = "COPY b (name, id) FROM STDIN;\ntab\\there\t30001\nback\\\\slash\t30002\n\\.\n\
                  COPY b (id, name, note) FROM STDIN;\n30003\tx\t\\N\n\\.\n";
    let (ok, _, err) = psql_script(&server, script);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(
        query(&server, "SELECT id, name, n, coalesce(note, 'NULL') FROM b WHERE id > 30000 ORDER BY id"),
        "30001|tab\there|7|none\n30002|back\\slash|7|none\n30003|x|7|NULL"
    );
}

#[test]
fn copy_csv_quoting_nulls_and_header() {
    if !common::client_available("psql") {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql_script(&server, TABLE);
    assert!(ok, "{err}");
    // Quoted delimiters, doubled quotes, a newline inside quotes, an
    // unquoted empty field (NULL) and a quoted one (the empty string).
    let script = "COPY b (id, name, note) FROM STDIN WITH (FORMAT csv, HEADER);\n\
                  id,name,note\n\
                  1,\"a, b\",\"say \"\"hi\"\"\"\n\
                  2,\"two\nlines\",\n\
                  3,three,\"\"\n\
                  \\.\n";
    let (ok, _, err) = psql_script(&server, script);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(
        query(&server, "SELECT id, name, coalesce(note, 'NULL'), length(note) FROM b ORDER BY id"),
        "1|a, b|say \"hi\"|8\n2|two\nlines|NULL|\n3|three||0"
    );
    // A custom NULL string and delimiter.
    let script = "COPY b (id, name, note) FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'nil');\n4;four;nil\n\\.\n";
    let (ok, _, err) = psql_script(&server, script);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(query(&server, "SELECT note IS NULL FROM b WHERE id = 4"), "t");
}

/// Every way a row can fail, each in a late batch: the whole COPY is
/// refused with the row's SQLSTATE and input line, and nothing of it stays.
#[test]
fn copy_error_mid_stream_commits_nothing_and_names_the_line() {
    if !common::client_available("psql") {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql_script(&server, TABLE);
    assert!(ok, "{err}");
    let cases: [(&str, &str, &str); 5] = [
        ("9000\tbad\tnotanumber\n", "22P02", "invalid input syntax for type integer"),
        ("10\tduplicate\t1\n", "23505", "duplicate key value"),
        ("9000\t\\N\t1\n", "23502", "null value in column \"name\""),
        ("9000\tnegative\t-1\n", "23514", "violates check constraint"),
        ("9000\ttoo\tmany\tcolumns\n", "22P04", "extra data after last expected column"),
    ];
    for (bad, state, message) in cases {
        // Rows 1..=8999 are good; line 9000 is bad; more good rows follow.
        let data = format!("{}{bad}{}", text_rows(1, 8999), text_rows(9001, 3000));
        let (ok, _, err) = psql_script(&server, &format!("COPY b (id, name, n) FROM STDIN;\n{data}\\.\n"));
        assert!(!ok || !err.is_empty(), "{state}: the COPY must fail");
        assert!(err.contains(&format!("ERROR:  {state}")), "{state}: {err}");
        assert!(err.contains(message), "{state}: {err}");
        assert!(err.contains("line 9000"), "{state}: the line is named: {err}");
        assert_eq!(query(&server, "SELECT count(*) FROM b"), "0", "{state}: nothing was committed");
    }
    // CSV with a header: the header is line 1.
    let data = "id,name,n\n1,one,1\n2,two,x\n";
    let (_, _, err) =
        psql_script(&server, &format!("COPY b (id, name, n) FROM STDIN WITH (FORMAT csv, HEADER);\n{data}\\.\n"));
    assert!(err.contains("22P02") && err.contains("line 3"), "{err}");
    assert_eq!(query(&server, "SELECT count(*) FROM b"), "0");
}

/// A COPY inside the client's transaction: its rows commit with the
/// transaction, and a failed COPY aborts the transaction (25P02 until
/// ROLLBACK), taking the transaction's earlier writes with it.
#[test]
fn copy_in_an_explicit_transaction() {
    if !common::client_available("psql") {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql_script(&server, TABLE);
    assert!(ok, "{err}");
    let script = format!(
        "BEGIN;\nINSERT INTO b (id, name) VALUES (0, 'zero');\nCOPY b (id, name) FROM STDIN;\n{}\\.\n\
         SELECT count(*) FROM b;\nCOMMIT;\n",
        (1..=5000).map(|i| format!("{i}\tn{i}\n")).collect::<String>()
    );
    let (ok, out, err) = psql_script(&server, &script);
    assert!(ok && err.is_empty(), "{err}");
    assert_eq!(out.trim(), "5001");
    assert_eq!(query(&server, "SELECT count(*) FROM b"), "5001");

    let script = format!(
        "BEGIN;\nINSERT INTO b (id, name) VALUES (-1, 'minus one');\nCOPY b (id, name) FROM STDIN;\n{}\\.\n\
         SELECT 1;\nROLLBACK;\n",
        (6000..=12_000).map(|i| format!("{}\tn{i}\n", if i == 11_000 { 5 } else { i })).collect::<String>()
    );
    let (_, _, err) = psql_script(&server, &script);
    assert!(err.contains("23505") && err.contains("line 5001"), "{err}");
    assert!(err.contains("25P02"), "the transaction is aborted after the failed COPY: {err}");
    assert_eq!(query(&server, "SELECT count(*), min(id) FROM b"), "5001|0");
}

#[test]
fn psycopg_copy_write_row() {
    if !common::python::has_module("psycopg") {
        return;
    }
    let server = Server::start();
    common::python::run_script("copy_client.py", &[&server.pg_port.to_string()]);
}
