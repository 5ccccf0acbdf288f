//! Golden-file tests of transaction isolation.
//!
//! Each `testscripts/*.script` file drives named transactions step by step;
//! the runner prints every command with its result, and the output must
//! match the `.golden` file beside it. Run with `UPDATE_GOLDEN=1` to rewrite
//! the golden files, and review the diff.
//!
//! Commands, one per line (`#` starts a comment):
//!
//! ```text
//! put KEY VALUE | delete KEY        autocommitted write
//! T: begin [serializable]           T names a transaction
//! T: get KEY | put KEY VALUE | delete KEY
//! T: scan START END                 [START, END); "-" for unbounded
//! T: delete_range START END
//! T: commit | rollback
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::clock::{HybridClock, ManualClock};
use crate::engine::Engine;
use crate::error::Error;
use crate::options::Options;
use crate::txn::{IsolationLevel, Transaction};

fn bound(s: &str, end: bool) -> Bound<Bytes> {
    match (s, end) {
        ("-", _) => Bound::Unbounded,
        (s, false) => Bound::Included(Bytes::copy_from_slice(s.as_bytes())),
        (s, true) => Bound::Excluded(Bytes::copy_from_slice(s.as_bytes())),
    }
}

fn show(v: Option<Bytes>) -> String {
    v.map_or_else(|| "None".to_string(), |v| format!("{:?}", String::from_utf8_lossy(&v)))
}

fn result<T>(r: Result<T, Error>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(Error::Conflict(_)) => "Error: conflict".to_string(),
        Err(e) => format!("Error: {e}"),
    }
}

fn run_script(script: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options {
        clock: Arc::new(HybridClock::new(ManualClock::new(1))),
        background_threads: false,
        ..Options::small_for_tests()
    };
    let engine = Engine::open(dir.path(), opts).expect("open");
    let mut txns: HashMap<String, Transaction> = HashMap::new();
    let mut out = String::new();
    for line in script.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            let _ = writeln!(out, "{line}");
            continue;
        }
        let (name, cmd) = match line.split_once(": ") {
            Some((n, c)) => (Some(n.to_string()), c),
            None => (None, line),
        };
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let res = match (name, args.as_slice()) {
            (None, ["put", k, v]) => result(engine.put(k.to_string(), v.to_string()), |_| "ok".into()),
            (None, ["delete", k]) => result(engine.delete(k.to_string()), |_| "ok".into()),
            (Some(t), ["begin", rest @ ..]) => {
                let iso = if rest.contains(&"serializable") {
                    IsolationLevel::Serializable
                } else {
                    IsolationLevel::Snapshot
                };
                txns.insert(t, engine.begin(iso));
                "ok".into()
            }
            (Some(t), cmd) => {
                let Some(txn) = txns.get_mut(&t) else { panic!("unknown transaction {t}") };
                match cmd {
                    ["get", k] => result(txn.get(k.as_bytes()), show),
                    ["put", k, v] => result(txn.put(k.to_string(), v.to_string()), |_| "ok".into()),
                    ["delete", k] => result(txn.delete(k.to_string()), |_| "ok".into()),
                    ["scan", s, e] => result(txn.scan((bound(s, false), bound(e, true)), false, 0), |rows| {
                        let rows: Vec<String> = rows
                            .into_iter()
                            .map(|(k, v)| format!("{}={}", String::from_utf8_lossy(&k), String::from_utf8_lossy(&v)))
                            .collect();
                        format!("[{}]", rows.join(", "))
                    }),
                    ["delete_range", s, e] => {
                        result(txn.delete_range((bound(s, false), bound(e, true))), |_| "ok".into())
                    }
                    ["commit"] => result(txn.commit(), |_| "ok".into()),
                    ["rollback"] => result(txn.rollback(), |_| "ok".into()),
                    other => panic!("bad command {other:?}"),
                }
            }
            (None, other) => panic!("bad command {other:?}"),
        };
        let _ = writeln!(out, "{line} → {res}");
    }
    out
}

#[test]
fn golden_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/txn/testscripts");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("testscripts dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "script"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no scripts found in {}", dir.display());
    let mut failures = Vec::new();
    for script_path in names {
        let script = std::fs::read_to_string(&script_path).expect("read script");
        let output = run_script(&script);
        let golden_path = script_path.with_extension("golden");
        if update {
            std::fs::write(&golden_path, &output).expect("write golden");
            continue;
        }
        let golden = std::fs::read_to_string(&golden_path).unwrap_or_default();
        if golden != output {
            failures.push(format!("{}:\n--- expected\n{golden}\n--- actual\n{output}", script_path.display()));
        }
    }
    assert!(failures.is_empty(), "golden mismatch (UPDATE_GOLDEN=1 to accept):\n{}", failures.join("\n"));
}
