//! sqllogictest files run against the embedded database.
//!
//! The SQLite corpus (`tests/slt/sqlite/select1..5.test`) and our own files
//! (`tests/slt/alopex/*.slt`) run record by record, each file on a fresh
//! database in a temporary directory, with the `postgresql` label (the
//! corpus files set hash threshold 8 themselves). Each file prints how many records
//! passed; any failure fails the test with the first failures' details.
//!
//! `ALOPEX_SLT=<substring>` runs only the files whose name contains it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alopex_sql::{Database, DatabaseOptions, Session, StatementResult, Value};
use sqllogictest::{DBOutput, DefaultColumnType, Record, Runner};

struct AlopexDb {
    session: Session,
}

impl sqllogictest::DB for AlopexDb {
    type Error = alopex_sql::Error;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, alopex_sql::Error> {
        let results = self.session.run(sql, &[])?;
        Ok(match results.into_iter().last() {
            Some(StatementResult::Rows { columns, rows, .. }) => DBOutput::Rows {
                types: columns
                    .iter()
                    .map(|c| {
                        if c.ty.is_integer() {
                            DefaultColumnType::Integer
                        } else if c.ty.is_numeric() {
                            DefaultColumnType::FloatingPoint
                        } else {
                            DefaultColumnType::Text
                        }
                    })
                    .collect(),
                rows: rows.iter().map(|r| r.iter().map(format_value).collect()).collect(),
            },
            Some(StatementResult::Command { affected, .. }) => DBOutput::StatementComplete(affected),
            None => DBOutput::StatementComplete(0),
        })
    }
}

/// The sqllogictest text of a value: NULL as `NULL`, the empty string as
/// `(empty)`, everything else in PostgreSQL's text format (what
/// sqllogictest's PostgreSQL engine prints).
fn format_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) if s.is_empty() => "(empty)".into(),
        other => alopex_sql::expr::cast::to_text(other).unwrap_or_else(|| "NULL".into()),
    }
}

fn slt_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/slt")
}

struct FileOutcome {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
}

/// Runs one file record by record.
fn run_file(path: &Path) -> FileOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = DatabaseOptions::default().relaxed(Duration::from_millis(50));
    let db = Database::open_with(dir.path(), opts).expect("open database");
    let mut runner = Runner::new(move || {
        let db = db.clone();
        async move { Ok(AlopexDb { session: db.session() }) }
    });
    runner.add_label("postgresql");
    // The corpus files set `hash-threshold 8` themselves; ours show every value.
    runner.with_hash_threshold(0);
    let records = sqllogictest::parse_file::<DefaultColumnType>(path).expect("parse slt file");
    let mut out = FileOutcome { passed: 0, failed: 0, failures: Vec::new() };
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        let counts = matches!(record, Record::Statement { .. } | Record::Query { .. });
        match runner.run(record) {
            Ok(_) if counts => out.passed += 1,
            Ok(_) => {}
            Err(e) => {
                out.failed += 1;
                if out.failures.len() < 10 {
                    out.failures.push(e.display(false).to_string());
                }
            }
        }
    }
    out
}

fn run_and_report(file: &Path) -> Vec<String> {
    let start = Instant::now();
    let out = run_file(file);
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!(
        "slt {name}: {}/{} records passed in {:.1}s",
        out.passed,
        out.passed + out.failed,
        start.elapsed().as_secs_f64()
    );
    out.failures.into_iter().map(|f| format!("{name}: {f}")).collect()
}

fn selected(name: &str) -> bool {
    let filter = std::env::var("ALOPEX_SLT").unwrap_or_default();
    name.contains(&filter)
}

fn run_sqlite(name: &str) {
    if !selected(name) {
        return;
    }
    let failures = run_and_report(&slt_root().join("sqlite").join(format!("{name}.test")));
    assert!(failures.is_empty(), "first failures:\n{}", failures.join("\n\n"));
}

#[test]
fn sqlite_select1() {
    run_sqlite("select1");
}

#[test]
fn sqlite_select2() {
    run_sqlite("select2");
}

#[test]
fn sqlite_select3() {
    run_sqlite("select3");
}

#[test]
fn sqlite_select4() {
    run_sqlite("select4");
}

#[test]
fn sqlite_select5() {
    run_sqlite("select5");
}

/// Our own files: every feature the corpus does not cover.
#[test]
fn alopex_files() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(slt_root().join("alopex"))
        .expect("slt directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| selected(&p.to_string_lossy()))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for file in files {
        failures.extend(run_and_report(&file));
    }
    assert!(failures.is_empty(), "first failures:\n{}", failures.join("\n\n"));
}
