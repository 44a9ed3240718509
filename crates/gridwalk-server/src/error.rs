//! Errors of the store and the server library.

use crate::db::DbError;
use gridwalk_protocol::ProblemCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A client-visible refusal with its problem code.
    #[error("{code}: {detail}")]
    Problem { code: ProblemCode, detail: String },
    /// An administrator's input is wrong (CLI).
    #[error("{0}")]
    Invalid(String),
    /// Blob storage failed.
    #[error("blob store: {0}")]
    Blob(String),
    /// Local file I/O failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// Data in the database cannot be read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// A client-visible problem.
    pub fn problem(code: ProblemCode, detail: impl Into<String>) -> StoreError {
        StoreError::Problem {
            code,
            detail: detail.into(),
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
}
