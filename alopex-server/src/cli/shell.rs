//! `alopex sql`: a small psql for Alopex.
//!
//! Three ways in, one way through:
//!
//! - `-c SQL` (repeatable) runs its commands and exits;
//! - `-f FILE`, or a script piped on stdin, runs the script;
//! - a terminal on stdin starts an interactive session: line editing and
//!   persistent history (`rustyline`, history in `~/.alopex_history` or
//!   `$ALOPEX_HISTORY`), a statement continues over lines until its `;`
//!   (`alopex=>` prompts for a new statement, `alopex->` for a continued
//!   one), Ctrl-C clears the line, Ctrl-D or `\q` quits.
//!
//! All of them feed lines to the same [`StatementBuffer`] and run each
//! statement on its own with the simple query protocol, so every result is
//! printed (as a psql table with a `(N rows)` footer, or a command tag)
//! before the next statement starts. Backslash commands: `\q`, `\dt`
//! (tables, from `information_schema.tables`), `\d TABLE` (columns, from
//! `information_schema.columns`), `\timing [on|off]` and `\?`.
//!
//! Errors go to stderr as `ERROR:  SQLSTATE: message`. A script stops at
//! the first error and exits 1 (psql's `ON_ERROR_STOP=1`, the safe default
//! for scripts) unless `--continue-on-error`; interactive sessions carry on.
//! Ctrl-C while a statement runs sends a CancelRequest on a second
//! connection, as psql does, and the statement ends with 57014.
//!
//! `COPY … TO STDOUT` is streamed to stdout; `COPY … FROM STDIN` is refused
//! with a pointer to `alopex import` (the shell has no inline data mode).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{ArgAction, Args};
use futures::{StreamExt, TryStreamExt};
use rustyline::error::ReadlineError;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::connect::{ConnectArgs, Failure, describe};
use super::split::StatementBuffer;
use super::table::ResultTable;

/// `alopex sql`: run SQL against a server.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct SqlArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Run this command (SQL or a backslash command) and exit; repeatable.
    #[arg(short = 'c', long = "command")]
    commands: Vec<String>,
    /// Run the script in FILE and exit.
    #[arg(short = 'f', long)]
    file: Option<PathBuf>,
    /// Print how long each statement took.
    #[arg(long)]
    timing: bool,
    /// In a script, go on after a failed statement (exit code still 1).
    #[arg(long)]
    continue_on_error: bool,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// What to do after a command.
enum Flow {
    Continue,
    Quit,
}

/// A connected session and its settings.
struct Shell {
    client: Client,
    timing: bool,
}

/// Runs `alopex sql`; the process exit code.
pub fn run(args: SqlArgs) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("alopex: cannot start the runtime: {e}");
            return 2;
        }
    };
    let client = match runtime.block_on(args.connect.connect()) {
        Ok(c) => c,
        Err(f) => {
            eprintln!("{}", f.message());
            return f.exit_code();
        }
    };
    let mut shell = Shell { client, timing: args.timing };
    let stop = !args.continue_on_error;
    if !args.commands.is_empty() {
        let mut failed = false;
        for command in &args.commands {
            match runtime.block_on(shell.script(command.lines().map(str::to_string), stop)) {
                Ok(ok) => failed |= !ok,
                Err(()) => return 1,
            }
            if failed && stop {
                return 1;
            }
        }
        return u8::from(failed);
    }
    if let Some(path) = &args.file {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("alopex: cannot read {}: {e}", path.display());
                return 1;
            }
        };
        return script_exit(runtime.block_on(shell.script(text.lines().map(str::to_string), stop)));
    }
    if !std::io::stdin().is_terminal() {
        let lines = std::io::stdin().lock().lines().map_while(Result::ok).collect::<Vec<_>>();
        return script_exit(runtime.block_on(shell.script(lines.into_iter(), stop)));
    }
    interactive(&runtime, &mut shell, &args.connect.dbname)
}

fn script_exit(result: Result<bool, ()>) -> u8 {
    match result {
        Ok(true) => 0,
        _ => 1,
    }
}

