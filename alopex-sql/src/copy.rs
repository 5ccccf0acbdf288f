//! `COPY … FROM STDIN` and `COPY … TO STDOUT`: the statement, and the text
//! and CSV formats PostgreSQL streams rows in.
//!
//! COPY is a protocol feature as much as a statement: the rows travel in
//! CopyData messages, not in the SQL text. So the SQL engine does not run
//! COPY itself. [`parse_copy`] recognizes the statement and its options,
//! the server drives the sub-protocol, and the rows go through ordinary
//! statements: each decoded row becomes the parameters of a prepared
//! `INSERT` ([`CopyCommand::insert_sql`]), whose parameter types cast the
//! text fields with PostgreSQL's input rules, and `COPY … TO` reads a
//! `SELECT` ([`CopyCommand::select_sql`]). Constraints, defaults, indexes
//! and errors are therefore exactly those of INSERT and SELECT.
//!
//! ## Format
//!
//! *Text* (the default): one row per line, fields separated by the
//! delimiter (tab), `\N` for NULL, and backslash escapes for the
//! delimiter, newline, carriage return, backslash (`\t \n \r \\`), `\b \f
//! \v`, octal `\123` and hex `\x41`. A line `\.` ends the data.
//!
//! *CSV*: fields separated by the delimiter (`,`), quoted with `"` when
//! they hold the delimiter, a quote, or a line break (a quote inside is
//! doubled); an unquoted empty field is NULL and a quoted one (`""`) the
//! empty string. `HEADER` skips (on input) or writes (on output) a first
//! line of column names.

use sqlparser::ast::{CopyOption, CopySource, CopyTarget, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::error::Result;
use crate::sql_err;

/// Which way the rows go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyDirection {
    /// `COPY t FROM STDIN`: the client sends rows.
    In,
    /// `COPY t TO STDOUT`: the server sends rows.
    Out,
}

/// The row format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// PostgreSQL's text format.
    Text,
    /// CSV.
    Csv,
}

/// What is copied: a table's columns, or a query's rows.
#[derive(Debug, Clone, PartialEq)]
pub enum CopySubject {
    /// A table (all its columns when the list is empty).
    Table {
        /// The table name as written.
        name: String,
        /// The column names as written.
        columns: Vec<String>,
    },
    /// `COPY (query) TO STDOUT`.
    Query(String),
}

/// A parsed COPY statement.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyCommand {
    /// What is copied.
    pub subject: CopySubject,
    /// Which way.
    pub direction: CopyDirection,
    /// The format.
    pub format: CopyFormat,
    /// The field delimiter.
    pub delimiter: char,
    /// The string that stands for NULL.
    pub null: String,
    /// CSV: a first line of column names.
    pub header: bool,
    /// CSV quote character.
    pub quote: char,
    /// CSV escape character (inside quotes).
    pub escape: char,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl CopyCommand {
    /// `INSERT INTO t (cols) VALUES ($1, …)` for `COPY FROM`, given the
    /// table's column names (used when the statement lists none).
    pub fn insert_sql(&self, table_columns: &[String]) -> Result<String> {
        let CopySubject::Table { name, columns } = &self.subject else {
            return Err(sql_err!(SYNTAX_ERROR, "COPY FROM needs a table, not a query"));
        };
        let columns = if columns.is_empty() { table_columns } else { columns };
        let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        Ok(format!("INSERT INTO {} ({}) VALUES ({})", quote_table(name), list.join(", "), params.join(", ")))
    }

    /// The `SELECT` whose rows `COPY TO` sends.
    pub fn select_sql(&self) -> String {
        match &self.subject {
            CopySubject::Query(q) => q.clone(),
            CopySubject::Table { name, columns } if columns.is_empty() => {
                format!("SELECT * FROM {}", quote_table(name))
            }
            CopySubject::Table { name, columns } => {
                let list: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
                format!("SELECT {} FROM {}", list.join(", "), quote_table(name))
            }
        }
    }

    /// One output line (with its newline) for a row of text fields (None =
    /// NULL).
    pub fn encode_row(&self, fields: &[Option<String>]) -> String {
        let mut line = String::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                line.push(self.delimiter);
            }
            match (field, self.format) {
                (None, _) => line.push_str(&self.null),
                (Some(f), CopyFormat::Text) => escape_text(f, self.delimiter, &mut line),
                (Some(f), CopyFormat::Csv) => self.escape_csv(f, &mut line),
            }
        }
        line.push('\n');
        line
    }

    fn escape_csv(&self, field: &str, out: &mut String) {
        let needs_quotes = field.is_empty()
            || field == self.null
            || field.contains([self.delimiter, self.quote, '\n', '\r'])
            || field.starts_with(' ')
            || field.ends_with(' ');
        if !needs_quotes {
            out.push_str(field);
            return;
        }
        out.push(self.quote);
        for c in field.chars() {
            if c == self.quote || c == self.escape {
                out.push(self.escape);
            }
            out.push(c);
        }
        out.push(self.quote);
    }

    /// The header line of column names (CSV with HEADER).
    pub fn header_line(&self, names: &[String]) -> Option<String> {
        (self.format == CopyFormat::Csv && self.header)
            .then(|| self.encode_row(&names.iter().map(|n| Some(n.clone())).collect::<Vec<_>>()))
    }

    /// A decoder for this command's input format.
    pub fn decoder(&self) -> CopyDecoder {
        CopyDecoder { cmd: self.clone(), pending: Vec::new(), skip_header: self.header, ended: false, line: 0 }
    }
}

