//! A real `alopex serve` process for integration tests: started on a free
//! loopback port over a fresh data directory, stopped with SIGTERM.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// The Postgres wire port.
    pub pg_port: u16,
    /// The HTTP port.
    pub http_port: u16,
    /// The gRPC port.
    pub grpc_port: u16,
    /// The data directory.
    pub data_dir: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Server {
    /// Starts a server over a new temporary data directory.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut s = Server::start_in(&data_dir, &[]);
        s._dir = Some(dir);
        s
    }

    /// Starts a server over `data_dir` with extra flags. The ports are
    /// picked free but may be taken by another test before the server binds
    /// them, so a server that exits before listening is started again on
    /// new ports (a few times).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Server {
        Server::start_in_env(data_dir, extra, &[])
    }

    /// Starts a server over a new temporary data directory with extra
    /// environment variables.
    pub fn start_env(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut s = Server::start_in_env(&data_dir, &[], env);
        s._dir = Some(dir);
        s
    }

    /// [`Server::start_in`] with extra environment variables.
    pub fn start_in_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut last = String::new();
        for _ in 0..5 {
            match Server::try_start_in(data_dir, extra, env) {
                Ok(server) => return server,
                Err(why) => last = why,
            }
        }
        panic!("alopex did not start: {last}");
    }

    fn try_start_in(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let pg_port = free_port();
        let http_port = free_port();
        let grpc_port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_alopex"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--pg-addr")
            .arg(format!("127.0.0.1:{pg_port}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--grpc-addr")
            .arg(format!("127.0.0.1:{grpc_port}"))
            .args(extra)
            .env("ALOPEX_LOG", "info")
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start alopex");
        // Wait for the listening line.
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("postgres wire listening")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
                if std::env::var_os("ALOPEX_TEST_LOG").is_some() {
                    eprintln!("server: {line}");
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while rx.recv_timeout(Duration::from_millis(50)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("alopex exited early: {status}"));
            }
            assert!(Instant::now() < deadline, "alopex did not start listening");
        }
        Ok(Server { child: Some(child), pg_port, http_port, grpc_port, data_dir: data_dir.to_path_buf(), _dir: None })
    }

    /// A libpq-style connection string.
    pub fn conn_str(&self) -> String {
        format!("host=127.0.0.1 port={} user=alopex dbname=alopex", self.pg_port)
    }

    /// The base URL of the REST API.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The gRPC endpoint.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Sends SIGTERM and waits; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Raw Postgres wire messages, for tests that speak the protocol by hand.
pub mod wire {
    /// A StartupMessage (protocol 3.0) for user alopex, database alopex.
    pub fn startup() -> Vec<u8> {
        let mut body = 196608i32.to_be_bytes().to_vec();
        for s in ["user", "alopex", "database", "alopex"] {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        msg
    }

    /// A simple Query message.
    pub fn query(sql: &str) -> Vec<u8> {
        let mut msg = vec![b'Q'];
        msg.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
        msg.extend_from_slice(sql.as_bytes());
        msg.push(0);
        msg
    }
}

/// Whether the client program `bin` runs (`bin --version`). When it does
/// not and clients are required (`ALOPEX_REQUIRE_CLIENTS`), fails; otherwise
/// prints why the test is skipped.
pub fn client_available(bin: &str) -> bool {
    let found = Command::new(bin).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(),
            "{bin} is required (ALOPEX_REQUIRE_CLIENTS) but not installed"
        );
        eprintln!("{bin} not installed: skipping (CI installs it)");
    }
    found
}

/// Python clients: the interpreter in `ALOPEX_PYTHON` (default `python3`),
/// which `.ci/run` points at a virtual environment holding the client
/// packages.
pub mod python {
    use std::path::Path;
    use std::process::{Command, Output};

    /// The interpreter.
    pub fn python() -> String {
        std::env::var("ALOPEX_PYTHON").unwrap_or_else(|_| "python3".into())
    }

    /// Whether `module` imports. When it does not and clients are required
    /// (`ALOPEX_REQUIRE_CLIENTS`), fails; otherwise prints why the test is
    /// skipped.
    pub fn has_module(module: &str) -> bool {
        let ok =
            Command::new(python()).args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var_os("ALOPEX_REQUIRE_CLIENTS").is_none(),
                "python module {module} is required (ALOPEX_REQUIRE_CLIENTS) but cannot be imported by {}",
                python()
            );
            eprintln!("python module {module} not installed: skipping (CI installs it)");
        }
        ok
    }

    /// Runs `tests/clients/<script>` with `args`; fails with its output
    /// unless it exits 0.
    pub fn run_script(script: &str, args: &[&str]) -> Output {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients").join(script);
        let out = Command::new(python()).arg(&path).args(args).output().expect("run python");
        assert!(
            out.status.success(),
            "{script} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}
