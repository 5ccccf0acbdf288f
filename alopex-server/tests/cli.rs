//! `alopex sql` and `alopex import`, run as the built binary against a real
//! `alopex serve`: what they print, their exit codes, and what ends up in
//! the database (checked with tokio-postgres, independently of the CLI).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use tokio_postgres::NoTls;

/// Runs `alopex ARGS` with `stdin`; (exit code, stdout, stderr).
fn alopex(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .args(args)
        .env_remove("ALOPEX_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run alopex");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    let Output { status, stdout, stderr } = child.wait_with_output().expect("wait");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `alopex sql -p PORT EXTRA…` with `stdin`.
fn sql(server: &Server, extra: &[&str], stdin: &str) -> (i32, String, String) {
    let port = server.pg_port.to_string();
    let mut args = vec!["sql", "-p", &port];
    args.extend_from_slice(extra);
    alopex(&args, stdin)
}

/// `alopex import -p PORT EXTRA…`.
fn import(server: &Server, extra: &[&str]) -> (i32, String, String) {
    let port = server.pg_port.to_string();
    let mut args = vec!["import", "-p", &port];
    args.extend_from_slice(extra);
    alopex(&args, "")
}

/// Rows of `query` as text, via tokio-postgres.
fn rows(server: &Server, query: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&server.conn_str(), NoTls).await.unwrap();
        tokio::spawn(conn);
        let mut out = Vec::new();
        for m in client.simple_query(query).await.unwrap() {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                out.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
            }
        }
        out
    })
}

fn texts(rows: &[&[&str]]) -> Vec<Vec<Option<String>>> {
    rows.iter().map(|r| r.iter().map(|v| (!v.is_empty()).then(|| v.to_string())).collect()).collect()
}

