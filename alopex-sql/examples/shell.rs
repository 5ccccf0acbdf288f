//! A minimal interactive SQL shell over the embedded database.
//!
//! `cargo run --release -p alopex-sql --example shell [data-dir]` opens (or
//! creates) `./alopex-data` and reads SQL from standard input: statements end
//! with `;`, results print as aligned tables with PostgreSQL's text format,
//! errors print with their SQLSTATE. `\q` or end of input quits. Until the
//! server lands, this is the quickest way to talk to Alopex.

use std::io::{BufRead, Write};

use alopex_sql::{Database, StatementResult, Value};

fn render(v: &Value) -> String {
    alopex_sql::expr::cast::to_text(v).unwrap_or_default()
}

fn print_result(result: &StatementResult) {
    match result {
        StatementResult::Command { tag, .. } => println!("{tag}"),
        StatementResult::Rows { columns, rows, .. } => {
            let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(render).collect()).collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells.iter().map(|r| r[i].chars().count()).chain([c.name.chars().count()]).max().unwrap_or(0)
                })
                .collect();
            let line = |vals: Vec<String>| {
                vals.iter().zip(&widths).map(|(v, w)| format!(" {v:<w$} ")).collect::<Vec<_>>().join("|")
            };
            println!("{}", line(columns.iter().map(|c| c.name.clone()).collect()));
            println!("{}", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
            for row in cells {
                println!("{}", line(row));
            }
            println!("({} row{})", rows.len(), if rows.len() == 1 { "" } else { "s" });
        }
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "./alopex-data".to_string());
    let db = match Database::open(&dir) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("cannot open {dir}: {e}");
            std::process::exit(1);
        }
    };
    let mut session = db.session();
    println!("Alopex SQL shell on {dir}. End statements with ';'. \\q quits.");
    let stdin = std::io::stdin();
    let mut buffer = String::new();
    loop {
        print!("{}", if buffer.is_empty() { "alopex=> " } else { "alopex-> " });
        let _ = std::io::stdout().flush();
        let mut line = String::new();
        match stdin.lock().read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buffer.is_empty() && line.trim() == "\\q" {
            break;
        }
        buffer.push_str(&line);
        if !line.trim_end().ends_with(';') {
            continue;
        }
        match session.run(&buffer, &[]) {
            Ok(results) => results.iter().for_each(print_result),
            Err(e) => println!("ERROR: {e}"),
        }
        buffer.clear();
    }
}