/// The interactive loop.
fn interactive(runtime: &tokio::runtime::Runtime, shell: &mut Shell, dbname: &str) -> u8 {
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("alopex: cannot start line editing: {e}");
            return 2;
        }
    };
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("alopex sql {} — type \\? for help, \\q to quit.", env!("CARGO_PKG_VERSION"));
    let mut buffer = StatementBuffer::new();
    let mut pending: Vec<String> = Vec::new();
    loop {
        let prompt = if buffer.is_blank() { format!("{dbname}=> ") } else { format!("{dbname}-> ") };
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("alopex: {e}");
                break;
            }
        };
        if buffer.is_blank() && line.trim_start().starts_with('\\') {
            let _ = editor.add_history_entry(line.trim());
            match runtime.block_on(shell.backslash(line.trim())) {
                Ok(Flow::Quit) => break,
                Ok(Flow::Continue) => {}
                Err(e) => eprintln!("{}", e.message()),
            }
            continue;
        }
        pending.push(line.clone());
        for statement in buffer.push_line(&line) {
            if let Err(e) = runtime.block_on(shell.statement(&statement)) {
                eprintln!("{}", e.message());
            }
        }
        if buffer.is_blank() && !pending.is_empty() {
            let entry = pending.join("\n");
            if !entry.trim().is_empty() {
                let _ = editor.add_history_entry(entry.trim());
            }
            pending.clear();
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    0
}

/// `$ALOPEX_HISTORY`, else `~/.alopex_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ALOPEX_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".alopex_history"))
}

impl Shell {
    /// Runs a script's lines. `Ok(true)` when every statement succeeded,
    /// `Ok(false)` when some failed, `Err(())` on `\q`.
    async fn script(&mut self, lines: impl Iterator<Item = String>, stop_on_error: bool) -> Result<bool, ()> {
        let mut buffer = StatementBuffer::new();
        let mut ok = true;
        for line in lines {
            let results = if buffer.is_blank() && line.trim_start().starts_with('\\') {
                match self.backslash(line.trim()).await {
                    Ok(Flow::Quit) => return if ok { Ok(true) } else { Err(()) },
                    Ok(Flow::Continue) => vec![Ok(())],
                    Err(e) => vec![Err(e)],
                }
            } else {
                let mut results = Vec::new();
                for statement in buffer.push_line(&line) {
                    let r = self.statement(&statement).await;
                    let failed = r.is_err();
                    results.push(r);
                    if failed && stop_on_error {
                        break;
                    }
                }
                results
            };
            for r in results {
                if let Err(e) = r {
                    eprintln!("{}", e.message());
                    ok = false;
                    if stop_on_error {
                        return Ok(false);
                    }
                }
            }
        }
        if let Some(statement) = buffer.finish()
            && let Err(e) = self.statement(&statement).await
        {
            eprintln!("{}", e.message());
            ok = false;
        }
        Ok(ok)
    }

    /// Runs one statement and prints its result; Ctrl-C cancels it.
    async fn statement(&mut self, sql: &str) -> Result<(), Failure> {
        let started = Instant::now();
        let token = self.client.cancel_token();
        let work = self.execute(sql);
        tokio::pin!(work);
        let result = tokio::select! {
            r = &mut work => r,
            _ = tokio::signal::ctrl_c() => {
                if let Err(e) = token.cancel_query(NoTls).await {
                    eprintln!("alopex: could not send the cancel request: {e}");
                }
                work.await
            }
        };
        if self.timing {
            println!("Time: {:.3} ms", started.elapsed().as_secs_f64() * 1000.0);
        }
        result
    }

