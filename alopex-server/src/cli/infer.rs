//! Guessing column types from CSV values, and checking values against them.
//!
//! `alopex import` creates a missing table from the first rows of the file.
//! Each column starts unknown and widens as values arrive, along the only
//! lattice that never loses data:
//!
//! ```text
//!   BIGINT ──▶ DOUBLE PRECISION ──┐
//!   BOOLEAN ──────────────────────┼──▶ TEXT
//!   DATE ──▶ TIMESTAMP ───────────┘
//! ```
//!
//! Empty fields are NULLs and say nothing. Integers with leading zeros
//! (`007`, zip codes, ids) stay TEXT, because a number would drop the
//! zeros. A column with nothing but NULLs in the sample is TEXT.
//!
//! The same parsers check rows against a table's column types before the
//! rows are sent ([`Kind::accepts`]), which is how a bad value is reported
//! with its line number rather than as a server error somewhere in a batch.

use chrono::{NaiveDate, NaiveDateTime};

/// A column type the importer can infer or check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `BIGINT` (and the other integer types when checking).
    Integer,
    /// `DOUBLE PRECISION` (and real, numeric when checking).
    Float,
    /// `BOOLEAN`.
    Boolean,
    /// `DATE`.
    Date,
    /// `TIMESTAMP`.
    Timestamp,
    /// `TEXT`: anything.
    Text,
}

impl Kind {
    /// The SQL type name for `CREATE TABLE`.
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Integer => "BIGINT",
            Kind::Float => "DOUBLE PRECISION",
            Kind::Boolean => "BOOLEAN",
            Kind::Date => "DATE",
            Kind::Timestamp => "TIMESTAMP",
            Kind::Text => "TEXT",
        }
    }

    /// The kind to check values of a Postgres type against (by type name).
    pub fn of_pg_type(name: &str) -> Kind {
        match name {
            "int2" | "int4" | "int8" => Kind::Integer,
            "float4" | "float8" | "numeric" => Kind::Float,
            "bool" => Kind::Boolean,
            "date" => Kind::Date,
            "timestamp" | "timestamptz" => Kind::Timestamp,
            _ => Kind::Text,
        }
    }

    /// The narrowest kind that holds `value` (not empty).
    fn of_value(value: &str) -> Kind {
        [Kind::Integer, Kind::Float, Kind::Boolean, Kind::Date, Kind::Timestamp]
            .into_iter()
            .find(|k| k.parses(value))
            .unwrap_or(Kind::Text)
    }

    fn parses(self, v: &str) -> bool {
        match self {
            Kind::Integer => {
                let digits = v.strip_prefix('-').unwrap_or(v);
                !(digits.len() > 1 && digits.starts_with('0')) && v.parse::<i64>().is_ok()
            }
            Kind::Float => {
                let whole = v.trim_start_matches(['-', '+']).split(['.', 'e', 'E']).next().unwrap_or("");
                !(whole.len() > 1 && whole.starts_with('0'))
                    && v.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))
                    && v.chars().any(|c| c.is_ascii_digit())
                    && v.parse::<f64>().is_ok()
            }
            Kind::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
            Kind::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok(),
            Kind::Timestamp => ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"]
                .iter()
                .any(|f| NaiveDateTime::parse_from_str(v, f).is_ok()),
            Kind::Text => true,
        }
    }

    /// Whether a column of this kind takes `value` (NULL always fits here;
    /// NOT NULL is the server's to check).
    pub fn accepts(self, value: &str) -> bool {
        if value.is_empty() {
            return true;
        }
        match self {
            // The server's integer and boolean input is a little wider.
            Kind::Integer => value.trim().parse::<i64>().is_ok(),
            Kind::Boolean => ["t", "f", "true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"]
                .iter()
                .any(|b| value.trim().eq_ignore_ascii_case(b)),
            Kind::Float => value.trim().parse::<f64>().is_ok(),
            // ISO dates are checked here; other spellings ("Jan 2 2024",
            // "epoch") are the server's to judge.
            Kind::Date | Kind::Timestamp => {
                let v = value.trim();
                let iso = v.len() > 4 && v.as_bytes()[..4].iter().all(u8::is_ascii_digit) && v.as_bytes()[4] == b'-';
                !iso || v.get(..10).is_some_and(|d| Kind::Date.parses(d))
            }
            Kind::Text => true,
        }
    }

    /// The kind that holds values of both.
    fn widen(self, other: Kind) -> Kind {
        use Kind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Integer, Float) | (Float, Integer) => Float,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            _ => Text,
        }
    }
}

/// Column kinds inferred from the rows seen so far.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    kinds: Vec<Option<Kind>>,
}

impl Inference {
    /// Takes one row's values into account.
    pub fn observe<'a>(&mut self, row: impl IntoIterator<Item = &'a str>) {
        for (i, value) in row.into_iter().enumerate() {
            if self.kinds.len() <= i {
                self.kinds.resize(i + 1, None);
            }
            if value.is_empty() {
                continue;
            }
            let k = Kind::of_value(value);
            self.kinds[i] = Some(match self.kinds[i] {
                None => k,
                Some(seen) => seen.widen(k),
            });
        }
    }

    /// The kind of each of `n` columns (TEXT where nothing was seen).
    pub fn kinds(&self, n: usize) -> Vec<Kind> {
        (0..n).map(|i| self.kinds.get(i).copied().flatten().unwrap_or(Kind::Text)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_widen_along_the_lattice() {
        let mut inf = Inference::default();
        inf.observe(["1", "1", "true", "2024-01-02", "007", "", "x"]);
        inf.observe(["-20", "2.5", "FALSE", "2024-01-02 10:00:00", "1", "", "1"]);
        inf.observe(["3", "1e3", "", "", "2", "", ""]);
        assert_eq!(
            inf.kinds(8),
            vec![
                Kind::Integer,
                Kind::Float,
                Kind::Boolean,
                Kind::Timestamp,
                Kind::Text,
                Kind::Text,
                Kind::Text,
                Kind::Text
            ]
        );
    }

    #[test]
    fn checks_match_what_the_server_takes() {
        assert!(Kind::Integer.accepts("42") && Kind::Integer.accepts("") && !Kind::Integer.accepts("4x"));
        assert!(Kind::Float.accepts("1.5e3") && !Kind::Float.accepts("one"));
        assert!(Kind::Boolean.accepts("t") && !Kind::Boolean.accepts("maybe"));
        assert!(Kind::Date.accepts("2024-02-29") && !Kind::Date.accepts("2023-02-30"));
        assert_eq!(Kind::of_pg_type("int4"), Kind::Integer);
        assert_eq!(Kind::of_pg_type("varchar"), Kind::Text);
    }
}
