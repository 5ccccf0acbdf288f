//! User statements through SQL, as an embedded caller or a server runs them.

use super::*;
use crate::{Session, StatementResult};

fn state(session: &mut Session, sql: &str) -> SqlState {
    session.execute(sql, &[]).unwrap_err().state
}

fn one(session: &mut Session, sql: &str) -> Value {
    match session.run(sql, &[]).unwrap().pop() {
        Some(StatementResult::Rows { mut rows, .. }) => rows.remove(0).remove(0),
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn create_alter_drop_with_postgres_errors() {
    let db = Database::open_in_memory();
    let mut s = db.session();
    assert!(!db.has_users().unwrap());
    s.execute("CREATE USER alice WITH PASSWORD 'pw1'", &[]).unwrap();
    s.execute("CREATE USER \"Bob\" PASSWORD 'pw2'", &[]).unwrap();
    s.execute("CREATE ROLE carol LOGIN PASSWORD 'pw3'", &[]).unwrap();
    s.execute("CREATE ROLE readers", &[]).unwrap();
    assert!(db.has_users().unwrap());

    let alice = db.user("alice").unwrap().unwrap();
    assert!(alice.login);
    let first = alice.verifier.clone().unwrap();
    assert!(first.to_string().starts_with("SCRAM-SHA-256$4096:"));
    assert!(db.user("Bob").unwrap().is_some() && db.user("bob").unwrap().is_none());
    assert!(db.user("carol").unwrap().unwrap().login);
    let readers = db.user("readers").unwrap().unwrap();
    assert!(!readers.login && readers.verifier.is_none(), "CREATE ROLE is NOLOGIN by default");

    assert_eq!(state(&mut s, "CREATE USER ALICE PASSWORD 'x'"), SqlState::DUPLICATE_OBJECT);
    s.execute("CREATE USER IF NOT EXISTS alice PASSWORD 'x'", &[]).unwrap();
    assert_eq!(db.user("alice").unwrap().unwrap().verifier, Some(first.clone()), "IF NOT EXISTS changed nothing");
    assert_eq!(state(&mut s, "ALTER USER nobody PASSWORD 'x'"), SqlState::UNDEFINED_OBJECT);
    assert_eq!(state(&mut s, "DROP USER nobody"), SqlState::UNDEFINED_OBJECT);
    assert_eq!(state(&mut s, "CREATE USER pg_monitor2 PASSWORD 'x'"), SqlState("42939"));
    assert_eq!(
        state(&mut s, "CREATE USER md PASSWORD 'md5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"),
        SqlState::FEATURE_NOT_SUPPORTED
    );
    assert_eq!(state(&mut s, "CREATE USER v PASSWORD 'SCRAM-SHA-256$broken'"), SqlState::INVALID_PARAMETER_VALUE);

    s.execute("ALTER USER alice WITH PASSWORD 'new'", &[]).unwrap();
    assert_ne!(db.user("alice").unwrap().unwrap().verifier, Some(first));
    s.execute("ALTER ROLE readers LOGIN", &[]).unwrap();
    assert!(db.user("readers").unwrap().unwrap().login);
    s.execute("ALTER USER carol RENAME TO dave", &[]).unwrap();
    assert!(db.user("carol").unwrap().is_none() && db.user("dave").unwrap().is_some());
    assert_eq!(state(&mut s, "ALTER USER dave RENAME TO alice"), SqlState::DUPLICATE_OBJECT);
    s.execute("ALTER USER dave PASSWORD NULL", &[]).unwrap();
    assert!(db.user("dave").unwrap().unwrap().verifier.is_none());

    s.execute("DROP USER IF EXISTS nobody, dave", &[]).unwrap();
    s.execute("DROP ROLE readers", &[]).unwrap();
    let names: Vec<String> = db.users().unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["Bob", "alice"]);
}

#[test]
fn a_verifier_given_as_the_password_is_stored_as_is() {
    let db = Database::open_in_memory();
    let verifier = ScramVerifier::from_password("hashed on the client").unwrap().to_string();
    db.execute(&format!("CREATE USER eve PASSWORD '{verifier}'"), &[]).unwrap();
    let stored = db.user("eve").unwrap().unwrap().verifier.unwrap();
    assert_eq!(stored.to_string(), verifier);
}

#[test]
fn user_statements_are_transactional() {
    let db = Database::open_in_memory();
    let mut s = db.session();
    s.execute("BEGIN", &[]).unwrap();
    s.execute("CREATE USER tx PASSWORD 'pw'", &[]).unwrap();
    assert!(!db.has_users().unwrap(), "not visible before commit");
    s.execute("ROLLBACK", &[]).unwrap();
    assert!(!db.has_users().unwrap());
    s.execute("BEGIN; CREATE USER tx PASSWORD 'pw'; COMMIT", &[]).unwrap();
    assert!(db.user("tx").unwrap().is_some());
}

#[test]
fn current_user_is_the_session_user() {
    let db = Database::open_in_memory();
    db.execute("CREATE USER alice PASSWORD 'pw'", &[]).unwrap();
    let mut anonymous = db.session();
    let mut alice = db.session();
    alice.set_user("alice");
    // Same SQL text in two sessions: the plan must not be shared.
    assert_eq!(one(&mut anonymous, "SELECT current_user"), Value::text(DEFAULT_USER));
    assert_eq!(one(&mut alice, "SELECT current_user"), Value::text("alice"));
    assert_eq!(one(&mut alice, "SELECT session_user"), Value::text("alice"));
    assert_eq!(one(&mut alice, "SHOW session_authorization"), Value::text("alice"));
    assert_eq!(one(&mut anonymous, "SELECT current_user"), Value::text(DEFAULT_USER));
    assert_eq!(state(&mut alice, "DROP USER alice"), SqlState("55006"));
    anonymous.execute("DROP USER alice", &[]).unwrap();
}

#[test]
fn users_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        db.execute("CREATE USER alice PASSWORD 'pw'", &[]).unwrap();
        db.close().unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let alice = db.user("alice").unwrap().unwrap();
    assert!(alice.login && alice.verifier.is_some());
}
