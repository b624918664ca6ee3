//! The `config` object (docs/backup-format.md §5).

use serde::{Deserialize, Serialize};

use crate::chunker::ChunkerParams;
use crate::crypto::{Cipher, Keys, base64_decode, base64_encode};
use crate::error::{BackupError, Result};

/// The smallest and largest pack target sizes a repository may ask for.
pub const PACK_SIZE_RANGE: std::ops::RangeInclusive<u32> = (1 << 20)..=(256 << 20);

/// The stored outer form.
#[derive(Debug, Serialize, Deserialize)]
struct Outer {
    version: u32,
    cipher: String,
    body: String,
}

/// The repository's parameters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RepoConfig {
    /// Random repository id (32 hex).
    pub id: String,
    /// RFC 3339.
    pub created: String,
    /// Chunk sizes.
    pub chunker: ChunkerParams,
    /// Target pack size, bytes.
    pub pack_size: u32,
}

impl RepoConfig {
    /// Parameters for a new repository.
    pub fn new() -> Result<RepoConfig> {
        let mut id = [0u8; 16];
        crate::crypto::random(&mut id)?;
        Ok(RepoConfig {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            created: crate::snapshot::now_rfc3339(),
            chunker: ChunkerParams::default(),
            pack_size: 16 << 20,
        })
    }

    fn aad(cipher: Cipher) -> Vec<u8> {
        format!("hearth-config v1 {}", cipher.name()).into_bytes()
    }

    /// The stored bytes.
    pub fn seal(&self, keys: &Keys) -> Result<Vec<u8>> {
        let body = serde_json::to_vec(self).map_err(|e| BackupError::Invalid(e.to_string()))?;
        let sealed = keys.enc.seal(&Self::aad(keys.cipher), &body)?;
        let outer = Outer { version: crate::FORMAT_VERSION, cipher: keys.cipher.name().into(), body: base64_encode(&sealed) };
        serde_json::to_vec_pretty(&outer).map_err(|e| BackupError::Invalid(e.to_string()))
    }

    /// The version and cipher, readable without a password.
    pub fn peek(bytes: &[u8]) -> Result<(u32, Cipher)> {
        let outer: Outer = serde_json::from_slice(bytes).map_err(|e| BackupError::damaged("config", "config", e.to_string()))?;
        if outer.version != crate::FORMAT_VERSION {
            return Err(BackupError::NewerFormat { found: outer.version, known: crate::FORMAT_VERSION });
        }
        Ok((outer.version, Cipher::parse(&outer.cipher)?))
    }

    /// Open and validate the stored config.
    pub fn open(bytes: &[u8], keys: &Keys) -> Result<RepoConfig> {
        let (_, cipher) = Self::peek(bytes)?;
        if cipher != keys.cipher {
            return Err(BackupError::damaged("config", "config", "its cipher differs from the key's"));
        }
        let outer: Outer = serde_json::from_slice(bytes).map_err(|e| BackupError::damaged("config", "config", e.to_string()))?;
        let sealed = base64_decode(&outer.body).ok_or_else(|| BackupError::damaged("config", "config", "body is not base64"))?;
        let plain = keys
            .enc
            .open(&Self::aad(cipher), &sealed)
            .ok_or_else(|| BackupError::damaged("config", "config", "authentication failed (altered, or not this repository's key)"))?;
        Self::parse(&plain)
    }

    /// Parse and validate the config's plaintext body (after authentication).
    pub fn parse(plain: &[u8]) -> Result<RepoConfig> {
        let cfg: RepoConfig = serde_json::from_slice(plain).map_err(|e| BackupError::damaged("config", "config", e.to_string()))?;
        cfg.chunker.validate()?;
        if !PACK_SIZE_RANGE.contains(&cfg.pack_size) {
            return Err(BackupError::damaged("config", "config", format!("pack size {} out of range", cfg.pack_size)));
        }
        Ok(cfg)
    }
}