    /// Sends `sql` and prints what comes back.
    async fn execute(&self, sql: &str) -> Result<(), Failure> {
        match copy_direction(sql) {
            Some(Copy::In) => {
                return Err(Failure::Statement(
                    "alopex: COPY FROM STDIN is not supported by alopex sql; use `alopex import` (or psql)".into(),
                ));
            }
            Some(Copy::Out) => {
                let stream = self.client.copy_out(sql).await.map_err(statement_error)?;
                tokio::pin!(stream);
                let mut out = std::io::stdout().lock();
                while let Some(chunk) = stream.try_next().await.map_err(statement_error)? {
                    let _ = out.write_all(&chunk);
                }
                return Ok(());
            }
            None => {}
        }
        let numeric = self.numeric_columns(sql).await;
        let stream = self.client.simple_query_raw(sql).await.map_err(statement_error)?;
        tokio::pin!(stream);
        let mut table: Option<ResultTable> = None;
        let mut out = String::new();
        while let Some(message) = stream.next().await {
            match message.map_err(statement_error)? {
                SimpleQueryMessage::RowDescription(columns) => {
                    table = Some(ResultTable {
                        columns: columns.iter().map(|c| c.name().to_string()).collect(),
                        rows: Vec::new(),
                        numeric: numeric.clone().filter(|n| n.len() == columns.len()),
                    });
                }
                SimpleQueryMessage::Row(row) => {
                    if let Some(t) = table.as_mut() {
                        t.rows.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
                    }
                }
                SimpleQueryMessage::CommandComplete(n) => match table.take() {
                    Some(t) => {
                        out.push_str(&t.render());
                        out.push('\n');
                    }
                    None => {
                        out.push_str(&command_tag(sql, n));
                        out.push('\n');
                    }
                },
                _ => {}
            }
        }
        print!("{out}");
        let _ = std::io::stdout().flush();
        Ok(())
    }

    /// Which result columns of a query are numeric (right-aligned), from
    /// Describe; None for other statements or when it cannot tell.
    async fn numeric_columns(&self, sql: &str) -> Option<Vec<bool>> {
        let first = first_word(sql).to_ascii_uppercase();
        if !matches!(first.as_str(), "SELECT" | "WITH" | "VALUES" | "TABLE" | "SHOW") {
            return None;
        }
        let statement = self.client.prepare(sql).await.ok()?;
        Some(statement.columns().iter().map(|c| is_numeric_type(c.type_())).collect())
    }

    /// A backslash command.
    async fn backslash(&mut self, line: &str) -> Result<Flow, Failure> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let arg = words.next();
        match command {
            "\\q" | "\\quit" => return Ok(Flow::Quit),
            "\\timing" => {
                self.timing = match arg {
                    Some("on") => true,
                    Some("off") => false,
                    None => !self.timing,
                    Some(other) => {
                        return Err(Failure::Statement(format!(
                            "\\timing: unrecognized value \"{other}\": on or off expected"
                        )));
                    }
                };
                println!("Timing is {}.", if self.timing { "on" } else { "off" });
            }
            "\\dt" => {
                let sql = "SELECT table_schema AS \"Schema\", table_name AS \"Name\", 'table' AS \"Type\" \
                           FROM information_schema.tables \
                           WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                           AND table_type = 'BASE TABLE' ORDER BY 1, 2";
                let t = self.table(sql, &[]).await?;
                if t.rows.is_empty() {
                    println!("Did not find any relations.");
                } else {
                    println!("{}", titled("List of relations", &t.render()));
                }
            }
            "\\d" => {
                let Some(name) = arg else {
                    return Box::pin(self.backslash("\\dt")).await;
                };
                let name = name.trim_matches('"');
                let sql = "SELECT column_name AS \"Column\", data_type AS \"Type\", \
                           CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE '' END AS \"Nullable\" \
                           FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position";
                let t = self.table(sql, &[&name]).await?;
                if t.rows.is_empty() {
                    return Err(Failure::Statement(format!("Did not find any relation named \"{name}\".")));
                }
                println!("{}", titled(&format!("Table \"{name}\""), &t.render()));
            }
            "\\?" | "\\h" | "\\help" => print!("{HELP}"),
            other => {
                return Err(Failure::Statement(format!("invalid command {other}\nTry \\? for help.")));
            }
        }
        Ok(Flow::Continue)
    }

    /// The rows of a catalog query, as a table.
    async fn table(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<ResultTable, Failure> {
        let statement = self.client.prepare(sql).await.map_err(statement_error)?;
        let rows = self.client.query(&statement, params).await.map_err(statement_error)?;
        let columns = statement.columns().iter().map(|c| c.name().to_string()).collect();
        let numeric = Some(statement.columns().iter().map(|c| is_numeric_type(c.type_())).collect());
        let rows = rows
            .iter()
            .map(|r| (0..r.len()).map(|i| r.try_get::<_, Option<String>>(i).ok().flatten()).collect())
            .collect();
        Ok(ResultTable { columns, rows, numeric })
    }
}