fn quote_table(name: &str) -> String {
    // The name keeps the spelling the statement gave it (already quoted or
    // not), so it is spliced as written.
    name.to_string()
}

fn escape_text(field: &str, delimiter: char, out: &mut String) {
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' if delimiter == '\t' => out.push_str("\\t"),
            c if c == delimiter => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// PostgreSQL spells a boolean option `FREEZE on`, `HEADER 1`, …; sqlparser
/// reads only TRUE and FALSE there (pgbench sends `with (freeze on)`). The
/// value after FREEZE or HEADER is rewritten to TRUE/FALSE, token by token,
/// leaving the rest of the text as it was.
fn boolean_words_as_keywords(sql: &str) -> std::borrow::Cow<'_, str> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return sql.into();
    };
    // (byte offset, byte length, replacement), found by token locations.
    let mut edits: Vec<(usize, usize, &str)> = Vec::new();
    let mut after_option = false;
    for t in &tokens {
        let replacement = match &t.token {
            Token::Word(w) if after_option && w.quote_style.is_none() => match w.value.to_ascii_lowercase().as_str() {
                "on" | "yes" => Some(("TRUE", w.value.len())),
                "off" | "no" => Some(("FALSE", w.value.len())),
                _ => None,
            },
            Token::Number(n, _) if after_option && (n == "1" || n == "0") => {
                Some((if n == "1" { "TRUE" } else { "FALSE" }, 1))
            }
            _ => None,
        };
        if let Some((word, len)) = replacement
            && let Some(at) = byte_offset(sql, t.span.start.line, t.span.start.column)
        {
            edits.push((at, len, word));
        }
        if !matches!(t.token, Token::Whitespace(_)) {
            after_option = matches!(&t.token, Token::Word(w) if w.quote_style.is_none()
                && (w.value.eq_ignore_ascii_case("freeze") || w.value.eq_ignore_ascii_case("header")));
        }
    }
    if edits.is_empty() {
        return sql.into();
    }
    let mut out = sql.to_string();
    for (at, len, word) in edits.into_iter().rev() {
        if out.get(at..at + len).is_some() {
            out.replace_range(at..at + len, word);
        }
    }
    out.into()
}

/// The byte offset of a 1-based (line, character column) position.
fn byte_offset(sql: &str, line: u64, column: u64) -> Option<usize> {
    let mut start = 0;
    for (i, text) in sql.split('\n').enumerate() {
        if i as u64 + 1 == line {
            let col = usize::try_from(column).ok()?.checked_sub(1)?;
            return text.char_indices().nth(col).map(|(b, _)| start + b);
        }
        start += text.len() + 1;
    }
    None
}

