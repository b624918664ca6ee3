//! The catalog's error type.

use std::path::PathBuf;

use hearth_core::{ErrorKind, Kinded};

/// What can go wrong with the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file is not a SQLite database or fails its integrity check.
    #[error("the catalog {path} is damaged: {detail}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What the check found.
        detail: String,
    },
    /// The schema is newer than this build knows.
    #[error("the catalog {path} was written by a newer Hearth (schema {found}; this version knows up to {known})")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest schema this build knows.
        known: i64,
    },
    /// A migration failed; the database stays at the version before it.
    #[error("updating the catalog to schema {version} failed: {source}")]
    Migration {
        /// The migration that failed.
        version: i64,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The disk holding the catalog is full.
    #[error("the data disk is full; the catalog could not be written")]
    DiskFull,
    /// The database is locked by another process for longer than the busy timeout.
    #[error("the catalog is busy (another Hearth process may be running on the same data folder)")]
    Busy,
    /// A uniqueness rule was broken (a user name that exists).
    #[error("{0}")]
    Conflict(String),
    /// The record does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A value the caller gave cannot be stored (it says which and why).
    #[error("{0}")]
    Invalid(String),
    /// The file cannot be opened or written (permissions, read-only disk).
    #[error("cannot open the catalog {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The OS or SQLite error.
        source: rusqlite::Error,
    },
    /// Any other SQLite failure.
    #[error("catalog error: {0}")]
    Sqlite(rusqlite::Error),
    /// A file beside the catalog (a copy of it) could not be written or moved.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for CatalogError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => CatalogError::DiskFull,
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => CatalogError::Busy,
            Some(ErrorCode::ConstraintViolation) => CatalogError::Conflict(constraint_message(&e)),
            _ => CatalogError::Sqlite(e),
        }
    }
}

fn constraint_message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("UNIQUE") => "that name is already taken".into(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => format!("the change breaks a rule of the catalog ({msg})"),
        _ => "the change breaks a rule of the catalog".into(),
    }
}

impl Kinded for CatalogError {
    fn kind(&self) -> ErrorKind {
        match self {
            CatalogError::Corrupt { .. } => ErrorKind::Corrupt,
            CatalogError::TooNew { .. } => ErrorKind::Incompatible,
            CatalogError::DiskFull => ErrorKind::StorageFull,
            CatalogError::Busy => ErrorKind::Unavailable,
            CatalogError::Conflict(_) => ErrorKind::Conflict,
            CatalogError::NotFound(_) => ErrorKind::NotFound,
            CatalogError::Invalid(_) => ErrorKind::InvalidInput,
            CatalogError::Open { source, .. } => match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::ReadOnly)
                | Some(rusqlite::ErrorCode::PermissionDenied)
                | Some(rusqlite::ErrorCode::CannotOpen) => ErrorKind::PermissionDenied,
                _ => ErrorKind::Internal,
            },
            CatalogError::Migration { .. } | CatalogError::Sqlite(_) => ErrorKind::Internal,
            CatalogError::Io { source, .. } => ErrorKind::of_io(source),
        }
    }

    fn guidance(&self) -> Option<String> {
        match self {
            CatalogError::Corrupt { path, .. } => Some(format!(
                "Hearth will not touch it. Stop Hearth, keep a copy of {p} (and {p}-wal if present), then restore the catalog from a backup, or move the file away to start with an empty catalog; files in the data folder are not affected",
                p = path.display()
            )),
            CatalogError::TooNew { .. } => Some(
                "install the newer Hearth again (an update may have been rolled back), or restore a catalog backup made by this version"
                    .into(),
            ),
            CatalogError::DiskFull => Some("free some space on the data disk; nothing was lost, the last change was not saved".into()),
            CatalogError::Busy => Some("make sure only one hearthd uses this data folder".into()),
            CatalogError::Open { path, .. } => {
                Some(format!("check that {} and its folder are writable by the user running hearthd", path.display()))
            }
            _ => None,
        }
    }
}