const HELP: &str = "\
  \\q              quit
  \\dt             list tables
  \\d TABLE        describe a table's columns
  \\timing [on|off] show how long each statement takes
  \\?              this help
SQL statements end with a semicolon and may span lines.
Ctrl-C cancels the running statement (or clears the line at the prompt).
";

fn is_numeric_type(ty: &tokio_postgres::types::Type) -> bool {
    use tokio_postgres::types::Type;
    [Type::INT2, Type::INT4, Type::INT8, Type::FLOAT4, Type::FLOAT8, Type::NUMERIC, Type::OID, Type::MONEY].contains(ty)
}

fn statement_error(e: tokio_postgres::Error) -> Failure {
    Failure::Statement(describe(&e))
}

/// `title` centred over the first line of `table`.
fn titled(title: &str, table: &str) -> String {
    let width = table.lines().nth(1).map_or(0, |l| l.chars().count());
    let indent = width.saturating_sub(title.chars().count()) / 2;
    format!("{}{title}\n{table}", " ".repeat(indent))
}

/// Which way a COPY statement moves data through the client, if it does.
#[derive(Debug, PartialEq)]
enum Copy {
    In,
    Out,
}

fn copy_direction(sql: &str) -> Option<Copy> {
    let upper = sql.to_ascii_uppercase();
    if first_word(&upper) != "COPY" {
        return None;
    }
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').collect();
    if words.contains(&"STDIN") {
        Some(Copy::In)
    } else if words.contains(&"STDOUT") {
        Some(Copy::Out)
    } else {
        None
    }
}

/// The first word of a statement, after comments and parentheses.
fn first_word(sql: &str) -> &str {
    strip_comments(sql)
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
}

/// `sql` without its leading comments.
fn strip_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--") {
            sql = rest.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, r)| r);
        } else {
            return sql;
        }
    }
}

/// The command tag PostgreSQL would send for `sql` (the simple query
/// protocol's client API reports only the row count).
fn command_tag(sql: &str, n: u64) -> String {
    let upper = strip_comments(sql).to_ascii_uppercase();
    let words: Vec<&str> =
        upper.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').filter(|w| !w.is_empty()).take(6).collect();
    let first = words.first().copied().unwrap_or("");
    match first {
        "INSERT" => format!("INSERT 0 {n}"),
        "UPDATE" | "DELETE" | "SELECT" | "COPY" | "MERGE" | "FETCH" | "MOVE" => format!("{first} {n}"),
        "CREATE" | "DROP" | "ALTER" => {
            let skip = ["UNIQUE", "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "MATERIALIZED"];
            let object = words.iter().skip(1).find(|w| !skip.contains(w)).copied().unwrap_or("");
            format!("{first} {object}").trim_end().to_string()
        }
        "START" => "START TRANSACTION".into(),
        "END" => "COMMIT".into(),
        "ABORT" => "ROLLBACK".into(),
        "TRUNCATE" => "TRUNCATE TABLE".into(),
        "WITH" => format!("SELECT {n}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_copy_directions() {
        assert_eq!(command_tag("insert into t values (1)", 1), "INSERT 0 1");
        assert_eq!(command_tag("-- c\nUPDATE t SET a = 1", 3), "UPDATE 3");
        assert_eq!(command_tag("CREATE UNIQUE INDEX i ON t (a)", 0), "CREATE INDEX");
        assert_eq!(command_tag("create table t (a int)", 0), "CREATE TABLE");
        assert_eq!(command_tag("begin", 0), "BEGIN");
        assert_eq!(copy_direction("copy t from stdin"), Some(Copy::In));
        assert_eq!(copy_direction("COPY (SELECT 1) TO STDOUT WITH (FORMAT csv)"), Some(Copy::Out));
        assert_eq!(copy_direction("SELECT 'copy from stdin'"), None);
    }
}
