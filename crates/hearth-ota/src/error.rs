//! The crate's one error type (the rules: hearth-core's `error` module). Every refusal of a
//! bundle or a channel says why in words a family can act on, and leaves the running slot as it
//! was.

use std::io;

use hearth_core::error::{ErrorKind, Kinded};

/// Result with [`OtaError`].
pub type Result<T, E = OtaError> = std::result::Result<T, E>;

/// Why an update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum OtaError {
    /// The file does not start like a bundle.
    #[error("this is not a Hearth update bundle")]
    NotABundle,
    /// A bundle format this system does not read.
    #[error("this update bundle has format {0}; this system reads format 1")]
    UnknownFormat(u32),
    /// The manifest length is out of bounds.
    #[error("this update bundle's manifest is {0} bytes long, more than allowed")]
    ManifestTooLarge(u64),
    /// The bundle ended before its payload did.
    #[error("the update bundle ends early ({got} of {expected} bytes): the download was cut short or the file is incomplete")]
    Truncated { expected: u64, got: u64 },
    /// Bytes after the payload.
    #[error("the update bundle has bytes after its end")]
    TrailingBytes,
    /// Signed by a key this image does not trust (or not signed at all).
    #[error("the update is signed by a key this box does not trust (key {0})")]
    UnknownKey(String),
    /// The signature does not match the manifest.
    #[error("the update's signature does not match its contents: it was altered or damaged")]
    BadSignature,
    /// The (signed) manifest breaks a rule of the format.
    #[error("the update bundle's manifest is not valid: {0}")]
    InvalidManifest(String),
    /// Built for other boards.
    #[error("this update is for {boards} and this box is a {board}")]
    WrongBoard { board: String, boards: String },
    /// Older than the running system.
    #[error("this update holds version {bundle}, older than the running {running}")]
    Older { running: String, bundle: String },
    /// The running system is too old to go straight to it.
    #[error("version {bundle} needs at least version {min} running first; this box runs {running}")]
    NeedsNewer { running: String, min: String, bundle: String },
    /// The image does not fit the slot.
    #[error("the update's system is {image} bytes, more than its slot's {slot}")]
    TooBig { image: u64, slot: u64 },
    /// A chunk whose bytes do not match the signed hash.
    #[error("part {index} of the update does not match its signed hash: the bundle was altered or damaged")]
    ChunkMismatch { index: usize },
    /// The written slot does not read back as the image.
    #[error("root slot {slot} does not read back as the update's system (the card may be failing)")]
    ReadBack { slot: String },
    /// The channel's index is malformed, or it and the bundle disagree.
    #[error("the update channel: {0}")]
    Channel(String),
    /// A download failed.
    #[error("the download failed: {0}")]
    Download(String),
    /// Not enough room for an upload.
    #[error("the data disk has {free} bytes free and the update needs {needed}")]
    NoSpace { needed: u64, free: u64 },
    /// Another update is in progress, or the running system is still on trial.
    #[error("{0}")]
    Busy(String),
    /// Stopped on request.
    #[error("the update was cancelled")]
    Cancelled,
    /// The boot state cannot be read or written.
    #[error("the boot state: {0}")]
    BootState(String),
    /// A file or device failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the thing.
        what: String,
        /// The OS error.
        source: io::Error,
    },
}

impl OtaError {
    /// An I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> OtaError {
        let what = what.into();
        move |source| OtaError::Io { what, source }
    }

    /// Whether the bundle or channel itself was refused (as opposed to the box failing).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            OtaError::NotABundle
                | OtaError::UnknownFormat(_)
                | OtaError::ManifestTooLarge(_)
                | OtaError::Truncated { .. }
                | OtaError::TrailingBytes
                | OtaError::UnknownKey(_)
                | OtaError::BadSignature
                | OtaError::InvalidManifest(_)
                | OtaError::WrongBoard { .. }
                | OtaError::Older { .. }
                | OtaError::NeedsNewer { .. }
                | OtaError::TooBig { .. }
                | OtaError::ChunkMismatch { .. }
                | OtaError::Channel(_)
        )
    }
}

impl Kinded for OtaError {
    fn kind(&self) -> ErrorKind {
        match self {
            OtaError::WrongBoard { .. } | OtaError::Older { .. } | OtaError::NeedsNewer { .. } | OtaError::UnknownFormat(_) => {
                ErrorKind::Incompatible
            }
            OtaError::TooBig { .. } | OtaError::ManifestTooLarge(_) => ErrorKind::TooLarge,
            OtaError::ReadBack { .. } | OtaError::BootState(_) => ErrorKind::Corrupt,
            OtaError::Download(_) => ErrorKind::Unavailable,
            OtaError::NoSpace { .. } => ErrorKind::StorageFull,
            OtaError::Busy(_) | OtaError::Cancelled => ErrorKind::Conflict,
            OtaError::Io { source, .. } => ErrorKind::of_io(source),
            _ => ErrorKind::InvalidInput,
        }
    }

    fn guidance(&self) -> Option<String> {
        match self {
            OtaError::Truncated { .. } | OtaError::Download(_) => Some("try the update again".into()),
            OtaError::UnknownKey(_) | OtaError::BadSignature | OtaError::ChunkMismatch { .. } => {
                Some("get the update from Hearth's own channel or release page; this file must not be installed".into())
            }
            OtaError::NeedsNewer { min, .. } => Some(format!("install version {min} or later first")),
            OtaError::NoSpace { .. } => Some("free some space on the data disk, or update from the channel".into()),
            OtaError::ReadBack { .. } => Some("the card may be wearing out: back up and replace it".into()),
            _ => None,
        }
    }
}
