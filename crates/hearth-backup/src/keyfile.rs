//! Key files: the master key wrapped with a password (docs/backup-format.md §4).

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::crypto::{Cipher, SealKey, base64_decode, base64_encode, random};
use crate::error::{BackupError, Result};

const AAD: &[u8] = b"hearth-key v1";

/// Argon2id parameters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Kdf {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, base64.
    pub salt: String,
}

impl Kdf {
    /// The parameters new keys get: 32 MiB and 4 passes (more than OWASP's 19 MiB / 2 passes;
    /// memory is kept moderate because the KDF's memory is the peak of every small command).
    pub fn standard() -> Result<Kdf> {
        let mut salt = [0u8; 16];
        random(&mut salt)?;
        Ok(Kdf { algorithm: "argon2id".into(), m_kib: 32 * 1024, t: 4, p: 1, salt: base64_encode(&salt) })
    }

    /// Cheap parameters for tests.
    pub fn for_tests() -> Result<Kdf> {
        Ok(Kdf { m_kib: 8, t: 1, ..Kdf::standard()? })
    }

    fn derive(&self, password: &[u8]) -> Result<[u8; 32]> {
        if self.algorithm != "argon2id"
            || !(8..=1_048_576).contains(&self.m_kib)
            || !(1..=100).contains(&self.t)
            || !(1..=64).contains(&self.p)
        {
            return Err(BackupError::Invalid(format!("key file KDF parameters out of range: {self:?}")));
        }
        let salt = base64_decode(&self.salt).ok_or_else(|| BackupError::Invalid("key file salt is not base64".into()))?;
        let params = Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|e| BackupError::Invalid(format!("KDF parameters: {e}")))?;
        let mut out = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(password, &salt, &mut out)
            .map_err(|e| BackupError::Invalid(format!("KDF: {e}")))?;
        Ok(out)
    }
}

/// A key file as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// Format version.
    pub version: u32,
    /// RFC 3339.
    pub created: String,
    /// Who made it.
    pub host: String,
    /// Who made it.
    pub user: String,
    /// How the wrapping key is derived.
    pub kdf: Kdf,
    /// The cipher used here and in the repository.
    pub cipher: String,
    /// The sealed master key, base64.
    pub master: String,
}

impl KeyFile {
    /// Wrap `master` with `password`.
    pub fn wrap(master: &[u8; 32], cipher: Cipher, password: &[u8], kdf: Kdf) -> Result<KeyFile> {
        let w = kdf.derive(password)?;
        let sealed = SealKey::new(cipher, &w)?.seal(AAD, master)?;
        Ok(KeyFile {
            version: crate::FORMAT_VERSION,
            created: crate::snapshot::now_rfc3339(),
            host: crate::snapshot::hostname(),
            user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
            kdf,
            cipher: cipher.name().into(),
            master: base64_encode(&sealed),
        })
    }

    /// Parse stored bytes (named `name` for errors).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<KeyFile> {
        let kf: KeyFile = serde_json::from_slice(bytes).map_err(|e| BackupError::damaged("keys", name, format!("not a key file: {e}")))?;
        if kf.version != crate::FORMAT_VERSION {
            return Err(BackupError::NewerFormat { found: kf.version, known: crate::FORMAT_VERSION });
        }
        Ok(kf)
    }

    /// The master key and cipher, when `password` opens this key.
    pub fn unwrap(&self, password: &[u8]) -> Result<Option<([u8; 32], Cipher)>> {
        let cipher = Cipher::parse(&self.cipher)?;
        let w = self.kdf.derive(password)?;
        let sealed = base64_decode(&self.master).ok_or_else(|| BackupError::Invalid("key file master is not base64".into()))?;
        let Some(plain) = SealKey::new(cipher, &w)?.open(AAD, &sealed) else { return Ok(None) };
        let master: [u8; 32] = plain.try_into().map_err(|_| BackupError::Invalid("wrapped master key has the wrong length".into()))?;
        Ok(Some((master, cipher)))
    }

    /// The stored bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self).map_err(|e| BackupError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_and_wrong_password() {
        let master = [7u8; 32];
        let kf = KeyFile::wrap(&master, Cipher::ChaCha20Poly1305, b"correct", Kdf::for_tests().expect("kdf")).expect("wrap");
        let parsed = KeyFile::parse("k", &kf.to_bytes().expect("bytes")).expect("parse");
        assert_eq!(parsed.unwrap(b"correct").expect("ok"), Some((master, Cipher::ChaCha20Poly1305)));
        assert_eq!(parsed.unwrap(b"wrong").expect("ok"), None);
    }

    #[test]
    fn hostile_parameters_are_refused_before_the_kdf_runs() {
        let mut kf = KeyFile::wrap(&[1; 32], Cipher::Aes256Gcm, b"pw", Kdf::for_tests().expect("kdf")).expect("wrap");
        kf.kdf.m_kib = u32::MAX;
        assert!(kf.unwrap(b"pw").is_err());
        let mut newer = KeyFile::wrap(&[1; 32], Cipher::Aes256Gcm, b"pw", Kdf::for_tests().expect("kdf")).expect("wrap");
        newer.version = 2;
        let err = KeyFile::parse("k", &newer.to_bytes().expect("bytes")).expect_err("newer");
        assert!(err.to_string().contains("version 2"), "{err}");
        assert!(KeyFile::parse("k", b"{not json").is_err());
    }
}
