//! Cutting input into statements, the way psql does.
//!
//! A statement ends at a `;` that is not inside a string literal (`'…'`,
//! `E'…'` with backslash escapes), a quoted identifier (`"…"`), a
//! dollar-quoted body (`$$…$$`, `$tag$…$tag$`) or a comment (`-- …`,
//! nested `/* … */`). The client must know this itself: it sends one
//! statement at a time (so each result prints before the next statement
//! runs, and the interactive prompt knows when to continue a statement on
//! the next line) and the server never sees the raw text before the user
//! finishes it.
//!
//! The scanner is incremental: [`StatementBuffer::push_line`] continues
//! from where the previous line left off, so a script with a statement of a
//! million lines is scanned once, not once per line.

/// Where the scanner is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Normal,
    /// In `'…'`; `escapes` for `E'…'`.
    Single {
        escapes: bool,
    },
    /// In `"…"`.
    Double,
    /// In a dollar-quoted body closed by `$tag$`.
    Dollar(String),
    /// In `-- …` up to the end of the line.
    LineComment,
    /// In `/* … */`, nested this deep.
    Block(usize),
}

/// Collects lines and hands out complete statements.
#[derive(Debug)]
pub struct StatementBuffer {
    text: String,
    /// How far `text` has been scanned, in bytes.
    scanned: usize,
    state: State,
    /// The current statement has something besides blanks and comments.
    content: bool,
}

impl Default for StatementBuffer {
    fn default() -> Self {
        StatementBuffer { text: String::new(), scanned: 0, state: State::Normal, content: false }
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl StatementBuffer {
    /// An empty buffer.
    pub fn new() -> StatementBuffer {
        StatementBuffer::default()
    }

    /// True when no statement has been started (only blanks and comments
    /// so far): the interactive shell's cue for the primary prompt and for
    /// backslash commands.
    pub fn is_blank(&self) -> bool {
        !self.content && matches!(self.state, State::Normal | State::LineComment)
    }

    /// Adds one line of input; returns the statements it completed, each
    /// with its `;`.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        self.text.push_str(line);
        self.text.push('\n');
        let mut out = Vec::new();
        let mut start = 0usize;
        let mut i = self.scanned;
        let bytes = self.text.as_bytes();
        while i < self.text.len() {
            let Some(c) = self.text[i..].chars().next() else { break };
            let next = self.text[i + c.len_utf8()..].chars().next();
            let mut step = c.len_utf8();
            match &self.state {
                State::Normal => match c {
                    '\'' => {
                        let escapes = i > start
                            && matches!(bytes[i - 1], b'e' | b'E')
                            && (i - 1 == start || !self.text[start..i - 1].chars().next_back().is_some_and(ident_char));
                        self.state = State::Single { escapes };
                        self.content = true;
                    }
                    '"' => {
                        self.state = State::Double;
                        self.content = true;
                    }
                    '-' if next == Some('-') => {
                        self.state = State::LineComment;
                        step = 2;
                    }
                    '/' if next == Some('*') => {
                        self.state = State::Block(1);
                        step = 2;
                    }
                    '$' if !self.text[start..i].chars().next_back().is_some_and(ident_char) => {
                        self.content = true;
                        if let Some(tag) = dollar_tag(&self.text[i..]) {
                            step = tag.len();
                            self.state = State::Dollar(tag);
                        }
                    }
                    ';' => {
                        let stmt = self.text[start..=i].trim().to_string();
                        if self.content {
                            out.push(stmt);
                        }
                        self.content = false;
                        start = i + 1;
                    }
                    c if c.is_whitespace() => {}
                    _ => self.content = true,
                },
                State::Single { escapes } => match c {
                    '\\' if *escapes => step += next.map_or(0, char::len_utf8),
                    '\'' if next == Some('\'') => step = 2,
                    '\'' => self.state = State::Normal,
                    _ => {}
                },
                State::Double => match c {
                    '"' if next == Some('"') => step = 2,
                    '"' => self.state = State::Normal,
                    _ => {}
                },
                State::Dollar(tag) => {
                    if self.text[i..].starts_with(tag.as_str()) {
                        step = tag.len();
                        self.state = State::Normal;
                    }
                }
                State::LineComment => {
                    if c == '\n' {
                        self.state = State::Normal;
                    }
                }
                State::Block(depth) => {
                    let depth = *depth;
                    if c == '*' && next == Some('/') {
                        self.state = if depth == 1 { State::Normal } else { State::Block(depth - 1) };
                        step = 2;
                    } else if c == '/' && next == Some('*') {
                        self.state = State::Block(depth + 1);
                        step = 2;
                    }
                }
            }
            i += step;
        }
        self.text.drain(..start.min(self.text.len()));
        self.scanned = i.saturating_sub(start).min(self.text.len());
        if !self.content && self.state == State::Normal {
            // Only blanks and comments so far: nothing to keep.
            self.text.clear();
            self.scanned = 0;
        }
        out
    }

    /// At the end of input: the unfinished last statement, if it has any
    /// content (psql runs it too).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.text);
        let content = std::mem::take(&mut self.content);
        self.scanned = 0;
        self.state = State::Normal;
        content.then(|| rest.trim().to_string())
    }

