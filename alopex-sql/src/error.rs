//! SQL errors with SQLSTATE codes.
//!
//! Every error the SQL layer returns carries a five-character SQLSTATE, so the
//! Postgres wire server can pass it to clients unchanged and drivers can react
//! to the class (`23` integrity, `40` retry, `42` bad statement). Bad input is
//! always an [`Error`] value, never a panic.
//!
//! Storage errors are mapped once, in the `From<alopex_core::Error>` impl:
//! a lost optimistic race becomes `40001 serialization_failure` (retryable),
//! corruption becomes `XX001 data_corrupted`, I/O becomes `58030 io_error`.

use std::fmt;

/// The SQL layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A SQLSTATE code (see the PostgreSQL "Error Codes" appendix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState(pub &'static str);

#[allow(missing_docs)]
impl SqlState {
    pub const SUCCESSFUL_COMPLETION: SqlState = SqlState("00000");
    pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState("0A000");
    pub const CARDINALITY_VIOLATION: SqlState = SqlState("21000");
    pub const DATA_EXCEPTION: SqlState = SqlState("22000");
    pub const STRING_DATA_RIGHT_TRUNCATION: SqlState = SqlState("22001");
    pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState("22003");
    pub const SEQUENCE_GENERATOR_LIMIT_EXCEEDED: SqlState = SqlState("2200H");
    pub const INVALID_DATETIME_FORMAT: SqlState = SqlState("22007");
    pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState("22008");
    pub const DIVISION_BY_ZERO: SqlState = SqlState("22012");
    pub const INVALID_ESCAPE_SEQUENCE: SqlState = SqlState("22025");
    pub const INVALID_PARAMETER_VALUE: SqlState = SqlState("22023");
    pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState("22P02");
    pub const INVALID_JSON_TEXT: SqlState = SqlState("22P05");
    pub const INVALID_BINARY_REPRESENTATION: SqlState = SqlState("22P03");
    pub const NOT_NULL_VIOLATION: SqlState = SqlState("23502");
    pub const FOREIGN_KEY_VIOLATION: SqlState = SqlState("23503");
    pub const UNIQUE_VIOLATION: SqlState = SqlState("23505");
    pub const CHECK_VIOLATION: SqlState = SqlState("23514");
    pub const INVALID_TRANSACTION_STATE: SqlState = SqlState("25000");
    pub const ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25001");
    pub const NO_ACTIVE_SQL_TRANSACTION: SqlState = SqlState("25P01");
    pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState("25P02");
    pub const INVALID_SAVEPOINT_SPECIFICATION: SqlState = SqlState("3B001");
    pub const SERIALIZATION_FAILURE: SqlState = SqlState("40001");
    pub const SYNTAX_ERROR: SqlState = SqlState("42601");
    pub const INSUFFICIENT_PRIVILEGE: SqlState = SqlState("42501");
    pub const UNDEFINED_COLUMN: SqlState = SqlState("42703");
    pub const UNDEFINED_FUNCTION: SqlState = SqlState("42883");
    pub const UNDEFINED_TABLE: SqlState = SqlState("42P01");
    pub const UNDEFINED_OBJECT: SqlState = SqlState("42704");
    pub const UNDEFINED_PARAMETER: SqlState = SqlState("42P02");
    pub const DUPLICATE_COLUMN: SqlState = SqlState("42701");
    pub const DUPLICATE_TABLE: SqlState = SqlState("42P07");
    pub const DUPLICATE_OBJECT: SqlState = SqlState("42710");
    pub const AMBIGUOUS_COLUMN: SqlState = SqlState("42702");
    pub const DATATYPE_MISMATCH: SqlState = SqlState("42804");
    pub const CANNOT_COERCE: SqlState = SqlState("42846");
    pub const GROUPING_ERROR: SqlState = SqlState("42803");
    pub const INVALID_COLUMN_REFERENCE: SqlState = SqlState("42P10");
    pub const INVALID_TABLE_DEFINITION: SqlState = SqlState("42P16");
    pub const UNDEFINED_PREPARED_STATEMENT: SqlState = SqlState("26000");
    pub const PROTOCOL_VIOLATION: SqlState = SqlState("08P01");
    pub const IO_ERROR: SqlState = SqlState("58030");
    pub const INTERNAL_ERROR: SqlState = SqlState("XX000");
    pub const DATA_CORRUPTED: SqlState = SqlState("XX001");
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState("55000");
    pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState("54000");
    pub const QUERY_CANCELED: SqlState = SqlState("57014");
    pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState("22021");
    pub const TOO_MANY_CONNECTIONS: SqlState = SqlState("53300");
    pub const ADMIN_SHUTDOWN: SqlState = SqlState("57P01");
    pub const BAD_COPY_FILE_FORMAT: SqlState = SqlState("22P04");

