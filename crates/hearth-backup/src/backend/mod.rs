//! Where repository objects live. Every backend stores whole objects by type and name
//! (docs/backup-format.md §2); an object counts as stored only when `write` returned `Ok`.
//!
//! - [`local`]: a folder (a USB disk, the NAS's own backup folder).
//!
//! The restic REST and S3 backends implement the same trait.

pub mod local;

use crate::error::Result;

/// Object types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `config`.
    Config,
    /// `keys/`.
    Key,
    /// `locks/`.
    Lock,
    /// `snapshots/`.
    Snapshot,
    /// `index/`.
    Index,
    /// `data/` (packs).
    Pack,
}

impl FileType {
    /// The folder / REST type name.
    pub fn dir(self) -> &'static str {
        match self {
            FileType::Config => "config",
            FileType::Key => "keys",
            FileType::Lock => "locks",
            FileType::Snapshot => "snapshots",
            FileType::Index => "index",
            FileType::Pack => "data",
        }
    }
}

/// Object storage.
pub trait Backend: Send + Sync {
    /// A description for messages (`/mnt/usb/backup`, `rest:https://…`).
    fn location(&self) -> String;
    /// Whether a repository (its config) exists.
    fn exists(&self) -> Result<bool>;
    /// Prepare an empty repository's structure.
    fn create(&self) -> Result<()>;
    /// Names of the objects of a type.
    fn list(&self, t: FileType) -> Result<Vec<String>>;
    /// A whole object.
    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>>;
    /// `length` bytes at `offset` of an object.
    fn read_range(&self, t: FileType, name: &str, offset: u64, length: u32) -> Result<Vec<u8>>;
    /// Like `read_range`, into a reused buffer (cleared first).
    fn read_range_into(&self, t: FileType, name: &str, offset: u64, length: u32, buf: &mut Vec<u8>) -> Result<()> {
        *buf = self.read_range(t, name, offset, length)?;
        Ok(())
    }
    /// An object's size.
    fn size(&self, t: FileType, name: &str) -> Result<u64>;
    /// Store an object durably (temporary name, fsync, rename, fsync folder).
    fn write(&self, t: FileType, name: &str, bytes: &[u8]) -> Result<()>;
    /// Remove an object.
    fn remove(&self, t: FileType, name: &str) -> Result<()>;
}

/// Open the backend for a repository string: a path (later also `rest:` and `s3:`).
pub fn open(repo: &str) -> Result<std::sync::Arc<dyn Backend>> {
    if repo.starts_with("rest:") || repo.starts_with("s3:") {
        return Err(crate::BackupError::Invalid(format!(
            "{repo}: REST and S3 repositories are not supported by this build yet; use a folder"
        )));
    }
    Ok(std::sync::Arc::new(local::Local::new(repo.into())))
}
