//! Users: `CREATE USER … PASSWORD`, kept as SCRAM-SHA-256 verifiers.
//!
//! A server authenticates its clients against these users (see
//! `alopex-server/src/pg/auth.rs`); the SQL engine only keeps them. The
//! pieces, in the order a statement meets them:
//!
//! 1. **Syntax** (`syntax.rs`): PostgreSQL's `CREATE USER|ROLE`, `ALTER
//!    USER|ROLE … [WITH] PASSWORD 'pw' | LOGIN | NOLOGIN | RENAME TO` and
//!    `DROP USER|ROLE [IF EXISTS]` become a [`UserCommand`], bound like any
//!    other DDL into [`crate::plan::BoundStatement::User`].
//! 2. **Password** (`verifier.rs`): a cleartext password is turned into a
//!    [`ScramVerifier`] when the statement runs and is never stored; a
//!    password that already is a verifier (`SCRAM-SHA-256$…`, what psql's
//!    `\password` sends) is stored as given.
//! 3. **Storage** (`store.rs`): one key per user under the catalog's
//!    reserved span, written in the statement's transaction, so user DDL
//!    commits, rolls back and conflicts like table DDL.
//!
//! The errors are PostgreSQL's: an existing name is `42710`, a missing one
//! `42704`, a reserved name (`pg_…`, `public`) `42939`, dropping the user
//! the session is logged in as `55006`.
//!
//! The session knows who it is ([`crate::Session::set_user`]);
//! `current_user` and `session_user` answer that name, read through the
//! session's settings (`session_authorization`) so a plan holding it is
//! never cached across sessions.

mod roles;
mod store;
mod syntax;
mod verifier;

use std::fmt;

use alopex_core::{IsolationLevel, KvTxn, TxnOptions};

pub(crate) use roles::ConfiguredRoles;
pub use roles::{Role, owner_only, role_oid};
pub use store::User;
pub(crate) use syntax::{alter as bind_alter, create as bind_create, drop as bind_drop, parse_create_user};
pub use verifier::{SCRAM_PREFIX, ScramVerifier};

use crate::database::Database;
use crate::error::{Error, Result, SqlState};
use crate::expr::Expr;
use crate::plan::bind::Binder;
use crate::sql_err;
use crate::types::Value;

/// The name a session reports before any login sets one (the embedded
/// database's user, and the database's owner in `pg_catalog`).
pub const DEFAULT_USER: &str = "alopex";

/// A change of password in a user statement.
#[derive(Clone, PartialEq)]
pub enum PasswordChange {
    /// `PASSWORD NULL` (or `''`, or none given at creation): no password.
    Clear,
    /// A cleartext password, hashed when the statement runs.
    Plain(String),
    /// A verifier the client computed.
    Verifier(ScramVerifier),
}

impl fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordChange::Clear => f.write_str("Clear"),
            PasswordChange::Plain(_) => f.write_str("Plain(<redacted>)"),
            PasswordChange::Verifier(v) => write!(f, "Verifier({v:?})"),
        }
    }
}

impl PasswordChange {
    fn verifier(&self) -> Result<Option<ScramVerifier>> {
        Ok(match self {
            PasswordChange::Clear => None,
            PasswordChange::Plain(p) => Some(ScramVerifier::from_password(p)?),
            PasswordChange::Verifier(v) => Some(v.clone()),
        })
    }
}

/// A bound user statement.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// `CREATE USER|ROLE`.
    Create {
        /// The new user's name.
        name: String,
        /// LOGIN (the default of `CREATE USER`, not of `CREATE ROLE`).
        login: bool,
        /// Its password.
        password: PasswordChange,
        /// IF NOT EXISTS.
        if_not_exists: bool,
    },
    /// `ALTER USER|ROLE`.
    Alter {
        /// The user.
        name: String,
        /// LOGIN / NOLOGIN, when given.
        login: Option<bool>,
        /// PASSWORD, when given.
        password: Option<PasswordChange>,
        /// RENAME TO.
        rename: Option<String>,
    },
    /// `DROP USER|ROLE`.
    Drop {
        /// The users.
        names: Vec<String>,
        /// IF EXISTS.
        if_exists: bool,
    },
}