/// Recognizes a COPY statement: None when `sql` is not one.
pub fn parse_copy(sql: &str) -> Result<Option<CopyCommand>> {
    let trimmed = sql.trim_start();
    if trimmed.len() < 4 || !trimmed[..4].eq_ignore_ascii_case("copy") {
        return Ok(None);
    }
    let sql = boolean_words_as_keywords(sql);
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
        .map_err(|e| sql_err!(SYNTAX_ERROR, "{}", e.to_string().trim_start_matches("sql parser error: ")))?;
    let [Statement::Copy { source, to, target, options, legacy_options, .. }] = statements.as_slice() else {
        return Ok(None);
    };
    let direction = if *to { CopyDirection::Out } else { CopyDirection::In };
    match (target, direction) {
        (CopyTarget::Stdin, CopyDirection::In) | (CopyTarget::Stdout, CopyDirection::Out) => {}
        (CopyTarget::File { .. } | CopyTarget::Program { .. }, _) => {
            return Err(sql_err!(
                FEATURE_NOT_SUPPORTED,
                "COPY to or from a file or program is not supported; use STDIN or STDOUT"
            ));
        }
        _ => return Err(sql_err!(SYNTAX_ERROR, "COPY FROM reads STDIN and COPY TO writes STDOUT")),
    }
    let subject = match source {
        CopySource::Table { table_name, columns } => CopySubject::Table {
            name: table_name.to_string(),
            columns: columns.iter().map(|c| c.value.clone()).collect(),
        },
        CopySource::Query(q) if direction == CopyDirection::Out => CopySubject::Query(q.to_string()),
        CopySource::Query(_) => return Err(sql_err!(SYNTAX_ERROR, "COPY FROM cannot read into a query")),
    };
    let mut cmd = CopyCommand {
        subject,
        direction,
        format: CopyFormat::Text,
        delimiter: '\t',
        null: "\\N".into(),
        header: false,
        quote: '"',
        escape: '"',
    };
    let (mut delimiter, mut null, mut escape) = (None, None, None);
    for option in options {
        match option {
            CopyOption::Format(f) => {
                cmd.format = match f.value.to_ascii_lowercase().as_str() {
                    "text" => CopyFormat::Text,
                    "csv" => CopyFormat::Csv,
                    "binary" => return Err(sql_err!(FEATURE_NOT_SUPPORTED, "COPY in binary format is not supported")),
                    other => return Err(sql_err!(INVALID_PARAMETER_VALUE, "COPY format \"{other}\" not recognized")),
                }
            }
            CopyOption::Delimiter(c) => delimiter = Some(*c),
            CopyOption::Null(s) => null = Some(s.clone()),
            CopyOption::Header(h) => cmd.header = *h,
            CopyOption::Quote(c) => cmd.quote = *c,
            CopyOption::Escape(c) => escape = Some(*c),
            // FREEZE spares PostgreSQL's later VACUUM the work of marking
            // the rows visible; committed rows here need no such marking.
            CopyOption::Freeze(_) => {}
            other => return Err(sql_err!(FEATURE_NOT_SUPPORTED, "COPY option {other} is not supported")),
        }
    }
    for option in legacy_options {
        use sqlparser::ast::CopyLegacyOption as L;
        match option {
            L::Csv(_) => cmd.format = CopyFormat::Csv,
            L::Header => cmd.header = true,
            L::Delimiter(c) => delimiter = Some(*c),
            L::Null(s) => null = Some(s.clone()),
            L::Binary => return Err(sql_err!(FEATURE_NOT_SUPPORTED, "COPY in binary format is not supported")),
            other => return Err(sql_err!(FEATURE_NOT_SUPPORTED, "COPY option {other} is not supported")),
        }
    }
    if cmd.format == CopyFormat::Csv {
        cmd.delimiter = ',';
        cmd.null = String::new();
    } else if cmd.header {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "COPY HEADER is available only in CSV mode"));
    }
    cmd.delimiter = delimiter.unwrap_or(cmd.delimiter);
    cmd.null = null.unwrap_or(cmd.null);
    cmd.escape = escape.unwrap_or(cmd.quote);
    Ok(Some(cmd))
}

/// Turns COPY input, arriving in arbitrary chunks, into rows of text
/// fields (None = NULL).
#[derive(Debug)]
pub struct CopyDecoder {
    cmd: CopyCommand,
    pending: Vec<u8>,
    skip_header: bool,
    ended: bool,
    line: u64,
}

