//! `LIKE` and `ILIKE` pattern matching.
//!
//! A pattern is compiled per call into literal characters, `_` (exactly one
//! character) and `%` (any run, including none); the escape character
//! (backslash unless `ESCAPE` says otherwise) makes the next character
//! literal, and a pattern ending in it is 22025, as in PostgreSQL. Nothing
//! is cached between calls.
//!
//! Matching walks the string once and, on a mismatch, backtracks only to
//! the most recent `%` (the classic wildcard algorithm), so it is
//! `O(len(s) × len(pattern))` at worst and never exponential. ILIKE
//! lower-cases both sides first, like PostgreSQL's `lower()`-based ILIKE.
//! Characters, not bytes, are the unit, so `_` matches one `é`.

use crate::error::Result;
use crate::sql_err;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Char(char),
    One,
    Many,
}

fn compile(pattern: &str, escape: Option<char>, fold: bool) -> Result<Vec<Token>> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let literal = if Some(c) == escape {
            match chars.next() {
                Some(next) => next,
                None => {
                    return Err(sql_err!(INVALID_ESCAPE_SEQUENCE, "LIKE pattern must not end with escape character"));
                }
            }
        } else if c == '%' {
            // Consecutive `%` are one.
            if tokens.last() != Some(&Token::Many) {
                tokens.push(Token::Many);
            }
            continue;
        } else if c == '_' {
            tokens.push(Token::One);
            continue;
        } else {
            c
        };
        if fold {
            tokens.extend(literal.to_lowercase().map(Token::Char));
        } else {
            tokens.push(Token::Char(literal));
        }
    }
    Ok(tokens)
}

/// True when `s` matches `pattern`.
pub(crate) fn like(s: &str, pattern: &str, escape: Option<char>, case_insensitive: bool) -> Result<bool> {
    let tokens = compile(pattern, escape, case_insensitive)?;
    let text: Vec<char> = if case_insensitive { s.to_lowercase().chars().collect() } else { s.chars().collect() };
    let (mut ti, mut pi) = (0usize, 0usize);
    // Where to resume after the latest `%`: (pattern index after it, text index).
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match tokens.get(pi) {
            Some(Token::Many) => {
                star = Some((pi + 1, ti));
                pi += 1;
            }
            Some(Token::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Token::Char(c)) if *c == text[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last `%` swallow one more character.
                Some((after, from)) => {
                    pi = after;
                    ti = from + 1;
                    star = Some((after, from + 1));
                }
                None => return Ok(false),
            },
        }
    }
    Ok(tokens[pi..].iter().all(|t| *t == Token::Many))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str, p: &str) -> bool {
        like(s, p, Some('\\'), false).unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(m("hello", "h%"));
        assert!(m("hello", "%o"));
        assert!(m("hello", "%ll%"));
        assert!(m("hello", "h_llo"));
        assert!(!m("hello", "h_lo"));
        assert!(m("", "%"));
        assert!(!m("", "_"));
        assert!(m("", ""));
        assert!(!m("a", ""));
        assert!(m("abcabc", "%abc"));
        assert!(m("aaab", "%a%ab"));
        assert!(!m("aaa", "%b%"));
        assert!(m("héllo", "h_llo"));
        assert!(m("a%b", "a%%b"));
        assert!(m("mississippi", "m%iss%ppi"));
        assert!(!m("mississippi", "m%iss%ppix"));
    }

    #[test]
    fn escapes() {
        assert!(m("50%", "50\\%"));
        assert!(!m("500", "50\\%"));
        assert!(m("a_b", "a\\_b"));
        assert!(!m("axb", "a\\_b"));
        assert!(m("a\\b", "a\\\\b"));
        assert!(like("50%", "50#%", Some('#'), false).unwrap());
        assert!(like("a\\b", "a\\b", Some('#'), false).unwrap());
        let e = like("x", "abc\\", Some('\\'), false).unwrap_err();
        assert_eq!((e.state.code(), e.message.as_str()), ("22025", "LIKE pattern must not end with escape character"));
    }

    #[test]
    fn case_insensitive() {
        assert!(like("HeLLo", "h%O", Some('\\'), true).unwrap());
        assert!(!like("HeLLo", "h%O", Some('\\'), false).unwrap());
        assert!(like("ÄBC", "ä_c", Some('\\'), true).unwrap());
    }

    #[test]
    fn long_inputs_stay_linear_enough() {
        let s = "a".repeat(5000);
        let p = format!("{}b", "%a".repeat(50));
        assert!(!m(&s, &p));
    }
}
