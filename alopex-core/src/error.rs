//! One error type for the whole engine.
//!
//! Every failure that comes from bad input or bad bytes on disk is a value of
//! [`Error`], never a panic. Callers match on the variant to decide what to do:
//!
//! * [`Error::Conflict`] — a transaction lost a race; retry it from the start.
//! * [`Error::Corruption`] — a checksum or structural check failed on disk. The
//!   engine never skips corrupt data silently; the operator must act.
//! * [`Error::Io`] — the operating system refused. After a failed WAL write or
//!   fsync the engine *poisons* itself ([`Error::Poisoned`]): we cannot know
//!   what reached the disk, so no further write is acknowledged (the lesson of
//!   "fsyncgate").

use std::path::PathBuf;

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every error the storage engine can return.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// Data on disk failed a checksum or a structural check.
    #[error("corruption in {}: {detail}", path.display())]
    Corruption {
        /// The file that holds the bad bytes.
        path: PathBuf,
        /// What was wrong, and where (offsets, expected vs actual).
        detail: String,
    },

    /// A transaction conflicted with a concurrent committed transaction. The
    /// caller may retry the whole transaction.
    #[error("transaction conflict: {0}")]
    Conflict(String),

    /// The caller passed something the engine cannot accept.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The engine refuses writes after an earlier write or fsync failure.
    #[error("engine refuses writes after an earlier failure: {0}")]
    Poisoned(String),

    /// The engine has been closed.
    #[error("engine is closed")]
    Closed,
}

impl Error {
    /// Builds a [`Error::Corruption`] for `path`.
    pub fn corruption(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Corruption { path: path.into(), detail: detail.into() }
    }

    /// True when retrying the same transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict(_))
    }
}
