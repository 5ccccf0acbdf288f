//! Results as psql's aligned tables.
//!
//! ```text
//!  id | name  | score
//! ----+-------+-------
//!   1 | ann   |   9.5
//!   2 | bob   |
//! (2 rows)
//! ```
//!
//! Headers are centred, cells padded by one space and separated by `|`,
//! numbers right-aligned and everything else left-aligned, NULL printed as
//! nothing, and a `(N rows)` footer, so output pasted from psql and from
//! `alopex sql` looks the same. The simple query protocol gives values as
//! text without types; the shell learns the types of a query's columns
//! from Describe, and where it cannot, a column counts as numeric when
//! every non-NULL value in it parses as a number.
//! A value spanning lines continues on the next line, with `+` at the end
//! of each line that continues, as psql marks it. Widths are measured in
//! terminal columns (`unicode-width`), so CJK text and emoji line up.

use unicode_width::UnicodeWidthStr;

/// A result to print: column names and rows of text values (None = NULL).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ResultTable {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one text value (or NULL) per column.
    pub rows: Vec<Vec<Option<String>>>,
    /// Which columns are numeric, when the column types are known; else
    /// guessed from the values.
    pub numeric: Option<Vec<bool>>,
}

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn is_number(s: &str) -> bool {
    let s = s.trim();
    matches!(s, "NaN" | "Infinity" | "-Infinity")
        || (s.parse::<f64>().is_ok() && s.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)))
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

impl ResultTable {
    /// The table with its footer, each line ending in `\n` (no trailing
    /// blanks on a line).
    pub fn render(&self) -> String {
        let n = self.columns.len();
        // Each cell split into its lines.
        let lines: Vec<Vec<Vec<&str>>> = self
            .rows
            .iter()
            .map(|row| {
                (0..n)
                    .map(|i| match row.get(i).and_then(|v| v.as_deref()) {
                        Some(v) => v.split('\n').collect(),
                        None => vec![""],
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| width(c)).collect();
        for row in &lines {
            for (i, cell) in row.iter().enumerate() {
                for l in cell {
                    widths[i] = widths[i].max(width(l));
                }
            }
        }
        let numeric: Vec<bool> = (0..n)
            .map(|i| {
                if let Some(known) = self.numeric.as_ref().and_then(|k| k.get(i)) {
                    return *known;
                }
                let mut values = self.rows.iter().filter_map(|r| r.get(i).and_then(|v| v.as_deref())).peekable();
                values.peek().is_some() && values.all(is_number)
            })
            .collect();

        let mut out = String::new();
        let mut line = String::new();
        for (i, name) in self.columns.iter().enumerate() {
            line.push_str(if i == 0 { " " } else { " | " });
            let free = widths[i] - width(name);
            pad(&mut line, free / 2);
            line.push_str(name);
            pad(&mut line, free - free / 2);
        }
        out.push_str(line.trim_end());
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
        out.push_str(&rule.join("+"));
        out.push('\n');
        for row in &lines {
            let height = row.iter().map(Vec::len).max().unwrap_or(1);
            for k in 0..height {
                line.clear();
                line.push(' ');
                for (i, cell) in row.iter().enumerate() {
                    let text = cell.get(k).copied().unwrap_or("");
                    let free = widths[i] - width(text);
                    if numeric[i] {
                        pad(&mut line, free);
                        line.push_str(text);
                    } else {
                        line.push_str(text);
                        pad(&mut line, free);
                    }
                    // psql marks a value that continues on the next line.
                    let continues = k + 1 < cell.len();
                    line.push(if continues { '+' } else { ' ' });
                    if i + 1 < n {
                        line.push_str("| ");
                    }
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        let count = self.rows.len();
        out.push_str(&format!("({count} {})\n", if count == 1 { "row" } else { "rows" }));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[Option<&str>]]) -> ResultTable {
        ResultTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows.iter().map(|r| r.iter().map(|v| v.map(str::to_string)).collect()).collect(),
            numeric: None,
        }
    }

    #[test]
    fn aligned_like_psql() {
        let t = table(
            &["id", "name", "score"],
            &[&[Some("1"), Some("ann"), Some("9.5")], &[Some("22"), Some("bobby"), None]],
        );
        assert_eq!(
            t.render(),
            " id | name  | score\n\
             ----+-------+-------\n  \
             1 | ann   |   9.5\n \
             22 | bobby |\n\
             (2 rows)\n"
        );
        let t = table(&["?column?"], &[&[Some("x")]]);
        assert_eq!(t.render(), " ?column?\n----------\n x\n(1 row)\n");
        let t = table(&["a"], &[]);
        assert_eq!(t.render(), " a\n---\n(0 rows)\n");
        let mut t = table(&["zip"], &[&[Some("007")], &[Some("12345")]]);
        t.numeric = Some(vec![false]);
        assert_eq!(t.render(), "  zip\n-------\n 007\n 12345\n(2 rows)\n");
    }

    #[test]
    fn wide_characters_and_multiline_values() {
        let t = table(&["k", "v"], &[&[Some("日本"), Some("one\ntwo")], &[Some("x"), Some("3")]]);
        assert_eq!(t.render(), "  k   |  v\n------+-----\n 日本 | one+\n      | two\n x    | 3\n(2 rows)\n");
    }
}
