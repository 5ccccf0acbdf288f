//! From SQL to [`UserCommand`]: PostgreSQL's `CREATE`/`ALTER`/`DROP`
//! `USER`/`ROLE`.
//!
//! sqlparser reads PostgreSQL's `CREATE ROLE`, `ALTER ROLE`/`ALTER USER`
//! and `DROP ROLE`/`DROP USER`, but its `CREATE USER` is Snowflake's
//! (`name = value` options), on which `CREATE USER alice PASSWORD 'pw'`
//! fails. In PostgreSQL `CREATE USER` is `CREATE ROLE` with `LOGIN` as the
//! default, so the statement splitter (`session/vacuum_syntax.rs`) sends
//! `CREATE USER` here, to sqlparser's own role grammar, and the result is an
//! ordinary `CREATE ROLE` AST with `LOGIN` filled in.
//!
//! Binding keeps what Alopex acts on (the name, `LOGIN`/`NOLOGIN`,
//! `PASSWORD`, `RENAME TO`) and accepts the attributes PostgreSQL scripts
//! routinely carry (`SUPERUSER`, `CREATEDB`, `CREATEROLE`, `INHERIT`,
//! `REPLICATION`, `BYPASSRLS`, `CONNECTION LIMIT`) without acting on them:
//! Alopex has no privileges yet, so every user can do everything. Anything
//! else (`VALID UNTIL`, `IN ROLE`, `SET`) is a clear 0A000.

use sqlparser::ast::{
    AlterRoleOperation, CreateRole, Expr, Ident, ObjectName, Password, RoleOption, Statement, Value as AstValue,
};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

use super::{PasswordChange, ScramVerifier, UserCommand};
use crate::error::{Error, Result};
use crate::sql_err;

/// Parses `CREATE USER …` (the parser stands on `CREATE`) as PostgreSQL's
/// `CREATE ROLE … LOGIN`.
pub(crate) fn parse_create_user(p: &mut Parser<'_>) -> std::result::Result<Statement, ParserError> {
    p.expect_keyword_is(Keyword::CREATE)?;
    p.expect_keyword_is(Keyword::USER)?;
    let mut role = p.parse_create_role()?;
    role.login.get_or_insert(true);
    Ok(Statement::CreateRole(role))
}

/// A role name: unquoted names fold to lower case, as in PostgreSQL.
fn ident(id: &Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

fn object_name(name: &ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => part.as_ident().map(ident).ok_or_else(|| sql_err!(SYNTAX_ERROR, "invalid role name \"{name}\"")),
        _ => Err(sql_err!(SYNTAX_ERROR, "role names cannot be qualified: \"{name}\"")),
    }
}

/// Refuses names PostgreSQL reserves (42939).
fn check_name(name: &str) -> Result<()> {
    let reserved = name.starts_with("pg_") || matches!(name, "public" | "none");
    if reserved {
        return Err(Error::new(crate::SqlState("42939"), format!("role name \"{name}\" is reserved")));
    }
    if name.is_empty() {
        return Err(sql_err!(INVALID_PARAMETER_VALUE, "role name cannot be empty"));
    }
    Ok(())
}

/// `PASSWORD 'text' | NULL`: a verifier as given, a cleartext password to
/// hash when the statement runs, or none.
fn password(p: &Password) -> Result<PasswordChange> {
    let text = match p {
        Password::NullPassword => return Ok(PasswordChange::Clear),
        Password::Password(Expr::Value(v)) => match &v.value {
            AstValue::SingleQuotedString(s) | AstValue::EscapedStringLiteral(s) => s.clone(),
            AstValue::DollarQuotedString(d) => d.value.clone(),
            AstValue::Null => return Ok(PasswordChange::Clear),
            _ => return Err(sql_err!(SYNTAX_ERROR, "PASSWORD takes a string literal")),
        },
        Password::Password(_) => return Err(sql_err!(SYNTAX_ERROR, "PASSWORD takes a string literal")),
    };
    if text.is_empty() {
        // PostgreSQL: "empty string is not a valid password, clearing password".
        return Ok(PasswordChange::Clear);
    }
    if ScramVerifier::is_verifier_text(&text) {
        return ScramVerifier::parse(&text)
            .map(PasswordChange::Verifier)
            .ok_or_else(|| sql_err!(INVALID_PARAMETER_VALUE, "invalid SCRAM-SHA-256 password verifier"));
    }
    if text.len() == 35 && text.starts_with("md5") && text[3..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(sql_err!(FEATURE_NOT_SUPPORTED, "MD5 password hashes are not supported")
            .with_detail("Send the password itself, or a SCRAM-SHA-256 verifier."));
    }
    Ok(PasswordChange::Plain(text))
}

/// The options of `CREATE ROLE`/`ALTER ROLE` that Alopex accepts without
/// acting on (see the module documentation).
fn ignored(option: &RoleOption) -> bool {
    matches!(
        option,
        RoleOption::BypassRLS(_)
            | RoleOption::CreateDB(_)
            | RoleOption::CreateRole(_)
            | RoleOption::Inherit(_)
            | RoleOption::Replication(_)
            | RoleOption::SuperUser(_)
            | RoleOption::ConnectionLimit(_)
    )
}

/// `CREATE ROLE` (and `CREATE USER`, which arrives as one).
pub(crate) fn create(role: &CreateRole) -> Result<UserCommand> {
    let [name] = role.names.as_slice() else {
        return Err(sql_err!(SYNTAX_ERROR, "CREATE ROLE takes one role name"));
    };
    let unsupported = [
        (role.valid_until.is_some(), "VALID UNTIL"),
        (!role.in_role.is_empty() || !role.in_group.is_empty(), "IN ROLE"),
        (!role.role.is_empty() || !role.user.is_empty(), "ROLE"),
        (!role.admin.is_empty(), "ADMIN"),
        (role.authorization_owner.is_some(), "AUTHORIZATION"),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(set, _)| *set) {
        return Err(Error::unsupported(format!("CREATE ROLE … {what}")));
    }
    let name = object_name(name)?;
    check_name(&name)?;
    let password = match &role.password {
        Some(p) => password(p)?,
        None => PasswordChange::Clear,
    };
    Ok(UserCommand::Create { name, login: role.login.unwrap_or(false), password, if_not_exists: role.if_not_exists })
}

/// `ALTER ROLE`/`ALTER USER name [WITH] option …` and `RENAME TO`.
pub(crate) fn alter(name: &Ident, operation: &AlterRoleOperation) -> Result<UserCommand> {
    let name = ident(name);
    let mut login = None;
    let mut new_password = None;
    let mut rename = None;
    match operation {
        AlterRoleOperation::WithOptions { options } => {
            for option in options {
                match option {
                    RoleOption::Login(l) => login = Some(*l),
                    RoleOption::Password(p) => new_password = Some(password(p)?),
                    o if ignored(o) => {}
                    other => return Err(Error::unsupported(format!("ALTER ROLE … {other}"))),
                }
            }
        }
        AlterRoleOperation::RenameRole { role_name } => {
            let to = ident(role_name);
            check_name(&to)?;
            rename = Some(to);
        }
        other => return Err(Error::unsupported(format!("ALTER ROLE … {other}"))),
    }
    Ok(UserCommand::Alter { name, login, password: new_password, rename })
}

/// `DROP ROLE`/`DROP USER [IF EXISTS] name, …`.
pub(crate) fn drop(names: &[ObjectName], if_exists: bool) -> Result<UserCommand> {
    let names = names.iter().map(object_name).collect::<Result<Vec<_>>>()?;
    Ok(UserCommand::Drop { names, if_exists })
}
