//! Credentials kept in the catalog, sealed (ChaCha20-Poly1305) with the box's own secret key,
//! `DATA/secrets/backup-credentials.key` (32 random bytes, 0600, made once). The catalog alone
//! (a copy of it, a support bundle) gives nothing away. The key file is inside what a whole-box
//! backup saves: the repository is encrypted with the backup password, and a restored box must
//! read its targets' credentials again.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::crypto::{Cipher, SealKey, random};
use crate::error::{BackupError, Result};

/// The file under the data folder.
pub const KEY_FILE: &str = "secrets/backup-credentials.key";

/// What the seal is bound to, so a sealed value cannot be moved to another purpose.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// A target's credentials.
    TargetSecret,
    /// The box's backup password.
    BackupPassword,
}

impl Purpose {
    fn aad(self) -> &'static [u8] {
        match self {
            Purpose::TargetSecret => b"hearth backup target secret v1",
            Purpose::BackupPassword => b"hearth backup password v1",
        }
    }
}

/// The box's sealing key.
pub struct CredentialKey {
    key: SealKey,
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialKey(..)")
    }
}

impl CredentialKey {
    /// Read the key of the data folder `data`, making it the first time. Two processes making it
    /// at once agree on one: each links its own new file into place only if none is there.
    pub fn load_or_create(data: &Path) -> Result<CredentialKey> {
        let path = data.join(KEY_FILE);
        if let Some(k) = read_key(&path)? {
            return CredentialKey::from_bytes(&k);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        hearth_platform::durable::ensure_writable_dir(&dir, 0o700).map_err(|e| BackupError::io(dir.display().to_string(), e))?;
        let mut bytes = [0u8; 32];
        random(&mut bytes)?;
        let tmp = dir.join(format!(".backup-credentials.key.{}", std::process::id()));
        let io = |e| BackupError::io(path.display().to_string(), e);
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io)?;
            f.write_all(&bytes).and_then(|_| f.sync_all()).map_err(io)?;
        }
        match hearth_platform::durable::rename_noreplace(&tmp, &path) {
            Ok(()) => hearth_platform::durable::sync_dir(&dir).map_err(io)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = std::fs::remove_file(&tmp);
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io(e));
            }
        }
        match read_key(&path)? {
            Some(k) => CredentialKey::from_bytes(&k),
            None => Err(BackupError::Invalid(format!("{} vanished while it was made", path.display()))),
        }
    }

    fn from_bytes(k: &[u8; 32]) -> Result<CredentialKey> {
        Ok(CredentialKey { key: SealKey::new(Cipher::ChaCha20Poly1305, k)? })
    }

    /// Seal `plain` for `purpose`.
    pub fn seal(&self, purpose: Purpose, plain: &[u8]) -> Result<Vec<u8>> {
        self.key.seal(purpose.aad(), plain)
    }

    /// Open what [`CredentialKey::seal`] made; an error when it was sealed by another box's key
    /// or altered.
    pub fn open(&self, purpose: Purpose, sealed: &[u8]) -> Result<Vec<u8>> {
        self.key.open(purpose.aad(), sealed).ok_or_else(|| {
            BackupError::Invalid(format!("stored credentials do not open with this box's key ({KEY_FILE} was replaced?); enter them again"))
        })
    }
}

fn read_key(path: &Path) -> Result<Option<[u8; 32]>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BackupError::io(path.display().to_string(), e)),
    };
    let mut buf = Vec::new();
    f.by_ref().take(64).read_to_end(&mut buf).map_err(|e| BackupError::io(path.display().to_string(), e))?;
    let key: [u8; 32] = buf
        .try_into()
        .map_err(|_| BackupError::Invalid(format!("{} is not a 32-byte key; move it aside to make a new one", path.display())))?;
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_purpose() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = CredentialKey::load_or_create(dir.path()).expect("key");
        let sealed = k.seal(Purpose::TargetSecret, b"s3cret").expect("seal");
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        let again = CredentialKey::load_or_create(dir.path()).expect("same key");
        assert_eq!(again.open(Purpose::TargetSecret, &sealed).expect("open"), b"s3cret");
        assert!(again.open(Purpose::BackupPassword, &sealed).is_err(), "bound to its purpose");
        let other = tempfile::tempdir().expect("tempdir");
        let k2 = CredentialKey::load_or_create(other.path()).expect("other key");
        assert!(k2.open(Purpose::TargetSecret, &sealed).is_err());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join(KEY_FILE)).expect("meta").permissions());
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("secrets")).expect("mkdir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        assert!(CredentialKey::load_or_create(dir.path()).is_err());
        assert_eq!(std::fs::read(dir.path().join(KEY_FILE)).expect("read"), b"short", "left as it was");
    }
}
