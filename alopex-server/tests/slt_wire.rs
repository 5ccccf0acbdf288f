//! SQLite's sqllogictest corpus (select1–5) over the Postgres wire protocol,
//! through `tokio-postgres`, in both protocols: the simple one (what
//! `sqllogictest-bin -e postgres` does) and the extended one
//! (`-e postgres-extended`: Parse/Bind/Execute with typed results). Each
//! file runs against a fresh `alopex serve`; the adapter is
//! `common/slt.rs`. `ALOPEX_SLT=<substring>` runs only the matching files.

mod common;
#[path = "common/slt.rs"]
mod slt;

use std::path::Path;
use std::time::Instant;

use common::Server;
use slt::corpus;

/// Runs one file against a fresh server: (passed, failed, first failures).
async fn run_file(path: &Path, extended: bool) -> (usize, usize, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_in(&dir.path().join("d"), &["--sync", "false"]);
    let result = slt::run_file_at(&server.conn_str(), path, extended).await;
    drop(server);
    drop(dir);
    result
}

async fn run_corpus(extended: bool) {
    let filter = std::env::var("ALOPEX_SLT").unwrap_or_default();
    let mode = if extended { "postgres-extended" } else { "postgres" };
    let mut all_failures = Vec::new();
    for n in 1..=5 {
        let name = format!("select{n}.test");
        if !name.contains(&filter) {
            continue;
        }
        let start = Instant::now();
        let (passed, failed, failures) = run_file(&corpus().join(&name), extended).await;
        println!(
            "slt {name} over the wire ({mode}): {passed}/{} records passed in {:.1}s",
            passed + failed,
            start.elapsed().as_secs_f64()
        );
        all_failures.extend(failures.into_iter().map(|f| format!("{name} ({mode}): {f}")));
    }
    assert!(all_failures.is_empty(), "first failures:\n{}", all_failures.join("\n\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_corpus_over_the_simple_protocol() {
    run_corpus(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_corpus_over_the_extended_protocol() {
    run_corpus(true).await;
}
