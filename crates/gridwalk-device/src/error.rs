//! Errors of the device store.

use std::path::PathBuf;

/// Anything that can go wrong opening or using the device database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer GridWalk than this one.
    #[error("database schema version {found} is newer than this program knows ({known}); upgrade GridWalk")]
    SchemaTooNew { found: i64, known: i64 },
    /// A migration failed; the database stays at the previous version.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: rusqlite::Error,
    },
    /// The file could not be opened.
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The database's key is missing, wrong, or cannot be kept ([`crate::db_key`]).
    #[error("database {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    /// A record the caller named does not exist.
    #[error("{what} not found: {key}")]
    NotFound { what: &'static str, key: String },
    /// Stored data that does not parse (written by something else, or corrupted).
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        detail: String,
    },
    /// The search query was refused.
    #[error("invalid search: {0}")]
    Query(#[from] gridwalk_core::search::QueryError),
    /// A record the caller named lies outside the acting user's jurisdiction
    /// ([`crate::jurisdiction`]).
    #[error("{what} {key} is outside the jurisdiction {jurisdiction}")]
    OutsideJurisdiction {
        what: &'static str,
        key: String,
        jurisdiction: String,
    },
}

impl StoreError {
    /// Stable machine-readable code (`store.not_found`, …) for the CLI's JSON and the app's IPC.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Sqlite(_) => "store.sqlite",
            StoreError::SchemaTooNew { .. } => "store.schema_too_new",
            StoreError::Migration { .. } => "store.migration_failed",
            StoreError::Open { .. } => "store.open_failed",
            StoreError::Key { .. } => "store.key",
            StoreError::NotFound { .. } => "store.not_found",
            StoreError::Corrupt { .. } => "store.corrupt",
            StoreError::Query(_) => "store.bad_query",
            StoreError::OutsideJurisdiction { .. } => "store.outside_jurisdiction",
        }
    }
}