    /// The five-character code.
    pub fn code(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An error from the SQL layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The SQLSTATE code.
    pub state: SqlState,
    /// A human-readable message (no trailing period, like PostgreSQL).
    pub message: String,
    /// 1-based character position in the statement text, when known.
    pub position: Option<u32>,
    /// A second line of explanation (PostgreSQL's DETAIL field), e.g.
    /// `Key (id)=(1) already exists.`
    pub detail: Option<String>,
    /// (line, column) of the offending SQL, 1-based, as the parser's spans
    /// give it; the session turns it into `position` with the statement text.
    pub(crate) location: Option<(u64, u64)>,
}

impl Error {
    /// An error with `state` and `message`.
    pub fn new(state: SqlState, message: impl Into<String>) -> Error {
        Error { state, message: message.into(), position: None, detail: None, location: None }
    }

    /// The same error pointing at a 1-based character position.
    pub fn at(mut self, position: u32) -> Error {
        self.position = Some(position);
        self
    }

    /// Points the error at a parser location (line, column; 1-based) unless
    /// it already points somewhere more precise.
    pub(crate) fn locate(mut self, location: sqlparser::tokenizer::Location) -> Error {
        if self.position.is_none() && self.location.is_none() && location.line > 0 {
            self.location = Some((location.line, location.column));
        }
        self
    }

    /// Turns a parser location into a character position in `sql`.
    pub(crate) fn resolve_position(mut self, sql: &str) -> Error {
        if let (None, Some((line, column))) = (self.position, self.location.take()) {
            self.position = crate::session::char_offset(sql, line, column);
        }
        self
    }

    /// The same error with a DETAIL line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    /// True when the whole transaction may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        self.state == SqlState::SERIALIZATION_FAILURE
    }

    /// `0A000`: a feature Alopex does not have.
    pub fn unsupported(what: impl fmt::Display) -> Error {
        Error::new(SqlState::FEATURE_NOT_SUPPORTED, format!("{what} is not supported"))
    }

    /// `XX000`: a bug; the message says which invariant broke.
    pub fn internal(what: impl Into<String>) -> Error {
        Error::new(SqlState::INTERNAL_ERROR, what)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.state)?;
        if let Some(p) = self.position {
            write!(f, " at position {p}")?;
        }
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL: {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<alopex_core::Error> for Error {
    fn from(e: alopex_core::Error) -> Error {
        use alopex_core::Error as E;
        let state = match &e {
            E::Conflict(_) => SqlState::SERIALIZATION_FAILURE,
            E::Corruption { .. } => SqlState::DATA_CORRUPTED,
            E::Io(_) | E::Poisoned(_) => SqlState::IO_ERROR,
            E::InvalidArgument(_) => SqlState::INVALID_PARAMETER_VALUE,
            E::Closed => SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
        };
        let message = match &e {
            E::Conflict(_) => format!("could not serialize access due to concurrent update ({e})"),
            _ => e.to_string(),
        };
        Error::new(state, message)
    }
}

/// Builds an [`Error`] from a SQLSTATE constant name and a format string:
/// `sql_err!(UNDEFINED_TABLE, "relation \"{}\" does not exist", name)`.
#[macro_export]
macro_rules! sql_err {
    ($state:ident, $($arg:tt)*) => {
        $crate::error::Error::new($crate::error::SqlState::$state, format!($($arg)*))
    };
}