#[test]
fn sql_c_prints_psql_tables_and_command_tags() {
    let server = Server::start();
    let (code, out, err) = sql(
        &server,
        &[
            "-c",
            "CREATE TABLE people (id INT PRIMARY KEY, name TEXT, score FLOAT8)",
            "-c",
            "INSERT INTO people VALUES (1, 'ann', 9.5), (22, 'bobby', NULL)",
            "-c",
            "SELECT * FROM people ORDER BY id; SELECT name FROM people WHERE id = 1",
            "-c",
            "UPDATE people SET score = 1 WHERE id = 22",
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "CREATE TABLE\n\
         INSERT 0 2\n \
         id | name  | score\n\
         ----+-------+-------\n  \
         1 | ann   |   9.5\n \
         22 | bobby |\n\
         (2 rows)\n\n \
         name\n\
         ------\n \
         ann\n\
         (1 row)\n\n\
         UPDATE 1\n"
    );
    // \timing and \dt from -c.
    let (code, out, _) = sql(&server, &["--timing", "-c", "SELECT 1 AS one", "-c", "\\dt"], "");
    assert_eq!(code, 0);
    assert!(out.contains("Time: "), "{out}");
    assert!(out.contains("List of relations") && out.contains(" public | people | table"), "{out}");
}

#[test]
fn sql_errors_carry_the_sqlstate_and_set_the_exit_code() {
    let server = Server::start();
    let (code, out, err) = sql(&server, &["-c", "SELECT * FROM nope"], "");
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(err.trim(), "ERROR:  42P01: relation \"nope\" does not exist");
    let (code, _, err) = sql(&server, &["-c", "\\nonsense"], "");
    assert_eq!(code, 1);
    assert!(err.contains("invalid command \\nonsense"), "{err}");
    // No server there: exit 2 and why.
    let closed = common::free_port().to_string();
    let (code, _, err) = alopex(&["sql", "-p", &closed, "-c", "SELECT 1"], "");
    assert_eq!(code, 2);
    assert!(err.contains("cannot connect to 127.0.0.1:") && err.contains("refused"), "{err}");
    // A URL works as well as flags.
    let url = format!("postgres://alopex@127.0.0.1:{}/alopex", server.pg_port);
    let (code, out, _) = alopex(&["sql", "--url", &url, "-c", "SELECT 40 + 2 AS answer"], "");
    assert_eq!((code, out.as_str()), (0, " answer\n--------\n     42\n(1 row)\n\n"));
}

#[test]
fn piped_scripts_run_statement_by_statement_and_stop_at_the_first_error() {
    let server = Server::start();
    let script = "CREATE TABLE t (id INT PRIMARY KEY, note TEXT);\n\
                  -- a comment; with a semicolon\n\
                  INSERT INTO t VALUES\n  (1, 'semi;colon'),\n  (2, 'it''s');\n\
                  \\d t\n\
                  SELECT note FROM t ORDER BY id;\n\
                  SELECT 1/0;\n\
                  INSERT INTO t VALUES (3, 'after the error');\n";
    let (code, out, err) = sql(&server, &[], script);
    assert_eq!(code, 1, "{out}");
    assert_eq!(err.trim(), "ERROR:  22012: division by zero");
    assert!(out.starts_with("CREATE TABLE\nINSERT 0 2\n"), "{out}");
    assert!(out.contains("Table \"t\"") && out.contains(" id     | integer | not null"), "{out}");
    assert!(out.contains(" semi;colon\n it's\n(2 rows)"), "{out}");
    assert_eq!(rows(&server, "SELECT count(*) FROM t"), texts(&[&["2"]]));

    // --continue-on-error runs the rest, and still exits 1.
    let (code, _, _) = sql(&server, &["--continue-on-error"], script.split_once('\n').unwrap().1);
    assert_eq!(code, 1);
    assert_eq!(rows(&server, "SELECT note FROM t WHERE id = 3"), texts(&[&["after the error"]]));

    // -f FILE, and a last statement without a semicolon.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sql");
    std::fs::write(&file, "SELECT count(*) AS n\nFROM t").unwrap();
    let (code, out, _) = sql(&server, &["-f", file.to_str().unwrap()], "");
    assert_eq!((code, out.as_str()), (0, " n\n---\n 3\n(1 row)\n\n"));
}

#[test]
fn ctrl_c_in_alopex_sql_cancels_the_statement() {
    let server = Server::start();
    let (code, _, err) = sql(
        &server,
        &["-c", "CREATE TABLE d (x INT PRIMARY KEY); INSERT INTO d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)"],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let child = Command::new(env!("CARGO_BIN_EXE_alopex"))
        .args(["sql", "-p", &server.pg_port.to_string()])
        .args(["-c", "SELECT count(*) FROM d a, d b, d c, d e, d f, d g, d h, d i, d j, d k"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let sent = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(sent.elapsed() < Duration::from_secs(10));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("57014: canceling statement due to user request"), "{err}");
}

#[test]
fn import_creates_a_typed_table_and_loads_every_row() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    let mut text = String::from("id,Name,score,joined,active,zip\n");
    text.push_str("1,ann,9.5,2024-01-02,true,007\n2,\"bob, jr\",,2024-02-03,false,12345\n");
    text.push_str("3,\"two\nlines\",1e3,,true,\n");
    for i in 4..=2500 {
        text.push_str(&format!("{i},p{i},{}.5,2024-03-04,false,{i:05}\n", i % 7));
    }
    std::fs::write(&csv, text).unwrap();
    let (code, out, err) = import(&server, &["--table", "People", csv.to_str().unwrap(), "--batch-rows", "1000"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created table \"people\" (\"id\" BIGINT, \"name\" TEXT, \"score\" DOUBLE PRECISION, \"joined\" DATE, \"active\" BOOLEAN, \"zip\" TEXT)"), "{out}");
    assert!(out.contains("imported 2500 rows into \"people\" in ") && out.contains(" rows/s)"), "{out}");
    assert_eq!(
        rows(&server, "SELECT id, name, score, joined, active, zip FROM people WHERE id <= 3 ORDER BY id"),
        vec![
            texts(&[&["1", "ann", "9.5", "2024-01-02", "t", "007"]])[0].clone(),
            vec![
                Some("2".into()),
                Some("bob, jr".into()),
                None,
                Some("2024-02-03".into()),
                Some("f".into()),
                Some("12345".into())
            ],
            vec![Some("3".into()), Some("two\nlines".into()), Some("1000".into()), None, Some("t".into()), None],
        ]
    );
    assert_eq!(rows(&server, "SELECT count(*), sum(id) FROM people"), texts(&[&["2500", "3126250"]]));

    // Into the existing table: the header maps columns in any order.
    let more = dir.path().join("more.csv");
    std::fs::write(&more, "zip,id,name\n99999,9001,late\n").unwrap();
    let (code, out, err) = import(&server, &["-t", "people", more.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("created table"), "{out}");
    assert_eq!(rows(&server, "SELECT name, zip, score FROM people WHERE id = 9001"), texts(&[&["late", "99999", ""]]));

    // No header, another delimiter, all-TEXT columns.
    let semi = dir.path().join("semi.txt");
    std::fs::write(&semi, "5;x\n6;y\n").unwrap();
    let (code, _, err) = import(
        &server,
        &["-t", "semi", "--header", "no", "--delimiter", ";", "--types", "text", semi.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows(&server, "SELECT c1 || c2 FROM semi ORDER BY c1"), texts(&[&["5x"], &["6y"]]));
}

#[test]
fn import_reports_bad_rows_by_line_and_loads_nothing() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "a,b\n1,x\n2,y\n3\n4,z\n").unwrap();
    let (code, _, err) = import(&server, &["-t", "bad", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 4: expected 2 fields, found 1"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    // Not even the table: it was created in the load's transaction.
    let (_, _, err) = sql(&server, &["-c", "SELECT * FROM bad"], "");
    assert!(err.contains("42P01"), "{err}");

    // A value the column's type refuses, in an existing table.
    assert_eq!(sql(&server, &["-c", "CREATE TABLE bad (a BIGINT PRIMARY KEY, b TEXT)"], "").0, 0);
    std::fs::write(&csv, "a,b\n1,x\n2,y\n").unwrap();
    assert_eq!(import(&server, &["-t", "bad", csv.to_str().unwrap()]).0, 0);
    std::fs::write(&csv, "a,b\n3,x\nfour,y\n").unwrap();
    let (code, _, err) = import(&server, &["-t", "bad", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("line 3, column a: invalid input for type bigint: \"four\""), "{err}");
    // A duplicate key only the server sees: the batch's lines are named.
    std::fs::write(&csv, "a,b\n7,x\n1,dup\n").unwrap();
    let (code, _, err) = import(&server, &["-t", "bad", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("lines 2-3: ERROR:  23505"), "{err}");
    assert_eq!(rows(&server, "SELECT a FROM bad ORDER BY a"), texts(&[&["1"], &["2"]]));

    // With --commit-each-batch the batches before the bad one stay.
    std::fs::write(&csv, "a,b\n10,x\n11,y\n12,z\n1,dup\n").unwrap();
    let (code, _, err) =
        import(&server, &["-t", "bad", "--batch-rows", "2", "--commit-each-batch", csv.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("2 rows were imported before the failure"), "{err}");
    assert_eq!(rows(&server, "SELECT count(*) FROM bad"), texts(&[&["4"]]));
}

/// The interactive shell on a real terminal: `script` gives it a pty, and
/// each line is typed only once its prompt is on the screen (a line typed
/// ahead would be discarded when the editor switches the terminal to raw
/// mode, as on a real terminal).
#[test]
fn interactive_shell_continues_statements_and_keeps_history() {
    let found = Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(), "script (util-linux) is required");
        eprintln!("script (util-linux) not installed: skipping");
        return;
    }
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let command = format!("{} sql -p {}", env!("CARGO_BIN_EXE_alopex"), server.pg_port);
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("ALOPEX_HISTORY", &history)
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut screen = String::new();
    let prompts = |s: &str| s.matches("alopex=> ").count() + s.matches("alopex-> ").count();
    let deadline = Instant::now() + Duration::from_secs(30);
    for (sent, line) in ["SELECT 6 * 7 AS answer,", "'x' AS more;", "\\timing", "\\q"].iter().enumerate() {
        while prompts(&screen) <= sent {
            assert!(Instant::now() < deadline, "no prompt; screen so far:\n{screen}");
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                screen.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
    }
    let status = child.wait().unwrap();
    while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(200)) {
        screen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(status.success(), "{screen}");
    assert!(screen.contains("alopex-> "), "a continuation prompt: {screen}");
    assert!(screen.contains(" answer | more") && screen.contains("     42 | x"), "{screen}");
    assert!(screen.contains("Timing is on."), "{screen}");
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("SELECT 6 * 7 AS answer,") && saved.contains("\\\\timing"), "{saved}");
}
