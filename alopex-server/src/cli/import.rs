//! `alopex import --table T FILE.csv`: load a CSV file into a table.
//!
//! ```text
//!  FILE ──csv reader──▶ records ──check (line N)──▶ CSV batch ──COPY FROM STDIN──▶ server
//!                          │                                         ▲
//!                          └── first rows ──infer──▶ CREATE TABLE ───┘ (when missing)
//! ```
//!
//! The file is read as a stream by the `csv` crate (quotes, embedded
//! delimiters and newlines, any one-byte delimiter), so memory holds one
//! batch, never the file. Rows travel through `COPY … FROM STDIN (FORMAT
//! csv)`, the bulk path the server already has (batches of rows written
//! through one planned INSERT, constraints and casts as in SQL; see
//! `pg/copy.rs`), `--batch-rows` rows
//! per COPY. By default all batches run in one transaction, so a bad row
//! leaves the table as it was (like `psql \copy`); `--commit-each-batch`
//! commits every batch instead, for files too large for one transaction,
//! and then says how many rows were committed before the failure.
//!
//! A missing table is created from the header (or `c1`, `c2`, … without
//! one; names fold to lower case, as unquoted SQL names do) with column types inferred from the first `--infer-rows` rows
//! ([`super::infer`]), or all TEXT with `--types text`. For an existing
//! table the header names its columns (in any order); without a header the
//! file's columns are the table's, in order.
//!
//! Every row is checked before it is sent: its number of fields, and its
//! values against the column types. A bad row stops the import with its
//! line number and column; errors only the server can see (NOT NULL, a
//! duplicate key) name the range of lines of their batch. Empty fields
//! load as NULL.
//!
//! A progress bar (`indicatif`, bytes read of the file, rows/s) is drawn on
//! stderr when it is a terminal; the summary (`rows`, seconds, rows/s) is
//! printed on stdout either way. Parquet is not supported: the `parquet`
//! crate would more than double the binary's build time for a format that
//! converts to CSV in one line of DuckDB or pandas.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{ArgAction, Args, ValueEnum};
use futures::SinkExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_postgres::Client;

use super::connect::{ConnectArgs, Failure, describe};
use super::infer::{Inference, Kind};

/// How a created table gets its column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Types {
    /// Inferred from the first rows.
    Infer,
    /// All TEXT.
    Text,
}

/// `alopex import`: load a CSV file into a table.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ImportArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// The table to load (created when missing).
    #[arg(short = 't', long)]
    table: String,
    /// The CSV file; `-` reads stdin.
    file: PathBuf,
    /// Whether the first line is a header: yes or no.
    #[arg(long, default_value = "yes", value_parser = yes_no, action = ArgAction::Set)]
    header: bool,
    /// The field delimiter (one character; `\t` or `tab` for tabs).
    #[arg(long, default_value = ",", value_parser = delimiter)]
    delimiter: u8,
    /// Column types of a created table.
    #[arg(long, value_enum, default_value = "infer")]
    types: Types,
    /// Rows read to infer the column types.
    #[arg(long, default_value_t = 1000)]
    infer_rows: usize,
    /// Fail when the table does not exist instead of creating it.
    #[arg(long)]
    no_create: bool,
    /// Rows per COPY.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    batch_rows: u64,
    /// Commit each batch on its own instead of the whole file at once.
    #[arg(long)]
    commit_each_batch: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "on" | "1" => Ok(true),
        "no" | "n" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("expected yes or no, got \"{s}\"")),
    }
}

fn delimiter(s: &str) -> Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => Ok(s.as_bytes()[0]),
        _ => Err(format!("the delimiter must be one ASCII character, got \"{s}\"")),
    }
}

/// `name` as a quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table name as SQL reads it: `schema.table` or `table` folded to lower
/// case like an unquoted name, or used as written when the user quoted it.
fn table_ident(name: &str) -> String {
    if name.contains('"') {
        return name.to_string();
    }
    name.split('.').map(|part| ident(&part.to_lowercase())).collect::<Vec<_>>().join(".")
}

/// Runs `alopex import`; the process exit code.
pub fn run(args: ImportArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alopex: cannot start the runtime: {e}");
            return 2;
        }
    };
    match runtime.block_on(import(&args)) {
        Ok(summary) => {
            println!("{summary}");
            0
        }
        Err(f) => {
            eprintln!("{}", f.message());
            f.exit_code()
        }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure::Statement(format!("alopex import: {}", message.into()))
}

/// The table's column names and check kinds, or None when it is missing.
async fn table_columns(client: &Client, table: &str) -> Result<Option<Vec<(String, Kind)>>, Failure> {
    match client.prepare(&format!("SELECT * FROM {table} LIMIT 0")).await {
        Ok(stmt) => Ok(Some(
            stmt.columns().iter().map(|c| (c.name().to_string(), Kind::of_pg_type(c.type_().name()))).collect(),
        )),
        Err(e) if e.code().is_some_and(|c| c.code() == "42P01") => Ok(None),
        Err(e) => Err(Failure::Statement(describe(&e))),
    }
}

