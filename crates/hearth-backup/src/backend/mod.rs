//! Where repository objects live. Every backend stores whole objects by type and name
//! (docs/backup-format.md §2); an object counts as stored only when `write` returned `Ok`.
//!
//! - [`local`]: a folder (a USB disk, the NAS's own backup folder).
//! - [`rest`]: a restic REST server (`rest-server`, `rclone serve restic`).
//! - [`s3`]: an S3-compatible bucket.
//! - [`retry`]: retries with backoff for the network backends.

pub mod local;
pub mod rest;
pub mod retry;
pub mod s3;

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
    /// Whether reads cross a network (then index files and trees are cached locally).
    fn is_remote(&self) -> bool {
        false
    }
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
    /// Start a pack that is written piece by piece into storage (a folder: a temporary file),
    /// so a writer needs no pack-sized buffer. `None` (the default): build packs in memory and
    /// store them with [`Backend::write`].
    fn begin_pack(&self) -> Result<Option<Box<dyn crate::pack::PackFile>>> {
        Ok(None)
    }
    /// Delete partial writes left by processes that were killed mid-write (a folder's temporary
    /// files); returns how many. Network stores write whole objects and have none.
    fn remove_stale_temporaries(&self) -> Result<u64> {
        Ok(0)
    }
}

/// Open the backend for a repository string: `rest:URL`, `s3:…`, or a folder path.
pub fn open(repo: &str) -> Result<std::sync::Arc<dyn Backend>> {
    if let Some(url) = repo.strip_prefix("rest:") {
        return Ok(std::sync::Arc::new(rest::Rest::new(url)?));
    }
    if let Some(spec) = repo.strip_prefix("s3:") {
        return Ok(std::sync::Arc::new(s3::S3::new(spec)?));
    }
    if repo.is_empty() {
        return Err(crate::BackupError::Invalid("no repository given: use --repo PATH, rest:URL or s3:URL".into()));
    }
    Ok(std::sync::Arc::new(local::Local::new(repo.into())))
}
