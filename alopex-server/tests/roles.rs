//! Roles in `pg_catalog` through psql's `\du`.
//!
//! psql 15 answers `\du` by querying `pg_catalog.pg_roles` joined with
//! `pg_auth_members`. The rows must be the users that really exist: the
//! owner, the users made with `CREATE USER`/`CREATE ROLE` (with their
//! LOGIN attribute) and the config file's `[[users]]`. A user created or
//! dropped shows in the very next `\du` of the same connection: the
//! statement text is the same each time, so a cached plan would answer
//! with the old list.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Server;

/// Runs a psql script on `server` as `user` (password from `password`);
/// returns (exit ok, stdout, stderr).
fn psql(server: &Server, user: &str, password: Option<&str>, script: &str) -> (bool, String, String) {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-w", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &server.pg_port.to_string()])
        .args(["-U", user, "-d", "alopex"])
        .env_remove("PGPASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let mut child = cmd.spawn().expect("run psql");
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script");
    let out = child.wait_with_output().expect("psql");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `\du` table rows of `out` as (name, attributes), in order.
fn du_rows(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| {
            let mut parts = l.split('|');
            let (name, attrs) = (parts.next()?.trim(), parts.next()?.trim());
            (!name.is_empty() && name != "Role name" && !name.starts_with('-')).then(|| (name.into(), attrs.into()))
        })
        .collect()
}

#[test]
fn du_lists_created_users_at_once() {
    if !common::client_available("psql") {
        return;
    }
    let server = Server::start();
    // One connection: \du, CREATE, \du, DROP, \du.
    let script = "\\du\n\\echo ====\nCREATE USER app PASSWORD 'pw';\nCREATE ROLE reader;\n\\du\n\\echo ====\n\
                  DROP ROLE reader;\n\\du\n";
    let (ok, out, err) = psql(&server, "alopex", None, script);
    assert!(ok, "{err}");
    let parts: Vec<&str> = out.split("====").collect();
    assert_eq!(parts.len(), 3, "{out}");
    let before = du_rows(parts[0]);
    assert_eq!(before.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["alopex"], "{out}");
    assert!(before[0].1.contains("Superuser"), "{out}");
    let after = du_rows(parts[1]);
    assert_eq!(after.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["alopex", "app", "reader"], "{out}");
    assert!(after[0].1.contains("Cannot login"), "the owner has no password once users exist: {out}");
    assert!(after[1].1.contains("Superuser") && !after[1].1.contains("Cannot login"), "{out}");
    assert!(after[2].1.contains("Cannot login"), "CREATE ROLE is NOLOGIN: {out}");
    let dropped = du_rows(parts[2]);
    assert_eq!(dropped.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["alopex", "app"], "{out}");

    // Another connection, now as a SCRAM user (a user exists, so auth is
    // on), sees the same; pg_user lists who can log in.
    let (ok, out, err) = psql(&server, "app", Some("pw"), "\\du\nSELECT usename FROM pg_user ORDER BY 1;\n");
    assert!(ok, "{err}");
    assert_eq!(du_rows(&out).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["alopex", "app"], "{out}");
    assert!(out.contains(" app\n(1 row)"), "pg_user lists who can log in: {out}");
}

#[test]
fn du_lists_config_file_users() {
    if !common::client_available("psql") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("alopex.toml");
    std::fs::write(&config, "[[users]]\nname = \"ops\"\npassword = \"pw-ops\"\n").expect("config");
    let server = Server::start_in(&dir.path().join("data"), &["--config", config.to_str().expect("utf-8 path")]);
    let script = "\\du\n\\echo ====\n\\a\n\\t\nSELECT rolname, rolcanlogin, rolpassword FROM pg_roles ORDER BY 1;\n";
    let (ok, out, err) = psql(&server, "ops", Some("pw-ops"), script);
    assert!(ok, "{err}");
    let (du, select) = out.split_once("====").expect("two parts");
    assert_eq!(du_rows(du).iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["alopex", "ops"], "{out}");
    assert!(select.contains("\nalopex|f|\nops|t|********\n"), "{out}");
}
