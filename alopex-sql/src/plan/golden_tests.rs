//! Golden plan tests.
//!
//! Each `testscripts/*.sql` file is a script of statements separated by
//! blank lines. Statements run against a fresh in-process database; for
//! every `EXPLAIN` the plan is written to the output, and the whole output
//! must equal the checked-in `.golden` file next to the script. A change to
//! the binder or an optimizer rule that changes a plan therefore shows up
//! in review as a diff. Regenerate with `UPDATE_GOLDEN=1 cargo test -p
//! alopex-sql golden`.

use std::fmt::Write as _;
use std::path::Path;

use crate::{Database, StatementResult};

fn run_script(path: &Path) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open_with(
        dir.path(),
        crate::DatabaseOptions::default().relaxed(std::time::Duration::from_millis(50)),
    )
    .expect("open");
    let mut session = db.session();
    let script = std::fs::read_to_string(path).expect("read script");
    let mut out = String::new();
    for stmt in script.split("\n\n").map(str::trim).filter(|s| !s.is_empty() && !s.starts_with("--")) {
        let explain = stmt.to_ascii_uppercase().starts_with("EXPLAIN");
        match session.run(stmt, &[]) {
            Ok(results) if explain => {
                let _ = writeln!(out, "{stmt}");
                for r in results {
                    if let StatementResult::Rows { rows, .. } = r {
                        for row in rows {
                            let line = crate::expr::cast::to_text(&row[0]).unwrap_or_default();
                            let _ = writeln!(out, "  {line}");
                        }
                    }
                }
                out.push('\n');
            }
            Ok(_) => {}
            Err(e) => {
                let _ = writeln!(out, "{stmt}\n  ERROR: {e}\n");
            }
        }
    }
    out
}

#[test]
fn golden_plans() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plan/testscripts");
    let mut scripts: Vec<_> = std::fs::read_dir(&root)
        .expect("testscripts")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    scripts.sort();
    assert!(!scripts.is_empty());
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut mismatches = Vec::new();
    for script in scripts {
        let actual = run_script(&script);
        let golden = script.with_extension("golden");
        if update {
            std::fs::write(&golden, &actual).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if expected != actual {
            mismatches.push(format!("{}:\n--- expected\n{expected}\n--- actual\n{actual}", script.display()));
        }
    }
    assert!(mismatches.is_empty(), "plans changed (UPDATE_GOLDEN=1 to accept):\n{}", mismatches.join("\n"));
}