impl CopyDecoder {
    /// Feeds a chunk; returns the rows completed by it.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Vec<Option<String>>>> {
        self.pending.extend_from_slice(chunk);
        self.take_rows(false)
    }

    /// The end of the input: the rows left (a last line without a newline).
    pub fn finish(&mut self) -> Result<Vec<Vec<Option<String>>>> {
        self.take_rows(true)
    }

    fn take_rows(&mut self, at_end: bool) -> Result<Vec<Vec<Option<String>>>> {
        let mut rows = Vec::new();
        let mut start = 0;
        while !self.ended {
            let Some(end) = self.record_end(start, at_end) else { break };
            let raw = &self.pending[start..end];
            let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            start = end;
            self.line += 1;
            if raw == b"\\." {
                self.ended = true;
                break;
            }
            if std::mem::take(&mut self.skip_header) {
                continue;
            }
            if raw.is_empty() && end == self.pending.len() && at_end {
                break;
            }
            let text = std::str::from_utf8(raw).map_err(|_| {
                sql_err!(
                    CHARACTER_NOT_IN_REPERTOIRE,
                    "invalid byte sequence for encoding \"UTF8\" in COPY data, line {}",
                    self.line
                )
            })?;
            rows.push(match self.cmd.format {
                CopyFormat::Text => self.text_fields(text)?,
                CopyFormat::Csv => self.csv_fields(text)?,
            });
        }
        self.pending.drain(..start);
        if self.ended {
            self.pending.clear();
        }
        Ok(rows)
    }

    /// Where the record starting at `start` ends (just past its newline):
    /// for CSV a newline inside quotes does not end it.
    fn record_end(&self, start: usize, at_end: bool) -> Option<usize> {
        let data = &self.pending[start..];
        let mut in_quotes = false;
        for (i, &b) in data.iter().enumerate() {
            if self.cmd.format == CopyFormat::Csv && b as u32 == self.cmd.quote as u32 {
                in_quotes = !in_quotes;
            } else if b == b'\n' && !in_quotes {
                return Some(start + i + 1);
            }
        }
        (at_end && !data.is_empty()).then_some(self.pending.len())
    }

    fn text_fields(&self, line: &str) -> Result<Vec<Option<String>>> {
        let mut fields = Vec::new();
        for raw in line.split(self.cmd.delimiter) {
            if raw == self.cmd.null {
                fields.push(None);
                continue;
            }
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('b') => out.push('\u{8}'),
                    Some('f') => out.push('\u{c}'),
                    Some('v') => out.push('\u{b}'),
                    Some('x') => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 2
                            && let Some(d) = chars.peek().and_then(|c| c.to_digit(16))
                        {
                            v = v * 16 + d;
                            chars.next();
                            n += 1;
                        }
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    }
                    Some(d @ '0'..='7') => {
                        let mut v = d.to_digit(8).unwrap_or(0);
                        let mut n = 1;
                        while n < 3
                            && let Some(d) = chars.peek().and_then(|c| c.to_digit(8))
                        {
                            v = v * 8 + d;
                            chars.next();
                            n += 1;
                        }
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                    }
                    Some(other) => out.push(other),
                    None => {
                        return Err(sql_err!(
                            INVALID_TEXT_REPRESENTATION,
                            "COPY data line {} ends in a backslash",
                            self.line
                        ));
                    }
                }
            }
            fields.push(Some(out));
        }
        Ok(fields)
    }

    fn csv_fields(&self, line: &str) -> Result<Vec<Option<String>>> {
        let (delim, quote, escape) = (self.cmd.delimiter, self.cmd.quote, self.cmd.escape);
        let mut fields = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            let mut field = String::new();
            let mut quoted = false;
            if chars.peek() == Some(&quote) {
                quoted = true;
                chars.next();
                loop {
                    match chars.next() {
                        Some(c) if c == escape && chars.peek() == Some(&quote) => {
                            chars.next();
                            field.push(quote);
                        }
                        Some(c) if c == escape && escape != quote && chars.peek() == Some(&escape) => {
                            chars.next();
                            field.push(escape);
                        }
                        Some(c) if c == quote => break,
                        Some(c) => field.push(c),
                        None => {
                            return Err(sql_err!(
                                INVALID_TEXT_REPRESENTATION,
                                "unterminated CSV quoted field on line {}",
                                self.line
                            ));
                        }
                    }
                }
            }
            while let Some(&c) = chars.peek() {
                if c == delim {
                    break;
                }
                field.push(c);
                chars.next();
            }
            fields.push(if !quoted && field == self.cmd.null { None } else { Some(field) });
            if chars.next().is_none() {
                break;
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(sql: &str) -> CopyCommand {
        parse_copy(sql).unwrap().unwrap()
    }

    #[test]
    fn statements_and_options() {
        assert_eq!(parse_copy("SELECT 1").unwrap(), None);
        let c = cmd("COPY t (a, b) FROM STDIN");
        assert_eq!(c.direction, CopyDirection::In);
        assert_eq!(c.insert_sql(&[]).unwrap(), "INSERT INTO t (\"a\", \"b\") VALUES ($1, $2)");
        let c = cmd("COPY t TO STDOUT WITH (FORMAT csv, HEADER)");
        assert_eq!((c.format, c.header, c.delimiter), (CopyFormat::Csv, true, ','));
        assert_eq!(c.select_sql(), "SELECT * FROM t");
        // pgbench's client-side data generation.
        let c = cmd("copy pgbench_accounts from stdin with (freeze on)");
        assert_eq!((c.direction, c.format), (CopyDirection::In, CopyFormat::Text));
        assert!(cmd("COPY t TO STDOUT (FORMAT csv, HEADER on)").header);
        assert!(!cmd("COPY t TO STDOUT (FORMAT csv, HEADER 0)").header);
        assert!(cmd("COPY t TO STDOUT (FORMAT csv, HEADER)").header);
        let c = cmd("COPY (SELECT a FROM t WHERE a > 1) TO STDOUT");
        assert_eq!(c.select_sql(), "SELECT a FROM t WHERE a > 1");
        let e = parse_copy("COPY t FROM '/etc/passwd'").unwrap_err();
        assert_eq!(e.state.code(), "0A000");
        let e = parse_copy("COPY t FROM STDIN (FORMAT binary)").unwrap_err();
        assert_eq!(e.state.code(), "0A000");
    }

    #[test]
    fn text_format_round_trips_in_any_chunking() {
        let c = cmd("COPY t FROM STDIN");
        let rows = vec![
            vec![Some("1".to_string()), Some("tab\there, nl\nthere \\ back".to_string()), None],
            vec![Some("2".to_string()), Some(String::new()), Some("\\N is not null here".to_string())],
        ];
        let data: String = rows.iter().map(|r| c.encode_row(r)).collect::<String>() + "\\.\n";
        for chunk in [1, 3, 7, 1000] {
            let mut d = c.decoder();
            let mut got = Vec::new();
            for piece in data.as_bytes().chunks(chunk) {
                got.extend(d.feed(piece).unwrap());
            }
            got.extend(d.finish().unwrap());
            assert_eq!(got, rows, "chunk {chunk}");
        }
        let mut d = c.decoder();
        assert_eq!(d.feed(b"a\\x41\\101b\n").unwrap(), vec![vec![Some("aAAb".to_string())]]);
    }

    #[test]
    fn csv_quotes_nulls_headers_and_line_breaks() {
        let c = cmd("COPY t FROM STDIN WITH (FORMAT csv, HEADER true)");
        let mut d = c.decoder();
        let mut got = d.feed(b"id,name\n1,\"a, \"\"b\"\"\nc\"\n2,\n3,\"\"").unwrap();
        got.extend(d.finish().unwrap());
        assert_eq!(
            got,
            vec![
                vec![Some("1".into()), Some("a, \"b\"\nc".into())],
                vec![Some("2".into()), None],
                vec![Some("3".into()), Some(String::new())],
            ]
        );
        let out = cmd("COPY t TO STDOUT (FORMAT csv)");
        assert_eq!(out.encode_row(&[Some("a,b".into()), None, Some(String::new())]), "\"a,b\",,\"\"\n");
        let e = c.decoder().feed(b"id\n\"open\n").and_then(|_| {
            let mut d = c.decoder();
            d.feed(b"id\n\"open")?;
            d.finish()
        });
        assert!(e.is_err());
    }
}
