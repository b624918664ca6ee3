//! Error kinds shared by every Hearth crate.
//!
//! Rules for errors, followed by every crate:
//!
//! 1. Each crate has one error type (an enum with `thiserror`), and each variant maps to one
//!    [`ErrorKind`] through [`Kinded`]. The kind decides the HTTP status, the CLI exit code and
//!    whether the supervisor retries.
//! 2. A message says what happened, in words a family member can act on, and names the thing it is
//!    about (the file, the key, the user). Where there is something to do, [`Kinded::guidance`] says
//!    it ("free some space on the data disk", "restore the catalog from a backup").
//! 3. Messages never contain secrets (passwords, tokens, keys) and never contain raw data from
//!    outside beyond a short quoted name.
//! 4. Bad input from outside is an error, never a panic: no `unwrap()` on anything we did not make.
//! 5. Nothing is lost on an error path: a failed write leaves the previous state intact.

use std::fmt;

/// The stable kinds of error. The names are part of the API (`"kind"` in JSON error bodies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request or input is malformed or breaks a rule; retrying the same input will not help.
    InvalidInput,
    /// No session, token or password, or the wrong one.
    Unauthenticated,
    /// Authenticated, but this user may not do this.
    Forbidden,
    /// The thing named does not exist.
    NotFound,
    /// The request conflicts with the current state (already claimed, name taken).
    Conflict,
    /// Too many attempts; wait and try again.
    RateLimited,
    /// Input larger than allowed.
    TooLarge,
    /// A resource is temporarily unavailable (busy database, port in use); a retry may help.
    Unavailable,
    /// The disk is full or the quota is exhausted.
    StorageFull,
    /// Stored data failed a check (corrupt database, bad checksum). Never repaired silently.
    Corrupt,
    /// Stored data was written by a newer Hearth, or an unsupported format.
    Incompatible,
    /// A permission or OS-level refusal (read-only disk, no permission on the data folder).
    PermissionDenied,
    /// A bug or an unexpected OS error.
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same operation later may succeed without anyone changing anything.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Unavailable | Self::RateLimited)
    }

    /// The stable snake_case name used in JSON error bodies and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::TooLarge => "too_large",
            Self::Unavailable => "unavailable",
            Self::StorageFull => "storage_full",
            Self::Corrupt => "corrupt",
            Self::Incompatible => "incompatible",
            Self::PermissionDenied => "permission_denied",
            Self::Internal => "internal",
        }
    }

    /// The kind of an I/O error, so disk-full and permission problems keep their meaning.
    pub fn of_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        match err.kind() {
            Io::NotFound => Self::NotFound,
            Io::PermissionDenied | Io::ReadOnlyFilesystem => Self::PermissionDenied,
            Io::StorageFull | Io::QuotaExceeded | Io::FileTooLarge => Self::StorageFull,
            Io::AddrInUse | Io::AddrNotAvailable | Io::WouldBlock | Io::TimedOut | Io::Interrupted => Self::Unavailable,
            Io::InvalidData | Io::UnexpectedEof => Self::Corrupt,
            Io::InvalidInput => Self::InvalidInput,
            _ => Self::Internal,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every crate's error type.
pub trait Kinded: std::error::Error {
    /// What kind of failure this is.
    fn kind(&self) -> ErrorKind;

    /// What the user can do about it, when there is something to do.
    fn guidance(&self) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_keep_their_meaning() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(ErrorKind::of_io(&full), ErrorKind::StorageFull);
        let perm = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(ErrorKind::of_io(&perm), ErrorKind::PermissionDenied);
        let busy = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        assert!(ErrorKind::of_io(&busy).is_retryable());
    }
}
