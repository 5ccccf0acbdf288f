//! The server through `psql`, the client most people try first.
//!
//! `psql` comes from Debian's `postgresql-client`, which `.ci/run` installs
//! and then sets `ALOPEX_REQUIRE_CLIENTS=1`, so in CI a missing `psql` fails
//! the test. On a developer machine without it the test says so and passes.

mod common;

use std::process::Command;

use common::Server;

fn psql_available() -> bool {
    common::client_available("psql")
}

/// Runs psql with `args` against `server`; returns (status ok, stdout, stderr).
fn psql(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .args(args)
        .output()
        .expect("run psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn psql_queries_errors_and_transactions() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, out, err) = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC(8,2), added DATE)",
            "-c",
            "INSERT INTO items VALUES (1, 'apple', 0.50, '2024-03-01'), (2, 'pear', NULL, NULL)",
            "-A",
            "-t",
            "-c",
            "SELECT id, name, price, added FROM items ORDER BY id",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out, "CREATE TABLE\nINSERT 0 2\n1|apple|0.50|2024-03-01\n2|pear||\n");

    // Errors carry their SQLSTATE and position; psql prints them.
    let (ok, _, err) = psql(&server, &["-v", "VERBOSITY=verbose", "-c", "SELECT nope FROM items"]);
    assert!(!ok);
    assert!(err.contains("ERROR:  42703: column \"nope\" does not exist"), "{err}");
    assert!(err.contains("LINE 1: SELECT nope FROM items"), "{err}");

    // A script: a failed statement aborts the block until ROLLBACK.
    let script = "BEGIN;\nINSERT INTO items VALUES (3, 'fig', 1, NULL);\nSELECT 1/0;\nSELECT 1;\nROLLBACK;\nSELECT count(*) FROM items;\n";
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &server.pg_port.to_string(), "-U", "alopex", "-d", "alopex"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .expect("psql script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout, "BEGIN\nINSERT 0 1\nROLLBACK\n2\n", "{stderr}");
    assert!(stderr.contains("division by zero"), "{stderr}");
    assert!(stderr.contains("current transaction is aborted"), "{stderr}");
}

#[test]
fn psql_copy_text_and_csv() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, _, err) =
        psql(&server, &["-c", "CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT, amount NUMERIC(6,2))"]);
    assert!(ok, "{err}");
    let copy_in = |sql: &str, data: &str| {
        let out = Command::new("psql")
            .args([
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                &server.pg_port.to_string(),
                "-U",
                "alopex",
                "-d",
                "alopex",
                "-c",
                sql,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(data.as_bytes())?;
                child.wait_with_output()
            })
            .expect("psql");
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (out, err) = copy_in("COPY c FROM STDIN", "1\talpha\t1.50\n2\t\\N\t2\n3\ttab\\there\t\\N\n");
    assert_eq!(out, "COPY 3\n", "{err}");
    let (out, err) = copy_in("COPY c FROM STDIN WITH (FORMAT csv, HEADER)", "id,name,amount\n4,\"x, y\",3\n5,,\n");
    assert_eq!(out, "COPY 2\n", "{err}");
    let (_, err) = copy_in("COPY c FROM STDIN", "9\tbad\tnotanumber\n");
    assert!(err.contains("invalid input syntax for type numeric"), "{err}");
    let (ok, out, err) = psql(&server, &["-c", "COPY c TO STDOUT"]);
    assert!(ok, "{err}");
    assert_eq!(out, "1\talpha\t1.50\n2\t\\N\t2.00\n3\ttab\\there\t\\N\n4\tx, y\t3.00\n5\t\\N\t\\N\n");
    let (ok, out, _) =
        psql(&server, &["-c", "COPY (SELECT id, name FROM c WHERE id > 3) TO STDOUT WITH (FORMAT csv, HEADER)"]);
    assert!(ok);
    assert_eq!(out, "id,name\n4,\"x, y\"\n5,\n");
}

/// psql's describe commands run unmodified: they query `pg_class`,
/// `pg_attribute`, `pg_index`, `pg_constraint` and friends with psql 15's
/// own SQL (regular expressions, `regclass` casts, catalog functions).
#[test]
fn psql_describe_commands() {
    if !psql_available() {
        return;
    }
    let server = Server::start();
    let (ok, _, err) = psql(
        &server,
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', \
             email VARCHAR(40) UNIQUE, score NUMERIC(8,2))",
            "-c",
            "CREATE INDEX t_score_idx ON t (score)",
            "-c",
            "CREATE TABLE log (at TIMESTAMP, msg TEXT)",
        ],
    );
    assert!(ok, "{err}");
    let describe = |cmd: &str| {
        let (ok, out, err) = psql(&server, &["-v", "ON_ERROR_STOP=1", "-c", cmd]);
        assert!(ok && err.is_empty(), "{cmd}: {err}");
        out
    };

    let out = describe("\\dt");
    assert!(out.contains("List of relations"), "{out}");
    assert!(out.contains(" public | log  | table | alopex"), "{out}");
    assert!(out.contains(" public | t    | table | alopex"), "{out}");
    assert!(out.contains("(2 rows)"), "{out}");

    // `\d t` in full: psql's column, index, publication (generate_series
    // in FROM, `int2[]` subscripts) and inheritance queries, verbatim.
    let out = describe("\\d t");
    assert_eq!(
        out,
        concat!(
            "                        Table \"public.t\"\n",
            " Column |         Type          | Collation | Nullable | Default \n",
            "--------+-----------------------+-----------+----------+---------\n",
            " id     | integer               |           | not null | \n",
            " name   | text                  |           | not null | 'x'\n",
            " email  | character varying(40) |           |          | \n",
            " score  | numeric(8,2)          |           |          | \n",
            "Indexes:\n",
            "    \"t_pkey\" PRIMARY KEY, btree (id)\n",
            "    \"t_email_key\" UNIQUE CONSTRAINT, btree (email)\n",
            "    \"t_score_idx\" btree (score)\n",
            "\n",
        ),
        "{out}"
    );
    let out = describe("\\d+ t");
    assert!(out.contains(" score  | numeric(8,2)          |           |          |         | extended |"), "{out}");
    assert!(out.contains("Access method: heap"), "{out}");
    let out = describe("\\d t_pkey");
    assert!(out.contains(" id     | integer | yes  | id"), "{out}");
    assert!(out.contains("primary key, btree, for table \"public.t\""), "{out}");

    let out = describe("\\di");
    for line in [
        " public | t_email_key | index | alopex | t",
        " public | t_pkey      | index | alopex | t",
        " public | t_score_idx | index | alopex | t",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }

    let out = describe("\\dn");
    assert!(out.contains(" public | alopex"), "{out}");
    let out = describe("\\l");
    assert!(out.contains(" alopex | alopex | UTF8"), "{out}");
    let out = describe("\\d");
    assert!(out.contains(" public | t    | table | alopex"), "{out}");
    // A pattern psql turns into a regular expression.
    let out = describe("\\dt l*");
    assert!(out.contains(" public | log  | table | alopex") && !out.contains("| t "), "{out}");
    // An unknown relation: psql's own message, not an error from the server.
    let (_, out, err) = psql(&server, &["-c", "\\d nope"]);
    assert!(err.contains("Did not find any relation named \"nope\""), "{out}{err}");
}