    /// Drops the statement in progress (Ctrl-C at the prompt).
    pub fn clear(&mut self) {
        self.finish();
    }
}

/// The `$tag$` opening at the start of `s`, if it is one (`$1` is a
/// parameter, not a tag).
fn dollar_tag(s: &str) -> Option<String> {
    let body = s.strip_prefix('$')?;
    let end = body.find('$')?;
    let tag = &body[..end];
    let valid = tag.chars().next().is_none_or(|c| c.is_alphabetic() || c == '_') && tag.chars().all(ident_char);
    valid.then(|| format!("${tag}$"))
}

/// Every complete statement of `text`, plus an unterminated last one.
#[cfg(test)]
pub fn split_all(text: &str) -> Vec<String> {
    let mut buffer = StatementBuffer::new();
    let mut out = Vec::new();
    for line in text.lines() {
        out.extend(buffer.push_line(line));
    }
    out.extend(buffer.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_inside_quotes_comments_and_dollar_bodies_do_not_split() {
        let text = "SELECT 'a;b', \"c;d\", E'it\\'s;' -- x;y\n\
                    FROM t; /* a; /* nested; */ b; */ SELECT $$p;q$$, $fn$r;$$;s$fn$;\n\
                    SELECT $1;   ; -- only a comment\nSELECT 'no end'";
        assert_eq!(
            split_all(text),
            vec![
                "SELECT 'a;b', \"c;d\", E'it\\'s;' -- x;y\nFROM t;",
                "/* a; /* nested; */ b; */ SELECT $$p;q$$, $fn$r;$$;s$fn$;",
                "SELECT $1;",
                "SELECT 'no end'",
            ]
        );
    }

    #[test]
    fn lines_continue_a_statement_until_its_semicolon() {
        let mut b = StatementBuffer::new();
        assert!(b.is_blank());
        assert!(b.push_line("SELECT 1,").is_empty());
        assert!(!b.is_blank());
        assert!(b.push_line("  'multi").is_empty());
        assert_eq!(b.push_line("line'; SELECT 2;"), vec!["SELECT 1,\n  'multi\nline';", "SELECT 2;"]);
        assert!(b.is_blank());
        assert!(b.push_line("-- just a comment").is_empty());
        assert!(b.is_blank());
        assert_eq!(b.finish(), None);
        b.push_line("SELECT 'it''s'");
        assert_eq!(b.finish().as_deref(), Some("SELECT 'it''s'"));
        assert_eq!(split_all("SELECT 'é;ü'; SELECT 3"), vec!["SELECT 'é;ü';", "SELECT 3"]);
        assert_eq!(split_all("select e'a' ; select ee'b'; x"), vec!["select e'a' ;", "select ee'b';", "x"]);
    }
}
