//! The SCRAM-SHA-256 verifier: the only form in which a password is kept.
//!
//! PostgreSQL never stores a password. `CREATE USER … PASSWORD 'pw'`
//! derives `SaltedPassword = PBKDF2-HMAC-SHA-256(pw, salt, iterations)` and
//! keeps two keys derived from it, `StoredKey = SHA-256(HMAC(SaltedPassword,
//! "Client Key"))` and `ServerKey = HMAC(SaltedPassword, "Server Key")`
//! (RFC 5802 and 7677). That is enough to check a client's SCRAM proof and
//! to prove to the client that the server knew the password, yet nobody who
//! reads the catalog can log in with it or recover the password.
//!
//! We keep PostgreSQL's text form verbatim, so verifiers move between
//! PostgreSQL and Alopex, and a client that hashes on its side (psql's
//! `\password`, libpq's `PQencryptPasswordConn`) can send the verifier in
//! place of the password:
//!
//! ## Format
//!
//! ```text
//! SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//! ```
//!
//! The derivation itself is `postgres-protocol`'s (the code the Rust
//! PostgreSQL client uses for the same purpose: SASLprep, a 16-byte random
//! salt, 4096 iterations, libpq's defaults); this file only parses and
//! prints the text form.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// The prefix every SCRAM-SHA-256 verifier starts with.
pub const SCRAM_PREFIX: &str = "SCRAM-SHA-256$";

/// A SCRAM-SHA-256 verifier (see the module documentation). Its `Debug`
/// form never shows the keys.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramVerifier {
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// The salt.
    pub salt: Vec<u8>,
    /// `SHA-256(ClientKey)`: checks the client's proof.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`: signs the server's answer.
    pub server_key: Vec<u8>,
}

impl ScramVerifier {
    /// Derives a verifier from a cleartext password with a fresh random
    /// salt (libpq's parameters: SASLprep, 16 bytes of salt, 4096 rounds).
    pub fn from_password(password: &str) -> Result<ScramVerifier> {
        let text = postgres_protocol::password::scram_sha_256(password.as_bytes());
        // postgres-protocol prints exactly the format `parse` reads.
        ScramVerifier::parse(&text).ok_or_else(|| Error::internal("password hashing produced an invalid verifier"))
    }

    /// Parses PostgreSQL's text form; `None` when `text` is not a valid
    /// SCRAM-SHA-256 verifier.
    pub fn parse(text: &str) -> Option<ScramVerifier> {
        let rest = text.strip_prefix(SCRAM_PREFIX)?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored_key, server_key) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok().filter(|&n| n > 0)?;
        let salt = STANDARD.decode(salt).ok().filter(|s| !s.is_empty())?;
        let stored_key = STANDARD.decode(stored_key).ok().filter(|k| k.len() == 32)?;
        let server_key = STANDARD.decode(server_key).ok().filter(|k| k.len() == 32)?;
        Some(ScramVerifier { iterations, salt, stored_key, server_key })
    }

    /// Whether `text` claims to be a SCRAM verifier (starts with the
    /// prefix), valid or not: such a password is never hashed again.
    pub fn is_verifier_text(text: &str) -> bool {
        text.starts_with(SCRAM_PREFIX)
    }
}

impl fmt::Display for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCRAM_PREFIX}{}:{}${}:{}",
            self.iterations,
            STANDARD.encode(&self.salt),
            STANDARD.encode(&self.stored_key),
            STANDARD.encode(&self.server_key)
        )
    }
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verifier of the password "secret" with the salt
    /// "0123456789abcdef", computed independently with Python's hashlib.
    const PG_VERIFIER: &str = "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$bpSY5Ze9NUH+I35LC3gVq+DpBfK46iXBxvhAKqVu9pE=:VpYlBuxyzeCI1KnctrefdljpB1mk3Gp7sBI/t11+NkQ=";

    #[test]
    fn round_trips_postgresql_text() {
        let v = ScramVerifier::parse(PG_VERIFIER).unwrap();
        assert_eq!(v.iterations, 4096);
        assert_eq!(v.salt, b"0123456789abcdef");
        assert_eq!(v.to_string(), PG_VERIFIER);
    }

    #[test]
    fn derives_fresh_salts_and_hides_keys() {
        let a = ScramVerifier::from_password("pw").unwrap();
        let b = ScramVerifier::from_password("pw").unwrap();
        assert_eq!(a.iterations, 4096);
        assert_ne!(a.salt, b.salt, "every verifier gets its own salt");
        assert_eq!(ScramVerifier::parse(&a.to_string()), Some(a.clone()));
        let debug = format!("{a:?}");
        assert!(!debug.contains(&STANDARD.encode(&a.stored_key)), "{debug}");
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "secret",
            "SCRAM-SHA-256$",
            "SCRAM-SHA-256$0:c2FsdA==$Ik4o7DGdnLpDObkk0dK7G1Ej/rFj7nK4GC6mFDxbp0o=:3IqIPjy/9pUnKmbd3SRu3mq1PvDvVGo8UsvtQ0e7bJQ=",
            "SCRAM-SHA-256$4096:c2FsdA==$short:3IqIPjy/9pUnKmbd3SRu3mq1PvDvVGo8UsvtQ0e7bJQ=",
            "SCRAM-SHA-256$4096:!!$Ik4o7DGdnLpDObkk0dK7G1Ej/rFj7nK4GC6mFDxbp0o=:3IqIPjy/9pUnKmbd3SRu3mq1PvDvVGo8UsvtQ0e7bJQ=",
        ] {
            assert!(ScramVerifier::parse(bad).is_none(), "{bad}");
        }
    }
}