fn undefined(name: &str) -> Error {
    sql_err!(UNDEFINED_OBJECT, "role \"{name}\" does not exist")
}

fn duplicate(name: &str) -> Error {
    sql_err!(DUPLICATE_OBJECT, "role \"{name}\" already exists")
}

/// Runs a user statement in `txn` for a session logged in as
/// `session_user`; returns the command tag (PostgreSQL's, which says ROLE
/// for users too).
pub(crate) fn execute(txn: &mut dyn KvTxn, cmd: &UserCommand, session_user: &str) -> Result<&'static str> {
    match cmd {
        UserCommand::Create { name, login, password, if_not_exists } => {
            if store::get(txn, name)?.is_some() {
                if *if_not_exists {
                    return Ok("CREATE ROLE");
                }
                return Err(duplicate(name));
            }
            store::put(txn, &User { name: name.clone(), login: *login, verifier: password.verifier()? })?;
            Ok("CREATE ROLE")
        }
        UserCommand::Alter { name, login, password, rename } => {
            let mut user = store::get(txn, name)?.ok_or_else(|| undefined(name))?;
            if let Some(login) = login {
                user.login = *login;
            }
            if let Some(password) = password {
                user.verifier = password.verifier()?;
            }
            if let Some(to) = rename {
                if name == session_user {
                    return Err(Error::new(SqlState("0A000"), "session user cannot be renamed"));
                }
                if store::get(txn, to)?.is_some() {
                    return Err(duplicate(to));
                }
                store::delete(txn, name)?;
                user.name = to.clone();
            }
            store::put(txn, &user)?;
            Ok("ALTER ROLE")
        }
        UserCommand::Drop { names, if_exists } => {
            for name in names {
                if store::get(txn, name)?.is_none() {
                    if *if_exists {
                        continue;
                    }
                    return Err(undefined(name));
                }
                if name == session_user {
                    return Err(Error::new(SqlState("55006"), "current user cannot be dropped"));
                }
                store::delete(txn, name)?;
            }
            Ok("DROP ROLE")
        }
    }
}

impl Database {
    /// Reads with a short read-only transaction of its own.
    fn read_users<T>(&self, read: impl FnOnce(&mut dyn KvTxn) -> Result<T>) -> Result<T> {
        let mut txn = self.shared.store.begin_txn(TxnOptions { isolation: IsolationLevel::Snapshot })?;
        let out = read(&mut *txn);
        let _ = txn.rollback();
        out
    }

    /// The committed user called `name` (case-sensitive), if any.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        self.read_users(|txn| store::get(txn, name))
    }

    /// Whether any user has been created (a server turns authentication
    /// on from then on).
    pub fn has_users(&self) -> Result<bool> {
        self.read_users(store::any)
    }

    /// Every committed user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        self.read_users(store::list)
    }
}

impl Binder<'_> {
    /// `current_user`, `session_user`, `user`, `current_role`: the
    /// session's user, read through its settings so the plan is not cached
    /// for other sessions. `None` for any other name.
    pub(crate) fn session_user_function(&mut self, name: &str, nargs: usize) -> Option<Expr> {
        if nargs != 0 || !matches!(name, "current_user" | "session_user" | "user" | "current_role") {
            return None;
        }
        self.settings_use.used = true;
        let user = self.settings.and_then(|lookup| lookup("session_authorization"));
        let value = Value::text(user.unwrap_or_else(|| DEFAULT_USER.to_string()));
        let ty = value.data_type();
        Some(Expr::Literal(value, ty))
    }
}

#[cfg(test)]
mod tests;
