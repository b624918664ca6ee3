//! Sync errors. Each says which peer, file or message it is about; a peer's misbehaviour ends
//! that connection (or refuses that one file), never the process.

use hearth_core::{ErrorKind, Kinded};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A device id that is not one.
    #[error("{0:?} is not a device id: {1}")]
    BadDeviceId(String, &'static str),
    /// The peer broke the protocol (bad magic, bad frame, unknown message, absurd size).
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The peer is not who we expected, or not paired.
    #[error("device {0} is not the expected peer")]
    UnexpectedPeer(String),
    /// TLS setup or handshake failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// Identity files could not be made or read.
    #[error("device identity ({path}): {detail}")]
    Identity {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A `.stignore` that cannot be used (the folder keeps its previous patterns).
    #[error(".stignore: {0}")]
    BadIgnore(String),
    /// A folder setting or request that cannot be honoured.
    #[error("{0}")]
    Invalid(String),
    /// The catalog failed.
    #[error("catalog: {0}")]
    Catalog(#[from] hearth_catalog::CatalogError),
    /// Network or disk.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl SyncError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        SyncError::Io { what: what.into(), source }
    }
}

impl Kinded for SyncError {
    fn kind(&self) -> ErrorKind {
        match self {
            SyncError::BadDeviceId(..) => ErrorKind::InvalidInput,
            SyncError::Protocol(_) => ErrorKind::Corrupt,
            SyncError::UnexpectedPeer(_) => ErrorKind::Unauthenticated,
            SyncError::Tls(_) => ErrorKind::Unavailable,
            SyncError::Identity { .. } => ErrorKind::Internal,
            SyncError::BadIgnore(_) | SyncError::Invalid(_) => ErrorKind::InvalidInput,
            SyncError::Catalog(e) => e.kind(),
            SyncError::Io { source, .. } => ErrorKind::of_io(source),
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, SyncError>;
