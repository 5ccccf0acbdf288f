//! Roles as `pg_catalog` shows them: `pg_roles`, `pg_user`, `pg_authid`.
//!
//! psql's `\du`, pgJDBC's and SQLAlchemy's role queries read these views,
//! so they must list who can really connect. Three sources make that list:
//!
//! 1. the database owner, [`DEFAULT_USER`] (`alopex`, OID 10, PostgreSQL's
//!    bootstrap superuser OID), who owns every object in the other views;
//! 2. the users `CREATE USER` stored (`store.rs`), committed ones, read
//!    with a short snapshot of their own;
//! 3. the users the server was configured with (`[[users]]` in its config
//!    file), which live outside the database: the server hands their names
//!    over once at startup ([`Database::set_configured_roles`]).
//!
//! A name in several sources is listed once; a configured user wins over a
//! stored one (the server checks the config file first at login), both
//! over the owner. The attributes are the ones Alopex really has: there are no
//! privileges yet (no `GRANT`), so every user can do everything and is a
//! superuser (`rolsuper`, `rolcreaterole`, `rolcreatedb`, `rolbypassrls`
//! true); `rolcanlogin` is the stored LOGIN flag, true for configured
//! users, and for the owner only while no user exists (the server's
//! default rule: trust until users exist, then SCRAM, and the owner has no
//! password unless a user of that name is created). Passwords never show:
//! `rolpassword` is
//! `********` when a password is set, as in PostgreSQL's `pg_roles`.
//!
//! The rows are live. The binder reads them when a statement names one of
//! these views and marks the statement uncacheable (as it does for
//! `current_setting` and the `system` tables), so a user created or
//! dropped a moment ago shows in the very next query without any catalog
//! version bump. One gap remains: the list is read outside the session's
//! transaction, so a `CREATE USER` not yet committed does not show in its
//! own transaction's `\du`.
//!
//! OIDs are derived from the name (FNV-1a, folded above 16384, where
//! PostgreSQL's user-created OIDs start), so a client that carries a role
//! OID from one query to the next finds the same role.

use parking_lot::RwLock;

use crate::database::Database;
use crate::error::Result;

use super::DEFAULT_USER;

/// One role as the `pg_catalog` role views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The name, case-sensitive.
    pub name: String,
    /// The role's OID (see the module documentation).
    pub oid: i64,
    /// `rolsuper` (and the other privilege attributes): every role, since
    /// Alopex has no privileges to withhold.
    pub superuser: bool,
    /// `rolcanlogin`.
    pub login: bool,
    /// Whether a password (verifier) is set.
    pub has_password: bool,
}

/// The configured (config-file) role names of one database, set by the
/// server at startup.
#[derive(Default)]
pub(crate) struct ConfiguredRoles(RwLock<Vec<String>>);

/// The OID the views give the role called `name`.
pub fn role_oid(name: &str) -> i64 {
    if name == DEFAULT_USER {
        return 10;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    // 16384 and up, below 2^31 (OIDs are unsigned 32-bit in PostgreSQL).
    16_384 + i64::from(hash % 0x7fff_0000)
}

/// The owner alone: the role list when no database is at hand.
pub fn owner_only() -> Vec<Role> {
    vec![Role { name: DEFAULT_USER.to_string(), oid: 10, superuser: true, login: true, has_password: false }]
}

impl Database {
    /// Tells the database which users the server's configuration defines
    /// (outside SQL), so `pg_roles` lists them too. Replaces earlier names.
    pub fn set_configured_roles(&self, names: Vec<String>) {
        *self.shared.configured_roles.0.write() = names;
    }

    /// Every role `pg_roles` lists, by name (see the module documentation).
    pub fn roles(&self) -> Result<Vec<Role>> {
        let mut roles: std::collections::BTreeMap<String, Role> =
            owner_only().into_iter().map(|r| (r.name.clone(), r)).collect();
        let configured = self.shared.configured_roles.0.read().clone();
        let users = self.users()?;
        if !configured.is_empty() || !users.is_empty() {
            // Passwords are required from now on (the server's default
            // rule), and the owner has none unless a user of that name
            // exists (which replaces this entry below).
            for owner in roles.values_mut() {
                owner.login = false;
            }
        }
        for user in users {
            let role = Role {
                oid: role_oid(&user.name),
                superuser: true,
                login: user.login,
                has_password: user.verifier.is_some(),
                name: user.name.clone(),
            };
            roles.insert(user.name, role);
        }
        for name in &configured {
            let role =
                Role { name: name.clone(), oid: role_oid(name), superuser: true, login: true, has_password: true };
            roles.insert(name.clone(), role);
        }
        Ok(roles.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_configured_and_created_roles_are_listed_once() {
        let db = Database::open_in_memory();
        let names = |db: &Database| db.roles().unwrap().into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(names(&db), ["alopex"]);
        assert!(db.roles().unwrap()[0].login, "the owner logs in while no user exists");
        db.set_configured_roles(vec!["filer".into(), "app".into()]);
        let mut s = db.session();
        s.execute("CREATE USER app PASSWORD 'pw'", &[]).unwrap();
        s.execute("CREATE ROLE reader", &[]).unwrap();
        assert_eq!(names(&db), ["alopex", "app", "filer", "reader"]);
        let roles = db.roles().unwrap();
        let reader = roles.iter().find(|r| r.name == "reader").unwrap();
        assert!(!reader.login && !reader.has_password && reader.superuser);
        assert!(!roles[0].login, "the owner has no password once users exist");
        let app = roles.iter().find(|r| r.name == "app").unwrap();
        assert!(app.login && app.has_password);
        assert_eq!(app.oid, role_oid("app"));
        assert_ne!(app.oid, role_oid("filer"));
        assert!(roles.iter().all(|r| r.oid == 10 || (16_384..1 << 31).contains(&r.oid)));
    }
}