/// Header names made usable as column names: trimmed, never empty, unique.
fn column_names(header: Option<&csv::StringRecord>, n: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let base = header.and_then(|h| h.get(i)).map(str::trim).filter(|s| !s.is_empty());
        let base = base.map_or_else(|| format!("c{}", i + 1), str::to_lowercase);
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        names.push(name);
    }
    names
}

async fn import(args: &ImportArgs) -> Result<String, Failure> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(&args.file).map_err(|e| fail(format!("cannot open {}: {e}", args.file.display())))?)
    };
    let total_bytes = std::fs::metadata(&args.file).map(|m| m.len()).ok().filter(|_| args.file.as_os_str() != "-");
    let mut reader =
        csv::ReaderBuilder::new().delimiter(args.delimiter).has_headers(args.header).flexible(true).from_reader(input);
    let header = if args.header {
        Some(reader.headers().map_err(|e| fail(format!("cannot read the header: {e}")))?.clone())
    } else {
        None
    };
    // The first rows: to infer types and to know the width without a header.
    let mut sample: Vec<csv::StringRecord> = Vec::new();
    let mut records = reader.records();
    while sample.len() < args.infer_rows.max(1) {
        match records.next() {
            Some(Ok(r)) => sample.push(r),
            Some(Err(e)) => return Err(csv_error(&e)),
            None => break,
        }
    }
    let width = header.as_ref().map_or_else(|| sample.first().map_or(0, |r| r.len()), |h| h.len());
    if width == 0 {
        return Err(fail(format!("{} has no columns", args.file.display())));
    }

    let client = args.connect.connect().await?;
    let table = table_ident(&args.table);
    let existing = table_columns(&client, &table).await?;
    let single = !args.commit_each_batch;
    if single {
        // A table created here is part of the all-or-nothing load too.
        client.batch_execute("BEGIN").await.map_err(|e| Failure::Statement(describe(&e)))?;
    }
    let (columns, kinds, created) = match existing {
        Some(existing) => {
            let (columns, kinds) = match_columns(&existing, header.as_ref(), width, &args.table)?;
            (columns, kinds, None)
        }
        None if args.no_create => return Err(fail(format!("table {table} does not exist"))),
        None => {
            let names = column_names(header.as_ref(), width);
            let kinds = match args.types {
                Types::Text => vec![Kind::Text; width],
                Types::Infer => {
                    let mut inference = Inference::default();
                    for r in &sample {
                        inference.observe(r.iter());
                    }
                    inference.kinds(width)
                }
            };
            let defs: Vec<String> =
                names.iter().zip(&kinds).map(|(n, k)| format!("{} {}", ident(n), k.sql())).collect();
            let create = format!("CREATE TABLE {table} ({})", defs.join(", "));
            client.batch_execute(&create).await.map_err(|e| Failure::Statement(describe(&e)))?;
            (names, kinds, Some(defs.join(", ")))
        }
    };
    let copy = format!(
        "COPY {table} ({}) FROM STDIN WITH (FORMAT csv)",
        columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ")
    );

    let progress = progress_bar(total_bytes);
    let started = Instant::now();
    let mut batch = Batch::new(args.batch_rows);
    let mut committed = 0u64;
    let mut rows = sample.into_iter().map(Ok).chain(records);
    loop {
        let next = rows.next();
        let record = match next {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => return Err(abort(&client, single, committed, csv_error(&e)).await),
            None => None,
        };
        if let Some(record) = &record {
            let line = record.position().map_or(0, |p| p.line());
            if let Err(e) = check(record, line, &columns, &kinds) {
                return Err(abort(&client, single, committed, e).await);
            }
            batch.push(record, line);
        }
        if batch.full() || (record.is_none() && !batch.is_empty()) {
            let lines = batch.lines();
            if let Err(e) = batch.send(&client, &copy).await {
                let e = fail(format!("{lines}: {}", describe(&e)));
                return Err(abort(&client, single, committed, e).await);
            }
            if !single {
                committed = batch.total;
            }
            if let Some(p) = &progress {
                p.set_position(
                    record.as_ref().and_then(|r| r.position()).map_or(p.length().unwrap_or(0), |x| x.byte()),
                );
                p.set_message(format!("{} rows", batch.total));
            }
        }
        if record.is_none() {
            break;
        }
    }
    if single {
        client.batch_execute("COMMIT").await.map_err(|e| Failure::Statement(describe(&e)))?;
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { batch.total as f64 / seconds } else { 0.0 };
    let mut summary = String::new();
    if let Some(defs) = created {
        summary.push_str(&format!("created table {table} ({defs})\n"));
    }
    summary.push_str(&format!("imported {} rows into {} in {seconds:.2} s ({rate:.0} rows/s)", batch.total, table));
    Ok(summary)
}

