//! The backup engine's errors. Messages name the object or path they are about; a damaged
//! object is reported with its type and name so `check` and `restore` can say what it affects.

use std::path::PathBuf;

use hearth_core::{ErrorKind, Kinded};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No key file opens with the password.
    #[error("wrong password: no key of this repository opens with it")]
    WrongPassword,
    /// The repository was written by a newer format.
    #[error("this repository uses format version {found}; this Hearth reads version {known}: install a newer Hearth to use it")]
    NewerFormat {
        /// Version in the repository.
        found: u32,
        /// Version this build knows.
        known: u32,
    },
    /// No repository at the location.
    #[error("no backup repository at {0} (create one with `hearth backup init`)")]
    NoRepository(String),
    /// A repository already exists where `init` was asked to make one.
    #[error("a backup repository already exists at {0}")]
    AlreadyExists(String),
    /// An object failed verification (name, authentication tag, structure).
    #[error("{kind}/{name} is damaged: {detail}")]
    Damaged {
        /// Object type.
        kind: &'static str,
        /// Object name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A blob the snapshot needs is in no index.
    #[error("blob {0} is missing from the repository")]
    MissingBlob(String),
    /// An invalid parameter or argument.
    #[error("{0}")]
    Invalid(String),
    /// The repository is locked by another process.
    #[error(
        "the repository is locked by {holder} (until {expires}); if that process is gone, run again with --remove-stale-locks after it expires"
    )]
    Locked {
        /// Host and pid.
        holder: String,
        /// When the lock expires.
        expires: String,
    },
    /// Storage failed.
    #[error("storage error on {what}: {source}")]
    Io {
        /// The object or path.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The caller asked the operation to stop (shutdown); what was stored stays valid.
    #[error("stopped before the end (the box is shutting down); the next run continues where this one stopped")]
    Cancelled,
    /// The catalog (the backup service's targets, jobs and runs) failed.
    #[error(transparent)]
    Catalog(#[from] hearth_catalog::CatalogError),
    /// A source file could not be read (the snapshot records it and continues).
    #[error("cannot read {path}: {source}")]
    Source {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl BackupError {
    /// A damaged-object error.
    pub fn damaged(kind: &'static str, name: impl Into<String>, detail: impl Into<String>) -> Self {
        BackupError::Damaged { kind, name: name.into(), detail: detail.into() }
    }

    /// An I/O error about `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        BackupError::Io { what: what.into(), source }
    }
}

impl Kinded for BackupError {
    fn kind(&self) -> ErrorKind {
        match self {
            BackupError::WrongPassword => ErrorKind::Unauthenticated,
            BackupError::NewerFormat { .. } => ErrorKind::Incompatible,
            BackupError::NoRepository(_) => ErrorKind::NotFound,
            BackupError::AlreadyExists(_) => ErrorKind::Conflict,
            BackupError::Damaged { .. } | BackupError::MissingBlob(_) => ErrorKind::Corrupt,
            BackupError::Invalid(_) => ErrorKind::InvalidInput,
            BackupError::Locked { .. } | BackupError::Cancelled => ErrorKind::Unavailable,
            BackupError::Io { source, .. } | BackupError::Source { source, .. } => ErrorKind::of_io(source),
            BackupError::Catalog(e) => e.kind(),
        }
    }

    fn guidance(&self) -> Option<String> {
        match self {
            BackupError::Damaged { .. } | BackupError::MissingBlob(_) => {
                Some("run `hearth backup check --read-data` to see which snapshots and files are affected; files that do not use the damaged object can still be restored".into())
            }
            BackupError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                Some("free space on the backup target; what was stored so far stays valid and is reused next time".into())
            }
            _ => None,
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, BackupError>;
