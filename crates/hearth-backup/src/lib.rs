//! Hearth's backup engine: an encrypted, deduplicating, verifiable repository whose format is
//! specified in docs/backup-format.md (read it first; the module names follow its sections).
//!
//! - [`error`]: [`BackupError`] and how its variants map onto Hearth's error kinds.
//! - [`crypto`]: the master key and its derived keys, AEAD sealing (AES-256-GCM or
//!   ChaCha20-Poly1305, from ring), keyed blob ids (§3).
//! - [`keyfile`]: password-wrapped master keys (argon2id) (§4).
//! - [`repo_config`]: the `config` object (§5).
//! - [`blob`]: blob ids and types.
//! - [`blob_table`]: the index's compact sorted table of blob locations, in memory or on disk.
//! - [`chunker`]: FastCDC v2020 with the repository's secret seed (§6).
//! - [`pack`]: pack files: writing and reading their headers (§6).
//! - [`index`]: index files and the in-memory map from blob to pack (§7).
//! - [`tree`]: directory listings (§8).
//! - [`snapshot`]: snapshots (§9).
//! - [`lock`]: repository locks (§10).
//! - [`backend`]: where objects live, behind the [`backend::Backend`] trait (local folder first).
//! - [`cache`]: the local cache of a network repository's index files and trees.
//! - [`repository`]: an open repository: keys, config, index, loading blobs and files.
//! - [`saver`]: the parallel saving pipeline (id, dedup, compress, seal, pack, index).
//! - [`hosting`]: repositories kept here for other machines (the storage side of restic's REST
//!   protocol): objects checked against their names, never replaced, append-only on request.
//! - [`commands`]: one module per operation (`init`, `backup`, `restore`, `snapshots`, `ls`,
//!   `check`), used by `hearth backup …`.

pub mod backend;
pub mod blob;
pub mod blob_table;
pub mod cache;
pub mod chunker;
pub mod commands;
pub mod crypto;
pub mod error;
pub mod hosting;
pub mod index;
pub mod keyfile;
pub mod lock;
pub mod pack;
pub mod repo_config;
pub mod repository;
pub mod saver;
pub mod service;
pub mod snapshot;
pub mod tree;

pub use error::BackupError;
pub use repository::Repository;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
