//! SQL errors as Postgres wire ErrorResponses.
//!
//! `alopex-sql` errors already carry what PostgreSQL sends: a SQLSTATE, a
//! message without a trailing period, an optional DETAIL and a 1-based
//! character position into the statement. They pass through unchanged, so
//! a client's error handling (retry on 40001, report 23505 as a duplicate)
//! works as it does against PostgreSQL.

use alopex_sql::Error;
use pgwire::error::{ErrorInfo, PgWireError};

/// The ErrorResponse fields of `e`.
pub fn error_info(e: &Error) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_string(), e.state.code().to_string(), e.message.clone());
    info.detail = e.detail.clone();
    info.position = e.position.map(|p| p.to_string());
    info
}

/// `e` as a pgwire error that is reported to the client, not a protocol
/// failure.
pub fn user_error(e: Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(&e)))
}

#[cfg(test)]
mod tests {
    use alopex_sql::SqlState;

    use super::*;

    #[test]
    fn sqlstate_message_and_position_pass_through() {
        let mut e = Error::new(SqlState::UNIQUE_VIOLATION, "duplicate key value violates unique constraint \"t_pkey\"");
        e.detail = Some("Key (id)=(1) already exists.".into());
        e.position = Some(8);
        let info = error_info(&e);
        assert_eq!((info.severity.as_str(), info.code.as_str()), ("ERROR", "23505"));
        assert_eq!(info.detail.as_deref(), Some("Key (id)=(1) already exists."));
        assert_eq!(info.position.as_deref(), Some("8"));
    }
}
