//! Where users live: a reserved span of the catalog table.
//!
//! Users are catalog data, so they get what table definitions get for free
//! by living in the key-value store under the catalog's reserved table id
//! 0: `CREATE USER` is transactional (it rolls back with its transaction,
//! two sessions creating the same user conflict on its key), a snapshot
//! sees users as of its timestamp, and the users replicate and back up with
//! the data. They are read on every connection's startup, which is one
//! point lookup (or a one-row scan for "are there any users").
//!
//! ## Format
//!
//! | key                       | value                                         |
//! |---------------------------|-----------------------------------------------|
//! | `/0/4/<user name, UTF-8>` | `[1: format version][flags][verifier text]`   |
//!
//! `flags` bit 0 is LOGIN. The verifier is PostgreSQL's text form
//! (`verifier.rs`), or empty for a user without a password (who cannot log
//! in while authentication is on).

use alopex_core::kv::continue_after;
use alopex_core::{KeyBounds, KvTxn, prefix_range};
use bytes::Bytes;

use super::ScramVerifier;
use crate::catalog::store::CATALOG_TABLE_ID;
use crate::encoding::keycode::{encode_u32, encode_u64};
use crate::encoding::varint::corrupt;
use crate::error::Result;

/// The catalog sub-span holding users (next to tables, 1, and the
/// counters, 2 and 3).
const USERS: u32 = 4;
const FORMAT_VERSION: u8 = 1;
const LOGIN: u8 = 1;
const PAGE: usize = 128;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name, case-sensitive as stored (unquoted SQL names fold to lower case).
    pub name: String,
    /// Whether the user may log in (`LOGIN`; `CREATE USER` implies it).
    pub login: bool,
    /// The password's verifier; `None`: no password, no password login.
    pub verifier: Option<ScramVerifier>,
}

fn span() -> Vec<u8> {
    let mut key = Vec::with_capacity(12);
    encode_u64(CATALOG_TABLE_ID, &mut key);
    encode_u32(USERS, &mut key);
    key
}

fn key(name: &str) -> Bytes {
    let mut key = span();
    key.extend_from_slice(name.as_bytes());
    Bytes::from(key)
}

fn encode(user: &User) -> Bytes {
    let verifier = user.verifier.as_ref().map(ToString::to_string).unwrap_or_default();
    let mut out = Vec::with_capacity(2 + verifier.len());
    out.push(FORMAT_VERSION);
    out.push(if user.login { LOGIN } else { 0 });
    out.extend_from_slice(verifier.as_bytes());
    Bytes::from(out)
}

fn decode(key: &[u8], value: &[u8]) -> Result<User> {
    let prefix = span();
    let name = key
        .strip_prefix(prefix.as_slice())
        .and_then(|n| std::str::from_utf8(n).ok())
        .ok_or_else(|| corrupt("user key is not a UTF-8 name"))?;
    let [version, flags, verifier @ ..] = value else {
        return Err(corrupt(format!("user \"{name}\" has a truncated record")));
    };
    if *version != FORMAT_VERSION {
        return Err(corrupt(format!("user \"{name}\" has record format {version}")));
    }
    let verifier = match std::str::from_utf8(verifier) {
        Ok("") => None,
        Ok(text) => Some(
            ScramVerifier::parse(text).ok_or_else(|| corrupt(format!("user \"{name}\" has an invalid verifier")))?,
        ),
        Err(_) => return Err(corrupt(format!("user \"{name}\" has an invalid verifier"))),
    };
    Ok(User { name: name.to_string(), login: flags & LOGIN != 0, verifier })
}

/// The user called `name`, as the transaction sees it.
pub fn get(txn: &mut dyn KvTxn, name: &str) -> Result<Option<User>> {
    let k = key(name);
    match txn.get(&k)? {
        None => Ok(None),
        Some(value) => decode(&k, &value).map(Some),
    }
}

/// Creates or replaces a user.
pub fn put(txn: &mut dyn KvTxn, user: &User) -> Result<()> {
    txn.put(key(&user.name), encode(user))?;
    Ok(())
}

/// Removes a user.
pub fn delete(txn: &mut dyn KvTxn, name: &str) -> Result<()> {
    txn.delete(key(name))?;
    Ok(())
}

/// Whether any user exists.
pub fn any(txn: &mut dyn KvTxn) -> Result<bool> {
    Ok(!txn.scan(prefix_range(&span()), false, 1)?.is_empty())
}

/// Every user, by name.
pub fn list(txn: &mut dyn KvTxn) -> Result<Vec<User>> {
    let mut users = Vec::new();
    let mut range: KeyBounds = prefix_range(&span());
    loop {
        let page = txn.scan(range.clone(), false, PAGE)?;
        for (k, v) in &page {
            users.push(decode(k, v)?);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => range = continue_after(&range, last, false),
            _ => break,
        }
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use alopex_core::{Engine, IsolationLevel, Options};

    use super::*;
    use crate::error::SqlState;

    fn user(name: &str, password: Option<&str>) -> User {
        User { name: name.into(), login: true, verifier: password.map(|p| ScramVerifier::from_password(p).unwrap()) }
    }

    #[test]
    fn users_persist_roll_back_and_stay_out_of_the_table_span() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        assert!(!any(&mut txn).unwrap());
        put(&mut txn, &user("alice", Some("pw"))).unwrap();
        put(&mut txn, &user("Bob", None)).unwrap();
        txn.commit().unwrap();

        let mut txn = engine.begin(IsolationLevel::Snapshot);
        assert!(any(&mut txn).unwrap());
        let names: Vec<String> = list(&mut txn).unwrap().into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["Bob", "alice"]);
        assert_eq!(get(&mut txn, "bob").unwrap(), None, "names are case-sensitive");
        assert_eq!(get(&mut txn, "Bob").unwrap(), Some(user("Bob", None)));
        assert!(get(&mut txn, "alice").unwrap().unwrap().verifier.is_some());
        // The catalog's table definitions are not confused by users.
        assert_eq!(crate::catalog::store::load(&mut txn).unwrap().tables().count(), 0);
        delete(&mut txn, "alice").unwrap();
        txn.rollback().unwrap();

        let mut txn = engine.begin(IsolationLevel::Snapshot);
        assert!(get(&mut txn, "alice").unwrap().is_some(), "the rolled-back drop left the user");
    }

    #[test]
    fn corrupt_records_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), Options::small_for_tests()).unwrap();
        let mut txn = engine.begin(IsolationLevel::Snapshot);
        for bad in [&b""[..], b"\x02\x01", b"\x01\x01SCRAM-SHA-256$nonsense"] {
            txn.put(key("x"), Bytes::copy_from_slice(bad)).unwrap();
            assert_eq!(get(&mut txn, "x").unwrap_err().state, SqlState::DATA_CORRUPTED);
        }
    }
}