/// The columns to COPY into and their check kinds, for an existing table.
fn match_columns(
    existing: &[(String, Kind)],
    header: Option<&csv::StringRecord>,
    width: usize,
    table: &str,
) -> Result<(Vec<String>, Vec<Kind>), Failure> {
    if let Some(h) = header {
        let found: Option<Vec<&(String, Kind)>> =
            h.iter().map(|name| existing.iter().find(|(c, _)| c.eq_ignore_ascii_case(name.trim()))).collect();
        if let Some(found) = found {
            return Ok((found.iter().map(|(c, _)| c.clone()).collect(), found.iter().map(|(_, k)| *k).collect()));
        }
    }
    if width != existing.len() {
        return Err(fail(format!(
            "the file has {width} columns but table {table} has {} ({}); a header naming the columns maps them",
            existing.len(),
            existing.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    Ok((existing.iter().map(|(c, _)| c.clone()).collect(), existing.iter().map(|(_, k)| *k).collect()))
}

/// Checks one row: its width and its values.
fn check(record: &csv::StringRecord, line: u64, columns: &[String], kinds: &[Kind]) -> Result<(), Failure> {
    if record.len() != columns.len() {
        return Err(fail(format!("line {line}: expected {} fields, found {}", columns.len(), record.len())));
    }
    for ((value, column), kind) in record.iter().zip(columns).zip(kinds) {
        if !kind.accepts(value) {
            return Err(fail(format!(
                "line {line}, column {column}: invalid input for type {}: \"{value}\"",
                kind.sql().to_lowercase()
            )));
        }
    }
    Ok(())
}

fn csv_error(e: &csv::Error) -> Failure {
    match e.position() {
        Some(p) => fail(format!("line {}: {e}", p.line())),
        None => fail(e.to_string()),
    }
}

/// Rolls back the open transaction (all-or-nothing mode) and says what
/// stands.
async fn abort(client: &Client, single: bool, committed: u64, e: Failure) -> Failure {
    if single {
        let _ = client.batch_execute("ROLLBACK").await;
        fail(format!("{}\nnothing was imported", e.message().trim_start_matches("alopex import: ")))
    } else {
        fail(format!(
            "{}\n{committed} rows were imported before the failure",
            e.message().trim_start_matches("alopex import: ")
        ))
    }
}

fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// Rows waiting to be sent, re-encoded as CSV.
struct Batch {
    writer: csv::Writer<Vec<u8>>,
    rows: u64,
    max: u64,
    first_line: u64,
    last_line: u64,
    /// Rows sent so far in all batches.
    total: u64,
}

impl Batch {
    fn new(max: u64) -> Batch {
        Batch { writer: csv::Writer::from_writer(Vec::new()), rows: 0, max, first_line: 0, last_line: 0, total: 0 }
    }

    fn push(&mut self, record: &csv::StringRecord, line: u64) {
        if self.rows == 0 {
            self.first_line = line;
        }
        self.last_line = line;
        // Writing to a Vec cannot fail.
        let _ = self.writer.write_record(record);
        self.rows += 1;
    }

    fn full(&self) -> bool {
        self.rows >= self.max
    }

    fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn lines(&self) -> String {
        if self.first_line == self.last_line {
            format!("line {}", self.first_line)
        } else {
            format!("lines {}-{}", self.first_line, self.last_line)
        }
    }

    /// Sends the rows with one COPY and starts a new batch.
    async fn send(&mut self, client: &Client, copy: &str) -> Result<(), tokio_postgres::Error> {
        let writer = std::mem::replace(&mut self.writer, csv::Writer::from_writer(Vec::new()));
        let data = writer.into_inner().unwrap_or_default();
        let sink = client.copy_in::<_, Bytes>(copy).await?;
        futures::pin_mut!(sink);
        sink.send(Bytes::from(data)).await?;
        let n = sink.finish().await?;
        self.total += n;
        self.rows = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_flags_and_column_matching() {
        let h = csv::StringRecord::from(vec!["Id", " ", "id"]);
        assert_eq!(column_names(Some(&h), 3), ["id", "c2", "id_2"]);
        assert_eq!(column_names(None, 2), ["c1", "c2"]);
        assert_eq!(table_ident("S.t"), "\"s\".\"t\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(delimiter("tab"), Ok(b'\t'));
        assert!(delimiter(";;").is_err());
        assert_eq!(yes_no("No"), Ok(false));
        let existing = vec![("a".to_string(), Kind::Integer), ("b".to_string(), Kind::Text)];
        let h = csv::StringRecord::from(vec!["B", "a"]);
        let (cols, kinds) = match_columns(&existing, Some(&h), 2, "t").unwrap();
        assert_eq!((cols, kinds), (vec!["b".to_string(), "a".to_string()], vec![Kind::Text, Kind::Integer]));
        assert!(match_columns(&existing, None, 3, "t").is_err());
    }
}
